"""Fence options: the `key=value` words after a code fence's language tag, each declared once.

A declaration is a field of FenceOptions: its name, type and default, and in its metadata how
its value is checked, whether it changes what the snippet prints or draws (and so is part of
the cache key), and its one-line help, from which the README's table is made.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any


class BadOption(ValueError):
    """A fence option with a wrong value; the message says what it must be."""


@dataclass(frozen=True)
class Option:
    """How one fence option is read and documented."""

    example: str  # as written on a fence, for the README
    check: Callable[[str, Any], Any]  # (name, value as written) -> value kept, or BadOption
    keyed: bool  # it changes outputs: part of the cache key
    help: str


def _option(default, example: str, check, *, keyed: bool, help: str):
    return field(default=default, metadata={"option": Option(example, check, keyed, help)})


def _dataset(name: str, value):
    if not isinstance(value, str):
        raise BadOption(f'fence option {name} must be a string, as in data="images"')
    return value


def _seconds(name: str, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise BadOption(f"fence option {name} must be a positive number of seconds")
    return math.ceil(value)


def _names(name: str, value):
    if not (
        isinstance(value, str)
        and all(word.isidentifier() for word in value.replace(",", " ").split())
    ):
        raise BadOption(
            f'fence option {name} must name what the snippet depends on, as in after="model"'
        )
    return value


def _exception(name: str, value):
    if not (isinstance(value, str) and value.isidentifier()):
        raise BadOption(f'fence option {name} must name an exception, as in raises="ValueError"')
    return value


def _texts(name: str, value):
    """A text, or a tuple of texts with one per figure."""
    texts = value if isinstance(value, list) else [value]
    if not texts or not all(isinstance(text, str) and text.strip() for text in texts):
        raise BadOption(
            f"fence option {name} must be a non-empty string, or a list "
            f'of them with one per figure, as in {name}="Test accuracy per epoch"'
        )
    return tuple(value) if isinstance(value, list) else value


def _backends(name: str, value):
    """Keras backends, each once: where a snippet that is backend-specific on purpose runs."""
    from .settings import BACKENDS

    if not (
        isinstance(value, list)
        and value
        and all(isinstance(each, str) and each in BACKENDS for each in value)
        and len(set(value)) == len(value)
    ):
        raise BadOption(
            f"fence option {name} must be a list of Keras backends among "
            f'{", ".join(BACKENDS)}, as in {name}=["tensorflow"]'
        )
    return tuple(value)


def _boolean(name: str, value):
    if not isinstance(value, bool):
        raise BadOption(f"fence option {name} must be true or false, as in {name}=true")
    return value


@dataclass(frozen=True)
class FenceOptions:
    """The options of one code fence; a field of each is its declaration."""

    data: str | None = _option(
        None,
        'data="images"',
        _dataset,
        keyed=True,
        help="bind `x_train, y_train, x_test, y_test` from the dataset library before the "
        "snippet (then nothing is inferred)",
    )
    timeout: int | None = _option(
        None,
        "timeout=120",
        _seconds,
        keyed=True,
        help="limit for this snippet, in seconds, rounded up (default: `--timeout`)",
    )
    after: str | None = _option(
        None,
        'after="model"',
        _names,
        keyed=True,
        help="this snippet depends on the snippets that bind or use these names "
        "(space-separated), as if it read them",
    )
    raises: str | None = _option(
        None,
        'raises="ValueError"',
        _exception,
        keyed=True,
        help="the snippet must raise this exception: it passes when it does (the traceback is "
        "shown), and fails when it raises nothing or another one",
    )
    backends: tuple[str, ...] | None = _option(
        None,
        'backends=["tensorflow"]',
        _backends,
        keyed=True,
        help="code that is backend-specific on purpose (a `tf.GradientTape` loop): it runs on "
        "these backends only, is skipped on the others, and the page says so",
    )
    caption: str | tuple[str, ...] | None = _option(
        None,
        'caption="Test accuracy per epoch"',
        _texts,
        keyed=False,
        help="text shown under the figure the snippet draws; with several figures, a list with "
        'one per figure: `caption=["...", "..."]`',
    )
    alt: str | tuple[str, ...] | None = _option(
        None,
        'alt="Two curves rising from 0.3 to 0.9"',
        _texts,
        keyed=False,
        help="the figure's alternative text, on its `<img>`, for readers who cannot see it (say "
        "what it shows, not that it is a figure); a list with several figures. Without it the "
        'page says "Figure N, drawn by the code above"',
    )
    echo: bool = _option(
        True,
        "echo=false",
        _boolean,
        keyed=False,
        help="hide the snippet's code on the page and show only its outputs; the code stays in "
        "the downloads (script and notebook) and in `snippets/<slug>.py`",
    )
    fold: bool = _option(
        False,
        "fold=true",
        _boolean,
        keyed=False,
        help='fold the code on the page into a closed "Show code" box; its outputs show below it',
    )

    @classmethod
    def parse(cls, given: dict) -> tuple[FenceOptions, list[str]]:
        """The options of a fence's `given` key-value pairs, checked, and the keys that are no
        option, sorted; BadOption for the first wrong value."""
        values = {
            spec.name: spec.metadata["option"].check(spec.name, given[spec.name])
            for spec in fields(cls)
            if spec.name in given
        }
        return cls(**values), sorted(set(given) - set(values))

    def key(self) -> dict:
        """The options that change outputs, where not at their default: the cache key's part."""
        return {
            spec.name: getattr(self, spec.name)
            for spec in fields(self)
            if spec.metadata["option"].keyed and getattr(self, spec.name) != spec.default
        }


def table() -> str:
    """The README's table of fence options: one row per declaration."""
    rows = [
        "| option | meaning | changes outputs |",
        "| --- | --- | --- |",
        *(
            f"| `{option.example}` | {option.help} | {'yes' if option.keyed else 'no'} |"
            for option in (spec.metadata["option"] for spec in fields(FenceOptions))
        ),
    ]
    return "\n".join(rows) + "\n"
