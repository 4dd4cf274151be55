"""Render stage: HTML for prose, code and outputs, through the Jinja2 templates."""

from __future__ import annotations

import datetime
import html
import math
import platform
import re
import struct
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import mistune
import nh3
from markupsafe import Markup
from mistune.util import striptags

from . import outputs as out
from .cache import package_version
from .cells import ExecutedCell
from .citations import citations
from .complete import CompletedPost
from .diagnostics import Diagnostic
from .layout import TAGS, IndexPage, Links, post_page, url_path
from .postfiles import INDEX, read_by, size_text
from .read import Post
from .settings import BACKEND_PACKAGES, BACKENDS, TEMPLATES, Settings

if TYPE_CHECKING:  # rendering needs no kernel machinery
    from .execute import ExecutedPost

PLUGINS = ["strikethrough", "table", "footnotes", "url", "math"]
CODE_STYLES = {
    "light": "xcode",
    "dark": "monokai",
}  # Pygments styles with 4.5:1 contrast on our code background
LONG_OUTPUT = 30  # lines; longer text outputs start collapsed, with a "show all" control
WORDS_PER_MINUTE = 200
MATHML_TAGS = {
    "math",
    "mrow",
    "mi",
    "mn",
    "mo",
    "ms",
    "mtext",
    "mspace",
    "msup",
    "msub",
    "msubsup",
    "mfrac",
    "msqrt",
    "mroot",
    "mover",
    "munder",
    "munderover",
    "mtable",
    "mtr",
    "mtd",
    "mstyle",
    "mpadded",
    "mphantom",
    "menclose",
    "merror",
    "semantics",
    "annotation",
}
MATHML_ATTRIBUTES = {
    "xmlns",
    "display",
    "mathvariant",
    "stretchy",
    "fence",
    "separator",
    "lspace",
    "rspace",
    "width",
    "height",
    "depth",
    "columnalign",
    "rowalign",
    "columnspacing",
    "rowspacing",
    "columnlines",
    "rowlines",
    "frame",
    "accent",
    "accentunder",
    "movablelimits",
    "minsize",
    "maxsize",
    "symmetric",
    "form",
    "scriptlevel",
    "displaystyle",
    "linethickness",
    "notation",
    "encoding",
}
ALIGNED = re.compile(
    r"\\(begin|end)\{aligned\}"
)  # amsmath's aligned, which latex2mathml reads as align*
MATPLOTLIB_REPR = re.compile(r"<Figure size \d+x\d+ with (\d+) Axes>")


@dataclass
class Page:
    """One rendered page, its article alone (for the feed), and the files beside it (figures)."""

    html: str
    content: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    warnings: list[Diagnostic] = field(default_factory=list)  # outputs left off the page


def environment(templates: Path = TEMPLATES) -> jinja2.Environment:
    options = {
        "autoescape": True,
        "undefined": jinja2.StrictUndefined,
        "keep_trailing_newline": True,
    }
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), **options)
    return env


class _ProseRenderer(mistune.HTMLRenderer):
    """Headings get a page-unique id and an anchor; math becomes a placeholder for its MathML."""

    def __init__(self):
        super().__init__(escape=False)
        self.headings: list[tuple[int, str, str]] = []  # (level, id, inner HTML)
        self.math: dict[str, str] = {}  # placeholder -> MathML

    def heading(self, text: str, level: int, **attrs) -> str:
        base = (
            re.sub(r"[^a-z0-9]+", "-", html.unescape(striptags(text)).lower()).strip("-")
            or "section"
        )
        ident, n = base, 1
        taken = {ident for _, ident, _ in self.headings}
        while ident in taken:
            n += 1
            ident = f"{base}-{n}"
        self.headings.append((level, ident, text))
        return f'<h{level} id="{ident}">{text} <a class="anchor" href="#{ident}">#</a></h{level}>\n'

    def inline_math(self, text: str) -> str:
        return self._math(text, "inline")

    def block_math(self, text: str) -> str:
        return self._math(text, "block")

    def _math(self, tex: str, display: str) -> str:
        placeholder = f"KERNELBLOGMATH{len(self.math)}X"
        self.math[placeholder] = mathml(tex, display)
        return placeholder


def mathml(tex: str, display: str = "inline") -> str:
    """TeX to sanitized MathML; TeX that latex2mathml can't read is shown as code."""
    import latex2mathml.converter  # loaded for pages with math only

    tex = ALIGNED.sub(r"\\\1{align*}", tex)
    try:
        converted = latex2mathml.converter.convert(tex, display=display)
    except Exception:  # latex2mathml raises many kinds of errors on TeX it does not know
        return f'<code class="math-error">{html.escape(tex)}</code>'
    return nh3.clean(converted, tags=MATHML_TAGS, attributes={"*": MATHML_ATTRIBUTES})


class Prose:
    """Markdown to sanitized HTML for one page, remembering its headings for the contents."""

    def __init__(self):
        self._renderer = _ProseRenderer()
        self._markdown = mistune.create_markdown(renderer=self._renderer, plugins=PLUGINS)

    def html(
        self, text: str, values: dict[str, str] | None = None, markup: dict[str, str] | None = None
    ) -> Markup:
        """Raw HTML in posts is allowed but sanitized. `values` maps placeholders in `text`
        to plain text that replaces them after rendering; `markup`, to HTML made by the build."""
        return Markup(self._fill(out.sanitize(self._markdown(text)), values, markup))

    def _fill(
        self, rendered: str, values: dict[str, str] | None, markup: dict[str, str] | None = None
    ) -> str:
        for placeholder, value in (values or {}).items():
            rendered = rendered.replace(placeholder, html.escape(value))
        for placeholder, made in (markup or {}).items():
            rendered = rendered.replace(placeholder, made)
        for placeholder, converted in self._renderer.math.items():
            rendered = rendered.replace(placeholder, converted)
        return rendered

    def contents(self) -> list[dict]:
        """The page's second- and third-level headings: level, id and HTML label (no links)."""
        return [
            {
                "level": level,
                "id": ident,
                "label": Markup(
                    self._fill(nh3.clean(text, tags={"code", "em", "strong", "sub", "sup"}), {})
                ),
            }
            for level, ident, text in self._renderer.headings
            if level in (2, 3)
        ]


def markdown_html(text: str, values: dict[str, str] | None = None) -> Markup:
    """Prose to sanitized HTML, on a page of its own."""
    return Prose().html(text, values)


def code_html(code: str) -> Markup:
    """Python code, highlighted by Pygments."""
    from pygments import (
        highlight,
    )  # loaded when code is highlighted: about 50 ms with its first use
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return Markup(
        highlight(code, PythonLexer(stripnl=False), HtmlFormatter(nowrap=True)).rstrip("\n")
    )


class Highlighter:
    """code_html, taken from `known` (code -> HTML that code_html gave) where it has the code;
    `used` is what the page highlighted, to be known next time."""

    def __init__(self, known: dict[str, str] | None = None):
        self.known = known or {}
        self.used: dict[str, str] = {}

    def __call__(self, code: str) -> Markup:
        if code not in self.used:
            self.used[code] = self.known[code] if code in self.known else str(code_html(code))
        return Markup(self.used[code])


def render_post(
    completed: CompletedPost,
    executed: ExecutedPost,
    env: jinja2.Environment,
    site: Settings | None = None,
    highlight: Callable[[str], Markup] = code_html,
) -> Page:
    """The post's page: prose, then each code cell with what it printed and drew; `highlight`
    turns code into HTML."""
    site = site or Settings()
    page = Page("")
    prose = Prose()
    cells = []
    ran: dict[int, ExecutedCell] = {}  # post cell number -> its code cell as it ran
    inline: dict[int, list[str]] = {}  # post cell number -> its inline values
    for executed_cell in executed.cells():
        if executed_cell.meta.role == "code":
            ran[executed_cell.meta.cell] = executed_cell
        elif executed_cell.meta.role == "inline":
            inline[executed_cell.meta.cell] = _displayed_values(executed_cell.outputs)
    notes = _backend_notes(completed, executed)
    ran_on = [run.name for run in executed.backends]
    # the setup of each component after the first, shown collapsed at its first code cell
    first_code = {}
    for component in completed.components[1:]:
        code_cells = [n for n in component.cells if completed.cells[n].cell.kind == "code"]
        if code_cells:
            first_code[code_cells[0]] = component.setup
    figures = 0
    numbers = {ref.key: k for k, ref in enumerate(completed.post.references, 1)}
    for number, done in enumerate(completed.cells):
        if done.cell.kind == "markdown":
            source, values = done.cell.source, inline.get(number, [])
            placeholders = {}
            for k, value in reversed(list(enumerate(done.cell.inline_values()))):
                placeholders[f"KERNELBLOGINLINE{k}X"] = (
                    values[k] if k < len(values) else "(not run)"
                )
                source = source[: value.start] + f"KERNELBLOGINLINE{k}X" + source[value.end :]
            first, _, rest = source.partition("\n")
            if number == 0 and first.strip() == f"# {completed.post.meta.title}":
                source = rest  # the page header shows the title already
            source, cited = _citation_links(source, numbers)
            cells.append({"kind": "markdown", "html": prose.html(source, placeholders, cited)})
            continue
        executed_cell = ran[number]
        blocks = []
        drawn = 0  # figures of this cell so far
        for k, block in enumerate(out.page_outputs(executed_cell.outputs)):
            if isinstance(block, out.Image):
                figures += 1
                name = f"cell{number}-{k}.{block.extension}"
                page.files[name] = block.data
                width, height = block.width, block.height
                if not (width and height) and block.extension == "png":
                    width, height = _png_size(block.data)
                alt = _figure_option(done.cell.options.alt, drawn) or _alt(block.alt, figures)
                blocks.append(
                    {
                        "kind": "image",
                        "src": name,
                        "alt": alt,
                        "width": width,
                        "height": height,
                        "caption": _figure_option(done.cell.options.caption, drawn),
                    }
                )
                drawn += 1
            elif isinstance(block, out.Text):
                text = block.text.rstrip("\n")
                blocks.append({"kind": "text", "text": text, "lines": text.count("\n") + 1})
            elif isinstance(block, out.Html):
                blocks.append({"kind": "html", "html": Markup(block.html)})
            elif isinstance(block, out.Rejected):
                message = f"an output was left off the page: {block.reason}"
                page.warnings.append(
                    Diagnostic(completed.post.path, done.cell.line, "warning", message)
                )
                blocks.append({"kind": "text", "text": f"[{message}]", "lines": 1})
            else:
                blocks.append({"kind": "error", "text": block.traceback})
        page.warnings += _figure_option_warnings(completed.post.path, done.cell, drawn)
        static = completed.static_errors().get(number, [])
        blocks += [{"kind": "error", "text": f"line {d.line}: {d.message}"} for d in static]
        cells.append(
            {
                "kind": "code",
                "line": done.cell.line,
                "imports": highlight("\n".join(done.imports)) if done.imports else None,
                "setup": highlight("\n".join(done.setup)) if done.setup else None,
                "before": highlight(done.before) if done.setup_at else None,
                "code": highlight(done.after),
                "echo": done.cell.options.echo,
                "fold": done.cell.options.fold,
                "note": done.note or done.cell.options.data or "",
                "reseed": highlight(first_code[number]) if number in first_code else None,
                "changes": done.changes,
                "notes": notes.get(number, []),
                "only": _names(done.cell.options.backends or ()),
                "skipped": _names(
                    [name for name in ran_on if name not in (done.cell.options.backends or ran_on)]
                ),
                "outputs": blocks,
                "ran": executed_cell.ran,
                "static": bool(static),
                "seconds": seconds(executed_cell.execution),
            }
        )
    post = completed.post
    first_figure = next(iter(page.files), "")
    share = share_card(
        site,
        post_page(post.slug),
        post.meta.title,
        post.meta.summary or post.meta.description or site.description,
        post.meta.image or first_figure,
        "article",
    )
    context = dict(
        post=post,
        authors=authors(post, site),
        share=share,
        source=source_links(post, site),
        references=[Markup(out.sanitize(ref.html)) for ref in post.references],
        cells=cells,
        preamble=highlight(completed.preamble),
        provenance=provenance(executed),
        runs=runs_on(executed),
        contents=prose.contents()
        + ([{"level": 2, "id": "references", "label": "References"}] if post.references else []),
        minutes=reading_minutes(post),
        site=site,
        long_output=LONG_OUTPUT,
        reads=[
            (file.name, size_text(file.size)) for file in read_by(post.files, completed.components)
        ],
    )
    page.content = env.get_template("article.html").render(**context, feed=True)
    links = Links(post_page(post.slug))
    page.html = env.get_template("post.html").render(**context, links=links, feed=False)
    return page


def authors(post: Post, site: Settings) -> tuple[str, ...]:
    """The post's authors, from its front matter; the site's author by default."""
    return post.meta.authors or (site.author,)


def _citation_links(source: str, numbers: dict[str, int]) -> tuple[str, dict[str, str]]:
    """Prose with each citation replaced by a placeholder; placeholder -> the citation as HTML:
    its works' numbers, each a link to its entry in the references, with their locators."""
    made = {}
    for k, citation in reversed(list(enumerate(citations(source, 0)))):
        placeholder = f"KERNELBLOGCITE{k}X"
        works = [
            f'<a href="#ref-{numbers[key]}">{numbers[key]}</a>'
            + (f", {html.escape(locator)}" if locator else "")
            for key, locator in citation.works
        ]
        made[placeholder] = f'<span class="citation">[{"; ".join(works)}]</span>'
        source = source[: citation.start] + placeholder + source[citation.end :]
    return source, made


def source_links(post: Post, site: Settings) -> dict[str, str] | None:
    """With the repository setting: the post's notebook in Colab (snippets/<slug>.ipynb, as the
    build writes it) and its source on GitHub; None without it."""
    if not site.repository:
        return None
    blob = f"{site.repository}/blob/{site.branch}"
    path = Path(post.path).resolve()
    # the posts folder's name, then the post's path in it: posts/x.md or posts/<slug>/index.md
    within = path.parts[-3:] if path.name == INDEX else path.parts[-2:]
    return {
        "colab": f"https://colab.research.google.com/github/{blob}/snippets/{post.slug}.ipynb",
        "github": f"https://github.com/{blob}/{'/'.join(within)}",
    }


def share_card(
    site: Settings, path: str, title: str, description: str, image: str = "", kind: str = "website"
) -> dict[str, str]:
    """What a link to the page at `path` shows where it is shared (OpenGraph, Twitter): absolute
    URLs from base_url; `image`, a URL or a path from the page, makes it an article's card."""
    url = site.url(url_path(path))
    return {
        "url": url,
        "title": title,
        "description": description,
        "type": kind,
        "image": urllib.parse.urljoin(url, image) if image else "",
    }


def runs_on(executed: ExecutedPost) -> list[dict]:
    """The post on each backend it ran on, the primary one first: its name, whether every cell
    passed, its seconds and its failures (line, message without the backend's tag)."""
    return [
        {
            "name": BACKENDS[run.name],
            "passed": run.passed,
            "seconds": f"{run.seconds:.0f}",
            "primary": k == 0,
            "failures": [
                {"line": failure.line, "message": _untagged(run.name, failure.message)}
                for failure in run.failures
            ],
        }
        for k, run in enumerate(executed.backends)
    ]


def _backend_notes(completed: CompletedPost, executed: ExecutedPost) -> dict[int, list[dict]]:
    """Post cell number -> the failures of the other backends at its lines: each a note under
    the cell (the primary backend's show as its outputs)."""
    fences = [
        (done.cell.line, number)
        for number, done in enumerate(completed.cells)
        if done.cell.kind == "code"
    ]
    notes: dict[int, list[dict]] = {}
    for run in executed.backends[1:]:
        for failure in run.failures:
            at = [number for line, number in fences if line <= failure.line]
            if at:
                notes.setdefault(at[-1], []).append(
                    {
                        "backend": BACKENDS[run.name],
                        "line": failure.line,
                        "message": _untagged(run.name, failure.message),
                    }
                )
    return notes


def _untagged(backend: str, message: str) -> str:
    return message.removeprefix(f"[{backend}] ")


def _names(backends) -> str:
    """Backends by the names a page shows: "TensorFlow", "TensorFlow and JAX"."""
    names = [BACKENDS[name] for name in backends]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 2 else names)


def _figure_option(value: str | tuple[str, ...] | None, index: int) -> str | None:
    """The caption or alt text the fence gives the cell's figure number `index` (from 0), if any."""
    if isinstance(value, tuple):
        return value[index] if index < len(value) else None
    return value if index == 0 else None


def _figure_option_warnings(path, cell, drawn: int) -> list[Diagnostic]:
    """A caption or alt text given for figures the snippet did not draw, or figures left without
    one."""
    warnings = []
    for key, value in (("caption", cell.options.caption), ("alt", cell.options.alt)):
        if value is None:
            continue
        given = len(value) if isinstance(value, tuple) else 1
        if given != drawn:
            texts = f"{given} {'texts' if given > 1 else 'text'}"
            advice = (
                " (give a list, one per figure)"
                if drawn > 1 and not isinstance(value, tuple)
                else ""
            )
            warnings.append(
                Diagnostic(
                    path,
                    cell.line,
                    "warning",
                    f"fence option {key} has {texts} but the snippet drew {drawn} "
                    f"figure{'s' if drawn != 1 else ''}{advice}",
                )
            )
    return warnings


def _alt(plain: str, number: int) -> str:
    """Alt text for a figure: its text form, or what matplotlib's says in words."""
    match = MATPLOTLIB_REPR.fullmatch(plain.strip())
    if match:
        panels = int(match.group(1))
        return f"Figure {number}, drawn by the code above" + (
            f", in {panels} panels" if panels > 1 else ""
        )
    return plain.strip() or f"Figure {number}, drawn by the code above"


def _png_size(data: bytes) -> tuple[int | None, int | None]:
    """Width and height from a PNG's header, so the page doesn't jump as figures load."""
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None, None


def _displayed_values(outputs: list) -> list[str]:
    """The values an inline cell displayed; empty when it did not run."""
    for output in outputs:
        values = output.get("data", {}).get("application/json")
        if isinstance(values, list):
            return [str(value) for value in values]
    return []


def _instant(stamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def seconds(timing: dict) -> float | None:
    """How long a cell ran, from nbclient's timestamps."""
    for start, end in (
        ("iopub.execute_input", "shell.execute_reply"),
        ("iopub.status.busy", "iopub.status.idle"),
    ):
        if start in timing and end in timing:
            try:
                return (_instant(timing[end]) - _instant(timing[start])).total_seconds()
            except ValueError:
                return None
    return None


def provenance(executed: ExecutedPost) -> dict:
    """What ran the code: versions, when (UTC), and how long it took."""
    versions = {"Python": platform.python_version()}
    used = [BACKEND_PACKAGES[run.name][0] for run in executed.backends]
    for package in dict.fromkeys(["keras", "tensorflow", *used, "numpy"]):
        if (version := package_version(package)) != "not installed":
            versions[package] = version
    when = _instant(executed.executed_at) if executed.executed_at else None
    return {
        "versions": versions,
        "executed_at": executed.executed_at,
        "when": when.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC") if when else "",
        "seconds": f"{executed.seconds:.1f}",
        "cached": executed.cached,
        "failed": executed.failure is not None,
    }


def reading_minutes(post: Post) -> int:
    """Minutes to read the post, prose and code, at a steady pace."""
    words = sum(len(cell.source.split()) for cell in post.cells)
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def _cards(posts: tuple[Post, ...], site: Settings) -> list[dict]:
    return [
        {"post": post, "minutes": reading_minutes(post), "authors": authors(post, site)}
        for post in posts
    ]


def render_index(page: IndexPage, env: jinja2.Environment, settings: Settings | None = None) -> str:
    """A page that lists posts (the front page, or a tag's page): a card per post, newest first."""
    site = settings or Settings()
    title = f"Posts tagged “{page.tag}” · {site.title}" if page.tag else site.title
    return env.get_template("index.html").render(
        cards=_cards(page.posts, site),
        page=page,
        site=site,
        links=Links(page.path),
        share=share_card(site, page.path, title, site.description),
    )


def render_tags(
    tags: dict[str, tuple[str, list[Post]]], env: jinja2.Environment, settings: Settings
) -> str:
    share = share_card(settings, TAGS, f"Tags · {settings.title}", settings.description)
    return env.get_template("tags.html").render(
        tags=tags, site=settings, links=Links(TAGS), share=share
    )


def render_404(env: jinja2.Environment, site: Settings) -> str:
    """A page for any missing path: its styles inline and its links absolute, since it is served
    anywhere."""
    style = Markup((TEMPLATES / "static" / "style.css").read_text(encoding="utf-8"))
    return env.get_template("404.html").render(site=site, style=style)


def static_files() -> dict[str, bytes]:
    """The static files every page links to, and the code colours for light and dark."""
    from pygments.formatters import HtmlFormatter

    files = {
        path.name: path.read_bytes() for path in (TEMPLATES / "static").iterdir() if path.is_file()
    }
    light = HtmlFormatter(style=CODE_STYLES["light"], nobackground=True).get_style_defs(".code")
    dark = HtmlFormatter(style=CODE_STYLES["dark"], nobackground=True).get_style_defs(".code")
    dark = "\n".join("  " + line for line in dark.splitlines())
    files["pygments.css"] = (
        f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n".encode()
    )
    return files
