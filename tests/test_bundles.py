"""The corpus of post folders (tests/data/bundles/posts), built once: a copy of the Pima
tutorial reading its CSV from data/, an SVG diagram, a notebook-style data/ folder, a tutorial
that writes then reads its own file, a flat post with an image from posts/images/ and a flat
stateful LSTM reading a CSV of the posts folder. The posts' code sees their files read-only in
its working folder; the files it reads and the images of the prose are published beside the
page. Apart, a tiny post folder with a module that two of its sections import."""

import dataclasses
import hashlib
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, build_recording
from kernelblog.isolation import unavailable
from kernelblog.pipeline import OK, Options

pytestmark = pytest.mark.slow
CORPUS = ROOT / "tests" / "data" / "bundles" / "posts"
CHROMIUM = Path("/usr/bin/chromium")


def tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` (hidden ones too), by relative path: its sha256."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def outputs(site: Path, slug: str) -> list[str]:
    page = (site / slug / "index.html").read_text(encoding="utf-8")
    found = re.findall(r'<pre class="output[^"]*"[^>]*>(.*?)</pre>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", text)) for text in found]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The corpus copied aside (its posts folder, and what it held before) and built, sandboxed
    where bubblewrap works."""
    folder = tmp_path_factory.mktemp("bundles")
    posts = folder / "posts"
    shutil.copytree(CORPUS, posts, symlinks=True)
    before = tree(posts)
    options = Options(
        posts=posts,
        out=folder / "site",
        snippets=folder / "snippets",
        cache=folder / "cache",
        jobs=2,
    )
    built = build_recording(options)
    assert built.status == OK, "\n".join(built.lines)
    return posts, before, options, built


def test_the_code_reads_its_files_and_the_posts_folder_is_unchanged(corpus):
    posts, before, options, _ = corpus
    site = options.out
    assert "(12, 9)" in outputs(site, "pima-diabetes")[0]  # its data/ CSV: 12 rows, 9 columns
    assert outputs(site, "notebook-data")[0].split() == [
        "data/labels.txt",
        "data/raw/test.csv",
        "data/raw/train.csv",
    ]
    assert outputs(site, "notebook-data")[1].strip() == "(8, 2) 64.0"
    if unavailable() is None:  # sandboxed: read-only copies on a read-only mount
        refused = outputs(site, "notebook-data")[2].strip()
        # EROFS for a kernel of the build's user; EACCES first for an unprivileged one
        assert refused in ("not written: Read-only file system", "not written: Permission denied")
    assert [text.strip() for text in outputs(site, "write-then-read")] == ["15.0"]
    # corrected batch_input_shape=, read from the posts folder
    assert [text.strip() for text in outputs(site, "stateful-lstm")] == ["24 months, 20 windows"]
    assert tree(posts) == before  # nothing written into the posts folder, nothing changed


def test_images_and_read_files_are_published_beside_the_page(corpus):
    posts, _, options, _ = corpus
    site = options.out
    for published, source in [
        ("pima-diabetes/network.png", "pima-diabetes/network.png"),
        (
            "pima-diabetes/data/pima-indians-diabetes.csv",
            "pima-diabetes/data/pima-indians-diabetes.csv",
        ),
        ("flat-with-image/images/loss-curve.png", "images/loss-curve.png"),
        ("stateful-lstm/airline-passengers.csv", "airline-passengers.csv"),
    ]:
        assert (site / published).read_bytes() == (posts / source).read_bytes()
    diagram = (site / "svg-diagram" / "architecture.svg").read_text(encoding="utf-8")
    assert "<rect" in diagram and "script" not in diagram and "onload" not in diagram
    assert not (site / "svg-diagram" / "notes.md").exists()  # a file of the post, not read
    assert not (site / "write-then-read" / "weights.npy").exists()  # written by the code only
    page = (site / "pima-diabetes" / "index.html").read_text(encoding="utf-8")
    offered = re.search(r"Files this post reads.*?</p>", page, re.S).group(0)
    assert 'href="data/pima-indians-diabetes.csv" download' in offered and "KiB" in offered


def test_a_download_runs_with_the_files_saved_beside_it(corpus, tmp_path):
    _, _, options, _ = corpus
    shutil.copytree(options.out / "notebook-data", tmp_path / "saved")
    run = subprocess.run(
        [sys.executable, str(tmp_path / "saved" / "notebook-data.py")],
        cwd=tmp_path,  # not the folder of the script: it finds its files beside itself
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "(8, 2) 64.0" in run.stdout and "data/raw/train.csv" in run.stdout


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_the_images_load_in_chromium(corpus):
    playwright_api = pytest.importorskip("playwright.sync_api")
    site = corpus[2].out
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        for slug, count in [("pima-diabetes", 1), ("flat-with-image", 1), ("svg-diagram", 1)]:
            page.goto((site / slug / "index.html").as_uri())
            page.wait_for_load_state("load")
            widths = page.eval_on_selector_all(
                ".post-body img", "images => images.map(image => image.naturalWidth)"
            )
            assert len(widths) == count and all(width > 0 for width in widths), slug
        browser.close()


def test_appending_a_row_reruns_the_post_and_changes_its_output(corpus):
    """Last: it edits the copy. Unsandboxed this time, so both ways of running see the files."""
    posts, _, options, _ = corpus
    csv = posts / "pima-diabetes" / "data" / "pima-indians-diabetes.csv"
    csv.write_text(csv.read_text() + "1,100,70,20,80,30.0,0.5,40,0\n")
    (posts / "images" / "unread.txt").write_text("a file no code names\n")
    again = build_recording(dataclasses.replace(options, isolation="off"))
    assert again.status == OK, "\n".join(again.lines)
    assert "(13, 9)" in outputs(options.out, "pima-diabetes")[0]
    counts = next(line for line in again.lines if line.startswith("components:"))
    assert counts.startswith("components: 1 executed"), counts  # the Pima post's only


MODULE_POST = """# A module beside the post

```python
from evidence import verdict
print("first:", verdict([1, 2, 3]))
```

```python
import evidence
print("second:", evidence.verdict([4, 5]))
```

```python
values = np.arange(4)
print("third:", values.sum())
```
"""


def test_a_module_the_post_brings_reruns_exactly_the_sections_that_import_it(tmp_path):
    """A post folder with a module imported by two sections: both run, apart; the page offers the
    module; editing it re-runs both (in the same kernel, which must not keep the old module), and
    editing the third section re-runs it alone; the download script runs under `python -I`
    with no module beside it (it holds what the post imports of the module), as the download
    notebook does."""
    import nbformat
    from nbclient import NotebookClient

    from kernelblog.kernels import Kernels
    from kernelblog.pipeline import _isolation, build
    from kernelblog.settings import Settings

    posts = tmp_path / "posts"
    (posts / "shared-module").mkdir(parents=True)
    index = posts / "shared-module" / "index.md"
    index.write_text(MODULE_POST, encoding="utf-8")
    module = posts / "shared-module" / "evidence.py"
    module.write_text("def verdict(values):\n    return f'mean {sum(values) / len(values)}'\n")
    options = Options(
        posts=posts, out=tmp_path / "site", snippets=tmp_path / "s", cache=tmp_path / "c", jobs=1
    )

    def built(kernels) -> str:
        lines: list[str] = []
        assert build(options, lines.append, kernels=kernels) == OK, "\n".join(lines)
        return next(line for line in lines if line.startswith("components:"))

    isolation = _isolation(options, Settings(), lambda line: None)  # sandboxed where bwrap works
    with Kernels(1, isolation=isolation) as kernels:  # one kernel for every build, as serve keeps
        assert built(kernels).startswith("components: 3 executed"), "three sections, apart"
        assert outputs(options.out, "shared-module") == [
            "first: mean 2.0",
            "second: mean 4.5",
            "third: 6",
        ]
        page = (options.out / "shared-module" / "index.html").read_text(encoding="utf-8")
        offered = re.search(r"Files this post reads.*?</p>", page, re.S).group(0)
        assert 'href="evidence.py" download' in offered
        module.write_text("def verdict(values):\n    return f'largest {max(values)}'\n")
        assert built(kernels).startswith("components: 2 executed")
        assert outputs(options.out, "shared-module")[:2] == [
            "first: largest 3",
            "second: largest 5",
        ]
        index.write_text(MODULE_POST.replace("values.sum()", "values.max()"), encoding="utf-8")
        assert built(kernels).startswith("components: 1 executed")
        assert outputs(options.out, "shared-module")[2] == "third: 3"
    saved = tmp_path / "saved"  # the downloads alone: they hold what the post imports of the module
    saved.mkdir()
    for suffix in (".py", ".ipynb"):
        shutil.copy(options.out / "shared-module" / f"shared-module{suffix}", saved)
    run = subprocess.run(
        [sys.executable, "-I", str(saved / "shared-module.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "first: largest 3\nsecond: largest 5\nthird: 3\n" in run.stdout
    notebook = nbformat.read(saved / "shared-module.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(saved)}}).execute()
    printed = [o.get("text", "") for c in notebook.cells for o in c.get("outputs", [])]
    assert ["first: largest 3\n", "second: largest 5\n", "third: 3\n"] == printed[-3:]
