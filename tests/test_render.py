"""Render stage: the page from a completed post and hand-made outputs (no kernel)."""

import base64

from nbformat.v4 import new_output

from conftest import write_post
from kernelblog.complete import complete_post
from kernelblog.execute import ExecutedPost
from kernelblog.read import read_post
from kernelblog.render import environment, render_index, render_post

POST = """---
title: Render <me>
date: 2026-11-02
---

Some *prose*.

```python data="tabular"
layer = Dense(2)
print(x_train.shape)
```

```python
plt.plot([1, 2])
```
"""


def rendered(tmp_path, index, outputs):
    completed = complete_post(read_post(write_post(tmp_path, "p.md", POST)), index)
    notebook = completed.notebook()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell, cell_outputs in zip(code[1:], outputs):
        cell.execution_count = 1
        cell.outputs = cell_outputs
    return completed, render_post(completed, ExecutedPost(notebook, seconds=1.5), environment())


def test_page_shows_added_imports_setup_code_and_outputs(tmp_path, index):
    png = b"\x89PNG\r\n\x1a\nfake"
    _, page = rendered(tmp_path, index, [
        [new_output("stream", name="stdout", text="(800, 8)\n<script>alert(1)</script>\n")],
        [new_output("display_data", data={"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"})],
    ])
    html = page.html
    assert "Render &lt;me&gt;" in html
    assert "<em>prose</em>" in html
    assert 'class="code added"' in html and "added by the build" in html
    assert "Data setup inserted by the build" in html
    assert "(800, 8)" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    [(name, data)] = page.files.items()
    assert data == png and f'src="{name}"' in html
    assert "Not run" not in html


def test_cells_that_did_not_run_are_marked(tmp_path, index):
    completed, page = rendered(tmp_path, index, [])
    assert page.html.count("Not run: an earlier cell failed.") == 2


def test_index_lists_posts_newest_first(tmp_path, index):
    older = read_post(write_post(tmp_path, "a.md", "---\ntitle: Older\ndate: 2026-01-01\n---\n"))
    newer = read_post(write_post(tmp_path, "b.md", "---\ntitle: Newer\ndate: 2026-06-01\n---\n"))
    html = render_index([older, newer], environment())
    assert html.index("Newer") < html.index("Older")
    assert 'href="b/index.html"' in html


def test_prose_keeps_footnote_ids_and_table_alignment_but_not_scripts():
    from kernelblog.render import markdown_html
    html = markdown_html("Text[^1] <span onclick='x()'>a</span>\n\n| a |\n|--:|\n| 1 |\n\n[^1]: Note.\n\n"
                         "<script>alert(1)</script>\n\n[link](javascript:alert(1))")
    assert 'id="fn-1"' in html and 'href="#fn-1"' in html
    assert 'style="text-align:right"' in html
    assert "<script" not in html and "alert(1)</script>" not in html and "onclick" not in html
    assert 'href="javascript' not in html


def test_inline_values_are_text_not_markdown():
    from kernelblog.render import markdown_html
    assert str(markdown_html("x KBX0 y", {"KBX0": "2*3*4 <b>"})) == "<p>x 2*3*4 &lt;b&gt; y</p>\n"
