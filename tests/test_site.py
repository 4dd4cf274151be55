"""The whole site from hand-made outputs: settings, feed, sitemap, pages, links (no kernel)."""

import base64
import datetime
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import nbformat
import pytest
from nbformat.v4 import new_output

from conftest import (
    PAGE_BUDGET,
    check_html5,
    check_links,
    executed_with,
    page_weight,
    png,
    write_post,
)
from kernelblog.complete import complete_post
from kernelblog.diagnostics import BadInput
from kernelblog.read import read_post
from kernelblog.settings import Settings, load_settings
from kernelblog.site import site_files
from kernelblog.write import write_site

A = "{http://www.w3.org/2005/Atom}"
FIGURE = [
    new_output(
        "display_data",
        data={"image/png": base64.b64encode(png(64, 48)).decode(), "text/plain": "plot"},
    )
]

FIRST = """---
title: First & best
date: 2026-03-01
tags: [keras, Deep Learning]
summary: A post with a figure.
---

Prose with $\\alpha$ and a [link to the second post](../second/index.html).

```python
print("hello")
plt.plot([1, 2])
```
"""
SECOND = """---
title: Second
tags: [keras]
---

## A heading

```python
print(1 / 0)
```
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, index):
    """A built site of two posts: one with a figure, one with no date and an error."""
    folder = tmp_path_factory.mktemp("posts")
    completed = [
        complete_post(read_post(write_post(folder, name, text)), index)
        for name, text in (("first.md", FIRST), ("second.md", SECOND))
    ]
    error = new_output(
        "error",
        ename="ZeroDivisionError",
        evalue="division by zero",
        traceback=["ZeroDivisionError: division by zero"],
    )
    executed = {
        "first": executed_with(
            completed[0], [[new_output("stream", name="stdout", text="hello\n")] + FIGURE]
        ),
        "second": executed_with(completed[1], [[error]], executed_at="2026-04-02T10:30:00+00:00"),
    }
    config = Settings(title="Test <Blog>", author="Ada", base_url="https://blog.example/deep/")
    out = tmp_path_factory.mktemp("site") / "_site"
    write_site(out, site_files(config, completed, executed))
    return out


def test_feed_is_valid_atom_with_full_content(site):
    """The structure RFC 4287 requires: one id, title and updated on the feed and on each
    entry, absolute IRIs, RFC 3339 dates, an author, and a link to itself."""
    feed = ET.parse(site / "feed.xml").getroot()
    assert feed.tag == f"{A}feed"

    def one(element, name):
        found = element.findall(f"{A}{name}")
        assert len(found) == 1, f"{element.tag} needs exactly one {name}"
        return found[0]

    def date(element):
        text = one(element, "updated").text
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))

    assert one(feed, "id").text == "https://blog.example/deep/"
    assert one(feed, "title").text == "Test <Blog>"
    assert one(one(feed, "author"), "name").text == "Ada"
    [self_link] = [link for link in feed.findall(f"{A}link") if link.get("rel") == "self"]
    assert self_link.get("href") == "https://blog.example/deep/feed.xml"
    entries = feed.findall(f"{A}entry")
    assert [one(entry, "title").text for entry in entries] == [
        "Second",
        "First & best",
    ]  # newest first
    assert date(feed) == max(date(entry) for entry in entries)
    for entry in entries:
        assert urlsplit(one(entry, "id").text).scheme == "https"
        date(entry)
        [alternate] = [
            link
            for link in entry.findall(f"{A}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        assert alternate.get("href") == one(entry, "id").text
        content = one(entry, "content")
        assert content.get("type") == "html" and content.get(
            "{http://www.w3.org/XML/1998/namespace}base"
        )
    second, first = entries
    assert one(second, "updated").text == "2026-04-02T10:30:00+00:00"  # no date: when it ran
    assert one(first, "updated").text.startswith("2026-03-01T00:00:00")
    body = one(first, "content").text
    assert "hello" in body and "<img" in body and "<math" in body
    assert [c.get("term") for c in first.findall(f"{A}category")] == ["keras", "Deep Learning"]
    assert one(first, "summary").text == "A post with a figure."


def test_sitemap_lists_every_page_by_its_absolute_url(site):
    root = ET.parse(site / "sitemap.xml").getroot()
    locations = {loc.text for loc in root.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
    pages = {
        str(page.relative_to(site)).removesuffix("index.html") for page in site.rglob("index.html")
    }
    assert locations == {"https://blog.example/deep/" + page for page in pages}
    assert "https://blog.example/deep/tags/deep-learning/" in locations


def test_tag_pages_list_their_posts(site):
    keras = (site / "tags" / "keras" / "index.html").read_text()
    assert 'href="../../first/index.html"' in keras and 'href="../../second/index.html"' in keras
    deep = (site / "tags" / "deep-learning" / "index.html").read_text()
    assert "first/index.html" in deep and "second/index.html" not in deep
    assert 'href="deep-learning/index.html"' in (site / "tags" / "index.html").read_text()


def test_downloads_are_the_script_and_the_notebook_with_outputs(site):
    assert 'print("hello")' in (site / "first" / "first.py").read_text()
    notebook = nbformat.read(site / "first" / "first.ipynb", as_version=4)
    nbformat.validate(notebook)
    [hello] = [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code" and 'print("hello")' in cell.source
    ]
    assert hello.outputs[0]["text"] == "hello\n" and "image/png" in hello.outputs[1]["data"]
    assert not any("kernelblog" in cell.metadata for cell in notebook.cells)
    assert any(cell.cell_type == "markdown" for cell in notebook.cells)


def test_404_page_works_at_any_path(site):
    html = (site / "404.html").read_text()
    assert "<style>" in html and 'rel="stylesheet"' not in html
    assert 'href="https://blog.example/deep/"' in html


def test_every_page_parses_as_html5(site):
    check_html5(site)


def test_internal_links_are_relative_and_resolve(site):
    check_links(site)


def test_pages_are_light(site):
    for page in site.rglob("*.html"):
        assert page_weight(page) < PAGE_BUDGET, page


def test_site_files_are_static_assets_only(site):
    assert {path.name for path in (site / "static").iterdir()} == {
        "style.css",
        "site.js",
        "pygments.css",
        "icon.svg",
        "search.js",
    }
    css = (site / "static" / "style.css").read_text()
    assert "prefers-color-scheme: dark" in css and "@media print" in css
    assert "url(" not in css and "@import" not in css and "@font-face" not in css  # nothing fetched
    assert "prefers-color-scheme: dark" in (site / "static" / "pygments.css").read_text()


def paginated(folder, index, posts: int, per_page: int):
    """The site of `posts` dated posts (post-0 the oldest), `per_page` on each index page."""
    completed = [
        complete_post(
            read_post(
                write_post(
                    folder / "posts",
                    f"post-{k}.md",
                    f"---\ntitle: Post {k}\ndate: 2026-01-{k + 1:02}\n---\n\nProse.\n",
                )
            ),
            index,
        )
        for k in range(posts)
    ]
    executed = {done.post.slug: executed_with(done, []) for done in completed}
    settings = Settings(base_url="https://blog.example/", posts_per_page=per_page)
    write_site(folder / "site", site_files(settings, completed, executed))
    return folder / "site"


def test_posts_per_page_paginates_the_index_with_links_to_the_previous_and_next(tmp_path, index):
    site = paginated(tmp_path, index, 5, 2)
    pages = [
        site / "index.html",
        site / "page" / "2" / "index.html",
        site / "page" / "3" / "index.html",
    ]
    assert sorted(site.rglob("page/*/index.html")) == pages[1:]
    titles = [re.findall(r'<h2><a href="[^"]*">(Post \d)</a>', page.read_text()) for page in pages]
    assert titles == [["Post 4", "Post 3"], ["Post 2", "Post 1"], ["Post 0"]]  # newest first
    links = [
        (
            re.findall(r'<a rel="prev" href="([^"]+)"', html),
            re.findall(r'<a rel="next" href="([^"]+)"', html),
        )
        for html in (page.read_text() for page in pages)
    ]
    assert links == [
        ([], ["page/2/index.html"]),
        (["../../index.html"], ["../../page/3/index.html"]),
        (["../../page/2/index.html"], []),
    ]
    assert "Page 2 of 3" in pages[1].read_text() and "<title>Page 2 · " in pages[1].read_text()
    check_links(site)
    check_html5(site)
    locations = (
        ET.parse(site / "sitemap.xml")
        .getroot()
        .iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")
    )
    assert {"https://blog.example/page/2/", "https://blog.example/page/3/"} <= {
        loc.text for loc in locations
    }


def test_without_posts_per_page_one_index_page_lists_every_post(tmp_path, index, site):
    assert not (site / "page").exists() and 'rel="next"' not in (site / "index.html").read_text()
    one = paginated(tmp_path, index, 3, 3)  # exactly one page's worth
    assert not (one / "page").exists() and 'class="pager"' not in (one / "index.html").read_text()
    assert len(re.findall(r"<h2><a ", (one / "index.html").read_text())) == 3


def test_posts_per_page_is_an_integer_setting_checked_at_its_line(tmp_path):
    path = write_post(
        tmp_path, "pyproject.toml", '[tool.kernelblog]\ntitle = "T"\nposts_per_page = "2"\n'
    )
    with pytest.raises(BadInput) as error:
        load_settings(path)
    assert str(error.value.diagnostic) == (
        f"{path}:3: error: [tool.kernelblog] posts_per_page: expected an integer"
    )
    path.write_text("[tool.kernelblog]\nposts_per_page = -1\n")
    with pytest.raises(BadInput, match="at least 0"):
        load_settings(path)
    path.write_text("[tool.kernelblog]\nposts_per_page = 10\n")
    assert load_settings(path).posts_per_page == 10


def test_page_is_a_reserved_slug(tmp_path):
    post = write_post(tmp_path, "p.md", "---\ntitle: T\nslug: page\n---\n")
    with pytest.raises(BadInput, match="slug 'page' is the folder of the site's own index pages"):
        read_post(post)


# Drafts, dates, authors and share cards: prose-only posts, built by the pipeline.

PUBLISHED = """---
title: Published
date: 2026-02-01
updated: 2026-03-15
author: [Ada Lovelace, Alan Turing]
tags: [keras]
---

Prose that a reader shares.
"""
DRAFT = """---
title: Work in progress
date: 2026-02-02
draft: true
tags: [unfinished]
---

Not ready yet.
"""


def build_prose(folder, drafts: bool):
    """PUBLISHED and DRAFT built by the pipeline with `drafts` (a kernel runs only their seeding
    cells)."""
    from kernelblog.kernels import Kernels
    from kernelblog.pipeline import OK, build
    from kernelblog.settings import Options

    write_post(folder / "posts", "published.md", PUBLISHED)
    write_post(folder / "posts", "draft.md", DRAFT)
    write_post(
        folder,
        "pyproject.toml",
        '[tool.kernelblog]\nauthor = "Site Author"\nbase_url = "https://blog.example/deep/"\n',
    )
    options = Options(
        posts=folder / "posts",
        out=folder / "site",
        snippets=folder / "snippets",
        cache=folder / "cache",
        drafts=drafts,
    )
    lines = []
    status = build(options, report=lines.append, kernels=Kernels(1))
    assert status == OK, lines
    return folder / "site", lines


@pytest.mark.slow  # the build runs each post's seeding cell in a kernel
def test_a_draft_is_left_out_of_every_page_the_feed_and_the_sitemap(tmp_path):
    site, _ = build_prose(tmp_path, drafts=False)
    assert not (site / "draft").exists() and not (site / "tags" / "unfinished").exists()
    for path in site.rglob("*"):
        if path.is_file():
            text = path.read_bytes()
            assert b"Work in progress" not in text and b"draft/" not in text, path
    assert (site / "published" / "index.html").is_file()
    assert not (tmp_path / "snippets" / "draft.py").exists()


@pytest.mark.slow  # the build runs each post's seeding cell in a kernel
def test_with_drafts_a_draft_has_its_page_and_banner_but_stays_out_of_feed_and_sitemap(tmp_path):
    site, _ = build_prose(tmp_path, drafts=True)
    page = (site / "draft" / "index.html").read_text()
    assert 'class="draft-banner"' in page and '<meta name="robots" content="noindex">' in page
    assert 'class="draft-banner"' not in (site / "published" / "index.html").read_text()
    index = (site / "index.html").read_text()
    assert re.search(r'draft/index\.html">Work in progress</a> <span class="draft-label">', index)
    assert (site / "tags" / "unfinished" / "index.html").is_file()
    assert b"Work in progress" not in (site / "feed.xml").read_bytes()
    assert b"/draft/" not in (site / "sitemap.xml").read_bytes()
    check_links(site)
    check_html5(site)


@pytest.mark.slow  # the build runs each post's seeding cell in a kernel
def test_authors_and_the_update_date_on_the_page_the_index_and_the_feed(tmp_path):
    site, _ = build_prose(tmp_path, drafts=True)
    page = (site / "published" / "index.html").read_text()
    assert '<span class="author">Ada Lovelace, Alan Turing</span>' in page
    assert '<meta name="author" content="Ada Lovelace, Alan Turing">' in page
    assert 'Updated <time datetime="2026-03-15">15 March 2026</time>' in page
    assert '<span class="author">Site Author</span>' in (site / "draft" / "index.html").read_text()
    index = (site / "index.html").read_text()
    assert '<span class="author">Ada Lovelace, Alan Turing</span>' in index
    assert '<span class="author">Site Author</span>' in index  # the draft: the site's author
    [entry] = ET.parse(site / "feed.xml").getroot().findall(f"{A}entry")
    assert [name.text for name in entry.findall(f"{A}author/{A}name")] == [
        "Ada Lovelace",
        "Alan Turing",
    ]
    assert entry.find(f"{A}updated").text == "2026-03-15T00:00:00+00:00"
    assert entry.find(f"{A}published").text == "2026-02-01T00:00:00+00:00"


def test_a_date_in_the_future_is_a_warning_at_its_line(tmp_path):
    future = datetime.date.today() + datetime.timedelta(days=30)
    path = write_post(tmp_path, "p.md", f"---\ntitle: T\n\ndate: {future}\n---\n\nProse.\n")
    assert [str(d) for d in read_post(path).warnings] == [
        f"{path}:4: warning: date {future} is in the future"
    ]
    path.write_text(f"---\ntitle: T\ndate: 2026-01-01\nupdated: {future}\n---\n")
    assert [d.line for d in read_post(path).warnings] == [4]
    path.write_text("---\ntitle: T\ndate: 2020-01-01\nupdated: 2021-01-01\n---\n")
    assert read_post(path).warnings == ()


@pytest.mark.parametrize(
    "front, message",
    [
        ("draft: yes please", "'draft' must be true or false"),
        ("updated: soon", "'updated' must be a date"),
        ("author: [Ada, 3]", "'author' must be a name or a list of names"),
        ("image: [a.png]", "'image' must be a string"),
    ],
)
def test_bad_blog_front_matter_is_an_error_at_its_line(tmp_path, front, message):
    path = write_post(tmp_path, "p.md", f"---\ntitle: T\n{front}\n---\n")
    with pytest.raises(BadInput, match=message) as error:
        read_post(path)
    assert error.value.diagnostic.line == 3


def share_tags(html: str) -> dict[str, str]:
    found = dict(
        re.findall(r'<meta (?:property|name)="((?:og|twitter):\w+)" content="([^"]*)"', html)
    )
    [found["canonical"]] = re.findall(r'<link rel="canonical" href="([^"]*)">', html)
    return found


def test_share_cards_have_absolute_urls_and_the_first_figure(site):
    first = share_tags((site / "first" / "index.html").read_text())
    assert first == {
        "og:site_name": "Test &lt;Blog&gt;",
        "og:title": "First &amp; best",
        "og:description": "A post with a figure.",
        "og:type": "article",
        "og:url": "https://blog.example/deep/first/",
        "og:image": "https://blog.example/deep/first/cell1-1.png",
        "twitter:card": "summary_large_image",
        "canonical": "https://blog.example/deep/first/",
    }
    assert (site / "first" / "cell1-1.png").is_file()
    second = share_tags((site / "second" / "index.html").read_text())  # no figure
    assert "og:image" not in second and second["twitter:card"] == "summary"
    index = share_tags((site / "index.html").read_text())
    assert index["og:type"] == "website" and index["canonical"] == "https://blog.example/deep/"
    tag = share_tags((site / "tags" / "keras" / "index.html").read_text())
    assert tag["og:url"] == "https://blog.example/deep/tags/keras/"


def test_the_front_matter_image_is_the_share_cards_image(tmp_path, index):
    completed = [
        complete_post(read_post(write_post(tmp_path / "posts", f"{name}.md", text)), index)
        for name, text in (
            ("local", "---\ntitle: L\nimage: ../static/icon.svg\n---\n\nProse.\n"),
            ("remote", "---\ntitle: R\nimage: https://cdn.example/r.png\n---\n\nProse.\n"),
        )
    ]
    executed = {done.post.slug: executed_with(done, []) for done in completed}
    settings = Settings(base_url="https://blog.example/")
    files = site_files(settings, completed, executed)
    assert share_tags(files["local/index.html"].decode())["og:image"] == (
        "https://blog.example/static/icon.svg"
    )
    assert share_tags(files["remote/index.html"].decode())["og:image"] == (
        "https://cdn.example/r.png"
    )


def test_robots_txt_names_the_sitemap(site):
    assert (site / "robots.txt").read_text() == (
        "User-agent: *\nAllow: /\n\nSitemap: https://blog.example/deep/sitemap.xml\n"
    )


def test_with_a_repository_each_post_opens_its_snippet_notebook_in_colab(tmp_path, index):
    path = write_post(tmp_path / "posts", "colab.md", "---\ntitle: C\n---\n\nProse.\n")
    completed = [complete_post(read_post(path), index)]
    executed = {"colab": executed_with(completed[0], [])}
    settings = Settings(repository="ada/blog", branch="drafts")
    html = site_files(settings, completed, executed)["colab/index.html"].decode()
    assert re.findall(r'<a class="(colab|github)" href="([^"]+)">', html) == [
        (
            "colab",
            "https://colab.research.google.com/github/ada/blog/blob/drafts/snippets/colab.ipynb",
        ),
        ("github", "https://github.com/ada/blog/blob/drafts/posts/colab.md"),
    ]
    without = site_files(Settings(), completed, executed)["colab/index.html"].decode()
    assert "Open in Colab" not in without and "View source on GitHub" not in without


def test_the_committed_colab_notebooks_are_the_snippets_without_outputs():
    """What "Open in Colab" opens for posts/: every code cell of snippets/<slug>.py, no output,
    and no import of kernelblog (Colab lacks it: the dataset code is copied in)."""
    from conftest import ROOT

    for script in sorted((ROOT / "snippets").glob("*.py")):
        notebook = nbformat.read(script.with_suffix(".ipynb"), as_version=4)
        nbformat.validate(notebook)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
        sources = "\n".join(cell.source for cell in code)
        assert "kernelblog" not in sources.replace("# From kernelblog/", "")
        assert sources.count(".fit(") == script.read_text().count(".fit(") > 0


@pytest.mark.parametrize(
    "line, message",
    [
        ('repository = "not a repository"', 'expected a GitHub repository as "owner/name"'),
        ('branch = "../up"', "expected a branch name"),
    ],
)
def test_repository_and_branch_are_checked_at_their_line(tmp_path, line, message):
    path = write_post(tmp_path, "pyproject.toml", f"[tool.kernelblog]\ntitle = 'T'\n{line}\n")
    with pytest.raises(BadInput, match=message) as error:
        load_settings(path)
    assert error.value.diagnostic.line == 3


def test_the_colab_and_source_links_of_posts_name_files_of_this_repository():
    """With the repository setting, each post of posts/ links files this repository has:
    snippets/<slug>.ipynb (committed, see test_write) and the post's .md."""
    from conftest import ROOT
    from kernelblog.render import source_links

    for path in sorted((ROOT / "posts").glob("*.md")):
        post = read_post(path)
        links = source_links(post, Settings(repository="owner/kernelblog"))
        for url, prefix in (
            (
                links["colab"],
                "https://colab.research.google.com/github/owner/kernelblog/blob/main/",
            ),
            (links["github"], "https://github.com/owner/kernelblog/blob/main/"),
        ):
            assert url.startswith(prefix)
            assert (ROOT / url.removeprefix(prefix)).is_file(), url


def test_the_source_link_of_a_post_folder_names_its_index(tmp_path):
    from kernelblog.render import source_links

    folder = tmp_path / "posts" / "with-files"
    folder.mkdir(parents=True)
    (folder / "index.md").write_text("# A post folder\n\nProse.\n", encoding="utf-8")
    links = source_links(read_post(folder / "index.md"), Settings(repository="o/b"))
    assert links["github"] == "https://github.com/o/b/blob/main/posts/with-files/index.md"
    assert links["colab"].endswith("/snippets/with-files.ipynb")
