"""Execute stage: run a post's components in the build's kernels and keep the outputs."""

from __future__ import annotations

import contextlib
import datetime
import math
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from .cells import CellMeta, ExecutedCell, executed_cells
from .diagnostics import Diagnostic
from .kernels import MAX_DISPLAYS, MAX_TEXT, Job, Kernel, Kernels, kill_group
from .outputs import TextCap
from .settings import Options

if TYPE_CHECKING:
    from .complete import CompletedPost
    from .postfiles import PostFiles

CELL_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
GRACE = 5  # seconds from the interrupt at a cell's time limit to killing the kernel


@dataclass(frozen=True)
class BackendRun:
    """How a post fared on one Keras backend: its components' seconds and its failures, each a
    diagnostic whose message starts with the backend's name in brackets (`[jax] ...`) but on the
    primary backend."""

    name: str
    seconds: float
    failures: tuple[Diagnostic, ...] = ()
    complete: bool = True  # every component ran or came from the cache (none skipped)

    @property
    def passed(self) -> bool:
        return self.complete and not self.failures


@dataclass
class ExecutedPost:
    """The post's notebook with outputs; `failure` is set when a cell did not run through.

    When every output came from the cache, `stamps` identify them: each component's cache key and
    its outputs' checksum. The notebook is then None if the post's page was kept (see reuse.py).
    """

    notebook: nbformat.NotebookNode | None
    failure: Diagnostic | None = None  # the first failing cell
    seconds: float = 0.0  # the sum of its components' runs, cached or not
    executed_at: str = ""  # when the kernel ran it (its latest component), ISO 8601 in UTC
    cached: bool = False  # outputs came from the execution cache, all of them
    failures: list[Diagnostic] = field(default_factory=list)  # every failing cell, with keep_going
    stamps: tuple[tuple[str, str], ...] | None = None
    backends: tuple[BackendRun, ...] = ()  # every backend it ran on, the primary one first

    def cells(self) -> list[ExecutedCell]:
        """The build's code cells, each with its outputs."""
        return executed_cells(self.notebook)


@dataclass
class ComponentRun:
    """What running one component gave: its failures, how long, and when."""

    failures: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0
    executed_at: str = ""
    warnings: list[Diagnostic] = field(default_factory=list)  # cells whose output was cut


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def component_notebook(notebook: nbformat.NotebookNode, number: int) -> nbformat.NotebookNode:
    """One component's code cells (its setup first), as a notebook sharing the post notebook's cell
    objects: outputs put on one are on the other."""
    cells = [
        cell for cell in notebook.cells if (meta := CellMeta.of(cell)) and meta.component == number
    ]
    return (
        nbformat.from_dict(
            {"nbformat": 4, "nbformat_minor": 5, "metadata": notebook.metadata, "cells": []}
        )
        if not cells
        else _sharing(notebook, cells)
    )


def _sharing(notebook: nbformat.NotebookNode, cells: list) -> nbformat.NotebookNode:
    sub = nbformat.NotebookNode(nbformat=4, nbformat_minor=5, metadata=notebook.metadata, cells=[])
    sub.cells.extend(cells)  # the same objects, not copies
    return sub


def execute_component(
    kernel: Kernel,
    path: Path,
    notebook: nbformat.NotebookNode,
    timeout: float = Options.timeout,
    keep_going: bool = False,
    on_cell: Callable[[nbformat.NotebookNode], None] | None = None,
    files: PostFiles | None = None,
    backend: str = "tensorflow",
) -> ComponentRun:
    """Run a component's cells in order in a kernel already reset, the post's `files` read-only in
    its working folder; stop at the first cell that fails, or with `keep_going` run the rest too
    (a dead kernel stops it). A cell whose fence names other backends than the kernel's
    (`backends=[...]`) is skipped.

    `on_cell(cell)` is called before each cell runs.
    """
    result = ComponentRun(executed_at=now())
    started = time.monotonic()
    kernel.bring(files)
    client = kernel.client
    client.nb = notebook
    for index, cell in enumerate(notebook.cells):
        if on_cell:
            on_cell(cell)
        meta = CellMeta.of(cell)
        if not meta.runs_on(backend):
            continue
        limit = meta.timeout or math.ceil(timeout)
        if meta.static_error:  # found before running (--keep-going): run only the build's lines
            _run_additions(client, kernel, cell, index, limit)
            continue
        message = _run_cell(client, kernel, cell, index, limit, meta.raises)
        if client.truncated:
            result.warnings.append(Diagnostic(path, meta.line, "warning", client.truncated))
        if message:
            if meta.role == "setup":
                message = "the build's setup cell failed: " + message
            line = _error_line(cell) or meta.line
            result.failures.append(Diagnostic(path, line, "error", message))
            # With keep_going even a failed setup (an import the post's own cell also fails on) lets
            # the
            # cells run: those that need what it would have bound fail at their own lines.
            if not keep_going or not kernel.alive():
                break
    result.seconds = time.monotonic() - started
    return result


def execute_post(
    completed: CompletedPost,
    timeout: float = Options.timeout,
    keep_going: bool = False,
    on_cell: Callable[[int, int], None] | None = None,
    kernels: Kernels | None = None,
) -> ExecutedPost:
    """Run every component of a post, in order, in one kernel; stop at the first failure, or with
    `keep_going` run the rest too. `on_cell(i, n)` is called before the i-th of n code cells runs.
    """
    notebook = completed.notebook()
    result = ExecutedPost(notebook, executed_at=now())
    code = [cell for cell in notebook.cells if CellMeta.of(cell)]
    position = {id(cell): k for k, cell in enumerate(code, start=1)}
    numbers = sorted({CellMeta.of(cell).component for cell in code})
    errors: list[Exception] = []

    def job(number: int, order: int) -> Job:
        def run(kernel):
            if result.failures and not keep_going:
                return
            done = execute_component(
                kernel,
                completed.post.path,
                component_notebook(notebook, number),
                timeout,
                keep_going,
                on_cell and (lambda cell: on_cell(position[id(cell)], len(code))),
                completed.post.files,
            )
            result.failures.extend(done.failures)
            result.seconds += done.seconds

        return Job(len(numbers) - order, run, errors.append)

    with contextlib.ExitStack() as stack:
        if kernels is None:
            kernels = stack.enter_context(Kernels(1))
        kernels.run([job(number, order) for order, number in enumerate(numbers)])
    if errors:
        raise errors[0]
    result.failure = result.failures[0] if result.failures else None
    return result


def _run_cell(client, kernel: Kernel, cell, index: int, limit: float, raises: str | None):
    """Run one cell under the watchdog; the failure message, or None when it ran as expected."""
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    client.cap, client.displays, client.truncated = TextCap(MAX_TEXT), 0, ""
    watchdog = _Watchdog(kernel, limit)
    try:
        client.execute_cell(cell, index)
        error = None
    except DeadKernelError:
        if kernel.watcher.tripped:  # over a limit (memory, processes): the watcher killed it
            return kernel.watcher.tripped
        if watchdog.fired == "killed":
            return (
                f"the cell timed out after {limit:g} s and ignored the interrupt; "
                "the kernel was killed"
            )
        return "the kernel died while running this cell: " + kernel.death()
    except CellExecutionError as failure:
        error = failure
    finally:
        watchdog.cancel()
        kernel.note_children()
        _note_truncation(client, cell)
    if watchdog.fired and error is not None:
        return f"the cell timed out after {limit:g} s"
    if raises:
        if error is None:
            return f"expected {raises} to be raised, but the cell raised nothing"
        if error.ename == raises or error.ename.rsplit(".", 1)[-1] == raises:
            return None
    if error is None:
        return None
    evalue = " ".join(str(error.evalue).split())
    message = f"{error.ename}: {evalue}" if evalue else error.ename
    return f"expected {raises}, but the cell raised {message}" if raises else message


def _run_additions(client, kernel: Kernel, cell, index: int, limit: float) -> None:
    """Run the imports the build added to a cell that has a static error, so
    the cells after it find them; the cell itself stays not run, its error shown on the page."""
    source = cell.source
    cell.source = CellMeta.of(cell).additions or ""
    try:
        if cell.source:
            _run_cell(client, kernel, cell, index, limit, None)
    finally:
        cell.source, cell.outputs, cell.execution_count = source, [], None
        cell.metadata.pop("execution", None)


class _Watchdog:
    """At a cell's time limit, interrupt the kernel (SIGINT); `GRACE` seconds later, if the
    cell still runs (it ignores SIGINT), kill the kernel's whole process group."""

    def __init__(self, kernel: Kernel, limit: float):
        self.fired: str | None = None
        self.timers = [
            threading.Timer(limit, self._send, (kernel.pgid, signal.SIGINT, "interrupted")),
            threading.Timer(limit + GRACE, self._send, (kernel.pgid, signal.SIGKILL, "killed")),
        ]
        for timer in self.timers:
            timer.daemon = True
            timer.start()

    def _send(self, pgid: int, signum: int, what: str) -> None:
        self.fired = what
        kill_group(pgid, signum)

    def cancel(self) -> None:
        for timer in self.timers:
            timer.cancel()


def _note_truncation(client, cell) -> None:
    """Append the end of the cell's printed text, after a marker where it was cut, and a marker
    for displays left out; say what was cut in `client.truncated`."""
    for name, text in client.cap.rest():
        cell.outputs.append(nbformat.v4.new_output("stream", name=name, text=text))
    dropped = []
    if client.cap.cut:
        dropped.append(f"the middle {client.cap.cut:,} characters of its printed text")
    if client.displays > MAX_DISPLAYS:
        dropped.append(
            f"{client.displays - MAX_DISPLAYS:,} displayed outputs after the first {MAX_DISPLAYS}"
        )
        more = client.displays - MAX_DISPLAYS
        marker = (
            f"\n[output truncated by the build: {more:,} more displayed outputs were not kept]\n"
        )
        cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=marker))
    if dropped:
        client.truncated = f"the cell's output was cut: the build left out {' and '.join(dropped)}"


def _error_line(cell: nbformat.NotebookNode) -> int | None:
    """The .md line of the outermost frame of this cell in the error's traceback."""
    lines = CellMeta.of(cell).lines
    for output in cell.get("outputs", []):
        if output.output_type != "error":
            continue
        for entry in output.traceback:
            match = CELL_FRAME.search(ANSI.sub("", entry))
            if match and int(match.group(1)) == cell.get("execution_count"):
                return lines[min(int(match.group(2)), len(lines)) - 1]
    return None
