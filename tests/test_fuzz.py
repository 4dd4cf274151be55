"""Property: whatever a post holds, the static stages (read, complete, plan, render, write) end in
diagnostics or pages, never an exception. Posts are generated: front matter of every YAML type
with odd text, fences and their options, Python code of many kinds, links and images with odd
paths, many cells; then, some of them, mutated byte by byte. No kernel runs: code cells get no
outputs, and every post is written, as a build with --keep-going writes them.

The suite's run is bounded (the `suite` profile in conftest.py); a long run:
`pytest --hypothesis-profile=long tests/test_fuzz.py`. Inputs that failed once are kept below as
@example, beside Hypothesis's own database."""

import tempfile
from pathlib import Path

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from conftest import static_build

# Hypothesis writes out the strategy below, 35 kB of it, when it reports statistics.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

# Text an author, a copy-paste or an editor may put anywhere.
ODD = [
    "\t",
    "\r\n",
    "\r",
    "\ufeff",
    "\u2028",
    "\u00e9",
    "e\u0301",
    "日本",
    "\U0001f600",
    "\x01",
    "\x7f",
    "\ufffe",
    "<script>",
    "&amp;",
    "{{ x }}",
    "{% if %}",
    "%",
    ":",
    "#",
    "`",
    "```",
    "~~~",
    "---",
    "...",
    "\\",
    '"',
    "'",
    "..",
    "/",
    "a" * 300,
]
# NUL aside: the read stage refuses a post that holds one (byte mutations below insert some)
odd_text = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=12),
        st.sampled_from(ODD),
    ),
    max_size=6,
).map("".join)
# What a double-quoted YAML string can hold that the file cannot: escapes to any code point.
YAML_ESCAPES = ["\\ud800", "\\udfff", "\\0", "\\x01", "\\x85", "\\uFEFF", "\\N", "\\L", "\\t"]


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


yaml_scalar = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=True).map(str),
    st.sampled_from(["true", "no", "~", "null", ".inf", "2026-11-24", "2026-13-45", "0x1F"]),
    st.sampled_from(["2026-11-24T09:00:00Z", "!!binary aGk=", "!!python/object:os.system x"]),
    odd_text.map(_quoted),
    st.lists(st.sampled_from(YAML_ESCAPES + ["a", " "]), min_size=1, max_size=4).map(
        lambda parts: '"' + "".join(parts) + '"'
    ),
    st.text(alphabet="abc -_:#&*!|>'\"%@`", max_size=10),
)
yaml_value = st.recursive(
    yaml_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.dictionaries(st.sampled_from(["a", "b", "? c", "<<"]), inner, max_size=3).map(
            lambda items: "{" + ", ".join(f"{k}: {v}" for k, v in items.items()) + "}"
        ),
    ),
    max_leaves=8,
)
deep_yaml = st.tuples(st.sampled_from(["[", "{a: ", "- "]), st.integers(1, 1500)).map(
    lambda pair: pair[0] * pair[1] + "x" + {"[": "]", "{a: ": "}", "- ": ""}[pair[0]] * pair[1]
)
front_key = st.sampled_from(
    ["title", "date", "tags", "summary", "description", "isolate", "slug", "draft", "x", "a b"]
)
front_line = st.one_of(
    st.tuples(front_key, st.one_of(yaml_value, deep_yaml)).map(lambda kv: f"{kv[0]}: {kv[1]}"),
    st.tuples(front_key, st.lists(yaml_value, max_size=3)).map(
        lambda kv: f"{kv[0]}:" + "".join(f"\n  - {v}" for v in kv[1])
    ),
    st.sampled_from(["slug: " + "s" * 260, "tags: [C++, C#]", "tags: [a, A]", "&a b: *a", "- x"]),
    odd_text,
)
closed_front_matter = st.lists(front_line, max_size=6).map(
    lambda lines: "---\n" + "\n".join(lines) + "\n---\n"
)
front_matter = st.one_of(
    st.just(""),
    closed_front_matter,
    closed_front_matter,
    closed_front_matter,
    st.just("---\ntitle: never closed\n"),
)

# Python code: pieces of many kinds, and pathological ones.
PYTHON = [
    "x = 1",
    "print(x)",
    "import keras\nmodel = keras.Sequential([keras.layers.Dense(1)])",
    "from keras import layers\nlayers.Dense(2)",
    "model.compile(loss='mse')\nmodel.fit(x_train, y_train)",
    "match x:\n    case [a, *rest]:\n        print(a)\n    case _:\n        pass",
    "if (n := 10) > 5:\n    print(n)",
    "@decorator\ndef f(*a, **k):\n    return a",
    "async def g():\n    await h()\n    async for i in j():\n        yield i",
    "class C(Base, metaclass=M):\n    x: int = 1",
    "lambda: (yield)",
    "def f(\n",
    "x = [1, 2",
    "return 1",
    "%matplotlib inline",
    "!pip install x",
    "x = %time f()",
    "exec('x = 1')",
    "from kernelblog.datasets import images",
    "from kernelblog.datasets import *",
    "global q",
    "del x",
    "ñame = 1\nπ = 3.14\nprint(ñame + π)",
    "s = 'a\\\\'",
    "f'{x!r:>{width}}'",
    "x = 1 if y else 2",
    "raise ValueError('x')",
    "open('data/file.csv').read()",
    "import os; os.system('true')",
    "\tx = 1",
    "x = 1\n\n\n",
    "\\",
]
expression_piece = st.sampled_from(["x", "1", "f(x)", "-", "not ", "(", "[", "+", "*", "lambda: "])
python_code = st.one_of(
    st.sampled_from(PYTHON),
    st.lists(st.sampled_from(PYTHON), min_size=1, max_size=4).map("\n".join),
    st.tuples(st.sampled_from(["not ", "-", "1+", "(", "[", "f("]), st.integers(1, 30_000)).map(
        lambda pair: "x = " + pair[0] * pair[1] + "1"
    ),
    st.lists(expression_piece, max_size=30).map(lambda parts: "y = " + "".join(parts)),
    st.integers(1, 20_000).map(lambda n: "s = '" + "a" * n + "'"),
    odd_text,
)
option_value = st.one_of(
    st.sampled_from(['"images"', '"images(classes=6)"', "10", "-1", "1e999", "true", '"model"']),
    st.sampled_from(['"ValueError"', "[1, 2]", '"a b"', "{", '"', "x=", '"\\ud800"']),
    odd_text.map(_quoted),
)
option = st.tuples(
    st.sampled_from(["data", "timeout", "after", "raises", "caption", "alt", "echo", "fold", "q"]),
    option_value,
).map(lambda kv: f"{kv[0]}={kv[1]}")
fence_info = st.one_of(
    st.sampled_from(["python", "py", "ipython3", "Python", "", "text", "{python}", "python {"]),
    st.lists(option, max_size=3).map(lambda options: " ".join(["python", *options])),
)
fence = st.one_of(
    st.tuples(st.sampled_from(["```", "~~~", "````"]), fence_info, python_code).map(
        lambda f: f"{f[0]}{f[1]}\n{f[2]}\n{f[0]}"
    ),
    st.tuples(fence_info, python_code).map(lambda f: f"```{f[0]}\n{f[1]}"),  # never closed
    st.tuples(fence_info, python_code).map(lambda f: f"- item\n\n  ```{f[0]}\n  {f[1]}\n  ```"),
    st.tuples(fence_info, python_code).map(lambda f: f"> ```{f[0]}\n> {f[1]}\n> ```"),
    python_code.map(lambda code: f"````markdown\n```python\n{code}\n```\n````"),
)
odd_path = st.one_of(
    st.sampled_from(["a.png", "../x.png", "/etc/passwd", "a%2F..%2F..%2Fb.png", "%ZZ", "#frag"]),
    st.sampled_from(["data:image/png;base64,AAAA", "javascript:alert(1)", "a b.png", "?q=1"]),
    st.sampled_from(["<a.png>", "a\\).png", "C:\\x.png", "~/x.png", "./", ".", "", "//host/a"]),
    st.integers(1, 5000).map(lambda n: "a" * n + ".png"),
    st.integers(1, 2100).map(lambda n: "a/" * n + "b.png"),
    odd_text,
)
prose = st.one_of(
    odd_text,
    st.sampled_from(["# Title", "Prose with `{python} x` inline.", "`{python} 1/0`", "$$x$$"]),
    st.sampled_from(["<img src='a.png'>", "<script>x</script>", "| a |\n|---|\n| b |", "***"]),
    st.tuples(st.sampled_from(["![", "["]), odd_text, odd_path).map(
        lambda p: f"{p[0]}{p[1]}]({p[2]})"
    ),
    odd_path.map(lambda path: f'<img src="{path}">'),
)
post_text = st.tuples(front_matter, st.lists(st.one_of(prose, fence), max_size=12)).map(
    lambda post: post[0] + "\n" + "\n\n".join(post[1]) + "\n"
)


@st.composite
def mutated(draw, posts=post_text):
    """A generated post's UTF-8 bytes with a few bytes replaced, inserted or removed."""
    data = bytearray(draw(posts).encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        what = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.sampled_from([0, 0x0A, 0x0D, 0x2D, 0x60, 0x7E, 0x80, 0xC3, 0xFF, 0x22]))
        if what == "insert":
            data[at:at] = bytes([byte])
        elif at < len(data):
            data[at : at + 1] = bytes([byte]) if what == "replace" else b""
    return bytes(data)


post_utf8 = post_text.map(lambda text: text.encode("utf-8"))
# A post folder: a few generated posts, or one mutated (any post that cannot be read stops all)
post_folder = st.one_of(
    st.lists(post_utf8, min_size=1, max_size=3),
    st.lists(post_utf8, min_size=1, max_size=3),
    mutated().map(lambda data: [data]),
)


def check_static_stages(posts: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "posts").mkdir()
        for number, data in enumerate(posts):
            (folder / "posts" / f"post-{number}.md").write_bytes(data)
        found = static_build(folder)  # raises, failing the test, on anything but bad input
        for diagnostic in found:
            text = str(diagnostic)  # printable, as the build prints it
            text.encode("utf-8")
            assert diagnostic.severity in ("error", "warning"), text
            assert Path(diagnostic.path).parent in (folder, folder / "posts"), text
        written = (folder / "site" / "index.html").is_file()
        event("site written" if written else "stopped at bad input")
        if not any(diagnostic.severity == "error" for diagnostic in found[-1:]):
            assert written, found


@given(post_folder)
@example([b'---\ntitle: "\\ud800"\n---\n\nProse.\n'])
@example([b"---\na: " + b"[" * 1000 + b"]" * 1000 + b"\n---\n"])
@example([b"```python\nx = " + b"not " * 20_000 + b"1\n```\n"])
@example([b"```python\nx = " + b"1+" * 30_000 + b"1\n```\n"])
@example([b"![a](" + b"a" * 300 + b".png)\n"])
@example([b"---\nslug: " + b"s" * 300 + b"\n---\n"])
@example([b"---\ntags: [C++]\n---\n", b"---\ntags: [C#]\n---\n"])
@example([b"---\n\n---\n\n```python\nx = " + b"1+" * 4128 + b"1\n```\n"])  # found by it
def test_the_static_stages_end_in_diagnostics_or_pages(posts):
    check_static_stages(posts)
