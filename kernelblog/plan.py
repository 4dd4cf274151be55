"""Plan stage: the cells' dependency graph, and the components it splits a post into.

A component is a unit of execution and of caching: cells that share state, run in order after
the build's setup, which imports what they use from elsewhere in the post and reseeds."""

from __future__ import annotations

import ast
import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyflakes import checker

from .diagnostics import Diagnostic
from .parsing import python_tree

if TYPE_CHECKING:
    from .complete import CompletedPost

# A string literal that looks like a file: "base.keras", "out/weights.h5", "data/".
PATH_LITERAL = re.compile(r"^(?=.{2,200}$)[\w~.-]*(?:/[\w.-]*)*(?:\.[A-Za-z][A-Za-z0-9]{0,7}|/)$")
# Calls that list folders: code that makes them may read any of the post's files.
LISTING = {"listdir", "scandir", "walk", "glob", "iglob", "rglob", "iterdir"}
OPAQUE_CALLS = {"exec", "eval", "globals", "locals", "vars", "get_ipython", "__import__"}
MAGIC = re.compile(r"^\s*(?:[\w.]+\s*=\s*)?[%!]", re.M)
IMPORTS = (
    checker.Importation,
    checker.SubmoduleImportation,
    checker.ImportationFrom,
    checker.FutureImportation,
)
KERAS_RESET = "keras.backend.clear_session()\nkeras.utils.set_random_seed(0)"
NUMPY_RESET = "random.seed(0)\nnp.random.seed(0)"


@dataclass(frozen=True)
class Component:
    """Cells of one post that run together, in post order, after `setup`."""

    number: int  # its place in the post, from 0
    cells: tuple[int, ...]  # the post cells it runs: code cells, and prose cells with inline values
    # the build's code at its start: imports it needs from elsewhere in the post, then seeds
    setup: str
    paths: frozenset[str] = frozenset()  # string literals of its code that look like file paths
    # whether it may read any of the post's files: it lists folders, or is opaque to the analysis
    reads_all: bool = False
    # the modules it imports, itself or in its setup: those the post brings are files it reads
    # (postfiles.PostFiles.named), never links between cells
    modules: frozenset[str] = frozenset()


@dataclass
class Unit:
    """What the analysis knows of one cell that runs."""

    number: int
    reads: set[str]  # names it uses before binding them
    binds: set[str]  # names it binds, other than by an import
    imports: dict[str, str]  # name -> the statement that imports it
    paths: set[str]  # string literals that look like file paths
    opaque: bool  # exec, globals(), a star import, a magic: the analysis cannot judge it
    after: tuple[str, ...] = ()
    lists: bool = False  # it lists folders (os.listdir, glob, Path.iterdir, ...)
    modules: frozenset[str] = frozenset()  # what its absolute imports name (imported_modules)


def plan_post(completed: CompletedPost) -> CompletedPost:
    """The completed post with its components, and diagnostics for `after=` names nothing binds."""
    units = [unit for number, done in enumerate(completed.cells) if (unit := _unit(number, done))]
    problems = []
    bound = set().union(*(u.binds | set(u.imports) for u in units)) if units else set()
    for unit in units:
        for name in unit.after:
            if name not in bound:
                cell = completed.cells[unit.number].cell
                problems.append(
                    Diagnostic(
                        completed.post.path,
                        cell.line,
                        "error",
                        f"after={name!r}: no cell of the post binds '{name}'",
                    )
                )
    if not getattr(completed.post.meta, "isolate", True) or not units:
        groups = [[u.number for u in units]]
    else:
        groups = _contiguous(_connected(units))
    by_number = {u.number: u for u in units}
    keras = "keras" in completed.preamble
    components = []
    for k, group in enumerate(groups):
        imports = _imports_from_elsewhere([by_number[n] for n in group], units)
        base = ["import keras"] if keras else ["import random", "import numpy as np"]
        setup = (
            "\n".join(_grouped(base + imports)) + "\n\n" + (KERAS_RESET if keras else NUMPY_RESET)
        )
        mine = [by_number[n] for n in group]
        paths = frozenset().union(*(u.paths for u in mine))
        reads_all = any(u.opaque or u.lists for u in mine)
        modules = imported_modules(ast.parse("\n".join(imports))).union(*(u.modules for u in mine))
        components.append(Component(k, tuple(group), setup, paths, reads_all, modules))
    diagnostics = tuple(sorted(completed.diagnostics + tuple(problems), key=lambda d: d.line))
    return dataclasses.replace(completed, components=tuple(components), diagnostics=diagnostics)


def edges(units: list[Unit]) -> dict[int, set[int]]:
    """Cell number -> the earlier cells it depends on."""
    import_only = set().union(*(set(u.imports) for u in units)) - set().union(
        *(u.binds for u in units)
    )
    binder: dict[str, int] = {}  # name -> the cell that bound it last
    users: dict[str, list[int]] = {}  # name -> the cells that used it since
    path_users: dict[str, list[int]] = {}
    depends: dict[int, set[int]] = {}
    opaque: int | None = None
    seen: list[int] = []
    for unit in units:
        mine: set[int] = set()
        if unit.opaque:
            mine.update(seen)
        elif opaque is not None:
            mine.add(opaque)
        for name in sorted(unit.reads | set(unit.after)):
            if name in import_only or name not in binder:
                continue
            mine.add(binder[name])
            mine.update(users[name])
            users[name].append(unit.number)  # using it may mutate it: model.fit(...)
        for name in unit.binds:
            binder[name], users[name] = unit.number, []
        for path in unit.paths:
            mine.update(path_users.setdefault(path, []))
            path_users[path].append(unit.number)
        if unit.opaque:
            opaque = unit.number
        mine.discard(unit.number)
        depends[unit.number] = mine
        seen.append(unit.number)
    return depends


def _connected(units: list[Unit]) -> list[list[int]]:
    """The connected groups of cells, each in post order."""
    parent = {u.number: u.number for u in units}

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for number, earlier in edges(units).items():
        for other in earlier:
            parent[root(number)] = root(other)
    groups: dict[int, list[int]] = {}
    for unit in units:
        groups.setdefault(root(unit.number), []).append(unit.number)
    return sorted(groups.values())


def _contiguous(groups: list[list[int]]) -> list[list[int]]:
    """Merge groups whose spans overlap, so each component is a stretch of the post: run top to
    bottom, reseeded at each component's start, the script gives the outputs on the page."""
    merged: list[list[int]] = []
    for group in sorted(groups):
        if merged and group[0] < merged[-1][-1]:
            merged[-1] = sorted(merged[-1] + group)
        else:
            merged.append(list(group))
    return merged


def _imports_from_elsewhere(group: list[Unit], units: list[Unit]) -> list[str]:
    """The import statements of names the group reads that only cells outside it import."""
    statements: dict[str, str] = {}
    for unit in units:
        for name, statement in unit.imports.items():
            statements.setdefault(name, statement)
    imported: set[str] = set()
    needed = []
    for unit in group:
        for name in sorted(unit.reads):
            if name in statements and name not in imported:
                needed.append(statements[name])
                imported.add(name)
        imported |= set(unit.imports)
    return needed


def _grouped(statements: list[str]) -> list[str]:
    """Import statements, once each, with the names from one module on one line: plain imports
    first."""
    plain, names = set(), {}
    for statement in statements:
        if statement.startswith("from "):
            module, _, name = statement[5:].partition(" import ")
            names.setdefault(module, set()).add(name)
        else:
            plain.add(statement)
    return sorted(plain) + [
        f"from {module} import {', '.join(sorted(names[module]))}" for module in sorted(names)
    ]


def _unit(number: int, done) -> Unit | None:
    """Analyse a cell that runs: a code cell, or prose with inline values; None for other prose."""
    cell = done.cell
    if cell.kind == "code":
        code = done.code
    else:
        values = cell.inline_values()
        if not values:
            return None
        code = "\n".join(" ".join(v.expression.split()) for v in values)
    after = tuple(re.split(r"[\s,]+", cell.options.after.strip())) if cell.options.after else ()
    try:
        tree = python_tree(
            MAGIC.sub(lambda m: m.group(0)[:-1] + "pass #", code) if MAGIC.search(code) else code
        )
        scope = _module_scope(tree)
    except (SyntaxError, RecursionError):  # RecursionError: pyflakes, on a tree parsed deep
        return Unit(number, set(), set(), {}, set(), True, after)
    reads, bindings = scope
    binds = {name for name, binding in bindings.items() if not isinstance(binding, IMPORTS)}
    imports = {
        name: _statement(binding)
        for name, binding in bindings.items()
        if isinstance(binding, IMPORTS)
    }
    paths: set[str] = set()
    opaque = bool(MAGIC.search(code))
    lists = False
    for n in ast.walk(
        tree
    ):  # one walk: deleted names, path literals, what the analysis cannot judge
        if isinstance(n, ast.Name):
            if isinstance(n.ctx, ast.Del):
                binds.add(n.id)
            lists = lists or n.id in LISTING
        elif isinstance(n, ast.Constant):
            if isinstance(n.value, str) and PATH_LITERAL.match(n.value):
                paths.add(n.value)
        elif isinstance(n, ast.Attribute) and n.attr in LISTING:
            lists = True
        elif (
            isinstance(n, ast.Global)
            or (isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names))
            or (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Name)
                and n.func.id in OPAQUE_CALLS
            )
        ):
            opaque = True
    imports = {k: v for k, v in imports.items() if v}
    return Unit(number, reads, binds, imports, paths, opaque, after, lists, imported_modules(tree))


def imported_modules(tree: ast.AST) -> frozenset[str]:
    """The modules the absolute imports of `tree` name, anywhere in it: `import a.b` names a.b,
    `from a.b import c` names a.b and a.b.c (c may be a submodule). Relative imports name none."""
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{a.name}" for a in node.names if a.name != "*")
    return frozenset(modules)


def _module_scope(tree: ast.Module) -> tuple[set[str], dict]:
    """pyflakes' view of one cell alone: the names it uses unbound and its module-level bindings."""
    found = checker.Checker(tree, builtins={"get_ipython"})
    reads = {
        message.message_args[0]
        for message in found.messages
        if type(message).__name__ == "UndefinedName"
    }
    module = next(scope for scope in found.deadScopes if isinstance(scope, checker.ModuleScope))
    bindings = {
        name: binding
        for name, binding in module.items()
        if not isinstance(binding, checker.Builtin)
    }
    return reads, bindings


def _statement(binding) -> str:
    """The import statement that makes one binding, alone."""
    if isinstance(binding, checker.FutureImportation):
        return ""
    if isinstance(binding, checker.SubmoduleImportation):
        return f"import {binding.fullName}"
    if isinstance(binding, checker.ImportationFrom):
        module, name = binding.module, binding.real_name
        return f"from {module} import {name}" + (
            f" as {binding.name}" if binding.name != name else ""
        )
    full = binding.fullName
    return f"import {full}" + (f" as {binding.name}" if binding.name != full else "")
