"""The built blog in a real browser: Debian's chromium, driven by playwright.

Builds posts/ once (executing every post), then reads it from file:// and over HTTP under
a base path. Screenshots go to tests/artifacts/ (git-ignored) for a person to look at.
"""

import functools
import http.server
import shutil
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import PAGE_BUDGET, ROOT, check_html5, check_links, page_weight
from kernelblog.listing import list_posts
from kernelblog.pipeline import complete_all

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FLAGSHIP = "deep-learning-overview"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium"
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def site(built_posts):
    """posts/ built into a temporary folder, under a base path (blog/); shared with the downloads'
    tests."""
    return built_posts


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


class Visit:
    """A browser context that records console errors and every request."""

    def __init__(self, browser, width=1280, scheme="light", **options):
        self.context = browser.new_context(
            viewport={"width": width, "height": 900}, color_scheme=scheme, **options
        )
        self.context.set_default_timeout(
            120_000
        )  # a full-page screenshot on a busy 2-core machine takes a while
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        # ERR_ABORTED is the browser cancelling a load when the test moves on, not a missing file
        self.context.on(
            "requestfailed",
            lambda request: (
                "ERR_ABORTED" not in (request.failure or "")
                and self.failed.append(f"{request.url}: {request.failure}")
            ),
        )
        self.context.on(
            "response",
            lambda response: (
                response.status >= 400
                and self.failed.append(f"{response.url}: HTTP {response.status}")
            ),
        )
        self.page = self.context.new_page()
        self.page.on(
            "console", lambda message: message.type == "error" and self.errors.append(message.text)
        )
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, url: str):
        self.page.goto(url, wait_until="load")
        return self.page

    def check(self, allowed: str):
        """No console errors, no failed requests, and nothing requested outside `allowed`."""
        assert not self.errors, self.errors
        assert not self.failed, self.failed
        outside = [url for url in self.requests if not url.startswith(allowed)]
        assert not outside, f"requests outside the site: {outside}"

    def close(self):
        self.context.close()


def url(site: Path, page: str = "index.html") -> str:
    return (site / page).as_uri()


def test_built_site_is_valid_and_self_contained(site):
    check_html5(site)
    check_links(site)
    for page in site.rglob("*.html"):
        assert page_weight(page) < PAGE_BUDGET, page
    feed = ET.parse(site / "feed.xml").getroot()
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == len(list_posts(ROOT / "posts").posts)


def test_index_to_post_with_outputs_figures_and_math(site, browser):
    visit = Visit(browser)
    page = visit.open(url(site))
    page.get_by_role("link", name="Deep Learning: A Technical Overview").click()
    page.wait_for_load_state("load")
    assert page.url == url(site, f"{FLAGSHIP}/index.html")
    outputs = page.locator(".outputs")
    assert outputs.count() >= 10
    for k in range(outputs.count()):
        outputs.nth(k).scroll_into_view_if_needed()
        assert outputs.nth(k).is_visible()
    figures = page.locator("figure.output img")
    assert figures.count() >= 5
    for k in range(figures.count()):
        figure = figures.nth(k)
        figure.scroll_into_view_if_needed()
        assert figure.is_visible() and figure.get_attribute("alt")
        assert figure.evaluate("img => img.complete && img.naturalWidth > 0"), figure.get_attribute(
            "src"
        )
        assert figure.bounding_box()["width"] <= page.locator(".post-body").bounding_box()["width"]
    assert page.locator("math").count() > 10
    assert (
        page.locator("math[display=block]").first.bounding_box()["height"] > 20
    )  # laid out as math, not text
    page.locator(".toc a").nth(1).click()
    assert page.url.endswith("#convolutional-networks")
    visit.check(allowed="file://")
    visit.close()


def test_copy_button_copies_the_code_as_it_ran(site, browser):
    [completed] = [
        post
        for post in complete_all(ROOT / "posts", lambda line: None)
        if post.post.slug == FLAGSHIP
    ]
    visit = Visit(browser)
    visit.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = visit.open(url(site, f"{FLAGSHIP}/index.html"))
    # a later component's first code cell runs that component's setup first, shown above its code
    reseeds = {}
    for component in completed.components[1:]:
        first = next(n for n in component.cells if completed.cells[n].cell.kind == "code")
        reseeds[first] = component.setup
    assert reseeds
    checked = 0
    for number, done in enumerate(completed.cells):
        if done.cell.kind != "code" or not (done.imports or done.setup or number in reseeds):
            continue
        cell = page.locator(f'.cell[data-line="{done.cell.line}"]')
        cell.locator("button.copy").click()
        copied = page.evaluate("navigator.clipboard.readText()")
        expected = (
            done.code if number not in reseeds else f"{reseeds[number].rstrip()}\n{done.code}"
        )
        assert copied == expected  # the component's setup, added imports and data setup included
        assert cell.locator("button.copy").text_content() == "Copied"
        checked += 1
    assert checked >= 3
    visit.check(allowed="file://")
    visit.close()


@pytest.fixture(scope="module")
def long_output_site(tmp_path_factory, index):
    """A post whose snippet printed 80 lines (no post in posts/ prints that much now), written with
    that output as if it ran."""
    from nbformat.v4 import new_output

    from conftest import executed_with, write_post
    from kernelblog.complete import complete_post
    from kernelblog.pipeline import Options, write_all
    from kernelblog.read import read_post

    folder = tmp_path_factory.mktemp("long")
    post = (
        "# Long\n\n## Training\n\nA loop that prints.\n\n## The loop\n\n"
        "```python\nfor epoch in range(80):\n    print(epoch)\n```\n"
    )
    completed = complete_post(read_post(write_post(folder / "posts", "long.md", post)), index)
    text = "".join(f"{epoch}\n" for epoch in range(80))
    executed = executed_with(completed, [[new_output("stream", name="stdout", text=text)]])
    write_all(
        Options(out=folder / "site", snippets=folder / "snippets"), [completed], {"long": executed}
    )
    return folder / "site"


def test_long_outputs_collapse_with_show_all(long_output_site, browser):
    visit = Visit(browser)
    page = visit.open(url(long_output_site, "long/index.html"))
    long = page.locator("pre.output[data-lines]").first
    collapsed = long.bounding_box()["height"]
    button = long.locator("xpath=following-sibling::button[1]")
    assert button.text_content() == f"Show all {long.get_attribute('data-lines')} lines"
    assert button.get_attribute("aria-expanded") == "false"
    button.click()
    assert long.bounding_box()["height"] > collapsed * 1.5
    assert long.evaluate("pre => pre.scrollHeight <= pre.clientHeight + 1")  # nothing hidden now
    assert button.get_attribute("aria-expanded") == "true"
    page.emulate_media(media="print")
    assert page.locator(".toc").evaluate("toc => getComputedStyle(toc).display") == "none"
    assert page.locator("button.copy").first.evaluate("b => getComputedStyle(b).display") == "none"
    visit.check(allowed="file://")
    visit.close()


CONTRAST = """() => {
  // WCAG contrast of each element's own text against the background behind it.
  const parse = (c) => c.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0.99) return c;
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    if (!own || style.visibility === "hidden" || el.closest("math") || \
!el.getClientRects().length) continue;
    let opacity = 1;
    for (let p = el; p; p = p.parentElement) opacity *= Number(getComputedStyle(p).opacity);
    if (opacity < 0.5) continue;  // revealed on hover or focus, then opaque
    const [l1, l2] = [luminance(parse(style.color)), luminance(background(el))]\
.sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const text = el.textContent.trim().slice(0, 30);
    if (ratio < needed) \
failures.push(`${el.tagName}.${el.className} "${text}" ${ratio.toFixed(2)}`);
  }
  return failures;
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 1280])
def test_layout_contrast_and_screenshots(site, browser, scheme, width):
    """No sideways scroll at any width (code blocks scroll inside themselves), readable
    contrast, and a screenshot of each kind of page."""
    ARTIFACTS.mkdir(exist_ok=True)
    visit = Visit(browser, width=width, scheme=scheme)
    for name in [
        "index.html",
        f"{FLAGSHIP}/index.html",
        "first-convnet/index.html",
        "tags/index.html",
        "tags/keras/index.html",
    ]:
        page = visit.open(url(site, name))
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} at {width}px ({scheme}) scrolls sideways by {overflow}px"
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == (
            "rgb(22, 24, 27)" if scheme == "dark" else "rgb(252, 252, 250)"
        )
        failures = page.evaluate(CONTRAST)
        assert not failures, f"{name} ({scheme}): low contrast: {failures[:10]}"
        if name in ("index.html", f"{FLAGSHIP}/index.html"):
            shot = ARTIFACTS / f"{name.split('/')[0].removesuffix('.html')}-{width}-{scheme}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
    visit.check(allowed="file://")
    visit.close()


def test_works_under_a_base_path_over_http(site, browser):
    """Served at http://host/blog/, with relative links only, nothing outside /blog/ is fetched."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site.parent))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/{site.name}/"
    try:
        visit = Visit(browser)
        page = visit.open(base + "index.html")
        page.get_by_role("link", name="A first convnet in Keras").click()
        page.wait_for_load_state("load")
        assert page.url == base + "first-convnet/index.html"
        page.get_by_role("link", name="cnn", exact=True).first.click()
        page.wait_for_load_state("load")
        assert page.url == base + "tags/cnn/index.html"
        assert page.get_by_role("link", name="Deep Learning: A Technical Overview").is_visible()
        visit.check(allowed=base)
        visit.close()
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def served(site):
    """The site served over HTTP on 127.0.0.1 under a base path (/blog/), as Pages serves it."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site.parent))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/{site.name}/"
    server.shutdown()


def test_search_lists_the_flagship_over_http(served, browser):
    """Typing in the search box of any page lists the matching posts from the site's own index
    (pagefind/), and a result opens the post under the base path."""
    visit = Visit(browser)
    page = visit.open(served + "tags/index.html")
    box = page.locator("#search input")
    box.fill("autoencoder")
    result = page.locator(
        ".pagefind-ui__result-link", has_text="Deep Learning: A Technical Overview"
    )
    result.first.wait_for()
    results = page.locator(".pagefind-ui__result-link")
    assert results.first.text_content() == "Deep Learning: A Technical Overview"  # ranked first
    result.first.click()
    page.wait_for_load_state("load")
    assert page.url.startswith(served + f"{FLAGSHIP}/")
    visit.check(allowed=served)
    visit.close()


def test_citations_link_to_their_references_and_share_cards_are_absolute(served, browser):
    visit = Visit(browser)
    page = visit.open(served + f"{FLAGSHIP}/index.html")
    first = page.locator(".citation a").first
    assert first.text_content() == "1"
    first.click()
    assert page.url.endswith("#ref-1")
    reference = page.locator("#ref-1")
    assert reference.is_visible() and "Prechelt" in reference.text_content()
    assert page.locator(".references li").count() == 25  # every work the flagship cites
    cards = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll(
            'meta[property^="og:"], meta[name^="twitter:"], link[rel=canonical]')]
            .map(e => [e.getAttribute('property') || e.getAttribute('name') || 'canonical',
                       e.getAttribute('content') || e.getAttribute('href')]))"""
    )
    assert cards["og:type"] == "article" and cards["twitter:card"] == "summary_large_image"
    for key in ("og:url", "og:image", "canonical"):
        assert cards[key].startswith("https://example.org/"), (key, cards[key])
    assert cards["og:image"].startswith(f"https://example.org/{FLAGSHIP}/cell")
    visit.check(allowed=served)
    visit.close()


def test_offline_from_file(site, browser, tmp_path):
    """A copy of the site elsewhere on disk opens with the network off."""
    copy = tmp_path / "anywhere" / "site"
    shutil.copytree(site, copy)
    visit = Visit(browser, offline=True)
    page = visit.open(url(copy, f"{FLAGSHIP}/index.html"))
    assert page.locator("figure.output img").first.evaluate("img => img.naturalWidth") > 0
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.source')).borderTopLeftRadius")
        == "8px"
    )  # CSS
    # the search index cannot be fetched from file://: the box says so instead
    assert "served over HTTP" in page.locator("#search").text_content()
    visit.check(allowed=copy.as_uri())
    visit.close()
