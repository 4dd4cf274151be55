"""Render stage: the page from a completed post and hand-made outputs (no kernel)."""

import base64

import html5lib
import pytest
from nbformat.v4 import new_output

from conftest import executed_with, png, write_post
from kernelblog.complete import complete_post
from kernelblog.execute import ExecutedPost
from kernelblog.layout import index_pages
from kernelblog.read import read_post
from kernelblog.render import environment, markdown_html, mathml, render_index, render_post

POST = """---
title: Render <me>
date: 2026-11-02
tags: [keras, Deep Learning]
---

Some *prose* with $x^2$ in it.

## Data

```python data="tabular"
layer = Dense(2)
print(x_train.shape)
```

## Data

```python
plt.plot([1, 2])
```
"""


def rendered(tmp_path, index, outputs, text=POST):
    completed = complete_post(read_post(write_post(tmp_path, "p.md", text)), index)
    return completed, render_post(completed, executed_with(completed, outputs), environment())


def parse(page_html: str):
    """The page as an element tree; fails on any HTML5 parse error."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page_html)


def classes(element) -> set[str]:
    return set(element.get("class", "").split())


def text_of(element) -> str:
    return "".join(element.itertext())


FIGURE = [
    new_output(
        "display_data",
        data={
            "image/png": base64.b64encode(png(64, 48)).decode(),
            "text/plain": "<Figure size 640x480 with 2 Axes>",
        },
    )
]


def test_page_shows_added_imports_setup_code_and_outputs(tmp_path, index):
    _, page = rendered(
        tmp_path,
        index,
        [
            [new_output("stream", name="stdout", text="(800, 8)\n<script>alert(1)</script>\n")],
            FIGURE,
        ],
    )
    html = page.html
    parse(html)
    assert "Render &lt;me&gt;" in html
    assert "<em>prose</em>" in html
    assert 'class="added"' in html and "Imports added by the build" in html
    assert (
        '<details class="added data-setup" data-pagefind-ignore><summary>Data added by the build'
        in html
    )
    assert "(800, 8)" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    [(name, data)] = page.files.items()
    assert data == png(64, 48)
    assert (
        f'<img src="{name}" alt="Figure 1, drawn by the code above, in 2 panels" '
        'width="64" height="48">' in html
    )
    assert "Not run" not in html


def test_copy_source_is_the_code_as_it_ran(tmp_path, index):
    """The copy button copies the text of the cell's code blocks joined by newlines: that is
    CompletedCell.code, imports and data setup included."""
    completed, page = rendered(tmp_path, index, [[], []])
    cells = [cell for cell in parse(page.html).iter("div") if "cell" in classes(cell)]
    code = [done.code for done in completed.cells if done.cell.kind == "code"]
    assert len(cells) == len(code) == 2
    for cell, expected in zip(cells, code):
        blocks = [pre for pre in cell.iter("pre") if "code" in classes(pre)]
        assert "\n".join(text_of(pre) for pre in blocks) == expected
    assert "x_train" in code[0] and "import" in code[0]


def test_setup_inferred_among_the_authors_lines_shows_its_note(tmp_path, index):
    from kernelblog.complete import CompletedCell

    completed, _ = rendered(tmp_path, index, [[], []])
    first = next(number for number, done in enumerate(completed.cells) if done.cell.kind == "code")
    done = completed.cells[first]
    cells = list(completed.cells)
    cells[first] = CompletedCell(
        done.cell, done.imports, done.setup, setup_at=1, note="x_train (800, 8)"
    )
    completed = type(completed)(
        completed.post, completed.preamble, tuple(cells), completed.diagnostics
    )
    page = render_post(completed, executed_with(completed, [[], []]), environment())
    tree = parse(page.html)
    cell = next(cell for cell in tree.iter("div") if "cell" in classes(cell))
    assert "Data added by the build: x_train (800, 8)" in text_of(cell)
    blocks = [text_of(pre) for pre in cell.iter("pre") if "code" in classes(pre)]
    assert "\n".join(blocks) == cells[first].code
    assert blocks[1] == "layer = Dense(2)"  # the author's line before the setup


def test_cells_that_did_not_run_are_marked(tmp_path, index):
    completed = complete_post(read_post(write_post(tmp_path, "p.md", POST)), index)
    page = render_post(completed, ExecutedPost(completed.notebook()), environment())
    assert page.html.count("Not run: an earlier cell failed.") == 2


def test_contents_from_headings_with_unique_anchors(tmp_path, index):
    _, page = rendered(tmp_path, index, [[], []])
    tree = parse(page.html)
    headings = [h for h in tree.iter("h2") if h.get("id") in ("data", "data-2")]
    assert [h.get("id") for h in headings] == ["data", "data-2"]
    assert all(h.find("a").get("href") == "#" + h.get("id") for h in headings)
    toc = next(nav for nav in tree.iter("nav") if "toc" in classes(nav))
    assert [a.get("href") for a in toc.iter("a")] == ["#data", "#data-2"]


def test_long_text_outputs_are_marked_for_collapsing_and_errors_stand_apart(tmp_path, index):
    long_text = "".join(f"epoch {n}\n" for n in range(1, 101))
    error = new_output(
        "error",
        ename="ValueError",
        evalue="bad shape",
        traceback=["\x1b[31mValueError\x1b[0m: bad shape"],
    )
    _, page = rendered(
        tmp_path, index, [[new_output("stream", name="stdout", text=long_text)], [error]]
    )
    tree = parse(page.html)
    [long] = [pre for pre in tree.iter("pre") if pre.get("data-lines")]
    assert long.get("data-lines") == "100" and "epoch 100" in text_of(long)
    [shown] = [div for div in tree.iter("div") if {"output", "error"} <= classes(div)]
    assert text_of(shown).startswith("Error") and "ValueError: bad shape" in text_of(shown)
    assert "\x1b" not in page.html


def test_provenance_shows_when_versions_and_time_per_cell(tmp_path, index):
    import platform

    _, page = rendered(tmp_path, index, [[], []])
    html = page.html
    assert '<time datetime="2026-11-24T09:00:00+00:00">2026-11-24 09:00 UTC</time>' in html
    assert "in 1.5 s in all" in html
    assert (
        f"Python&nbsp;{platform.python_version()}" in html
        and "keras&nbsp;" in html
        and "tensorflow&nbsp;" in html
    )
    assert html.count("ran in 0.2 s") == 2  # 0.25 s by the cells' nbclient timestamps


def test_downloads_and_reading_time(tmp_path, index):
    _, page = rendered(tmp_path, index, [[], []])
    assert '<a href="p.py" download>p.py</a>' in page.html
    assert '<a href="p.ipynb" download>p.ipynb</a>' in page.html
    assert "1 min read" in page.html


def test_feed_content_is_the_article_without_controls(tmp_path, index):
    _, page = rendered(
        tmp_path, index, [[new_output("stream", name="stdout", text="(800, 8)\n")], FIGURE]
    )
    assert (
        "(800, 8)" in page.content and "<em>prose</em>" in page.content and "<math" in page.content
    )
    assert "<button" not in page.content and "<html" not in page.content


def test_index_cards_newest_first_with_tags_and_reading_time(tmp_path, index):
    older = read_post(write_post(tmp_path, "a.md", "---\ntitle: Older\ndate: 2026-01-01\n---\n"))
    newer = read_post(
        write_post(
            tmp_path,
            "b.md",
            "---\ntitle: Newer\ndate: 2026-06-01\ntags: [Deep Learning]\n"
            "summary: The summary.\n---\n" + "word " * 450,
        )
    )
    html = render_index(index_pages([older, newer])[0], environment())
    parse(html)
    assert html.index("Newer") < html.index("Older")
    assert 'href="b/index.html"' in html
    assert 'href="tags/deep-learning/index.html">Deep Learning</a>' in html
    assert "The summary." in html and "3 min read" in html and "1 June 2026" in html


def test_prose_keeps_footnote_ids_and_table_alignment_but_not_scripts():
    html = markdown_html(
        "Text[^1] <span onclick='x()'>a</span>\n\n| a |\n|--:|\n| 1 |\n\n[^1]: Note.\n\n"
        "<script>alert(1)</script>\n\n[link](javascript:alert(1))"
    )
    assert 'id="fn-1"' in html and 'href="#fn-1"' in html
    assert 'style="text-align:right"' in html
    assert "<script" not in html and "alert(1)</script>" not in html and "onclick" not in html
    assert 'href="javascript' not in html


def test_inline_values_are_text_not_markdown():
    assert str(markdown_html("x KBX0 y", {"KBX0": "2*3*4 <b>"})) == "<p>x 2*3*4 &lt;b&gt; y</p>\n"


def test_math_becomes_mathml_at_build_time():
    html = str(markdown_html("Inline $a_i^2$ and\n\n$$\\sum_{i=1}^n x_i$$\n\nprices $5 and $10."))
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in html
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in html
    assert "<msubsup><mi>a</mi><mi>i</mi><mn>2</mn></msubsup>" in html
    assert "<munderover><mo>∑</mo>" in html
    assert "prices $5 and $10." in html
    assert "$" not in html.replace("$5 and $10", "")


def test_math_is_sanitized_and_unknown_tex_shown_as_code():
    assert "<script" not in mathml("\\text{<script>alert(1)</script>}")
    assert "<a " not in mathml('\\text{<a href="javascript:x">y</a>}')
    assert mathml("\\frac{1}{", "block").startswith('<code class="math-error">')
    aligned = mathml("\\begin{aligned} a &= 1 \\\\ b &= 2 \\end{aligned}", "block")
    assert aligned.count("<mtr>") == 2 and "&amp;" not in aligned


def figure_post(options: str) -> str:
    return f"# T\n\nText.\n\n```python {options}\nplt.plot([1, 2])\n```\n"


def test_caption_goes_under_the_figure_and_alt_on_the_img(tmp_path, index):
    _, page = rendered(
        tmp_path,
        index,
        [FIGURE],
        figure_post('caption="Loss <falls>, then flattens" alt="A curve falling from 2 to 0.1"'),
    )
    [figure] = [f for f in parse(page.html).iter("figure")]
    [img] = figure.findall("img")
    [caption] = figure.findall("figcaption")
    assert img.get("alt") == "A curve falling from 2 to 0.1"
    assert text_of(caption) == "Loss <falls>, then flattens"  # text, escaped: not markup
    assert list(figure).index(caption) > list(figure).index(img)  # under the figure
    assert not page.warnings


def test_one_caption_per_figure_from_a_list(tmp_path, index):
    options = 'caption=["first", "second"] alt=["one", "two"]'
    _, page = rendered(tmp_path, index, [FIGURE + FIGURE], figure_post(options))
    figures = list(parse(page.html).iter("figure"))
    assert [(f.find("img").get("alt"), text_of(f.find("figcaption"))) for f in figures] == [
        ("one", "first"),
        ("two", "second"),
    ]


def test_figures_without_options_keep_the_generic_alt_and_no_caption(tmp_path, index):
    _, page = rendered(tmp_path, index, [FIGURE], figure_post(""))
    [figure] = list(parse(page.html).iter("figure"))
    assert figure.find("figcaption") is None
    assert figure.find("img").get("alt") == "Figure 1, drawn by the code above, in 2 panels"


@pytest.mark.parametrize(
    "options, figures, warning",
    [
        ('caption="x"', 0, "fence option caption has 1 text but the snippet drew 0 figures"),
        (
            'alt="x"',
            2,
            "fence option alt has 1 text but the snippet drew 2 figures "
            "(give a list, one per figure)",
        ),
        (
            'caption=["a", "b", "c"]',
            2,
            "fence option caption has 3 texts but the snippet drew 2 figures",
        ),
    ],
)
def test_captions_that_do_not_match_the_figures_are_warned_about_at_the_fence(
    tmp_path, index, options, figures, warning
):
    _, page = rendered(tmp_path, index, [FIGURE * figures], figure_post(options))
    assert [str(w).split(":", 1)[1] for w in page.warnings] == [f"5: warning: {warning}"]


def test_templates_are_compiled_again_when_a_template_changes(tmp_path, monkeypatch):
    import shutil

    from kernelblog.layout import TAGS, Links
    from kernelblog.render import share_card
    from kernelblog.settings import TEMPLATES, Settings

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    share = share_card(Settings(), TAGS, "Tags", "")
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    first = (
        environment(templates)
        .get_template("tags.html")
        .render(tags={}, site=Settings(), links=Links(TAGS), share=share)
    )
    assert not (tmp_path / "cache").exists()  # compiled templates are not kept
    (templates / "tags.html").write_text(
        (templates / "tags.html").read_text().replace("<h1>Tags", "<h1>All tags")
    )
    again = (
        environment(templates)
        .get_template("tags.html")
        .render(tags={}, site=Settings(), links=Links(TAGS), share=share)
    )
    assert "<h1>Tags</h1>" in first and again == first.replace("<h1>Tags", "<h1>All tags")


def cell_divs(page_html: str) -> list:
    return [div for div in parse(page_html).iter("div") if "cell" in classes(div)]


def test_echo_false_hides_the_code_but_shows_its_outputs_and_keeps_it_in_the_downloads(
    tmp_path, index
):
    from kernelblog.write import download_notebook, download_script_text, snippet_text

    text = (
        "# T\n\n```python echo=false\nhidden = 6 * 7\nprint(hidden)\n```\n\n"
        "```python\nshown = 1\n```\n"
    )
    completed, page = rendered(
        tmp_path, index, [[new_output("stream", name="stdout", text="42\n")], []], text
    )
    hidden, shown = cell_divs(page.html)
    assert not [div for div in hidden.iter("div") if "source" in classes(div)]
    assert not [pre for pre in hidden.iter("pre") if "code" in classes(pre)]
    assert "hidden = 6" not in page.html and "hidden = 6" not in page.content
    [output] = [pre for pre in hidden.iter("pre") if "output" in classes(pre)]
    assert text_of(output) == "42"
    assert [div for div in shown.iter("div") if "source" in classes(div)]  # the other cell shows
    executed = executed_with(completed, [[], []])
    notebook = download_notebook(completed, executed.notebook)
    assert any("hidden = 6 * 7" in cell.source for cell in notebook.cells)
    assert "hidden = 6 * 7" in download_script_text(completed, executed.notebook)
    assert "hidden = 6 * 7" in snippet_text(completed)


def test_fold_true_folds_the_code_in_a_closed_show_code_box_above_its_outputs(tmp_path, index):
    text = (
        "# T\n\n```python fold=true\nfolded = 6 * 7\nprint(folded)\n```\n\n```python\nx = 1\n```\n"
    )
    _, page = rendered(
        tmp_path, index, [[new_output("stream", name="stdout", text="42\n")], []], text
    )
    folded, plain = cell_divs(page.html)
    [details] = folded.findall("details")
    assert "fold" in classes(details) and details.get("open") is None
    assert text_of(details.find("summary")) == "Show code"
    [source] = [div for div in details.iter("div") if "source" in classes(div)]
    assert "folded = 6 * 7" in text_of(source)
    [outputs] = [div for div in folded.findall("div") if "outputs" in classes(div)]
    assert text_of(outputs).strip().endswith("42")  # beside the box, not in it
    assert not [d for d in plain.iter("details") if "fold" in classes(d)]
