"""The build: read, complete, execute, render and write every post."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import uptodate
from .diagnostics import BadInput, Diagnostic
from .progress import Progress, progress_for
from .reuse import Reuse, read_bytes
from .settings import (
    PACKAGE,
    TEMPLATES,
    Options,
    Settings,
    load_settings,
    settings_file,
    user_cache,
)

if (
    TYPE_CHECKING
):  # the stages load when the build needs them: a build with nothing to do needs none
    from .cache import Cache
    from .complete import CompletedPost

OK, SNIPPET_FAILED, BAD_INPUT = 0, 1, 2
SITE_MARKER = (
    ".kernelblog-site"  # in every site the build writes: a folder without it is never replaced
)


def build(options: Options, report: Callable[[str], None] | None = None, kernels=None) -> int:
    """Build the site; report each diagnostic and post result as a line; return the exit status.

    `kernels` (a Kernels object) are used and left running, as `serve` keeps them warm between
    builds; without it the build starts its own and stops them.

    Without `report`, the build reports to the console, with a summary table at the end: live
    progress on a terminal, plain lines on stderr otherwise.
    """
    progress = progress_for(report, github=options.format == "github")
    received = [signal.SIGINT]
    on_interrupt: list[Callable[[], None]] = []  # what stops the build's kernels, once it has them
    with progress, _interrupts_raise(received, on_interrupt):
        try:
            # A shard writes no site: shards run side by side, each caching entries no other writes.
            lock = (
                contextlib.nullcontext()
                if options.shard
                else _one_build_at_a_time(options.out, progress.report)
            )
            with lock:
                status = _build(options, progress, on_interrupt, kernels)
        except (
            KeyboardInterrupt
        ):  # Ctrl-C or SIGTERM: kernels killed, the previous site left as it was
            progress.report(f"build interrupted by {received[-1].name}")
            return 128 + received[-1]
    if report is None:
        progress.summary()
        if options.format == "github":
            progress.job_summary(
                "kernelblog "
                + (
                    "check"
                    if options.check
                    else f"shard {options.shard}"
                    if options.shard
                    else "build"
                )
            )
    return status


def _check_out(options: Options) -> None:
    """Refuse an --out whose replacement would delete something the build didn't write."""
    out = options.out.resolve()
    for name, folder in (
        ("the posts", options.posts),
        ("the cache", options.cache),
        ("the snippets", options.snippets),
        ("the templates", TEMPLATES),
        ("the kernelblog package", PACKAGE),
    ):
        if out == folder.resolve() or out in folder.resolve().parents:
            raise BadInput(
                Diagnostic(
                    options.out, 0, "error", f"--out would replace the folder that holds {name}"
                )
            )
    if out.is_dir() and any(out.iterdir()) and not (out / SITE_MARKER).is_file():
        raise BadInput(
            Diagnostic(
                options.out,
                0,
                "error",
                "--out is a folder this build did not write, and building "
                "would replace it: remove it or choose another folder",
            )
        )


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
def _interrupts_raise(received: list, on_interrupt: list):
    """While building in the main thread, SIGINT and SIGTERM kill the running kernels and raise
    KeyboardInterrupt, so that every `finally` cleans up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        received.append(signal.Signals(signum))
        for stop in on_interrupt:
            stop()
        raise KeyboardInterrupt

    previous = {
        signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _build(
    options: Options, progress: Progress, on_interrupt: list | None = None, kernels=None
) -> int:
    from .cache import environment

    record = uptodate.record_for(options.cache, options.out)
    shared = environment()  # what every component's key shares
    inputs = uptodate.package_digest(shared)
    digest = uptodate.fingerprint(
        options.posts,
        {
            "out": options.out.resolve(),
            "snippets": options.snippets.resolve(),
            "keep_going": options.keep_going,
            "timeout": options.timeout,
        },
        inputs,
    )
    if not (options.force or options.check or options.shard):
        warnings = uptodate.current(record, digest, options.out, options.snippets)
        if warnings is not None:
            for warning in warnings:  # what the last build warned about still holds
                progress.diagnostic(warning)
            progress.report(f"{options.out}/: nothing changed since the last build")
            return OK
    noted: list[Diagnostic] = []  # warnings about the settings
    try:
        settings = load_settings(options.pyproject, noted.append)
    except BadInput as error:
        progress.diagnostic(error.diagnostic)
        return BAD_INPUT
    for warning in noted:
        progress.diagnostic(warning)

    from .kernels import GIB, KERNEL_MEMORY, Kernels

    timings = _recorded(options.cache)
    own = kernels is None
    if own:
        try:
            isolation = _isolation(options, settings, progress.report)
        except BadInput as error:
            progress.report(str(error.diagnostic))
            return BAD_INPUT
        from .isolation import remove_stale_runtimes

        remove_stale_runtimes()  # connection files and sockets of builds that were killed
        kernels = Kernels(
            options.jobs,
            int(options.memory * GIB) if options.memory else None,
            options.fresh_kernels,
            expected=int(timings.get("kernel_peak") or KERNEL_MEMORY),
            isolation=isolation,
        )
    if on_interrupt is not None:
        on_interrupt.append(kernels.stop)
    try:
        # Start kernels, and their import of keras, while the posts are read and completed, when
        # the build will likely run code: all of them for a cold cache or --force; one when code
        # was edited since the last build (an edit often re-runs one component; more start if not).
        cold = own and _cold(options)
        code = uptodate.code_digest(options.posts)
        if cold or (own and uptodate.code_changed(record, code)):
            kernels.warm_code = _warm_code(options.posts)
            kernels.warm(options.jobs if cold else 1)
        reuse = Reuse(
            None if options.shard else user_cache() / "reuse", inputs, fresh=options.force
        )
        return _build_with(
            options,
            progress,
            kernels,
            timings,
            own,
            reuse,
            shared,
            (record, digest, code),
            settings,
            noted,
        )
    finally:
        if own:
            kernels.close()


def _isolation(options: Options, settings: Settings, report: Callable[[str], None]):
    """The kernels' sandbox and limits, from the options, or else the settings; BadInput when
    the sandbox is required and bwrap does not work."""
    from .isolation import Limits, choose, default_limits

    defaults = default_limits(options.jobs)
    limits = Limits(
        options.kernel_memory or settings.kernel_memory or defaults.memory,
        options.disk or settings.disk or defaults.disk,
        options.processes or settings.processes or defaults.processes,
    )
    mode = options.isolation or settings.isolation
    return choose(mode, limits, lambda warning: report(str(warning)))


def _recorded(folder: Path) -> dict:
    from .cache import Cache

    return Cache(folder).timings()


def _cold(options: Options) -> bool:
    """Whether the build will likely execute something: --force, or no cache entries yet."""
    return options.force or not any(Path(options.cache).glob("*/manifest.json"))


def _warm_code(posts: Path) -> str:
    """`import keras` when a post seems to use it (read cheaply, before completion)."""
    keras = re.compile(r"\b(keras|tensorflow|Sequential|Dense|Conv[123]D|layers\.)")
    for path in sorted(Path(posts).glob("*.md")):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if keras.search(path.read_text(encoding="utf-8")):
                return "import keras"
    return ""


def _build_with(
    options: Options,
    progress: Progress,
    kernels,
    timings: dict,
    own: bool,
    reuse: Reuse,
    shared: dict,
    remembered: tuple,
    settings: Settings,
    noted: list[Diagnostic],
) -> int:
    """The build once its kernels are set; `remembered` is what uptodate.remember records of a
    successful build: the record's path, the build's fingerprint and its posts' code digest;
    `noted`: the warnings about the settings, reported already."""
    try:
        found: list[Diagnostic] = []
        ready = ready_all(options.posts, found.append, reuse, settings)
        completed = [done.post for done in ready]
        _check_out(options)
    except BadInput as error:
        progress.diagnostic(error.diagnostic)
        return BAD_INPUT
    if not options.shard:
        for diagnostic in found:
            progress.diagnostic(diagnostic)
        failed = not all(post.ok for post in completed)
        if failed and not options.keep_going:
            return SNIPPET_FAILED  # found before any kernel started

    from .cache import Cache
    from .execute import ExecutedPost  # light: nbclient loads only when something runs

    cache = Cache(options.cache)
    runs = _Runs(options, progress, cache, reuse, settings)
    if options.shard:  # this shard's share of the components, and the diagnostics of its posts
        ready, failed = _share(options, ready, found, runs, shared, progress)
        completed = [done.post for done in ready]
    for done in ready:
        if not _runs(done.post, options):
            progress.add(done.post.post.path, done.code_cells, "not run")
            continue
        progress.add(done.post.post.path, done.code_cells)
        runs.add(done, shared)
    if runs.pending:
        if any("keras" in post.preamble for post, *_ in runs.pending):
            kernels.warm_code = "import keras"
        failed = runs.execute(kernels, timings, own) or failed
    if failed and not options.keep_going:
        return SNIPPET_FAILED  # the failures are what it says
    runs.report_counts(kernels)
    if options.check or options.shard:
        return SNIPPET_FAILED if failed else OK

    executed = runs.executed
    for post in completed:
        if post.post.slug not in executed:  # found before running, under --keep-going
            executed[post.post.slug] = ExecutedPost(post.notebook())
    warnings = list(noted)  # about the settings
    warnings += [d for post in completed for d in post.diagnostics if d.severity == "warning"]
    warnings += runs.warnings  # outputs cut

    def report_page(warning: Diagnostic) -> None:  # outputs left off a page
        warnings.append(warning)
        progress.diagnostic(warning)

    snippets = {done.post.post.slug: done.snippet for done in ready}
    write_all(options, completed, executed, settings, report_page, reuse, snippets, runs.kept)
    progress.report(f"wrote {len(completed)} posts to {options.out}/ and {options.snippets}/")
    if failed:
        return SNIPPET_FAILED
    reuse.prune()
    record, digest, code = remembered
    uptodate.remember(record, digest, code, options.out, options.snippets, warnings)
    return OK


class _Runs:
    """The components of every post: each from the cache, or run on the build's kernels, and
    each post's executed notebook once all of its components are in."""

    def __init__(
        self,
        options: Options,
        progress: Progress,
        cache: Cache,
        reuse: Reuse | None = None,
        site: Settings | None = None,
    ):
        self.options, self.progress, self.cache = options, progress, cache
        self.reuse, self.site = reuse or Reuse(None, ""), site or Settings()
        self.executed: dict = {}  # slug -> ExecutedPost, once every component is in
        self.pending: list = []  # (post, component number, key, its notebook)
        self.posts: dict[str, dict] = {}  # slug -> what its components gave so far
        self.counts = {"run": 0, "run_cells": 0, "cached": 0, "cached_cells": 0}
        self.seconds: dict[str, float] = {}  # unit -> how long it ran now
        self.share: set[str] | None = None  # with --shard: the units this shard runs
        self.lock = threading.Lock()
        self.warnings: list[Diagnostic] = []  # cells whose output was cut
        self.kept: dict[
            str, tuple
        ] = {}  # slug -> the page and downloads kept for its post (see _page_kept)

    def add(self, ready: Ready, shared: dict) -> None:
        """Restore what the cache has of a post's components; the others are pending (with
        --shard, those of this shard's share; the others are left to the other shards).

        A post whose every component is in the cache, and whose page is in the reuse store for
        those entries, needs none of its outputs: they are not read.
        """
        post = ready.post
        if self._page_kept(ready, shared):
            return
        notebook = post.notebook()
        state = {
            "post": post,
            "notebook": notebook,
            "left": len(post.components),
            "failures": [],
            "seconds": 0.0,
            "executed_at": "",
            "all_cached": True,
            "cached_cells": 0,
            "stamps": [],
        }
        self.posts[post.post.slug] = state
        for number, key, sub in components(ready, notebook, shared):
            entry = None if self.options.force else self._from_cache(key, post, sub)
            if (
                entry is None
                and self.share is not None
                and f"{post.post.slug}/{number}" not in self.share
            ):
                self._done(post, 0.0, "", [], cached=True)  # another shard runs it
                continue
            if entry is None:
                self.pending.append((post, number, key, sub))
                continue
            self.counts["cached"] += 1
            self.counts["cached_cells"] += len(sub.cells)
            state["cached_cells"] += len(sub.cells)
            state["stamps"].append((key, entry.sha256))
            self._done(post, entry.seconds, entry.executed_at, [], cached=True)
        if not post.components:
            state["left"] = 1
            self._done(post, 0.0, "", [], cached=True)

    def _page_kept(self, ready: Ready, shared: dict) -> bool:
        """Whether the post's components are all in the cache and its page, rendered from those
        entries, is in the reuse store; if so, the post is done, its outputs unread."""
        from .cache import CorruptEntry
        from .execute import ExecutedPost

        post = ready.post
        if (
            self.options.force
            or self.options.check
            or self.share is not None
            or not post.components
        ):
            return False  # --check reads every output: a damaged entry runs again
        keys = component_keys(ready, shared)
        try:
            stamps = [self.cache.stamp(key) for _, key, _ in keys]
        except CorruptEntry:
            return False  # reported when the entry is loaded
        if None in stamps:
            return False
        executed = ExecutedPost(
            None,
            None,
            sum(stamp.seconds for stamp in stamps),
            max(stamp.executed_at for stamp in stamps),
            True,
            [],
            tuple((key, stamp.sha256) for (_, key, _), stamp in zip(keys, stamps)),
        )
        kept = self.reuse.load("page", self.reuse.page_key(post, executed, self.site))
        if kept is None:
            return False
        self.kept[post.post.slug] = kept
        self.counts["cached"] += len(keys)
        self.counts["cached_cells"] += sum(cells for _, _, cells in keys)
        self.executed[post.post.slug] = executed
        self.progress.cached(post.post.path, executed.seconds, failed=not post.ok)
        return True

    def _from_cache(self, key: str, post: CompletedPost, sub):
        """The component's entry, its outputs put on its cells; None; a damaged entry is a warning."""
        from .cache import CorruptEntry, restore

        try:
            entry = self.cache.load(key)
            if entry is None:
                return None
            restore(sub, entry)
        except CorruptEntry as error:
            self.progress.diagnostic(
                Diagnostic(
                    post.post.path,
                    0,
                    "warning",
                    f"ignoring a damaged cache entry and executing again: {error}",
                )
            )
            return None
        return entry

    def _done(
        self, post: CompletedPost, seconds: float, executed_at: str, failures: list, cached: bool
    ) -> None:
        """One component of the post is in; the post is, once all of them are."""
        from .execute import ExecutedPost

        with self.lock:
            state = self.posts[post.post.slug]
            state["left"] -= 1
            state["seconds"] += seconds
            state["executed_at"] = max(state["executed_at"], executed_at)
            state["failures"] += failures
            state["all_cached"] = state["all_cached"] and cached
            if state["left"]:
                return
        failures = sorted(state["failures"], key=lambda d: d.line)
        stamps = tuple(state["stamps"]) if state["all_cached"] and state["stamps"] else None
        result = ExecutedPost(
            state["notebook"],
            failures[0] if failures else None,
            state["seconds"],
            state["executed_at"],
            state["all_cached"],
            failures,
            stamps,
        )
        self.executed[post.post.slug] = result
        if state["all_cached"]:
            self.progress.cached(post.post.path, result.seconds, failed=not post.ok)
        else:
            self.progress.finished(
                post.post.path, result.seconds, failures, state["cached_cells"], failed=not post.ok
            )

    def execute(self, kernels, timings: dict, close: bool = True) -> bool:
        """Run the pending components on the kernels, the longest first; return whether any failed."""
        from .kernels import Job

        recorded = timings.get("components", {})
        jobs = []
        for post, number, key, sub in self.pending:
            unit = f"{post.post.slug}/{number}"
            guess = recorded.get(unit, 1.0 + 0.1 * len(sub.cells))
            jobs.append(
                Job(guess, self._runner(post, number, key, sub, unit), self._failer(post, sub))
            )
        kernels.run(jobs)
        if close:
            kernels.close()  # their memory is free for rendering; their peaks are known
        if (
            not self.options.shard
        ):  # a shard writes only entries, named by their keys, so caches merge by copying
            with contextlib.suppress(OSError):
                self.cache.record_timings(self.seconds, max(kernels.all_peaks(), default=0))
        return any(state["failures"] for state in self.posts.values())

    def _runner(self, post: CompletedPost, number: int, key: str, sub, unit: str):
        from .execute import execute_component

        path = post.post.path
        code = [
            cell
            for cell in self.posts[post.post.slug]["notebook"].cells
            if cell.cell_type == "code"
        ]
        position = {id(cell): k for k, cell in enumerate(code, start=1)}

        def run(kernel) -> None:
            state = self.posts[post.post.slug]
            if state["failures"] and not self.options.keep_going:
                self._done(post, 0.0, "", [], cached=False)  # the post stops at its first failure
                return
            self.progress.running(path, 0, len(code))
            result = execute_component(
                kernel,
                path,
                sub,
                self.options.timeout,
                self.options.keep_going,
                lambda cell: self.progress.running(path, position[id(cell)], len(code)),
            )
            for warning in result.warnings:
                self.progress.diagnostic(warning)
                self.warnings.append(warning)
            with self.lock:
                self.counts["run"] += 1
                self.counts["run_cells"] += len(sub.cells)
                self.seconds[unit] = result.seconds
            if not result.failures:
                try:
                    self.cache.store(
                        key, post.post.slug, sub, result.executed_at, result.seconds, unit
                    )
                except OSError as error:
                    message = f"could not cache the outputs: {error}"
                    self.progress.diagnostic(Diagnostic(self.options.cache, 0, "warning", message))
            self._done(post, result.seconds, result.executed_at, result.failures, cached=False)

        return run

    def _failer(self, post: CompletedPost, sub):
        def fail(error: Exception) -> None:  # the kernel could not start, or nbclient failed
            message = f"could not execute the post: {error!r}"
            self._done(
                post, 0.0, "", [Diagnostic(post.post.path, 1, "error", message)], cached=False
            )

        return fail

    def report_counts(self, kernels) -> None:
        """How many components and cells ran, and how many came from the cache; the kernels' memory."""
        c = self.counts
        if not (c["run"] or c["cached"]):
            return
        self.progress.report(
            f"components: {c['run']} executed ({c['run_cells']} cells), "
            f"{c['cached']} from the cache ({c['cached_cells']} cells)"
        )
        if kernels.all_peaks() and c["run"]:
            peaks = ", ".join(f"{peak / 2**30:.2f}" for peak in kernels.all_peaks())
            self.progress.report(
                f"kernels: {len(kernels.all_peaks())} used, peak memory {peaks} GiB "
                f"(budget {kernels.budget / 2**30:.1f} GiB for {kernels.limit} at once)"
            )


@dataclass(frozen=True)
class Ready:
    """A completed post and what the build derives from it alone, kept with it in the reuse store."""

    post: CompletedPost
    snippet: str  # snippets/<slug>.py
    code_cells: int  # in its notebook, the components' setups included
    codes: tuple[
        tuple[int, str, int], ...
    ]  # each component's number, code digest (cache.code_digest) and cells


def make_ready(post: CompletedPost) -> Ready:
    """The post with what the build derives from its completion alone."""
    from .cache import code_digest
    from .write import snippet_text

    notebook = post.notebook()
    codes = tuple(
        (number, code_digest(sub, _options(post, sub)), len(sub.cells))
        for number, sub in _component_notebooks(post, notebook)
    )
    return Ready(
        post, snippet_text(post), sum(cell.cell_type == "code" for cell in notebook.cells), codes
    )


def _component_notebooks(post: CompletedPost, notebook):
    from .execute import component_notebook

    for component in post.components:
        yield component.number, component_notebook(notebook, component.number)


def _options(post: CompletedPost, sub) -> list[dict]:
    """The fence options of a component's code cells (none for its setup)."""
    from .cells import CellMeta

    return [
        post.cells[CellMeta.of(cell).cell].cell.options if CellMeta.of(cell).role == "code" else {}
        for cell in sub.cells
    ]


def component_keys(ready: Ready, shared: dict) -> list[tuple[int, str, int]]:
    """Each component of the post: its number, its cache key and its number of cells."""
    from .cache import key as cache_key

    # The slug is part of the key: an entry written for one post is never used for another.
    shared = dict(shared, post=ready.post.post.slug)
    return [(number, cache_key(code, shared), cells) for number, code, cells in ready.codes]


def components(ready: Ready, notebook, shared: dict):
    """Each component of the post: its number, its cache key and its notebook."""
    keys = component_keys(ready, shared)
    for (number, key, _), (_, sub) in zip(keys, _component_notebooks(ready.post, notebook)):
        yield number, key, sub


def _runs(post: CompletedPost, options: Options) -> bool:
    """Whether the build executes the post: it has no error, or --keep-going runs its other cells."""
    return post.ok or (options.keep_going and post.runnable)


def _share(
    options: Options,
    ready: list[Ready],
    found: list[Diagnostic],
    runs: _Runs,
    shared: dict,
    progress: Progress,
) -> tuple[list[Ready], bool]:
    """With --shard K/N: the posts that have components in this shard's share, and whether one
    of the posts whose diagnostics it reports failed before running.

    The units of work are the components not in the cache, each with its estimated cost (see
    shard.py); every shard computes the same split from the same posts and cache. Each post's
    diagnostics are reported by one shard, in turn by the posts' order.
    """
    from .cache import CorruptEntry
    from .shard import assign, estimate

    shard = options.shard
    completed = [done.post for done in ready]
    cells, cached, owner = {}, [], {}
    for done in ready:
        if not _runs(done.post, options):
            continue
        for number, key, count in component_keys(done, shared):
            unit = f"{done.post.post.slug}/{number}"
            owner[unit] = done.post.post.slug
            cells[unit] = count
            with contextlib.suppress(CorruptEntry):  # a damaged entry runs again
                if not options.force and runs.cache.load(key) is not None:
                    cached.append(unit)
    costs = estimate(cells, runs.cache.recorded_seconds(), cached)
    runs.share = set(assign(costs.items(), shard.count)[shard.index - 1])
    mine = {owner[unit] for unit in runs.share}
    work = [unit for unit in runs.share if unit not in cached]
    progress.report(
        f"shard {shard}: {len(work)} of {len(cells) - len(cached)} components to execute, about "
        f"{sum(costs[unit] for unit in work):.0f} of {sum(costs.values()):.0f} s"
    )
    reporting = {
        post.post.path
        for number, post in enumerate(completed)
        if number % shard.count == shard.index - 1
    }
    posts = {post.post.path for post in completed}
    for diagnostic in found:
        if diagnostic.path in reporting or diagnostic.path not in posts:
            progress.diagnostic(diagnostic)
    failed = any(not post.ok for post in completed if post.post.path in reporting)
    if not options.keep_going and not all(
        post.ok for post in completed
    ):  # as a build without --keep-going
        if not failed:
            progress.report(
                f"shard {shard}: nothing executed: a post has errors (another shard reports them)"
            )
        return [], True
    return [done for done in ready if done.post.post.slug in mine], failed


def complete_all(
    folder: Path, report: Callable[[Diagnostic], None], reuse: Reuse | None = None
) -> list[CompletedPost]:
    """Read and complete every post in `folder`, reporting each diagnostic; raise BadInput on
    unreadable input. With `reuse`, a post completed before as it is now is taken from there."""
    return [done.post for done in ready_all(folder, report, reuse)]


def ready_all(
    folder: Path,
    report: Callable[[Diagnostic], None],
    reuse: Reuse | None = None,
    settings: Settings | None = None,
) -> list[Ready]:
    """complete_all, each post with what the build derives from it alone (see Ready); the
    aliases come from `settings` (by default, those of the pyproject.toml beside `folder`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput(Diagnostic(folder, 0, "error", "posts folder not found"))
    paths = sorted(path for path in folder.glob("*.md") if path.is_file())
    if not paths:
        raise BadInput(Diagnostic(folder, 0, "error", "no posts (*.md) in this folder"))
    reuse = reuse or Reuse(None, "")
    pyproject = settings_file(folder)
    data = [
        read_bytes(path) for path in paths
    ]  # read once: what is keyed is completed (None: read_post says why)
    keys = [reuse.completion_key(path, content, pyproject) for path, content in zip(paths, data)]
    completed = [reuse.load("completed", key) for key in keys]
    missing = [k for k, done in enumerate(completed) if done is None]
    if missing:  # read and complete these (the libraries load only now)
        from .complete import complete_post
        from .keras_index import build_index
        from .plan import plan_post
        from .read import read_post

        read = {k: read_post(paths[k], data[k]) for k in missing}
        settings = settings or load_settings(pyproject)
        index, aliases = build_index(), settings.aliases
        for k in missing:
            completed[k] = make_ready(plan_post(complete_post(read[k], index, aliases)))
            reuse.save("completed", keys[k], completed[k])
    _unique_slugs([done.post.post for done in completed])
    for done in completed:
        for diagnostic in done.post.diagnostics:
            report(diagnostic)
    return completed


def _unique_slugs(posts: list) -> None:
    seen: dict[str, Path] = {}
    for post in posts:
        if post.slug in seen:
            raise BadInput(
                Diagnostic(
                    post.path,
                    post.slug_line,
                    "error",
                    f"slug '{post.slug}' is also used by {seen[post.slug]}",
                )
            )
        seen[post.slug] = post.path


def write_all(
    options: Options,
    completed: list[CompletedPost],
    executed: dict,
    settings: Settings | None = None,
    report: Callable[[Diagnostic], None] = lambda warning: None,
    reuse: Reuse | None = None,
    snippets: dict[str, str] | None = None,
    kept: dict[str, tuple] | None = None,
) -> None:
    """Render every page (those rendered before as they are now, from `reuse`; `kept`, by slug,
    for posts whose outputs were not read) and write the site and the snippets (slug -> text,
    made here if not given); report outputs left off a page."""
    from .site import site_files
    from .write import snippet_text, write_site, write_snippets

    settings = settings or load_settings(options.pyproject)
    if snippets is None:
        snippets = {post.post.slug: snippet_text(post) for post in completed}
    files = site_files(settings, completed, executed, report, reuse, kept)
    files[SITE_MARKER] = (
        b"Written by kernelblog's build (python build.py), which replaces this folder whole.\n"
    )
    write_site(options.out, files, spare=reuse is not None and reuse.folder is not None)
    write_snippets(options.snippets, snippets)
