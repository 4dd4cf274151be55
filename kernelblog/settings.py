"""Every default, path and setting: the build's options, and the `[tool.kernelblog]` table of the
pyproject.toml beside the posts (read once, checked)."""

from __future__ import annotations

import ast
import dataclasses
import difflib
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from .diagnostics import BadInput, Diagnostic
from .parsing import python_tree

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
# Keras 3's backends, by the name KERAS_BACKEND takes, with the name a page shows; the first of a
# build's backends is its primary one: its outputs are the page's.
BACKENDS = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
# What each backend needs installed, beside keras (the extras of pyproject.toml install them)
BACKEND_PACKAGES = {"tensorflow": ("tensorflow",), "jax": ("jax", "jaxlib"), "torch": ("torch",)}
# How the kernels draw figures (matplotlib-inline's InlineBackend.figure_formats): "retina", PNGs
# of twice their pixels with their displayed size as metadata (the <img>'s width and height), so
# they are crisp on high-density screens. Part of every cache key.
FIGURE_FORMAT = "retina"


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
    drafts: bool = False  # build the posts whose front matter says draft: true too
    shard: Shard | None = None
    isolation: str | None = (
        None  # auto, required or off (ISOLATION); None: the isolation setting (auto)
    )
    kernel_memory: int | None = (
        None  # bytes one kernel's processes may use; None: isolation.default_limits
    )
    disk: int | None = None  # bytes per writable folder of a sandboxed kernel
    processes: int | None = None  # per kernel
    backends: tuple[str, ...] | None = None  # the Keras backends to run on; None: the setting

    @property
    def pyproject(self) -> Path:
        return settings_file(self.posts)

    def argv(self) -> list[str]:
        """The command-line arguments giving these options (those that differ from the defaults)."""
        args = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value == field.default:
                continue
            flag = "--" + field.name.replace("_", "-")
            if isinstance(value, tuple):
                value = ",".join(value)
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


def parse_size(text: str) -> int:
    """A size such as 4G, 512M, 1.5GiB or 1000000 (bytes), in bytes."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?)(i?b)?\s*", str(text), re.I)
    if not match:
        raise ValueError(f"{text!r} is not a size such as 4G or 512M")
    number = float(match.group(1))
    size = int(number * 1024 ** " kmgt".index(match.group(2).lower() or " "))
    if size <= 0 or not math.isfinite(number):
        raise ValueError(f"{text!r} is not a positive size")
    return size


TYPES = {"string": str, "integer": int, "boolean": bool, "list": list, "table": dict}
EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "boolean": "true or false",
    "list": "a list",
    "table": "a table",
}


class Invalid(ValueError):
    """A setting's value the build cannot use; `key`: the entry of a table setting at fault."""

    def __init__(self, message: str, key: str = ""):
        super().__init__(message)
        self.key = key


def setting(kind: str, default, help: str, check: Callable | None = None, expected: str = ""):
    """One key of [tool.kernelblog]: its TOML type (a key of TYPES), default and one-line help;
    `check` turns a value of that type into what the build uses, or raises ValueError (Invalid)
    saying why; `expected` says what a value of the wrong type should be."""
    metadata = {"kind": kind, "help": help, "check": check, "expected": expected or EXPECTED[kind]}
    if isinstance(default, dict):
        frozen = MappingProxyType(dict(default))
        return dataclasses.field(default_factory=lambda: frozen, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise Invalid(f"expected {', '.join(choices[:-1])} or {choices[-1]}")
        return value

    return check


def _at_least(least: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if value < least:
            raise Invalid(f"expected an integer of at least {least}")
        return value

    return check


def parse_backends(names) -> tuple[str, ...]:
    """Backend names (a list, or a comma-separated string), checked: known, once each, at least
    one; the first is the primary one."""
    if isinstance(names, str):
        names = [name.strip() for name in names.split(",")]
    if not names or not all(isinstance(name, str) for name in names):
        raise Invalid(f"expected a list of backends among {', '.join(BACKENDS)}")
    for name in names:
        if name not in BACKENDS:
            close = difflib.get_close_matches(name, BACKENDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise Invalid(f"'{name}' is not a Keras backend: {', '.join(BACKENDS)}{hint}")
    if len(set(names)) != len(names):
        raise Invalid("a backend is named twice")
    return tuple(names)


def _directory(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _repository(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+", name):
        raise Invalid('expected a GitHub repository as "owner/name"')
    return name


def _branch(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", name) or ".." in name or name.startswith("/"):
        raise Invalid("expected a branch name")
    return name


def _aliases(table: dict) -> MappingProxyType:
    """Each entry is one import statement that binds its name."""
    for name, statement in table.items():
        try:
            node = python_tree(statement).body if isinstance(statement, str) else None
        except SyntaxError:
            node = None
        if not node or len(node) != 1 or not isinstance(node[0], (ast.Import, ast.ImportFrom)):
            raise Invalid(
                'the value must be one import statement, such as "import pandas as pd"', name
            )
        if name not in {(a.asname or a.name).split(".")[0] for a in node[0].names}:
            raise Invalid(f"the statement {statement!r} does not bind '{name}'", name)
    return MappingProxyType(dict(table))


@dataclass(frozen=True)
class Settings:
    """The site's settings, from pyproject.toml's [tool.kernelblog] table: each key is declared
    here once (see `setting`), with its default."""

    title: str = setting("string", "Deep Learning, Executed", "the site's name, on every page")
    description: str = setting(
        "string",
        "A technical deep-learning blog whose code really ran.",
        "one line under the title on the index",
    )
    author: str = setting(
        "string", "kernelblog", "named on every page and in the feed; a post's default author"
    )
    base_url: str = setting(
        "string",
        f"http://localhost:{PORT}/",
        "where the site is published: the absolute URLs of feed.xml, sitemap.xml, robots.txt, "
        "404.html and the share cards",
        _directory,
    )
    isolation: str = setting(
        "string",
        "auto",
        "kernels in the sandbox: auto, required or off; --isolation wins",
        _one_of(ISOLATION),
    )
    kernel_memory: int | None = setting(
        "string",
        None,
        'memory one kernel\'s processes may use, such as "4G"; --kernel-memory wins',
        parse_size,
        'a size such as "4G"',
    )
    disk: int | None = setting(
        "string",
        None,
        'size of each writable folder of a sandboxed kernel, such as "1G"; --disk wins',
        parse_size,
        'a size such as "1G"',
    )
    processes: int | None = setting(
        "integer", None, "processes one kernel may run at once; --processes wins", _at_least(1)
    )
    post_files_cap: int = setting(
        "string",
        50 << 20,
        'bytes of files (data, images) one post may bring, such as "50M"',
        parse_size,
        'a size such as "50M"',
    )
    repository: str = setting(
        "string",
        "",
        'the GitHub repository of the posts, "owner/name": each post links to its source there '
        'and to "Open in Colab" for snippets/<slug>.ipynb; none: no such links',
        _repository,
        'a GitHub repository as "owner/name"',
    )
    branch: str = setting(
        "string", "main", "the repository's branch that those links name", _branch
    )
    posts_per_page: int = setting(
        "integer",
        0,
        "posts on each index page, newest first (page/2/ and on); 0: all on one",
        _at_least(0),
    )
    backends: tuple[str, ...] = setting(
        "list",
        ("tensorflow",),
        "Keras backends every post runs on, the first one's outputs on the page: tensorflow, "
        "jax, torch; --backends wins",
        parse_backends,
        'a list such as ["tensorflow", "jax"]',
    )
    aliases: Mapping[str, str] = setting(
        "table",
        {},
        'names the build imports where a snippet uses them: name = "import statement"',
        _aliases,
        'a table of name = "import statement"',
    )

    def url(self, path: str = "") -> str:
        return self.base_url + path


def load_settings(
    pyproject: Path, warn: Callable[[Diagnostic], None] = lambda warning: None
) -> Settings:
    """The settings in the [tool.kernelblog] table of `pyproject`; defaults when the file or the
    table is missing. A value of the wrong type, or one its check refuses, is BadInput at its
    line; an unknown key is a warning to `warn`."""
    table, text = tool_table(pyproject)
    declared = {field.name: field for field in dataclasses.fields(Settings)}
    values = {}
    for key, value in table.items():
        if key in declared:
            values[key] = _checked(pyproject, text, declared[key], value)
            continue
        close = difflib.get_close_matches(key, declared, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        message = f"[tool.kernelblog] {key}: not a setting, ignored{hint}"
        warn(Diagnostic(pyproject, key_line(text, key), "warning", message))
    return Settings(**values)


def _checked(pyproject: Path, text: str, field: dataclasses.Field, value):
    """`value` as the setting `field` has it, or BadInput at its line."""
    kind, check = field.metadata["kind"], field.metadata["check"]
    wrong = isinstance(value, bool) and kind != "boolean"  # TOML's true is no integer
    try:
        if wrong or not isinstance(value, TYPES[kind]):
            raise Invalid(f"expected {field.metadata['expected']}")
        return check(value) if check else value
    except ValueError as error:
        key = getattr(error, "key", "")
        line = key_line(text, key, f"tool.kernelblog.{field.name}") if key else 0
        raise BadInput(
            Diagnostic(
                pyproject,
                line or key_line(text, field.name),
                "error",
                f"[tool.kernelblog{'.' + field.name if key else ''}] {key or field.name}: {error}",
            )
        ) from None


def tool_table(pyproject: Path) -> tuple[dict, str]:
    """The table and the file's text; ({}, "") when there is no file; BadInput when it can't be
    read."""
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
    except (RecursionError, MemoryError):  # tomllib recurses into nested arrays and tables
        raise BadInput(
            Diagnostic(pyproject, 1, "error", "not valid TOML: nested too deeply to read")
        ) from None
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
    """The line where `key = ...` is written in `[table]` (or after it), or where the table
    `[table.key]` starts, or 1."""
    header = re.search(rf"^[ \t]*\[{re.escape(table)}\][ \t]*$", text, re.M)
    start = header.end() if header else 0
    match = re.compile(rf"^[ \t]*[\"']?{re.escape(key)}[\"']?[ \t]*=", re.M).search(text, start)
    if not match:
        match = re.search(rf"^[ \t]*\[{re.escape(f'{table}.{key}')}\][ \t]*$", text, re.M)
    return text.count("\n", 0, match.start()) + 1 if match else 1
