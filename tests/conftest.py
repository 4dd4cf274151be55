import os
import struct
import zlib
from pathlib import Path

import pytest

from kernelblog.keras_index import build_index

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def index():
    return build_index()


def write_post(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def executed_with(completed, outputs, seconds=1.5, executed_at="2026-11-24T09:00:00+00:00"):
    """An ExecutedPost whose code cells got `outputs` (one list per cell, in order), as if they ran,
    each for 0.25 s by nbclient's timestamps."""
    from kernelblog.execute import ExecutedPost
    notebook = completed.notebook()
    code = [cell for cell in notebook.cells if cell.metadata.get("kernelblog", {}).get("role") == "code"]
    for count, (cell, cell_outputs) in enumerate(zip(code, outputs), start=1):
        cell.execution_count = count
        cell.outputs = cell_outputs
        cell.metadata["execution"] = {"iopub.execute_input": "2026-11-24T09:00:01.000000Z",
                                      "shell.execute_reply": "2026-11-24T09:00:01.250000Z"}
    return ExecutedPost(notebook, seconds=seconds, executed_at=executed_at)


def png(width: int, height: int) -> bytes:
    """A valid one-colour PNG of this size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xff" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
