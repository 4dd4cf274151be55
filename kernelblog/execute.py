"""Execute stage: run a completed post in its own Jupyter kernel and keep the outputs."""

from __future__ import annotations

import datetime
import math
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .complete import CompletedPost
from .diagnostics import Diagnostic

# Keeps TensorFlow's C++ start-up logging down; what still comes through is filtered at render.
KERNEL_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
CELL_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass
class ExecutedPost:
    """The post's notebook with outputs; `failure` is set when a cell did not run through."""

    notebook: nbformat.NotebookNode
    failure: Diagnostic | None = None  # the first failing cell
    seconds: float = 0.0
    executed_at: str = ""  # when the kernel ran it, ISO 8601 in UTC
    cached: bool = False  # outputs came from the execution cache
    failures: list[Diagnostic] = field(default_factory=list)  # every failing cell, with keep_going


def execute_post(completed: CompletedPost, timeout: float = 600, keep_going: bool = False,
                 on_cell: Callable[[int, int], None] | None = None) -> ExecutedPost:
    """Run every cell in order in a fresh kernel; stop at the first cell that fails, or with
    `keep_going` run the rest too (a dead kernel or the build's setup failing stops it).

    `on_cell(i, n)` is called before the i-th of the n code cells runs (from 1).
    """
    from nbclient import NotebookClient  # loaded only when something runs
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = completed.notebook()
    now = datetime.datetime.now(datetime.UTC)
    result = ExecutedPost(notebook, executed_at=now.isoformat(timespec="seconds"))
    started = time.monotonic()
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, **KERNEL_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="kernelblog-run-") as workdir:
        client = NotebookClient(notebook, timeout=math.ceil(timeout), kernel_name="python3",
                                resources={"metadata": {"path": workdir}})
        code_cells = sum(cell.cell_type == "code" for cell in notebook.cells)
        with client.setup_kernel(env=env, stderr=subprocess.DEVNULL):
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                if on_cell:
                    on_cell(sum(c.cell_type == "code" for c in notebook.cells[:index + 1]), code_cells)
                meta = cell.metadata["kernelblog"]
                client.timeout = meta.get("timeout", math.ceil(timeout))
                message = None
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    message = f"the cell timed out after {client.timeout:g} s"
                except DeadKernelError:
                    message = "the kernel died while running this cell"
                    keep_going = False  # nothing more can run in it
                except CellExecutionError as error:
                    evalue = " ".join(str(error.evalue).split())
                    message = f"{error.ename}: {evalue}" if evalue else error.ename
                if message:
                    if meta["role"] == "preamble":
                        message = "the build's setup cell failed: " + message
                    line = _error_line(cell) or meta["line"]
                    result.failures.append(Diagnostic(completed.post.path, line, "error", message))
                    result.failure = result.failure or result.failures[-1]
                    if not keep_going or meta["role"] == "preamble":
                        break
    result.seconds = time.monotonic() - started
    return result


def _error_line(cell: nbformat.NotebookNode) -> int | None:
    """The .md line of the outermost frame of this cell in the error's traceback."""
    lines = cell.metadata["kernelblog"]["lines"]
    for output in cell.get("outputs", []):
        if output.output_type != "error":
            continue
        for entry in output.traceback:
            match = CELL_FRAME.search(ANSI.sub("", entry))
            if match and int(match.group(1)) == cell.get("execution_count"):
                return lines[min(int(match.group(2)), len(lines)) - 1]
    return None
