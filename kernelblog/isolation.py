"""Kernels in a bubblewrap sandbox, and every kernel's resource limits.

A sandboxed kernel sees only what it needs, read-only (deny by default: `binds`): the system's
programs and libraries, its Python and the code on sys.path. It writes only to private tmpfs
folders of a fixed size (its working folder, /tmp with its $HOME, and /dev/shm), runs as an
unprivileged user, gets none of the build's environment but the variables a run needs, has its
own network namespace (no network, not even the host's loopback), its own pid namespace and
session, and dies with the build (`--die-with-parent`). It talks to the build over Jupyter's
IPC transport: unix sockets in a runtime folder bound into the sandbox. A watcher thread stops
a kernel whose processes use more memory or are more numerous than allowed, or that fills its
runtime folder.
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
SETPRIV = "setpriv"  # util-linux: drops a root build's kernels to NOBODY
NOBODY = 65534  # the kernel's uid and gid when the build runs as root
HOME, MPLCONFIGDIR, IPYTHONDIR = "/tmp/home", "/tmp/matplotlib", "/tmp/ipython"  # all private
# Read-only in the sandbox: the system's programs and libraries (a symlink stays one)...
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# ...what of /etc the loader, alternatives, SSL, fonts, locale, time zone, user, host and service
# lookups, MIME types and Debian's Python read (not pip.conf, gitconfig, shadow, ssh)...
ETC = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl", "ca-certificates",
    "pki", "fonts", "locale.alias", "locale.conf", "localtime", "timezone", "passwd", "group",
    "nsswitch.conf", "host.conf", "hosts", "gai.conf", "protocols", "services", "mime.types",
    "os-release", "python3", f"python{sys.version_info.major}.{sys.version_info.minor}",
)  # fmt: skip
# ...and the hardware description in /sys that numerical libraries read (as Flatpak grants).
SYS = ("/sys/block", "/sys/bus", "/sys/class", "/sys/dev", "/sys/devices")
INSTALL = "install bubblewrap (apt-get install bubblewrap) to isolate them"
RUNTIME_PREFIX = (
    "kernelblog-run-"  # + the build's pid: kernels' connection files, sockets and working folder
)
POST_FILES = "post"  # in a kernel's runtime folder: read-only copies of the post's files
INTERVAL = 0.2  # seconds between two looks at a kernel's processes
GIB = 1 << 30
# What a kernel's environment keeps of the build's: the rest (tokens, CI secrets) stays outside.
ENV_KEPT = re.compile(
    r"^(PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|TZ|TERM|LC_\w+|PYTHON\w*|KERAS_\w+|XLA_\w+"
    # TensorFlow's own variables, not every TF_ name: Terraform's (TF_API_TOKEN...) are secrets
    r"|TF_(CPP|ENABLE|NUM|GPU|FORCE|XLA|DETERMINISTIC|USE_LEGACY)_\w+"
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
    if _as_root() and shutil.which(SETPRIV) is None:
        return "setpriv (util-linux) is not installed: kernels would run as root"
    probe = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *_namespace_args()]
    try:
        run = subprocess.run(
            [path, *probe, "--", *_unprivileged(["true"])],
            capture_output=True,
            text=True,
            timeout=30,
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


def _as_root() -> bool:
    """Whether the build runs as root: its kernels then drop to NOBODY (with no user namespace,
    a uid bwrap maps inside reads files as root outside)."""
    return os.geteuid() == 0


def _namespace_args() -> list[str]:
    """Every namespace but the user one when the build is root (setpriv then changes the uid),
    all of them otherwise."""
    if _as_root():
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        namespaces.append("--unshare-cgroup-try")
    else:
        namespaces = ["--unshare-all"]
    return [*namespaces, "--die-with-parent", "--new-session"]


def _unprivileged(command: list[str]) -> list[str]:
    """`command` run as NOBODY with no capabilities, for good, when the build is root."""
    if not _as_root():
        return command  # already the build's own, unprivileged user
    drop = [f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all"]
    drop += ["--bounding-set=-all", "--no-new-privs"]
    return [shutil.which(SETPRIV) or SETPRIV, *drop, "--", *command]


def sandbox_command(
    command: list[str],
    runtime: Path,
    workdir: Path,
    limits: Limits,
    env: dict,
) -> list[str]:
    """`command` wrapped in bwrap, which starts with an empty environment: only what `binds`
    lists is visible, read-only; private size-limited /tmp (with $HOME), /dev/shm and working
    folder; `runtime`/ipc (the sockets) bound writable; no network; the kernel gets only the
    variables of `env` that ENV_KEPT names; run unprivileged. The post's files (postfiles.py)
    come read-only through `runtime`/post, which the kernel links into its working folder."""
    size = str(limits.disk)
    mounts = Mounts()
    mounts.add("--dev", "/dev")
    mounts.add("--perms", "1777", "--size", size, "--tmpfs", "/dev/shm")
    mounts.add("--remount-ro", "/dev")
    mounts.add("--proc", "/proc")
    mounts.add("--perms", "1777", "--size", size, "--tmpfs", "/tmp")
    for folder in (HOME, MPLCONFIGDIR):  # written by the kernel's user, owner or not
        mounts.add("--perms", "0777", "--dir", folder)
    binds(env, mounts)
    for fonts in _matplotlib_font_cache(env):  # saves rebuilding it (seconds) in every kernel
        mounts.bind(fonts, Path(MPLCONFIGDIR) / fonts.name)
    mounts.bind(runtime / "ipc", runtime / "ipc", writable=True)
    if (runtime / POST_FILES).is_dir():  # the post's files, copied for each component
        mounts.bind(runtime / POST_FILES, runtime / POST_FILES)
    mounts.add("--perms", "0777", "--size", size, "--tmpfs", str(workdir))
    kept = {name: value for name, value in env.items() if ENV_KEPT.match(name)}
    # JPY_PARENT_PID=1: the kernel's parent is the sandbox's init, which ipykernel does not poll.
    kept.update(JPY_PARENT_PID="1", HOME=HOME, MPLCONFIGDIR=MPLCONFIGDIR, IPYTHONDIR=IPYTHONDIR)
    setenv = [arg for name in sorted(kept) for arg in ("--setenv", name, kept[name])]
    # `env -i`: bwrap itself, the sandbox's init, keeps no variable of the build in its
    # /proc/<pid>/environ either.
    return [
        shutil.which("env") or "/usr/bin/env",
        "-i",
        shutil.which(BWRAP) or BWRAP,
        *mounts.args,
        *_namespace_args(),
        "--chdir",
        str(workdir),
        "--clearenv",
        *setenv,
        "--",
        *_unprivileged(command),
    ]


class Mounts:
    """bwrap's mount arguments, in order, each destination's missing parents created first,
    readable by the kernel's user (bwrap would make them 0700 when run as root)."""

    def __init__(self):
        self.args: list[str] = []
        self.made: set[Path] = {Path("/")}

    def add(self, *args: str) -> None:
        destination = Path(args[-1])
        self._parents(destination)
        self.args += args
        self.made.add(destination)

    def bind(self, source: Path, destination: Path, writable: bool = False) -> None:
        self.add("--bind" if writable else "--ro-bind", str(source), str(destination))

    def symlink(self, target: str, where: Path) -> None:
        self.add("--symlink", target, str(where))

    def _parents(self, destination: Path) -> None:
        for parent in reversed(destination.parents):
            if parent not in self.made:
                self.args += ["--perms", "0755", "--dir", str(parent)]
                self.made.add(parent)


def binds(env: dict, mounts: Mounts) -> None:
    """What a kernel may read, read-only (deny by default, as Flatpak does): the system's
    programs and libraries, the parts of /etc they need, the hardware description in /sys, and
    the code the kernel runs (`code_paths`) at its real paths, with the symlinks that lead
    there. A `.git` in a bound folder is hidden (it may hold a token)."""
    roots = []
    for path in SYSTEM + tuple(f"/etc/{name}" for name in ETC) + SYS:
        if os.path.islink(path):
            mounts.symlink(os.readlink(path), Path(path))
        elif os.path.exists(path):
            mounts.bind(Path(path), Path(path))
            roots.append(Path(path))
    wanted, links = code_paths(env)
    for real in _outermost(wanted, roots):
        mounts.bind(real, real)
        roots.append(real)
        git = real / ".git"
        if git.is_dir():
            mounts.add("--tmpfs", str(git))
        elif git.exists():
            mounts.bind(Path(os.devnull), git)
    for where, target in links:  # those a bound folder does not already show
        if not _under(where, roots) and where not in mounts.made:
            mounts.symlink(target, where)


def code_paths(env: dict) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The real paths of what the kernel's Python reads: its executable, prefix and base prefix,
    the folders on sys.path and PYTHONPATH, and this package; and the symlinks met on the way
    to them (a venv's `bin/python`, pyenv's, a symlinked folder), as (where, what it says).

    This package's source tree is not bound, only the package in it: its `.git`, posts and
    tests stay out (a tree that holds the interpreter, as `.venv`, is bound at that prefix)."""
    package = Path(__file__).resolve().parent
    tree = package.parent if (package.parent / "pyproject.toml").exists() else None
    prefixes = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix]
    interpreter = [sys.executable, *prefixes, str(package)]
    on_path = [*sys.path, *env.get("PYTHONPATH", "").split(os.pathsep)]
    wanted, links = [], []
    for entry in interpreter + [entry for entry in on_path if os.path.isabs(entry)]:
        real = Path(entry).resolve()
        if not real.exists() or str(real) in ("/", "/tmp", "/dev", "/proc"):
            continue  # never the whole file system, nor over the sandbox's own folders
        in_tree = tree is not None and (real == tree or tree in real.parents)
        if in_tree and entry in on_path and not _under(real, [Path(p).resolve() for p in prefixes]):
            continue  # the source tree of this package, or its tests folder: not the kernel's
        wanted.append(real)
        links += _symlinks(entry)
    return wanted, links


def _under(path: Path, folders: list[Path]) -> bool:
    return any(folder == path or folder in path.parents for folder in folders)


def _outermost(paths: list[Path], roots: list[Path]) -> list[Path]:
    """`paths` not inside one another or inside `roots`, sorted."""
    found = {path for path in paths if not _under(path, roots)}
    return sorted(path for path in found if not any(other in path.parents for other in found))


def _symlinks(path: str) -> list[tuple[Path, str]]:
    """The symlinks met resolving the absolute `path`, one component at a time."""
    found: list[tuple[Path, str]] = []
    current, parts = Path("/"), list(Path(path).parts[1:])
    while parts and len(found) < 40:  # as the kernel gives up on a loop
        current = current / parts.pop(0)
        if current.is_symlink():
            target = os.readlink(current)
            found.append((current, target))
            # the parent is already resolved, so `..` in the target can be taken as written
            parts = list(Path(os.path.normpath(current.parent / target)).parts[1:]) + parts
            current = Path("/")
    return found


def _matplotlib_font_cache(env: dict) -> list[Path]:
    """matplotlib's font list in the build's cache folder, found without importing matplotlib."""
    folder = env.get("MPLCONFIGDIR") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib"
    )
    return sorted(Path(folder).glob("fontlist-*.json"))


def start_failure(stderr: str, error: Exception) -> str:
    """Why a sandboxed kernel did not start, and what to do, from what bwrap and the kernel
    wrote to their stderr before it died (`error`: how jupyter_client saw it)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    own = [line for line in lines if line.startswith(f"{BWRAP}: ")]
    if own or lines:
        cause = (own or lines)[-1][:500]
    elif "died" in str(error):
        cause = "it exited without a message"
    else:
        cause = str(error)
    return (
        f"the kernel could not start in the sandbox: {cause}. The sandbox shows a kernel only "
        "the system's folders, its Python (prefix, base prefix, executable) and the folders on "
        'sys.path (see "Security model" in the README): install what the kernel needs there, '
        "or pass --isolation off to run kernels unsandboxed (only for posts you trust)"
    )


def kernel_manager(
    isolation: Isolation,
    runtime: Path,
    workdir: Path,
):
    """A jupyter_client KernelManager whose connection file is in `runtime`; sandboxed, it talks
    over unix sockets in `runtime`/ipc, the one folder the sandbox can write that the build
    sees, and launches the kernel inside bwrap (see `sandbox_command`)."""
    from jupyter_client import (
        AsyncKernelManager as KernelManager,
    )  # what nbclient itself would create

    class SandboxedKernelManager(KernelManager):
        """Wraps the kernel's command in bwrap (jupyter_client's format_kernel_cmd hook)."""

        def format_kernel_cmd(self, extra_arguments=None):
            command = super().format_kernel_cmd(extra_arguments)
            env = self._launch_args.get("env") or dict(os.environ)
            if _as_root():  # written by now; the kernel, as NOBODY, reads its key from it
                os.chown(self.connection_file, NOBODY, NOBODY)
            return sandbox_command(command, runtime, workdir, isolation.limits, env)

    if not isolation.sandbox:
        return KernelManager(kernel_name="python3", connection_file=str(runtime / "kernel.json"))
    (runtime / "ipc").mkdir(exist_ok=True)
    if _as_root():  # where the kernel creates its sockets
        os.chown(runtime / "ipc", NOBODY, NOBODY)
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
        """`runtime`: the folder whose size counts against the disk limit (a sandboxed kernel's
        runtime folder: its sockets and stderr)."""
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
