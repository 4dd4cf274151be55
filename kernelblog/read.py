"""Read stage: a Markdown post becomes a Post of prose and code cells, each with its line."""

from __future__ import annotations

import datetime
import posixpath
import re
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from . import svg
from .citations import BIBLIOGRAPHY, Reference, citations, references
from .diagnostics import BadInput, Diagnostic
from .fence import BadOption, FenceOptions
from .layout import NAME_MAX, RESERVED_SLUGS, download, too_long
from .listing import INDEX
from .parsing import YAMLProblem, parse_yaml
from .postfiles import PostFiles, post_files


def _import_jupytext():
    """jupytext without its Jupyter server contents managers, which reading and writing posts never
    use. Its package import tries them under `try/except ImportError`, loading tornado and
    jupyter_client (about 80 ms here) before they fail for want of jupyter_server, which
    kernelblog does not install. They stay importable afterwards."""
    blocked = [
        name
        for name in ("jupytext.sync_contentsmanager", "jupytext.async_contentsmanager")
        if "jupytext" not in sys.modules and name not in sys.modules
    ]
    for name in blocked:
        sys.modules[name] = None  # an import of it raises ImportError
    try:
        import jupytext
    except ImportError:  # a jupytext that needs them
        for name in blocked:
            del sys.modules[name]
        blocked = []
        import jupytext
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return jupytext


jupytext = _import_jupytext()

PYTHON_LANGUAGES = {"python", "python3", "ipython", "ipython3"}
JUPYTEXT_KEYS = {
    "lines_to_next_cell",
    "lines_to_end_of_cell_marker",
    "skipline",
    "noskipline",
    "cell_marker",
}
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# An inline value in prose, as in Quarto: `{python} expression` (not inside ``double`` backticks).
INLINE = re.compile(r"(?<!`)`\{python\}\s+([^`]+?)\s*`(?!`)")
# Where inline values are not looked for: fenced blocks and code spans of two or more backticks.
RAW_IMG_SRC = re.compile(r"""<img\b[^>]*?\ssrc\s*=\s*["']?([^"'\s>]+)""", re.I)
COMMONMARK = MarkdownIt("commonmark")
BLOCKS = MarkdownIt("commonmark").disable("inline")  # fences only: no inline parsing
NOT_PROSE = re.compile(
    r"^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^ {0,3}\1[^\n]*$|\Z)|(`{2,}).+?\2", re.M | re.S
)


@dataclass(frozen=True)
class InlineValue:
    """`{python} expression` in prose: the expression, its .md line and its span in the cell."""

    expression: str
    line: int
    start: int
    end: int


@dataclass(frozen=True)
class Cell:
    """A piece of the post: prose ("markdown") or a python snippet ("code")."""

    kind: str
    source: str
    line: int  # 1-based line in the .md file: the opening fence of a code cell
    options: FenceOptions = field(default_factory=FenceOptions)
    untagged: str | None = None  # prose that is one fence with no language: its content

    def inline_values(self) -> list[InlineValue]:
        """The inline values of prose, outside fenced blocks."""
        if self.kind != "markdown":
            return []
        masked = NOT_PROSE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), self.source)
        return [
            InlineValue(
                m.group(1), self.line + self.source.count("\n", 0, m.start()), m.start(), m.end()
            )
            for m in INLINE.finditer(masked)
        ]


@dataclass(frozen=True)
class Meta:
    """The front matter that the site uses."""

    title: str
    date: datetime.date | None = None
    tags: tuple[str, ...] = ()
    summary: str = ""
    description: str = ""
    isolate: bool = True  # split the post into components; false: one kernel, in order
    draft: bool = False  # left out of the site unless the build is asked for drafts
    updated: datetime.date | None = None
    authors: tuple[str, ...] = ()  # none: the site's author
    image: str = ""  # the share card's image: a URL, or a path from the post's page
    tags_line: int = 1  # the line of `tags:` in the front matter


@dataclass(frozen=True)
class Post:
    path: Path
    slug: str
    meta: Meta
    cells: tuple[Cell, ...]
    warnings: tuple[Diagnostic, ...] = ()
    slug_line: int = 1  # where the slug comes from: its front matter line, or 1
    files: PostFiles | None = None  # the files the post brings (postfiles.py)
    published: tuple[str, ...] = ()  # those of its files its prose references: images, links
    references: tuple[Reference, ...] = ()  # the works its prose cites, numbered from 1

    @property
    def code_cells(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.kind == "code"]


def read_post(path: Path, data: bytes | None = None, files: PostFiles | None = None) -> Post:
    """Read one post (from `data`, its file's bytes, when the caller has read them; `files`, the
    files it brings, when the caller has listed them); raise BadInput with its path and line when
    it can't be read."""
    path = Path(path)
    _check_inside(path, path, "the post")
    try:
        data = path.read_bytes() if data is None else data
        text = (
            data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
        )  # as read_text would
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BadInput(Diagnostic(path, line, "error", "the post is not valid UTF-8")) from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise BadInput(
            Diagnostic(
                path,
                line,
                "error",
                "the post contains a NUL byte (\\0), which a text file never holds",
            )
        )
    front, key_lines, body, body_line = _split_front_matter(path, text)
    cells, warnings = _cells(path, body, body_line)
    meta = _meta(path, front, key_lines, cells)
    warnings = date_warnings(path, meta, key_lines) + warnings
    slug = front.get("slug", path.parent.name if path.name == INDEX else path.stem)
    slug_line = key_lines.get("slug", 1)
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise BadInput(
            Diagnostic(
                path,
                slug_line,
                "error",
                f"slug {slug!r} must be lowercase letters, digits, '-' or '_'",
            )
        )
    if too_long(download(slug, ".ipynb")):  # the longest name the slug makes
        raise BadInput(
            Diagnostic(
                path,
                slug_line,
                "error",
                f"slug {_shortened(slug)} is {len(slug)} characters long: a file name made from "
                f"it must fit in {NAME_MAX} bytes; choose a shorter one (a `slug:` in the front "
                "matter, or rename the file)",
            )
        )
    if slug in RESERVED_SLUGS:
        raise BadInput(
            Diagnostic(
                path,
                slug_line,
                "error",
                f"slug '{slug}' is the folder of the site's own "
                f"{RESERVED_SLUGS[slug]}: choose another (a `slug:` in the front matter, "
                "or rename the file)",
            )
        )
    referenced = _references(path, cells)
    files = post_files(path) if files is None else files
    published = []
    for kind, src, name, line in referenced:
        if files.get(name) is not None:
            published.append(files.get(name).name)
            if name.lower().endswith(".svg"):
                try:
                    svg.sanitized((files.folder / files.get(name).name).read_bytes())
                except svg.BadSvg as error:
                    message = f"{kind} {src!r} cannot be published: {error}"
                    raise BadInput(Diagnostic(path, line, "error", message)) from None
        elif kind == "image" or not files.is_folder(name):
            raise BadInput(
                Diagnostic(path, line, "error", f"{kind} {src!r} not found beside the post")
            )
    cited = [
        c for cell in cells if cell.kind == "markdown" for c in citations(cell.source, cell.line)
    ]
    named = front.get("bibliography")
    if named is not None and not (isinstance(named, str) and named):
        raise BadInput(
            Diagnostic(
                path,
                key_lines["bibliography"],
                "error",
                "front matter 'bibliography' must be a path",
            )
        )
    bibliography = path.parent / (named or BIBLIOGRAPHY)
    if not named and path.name == INDEX and not bibliography.is_file():
        bibliography = path.parent.parent / BIBLIOGRAPHY  # the posts folder's
    if named:
        _check_inside(path, bibliography, "bibliography", key_lines["bibliography"])
    works = references(path, bibliography, cited, key_lines.get("bibliography", 0) if named else 0)
    return Post(
        path,
        slug,
        meta,
        tuple(cells),
        tuple(warnings),
        slug_line,
        files,
        tuple(dict.fromkeys(published)),
        works,
    )


def _shortened(text: str, length: int = 40) -> str:
    """A long name in a message: its start, quoted."""
    return repr(text) if len(text) <= length else repr(text[:length]) + "…"


def _check_inside(post: Path, file: Path, what: str, line: int = 0) -> None:
    """A post, or a file it references, that is a symlink resolving outside the posts folder is
    an error: it would publish what it points to (/etc/passwd, /proc/self/environ)."""
    folder = post.parent.resolve()
    if file.is_symlink() or file.exists():
        try:
            target = file.resolve()
        except (RuntimeError, OSError):  # a symlink loop: RuntimeError before Python 3.13
            raise BadInput(
                Diagnostic(
                    file if file == post else post, line, "error", f"{what} is a symlink loop"
                )
            ) from None
        if target != folder and folder not in target.parents:
            raise BadInput(
                Diagnostic(
                    file if file == post else post,
                    line,
                    "error",
                    f"{what} is a symlink to {target}, outside the posts folder {folder}",
                )
            )


def _references(path: Path, cells: list[Cell]) -> list[tuple[str, str, str, int]]:
    """The local files the prose references: (kind, as written, path from the post's folder,
    line) for each image, and each link to a file (a path with a suffix other than .md or
    .html). An image path that climbs out of the site folder (the page is <slug>/index.html), or
    a local image that is a symlink out of the posts folder, is an error."""
    found = []
    for cell in cells:
        lowered = cell.source.lower()
        if cell.kind != "markdown" or not ("![" in lowered or "<img" in lowered or "](" in lowered):
            continue
        tokens = COMMONMARK.parse(cell.source)
        tokens += [child for token in tokens for child in token.children or []]
        sources = [("image", token.attrGet("src")) for token in tokens if token.type == "image"]
        sources += [
            ("image", src)
            for token in tokens
            if token.type in ("html_block", "html_inline")
            for src in RAW_IMG_SRC.findall(token.content)
        ]
        sources += [
            ("link", token.attrGet("href")) for token in tokens if token.type == "link_open"
        ]
        for kind, src in sources:
            parts = urllib.parse.urlsplit(str(src))
            if parts.scheme or parts.netloc or parts.path.startswith("/") or not parts.path:
                continue
            name = urllib.parse.unquote(parts.path)
            target = posixpath.normpath(posixpath.join("slug", name))
            offset = cell.source.find(src) if src in cell.source else 0
            line = cell.line + cell.source.count("\n", 0, max(offset, 0))
            escapes = target == ".." or target.startswith("../")
            if posixpath.normpath(name).startswith("../") and not escapes:
                continue  # another page's file on the site: not this post's to publish
            if kind == "link":
                suffix = posixpath.splitext(name)[1].lower()
                if escapes or name.endswith("/") or suffix in ("", ".md", ".html", ".htm"):
                    continue  # a page of the site, not a file
            elif escapes:
                raise BadInput(
                    Diagnostic(path, line, "error", f"image path {src!r} escapes the site folder")
                )
            local = path.parent / name
            why = too_long(str(local))
            if why:
                raise BadInput(
                    Diagnostic(path, line, "error", f"{kind} path {_shortened(src)}: {why}")
                )
            _check_inside(path, local, f"{kind} {src!r}", line)
            found.append((kind, src, name, line))
    return found


def _split_front_matter(path: Path, text: str) -> tuple[dict, dict[str, int], str, int]:
    """Return (front matter, line of each key, body, line of the body's first line)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        return {}, {}, text, 1
    for end in range(1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            break
    else:
        raise BadInput(
            Diagnostic(path, 1, "error", "front matter starts with '---' but never ends")
        )
    source = "".join(lines[1:end])
    try:
        node = parse_yaml(yaml.compose, source)
    except YAMLProblem as problem:
        raise BadInput(
            Diagnostic(path, problem.line + 1, "error", f"front matter is {problem.message}")
        ) from None
    if node is not None and not isinstance(node, yaml.MappingNode):
        raise BadInput(
            Diagnostic(path, 2, "error", "front matter must be a mapping of keys to values")
        )
    _check_text(path, node)
    key_lines = {str(key.value): key.start_mark.line + 2 for key, _ in (node.value if node else [])}
    try:
        front = parse_yaml(yaml.safe_load, source) or {}
    except YAMLProblem as problem:  # a value YAML can't construct, such as 2026-13-45: no line
        line = problem.line + 1 if problem.line else key_lines.get("date", 2)
        raise BadInput(
            Diagnostic(path, line, "error", f"front matter is {problem.message}")
        ) from None
    return front, key_lines, "".join(lines[end + 1 :]), end + 2


def _check_text(path: Path, node: yaml.Node | None) -> None:
    """Every string of the front matter is text a page can hold: no lone surrogate (a quoted
    "\\ud800" is one) and no control character but tab and newline (XML forbids them, and the
    feed is XML 1.0). One is an error at its line."""
    nodes, seen = [node] if node is not None else [], set()
    while nodes:  # not recursive: the YAML may be nested about as deeply as Python recurses
        node = nodes.pop()
        if id(node) in seen:  # an alias (*name) of a node met before: it may hold itself
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            bad = next((c for c in node.value if _not_text(c)), None)
            if bad is not None:
                raise BadInput(
                    Diagnostic(
                        path,
                        node.start_mark.line + 2,
                        "error",
                        f"front matter text holds {bad!r}, which is not a character a page can "
                        "hold (a lone surrogate or a control character)",
                    )
                )
        elif isinstance(node, yaml.MappingNode):
            nodes += [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            nodes += node.value


def _not_text(character: str) -> bool:
    code = ord(character)
    return (
        0xD800 <= code <= 0xDFFF
        or code in (0xFFFE, 0xFFFF)
        or (code < 32 and character not in "\t\n\r")
    )


def _meta(path: Path, front: dict, key_lines: dict[str, int], cells: list[Cell]) -> Meta:
    def bad(key: str, expected: str):
        raise BadInput(
            Diagnostic(
                path, key_lines.get(key, 1), "error", f"front matter '{key}' must be {expected}"
            )
        )

    title = front.get("title")
    if title is None:
        title = next(
            (
                line[2:].strip()
                for cell in cells
                if cell.kind == "markdown"
                for line in cell.source.splitlines()
                if line.startswith("# ")
            ),
            path.stem,
        )
    if not isinstance(title, str):
        bad("title", "a string")

    def day(key: str) -> datetime.date | None:
        """The front matter's date at `key` (a datetime's day), or None."""
        value = front.get(key)
        if value is not None and not isinstance(value, datetime.date):
            bad(key, "a date such as 2026-11-24")
        return value.date() if isinstance(value, datetime.datetime) else value

    date = day("date")
    tags = front.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        bad("tags", "a list of strings")
    for key in ("summary", "description"):
        if not isinstance(front.get(key, ""), str):
            bad(key, "a string")
    for key in ("isolate", "draft"):
        if not isinstance(front.get(key, key == "isolate"), bool):
            bad(key, "true or false")
    updated = day("updated")
    authors = front.get("author", [])
    authors = [authors] if isinstance(authors, str) else authors
    if not isinstance(authors, list) or not all(isinstance(a, str) and a for a in authors):
        bad("author", "a name or a list of names")
    if not isinstance(front.get("image", ""), str):
        bad("image", "a string: a URL, or a path from the post's page")
    return Meta(
        title,
        date,
        tuple(tags),
        front.get("summary", ""),
        front.get("description", ""),
        front.get("isolate", True),
        front.get("draft", False),
        updated,
        tuple(authors),
        front.get("image", ""),
        key_lines.get("tags", 1),
    )


def date_warnings(path: Path, meta: Meta, key_lines: dict[str, int]) -> list[Diagnostic]:
    """A date or an update date after today, which is likely a typo."""
    today = datetime.date.today()
    return [
        Diagnostic(
            path, key_lines.get(key, 1), "warning", f"{key} {value.isoformat()} is in the future"
        )
        for key, value in (("date", meta.date), ("updated", meta.updated))
        if value is not None and value > today
    ]


def _cells(path: Path, body: str, body_line: int) -> tuple[list[Cell], list[Diagnostic]]:
    """Split the body into cells: jupytext decides which fences are code cells, and
    markdown-it (CommonMark) says where each fence is in the text."""
    try:
        notebook = jupytext.reads(body, fmt="md:markdown")  # named, so jupytext need not guess
    except Exception as error:  # jupytext validates the cell metadata it reads from fences
        raise BadInput(
            Diagnostic(
                path,
                body_line,
                "error",
                f"jupytext cannot read this post: {str(error).splitlines()[0]}",
            )
        ) from None
    main_language = notebook.metadata.get("jupytext", {}).get("main_language", "python")
    lines = body.splitlines()
    fences = [token for token in BLOCKS.parse(body) if token.type == "fence"]
    cells: list[Cell] = []
    warnings: list[Diagnostic] = []
    cursor = 0  # the first line of `lines` not yet in a cell
    matched: set[int] = set()

    untagged = [fence for fence in fences if not fence.info.strip() and fence.level == 0]

    def prose(start: int, end: int) -> None:
        for (
            fence
        ) in untagged:  # an untagged fence is a cell of its own: the complete stage may run it
            if start <= fence.map[0] and fence.map[1] <= end:
                prose(start, fence.map[0])
                cells.append(
                    Cell(
                        "markdown",
                        "\n".join(lines[fence.map[0] : fence.map[1]]),
                        body_line + fence.map[0],
                        untagged=fence.content.rstrip("\n"),
                    )
                )
                start = fence.map[1]
        while start < end and not lines[start].strip():
            start += 1
        while end > start and not lines[end - 1].strip():
            end -= 1
        if start < end:
            cells.append(Cell("markdown", "\n".join(lines[start:end]), body_line + start))

    k = 0
    for code in (cell for cell in notebook.cells if cell.cell_type == "code"):
        while k < len(fences) and not _same_code(fences[k], code.source, main_language):
            k += 1
        if k == len(fences):
            raise BadInput(
                Diagnostic(
                    path,
                    body_line + cursor,
                    "error",
                    "cannot match jupytext's code cells to the fences after this line",
                )
            )
        fence, k = fences[k], k + 1
        matched.add(id(fence))
        start, end = fence.map
        prose(cursor, start)
        line = body_line + start
        language = fence.info.split()[0].lower() if fence.info.strip() else ""
        if language in PYTHON_LANGUAGES:
            options, problems = _options(path, line, code.metadata)
            warnings += problems
            cells.append(Cell("code", fence.content.rstrip("\n"), line, options))
        else:
            cells.append(Cell("markdown", "\n".join(lines[start:end]), line))
        cursor = end
    prose(cursor, len(lines))
    for fence in fences:
        language = fence.info.split()[0].lower() if fence.info.strip() else ""
        if id(fence) not in matched and language in PYTHON_LANGUAGES | {"py"}:
            reason = (
                "it is inside a list or a quote"
                if fence.level > 0
                else "tag it ```python"
                if language == "py"
                else "use ``` fences"
                if fence.markup.startswith("~")
                else "jupytext does not read it as a code cell"
            )
            warnings.append(
                Diagnostic(
                    path,
                    body_line + fence.map[0],
                    "warning",
                    f"this python fence will not run: {reason}",
                )
            )
    return cells, sorted(warnings, key=lambda d: d.line)


def _same_code(fence, source: str, main_language: str = "python") -> bool:
    """Whether a fence holds a jupytext code cell's source; jupytext starts the source of a
    fence in a language other than the post's main one with a %%language line."""
    language = fence.info.split()[0].lower() if fence.info.strip() else ""
    content = fence.content.rstrip()
    first, _, rest = source.partition("\n")
    if first.startswith("%%") and first[2:].strip().lower() == language:
        return content == rest.rstrip()
    return (
        language in PYTHON_LANGUAGES or language == main_language.lower()
    ) and content == source.rstrip()


def _options(path: Path, line: int, metadata: dict) -> tuple[FenceOptions, list[Diagnostic]]:
    """The fence options we know, checked; warnings for those we don't."""
    given = {key: value for key, value in metadata.items() if key not in JUPYTEXT_KEYS}
    if "incorrectly_encoded_metadata" in given:
        raise BadInput(
            Diagnostic(
                path,
                line,
                "error",
                f"cannot read fence options '{given['incorrectly_encoded_metadata']}': "
                'write key=value with JSON values, for example data="images"',
            )
        )
    try:
        options, unknown = FenceOptions.parse(given)
    except BadOption as error:
        raise BadInput(Diagnostic(path, line, "error", str(error))) from None
    warnings = [
        Diagnostic(path, line, "warning", f"unknown fence option '{key}' is ignored")
        for key in unknown
    ]
    return options, warnings
