"""Benchmark the sandbox's cost per kernel start: python benchmarks/sandbox.py [--runs N]

Executes a one-cell post (`print(1)`, no TensorFlow) N times in a sandboxed kernel and N
times in an unsandboxed one, alternating, so that load from other processes falls on both
alike; prints the median of each, their difference (the sandbox's cost per kernel start:
bwrap's namespaces, the IPC transport, the environment and mounts) and the target, < 0.2 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kernelblog import isolation  # noqa: E402
from kernelblog.complete import complete_post  # noqa: E402
from kernelblog.execute import execute_post  # noqa: E402
from kernelblog.keras_index import build_index  # noqa: E402
from kernelblog.read import read_post  # noqa: E402

TARGET = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="kernel starts of each kind (7)")
    args = parser.parse_args()
    reason = isolation.unavailable()
    if reason:
        sys.exit(f"cannot measure the sandbox: {reason}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "one.md"
        path.write_text("# One\n\n```python\nprint(1)\n```\n", encoding="utf-8")
        completed = complete_post(read_post(path), build_index())
    limits = isolation.default_limits(1)
    kinds = {"sandboxed": isolation.Isolation(True, limits), "unsandboxed": isolation.Isolation(False, limits)}
    seconds: dict[str, list[float]] = {kind: [] for kind in kinds}
    execute_post(completed, isolation=kinds["unsandboxed"])  # warm the file cache once
    for _ in range(args.runs):
        for kind, chosen in kinds.items():
            started = time.perf_counter()
            result = execute_post(completed, isolation=chosen)
            seconds[kind].append(time.perf_counter() - started)
            if result.failure:
                sys.exit(f"{kind}: {result.failure}")
    medians = {kind: statistics.median(values) for kind, values in seconds.items()}
    cost = medians["sandboxed"] - medians["unsandboxed"]
    print(f"kernel start and one cell, median of {args.runs} each, alternating:")
    for kind, value in medians.items():
        print(f"  {kind:12} {value:6.3f} s   (all: {', '.join(f'{v:.2f}' for v in seconds[kind])})")
    print(f"  sandbox cost per kernel start: {cost:+.3f} s   target < {TARGET} s: {'met' if cost < TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
