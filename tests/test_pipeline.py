"""The build's own logic, without kernels: posts assembled from their components, a failure that
stops a post, a shard's share, and the posts folder read whole."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, write_post
from kernelblog import execute, pipeline
from kernelblog.cache import Cache
from kernelblog.cells import CellMeta
from kernelblog.diagnostics import BadInput, Diagnostic
from kernelblog.execute import ComponentRun
from kernelblog.pipeline import Options, _Runs, _share, components, ready_all
from kernelblog.progress import Progress
from kernelblog.settings import Shard

PAIR = "# Pair\n\n```python\na = 1\nprint(a)\n```\n\n```python\nb = 2\nprint(b)\n```\n"
SHORT = "# Short\n\n```python\nprint(1)\n```\n"
BROKEN = "# Broken\n\n```python\nprint(undefined_name)\n```\n"
SHARED = {"environment": "the tests'"}  # what every component's key shares
EARLIER, LATER = "2026-11-24T09:00:00+00:00", "2026-11-25T10:30:00+00:00"


class FakeKernels:
    """Kernels.run's interface: each job, the longest first, runs on a kernel, or fails when
    `start` is an error (the kernel could not start)."""

    def __init__(self, start: Exception | None = None):
        self.start, self.warm_code, self.closed = start, "", False

    def run(self, jobs):
        for job in sorted(jobs, reverse=True):
            job.fail(self.start) if self.start else job.run(object())

    def close(self):
        self.closed = True

    def all_peaks(self):
        return []


@pytest.fixture
def ran(monkeypatch):
    """Components 'execute' at once: each unit (slug/number) is listed as it starts; a component
    whose code prints `a` fails at its line."""
    units = []

    def run(kernel, path, sub, *args, **kwargs):
        code = [cell for cell in sub.cells if CellMeta.of(cell).role == "code"]
        units.append(f"{path.stem}/{CellMeta.of(sub.cells[0]).component}")
        failures = [
            Diagnostic(path, 4, "error", "NameError: a")
            for cell in code
            if "print(a)" in cell.source
        ]
        return ComponentRun(failures, 2.0, LATER)

    monkeypatch.setattr(execute, "execute_component", run)
    return units


def ready_posts(folder: Path, **posts):
    for name, text in posts.items():
        write_post(folder, f"{name}.md", text)
    return ready_all(folder, lambda diagnostic: None)


def runs_of(tmp_path, lines, **options):
    return _Runs(
        Options(cache=tmp_path / "cache", **options), Progress(lines.append), cache_of(tmp_path)
    )


def cache_of(tmp_path):
    return Cache(tmp_path / "cache")


def test_a_post_whose_components_are_all_cached_is_one_executed_post(tmp_path):
    [done] = ready_posts(tmp_path / "posts", pair=PAIR)
    cache, stored = cache_of(tmp_path), []
    for (number, key, sub), (seconds, when) in zip(
        components(done, done.post.notebook(), SHARED), [(2.0, LATER), (3.5, EARLIER)]
    ):
        sub.cells[-1].outputs = [nbformat.v4.new_output("stream", text=f"from entry {number}\n")]
        cache.store(key, "pair", sub, when, seconds, f"pair/{number}")
        stored.append((key, cache.stamp(key).sha256))
    lines = []
    runs = runs_of(tmp_path, lines)
    runs.add(done, SHARED)
    assert runs.pending == []
    executed = runs.executed["pair"]
    assert (executed.seconds, executed.executed_at, executed.cached) == (5.5, LATER, True)
    assert executed.failure is None and executed.failures == []
    assert executed.stamps == tuple(stored)
    printed = [cell.outputs[0].text for cell in executed.notebook.cells if cell.get("outputs")]
    assert printed == ["from entry 0\n", "from entry 1\n"]
    assert lines == [f"{done.post.post.path}: 4 cells cached (they ran in 5.5 s)"]
    assert str(runs.counts) == "components: 0 executed (0 cells), 2 from the cache (4 cells)"


def test_a_component_from_the_cache_and_one_run_make_one_post(tmp_path, ran):
    [done] = ready_posts(tmp_path / "posts", pair=PAIR)
    cache = cache_of(tmp_path)
    number, key, sub = next(components(done, done.post.notebook(), SHARED))
    cache.store(key, "pair", sub, EARLIER, 1.5, f"pair/{number}")
    lines = []
    runs = runs_of(tmp_path, lines)
    runs.add(done, SHARED)
    assert [pending.unit for pending in runs.pending] == ["pair/1"]
    assert runs.execute(FakeKernels(), {}, close=False) is False and ran == ["pair/1"]
    executed = runs.executed["pair"]
    assert (executed.seconds, executed.executed_at) == (3.5, LATER)
    assert executed.cached is False and executed.stamps is None
    assert lines[-1] == f"{done.post.post.path}: ran 2 cells in 3.5 s (2 more from the cache)"
    assert str(runs.counts) == "components: 1 executed (2 cells), 1 from the cache (2 cells)"
    assert runs.seconds == {"pair/1": 2.0}
    assert len(list(cache.folder.glob("*/manifest.json"))) == 2  # the run one is cached now


@pytest.mark.parametrize("keep_going", [False, True])
def test_a_failure_stops_the_rest_of_its_post_unless_keep_going(tmp_path, ran, keep_going):
    [done] = ready_posts(tmp_path / "posts", pair=PAIR)
    lines = []
    runs = runs_of(tmp_path, lines, keep_going=keep_going)
    runs.add(done, SHARED)
    timings = {"components": {"pair/0": 9.0, "pair/1": 1.0}}  # the failing one runs first
    assert runs.execute(FakeKernels(), timings, close=False) is True
    assert ran == (["pair/0", "pair/1"] if keep_going else ["pair/0"])
    executed = runs.executed["pair"]
    failure = Diagnostic(done.post.post.path, 4, "error", "NameError: a")
    assert executed.failure == failure and executed.failures == [failure]
    assert executed.cached is False and str(failure) in lines
    assert runs.counts.executed == len(ran)
    # a failed component is never cached; one after it is, when it runs
    assert len(list(cache_of(tmp_path).folder.glob("*/manifest.json"))) == (1 if keep_going else 0)


def test_a_component_no_kernel_could_run_fails_its_post(tmp_path, ran):
    [done] = ready_posts(tmp_path / "posts", short=SHORT)
    runs = runs_of(tmp_path, [])
    runs.add(done, SHARED)
    kernels = FakeKernels(start=RuntimeError("no kernel"))
    assert runs.execute(kernels, {}) is True and kernels.closed and ran == []
    failure = runs.executed["short"].failure
    assert (failure.line, failure.severity) == (4, "error")  # the post's first line of code
    assert failure.message == "could not execute the post: RuntimeError('no kernel')"


def test_a_kernel_that_could_not_start_is_reported_in_words(tmp_path, ran):
    from kernelblog.kernels import KernelFailed

    [done] = ready_posts(tmp_path / "posts", short=SHORT)
    runs = runs_of(tmp_path, [])
    runs.add(done, SHARED)
    runs.execute(FakeKernels(start=KernelFailed("the kernel could not start: why")), {})
    failure = runs.executed["short"].failure
    assert (failure.line, failure.message) == (
        4,
        "could not execute the post: the kernel could not start: why",
    )


def test_a_post_with_errors_is_not_run_and_keeps_its_cells(tmp_path, ran):
    [done] = ready_posts(tmp_path / "posts", broken=BROKEN)
    runs = runs_of(tmp_path, [])
    runs.add(done, SHARED)
    assert runs.pending == [] and runs.progress.rows[done.post.post.path].state == "not run"
    executed = runs.executed["broken"]
    assert executed.failure is None and executed.cached is False
    assert [cell.source for cell in executed.notebook.cells if cell.cell_type == "code"][-1] == (
        "print(undefined_name)"
    )
    runs = runs_of(tmp_path, [], keep_going=True)  # its other cells run
    runs.add(done, SHARED)
    assert [pending.unit for pending in runs.pending] == ["broken/0"]


def test_a_post_without_components_is_executed_at_once(tmp_path):
    [done] = ready_posts(tmp_path / "posts", short=SHORT)
    bare = dataclasses.replace(done, post=dataclasses.replace(done.post, components=()), codes=())
    lines = []
    runs = runs_of(tmp_path, lines)
    runs.add(bare, SHARED)
    executed = runs.executed["short"]
    assert runs.pending == [] and (executed.seconds, executed.cached) == (0.0, True)
    assert executed.stamps is None and lines == [
        f"{done.post.post.path}: 2 cells cached (they ran in 0.0 s)"
    ]


def test_each_shard_executes_its_own_share_and_leaves_the_rest(tmp_path, ran):
    ready = ready_posts(tmp_path / "posts", pair=PAIR, short=SHORT)
    cache = cache_of(tmp_path)
    shares = []
    for index in (1, 2):
        lines = []
        options = Options(cache=tmp_path / "cache", shard=Shard(index, 2))
        share = _share(options, ready, cache, SHARED, Progress(lines.append))
        assert lines[0].startswith(f"shard {index}/2: {len(share)} of 3 components to execute")
        runs = _Runs(options, Progress(lines.append), cache, share=share)
        for done in ready:
            runs.add(done, SHARED)
        assert sorted(pending.unit for pending in runs.pending) == sorted(share)
        shares.append(share)
    assert shares[0].isdisjoint(shares[1])
    assert shares[0] | shares[1] == {"pair/0", "pair/1", "short/0"}

    # A post split between the shards is in here once its own share ran.
    options = Options(cache=tmp_path / "cache", shard=Shard(2, 2))
    runs = _Runs(options, Progress(lambda line: None), cache, share={"pair/1"})
    runs.add(ready[0], SHARED)
    assert [pending.unit for pending in runs.pending] == ["pair/1"] and "pair" not in runs.executed
    runs.execute(FakeKernels(), {}, close=False)
    assert ran == ["pair/1"] and runs.executed["pair"].seconds == 2.0
    assert not (tmp_path / "cache" / "timings.json").exists()  # one file every shard would write


def test_the_posts_folder_must_hold_posts(tmp_path):
    with pytest.raises(BadInput) as missing:
        ready_all(tmp_path / "nowhere", lambda diagnostic: None)
    assert str(missing.value.diagnostic) == f"{tmp_path / 'nowhere'}: error: posts folder not found"
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "notes.txt").write_text("not a post")
    with pytest.raises(BadInput) as empty:
        ready_all(tmp_path / "posts", lambda diagnostic: None)
    assert empty.value.diagnostic.message == "no posts (*.md or <slug>/index.md) in this folder"


def test_two_posts_with_one_slug_are_refused_at_the_second_ones_line(tmp_path):
    write_post(tmp_path / "posts", "a.md", "---\nslug: same\n---\n# A\n")
    second = write_post(tmp_path / "posts", "b.md", "---\ntitle: B\nslug: same\n---\n# B\n")
    with pytest.raises(BadInput) as repeated:
        ready_all(tmp_path / "posts", lambda diagnostic: None)
    assert str(repeated.value.diagnostic) == (
        f"{second}:3: error: slug 'same' is also used by {tmp_path / 'posts' / 'a.md'}"
    )


def test_the_pipeline_imports_no_stage_that_executes_or_renders():
    """A build with nothing to do stops before any of these is needed."""
    heavy = ("nbformat", "nbclient", "jupytext", "pygments", "jinja2", "psutil", "tensorflow")
    code = (
        f"import sys, kernelblog.pipeline; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    assert pipeline.__file__.startswith(str(ROOT))
