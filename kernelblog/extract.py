"""Copy the dataset library's definitions a post imports, with what they need, into its downloads.

Found statically: each `from kernelblog.<module> import <names>` in the completed code asks
for top-level definitions of `kernelblog/<module>.py`; each definition brings the module's
top-level names it uses (helpers, constants, classes, imports), and the library's imports of
its own modules (`from .datasets import _split`) bring the definitions they name.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

from .parsing import python_tree

PACKAGE = "kernelblog"
ROOT = Path(__file__).resolve().parent  # the package's folder


@dataclass(frozen=True)
class Library:
    """The library code a post needs: `source` defines `names` (what the post imports)."""

    source: str
    names: tuple[str, ...]  # as the post imports them
    files: tuple[str, ...]  # where they come from: "kernelblog/datasets.py"


def library_imports(code: str) -> list[ast.ImportFrom]:
    """The statements of `code` that import from the package's modules: `from kernelblog.x ...`."""
    try:
        tree = python_tree(code)
    except SyntaxError:
        return []
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.level == 0
        and (node.module or "").startswith(PACKAGE + ".")
    ]


def without_library_imports(code: str) -> str:
    """`code` with its imports from the package left out (an alias `as b` becomes `b = a`)."""
    lines = code.split("\n")
    for node in sorted(library_imports(code), key=lambda node: node.lineno, reverse=True):
        indent = lines[node.lineno - 1][: node.col_offset]
        renames = [
            f"{indent}{alias.asname} = {alias.name}"
            for alias in node.names
            if alias.asname and alias.asname != alias.name
        ]
        if not renames and node.col_offset:  # inside a block, which must keep a statement
            renames = [f"{indent}pass"]
        lines[node.lineno - 1 : node.end_lineno] = renames
    return "\n".join(lines)


def library_for(codes: list[str], root: Path = ROOT.parent) -> Library | None:
    """The definitions that the package imports in `codes` ask for, or None when there are none;
    the package's modules are read under `root`."""
    wanted: dict[str, list[str]] = {}  # module -> names, in the order first imported
    for code in codes:
        for node in library_imports(code):
            for alias in node.names:
                if alias.name != "*" and alias.name not in wanted.setdefault(node.module, []):
                    wanted[node.module].append(alias.name)
    if not wanted:
        return None
    collected = _Collector(root)
    for module, names in wanted.items():
        for name in names:
            collected.need(module, name)
    names = tuple(name for names in wanted.values() for name in names)
    return Library(
        collected.source(), names, tuple(_relative(module) for module in collected.order)
    )


def bound_names(code: str, imports: bool = True) -> list[tuple[str, int]]:
    """(name, line) for each module-level name `code` binds, in order, those its imports bind
    only with `imports`; none when it does not parse."""
    try:
        body = python_tree(code).body
    except SyntaxError:
        return []
    return [
        (name, statement.lineno)
        for statement in body
        if imports or not isinstance(statement, (ast.Import, ast.ImportFrom))
        for name in _bound(statement)
    ]


def _relative(module: str) -> str:
    return f"{module.replace('.', '/')}.py"


class _Module:
    """A module of the package: its source and, for each top-level name, the statements that bind
    it."""

    def __init__(self, name: str, root: Path):
        self.name = name
        path = root / _relative(name)
        self.source = path.read_text(encoding="utf-8") if path.is_file() else ""
        self.lines = self.source.split("\n")
        self.body = ast.parse(self.source).body
        self.binders: dict[str, list[int]] = {}  # name -> indices of the statements that bind it
        for index, statement in enumerate(self.body):
            for name in _bound(statement):
                self.binders.setdefault(name, []).append(index)

    def text(self, index: int) -> str:
        """A statement's lines, with its decorators and the comment lines right above it."""
        statement = self.body[index]
        first = min(
            [statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])]
        )
        while first > 1 and self.lines[first - 2].lstrip().startswith("#"):
            first -= 1
        return "\n".join(self.lines[first - 1 : statement.end_lineno])


def _module(name: str, root: Path) -> _Module:
    """The package's module `name` under `root`, parsed once per version of its file."""
    path = root / _relative(name)
    try:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = None
    return _parsed(name, root, version)


@functools.lru_cache(maxsize=32)
def _parsed(name: str, root: Path, version: tuple[int, int] | None) -> _Module:
    return _Module(name, root)


class _Collector:
    """The statements needed, per module, and the modules in an order where each comes after those
    it uses."""

    def __init__(self, root: Path):
        self.root = root
        self.modules: dict[str, _Module] = {}
        self.chosen: dict[str, set[int]] = {}  # module -> indices of the statements to copy
        self.renames: dict[str, list[str]] = {}  # module -> "b = a" for `from .x import a as b`
        self.seen: list[str] = []  # modules, in the order first needed
        self.uses: dict[str, set[str]] = {}  # module -> the package's modules it imports from
        self.where: dict[
            str, tuple[str, int]
        ] = {}  # a copied name -> (module, statement) defining it
        self.taken: set[tuple[str, int]] = set()  # (module, statement) looked at

    def need(self, module: str, name: str) -> None:
        if module not in self.modules:
            self.modules[module] = _module(module, self.root)
            self.chosen[module], self.uses[module] = set(), set()
            self.seen.append(module)
        source = self.modules[module]
        for index in source.binders.get(name, []):
            if (module, index) not in self.taken:
                self.taken.add((module, index))
                self.chosen[module].add(index)
                self._take(source, index)

    def _take(self, source: _Module, index: int) -> None:
        statement = source.body[index]
        if isinstance(statement, ast.ImportFrom) and (
            statement.level or (statement.module or "").startswith(PACKAGE)
        ):
            self.chosen[source.name].discard(
                index
            )  # the library's own module: copy what it names instead
            base = source.name.rsplit(".", statement.level)[0] if statement.level else ""
            module = ".".join(filter(None, [base, statement.module]))
            self.uses[source.name].add(module)
            for alias in statement.names:
                self.need(module, alias.name)
                if alias.asname and alias.asname != alias.name:
                    self.renames.setdefault(source.name, []).append(
                        f"{alias.asname} = {alias.name}"
                    )
            return
        for name in _bound(statement):
            earlier = self.where.setdefault(name, (source.name, index))
            if earlier[0] != source.name and not isinstance(
                statement, (ast.Import, ast.ImportFrom)
            ):
                raise ValueError(
                    f"{_relative(source.name)} and {_relative(earlier[0])} both define '{name}': "
                    "a download that copies both would keep only one"
                )
        used = {node.id for node in ast.walk(statement) if isinstance(node, ast.Name)}
        for name in sorted(used - set(_bound(statement))):
            if name in source.binders:
                self.need(source.name, name)

    @property
    def order(self) -> list[str]:
        """The modules with something to copy, each after the modules it imports from."""
        order: list[str] = []
        entered: set[str] = set()

        def visit(module: str) -> None:  # depth first, each module after those it uses
            if module in entered:
                return
            entered.add(module)
            for used in sorted(self.uses[module], key=self.seen.index):
                visit(used)
            order.append(module)

        for module in self.seen:
            visit(module)
        return [module for module in order if self.chosen[module] or self.renames.get(module)]

    def source(self) -> str:
        imports: list[str] = []
        parts: list[str] = []
        for module in self.order:
            source = self.modules[module]
            body = []
            for index in sorted(self.chosen[module]):
                text = source.text(index)
                if isinstance(source.body[index], (ast.Import, ast.ImportFrom)):
                    if text not in imports and not text.startswith("from __future__"):
                        imports.append(text)
                else:
                    body.append(text)
            body += self.renames.get(module, [])
            if body:
                parts.append(f"# From {_relative(module)}\n\n" + "\n\n\n".join(body))
        return "\n\n\n".join(["\n".join(imports)] + parts) if imports else "\n\n\n".join(parts)


def _bound(statement: ast.stmt) -> list[str]:
    """The module-level names a top-level statement binds."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    if isinstance(statement, ast.Import):
        return [(alias.asname or alias.name).split(".")[0] for alias in statement.names]
    if isinstance(statement, ast.ImportFrom):
        return [alias.asname or alias.name for alias in statement.names if alias.name != "*"]
    names = []

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
            return
        if isinstance(
            node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
        ):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and node is not statement:
            names.extend(_bound(node))
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(statement)
    return names
