"""Execute stage in a real kernel: errors at the right .md line, --keep-going, --check, timeouts."""

import pytest

from conftest import write_post
from kernelblog.pipeline import Options, build

pytestmark = pytest.mark.slow

FAILING = """# Failing

```python
def divide(v):
    return v / zero

zero = 0
print("before")
divide(1)
```

```python
print("never runs")
```
"""
GOOD = """---
title: Good
---

```python
print("hello from the kernel")
plt.plot([0, 1], [1, 0])
plt.show()
```
"""


def options(tmp_path, **kwargs):
    return Options(
        posts=tmp_path / "posts",
        out=tmp_path / "site",
        snippets=tmp_path / "snippets",
        cache=tmp_path / "cache",
        **kwargs,
    )


@pytest.fixture
def posts(tmp_path):
    failing = write_post(tmp_path / "posts", "failing.md", FAILING)
    write_post(tmp_path / "posts", "good.md", GOOD)
    return failing


def test_runtime_error_points_at_the_markdown_line(tmp_path, posts):
    lines = []
    assert build(options(tmp_path), lines.append) == 1
    assert f"{posts}:9: error: ZeroDivisionError: division by zero" in lines
    assert not (tmp_path / "site").exists()


def test_keep_going_writes_the_site_with_the_error_on_the_page(tmp_path, posts):
    lines = []
    assert build(options(tmp_path, keep_going=True), lines.append) == 1
    failing = (tmp_path / "site" / "failing" / "index.html").read_text()
    assert "ZeroDivisionError" in failing and "before" in failing
    assert (
        "never runs" in failing and "Not run" not in failing
    )  # --keep-going runs the rest of the post
    good = (tmp_path / "site" / "good" / "index.html").read_text()
    assert "hello from the kernel" in good
    assert list((tmp_path / "site" / "good").glob("*.png"))
    assert (tmp_path / "snippets" / "good.py").exists()


def test_check_writes_nothing(tmp_path):
    write_post(tmp_path / "posts", "good.md", GOOD)
    assert build(options(tmp_path, check=True), lambda line: None) == 0
    assert not (tmp_path / "site").exists() and not (tmp_path / "snippets").exists()


def test_timeout_fails_the_cell_at_the_line_it_was_running(tmp_path):
    post = write_post(
        tmp_path / "posts", "slow.md", "# Slow\n\n```python\nimport time\ntime.sleep(60)\n```\n"
    )
    lines = []
    assert build(options(tmp_path, timeout=3), lines.append) == 1
    assert lines == [f"{post}:5: error: the cell timed out after 3 s"]


INLINE = """# Inline values

```python
accuracy = 0.8771
```

The model reached `{python} f"{accuracy:.1%}"` accuracy,
and `{python} 6 * 7` is the answer. Not Markdown: `{python} "2*3*4"`;
printing is harmless: `{python} print("noise") or "quiet"`.

A bad value: `{python} 1 / 0`.
"""


def test_inline_values_in_prose_come_from_the_kernel(tmp_path):
    post = write_post(
        tmp_path / "posts", "inline.md", INLINE.replace("A bad value: `{python} 1 / 0`.\n", "")
    )
    assert build(options(tmp_path), lambda line: None) == 0
    page = (tmp_path / "site" / "inline" / "index.html").read_text()
    assert "reached 87.7% accuracy" in page and "42 is the answer" in page
    assert "Not Markdown: 2*3*4;" in page and "harmless: quiet." in page
    assert "_kernelblog_inline" not in (tmp_path / "snippets" / "inline.py").read_text()
    assert post.exists()


def test_failing_inline_value_is_an_error_at_its_line(tmp_path):
    post = write_post(tmp_path / "posts", "inline.md", INLINE)
    lines = []
    assert build(options(tmp_path), lines.append) == 1
    assert lines == [f"{post}:11: error: ZeroDivisionError: division by zero"]


def test_inline_value_across_lines_is_located_at_its_own_line(tmp_path):
    post = write_post(
        tmp_path / "posts", "wrap.md", "# W\n\nFirst `{python} 1 +\n2` then `{python} 1 / 0`.\n"
    )
    lines = []
    assert build(options(tmp_path), lines.append) == 1
    assert lines == [f"{post}:4: error: ZeroDivisionError: division by zero"]


def test_execute_post_runs_a_post_in_one_kernel(tmp_path, posts, index):
    """execute_post, outside the build: outputs on the notebook, the first failure at its line."""
    from kernelblog.complete import complete_post
    from kernelblog.execute import execute_post
    from kernelblog.read import read_post

    numbers = write_post(tmp_path / "posts", "numbers.md", "# N\n\n```python\nprint(6 * 7)\n```\n")
    done = execute_post(complete_post(read_post(numbers), index))
    assert done.failure is None
    assert "42\n" in [
        output.get("text") for cell in done.notebook.cells for output in cell.get("outputs", [])
    ]
    failed = execute_post(complete_post(read_post(posts), index))
    assert str(failed.failure) == f"{posts}:9: error: ZeroDivisionError: division by zero"
