"""The site as a whole: its settings, pages, tag pages, Atom feed, sitemap and downloads."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import layout
from .complete import CompletedPost
from .diagnostics import Diagnostic
from .reuse import Reuse
from .settings import Settings

if TYPE_CHECKING:
    from .execute import ExecutedPost

ATOM = "http://www.w3.org/2005/Atom"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


def site_files(
    site: Settings,
    completed: list[CompletedPost],
    executed: dict[str, ExecutedPost],
    report: Callable[[Diagnostic], None] = lambda warning: None,
    reuse: Reuse | None = None,
    kept: dict[str, tuple] | None = None,
) -> dict[str, bytes]:
    """Every file of the site (relative path -> content); warnings about outputs left off a page,
    or about a download that could differ from the page, go to `report`. A post whose page was
    rendered before from what it is now has its page and downloads taken from `kept` (by slug:
    those of posts whose outputs were not read) or `reuse`."""
    from . import render

    reuse = reuse or Reuse(None, "")
    env = render.environment()
    files = {layout.static(name): content for name, content in render.static_files().items()}
    posts = [done.post for done in completed]
    pages = {}
    for done in completed:
        slug = done.post.slug
        made = (kept or {}).get(slug)
        if made is None:
            key = reuse.page_key(done, executed[slug], site)
            made = reuse.load("page", key)
        if made is None:
            made = _post_files(done, executed[slug], env, site, reuse)
            reuse.save("page", key, made)
        page, downloads, warnings = made
        for warning in page.warnings + warnings:
            report(warning)
        pages[slug] = page
        files[layout.post_page(slug)] = page.html.encode()
        files.update({layout.post_file(slug, name): data for name, data in page.files.items()})
        files.update(downloads)
    for listing in layout.index_pages(posts, site.posts_per_page) + layout.tag_pages(posts):
        files[listing.path] = render.render_index(listing, env, site).encode()
    files[layout.TAGS] = render.render_tags(layout.tags_of(posts), env, site).encode()
    files[layout.NOT_FOUND] = render.render_404(env, site).encode()
    files[layout.FEED] = atom_feed(
        site,
        posts,
        {slug: page.content for slug, page in pages.items()},
        {slug: run.executed_at for slug, run in executed.items()},
    )
    files[layout.SITEMAP] = sitemap(site, [name for name in files if layout.is_page(name)])
    return files


def _post_files(
    done: CompletedPost, executed: ExecutedPost, env, site: Settings, reuse: Reuse
) -> tuple:
    """The post's page; its downloads (path -> content); warnings about the downloads. The code
    the post's page highlighted last time is not highlighted again: a prose edit changes none."""
    from . import render
    from .write import download_notebook_text, download_script_text, download_warnings

    slug = done.post.slug
    highlighted = reuse.key("highlighted", str(done.post.path))
    highlight = render.Highlighter(reuse.load("highlighted", highlighted))
    page = render.render_post(done, executed, env, site, highlight)
    if highlight.used != highlight.known:
        reuse.save("highlighted", highlighted, highlight.used)
    run, url = executed.notebook, site.url(layout.url_path(layout.post_page(slug)))
    verified = tuple(each.name for each in executed.backends if each.passed)
    downloads = {
        layout.download(slug, ".py"): download_script_text(done, run, url, verified).encode(),
        layout.download(slug, ".ipynb"): download_notebook_text(done, run, url, verified).encode(),
    }
    return page, downloads, download_warnings(done)


def _timestamp(post, executed_at: str) -> str:
    """RFC 3339: the post's date at midnight UTC, or when it ran."""
    if post.meta.date:
        return datetime.datetime.combine(post.meta.date, datetime.time(), datetime.UTC).isoformat()
    if executed_at:
        return executed_at
    return "1970-01-01T00:00:00+00:00"


def atom_feed(
    site: Settings, posts: list, contents: dict[str, str], executed_at: dict[str, str]
) -> bytes:
    """An Atom feed (RFC 4287) with every post's full content, newest first."""
    ET.register_namespace("", ATOM)

    def add(parent, tag, text=None, **attributes):
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
        element.text = text
        return element

    entries = sorted(
        ((_timestamp(post, executed_at.get(post.slug, "")), post) for post in posts),
        key=lambda pair: (pair[0], pair[1].slug),
        reverse=True,
    )
    feed = ET.Element(f"{{{ATOM}}}feed")
    add(feed, "id", site.url())
    add(feed, "title", site.title)
    add(feed, "subtitle", site.description)
    add(feed, "updated", max((stamp for stamp, _ in entries), default="1970-01-01T00:00:00+00:00"))
    add(add(feed, "author"), "name", site.author)
    add(feed, "link", rel="self", type="application/atom+xml", href=site.url(layout.FEED))
    add(feed, "link", rel="alternate", type="text/html", href=site.url())
    add(feed, "generator", "kernelblog")
    for stamp, post in entries:
        entry = add(feed, "entry")
        url = site.url(layout.url_path(layout.post_page(post.slug)))
        add(entry, "id", url)
        add(entry, "title", post.meta.title)
        add(entry, "updated", stamp)
        if post.meta.date:
            add(entry, "published", stamp)
        add(entry, "link", rel="alternate", type="text/html", href=url)
        for tag in post.meta.tags:
            add(entry, "category", term=tag)
        if post.meta.summary or post.meta.description:
            add(entry, "summary", post.meta.summary or post.meta.description)
        content = add(entry, "content", contents[post.slug], type="html")
        content.set(
            XML_BASE, url
        )  # the content's relative links (figures) resolve against the post
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def sitemap(site: Settings, pages: list[str]) -> bytes:
    """sitemap.xml: the absolute URL of every page."""
    ET.register_namespace("", SITEMAP)
    root = ET.Element(f"{{{SITEMAP}}}urlset")
    for page in sorted(pages):
        ET.SubElement(
            ET.SubElement(root, f"{{{SITEMAP}}}url"), f"{{{SITEMAP}}}loc"
        ).text = site.url(layout.url_path(page))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
