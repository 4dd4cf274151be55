"""What earlier builds computed that this one can take again, stored in the user's cache folder
under one key scheme: a digest of the kind of value, of everything every post's build shares
(the package, the templates, the library versions: `inputs`) and of what the value is made from.

The kinds: each post's completion ("completed"), each post's rendered page and downloads
("page"), and the code each post's page highlighted ("highlighted"). So a prose edit on a
blog of many posts reads, completes and renders that one post, without highlighting its code
again; the other posts' completions and pages come from here. A completion's digest covers the
post's file, the other files of the posts folder (images it checks) and the settings; a page's
covers its completion's, the site's settings and what the post's code printed and drew. Entries
are pickles in ~/.cache/kernelblog/reuse/, written whole; one unused for PRUNE_DAYS is removed.
They are kept out of the build's --cache folder, which CI saves and restores and shards merge,
so that a pickle never comes from another machine: unpickling runs code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from .files import atomic_write

if TYPE_CHECKING:
    from .complete import CompletedPost
    from .execute import ExecutedPost
    from .settings import Settings

PRUNE_DAYS = 30


class Reuse:
    """The store in `folder` (none: nothing is kept), for builds whose package, templates and
    libraries have the digest `inputs`."""

    def __init__(self, folder: Path | None, inputs: str, fresh: bool = False):
        self.folder = Path(folder) if folder is not None else None
        self.inputs = inputs
        self.fresh = fresh  # make everything again (--force), and save it
        self.hits: Counter[str] = Counter()  # values read, by kind
        self._trees: dict[
            Path, str
        ] = {}  # posts folder -> _tree of it and _weights, listed once per build
        self._completions: dict[
            str, str
        ] = {}  # post path -> the key of its completion in this build

    def completion_key(
        self, path: Path, data: bytes | None, settings: Path, files: str = ""
    ) -> str:
        """The digest of what completing the post at `path`, whose file holds `data`, reads
        (`files`: the digest of the files it brings); kept for its page's key."""
        # the path as given, too: diagnostics name it so
        digest = self._digest(
            "completed",
            str(path),
            str(path.resolve()),
            data or b"(unreadable)",
            str(path.is_symlink()),
            read_bytes(settings) or b"(none)",
            files,
        )
        folder = path.parent
        if folder not in self._trees:
            self._trees[folder] = _tree(folder) + "\0" + _weights()
        digest.update(self._trees[folder].encode("utf-8", "surrogateescape"))  # any file name
        key = digest.hexdigest()
        self._completions[str(path)] = key
        return key

    def page_key(
        self, completed: CompletedPost, executed: ExecutedPost, site: Settings
    ) -> str | None:
        """The digest of what the post's page and downloads are rendered from: its completion
        (by that one's key) and what it printed and drew, by its cache entries' checksums when
        all came from the cache; None if its completion has no key."""
        completion = self._completions.get(str(completed.post.path))
        if completion is None:
            return None
        outputs = ["stamps", executed.stamps] if executed.stamps is not None else executed.notebook
        ran = json.dumps(
            [
                outputs,
                repr(executed.failure),
                executed.seconds,
                executed.executed_at,
                executed.cached,
                [repr(f) for f in executed.failures],
            ],
            sort_keys=True,
            default=str,
        )
        return self._digest("page", completion, repr(site), ran).hexdigest()

    def key(self, kind: str, *parts: str) -> str:
        """The key of a value of this `kind` made from `parts` alone (and the package, templates and
        libraries)."""
        return self._digest(kind, *parts).hexdigest()

    def load(self, kind: str, key: str | None):
        """The value saved under `key`, or None (none saved, or unreadable: then it is remade)."""
        if self.folder is None or self.fresh or key is None:
            return None
        entry = self.folder / f"{kind}-{key}.pickle"
        try:
            value = pickle.loads(entry.read_bytes())
        except Exception:  # missing, truncated, or from a version that no longer unpickles
            return None
        with contextlib.suppress(OSError):
            os.utime(entry)  # used: not pruned
        self.hits[kind] += 1
        return value

    def save(self, kind: str, key: str | None, value) -> None:
        if self.folder is None or key is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # not synced to disk: an entry cut short by a crash does not unpickle, and is made again
            atomic_write(
                self.folder / f"{kind}-{key}.pickle",
                pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL),
                durable=False,
            )
        except OSError:
            pass  # a read-only cache: made again next time

    def prune(self) -> None:
        """Remove the entries no build has used for PRUNE_DAYS; looked for once a day."""
        if self.folder is None or not self.folder.is_dir():
            return
        stamp = self.folder / "pruned"
        with contextlib.suppress(OSError):
            if stamp.stat().st_mtime > time.time() - 86400:
                return
        with contextlib.suppress(OSError):
            stamp.touch()
        old = time.time() - PRUNE_DAYS * 86400
        for entry in self.folder.glob("*.pickle"):
            try:
                if entry.stat().st_mtime < old:
                    entry.unlink()
            except OSError:
                pass

    def _digest(self, kind: str, *parts: str | bytes) -> hashlib._Hash:
        digest = hashlib.sha256(f"{kind}\0{self.inputs}".encode())
        for part in parts:
            data = part if isinstance(part, bytes) else part.encode()
            digest.update(len(data).to_bytes(8, "big") + data)
        return digest


def read_bytes(path: Path) -> bytes | None:
    """A file's bytes; None when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def _weights() -> str:
    """The application weights in Keras's download cache: completion reports an ImageNet model
    whose weights are not there, since builds have no network."""
    from .drift import weights_folder

    try:
        return "\n".join(sorted(path.name for path in weights_folder().iterdir()))
    except OSError:
        return ""


def _tree(folder: Path) -> str:
    """The posts folder's other files and folders, with where each symbolic link points, and the
    BibTeX files' contents: what the reader's checks of image paths and citations look at."""
    entries = []
    for root, folders, files in os.walk(folder):
        for name in sorted(folders + files):
            path = Path(root) / name
            if path.suffix == ".md" and path.parent == folder:
                continue
            entries.append(
                f"{path.relative_to(folder)}\0{os.readlink(path) if path.is_symlink() else ''}"
                + (f"\0{_sha256(path)}" if path.suffix == ".bib" else "")
            )
    return "\n".join(sorted(entries))


def _sha256(path: Path) -> str:
    return hashlib.sha256(read_bytes(path) or b"").hexdigest()
