"""Sharding: a deterministic, balanced share of the work for `--shard K/N`.

The work is a list of units (posts today), each with an estimated cost: the seconds its last
execution took, as recorded in the cache, or else its cell count scaled by the seconds per cell
of the units that have a record. Every shard computes the same assignment from the same inputs
(the posts and the cache restored on each machine), executes its own units and caches them;
entries are named by their keys, so the shards' caches merge by copying.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable, Mapping

from .settings import Shard


def assign(units: Iterable[tuple[str, float]], count: int) -> list[list[str]]:
    """Split (unit id, cost) pairs into `count` shares of nearly equal total cost.

    Longest first, each to the share with the least cost so far (the lower share on a tie):
    within 4/3 of the best split, and the same on every machine.
    """
    shares: list[list[str]] = [[] for _ in range(count)]
    loads = [0.0] * count
    for unit, cost in sorted(units, key=lambda pair: (-pair[1], pair[0])):
        lightest = min(range(count), key=lambda index: (loads[index], index))
        shares[lightest].append(unit)
        loads[lightest] += cost
    return shares


def share(units: Iterable[tuple[str, float]], shard: Shard) -> list[str]:
    """The ids of the units that `shard` executes."""
    return assign(units, shard.count)[shard.index - 1]


def estimate(
    cells: Mapping[str, int], recorded: Mapping[str, float], cached: Iterable[str] = ()
) -> dict[str, float]:
    """Each unit's cost: 0 when its outputs are cached, else its recorded seconds, else its cells
    times the recorded seconds per cell of the others (one second per cell without any record)."""
    timed = [unit for unit in cells if unit in recorded and cells[unit]]
    per_cell = (
        (sum(recorded[unit] for unit in timed) / sum(cells[unit] for unit in timed))
        if timed
        else 1.0
    )
    skip = set(cached)
    return {
        unit: 0.0
        if unit in skip
        else float(recorded[unit])
        if unit in recorded
        else count * per_cell
        for unit, count in cells.items()
    }


STEP = 0.004  # seconds per training or prediction step of a small dense model, roughly
HEAVY = ("Conv1D", "Conv2D", "Conv3D", "LSTM", "GRU", "SimpleRNN")  # about 5 dense steps each
TRAINING = ("fit", "evaluate", "predict")  # a pass over the data: its batches are steps
STEPS = ("train_on_batch", "test_on_batch", "predict_on_batch")  # one step each


def code_seconds(sources: list[str]) -> float:
    """A cold build's estimate of a component's seconds from its code alone, so that long
    components start first before any time is recorded: a second to start, a tenth per cell, and
    its steps: each `fit` is `epochs` passes of `n_train / batch_size` batches (the data's
    `n_train=`, else 1,000 examples; `batch_size=`, else 32), `evaluate` and `predict` one pass,
    each `train_on_batch` one step, all times the loops around them (`range(N)`, or a pass over
    the data), a function of the component's as often as it is called; a convolutional or
    recurrent model's steps count five times."""
    code = "\n".join(sources)
    sizes = [int(n) for n in re.findall(r"\bn_train\s*=\s*(\d+)", code)]
    examples = max(sizes) if sizes else 1000
    trees = []
    for source in sources:
        try:
            trees.append(ast.parse(source))
        except (SyntaxError, ValueError, RecursionError):
            continue
    functions: dict[str, float] = {}  # name -> the steps of one call, in the order defined
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                functions[node.name] = sum(
                    _steps(child, 1, examples, functions) for child in node.body
                )
    steps = sum(_steps(tree, 1, examples, functions) for tree in trees)
    heavy = 5 if any(re.search(rf"\b{name}\b", code) for name in HEAVY) else 1
    return 1.0 + 0.1 * len(sources) + steps * STEP * heavy


def _steps(node: ast.AST, times: int, examples: int, functions: dict[str, float]) -> float:
    """The steps under `node`, run `times` times; `functions`: the steps of a call of each."""
    if isinstance(node, ast.FunctionDef):
        return 0.0  # counted where it is called
    if isinstance(node, (ast.For, ast.While)):
        times *= _iterations(node, examples)
    total = 0.0
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        total += times * functions.get(node.func.id, 0.0)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        words = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
        if node.func.attr in TRAINING:
            batch = words.get("batch_size") if isinstance(words.get("batch_size"), int) else 32
            epochs = words.get("epochs") if node.func.attr == "fit" else 1
            passes = epochs if isinstance(epochs, int) and epochs > 0 else 1
            total += times * passes * math.ceil(examples / max(batch, 1))
        elif node.func.attr in STEPS:
            total += times
    return total + sum(
        _steps(child, times, examples, functions) for child in ast.iter_child_nodes(node)
    )


def _iterations(loop: ast.For | ast.While, examples: int) -> int:
    """How often a loop runs, as its code says: `range(N)`'s N (a bound that is not a number: a
    pass over the data, by the range's step), a literal's length, else 3."""
    if isinstance(loop, ast.For):
        it = loop.iter
        if isinstance(it, ast.Call) and getattr(it.func, "id", "") == "range" and it.args:
            values = [a.value if isinstance(a, ast.Constant) else None for a in it.args]
            start, stop = (0, values[0]) if len(values) == 1 else (values[0], values[1])
            step = values[2] if len(values) > 2 and isinstance(values[2], int) else 1
            if not isinstance(start, int):
                return 3
            if not isinstance(stop, int):
                stop = examples  # range(0, len(x_train), 64)
            return max(math.ceil((stop - start) / max(step, 1)), 1)
        if isinstance(it, (ast.List, ast.Tuple)):
            return max(len(it.elts), 1)
    return 3
