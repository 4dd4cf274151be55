"""Execute stage: run a completed post in its own Jupyter kernel and keep the outputs."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

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
    failure: Diagnostic | None = None
    seconds: float = 0.0
    cell_seconds: list[float] = field(default_factory=list)


def execute_post(completed: CompletedPost, timeout: float = 600) -> ExecutedPost:
    """Run every cell in order in a fresh kernel; stop at the first cell that fails."""
    notebook = completed.notebook()
    code_cells = [c for c in completed.cells if c.cell.kind == "code"]
    result = ExecutedPost(notebook)
    started = time.monotonic()
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, **KERNEL_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="kernelblog-run-") as workdir:
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": workdir}})
        with client.setup_kernel(env=env, stderr=subprocess.DEVNULL):
            completed_index = -1  # which of code_cells runs now; -1 is the preamble
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                done = code_cells[completed_index] if completed_index >= 0 else None
                client.timeout = done.cell.options.get("timeout", timeout) if done else timeout
                cell_start = time.monotonic()
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    result.failure = _failure(completed, done, None, f"the cell timed out after {client.timeout} s")
                except DeadKernelError:
                    result.failure = _failure(completed, done, None, "the kernel died while running this cell")
                except CellExecutionError as error:
                    line = _error_line(cell, done)
                    evalue = " ".join(str(error.evalue).split())
                    result.failure = _failure(completed, done, line, f"{error.ename}: {evalue}" if evalue else error.ename)
                result.cell_seconds.append(time.monotonic() - cell_start)
                if result.failure:
                    break
                completed_index += 1
    result.seconds = time.monotonic() - started
    return result


def _failure(completed: CompletedPost, done, line: int | None, message: str) -> Diagnostic:
    if line is None:
        line = done.cell.line if done else 1
    if done is None:
        message = "the build's setup cell failed: " + message
    return Diagnostic(completed.post.path, line, "error", message)


def _error_line(cell: nbformat.NotebookNode, done) -> int | None:
    """The .md line of the outermost frame of this cell in the error's traceback."""
    if done is None:
        return None
    for output in cell.get("outputs", []):
        if output.output_type != "error":
            continue
        for entry in output.traceback:
            match = CELL_FRAME.search(ANSI.sub("", entry))
            if match and int(match.group(1)) == cell.get("execution_count"):
                return done.markdown_line(int(match.group(2)))
    return None
