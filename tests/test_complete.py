"""Complete stage: fixture cases (a post, then the imports, setup and diagnostics it must give)."""

import dataclasses
import os

import pytest

from conftest import FIXTURES, ROOT, write_post
from kernelblog.complete import complete_post, data_setup, dataset_generators
from kernelblog.diagnostics import Diagnostic
from kernelblog.read import read_post
from kernelblog.settings import load_settings

CASES = sorted((FIXTURES / "complete").glob("*.md"))


def describe(completed) -> str:
    """The completion of a post as text: what the build added per cell, then diagnostics."""
    lines = []
    for done in completed.cells:
        if done.cell.kind != "code":
            continue
        lines.append(f"cell at line {done.cell.line}")
        lines += [f"  import: {line}" for line in done.imports]
        if done.setup_at:
            lines.append(f"  setup after {done.setup_at} author lines:")
        lines += [f"  setup: {line}" for line in done.setup]
        if done.note:
            lines.append(f"  note: {done.note}")
        lines += [f"  changed: {change}" for change in done.changes]
        if done.changes:
            lines += [f"  code: {line}" for line in done.cell.source.split("\n")]
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

    code = (
        "import sys; from pathlib import Path; from kernelblog.pipeline import complete_all; "
        "complete_all(Path(sys.argv[1]), print); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'nbclient') if m in sys.modules))"
    )
    write_post(tmp_path, "p.md", "# T\n\n```python\nm = Sequential([Dense(1)])\n```\n")
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_data_setup_lines():
    assert data_setup("sequences(length=16)") == (
        "from kernelblog.datasets import sequences",
        "(x_train, y_train), (x_test, y_test) = sequences(length=16)",
    )
    with pytest.raises(ValueError, match="takes the keyword arguments"):
        data_setup("images(colour=3)")
    assert {"images", "sequences", "tabular"} <= set(dataset_generators())


def test_project_aliases_add_and_override(tmp_path, index):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.kernelblog.aliases]\npd = "import pandas as pd"\n'
        'Dense = "from keras.layers import Dense as Dense"\n'
        'Sequential = "from keras.models import Sequential"\n'
    )
    aliases = load_settings(pyproject).aliases
    path = write_post(
        tmp_path / "posts",
        "p.md",
        "# T\n\n```python\nframe = pd.DataFrame()\nm = Sequential([Dense(1)])\n```\n",
    )
    done = complete_post(read_post(path), index, aliases).cells[1]
    assert done.imports == (
        "from keras.layers import Dense as Dense",
        "from keras.models import Sequential",
        "import pandas as pd",
    )


def test_inferred_setup_goes_before_the_first_use_and_maps_back(tmp_path, index):
    path = write_post(
        tmp_path,
        "p.md",
        "# T\n\n```python\n"
        "model = Sequential([Input(shape=(4,)), Dense(2, activation='softmax')])\n"
        "model.compile(loss='sparse_categorical_crossentropy')\n"
        "model.fit(X_train, y_train)\n```\n",
    )
    done = complete_post(read_post(path), index).cells[1]
    assert done.setup_at == 2 and done.before.endswith("sparse_categorical_crossentropy')")
    assert done.after == "model.fit(X_train, y_train)"
    code = done.code.splitlines()
    assert code[len(done.imports) + 2].startswith("from kernelblog.datasets import matching")
    assert code[-1] == "model.fit(X_train, y_train)"
    lines = done.markdown_lines()
    assert len(lines) == len(code) and lines[-1] == 6 and lines[len(done.imports) + 2] == 6
    assert "X_train (800, 4)" in done.note


def test_completion_of_every_post_is_fast_enough_to_measure():
    """The benchmark measures the time; here, only that completing posts/ gives no error."""
    from kernelblog.pipeline import complete_all

    assert all(post.ok for post in complete_all(ROOT / "posts", lambda line: None))


def test_code_too_deeply_nested_is_an_error_not_a_crash(tmp_path, index):
    path = write_post(tmp_path, "p.md", "# T\n\n```python\nx = " + "-" * 100_000 + "1\n```\n")
    completed = complete_post(read_post(path), index)
    assert [(d.line, d.message) for d in completed.diagnostics] == [
        (4, "invalid syntax: the code is too deeply nested for the build to analyse")
    ]


def test_a_cell_with_a_static_error_runs_only_the_imports_the_build_added(tmp_path, index):
    path = write_post(
        tmp_path,
        "p.md",
        "# T\n\n```python\nx = np.zeros(2)\nm.predict_classes(x)\n```\n\n"
        "```python\ny = np.ones(2)\n```\n\n# Prose\n",
    )
    completed = complete_post(read_post(path), index)
    assert not completed.ok and completed.runnable
    assert {
        number: [d.line for d in found] for number, found in completed.static_errors().items()
    } == {1: [5]}
    cells = [
        c
        for c in completed.notebook().cells
        if c.metadata.get("kernelblog", {}).get("role") == "code"
    ]
    assert cells[0].metadata["kernelblog"]["additions"] == "import numpy as np"
    assert "predict_classes" in cells[0].metadata["kernelblog"]["static_error"]
    assert "static_error" not in cells[1].metadata["kernelblog"]


def test_an_error_outside_code_cells_keeps_the_post_from_running(tmp_path, index):
    path = write_post(tmp_path, "p.md", '# T\n\n```python data="nothing"\nx = 1\n```\n')
    completed = complete_post(read_post(path), index)
    assert completed.runnable  # the data option's error is at the fence, inside the cell
    bad = dataclasses.replace(
        completed,
        diagnostics=completed.diagnostics + (Diagnostic(path, 1, "error", "somewhere else"),),
    )
    assert not bad.runnable
