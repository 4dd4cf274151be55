"""Post folders and the files a post brings: which they are, their limits, the cache keys they
enter, their references from prose, and SVG sanitizing. No kernel runs here (test_bundles.py
builds the corpus of post folders)."""

import os

import pytest

from conftest import ROOT, write_post
from kernelblog import svg
from kernelblog.diagnostics import BadInput
from kernelblog.execute import ExecutedPost
from kernelblog.listing import list_posts
from kernelblog.pipeline import complete_all, component_keys, ready_all
from kernelblog.postfiles import PostFile, PostFiles, post_files, read_by
from kernelblog.read import read_post
from kernelblog.settings import Settings
from kernelblog.site import site_files
from kernelblog.uptodate import fingerprint

CORPUS = ROOT / "tests" / "data" / "bundles" / "posts"


def test_post_folders_and_flat_posts_mix(tmp_path):
    write_post(tmp_path, "flat.md", "# Flat\n")
    write_post(tmp_path / "folder", "index.md", "# Folder\n")
    write_post(tmp_path / "folder", "notes.md", "# Notes: a file of the post, not a post\n")
    write_post(tmp_path / "images", "unused.md", "# no index.md: not a post folder\n")
    (tmp_path / ".hidden").mkdir()
    write_post(tmp_path / ".hidden", "index.md", "# hidden\n")
    assert list(list_posts(tmp_path).posts) == [
        tmp_path / "flat.md",
        tmp_path / "folder" / "index.md",
    ]
    assert read_post(tmp_path / "folder" / "index.md").slug == "folder"
    names = [file.name for file in post_files(tmp_path / "folder" / "index.md").files]
    assert names == ["notes.md"]


def test_a_flat_post_brings_the_posts_folders_other_files(tmp_path):
    write_post(tmp_path, "a.md", "# A\n")
    write_post(tmp_path / "bundle", "index.md", "# B\n")
    (tmp_path / "bundle" / "mine.csv").write_text("1\n")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "plot.png").write_bytes(b"png")
    (tmp_path / "shared.csv").write_text("1,2\n")
    (tmp_path / ".secret").write_text("x")
    (tmp_path / "images" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "images" / ".ipynb_checkpoints" / "old.png").write_bytes(b"old")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"pyc")
    names = [file.name for file in post_files(tmp_path / "a.md").files]
    assert names == ["images/plot.png", "shared.csv"]
    assert [file.name for file in post_files(tmp_path / "bundle" / "index.md").files] == [
        "mine.csv"
    ]


def test_a_symlink_out_of_the_posts_folder_is_refused(tmp_path):
    path = write_post(tmp_path / "post", "index.md", "# P\n")
    (tmp_path / "post" / "data.csv").symlink_to("/etc/hostname")
    with pytest.raises(BadInput, match="data.csv is a symlink to /etc/hostname, outside the posts"):
        post_files(path)
    (tmp_path / "post" / "data.csv").unlink()
    (tmp_path / "post" / "etc").symlink_to("/etc")
    with pytest.raises(BadInput, match="outside the posts folder"):
        post_files(path)


def test_a_name_that_is_not_utf8_or_collides_but_for_case_is_an_error(tmp_path):
    path = write_post(tmp_path / "post", "index.md", "# P\n")
    (tmp_path / "post" / "Data.csv").write_text("1\n")
    (tmp_path / "post" / "data.csv").write_text("2\n")
    with pytest.raises(BadInput, match="'Data.csv' and 'data.csv' differ only by case"):
        post_files(path)
    (tmp_path / "post" / "Data.csv").unlink()
    with open(os.path.join(os.fsencode(tmp_path / "post"), b"caf\xe9.csv"), "w") as file:
        file.write("x")
    with pytest.raises(BadInput, match=r"file name 'caf\\\\xe9.csv' is not valid UTF-8"):
        post_files(path)


def test_the_size_cap_names_the_largest_file(tmp_path):
    path = write_post(tmp_path / "post", "index.md", "# P\n")
    (tmp_path / "post" / "small.bin").write_bytes(b"x" * 300_000)
    (tmp_path / "post" / "big.bin").write_bytes(b"x" * 700_000)
    assert len(post_files(path, cap=1 << 20).files) == 2
    with pytest.raises(
        BadInput, match=r"over the cap of 0.5 MiB .* the largest is big.bin \(0.7 MiB\)"
    ):
        post_files(path, cap=500 << 10)


def test_the_cap_is_a_setting(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.kernelblog]\npost_files_cap = "1K"\n')
    write_post(tmp_path / "posts", "p.md", "# P\n")
    (tmp_path / "posts" / "data.bin").write_bytes(b"x" * 2000)
    with pytest.raises(BadInput, match="the largest is data.bin"):
        ready_all(tmp_path / "posts", lambda diagnostic: None)


def test_a_missing_image_or_linked_file_is_an_error_at_its_line(tmp_path):
    text = "# T\n\nSome prose.\n\n![a plot](plot.png)\n"
    with pytest.raises(BadInput) as error:
        read_post(write_post(tmp_path, "p.md", text))
    assert str(error.value.diagnostic) == (
        f"{tmp_path / 'p.md'}:5: error: image 'plot.png' not found beside the post"
    )
    text = "# T\n\nThe [data](data/pima.csv), [a page](other/) and [a post](x.md).\n"
    with pytest.raises(BadInput, match=r"p.md:3: error: link 'data/pima.csv' not found"):
        read_post(write_post(tmp_path, "p.md", text))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pima.csv").write_text("1\n")
    text += '\n<img src="data/../fig.svg">\n'
    (tmp_path / "fig.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    published = read_post(write_post(tmp_path, "p.md", text)).published
    assert sorted(published) == ["data/pima.csv", "fig.svg"]


def test_an_svg_that_cannot_be_parsed_safely_is_an_error_at_its_line(tmp_path):
    (tmp_path / "bomb.svg").write_text(
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
        '<svg xmlns="http://www.w3.org/2000/svg"><text>&a;</text></svg>'
    )
    with pytest.raises(BadInput, match=r"p.md:3: error: image 'bomb.svg' cannot be published"):
        read_post(write_post(tmp_path, "p.md", "# T\n\n![x](bomb.svg)\n"))


def test_svg_keeps_shapes_and_drops_scripts_handlers_and_outside_references():
    data = (CORPUS / "svg-diagram" / "architecture.svg").read_bytes()
    clean = svg.sanitized(data).decode()
    for gone in ("script", "onload", "onclick", "javascript", "foreignObject", "example.com"):
        assert gone not in clean
    assert clean.count("<rect") == 2 and "<title>two layers</title>" in clean
    assert 'viewBox="0 0 120 60"' in clean


def keys_by_cell(folder):
    """{first line of the component's first code cell: its cache key} for each post's component."""
    keys = {}
    for ready in ready_all(folder, lambda diagnostic: None):
        for (number, key, _), component in zip(
            component_keys(ready, {}), ready.post.components, strict=True
        ):
            first = ready.post.cells[component.cells[0]].cell
            keys[(ready.post.post.slug, first.source.splitlines()[0])] = key
    return keys


def test_an_edited_file_changes_the_keys_of_the_components_that_read_it(tmp_path):
    posts = tmp_path / "posts"
    write_post(
        posts / "p",
        "index.md",
        "# P\n\n```python\nimport numpy as np\nrows = np.loadtxt('data/d.csv')\n```\n\n"
        "```python\nprint('independent')\n```\n\n"
        "```python\nimport os\nprint(os.listdir('.'))\n```\n\n"
        "```python\nwith open('notes.txt') as notes:\n    print(notes.read())\n```\n",
    )
    (posts / "p" / "data").mkdir()
    (posts / "p" / "data" / "d.csv").write_text("1\n2\n")
    (posts / "p" / "notes.txt").write_text("n\n")
    (posts / "p" / "figure.png").write_bytes(b"png")
    before = keys_by_cell(posts)
    assert len(before) == 4
    (posts / "p" / "data" / "d.csv").write_text("1\n2\n3\n")  # a row appended
    after = keys_by_cell(posts)
    changed = {cell for cell in before if before[cell] != after[cell]}
    assert changed == {("p", "import numpy as np"), ("p", "import os")}  # it, and the listing
    (posts / "p" / "figure.png").write_bytes(b"another png")  # a file no code names
    again = keys_by_cell(posts)
    assert {cell for cell in after if after[cell] != again[cell]} == {("p", "import os")}


def test_an_edited_module_changes_the_keys_of_the_components_that_import_it(tmp_path):
    """A module the post brings is a file its importers read: directly, or through the imports
    their setup repeats from elsewhere (`verdict` below). A package is read whole."""
    posts = tmp_path / "posts"
    write_post(
        posts / "p",
        "index.md",
        "# P\n\n```python\nfrom evidence import verdict\nprint(verdict(1))\n```\n\n"
        "```python\nprint('independent')\n```\n\n"
        "```python\nimport evidence\nprint(evidence.verdict(2))\n```\n\n"
        "```python\nprint(verdict(3))\n```\n\n"
        "```python\nimport pkg.sub\nprint(pkg.sub.value)\n```\n",
    )
    (posts / "p" / "evidence.py").write_text("def verdict(x):\n    return x > 1\n")
    (posts / "p" / "pkg").mkdir()
    (posts / "p" / "pkg" / "__init__.py").write_text("")
    (posts / "p" / "pkg" / "sub.py").write_text("value = 1\n")
    (posts / "p" / "notes.txt").write_text("no code reads this\n")
    before = keys_by_cell(posts)
    assert len(before) == 5  # importing the same module links no cells
    (posts / "p" / "evidence.py").write_text("def verdict(x):\n    return x > 2\n")
    after = keys_by_cell(posts)
    assert {cell for cell in before if before[cell] != after[cell]} == {
        ("p", "from evidence import verdict"),
        ("p", "import evidence"),
        ("p", "print(verdict(3))"),
    }
    (posts / "p" / "pkg" / "__init__.py").write_text("from .sub import value\n")
    again = keys_by_cell(posts)
    assert {cell for cell in after if after[cell] != again[cell]} == {("p", "import pkg.sub")}
    [done] = complete_all(posts, lambda diagnostic: None)
    listed = [file.name for file in read_by(done.post.files, done.components)]
    assert listed == ["evidence.py", "pkg/__init__.py", "pkg/sub.py"]  # offered, and copied


def test_a_module_names_its_file_or_its_package_only_when_the_post_brings_it(tmp_path):
    names = ["evidence.py", "pkg/__init__.py", "pkg/sub.py", "pkg/table.csv", "ns/mod.py"]
    files = PostFiles(tmp_path, tuple(PostFile(name, 1, name) for name in [*names, "data/d.csv"]))
    assert files.imported({"evidence", "evidence.verdict"}) == {"evidence.py"}
    package = {"pkg/__init__.py", "pkg/sub.py", "pkg/table.csv"}
    assert files.imported({"pkg"}) == files.imported({"pkg.sub", "pkg.sub.value"}) == package
    assert files.imported({"ns.mod"}) == {"ns/mod.py"}  # a namespace package: no __init__.py
    assert files.imported({"ns", "data", "numpy", "os.path", "evidence_more"}) == set()
    assert set(files.named(set(), modules={"pkg.sub"})) == package


def test_the_corpus_has_post_folders_in_several_shapes():
    paths = list(list_posts(CORPUS).posts)
    folders = {path.parent.name for path in paths if path.name == "index.md"}
    assert {"pima-diabetes", "svg-diagram", "notebook-data", "write-then-read"} <= folders
    nested = {file.name for file in post_files(CORPUS / "notebook-data" / "index.md").files}
    assert nested == {"data/labels.txt", "data/raw/test.csv", "data/raw/train.csv"}
    assert "images/loss-curve.png" in {
        file.name for file in post_files(CORPUS / "flat-with-image.md").files
    }


def test_the_site_publishes_referenced_files_and_never_over_its_own(tmp_path):
    posts = tmp_path / "posts"
    write_post(posts / "one", "index.md", "# One\n\n![a figure](fig.png) and [a script](one.py)\n")
    (posts / "one" / "fig.png").write_bytes(b"the figure")
    (posts / "one" / "one.py").write_text("print('the author wrote this')\n")
    [done] = complete_all(posts, lambda diagnostic: None)
    warnings = []
    files = site_files(Settings(), [done], {"one": ExecutedPost(done.notebook())}, warnings.append)
    assert files["one/fig.png"] == b"the figure"
    assert b"the author wrote this" not in files["one/one.py"]  # the download of the post
    assert [warning.message for warning in warnings] == [
        "one/one.py is left off the site: the page has a file of that name"
    ]


def test_an_edited_post_file_or_folder_post_changes_the_builds_fingerprint(tmp_path):
    posts = tmp_path / "posts"
    post = write_post(posts / "p", "index.md", "# P\n")
    (posts / "p" / "fig.png").write_bytes(b"a")
    before = fingerprint(posts, {}, "inputs")
    assert fingerprint(posts, {}, "inputs") == before
    (posts / "p" / "fig.png").write_bytes(b"bb")  # the no-op check sees the post's files
    after = fingerprint(posts, {}, "inputs")
    assert after != before
    post.write_text("# P, edited\n")  # and the post of a post folder
    assert fingerprint(posts, {}, "inputs") != after
