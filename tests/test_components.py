"""Components in real kernels: a post split into components gives the pages that each component
run alone in a fresh kernel gives; a code edit re-executes only the components it touches."""

import json
import re
import shutil

import pytest
from test_determinism import masked

from conftest import ROOT, write_post
from kernelblog import execute
from kernelblog.pipeline import Options, build

pytestmark = pytest.mark.slow

# Two sections that share nothing but global state: numpy's and Keras's random generators, and
# Keras's layer name counters. Without a reset at each component's start, the second section
# would print other numbers and other layer names after the first ran in the same kernel.
SECTIONS = """# Sections

```python
noise = np.random.rand(3)
print(noise)
first = Sequential([Dense(2, input_shape=(3,))])  # Keras warns, once per process unless reset
print([layer.name for layer in first.layers], first.predict(noise[None], verbose=0))
```

Its first value is `{python} f"{noise[0]:.3f}"`.

```python
more = np.random.rand(3)
print(more)
second = Sequential([Dense(2, input_shape=(3,))])
print([layer.name for layer in second.layers], second.predict(more[None], verbose=0))
```
"""
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


def site_of(folder, **kwargs):
    lines = []
    options = Options(
        posts=folder / "posts",
        out=folder / "site",
        snippets=folder / "snippets",
        cache=folder / "cache",
        jobs=1,
        keep_going=True,
        **kwargs,
    )
    status = build(options, lines.append)
    files = {}
    for path in sorted((folder / "site").rglob("*")) + sorted((folder / "snippets").glob("*.py")):
        if path.is_file():
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
            files[path.relative_to(folder)] = data
    return status, lines, files


def test_split_into_components_the_pages_are_those_of_each_component_alone(tmp_path):
    for name in ("split", "alone"):
        posts = tmp_path / name / "posts"
        posts.mkdir(parents=True)
        for post in sorted((ROOT / "posts").glob("*.md")) + [
            ROOT / "tests" / "data" / "draft" / "typical-draft.md"
        ]:
            shutil.copy(post, posts / post.name)
        write_post(posts, "sections.md", SECTIONS)
    split_status, split_lines, split = site_of(tmp_path / "split")
    alone_status, alone_lines, alone = site_of(tmp_path / "alone", fresh_kernels=True)
    assert split_status == alone_status == 1  # the draft has two snippets that cannot work
    page = split[
        next(name for name in split if name.parts[-2:] == ("sections", "index.html"))
    ].decode()
    assert page.count("[&#39;dense&#39;]") == 2  # each section's layer is the first of its session
    assert page.count("0.5488135") == 2  # numpy's first draw after seeding 0, in each section
    assert page.count("afresh") == 1  # the second section says that the build starts it afresh
    raw = (tmp_path / "split" / "site" / "sections" / "index.html").read_text(encoding="utf-8")
    assert (
        raw.count("Do not pass an") == 2
    )  # the warning in each section (the compared pages leave warnings out)
    assert split.keys() == alone.keys()
    for name in split:
        assert split[name] == alone[name], f"{name} differs between split and alone"
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
