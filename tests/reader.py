"""A Python as a reader of the blog has it: tensorflow, keras, numpy and matplotlib, and no
kernelblog.

A virtual environment whose site-packages lists this interpreter's site-packages folders as plain
paths: their .pth files are not run, so kernelblog's editable install (a .pth and a finder, which
pip writes there) is not on the path; a finder first in sys.meta_path refuses kernelblog too, in
case it was installed as a regular package. Everything runs with `python -I`, so neither the
current folder nor PYTHONPATH is on the path.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

BLOCKER = '''import sys


class NoKernelblog:
    """A reader has no kernelblog."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "kernelblog" or name.startswith("kernelblog."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoKernelblog)
'''
# Timings a rerun prints differently: Keras's "2s - 82ms/step", "12s 3ms/step".
TIMING = re.compile(r"\b\d+(\.\d+)?\s?(s|ms|us|µs)(/step|/sample)?\b")


def reader_python(folder: Path) -> Path:
    """Make the reader's environment in `folder`; return its python."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(folder)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    (Path(purelib) / "system-site-packages.pth").write_text(
        "".join(f"{path}\n" for path in sorted(ours))
    )
    (Path(purelib) / "no_kernelblog.py").write_text(BLOCKER)
    (Path(purelib) / "no_kernelblog.pth").write_text("import no_kernelblog\n")
    return python


def reader_env(script: bool = False) -> dict[str, str]:
    """The environment without Python's variables (`-I` ignores them anyway) or a matplotlib
    backend; for a script, a non-interactive one, as in a terminal without a display."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PYTHON") and key != "MPLBACKEND"
    }
    return {**env, "MPLBACKEND": "Agg"} if script else env


def kernel_spec(folder: Path, python: Path) -> Path:
    """A kernel spec folder for a kernel of the reader's python (run with -I)."""
    import json

    spec = folder / "reader"
    spec.mkdir(parents=True)
    argv = [str(python), "-I", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "reader", "language": "python"})
    )
    return folder


def masked(text: str) -> str:
    return TIMING.sub("<time>", text)


def lines(text: str) -> list[str]:
    """The non-empty lines of printed text, timings masked."""
    return [masked(line.rstrip()) for line in text.split("\n") if line.strip()]


if (
    __name__ == "__main__"
):  # python tests/reader.py FOLDER: make an environment to try downloads by hand
    print(reader_python(Path(sys.argv[1])))
