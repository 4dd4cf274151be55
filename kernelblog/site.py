"""The site as a whole: its settings, pages, tag pages, Atom feed, sitemap and downloads."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import layout, svg
from .complete import CompletedPost
from .diagnostics import Diagnostic
from .postfiles import read_by
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
        for name, data in _own_files(done, report).items():
            if name in files:  # the page, a figure or a download of the same name wins
                message = f"{name} is left off the site: the page has a file of that name"
                report(Diagnostic(done.post.path, 0, "warning", message))
                continue
            files[name] = data
    for listing in layout.index_pages(posts, site.posts_per_page) + layout.tag_pages(posts):
        files[listing.path] = render.render_index(listing, env, site).encode()
    files[layout.TAGS] = render.render_tags(layout.tags_of(posts), env, site).encode()
    files[layout.NOT_FOUND] = render.render_404(env, site).encode()
    published = [post for post in posts if not post.meta.draft]  # drafts: with --drafts only
    files[layout.FEED] = atom_feed(
        site,
        published,
        {slug: page.content for slug, page in pages.items()},
        {slug: run.executed_at for slug, run in executed.items()},
    )
    drafts = {layout.post_page(post.slug) for post in posts if post.meta.draft}
    listed = [name for name in files if layout.is_page(name) and name not in drafts]
    files[layout.SITEMAP] = sitemap(site, listed)
    files[layout.ROBOTS] = robots(site)
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


def _own_files(done: CompletedPost, report: Callable[[Diagnostic], None]) -> dict[str, bytes]:
    """The post's files that its prose references or its code reads, beside its page at their
    paths; SVG sanitized (one that cannot be is left out, with a warning)."""
    post = done.post
    if post.files is None:
        return {}
    read = [file.name for file in read_by(post.files, done.components)]
    published = {}
    for name in dict.fromkeys([*post.published, *read]):
        data = (post.files.folder / name).read_bytes()
        if name.lower().endswith(".svg"):
            try:
                data = svg.sanitized(data)
            except svg.BadSvg as error:
                report(Diagnostic(post.path, 0, "warning", f"{name} is left off the site: {error}"))
                continue
        published[layout.post_file(post.slug, name)] = data
    return published


def _midnight(date: datetime.date) -> str:
    """RFC 3339: the date at midnight UTC."""
    return datetime.datetime.combine(date, datetime.time(), datetime.UTC).isoformat()


def _timestamp(post, executed_at: str) -> str:
    """RFC 3339: the post's update date or date at midnight UTC, or when it ran."""
    if post.meta.updated or post.meta.date:
        return _midnight(post.meta.updated or post.meta.date)
    if executed_at:
        return executed_at
    return "1970-01-01T00:00:00+00:00"


def atom_feed(
    site: Settings, posts: list, contents: dict[str, str], executed_at: dict[str, str]
) -> bytes:
    """An Atom feed (RFC 4287) with every post's full content, newest first."""
    from .render import authors

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
            add(entry, "published", _midnight(post.meta.date))
        for name in authors(post, site):
            add(add(entry, "author"), "name", name)
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


def robots(site: Settings) -> bytes:
    """robots.txt: every page may be crawled; where the sitemap is (crawlers read robots.txt
    only at the root of a host, so it serves where base_url is a host's root)."""
    return f"User-agent: *\nAllow: /\n\nSitemap: {site.url(layout.SITEMAP)}\n".encode()


def sitemap(site: Settings, pages: list[str]) -> bytes:
    """sitemap.xml: the absolute URL of every page."""
    ET.register_namespace("", SITEMAP)
    root = ET.Element(f"{{{SITEMAP}}}urlset")
    for page in sorted(pages):
        ET.SubElement(
            ET.SubElement(root, f"{{{SITEMAP}}}url"), f"{{{SITEMAP}}}loc"
        ).text = site.url(layout.url_path(page))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
