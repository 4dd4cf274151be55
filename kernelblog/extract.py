"""Copy the definitions a post imports from the dataset library, and from the modules the post
brings, with what they need, into its downloads.

Found statically: each `from kernelblog.<module> import <names>` in the completed code asks for
top-level definitions of `kernelblog/<module>.py`, and each import of a module the post brings
(`from evidence import verdict`, `import evidence`, a .py among its files) for definitions of
that file; each definition brings the module's top-level names it uses (helpers, constants,
classes, imports), and a module's imports of copied modules (`from .datasets import _split`,
`from helpers import scale`) bring the definitions they name. A module imported whole
(`import evidence`) becomes a namespace of the attributes the code uses (`evidence.verdict`); a
star import copies the module's public names (its `__all__` where it lists them).
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

from .parsing import python_tree
from .postfiles import PostFiles

PACKAGE = "kernelblog"
ROOT = Path(__file__).resolve().parent  # the package's folder


@dataclass(frozen=True)
class Modules:
    """Modules whose definitions a download copies in instead of importing them: under `folder`,
    every module of `package` (the dataset library), or the modules `names` (a post's own: `a.b`
    is a/b.py, or a/b/__init__.py)."""

    folder: Path
    package: str = ""
    names: frozenset[str] = frozenset()

    def owns(self, module: str) -> bool:
        return module in self.names or bool(self.package) and module.startswith(self.package + ".")

    def has(self, module: str) -> bool:
        """Whether `module` is one of these with a file (`from pkg import sub`: a submodule)."""
        return self.owns(module) and (self.folder / self.path(module)).is_file()

    def path(self, module: str) -> str:
        """The module's file, relative to `folder`."""
        base = module.replace(".", "/")
        package = f"{base}/__init__.py"
        return package if (self.folder / package).is_file() else f"{base}.py"


LIBRARY = Modules(ROOT.parent, package=PACKAGE)


def post_modules(files: PostFiles | None) -> Modules | None:
    """The modules a post brings (its .py files, by the names they are imported by), or None."""
    names = set()
    for file in files.files if files else ():
        if file.name.endswith(".py"):
            parts = file.name[: -len(".py")].split("/")
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            if parts and all(part.isidentifier() for part in parts):
                names.add(".".join(parts))
    return Modules(files.folder, names=frozenset(names)) if names else None


def roots_of(files: PostFiles | None) -> tuple[Modules, ...]:
    """What a post's downloads copy in: the dataset library, and the modules the post brings."""
    own = post_modules(files)
    return (LIBRARY, own) if own else (LIBRARY,)


class CopyError(ValueError):
    """Code a download cannot copy in as it is: two copied modules define the same name."""


@dataclass(frozen=True)
class Library:
    """The library code a post needs: `source` defines `names` (what the post imports)."""

    source: str
    names: tuple[str, ...]  # as the post imports them from the dataset library
    files: tuple[str, ...]  # where they come from: "kernelblog/datasets.py"
    own_names: tuple[str, ...] = ()  # as the post imports them from its own modules
    own_files: tuple[str, ...] = ()  # where they come from, beside the post: "evidence.py"


def _owner(module: str | None, roots: tuple[Modules, ...]) -> Modules | None:
    return next((root for root in roots if module and root.owns(module)), None)


def _tree(code: str) -> ast.AST | None:
    try:
        return python_tree(code)
    except SyntaxError:
        return None


def _submodule(module: str, roots: tuple[Modules, ...]) -> bool:
    return any(root.has(module) for root in roots)


def library_imports(code: str, roots: tuple[Modules, ...] = (LIBRARY,)) -> list[ast.stmt]:
    """The statements of `code` that import copied modules: `from kernelblog.x ...`, and for a
    post's modules in `roots`, `from evidence import ...` and `import evidence`."""
    tree = _tree(code)
    return [
        node
        for node in (ast.walk(tree) if tree else ())
        if isinstance(node, ast.ImportFrom)
        and node.level == 0
        and _owner(node.module, roots)
        or isinstance(node, ast.Import)
        and any(_owner(alias.name, roots) for alias in node.names)
    ]


def without_library_imports(code: str, roots: tuple[Modules, ...] = (LIBRARY,)) -> str:
    """`code` with its imports of copied modules left out: an alias `as b` becomes `b = a`; the
    library cell binds a module imported whole (or a submodule imported from its package)."""
    lines = code.split("\n")
    for node in sorted(library_imports(code, roots), key=lambda node: node.lineno, reverse=True):
        indent = lines[node.lineno - 1][: node.col_offset]
        kept = []  # `import os, evidence`: the modules not copied stay
        renames = []
        if isinstance(node, ast.Import):
            kept = [alias for alias in node.names if not _owner(alias.name, roots)]
        else:
            renames = [
                f"{indent}{alias.asname} = {alias.name}"
                for alias in node.names
                if alias.asname
                and alias.asname != alias.name
                and not _submodule(f"{node.module}.{alias.name}", roots)
            ]
        if kept:
            names = ", ".join(
                alias.name + (f" as {alias.asname}" if alias.asname else "") for alias in kept
            )
            renames = [f"{indent}import {names}"]
        if not renames and node.col_offset:  # inside a block, which must keep a statement
            renames = [f"{indent}pass"]
        lines[node.lineno - 1 : node.end_lineno] = renames
    return "\n".join(lines)


def library_for(codes: list[str], roots: tuple[Modules, ...] = (LIBRARY,)) -> Library | None:
    """The definitions that the imports of the modules of `roots` in `codes` ask for, or None
    when there are none (a root with a `package` is the dataset library, the others the post's
    own modules). CopyError when two copied modules define a name, or one does not parse."""
    collected = _Collector(roots)
    wanted: dict[bool, list[str]] = {True: [], False: []}  # the library's?: names, in order
    trees = [tree for tree in map(_tree, codes) if tree is not None]  # where modules are used
    for code in codes:
        for node in library_imports(code, roots):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    owner = _owner(alias.name, roots)
                    if owner:
                        named = alias.asname or alias.name.split(".")[0]
                        collected.bind(named, alias.name if alias.asname else named, trees)
                        wanted[bool(owner.package)].append(named)
                continue
            owner = _owner(node.module, roots)
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if _submodule(submodule, roots):
                    collected.bind(alias.asname or alias.name, submodule, trees)
                else:
                    collected.need(node.module, alias.name)
                star = alias.name == "*"
                wanted[bool(owner.package)].append(f"{node.module}.*" if star else alias.name)
    if not wanted[True] and not wanted[False]:
        return None
    files = [(collected.roots[module], collected.path(module)) for module in collected.order]
    return Library(
        collected.source(),
        tuple(dict.fromkeys(wanted[True])),
        tuple(path for owner, path in files if owner.package),
        tuple(dict.fromkeys(wanted[False])),
        tuple(path for owner, path in files if not owner.package),
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


class _Module:
    """A copied module: its source and, for each top-level name, the statements that bind it."""

    def __init__(self, name: str, path: Path):
        self.name = name
        self.package = path.name == "__init__.py"  # its relative imports start at itself
        self.source = path.read_text(encoding="utf-8") if path.is_file() else ""
        self.lines = self.source.split("\n")
        try:
            self.tree = python_tree(self.source)
        except SyntaxError as error:
            raise CopyError(f"{path.name}:{error.lineno}: {error.msg}") from None
        self.body = self.tree.body
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

    def public(self) -> list[str]:
        """What `from <module> import *` imports: its `__all__` where a literal lists it, else its
        top-level names but those starting with '_'."""
        for statement in self.body:
            if (
                isinstance(statement, ast.Assign)
                and [ast.unparse(target) for target in statement.targets] == ["__all__"]
                and isinstance(statement.value, (ast.List, ast.Tuple))
            ):
                return [ast.literal_eval(element) for element in statement.value.elts]
        return [name for name in self.binders if not name.startswith("_")]

    def absolute(self, statement: ast.ImportFrom) -> str:
        """The module a (possibly relative) `from ... import` of this module names."""
        if not statement.level:
            return statement.module or ""
        parts = self.name.split(".")[: None if self.package else -1]
        parts = parts[: len(parts) - (statement.level - 1)]
        return ".".join(filter(None, [*parts, statement.module]))


def _module(name: str, path: Path) -> _Module:
    """The module `name` at `path`, parsed once per version of its file."""
    try:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = None
    return _parsed(name, path, version)


@functools.lru_cache(maxsize=32)
def _parsed(name: str, path: Path, version: tuple[int, int] | None) -> _Module:
    return _Module(name, path)


def _chains(trees: list[ast.AST], name: str) -> list[tuple[str, ...]]:
    """The attribute chains read from `name` in `trees` (`evidence.verdict` -> ("verdict",)); ()
    for a use of `name` alone."""
    chains = []
    for tree in trees:
        inner: set[int] = set()  # attributes inside a longer chain
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and id(node) not in inner:
                chain, part = [], node
                while isinstance(part, ast.Attribute):
                    chain.append(part.attr)
                    inner.add(id(part.value))
                    part = part.value
                if isinstance(part, ast.Name) and part.id == name:
                    inner.add(id(part))
                    chains.append(tuple(reversed(chain)))
        chains += [
            ()
            for node in ast.walk(tree)
            if isinstance(node, ast.Name)
            and node.id == name
            and id(node) not in inner
            and isinstance(node.ctx, ast.Load)
        ]
    return chains


class _Collector:
    """The statements needed, per module, and the modules in an order where each comes after those
    it uses; the namespaces that stand for modules imported whole."""

    def __init__(self, roots: tuple[Modules, ...]):
        self.owners = roots
        self.roots: dict[str, Modules] = {}  # module -> the root it is read from
        self.modules: dict[str, _Module] = {}
        self.chosen: dict[str, set[int]] = {}  # module -> indices of the statements to copy
        self.renames: dict[str, list[str]] = {}  # module -> "b = a" for `from .x import a as b`
        self.seen: list[str] = []  # modules, in the order first needed
        self.uses: dict[str, set[str]] = {}  # module -> the copied modules it imports from
        # a copied name -> (module, statement) defining it
        self.where: dict[str, tuple[str, int]] = {}
        self.taken: set[tuple[str, int]] = set()  # (module, statement) looked at
        self.spaces: dict[str, tuple[str, dict]] = {}  # a name -> (module, its members)

    def path(self, module: str) -> str:
        return self.roots[module].path(module)

    def _load(self, module: str) -> _Module:
        if module not in self.modules:
            owner = next(  # a module of a root, or a package of its modules
                root
                for root in self.owners
                if root.owns(module)
                or module == root.package
                or any(name.startswith(module + ".") for name in root.names)
            )
            self.roots[module] = owner
            self.modules[module] = _module(module, owner.folder / owner.path(module))
            self.chosen[module], self.uses[module] = set(), set()
            self.seen.append(module)
        return self.modules[module]

    def need(self, module: str, name: str) -> None:
        source = self._load(module)
        if name == "*":
            for public in source.public():
                self.need(module, public)
            return
        for index in source.binders.get(name, []):
            if (module, index) not in self.taken:
                self.taken.add((module, index))
                self.chosen[module].add(index)
                self._take(source, index)

    def bind(self, name: str, module: str, trees: list[ast.AST]) -> None:
        """`name` stands for `module` (imported whole): a namespace of what `trees` read of it."""
        members = self._members(module, _chains(trees, name))
        earlier = self.spaces.setdefault(name, (module, members))
        if earlier[0] != module:
            raise CopyError(
                f"'{name}' names both {earlier[0]} and {module}, which a download "
                "that copies both in cannot tell apart"
            )
        _merge(earlier[1], members)

    def _members(self, module: str, chains: list[tuple[str, ...]]) -> dict:
        source, members = self._load(module), {}
        for chain in chains:
            if not chain:  # the module itself: what a star import would give
                for name in source.public():
                    self.need(module, name)
                    members.setdefault(name, None)
                continue
            head, submodule = chain[0], f"{module}.{chain[0]}"
            if head not in source.binders and _submodule(submodule, self.owners):
                _merge(members.setdefault(head, {}), self._members(submodule, [chain[1:]]))
                self.uses[module].add(submodule)
            else:
                self.need(module, head)
                members.setdefault(head, None)
        return members

    def _take(self, source: _Module, index: int) -> None:
        statement = source.body[index]
        if isinstance(statement, ast.ImportFrom) and (
            statement.level or _owner(statement.module, self.owners)
        ):
            self.chosen[source.name].discard(index)  # a copied module: copy what it names instead
            module = source.absolute(statement)
            self.uses[source.name].add(module)
            for alias in statement.names:
                submodule = f"{module}.{alias.name}"
                if alias.name not in self._load(module).binders and _submodule(
                    submodule, self.owners
                ):
                    self.uses[source.name].add(submodule)
                    self.bind(alias.asname or alias.name, submodule, [source.tree])
                    continue
                self.need(module, alias.name)
                if alias.asname and alias.asname != alias.name:
                    self.renames.setdefault(source.name, []).append(
                        f"{alias.asname} = {alias.name}"
                    )
            return
        if isinstance(statement, ast.Import) and any(
            _owner(alias.name, self.owners) for alias in statement.names
        ):
            self.chosen[source.name].discard(index)
            for alias in statement.names:
                if not _owner(alias.name, self.owners):
                    raise CopyError(
                        f"{self.path(source.name)}:{statement.lineno}: import copied modules "
                        "in a statement of their own"
                    )
                named = alias.asname or alias.name.split(".")[0]
                self.uses[source.name].add(alias.name)
                self.bind(named, alias.name if alias.asname else named, [source.tree])
            return
        for name in _bound(statement):
            earlier = self.where.setdefault(name, (source.name, index))
            if earlier[0] != source.name and not isinstance(
                statement, (ast.Import, ast.ImportFrom)
            ):
                raise CopyError(
                    f"{self.path(source.name)} and {self.path(earlier[0])} both define "
                    f"'{name}': a download that copies both would keep only one"
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
            for used in sorted(self.uses[module] & set(self.seen), key=self.seen.index):
                visit(used)
            order.append(module)

        for module in self.seen:
            visit(module)
        return [module for module in order if self.chosen[module] or self.renames.get(module)]

    def source(self) -> str:
        imports: list[str] = []
        parts: list[str] = []
        order = self.order
        after: dict[int, list[str]] = {}  # part -> the namespaces that follow it
        for name, (module, members) in self.spaces.items():
            last = max([-1] + [order.index(m) for m in _modules_of(module, members) if m in order])
            after.setdefault(last, []).append(f"{name} = {_namespace(members)}")
        if self.spaces:
            imports.append("import types")
        parts += after.get(-1, [])
        for k, module in enumerate(order):
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
                root = self.roots[module]
                where = "" if root.package else " (beside the post)"
                parts.append(f"# From {self.path(module)}{where}\n\n" + "\n\n\n".join(body))
            parts += after.get(k, [])
        return "\n\n\n".join(["\n".join(imports)] + parts) if imports else "\n\n\n".join(parts)


def _merge(into: dict, members: dict) -> None:
    for name, value in members.items():
        if isinstance(value, dict) and isinstance(into.get(name), dict):
            _merge(into[name], value)
        else:
            into.setdefault(name, value)


def _modules_of(module: str, members: dict) -> list[str]:
    """`module` and the submodules its namespace holds."""
    nested = [
        found
        for name, value in members.items()
        if isinstance(value, dict)
        for found in _modules_of(f"{module}.{name}", value)
    ]
    return [module, *nested]


def _namespace(members: dict) -> str:
    """`types.SimpleNamespace(...)` holding the copied definitions `members` names."""
    fields = ", ".join(
        f"{name}={_namespace(value) if isinstance(value, dict) else name}"
        for name, value in members.items()
    )
    return f"types.SimpleNamespace({fields})"


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
