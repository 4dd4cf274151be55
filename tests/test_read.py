"""Read stage: front matter, cells, fence options and line numbers."""

import datetime

import pytest

from conftest import write_post
from kernelblog.diagnostics import BadInput
from kernelblog.read import read_post

POST = """---
title: Hello
date: 2026-11-01
tags: [keras, cnn]
summary: One line.
slug: hello-world
---

Intro paragraph.

```python data="images" timeout=30
x = 1
```

```bash
ls
```

```
plain
```

```python
print(x)
```
"""


def test_front_matter_and_cells(tmp_path):
    post = read_post(write_post(tmp_path, "p.md", POST))
    assert post.slug == "hello-world"
    assert post.meta.title == "Hello"
    assert post.meta.date == datetime.date(2026, 11, 1)
    assert post.meta.tags == ("keras", "cnn")
    kinds = [(cell.kind, cell.line) for cell in post.cells]
    assert kinds == [("markdown", 9), ("code", 11), ("markdown", 15), ("markdown", 19), ("code", 23)]
    assert post.cells[1].options == {"data": "images", "timeout": 30}
    assert post.cells[1].source == "x = 1"
    assert post.cells[2].source == "```bash\nls\n```"  # other languages stay prose


def test_without_front_matter_title_is_first_heading(tmp_path):
    post = read_post(write_post(tmp_path, "my-post.md", "Some text.\n\n# The Title\n\n```python\n1\n```\n"))
    assert (post.meta.title, post.slug, post.meta.date) == ("The Title", "my-post", None)
    assert post.code_cells[0].line == 5


@pytest.mark.parametrize("front, line, message", [
    ("title: [unclosed\n", 3, "not valid YAML"),
    ("- a list\n", 2, "must be a mapping"),
    ("title: T\ndate: yesterday\n", 3, "'date' must be a date"),
    ("title: T\ntags: keras\n", 3, "'tags' must be a list"),
    ("title: T\nslug: ../escape\n", 1, "slug '../escape'"),
])
def test_bad_front_matter_is_an_error_at_its_line(tmp_path, front, line, message):
    path = write_post(tmp_path, "p.md", f"---\n{front}---\n\ntext\n")
    with pytest.raises(BadInput) as error:
        read_post(path)
    assert error.value.diagnostic.line == line
    assert message in error.value.diagnostic.message
    assert str(error.value.diagnostic).startswith(f"{path}:{line}: error: ")


def test_unreadable_fence_options(tmp_path):
    path = write_post(tmp_path, "p.md", "# T\n\n```python data=images(n=3)\nx\n```\n")
    with pytest.raises(BadInput, match=r"p.md:3: error: cannot read fence options"):
        read_post(path)


def test_unknown_fence_option_warns(tmp_path):
    post = read_post(write_post(tmp_path, "p.md", '# T\n\n```python colour="red"\nx = 1\n```\n'))
    assert [str(w).split(": ", 1)[1] for w in post.warnings] == ["warning: unknown fence option 'colour' is ignored"]
    assert post.code_cells[0].options == {}


def test_not_utf8(tmp_path):
    path = tmp_path / "p.md"
    path.write_bytes(b"# T\n\ncaf\xe9\n")
    with pytest.raises(BadInput, match="p.md:3: error: the post is not valid UTF-8"):
        read_post(path)
