"""The golden sample blog, tests/data/golden/posts (three short posts, numpy and matplotlib
only), built into a temporary folder: it writes the files listed in
tests/data/golden/expected/tree.txt, and its pages, feed, sitemap and scripts are those kept
under tests/data/golden/expected/, the run's times, durations and versions masked. Figures,
notebooks and static files are compared by name only: their bytes may differ between machines.

After a deliberate change to what the build writes, regenerate the expected tree, then review its
diff before committing it:

    KERNELBLOG_UPDATE_GOLDEN=1 pytest tests/test_golden.py
"""

import difflib
import json
import os
import re
import shutil
import struct
from pathlib import Path

import pytest

from conftest import ROOT
from kernelblog.pipeline import OK, Options, build

pytestmark = pytest.mark.slow

GOLDEN = ROOT / "tests" / "data" / "golden"
EXPECTED = GOLDEN / "expected"
TEXT = (".html", ".xml", ".py")  # compared as text; every other file by its name
UPDATE = os.environ.get("KERNELBLOG_UPDATE_GOLDEN") == "1"
MASKS = [  # (pattern, mask), in a page or in a page's HTML escaped in the feed
    # when it ran: <time datetime="2026-12-03T08:41:13+00:00">2026-12-03 08:41 UTC</time>
    (re.compile(r'datetime="\d{4}-\d\d-\d\dT[^"]*"(>|&gt;)[^<&]*'), r'datetime="#"\1#'),
    # how long a cell or a post ran: "ran in 0.1 s", "in 7.3 s in all"
    (re.compile(r"\bin \d+(\.\d+)? s\b"), "in # s"),
    # how long the post ran on a backend, under its title: "TensorFlow <span ...>✓</span> 12 s"
    (re.compile(r"(✓</span>) \d+ s\b"), r"\1 # s"),
    # what it ran on: "Python&nbsp;3.11.7, keras&nbsp;3.15.1"
    (re.compile(r"&nbsp;\d+(\.\d+)*([a-z]+\d*)?"), "&nbsp;#"),
    # a figure's size in pixels depends on the fonts that drew its labels
    (re.compile(r'(src="cell[^"]*"[^>]*?) width="\d+" height="\d+"'), r"\1"),
]


# en_a4d9d86.pf_fragment, pagefind.en_d628a5d344.pf_meta: a digest of what Pagefind indexed
PAGEFIND_HASH = re.compile(r"(_)[0-9a-f]{7,}\.")


def normalised(text: str) -> str:
    for pattern, mask in MASKS:
        text = pattern.sub(mask, text)
    return text


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The folder the sample is built into: site/, snippets/ and the cache."""
    folder = tmp_path_factory.mktemp("golden")
    lines: list[str] = []
    options = Options(
        posts=GOLDEN / "posts",
        out=folder / "site",
        snippets=folder / "snippets",
        cache=folder / "cache",
        jobs=1,
    )
    assert build(options, lines.append) == OK, "\n".join(lines)
    return folder


@pytest.fixture(scope="module")
def written(built) -> dict[str, str | None]:
    """What building the sample writes: path (under site/ or snippets/) -> its normalised text,
    or None for a file compared by name."""
    files = {}
    for top in ("site", "snippets"):
        for path in sorted((built / top).rglob("*")):
            if path.is_file():
                name = path.relative_to(built).as_posix()
                if name.startswith("site/pagefind/"):  # the search index: named by its content
                    name = PAGEFIND_HASH.sub(r"\1#.", name)
                text = path.read_text(encoding="utf-8") if path.suffix in TEXT else None
                files[name] = None if text is None else normalised(text)
    return files


def expected_tree() -> list[str]:
    return (EXPECTED / "tree.txt").read_text(encoding="utf-8").splitlines()


def update(written: dict[str, str | None]) -> None:
    """Write the expected tree anew from what the build wrote."""
    shutil.rmtree(EXPECTED, ignore_errors=True)
    EXPECTED.mkdir()
    (EXPECTED / "tree.txt").write_text("".join(f"{name}\n" for name in written), encoding="utf-8")
    for name, text in written.items():
        if text is not None:
            path = EXPECTED / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


def test_the_sample_blog_writes_the_expected_tree_and_pages(written):
    if UPDATE:
        update(written)
    assert list(written) == expected_tree(), "regenerate: KERNELBLOG_UPDATE_GOLDEN=1 (see above)"
    kept = sorted(
        path.relative_to(EXPECTED).as_posix()
        for path in EXPECTED.rglob("*")
        if path.is_file() and path.name != "tree.txt"
    )
    texts = {name: text for name, text in written.items() if text is not None}
    assert kept == sorted(texts)
    differ = [name for name, text in texts.items() if (EXPECTED / name).read_text("utf-8") != text]
    if differ:
        diff = difflib.unified_diff(
            (EXPECTED / differ[0]).read_text("utf-8").splitlines(),
            texts[differ[0]].splitlines(),
            f"expected/{differ[0]}",
            "written",
            lineterm="",
        )
        raise AssertionError(
            f"differ from tests/data/golden/expected: {', '.join(differ)}\n" + "\n".join(diff)
        )
    assert any(name.endswith(".png") for name in written)  # the figure, by name


def test_the_masks_hide_the_run_and_nothing_else(written):
    """What the masks hide is there on a page, and no time or version of the run is left."""
    page = written["site/counting/index.html"]
    assert "in # s" in page and '<time datetime="#">#</time>' in page
    assert "Python&nbsp;#" in page and 'datetime="2026-01-05"' in page  # the post's own date
    assert "sum: 45" in page and "mean: 4.5" in page and "[49 64 81]" in page
    assert "The largest value is 9" in page and "add up to\n45" in page
    assert 'alt="A line rising from 0 to 8 over five points">' in written["site/a-line/index.html"]
    for text in written.values():
        if text is not None:
            assert not re.search(r"\d\d:\d\d UTC|T(?!00:00:00)\d\d:\d\d:\d\d|&nbsp;\d", text)


def test_a_figure_has_twice_the_pixels_of_its_size_on_the_page(built):
    """Figures are drawn at 2x ("retina"): the PNG has twice the pixels of the width and height
    its <img> is shown at, so it is crisp on high-density screens."""
    page = (built / "site" / "a-line" / "index.html").read_text(encoding="utf-8")
    shown = re.findall(r'<img src="(cell[^"]*\.png)"[^>]*? width="(\d+)" height="(\d+)"', page)
    assert len(shown) == 1, shown
    name, width, height = shown[0]
    header = (built / "site" / "a-line" / name).read_bytes()[:24]
    assert header.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = struct.unpack(">II", header[16:24])
    assert [size // 2 for size in pixels] == [int(width), int(height)], (pixels, width, height)
    assert int(width) > 300  # the figure's own size, not a thumbnail
    # the download notebook shows it at the same size (Jupyter reads the output's metadata)
    notebook = json.loads((built / "site" / "a-line" / "a-line.ipynb").read_text("utf-8"))
    sizes = [
        output["metadata"]["image/png"]
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert sizes == [{"width": int(width), "height": int(height)}]
