"""Sentences the posts choose from their outputs say the right thing in every case (no kernel).

Each inline value that chooses words (`{python} "a" if x else "b"`, or a call to a function
the post defines) is evaluated here with fabricated outputs that reach each of its branches.
"""

import ast

import numpy as np
import pytest

from conftest import ROOT
from kernelblog.read import read_post

POSTS = sorted((ROOT / "posts").glob("*.md"))
VARIANTS = ("from scratch", "frozen", "fine-tuned")


def post_functions(post) -> dict[str, ast.FunctionDef]:
    """The top-level functions the post's snippets define, by name."""
    return {
        node.name: node
        for cell in post.code_cells
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.FunctionDef)
    }


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


def transfer(scratch, frozen, finetuned, sd=0.02):
    """Fabricated results of the transfer comparison: the same means and spreads at 30 and 150
    labels."""
    return {
        "VARIANTS": VARIANTS,
        "mean": {n: np.array([scratch, frozen, finetuned]) for n in (30, 150)},
        "spread": {n: np.array([sd, sd, sd]) for n in (30, 150)},
    }


# A distinctive part of each choosing expression -> (fabricated outputs, words the sentence must
# then contain).
CASES = {
    "late_gain > 0.01": [
        ({"late_gain": 0.04}, "still rising"),
        ({"late_gain": 0.01}, "levelled off"),
        ({"late_gain": -0.02}, "levelled off"),
    ],
    "mse_plain >= mse_baseline": [
        ({"mse_plain": 0.34, "mse_baseline": 0.33}, "no better than the constant guess"),
        ({"mse_plain": 0.33, "mse_baseline": 0.33}, "no better than the constant guess"),
        (
            {"mse_plain": 0.32, "mse_baseline": 0.33},
            "only 3% below the constant guess: it has learned almost nothing",
        ),
        ({"mse_plain": 0.25, "mse_baseline": 0.33}, "24% below the constant guess"),
        ({"mse_plain": 0.01, "mse_baseline": 0.33}, "97% below the constant guess"),
    ],
    '"above" if auc > auc_pca': [
        ({"auc": 0.99, "auc_pca": 0.95}, "above"),
        ({"auc": 0.95, "auc_pca": 0.99}, "below"),
        ({"auc": 0.97, "auc_pca": 0.97}, "equal to"),
    ],
    "auc - auc_pca > 0.01": [
        ({"auc": 0.99, "auc_pca": 0.95}, "does better here than four linear directions"),
        ({"auc": 0.975, "auc_pca": 0.97}, "about as well"),
        ({"auc": 0.965, "auc_pca": 0.97}, "about as well"),
        ({"auc": 0.90, "auc_pca": 0.97}, "The linear code does better"),
    ],
    "final <= floor.max()": [
        (
            {"final": 0.0004, "floor": np.array([-0.0003, 0.0005]), "gaussian_distance": 0.03},
            "within the",
        ),
        (
            {"final": 0.0005, "floor": np.array([-0.0003, 0.0005]), "gaussian_distance": 0.03},
            "within the",
        ),
        (
            {"final": 0.008, "floor": np.array([-0.0003, 0.0005]), "gaussian_distance": 0.03},
            "above the noise floor but below the moment-matched Gaussian",
        ),
        (
            {"final": 0.05, "floor": np.array([-0.0003, 0.0005]), "gaussian_distance": 0.03},
            "has not learned the crescent's shape",
        ),
    ],
    'verdict(30, "frozen", "from scratch")': [
        (transfer(0.45, 0.70, 0.70), "better than training from scratch, by 0.250"),
        (transfer(0.70, 0.45, 0.45), "worse than training from scratch, by 0.250"),
        (
            transfer(0.70, 0.73, 0.73),
            "within the run-to-run spread of training from scratch (a difference of +0.030)",
        ),
    ],
    'verdict(150, "frozen", "from scratch")': [
        (transfer(0.70, 0.80, 0.80), "better than"),
        (transfer(0.80, 0.70, 0.70), "worse than"),
        (transfer(0.80, 0.79, 0.79), "within the run-to-run spread"),
    ],
    'verdict(30, "fine-tuned", "frozen")': [
        (transfer(0.45, 0.70, 0.80), "better than the frozen base, by 0.100"),
        (transfer(0.45, 0.70, 0.60), "worse than the frozen base, by 0.100"),
        (
            transfer(0.45, 0.70, 0.66),
            "within the run-to-run spread of the frozen base (a difference of -0.040)",
        ),
    ],
    'verdict(150, "fine-tuned", "frozen")': [
        (transfer(0.70, 0.80, 0.90), "better than"),
        (transfer(0.70, 0.80, 0.70), "worse than"),
        (transfer(0.70, 0.80, 0.80), "within the run-to-run spread"),
    ],
}


def choosing_expressions():
    for path in POSTS:
        post = read_post(path)
        functions = post_functions(post)
        for cell in post.cells:
            for value in cell.inline_values():
                if chooses(value.expression, functions):
                    yield path.name, value.expression, functions


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
        namespace = dict(outputs)
        for function in functions.values():  # the post's own helpers, as it defines them
            exec(compile(ast.Module([function], []), post, "exec"), namespace)
        text = str(eval(expression, namespace))
        assert words in text, (outputs, text)
        texts.add(text)
    assert len({words for _, words in CASES[key]}) >= branches(expression), (
        "a branch is not reached"
    )
    assert len(texts) >= branches(expression)


def test_verdict_covers_its_three_cases_and_the_boundaries():
    """The post's rule: better or worse only when the means differ by more than the two spreads
    together."""
    post = read_post(ROOT / "posts" / "deep-learning-overview.md")
    namespace = transfer(
        0.25, 0.75, 0.75, sd=0.25
    )  # a gap of 0.5, exactly the noise: not a finding
    exec(compile(ast.Module([post_functions(post)["verdict"]], []), "post", "exec"), namespace)
    assert namespace["verdict"](30, "frozen", "from scratch").startswith(
        "within the run-to-run spread"
    )
    namespace.update(transfer(0.25, 0.76, 0.76, sd=0.25))
    assert namespace["verdict"](30, "frozen", "from scratch").startswith("better than")
    namespace.update(transfer(0.76, 0.25, 0.25, sd=0.25))
    assert namespace["verdict"](30, "frozen", "from scratch").startswith("worse than")
