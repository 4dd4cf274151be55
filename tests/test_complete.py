"""Complete stage: fixture cases (a post, then the imports, setup and diagnostics it must give)."""

import os

import pytest

from conftest import FIXTURES, write_post
from kernelblog.complete import complete_post, data_setup, dataset_generators
from kernelblog.read import read_post

CASES = sorted((FIXTURES / "complete").glob("*.md"))


def describe(completed) -> str:
    """The completion of a post as text: what the build added per cell, then diagnostics."""
    lines = []
    for done in completed.cells:
        if done.cell.kind != "code":
            continue
        lines.append(f"cell at line {done.cell.line}")
        lines += [f"  import: {line}" for line in done.imports]
        lines += [f"  setup: {line}" for line in done.setup]
    lines += [f"{d.severity} at line {d.line}: {d.message}" for d in completed.diagnostics]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_fixture(case, index):
    actual = describe(complete_post(read_post(case), index))
    expected_path = case.with_suffix(".expected")
    if os.environ.get("KERNELBLOG_UPDATE_FIXTURES"):
        expected_path.write_text(actual, encoding="utf-8")
    assert actual == expected_path.read_text(encoding="utf-8")


def test_added_lines_map_back_to_the_markdown(tmp_path, index):
    path = write_post(tmp_path, "p.md", "# T\n\n```python\nx = np.zeros(2)\ny = Dense(1)\n```\n")
    done = complete_post(read_post(path), index).cells[1]
    assert done.imports == ("import numpy as np", "from keras.layers import Dense")
    # code line 3 is `x = np.zeros(2)`, at line 4 of the .md file; added lines map to the fence
    assert done.code.splitlines()[2] == "x = np.zeros(2)"
    assert done.markdown_lines() == [3, 3, 4, 5]


def test_completion_imports_no_tensorflow(tmp_path, index):
    import subprocess
    import sys
    code = ("import sys; from pathlib import Path; from kernelblog.pipeline import complete_all; "
            "complete_all(Path(sys.argv[1]), print); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'nbclient') if m in sys.modules))")
    write_post(tmp_path, "p.md", "# T\n\n```python\nm = Sequential([Dense(1)])\n```\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_data_setup_lines():
    assert data_setup("sequences(length=16)") == (
        "from kernelblog.datasets import sequences",
        "(x_train, y_train), (x_test, y_test) = sequences(length=16)",
    )
    with pytest.raises(ValueError, match="takes the keyword arguments"):
        data_setup("images(colour=3)")
    assert {"images", "sequences", "tabular"} <= set(dataset_generators())
