"""A post written like a typical blog draft builds: untagged fences, no imports, no data."""

import re

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow
DRAFT = ROOT / "tests" / "data" / "draft" / "typical-draft.md"
RAW = (
    ROOT / "tests" / "data" / "draft" / "deep-learning-overview-raw.md"
)  # the overview post's first draft


@pytest.fixture(scope="module")
def both(drafts_build, wild_build):
    """Both drafts, built with --keep-going: the typical one in the session's build of the drafts
    (tests/test_components.py compares it with its components run alone), the raw one in that of
    the drafts found in the wild."""
    pages = {
        DRAFT: (drafts_build.site / DRAFT.stem / "index.html").read_text(encoding="utf-8"),
        RAW: (wild_build.site / RAW.stem / "index.html").read_text(encoding="utf-8"),
    }
    return drafts_build.status, drafts_build.lines + wild_build.lines, pages


@pytest.fixture(scope="module")
def built(both):
    status, lines, pages = both
    return status, [line for line in lines if "typical-draft" in line], pages[DRAFT]


def line_of(text: str, draft=DRAFT) -> int:
    return draft.read_text(encoding="utf-8").splitlines().index(text) + 1


def test_snippets_that_cannot_work_fail_at_their_line_and_the_others_run(built):
    status, lines, page = built
    assert status == 1
    errors = [line for line in lines if ": error: " in line]
    weights = line_of(
        "base = VGG16(weights='imagenet', include_top=False, input_shape=(32, 32, 3))"
    )
    add = line_of("model.add(Dense(1))")
    assert len(errors) == 2
    expected = (
        rf"typical-draft\.md:{weights}: error: VGG16 loads its ImageNet weights from the network"
    )
    assert re.search(expected, errors[0])
    assert re.search(rf"typical-draft\.md:{add}: error: a functional model has no \.add", errors[1])
    # every training snippet ran: four training logs, and the regressor printed its evaluation
    assert len(re.findall(r"Epoch 1/", page)) == 3 and re.search(r"\[\d\.\d+, \d\.\d+\]", page)


def test_untagged_fences_run_with_a_warning_and_shell_stays_prose(built):
    _, lines, page = built
    warnings = [line for line in lines if "this fence has no language" in line]
    assert len(warnings) == 6
    assert "$ python build.py" in page and 'class="code"' in page


def test_page_shows_added_imports_and_inferred_shapes(built):
    _, _, page = built
    assert "added by the build" in page
    assert "X_train (600, 32, 32, 3), y_train (600, 10) one-hot labels for 10 classes" in page
    assert "X_train (800, 50, 1), y_train (800) real values" in page
    assert "X_train (800, 20), y_train (800) 0/1 labels" in page


def test_training_on_inferred_data_learns(built):
    _, _, page = built
    accuracies = [float(a) for a in re.findall(r"val_accuracy: ([\d.]+)", page)]
    assert accuracies[3] > accuracies[0] + 0.2  # the CNN, epoch 4 against epoch 1 (10 classes)


def test_the_raw_overview_draft_runs_its_four_examples_and_its_fifth_fails_in_its_lines(both):
    _, lines, pages = both
    page = pages[RAW]
    errors = [line for line in lines if "overview-raw.md" in line and ": error: " in line]
    weights = line_of(
        "base_model = VGG16(weights='imagenet', include_top=False, input_shape=(224, 224, 3))", RAW
    )
    add = line_of("model.add(Flatten())", RAW)
    assert len(errors) == 2
    assert re.search(
        rf"raw\.md:{weights}: error: VGG16 loads its ImageNet weights from the network", errors[0]
    )
    assert re.search(
        rf"raw\.md:{add}: error: a functional model has no \.add \(only a Sequential has\)",
        errors[1],
    )
    # CNN, LSTM and autoencoder ran to their last epoch on inferred data; the GAN loop to its last
    # step
    for last in ("Epoch 3/3", "Epoch 5/5", "Epoch 10/10"):
        assert last in page
    assert re.search(r"99 \[D loss: [\d.]+\] \[G loss: [\d.]+\]", page)
    for inferred in (
        "X_train (600, 64, 64, 3), y_train (600) integer labels for 10 classes",
        "X_train (800, 50, 1), y_train (800) real values",
        "X_train (800, 784), y_train (800, 784) the inputs",
        "inferred from `discriminator` and its loss binary_crossentropy: X_train (600, 28, 28, 1)",
    ):
        assert inferred in page
    assert page.count("Not run: the build found the error above before running it.") == 1
