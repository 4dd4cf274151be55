"""Sentences the posts choose from their outputs say the right thing in every case (no kernel).

Each inline value that chooses words (`{python} "a" if x else "b"`, or a call to a function
the post defines) is evaluated here with fabricated outputs that reach each of its branches.
"""

import ast

import numpy as np
import pytest

from conftest import ROOT
from kernelblog.listing import list_posts
from kernelblog.read import read_post

POSTS = list(list_posts(ROOT / "posts").posts)
EVIDENCE = ROOT / "posts" / "deep-learning-overview" / "evidence.py"


def post_functions(post) -> dict[str, ast.FunctionDef]:
    """The top-level functions the post's snippets define, by name."""
    return {
        node.name: node
        for cell in post.code_cells
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.FunctionDef)
    }


def module_namespace(path) -> dict:
    """What the Python modules beside a folder post define: the helpers its code imports."""
    namespace = {"np": np}
    if path.name == "index.md":
        for module in sorted(path.parent.glob("*.py")):
            exec(compile(module.read_text(), str(module), "exec"), namespace)
    return namespace


def chooses(expression: str, functions: dict) -> bool:
    """Whether an inline expression chooses between texts: a conditional, or a call to the post's
    own code."""
    tree = ast.parse(expression, mode="eval")
    return any(
        isinstance(node, ast.IfExp)
        or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in functions
        )
        for node in ast.walk(tree)
    )


def branches(expression: str) -> int:
    return 1 + sum(
        isinstance(node, ast.IfExp) for node in ast.walk(ast.parse(expression, mode="eval"))
    )


def runs(lstm, plain):
    """Fabricated test errors of three runs at 10 steps: the means given, a spread of 0.0003."""
    spread = np.array([-0.0003, 0.0, 0.0003])
    return {"errors": {("LSTM", 10): lstm + spread, ("SimpleRNN", 10): plain + spread}}


def tuned(fit_30, fit_150, rates=(1e-2, 1e-3)):
    """Fabricated tuning of the from-scratch baseline: (rate, training accuracy) per label count."""
    return {
        "LABEL_COUNTS": (30, 150),
        "RATES": (1e-3, 3e-3, 1e-2),
        "tuning": {30: (rates[0], fit_30), 150: (rates[1], fit_150)},
    }


# A distinctive part of each choosing expression -> (fabricated outputs, words the sentence must
# then contain).
CASES = {
    "if all(tuning[n][0] == RATE for n in LABEL_COUNTS) else": [
        ({**tuned(1.0, 1.0, rates=(1e-2, 1e-2)), "RATE": 1e-2}, "Tuning kept the equal"),
        ({**tuned(1.0, 1.0, rates=(1e-2, 1e-3)), "RATE": 1e-2}, "With"),
    ],
    "roc_auc(reconstruction_errors(x_rough, pca_reconstruction(x_normal, x_rough, 8)), y_rough)": [
        (  # PCA fitted on small noise: the two signals with a spike reconstruct worst
            {
                "x_normal": np.random.default_rng(0).normal(0, 0.01, (50, 10)),
                "x_rough": np.array(
                    [[0.0] * 10, [0.0] * 9 + [1.0], [0.01] * 10, [0.0] * 9 + [2.0]]
                ),
                "y_rough": np.array([0, 1, 0, 1]),
            },
            "1.000",
        )
    ],
    "roc_auc(np.abs(np.diff(x_rough, axis=1)).max(axis=1), y_rough)": [
        (  # two smooth signals and two with a jump: the jump rule ranks them perfectly
            {
                "x_rough": np.array([[0, 0.1, 0.2], [0, 1, 1], [0, 0.1, 0.1], [0, 0, 2]]),
                "y_rough": np.array([0, 1, 0, 1]),
            },
            "1.000",
        )
    ],
    'f"{receptive_field(3)}×{receptive_field(3)}"': [({}, "22×22")],
    'errors["SimpleRNN", 10], lower_is_better=True) != "better than"': [
        (runs(0.0065, 0.0033), "as well as the LSTM or better"),
        (runs(0.0050, 0.0050), "as well as the LSTM or better"),
        (runs(0.0033, 0.0065), "though less well than the LSTM"),
    ],
    "'fitted its labels' if tuning[n][1] >= 0.95": [
        (
            tuned(1.0, 0.94),
            "at 30 labels it has fitted its labels; at 150 labels it has not",
        ),
        (
            tuned(0.95, 1.0),
            "at 30 labels it has fitted its labels; at 150 labels it has fitted",
        ),
        (tuned(0.5, 0.5), "at 30 labels it has not fitted all its labels, so part of that gap"),
    ],
}


def choosing_expressions():
    for path in POSTS:
        post = read_post(path)
        functions = post_functions(post)
        for cell in post.cells:
            for value in cell.inline_values():
                if chooses(value.expression, functions):
                    yield str(path.relative_to(ROOT)), value.expression, functions


def test_every_choosing_sentence_has_cases():
    found = [expression for _, expression, _ in choosing_expressions()]
    assert found, "the posts choose no words: this test has lost its subject"
    for expression in found:
        keys = [key for key in CASES if key in expression]
        assert len(keys) == 1, f"no cases (or several) for the inline value {expression!r}"
    assert all(any(key in expression for expression in found) for key in CASES), (
        "cases for a sentence that is gone"
    )


@pytest.mark.parametrize(
    "post, expression, functions",
    list(choosing_expressions()),
    ids=lambda value: value[:40] if isinstance(value, str) else "",
)
def test_each_branch_says_what_the_fabricated_outputs_show(post, expression, functions):
    [key] = [key for key in CASES if key in expression]
    texts = set()
    for outputs, words in CASES[key]:
        namespace = {**module_namespace(ROOT / post), **outputs}
        for function in functions.values():  # the post's own helpers, as it defines them
            exec(compile(ast.Module([function], []), post, "exec"), namespace)
        text = str(eval(expression, namespace))
        assert words in text, (outputs, text)
        texts.add(text)
    assert len({words for _, words in CASES[key]}) >= branches(expression), (
        "a branch is not reached"
    )
    assert len(texts) >= branches(expression)


def test_the_overviews_rule_calls_a_difference_only_beyond_the_two_spreads():
    """evidence.verdict, the one rule of the flagship's comparisons: better or worse only when the
    means differ by more than the two standard deviations added, either way round."""
    verdict = module_namespace(EVIDENCE.parent / "index.md")["verdict"]
    a, b = [0.70, 0.75, 0.80], [0.60, 0.65, 0.70]  # SD 0.05 each: the gap 0.10 is not beyond
    assert verdict(a, b) == verdict(b, a) == "within the spread of"
    assert verdict([0.71, 0.76, 0.81], b) == "better than"
    assert verdict(b, [0.71, 0.76, 0.81]) == "worse than"
    assert verdict([0.71, 0.76, 0.81], b, lower_is_better=True) == "worse than"
    assert verdict(b, [0.71, 0.76, 0.81], lower_is_better=True) == "better than"
    mean_sd = module_namespace(EVIDENCE.parent / "index.md")["mean_sd"]
    assert mean_sd([0.70, 0.75, 0.80]) == "0.750 ± 0.050"
    assert mean_sd([0.001, 0.002, 0.003], 4) == "0.0020 ± 0.0010"
