"""python -m kernelblog: the kernelblog command."""

from .cli import run

run()
