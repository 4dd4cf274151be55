"""Complete stage: add the imports each snippet uses and the data setup it declares."""

from __future__ import annotations

import ast
import builtins
import dataclasses
import difflib
import functools
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat
from pyflakes import checker, messages

from .cells import CellMeta, code_cell, markdown_cell
from .diagnostics import Diagnostic
from .drift import Reviser
from .infer import DATA_NAMES, CannotInfer, first_data_use, infer_data, trains_model
from .keras_index import ALIASES, FAMILY_HELPERS, AmbiguousName, KerasIndex
from .parsing import python_tree
from .read import Cell, Post
from .settings import DATASETS

DATASETS_MODULE = "kernelblog.datasets"
IPYTHON_BUILTINS = {"get_ipython"}
MAGIC = re.compile(r"^(\s*(?:[\w.]+\s*=\s*)?)[%!]")


@dataclass(frozen=True)
class CompletedCell:
    """A cell with the lines the build puts before the author's code."""

    cell: Cell
    imports: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()  # data setup: from the `data` fence option, or inferred
    setup_at: int = 0  # how many of the author's lines come before the setup
    note: str = ""  # what the build inferred, for the page: "x_train (600, 32, 32, 3) ..."
    changes: tuple[
        str, ...
    ] = ()  # what the build replaced or corrected in the author's code, for the page

    @property
    def before(self) -> str:
        """The author's lines that run before the data setup."""
        return "\n".join(self.cell.source.split("\n")[: self.setup_at])

    @property
    def after(self) -> str:
        """The author's lines that run after the data setup."""
        return "\n".join(self.cell.source.split("\n")[self.setup_at :])

    @property
    def code(self) -> str:
        """The code as it runs: added imports, the author's lines with the data setup among them."""
        author = self.cell.source.split("\n")
        return "\n".join(
            self.imports
            + tuple(author[: self.setup_at])
            + self.setup
            + tuple(author[self.setup_at :])
        )

    def markdown_lines(self) -> list[int]:
        """The line in the .md file of each line of `code`; added lines map to the line they
        stand before (the fence line for the imports)."""
        author = [self.cell.line + 1 + n for n in range(self.cell.source.count("\n") + 1)]
        setup_line = author[self.setup_at] if self.setup_at < len(author) else author[-1]
        return (
            [self.cell.line] * len(self.imports)
            + author[: self.setup_at]
            + [setup_line] * len(self.setup)
            + author[self.setup_at :]
        )


@dataclass(frozen=True)
class CompletedPost:
    post: Post
    preamble: str  # run before the first cell: fixed seeds
    cells: tuple[CompletedCell, ...]
    diagnostics: tuple[Diagnostic, ...]
    components: tuple = ()  # plan.Component, set by the plan stage

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def static_errors(self) -> dict[int, list[Diagnostic]]:
        """Cell number -> the errors found before running at that code cell's lines."""
        found: dict[int, list[Diagnostic]] = {}
        for d in self.diagnostics:
            for number, done in enumerate(self.cells):
                end = done.cell.line + done.cell.source.count("\n") + 1  # the closing fence
                if (
                    d.severity == "error"
                    and done.cell.kind == "code"
                    and done.cell.line <= d.line <= end
                ):
                    found.setdefault(number, []).append(d)
                    break
        return found

    @property
    def runnable(self) -> bool:
        """Whether every error is at a code cell, so that --keep-going can run the other cells."""
        errors = sum(d.severity == "error" for d in self.diagnostics)
        return sum(map(len, self.static_errors().values())) == errors

    def notebook(self) -> nbformat.NotebookNode:
        """The post as a notebook: each component's setup, then its cells with their completed code.

        Each code cell's metadata is a CellMeta: what it is (`role`), which post cell it belongs
        to, its .md lines and its component. Prose with inline values is preceded by an `inline`
        cell that displays their values as an application/json list. Before the post is planned,
        it is one component whose setup is the preamble.
        """
        components = self.components or (_Whole(self.preamble),)
        starts = {(component.cells or (0,))[0]: component for component in components}
        member = {
            number: component.number for component in components for number in component.cells
        }
        cells = []

        def setup(component) -> None:
            lines = tuple([1] * (component.setup.count("\n") + 1))
            cells.append(
                code_cell(component.setup, CellMeta("setup", -1, 1, lines, component.number))
            )

        if not self.components:
            setup(components[0])
        static = self.static_errors()
        for number, done in enumerate(self.cells):
            if self.components and number in starts:
                setup(starts[number])
            k = member.get(number, 0)
            if done.cell.kind == "code":
                options = done.cell.options
                static_error = (
                    static[number][0].message if number in static else None
                )  # --keep-going:
                additions = (
                    "\n".join(done.imports) if number in static else None
                )  # only the build's lines run
                meta = CellMeta(
                    "code",
                    number,
                    done.cell.line,
                    tuple(done.markdown_lines()),
                    k,
                    options.timeout,
                    options.raises,
                    static_error,
                    additions,
                    backends=options.backends,
                )
                cells.append(code_cell(done.code, meta))
                continue
            values = done.cell.inline_values()
            if values:
                source = "\n".join(
                    ["_kernelblog_inline = []"]
                    + [
                        f"_kernelblog_inline.append(str({' '.join(v.expression.split())}))"
                        for v in values
                    ]
                    + [
                        "__import__('IPython').display.display("
                        "{'application/json': _kernelblog_inline}, raw=True)",
                        "del _kernelblog_inline",
                    ]
                )
                lines = (done.cell.line, *[v.line for v in values], done.cell.line, done.cell.line)
                cells.append(
                    code_cell(source, CellMeta("inline", number, done.cell.line, lines, k))
                )
            cells.append(markdown_cell(done.cell.source))
        for k, cell in enumerate(
            cells
        ):  # deterministic ids: nbformat's are random, a rebuild needs the same
            cell.id = f"cell-{k}"
        return nbformat.from_dict(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "cells": cells,
                "metadata": {
                    "kernelspec": {
                        "name": "python3",
                        "display_name": "Python 3",
                        "language": "python",
                    },
                    "language_info": {"name": "python"},
                },
            }
        )


@dataclass(frozen=True)
class _Whole:
    """The post as one component, before it is planned."""

    setup: str
    number: int = 0
    cells: tuple[int, ...] = ()


def complete_post(
    post: Post, index: KerasIndex, aliases: Mapping[str, str] | None = None
) -> CompletedPost:
    """Complete every code cell of `post`, counting what the other cells define.

    `aliases` (name -> import statement) add to or override ALIASES and the Keras index.
    """
    diagnostics = list(post.warnings)
    cells = [
        _promote(post.path, cell, index, {**ALIASES, **(aliases or {})}, diagnostics)
        for cell in post.cells
    ]
    declared: dict[int, tuple[str, ...]] = {}  # cell number -> setup lines from its data option
    trees: dict[int, ast.Module] = {}  # cell number -> parsed author code, for the cells that parse
    changes: dict[int, tuple[str, ...]] = {}  # cell number -> what drift corrections changed
    standins: dict[
        int, set[str]
    ] = {}  # cell number -> stand-ins it names where keras.datasets.<name> was
    reviser = Reviser(index, dataset_standins())
    for number, cell in enumerate(cells):
        if cell.kind != "code":
            continue
        original = cell.source
        try:
            tree = _parse(_mask_magics(original))
            revision = reviser.revise(original, tree)
        except (SyntaxError, RecursionError):
            tree = revision = None  # reported below
        if revision is not None:
            cells[number] = cell = dataclasses.replace(cell, source=revision.source)
            standins[number] = revision.referenced
            changes[number] = tuple(
                f"line {cell.line + line}: {note}" if line else note
                for line, note in revision.notes
            )
            diagnostics += [
                Diagnostic(post.path, cell.line + line, severity, message)
                for line, severity, message in revision.problems
            ]
        if cell.options.data is not None:
            try:
                declared[number] = data_setup(cell.options.data)
            except ValueError as error:
                diagnostics.append(Diagnostic(post.path, cell.line, "error", str(error)))
        try:
            # the tree parsed above, unless drift corrections changed the code
            trees[number] = (
                tree
                if tree is not None and cell.source == original
                else _parse(_mask_magics(cell.source))
            )
        except SyntaxError as error:
            line = cell.line + min(max(error.lineno or 1, 1), cell.source.count("\n") + 1)
            diagnostics.append(Diagnostic(post.path, line, "error", f"invalid syntax: {error.msg}"))
    context = _Context(
        post.path, index, {**ALIASES, **(aliases or {})}, cells, declared, trees, standins
    )
    done = [context.complete(number, cell) for number, cell in enumerate(cells)]
    done = [
        dataclasses.replace(d, changes=tuple(dict.fromkeys(changes.get(number, ()) + d.changes)))
        for number, d in enumerate(done)
    ]
    drift = {(d.line, d.message) for d in diagnostics if d.severity == "error"}
    diagnostics += [
        d
        for d in context.problems
        if not (  # a removed API is not also an unknown name
            d.message.startswith("name '")
            and any(
                line == d.line and d.message.split("'")[1] in message for line, message in drift
            )
        )
    ]
    return CompletedPost(
        post, _preamble(done), tuple(done), tuple(sorted(diagnostics, key=lambda d: d.line))
    )


def _promote(
    path: Path, cell: Cell, index: KerasIndex, aliases: dict[str, str], diagnostics: list
) -> Cell:
    """An untagged fence of Python code using Keras names or aliases becomes a code cell."""
    if cell.untagged is None:
        return cell
    try:
        tree = _parse(cell.untagged)
    except SyntaxError:
        return cell
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    if not any(name in aliases or _keras_evidence(name, index) for name in used):
        return cell
    diagnostics.append(
        Diagnostic(
            path,
            cell.line,
            "warning",
            "this fence has no language but reads as Keras code, so it runs: tag it ```python",
        )
    )
    return Cell("code", cell.untagged, cell.line)


def _keras_evidence(name: str, index: KerasIndex) -> bool:
    """Whether using `name` says the code is Keras: a name the index resolves, not a builtin."""
    if name in dir(builtins):
        return False
    try:
        return index.import_for(name) is not None
    except AmbiguousName:  # `mean`, `shape`: numpy just as well
        return False


class _Context:
    """What a post's completion knows: each cell's code, what it binds, and what the build added."""

    def __init__(
        self,
        path: Path,
        index: KerasIndex,
        aliases: dict[str, str],
        cells: list[Cell],
        declared: dict[int, tuple[str, ...]],
        trees: dict[int, ast.Module],
        standins: dict[int, set[str]] | None = None,
    ):
        self.path, self.index, self.aliases, self.cells = path, index, aliases, cells
        self.standins = standins or {}
        self.declared, self.trees = declared, trees
        self.problems: list[Diagnostic] = []
        self.provided: set[str] = set()  # names an import added to an earlier cell binds
        self.inferred: tuple[str, ...] = ()  # the setup of the data inferred last, still bound
        self.undefined = self._undefined()
        self.bound: dict[
            str, tuple[int, int]
        ] = {}  # name -> (cell number, author line) of its first binding
        for number, tree in trees.items():
            for name, line in _module_bindings(tree):
                self.bound.setdefault(name, (number, line))
        used = {
            n.id if isinstance(n, ast.Name) else n.attr
            for tree in trees.values()
            for n in ast.walk(tree)
            if isinstance(n, (ast.Name, ast.Attribute))
        }
        self.families = index.families(used)

    def _undefined(self) -> dict[int, list[tuple[int, str]]]:
        """Cell number -> (line in the author's code, name) of each unbound use, by one pyflakes
        pass over the whole post, so a function may use a name a later cell defines."""
        pieces, owners = [], []  # owners[k]: (cell number, first line of the cell's author code)
        total = 0
        for number, tree in self.trees.items():
            setup = self.declared.get(number, ())
            code = "\n".join(setup + (_mask_magics(self.cells[number].source),))
            owners.append((number, total + 1 + len(setup)))
            pieces.append(code)
            total += code.count("\n") + 1
        found: dict[int, list[tuple[int, str]]] = {}
        if not pieces:
            return found
        try:
            undefined = _undefined_names("\n".join(pieces), self.index)
        except (SyntaxError, RecursionError):
            line = self.cells[owners[0][0]].line
            self.problems.append(
                Diagnostic(self.path, line, "error", "the code is too deeply nested to analyse")
            )
            return found
        for lineno, name in undefined:
            number, first = next(
                (n, f) for n, f in reversed(owners) if lineno >= f - len(self.declared.get(n, ()))
            )
            found.setdefault(number, []).append((max(lineno - first, 0) + 1, name))
        return found

    def complete(self, number: int, cell: Cell) -> CompletedCell:
        if cell.kind != "code":
            return CompletedCell(cell)
        setup, setup_at, note = self.declared.get(number, ()), 0, ""
        if number not in self.trees:
            return CompletedCell(cell, (), setup)
        uses: dict[str, int] = {}  # name -> the author line of its first unbound use in this cell
        for line, name in self.undefined.get(number, []):
            uses.setdefault(name, line)
        data = {
            name: line
            for name, line in uses.items()
            if name in DATA_NAMES and cell.options.data is None
        }
        if cell.options.data is not None:
            for name in ("X_train", "X_test"):
                if name in uses:
                    message = (
                        f"name '{name}' is not defined: the data option binds x_train, y_train, "
                        "x_test and y_test"
                    )
                    self.problems.append(
                        Diagnostic(self.path, cell.line + uses[name], "error", message)
                    )
        if data:
            setup, setup_at, note = self._data(number, cell, data)
        aliases: set[str] = set()
        from_imports: dict[str, set[str]] = {}
        changes: list[str] = []
        for name in (
            self.standins.get(number, ()) - self.provided
        ):  # `tf.keras.datasets.mnist` became `mnist`
            from_imports.setdefault(DATASETS_MODULE, set()).add(name)
            self.provided.add(name)
        metrics, elsewhere = _names_by_keyword(self.trees[number], "metrics")
        for name, line in uses.items():
            if name in DATA_NAMES or name in self.provided:
                continue
            at = cell.line + line
            if name in self.bound:
                other, bound_line = self.bound[name]
                where = self.cells[other].line + bound_line
                message = f"name '{name}' is not bound at this point (it is bound at line {where})"
                self.problems.append(Diagnostic(self.path, at, "error", message))
                continue
            statement = self.aliases.get(name)
            if statement is None and name in sys.stdlib_module_names:
                statement = f"import {name}"
            if statement is not None:
                aliases.add(statement)
                self.provided.add(name)
                continue
            if name in dataset_generators() or name in dataset_standins():
                from_imports.setdefault(DATASETS_MODULE, set()).add(name)
                self.provided.add(name)
                if name in dataset_standins():
                    changes.append(
                        f"keras.datasets.{name} is replaced by a synthetic stand-in: "
                        f"{dataset_standins()[name]}"
                    )
                continue
            if (
                name in metrics
                and name in elsewhere
                and "keras.metrics" in self.index.names.get(name, ())
            ):
                self.problems.append(
                    Diagnostic(
                        self.path,
                        at,
                        "error",
                        f"name '{name}' is used as a metric and elsewhere: import it from "
                        "keras.metrics or keras.losses, as you mean it",
                    )
                )
                continue
            try:
                found = self.index.import_for(
                    name, "metrics" if name in metrics else "", self.families
                )
            except AmbiguousName as error:
                self.problems.append(Diagnostic(self.path, at, "error", _ambiguous(error)))
                continue
            if found:
                from_imports.setdefault(found[0], set()).add(found[1])
                self.provided.add(name)
            else:
                self.problems.append(
                    Diagnostic(self.path, at, "error", _unknown(name, self.index, self.aliases))
                )
        imports = sorted(aliases) + [
            f"from {module} import {', '.join(sorted(names))}"
            for module, names in sorted(from_imports.items())
        ]
        return CompletedCell(cell, tuple(imports), setup, setup_at, note, tuple(changes))

    def _data(
        self, number: int, cell: Cell, data: dict[str, int]
    ) -> tuple[tuple[str, ...], int, str]:
        """Setup lines for the conventional data names a cell uses but nothing binds, inferred
        from the model; nothing when the data inferred for an earlier cell is the same."""
        tree = self.trees[number]
        earlier = [self.trees[n] for n in sorted(self.trees) if n < number]
        statement = first_data_use(tree, set(data))
        upper = any(name.startswith("X_") for name in data)  # the spelling the cell uses, per split
        x_train = "X_train" if "X_train" in data or (upper and "x_train" not in data) else "x_train"
        x_test = "X_test" if "X_test" in data or (upper and "x_test" not in data) else "x_test"
        try:
            spec = infer_data(earlier, tree)
        except CannotInfer as reason:
            if self.inferred and not trains_model(tree):
                return (), 0, ""  # the data inferred for an earlier model is still bound
            name, line = min(data.items(), key=lambda item: item[1])
            self.problems.append(
                Diagnostic(
                    self.path,
                    cell.line + line,
                    "error",
                    f"name '{name}' is not defined, and the build cannot infer the data: {reason}. "
                    'Declare the data in the fence, for example ```python data="images"',
                )
            )
            return (), 0, ""
        setup = spec.setup(x_train, x_test)
        if setup == self.inferred:
            return (), 0, ""
        self.inferred = setup
        first_line = min(
            [statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])]
        )
        return setup, first_line - 1, spec.note(x_train, x_test)


def _module_bindings(tree: ast.Module):
    """(name, line) for each name a cell binds at module level, outside functions and classes."""

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name, node.lineno
            return
        if isinstance(
            node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
        ):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            yield node.id, node.lineno
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    yield (alias.asname or alias.name).split(".")[0], node.lineno
        for child in ast.iter_child_nodes(node):
            yield from visit(child)

    yield from visit(tree)


def _names_by_keyword(tree: ast.Module, keyword: str) -> tuple[set[str], set[str]]:
    """Names used inside a `keyword=...` argument of any call, and names used elsewhere."""
    inside: set[int] = set()
    names: list[ast.Name] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == keyword:
            inside.update(id(n) for n in ast.walk(node.value))
        elif isinstance(node, ast.Name):
            names.append(node)
    return ({n.id for n in names if id(n) in inside}, {n.id for n in names if id(n) not in inside})


def _ambiguous(error: AmbiguousName) -> str:
    more = len(error.modules) - 3
    shown = ", ".join(error.modules[:3]) + (f" and {more} more" if more > 0 else "")
    if error.name in FAMILY_HELPERS and len(error.modules) > 3:
        return (
            f"name '{error.name}' depends on the model: it is in {shown}; use it in a post that "
            "builds one application model, or import it from the one you mean"
        )
    return f"name '{error.name}' is ambiguous: it is in {shown}; import it from the one you mean"


def _undefined_names(code: str, index: KerasIndex) -> list[tuple[int, str]]:
    """(line, name) for each use of a name that is not bound there, by pyflakes' scoping. A
    name only a star import may bind counts as bound, unless every module star-imported is a
    Keras module (known from the index) that does not export it."""
    found = checker.Checker(_parse(code), builtins=IPYTHON_BUILTINS).messages
    undefined = []
    for message in found:
        if isinstance(message, messages.UndefinedName):
            undefined.append((message.lineno, message.message_args[0]))
        elif isinstance(message, messages.ImportStarUsage):
            name, modules = message.message_args[0], message.message_args[1].split(", ")
            if all(index.members(m) and name not in index.members(m) for m in modules):
                undefined.append((message.lineno, name))
    return sorted(undefined)


def _parse(code: str) -> ast.Module:
    """The module's tree; SyntaxError for any code Python cannot parse."""
    return python_tree(code)


def _mask_magics(code: str) -> str:
    """Replace IPython magics and shell escapes with `pass`, keeping line numbers."""

    def mask(match: re.Match) -> str:
        return match.group(1) + ("None #" if "=" in match.group(1) else "pass #")

    return "\n".join(MAGIC.sub(mask, line, count=1) for line in code.split("\n"))


def _unknown(name: str, index: KerasIndex, aliases: dict[str, str]) -> str:
    message = f"name '{name}' is not defined"
    close = difflib.get_close_matches(name, index.known_names() | set(aliases), n=3, cutoff=0.75)
    if close:
        message += " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)"
    return message


def data_setup(declaration: str) -> tuple[str, ...]:
    """The lines that bind x_train, y_train, x_test, y_test for a `data` fence option.

    The option names a generator of kernelblog.datasets, with keyword arguments if any:
    data="images" or data="images(classes=6, n_train=1000)".
    """
    try:
        node = python_tree(str(declaration), mode="eval").body
    except SyntaxError:
        node = None
    call = node if isinstance(node, ast.Call) else ast.Call(node, [], [])
    generators = dataset_generators()
    if not isinstance(call.func, ast.Name) or call.args or call.func.id not in generators:
        raise ValueError(
            f"data={declaration!r} is not a dataset: use one of {', '.join(sorted(generators))}, "
            'optionally with keyword arguments, as in data="images(classes=6)"'
        )
    for keyword in call.keywords:
        if keyword.arg not in generators[call.func.id] or not _literal(keyword.value):
            raise ValueError(
                f"data={declaration!r}: {call.func.id}() takes the keyword arguments "
                + ", ".join(generators[call.func.id])
                + ", with literal values"
            )
    return (
        f"from {DATASETS_MODULE} import {call.func.id}",
        f"(x_train, y_train), (x_test, y_test) = {ast.unparse(call)}",
    )


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def _dataset_library() -> ast.Module:
    """The dataset library's code, parsed once: read, never imported, by the main process."""
    return ast.parse(DATASETS.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def dataset_generators() -> dict[str, tuple[str, ...]]:
    """Public generators of the dataset library and their parameters."""
    return {
        node.name: tuple(a.arg for a in node.args.args + node.args.kwonlyargs)
        for node in _dataset_library().body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    }


@functools.lru_cache(maxsize=1)
def dataset_standins() -> dict[str, str]:
    """The dataset library's stand-ins for keras.datasets and their summaries."""
    return {
        node.name: statement.value.value
        for node in _dataset_library().body
        if isinstance(node, ast.ClassDef)
        for statement in node.body
        if isinstance(statement, ast.Assign)
        and [getattr(t, "id", "") for t in statement.targets] == ["summary"]
    }


def _preamble(cells: list[CompletedCell]) -> str:
    """Seed every generator the post can use, so each build prints the same outputs."""
    code = "\n".join(c.code for c in cells if c.cell.kind == "code")
    if re.search(r"\b(keras|tensorflow)\b", code):
        return "import keras\n\nkeras.utils.set_random_seed(0)"
    return "import random\n\nimport numpy as np\n\nrandom.seed(0)\nnp.random.seed(0)"
