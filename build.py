"""Build the blog: python build.py --help."""

import argparse
import os
import sys
from pathlib import Path

from kernelblog.pipeline import Options, build


def positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is less than 1")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Complete, execute and publish the posts' Keras snippets.")
    parser.add_argument("--posts", type=Path, default=Path("posts"), help="folder of Markdown posts (posts/)")
    parser.add_argument("--out", type=Path, default=Path("_site"), help="site folder, replaced whole (_site/)")
    parser.add_argument("--snippets", type=Path, default=Path("snippets"), help="folder for <slug>.py (snippets/)")
    parser.add_argument("--check", action="store_true", help="execute every snippet and report; write nothing")
    parser.add_argument("--force", action="store_true", help="execute even what is cached (no cache yet)")
    parser.add_argument("--jobs", type=at_least_one, default=os.cpu_count() or 1, help="posts executed in parallel")
    parser.add_argument("--timeout", type=positive, default=600, help="limit for one cell, in seconds")
    parser.add_argument("--keep-going", action="store_true", help="write the site even when snippets fail")
    args = parser.parse_args(argv)
    return build(Options(**vars(args)))


if __name__ == "__main__":
    sys.exit(main())
