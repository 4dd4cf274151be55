"""Citations: `[@key]` and `[@key, p. 3]` in prose, with keys from a BibTeX file, formatted by
pybtex as a numbered list of references."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import BadInput, Diagnostic

BIBLIOGRAPHY = "references.bib"  # beside the posts, unless the front matter names another
KEY = r"[A-Za-z0-9_][A-Za-z0-9_:.\-/]*"
# One citation of one or more works, as in Pandoc: [@key], [@key, p. 3], [@one; @two, ch. 2]; not
# a link's text ([@key](url)).
CITATION = re.compile(rf"\[(@{KEY}(?:,[^\];\n]*)?(?:;\s*@{KEY}(?:,[^\];\n]*)?)*)\](?![(\[])")
WORK = re.compile(rf"@({KEY})(?:,([^;]*))?")
# Where citations are not looked for: fenced blocks and code spans.
NOT_PROSE = re.compile(
    r"^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^ {0,3}\1[^\n]*$|\Z)|(`+).+?\2", re.M | re.S
)


@dataclass(frozen=True)
class Citation:
    """One `[...]` in prose: its span in the cell, its line in the .md file, and each work it cites
    with its locator (such as "p. 3"), if any."""

    start: int
    end: int
    line: int
    works: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Reference:
    """A work the post cites: its key, and its entry formatted as HTML."""

    key: str
    html: str


def citations(source: str, line: int) -> list[Citation]:
    """The citations in prose that starts at `line` of the .md file, outside code."""
    masked = NOT_PROSE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), source)
    return [
        Citation(
            match.start(),
            match.end(),
            line + source.count("\n", 0, match.start()),
            tuple(
                (work.group(1), (work.group(2) or "").strip())
                for work in WORK.finditer(match.group(1))
            ),
        )
        for match in CITATION.finditer(masked)
    ]


def references(
    post: Path, bibliography: Path, cited: list[Citation], named_at: int = 0
) -> tuple[Reference, ...]:
    """The works `cited` in `post`, numbered in the order first cited, formatted from the BibTeX
    file `bibliography`; BadInput at the citation's line for a key the file lacks (or no file),
    or at the line in the file where pybtex cannot read it. `named_at`: the front matter's line
    that names the file, if it does."""
    if not cited:
        return ()
    if not bibliography.is_file():
        line = named_at or cited[0].line
        where = f"the file {bibliography} named here" if named_at else f"{bibliography}"
        raise BadInput(
            Diagnostic(post, line, "error", f"citations need a bibliography: no {where}")
        )
    entries = _entries(bibliography)
    keys: list[str] = []
    for citation in cited:
        for key, _ in citation.works:
            if key not in entries:
                close = difflib.get_close_matches(key, entries, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                message = f"unknown citation key '{key}': not in {bibliography}{hint}"
                raise BadInput(Diagnostic(post, citation.line, "error", message))
            if key not in keys:
                keys.append(key)
    return _formatted(bibliography, entries, keys)


def _entries(bibliography: Path):
    """The file's entries by key; BadInput at the line pybtex stops at."""
    import pybtex.errors
    from pybtex.database import BibliographyDataError
    from pybtex.database.input import bibtex
    from pybtex.scanner import PybtexSyntaxError

    pybtex.errors.set_strict_mode(True)  # an error, never a message on stderr
    try:
        text = bibliography.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(Diagnostic(bibliography, 1, "error", f"cannot read it: {error}")) from None
    try:
        return bibtex.Parser().parse_string(text).entries
    except PybtexSyntaxError as error:
        line = error.lineno or 1
        starts = [
            text.count("\n", 0, match.start()) + 1 for match in re.finditer(r"^[ \t]*@", text, re.M)
        ]
        # pybtex stops where it finds what ends the broken entry: often the next one's start
        start = max((start for start in starts if start < line), default=0)
        entry = f" (in the entry that starts at line {start})" if start else ""
        message = f"not valid BibTeX: {error.args[0] if error.args else error}{entry}"
        raise BadInput(Diagnostic(bibliography, line, "error", message)) from None
    except BibliographyDataError as error:  # a key used twice: at its second entry
        match = re.search(r"entry: (.+)$", str(error))
        line = _entry_line(text, match.group(1), 2) if match else 1
        raise BadInput(Diagnostic(bibliography, line, "error", str(error))) from None


def _entry_line(text: str, key: str, occurrence: int = 1) -> int:
    """The line of the entry `key` (its `occurrence`-th), or 1."""
    found = list(re.finditer(rf"@\w+\s*[{{(]\s*{re.escape(key)}\s*,", text))
    if len(found) < occurrence:
        return 1
    return text.count("\n", 0, found[occurrence - 1].start()) + 1


def _formatted(bibliography: Path, entries, keys: list[str]) -> tuple[Reference, ...]:
    """Each entry formatted by pybtex's plain style as HTML; BadInput at an entry the style
    cannot format (a required field missing)."""
    from pybtex.backends.html import Backend
    from pybtex.exceptions import PybtexError
    from pybtex.style.formatting.plain import Style

    style, backend, made = Style(), Backend(), []
    for key in keys:
        try:
            [formatted] = style.format_entries([entries[key]])
        except PybtexError as error:
            line = _entry_line(bibliography.read_text(encoding="utf-8"), key)
            raise BadInput(
                Diagnostic(bibliography, line, "error", f"entry '{key}': {error}")
            ) from None
        made.append(Reference(key, formatted.text.render(backend)))
    return tuple(made)
