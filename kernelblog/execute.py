"""Execute stage: run a completed post in its own Jupyter kernel and keep the outputs."""

from __future__ import annotations

import contextlib
import datetime
import functools
import math
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil

from . import isolation as sandboxing
from .complete import CompletedPost
from .diagnostics import Diagnostic
from .isolation import Isolation
from .outputs import TextCap, without_noise

# Keeps TensorFlow's C++ start-up logging down; what still comes through is filtered at render.
KERNEL_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
CELL_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
STARTUP = "--IPKernelApp.exec_lines=[\"__import__('kernelblog.sandbox').sandbox.install()\"]"  # no network
GRACE = 5  # seconds from the interrupt at a cell's time limit to killing the kernel
MAX_TEXT = 1_000_000  # characters of printed text kept per cell
MAX_DISPLAYS = 100  # figures and other displayed outputs kept per cell


@dataclass
class ExecutedPost:
    """The post's notebook with outputs; `failure` is set when a cell did not run through."""

    notebook: nbformat.NotebookNode
    failure: Diagnostic | None = None  # the first failing cell
    seconds: float = 0.0
    executed_at: str = ""  # when the kernel ran it, ISO 8601 in UTC
    cached: bool = False  # outputs came from the execution cache
    failures: list[Diagnostic] = field(default_factory=list)  # every failing cell, with keep_going
    warnings: list[Diagnostic] = field(default_factory=list)  # cells whose output was cut


def execute_post(completed: CompletedPost, timeout: float = 600, keep_going: bool = False,
                 on_cell: Callable[[int, int], None] | None = None,
                 isolation: Isolation | None = None) -> ExecutedPost:
    """Run every cell in order in a fresh kernel; stop at the first cell that fails, or with
    `keep_going` run the rest too (a dead kernel or the build's setup failing stops it).

    `on_cell(i, n)` is called before the i-th of the n code cells runs (from 1). The kernel
    runs in the sandbox and under the limits of `isolation` (default: no sandbox, default limits).
    """
    isolation = isolation or Isolation(False, sandboxing.default_limits(1))
    if _STOPPED.is_set():
        raise KeyboardInterrupt("the build was interrupted")
    notebook = completed.notebook()
    now = datetime.datetime.now(datetime.UTC)
    result = ExecutedPost(notebook, executed_at=now.isoformat(timespec="seconds"))
    started = time.monotonic()
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, **KERNEL_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    with sandboxing.runtime_folder() as runtime:
        runtime = Path(runtime)
        workdir = runtime / "work"
        workdir.mkdir()
        # No nbclient timeout: the watchdog interrupts, then kills (nbclient can wait forever).
        client = _bounded_client()(notebook, timeout=None, kernel_name="python3", extra_arguments=[STARTUP],
                                   resources={"metadata": {"path": str(workdir)}},
                                   km=sandboxing.kernel_manager(isolation, runtime, workdir))
        kernel = None
        try:
            with client.setup_kernel(env=env, stderr=subprocess.DEVNULL, cleanup_kc=True):
                kernel = _Kernel(client.km.provisioner.process, isolation, runtime)
                code_cells = sum(cell.cell_type == "code" for cell in notebook.cells)
                for index, cell in enumerate(notebook.cells):
                    if cell.cell_type != "code":
                        continue
                    if on_cell:
                        on_cell(sum(c.cell_type == "code" for c in notebook.cells[:index + 1]), code_cells)
                    meta = cell.metadata["kernelblog"]
                    limit = meta.get("timeout", math.ceil(timeout))
                    if "static_error" in meta:  # found before running (--keep-going): run only the build's lines
                        _run_additions(client, kernel, cell, index, limit)
                        continue
                    message = _run_cell(client, kernel, cell, index, limit, meta.get("raises"))
                    if client.truncated:
                        result.warnings.append(Diagnostic(completed.post.path, meta["line"], "warning",
                                                          client.truncated))
                    if message:
                        if meta["role"] == "preamble":
                            message = "the build's setup cell failed: " + message
                        line = _error_line(cell) or meta["line"]
                        result.failures.append(Diagnostic(completed.post.path, line, "error", message))
                        result.failure = result.failure or result.failures[-1]
                        if not keep_going or meta["role"] == "preamble" or not kernel.alive():
                            break
        finally:
            if kernel:
                kernel.kill_leftovers()
    result.seconds = time.monotonic() - started
    return result


def _run_cell(client, kernel: _Kernel, cell, index: int, limit: float, raises: str | None):
    """Run one cell under the watchdog; the failure message, or None when it ran as expected."""
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    client.cap, client.displays, client.truncated = TextCap(MAX_TEXT), 0, ""
    watchdog = _Watchdog(kernel, limit)
    try:
        client.execute_cell(cell, index)
        error = None
    except DeadKernelError:
        if kernel.watcher.tripped:
            return kernel.watcher.tripped
        if watchdog.fired == "killed":
            return f"the cell timed out after {limit:g} s and ignored the interrupt; the kernel was killed"
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


def _run_additions(client, kernel: _Kernel, cell, index: int, limit: float) -> None:
    """Run the imports the build added to a cell that has a static error, so
    the cells after it find them; the cell itself stays not run, its error shown on the page."""
    source = cell.source
    cell.source = cell.metadata["kernelblog"]["additions"]
    try:
        if cell.source:
            _run_cell(client, kernel, cell, index, limit, None)
    finally:
        cell.source, cell.outputs, cell.execution_count = source, [], None
        cell.metadata.pop("execution", None)


def stop_kernels() -> None:
    """Kill every running kernel and start no more (the build was interrupted)."""
    _STOPPED.set()
    with _LOCK:
        for pgid in _RUNNING:
            _kill_group(pgid, signal.SIGKILL)


def allow_kernels() -> None:
    """Start kernels again after `stop_kernels` (the next build in this process)."""
    _STOPPED.clear()


_RUNNING: set[int] = set()  # process groups of running kernels
_LOCK = threading.Lock()
_STOPPED = threading.Event()


def _kill_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


class _Kernel:
    """A running kernel's process: its process group (its own session), the processes it
    started, and how it died."""

    def __init__(self, process: subprocess.Popen, isolation: Isolation, runtime: Path):
        self.process = process
        self.isolation = isolation
        self.pgid = sandboxing.signal_group(process, isolation)
        self.children: list[psutil.Process] = []
        self.watcher = sandboxing.Watcher(process, isolation.limits, runtime / "ipc" if isolation.sandbox else None)
        with _LOCK:
            _RUNNING.add(self.pgid)
        if _STOPPED.is_set():
            _kill_group(self.pgid, signal.SIGKILL)

    def alive(self) -> bool:
        return self.process.poll() is None

    def death(self) -> str:
        """How the kernel died, in words."""
        try:
            code = sandboxing.exit_code(self.process.wait(timeout=5), self.isolation)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        if code == -signal.SIGKILL:
            return "killed by SIGKILL, as the out-of-memory killer does"
        if code < 0:
            return f"killed by {signal.Signals(-code).name} ({signal.strsignal(-code)})"
        return f"it exited with status {code}"

    def note_children(self) -> None:
        """Remember the processes the kernel started, to end them with the kernel."""
        with contextlib.suppress(psutil.Error):
            self.children = list({*self.children, *psutil.Process(self.process.pid).children(recursive=True)})

    def kill_leftovers(self) -> None:
        """Kill the kernel's process group and every process it started that still runs."""
        self.watcher.stop()
        with _LOCK:
            _RUNNING.discard(self.pgid)
        if self.alive():
            self.note_children()
        _kill_group(self.pgid, signal.SIGKILL)
        for child in self.children:
            with contextlib.suppress(psutil.Error):
                child.kill()  # psutil checks that the pid still names the same process
        sandboxing.end(self.process, self.isolation)
        sandboxing.wait_dead(self.children, timeout=5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


class _Watchdog:
    """At a cell's time limit, interrupt the kernel (SIGINT); `GRACE` seconds later, if the
    cell still runs (it ignores SIGINT), kill the kernel's whole process group."""

    def __init__(self, kernel: _Kernel, limit: float):
        self.fired: str | None = None
        self.timers = [threading.Timer(limit, self._send, (kernel.pgid, signal.SIGINT, "interrupted")),
                       threading.Timer(limit + GRACE, self._send, (kernel.pgid, signal.SIGKILL, "killed"))]
        for timer in self.timers:
            timer.daemon = True
            timer.start()

    def _send(self, pgid: int, signum: int, what: str) -> None:
        self.fired = what
        _kill_group(pgid, signum)

    def cancel(self) -> None:
        for timer in self.timers:
            timer.cancel()


@functools.cache
def _bounded_client() -> type:
    """nbclient's client, keeping at most MAX_TEXT characters of text and MAX_DISPLAYS rich
    outputs per cell, so a flood of output cannot fill the build's memory. Defined on first
    use: nbclient loads only when something runs."""
    from nbclient import NotebookClient

    class BoundedClient(NotebookClient):
        cap, displays, truncated = TextCap(MAX_TEXT), 0, ""

        def output(self, outs, msg, display_id, cell_index):
            content = msg["content"]
            if msg["msg_type"] == "stream":
                text = without_noise(content.get("text", ""))  # TF's C++ logging, from the kernel's fd 2
                content["text"] = self.cap.take(content.get("name", "stdout"), text)
                if not content["text"]:
                    return None
            elif msg["msg_type"] in ("display_data", "execute_result"):
                self.displays += 1
                if self.displays > MAX_DISPLAYS:
                    return None
            return super().output(outs, msg, display_id, cell_index)

    return BoundedClient


def _note_truncation(client, cell) -> None:
    """Append the end of the cell's printed text, after a marker where it was cut, and a marker
    for displays left out; say what was cut in `client.truncated`."""
    for name, text in client.cap.rest():
        cell.outputs.append(nbformat.v4.new_output("stream", name=name, text=text))
    dropped = []
    if client.cap.cut:
        dropped.append(f"the middle {client.cap.cut:,} characters of its printed text")
    if client.displays > MAX_DISPLAYS:
        dropped.append(f"{client.displays - MAX_DISPLAYS:,} displayed outputs after the first {MAX_DISPLAYS}")
        marker = f"\n[output truncated by the build: {client.displays - MAX_DISPLAYS:,} more displayed outputs were not kept]\n"
        cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=marker))
    if dropped:
        client.truncated = f"the cell's output was cut: the build left out {' and '.join(dropped)}"


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
