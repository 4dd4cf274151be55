"""Read stage: front matter, cells, fence options and line numbers."""

import datetime

import pytest

from conftest import write_post
from kernelblog.diagnostics import BadInput
from kernelblog.fence import FenceOptions
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
    assert kinds == [
        ("markdown", 9),
        ("code", 11),
        ("markdown", 15),
        ("markdown", 19),
        ("code", 23),
    ]
    assert post.cells[1].options == FenceOptions(data="images", timeout=30)
    assert post.cells[1].source == "x = 1"
    assert post.cells[2].source == "```bash\nls\n```"  # other languages stay prose


def test_without_front_matter_title_is_first_heading(tmp_path):
    post = read_post(
        write_post(tmp_path, "my-post.md", "Some text.\n\n# The Title\n\n```python\n1\n```\n")
    )
    assert (post.meta.title, post.slug, post.meta.date) == ("The Title", "my-post", None)
    assert post.code_cells[0].line == 5


@pytest.mark.parametrize(
    "front, line, message",
    [
        ("title: [unclosed\n", 3, "not valid YAML"),
        ("- a list\n", 2, "must be a mapping"),
        ("title: T\ndate: yesterday\n", 3, "'date' must be a date"),
        ("title: T\ntags: keras\n", 3, "'tags' must be a list"),
        ("title: T\nslug: ../escape\n", 3, "slug '../escape'"),
        ("title: T\ndate: 2026-13-45\n", 3, "month must be in 1..12"),
        ("{title: [1]}\n", 2, "'title' must be a string"),
    ],
)
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
    assert [str(w).split(": ", 1)[1] for w in post.warnings] == [
        "warning: unknown fence option 'colour' is ignored"
    ]
    assert post.code_cells[0].options == FenceOptions()


def test_not_utf8(tmp_path):
    path = tmp_path / "p.md"
    path.write_bytes(b"# T\n\ncaf\xe9\n")
    with pytest.raises(BadInput, match="p.md:3: error: the post is not valid UTF-8"):
        read_post(path)


def code_lines(tmp_path, text):
    post = read_post(write_post(tmp_path, "p.md", text))
    warnings = [f"{w.line}: {w.severity}: {w.message}" for w in post.warnings]
    return [(cell.line, cell.source) for cell in post.code_cells], warnings


@pytest.mark.parametrize(
    "text, cells",
    [
        ("# T\n\n```python\nx = 1\n\n```\n", [(3, "x = 1")]),  # blank line before the closing fence
        ("# T\n\n```python\nx = 1\n```", [(3, "x = 1")]),  # no trailing newline
        ("# T\r\n\r\n```python\r\nx = 1\r\n```\r\n", [(3, "x = 1")]),  # CRLF
        (
            "```text\nx = 1\n```\n\n```python\nx = 1\n```\n",
            [(5, "x = 1")],
        ),  # same code in a text fence first
        (
            "````markdown\n```python\ny = 2\n```\n````\n\n```python\nx = 1\n```\n",
            [(7, "x = 1")],
        ),  # nested
        ("\ufeff# T\n\n```python\nx = 1\n```\n", [(3, "x = 1")]),  # byte-order mark
    ],
)
def test_fences_are_found_where_they_are(tmp_path, text, cells):
    assert code_lines(tmp_path, text)[0] == cells


@pytest.mark.parametrize(
    "text, warning",
    [
        (
            "# T\n\n~~~python\nx = 1\n~~~\n",
            "3: warning: this python fence will not run: use ``` fences",
        ),
        (
            "# T\n\n```py\nx = 1\n```\n",
            "3: warning: this python fence will not run: tag it ```python",
        ),
        (
            "# T\n\n- item\n\n  ```python\n  x = 1\n  ```\n",
            "5: warning: this python fence will not run: it is inside a list or a quote",
        ),
    ],
)
def test_python_fences_that_do_not_run_are_warned_about(tmp_path, text, warning):
    cells, warnings = code_lines(tmp_path, text)
    assert cells == [] and warnings == [warning]


def test_no_warning_for_jupytext_own_metadata(tmp_path):
    cells, warnings = code_lines(tmp_path, "# T\n\n```python\nx = 1\n```\ntext right after\n")
    assert cells == [(3, "x = 1")] and warnings == []


@pytest.mark.parametrize(
    "options, message",
    [
        ('tags="x"', "jupytext cannot read this post"),
        ('timeout="abc"', "timeout must be a positive number"),
        ("timeout=0", "timeout must be a positive number"),
        ("timeout=1e999", "timeout must be a positive number"),
        ("timeout=NaN", "timeout must be a positive number"),
        ("data=3", "data must be a string"),
    ],
)
def test_bad_fence_option_values(tmp_path, options, message):
    with pytest.raises(BadInput, match=message):
        read_post(write_post(tmp_path, "p.md", f"# T\n\n```python {options}\nx = 1\n```\n"))


def test_timeout_is_rounded_up_to_whole_seconds(tmp_path):
    post = read_post(write_post(tmp_path, "p.md", "# T\n\n```python timeout=2.5\nx = 1\n```\n"))
    assert post.code_cells[0].options == FenceOptions(timeout=3)


def test_inline_values_skip_fences_and_double_backticks(tmp_path):
    text = "# T\n\n   \nA `{python} a` and ``x `{python} b` y``.\n\n```\n`{python} c`\n```\n"
    post = read_post(write_post(tmp_path, "p.md", text))
    [(expression, line)] = [
        (v.expression, v.line) for cell in post.cells for v in cell.inline_values()
    ]
    assert (expression, line) == ("a", 4)


def test_untagged_fences_are_cells_of_their_own(tmp_path):
    path = write_post(
        tmp_path,
        "p.md",
        "# T\n\nText.\n\n```\nm = Dense(1)\n```\n\nMore.\n\n- item\n\n  ```\n  x = 1\n  ```\n",
    )
    cells = read_post(path).cells
    assert [(c.kind, c.line, c.untagged) for c in cells] == [
        ("markdown", 1, None),
        ("markdown", 5, "m = Dense(1)"),
        ("markdown", 9, None),
    ]


@pytest.mark.parametrize(
    "body, line",
    [
        ("Text.\n\n![figure](../../outside.png)\n", 5),
        ("Text\nand <img src='../../../etc/passwd'>\n", 4),
        ("![a](%2e%2e/%2e%2e/x.png)\n", 3),
    ],
)
def test_image_path_escaping_the_site_is_an_error(tmp_path, body, line):
    path = write_post(tmp_path, "p.md", f"# T\n\n{body}")
    with pytest.raises(BadInput) as error:
        read_post(path)
    assert str(error.value.diagnostic).startswith(f"{path}:{line}: error: image path ")
    assert "escapes the site folder" in error.value.diagnostic.message


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ", "../elsewhere.md"])
def test_post_symlinked_out_of_the_posts_folder_is_an_error_at_its_path(tmp_path, target):
    (tmp_path / "elsewhere.md").write_text("# Elsewhere\n")
    (tmp_path / "posts").mkdir()
    post = tmp_path / "posts" / "evil.md"
    post.symlink_to(target)
    with pytest.raises(BadInput) as error:
        read_post(post)
    assert str(error.value.diagnostic).startswith(f"{post}: error: the post is a symlink to ")
    assert "outside the posts folder" in error.value.diagnostic.message


def test_image_symlinked_out_of_the_posts_folder_is_an_error_at_its_line(tmp_path):
    path = write_post(tmp_path, "p.md", "# T\n\nText.\n\n![secret](keys.png)\n")
    (tmp_path / "keys.png").symlink_to("/etc/hostname")
    with pytest.raises(BadInput) as error:
        read_post(path)
    assert str(error.value.diagnostic).startswith(
        f"{path}:5: error: image 'keys.png' is a symlink to /etc/hostname"
    )


def test_symlinks_inside_the_posts_folder_are_fine(tmp_path):
    write_post(tmp_path, "real.md", "# Real\n\n![a](fig.png)\n")
    (tmp_path / "fig.png").write_bytes(b"png")
    (tmp_path / "alias.md").symlink_to("real.md")
    assert read_post(tmp_path / "alias.md").meta.title == "Real"


def test_nul_byte_is_an_error_at_its_line(tmp_path):
    path = write_post(tmp_path, "p.md", "# T\n\n```python\nx = 1\ny = 'a\0b'\n```\n")
    with pytest.raises(BadInput) as error:
        read_post(path)
    expected = rf"{path}:5: error: the post contains a NUL byte (\0), which a text file never holds"
    assert str(error.value.diagnostic) == expected


def test_image_paths_inside_the_site_or_elsewhere_are_fine(tmp_path):
    text = (
        "# T\n\n![a](fig.png) ![b](../other-post/fig.png) ![c](https://example.com/../../x.png)\n\n"
        "```html\n<img src='../../../in-a-code-block.png'>\n```\n"
    )
    (tmp_path / "fig.png").write_bytes(b"png")  # a local image must exist: see below
    assert read_post(write_post(tmp_path, "p.md", text)).slug == "p"


def test_fences_in_other_languages_only(tmp_path):
    post = read_post(
        write_post(tmp_path, "p.md", "# T\n\n```bash\nls\n```\n\n```html\n<b>x</b>\n```\n")
    )
    assert [(cell.kind, cell.line) for cell in post.cells] == [
        ("markdown", 1),
        ("markdown", 3),
        ("markdown", 7),
    ]


def test_raises_option_names_an_exception(tmp_path):
    post = read_post(
        write_post(tmp_path, "p.md", '# T\n\n```python raises="ValueError"\nint("x")\n```\n')
    )
    assert post.code_cells[0].options == FenceOptions(raises="ValueError")
    with pytest.raises(
        BadInput, match=r"p.md:3: error: fence option raises must name an exception"
    ):
        read_post(write_post(tmp_path, "p.md", '# T\n\n```python raises="not a name"\nx\n```\n'))


def test_caption_and_alt_are_strings_or_one_per_figure(tmp_path):
    text = (
        '# T\n\n```python caption="Accuracy, per epoch" '
        'alt=["a curve", "a \\"table\\""]\nx = 1\n```\n'
    )
    post = read_post(write_post(tmp_path, "p.md", text))
    assert post.code_cells[0].options == FenceOptions(
        caption="Accuracy, per epoch", alt=("a curve", 'a "table"')
    )
    assert not post.warnings


@pytest.mark.parametrize(
    "options", ["caption=3", 'caption=""', "alt=[]", 'alt=["ok", 2]', 'caption="  "']
)
def test_bad_caption_or_alt_is_an_error_at_the_fence(tmp_path, options):
    key = options.split("=")[0]
    with pytest.raises(
        BadInput, match=rf"p.md:3: error: fence option {key} must be a non-empty string"
    ):
        read_post(write_post(tmp_path, "p.md", f"# T\n\n```python {options}\nx = 1\n```\n"))


def test_echo_and_fold_are_true_or_false(tmp_path):
    text = "# T\n\n```python echo=false fold=true\nx = 1\n```\n"
    post = read_post(write_post(tmp_path, "p.md", text))
    assert post.code_cells[0].options == FenceOptions(echo=False, fold=True)
    assert read_post(write_post(tmp_path, "p.md", "# T\n\n```python\nx\n```\n")).code_cells[
        0
    ].options == FenceOptions(echo=True, fold=False)
    for options in ['echo="no"', "fold=1", "echo=null"]:
        key = options.split("=")[0]
        with pytest.raises(
            BadInput, match=rf"p.md:3: error: fence option {key} must be true or false"
        ):
            read_post(write_post(tmp_path, "p.md", f"# T\n\n```python {options}\nx = 1\n```\n"))
