"""Diagnostics print as one line of plain text."""

from pathlib import Path

from kernelblog.diagnostics import Diagnostic


def test_control_characters_never_reach_the_terminal():
    diagnostic = Diagnostic(Path("posts/a.md"), 3, "error", "ValueError: \x1b[2J\x1b[31mboom\x07\x1b[0m\rover")
    assert str(diagnostic) == "posts/a.md:3: error: ValueError: boom\\x07\\rover"


def test_a_diagnostic_without_a_line_names_the_file():
    assert str(Diagnostic(Path("posts"), 0, "error", "no posts")) == "posts: error: no posts"
