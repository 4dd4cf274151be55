"""`kernelblog new DIR`: a blog of one's own, from the files in starter/ (an example post, the
settings, the check and publish workflows, a README)."""

from __future__ import annotations

import datetime
import json
import re
from importlib import metadata
from pathlib import Path

STARTER = Path(__file__).resolve().parent / "starter"
# starter file -> where it goes in the new blog
FILES = {
    "example.md": "posts/first-post.md",
    "blog-pyproject.toml": "pyproject.toml",
    "check.yml": ".github/workflows/check.yml",
    "publish.yml": ".github/workflows/publish.yml",
    "blog-README.md": "README.md",
    "gitignore": ".gitignore",
}


class StarterError(Exception):
    """The folder cannot take a new blog."""


def new_blog(folder: Path, title: str = "") -> list[Path]:
    """Write a new blog into `folder` (missing, or empty); return the files written."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise StarterError("the folder exists and is not empty: choose a new one")
    title = title or folder.resolve().name
    name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "blog"
    try:
        version = metadata.version("kernelblog")
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        version = "0.1.0"
    values = {
        "{title}": title,
        "{date}": datetime.date.today().isoformat(),
        "{version}": version,
        "{name}": name,
    }
    written = []
    for source, target in FILES.items():
        text = (STARTER / source).read_text(encoding="utf-8")
        if not target.startswith(".github/"):  # workflows hold ${{ }} expressions, no placeholders
            for placeholder, value in values.items():
                if target == "pyproject.toml" and placeholder in ("{title}", "{name}"):
                    value = json.dumps(value, ensure_ascii=False)  # a TOML string
                text = text.replace(placeholder, value)
        path = folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
