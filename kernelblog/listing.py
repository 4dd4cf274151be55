"""Which files of the posts folder are posts: listed once, here, for every stage that reads them."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import Diagnostic


@dataclass(frozen=True)
class Listing:
    """The posts (regular files named *.md, in name order) and a diagnostic for each other entry
    named like a post: a warning for one that is not read, an error for a name that cannot be
    one."""

    posts: tuple[Path, ...]
    problems: tuple[Diagnostic, ...]


def post_files(folder: Path) -> Listing:
    """The posts in `folder`. Each entry is looked at with stat, never opened: a FIFO or a device
    named x.md is reported, not read (reading a FIFO waits forever). Hidden files (.#x.md, an
    editor's lock) are no posts, and not reported."""
    folder = Path(folder)
    posts, problems = [], []
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError:
        return Listing((), ())
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.lower().endswith(".md"):
            continue
        path = folder / entry.name
        shown = folder / printable(entry.name)

        def warn(why: str) -> None:
            problems.append(Diagnostic(shown, 0, "warning", f"not read: {why}"))

        if printable(entry.name) != entry.name:
            problems.append(
                Diagnostic(shown, 0, "error", "the file name is not UTF-8: rename the post")
            )
        elif not entry.name.endswith(".md"):
            warn(f"a post's name ends in .md (lowercase): rename it {path.stem}.md to publish it")
        elif not _is_regular(entry):
            warn(f"it is {_kind(path)}, not a regular file")
        else:
            posts.append(path)
    return Listing(tuple(posts), tuple(problems))


def printable(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (kept by Python as lone surrogates) shown
    as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _is_regular(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file(follow_symlinks=True)
    except OSError:
        return False


def _kind(path: Path) -> str:
    """What an entry that is not a regular file is, in words."""
    try:
        status = path.stat()
    except OSError as error:
        if path.is_symlink():
            return f"a symbolic link that cannot be followed ({error.strerror.lower()})"
        return f"unreadable ({error.strerror.lower()})"
    link = "a symbolic link to " if path.is_symlink() else ""
    if os.path.isdir(path):
        return f"{link}a folder"
    kinds = {stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISCHR: "a character device"}
    kinds |= {stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}
    what = next((name for test, name in kinds.items() if test(status.st_mode)), "no regular file")
    return link + what
