"""Keras backends: each post's components on every backend asked for, each (component, backend)
keyed and cached on its own, a failure located and named by its backend, and the page saying
where the post runs."""

import importlib.util
import os
import re
from pathlib import Path

import pytest

from conftest import write_post
from kernelblog import cache, execute
from kernelblog.cells import CellMeta
from kernelblog.diagnostics import BadInput, Diagnostic
from kernelblog.execute import ComponentRun
from kernelblog.kernels import Job, Kernels
from kernelblog.pipeline import Options, _Runs, build, ready_all
from kernelblog.progress import Progress
from kernelblog.settings import load_settings, parse_backends

PAIR = "# Pair\n\n```python\na = 1\nprint(a)\n```\n\n```python\nb = 2\nprint(b)\n```\n"
SHARED = {"environment": "the tests'"}
OTHERS = {"jax": dict(SHARED, backend="jax")}
BOTH = ("tensorflow", "jax")


class FakeKernels:
    """Kernels.run's interface: each job, the longest first, runs at once."""

    warm_code = ""

    def run(self, jobs):
        for job in sorted(jobs, reverse=True):
            job.run(object())

    def close(self):
        pass

    def all_peaks(self):
        return []


@pytest.fixture
def ran(monkeypatch):
    """Components 'execute' at once, listed as (component, backend); on JAX a component whose code
    prints `a` fails at its line."""
    calls = []

    def run(kernel, path, sub, timeout, keep_going, on_cell, files, backend):
        calls.append((CellMeta.of(sub.cells[0]).component, backend))
        code = [cell.source for cell in sub.cells if CellMeta.of(cell).role == "code"]
        failing = backend == "jax" and any("print(a)" in source for source in code)
        return ComponentRun([Diagnostic(path, 5, "error", "NameError: a")] if failing else [], 2.0)

    monkeypatch.setattr(execute, "execute_component", run)
    return calls


def runs_of(tmp_path, lines):
    options = Options(cache=tmp_path / "cache", keep_going=True)
    return _Runs(options, Progress(lines.append), cache.Cache(tmp_path / "cache"), backends=BOTH)


def test_every_backend_runs_each_component_and_its_failures_name_it(tmp_path, ran):
    write_post(tmp_path / "posts", "pair.md", PAIR)
    [done] = ready_all(tmp_path / "posts", lambda diagnostic: None)
    path = done.post.post.path
    lines = []
    runs = runs_of(tmp_path, lines)
    runs.add(done, SHARED, OTHERS)
    units = sorted(pending.unit for pending in runs.pending)
    assert units == ["pair/0", "pair/0@jax", "pair/1", "pair/1@jax"]
    assert runs.execute(FakeKernels(), {}, close=False) is True  # a failure on JAX fails the build
    assert sorted(ran) == [(0, "jax"), (0, "tensorflow"), (1, "jax"), (1, "tensorflow")]
    runs.add_backends()
    executed = runs.executed["pair"]
    assert executed.failures == []  # the page's outputs are TensorFlow's, which passed
    tensorflow, jax = executed.backends
    assert (tensorflow.name, tensorflow.passed, tensorflow.seconds) == ("tensorflow", True, 4.0)
    assert (jax.name, jax.passed) == ("jax", False)
    assert jax.failures == (Diagnostic(path, 5, "error", "[jax] NameError: a"),)
    assert f"{path}:5: error: [jax] NameError: a" in lines

    # Each (component, backend) passed has its own entry: a rebuild runs the failure alone.
    ran.clear()
    runs = runs_of(tmp_path, [])
    runs.add(done, SHARED, OTHERS)
    assert [pending.unit for pending in runs.pending] == ["pair/0@jax"]


def test_tensorflow_keeps_the_keys_of_builds_before_backends(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    before = {  # what every key shared before backends could be chosen
        "format": cache.FORMAT,
        "python": cache.environment()["python"],
        "packages": {name: cache.package_version(name) for name in cache.PACKAGES},
        "datasets": cache.environment()["datasets"],
        "env": {
            "KERAS_BACKEND": None,
            "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        },
        "figures": "retina",  # added since, on purpose: 1x figures are not reused
    }
    assert cache.environment("tensorflow") == before
    jax = cache.environment("jax")
    assert jax["env"]["KERAS_BACKEND"] == "jax" and {"jax", "jaxlib"} <= set(jax["packages"])
    assert cache.key("code", jax) != cache.key("code", before)


def test_backends_are_checked_where_they_are_given(tmp_path):
    assert parse_backends("jax, tensorflow") == ("jax", "tensorflow")
    for wrong, message in (
        ("tensorflow,pytorch", "'pytorch' is not a Keras backend"),
        ("jax,jax", "a backend is named twice"),
        ("", "'' is not a Keras backend"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_backends(wrong)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.kernelblog]\ntitle = "T"\nbackends = ["tensorflow", "jaxx"]\n')
    with pytest.raises(BadInput) as error:
        load_settings(pyproject)
    assert str(error.value.diagnostic) == (
        f"{pyproject}:3: error: [tool.kernelblog] backends: 'jaxx' is not a Keras backend: "
        "tensorflow, jax, torch (did you mean 'jax'?)"
    )
    assert load_settings(tmp_path / "none.toml").backends == ("tensorflow",)


def test_a_kernel_takes_the_longest_job_of_its_backend_before_switching():
    kernels = Kernels(2)

    def job(seconds, backend):
        return Job(seconds, None, None, backend)

    kernels._queue = sorted(
        [job(9, "jax"), job(5, "tensorflow"), job(3, "jax"), job(1, "tensorflow")], reverse=True
    )
    assert (kernels._next("tensorflow").seconds, kernels._next("jax").seconds) == (5, 9)
    assert kernels._next("torch").seconds == 3  # none of its own: the longest left


def test_the_summary_has_a_column_per_backend():
    lines = []
    progress = Progress(lines.append)
    progress.add(Path("posts/a.md"), 3, backends=BOTH)
    progress.finished(Path("posts/a.md"), 1.5)
    failure = Diagnostic(Path("posts/a.md"), 4, "error", "[jax] E")
    progress.finished(Path("posts/a.md"), 2.25, [failure], backend="jax")
    progress.summary()
    assert lines[-2:] == [
        "post        cells  tensorflow  seconds  jax",
        "posts/a.md      3  executed      1.5  failed 2.2",
    ]
    assert "| post | cells | tensorflow | seconds | jax |" in progress.markdown("build")


TAPE = """# A gradient by hand

```python
w = keras.Variable(3.0)
print(float(ops.convert_to_numpy(w * 2)))
```

Then a gradient taken the TensorFlow way:

```python{options}
with tf.GradientTape() as tape:
    y = w * w
print(float(tape.gradient(y, w)))
```
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_a_tensorflow_only_cell_fails_on_jax_at_its_line_unless_marked(tmp_path):
    """A held-out post whose cell takes a gradient with tf.GradientTape."""
    post = write_post(tmp_path / "posts", "tape.md", TAPE.format(options=""))
    options = Options(
        posts=tmp_path / "posts",
        out=tmp_path / "site",
        cache=tmp_path / "cache",
        snippets=tmp_path / "snippets",
        backends=BOTH,
        keep_going=True,
        jobs=2,
    )
    lines = []
    assert build(options, lines.append) == 1
    [failure] = [line for line in lines if ": error: " in line]
    assert failure.startswith(f"{post}:13: error: [jax] ")
    page = (tmp_path / "site" / "tape" / "index.html").read_text()
    assert re.search(r"Runs on TensorFlow <span[^>]*>✓</span> \d+ s · JAX <span[^>]*>✗", page)
    assert "Fails on JAX</span><pre>line 13: " in page

    post.write_text(TAPE.format(options=' backends=["tensorflow"]'))
    lines = []
    assert build(options, lines.append) == 0, lines
    page = (tmp_path / "site" / "tape" / "index.html").read_text()
    assert re.search(r"TensorFlow <span[^>]*>✓</span> \d+ s · JAX <span[^>]*>✓</span> \d+ s", page)
    assert "it runs on TensorFlow only, and was not run on JAX." in page
    assert "Fails on" not in page
    script = (tmp_path / "site" / "tape" / "tape.py").read_text()
    assert "# Verified on TensorFlow and JAX when the page was built" in script
