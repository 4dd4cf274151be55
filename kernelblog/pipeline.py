"""The build: read, complete, execute, render and write every post."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import uptodate
from .diagnostics import BadInput, Diagnostic
from .progress import Progress, progress_for

if TYPE_CHECKING:  # the stages load when the build needs them: a build with nothing to do needs none
    from .cache import Cache
    from .complete import CompletedPost
    from .site import Site

OK, SNIPPET_FAILED, BAD_INPUT = 0, 1, 2
SITE_MARKER = ".kernelblog-site"  # in every site the build writes: a folder without it is never replaced


@dataclass(frozen=True)
class Options:
    posts: Path = Path("posts")
    out: Path = Path("_site")
    snippets: Path = Path("snippets")
    cache: Path = Path(".kernelblog-cache")
    check: bool = False
    force: bool = False
    jobs: int = os.cpu_count() or 1
    timeout: float = 600
    keep_going: bool = False
    isolation: str | None = None  # auto, required or off; None: the isolation setting (auto)
    memory: int | None = None  # bytes per kernel; None: isolation.default_limits
    disk: int | None = None  # bytes per writable folder of a sandboxed kernel
    processes: int | None = None  # per kernel


def build(options: Options, report: Callable[[str], None] | None = None) -> int:
    """Build the site; report each diagnostic and post result as a line; return the exit status.

    Without `report`, the build reports to the console, with a summary table at the end: live
    progress on a terminal, plain lines on stderr otherwise.
    """
    progress = progress_for(report)
    received = [signal.SIGINT]
    with progress, _interrupts_raise(received):
        try:
            with _one_build_at_a_time(options.out, progress.report):
                status = _build(options, progress)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: kernels killed, the previous site left as it was
            progress.report(f"build interrupted by {received[-1].name}")
            return 128 + received[-1]
        finally:
            if "kernelblog.execute" in sys.modules:
                sys.modules["kernelblog.execute"].allow_kernels()
    if report is None:
        progress.summary()
    return status


def _check_out(options: Options) -> None:
    """Refuse an --out whose replacement would delete something the build didn't write."""
    out = options.out.resolve()
    package = Path(__file__).resolve().parent
    for name, folder in (("the posts", options.posts), ("the cache", options.cache), ("the snippets", options.snippets),
                         ("the templates", package.parent / "templates"), ("the kernelblog package", package)):
        if out == folder.resolve() or out in folder.resolve().parents:
            raise BadInput(Diagnostic(options.out, 0, "error", f"--out would replace the folder that holds {name}"))
    if out.is_dir() and any(out.iterdir()) and not (out / SITE_MARKER).is_file():
        raise BadInput(Diagnostic(options.out, 0, "error", "--out is a folder this build did not write, and building "
                                  "would replace it: remove it or choose another folder"))


@contextlib.contextmanager
def _one_build_at_a_time(out: Path, report: Callable[[str], None]):
    """Lock the folder that holds the site for the whole build (flock on the folder itself, so
    nothing is left behind); a second build of the same folder waits for the first."""
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(parent, os.O_RDONLY)
    try:
        try:
            fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            report(f"{out}: another build is writing this site; waiting for it to finish")
            fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # releases the lock


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


def _build(options: Options, progress: Progress) -> int:
    record = uptodate.record_for(options.cache, options.out)
    digest = uptodate.fingerprint(options.posts, {"out": options.out.resolve(), "snippets": options.snippets.resolve(),
                                                  "keep_going": options.keep_going, "timeout": options.timeout})
    if not (options.force or options.check):
        warnings = uptodate.current(record, digest, options.out, options.snippets)
        if warnings is not None:
            for line in warnings:  # what the last build warned about still holds
                progress.report(line)
            progress.report(f"{options.out}/: nothing changed since the last build")
            return OK

    try:
        from .site import load_site

        completed = complete_all(options.posts, progress.report)
        _check_out(options)
        site = load_site(options.posts.resolve().parent / "pyproject.toml")
        isolation = _isolation(options, site.isolation, progress) if (options.isolation or site.isolation) == "required" \
            else None
    except BadInput as error:
        progress.report(str(error.diagnostic))
        return BAD_INPUT
    failed = not all(post.ok for post in completed)
    if failed and not options.keep_going:
        return SNIPPET_FAILED  # found before any kernel started

    from .cache import Cache, environment
    from .cache import key as cache_key
    from .execute import ExecutedPost  # light: nbclient loads only when something runs

    executed: dict[str, ExecutedPost] = {}
    pending = []  # (post, its cache key)
    cache, shared = Cache(options.cache), environment()
    for post in completed:
        notebook = post.notebook()
        cells = sum(cell.cell_type == "code" for cell in notebook.cells)
        if not post.ok and not (options.keep_going and post.runnable):  # else its other cells run
            progress.add(post.post.path, cells, "not run")
            continue
        progress.add(post.post.path, cells)
        code_options = [done.cell.options for done in post.cells if done.cell.kind == "code"]
        # The slug is part of the key: an entry written for one post is never used for another.
        post_key = cache_key(notebook, code_options, dict(shared, post=post.post.slug))
        hit = None if options.force else _from_cache(cache, post_key, post, notebook, progress)
        if hit:
            executed[post.post.slug] = hit
            progress.cached(post.post.path, hit.seconds)
        else:
            pending.append((post, post_key))
    if pending:
        isolation = isolation or _isolation(options, site.isolation, progress)
        failed = _execute(options, pending, cache, executed, progress, isolation) or failed
    if options.check or (failed and not options.keep_going):
        return SNIPPET_FAILED if failed else OK

    for post in completed:
        if post.post.slug not in executed:  # found before running, under --keep-going
            executed[post.post.slug] = ExecutedPost(post.notebook())
    warnings = [str(d) for post in completed for d in post.diagnostics if d.severity == "warning"]
    warnings += [str(d) for result in executed.values() for d in result.warnings]  # outputs cut

    def report_page(line: str) -> None:  # outputs left off a page
        warnings.append(line)
        progress.report(line)

    write_all(options, completed, executed, site, report_page)
    progress.report(f"wrote {len(completed)} posts to {options.out}/ and {options.snippets}/")
    if failed:
        return SNIPPET_FAILED
    uptodate.remember(record, digest, options.out, options.snippets, warnings)
    return OK


def _from_cache(cache: Cache, key: str, post: CompletedPost, notebook, progress: Progress):
    """The post's executed notebook from the cache, or None; a damaged entry is a warning."""
    from .cache import CorruptEntry, restore
    from .execute import ExecutedPost

    try:
        entry = cache.load(key)
        if entry is None:
            return None
        restore(notebook, entry)
    except CorruptEntry as error:
        progress.report(str(Diagnostic(post.post.path, 0, "warning",
                                       f"ignoring a damaged cache entry and executing again: {error}")))
        return None
    return ExecutedPost(notebook, seconds=entry.seconds, executed_at=entry.executed_at, cached=True)


def _isolation(options: Options, setting: str, progress: Progress):
    """The kernels' sandbox and limits, from the options and the isolation setting; BadInput
    when the sandbox is required and bwrap does not work."""
    from .isolation import Limits, choose, default_limits

    defaults = default_limits(options.jobs)
    limits = Limits(options.memory or defaults.memory, options.disk or defaults.disk,
                    options.processes or defaults.processes)
    return choose(options.isolation or setting, limits, lambda warning: progress.report(str(warning)))


def _execute(options: Options, pending: list, cache: Cache, executed: dict, progress: Progress, isolation) -> bool:
    """Run the pending posts in parallel kernels, caching each success; return whether any failed."""
    from .execute import ExecutedPost, execute_post
    from .isolation import remove_stale_runtimes

    remove_stale_runtimes()  # connection files and sockets of builds that were killed

    def run(post: CompletedPost):
        path = post.post.path
        progress.running(path, 0, progress.rows[path].cells)  # the kernel starts
        return execute_post(post, options.timeout, options.keep_going, lambda i, n: progress.running(path, i, n),
                            isolation)

    failed = False
    with ThreadPoolExecutor(max_workers=max(options.jobs, 1)) as pool:
        futures = {pool.submit(run, post): (post, key) for post, key in pending}
        for future in as_completed(futures):  # report each post as it finishes
            post, key = futures[future]
            try:
                result = future.result()
            except Exception as error:  # the kernel could not start, or nbclient failed
                result = ExecutedPost(post.notebook(), Diagnostic(post.post.path, 1, "error",
                                                                  f"could not execute the post: {error!r}"))
            executed[post.post.slug] = result
            for warning in result.warnings:
                progress.report(str(warning))
            if result.failure:
                failed = True
            else:
                try:
                    cache.store(key, post.post.slug, result.notebook, result.executed_at, result.seconds)
                except OSError as error:
                    message = f"could not cache the outputs: {error}"
                    progress.report(str(Diagnostic(options.cache, 0, "warning", message)))
            progress.finished(post.post.path, result.seconds, result.failures or [f for f in [result.failure] if f])
    return failed


def complete_all(folder: Path, report: Callable[[str], None]) -> list[CompletedPost]:
    """Read and complete every post in `folder`; raise BadInput on unreadable input."""
    from .complete import complete_post, project_aliases
    from .keras_index import build_index
    from .read import read_post

    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput(Diagnostic(folder, 0, "error", "posts folder not found"))
    paths = sorted(path for path in folder.glob("*.md") if path.is_file())
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


def write_all(options: Options, completed: list[CompletedPost], executed: dict, site: Site | None = None,
              report: Callable[[str], None] = lambda line: None) -> None:
    """Render every page and write the site and the snippets; report outputs left off a page."""
    from .site import load_site, site_files
    from .write import snippet_text, write_site, write_snippets

    site = site or load_site(options.posts.resolve().parent / "pyproject.toml")
    snippets = {post.post.slug: snippet_text(post) for post in completed}
    files = site_files(site, completed, executed, report)
    files[SITE_MARKER] = b"Written by kernelblog's build (python build.py), which replaces this folder whole.\n"
    write_site(options.out, files)
    write_snippets(options.snippets, snippets)
