"""Sharding: a deterministic, balanced share of the work for `--shard K/N`.

The work is a list of units (posts today), each with an estimated cost: the seconds its last
execution took, as recorded in the cache, or else its cell count scaled by the seconds per cell
of the units that have a record. Every shard computes the same assignment from the same inputs
(the posts and the cache restored on each machine), executes its own units and caches them;
entries are named by their keys, so the shards' caches merge by copying.
"""

from __future__ import annotations

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
