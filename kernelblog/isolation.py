"""Kernels in a bubblewrap sandbox, and every kernel's resource limits.

A sandboxed kernel sees the whole file system read-only, writes only to private tmpfs folders
of a fixed size (its working folder, /tmp and /dev/shm), has its own network namespace (no
network, not even the host's loopback), its own pid namespace and session, and dies with the
build (`--die-with-parent`). It talks to the build over Jupyter's IPC transport: unix sockets
in a runtime folder bound into the sandbox. A watcher thread stops a kernel whose processes
use more memory or are more numerous than allowed, or that fills its runtime folder.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from .diagnostics import BadInput, Diagnostic

MODES = ("auto", "required", "off")
BWRAP = "bwrap"
INSTALL = "install bubblewrap (apt-get install bubblewrap) to isolate them"
RUNTIME_PREFIX = (
    "kernelblog-run-"  # + the build's pid: kernels' connection files, sockets and working folder
)
POST_FILES = "post"  # in a kernel's runtime folder: read-only copies of the post's files
INTERVAL = 0.2  # seconds between two looks at a kernel's processes
GIB = 1 << 30
# What a kernel's environment keeps of the build's: the rest (tokens, CI secrets) stays outside.
ENV_KEPT = re.compile(
    r"^(PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|TZ|TERM|LC_\w+|PYTHON\w*|KERAS_\w+|TF_\w+|XLA_\w+"
    r"|OMP_\w+|MKL_\w+|OPENBLAS_\w+|CUDA_\w+|NVIDIA_\w+|LD_LIBRARY_PATH|MPLBACKEND|JPY_SESSION_NAME"
    r"|VIRTUAL_ENV|CONDA_PREFIX|PYENV_\w+)$"
)


@dataclass(frozen=True)
class Limits:
    """Per kernel: resident memory of its processes, size of each writable folder, processes."""

    memory: int
    disk: int
    processes: int = 256


def default_limits(jobs: int) -> Limits:
    """4 GiB of memory and 1 GiB per writable folder, less where `jobs` kernels of that size
    would not fit in the machine's memory (tmpfs folders are memory too)."""
    total = psutil.virtual_memory().total
    jobs = max(jobs, 1)
    return Limits(
        memory=_round(min(4 * GIB, total * 0.6 / jobs)), disk=_round(min(GIB, total * 0.1 / jobs))
    )


def _round(size: float) -> int:
    """Down to a multiple of 64 MiB (at least 64 MiB), so the numbers read well."""
    step = 64 << 20
    return max(int(size // step) * step, step)


def human(size: int) -> str:
    """4 GiB, 300 MiB."""
    for unit, scale in (("GiB", GIB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.4g} {unit}"
    return f"{size} bytes"


@functools.cache
def unavailable() -> str | None:
    """Why bubblewrap cannot sandbox kernels on this machine, or None when it can."""
    path = shutil.which(BWRAP)
    if path is None:
        return "bwrap (bubblewrap) is not installed"
    try:
        run = subprocess.run(
            [path, *_namespace_args(), "--", "true"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap does not start: {error}"
    if run.returncode:
        reason = (run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
        return f"bwrap cannot create its namespaces here ({reason})"
    return None


@dataclass(frozen=True)
class Isolation:
    """How the build runs its kernels: in the sandbox or not, and with which limits."""

    sandbox: bool
    limits: Limits


def choose(mode: str, limits: Limits, warn=lambda diagnostic: None) -> Isolation:
    """The isolation `mode` gives on this machine: `required` without a working bwrap is
    BadInput; `auto` without it warns (a Diagnostic to `warn`) and runs kernels unsandboxed."""
    if mode not in MODES:
        raise BadInput(
            Diagnostic(
                Path("--isolation"), 0, "error", f"expected one of {', '.join(MODES)}, not {mode!r}"
            )
        )
    if mode == "off":
        return Isolation(False, limits)
    reason = unavailable()
    if reason is None:
        return Isolation(True, limits)
    if mode == "required":
        raise BadInput(
            Diagnostic(
                Path("--isolation"),
                0,
                "error",
                f"required, but kernels cannot be sandboxed: {reason}; {INSTALL}",
            )
        )
    warn(
        Diagnostic(
            Path("--isolation"),
            0,
            "warning",
            f"kernels run without isolation: {reason}; "
            f"{INSTALL}, or pass --isolation off to silence this",
        )
    )
    return Isolation(False, limits)


def remove_stale_runtimes(folder: Path | None = None) -> None:
    """Remove the runtime folders (connection files, sockets) of builds that no longer run."""
    folder = Path(folder or tempfile.gettempdir())
    for runtime in folder.glob(RUNTIME_PREFIX + "*"):
        match = re.match(re.escape(RUNTIME_PREFIX) + r"(\d+)-", runtime.name)
        if match and runtime.is_dir() and not psutil.pid_exists(int(match.group(1))):
            shutil.rmtree(runtime, ignore_errors=True)


def runtime_folder() -> tempfile.TemporaryDirectory:
    """A kernel's runtime folder, named after this build's pid so the next build can tell it is
    stale."""
    return tempfile.TemporaryDirectory(prefix=f"{RUNTIME_PREFIX}{os.getpid()}-")


def _namespace_args() -> list[str]:
    return [
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
    ]


def sandbox_command(
    command: list[str], runtime: Path, workdir: Path, limits: Limits, env: dict
) -> list[str]:
    """`command` wrapped in bwrap: read-only root, private size-limited /tmp, /dev/shm and
    working folder, `runtime` (the sockets) bound writable, no network, only `env` kept."""
    size = str(limits.disk)
    args = [
        shutil.which(BWRAP) or BWRAP,
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--size",
        size,
        "--tmpfs",
        "/dev/shm",
        "--remount-ro",
        "/dev",
        "--proc",
        "/proc",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--size",
        size,
        "--tmpfs",
        "/tmp",
        *[
            arg
            for folder in _code_under_tmp(env)
            for arg in ("--ro-bind", str(folder), str(folder))
        ],
        "--bind",
        str(runtime / "ipc"),
        str(runtime / "ipc"),
        "--ro-bind-try",
        str(runtime / POST_FILES),
        str(runtime / POST_FILES),
        "--size",
        size,
        "--tmpfs",
        str(workdir),
        "--chdir",
        str(workdir),
        "--clearenv",
    ]
    kept = {name: value for name, value in env.items() if ENV_KEPT.match(name)}
    # JPY_PARENT_PID=1: the kernel's parent is the sandbox's init, which ipykernel does not poll.
    kept.update(JPY_PARENT_PID="1", MPLCONFIGDIR="/tmp/matplotlib", IPYTHONDIR="/tmp/ipython")
    for name, value in sorted(kept.items()):
        args += ["--setenv", name, value]
    for fonts in _matplotlib_font_cache(
        env
    ):  # saves matplotlib rebuilding it (seconds) in every kernel
        args += ["--ro-bind", str(fonts), f"/tmp/matplotlib/{fonts.name}"]
    return [*args, "--", *command]


def _code_under_tmp(env: dict) -> list[Path]:
    """Folders the kernel imports from that the private /tmp would hide (a checkout or virtual
    environment under /tmp): this package's, and those on sys.path or PYTHONPATH, outermost only."""
    tmp = Path("/tmp").resolve()
    paths = [
        Path(__file__).resolve().parent.parent,
        *map(Path, sys.path),
        *map(Path, filter(None, env.get("PYTHONPATH", "").split(os.pathsep))),
    ]
    found = {path.resolve() for path in paths if path.is_absolute() and path.is_dir()}
    found = {path for path in found if tmp in path.parents}
    return sorted(path for path in found if not any(other in path.parents for other in found))


def _matplotlib_font_cache(env: dict) -> list[Path]:
    """matplotlib's font list in the build's cache folder, found without importing matplotlib."""
    folder = env.get("MPLCONFIGDIR") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib"
    )
    return sorted(Path(folder).glob("fontlist-*.json"))


def kernel_manager(isolation: Isolation, runtime: Path, workdir: Path):
    """A jupyter_client KernelManager whose connection file is in `runtime`; sandboxed, it talks
    over unix sockets in `runtime`/ipc, the one folder the sandbox can write that the build
    sees, and launches the kernel inside bwrap."""
    from jupyter_client import (
        AsyncKernelManager as KernelManager,
    )  # what nbclient itself would create

    class SandboxedKernelManager(KernelManager):
        """Wraps the kernel's command in bwrap (jupyter_client's format_kernel_cmd hook)."""

        def format_kernel_cmd(self, extra_arguments=None):
            command = super().format_kernel_cmd(extra_arguments)
            env = self._launch_args.get("env") or dict(os.environ)
            return sandbox_command(command, runtime, workdir, isolation.limits, env)

    if not isolation.sandbox:
        return KernelManager(kernel_name="python3", connection_file=str(runtime / "kernel.json"))
    (runtime / "ipc").mkdir(exist_ok=True)
    return SandboxedKernelManager(
        kernel_name="python3",
        connection_file=str(runtime / "ipc" / "kernel.json"),
        transport="ipc",
        ip=str(runtime / "ipc" / "kernel"),
    )


def signal_group(process: subprocess.Popen, isolation: Isolation) -> int:
    """The process group to interrupt: the kernel's. Sandboxed, that is the session bwrap
    starts inside (the sandbox's init ignores SIGINT; the outer bwrap would die of it)."""
    if isolation.sandbox:
        with contextlib.suppress(psutil.Error, IndexError):
            return (
                psutil.Process(process.pid).children()[0].pid
            )  # the inner bwrap leads its session
    return os.getpgid(process.pid)


def exit_code(code: int, isolation: Isolation) -> int:
    """The kernel's exit status as Popen gives it: bwrap reports a death by signal N as 128 + N."""
    if isolation.sandbox and 128 < code < 128 + signal.NSIG:
        return -(code - 128)
    return code


def end(process: subprocess.Popen, isolation: Isolation) -> None:
    """Sandboxed, let the outer bwrap exit once its sandbox has ended (it reaps the processes
    inside), and kill it only if it does not, which ends the sandbox too."""
    if not isolation.sandbox:
        return
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_dead(processes: list[psutil.Process], timeout: float) -> None:
    """Wait until every process has exited. A zombie counts as dead: bwrap's inner process
    ends as one, left for the system's init to reap, which can take a second."""
    deadline = time.monotonic() + timeout
    waiting = list(processes)
    while waiting and time.monotonic() < deadline:
        waiting = [process for process in waiting if _running(process)]
        if waiting:
            time.sleep(0.01)


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class Watcher:
    """Looks at a kernel's processes every INTERVAL seconds and kills them all when they use
    more memory (resident) than allowed, are more numerous, or fill the runtime folder;
    `tripped` then says which limit, as a diagnostic's message."""

    def __init__(self, process: subprocess.Popen, limits: Limits, runtime: Path | None = None):
        """`runtime`: the folder whose size counts against the disk limit (the sandbox's ipc
        folder)."""
        self.root = psutil.Process(process.pid)
        self.limits, self.runtime = limits, runtime
        self.tripped: str | None = None
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, daemon=True, name=f"watch-kernel-{process.pid}"
        )
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(INTERVAL):
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return  # the kernel is gone
            memory = 0
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    memory += process.memory_info().rss
            self.peak = max(self.peak, memory)
            if memory > self.limits.memory:
                self._kill(
                    processes,
                    f"the cell used more than {human(self.limits.memory)} (--kernel-memory)",
                )
            elif (
                len(processes) > self.limits.processes + 2
            ):  # bwrap and its init are not the snippet's
                self._kill(
                    processes,
                    f"the cell started more than {self.limits.processes} processes (--processes)",
                )
            elif self.runtime is not None and _folder_size(self.runtime) > self.limits.disk:
                self._kill(
                    processes,
                    f"the cell wrote more than {human(self.limits.disk)} to the kernel's "
                    f"runtime folder (--disk)",
                )

    def _kill(self, processes: list, message: str) -> None:
        self.tripped = message
        for process in processes:
            with contextlib.suppress(psutil.Error):
                process.kill()
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()


def _folder_size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total
