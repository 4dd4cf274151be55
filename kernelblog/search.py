"""Site search: Pagefind's static index of the posts' pages, written into the site before it is
swapped in; the search box (static/search.js) loads it from the site itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .layout import SEARCH


class IndexFailed(RuntimeError):
    """Pagefind could not index the site."""


def index_site(folder: Path) -> None:
    """Index the pages of the site in `folder` (those whose body says data-pagefind-body: the
    posts) into `folder`/pagefind/."""
    import pagefind_bin  # the binary, from the pagefind[bin] wheel

    result = subprocess.run(
        [
            str(pagefind_bin.get_executable()),
            "--site",
            str(folder),
            "--output-subdir",
            SEARCH.rstrip("/"),
            "--silent",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise IndexFailed(f"pagefind could not index {folder}: {result.stderr.strip()}")
