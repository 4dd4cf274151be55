"""Whether the last build's site is still current: a fingerprint of everything it was built from.

A build that finds the posts, the settings, the templates, the package, the versions and the
environment as they were at the last successful build, and the site and snippets it wrote
untouched, stops at once: it reads, executes and writes nothing.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
from pathlib import Path

from . import cache
from .diagnostics import Diagnostic
from .files import atomic_write
from .listing import list_posts
from .settings import PACKAGE, TEMPLATES, settings_file

# Libraries that read, complete or render (those that execute are in cache.PACKAGES).
LIBRARIES = (
    "jupytext",
    "nbformat",
    "pyflakes",
    "pyyaml",
    "markdown-it-py",
    "mistune",
    "pygments",
    "nh3",
    "jinja2",
    "latex2mathml",
    "defusedxml",
    "pybtex",
    "pagefind-bin",
)

# A fenced block (``` or ~~~, up to its closing fence), or an inline value in prose.
CODE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,}).*?^[ ]{0,3}\1[ \t]*$|`\{python\}[^`\n]*`", re.M | re.S)


def fingerprint(posts: Path, options: dict, inputs: str | None = None) -> str:
    """A digest of every input of a build, with the options that change what it writes;
    `inputs` is the `package_digest()` if already known."""
    settings = settings_file(posts)
    digest = hashlib.sha256((inputs or package_digest()).encode())
    listing = list_posts(posts)
    _add_files(digest, list(listing.posts) + ([settings] if settings.is_file() else []))
    digest.update("\0".join(map(str, listing.problems)).encode())  # a post left out, and why
    for path in _posts_tree(posts):  # the posts' files, by size and time: not read when unchanged
        try:
            status = path.stat()
            seen = f"\0{status.st_size}\0{status.st_mtime_ns}\n"
        except OSError as error:  # a broken link or a loop: listing.py names it
            seen = f"\0{error.errno}\n"
        digest.update(os.fsencode(path) + seen.encode())
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _posts_tree(posts: Path) -> list[Path]:
    """Every file of the posts folder but hidden ones: the posts and the files they bring."""
    found = []
    for root, folders, files in os.walk(posts):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        found += [Path(root) / name for name in sorted(files) if not name.startswith(".")]
    return found


def package_digest(environment: dict | None = None) -> str:
    """A digest of what every post's build shares: the package's code, the templates, the
    library versions and the environment (`cache.environment()`, if already known)."""
    digest = hashlib.sha256(_running_code().encode())
    _add_files(digest, sorted(TEMPLATES.rglob("*")))  # read from disk at each render
    versions = {name: cache.package_version(name) for name in LIBRARIES}
    digest.update(
        json.dumps(
            [environment or cache.environment(), versions], sort_keys=True, default=str
        ).encode()
    )
    return digest.hexdigest()


@functools.cache
def _running_code() -> str:
    """A digest of the package's code, taken once per process: a long-lived one (serve) runs the
    modules it imported, so what it makes is keyed by them, not by files edited since."""
    digest = hashlib.sha256()
    _add_files(digest, sorted(PACKAGE.rglob("*.py")))
    return digest.hexdigest()


def _add_files(digest, files: list[Path]) -> None:
    for path in files:
        if path.is_file():
            digest.update(os.fsencode(path) + b"\0" + hashlib.sha256(path.read_bytes()).digest())


def code_digest(posts: Path) -> str:
    """A digest of the posts' fenced blocks and inline values, found by a regular expression: a
    cheap guess, before the posts are read, at whether a build will have code to run."""
    digest = hashlib.sha256()
    for path in list_posts(posts).posts:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        digest.update(str(path.relative_to(posts)).encode() + b"\0")
        for match in CODE.finditer(text):
            digest.update(match.group(0).encode() + b"\0")
    return digest.hexdigest()


def code_changed(record: Path, code: str) -> bool:
    """Whether the posts' code (their `code_digest`) differs from that of the last successful
    build, as far as it can tell; False when there is no record to tell by."""
    try:
        saved = json.loads(record.read_text(encoding="utf-8"))["code"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return saved != code


def written(out: Path, snippets: Path) -> dict[str, list[int]]:
    """Size and modification time of each site file (symbolic links too) and of each snippet."""
    found: dict[str, list[int]] = {}

    def add(folder: str, depth: int | None) -> None:
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if depth is None:
                        add(entry.path, None)
                elif depth is None or entry.name.endswith(".py"):
                    status = entry.stat(follow_symlinks=False)
                    found[entry.path] = [status.st_size, status.st_mtime_ns]

    add(str(out), None)
    add(str(snippets), 0)
    return found


def current(record: Path, digest: str, out: Path, snippets: Path) -> list[Diagnostic] | None:
    """The last build's warnings if `record` says it had these inputs and wrote what is there
    now; None if something changed."""
    try:
        saved = json.loads(record.read_text(encoding="utf-8"))
        if saved["fingerprint"] == digest and saved["written"] == written(out, snippets):
            return [
                Diagnostic(Path(path), int(line), str(severity), str(message))
                for path, line, severity, message in saved["warnings"]
            ]
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
    ):  # ValueError: also a record in an older layout
        pass
    return None


def remember(
    record: Path, digest: str, code: str, out: Path, snippets: Path, warnings: list[Diagnostic]
) -> None:
    """Record a successful build, the `code_digest` of its posts, and its warnings, written whole
    (not synced: a record lost in a crash only makes the next build build)."""
    record.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "fingerprint": digest,
        "code": code,
        "written": written(out, snippets),
        "warnings": [[str(w.path), w.line, w.severity, w.message] for w in warnings],
    }
    atomic_write(record, json.dumps(state).encode(), durable=False)


def record_for(cache_folder: Path, out: Path) -> Path:
    """Where the record of the last build of the site in `out` is kept."""
    return (
        cache_folder / f"site-{hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]}.json"
    )
