"""Two cold builds of the same post give the same site, apart from the provenance timings and
Keras's per-step timings, which are masked (and nothing else)."""

import json
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
    (re.compile(r"\b(\d+(\.\d+)?(s|ms|us|µs) )?\d+(\.\d+)?(s|ms|us|µs)/step\b"), "#/step"),
    (
        re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"),
        "#time",
    ),  # when it ran
    (re.compile(r"(<time datetime=\"#time\">)[^<]*(</time>)"), r"\1#\2"),
    (re.compile(r"\bin \d+(\.\d+)? s\b"), "in # s"),  # how long a cell or the post took
    # how long the post ran on a backend, under its title: "TensorFlow <span ...>✓</span> 12 s"
    (re.compile(r"(✓</span>) \d+ s\b"), r"\1 # s"),
    # an epoch's time and a progress bar's ETA: "1s - #/step", and "6s\x1b[0m #/step" in a
    # notebook's JSON
    (re.compile(r"[\d:.]+(s|ms|us|µs)?(\\u001b\[0m)? (- )?#/step"), "#/step"),
]


def masked(path, data: bytes) -> bytes:
    """A built file with its timings masked. In a notebook, a progress bar's updates (how many
    depends on timing) are resolved to what the terminal ends up showing, as the page does."""
    if path.suffix not in (".html", ".ipynb", ".xml"):
        return data
    if path.suffix == ".ipynb":
        notebook = json.loads(data)
        for cell in notebook["cells"]:
            merged = []
            for output in cell.get("outputs", []):
                if (
                    output["output_type"] == "stream"
                    and merged
                    and merged[-1].get("name") == output["name"]
                ):
                    merged[-1]["text"] = "".join(merged[-1]["text"]) + "".join(output["text"])
                else:
                    merged.append(output)
            for output in merged:
                if output["output_type"] == "stream":
                    lines = [
                        line.rsplit("\r", 1)[-1] for line in "".join(output["text"]).split("\n")
                    ]
                    for k, line in enumerate(lines):
                        while re.search(
                            "[^\x08]\x08", line
                        ):  # a backspace takes back the character before it
                            line = re.sub("[^\x08]\x08", "", line)
                        lines[k] = line.replace("\x08", "").rstrip(
                            " "
                        )  # padding over a longer update
                    output["text"] = "\n".join(lines)
            if "outputs" in cell:
                cell["outputs"] = merged
        data = json.dumps(notebook, indent=1).encode()
    text = data.decode()
    for pattern, mask in TIMINGS:
        text = pattern.sub(mask, text)
    return text.encode()


def built(tmp_path, name):
    out = tmp_path / name
    options = Options(
        posts=tmp_path / "posts",
        out=out / "site",
        snippets=out / "snippets",
        cache=tmp_path / "cache",
        jobs=1,
        force=True,
    )
    assert build(options, lambda line: None) == 0
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            files[path.relative_to(out)] = masked(path, path.read_bytes())
    return files


def test_two_cold_builds_give_identical_pages(tmp_path):
    write_post(tmp_path / "posts", "determinism.md", POST)
    first, second = built(tmp_path, "first"), built(tmp_path, "second")
    page = first[
        next(name for name in first if name.parts[-2:] == ("determinism", "index.html"))
    ].decode()
    assert "#/step" in page and "in # s" in page and "#time" in page  # the masks matched
    assert list((tmp_path / "first" / "site" / "determinism").glob("*.png"))
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], f"{name} differs between two builds"
