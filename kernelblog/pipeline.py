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
from pathlib import Path
from typing import TYPE_CHECKING

from . import uptodate
from .diagnostics import BadInput, Diagnostic
from .progress import Progress, progress_for
from .settings import PACKAGE, TEMPLATES, Options, settings_file

if TYPE_CHECKING:  # the stages load when the build needs them: a build with nothing to do needs none
    from .cache import Cache
    from .complete import CompletedPost
    from .site import Site

OK, SNIPPET_FAILED, BAD_INPUT = 0, 1, 2
SITE_MARKER = ".kernelblog-site"  # in every site the build writes: a folder without it is never replaced


def build(options: Options, report: Callable[[str], None] | None = None) -> int:
    """Build the site; report each diagnostic and post result as a line; return the exit status.

    Without `report`, the build reports to the console, with a summary table at the end: live
    progress on a terminal, plain lines on stderr otherwise.
    """
    progress = progress_for(report, github=options.format == "github")
    received = [signal.SIGINT]
    with progress, _interrupts_raise(received):
        try:
            # A shard writes no site: shards run side by side, each caching entries no other writes.
            lock = contextlib.nullcontext() if options.shard else _one_build_at_a_time(options.out, progress.report)
            with lock:
                status = _build(options, progress)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: kernels killed, the previous site left as it was
            progress.report(f"build interrupted by {received[-1].name}")
            return 128 + received[-1]
        finally:
            if "kernelblog.execute" in sys.modules:
                sys.modules["kernelblog.execute"].allow_kernels()
    if report is None:
        progress.summary()
        if options.format == "github":
            progress.job_summary("kernelblog " + ("check" if options.check else
                                                  f"shard {options.shard}" if options.shard else "build"))
    return status


def _check_out(options: Options) -> None:
    """Refuse an --out whose replacement would delete something the build didn't write."""
    out = options.out.resolve()
    for name, folder in (("the posts", options.posts), ("the cache", options.cache), ("the snippets", options.snippets),
                         ("the templates", TEMPLATES), ("the kernelblog package", PACKAGE)):
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
    if not (options.force or options.check or options.shard):
        warnings = uptodate.current(record, digest, options.out, options.snippets)
        if warnings is not None:
            for warning in warnings:  # what the last build warned about still holds
                progress.diagnostic(warning)
            progress.report(f"{options.out}/: nothing changed since the last build")
            return OK

    try:
        from .site import load_site

        found: list[Diagnostic] = []
        completed = complete_all(options.posts, found.append)
        _check_out(options)
        site = load_site(options.pyproject)
    except BadInput as error:
        progress.diagnostic(error.diagnostic)
        return BAD_INPUT
    if options.shard:  # this shard's posts alone; the other shards report the others
        others = {post.post.path for post in completed}
        completed = _share(options, completed, progress)
        others -= {post.post.path for post in completed}
        found = [diagnostic for diagnostic in found if diagnostic.path not in others]
    for diagnostic in found:
        progress.diagnostic(diagnostic)
    failed = not all(post.ok for post in completed)
    if failed and not options.keep_going:
        return SNIPPET_FAILED  # found before any kernel started

    from .cache import Cache, environment
    from .execute import ExecutedPost  # light: nbclient loads only when something runs

    executed: dict[str, ExecutedPost] = {}
    pending = []  # (post, its cache key)
    cache, shared = Cache(options.cache), environment()
    for post in completed:
        notebook = post.notebook()
        cells = sum(cell.cell_type == "code" for cell in notebook.cells)
        if not _runs(post, options):
            progress.add(post.post.path, cells, "not run")
            continue
        progress.add(post.post.path, cells)
        post_key = _key(post, notebook, shared)
        hit = None if options.force else _from_cache(cache, post_key, post, notebook, progress)
        if hit:
            executed[post.post.slug] = hit
            progress.cached(post.post.path, hit.seconds)
        else:
            pending.append((post, post_key))
    if pending:
        failed = _execute(options, pending, cache, executed, progress) or failed
    if options.check or options.shard or (failed and not options.keep_going):
        return SNIPPET_FAILED if failed else OK

    for post in completed:
        if post.post.slug not in executed:  # found before running, under --keep-going
            executed[post.post.slug] = ExecutedPost(post.notebook())
    warnings = [d for post in completed for d in post.diagnostics if d.severity == "warning"]

    def report_page(warning: Diagnostic) -> None:  # outputs left off a page
        warnings.append(warning)
        progress.diagnostic(warning)

    write_all(options, completed, executed, site, report_page)
    progress.report(f"wrote {len(completed)} posts to {options.out}/ and {options.snippets}/")
    if failed:
        return SNIPPET_FAILED
    uptodate.remember(record, digest, options.out, options.snippets, warnings)
    return OK


def _runs(post: CompletedPost, options: Options) -> bool:
    """Whether the build executes the post: it has no error, or --keep-going runs its other cells."""
    return post.ok or (options.keep_going and post.runnable)


def _key(post: CompletedPost, notebook, shared: dict) -> str:
    """The post's cache key."""
    from .cache import key

    return key(notebook, [done.cell.options for done in post.cells if done.cell.kind == "code"], shared)


def _share(options: Options, completed: list[CompletedPost], progress: Progress) -> list[CompletedPost]:
    """The posts that `--shard K/N` executes: a balanced share of those whose outputs are not
    cached, by the seconds their last execution took (see shard.py); the same on every shard."""
    from .cache import Cache, CorruptEntry, environment
    from .shard import estimate, share

    cache, shared = Cache(options.cache), environment()
    cells, cached = {}, []
    for post in completed:
        notebook = post.notebook()
        cells[post.post.slug] = sum(cell.cell_type == "code" for cell in notebook.cells)
        try:
            if not _runs(post, options) or (not options.force and cache.load(_key(post, notebook, shared))):
                cached.append(post.post.slug)  # nothing to execute
        except CorruptEntry:
            pass  # executed again, and reported by the shard that does it
    costs = estimate(cells, cache.recorded_seconds(), cached)
    mine = set(share(costs.items(), options.shard))
    progress.report(f"shard {options.shard}: {len(mine)} of {len(completed)} posts, about "
                    f"{sum(costs[slug] for slug in mine):.0f} of {sum(costs.values()):.0f} s of execution")
    return [post for post in completed if post.post.slug in mine]


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
        progress.diagnostic(Diagnostic(post.post.path, 0, "warning",
                                       f"ignoring a damaged cache entry and executing again: {error}"))
        return None
    return ExecutedPost(notebook, seconds=entry.seconds, executed_at=entry.executed_at, cached=True)


def _execute(options: Options, pending: list, cache: Cache, executed: dict, progress: Progress) -> bool:
    """Run the pending posts in parallel kernels, caching each success; return whether any failed."""
    from .execute import ExecutedPost, execute_post

    def run(post: CompletedPost):
        path = post.post.path
        progress.running(path, 0, progress.rows[path].cells)  # the kernel starts
        return execute_post(post, options.timeout, options.keep_going, lambda i, n: progress.running(path, i, n))

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
            if result.failure:
                failed = True
            else:
                try:
                    cache.store(key, post.post.slug, result.notebook, result.executed_at, result.seconds)
                except OSError as error:
                    message = f"could not cache the outputs: {error}"
                    progress.diagnostic(Diagnostic(options.cache, 0, "warning", message))
            progress.finished(post.post.path, result.seconds, result.failures or [f for f in [result.failure] if f])
    return failed


def complete_all(folder: Path, report: Callable[[Diagnostic], None]) -> list[CompletedPost]:
    """Read and complete every post in `folder`, reporting each diagnostic; raise BadInput on unreadable input."""
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
    aliases = project_aliases(settings_file(folder))
    completed = [complete_post(post, index, aliases) for post in posts]
    for post in completed:
        for diagnostic in post.diagnostics:
            report(diagnostic)
    return completed


def write_all(options: Options, completed: list[CompletedPost], executed: dict, site: Site | None = None,
              report: Callable[[Diagnostic], None] = lambda warning: None) -> None:
    """Render every page and write the site and the snippets; report outputs left off a page."""
    from .site import load_site, site_files
    from .write import snippet_text, write_site, write_snippets

    site = site or load_site(options.pyproject)
    snippets = {post.post.slug: snippet_text(post) for post in completed}
    files = site_files(site, completed, executed, report)
    files[SITE_MARKER] = b"Written by kernelblog's build (python build.py), which replaces this folder whole.\n"
    write_site(options.out, files)
    write_snippets(options.snippets, snippets)
