"""The execution cache: what re-executes after which change, damaged entries, no heavy imports on a
hit."""

import json
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, write_post
from kernelblog import cache, execute, pipeline
from kernelblog.complete import complete_post
from kernelblog.pipeline import Options, build
from kernelblog.read import read_post

ALPHA = """---
title: Alpha
---

Some prose.

```python
values = np.arange(5)
total = int(values.sum())
print("total", total)
```

More prose about `{python} total` things.
"""
BETA = """# Beta

```python
print("beta", np.ones(3).mean())
```
"""


def key_of(tmp_path, index, text, shared=None):
    path = write_post(tmp_path, "k.md", text)
    completed = complete_post(read_post(path), index)
    options = [done.cell.options for done in completed.cells if done.cell.kind == "code"]
    return cache.key(
        cache.code_digest(completed.notebook(), options), shared or cache.environment()
    )


def test_key_ignores_prose_and_shifted_lines_but_not_code(tmp_path, index):
    base = key_of(tmp_path, index, ALPHA)
    assert (
        key_of(tmp_path, index, ALPHA.replace("More prose", "Edited prose,\nnow on two lines,"))
        == base
    )
    assert (
        key_of(tmp_path, index, ALPHA.replace("Some prose", "A new paragraph.\n\nSome prose"))
        == base
    )
    assert (
        key_of(tmp_path, index, ALPHA.replace("title: Alpha", "title: Renamed\ntags: [x]")) == base
    )
    assert key_of(tmp_path, index, ALPHA.replace("values.sum()", "values.max()")) != base
    assert (
        key_of(tmp_path, index, ALPHA.replace("`{python} total`", "`{python} total + 1`")) != base
    )  # they run
    assert (
        key_of(tmp_path, index, ALPHA.replace("```python\nvalues", "```python timeout=5\nvalues"))
        != base
    )
    captioned = ALPHA.replace(
        "```python\nvalues", '```python caption="Five values" alt="A list"\nvalues'
    )
    assert key_of(tmp_path, index, captioned) == base  # words for the page, not inputs


def test_key_covers_versions_dataset_library_and_environment(tmp_path, index, monkeypatch):
    base = key_of(tmp_path, index, ALPHA)
    real = cache.package_version
    monkeypatch.setattr(
        cache, "package_version", lambda name: "9.9.9" if name == "keras" else real(name)
    )
    assert key_of(tmp_path, index, ALPHA) != base
    monkeypatch.setattr(cache, "package_version", real)
    library = tmp_path / "datasets.py"
    library.write_text(cache.DATASETS.read_text() + "\n# changed\n")
    monkeypatch.setattr(cache, "DATASETS", library)
    assert key_of(tmp_path, index, ALPHA) != base
    monkeypatch.undo()
    assert key_of(tmp_path, index, ALPHA) == base
    # the Keras backend the kernel runs (KERAS_BACKEND, set by the build per backend)
    assert key_of(tmp_path, index, ALPHA, cache.environment("jax")) != base
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert key_of(tmp_path, index, ALPHA) != base
    monkeypatch.undo()
    # the format the kernels draw figures in: an entry of 1x figures is not reused
    monkeypatch.setattr(cache, "FIGURE_FORMAT", "png")
    assert key_of(tmp_path, index, ALPHA) != base


def test_entry_round_trip_and_damage(tmp_path, index):
    path = write_post(tmp_path, "k.md", ALPHA)
    notebook = complete_post(read_post(path), index).notebook()
    for number, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        cell.outputs = [{"output_type": "stream", "name": "stdout", "text": f"cell {number}\n"}]
        cell.execution_count = number + 1
    store = cache.Cache(tmp_path / "cache")
    assert store.load("k" * 64) is None
    store.store("k" * 64, "k", notebook, "2026-01-02T03:04:05+00:00", 1.5)
    entry = store.load("k" * 64)
    assert (entry.executed_at, entry.seconds) == ("2026-01-02T03:04:05+00:00", 1.5)
    fresh = complete_post(read_post(path), index).notebook()
    cache.restore(fresh, entry)
    assert [c.outputs[0].text for c in fresh.cells if c.cell_type == "code"] == [
        "cell 0\n",
        "cell 1\n",
        "cell 2\n",
    ]

    outputs = tmp_path / "cache" / ("k" * 64) / "outputs.json"
    outputs.write_bytes(outputs.read_bytes()[:40])
    with pytest.raises(cache.CorruptEntry, match="checksum"):
        store.load("k" * 64)
    (outputs.parent / "manifest.json").unlink()
    with pytest.raises(cache.CorruptEntry, match="no manifest"):
        store.load("k" * 64)


def test_old_entries_of_a_post_are_pruned(tmp_path, index):
    path = write_post(tmp_path, "k.md", ALPHA)
    notebook = complete_post(read_post(path), index).notebook()
    store = cache.Cache(tmp_path / "cache")
    for number in range(cache.KEEP + 2):
        store.store(f"{number:064d}", "k", notebook, "", 1.0)
    store.store("f" * 64, "other", notebook, "", 1.0)
    kept = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(kept) == cache.KEEP + 1 and "f" * 64 in kept and f"{0:064d}" not in kept


# Builds in a real kernel: tiny numpy posts.


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """Two posts built once, with their cache."""
    folder = tmp_path_factory.mktemp("warm")
    write_post(folder / "posts", "alpha.md", ALPHA)
    write_post(folder / "posts", "beta.md", BETA)
    assert build(options(folder), lambda line: None) == 0
    return folder


@pytest.fixture
def site(warm, tmp_path):
    """A copy of the warm posts and cache, for one test to change."""
    for name in ("posts", "cache"):
        shutil.copytree(warm / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def runs(monkeypatch):
    """The posts (by file name) of the components executed, as the build starts them."""
    started, real = [], execute.execute_component

    def counting(kernel, path, *args, **kwargs):
        started.append(path.stem)
        return real(kernel, path, *args, **kwargs)

    monkeypatch.setattr(execute, "execute_component", counting)
    return started


def options(folder, **kwargs):
    return Options(
        posts=folder / "posts",
        out=folder / "site",
        snippets=folder / "snippets",
        cache=folder / "cache",
        **kwargs,
    )


def rebuild(folder, **kwargs):
    lines = []
    status = build(options(folder, **kwargs), lines.append)
    return status, lines


@pytest.mark.slow
def test_prose_edit_reexecutes_nothing_and_keeps_the_original_run(site, runs, monkeypatch):
    seen, real_write = {}, pipeline.write_all

    def write_all(options, completed, executed, *args):
        seen.update(executed)
        real_write(options, completed, executed, *args)

    monkeypatch.setattr(pipeline, "write_all", write_all)
    post = site / "posts" / "alpha.md"
    post.write_text(
        post.read_text()
        .replace("Some prose", "A new paragraph.\n\nSome prose")
        .replace("More", "Less")
    )
    status, lines = rebuild(site)
    assert status == 0 and runs == []
    assert f"{post}: 3 cells cached" in " ".join(lines)
    page = (site / "site" / "alpha" / "index.html").read_text()
    assert "total 10" in page and "Less prose" in page and "10 things" in page
    manifests = [json.loads(p.read_text()) for p in (site / "cache").glob("*/manifest.json")]
    ran_at = {m["slug"]: m["executed_at"] for m in manifests}
    assert seen["alpha"].cached and seen["alpha"].executed_at == ran_at["alpha"]


@pytest.mark.slow
def test_code_edit_reexecutes_exactly_that_post(site, runs):
    post = site / "posts" / "beta.md"
    post.write_text(post.read_text().replace('"beta"', '"beta, edited"'))
    status, _ = rebuild(site)
    assert status == 0 and runs == ["beta"]
    assert "beta, edited 1.0" in (site / "site" / "beta" / "index.html").read_text()


@pytest.mark.slow
def test_keras_version_or_dataset_library_change_invalidates(site, runs, monkeypatch):
    real = cache.package_version
    monkeypatch.setattr(
        cache, "package_version", lambda name: "0.0.1" if name == "keras" else real(name)
    )
    assert rebuild(site)[0] == 0
    assert sorted(runs) == ["alpha", "beta"]
    monkeypatch.setattr(cache, "package_version", real)
    runs.clear()
    library = site / "datasets.py"
    library.write_text(cache.DATASETS.read_text() + "\n# a new generator would go here\n")
    monkeypatch.setattr(cache, "DATASETS", library)
    assert rebuild(site)[0] == 0
    assert sorted(runs) == ["alpha", "beta"]


@pytest.mark.slow
def test_truncated_entry_is_reexecuted_with_a_warning(site, runs):
    for manifest in (site / "cache").glob("*/manifest.json"):
        if json.loads(manifest.read_text())["slug"] == "alpha":
            outputs = manifest.with_name("outputs.json")
            outputs.write_bytes(outputs.read_bytes()[: outputs.stat().st_size // 2])
    status, lines = rebuild(site)
    assert status == 0 and runs == ["alpha"]
    warnings = [line for line in lines if "warning" in line]
    assert warnings == [
        f"{site / 'posts' / 'alpha.md'}: warning: ignoring a damaged cache entry and executing "
        "again: its outputs do not match the manifest's checksum (truncated?)"
    ]
    assert "total 10" in (site / "site" / "alpha" / "index.html").read_text()
    runs.clear()
    status, lines = rebuild(site)
    assert (
        status == 0 and runs == [] and not [line for line in lines if "warning" in line]
    )  # written anew


@pytest.mark.slow
def test_force_ignores_the_cache_and_failures_are_not_cached(site, runs):
    assert rebuild(site, force=True)[0] == 0
    assert sorted(runs) == ["alpha", "beta"]
    write_post(site / "posts", "gamma.md", "# Gamma\n\n```python\nprint(1 / 0)\n```\n")
    runs.clear()
    assert rebuild(site, keep_going=True)[0] == 1
    assert rebuild(site, keep_going=True)[0] == 1
    assert runs == ["gamma", "gamma"]


@pytest.mark.slow
def test_noop_rebuild_starts_no_kernel_and_imports_no_tensorflow(site):
    script = f"""
import json, sys
from pathlib import Path
from kernelblog import kernels
from kernelblog.pipeline import Options, build

launched = []
kernels.launch = lambda *args: launched.append(args)
folder = Path({str(site)!r})
status = build(Options(posts=folder / "posts", out=folder / "site", snippets=folder / "snippets",
                       cache=folder / "cache"))
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "nbclient"))
print(json.dumps({{"status": status, "heavy": heavy, "kernels": len(launched)}}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert json.loads(result.stdout) == {"status": 0, "heavy": [], "kernels": 0}, result.stderr
    assert "\x1b" not in result.stderr  # not a terminal: plain lines
    assert f"{site / 'posts' / 'beta.md'}: 2 cells cached" in result.stderr
    assert re.search(
        r"^post +cells +result +seconds\n.*alpha.md +3 +cached .*\n.*beta.md +2 +cached ",
        result.stderr,
        re.M,
    )  # the summary table
    assert (site / "site" / "beta" / "index.html").exists()


def test_a_rebuild_with_nothing_changed_stops_at_once(site, runs, monkeypatch):
    assert rebuild(site)[0] == 0  # records what it was built from and what it wrote
    (site / "posts" / "alpha.md").write_text(
        (site / "posts" / "alpha.md").read_text() + "\n```\n$ ls\n```\n"
    )
    status, lines = rebuild(site)
    assert status == 0 and not any("nothing changed" in line for line in lines)
    written = {path: path.stat().st_mtime_ns for path in (site / "site").rglob("*")}
    from kernelblog import complete

    monkeypatch.setattr(complete, "complete_post", lambda *args: pytest.fail("completed again"))
    status, lines = rebuild(site)
    assert status == 0 and lines == [f"{site / 'site'}/: nothing changed since the last build"]
    assert {path: path.stat().st_mtime_ns for path in (site / "site").rglob("*")} == written
    assert runs == []
    monkeypatch.undo()
    (site / "site" / "beta" / "index.html").unlink()  # the site was touched: build it again
    status, lines = rebuild(site)
    assert status == 0 and (site / "site" / "beta" / "index.html").exists() and runs == []
    assert rebuild(site, check=True)[1] != rebuild(site)[1]  # --check always looks at the posts


def test_a_rebuild_with_nothing_changed_repeats_the_warnings(site):
    post = site / "posts" / "alpha.md"
    post.write_text(
        post.read_text() + "\n- a list\n\n  ```python\n  second = 2\n  ```\n"
    )  # a fence that won't run
    status, first = rebuild(site, keep_going=True)
    warnings = [line for line in first if ": warning: " in line]
    status, again = rebuild(site, keep_going=True)
    assert (
        status == 0
        and warnings
        and again == warnings + [f"{site / 'site'}/: nothing changed since the last build"]
    )


def test_only_an_edit_to_code_starts_kernels_before_the_posts_are_read(tmp_path):
    from kernelblog.uptodate import code_changed, code_digest, remember

    posts, record = tmp_path / "posts", tmp_path / "cache" / "site.json"
    post = write_post(
        posts,
        "alpha.md",
        "---\ntitle: Alpha\n---\n\nProse with `{python} total`.\n\n"
        "```python\ntotal = 6 * 7\n```\n\n~~~\nplain = 1\n~~~\n",
    )
    assert not code_changed(
        record, code_digest(posts)
    )  # no build yet: no guess (a cold cache starts kernels)
    (tmp_path / "site").mkdir()
    remember(record, "digest", code_digest(posts), tmp_path / "site", tmp_path / "snippets", [])
    assert not code_changed(record, code_digest(posts))
    original = post.read_text()
    unchanged = [
        original.replace("title: Alpha", "title: Beta"),  # front matter
        original.replace("Prose with", "Prose, edited, with") + "\nA closing sentence.\n",
    ]
    for text in unchanged:
        post.write_text(text)
        assert not code_changed(record, code_digest(posts)), text
    for text in [
        original.replace("6 * 7", "6 * 8"),  # a snippet
        original.replace("`{python} total`", "`{python} total + 1`"),  # an inline value
        original.replace("plain = 1", "plain = 2"),
    ]:  # an untagged fence, which may run
        post.write_text(text)
        assert code_changed(record, code_digest(posts)), text
    post.write_text(original)
    write_post(posts, "beta.md", "---\ntitle: Beta\n---\n\n```python\nprint(1)\n```\n")
    assert code_changed(record, code_digest(posts))  # a new post


@pytest.mark.slow
def test_a_prose_edit_completes_and_renders_the_edited_post_alone(site, runs, monkeypatch):
    from kernelblog import complete, render

    monkeypatch.setenv("XDG_CACHE_HOME", str(site / "user-cache"))  # reuse/ of this test alone
    assert rebuild(site)[0] == 0  # the copied posts, completed and rendered where they are now
    completed, rendered, outputs_read = [], [], []
    real_complete, real_render, real_load = (
        complete.complete_post,
        render.render_post,
        cache.Cache.load,
    )
    real_highlight = render.code_html
    monkeypatch.setattr(
        complete,
        "complete_post",
        lambda post, *a: completed.append(post.slug) or real_complete(post, *a),
    )
    monkeypatch.setattr(
        render,
        "render_post",
        lambda done, *a: rendered.append(done.post.slug) or real_render(done, *a),
    )

    def load(store, key):
        outputs_read.append(json.loads((store.folder / key / "manifest.json").read_text())["slug"])
        return real_load(store, key)

    monkeypatch.setattr(cache.Cache, "load", load)
    highlighted = []
    monkeypatch.setattr(
        render, "code_html", lambda code: highlighted.append(code) or real_highlight(code)
    )
    post = site / "posts" / "alpha.md"
    post.write_text(post.read_text().replace("Some prose", "Edited prose"))
    assert rebuild(site)[0] == 0
    assert (completed, rendered, runs) == (
        ["alpha"],
        ["alpha"],
        [],
    )  # beta's completion and page are reused
    assert set(outputs_read) == {
        "alpha"
    }  # beta's page is kept for its cache entries: its outputs are not read
    assert highlighted == []  # alpha's code is as it was: its highlighted HTML is kept too
    assert "Edited prose" in (site / "site" / "alpha" / "index.html").read_text()

    monkeypatch.setenv(
        "XDG_CACHE_HOME", str(site / "empty")
    )  # the same build with nothing to reuse: the same site
    again = Options(
        posts=site / "posts",
        out=site / "again",
        snippets=site / "snippets-again",
        cache=site / "cache",
    )
    assert build(again, lambda line: None) == 0
    assert sorted(completed) == ["alpha", "alpha", "beta"] and runs == []
    assert {
        p.relative_to(site / "again"): p.read_bytes()
        for p in (site / "again").rglob("*")
        if p.is_file()
    } == {
        p.relative_to(site / "site"): p.read_bytes()
        for p in (site / "site").rglob("*")
        if p.is_file()
    }


def test_a_damaged_reuse_entry_is_made_again(tmp_path):
    from kernelblog.reuse import Reuse

    store = Reuse(tmp_path, "inputs")
    store.save("page", "k", {"html": "<p>saved</p>"})
    assert store.load("page", "k") == {"html": "<p>saved</p>"}
    entry = tmp_path / "page-k.pickle"
    entry.write_bytes(entry.read_bytes()[:5])
    assert Reuse(tmp_path, "inputs").load("page", "k") is None  # the next build's store
    assert (
        Reuse(tmp_path, "inputs", fresh=True).load("completed", "k") is None
    )  # --force makes everything again


def test_package_versions_are_read_from_the_metadata_once_per_process(monkeypatch):
    from importlib import metadata

    read = []
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: read.append(name) or real(name))
    cache.package_version.cache_clear()
    try:
        assert cache.package_version("numpy") == real("numpy") and read == ["numpy"]
        assert cache.package_version("numpy") == real("numpy") and read == ["numpy"]
        assert cache.package_version("no-such-package-here") == "not installed"
    finally:
        cache.package_version.cache_clear()
