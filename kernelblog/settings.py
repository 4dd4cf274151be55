"""The `[tool.kernelblog]` table of the pyproject.toml beside the posts: read once, checked."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from .diagnostics import BadInput, Diagnostic


def tool_table(pyproject: Path) -> tuple[dict, str]:
    """The table and the file's text; ({}, "") when there is no file; BadInput when it can't be read."""
    pyproject = Path(pyproject)
    if not pyproject.is_file():
        return {}, ""
    try:
        text = pyproject.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = pyproject.read_bytes()[:error.start].count(b"\n") + 1
        raise BadInput(Diagnostic(pyproject, line, "error", "the file is not valid UTF-8")) from None
    try:
        tool = tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError as error:
        line = int(match.group(1)) if (match := re.search(r"line (\d+)", str(error))) else 1
        raise BadInput(Diagnostic(pyproject, line, "error", f"not valid TOML: {error}")) from None
    table = tool.get("kernelblog", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise BadInput(Diagnostic(pyproject, key_line(text, "kernelblog"), "error",
                                  "[tool.kernelblog] must be a table"))
    return table, text


def key_line(text: str, key: str, table: str = "tool.kernelblog") -> int:
    """The line where `key = ...` is written in `[table]` (or after it), or 1."""
    header = re.search(rf"^[ \t]*\[{re.escape(table)}\][ \t]*$", text, re.M)
    start = header.end() if header else 0
    match = re.compile(rf"^[ \t]*[\"']?{re.escape(key)}[\"']?[ \t]*=", re.M).search(text, start)
    return text.count("\n", 0, match.start()) + 1 if match else 1
