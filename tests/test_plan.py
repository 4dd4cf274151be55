"""Plan stage: which cells depend on which, and the components a post splits into."""

import pytest

from conftest import ROOT, write_post
from kernelblog.complete import complete_post
from kernelblog.diagnostics import BadInput
from kernelblog.plan import plan_post
from kernelblog.read import read_post


def planned(tmp_path, index, text):
    return plan_post(complete_post(read_post(write_post(tmp_path, "p.md", text)), index))


def groups(tmp_path, index, text):
    """The components as lists of the first word of each of their code cells (prose with values:
    '`')."""
    post = planned(tmp_path, index, text)
    assert post.ok, post.diagnostics
    return [
        [
            post.cells[n].cell.source.split()[0] if post.cells[n].cell.kind == "code" else "`"
            for n in component.cells
        ]
        for component in post.components
    ]


def fences(*codes, header=""):
    return (
        header
        + "\n\n".join(f"Prose {k}.\n\n```python\n{code}\n```" for k, code in enumerate(codes))
        + "\n"
    )


def test_sections_that_make_their_own_data_are_independent(tmp_path, index):
    text = fences("a = np.arange(3)", "print(a.sum())", "b = np.ones(2)", "print(b)")
    assert groups(tmp_path, index, text) == [["a", "print(a.sum())"], ["b", "print(b)"]]


def test_a_mutating_use_joins_the_next_use(tmp_path, index):
    text = fences(
        "model = Sequential([Input(shape=(2,)), Dense(1)])",
        "model.compile(loss='mse')",
        "x = np.ones((4, 2))",
        "model.fit(x, x[:, :1], verbose=0)",
    )
    assert groups(tmp_path, index, text) == [
        ["model", "model.compile(loss='mse')", "x", "model.fit(x,"]
    ]


def test_imported_names_do_not_link_cells_and_are_imported_again(tmp_path, index):
    text = fences("a = np.arange(3)\nprint(Dense)", "b = np.ones(2)\nprint(Dense, b)")
    post = planned(tmp_path, index, text)
    assert len(post.components) == 2
    second = post.components[1].setup
    assert "import numpy as np" in second and "from keras.layers import Dense" in second
    assert second.endswith("keras.backend.clear_session()\nkeras.utils.set_random_seed(0)")
    assert "import numpy" not in "\n".join(post.cells[post.components[1].cells[0]].imports)


def test_an_author_import_is_read_only_but_a_rebound_name_is_not(tmp_path, index):
    text = fences("import math as m\nx = 1", "print(m.pi)", "m = 3", "print(m)")
    assert groups(tmp_path, index, text) == [["import"], ["print(m.pi)"], ["m", "print(m)"]]


def test_importing_a_module_links_no_cells_and_each_component_knows_what_it_imports(
    tmp_path, index
):
    text = fences(
        "from helpers import f\nprint(f(1))",
        "import helpers\nprint(helpers.f(2))",
        "print(f(3))",  # f: imported by its setup, from the first cell
        "import os.path\nfrom .local import g\nprint(os.path.sep, g)",
        "def inner():\n    from helpers.deep import h\n    return h",
    )
    post = planned(tmp_path, index, text)
    assert post.ok, post.diagnostics
    assert [len(component.cells) for component in post.components] == [1, 1, 1, 1, 1]
    own = {"random", "numpy"}  # the setup's own imports (seeds)
    assert [set(component.modules) - own for component in post.components] == [
        {"helpers", "helpers.f"},
        {"helpers"},
        {"helpers", "helpers.f"},
        {"os.path"},  # a relative import names no module
        {"helpers.deep", "helpers.deep.h"},
    ]
    assert "from helpers import f" in post.components[2].setup


def test_file_paths_link_cells(tmp_path, index):
    text = fences("open('base.txt', 'w').write('1')", "x = 2", "print(open('base.txt').read())")
    assert groups(tmp_path, index, text) == [
        ["open('base.txt',", "x", "print(open('base.txt').read())"]
    ]


def test_after_declares_a_dependency(tmp_path, index):
    text = (
        "```python\nlog = []\n```\n\n```python\ny = 2\n```\n\n"
        '```python after="log"\nprint(len([1]))\n```\n'
    )
    assert groups(tmp_path, index, text) == [["log", "y", "print(len([1]))"]]
    bad = planned(tmp_path, index, '```python after="nothing"\nprint(1)\n```\n')
    assert [d.message for d in bad.diagnostics] == [
        "after='nothing': no cell of the post binds 'nothing'"
    ]
    with pytest.raises(BadInput, match="fence option after must name"):
        planned(tmp_path, index, "```python after=3\nprint(1)\n```\n")


def test_inline_values_depend_on_the_cells_that_define_their_names(tmp_path, index):
    text = "```python\na = 1\n```\n\n```python\nb = 2\n```\n\nA is `{python} a`.\n"
    assert groups(tmp_path, index, text) == [
        ["a", "b", "`"]
    ]  # one stretch: a reader runs it top to bottom
    text = "```python\na = 1\n```\n\nA is `{python} a`.\n\n```python\nb = 2\n```\n"
    assert groups(tmp_path, index, text) == [["a", "`"], ["b"]]


@pytest.mark.parametrize(
    "code",
    [
        "exec('z = 1')",
        "print(globals())",
        "from math import *\nprint(pi)",
        "%timeit 1 + 1",
        "def f():\n    global q\n    q = 1",
    ],
)
def test_a_cell_the_analysis_cannot_judge_joins_everything(tmp_path, index, code):
    text = fences("a = 1", code, "b = 2")
    assert len(groups(tmp_path, index, text)) == 1


def test_isolate_false_runs_the_post_as_one(tmp_path, index):
    text = fences("a = 1", "b = 2", header="---\nisolate: false\n---\n\n")
    assert groups(tmp_path, index, text) == [["a", "b"]]
    with pytest.raises(BadInput, match="'isolate' must be true or false"):
        planned(tmp_path, index, "---\nisolate: sometimes\n---\n")


def test_functions_and_deletion(tmp_path, index):
    text = fences(
        "def square(v):\n    return v * v", "y = 3", "print(square(2))", "del y", "print(4)"
    )
    assert groups(tmp_path, index, text) == [["def", "y", "print(square(2))", "del"], ["print(4)"]]


def test_the_flagship_splits_into_its_sections(index):
    post = plan_post(
        complete_post(read_post(ROOT / "posts" / "deep-learning-overview" / "index.md"), index)
    )
    assert len(post.components) >= 5
    notebook = post.notebook()
    setups = [
        cell
        for cell in notebook.cells
        if cell.metadata.get("kernelblog", {}).get("role") == "setup"
    ]
    assert len(setups) == len(post.components)
