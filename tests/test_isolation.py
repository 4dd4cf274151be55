"""What a post's code can no longer do: kernels in the bubblewrap sandbox, with limits.

The slow tests start kernels with --isolation required; they are skipped where bwrap cannot
create its namespaces (see the README's "Security model")."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from conftest import ROOT, write_post
from kernelblog import isolation, pipeline
from kernelblog.isolation import Limits, choose
from kernelblog.listing import list_posts
from kernelblog.pipeline import Options, build
from kernelblog.settings import Settings, parse_size

needs_bwrap = pytest.mark.skipif(
    isolation.unavailable() is not None, reason=f"{isolation.unavailable()}"
)

VICTIM = "# Victim\n\n```python\nprint('the real output of the victim')\n```\n"


def options(folder, **kwargs):
    kwargs = {"isolation": "required", **kwargs}
    return Options(
        posts=folder / "posts",
        out=folder / "site",
        snippets=folder / "snippets",
        cache=folder / "cache",
        jobs=1,
        **kwargs,
    )


def test_required_without_bwrap_is_an_exit_2_error(tmp_path, monkeypatch):
    monkeypatch.setattr(isolation, "BWRAP", "kernelblog-no-such-bwrap")
    isolation.unavailable.cache_clear()
    try:
        write_post(tmp_path / "posts", "p.md", "# P\n\n```python\nprint(1)\n```\n")
        lines = []
        assert build(options(tmp_path), lines.append) == 2
        assert lines == [
            "--isolation: error: required, but kernels cannot be sandboxed: bwrap (bubblewrap) "
            "is not installed; install bubblewrap (apt-get install bubblewrap) to isolate them"
        ]
        assert not (tmp_path / "site").exists()
        warnings = []
        assert choose("auto", Limits(GIB, GIB), warnings.append).sandbox is False
        assert [str(w) for w in warnings] == [
            "--isolation: warning: kernels run without isolation: bwrap (bubblewrap) "
            "is not installed; install bubblewrap (apt-get install bubblewrap) to "
            "isolate them, or pass --isolation off to silence this"
        ]
    finally:
        isolation.unavailable.cache_clear()


GIB = 1 << 30


def test_isolation_setting_is_checked_and_the_option_wins(tmp_path, monkeypatch):
    write_post(tmp_path / "posts", "p.md", "# P\n\n```python\nprint(1)\n```\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.kernelblog]\ntitle = "T"\nisolation = "sometimes"\n'
    )
    lines = []
    assert build(options(tmp_path, isolation=None), lines.append) == 2
    assert lines == [
        f"{tmp_path / 'pyproject.toml'}:3: error: [tool.kernelblog] isolation: expected auto, "
        "required or off"
    ]
    (tmp_path / "pyproject.toml").write_text('[tool.kernelblog]\nisolation = "required"\n')
    monkeypatch.setattr(isolation, "BWRAP", "kernelblog-no-such-bwrap")
    isolation.unavailable.cache_clear()
    try:
        lines = []
        assert build(options(tmp_path, isolation=None), lines.append) == 2
        assert lines[0].startswith("--isolation: error: required, but kernels cannot be sandboxed")
        assert (
            pipeline._isolation(
                options(tmp_path, isolation="off"), Settings(isolation="required"), lines.append
            ).sandbox
            is False
        )  # the option wins
    finally:
        isolation.unavailable.cache_clear()


def test_runtime_folders_of_builds_that_died_are_removed(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f"{isolation.RUNTIME_PREFIX}{dead.stdout.strip()}-abc"
    live = tmp_path / f"{isolation.RUNTIME_PREFIX}{os.getpid()}-def"
    for folder in (stale, live):
        (folder / "ipc").mkdir(parents=True)
        (folder / "ipc" / "kernel.json").write_text("{}")
    isolation.remove_stale_runtimes(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name]


def test_sizes_read_as_people_write_them():
    assert [parse_size(text) for text in ("4G", "512M", "1.5GiB", "1000")] == [
        4 * GIB,
        512 << 20,
        3 * GIB // 2,
        1000,
    ]
    with pytest.raises(ValueError):
        parse_size("lots")


def test_code_under_tmp_stays_visible_in_the_sandbox():
    """The sandbox's private /tmp would hide a checkout or virtual environment under /tmp (CI clones
    there): such folders are bound back read-only, the outermost only."""
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        checkout = Path(folder).resolve()
        (checkout / "lib" / "inner").mkdir(parents=True)
        env = {
            "PYTHONPATH": os.pathsep.join(
                [str(checkout / "lib"), str(checkout / "lib" / "inner"), "/usr/lib"]
            )
        }
        command = isolation.sandbox_command(
            ["python"], checkout, checkout / "work", Limits(GIB, GIB), env
        )
        binds = [command[k + 1] for k, arg in enumerate(command) if arg == "--ro-bind"]
        assert str(checkout / "lib") in binds
        assert str(checkout / "lib" / "inner") not in binds and "/usr/lib" not in binds
        assert command.index(str(checkout / "lib")) > command.index(
            "/tmp"
        )  # after the private /tmp, not under it


def test_default_limits_of_all_jobs_fit_the_machine():
    total = psutil.virtual_memory().total
    for jobs in (1, 2, 4, 16, 64):
        limits = isolation.default_limits(jobs)
        assert limits.memory <= 4 * GIB and limits.disk <= GIB
        assert jobs * (limits.memory + 2 * limits.disk) <= total or limits.memory == 64 << 20


@pytest.fixture
def project():
    """A project folder outside /tmp, which the sandbox replaces with its own: as a real one is."""
    folder = Path(tempfile.mkdtemp(prefix="kernelblog-test-", dir="/var/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def listener():
    """A TCP server on every address of this machine, counting the connections it accepts."""
    server = socket.create_server(("0.0.0.0", 0))
    server.settimeout(0.2)
    accepted, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                accepted.append(server.accept())
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    address = next(
        (
            a.address
            for addresses in psutil.net_if_addrs().values()
            for a in addresses
            if a.family == socket.AF_INET and not a.address.startswith("127.")
        ),
        None,
    )
    if address is None:
        pytest.skip("this machine has no network address but loopback")
    yield address, server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


HOSTILE = '''# Hostile

```python
import os, subprocess, sys, time
PROJECT = {project!r}
MARKER = "kernelblog-daemon-{marker}"
def attempt(path, text="<script>alert(1)</script>"):
    try:
        with open(path, "a") as file:
            file.write(text)
        print("WROTE", path)
    except OSError as error:
        print("REFUSED", path, error.strerror)
for path in [PROJECT + "/posts/injected.md", PROJECT + "/snippets/injected.py", \
PROJECT + "/site/index.html",
             PROJECT + "/escape.txt", "../escape.txt", "/tmp/kernelblog-escape-{marker}.txt"]:
    attempt(path)
for entry in {entries!r}:  # the cache's entries, named as the build names them
    attempt(PROJECT + "/cache/" + entry + "/outputs.json", "[]")
    attempt(PROJECT + "/cache/" + entry + "/manifest.json", "{{}}")
```

```python
daemon = """
import sys, time
for _ in range(150):
    time.sleep(0.1)
    try:
        open(sys.argv[1] + '/site/index.html', 'a').write('<script>alert(1)</script>')
        open(sys.argv[1] + '/site/evil.html', 'w').write('<script>alert(1)</script>')
    except OSError:
        pass
"""
if os.fork() == 0:  # a setsid double fork, as daemons do
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", daemon, PROJECT, MARKER])
    os._exit(0)
os.wait()
print("daemon started")
```

```python
for code in ["import socket; socket.create_connection(({address!r}, {port}), timeout=5)",
             "import _socket; s = _socket.socket(); s.settimeout(5); \
s.connect(({address!r}, {port}))",
             ("import importlib, socket; importlib.reload(socket); "
              "socket.create_connection(('127.0.0.1', {port}), timeout=5)")]:
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    print("NETWORK", run.returncode, run.stderr.strip().splitlines()[-1])
```
'''


@pytest.mark.slow
@needs_bwrap
def test_a_hostile_post_changes_nothing_outside_its_sandbox(project, listener):
    """Writes to the posts, snippets, site, cache and ../, another post's cache entry, a
    daemon that waits for the swap to rewrite the site, and the network from a subprocess."""
    tmp_path = project
    address, port, accepted = listener
    marker = f"{time.time_ns()}"
    write_post(tmp_path / "posts", "victim.md", VICTIM)
    write_post(
        tmp_path / "posts", "twin.md", VICTIM
    )  # the same code as the victim: its own cache entry
    assert build(options(tmp_path), lambda line: None) == 0
    cache_before = {
        p: p.read_bytes() for p in (tmp_path / "cache").glob("*/*") if p.is_file()
    }  # the entries
    entries = sorted(p.parent.name for p in cache_before if p.name == "manifest.json")
    assert len(entries) == 2
    write_post(
        tmp_path / "posts",
        "hostile.md",
        HOSTILE.format(
            project=str(tmp_path),
            marker=marker,
            address=address,
            port=port,
            entries=entries,
        ),
    )
    lines = []
    assert build(options(tmp_path), lines.append) == 0, lines
    notebook = json.loads((tmp_path / "site" / "hostile" / "hostile.ipynb").read_text())
    page = "".join(
        "".join(output.get("text", ""))
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
    )
    assert "WROTE" not in page.replace("WROTE ../escape.txt", "").replace(
        f"WROTE /tmp/kernelblog-escape-{marker}", ""
    )
    # refused: the project is not even visible in the sandbox (deny by default)
    targets = [
        str(tmp_path / name)
        for name in ("posts/injected.md", "snippets/injected.py", "site/index.html", "escape.txt")
    ] + [
        str(tmp_path / "cache" / entry / name)
        for entry in entries
        for name in ("outputs.json", "manifest.json")
    ]
    assert len(targets) == 4 + 2 * 2
    refused = re.findall(
        r"^REFUSED (\S+) (?:Read-only file system|No such file or directory)$", page, re.M
    )
    assert sorted(set(refused) & set(targets)) == sorted(targets), page
    assert page.count("NETWORK 1") == 3 and page.count("Network is unreachable") == 2, page
    assert "daemon started" in page
    time.sleep(2)  # the daemon would have struck by now
    assert not any(
        marker in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])
    )
    assert "alert" not in (tmp_path / "site" / "index.html").read_text()
    assert not (tmp_path / "site" / "evil.html").exists()
    for outside in (
        tmp_path / "posts" / "injected.md",
        tmp_path / "snippets" / "injected.py",
        tmp_path / "escape.txt",
        tmp_path.parent / "escape.txt",
    ):
        assert not outside.exists()
    assert not list(tmp_path.parent.glob(f"kernelblog-escape-{marker}*"))
    assert {p: p.read_bytes() for p in cache_before} == cache_before
    assert accepted == []
    for victim in ("victim", "twin"):
        assert (
            "the real output of the victim"
            in (tmp_path / "site" / victim / "index.html").read_text()
        )


DAEMON_THEN_LOOK = """# Two sections

```python
import subprocess
subprocess.Popen(["setsid", "sleep", "301"])  # a daemon, in its own session
print("daemon started")
```

```python
import os
def sleepers():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                found += [pid] if cmdline.read() == b"sleep\\x00301\\x00" else []
        except OSError:
            pass
    return found
print("daemons left:", len(sleepers()))
```
"""


@pytest.mark.slow
@needs_bwrap
def test_a_component_never_sees_the_processes_of_one_before_it(project):
    """One kernel runs both independent sections in turn: the first one's daemon is gone before the
    second starts."""
    write_post(project / "posts", "two.md", DAEMON_THEN_LOOK)
    lines = []
    assert build(options(project), lines.append) == 0, lines
    assert any("2 executed" in line for line in lines), lines  # two components, one kernel
    page = (project / "site" / "two" / "index.html").read_text()
    assert "daemon started" in page and "daemons left: 0" in page


@pytest.mark.slow
@needs_bwrap
def test_limits_stop_a_cell_at_its_line(tmp_path):
    """Memory (a big allocation against a small limit), processes and the writable folder's size."""
    memory = write_post(
        tmp_path / "posts",
        "memory.md",
        "# M\n\n```python\nprint('fine')\n```\n\n```python\nimport time\n"
        "big = bytearray(b'x') * (400 << 20)\ntime.sleep(10)\n```\n",
    )
    forks = write_post(
        tmp_path / "posts",
        "processes.md",
        "# P\n\n```python\nimport subprocess, time\n"
        "children = [subprocess.Popen(['sleep', '60']) for _ in range(12)]\ntime.sleep(10)\n```\n",
    )
    disk = write_post(
        tmp_path / "posts",
        "disk.md",
        "# D\n\n```python\nwith open('big.bin', 'wb') as file:\n"
        "    for _ in range(100):\n        file.write(bytes(1 << 20))\n```\n",
    )
    lines = []
    started = time.monotonic()
    assert (
        build(options(tmp_path, kernel_memory=300 << 20, disk=64 << 20, processes=8), lines.append)
        == 1
    )
    assert time.monotonic() - started < 60  # no cell waited for its 10 s of sleep... much
    errors = sorted(line for line in lines if ": error: " in line)
    assert errors == sorted(
        [
            f"{memory}:7: error: the cell used more than 300 MiB (--kernel-memory)",
            f"{forks}:3: error: the cell started more than 8 processes (--processes)",
            f"{disk}:6: error: OSError: [Errno 28] No space left on device",
        ]
    )


@pytest.mark.slow
@needs_bwrap
def test_check_with_isolation_required_passes_on_the_posts(built_posts):
    """CI's `python build.py --check --isolation required`, on the cache of the session's build
    of posts/ (sandboxed: auto, where bwrap works), so the posts are not executed twice."""
    from conftest import ROOT

    check = subprocess.run(
        [
            sys.executable,
            "build.py",
            "--check",
            "--isolation",
            "required",
            "--cache",
            str(built_posts.parent / "cache"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    assert check.stderr.count("cells cached") == len(list_posts(ROOT / "posts").posts), (
        check.stderr
    )


def binds_of(command: list[str]) -> dict[str, str]:
    """Destination -> source of each read-only bind of a sandbox command."""
    return {command[k + 2]: command[k + 1] for k, arg in enumerate(command) if arg == "--ro-bind"}


def test_the_sandbox_grants_only_what_a_kernel_needs(tmp_path):
    """bwrap starts with an empty environment; it binds the interpreter at its real paths, this
    package but not its source tree, and nothing of /, /etc or $HOME wholesale."""
    env = {"KB_BAR_SECRET": "hunter2", "PATH": "/usr/bin", "PYTHONPATH": f"{ROOT}:/:/tmp"}
    env |= {"TF_API_TOKEN": "hunter3", "TF_CPP_MIN_LOG_LEVEL": "2"}  # Terraform's, TensorFlow's
    command = isolation.sandbox_command(
        ["python"], tmp_path, tmp_path / "work", Limits(GIB, GIB), env
    )
    assert command[1] == "-i" and Path(command[2]).name == "bwrap"  # `env -i bwrap`
    assert not any("hunter" in arg for arg in command)
    assert "TF_CPP_MIN_LOG_LEVEL" in command
    binds = binds_of(command)
    for path in (sys.base_prefix, sys.prefix, str(ROOT / "kernelblog")):
        real = Path(path).resolve()
        assert any(Path(b) == real or Path(b) in real.parents for b in binds), (path, binds)
    assert binds["/usr"] == "/usr" and "/etc/passwd" in binds
    hidden = ("/", "/tmp", "/etc", "/etc/shadow", "/root", "/home", str(ROOT), str(Path.home()))
    for path in hidden:
        assert path not in binds
    assert not any(Path(b) == ROOT / ".git" or ROOT / ".git" in Path(b).parents for b in binds)
    assert command[command.index("HOME", command.index("--clearenv")) + 1] == isolation.HOME
    if os.geteuid() == 0:
        start = command.index("--", command.index("--clearenv"))
        assert Path(command[start + 1]).name == "setpriv" and "--reuid=65534" in command


def test_the_symlinks_on_the_way_to_the_code_are_kept():
    """An interpreter or library reached through symlinks (a venv's bin/python, pyenv's, a
    linked folder): the real folder is bound, the link recreated where the kernel looks."""
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        real = Path(folder).resolve() / "real env"
        (real / "lib").mkdir(parents=True)
        (Path(folder) / "link").symlink_to("real env")
        env = {"PYTHONPATH": f"{folder}/link/lib"}
        command = isolation.sandbox_command(
            ["python"], Path(folder), Path(folder) / "work", Limits(GIB, GIB), env
        )
        assert binds_of(command)[str(real / "lib")] == str(real / "lib")
        at = command.index(str(Path(folder).resolve() / "link"))
        assert command[at - 2 : at] == ["--symlink", "real env"]


def test_workflows_keep_no_token_in_the_checkout():
    """The posts' code could otherwise read the job's token from .git/config."""
    import yaml

    checkouts = [
        step
        for workflow in (ROOT / ".github" / "workflows").glob("*.yml")
        for job in yaml.safe_load(workflow.read_text())["jobs"].values()
        for step in job.get("steps", [])
        if step.get("uses", "").startswith("actions/checkout")
    ]
    assert checkouts and all(
        step.get("with", {}).get("persist-credentials") is False for step in checkouts
    )


def test_why_a_sandboxed_kernel_did_not_start_is_said_in_words():
    stderr = "bwrap: Can't find source path /opt/py: No such file or directory\n"
    message = isolation.start_failure(stderr, RuntimeError("Kernel died before replying"))
    assert message.startswith(
        "the kernel could not start in the sandbox: bwrap: Can't find source path /opt/py: "
        "No such file or directory. "
    )
    assert "--isolation off" in message and "died" not in message
    assert "exited without a message" in isolation.start_failure("", RuntimeError("Kernel died"))


PROBE = """# Probe

```python
import glob, os, pathlib
secret = "hunter" + "2"
seen = []
for path in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline"):
    try:
        if secret.encode() in pathlib.Path(path).read_bytes():
            seen.append(path)
    except OSError:
        pass
print("SECRET", seen, secret in str(os.environ))
print("UID", os.getuid(), os.geteuid(), os.getgid())
print("HOME", os.environ["HOME"], os.listdir(os.path.expanduser("~")))
print("LISTED", sorted(os.listdir({home!r})) if os.path.isdir({home!r}) else None)
for path in {paths!r}:
    try:
        pathlib.Path(path).read_bytes() if os.path.isfile(path) else os.listdir(path)
        print("READ", path)
    except OSError as error:
        print("DENIED", path, error.strerror)
```
"""


@pytest.mark.slow
@needs_bwrap
def test_a_post_finds_no_secret_no_home_no_git_and_no_root(project, monkeypatch):
    """The issue's probe, as a post: a variable set for the build, $HOME (the kernel's and the
    build's), the checkout's .git/config, /etc/shadow, a root-only folder that is visible, and
    the uid."""
    monkeypatch.setenv("KB_BAR_SECRET", "hunter2")
    common = subprocess.run(
        ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    home = Path.home()
    paths = [str(ROOT / ".git"), str(ROOT / ".git" / "config"), "/etc/shadow"]
    paths += [str(home / name) for name in (".gitconfig", ".ssh", ".cache", ".bash_history")]
    paths += [f"{common}/config"] if common else []
    paths += ["/etc/ssl/private"]  # root-only, and visible (SSL's folder is bound)
    write_post(project / "posts", "probe.md", PROBE.format(paths=paths, home=str(home)))
    lines = []
    assert build(options(project), lines.append) == 0, lines
    notebook = json.loads((project / "site" / "probe" / "probe.ipynb").read_text())
    page = "".join(
        "".join(output.get("text", ""))
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
    )
    assert "SECRET [] False" in page, page
    uid = re.search(r"^UID (\d+) (\d+) (\d+)$", page, re.M)
    assert uid and 0 not in map(int, uid.groups()), page
    assert f"HOME {isolation.HOME} []" in page, page
    assert "READ" not in page, page
    # of the build's $HOME, at most the way to an interpreter kept there (pyenv's)
    leading = {
        p.relative_to(home).parts[0] for p in isolation.code_paths({})[0] if home in p.parents
    }
    listed = re.search(r"^LISTED (.*)$", page, re.M).group(1)
    assert listed == "None" or set(json.loads(listed.replace("'", '"'))) <= leading, page
    assert page.count("DENIED") == len(paths) and "DENIED /etc/shadow" in page, page
    if Path("/etc/ssl/private").exists():
        assert "DENIED /etc/ssl/private Permission denied" in page, page


@pytest.mark.slow
@needs_bwrap
def test_a_venv_under_tmp_in_a_folder_with_spaces_builds_the_posts():
    """A fresh venv under /tmp (the sandbox's /tmp is private) whose bin/python is a symlink to
    the base interpreter, the way a new user would make one: its kernels start."""
    with tempfile.TemporaryDirectory(prefix="kernelblog venv ", dir="/tmp") as folder:
        venv, project = Path(folder) / "my env", Path(folder) / "my blog"
        subprocess.run(
            [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
            check=True,
        )
        assert (venv / "bin" / "python").is_symlink()
        write_post(
            project / "posts", "p.md", "# P\n\n```python\nimport sys\nprint(sys.prefix)\n```\n"
        )
        run = subprocess.run(
            [str(venv / "bin" / "python"), "build.py", "--isolation", "required"]
            + [f"--{name}={project / name}" for name in ("posts", "out", "cache", "snippets")],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        assert str(venv) in (project / "out" / "p" / "index.html").read_text()


@pytest.mark.slow
@needs_bwrap
def test_a_kernel_the_sandbox_cannot_start_is_an_error_at_the_first_code_line(project, monkeypatch):
    """A bind of a path that is not there: bwrap's own error, at the post's first code line."""
    missing = project / "no such interpreter"
    code_paths = isolation.code_paths
    monkeypatch.setattr(
        isolation, "code_paths", lambda env: (code_paths(env)[0] + [missing], code_paths(env)[1])
    )
    post = write_post(project / "posts", "p.md", "# P\n\nProse.\n\n```python\nprint(1)\n```\n")
    lines = []
    assert build(options(project), lines.append) == 1
    errors = [line for line in lines if ": error: " in line]
    assert errors == [
        f"{post}:6: error: could not execute the post: the kernel could not start in the "
        f"sandbox: bwrap: Can't find source path {missing}: No such file or directory. "
        + isolation.start_failure("x", RuntimeError()).split(": x. ")[1]
    ], lines
