"""Build the blog: python build.py --help; preview it: python build.py serve --help. The same
command line as `kernelblog` (kernelblog/cli.py parses the arguments and calls the package)."""

from pathlib import Path

from kernelblog.cli import main, run

__all__ = ["main"]

if __name__ == "__main__":
    run(script=Path(__file__).resolve(), prog="build.py")
