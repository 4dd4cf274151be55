"""Components in real kernels: a post split into components gives the pages that each component
run alone in a fresh kernel gives; a code edit re-executes only the components it touches."""

import json
import re
import shutil
from pathlib import Path

import pytest
from test_determinism import masked

from conftest import DRAFTS, ROOT, write_post
from kernelblog import execute
from kernelblog.pipeline import Options, build

pytestmark = pytest.mark.slow

# tests/data/components/sections.md: two sections that share nothing but global state: numpy's and
# Keras's random generators, and Keras's layer name counters. Without a reset at each component's
# start, the second section would print other numbers and other layer names after the first ran in
# the same kernel.
SECTIONS = ROOT / "tests" / "data" / "components" / "sections.md"
CHEAP = """# Cheap

```python
a = np.arange(4)
print("a", a.sum())
```

```python
print("a again", a.max())
```

```python
b = np.random.rand(2)
print("b", b)
```
"""


# A Python warning goes to stderr, and where it lands among stdout's lines depends on when the
# two streams' messages arrive; the pages are compared without them (and count them apart).
WARNING = re.compile(r"[^\n<>\";]*\.py:\d+: \w*Warning: [^\n]*\n[^\n<&]*\n?")


def without_warnings(path, data: bytes) -> bytes:
    if path.suffix == ".ipynb":
        notebook = json.loads(data)
        for cell in notebook["cells"]:
            for output in cell.get("outputs", []):
                if output["output_type"] == "stream":
                    output["text"] = WARNING.sub("", "".join(output["text"]))
            if "outputs" in cell:
                cell["outputs"] = [
                    o for o in cell["outputs"] if o["output_type"] != "stream" or o["text"]
                ]
        return json.dumps(notebook, indent=1).encode()
    if path.suffix in (".html", ".xml"):
        text = WARNING.sub("", data.decode())
        return text.replace("\n</pre>", "</pre>").replace("\n&lt;/pre&gt;", "&lt;/pre&gt;").encode()
    return data


def files_of(site, snippets) -> dict:
    """The files of a built site and its snippets, by path under site/ and snippets/, with timings
    and warnings masked."""
    files = {}
    for folder, paths in (
        ("site", sorted(site.rglob("*"))),
        ("snippets", sorted(snippets.glob("*.py"))),
    ):
        for path in paths:
            if not path.is_file():
                continue
            data = masked(path, without_warnings(path, path.read_bytes()))
            if (
                path.name == "feed.xml"
            ):  # posts without a date are ordered by when they ran: compare the entries
                body, tail = data.rsplit(b"</feed>", 1)
                head, *entries = body.split(b"<entry>")
                data = (
                    head
                    + b"".join(b"<entry>" + entry for entry in sorted(entries))
                    + b"</feed>"
                    + tail
                )
            files[Path(folder) / path.relative_to(site if folder == "site" else snippets)] = data
    return files


def site_of(folder, **kwargs):
    lines = []
    options = Options(
        posts=folder / "posts",
        out=folder / "site",
        snippets=folder / "snippets",
        cache=folder / "cache",
        **{"jobs": 1, "keep_going": True, **kwargs},
    )
    status = build(options, lines.append)
    return status, lines, files_of(folder / "site", folder / "snippets")


def alone(folder, posts, settings=None):
    """`posts` (with the pyproject.toml `settings` beside them) built cold with --fresh-kernels:
    each component alone in a fresh kernel."""
    (folder / "posts").mkdir(parents=True)
    for post in posts:  # flat posts, the .bib, and post folders
        if post.is_dir():
            shutil.copytree(post, folder / "posts" / post.name)
        else:
            shutil.copy(post, folder / "posts" / post.name)
    if settings:
        shutil.copy(settings, folder / "pyproject.toml")
    return site_of(folder, fresh_kernels=True, jobs=2)


def same_files(split: dict, alone: dict) -> None:
    assert split.keys() == alone.keys()
    for name in split:
        assert split[name] == alone[name], f"{name} differs between split and alone"


def test_split_into_components_posts_are_those_of_each_component_alone(posts_build, tmp_path):
    """The split build is the session's, cold: posts/ (two kernels)."""
    posts = sorted((ROOT / "posts").iterdir())  # flat posts, post folders and the .bib
    split = files_of(posts_build.site, posts_build.site.parent / "snippets")
    alone_status, _, alone_files = alone(tmp_path / "posts-alone", posts, ROOT / "pyproject.toml")
    assert alone_status == 0
    same_files(split, alone_files)
    counts = [line for line in posts_build.lines if line.startswith("components: ")]
    assert counts and counts[0].endswith("0 from the cache (0 cells)")


def test_split_into_components_drafts_are_those_of_each_component_alone(drafts_build, tmp_path):
    """The split build is the session's, cold: the typical draft with the sections post (one
    kernel, every component after another)."""
    split_status, split_lines = drafts_build.status, drafts_build.lines
    split = files_of(drafts_build.site, drafts_build.site.parent / "snippets")
    alone_status, _, alone_files = alone(tmp_path / "drafts-alone", DRAFTS)
    assert split_status == alone_status == 1  # the draft has two snippets that cannot work
    page = split[Path("site", "sections", "index.html")].decode()
    assert page.count("[&#39;dense&#39;]") == 2  # each section's layer is the first of its session
    assert page.count("0.5488135") == 2  # numpy's first draw after seeding 0, in each section
    assert page.count("afresh") == 1  # the second section says that the build starts it afresh
    raw = (drafts_build.site / "sections" / "index.html").read_text(encoding="utf-8")
    assert (
        raw.count("Do not pass an") == 2
    )  # the warning in each section (the compared pages leave warnings out)
    same_files(split, alone_files)
    counts = [line for line in split_lines if line.startswith("components: ")]
    assert counts and counts[0].endswith("0 from the cache (0 cells)")


@pytest.fixture
def components(monkeypatch):
    """Each component executed: (post file name, first line of its first code cell)."""
    started, real = [], execute.execute_component

    def counting(kernel, path, notebook, *args, **kwargs):
        first = next(
            cell for cell in notebook.cells if cell.metadata["kernelblog"]["role"] != "setup"
        )
        started.append((path.name, first.source.splitlines()[-1]))
        return real(kernel, path, notebook, *args, **kwargs)

    monkeypatch.setattr(execute, "execute_component", counting)
    return started


def test_a_code_edit_reexecutes_only_the_components_it_touches(tmp_path, components):
    post = write_post(tmp_path / "posts", "cheap.md", CHEAP)
    status, lines, _ = site_of(tmp_path)
    assert status == 0 and len(components) == 2
    assert "components: 2 executed (5 cells), 0 from the cache (0 cells)" in lines, lines
    components.clear()
    post.write_text(CHEAP.replace("np.random.rand(2)", "np.random.rand(3)"))
    status, lines, files = site_of(tmp_path)
    assert status == 0 and components == [("cheap.md", 'print("b", b)')]
    assert "components: 1 executed (2 cells), 1 from the cache (3 cells)" in lines
    page = files[
        next(name for name in files if name.name == "index.html" and "cheap" in name.parts)
    ].decode()
    assert "a 6" in page and "a again 3" in page and "0.5488135  0.71518937 0.60276338" in page
    components.clear()
    post.write_text(
        CHEAP.replace('"a again"', '"a once more"')
    )  # the first component: both of its cells
    status, lines, _ = site_of(tmp_path)
    assert status == 0 and components == [("cheap.md", 'print("a", a.sum())')]
