"""Render stage: HTML for prose, code and outputs, through the Jinja2 templates."""

from __future__ import annotations

import datetime
import html
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import mistune
import nbformat
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from . import outputs as out
from .complete import CompletedPost
from .diagnostics import Diagnostic

if TYPE_CHECKING:  # rendering needs no kernel machinery
    from .execute import ExecutedPost

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MARKDOWN = mistune.create_markdown(escape=False, plugins=["strikethrough", "table", "footnotes", "url"])
FORMATTER = HtmlFormatter(nowrap=True)


@dataclass
class Page:
    """One rendered page and the files that go beside it (figures)."""

    html: str
    files: dict[str, bytes] = field(default_factory=dict)
    warnings: list[Diagnostic] = field(default_factory=list)  # outputs left off the page


def environment(templates: Path = TEMPLATES) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(templates), autoescape=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def markdown_html(text: str, values: dict[str, str] | None = None) -> Markup:
    """Prose to HTML; raw HTML in posts is allowed but sanitized. `values` maps
    placeholders in `text` to plain text that replaces them after rendering."""
    rendered = out.sanitize(MARKDOWN(text))
    for placeholder, value in (values or {}).items():
        rendered = rendered.replace(placeholder, html.escape(value))
    return Markup(rendered)


def code_html(code: str) -> Markup:
    return Markup(highlight(code, PythonLexer(), FORMATTER).rstrip("\n"))


def render_post(completed: CompletedPost, executed: ExecutedPost, env: jinja2.Environment) -> Page:
    """The post's page: prose, then each code cell with what it printed and drew."""
    page = Page("")
    cells = []
    ran: dict[int, nbformat.NotebookNode] = {}  # post cell number -> its notebook cell
    inline: dict[int, list[str]] = {}  # post cell number -> its inline values
    for notebook_cell in executed.notebook.cells:
        meta = notebook_cell.metadata.get("kernelblog", {})
        if meta.get("role") == "code":
            ran[meta["cell"]] = notebook_cell
        elif meta.get("role") == "inline":
            inline[meta["cell"]] = _displayed_values(notebook_cell)
    for number, done in enumerate(completed.cells):
        if done.cell.kind == "markdown":
            source, values = done.cell.source, inline.get(number, [])
            placeholders = {}
            for k, value in reversed(list(enumerate(done.cell.inline_values()))):
                placeholders[f"KERNELBLOGINLINE{k}X"] = values[k] if k < len(values) else "(not run)"
                source = source[:value.start] + f"KERNELBLOGINLINE{k}X" + source[value.end:]
            first, _, rest = source.partition("\n")
            if number == 0 and first.strip() == f"# {completed.post.meta.title}":
                source = rest  # the page header shows the title already
            cells.append({"kind": "markdown", "html": markdown_html(source, placeholders)})
            continue
        notebook_cell = ran[number]
        blocks = []
        for k, block in enumerate(out.page_outputs(notebook_cell.get("outputs", []))):
            if isinstance(block, out.Image):
                name = f"cell{number}-{k}.{block.extension}"
                page.files[name] = block.data
                blocks.append({"kind": "image", "src": name, "alt": block.alt, "width": block.width,
                               "height": block.height})
            elif isinstance(block, out.Text):
                blocks.append({"kind": "text", "text": block.text.rstrip("\n")})
            elif isinstance(block, out.Html):
                blocks.append({"kind": "html", "html": Markup(block.html)})
            elif isinstance(block, out.Rejected):
                message = f"an output was left off the page: {block.reason}"
                page.warnings.append(Diagnostic(completed.post.path, done.cell.line, "warning", message))
                blocks.append({"kind": "text", "text": f"[{message}]"})
            else:
                blocks.append({"kind": "error", "text": block.traceback})
        end = done.cell.line + done.cell.source.count("\n") + 2
        blocks += [{"kind": "error", "text": d.message}
                   for d in completed.diagnostics if d.severity == "error" and done.cell.line <= d.line <= end]
        cells.append({
            "kind": "code",
            "line": done.cell.line,
            "imports": code_html("\n".join(done.imports)) if done.imports else None,
            "setup": code_html("\n".join(done.setup)) if done.setup else None,
            "before": code_html(done.before) if done.setup_at else None,
            "code": code_html(done.after),
            "note": done.note,
            "outputs": blocks,
            "ran": notebook_cell.get("execution_count") is not None,
        })
    post = completed.post
    page.html = env.get_template("post.html").render(
        post=post, cells=cells, preamble=code_html(completed.preamble),
        provenance=provenance(executed), root="../",
    )
    return page


def _displayed_values(cell: nbformat.NotebookNode) -> list[str]:
    """The values an inline cell displayed; empty when it did not run."""
    for output in cell.get("outputs", []):
        values = output.get("data", {}).get("application/json")
        if isinstance(values, list):
            return [str(value) for value in values]
    return []


def provenance(executed: ExecutedPost) -> dict:
    """What ran the code: versions, when, and how long it took."""
    versions = {"Python": platform.python_version()}
    for package in ("keras", "tensorflow", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return {
        "versions": versions,
        "date": (executed.executed_at or datetime.date.today().isoformat())[:10],
        "seconds": f"{executed.seconds:.1f}",
    }


def render_index(posts: list, env: jinja2.Environment) -> str:
    """The front page: every post, newest first."""
    ordered = sorted(posts, key=lambda p: (p.meta.date or datetime.date.min, p.slug), reverse=True)
    return env.get_template("index.html").render(posts=ordered, root="")


def stylesheets() -> dict[str, bytes]:
    """The static files every page links to."""
    files = {path.name: path.read_bytes() for path in (TEMPLATES / "static").iterdir() if path.is_file()}
    files["pygments.css"] = (FORMATTER.get_style_defs(".code") + "\n").encode()
    return files
