"""The posts of a posts folder, and the files each post brings: what its code sees in its working
folder, what its prose may reference, and what is published beside its page.

`posts/<name>.md` is a flat post; `posts/<slug>/index.md` is a post folder. A post folder brings
the files beside its index.md (at any depth, other .md files included); a flat post brings the
posts folder's files that are not posts. Hidden files and folders, .ipynb_checkpoints and
__pycache__ are never a post's files.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import BadInput, Diagnostic
from .listing import INDEX, list_posts

IGNORED = {".ipynb_checkpoints", "__pycache__"}
DEFAULT_CAP = 50 << 20  # bytes of files one post may bring: settings.post_files_cap


@dataclass(frozen=True)
class PostFile:
    name: str  # its path from the post's folder, with '/'
    size: int
    sha256: str


@dataclass(frozen=True)
class PostFiles:
    """The files a post brings, and the folder they are in."""

    folder: Path
    files: tuple[PostFile, ...] = ()

    def get(self, name: str) -> PostFile | None:
        """The file at `name` (a relative path, as code or prose writes it), or None."""
        wanted = normal(name)
        return next((file for file in self.files if file.name == wanted), None)

    def is_folder(self, name: str) -> bool:
        wanted = normal(name)
        return wanted == "." or any(file.name.startswith(wanted + "/") for file in self.files)

    def named(
        self,
        literals: frozenset[str] | set[str],
        everything: bool = False,
        modules: frozenset[str] | set[str] = frozenset(),
    ) -> dict:
        """name -> sha256 of the files that the code's path-like string literals name: a file by
        its path or by its name alone (as in os.path.join("data", "pima.csv")), a folder by its
        path ("data/", "."); the files of the modules it imports (`modules`); every file when
        `everything`."""
        wanted = {normal(literal) for literal in literals}
        folders = tuple(name + "/" for name in wanted)
        imported = self.imported(modules)
        return {
            file.name: file.sha256
            for file in self.files
            if everything
            or "." in wanted
            or file.name in wanted
            or file.name in imported
            or posixpath.basename(file.name) in wanted
            or file.name.startswith(folders)
        }

    def imported(self, modules: frozenset[str] | set[str]) -> set[str]:
        """The files that importing `modules` may run, from the working folder: for `a.b`, `a.py`,
        or every file under `a/` where `a/b.py` or `a/b/__init__.py` is one (a package, whose
        modules may import each other). A module the post does not bring names none."""
        names = {file.name for file in self.files}
        found = set()
        for module in modules:
            top, path = module.partition(".")[0], module.replace(".", "/")
            if f"{top}.py" in names:
                found.add(f"{top}.py")
            if {f"{path}.py", f"{path}/__init__.py"} & names:
                found.update(name for name in names if name.startswith(top + "/"))
        return found

    def digest(self) -> str:
        """What identifies the files: their names and contents."""
        text = "\n".join(f"{file.name}\0{file.sha256}" for file in self.files)
        return hashlib.sha256(text.encode()).hexdigest()


def read_by(files: PostFiles | None, components) -> tuple[PostFile, ...]:
    """The files that the post's components (plan.Component) name, or may read: those the page
    offers for download beside the script and the notebook."""
    if files is None:
        return ()
    named: set[str] = set()
    for component in components:
        named |= set(files.named(component.paths, component.reads_all, component.modules))
    return tuple(file for file in files.files if file.name in named)


def normal(name: str) -> str:
    """A relative path as the files' names are: './data//x.csv' -> 'data/x.csv'."""
    return posixpath.normpath(name.strip()).rstrip("/") if name.strip() else "."


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def is_folder_post(path: Path) -> bool:
    return Path(path).name == INDEX and (Path(path).parent / INDEX).is_file()


def post_files(path: Path, cap: int = DEFAULT_CAP) -> PostFiles:
    """The files the post at `path` brings; BadInput for a symlink out of the posts folder, a name
    that is not UTF-8 or collides with another but for case, or files over `cap` bytes in all."""
    path = Path(path)
    if path.name == INDEX:
        folder, posts, skip = path.parent, path.parent.parent, {INDEX}
    else:
        folder = posts = path.parent
        listed = list_posts(posts).posts
        skip = {entry.name for entry in listed if entry.parent == posts}
        skip |= {entry.parent.name for entry in listed if entry.parent != posts}
    return _listing(folder, posts, skip, cap, path)


def _listing(folder: Path, posts: Path, skip: set[str], cap: int, post: Path) -> PostFiles:
    inside = posts.resolve()

    def bad(where: Path, message: str) -> BadInput:
        return BadInput(Diagnostic(where, 0, "error", message))

    found: list[tuple[str, Path]] = []
    seen: set[Path] = set()  # folders walked, resolved: a symlink loop is walked once
    for root, folders, files in os.walk(folder, followlinks=True):
        relative = Path(root).relative_to(folder)
        here = Path(root)
        real = here.resolve()
        if real != inside and inside not in real.parents:
            raise bad(post, f"{here} is a symlink to {real}, outside the posts folder")
        if real in seen:
            folders[:] = []
            continue
        seen.add(real)
        top = relative == Path(".")
        folders[:] = sorted(
            name
            for name in folders
            if not name.startswith(".") and name not in IGNORED and not (top and name in skip)
        )
        for name in sorted(files):
            if name.startswith(".") or (top and name in skip):
                continue
            file = here / name
            if not _regular(file):
                continue  # a FIFO, device or broken link: nothing to bring (listing.py warns)
            target = file.resolve()
            if inside not in target.parents:
                raise bad(post, f"{file} is a symlink to {target}, outside the posts folder")
            found.append(((relative / name).as_posix(), file))
    names: dict[str, str] = {}
    listed = []
    for name, file in sorted(found):
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            shown = os.fsencode(name).decode("utf-8", "backslashreplace")
            raise bad(post, f"file name {shown!r} is not valid UTF-8: rename it") from None
        other = names.setdefault(name.casefold(), name)
        if other != name:
            raise bad(
                post,
                f"files {other!r} and {name!r} differ only by case, which a case-insensitive "
                "file system (macOS, Windows) cannot hold: rename one",
            )
    sizes = {name: file.stat().st_size for name, file in found}  # the cap before any read
    total = sum(sizes.values())
    largest = max(((size, name) for name, size in sizes.items()), default=(0, ""))
    if total > cap:
        raise bad(
            post,
            f"the post's files hold {_mb(total)}, over the cap of {_mb(cap)} "
            f"(post_files_cap in [tool.kernelblog]); the largest is {largest[1]} "
            f"({_mb(largest[0])})",
        )
    for name, file in sorted(found):
        data = file.read_bytes()
        listed.append(PostFile(name, len(data), hashlib.sha256(data).hexdigest()))
    return PostFiles(folder, tuple(listed))


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 100 << 10 else f"{max(size >> 10, 1)} KiB"


def size_text(size: int) -> str:
    """12 KB, 3.4 MB: as the page lists a file."""
    return _mb(size)
