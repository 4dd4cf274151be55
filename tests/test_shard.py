"""--shard K/N: a deterministic, balanced share of the work; the shards' caches merge by copying."""

import random
import re
import shutil
from pathlib import Path

import pytest

from conftest import write_post
from kernelblog import execute
from kernelblog.pipeline import Options, build
from kernelblog.settings import Shard
from kernelblog.shard import STEP, assign, code_seconds, estimate, share


def test_a_cold_estimate_reads_the_training_the_code_shows():
    """Before any time is recorded, the components that train longest are estimated longest."""
    data = "(x_train, y_train), _ = tabular(n_train=3200)\n"
    one_fit = code_seconds([data + "model.fit(x_train, y_train, epochs=5)"])
    assert one_fit == pytest.approx(1.0 + 0.1 + 5 * 100 * STEP)  # 5 epochs of 100 batches of 32
    assert code_seconds([data + "model.fit(x_train, y_train, epochs=5, batch_size=64)"]) < one_fit
    assert code_seconds(["print(1)", "print(2)"]) == pytest.approx(1.2)  # a tenth per cell
    loop = "for step in range(150):\n    d.train_on_batch(x, y)\n    g.train_on_batch(z, y)"
    assert code_seconds([loop]) == pytest.approx(1.1 + 300 * STEP)
    # a function of the post, called in a pass over the data by batches of 64, each epoch
    called = [
        "def step(batch):\n    return gan.train_on_batch(batch, ones)",
        data + "for epoch in range(30):\n"
        "    for start in range(0, len(x_train), 64):\n        step(x_train[start:start + 64])",
    ]
    assert code_seconds(called) == pytest.approx(1.2 + 30 * 50 * STEP)
    conv = data + "Conv2D(8, 3)\nmodel.fit(x_train, y_train, epochs=5)"
    assert code_seconds([conv]) == pytest.approx(1.1 + 5 * 5 * 100 * STEP)  # conv steps: 5 each


def test_every_unit_goes_to_exactly_one_share_whatever_the_order():
    units = [(f"post-{i}", float(cost)) for i, cost in enumerate([9, 1, 7, 3, 3, 5, 8, 2, 2, 6])]
    shares = assign(units, 3)
    assert sorted(unit for part in shares for unit in part) == sorted(unit for unit, _ in units)
    shuffled = units[:]
    random.Random(1).shuffle(shuffled)
    assert assign(shuffled, 3) == shares
    loads = [sum(dict(units)[unit] for unit in part) for part in shares]
    assert max(loads) - min(loads) <= 1  # 46 s of work: 16, 15, 15


def test_longest_first_to_the_lightest_share():
    assert assign([("a", 5), ("b", 4), ("c", 3), ("d", 3), ("e", 3)], 2) == [
        ["a", "d"],
        ["b", "c", "e"],
    ]
    assert assign([("a", 1)], 3) == [
        ["a"],
        [],
        [],
    ]  # more shards than work: the rest have nothing to do
    assert share([("a", 1), ("b", 1), ("c", 1)], Shard(3, 3)) == ["c"]  # equal costs: by id


def test_costs_come_from_recorded_times_else_from_cell_counts():
    costs = estimate({"timed": 4, "new": 6, "cached": 3, "empty": 0}, {"timed": 20.0}, ["cached"])
    assert costs == {
        "timed": 20.0,
        "new": 30.0,
        "cached": 0.0,
        "empty": 0.0,
    }  # 5 s per cell, as "timed" ran
    assert estimate({"a": 2, "b": 3}, {}) == {"a": 2.0, "b": 3.0}  # no record: cell counts


POSTS = {
    "chain.md": "# Chain\n\n```python\nx = 1\n```\n\n```python\ny = x + 1\n```\n\n"
    "```python\nprint(y)\n```\n",
    "pair.md": "# Pair\n\n```python\na = 1\nprint(a)\n```\n\n```python\nb = 2\nprint(b)\n```\n",
    "short.md": "# Short\n\n```python\nprint(1)\n```\n",
    "broken.md": "# Broken\n\n```python\nprint(undefined_name)\n```\n",
}


@pytest.fixture
def started(monkeypatch):
    """Components 'execute' without a kernel, instantly, each recording a second per cell (short's:
    10 s); the list gets each one's unit (slug/number) as it starts."""
    from test_kernels import FakeKernel

    from kernelblog import kernels
    from kernelblog.cells import CellMeta
    from kernelblog.execute import ComponentRun

    units = []

    def run(kernel, path, sub, *args, **kwargs):
        units.append(f"{path.stem}/{CellMeta.of(sub.cells[0]).component}")
        return ComponentRun(
            [], 10.0 if path.stem == "short" else float(len(sub.cells)), "2026-11-24T09:00:00+00:00"
        )

    monkeypatch.setattr(kernels, "Kernel", FakeKernel)
    monkeypatch.setattr(execute, "execute_component", run)
    return units


def files_of(folder: Path) -> set:
    return {path.relative_to(folder) for path in folder.rglob("*") if path.is_file()}


def test_shards_split_the_components_and_a_build_from_their_merged_caches_executes_nothing(
    tmp_path, started
):
    for name, text in POSTS.items():
        write_post(tmp_path / "posts", name, text)
    lines = {}
    for k in (1, 2):
        lines[k] = []
        status = build(
            Options(
                posts=tmp_path / "posts",
                out=tmp_path / "site",
                cache=tmp_path / f"cache-{k}",
                snippets=tmp_path / "snippets",
                shard=Shard(k, 2),
                keep_going=True,
            ),
            lines[k].append,
        )
        assert status == (1 if any(": error: " in line for line in lines[k]) else 0)
    assert (
        not (tmp_path / "site").exists() and not (tmp_path / "snippets").exists()
    )  # shards write no site
    # No record yet: by cell count (each component's cells and its setup cell): chain/0 4,
    # broken/0, pair/0, pair/1 and short/0 2 each; longest first to the lightest share, equal
    # costs by name.
    assert lines[1][0] == "shard 1/2: 2 of 5 components to execute, about 6 of 12 s"
    assert lines[2][0] == "shard 2/2: 3 of 5 components to execute, about 6 of 12 s"
    assert sorted(started) == ["broken/0", "chain/0", "pair/0", "pair/1", "short/0"]  # each once
    assert started[:2] == ["chain/0", "pair/1"] and started[2:] == ["broken/0", "pair/0", "short/0"]
    error = f"{tmp_path / 'posts' / 'broken.md'}:4: error: name 'undefined_name' is not defined"
    assert [k for k in lines if error in lines[k]] == [
        1
    ]  # reported by one shard only, the first by the posts' order

    merged = tmp_path / "cache"
    one, two = files_of(tmp_path / "cache-1"), files_of(tmp_path / "cache-2")
    assert one and two and not one & two  # no two shards write the same file
    for k in (1, 2):
        shutil.copytree(tmp_path / f"cache-{k}", merged, dirs_exist_ok=True)

    started.clear()
    (tmp_path / "posts" / "broken.md").unlink()
    assert (
        build(
            Options(
                posts=tmp_path / "posts",
                out=tmp_path / "site",
                cache=merged,
                snippets=tmp_path / "snippets",
            ),
            lambda line: None,
        )
        == 0
    )
    assert started == [] and (tmp_path / "site" / "pair" / "index.html").is_file()

    # After an edit to every post, the times recorded in the cache's entries balance the shards,
    # not the cell counts: short/0 ran for 10 s, chain/0 for 4, pair's components for 2 each.
    for post in ("chain", "pair", "short"):
        text = POSTS[f"{post}.md"].replace("```python\n", "```python\nw = 0\n")
        (tmp_path / "posts" / f"{post}.md").write_text(text)
    first = []
    assert (
        build(Options(posts=tmp_path / "posts", cache=merged, shard=Shard(1, 2)), first.append) == 0
    )
    assert first[0] == "shard 1/2: 1 of 4 components to execute, about 10 of 18 s"
    assert started == ["short/0"]


def test_a_shard_of_cached_work_executes_nothing(tmp_path, monkeypatch, started):
    from kernelblog import pipeline

    def no_lock(*args):
        raise AssertionError("a shard writes no site: it must not wait for the site's lock")

    monkeypatch.setattr(pipeline, "_one_build_at_a_time", no_lock)  # shards run side by side
    write_post(tmp_path / "posts", "short.md", POSTS["short.md"])
    options = Options(posts=tmp_path / "posts", cache=tmp_path / "cache", shard=Shard(1, 1))
    assert build(options, lambda line: None) == 0 and started == ["short/0"]
    lines = []
    assert build(options, lines.append) == 0 and started == ["short/0"]
    assert lines[0] == "shard 1/1: 0 of 0 components to execute, about 0 of 0 s"
    assert not (tmp_path / "cache" / "timings.json").exists()  # one file every shard would write


SLOW_POSTS = {  # dated: without a date, the feed orders posts by when they ran
    "alpha.md": "---\ndate: 2026-01-01\n---\n# Alpha\n\n"
    "```python\nvalues = np.random.rand(3)\nprint(values.round(3))\n```\n",
    "beta.md": "---\ndate: 2026-01-02\n---\n# Beta\n\n"
    "```python\nplt.plot(np.random.rand(5))\nplt.show()\n```\n\nText.\n\n"
    "```python\nprint(2 + 2)\n```\n",
    "gamma.md": "---\ndate: 2026-01-03\n---\n# Gamma\n\n"
    "```python\nimport math\nprint(math.pi)\n```\n",
}


CACHED = [  # provenance: the final build says the outputs come from an earlier run, as they do
    (re.compile(r"was executed( in a Jupyter kernel)"), r"ran\1"),
    (re.compile(r"\(outputs kept from that run\), "), ""),
]


@pytest.mark.slow
def test_three_shards_merged_by_copying_build_the_same_site_as_one_machine(tmp_path, monkeypatch):
    """Real kernels: three shards, each with its own cache folder, as on three machines."""
    from test_determinism import masked as timings_masked

    for name, text in SLOW_POSTS.items():
        write_post(tmp_path / "posts", name, text)

    def options(name, **kwargs):
        return Options(
            posts=tmp_path / "posts",
            out=tmp_path / name / "site",
            snippets=tmp_path / name / "snippets",
            jobs=1,
            **kwargs,
        )

    assert build(options("single", cache=tmp_path / "single-cache"), lambda line: None) == 0
    started, real = [], execute.execute_component

    def counting(kernel, path, sub, *args, **kwargs):
        from kernelblog.cells import CellMeta

        started.append(f"{path.stem}/{CellMeta.of(sub.cells[0]).component}")
        return real(kernel, path, sub, *args, **kwargs)

    monkeypatch.setattr(execute, "execute_component", counting)
    shards = [tmp_path / f"cache-{k}" for k in (1, 2, 3)]  # one machine each
    for k, cache in enumerate(shards, start=1):
        before = len(started)
        assert build(options("unused", cache=cache, shard=Shard(k, 3)), lambda line: None) == 0
        assert len(started) > before  # each shard has work
    # beta's two snippets are independent: two components, which may run on two machines
    assert sorted(started) == ["alpha/0", "beta/0", "beta/1", "gamma/0"]
    assert not (tmp_path / "unused" / "site").exists()

    merged, written = tmp_path / "cache", set()
    for cache in shards:
        files = {path.relative_to(cache) for path in cache.rglob("*") if path.is_file()}
        assert files and not files & written  # no two shards write the same file
        written |= files
        shutil.copytree(cache, merged, dirs_exist_ok=True)

    def no_kernel(*args, **kwargs):
        raise AssertionError("the final build executed a component")

    monkeypatch.setattr(execute, "execute_component", no_kernel)
    assert build(options("sharded", cache=merged), lambda line: None) == 0

    def masked(folder: Path) -> dict:
        files = {}
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                data = timings_masked(path, path.read_bytes())
                if path.suffix in (".html", ".ipynb", ".xml"):
                    text = data.decode()
                    for pattern, mask in CACHED:
                        text = pattern.sub(mask, text)
                    data = text.encode()
                files[path.relative_to(folder)] = data
        return files

    single, sharded = masked(tmp_path / "single"), masked(tmp_path / "sharded")
    assert any(name.suffix == ".png" for name in single)  # beta's figure
    assert single.keys() == sharded.keys()
    for name in single:
        assert single[name] == sharded[name], (
            f"{name} differs between the sharded and the single build"
        )
