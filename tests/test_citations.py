"""Citations: [@key] in prose, from a BibTeX file, numbered and linked to the references (no
kernel)."""

import re

import pytest

from conftest import check_html5, check_links, executed_with, write_post
from kernelblog.complete import complete_post
from kernelblog.diagnostics import BadInput
from kernelblog.read import read_post
from kernelblog.settings import Settings
from kernelblog.site import site_files
from kernelblog.write import write_site

BIB = """@article{hochreiter1997,
  author = {Hochreiter, Sepp and Schmidhuber, J{\\"u}rgen},
  title = {Long Short-Term Memory},
  journal = {Neural Computation},
  volume = {9}, number = {8}, pages = {1735--1780}, year = {1997}
}

@inproceedings{chen2020,
  author = {Chen, Ting and Kornblith, Simon},
  title = {A Simple Framework for Contrastive Learning of Visual Representations},
  booktitle = {ICML}, year = {2020}, url = {https://arxiv.org/abs/2002.05709}
}

@misc{unused2001, author = {Nobody, A.}, title = {Never cited}, year = {2001}}
"""
POST = """---
title: Cited
---

LSTMs [@hochreiter1997] keep a cell state; contrastive learning [@chen2020, p. 3] needs
no labels, and both are old news [@chen2020; @hochreiter1997, sec. 2].

`[@notakey]` in code is not a citation, and neither is [@chen2020](https://example.org/).
"""


def built(tmp_path, index, post=POST, bib=BIB):
    folder = tmp_path / "posts"
    write_post(folder, "references.bib", bib)
    completed = [complete_post(read_post(write_post(folder, "cited.md", post)), index)]
    executed = {"cited": executed_with(completed[0], [])}
    write_site(tmp_path / "site", site_files(Settings(), completed, executed))
    return (tmp_path / "site" / "cited" / "index.html").read_text()


def test_citations_are_numbered_links_to_the_references_in_the_order_first_cited(tmp_path, index):
    html = built(tmp_path, index)
    assert re.findall(r'<span class="citation">(.*?)</span>', html) == [
        '[<a href="#ref-1">1</a>]',
        '[<a href="#ref-2">2</a>, p. 3]',
        '[<a href="#ref-2">2</a>; <a href="#ref-1">1</a>, sec. 2]',
    ]
    listed = re.search(r'<h2 id="references">References</h2>\s*<ol>(.*?)</ol>', html, re.S)
    items = re.findall(r'<li id="ref-(\d)">(.*?)</li>', listed.group(1), re.S)
    assert [number for number, _ in items] == ["1", "2"]
    assert "Hochreiter" in items[0][1] and "Long short-term memory" in items[0][1]
    assert "Chen" in items[1][1] and 'href="https://arxiv.org/abs/2002.05709"' in items[1][1]
    assert "Never cited" not in html  # only the works cited are listed
    assert "<code>[@notakey]</code>" in html and 'rel="noopener noreferrer">@chen2020</a>' in html
    check_links(tmp_path / "site")  # each #ref-N anchor exists
    check_html5(tmp_path / "site")


def test_a_post_without_citations_has_no_references(tmp_path, index):
    html = built(tmp_path, index, post="---\ntitle: Cited\n---\n\nNo citations.\n")
    assert 'id="references"' not in html


def test_an_unknown_key_is_an_error_at_its_line(tmp_path):
    write_post(tmp_path, "references.bib", BIB)
    post = write_post(tmp_path, "p.md", "---\ntitle: T\n---\n\nFine.\n\nAs shown [@chen2021].\n")
    with pytest.raises(BadInput) as error:
        read_post(post)
    assert str(error.value.diagnostic) == (
        f"{post}:7: error: unknown citation key 'chen2021': not in "
        f"{tmp_path / 'references.bib'} (did you mean 'chen2020'?)"
    )


def test_citations_without_a_bibliography_are_an_error_at_the_first(tmp_path):
    post = write_post(tmp_path, "p.md", "Prose.\n\nAs shown [@chen2020].\n")
    with pytest.raises(BadInput, match="citations need a bibliography") as error:
        read_post(post)
    assert error.value.diagnostic.line == 3


@pytest.mark.parametrize(
    "bib, line, message",
    [
        (
            BIB.replace("volume = {9},", "volume = {9,\n"),
            9,
            r"not valid BibTeX: '\}' expected \(in the entry that starts at line 1\)",
        ),
        ("@article{x,\n  title = {A},\n  year = 19 97\n}\n", 3, "not valid BibTeX"),
        ("@misc{x, title = {A}}\n\n@misc{x, title = {B}}\n", 3, "repeated bibliography entry"),
    ],
)
def test_a_malformed_bib_is_an_error_at_its_line_in_the_bib(tmp_path, bib, line, message):
    bibliography = write_post(tmp_path, "references.bib", bib)
    post = write_post(tmp_path, "p.md", "Prose [@x].\n")
    with pytest.raises(BadInput, match=message) as error:
        read_post(post)
    assert error.value.diagnostic.path == bibliography
    assert error.value.diagnostic.line == line


def test_the_front_matter_names_another_bibliography(tmp_path, index):
    write_post(tmp_path / "posts" / "refs", "deep.bib", BIB)
    post = write_post(
        tmp_path / "posts", "p.md", "---\nbibliography: refs/deep.bib\n---\n\nSee [@chen2020].\n"
    )
    assert [ref.key for ref in read_post(post).references] == ["chen2020"]
    post.write_text("---\ntitle: T\nbibliography: refs/none.bib\n---\n\nSee [@chen2020].\n")
    with pytest.raises(BadInput, match="no the file .*none.bib named here") as error:
        read_post(post)
    assert error.value.diagnostic.line == 3
