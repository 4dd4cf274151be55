"""Diagnostics: a problem at a line of a post, carried as a value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


@dataclass(frozen=True)
class Diagnostic:
    """One problem, located at a line of a Markdown file."""

    path: Path
    line: int
    severity: str  # "error" or "warning"
    message: str

    def __str__(self) -> str:
        """One line of plain text: terminal escapes removed, other control characters shown escaped."""
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        message = ANSI.sub("", self.message)
        message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
        return f"{where}: {self.severity}: {message}"


class BadInput(Exception):
    """A post or an option the build cannot read; the build stops with status 2."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(str(diagnostic))
        self.diagnostic = diagnostic
