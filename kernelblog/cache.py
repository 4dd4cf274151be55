"""Execution cache: a component's outputs, keyed on everything that can change them.

An entry is a folder named by the key, holding `outputs.json` and then `manifest.json`,
each written to a temporary file and renamed; the manifest, written last, holds the
outputs' checksum, so an entry cut short by a killed build is never trusted.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .files import atomic_write
from .settings import BACKEND_PACKAGES, DATASETS, FIGURE_FORMAT

if TYPE_CHECKING:  # nbformat loads only when an entry is restored
    import nbformat

    from .fence import FenceOptions

FORMAT = 3  # bump when the entry layout or the key's contents change
PACKAGES = ("keras", "tensorflow", "numpy", "matplotlib")
ENVIRONMENT = ("TF_ENABLE_ONEDNN_OPTS",)  # it changes numerics (and KERAS_BACKEND: see environment)
KEEP = 3  # entries kept per component of a post, so undoing an edit finds its outputs again
TIMINGS = "timings.json"  # how long each component ran last, and the largest kernel: for scheduling


class CorruptEntry(Exception):
    """An entry that exists but cannot be trusted; the message says why."""


@dataclass(frozen=True)
class Entry:
    """What a cache hit restores: the code cells' outputs and when they ran."""

    cells: list  # per code cell, in order: {"outputs", "execution_count", "execution"}
    executed_at: str
    seconds: float
    sha256: str = ""  # of the outputs as stored: what identifies them


@functools.cache
def package_version(name: str) -> str:
    """An installed package's version ("not installed" if it is not), read from its metadata
    without importing it, once per process (a long-lived one, serve, runs what it imported)."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment(backend: str = "tensorflow") -> dict:
    """The part of the key that every post run on `backend` shares: versions, dataset library,
    environment, the format figures are drawn in. The kernel's KERAS_BACKEND is the backend's
    name; TensorFlow, Keras's default, is keyed as no KERAS_BACKEND, as before backends could be
    chosen."""
    packages = PACKAGES + tuple(p for p in BACKEND_PACKAGES[backend] if p not in PACKAGES)
    env = {name: os.environ.get(name) for name in ENVIRONMENT}
    env["KERAS_BACKEND"] = None if backend == "tensorflow" else backend
    return {
        "format": FORMAT,
        "python": platform.python_version(),
        "packages": {name: package_version(name) for name in packages},
        "datasets": hashlib.sha256(DATASETS.read_bytes()).hexdigest(),
        "env": env,
        "figures": FIGURE_FORMAT,
    }


def code_digest(notebook: nbformat.NotebookNode, options: list[FenceOptions]) -> str:
    """The digest of a component's (or a post's) code: each code cell's source and options, in
    order.

    `options` are the fence options of its code cells; only those declared as changing outputs
    (FenceOptions.key) are in it: captions and alt texts are words for the page, not inputs.
    """
    from .cells import CellMeta

    keyed = [cell_options.key() for cell_options in options]
    cells = [
        [cell.source, CellMeta.of(cell).key()]
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    text = json.dumps({"cells": cells, "options": keyed}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def key(code: str, shared: dict) -> str:
    """The key of an entry: the digest of its code (code_digest) and `shared`, what else its outputs
    depend on."""
    text = json.dumps({"code": code, "shared": shared}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Stamp:
    """What an entry's manifest says: its outputs' checksum, which identifies them, and when and how
    long they ran."""

    sha256: str
    executed_at: str
    seconds: float


class Cache:
    """Entries under one folder, one sub-folder per key."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def stamp(self, key: str) -> Stamp | None:
        """The manifest of the entry for `key`, its outputs unread; None when there is none;
        CorruptEntry when the manifest is missing or damaged."""
        entry = self.folder / key
        try:
            manifest = json.loads((entry / "manifest.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            if not entry.exists():
                return None
            raise CorruptEntry("the entry has no manifest (was a build interrupted?)") from None
        except (OSError, ValueError) as error:
            raise CorruptEntry(f"its manifest is unreadable: {error}") from None
        if not isinstance(manifest, dict) or manifest.get("key") != key:
            raise CorruptEntry("its manifest is for another key")
        try:
            return Stamp(
                str(manifest["sha256"]), str(manifest["executed_at"]), float(manifest["seconds"])
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CorruptEntry(f"it is malformed: {error!r}") from None

    def load(self, key: str) -> Entry | None:
        """The entry for `key`; None if there is none; CorruptEntry if it is partial or damaged."""
        stamp = self.stamp(key)
        if stamp is None:
            return None
        try:
            data = (self.folder / key / "outputs.json").read_bytes()
        except OSError as error:
            raise CorruptEntry(f"its outputs are unreadable: {error.strerror or error}") from None
        if hashlib.sha256(data).hexdigest() != stamp.sha256:
            raise CorruptEntry("its outputs do not match the manifest's checksum (truncated?)")
        try:
            return Entry(json.loads(data), stamp.executed_at, stamp.seconds, stamp.sha256)
        except (KeyError, TypeError, ValueError) as error:
            raise CorruptEntry(f"it is malformed: {error!r}") from None

    def store(
        self,
        key: str,
        slug: str,
        notebook: nbformat.NotebookNode,
        executed_at: str,
        seconds: float,
        unit: str | None = None,
    ) -> None:
        """Save the code cells' outputs of an executed notebook; the manifest goes last. `unit`
        names the component (`slug/number`), whose older entries are pruned."""
        cells = [
            {
                "outputs": cell.get("outputs", []),
                "execution_count": cell.get("execution_count"),
                "execution": cell.metadata.get("execution", {}),
            }
            for cell in notebook.cells
            if cell.cell_type == "code"
        ]
        data = json.dumps(cells).encode()
        entry = self.folder / key
        entry.mkdir(parents=True, exist_ok=True)
        (entry / "manifest.json").unlink(missing_ok=True)  # a damaged entry being replaced
        for leftover in entry.glob(".*.tmp"):  # from a build killed while writing
            leftover.unlink(missing_ok=True)
        atomic_write(entry / "outputs.json", data)
        manifest = {
            "key": key,
            "slug": slug,
            "unit": unit or slug,
            "sha256": hashlib.sha256(data).hexdigest(),
            "executed_at": executed_at,
            "seconds": seconds,
        }
        atomic_write(entry / "manifest.json", json.dumps(manifest, indent=1).encode())
        self._prune(unit or slug)

    def timings(self) -> dict:
        """What the last builds recorded: {"components": {unit: seconds}, "kernel_peak": bytes}."""
        try:
            recorded = json.loads((self.folder / TIMINGS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"components": {}, "kernel_peak": 0}
        if not isinstance(recorded, dict) or not isinstance(recorded.get("components"), dict):
            return {"components": {}, "kernel_peak": 0}
        return recorded

    def recorded_seconds(self) -> dict[str, float]:
        """How long each component ran, by unit (`slug/number`), from its newest entry's manifest:
        files named by their keys, which the caches of several machines merge into by copying."""
        newest: dict[str, tuple[str, str, float]] = {}
        for manifest in self.folder.glob("*/manifest.json"):
            try:
                saved = json.loads(manifest.read_text(encoding="utf-8"))
                unit, seconds = str(saved.get("unit", saved["slug"])), float(saved["seconds"])
                when = (
                    str(saved["executed_at"]),
                    manifest.parent.name,
                )  # what the files say, not their times
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue
            if unit not in newest or when > newest[unit][:2]:
                newest[unit] = (*when, seconds)
        return {unit: seconds for unit, (_, _, seconds) in newest.items()}

    def record_timings(self, components: dict[str, float], kernel_peak: int) -> None:
        """Add this build's component times and kernel peak to what is recorded."""
        recorded = self.timings()
        recorded["components"].update(components)
        if kernel_peak:
            recorded["kernel_peak"] = kernel_peak
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.folder / TIMINGS, json.dumps(recorded, indent=1, sort_keys=True).encode())

    def _prune(self, unit: str) -> None:
        """Remove a component's entries beyond the newest KEEP."""
        mine = []
        for manifest in self.folder.glob("*/manifest.json"):
            try:
                saved = json.loads(manifest.read_text(encoding="utf-8"))
                if saved.get("unit", saved.get("slug")) == unit:
                    mine.append((manifest.stat().st_mtime_ns, manifest.parent))
            except (OSError, ValueError):
                continue
        for _, folder in sorted(mine, reverse=True)[KEEP:]:
            shutil.rmtree(folder, ignore_errors=True)


def restore(notebook: nbformat.NotebookNode, entry: Entry) -> None:
    """Put an entry's outputs on the code cells of a freshly built notebook, cell by cell."""
    import nbformat

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if len(code) != len(entry.cells):
        raise CorruptEntry(f"it has {len(entry.cells)} cells where the post has {len(code)}")
    try:
        for cell, saved in zip(code, entry.cells):
            cell.outputs = [nbformat.from_dict(output) for output in saved["outputs"]]
            cell.execution_count = saved["execution_count"]
            if saved["execution"]:
                cell.metadata["execution"] = nbformat.from_dict(saved["execution"])
    except (KeyError, TypeError, AttributeError) as error:
        raise CorruptEntry(f"its cells are malformed: {error!r}") from None
