"""Builds that are killed or run at the same time: nothing corrupt, nothing trusted that shouldn't
be."""

import subprocess
import sys

import pytest

from conftest import ROOT, write_post

pytestmark = pytest.mark.slow

POST = "# Numbers\n\n```python\nimport numpy as np\nprint(np.arange(4).sum())\n```\n"
KILLED_WHILE_CACHING = """
import os, signal, sys
from pathlib import Path
from kernelblog import cache
from kernelblog.pipeline import Options, build

real_write = cache.atomic_write

def write_then_die(path, data):
    if path.name == "manifest.json":  # the outputs are written; the manifest never is
        os.kill(os.getpid(), signal.SIGKILL)
    real_write(path, data)

cache.atomic_write = write_then_die
folder = Path(sys.argv[1])
build(Options(posts=folder / "posts", out=folder / "site", snippets=folder / "snippets", \
cache=folder / "cache",
              jobs=1), print)
"""


def build_command(folder):
    return [
        sys.executable,
        str(ROOT / "build.py"),
        "--posts",
        str(folder / "posts"),
        "--out",
        str(folder / "site"),
        "--snippets",
        str(folder / "snippets"),
        "--cache",
        str(folder / "cache"),
        "--jobs",
        "1",
    ]


def test_a_build_killed_while_caching_leaves_an_entry_the_next_build_runs_again(tmp_path):
    post = write_post(tmp_path / "posts", "numbers.md", POST)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_CACHING, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9
    [entry] = (tmp_path / "cache").iterdir()
    assert (entry / "outputs.json").exists() and not (entry / "manifest.json").exists()
    again = subprocess.run(build_command(tmp_path), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"{post}: warning: ignoring a damaged cache entry" in again.stderr
    assert f"{post}: ran 2 cells" in again.stderr
    assert (entry / "manifest.json").exists() and not list(entry.glob(".*.tmp"))
    assert "6" in (tmp_path / "site" / "numbers" / "index.html").read_text()


def test_two_builds_at_once_take_turns(tmp_path):
    write_post(tmp_path / "posts", "numbers.md", POST)
    first = subprocess.Popen(build_command(tmp_path), stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(build_command(tmp_path), stderr=subprocess.PIPE, text=True)
    outputs = [process.communicate(timeout=120)[1] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    both = "".join(outputs)
    assert both.count("another build is writing this site; waiting for it to finish") == 1
    assert both.count("ran 2 cells") == 1  # the second found what the first built
    assert both.count("nothing changed since the last build") == 1
    assert "6" in (tmp_path / "site" / "numbers" / "index.html").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "posts", "site", "snippets"]
