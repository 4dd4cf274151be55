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
        """One line of plain text: terminal escapes removed, other control characters escaped."""
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        message = ANSI.sub("", self.message)
        message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
        return f"{where}: {self.severity}: {message}"

    def workflow_command(self, root: Path | None = None) -> str:
        """The GitHub Actions annotation, `::error file=posts/x.md,line=12,title=...::message`,
        which shows the message at that line of the file in a pull request; the file relative to
        `root` (the current folder by default) when it is inside it."""
        path = Path(self.path)
        if path.is_absolute():
            try:
                path = path.relative_to(Path(root or Path.cwd()).resolve())
            except ValueError:
                pass
        properties = {"file": path.as_posix()}
        if self.line:
            properties["line"] = str(self.line)
        properties["title"] = f"kernelblog {self.severity}"
        command = "error" if self.severity == "error" else "warning"
        fields = ",".join(
            f"{name}={_escape(value, property=True)}" for name, value in properties.items()
        )
        return f"::{command} {fields}::{_escape(ANSI.sub('', self.message))}"


def _escape(text: str, property: bool = False) -> str:
    """Escape a workflow command's message (%, CR, LF) or property value (also : and ,); other
    control characters are shown escaped, as in the plain line."""
    text = "".join(c if c.isprintable() or c in "\r\n" else repr(c)[1:-1] for c in text)
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property else text


class BadInput(Exception):
    """A post or an option the build cannot read; the build stops with status 2."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(str(diagnostic))
        self.diagnostic = diagnostic
