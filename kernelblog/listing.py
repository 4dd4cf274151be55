"""Which files of the posts folder are posts: listed once, here, for every stage that reads them.

`posts/<name>.md` is a flat post; `posts/<slug>/index.md` is a post folder (postfiles.py says
which files each post brings)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import Diagnostic

INDEX = "index.md"  # a post folder's post


@dataclass(frozen=True)
class Listing:
    """The posts (regular files named *.md, in name order) and a diagnostic for each other entry
    named like a post: a warning for one that is not read, an error for a name that cannot be
    one."""

    posts: tuple[Path, ...]
    problems: tuple[Diagnostic, ...]


def list_posts(folder: Path) -> Listing:
    """The posts in `folder`: its `*.md` files and its folders' `index.md`. Each entry is looked at
    with stat, never opened: a FIFO or a device named x.md is reported, not read (reading a FIFO
    waits forever). Hidden files and folders (.#x.md, an editor's lock) are no posts, and not
    reported."""
    folder = Path(folder)
    posts, problems = [], []
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError:
        return Listing((), ())
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if not entry.name.lower().endswith(".md"):
            if _is_folder(entry):
                _add(Path(entry.path) / INDEX, INDEX, posts, problems)
            continue
        _add(Path(entry.path), entry.name, posts, problems)
    return Listing(tuple(sorted(posts)), tuple(problems))


def _add(path: Path, name: str, posts: list, problems: list) -> None:
    """`path` (named `name` in its folder) to the posts, or a diagnostic to the problems; nothing
    for a post folder's index.md that does not exist (a folder without a post)."""
    if name == INDEX and not os.path.lexists(path):
        return
    shown = Path(printable(str(path)))

    def warn(why: str) -> None:
        problems.append(Diagnostic(shown, 0, "warning", f"not read: {why}"))

    if printable(str(path)) != str(path):
        problems.append(
            Diagnostic(shown, 0, "error", "the file name is not UTF-8: rename the post")
        )
    elif not name.endswith(".md"):
        warn(f"a post's name ends in .md (lowercase): rename it {path.stem}.md to publish it")
    elif not _is_regular(path):
        warn(f"it is {_kind(path)}, not a regular file")
    else:
        posts.append(path)


def printable(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (kept by Python as lone surrogates) shown
    as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
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
