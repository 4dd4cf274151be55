"""Live preview: `build.py serve` serves the site, rebuilds on an edit and tells the open page to
reload."""

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request

import pytest

from conftest import ROOT, write_post
from kernelblog.serve import EVENTS

pytestmark = pytest.mark.slow

POST = """---
title: Preview
---

The first version of the prose.

```python
print("from the kernel", 6 * 7)
```
"""


@pytest.fixture
def server(tmp_path):
    """A running `build.py serve` on a free port, and its base URL."""
    post = write_post(tmp_path / "posts", "preview.md", POST)
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "build.py"),
            "serve",
            "--port",
            "0",
            "--posts",
            str(tmp_path / "posts"),
            "--out",
            str(tmp_path / "site"),
            "--snippets",
            str(tmp_path / "snippets"),
            "--cache",
            str(tmp_path / "cache"),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stderr], daemon=True
    ).start()
    try:
        url = None
        while url is None:
            line = lines.get(timeout=120)
            match = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
            url = match and match.group(1)
        yield post, url, lines
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def test_serve_rebuilds_and_reloads_on_an_edit(server):
    post, url, lines = server
    page = fetch(url + "preview/")
    assert "The first version" in page and "from the kernel 42" in page
    assert EVENTS in page  # the reload script, added as the page is served

    events: queue.Queue = queue.Queue()

    def listen():
        with urllib.request.urlopen(url.rstrip("/") + EVENTS, timeout=120) as stream:
            for line in stream:
                # blank lines end each event; the 15 s heartbeat comes when a rebuild is slow
                if line.strip() and line.strip() != b": still here":
                    events.put(line.decode().strip())

    threading.Thread(target=listen, daemon=True).start()
    assert events.get(timeout=10) == ": connected"
    post.write_text(post.read_text().replace("The first version", "The second version"))
    try:
        event = events.get(timeout=120)
    except queue.Empty:
        said = []
        while not lines.empty():
            said.append(lines.get())
        raise AssertionError(f"no reload within 120 s; serve said: {said}") from None
    assert event == "event: reload"
    page = fetch(url + "preview/")
    assert "The second version" in page and "from the kernel 42" in page
    said = []
    while not lines.empty():
        said.append(lines.get())
    assert any("1 cells cached" in line or "2 cells cached" in line for line in said), (
        said
    )  # prose: no kernel
    assert events.get(timeout=10) == "data: 1"
    while not any(
        line.startswith("kernel ready") for line in said
    ):  # serve says when its kernel waits, warm
        said.append(lines.get(timeout=120))
    post.write_text(
        post.read_text().replace("6 * 7", "6 * 8")
    )  # code: run on the warm kernel, in process
    assert events.get(timeout=120) == "event: reload"
    assert "from the kernel 48" in fetch(url + "preview/")
    said = []
    while not lines.empty():
        said.append(lines.get())
    assert "components: 1 executed (2 cells), 0 from the cache (0 cells)\n" in said, said


@pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium")
def test_the_open_page_reloads_in_a_browser(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    post, url, _ = server
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox"] if os.geteuid() == 0 else [],
        )
        page = browser.new_page()
        page.goto(url + "preview/")
        assert "The first version" in page.content()
        page.wait_for_timeout(500)  # the event stream connects
        post.write_text(post.read_text().replace("The first version", "The edited version"))
        page.wait_for_function(
            "document.body.innerText.includes('The edited version')", timeout=120_000
        )
        browser.close()
