"""Complete stage: add the imports each snippet uses and the data setup it declares."""

from __future__ import annotations

import ast
import difflib
import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from pyflakes import checker, messages

from .diagnostics import Diagnostic
from .keras_index import ALIASES, AmbiguousName, KerasIndex
from .read import Cell, Post

DATASETS_MODULE = "kernelblog.datasets"
DATA_NAMES = {"x_train", "y_train", "x_test", "y_test", "X_train", "X_test"}
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

    @property
    def before(self) -> str:
        """The author's lines that run before the data setup."""
        return "\n".join(self.cell.source.split("\n")[:self.setup_at])

    @property
    def after(self) -> str:
        """The author's lines that run after the data setup."""
        return "\n".join(self.cell.source.split("\n")[self.setup_at:])

    @property
    def code(self) -> str:
        """The code as it runs: added imports, the author's lines with the data setup among them."""
        author = self.cell.source.split("\n")
        return "\n".join(self.imports + tuple(author[:self.setup_at]) + self.setup + tuple(author[self.setup_at:]))

    def markdown_lines(self) -> list[int]:
        """The line in the .md file of each line of `code`; added lines map to the line they
        stand before (the fence line for the imports)."""
        author = [self.cell.line + 1 + n for n in range(self.cell.source.count("\n") + 1)]
        setup_line = author[self.setup_at] if self.setup_at < len(author) else author[-1]
        return ([self.cell.line] * len(self.imports) + author[:self.setup_at]
                + [setup_line] * len(self.setup) + author[self.setup_at:])


@dataclass(frozen=True)
class CompletedPost:
    post: Post
    preamble: str  # run before the first cell: fixed seeds
    cells: tuple[CompletedCell, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def notebook(self) -> nbformat.NotebookNode:
        """The post as a notebook: the preamble, then every cell with its completed code.

        Each code cell's metadata says what it is (`role`), which post cell it belongs to
        (`cell`), its .md line (`line`) and the .md line of each of its lines (`lines`).
        Prose with inline values is preceded by an `inline` cell that displays their values
        as an application/json list.
        """
        def code_cell(source: str, role: str, number: int, line: int, lines: list[int], **extra):
            meta = {"role": role, "cell": number, "line": line, "lines": lines, **extra}
            return nbformat.v4.new_code_cell(source, metadata={"kernelblog": meta})

        preamble_lines = [1] * (self.preamble.count("\n") + 1)
        cells = [code_cell(self.preamble, "preamble", -1, 1, preamble_lines)]
        for number, done in enumerate(self.cells):
            if done.cell.kind == "code":
                timeout = {"timeout": done.cell.options["timeout"]} if "timeout" in done.cell.options else {}
                cells.append(code_cell(done.code, "code", number, done.cell.line, done.markdown_lines(), **timeout))
                continue
            values = done.cell.inline_values()
            if values:
                source = "\n".join(
                    ["_kernelblog_inline = []"]
                    + [f"_kernelblog_inline.append(str({' '.join(v.expression.split())}))" for v in values]
                    + ["__import__('IPython').display.display({'application/json': _kernelblog_inline}, raw=True)",
                       "del _kernelblog_inline"])
                lines = [done.cell.line] + [v.line for v in values] + [done.cell.line] * 2
                cells.append(code_cell(source, "inline", number, done.cell.line, lines))
            cells.append(nbformat.v4.new_markdown_cell(done.cell.source))
        notebook = nbformat.v4.new_notebook(cells=cells)
        notebook.metadata.update(kernelspec={"name": "python3", "display_name": "Python 3", "language": "python"},
                                 language_info={"name": "python"})
        return notebook


def complete_post(post: Post, index: KerasIndex) -> CompletedPost:
    """Complete every code cell of `post`, counting what earlier cells defined."""
    diagnostics = list(post.warnings)
    done: list[CompletedCell] = []
    earlier: list[str] = []  # completed code of the earlier cells that parse
    for cell in post.cells:
        if cell.kind != "code":
            done.append(CompletedCell(cell))
            continue
        setup: tuple[str, ...] = ()
        if "data" in cell.options:
            try:
                setup = data_setup(cell.options["data"])
            except ValueError as error:
                diagnostics.append(Diagnostic(post.path, cell.line, "error", str(error)))
        imports, problems, parsed = _imports(post.path, cell, setup, "\n".join(earlier), index)
        diagnostics += problems
        done.append(CompletedCell(cell, imports, setup))
        if parsed:
            earlier.append(done[-1].code)  # what later cells can see
    return CompletedPost(post, _preamble(done), tuple(done), tuple(diagnostics))


def _imports(path: Path, cell: Cell, setup: tuple[str, ...], earlier: str, index: KerasIndex):
    """The import lines `cell` needs, its names that can't be resolved as diagnostics, and
    whether it parsed."""
    own = "\n".join(setup + (cell.source,))
    offset = earlier.count("\n") + 1 if earlier else 0
    try:
        undefined = _undefined_names(_mask_magics(earlier + "\n" + own if earlier else own))
    except SyntaxError as error:
        line = cell.line + max((error.lineno or 1) - offset - len(setup), 1)
        return (), [Diagnostic(path, line, "error", f"invalid syntax: {error.msg}")], False
    aliases: set[str] = set()
    from_imports: dict[str, set[str]] = {}
    problems = []
    for lineno, name in undefined:
        if lineno <= offset:
            continue
        line = cell.line + max(lineno - offset - len(setup), 1)
        if name in DATA_NAMES and "data" in cell.options and not setup:
            continue  # the data option itself was reported
        if name in ALIASES:
            aliases.add(ALIASES[name])
            continue
        if name in sys.stdlib_module_names:
            aliases.add(f"import {name}")
            continue
        if name in dataset_generators():
            from_imports.setdefault(DATASETS_MODULE, set()).add(name)
            continue
        try:
            found = index.import_for(name)
        except AmbiguousName as error:
            more = len(error.modules) - 3
            shown = ", ".join(error.modules[:3]) + (f" and {more} more" if more > 0 else "")
            message = f"name '{name}' is ambiguous: it is in {shown}; import it from the one you mean"
            problems.append(Diagnostic(path, line, "error", message))
            continue
        if found:
            from_imports.setdefault(found[0], set()).add(found[1])
        else:
            problems.append(Diagnostic(path, line, "error", _unknown(name, index)))
    lines = sorted(aliases) + [f"from {module} import {', '.join(sorted(names))}"
                               for module, names in sorted(from_imports.items())]
    return tuple(lines), problems, True


def _undefined_names(code: str) -> list[tuple[int, str]]:
    """(line, name) for each use of a name that is never bound, by pyflakes' scoping."""
    found = checker.Checker(ast.parse(code), builtins=IPYTHON_BUILTINS).messages
    seen, result = set(), []
    for message in sorted(found, key=lambda m: m.lineno):
        if isinstance(message, messages.UndefinedName) and message.message_args[0] not in seen:
            seen.add(message.message_args[0])
            result.append((message.lineno, message.message_args[0]))
    return result


def _mask_magics(code: str) -> str:
    """Replace IPython magics and shell escapes with `pass`, keeping line numbers."""
    def mask(match: re.Match) -> str:
        return match.group(1) + ("None #" if "=" in match.group(1) else "pass #")

    return "\n".join(MAGIC.sub(mask, line, count=1) for line in code.split("\n"))


def _unknown(name: str, index: KerasIndex) -> str:
    message = f"name '{name}' is not defined"
    if name in {"X_train", "X_test"}:
        return message + ": the data option binds lowercase x_train, y_train, x_test and y_test"
    if name in DATA_NAMES:
        return message + ': declare the data in the fence, for example ```python data="images"'
    close = difflib.get_close_matches(name, index.known_names() | set(ALIASES), n=3, cutoff=0.75)
    if close:
        message += " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)"
    return message


def data_setup(declaration: str) -> tuple[str, ...]:
    """The lines that bind x_train, y_train, x_test, y_test for a `data` fence option.

    The option names a generator of kernelblog.datasets, with keyword arguments if any:
    data="images" or data="images(classes=6, n_train=1000)".
    """
    try:
        node = ast.parse(str(declaration), mode="eval").body
    except SyntaxError:
        node = None
    call = node if isinstance(node, ast.Call) else ast.Call(node, [], [])
    generators = dataset_generators()
    if not isinstance(call.func, ast.Name) or call.args or call.func.id not in generators:
        raise ValueError(f"data={declaration!r} is not a dataset: use one of {', '.join(sorted(generators))}, "
                         'optionally with keyword arguments, as in data="images(classes=6)"')
    for keyword in call.keywords:
        if keyword.arg not in generators[call.func.id] or not isinstance(keyword.value, ast.Constant):
            raise ValueError(f"data={declaration!r}: {call.func.id}() takes the keyword arguments "
                             + ", ".join(generators[call.func.id]) + ", with constant values")
    return (f"from {DATASETS_MODULE} import {call.func.id}",
            f"(x_train, y_train), (x_test, y_test) = {ast.unparse(call)}")


@functools.lru_cache(maxsize=1)
def dataset_generators() -> dict[str, tuple[str, ...]]:
    """Public generators of the dataset library and their parameters, read without importing it."""
    source = (Path(__file__).with_name("datasets.py")).read_text(encoding="utf-8")
    return {node.name: tuple(a.arg for a in node.args.args + node.args.kwonlyargs)
            for node in ast.parse(source).body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}


def _preamble(cells: list[CompletedCell]) -> str:
    """Seed every generator the post can use, so each build prints the same outputs."""
    code = "\n".join(c.code for c in cells if c.cell.kind == "code")
    if re.search(r"\b(keras|tensorflow)\b", code):
        return "import keras\n\nkeras.utils.set_random_seed(0)"
    return "import random\n\nimport numpy as np\n\nrandom.seed(0)\nnp.random.seed(0)"
