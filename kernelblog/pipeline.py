"""The build: read, complete, execute, render and write every post."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .complete import CompletedPost, complete_post, project_aliases
from .diagnostics import BadInput, Diagnostic
from .keras_index import build_index
from .read import read_post

OK, SNIPPET_FAILED, BAD_INPUT = 0, 1, 2


@dataclass(frozen=True)
class Options:
    posts: Path = Path("posts")
    out: Path = Path("_site")
    snippets: Path = Path("snippets")
    check: bool = False
    force: bool = False
    jobs: int = os.cpu_count() or 1
    timeout: float = 600
    keep_going: bool = False


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def build(options: Options, report: Callable[[str], None] = _stderr) -> int:
    """Build the site; report each diagnostic and result as a line; return the exit status.
    Ctrl-C or SIGTERM kills the kernels and leaves the previous site as it was (status 128 + signal)."""
    received = [signal.SIGINT]
    with _interrupts_raise(received):
        try:
            return _build(options, report)
        except KeyboardInterrupt:
            report(f"build interrupted by {received[-1].name}")
            return 128 + received[-1]
        finally:
            if "kernelblog.execute" in sys.modules:
                sys.modules["kernelblog.execute"].allow_kernels()


@contextlib.contextmanager
def _interrupts_raise(received: list):
    """While building in the main thread, SIGINT and SIGTERM kill the running kernels and raise
    KeyboardInterrupt, so that every `finally` cleans up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        received.append(signal.Signals(signum))
        if "kernelblog.execute" in sys.modules:
            sys.modules["kernelblog.execute"].stop_kernels()
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _build(options: Options, report: Callable[[str], None]) -> int:
    try:
        out, posts = options.out.resolve(), options.posts.resolve()
        if out == posts or out in posts.parents:
            raise BadInput(Diagnostic(options.out, 0, "error", "--out would replace the folder that holds the posts"))
        completed = complete_all(options.posts, report)
    except BadInput as error:
        report(str(error.diagnostic))
        return BAD_INPUT
    failed = not all(post.ok for post in completed)
    if failed and not options.keep_going:
        return SNIPPET_FAILED  # found before any kernel started

    from .execute import ExecutedPost, execute_post  # nbclient loads only when something runs

    runnable = [post for post in completed if post.ok]
    executed: dict[str, ExecutedPost] = {}
    with ThreadPoolExecutor(max_workers=max(options.jobs, 1)) as pool:
        futures = {pool.submit(execute_post, post, options.timeout, options.keep_going): post for post in runnable}
        for future in as_completed(futures):  # report each post as it finishes
            post = futures[future]
            try:
                result = future.result()
            except Exception as error:  # the kernel could not start, or nbclient failed
                result = ExecutedPost(post.notebook(), Diagnostic(post.post.path, 1, "error",
                                                                  f"could not execute the post: {error!r}"))
            executed[post.post.slug] = result
            cells = sum(cell.cell.kind == "code" for cell in post.cells)
            if result.failure:
                failed = True
                for failure in result.failures or [result.failure]:
                    report(str(failure))
            else:
                report(f"{post.post.path}: ran {cells} cells in {result.seconds:.1f} s")
    if options.check or (failed and not options.keep_going):
        return SNIPPET_FAILED if failed else OK

    for post in completed:
        executed.setdefault(post.post.slug, ExecutedPost(post.notebook()))
    write_all(options, completed, executed, report)
    report(f"wrote {len(completed)} posts to {options.out}/ and {options.snippets}/")
    return SNIPPET_FAILED if failed else OK


def complete_all(folder: Path, report: Callable[[str], None]) -> list[CompletedPost]:
    """Read and complete every post in `folder`; raise BadInput on unreadable input."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput(Diagnostic(folder, 0, "error", "posts folder not found"))
    paths = sorted(folder.glob("*.md"))
    if not paths:
        raise BadInput(Diagnostic(folder, 0, "error", "no posts (*.md) in this folder"))
    posts = [read_post(path) for path in paths]
    seen: dict[str, Path] = {}
    for post in posts:
        if post.slug in seen:
            raise BadInput(Diagnostic(post.path, post.slug_line, "error",
                                      f"slug '{post.slug}' is also used by {seen[post.slug]}"))
        seen[post.slug] = post.path
    index = build_index()
    aliases = project_aliases(folder.resolve().parent / "pyproject.toml")
    completed = [complete_post(post, index, aliases) for post in posts]
    for post in completed:
        for diagnostic in post.diagnostics:
            report(str(diagnostic))
    return completed


def write_all(options: Options, completed: list[CompletedPost], executed: dict,
              report: Callable[[str], None] = _stderr) -> None:
    """Render every page and write the site and the snippets; report outputs left off a page."""
    from .render import environment, render_index, render_post, stylesheets
    from .write import snippet_text, write_site, write_snippets

    env = environment()
    files = {f"static/{name}": content for name, content in stylesheets().items()}
    for post in completed:
        page = render_post(post, executed[post.post.slug], env)
        for warning in page.warnings:
            report(str(warning))
        files[f"{post.post.slug}/index.html"] = page.html.encode()
        files.update({f"{post.post.slug}/{name}": data for name, data in page.files.items()})
    files["index.html"] = render_index([post.post for post in completed], env).encode()
    write_site(options.out, files)
    write_snippets(options.snippets, {post.post.slug: snippet_text(post) for post in completed})
