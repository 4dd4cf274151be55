"""Live preview: build, serve the site on localhost, rebuild on a change and reload the page."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path

from .settings import PACKAGE, PORT, TEMPLATES, Options, Settings, load_settings

EVENTS = "/__kernelblog__/events"
# Added to every HTML page served, never written to the site: reload when a rebuild lands.
RELOAD = (
    f'<script>new EventSource("{EVENTS}")'
    '.addEventListener("reload", () => location.reload());</script>'
).encode()


class Builds:
    """How many rebuilds have landed; the event streams wait on it."""

    def __init__(self):
        self.count = 0
        self.changed = threading.Condition()

    def landed(self) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the site folder, with the reload script in HTML pages and an event stream."""

    builds: Builds

    def do_GET(self) -> None:
        if self.path == EVENTS:
            return self._events()
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            if not self.path.split("?")[0].endswith("/"):
                return super().do_GET()  # redirects to the folder's URL with a slash
            path = path / "index.html"
        if path.suffix != ".html" or not path.is_file():
            return super().do_GET()
        body = path.read_bytes().replace(b"</body>", RELOAD + b"</body>", 1)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)
        return None

    def _events(self) -> None:
        """Server-sent events: one `reload` each time a rebuild lands."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        seen = self.builds.count
        try:
            self.wfile.write(b": connected\n\n")
            self.wfile.flush()
            while True:
                with self.builds.changed:
                    self.builds.changed.wait_for(lambda: self.builds.count != seen, timeout=15)
                if self.builds.count != seen:
                    seen = self.builds.count
                    self.wfile.write(f"event: reload\ndata: {seen}\n\n".encode())
                else:
                    self.wfile.write(b": still here\n\n")  # finds out when the page has gone
                self.wfile.flush()
        except OSError:
            pass  # the page closed or reloaded

    def log_message(self, format, *args) -> None:
        pass  # the build's own lines are what matters


def rebuild(options: Options, script: Path | None) -> int:
    """Build in a fresh process of `script` (build.py; None: `python -m kernelblog build`), so
    that edits to the package take effect; return its status."""
    command = [
        sys.executable,
        *([str(script)] if script else ["-m", "kernelblog", "build"]),
        *dataclasses.replace(options, keep_going=True, check=False, drafts=True).argv(),
    ]
    return subprocess.run(command).returncode


def watched(options: Options) -> list[Path]:
    """What a rebuild depends on: the posts, their settings (pyproject.toml), the templates and the
    package (the dataset library in it)."""
    return [
        path
        for path in (Path(options.posts), options.pyproject, TEMPLATES, PACKAGE)
        if path.exists()
    ]


class Warm:
    """Kernels kept between rebuilds, keras imported, waiting for the next save; builds of edited
    posts run in this process on them. An edit to the package, the templates or the settings
    rebuilds in a fresh process instead (so the edit takes effect), and starts fresh kernels."""

    def __init__(self, options: Options, script: Path | None):
        self.options, self.script = options, script
        self.kernels = None

    def start(self) -> None:
        from .diagnostics import BadInput
        from .kernels import GIB, Kernels
        from .pipeline import _isolation, _warm_code

        budget = int(self.options.memory * GIB) if self.options.memory else None
        try:
            settings = load_settings(self.options.pyproject)
        except BadInput:
            settings = Settings()  # the build reports the bad setting
        try:
            isolation = _isolation(
                self.options, settings, lambda line: print(line, file=sys.stderr)
            )
        except BadInput as error:  # --isolation required without bwrap
            print(error.diagnostic, file=sys.stderr)
            raise SystemExit(2) from None
        self.kernels = Kernels(
            self.options.jobs, budget, warm=_warm_code(self.options.posts), isolation=isolation
        )
        self.kernels.warm(1)

    def build(self) -> int:
        from .pipeline import build

        if self.kernels is None:
            self.start()
        return build(
            dataclasses.replace(self.options, keep_going=True, check=False, drafts=True),
            kernels=self.kernels,
        )

    def restart(self) -> int:
        """Stop the kernels, rebuild in a fresh process, start new kernels."""
        self.close()
        status = rebuild(self.options, self.script)
        self.start()
        return status

    def close(self) -> None:
        if self.kernels is not None:
            self.kernels.stop()
            self.kernels.close()
            self.kernels = None


def serve(
    options: Options,
    port: int = PORT,
    stop: threading.Event | None = None,
    script: Path | None = None,
) -> int:
    """Build, serve `options.out` on localhost and rebuild on each change until interrupted; an
    edit to the package rebuilds with `script` (by default `python -m kernelblog build`)."""
    from watchfiles import DefaultFilter, watch

    stop = stop or threading.Event()
    warm = Warm(options, script)
    status = warm.build()
    if not Path(options.out).is_dir():
        print(f"{options.out}: error: the first build wrote no site", file=sys.stderr)
        warm.close()
        return status or 1
    builds = Builds()
    site_handler = type("SiteHandler", (Handler,), {"builds": builds})
    handler = functools.partial(site_handler, directory=str(Path(options.out).resolve()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(
        f"serving http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    threading.Thread(target=_announce_ready, args=(warm, stop), daemon=True).start()
    try:
        written = [
            Path(folder).resolve() for folder in (options.out, options.snippets, options.cache)
        ]
        default = DefaultFilter()

        def relevant(change, path: str) -> bool:  # not what the build itself writes
            return default(change, path) and not any(
                folder in Path(path).parents for folder in written
            )

        posts = Path(options.posts).resolve()
        for changes in watch(
            *watched(options),
            watch_filter=relevant,
            stop_event=stop,
            rust_timeout=500,
            debounce=100,
            step=20,
        ):
            names = sorted({Path(path).name for _, path in changes})
            print(f"changed: {', '.join(names)}; rebuilding", file=sys.stderr, flush=True)
            before = _site_identity(options.out)
            if all(Path(path).resolve().parent == posts for _, path in changes):
                if warm.build() >= 128:  # interrupted
                    break
            else:
                warm.restart()
            if (
                _site_identity(options.out) != before
            ):  # the build swaps in a new folder when it writes
                builds.landed()
    except KeyboardInterrupt:
        pass
    finally:
        warm.close()
        server.shutdown()
        server.server_close()
    return 0


def _announce_ready(warm: Warm, stop: threading.Event) -> None:
    """Say when the first warm kernel has started and imported what the posts use."""
    while not stop.is_set():
        kernels = warm.kernels  # new ones after a restart
        if kernels is None:
            stop.wait(0.5)
        elif kernels.ready.wait(0.5):
            print("kernel ready: the next save runs on it", file=sys.stderr, flush=True)
            return


def _site_identity(out: Path) -> tuple[int, int] | None:
    try:
        stat = Path(out).stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns
