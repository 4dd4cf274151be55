"""Drafts written the way strangers write them (tests/data/wild/), built once with --keep-going.

Per draft: the fence line of every cell that runs through, and, for every other cell, the
line and message of its failure (found before running or raised while running).
"""

import re

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow
WILD = ROOT / "tests" / "data" / "wild"
CELL = re.compile(
    r'<div class="cell" data-line="(\d+)">(.*?)(?=<div class="cell" data-line=|</article>|\Z)', re.S
)

# draft -> (fence lines of the cells that run through, {line: pattern of the error there})
EXPECTED = {
    "boston-housing-regression": ([5, 11, 20, 33, 58], {}),
    "cifar10-tf-cnn": ([3, 12, 19, 38, 53, 62], {}),
    "hyperparameter-loop": (
        [7, 19, 30],
        {
            39: r"^Keras 3 removed keras\.wrappers\.scikit_learn "
            r".*use keras\.wrappers\.SKLearnClassifier or SKLearnRegressor"
        },
    ),
    "imdb-lstm": (
        [5, 17, 29, 36],
        {
            61: r"^Keras 3 removed keras\.preprocessing\.text and its Tokenizer: "
            r"use the layer keras\.layers\.TextVectorization"
        },
    ),
    "kaggle-digit-recognizer": (
        [27, 40],
        {  # no pandas, no /kaggle/input: what needs them fails
            # the second section's setup imports pandas again and fails too; its cells still run
            1: r"^the build's setup cell failed: ModuleNotFoundError: No module named 'pandas'$",
            6: r"^ModuleNotFoundError: No module named 'pandas'$",
            15: r"^NameError: name 'pd' is not defined$",
            22: r"^NameError: name 'X_train' is not defined$",
            45: r"^NameError: name 'X_train' is not defined$",
            49: r"^NameError: name 'test' is not defined$",
        },
    ),
    "keras2-mnist-mlp": (
        [10, 27, 47, 65],
        {77: r"^Keras 3 removed predict_classes: use np\.argmax\(model\.predict\(x\), axis=-1\)"},
    ),
    "kerasio-convnet": ([9, 17, 43, 62, 73], {}),
    "multi-input-tickets": ([6, 31, 44], {68: r"^name 'X_train_left' is not defined$"}),
    "subclassed-model": ([9, 41, 55, 73], {}),
    "tf-tutorial-fashion": ([5, 18, 24, 32, 40, 48, 60, 70], {}),
    "timeseries-windows": ([6, 20, 40, 48, 59], {}),
}


@pytest.fixture(scope="module")
def built(wild_build):
    """The session's build of the drafts (with the overview's first draft, for test_draft.py)."""
    pages = {
        path.stem: (wild_build.site / path.stem / "index.html").read_text(encoding="utf-8")
        for path in WILD.glob("*.md")
    }
    return wild_build.status, wild_build.lines, pages


def cells(page: str) -> dict[int, bool]:
    """Fence line -> whether the cell ran through (it ran, and shows no error)."""
    return {
        int(line): "· ran in" in body and 'class="output error"' not in body
        for line, body in CELL.findall(page)
    }


def errors(lines: list[str], draft: str) -> dict[int, str]:
    found = {}
    for line in lines:
        match = re.match(rf".*/{re.escape(draft)}\.md:(\d+): error: (.*)", line)
        if match:
            found.setdefault(int(match.group(1)), match.group(2))
    return found


def test_the_corpus_has_ten_styles():
    assert len(list(WILD.glob("*.md"))) >= 10


@pytest.mark.parametrize("draft", sorted(EXPECTED))
def test_each_cell_runs_or_fails_at_its_line_naming_its_cause(built, draft):
    _, lines, pages = built
    runs, failures = EXPECTED[draft]
    status = cells(pages[draft])
    assert sorted(line for line, ok in status.items() if ok) == runs
    found = errors(lines, draft)
    assert sorted(found) == sorted(failures)
    for line, pattern in failures.items():
        assert re.search(pattern, found[line]), (line, found[line])


def test_fraction_of_cells_that_run(built):
    status, _, pages = built
    counts = [cells(page) for page in pages.values()]
    ran, total = sum(sum(c.values()) for c in counts), sum(len(c) for c in counts)
    print(f"\n{ran} of {total} cells of the corpus run ({ran / total:.0%})")
    assert status == 1 and ran == sum(len(runs) for runs, _ in EXPECTED.values())


def test_pages_show_the_stand_ins_and_the_corrections(built):
    _, lines, pages = built
    assert (
        "keras.datasets.mnist is replaced by a synthetic stand-in: "
        "2,000/500 images, 28×28 uint8, 10 classes" in pages["kerasio-convnet"]
    )
    assert (
        "keras.datasets.imdb is replaced by a synthetic stand-in: 2,000/500 reviews"
        in pages["imdb-lstm"]
    )
    assert re.search(r"line 61: lr= → learning_rate= \(Keras 3\)", pages["keras2-mnist-mlp"])
    assert (
        "line 31: reshape(60000, ...) → reshape(-1, ...) (the stand-in" in pages["keras2-mnist-mlp"]
    )
    assert any(
        re.search(
            r"keras2-mnist-mlp\.md:61: warning: corrected by the build for Keras 3: "
            r"lr= → learning_rate=",
            line,
        )
        for line in lines
    )
