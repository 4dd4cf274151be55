"""Read stage: a Markdown post becomes a Post of prose and code cells, each with its line."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import yaml

from .diagnostics import BadInput, Diagnostic

PYTHON_LANGUAGES = {"python", "python3", "ipython", "ipython3"}
FENCE_OPTIONS = {"data", "timeout", "tags"}
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
OPENING_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)")
# An inline value in prose, as in Quarto: `{python} expression`.
INLINE = re.compile(r"`\{python\}\s+([^`]+?)\s*`")


@dataclass(frozen=True)
class Cell:
    """A piece of the post: prose ("markdown") or a python snippet ("code")."""

    kind: str
    source: str
    line: int  # 1-based line in the .md file: the opening fence of a code cell
    options: dict = field(default_factory=dict)

    def inline_values(self) -> list[tuple[str, int]]:
        """(expression, line) of each inline value in prose."""
        if self.kind != "markdown":
            return []
        return [(match.group(1), self.line + self.source.count("\n", 0, match.start()))
                for match in INLINE.finditer(self.source)]


@dataclass(frozen=True)
class Meta:
    """The front matter that the site uses."""

    title: str
    date: datetime.date | None = None
    tags: tuple[str, ...] = ()
    summary: str = ""
    description: str = ""


@dataclass(frozen=True)
class Post:
    path: Path
    slug: str
    meta: Meta
    cells: tuple[Cell, ...]
    warnings: tuple[Diagnostic, ...] = ()

    @property
    def code_cells(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.kind == "code"]


def read_post(path: Path) -> Post:
    """Read one post; raise BadInput with its path and line when it can't be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise BadInput(Diagnostic(path, line, "error", "the post is not valid UTF-8")) from None
    front, body, body_line = _split_front_matter(path, text)
    cells, warnings = _cells(path, body, body_line)
    meta = _meta(path, front, cells)
    slug = front.get("slug", path.stem)
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise BadInput(Diagnostic(path, 1, "error", f"slug {slug!r} must be lowercase letters, digits, '-' or '_'"))
    return Post(path, slug, meta, tuple(cells), tuple(warnings))


def _split_front_matter(path: Path, text: str) -> tuple[dict, str, int]:
    """Return (front matter, body, line of the body's first line)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        return {}, text, 1
    for end in range(1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            break
    else:
        raise BadInput(Diagnostic(path, 1, "error", "front matter starts with '---' but never ends"))
    try:
        front = yaml.safe_load("".join(lines[1:end])) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        problem = getattr(error, "problem", None) or str(error)
        raise BadInput(Diagnostic(path, line, "error", f"front matter is not valid YAML: {problem}")) from None
    if not isinstance(front, dict):
        raise BadInput(Diagnostic(path, 2, "error", "front matter must be a mapping of keys to values"))
    return front, "".join(lines[end + 1 :]), end + 2


def _meta(path: Path, front: dict, cells: list[Cell]) -> Meta:
    def line_of(key: str) -> int:
        text = path.read_text(encoding="utf-8").splitlines()
        return next((n for n, line in enumerate(text, 1) if line.startswith(f"{key}:")), 1)

    def bad(key: str, expected: str):
        raise BadInput(Diagnostic(path, line_of(key), "error", f"front matter '{key}' must be {expected}"))

    title = front.get("title")
    if title is None:
        title = next(
            (line[2:].strip() for cell in cells if cell.kind == "markdown"
             for line in cell.source.splitlines() if line.startswith("# ")),
            path.stem,
        )
    if not isinstance(title, str):
        bad("title", "a string")
    date = front.get("date")
    if date is not None and not isinstance(date, datetime.date):
        bad("date", "a date such as 2026-11-24")
    if isinstance(date, datetime.datetime):
        date = date.date()
    tags = front.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        bad("tags", "a list of strings")
    for key in ("summary", "description"):
        if not isinstance(front.get(key, ""), str):
            bad(key, "a string")
    return Meta(title, date, tuple(tags), front.get("summary", ""), front.get("description", ""))


def _cells(path: Path, body: str, body_line: int) -> tuple[list[Cell], list[Diagnostic]]:
    """Split the body with jupytext, then locate each code cell's fence in the text."""
    notebook = jupytext.reads(body, fmt="md")
    lines = body.splitlines()
    cells: list[Cell] = []
    warnings: list[Diagnostic] = []
    cursor = 0  # index in `lines` of the first line not yet assigned to a cell

    def prose(end: int) -> None:
        text = "\n".join(lines[cursor:end]).strip("\n")
        if text.strip():
            first = cursor + next(i for i, line in enumerate(lines[cursor:end]) if line.strip())
            cells.append(Cell("markdown", text, body_line + first))

    for code in (cell for cell in notebook.cells if cell.cell_type == "code"):
        start, end, language = _find_fence(lines, cursor, code.source)
        prose(start)
        line = body_line + start
        source = "\n".join(lines[start + 1 : end])
        if language in PYTHON_LANGUAGES:
            options = dict(code.metadata)
            if "incorrectly_encoded_metadata" in options:
                raise BadInput(Diagnostic(
                    path, line, "error",
                    f"cannot read fence options '{options['incorrectly_encoded_metadata']}': "
                    'write key=value with JSON values, for example data="images"',
                ))
            for key in sorted(set(options) - FENCE_OPTIONS):
                warnings.append(Diagnostic(path, line, "warning", f"unknown fence option '{key}' is ignored"))
                del options[key]
            cells.append(Cell("code", source, line, options))
        else:
            cells.append(Cell("markdown", "\n".join(lines[start : end + 1]), line))
        cursor = end + 1
    prose(len(lines))
    return cells, warnings


def _find_fence(lines: list[str], cursor: int, source: str) -> tuple[int, int, str]:
    """Find the fenced block holding `source` from `cursor` on: (opening, closing, language)."""
    wanted = [source.splitlines()]
    if wanted[0] and wanted[0][0].startswith("%%"):  # jupytext marks a non-python fence with a cell magic
        wanted.append(wanted[0][1:])
    index = cursor
    while index < len(lines):
        match = OPENING_FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence, language = match.groups()
        close = next(
            (j for j in range(index + 1, len(lines))
             if lines[j].strip().startswith(fence[0] * len(fence)) and not lines[j].strip().strip(fence[0])),
            len(lines),
        )
        if language and lines[index + 1 : close] in wanted:
            return index, close, language.lower()
        index = close + 1
    raise AssertionError(f"jupytext code cell not found in the text: {source[:60]!r}")
