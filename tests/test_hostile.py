"""Hostile outputs and prose: a page built from them, opened in headless chromium, runs no script.

Every payload tries to change document.title; the test reads the title back. No kernel runs:
the outputs are what a hostile snippet could make a kernel send.
"""

import base64
import shutil
from pathlib import Path

import pytest
from nbformat.v4 import new_output

from conftest import write_post
from kernelblog.complete import complete_post
from kernelblog.execute import ExecutedPost
from kernelblog.pipeline import Options, write_all
from kernelblog.read import read_post
from kernelblog.render import markdown_html

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TITLE = "Hostile outputs"


def pwn(name: str) -> str:
    return f"document.title='pwned-{name}'"


POST = f"""---
title: {TITLE}
tags: ["<script>{pwn("tag")}</script>"]
summary: "<img src=x onerror=\\"{pwn("summary")}\\">"
---

Raw HTML in prose: <script>{pwn("prose-script")}</script> <img src=x onerror="{pwn("prose-img")}">
[a link](javascript:{pwn("md-link")}) <a href="JaVaScRiPt:{pwn("raw-link")}">raw</a>
<a href="data:text/html,<script>{pwn("data-link")}</script>">data</a> \
![img](javascript:{pwn("md-img")})
<iframe srcdoc="<script>parent.{pwn("iframe")}</script>"></iframe>
<details open ontoggle="{pwn("details")}">x</details>
<svg><animate onbegin="{pwn("svg-animate")}" attributeName="x" dur="1s"/></svg>
<math><mtext><table><mglyph><style><img src=x onerror="{pwn("mxss")}">\
</style></mglyph></table></mtext></math>

```python
value = 1
```
"""
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
STREAM = (
    f"<script>{pwn('stream')}</script></pre><script>{pwn('pre')}</script>"
    f'<img src=x onerror="{pwn("stream-img")}">\x1b[31mred\x1b[0m'
    f"\x1b]8;;javascript:{pwn('osc8')}\x1b\\link\x1b]8;;\x1b\\\n"
)
HTML = (
    f"<table><tr><td><b>kept</b></td></tr></table><script>{pwn('html-script')}</script>"
    f'<img src=x onerror="{pwn("html-img")}"><a href="javascript:{pwn("html-link")}">a</a>'
    f'<iframe srcdoc="<script>parent.{pwn("html-iframe")}</script>"></iframe>'
    f'<object data="data:text/html,<script>{pwn("object")}</script>"></object>'
    f'<meta http-equiv="refresh" content="0;url=javascript:{pwn("meta")}">'
    f'<input autofocus onfocus="{pwn("autofocus")}"><base href="javascript:{pwn("base")}//">'
    f"<style>body {{ background: url('javascript:{pwn('css')}') }}</style>"
)
SVG = (
    f'<svg xmlns="http://www.w3.org/2000/svg" onload="{pwn("svg-onload")}">'
    f'<script>{pwn("svg-script")}</script><rect width="10" height="10"/></svg>'
)
OUTPUTS = [
    new_output("stream", name="stdout", text=STREAM),
    new_output("stream", name="stderr", text=STREAM.replace("pwned", "pwned-err")),
    new_output("display_data", data={"text/html": HTML, "text/plain": "html"}),
    new_output(
        "execute_result",
        execution_count=1,
        data={
            "text/html": f'<a href="jav&#x09;ascript:{pwn("tab-link")}">b</a>',
            "text/plain": "b",
        },
    ),
    new_output(
        "display_data",
        data={"application/javascript": pwn("js"), "text/plain": "<Javascript object>"},
    ),
    new_output(
        "display_data",
        data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "1"},
            "text/html": f"<script>{pwn('widget')}</script>",
            "text/plain": "Widget",
        },
    ),
    new_output("display_data", data={"image/svg+xml": SVG, "text/plain": "<svg figure>"}),
    new_output(
        "display_data",
        data={
            "image/png": base64.b64encode(PNG).decode(),
            "text/plain": f'"><img src=x onerror="{pwn("alt")}">',
        },
    ),
    new_output(
        "display_data",
        data={"image/png": base64.b64encode(PNG).decode()},
        metadata={"image/png": {"width": f'1" onerror="{pwn("width")}'}},
    ),
    new_output("display_data", data={"image/png": "<script>not base64</script>"}),
    new_output(
        "error",
        ename="ValueError",
        evalue=f"<script>{pwn('evalue')}</script>",
        traceback=[f'\x1b[31mValueError\x1b[0m: <img src=x onerror="{pwn("traceback")}">'],
    ),
]


@pytest.fixture
def site(tmp_path, index):
    path = write_post(tmp_path / "posts", "hostile.md", POST)
    (path.parent / "x").write_bytes(b"")  # its <img src=x>: a local image must exist
    completed = complete_post(read_post(path), index)
    assert completed.ok
    notebook = completed.notebook()
    [cell] = [
        cell for cell in notebook.cells if cell.metadata.get("kernelblog", {}).get("role") == "code"
    ]
    cell.execution_count, cell.outputs = 1, OUTPUTS
    warnings = []
    options = Options(out=tmp_path / "site", snippets=tmp_path / "snippets")
    write_all(
        options,
        [completed],
        {"hostile": ExecutedPost(notebook, seconds=1.0)},
        report=lambda warning: warnings.append(str(warning)),
    )
    return tmp_path / "site", warnings


def test_bad_images_are_left_off_the_page_with_a_warning(site):
    _, warnings = site
    assert [warning.split(": ", 2)[1:] for warning in warnings] == [
        [
            "warning",
            "an output was left off the page: png output with width "
            "'1\" onerror=\"document.title=\\'pwned-width\\'', "
            "not a positive whole number of pixels",
        ],
        ["warning", "an output was left off the page: png output that is not valid base64"],
    ]
    line = POST.splitlines().index("```python") + 1
    assert all(
        warning.startswith(f"{site[0].parent / 'posts' / 'hostile.md'}:{line}: ")
        for warning in warnings
    )


def test_page_keeps_harmless_markup_and_shows_hostile_text(site):
    html = (site[0] / "hostile" / "index.html").read_text()
    assert "<b>kept</b>" in html and "<table>" in html
    assert "&lt;script&gt;document.title=&#39;pwned-stream&#39;&lt;/script&gt;&lt;/pre&gt;" in html
    assert "ValueError: &lt;img src=x onerror=" in html
    assert "&lt;Javascript object&gt;" in html and "Widget" in html
    assert "javascript:" not in html.replace(
        "javascript:document.title", ""
    )  # only as escaped text
    assert "\x1b" not in html and "link" in html
    [svg] = (site[0] / "hostile").glob("*.svg")
    assert f'src="{svg.name}"' in html and "pwned" not in svg.read_text()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    if not executable:
        pytest.skip("chromium is not installed")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=ARGS)
        yield browser
        browser.close()


def opened(browser, url: str = "", content: str = ""):
    """Load a page, let its events and timers fire, and return it; dialogs fail the test."""
    page = browser.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    if url:
        page.goto(url)
    else:
        page.set_content(content)
    page.wait_for_timeout(500)  # onerror, onload, autofocus and meta refresh have had their chance
    return page


def test_the_check_catches_a_script_that_runs(browser):
    page = opened(browser, content=f'<title>{TITLE}</title><img src=x onerror="{pwn("control")}">')
    assert page.title() == "pwned-control"


def test_hostile_page_runs_no_script(browser, site):
    out, _ = site
    page = opened(browser, (out / "hostile" / "index.html").as_uri())
    assert (
        page.title() == f"{TITLE} · Deep Learning, Executed"
    )  # as rendered: no payload changed it
    assert page.locator("b", has_text="kept").count() == 1
    scripts = page.evaluate("[...document.scripts].map(s => s.src)")
    assert all(src.startswith((out / "static").as_uri()) for src in scripts)  # only the site's own
    urls = page.evaluate("""[...document.querySelectorAll('*')].flatMap(e => [...e.attributes])
        .filter(a => ['href', 'src', 'action', 'formaction', 'data', 'srcdoc', 'xlink:href']\
.includes(a.name))
        .map(a => a.value)""")
    assert not [
        url for url in urls if url.strip().lower().startswith(("javascript:", "data:text/html"))
    ]
    page.close()


def test_index_and_svg_file_run_no_script(browser, site):
    out, _ = site
    page = opened(browser, (out / "index.html").as_uri())
    assert "pwned" not in page.title()
    [svg] = (out / "hostile").glob("*.svg")
    page = opened(browser, svg.as_uri())  # the file opened on its own, not through <img>
    assert "pwned" not in page.title()
    assert page.evaluate("document.querySelectorAll('script').length") == 0


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java&#x09;script:alert(1))",
        "<javascript:alert(1)>",
        "![x](javascript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x][r]\n\n[r]: javascript:alert(1)",
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        '<a href=" javascript:alert(1)">x</a>',
        '<a href="&#106;avascript:alert(1)">x</a>',
        '<form action="javascript:alert(1)"><button>x</button></form>',
        '<img src="data:text/html,x">',
    ],
)
def test_prose_never_keeps_javascript_or_data_html_urls(text):
    html = str(markdown_html(text)).lower()
    assert (
        "javascript:" not in html.replace(">javascript:alert(1)<", "><")
        and "data:text/html" not in html
    )
    assert "alert(1)" not in html.replace(">javascript:alert(1)<", "><")


def test_prose_raw_html_is_sanitized_not_dropped():
    html = str(
        markdown_html(
            '<b>bold</b> <span onclick="x()">text</span> <iframe src="https://e.org"></iframe>'
        )
    )
    assert "<b>bold</b>" in html and "<span>text</span>" in html and "iframe" not in html
