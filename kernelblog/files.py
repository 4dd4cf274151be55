"""Writing a file whole: through a temporary file in the same folder and a rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace `path` with `data` in one step, so that a reader or a killed build never sees it
    half written; `durable`: on disk before the rename (what a later run may only recompute need
    not be). The temporary file, `.<name>.*.tmp`, is removed if the write fails."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            if durable:
                os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
