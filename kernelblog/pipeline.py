"""The build: read, complete, execute, render and write every post."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from . import uptodate
from .cache import Cache, CorruptEntry, Entry, Stamp, environment, restore
from .cache import key as cache_key
from .diagnostics import BadInput, Diagnostic
from .listing import INDEX, list_posts
from .postfiles import PostFiles, post_files
from .progress import Progress, progress_for
from .reuse import Reuse, read_bytes
from .settings import (
    BACKEND_PACKAGES,
    BACKENDS,
    PACKAGE,
    TEMPLATES,
    Options,
    Settings,
    load_settings,
    settings_file,
    user_cache,
)
from .shard import assign, estimate

if (
    TYPE_CHECKING
):  # the stages load when the build needs them: a build with nothing to do needs none
    from nbformat import NotebookNode

    from .complete import CompletedPost
    from .execute import BackendRun, ComponentRun, ExecutedPost
    from .fence import FenceOptions
    from .kernels import Kernels

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
    """Nothing when nothing changed since the last build; else the kernels start while
    _build_with reads, completes and plans the posts, executes and writes them."""
    record = uptodate.record_for(options.cache, options.out)
    inputs = uptodate.package_digest({name: environment(name) for name in BACKENDS})
    digest = uptodate.fingerprint(
        options.posts,
        {
            "out": options.out.resolve(),
            "snippets": options.snippets.resolve(),
            "keep_going": options.keep_going,
            "drafts": options.drafts,
            "timeout": options.timeout,
            "backends": options.backends,
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
    backends = options.backends or settings.backends
    missing = _not_installed(backends)
    if missing:
        where = Path("--backends") if options.backends else options.pyproject
        progress.diagnostic(Diagnostic(where, 0, "error", missing))
        return BAD_INPUT
    # what every component's key shares, per backend: the primary one first
    shared = {name: environment(name) for name in backends}

    timings = Cache(options.cache).timings()
    own = kernels is None
    if own:
        try:
            kernels = _start_kernels(options, settings, progress.report, timings, backends)
        except BadInput as error:
            progress.report(str(error.diagnostic))
            return BAD_INPUT
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


def _not_installed(backends: tuple[str, ...]) -> str:
    """Why a requested backend cannot run here, or ""."""
    from .cache import package_version

    for name in backends:
        for package in BACKEND_PACKAGES[name]:
            if package_version(package) == "not installed":
                return (
                    f"the {BACKENDS[name]} backend needs {package}, which is not installed: "
                    f"pip install 'kernelblog[{name}]'"
                )
    return ""


def _start_kernels(
    options: Options,
    settings: Settings,
    report: Callable[[str], None],
    timings: dict,
    backends: tuple[str, ...] = ("tensorflow",),
) -> Kernels:
    """The build's own kernels, none started yet; BadInput when their sandbox cannot be had."""
    from .isolation import remove_stale_runtimes  # loads psutil: not for a build with nothing to do
    from .kernels import GIB, KERNEL_MEMORY, Kernels

    isolation = _isolation(options, settings, report)
    remove_stale_runtimes()  # connection files and sockets of builds that were killed
    return Kernels(
        options.jobs,
        int(options.memory * GIB) if options.memory else None,
        options.fresh_kernels,
        expected=int(timings.get("kernel_peak") or KERNEL_MEMORY),
        isolation=isolation,
        backends=backends,
    )


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


def _cold(options: Options) -> bool:
    """Whether the build will likely execute something: --force, or no cache entries yet."""
    return options.force or not any(Path(options.cache).glob("*/manifest.json"))


def _warm_code(posts: Path) -> str:
    """`import keras` when a post seems to use it (read cheaply, before completion)."""
    keras = re.compile(r"\b(keras|tensorflow|Sequential|Dense|Conv[123]D|layers\.)")
    for path in list_posts(posts).posts:
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
    environments: dict[str, dict],
    remembered: tuple,
    settings: Settings,
    noted: list[Diagnostic],
) -> int:
    """The build once its kernels are set, stage by stage; `environments`: what the keys of each
    backend's components share, the primary backend first; `remembered` is what
    uptodate.remember records of a successful build: the record's path, the build's fingerprint
    and its posts' code digest; `noted`: the warnings about the settings, reported already."""
    backends = tuple(environments)
    shared, *_ = environments.values()
    others = {name: environments[name] for name in backends[1:]}
    # Read, complete and plan every post.
    found: list[Diagnostic] = []
    try:
        ready = ready_all(options.posts, found.append, reuse, settings)
        _check_out(options)
    except BadInput as error:
        for diagnostic in found:  # files named like posts that were not read, each post's
            progress.diagnostic(diagnostic)
        progress.diagnostic(error.diagnostic)
        return BAD_INPUT
    if not options.drafts:  # left out of everything the build does
        drafts = {done.post.post.path for done in ready if done.post.post.meta.draft}
        ready = [done for done in ready if done.post.post.path not in drafts]
        found = [diagnostic for diagnostic in found if diagnostic.path not in drafts]
    cache = Cache(options.cache)
    share: set[str] | None = None
    if options.shard:  # this shard's share of the components, and the diagnostics of its posts
        share = _share(options, ready, cache, shared, progress, others, backends[0])
        failed = _report_shard_diagnostics(options, ready, found, progress)
        if not options.keep_going and not all(done.post.ok for done in ready):
            if not failed:
                progress.report(
                    f"shard {options.shard}: nothing executed: "
                    "a post has errors (another shard reports them)"
                )
            return SNIPPET_FAILED  # as a build without --keep-going
        ready = [done for done in ready if _units(done, backends) & share]
    else:
        for diagnostic in found:
            progress.diagnostic(diagnostic)
        failed = not all(done.post.ok for done in ready)
        if failed and not options.keep_going:
            return SNIPPET_FAILED  # found before any kernel started

    # Execute: each component from the cache, or on the kernels.
    runs = _Runs(options, progress, cache, reuse, settings, share, backends)
    for done in ready:
        runs.add(done, shared, others)
    failed = runs.execute(kernels, timings, own) or failed
    runs.add_backends()
    if failed and not options.keep_going:
        return SNIPPET_FAILED  # the failures are what it says
    runs.report_counts(kernels)
    if options.check or options.shard:
        return SNIPPET_FAILED if failed else OK

    # Render and write the site and the snippets.
    completed = [done.post for done in ready]
    warnings = list(noted)  # about the settings
    warnings += [d for post in completed for d in post.diagnostics if d.severity == "warning"]
    read = {post.post.path for post in completed}
    warnings += [d for d in found if d.path not in read]  # entries named like posts, not read
    warnings += runs.warnings  # outputs cut

    def report_page(warning: Diagnostic) -> None:  # outputs left off a page
        warnings.append(warning)
        progress.diagnostic(warning)

    snippets = {done.post.post.slug: done.snippet for done in ready}
    notebooks = {done.post.post.slug: done.notebook for done in ready}
    from .search import IndexFailed

    try:
        write_all(
            options,
            completed,
            runs.executed,
            settings,
            report_page,
            reuse,
            snippets,
            runs.kept,
            notebooks,
        )
    except IndexFailed as error:  # the previous site is left as it was
        progress.diagnostic(Diagnostic(options.out, 0, "error", str(error)))
        return BAD_INPUT
    progress.report(f"wrote {len(completed)} posts to {options.out}/ and {options.snippets}/")
    if failed:
        return SNIPPET_FAILED
    reuse.prune()
    record, digest, code = remembered
    uptodate.remember(record, digest, code, options.out, options.snippets, warnings)
    return OK


class Pending(NamedTuple):  # defined at every start: a tenth of the cost of a dataclass
    """A component the cache lacks, to run on a kernel; its notebook shares the post's cells."""

    post: CompletedPost
    number: int
    key: str  # of its cache entry
    notebook: NotebookNode
    backend: str = "tensorflow"

    @property
    def unit(self) -> str:
        return _unit(self.post, self.number, self.backend)


@dataclass
class PostRun:
    """A post whose components come in one by one, from the cache or from a kernel, each by
    one of the events below; each event returns whether it brought the post's last component."""

    post: CompletedPost
    notebook: NotebookNode  # the post's: each component's outputs land on its cells
    left: int  # components not in yet
    failures: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0  # the sum of its components' runs, cached or not
    executed_at: str = ""  # its newest component's
    all_cached: bool = True  # no component ran, was skipped or failed in this build
    cached_cells: int = 0
    stamps: list[tuple[str, str]] = field(default_factory=list)  # restored: (key, sha256)
    backend: str = "tensorflow"  # the Keras backend its components run on
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def restored(self, key: str, entry: Entry | Stamp, cells: int) -> bool:
        """The component's outputs came from its cache entry."""
        with self.lock:
            self.cached_cells += cells
            self.stamps.append((key, entry.sha256))
            return self._in(entry.seconds, entry.executed_at)

    def left_to_another_shard(self) -> bool:
        """With --shard: another shard executes the component."""
        with self.lock:
            return self._in()

    def ran(self, result: ComponentRun) -> bool:
        """The component ran on a kernel, through or with failures."""
        with self.lock:
            self.all_cached = False
            self.failures += result.failures
            return self._in(result.seconds, result.executed_at)

    def skipped_after_failure(self) -> bool:
        """The component did not run: an earlier one failed, and --keep-going is off."""
        with self.lock:
            self.all_cached = False
            return self._in()

    def failed_to_start(self, failure: Diagnostic) -> bool:
        """No kernel could run the component, or running it raised."""
        with self.lock:
            self.all_cached = False
            self.failures.append(failure)
            return self._in()

    def _in(self, seconds: float = 0.0, executed_at: str = "") -> bool:
        self.left -= 1
        self.seconds += seconds
        self.executed_at = max(self.executed_at, executed_at)
        return not self.left

    def executed(self) -> ExecutedPost:
        """The post with every component's outputs; its first failure by line, if any."""
        from .execute import ExecutedPost

        failures = sorted(self.failures, key=lambda d: d.line)
        return ExecutedPost(
            self.notebook,
            failures[0] if failures else None,
            self.seconds,
            self.executed_at,
            self.all_cached,
            failures,
            tuple(self.stamps) if self.all_cached and self.stamps else None,
        )


@dataclass
class Counts:
    """How many components, and their cells, were executed and restored from the cache."""

    executed: int = 0
    executed_cells: int = 0
    cached: int = 0
    cached_cells: int = 0

    def __str__(self) -> str:
        return (
            f"components: {self.executed} executed ({self.executed_cells} cells), "
            f"{self.cached} from the cache ({self.cached_cells} cells)"
        )


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
        share: set[str] | None = None,
        backends: tuple[str, ...] = ("tensorflow",),
    ):
        self.options, self.progress, self.cache = options, progress, cache
        self.reuse, self.site = reuse or Reuse(None, ""), site or Settings()
        self.share = share  # with --shard: the units this shard runs
        self.backends, self.primary = backends, backends[0]  # the primary's outputs are the page's
        self.posts: dict[tuple[str, str], PostRun] = {}  # (slug, backend) -> its components so far
        self.others: dict[str, dict[str, BackendRun]] = {}  # slug -> how it ran on each other one
        self.pending: list[Pending] = []
        self.executed: dict[str, ExecutedPost] = {}  # slug -> the post, all of its components in
        self.kept: dict[str, tuple] = {}  # slug -> its page and downloads (see _page_kept)
        self.counts = Counts()
        self.seconds: dict[str, float] = {}  # unit -> how long it ran now
        self.warnings: list[Diagnostic] = []  # cells whose output was cut
        self.lock = threading.Lock()  # for the counts and times: components run on threads

    def add(self, ready: Ready, shared: dict, others: dict[str, dict] | None = None) -> None:
        """Restore what the cache has of a post's components; the others are pending (with
        --shard, those of this shard's share; the others are left to the other shards). A post
        with errors found before running, and not run, is as it was completed. `shared`: what
        the keys of the primary backend's components share; `others`: the same for each other
        backend, whose runs are checked but not shown.

        A post whose every component is in the cache, and whose page is in the reuse store for
        those entries, needs none of its outputs: they are not read.
        """
        from .execute import ExecutedPost

        post = ready.post
        others = others or {}
        if not _runs(post, self.options):
            self.progress.add(post.post.path, ready.code_cells, "not run", self.backends)
            self.executed[post.post.slug] = ExecutedPost(post.notebook())
            return
        self.progress.add(post.post.path, ready.code_cells, backends=self.backends)
        if self._page_kept(ready, shared, others):
            return
        for backend, keyed in others.items():
            self._add_other(ready, backend, keyed)
        notebook = post.notebook()
        run = PostRun(post, notebook, len(post.components), backend=self.primary)
        self.posts[(post.post.slug, self.primary)] = run
        if not post.components:
            self._finish(run)
            return
        for number, key, sub in components(ready, notebook, shared):
            entry = None if self.options.force else self._from_cache(key, post, sub)
            if entry is not None:
                self.counts.cached += 1
                self.counts.cached_cells += len(sub.cells)
                last = run.restored(key, entry, len(sub.cells))
            elif self.share is None or _unit(post, number, self.primary) in self.share:
                self.pending.append(Pending(post, number, key, sub, self.primary))
                continue
            else:
                last = run.left_to_another_shard()
            if last:
                self._finish(run)

    def _add_other(self, ready: Ready, backend: str, shared: dict) -> None:
        """The post's components on a backend other than the primary: a cache entry's manifest
        says it passed (its outputs are not read); the others are pending, on their own copy of
        the post's notebook."""
        from .execute import component_notebook

        post = ready.post
        run = PostRun(post, None, len(post.components), backend=backend)
        self.posts[(post.post.slug, backend)] = run
        if not post.components:
            self._finish(run)
            return
        notebook = None
        for number, key, cells in component_keys(ready, shared):
            stamp = None if self.options.force else self._stamp(key, post)
            if stamp is not None:
                self.counts.cached += 1
                self.counts.cached_cells += cells
                last = run.restored(key, stamp, cells)
            elif self.share is None or _unit(post, number, backend) in self.share:
                notebook = notebook or post.notebook()
                sub = component_notebook(notebook, number)
                self.pending.append(Pending(post, number, key, sub, backend))
                continue
            else:
                last = run.left_to_another_shard()
            if last:
                self._finish(run)

    def _stamp(self, key: str, post: CompletedPost) -> Stamp | None:
        """The manifest of a component's entry; None (none, or a damaged one: a warning)."""
        try:
            return self.cache.stamp(key)
        except CorruptEntry as error:
            message = f"ignoring a damaged cache entry and executing again: {error}"
            self.progress.diagnostic(Diagnostic(post.post.path, 0, "warning", message))
            return None

    def add_backends(self) -> None:
        """Once every component is in: each executed post with how it ran on the other
        backends."""
        for slug, others in self.others.items():
            executed = self.executed.get(slug)
            if executed is not None:
                ran = tuple(others[name] for name in self.backends if name in others)
                executed.backends = executed.backends + ran

    def _page_kept(self, ready: Ready, shared: dict, others: dict[str, dict]) -> bool:
        """Whether the post's components are all in the cache and its page, rendered from those
        entries, is in the reuse store; if so, the post is done, its outputs unread."""
        from .execute import ExecutedPost

        post = ready.post
        if (
            self.options.force
            or self.options.check
            or self.share is not None
            or not post.components
        ):
            return False  # --check reads every output: a damaged entry runs again
        from .execute import BackendRun

        keys = component_keys(ready, shared)
        try:
            stamps = [self.cache.stamp(key) for _, key, _ in keys]
            elsewhere = {
                name: [self.cache.stamp(key) for _, key, _ in component_keys(ready, keyed)]
                for name, keyed in others.items()
            }
        except CorruptEntry:
            return False  # reported when the entry is loaded
        if None in stamps or any(None in each for each in elsewhere.values()):
            return False
        seconds = _total(stamp.seconds for stamp in stamps)
        executed = ExecutedPost(
            None,
            None,
            seconds,
            max(stamp.executed_at for stamp in stamps),
            True,
            [],
            tuple((key, stamp.sha256) for (_, key, _), stamp in zip(keys, stamps)),
            (BackendRun(self.primary, seconds),)
            + tuple(
                BackendRun(name, _total(stamp.seconds for stamp in each))
                for name, each in elsewhere.items()
            ),
        )
        kept = self.reuse.load("page", self.reuse.page_key(post, executed, self.site))
        if kept is None:
            return False
        self.kept[post.post.slug] = kept
        self.counts.cached += len(keys) * (1 + len(others))
        self.counts.cached_cells += sum(cells for _, _, cells in keys) * (1 + len(others))
        self.executed[post.post.slug] = executed
        self.progress.cached(post.post.path, executed.seconds, failed=not post.ok)
        return True

    def _from_cache(self, key: str, post: CompletedPost, sub) -> Entry | None:
        """The component's entry, its outputs put on its cells; None (a damaged one: a warning)."""
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

    def _finish(self, run: PostRun) -> None:
        """Every component of the post on one backend is in: it is executed there."""
        from .execute import BackendRun

        post = run.post
        executed = run.executed()
        ran = BackendRun(run.backend, executed.seconds, tuple(executed.failures))
        if run.backend == self.primary:
            executed.backends = (ran,)
            self.executed[post.post.slug] = executed
        else:
            with self.lock:
                self.others.setdefault(post.post.slug, {})[run.backend] = ran
        backend = None if run.backend == self.primary else run.backend
        if executed.cached:
            self.progress.cached(post.post.path, executed.seconds, not post.ok, backend)
        else:
            self.progress.finished(
                post.post.path,
                executed.seconds,
                executed.failures,
                run.cached_cells,
                failed=not post.ok,
                backend=backend,
            )

    def execute(self, kernels: Kernels, timings: dict, close: bool = True) -> bool:
        """Run the pending components, the longest first; return whether any failed."""
        if not self.pending:
            return False
        from .kernels import Job

        if any("keras" in pending.post.preamble for pending in self.pending):
            kernels.warm_code = "import keras"
        recorded = timings.get("components", {})
        jobs = [
            Job(
                _cost(pending, recorded),
                self._runner(pending),
                self._failer(pending),
                pending.backend,
            )
            for pending in self.pending
        ]
        kernels.run(jobs)
        if close:
            kernels.close()  # their memory is free for rendering; their peaks are known
        if not self.options.shard:  # a shard writes only entries, named by their keys, so
            with contextlib.suppress(OSError):  # caches merge by copying
                self.cache.record_timings(self.seconds, max(kernels.all_peaks(), default=0))
        return any(run.failures for run in self.posts.values())

    def _runner(self, pending: Pending) -> Callable:
        from .execute import execute_component

        post, sub = pending.post, pending.notebook
        run, path = self.posts[(post.post.slug, pending.backend)], post.post.path
        primary = pending.backend == self.primary  # the live display follows its cells
        code = (
            [cell for cell in sub.cells if cell.cell_type == "code"]
            if not primary
            else [cell for cell in run.notebook.cells if cell.cell_type == "code"]
        )
        position = {id(cell): k for k, cell in enumerate(code, start=1)}

        def execute_on(kernel) -> None:
            if run.failures and not self.options.keep_going:
                if run.skipped_after_failure():  # the post stops at its first failure
                    self._finish(run)
                return
            if primary:
                self.progress.running(path, 0, len(code))
            result = execute_component(
                kernel,
                path,
                sub,
                self.options.timeout,
                self.options.keep_going,
                (lambda cell: self.progress.running(path, position[id(cell)], len(code)))
                if primary
                else None,
                post.post.files,
                pending.backend,
            )
            if not primary:
                result.failures = [_on(pending.backend, d) for d in result.failures]
            for warning in result.warnings:
                self.progress.diagnostic(warning)
                self.warnings.append(warning)
            with self.lock:
                self.counts.executed += 1
                self.counts.executed_cells += len(sub.cells)
                self.seconds[pending.unit] = result.seconds
            if not result.failures:
                try:
                    self.cache.store(
                        pending.key,
                        post.post.slug,
                        sub,
                        result.executed_at,
                        result.seconds,
                        pending.unit,
                    )
                except OSError as error:
                    message = f"could not cache the outputs: {error}"
                    self.progress.diagnostic(Diagnostic(self.options.cache, 0, "warning", message))
            if run.ran(result):
                self._finish(run)

        return execute_on

    def _failer(self, pending: Pending) -> Callable:
        run = self.posts[(pending.post.post.slug, pending.backend)]

        def fail(error: Exception) -> None:  # the kernel could not start, or nbclient failed
            from .kernels import KernelFailed

            message = f"could not execute the post: {error!r}"
            if isinstance(error, KernelFailed):  # a message of its own, in words
                message = f"could not execute the post: {error}"
            # at the component's first line of code
            post, component = pending.post, pending.post.components[pending.number]
            cells = [post.cells[number].cell for number in component.cells]
            line = next((cell.line + 1 for cell in cells if cell.kind == "code"), 1)
            failure = Diagnostic(post.post.path, line, "error", message)
            if pending.backend != self.primary:
                failure = _on(pending.backend, failure)
            if run.failed_to_start(failure):
                self._finish(run)

        return fail

    def report_counts(self, kernels: Kernels) -> None:
        """How many components and cells ran and came from the cache; the kernels' memory."""
        if not (self.counts.executed or self.counts.cached):
            return
        self.progress.report(str(self.counts))
        if kernels.all_peaks() and self.counts.executed:
            peaks = ", ".join(f"{peak / 2**30:.2f}" for peak in kernels.all_peaks())
            self.progress.report(
                f"kernels: {len(kernels.all_peaks())} used, peak memory {peaks} GiB "
                f"(budget {kernels.budget / 2**30:.1f} GiB for {kernels.limit} at once)"
            )


@dataclass(frozen=True)
class Ready:
    """A completed post and what the build derives from it alone, both kept in the reuse store."""

    post: CompletedPost
    snippet: str  # snippets/<slug>.py
    code_cells: int  # in its notebook, the components' setups included
    codes: tuple[
        tuple[int, str, int], ...
    ]  # each component's number, code digest (cache.code_digest) and cells
    notebook: str = ""  # snippets/<slug>.ipynb, which "Open in Colab" opens


def make_ready(post: CompletedPost, url: str = "") -> Ready:
    """The post with what the build derives from its completion alone; `url`: its page's."""
    from .cache import code_digest
    from .write import colab_notebook_text, snippet_text

    notebook = post.notebook()
    codes = tuple(
        (number, code_digest(sub, _options(post, sub)), len(sub.cells))
        for number, sub in _component_notebooks(post, notebook)
    )
    return Ready(
        post,
        snippet_text(post),
        sum(cell.cell_type == "code" for cell in notebook.cells),
        codes,
        colab_notebook_text(post, url),
    )


def _component_notebooks(post: CompletedPost, notebook):
    from .execute import component_notebook

    for component in post.components:
        yield component.number, component_notebook(notebook, component.number)


def _options(post: CompletedPost, sub) -> list[FenceOptions]:
    """The fence options of a component's code cells (none for its setup)."""
    from .cells import CellMeta
    from .fence import FenceOptions

    return [
        post.cells[meta.cell].cell.options if meta.role == "code" else FenceOptions()
        for meta in (CellMeta.of(cell) for cell in sub.cells)
    ]


def component_keys(ready: Ready, shared: dict) -> list[tuple[int, str, int]]:
    """Each component of the post: its number, its cache key and its number of cells."""
    # The slug is part of the key: an entry written for one post is never used for another.
    shared = dict(shared, post=ready.post.post.slug)
    files, keys = ready.post.post.files, []
    for number, code, cells in ready.codes:
        # the post's files the component's code names or imports, or all if it lists folders
        # (postfiles.py)
        component = ready.post.components[number]
        named = (
            files.named(component.paths, component.reads_all, component.modules) if files else {}
        )
        keys.append(
            (number, cache_key(code, dict(shared, files=named) if named else shared), cells)
        )
    return keys


def components(ready: Ready, notebook, shared: dict):
    """Each component of the post: its number, its cache key and its notebook."""
    keys = component_keys(ready, shared)
    for (number, key, _), (_, sub) in zip(keys, _component_notebooks(ready.post, notebook)):
        yield number, key, sub


def _runs(post: CompletedPost, options: Options) -> bool:
    """Whether the build executes the post: it has no error, or --keep-going runs the rest."""
    return post.ok or (options.keep_going and post.runnable)


def _unit(post: CompletedPost, number: int, backend: str = "tensorflow") -> str:
    """A component's name on a backend, in the recorded timings, its cache entries' manifests
    and the shards' split: `slug/number`, then `@backend` but for TensorFlow (as before there
    were backends to choose)."""
    return f"{post.post.slug}/{number}" + ("" if backend == "tensorflow" else f"@{backend}")


def _units(ready: Ready, backends: tuple[str, ...] = ("tensorflow",)) -> set[str]:
    """The units of the post's components, on each backend."""
    return {_unit(ready.post, number, name) for number, _, _ in ready.codes for name in backends}


def _cost(pending: Pending, recorded: dict[str, float]) -> float:
    """A unit's expected seconds, to start the longest first: what it took last time, else what
    the component took on TensorFlow (a backend costs about the same), else an estimate from its
    code (a cold build)."""
    from .shard import code_seconds

    for unit in (pending.unit, _unit(pending.post, pending.number)):
        if unit in recorded:
            return recorded[unit]
    return code_seconds([cell.source for cell in pending.notebook.cells])


def _on(backend: str, failure: Diagnostic) -> Diagnostic:
    """A failure on a backend other than the primary one: its message names the backend."""
    return dataclasses.replace(failure, message=f"[{backend}] {failure.message}")


def _total(seconds) -> float:
    """Seconds summed in order from 0.0, as PostRun sums its components'."""
    total = 0.0
    for each in seconds:
        total += each
    return total


def _share(
    options: Options,
    ready: list[Ready],
    cache: Cache,
    shared: dict,
    progress: Progress,
    others: dict[str, dict] | None = None,
    primary: str = "tensorflow",
) -> set[str]:
    """With --shard K/N: the units this shard executes or restores, reported in a line.

    The units of work are the components not in the cache, each with its estimated cost (see
    shard.py); every shard computes the same split from the same posts and cache.
    """
    shard = options.shard
    cells, cached = {}, []
    for done in ready:
        if not _runs(done.post, options):
            continue
        for backend, keyed in {primary: shared, **(others or {})}.items():
            for number, key, count in component_keys(done, keyed):
                unit = _unit(done.post, number, backend)
                cells[unit] = count
                with contextlib.suppress(CorruptEntry):  # a damaged entry runs again
                    if not options.force and cache.load(key) is not None:
                        cached.append(unit)
    costs = estimate(cells, cache.recorded_seconds(), cached)
    share = set(assign(costs.items(), shard.count)[shard.index - 1])
    work = [unit for unit in share if unit not in cached]
    progress.report(
        f"shard {shard}: {len(work)} of {len(cells) - len(cached)} components to execute, about "
        f"{sum(costs[unit] for unit in work):.0f} of {sum(costs.values()):.0f} s"
    )
    return share


def _report_shard_diagnostics(
    options: Options, ready: list[Ready], found: list[Diagnostic], progress: Progress
) -> bool:
    """With --shard K/N: report the diagnostics of this shard's posts (each post's are reported
    by one shard, in turn by the posts' order) and those of no post; return whether one of its
    posts failed before running."""
    shard = options.shard
    completed = [done.post for done in ready]
    reporting = {
        post.post.path
        for number, post in enumerate(completed)
        if number % shard.count == shard.index - 1
    }
    posts = {post.post.path for post in completed}
    for diagnostic in found:
        if diagnostic.path in reporting or diagnostic.path not in posts:
            progress.diagnostic(diagnostic)
    return any(not post.ok for post in completed if post.post.path in reporting)


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
    listing = list_posts(folder)
    for problem in listing.problems:  # an entry named like a post that is not read
        if problem.severity == "error":
            raise BadInput(problem)
        report(problem)
    paths = list(listing.posts)
    if not paths:
        raise BadInput(
            Diagnostic(folder, 0, "error", "no posts (*.md or <slug>/index.md) in this folder")
        )
    reuse = reuse or Reuse(None, "")
    pyproject = settings_file(folder)
    settings = settings or load_settings(pyproject)
    data = [
        read_bytes(path) for path in paths
    ]  # read once: what is keyed is completed (None: read_post says why)
    listed: dict[Path, PostFiles] = {}  # the flat posts share the posts folder's files

    def files_of(path: Path) -> PostFiles:
        if path.name == INDEX:
            return post_files(path, settings.post_files_cap)
        if path.parent not in listed:
            listed[path.parent] = post_files(path, settings.post_files_cap)
        return listed[path.parent]

    files = [files_of(path) for path in paths]
    keys = [
        reuse.completion_key(path, content, pyproject, brought.digest())
        for path, content, brought in zip(paths, data, files)
    ]
    completed = [reuse.load("completed", key) for key in keys]
    missing = [k for k, done in enumerate(completed) if done is None]
    if missing:  # read and complete these (the libraries load only now)
        from .complete import complete_post
        from .keras_index import build_index
        from .plan import plan_post
        from .read import read_post
        from .write import download_problems

        read = {k: read_post(paths[k], data[k], files[k]) for k in missing}
        index, aliases = build_index(), settings.aliases
        for k in missing:
            done = plan_post(complete_post(read[k], index, aliases))
            problems = download_problems(done)  # its modules cannot be copied into downloads
            done = dataclasses.replace(done, diagnostics=done.diagnostics + problems)
            completed[k] = make_ready(done, page_url(settings, done.post.slug))
            reuse.save("completed", keys[k], completed[k])
    _unique_slugs([done.post.post for done in completed])
    _distinct_tags([done.post.post for done in completed])
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


def _distinct_tags(posts: list) -> None:
    """Two tags whose pages would be one ("C++" and "C#": tags/c/) are an error naming both."""
    from .layout import tag_slug

    seen: dict[str, tuple[str, Path, int]] = {}
    for post in posts:
        for tag in post.meta.tags:
            slug = tag_slug(tag)
            first, path, line = seen.setdefault(slug, (tag, post.path, post.meta.tags_line))
            if first != tag:
                raise BadInput(
                    Diagnostic(
                        post.path,
                        post.meta.tags_line,
                        "error",
                        f"tag {tag!r} would share the page tags/{slug}/ with tag {first!r} "
                        f"({path}:{line}): write them alike, or rename one",
                    )
                )


def write_all(
    options: Options,
    completed: list[CompletedPost],
    executed: dict,
    settings: Settings | None = None,
    report: Callable[[Diagnostic], None] = lambda warning: None,
    reuse: Reuse | None = None,
    snippets: dict[str, str] | None = None,
    kept: dict[str, tuple] | None = None,
    notebooks: dict[str, str] | None = None,
) -> None:
    """Render every page (those rendered before as they are now, from `reuse`; `kept`, by slug,
    for posts whose outputs were not read) and write the site and the snippets (slug -> text of
    the script, and of the notebook in `notebooks`, made here if not given); report outputs left
    off a page."""
    from .search import index_site
    from .site import site_files
    from .write import colab_notebook_text, snippet_text, write_site, write_snippets

    settings = settings or load_settings(options.pyproject)
    if snippets is None:
        snippets = {post.post.slug: snippet_text(post) for post in completed}
    if notebooks is None:
        notebooks = {
            post.post.slug: colab_notebook_text(post, page_url(settings, post.post.slug))
            for post in completed
        }
    files = site_files(settings, completed, executed, report, reuse, kept)
    files[SITE_MARKER] = (
        b"Written by kernelblog's build (python build.py), which replaces this folder whole.\n"
    )
    write_site(options.out, files, index_site)
    write_snippets(options.snippets, snippets, notebooks)


def page_url(settings: Settings, slug: str) -> str:
    """The absolute URL of the post's page."""
    from .layout import post_page, url_path

    return settings.url(url_path(post_page(slug)))
