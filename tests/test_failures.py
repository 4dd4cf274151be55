"""Failing snippets in a real kernel: exceptions, loops, dead kernels, the network, floods of
output, leftover processes, and a build interrupted by Ctrl-C or SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from conftest import ROOT, write_post
from kernelblog.execute import GRACE, MAX_TEXT
from kernelblog.pipeline import SITE_MARKER, Options, build

pytestmark = pytest.mark.slow


def options(tmp_path, **kwargs):
    return Options(
        posts=tmp_path / "posts",
        out=tmp_path / "site",
        snippets=tmp_path / "snippets",
        cache=tmp_path / "cache",
        jobs=1,
        **kwargs,
    )


def gone(pid: int) -> bool:
    """Whether a process no longer runs (a zombie waiting for its parent counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_exception_message_is_plain_in_the_terminal_and_escaped_on_the_page(tmp_path):
    post = write_post(
        tmp_path / "posts",
        "raise.md",
        "# R\n\n```python\nx = 1\n"
        "raise ValueError(\"<b>bad</b> & <script>document.title='x'</script>\")\n"
        "```\n\n```python\nprint('still runs', x)\n```\n",
    )
    lines = []
    assert build(options(tmp_path, keep_going=True), lines.append) == 1
    assert (
        lines[0] == f"{post}:5: error: ValueError: <b>bad</b> & <script>document.title='x'</script>"
    )
    page = (tmp_path / "site" / "raise" / "index.html").read_text()
    assert "&lt;b&gt;bad&lt;/b&gt; &amp; &lt;script&gt;" in page and "<script>" not in page
    assert "still runs 1" in page


EXPECTED = """# Expected exceptions

```python raises="ZeroDivisionError"
1 / 0
```

```python raises="KeyError"
ok = True
```

```python raises="KeyError"
int("x")
```

```python
print("after", ok)
```
"""


def test_cell_expected_to_raise(tmp_path):
    post = write_post(tmp_path / "posts", "expected.md", EXPECTED)
    lines = []
    assert build(options(tmp_path, keep_going=True), lines.append) == 1
    assert lines[:2] == [
        f"{post}:7: error: expected KeyError to be raised, but the cell raised nothing",
        f"{post}:12: error: expected KeyError, but the cell raised ValueError: "
        "invalid literal for int() with base 10: 'x'",
    ]
    page = (tmp_path / "site" / "expected" / "index.html").read_text()
    assert "ZeroDivisionError" in page and "after True" in page


def test_expected_exception_alone_passes(tmp_path):
    write_post(tmp_path / "posts", "expected.md", EXPECTED.split('```python raises="KeyError"')[0])
    assert build(options(tmp_path, check=True), lambda line: None) == 0


def test_infinite_loop_is_interrupted_and_the_post_goes_on(tmp_path):
    post = write_post(
        tmp_path / "posts",
        "loop.md",
        "# L\n\n```python\nn = 0\nwhile True:\n    n += 1\n```\n\n"
        "```python\nprint('alive', n > 0)\n```\n",
    )
    lines = []
    started = time.monotonic()
    assert build(options(tmp_path, timeout=2, keep_going=True), lines.append) == 1
    assert time.monotonic() - started < 2 + GRACE + 20  # kernel start included
    assert lines[0] in (f"{post}:{line}: error: the cell timed out after 2 s" for line in (5, 6))
    assert "alive True" in (tmp_path / "site" / "loop" / "index.html").read_text()


def test_cell_ignoring_sigint_is_killed_with_its_process_group(tmp_path):
    pids = tmp_path / "pids"
    post = write_post(
        tmp_path / "posts",
        "stubborn.md",
        f"""# S

```python
import os, signal, subprocess
child = subprocess.Popen(["sleep", "300"])
open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
```
""",
    )
    lines = []
    started = time.monotonic()
    # unsandboxed, so the kernel can write its pids where the test reads them (test_isolation.py has
    # the sandbox)
    assert build(options(tmp_path, timeout=2, isolation="off"), lines.append) == 1
    assert time.monotonic() - started < 2 + GRACE + 20
    assert lines == [
        f"{post}:3: error: the cell timed out after 2 s and ignored the interrupt; "
        "the kernel was killed"
    ]
    assert all(gone(int(pid)) for pid in pids.read_text().split())


@pytest.mark.parametrize(
    "code, how",
    [
        ("import os\nos._exit(3)", "it exited with status 3"),
        ("import ctypes\nctypes.string_at(0)", "killed by SIGSEGV (Segmentation fault)"),
        (
            "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
            "killed by SIGKILL, as the out-of-memory killer does",
        ),
    ],
)
def test_dead_kernel_is_reported_and_the_next_post_gets_a_fresh_one(tmp_path, code, how):
    post = write_post(
        tmp_path / "posts", "a-dies.md", f"# D\n\n```python\nprint('before')\n{code}\n```\n"
    )
    write_post(tmp_path / "posts", "b-after.md", "# B\n\n```python\nprint('fresh kernel')\n```\n")
    lines = []
    started = time.monotonic()
    assert build(options(tmp_path, keep_going=True), lines.append) == 1
    assert time.monotonic() - started < 30
    assert lines[0] == f"{post}:3: error: the kernel died while running this cell: {how}"
    assert "fresh kernel" in (tmp_path / "site" / "b-after" / "index.html").read_text()


def test_network_access_fails_at_once(tmp_path):
    post = write_post(
        tmp_path / "posts",
        "net.md",
        """# N

```python
import urllib.request
urllib.request.urlopen("https://example.com", timeout=60)
```

```python
import socket
socket.create_connection(("93.184.215.14", 80), timeout=60)
```

```python
keras.utils.get_file("data.npz", "https://example.com/data.npz")  # keras.datasets now has stand-ins
```

```python
import socket
server = socket.create_server(("127.0.0.1", 0))
socket.create_connection(server.getsockname(), timeout=5).close()
print("loopback works")
```
""",
    )
    lines = []
    started = time.monotonic()
    assert build(options(tmp_path, keep_going=True), lines.append) == 1
    assert (
        time.monotonic() - started < 60
    )  # a real attempt would wait for timeouts (here 60 s each)
    assert [line.split(": error: ")[0] for line in lines[:3]] == [
        f"{post}:5",
        f"{post}:10",
        f"{post}:14",
    ], lines
    assert all("network access is unavailable during builds" in line for line in lines[:3])
    assert "loopback works" in (tmp_path / "site" / "net" / "index.html").read_text()


def test_output_flood_keeps_its_head_and_tail_and_says_so(tmp_path):
    """A 100,000-step progress bar (1.9 million characters): the page shows its real last state."""
    post = write_post(
        tmp_path / "posts",
        "flood.md",
        "# F\n\n```python\nprint('start')\n"
        "for i in range(1, 100_001):\n    print(f'\\rstep {i:6d}/100000', end='')\n```\n",
    )
    lines = []
    assert build(options(tmp_path), lines.append) == 0
    [cut] = [line for line in lines if ": warning: " in line]
    assert cut.startswith(f"{post}:3: warning: the cell's output was cut")
    page = (tmp_path / "site" / "flood" / "index.html").read_text()
    assert "start" in page and "step 100000/100000" in page and "step  50000/100000" not in page
    assert "characters not kept: the build keeps the first and last 500,000" in page
    [entry] = (tmp_path / "cache").glob("*/outputs.json")  # what the build kept: bounded
    kept = json.dumps(json.loads(entry.read_text()))
    assert (
        MAX_TEXT <= len(kept) - kept.count("\\r") < MAX_TEXT + 2000 and "step 100000/100000" in kept
    )


def test_processes_and_threads_a_snippet_starts_are_ended(tmp_path):
    pids = tmp_path / "pids"
    write_post(
        tmp_path / "posts",
        "spawn.md",
        f"""# P

```python
import multiprocessing, os, subprocess, threading, time
plain = subprocess.Popen(["sleep", "300"])
detached = subprocess.Popen(["sleep", "301"], start_new_session=True)
worker = multiprocessing.Process(target=time.sleep, args=(302,))
worker.start()
threading.Thread(target=time.sleep, args=(303,)).start()
open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{plain.pid}} {{detached.pid}} {{worker.pid}}")
```
""",
    )
    assert (
        build(options(tmp_path, check=True, isolation="off"), lambda line: None) == 0
    )  # pids: as above
    assert all(gone(int(pid)) for pid in pids.read_text().split())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_build_leaves_the_previous_site_and_no_temporary_folders(tmp_path, signum):
    started = tmp_path / "started"
    write_post(
        tmp_path / "posts",
        "slow.md",
        f"""# S

```python
import os, subprocess, time
child = subprocess.Popen(["sleep", "300"])
open({str(started)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
time.sleep(300)
```
""",
    )
    site = tmp_path / "site"
    write_post(site / "old", "index.html", "previous page")
    write_post(site, SITE_MARKER, "")
    before = {path: path.read_bytes() for path in site.rglob("*") if path.is_file()}
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    build_py = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "build.py"),
            "--posts",
            tmp_path / "posts",
            "--out",
            site,
            "--snippets",
            tmp_path / "snippets",
            "--cache",
            tmp_path / "cache",
            "--isolation",
            "off",
        ],
        env=dict(os.environ, TMPDIR=str(temporary)),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert started.exists(), "the snippet never started"
    build_py.send_signal(signum)
    _, stderr = build_py.communicate(timeout=30)
    assert build_py.returncode == 128 + signum
    assert stderr.strip().endswith(f"build interrupted by {signal.Signals(signum).name}")
    assert {path: path.read_bytes() for path in site.rglob("*") if path.is_file()} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["posts", "site", "started", "tmp"]
    assert list(temporary.iterdir()) == []
    assert all(gone(int(pid)) for pid in started.read_text().split())


def test_a_post_with_errors_found_before_running_is_failed_in_the_summary(tmp_path):
    post = write_post(
        tmp_path / "posts",
        "early.md",
        "# S\n\n```python\nprint(undefined_name)\n```\n\n```python\nprint('runs anyway')\n```\n",
    )
    command = [sys.executable, str(ROOT / "build.py"), "--keep-going", "--jobs", "1"] + [
        f"--{name}={tmp_path / name}" for name in ("posts", "out", "snippets", "cache")
    ]
    for _ in range(2):  # executed, then every cell from the cache: failed both times
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 1
        lines = done.stderr.splitlines()
        assert lines[0] == f"{post}:4: error: name 'undefined_name' is not defined", lines
        [row] = [line for line in lines if line.startswith(f"{post} ")]
        assert row.split()[2] == "failed", lines
    assert "runs anyway" in (tmp_path / "out" / "early" / "index.html").read_text()
