"""The build's kernels: started on demand (or ahead, to import keras while the build reads and
completes), reused across components, kept within a memory budget, stopped by the build."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from . import isolation as sandboxing
from .isolation import Isolation
from .outputs import TextCap, without_noise
from .postfiles import PostFiles
from .settings import FIGURE_FORMAT

# Keeps TensorFlow's C++ start-up logging down; what still comes through is filtered at render.
KERNEL_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONHASHSEED": "0",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}
# no network
STARTUP = "--IPKernelApp.exec_lines=[\"__import__('kernelblog.sandbox').sandbox.install()\"]"
FIGURES = f"--InlineBackend.figure_formats={FIGURE_FORMAT}"  # see settings.FIGURE_FORMAT
MAX_TEXT = 1_000_000  # characters of printed text kept per cell
MAX_DISPLAYS = 100  # figures and other displayed outputs kept per cell
GIB = 1024**3
KERNEL_MEMORY = 1.5 * GIB  # what a kernel is expected to need when no build recorded it
# Run (unrecorded) before each component: a fresh namespace, execution count, working folder,
# no open figures, the post's modules an earlier component imported (from the working folder)
# forgotten, and the warning filters as the kernel started with them, each warning shown
# again (Python shows a warning once per place and process).
RESET = """__import__('os').chdir({folder!r})
_kernelblog_sys = __import__('sys')
for _kernelblog_name, _kernelblog_module in list(_kernelblog_sys.modules.items()):
    _kernelblog_found = vars(_kernelblog_module) if isinstance(
        _kernelblog_module, type(_kernelblog_sys)) else {{}}
    if any(str(_kernelblog_path).startswith({folder!r} + '/') for _kernelblog_path in [
            _kernelblog_found.get('__file__') or '', *(_kernelblog_found.get('__path__') or [])]):
        del _kernelblog_sys.modules[_kernelblog_name]
if 'matplotlib.pyplot' in __import__('sys').modules:
    __import__('sys').modules['matplotlib.pyplot'].close('all')
_kernelblog_warnings = __import__('warnings')
if not hasattr(_kernelblog_warnings, '_kernelblog_filters'):
    _kernelblog_warnings._kernelblog_filters = list(_kernelblog_warnings.filters)
_kernelblog_warnings.filters[:] = _kernelblog_warnings._kernelblog_filters
_kernelblog_warnings.onceregistry.clear()
_kernelblog_warnings._filters_mutated()
get_ipython().reset(new_session=True)"""
# Run (unrecorded) after RESET: the working folder emptied (a sandboxed one is the kernel's own
# tmpfs, which the build cannot see), then the post's files in it, each a symbolic link to its
# read-only copy (sandboxed, on a read-only mount), in real folders that the code may write to.
BRING = """def _kernelblog_bring(source, names):
    import os, shutil
    for entry in os.scandir('.'):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)
    for name in names:
        if os.path.dirname(name):
            os.makedirs(os.path.dirname(name), exist_ok=True)
        os.symlink(os.path.join(source, name), name)
    __import__('importlib').invalidate_caches()  # the post's modules are found anew
_kernelblog_bring({source!r}, {names!r})
del _kernelblog_bring"""


def default_budget() -> int:
    """Half the memory available when the build starts, in bytes."""
    return int(psutil.virtual_memory().available * 0.5)


def launch(client, env: dict, stderr=subprocess.DEVNULL):
    """Start the kernel process of an nbclient client: a context manager that shuts it down.
    The one place where a kernel process starts."""
    return client.setup_kernel(env=env, stderr=stderr, cleanup_kc=True)  # nbclient's cleanup


@functools.cache
def bounded_client() -> type:
    """nbclient's client, keeping at most MAX_TEXT characters of text and MAX_DISPLAYS rich
    outputs per cell, so a flood of output cannot fill the build's memory. Defined on first
    use: nbclient loads only when something runs."""
    from nbclient import NotebookClient

    class BoundedClient(NotebookClient):
        cap, displays, truncated = None, 0, ""  # per cell: execute._run_cell sets them

        def output(self, outs, msg, display_id, cell_index):
            content = msg["content"]
            if msg["msg_type"] == "stream":
                self.cap = self.cap or TextCap(MAX_TEXT)
                text = without_noise(
                    content.get("text", "")
                )  # TF's C++ logging, from the kernel's fd 2
                content["text"] = self.cap.take(content.get("name", "stdout"), text)
                if not content["text"]:
                    return None
            elif msg["msg_type"] in ("display_data", "execute_result"):
                self.displays += 1
                if self.displays > MAX_DISPLAYS:
                    return None
            return super().output(outs, msg, display_id, cell_index)

    return BoundedClient


class KernelFailed(Exception):
    """The kernel could not start, or could not be reset between components."""


class Kernel:
    """A running kernel: nbclient's client on it, its process group (its own session), the
    processes it started, and how it died."""

    def __init__(self, kernels: Kernels, warm: str = "", backend: str = "tensorflow"):
        import nbformat

        self.kernels = kernels
        self.backend = backend  # its KERAS_BACKEND, set before anything imports keras
        self.isolation = kernels.isolation
        # Its connection file and sockets, named after the build's pid: the next build removes it if
        # left.
        self.folder = Path(tempfile.mkdtemp(prefix=f"{sandboxing.RUNTIME_PREFIX}{os.getpid()}-"))
        (self.folder / "work").mkdir()
        (self.folder / sandboxing.POST_FILES).mkdir()  # copies of the post's files, read-only
        blank = nbformat.from_dict(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "cells": [],
                "metadata": {
                    "kernelspec": {
                        "name": "python3",
                        "display_name": "Python 3",
                        "language": "python",
                    }
                },
            }
        )
        # No nbclient timeout: the watchdog interrupts, then kills (nbclient can wait forever).
        self.client = bounded_client()(
            blank,
            timeout=None,
            kernel_name="python3",
            extra_arguments=[STARTUP, FIGURES],
            resources={"metadata": {"path": str(self.folder)}},
            km=sandboxing.kernel_manager(self.isolation, self.folder, self.folder / "work"),
        )
        self.children: list[psutil.Process] = []
        self.peak = 0  # bytes: the kernel's process tree at its largest
        self._stack = contextlib.ExitStack()
        package_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, **KERNEL_ENV, KERAS_BACKEND=backend)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        # Sandboxed, what bwrap and the kernel write to stderr before the kernel captures it
        # says why a kernel did not start; kept outside the sandbox, counted in its --disk.
        log = self.folder / "stderr.log"
        try:
            with open(log, "wb") if self.isolation.sandbox else contextlib.nullcontext() as out:
                self._stack.enter_context(launch(self.client, env, out or subprocess.DEVNULL))
        except Exception as error:
            self._stack.close()
            message = f"the kernel could not start: {error!r}"
            if self.isolation.sandbox:
                with open(log, encoding="utf-8", errors="replace") as written:
                    message = sandboxing.start_failure(written.read(100_000), error)
            shutil.rmtree(self.folder, ignore_errors=True)
            raise KernelFailed(message) from None
        self.process = self.client.km.provisioner.process
        self.pgid = sandboxing.signal_group(self.process, self.isolation)
        self.watcher = sandboxing.Watcher(
            self.process,
            self.isolation.limits,
            self.folder if self.isolation.sandbox else None,  # its sockets and stderr
        )
        kernels.started(self)
        if warm:
            try:
                self.hidden(warm)
            except KernelFailed:  # killed while warming (an interrupt, or no job for it after all)
                self.close()
                raise

    def hidden(self, code: str) -> None:
        """Run code that is no cell of the post: nothing recorded, the execution count unchanged."""
        import nbformat
        from nbclient.exceptions import CellExecutionError, DeadKernelError

        cell = nbformat.from_dict(
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": code,
            }
        )
        self.client.nb = nbformat.from_dict(
            {"nbformat": 4, "nbformat_minor": 5, "cells": [cell], "metadata": {}}
        )
        try:
            self.client.execute_cell(cell, 0, store_history=False)
        except (CellExecutionError, DeadKernelError) as error:
            raise KernelFailed(
                f"the kernel could not be prepared: {str(error).strip().splitlines()[-1:]}"
            ) from None

    def reset(self) -> None:
        """A fresh namespace, execution count, working folder and no open figures, for the next
        component; no process an earlier component started (a daemon included) still runs."""
        self.end_leftovers()
        shutil.rmtree(self.folder / "work", ignore_errors=True)
        (self.folder / "work").mkdir()
        self.hidden(RESET.format(folder=str(self.folder / "work")))

    def bring(self, files: PostFiles | None) -> None:
        """Put the post's files in the working folder, read-only: new copies for each component
        in the kernel's runtime folder (the post's own are never exposed to its code; sandboxed,
        the copies are on a read-only mount), linked from the working folder at their paths."""
        staged = self.folder / sandboxing.POST_FILES
        for entry in staged.iterdir():  # not the folder itself: the sandbox has it mounted
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        for file in files.files if files else ():
            target = staged / file.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(files.folder / file.name, target)
            target.chmod(0o444)
        names = [file.name for file in files.files] if files else []
        self.hidden(BRING.format(source=str(staged), names=names))

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
            self.children = list(
                {*self.children, *psutil.Process(self.process.pid).children(recursive=True)}
            )

    def end_leftovers(self) -> None:
        """Kill every process in the kernel's tree but the kernel and the sandbox's own: those the
        snippets started. Sandboxed, a daemon that left its session is still in the tree, under the
        sandbox's init."""
        with contextlib.suppress(psutil.Error):
            tree = psutil.Process(self.process.pid).children(recursive=True)
            kernel = self.process.pid
            if (
                self.isolation.sandbox
            ):  # the kernel is the sandbox init's first child that is not bwrap
                kernel = next(
                    (
                        p.pid
                        for p in tree
                        if p.name() != sandboxing.BWRAP
                        and p.ppid() in {q.pid for q in tree if q.name() == sandboxing.BWRAP}
                    ),
                    None,
                )
            keep = {kernel} | {p.pid for p in tree if p.name() == sandboxing.BWRAP}
            leftovers = [p for p in tree if p.pid not in keep and kernel is not None]
            for process in leftovers:
                with contextlib.suppress(psutil.Error):
                    process.kill()
            sandboxing.wait_dead(leftovers, timeout=5)

    def memory(self) -> int:
        """Resident bytes of the kernel and the processes it started."""
        total = 0
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(self.process.pid)
            for each in [process, *process.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += each.memory_info().rss
        self.peak = max(self.peak, total)
        return total

    def close(self) -> None:
        """Kill the kernel's process group and every process it started that still runs."""
        self.watcher.stop()
        if self.alive():
            self.note_children()
            self.memory()
        self.kernels.ended(self)
        kill_group(self.pgid, signal.SIGKILL)
        for child in self.children:
            with contextlib.suppress(psutil.Error):
                child.kill()  # psutil checks that the pid still names the same process
        sandboxing.end(self.process, self.isolation)
        sandboxing.wait_dead(self.children, timeout=5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        with contextlib.suppress(Exception):
            self._stack.close()  # nbclient's own clean-up of a kernel already dead
        shutil.rmtree(self.folder, ignore_errors=True)


def kill_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


@dataclass(order=True)
class Job:
    """A unit of work for a kernel: `run(kernel)`; `fail(error)` when no kernel can take it."""

    seconds: float  # how long it took last time: the longest run first
    run: Callable = field(compare=False)
    fail: Callable = field(compare=False)
    backend: str = field(default="tensorflow", compare=False)  # the Keras backend it runs on


class Kernels:
    """Up to `jobs` kernels, each taking the longest job left of its Keras backend until none is,
    then switching (a fresh kernel) to the backend of the longest job left; `fresh` starts a
    kernel per job. `warm` is run in each kernel as it starts (`import keras`); kernels started
    ahead of their jobs take `backends` in turn."""

    def __init__(
        self,
        jobs: int = 1,
        budget: int | None = None,
        fresh: bool = False,
        warm: str = "",
        expected: int = int(KERNEL_MEMORY),
        isolation: Isolation | None = None,
        backends: tuple[str, ...] = ("tensorflow",),
    ):
        self.jobs, self.fresh, self.warm_code = max(jobs, 1), fresh, warm
        self.backends = backends
        # The sandbox and limits of each kernel (default: no sandbox, the default limits).
        self.isolation = isolation or Isolation(False, sandboxing.default_limits(self.jobs))
        self.budget = budget or default_budget()
        self.expected = max(expected, 1)  # bytes a kernel is expected to need
        self.peaks: list[int] = []  # the peak memory of each kernel that ran, in bytes
        self.started_kernels = 0
        self._lock = threading.Condition()
        self._queue: list[Job] = []
        self._busy = 0
        self._workers: list[threading.Thread] = []
        self._kernels: set[Kernel] = set()
        self._stopped = threading.Event()
        self._closing = False
        self._sampler: threading.Thread | None = None
        self.ready = threading.Event()  # set once a kernel has started and run `warm`
        self.given = 0  # jobs given to run

    def __enter__(self) -> Kernels:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def limit(self) -> int:
        """How many kernels may run at once: `jobs`, fewer where the budget does not fit them."""
        return max(1, min(self.jobs, self.budget // self.expected))

    def warm(self, count: int) -> None:
        """Start up to `count` kernels now, before there is work for them."""
        with self._lock:
            while len(self._workers) < min(count, self.limit):
                self._spawn(self.backends[len(self._workers) % len(self.backends)])

    def run(self, jobs: list[Job]) -> None:
        """Run every job, the longest first, on up to `limit` kernels; return when all are done."""
        with self._lock:
            self.given += len(jobs)
            self._queue = sorted(self._queue + list(jobs), reverse=True)
            while len(self._workers) < min(self.limit, len(self._queue) + self._busy):
                waiting = self._queue[min(len(self._workers), len(self._queue) - 1)]
                self._spawn(waiting.backend)
            self._lock.notify_all()
            while (self._queue or self._busy) and not self._stopped.is_set():
                self._lock.wait(0.5)
        if self._stopped.is_set():
            raise KeyboardInterrupt("the build was interrupted")

    def stop(self) -> None:
        """Kill every running kernel and start no more (the build was interrupted); safe in a signal
        handler."""
        self._stopped.set()
        for kernel in list(self._kernels):
            kill_group(kernel.pgid, signal.SIGKILL)

    def close(self) -> None:
        """End the kernels once their jobs are done; kernels that were never given a job (started
        ahead, on a guess that the build would run code) are killed at once, warm or not."""
        if not self.given:
            self.stop()
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        for worker in self._workers:
            worker.join(timeout=60)

    def started(self, kernel: Kernel) -> None:
        with self._lock:
            self._kernels.add(kernel)
            self.started_kernels += 1
        if self._stopped.is_set():
            kill_group(kernel.pgid, signal.SIGKILL)

    def ended(self, kernel: Kernel) -> None:
        with self._lock:
            if kernel in self._kernels:
                self._kernels.discard(kernel)
                self.peaks.append(kernel.peak)

    def all_peaks(self) -> list[int]:
        """The peak memory of each kernel, ended or running, in bytes."""
        with self._lock:
            return self.peaks + [kernel.peak for kernel in self._kernels]

    def memory(self) -> int:
        """Resident bytes of every running kernel now."""
        return sum(kernel.memory() for kernel in list(self._kernels))

    def _spawn(self, backend: str) -> None:
        worker = threading.Thread(
            target=self._work, args=(backend,), daemon=True, name=f"kernel-{len(self._workers)}"
        )
        self._workers.append(worker)
        worker.start()
        if self._sampler is None:
            self._sampler = threading.Thread(target=self._sample, daemon=True, name="kernel-memory")
            self._sampler.start()

    def _sample(self) -> None:
        """Track each kernel's peak memory while the build runs."""
        while not (self._closing and not self._kernels):
            self.memory()
            time.sleep(0.2)

    def _start(self, backend: str) -> tuple[Kernel | None, Exception | None]:
        if self._stopped.is_set():
            return None, KernelFailed("the build was interrupted")
        try:
            return Kernel(self, self.warm_code, backend), None
        except KernelFailed as error:
            return None, error

    def _next(self, backend: str) -> Job:
        """The longest job left of `backend`, else the longest of all (under the lock)."""
        index = next((k for k, job in enumerate(self._queue) if job.backend == backend), 0)
        return self._queue.pop(index)

    def _work(self, backend: str) -> None:
        # ahead of the work: its `import keras` overlaps the build's reading
        kernel, failure = self._start(backend)
        if kernel is not None:
            self.ready.set()
        try:
            while True:
                with self._lock:
                    while not self._queue and not self._closing and not self._stopped.is_set():
                        self._lock.wait()
                    if not self._queue or self._stopped.is_set():
                        return
                    job = self._next(backend)
                    self._busy += 1
                try:
                    if job.backend != backend:  # a fresh kernel: KERAS_BACKEND is set at start
                        backend = job.backend
                        if kernel is not None:
                            kernel.close()
                            kernel, failure = None, None
                    if kernel is None:
                        kernel, failure = self._start(backend)
                    if kernel is None:
                        job.fail(failure)
                        continue
                    try:
                        kernel.reset()
                    except KernelFailed as error:
                        job.fail(error)
                        kernel.close()
                        kernel = None
                        continue
                    job.run(kernel)
                    if self.fresh or not kernel.alive():
                        kernel.close()
                        kernel = None
                except Exception as error:  # a job's own failure is its own to report
                    with contextlib.suppress(Exception):
                        job.fail(error)
                finally:
                    with self._lock:
                        self._busy -= 1
                        self._lock.notify_all()
        finally:
            if kernel is not None:
                kernel.close()
