"""The site's layout: where each kind of page and file lives, and the relative links between
them. The other modules take every path of the site from here. Posts are read.Post values
(not imported: read imports the reserved slugs from here)."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

from slugify import slugify

INDEX = "index.html"  # the front page; every page is an index.html, but 404.html
TAGS = "tags/index.html"  # the list of tags
FEED = "feed.xml"  # Atom
SITEMAP = "sitemap.xml"
ROBOTS = "robots.txt"  # names the sitemap
NOT_FOUND = "404.html"  # served at any missing path, so its links are absolute
STATIC = "static/"  # the styles, script and icon every page loads
SEARCH = "pagefind/"  # the search index and its UI, written by Pagefind after the pages
# Folders of the site's own files, which no post's slug may take: folder -> what it holds.
RESERVED_SLUGS = {
    "static": "static files",
    "tags": "tags pages",
    "page": "index pages",
    "pagefind": "search index",
}
# The file system's limits: bytes in a file name, and in a path (Linux's NAME_MAX and PATH_MAX).
NAME_MAX, PATH_MAX = 255, 4096


def too_long(path: str) -> str | None:
    """Why the file system cannot hold `path` (a name in it over NAME_MAX bytes, or the whole over
    PATH_MAX), or None when it can."""
    encoded = os.fsencode(path)
    if len(encoded) >= PATH_MAX:
        return f"it is {len(encoded)} bytes long, and a path holds less than {PATH_MAX}"
    longest = max(encoded.split(b"/"), key=len)
    if len(longest) > NAME_MAX:
        return f"a name in it is {len(longest)} bytes long, and a name holds {NAME_MAX} at most"
    return None


def tag_slug(tag: str) -> str:
    """The name of the tag's page: readable ASCII, also for tags in other scripts (Ünïcode:
    unicode). Two tags may share one ("C++" and "C#": c); the build refuses them."""
    return slugify(tag, max_length=NAME_MAX) or "tag"


def index_page(number: int) -> str:
    """The front page (1), or the page of older posts `number` when the index is paginated."""
    return INDEX if number == 1 else f"page/{number}/{INDEX}"


def post_page(slug: str) -> str:
    return f"{slug}/{INDEX}"


def post_file(slug: str, name: str) -> str:
    """A file beside the post's page: a figure, or a download."""
    return f"{slug}/{name}"


def download(slug: str, suffix: str) -> str:
    """The post's script (.py) or notebook (.ipynb)."""
    return post_file(slug, f"{slug}{suffix}")


def tag_page(tag: str) -> str:
    return f"tags/{tag_slug(tag)}/{INDEX}"


def static(name: str) -> str:
    return STATIC + name


def is_page(path: str) -> bool:
    """Whether the file at `path` is a page that the sitemap lists (404.html is none)."""
    return path.rpartition("/")[2] == INDEX


def url_path(path: str) -> str:
    """The path of the file's URL from the site's root: a page's folder, for an index.html."""
    return path.removesuffix(INDEX) if is_page(path) else path


def newest_first(posts: list) -> list:
    return sorted(posts, key=lambda p: (p.meta.date or datetime.date.min, p.slug), reverse=True)


def tags_of(posts: list) -> dict[str, tuple[str, list]]:
    """Tag slug -> (the tag as first written, its posts)."""
    tags: dict[str, tuple[str, list]] = {}
    for post in posts:
        for tag in post.meta.tags:
            tags.setdefault(tag_slug(tag), (tag, []))[1].append(post)
    return dict(sorted(tags.items()))


@dataclass(frozen=True)
class IndexPage:
    """A page that lists posts, newest first: a page of the index, `number` of `count` (a tag's
    page is one page)."""

    path: str
    posts: tuple
    tag: str = ""
    number: int = 1
    count: int = 1

    @property
    def previous(self) -> str | None:
        """The index page before this one (of newer posts), if any."""
        return index_page(self.number - 1) if self.number > 1 else None

    @property
    def next(self) -> str | None:
        """The index page after this one (of older posts), if any."""
        return index_page(self.number + 1) if self.number < self.count else None


def index_pages(posts: list, per_page: int = 0) -> list[IndexPage]:
    """The pages that list every post, newest first: index.html, then page/2/index.html and on,
    `per_page` posts on each (0: all on index.html)."""
    ordered = tuple(newest_first(posts))
    size = per_page or len(ordered) or 1
    chunks = [ordered[k : k + size] for k in range(0, len(ordered), size)] or [()]
    return [
        IndexPage(index_page(n), chunk, number=n, count=len(chunks))
        for n, chunk in enumerate(chunks, 1)
    ]


def tag_pages(posts: list) -> list[IndexPage]:
    """A page per tag, listing its posts."""
    return [
        IndexPage(tag_page(name), tuple(newest_first(tagged)), name)
        for name, tagged in tags_of(posts).values()
    ]


@dataclass(frozen=True)
class Links:
    """Relative links from the page at `page` (its path in the site) to the site's files, so
    that the site works in any folder and from file://."""

    page: str

    def to(self, path: str) -> str:
        """Down from the page's folder to another file inside it (a figure, a download, a tag's
        page from the list of tags); else up to the site's root and down."""
        folder = self.page.rpartition("/")[0]
        if folder and path != self.page and path.startswith(folder + "/"):
            return path[len(folder) + 1 :]
        return "../" * self.page.count("/") + path

    @property
    def home(self) -> str:
        return self.to(INDEX)

    @property
    def tags(self) -> str:
        return self.to(TAGS)

    @property
    def feed(self) -> str:
        return self.to(FEED)

    def static(self, name: str) -> str:
        return self.to(static(name))

    def post(self, slug: str) -> str:
        return self.to(post_page(slug))

    def tag(self, tag: str) -> str:
        return self.to(tag_page(tag))

    def download(self, slug: str, suffix: str) -> str:
        return self.to(download(slug, suffix))
