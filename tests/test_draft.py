"""A post written like a typical blog draft builds: untagged fences, no imports, no data."""

import re
import shutil

import pytest

from conftest import ROOT
from kernelblog.pipeline import Options, build

pytestmark = pytest.mark.slow
DRAFT = ROOT / "tests" / "data" / "draft" / "typical-draft.md"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("draft")
    (folder / "posts").mkdir()
    shutil.copy(DRAFT, folder / "posts" / DRAFT.name)
    lines: list[str] = []
    status = build(Options(posts=folder / "posts", out=folder / "site", snippets=folder / "snippets",
                           cache=folder / "cache", jobs=1,
                           keep_going=True), lines.append)
    page = (folder / "site" / "typical-draft" / "index.html").read_text(encoding="utf-8")
    return status, lines, page


def line_of(text: str) -> int:
    return DRAFT.read_text(encoding="utf-8").splitlines().index(text) + 1


def test_snippets_that_cannot_work_fail_at_their_line_and_the_others_run(built):
    status, lines, page = built
    assert status == 1
    errors = [line for line in lines if ": error: " in line]
    weights = line_of("base = VGG16(weights='imagenet', include_top=False, input_shape=(32, 32, 3))")
    add = line_of("model.add(Dense(1))")
    assert len(errors) == 2
    assert re.search(rf"typical-draft\.md:{weights}: error: .*network access is unavailable during builds", errors[0])
    assert re.search(rf"typical-draft\.md:{add}: error: AttributeError: .*has no attribute 'add'", errors[1])
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
