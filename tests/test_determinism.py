"""Two cold builds of the same post give the same site, apart from the provenance timings and
Keras's per-step timings, which are masked (and nothing else)."""

import re

import pytest

from conftest import write_post
from kernelblog.pipeline import Options, build

pytestmark = pytest.mark.slow

POST = """# Determinism

```python
values = np.random.rand(3)
print(values)
```

```python
model = Sequential([Input(shape=(4,)), Dense(8, activation="relu"), Dense(1)])
model.compile(optimizer="adam", loss="mse")
x = np.random.rand(64, 4)
history = model.fit(x, x.sum(axis=1), epochs=2, batch_size=16)
print(model.predict(x[:2], verbose=0))
plt.plot(history.history["loss"])
plt.show()
```
"""
TIMINGS = [  # (pattern, mask): Keras's per-step timings, then the provenance timings
    # the ETA before the step time may be bold: \u001b[1m2s\u001b[0m in the .ipynb
    (re.compile(r"(?<![\d.])(\d+(\.\d+)?(s|ms|us|µs)(\\u001b\[0m)? )?\d+(\.\d+)?(s|ms|us|µs)/step\b"), "#/step"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"), "#time"),  # when it ran
    (re.compile(r"(<time datetime=\"#time\">)[^<]*(</time>)"), r"\1#\2"),
    (re.compile(r"\bin \d+(\.\d+)? s\b"), "in # s"),  # how long a cell or the post took
    # the .ipynb keeps the progress bar's raw updates: backspaces and padding as long as the timings were
    (re.compile(r"(\\b)+"), "#b"),
    (re.compile(r" +(\\n)"), r"\1"),
]


def built(tmp_path, name):
    out = tmp_path / name
    options = Options(posts=tmp_path / "posts", out=out / "site", snippets=out / "snippets", cache=tmp_path / "cache",
                      jobs=1, force=True)
    assert build(options, lambda line: None) == 0
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix in (".html", ".ipynb", ".xml"):
                text = data.decode()
                for pattern, mask in TIMINGS:
                    text = pattern.sub(mask, text)
                data = text.encode()
            files[path.relative_to(out)] = data
    return files


def test_two_cold_builds_give_identical_pages(tmp_path):
    write_post(tmp_path / "posts", "determinism.md", POST)
    first, second = built(tmp_path, "first"), built(tmp_path, "second")
    page = first[next(name for name in first if name.parts[-2:] == ("determinism", "index.html"))].decode()
    assert "#/step" in page and "in # s" in page and "#time" in page  # the masks matched
    assert list((tmp_path / "first" / "site" / "determinism").glob("*.png"))
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], f"{name} differs between two builds"
