"""Every default, path and setting: the build's options, and the `[tool.kernelblog]` table of the
pyproject.toml beside the posts (read once, checked)."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import BadInput, Diagnostic

PACKAGE = Path(__file__).resolve().parent
DATASETS = (
    PACKAGE / "datasets.py"
)  # the dataset library: read by completion, part of every cache key
# The templates ship inside the package when it is installed (pyproject.toml maps the top-level
# templates/ folder to kernelblog/templates); in a source checkout they are beside the package.
TEMPLATES = (
    PACKAGE / "templates" if (PACKAGE / "templates").is_dir() else PACKAGE.parent / "templates"
)
ISOLATION = (
    "auto",
    "required",
    "off",
)  # kernels in the bubblewrap sandbox: where bwrap works, always, never
FORMATS = (
    "plain",
    "github",
)  # how diagnostics are printed; github adds workflow commands (annotations)
PORT = 8000  # of the live preview


@dataclass(frozen=True)
class Shard:
    """`--shard K/N`: the K-th of N shares of the work (from 1)."""

    index: int
    count: int

    def __post_init__(self):
        if not 1 <= self.index <= self.count:
            raise ValueError(f"{self} is not a shard: K must be between 1 and N")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match:
            raise ValueError(f"{text!r} is not K/N (such as 2/3)")
        return cls(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class Options:
    """What a build is asked to do; the defaults of the command line."""

    posts: Path = Path("posts")
    out: Path = Path("_site")
    snippets: Path = Path("snippets")
    cache: Path = Path(".kernelblog-cache")
    check: bool = False
    force: bool = False
    jobs: int = os.cpu_count() or 1
    timeout: float = 600
    keep_going: bool = False
    memory: float | None = (
        None  # GiB the kernels may use together; default: half of what is available
    )
    fresh_kernels: bool = (
        False  # a kernel per component, none reused (to check that components are independent)
    )
    format: str = "plain"  # one of FORMATS
    shard: Shard | None = None
    isolation: str | None = (
        None  # auto, required or off (ISOLATION); None: the isolation setting (auto)
    )
    kernel_memory: int | None = (
        None  # bytes one kernel's processes may use; None: isolation.default_limits
    )
    disk: int | None = None  # bytes per writable folder of a sandboxed kernel
    processes: int | None = None  # per kernel

    @property
    def pyproject(self) -> Path:
        return settings_file(self.posts)

    def argv(self) -> list[str]:
        """The command-line arguments that give these options (those that differ from the defaults)."""
        args = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value == field.default:
                continue
            flag = "--" + field.name.replace("_", "-")
            args += [flag] if isinstance(value, bool) else [flag, str(value)]
        return args


def user_cache() -> Path:
    """The user's cache folder for kernelblog (the Keras index, reused completions and pages):
    $XDG_CACHE_HOME/kernelblog, or ~/.cache/kernelblog."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kernelblog"


def settings_file(posts: Path) -> Path:
    """The pyproject.toml beside the posts folder, which holds the site's settings."""
    return Path(posts).resolve().parent / "pyproject.toml"


def default_format(environ=os.environ) -> str:
    """github inside a GitHub Actions job, plain elsewhere."""
    return "github" if environ.get("GITHUB_ACTIONS") == "true" else "plain"


@dataclass(frozen=True)
class Site:
    """Settings from pyproject.toml's [tool.kernelblog] table; each has a default."""

    title: str = "Deep Learning, Executed"
    description: str = "A technical deep-learning blog whose code really ran."
    author: str = "kernelblog"
    base_url: str = f"http://localhost:{PORT}/"  # where the site is published; used only by the feed and sitemap
    isolation: str = "auto"  # one of ISOLATION; --isolation wins

    def url(self, path: str = "") -> str:
        return self.base_url + path


def load_site(pyproject: Path) -> Site:
    """The site's settings in the [tool.kernelblog] table of `pyproject` (its sub-tables are
    other settings); defaults when the file or the table is missing."""
    table, text = tool_table(pyproject)
    known = set(Site.__dataclass_fields__)
    table = {
        key: value for key, value in table.items() if not isinstance(value, dict)
    }  # [tool.kernelblog.aliases]
    for key, value in table.items():
        if key not in known or not isinstance(value, str):
            expected = f"one of {', '.join(sorted(known))}" if key not in known else "a string"
            raise BadInput(
                Diagnostic(
                    pyproject,
                    key_line(text, key),
                    "error",
                    f"[tool.kernelblog] {key}: expected {expected}",
                )
            )
    if table.get("isolation", "auto") not in ISOLATION:
        raise BadInput(
            Diagnostic(
                pyproject,
                key_line(text, "isolation"),
                "error",
                f"[tool.kernelblog] isolation: expected {', '.join(ISOLATION[:-1])} or off",
            )
        )
    if "base_url" in table and not table["base_url"].endswith("/"):
        table["base_url"] += "/"
    return Site(**table)


def tool_table(pyproject: Path) -> tuple[dict, str]:
    """The table and the file's text; ({}, "") when there is no file; BadInput when it can't be read."""
    pyproject = Path(pyproject)
    if not pyproject.is_file():
        return {}, ""
    try:
        text = pyproject.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = pyproject.read_bytes()[: error.start].count(b"\n") + 1
        raise BadInput(
            Diagnostic(pyproject, line, "error", "the file is not valid UTF-8")
        ) from None
    try:
        tool = tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError as error:
        line = int(match.group(1)) if (match := re.search(r"line (\d+)", str(error))) else 1
        raise BadInput(Diagnostic(pyproject, line, "error", f"not valid TOML: {error}")) from None
    table = tool.get("kernelblog", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise BadInput(
            Diagnostic(
                pyproject,
                key_line(text, "kernelblog"),
                "error",
                "[tool.kernelblog] must be a table",
            )
        )
    return table, text


def key_line(text: str, key: str, table: str = "tool.kernelblog") -> int:
    """The line where `key = ...` is written in `[table]` (or after it), or 1."""
    header = re.search(rf"^[ \t]*\[{re.escape(table)}\][ \t]*$", text, re.M)
    start = header.end() if header else 0
    match = re.compile(rf"^[ \t]*[\"']?{re.escape(key)}[\"']?[ \t]*=", re.M).search(text, start)
    return text.count("\n", 0, match.start()) + 1 if match else 1
