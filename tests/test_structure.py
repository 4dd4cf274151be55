"""The package's structure: no import cycle between its modules.

Every import of one module of the package by another counts, at module level or inside a
function (it runs when the function does); an import under `if TYPE_CHECKING:` does not, since
it never runs.
"""

import ast

from conftest import ROOT

PACKAGE = ROOT / "kernelblog"


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported(module: str, tree: ast.AST, modules: set[str]) -> set[str]:
    """The modules of the package that `module`, parsed as `tree`, imports at run time."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "kernelblog" and len(parts) > 1:
                    found.add(parts[1])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:
                base = node.module
            elif node.level == 0 and (node.module or "").split(".")[0] == "kernelblog":
                base = node.module.partition(".")[2] or None
            else:
                base = ""  # another package, or beyond this one
            if base is None:  # `from . import x`: x is a module (or a name of __init__)
                found.update(alias.name for alias in node.names if alias.name in modules)
            elif base:
                found.add(base.split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    return found & modules


def import_graph() -> dict[str, set[str]]:
    """Each module of the package -> the modules of the package it imports."""
    paths = {path.stem: path for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    return {
        name: imported(name, ast.parse(path.read_text(encoding="utf-8")), set(paths))
        for name, path in paths.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each group of modules that import one another (Tarjan's strongly
    connected components), as `[a, b, ..., a]`."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_cycle_in(graph, group) for group in groups]


def _cycle_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A path from the group's first module back to it, through the group alone (breadth first)."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for other in sorted(graph[node] & group):
            if other == start:
                return paths[node] + [start]
            if other not in paths:
                paths[other] = paths[node] + [other]
                queue.append(other)
    raise AssertionError(f"no cycle through {sorted(group)}")


def test_the_graph_sees_every_kind_of_import():
    source = """
import kernelblog.cache
from kernelblog import read
from kernelblog.plan import x
from . import render as r
from .site import y
from typing import TYPE_CHECKING
import os
if TYPE_CHECKING:
    from .write import z
def f():
    from .execute import w
"""
    modules = {"cache", "read", "plan", "render", "site", "write", "execute", "me"}
    found = imported("me", ast.parse(source), modules)
    assert found == {"cache", "read", "plan", "render", "site", "execute"}


def test_cycles_are_found_and_named():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": set()}
    assert sorted(cycles(graph)) == [["a", "b", "c", "a"], ["d", "e", "d"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    assert {"pipeline", "execute", "kernels", "render", "site"} <= set(graph)
    found = [" -> ".join(cycle) for cycle in cycles(graph)]
    assert not found, "import cycles in kernelblog: " + "; ".join(found)
