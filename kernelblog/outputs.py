"""Turn a cell's raw Jupyter outputs into what the page shows, as a terminal would show it."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

import nh3

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# TensorFlow's start-up logging, which reaches stderr even with TF_CPP_MIN_LOG_LEVEL=2.
TF_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
    r"|.*oneDNN custom operations are on"
    r"|.*(Could not find cuda drivers|Unable to register cu(DNN|FFT|BLAS) factory|TF-TRT Warning|failed call to cuInit)"
    r"|.*This TensorFlow binary is optimized to use available CPU instructions"
    r"|.*To enable the following instructions: .* in other operations, rebuild TensorFlow"
    r"|.*computation placer already registered)"
)
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}
# nh3's defaults, plus ids and classes (footnotes, tables) and text alignment in table cells.
ATTRIBUTES = {**nh3.ALLOWED_ATTRIBUTES, "*": {"id", "class"},
              "td": nh3.ALLOWED_ATTRIBUTES["td"] | {"style"}, "th": nh3.ALLOWED_ATTRIBUTES["th"] | {"style"}}


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


@dataclass(frozen=True)
class Html:
    html: str  # already sanitized


@dataclass(frozen=True)
class Error:
    name: str
    traceback: str


def page_outputs(outputs: list) -> list:
    """Text, Image, Html and Error blocks; consecutive text is merged into one block."""
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
            text = terminal_text(block.text)
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
        return Error(output.get("ename", "Error"), strip_ansi("\n".join(output.get("traceback", []))))
    data = output.get("data", {})
    for mime, extension in IMAGE_TYPES.items():
        if mime in data:
            try:
                payload = base64.b64decode(data[mime], validate=False)
            except (binascii.Error, ValueError):
                continue
            return Image(payload, extension, data.get("text/plain", "figure"))
    plain = data.get("text/plain")
    html = data.get("text/html")
    if html is not None and not (plain is not None and html.lstrip().startswith("<pre")):
        return Html(sanitize(html))
    if plain is not None:  # rich's <pre> tables (model.summary()) read best as text
        return Text(plain if plain.endswith("\n") else plain + "\n")
    return None


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
