"""Turn a cell's raw Jupyter outputs into what the page shows, as a terminal would show it."""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ElementTree
from collections import deque
from dataclasses import dataclass

import nh3

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# TensorFlow's start-up logging, which reaches stderr even with TF_CPP_MIN_LOG_LEVEL=2.
TF_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
    r"|.*oneDNN custom operations are on"
    r"|.*(Could not find cuda drivers|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|TF-TRT Warning|failed call to cuInit)"
    r"|.*This TensorFlow binary is optimized to use available CPU instructions"
    r"|.*To enable the following instructions: .* in other operations, rebuild TensorFlow"
    r"|.*computation placer already registered)"
)
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}
MAGIC = {"png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "gif": (b"GIF87a", b"GIF89a")}
SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
# SVG elements that run script, embed documents or rewrite attributes (<set href="javascript:...">).
SVG_ACTIVE = {
    "script",
    "foreignobject",
    "iframe",
    "object",
    "embed",
    "handler",
    "listener",
    "set",
    "animate",
    "animatemotion",
    "animatetransform",
    "discard",
}
SAFE_SVG_HREF = re.compile(r"^(#|data:image/(png|jpeg|gif);)")
# Outputs that run code in the reader's browser: shown as their text/plain form.
ACTIVE_TYPES = {"application/javascript", "text/javascript", "application/ecmascript"}
MAX_LINES = 1000  # lines of text a block shows: the first HEAD_LINES, a marker, then the last ones
HEAD_LINES = 800
# nh3's defaults, plus ids and classes (footnotes, tables) and text alignment in table cells.
ATTRIBUTES = {
    **nh3.ALLOWED_ATTRIBUTES,
    "*": {"id", "class"},
    "td": nh3.ALLOWED_ATTRIBUTES["td"] | {"style"},
    "th": nh3.ALLOWED_ATTRIBUTES["th"] | {"style"},
}


def sanitize(html: str) -> str:
    """HTML with scripts, event handlers and dangerous URLs removed."""
    return nh3.clean(html, attributes=ATTRIBUTES, filter_style_properties={"text-align"})


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Image:
    data: bytes
    extension: str
    alt: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Html:
    html: str  # already sanitized


@dataclass(frozen=True)
class Error:
    name: str
    traceback: str


@dataclass(frozen=True)
class Rejected:
    """An output the page does not show, and why (the build warns)."""

    reason: str


def page_outputs(outputs: list) -> list:
    """Text, Image, Html, Error and Rejected blocks; consecutive text is merged into one block."""
    blocks: list = []
    for output in outputs:
        block = _block(output)
        if block is None:
            continue
        if isinstance(block, Text) and blocks and isinstance(blocks[-1], Text):
            blocks[-1] = Text(blocks[-1].text + block.text)
        else:
            blocks.append(block)
    cleaned = []
    for block in blocks:
        if isinstance(block, Text):
            text = shown_text(block.text)
            if text.strip():
                cleaned.append(Text(text))
        else:
            cleaned.append(block)
    return cleaned


def _block(output):
    kind = output.get("output_type")
    if kind == "stream":
        return Text(output.get("text", ""))
    if kind == "error":
        return Error(
            output.get("ename", "Error"), strip_ansi("\n".join(output.get("traceback", [])))
        )
    data = output.get("data", {})
    alt = data.get("text/plain", "figure")
    for mime, extension in [*IMAGE_TYPES.items(), ("image/svg+xml", "svg")]:
        if mime in data:
            return _image(data[mime], extension, alt, output.get("metadata", {}).get(mime, {}))
    plain = data.get("text/plain")
    html = data.get("text/html")
    active = any(
        mime in ACTIVE_TYPES or mime.startswith("application/vnd.jupyter.widget") for mime in data
    )
    if html is not None and not (
        plain is not None and (active or html.lstrip().startswith("<pre"))
    ):
        return Html(sanitize(html))
    if (
        plain is not None
    ):  # rich's <pre> tables (model.summary()) read best as text; scripts and widgets too
        return Text(plain if plain.endswith("\n") else plain + "\n")
    if data:
        return Text(f"[{', '.join(sorted(data))} output not shown]\n")
    return None


def _image(payload, extension: str, alt: str, metadata: dict):
    """An Image, or Rejected when the payload or its size metadata is not what it claims."""
    size = {key: metadata.get(key) for key in ("width", "height")}
    for key, value in size.items():
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value <= 0
        ):
            return Rejected(
                f"{extension} output with {key} {value!r}, not a positive whole number of pixels"
            )
    if not isinstance(payload, str):
        return Rejected(f"{extension} output that is not text")
    if extension == "svg":
        data = clean_svg(payload)
        if data is None:
            return Rejected("svg output that is not a valid SVG document")
        return Image(data, extension, alt, **size)
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        return Rejected(f"{extension} output that is not valid base64")
    if not data.startswith(MAGIC[extension]):
        return Rejected(f"{extension} output whose content is not a {extension.upper()} image")
    return Image(data, extension, alt, **size)


def clean_svg(text: str) -> bytes | None:
    """The SVG without scripts, event handlers, embedded documents or links out of the file;
    None when it does not parse or is not an SVG. (An <img> never runs an SVG's scripts, but
    the file can be opened on its own.)"""
    try:
        root = ElementTree.fromstring(text)
    except (ElementTree.ParseError, ValueError):
        return None
    if root.tag != f"{{{SVG}}}svg":
        return None
    for parent in list(root.iter()):
        for child in list(parent):
            if not isinstance(child.tag, str) or child.tag.rpartition("}")[2].lower() in SVG_ACTIVE:
                parent.remove(child)
        for name, value in list(parent.attrib.items()):
            local = name.rpartition("}")[2].lower()
            if local.startswith("on") or (
                local == "href" and not SAFE_SVG_HREF.match(value.strip())
            ):
                del parent.attrib[name]
    ElementTree.register_namespace("", SVG)
    ElementTree.register_namespace("xlink", XLINK)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def shown_text(text: str) -> str:
    """Printed text as a page shows it: as a terminal would, no noise, at most MAX_LINES lines."""
    return _shorten(terminal_text(text))


def _shorten(text: str) -> str:
    """At most MAX_LINES lines, with a visible marker where lines were left out."""
    lines = text.split("\n")
    if len(lines) <= MAX_LINES:
        return text
    tail = MAX_LINES - HEAD_LINES
    marker = f"[... {len(lines) - MAX_LINES:,} lines not shown ...]"
    return "\n".join([*lines[:HEAD_LINES], marker, *lines[-tail:]])


def without_noise(text: str) -> str:
    """Printed text without TensorFlow's start-up log lines (they carry the time and the pid)."""
    return "".join(line for line in text.splitlines(keepends=True) if not TF_NOISE.match(line))


class TextCap:
    """At most `limit` characters of one cell's printed text: the first half as it comes, then
    the latest half, held until the cell ends, so that the last state of a progress bar is the
    real one. `cut` counts the characters left out between the two."""

    def __init__(self, limit: int):
        self.head_room, self.tail_room = limit // 2, limit - limit // 2
        self.head = self.tail_size = self.cut = 0
        self.tail: deque[list[str]] = deque()  # [stream name, text], oldest first

    def take(self, name: str, text: str) -> str:
        """The part of `text` to show now (while the head has room); the rest joins the tail."""
        now = text[: max(self.head_room - self.head, 0)]
        self.head += len(now)
        if len(now) < len(text):
            self.tail.append([name, text[len(now) :]])
            self.tail_size += len(text) - len(now)
            while self.tail_size > self.tail_room:
                oldest = self.tail[0]
                drop = min(len(oldest[1]), self.tail_size - self.tail_room)
                oldest[1] = oldest[1][drop:]
                self.tail_size -= drop
                self.cut += drop
                if not oldest[1]:
                    self.tail.popleft()
        return now

    def rest(self) -> list[tuple[str, str]]:
        """The end of the text as (stream name, text) pieces, after a marker where text was cut;
        the cap is empty afterwards."""
        pieces = [(name, text) for name, text in self.tail]
        if self.cut:
            pieces.insert(
                0,
                (
                    "stdout",
                    f"\n[... {self.cut:,} characters not kept: the build keeps the first and "
                    f"last {self.tail_room:,} of a cell's printed text ...]\n",
                ),
            )
        self.tail.clear()
        self.tail_size = 0
        return pieces


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def terminal_text(text: str) -> str:
    """What a terminal shows: ANSI codes removed, carriage returns and backspaces applied,
    TensorFlow's start-up log lines dropped."""
    lines = []
    for raw in strip_ansi(text).replace("\r\n", "\n").split("\n"):
        line: list[str] = []
        column = 0
        for char in raw:
            if char == "\r":
                column = 0
            elif char == "\b":
                column = max(column - 1, 0)
            else:
                if column < len(line):
                    line[column] = char
                else:
                    line.append(char)
                column += 1
        lines.append("".join(line).rstrip())
    return "\n".join(line for line in lines if not TF_NOISE.match(line))
