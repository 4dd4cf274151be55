"""The command line: `kernelblog build|check|serve|new` and `python build.py`, which parse their
arguments here and call the package."""

import argparse
import os
import sys
from pathlib import Path

from .pipeline import build
from .settings import FORMATS, PORT, Options, Shard, default_format

DEFAULT = Options()


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


def size(text: str) -> int:
    from .settings import parse_size

    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port number (0 picks a free one)")
    return value


def shard(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def backends(text: str) -> tuple[str, ...]:
    from .settings import parse_backends

    try:
        return parse_backends(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--posts",
        type=Path,
        default=DEFAULT.posts,
        help=f"folder of Markdown posts ({DEFAULT.posts}/)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT.out,
        help=f"site folder, replaced whole ({DEFAULT.out}/)",
    )
    parser.add_argument(
        "--snippets",
        type=Path,
        default=DEFAULT.snippets,
        help=f"folder for <slug>.py ({DEFAULT.snippets}/)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT.cache,
        help=f"execution cache folder ({DEFAULT.cache}/)",
    )
    parser.add_argument(
        "--force", action="store_true", help="execute everything, ignoring the cache"
    )
    parser.add_argument(
        "--jobs",
        type=at_least_one,
        default=DEFAULT.jobs,
        help=f"kernels running components in parallel ({DEFAULT.jobs}, the number of cores)",
    )
    parser.add_argument(
        "--timeout",
        type=positive,
        default=DEFAULT.timeout,
        help=f"limit for one cell, in seconds ({DEFAULT.timeout:g})",
    )
    parser.add_argument(
        "--memory",
        type=positive,
        default=DEFAULT.memory,
        metavar="GIB",
        help="memory the kernels may use together, in GiB (half of what is available)",
    )
    parser.add_argument(
        "--isolation",
        choices=("auto", "required", "off"),
        help="run kernels in the bubblewrap sandbox: auto (where bwrap works, the default; "
        "or the isolation setting), required (exit 2 without it), off",
    )
    parser.add_argument(
        "--kernel-memory",
        type=size,
        help="memory one kernel's processes may use, such as 4G "
        "(default: 4G, less where --jobs kernels would not fit); a cell over it is stopped",
    )
    parser.add_argument(
        "--disk",
        type=size,
        help="size of each writable folder of a sandboxed kernel "
        "(its working folder, /tmp, /dev/shm; default: 1G, less where --jobs would not fit)",
    )
    parser.add_argument(
        "--processes", type=at_least_one, help="processes one kernel may run at once (256)"
    )
    parser.add_argument(
        "--backends",
        type=backends,
        metavar="NAMES",
        help="Keras backends to run every post on, comma-separated, the first one's outputs on "
        "the page: tensorflow, jax, torch (the backends setting; tensorflow)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=default_format(),
        help="github: also print each diagnostic as a GitHub Actions annotation and write the "
        "summary to $GITHUB_STEP_SUMMARY (the default when GITHUB_ACTIONS=true)",
    )


COMMANDS = ("build", "check", "serve", "new")


def main(argv=None, script: Path | None = None, prog: str = "kernelblog") -> int:
    """Run a command: `build` (the default, as `python build.py` runs it), `check` (build
    --check), `serve` or `new`; `script` is what serve rebuilds with (default: `python -m
    kernelblog`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv.pop(0) if argv[:1] and argv[0] in COMMANDS else "build"
    if command == "new":
        return _new(argv, prog)
    if command == "serve":
        parser = argparse.ArgumentParser(
            prog=f"{prog} serve",
            description=(
                "Build, serve the site on localhost, and rebuild and reload the page when a post, "
                "a template or the package changes. Failing snippets show on the page (as with "
                "--keep-going), and so do drafts."
            ),
        )
        build_options(parser)
        parser.add_argument(
            "--port",
            type=port,
            default=PORT,
            help=f"port on 127.0.0.1 ({PORT}; 0 picks a free one)",
        )
        args = vars(parser.parse_args(argv))
        from .serve import serve

        chosen = args.pop("port")
        return serve(Options(**args), chosen, script=script)
    parser = argparse.ArgumentParser(
        prog=f"{prog} {command}" if prog == "kernelblog" else prog,
        description="Complete, execute and publish the posts' Keras snippets."
        if command == "build"
        else "Execute every snippet and report; write no site (build --check).",
        epilog=f"{prog} serve --help: live preview; kernelblog new --help: start a blog.",
    )
    build_options(parser)
    if command == "build":
        parser.add_argument(
            "--check", action="store_true", help="execute every snippet and report; write no site"
        )
    parser.add_argument(
        "--keep-going", action="store_true", help="write the site even when snippets fail"
    )
    parser.add_argument(
        "--drafts",
        action="store_true",
        help="build the posts marked draft: true too, each with a Draft banner (serve always does)",
    )
    parser.add_argument(
        "--shard",
        type=shard,
        metavar="K/N",
        help="execute only the K-th of N balanced shares of the work and cache it; write no site "
        "(run the N shares on N machines, merge their caches by copying, then build)",
    )
    args = vars(parser.parse_args(argv))
    if command == "check":
        args["check"] = True
    return build(Options(**args))


def _new(argv: list[str], prog: str) -> int:
    parser = argparse.ArgumentParser(
        prog=f"{prog} new",
        description="Start a blog of your own in DIR: posts/ with an example post, pyproject.toml, "
        "the check and publish workflows, and a README.",
    )
    parser.add_argument("dir", type=Path, help="the new blog's folder (new, or empty)")
    parser.add_argument("--title", default="", help="the blog's title (default: the folder's name)")
    args = parser.parse_args(argv)
    from .new import StarterError, new_blog

    try:
        written = new_blog(args.dir, args.title)
    except StarterError as error:
        print(f"{args.dir}: error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    print(f"Next: cd {args.dir} && kernelblog build (or kernelblog serve for a live preview)")
    return 0


def run(script: Path | None = None, prog: str = "kernelblog") -> None:
    """The console script: exit with main()'s status."""
    import gc

    # nbformat's default validator compiles its schema on first use (about 40 ms here); its other
    # one (jsonschema) validates a cell about as fast, without that.
    os.environ.setdefault("NBFORMAT_VALIDATOR", "jsonschema")
    status = main(script=script, prog=prog)
    # Python's exit then skips a last collection over all the build loaded: 0.1 s at 200 posts
    gc.freeze()
    sys.exit(status)
