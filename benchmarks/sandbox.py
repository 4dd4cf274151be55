"""Benchmark the sandbox's cost per kernel start: python benchmarks/sandbox.py [--runs N]

Alternating sandboxed and unsandboxed kernels, so that load from other processes falls on
both alike, N times each, it measures (1) a kernel's start until it answers (the launch
path execute.py uses: bwrap's namespaces and mounts, the IPC transport) and (2) a whole
one-cell post (`print(1)`, no TensorFlow): start, the cell, shutdown and cleanup. It prints
the medians, their differences (the sandbox's cost) and the target: < 0.2 s per kernel start.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from subprocess import DEVNULL

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kernelblog import isolation  # noqa: E402
from kernelblog.complete import complete_post  # noqa: E402
from kernelblog.execute import execute_post  # noqa: E402
from kernelblog.keras_index import build_index  # noqa: E402
from kernelblog.kernels import KERNEL_ENV, STARTUP, Kernels  # noqa: E402
from kernelblog.read import read_post  # noqa: E402

TARGET = 0.2


def start(chosen: isolation.Isolation) -> float:
    """Seconds from launching a kernel to its first answer (kernel_info)."""
    with isolation.runtime_folder() as runtime:
        runtime = Path(runtime)
        (runtime / "work").mkdir()
        manager = isolation.kernel_manager(chosen, runtime, runtime / "work")

        async def run() -> float:
            started = time.perf_counter()
            await manager.start_kernel(
                extra_arguments=[STARTUP],
                env=dict(os.environ, **KERNEL_ENV),
                stderr=DEVNULL,
                cwd=str(runtime / "work"),
            )
            client = manager.client()
            client.start_channels()
            await client.wait_for_ready(timeout=120)
            seconds = time.perf_counter() - started
            client.stop_channels()
            await manager.shutdown_kernel(now=True)
            return seconds

        return asyncio.run(run())


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
    kinds = {
        "sandboxed": isolation.Isolation(True, limits),
        "unsandboxed": isolation.Isolation(False, limits),
    }
    starts: dict[str, list[float]] = {kind: [] for kind in kinds}
    posts: dict[str, list[float]] = {kind: [] for kind in kinds}
    with Kernels(1, isolation=kinds["unsandboxed"]) as kernels:
        execute_post(completed, kernels=kernels)  # warm the file cache once
    for _ in range(args.runs):
        for kind, chosen in kinds.items():
            starts[kind].append(start(chosen))
            started = time.perf_counter()
            with Kernels(1, fresh=True, isolation=chosen) as kernels:
                result = execute_post(completed, kernels=kernels)
            posts[kind].append(time.perf_counter() - started)
            if result.failure:
                sys.exit(f"{kind}: {result.failure}")
    print(
        f"on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"median of {args.runs} each, alternating:"
    )
    for title, seconds in (
        ("kernel start until it answers", starts),
        ("one-cell post, start to cleanup", posts),
    ):
        medians = {kind: statistics.median(values) for kind, values in seconds.items()}
        print(f"{title}:")
        for kind, value in medians.items():
            print(
                f"  {kind:12} {value:6.3f} s   "
                f"(all: {', '.join(f'{v:.2f}' for v in seconds[kind])})"
            )
        print(
            f"  sandbox cost: {medians['sandboxed'] - medians['unsandboxed']:+.3f} s, "
            f"{medians['sandboxed'] / medians['unsandboxed']:.2f}x the unsandboxed floor"
        )
    cost = statistics.median(starts["sandboxed"]) - statistics.median(starts["unsandboxed"])
    print(
        f"sandbox cost per kernel start: {cost:+.3f} s; "
        f"target < {TARGET} s: {'met' if cost < TARGET else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
