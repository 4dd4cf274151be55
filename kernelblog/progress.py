"""What the build tells while it runs: a live display on a terminal, plain lines elsewhere."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import Diagnostic


@dataclass
class Row:
    """One post's state: waiting, cached, running (cell 0: its kernel starts), executed, failed or
    not run."""

    path: Path
    cells: int
    state: str = "waiting"
    cell: int = 0
    started: float = 0.0
    seconds: float = 0.0
    # on each backend but the primary one (whose state is the row's): (state, seconds)
    others: dict[str, tuple[str, float]] = field(default_factory=dict)

    def result(self, backend: str | None = None) -> str:
        """`state seconds` on a backend (the primary one: None), or the state alone."""
        state, seconds = (self.state, self.seconds) if backend is None else self.others[backend]
        done = state in ("executed", "cached", "failed")
        return f"{state} {seconds:.1f}" if done else state


class Progress:
    """Plain lines through `report`: each diagnostic, each post as it completes, then a summary.

    With `github`, each diagnostic is followed by its GitHub Actions annotation (a workflow
    command).
    """

    def __init__(self, report: Callable[[str], None], github: bool = False):
        self.report = report
        self.github = github
        self.rows: dict[Path, Row] = {}
        self.primary = "result"  # the result column's name: the primary backend's, with others
        self.diagnostics: list[Diagnostic] = []
        self.lock = threading.Lock()  # posts finish on worker threads

    def diagnostic(self, diagnostic: Diagnostic) -> None:
        """A problem at a line of a post: `path:line: error: message`, then its annotation on
        GitHub."""
        with self.lock:
            self.diagnostics.append(diagnostic)
        self.report(str(diagnostic))
        if self.github:
            self.report(diagnostic.workflow_command())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def add(
        self, path: Path, cells: int, state: str = "waiting", backends: tuple[str, ...] = ()
    ) -> None:
        """A post to build, on `backends` (the first, primary one's state is the row's)."""
        if len(backends) > 1:
            self.primary = backends[0]
        self.rows[path] = Row(
            path, cells, state, others={name: (state, 0.0) for name in backends[1:]}
        )

    def cached(
        self, path: Path, seconds: float, failed: bool = False, backend: str | None = None
    ) -> None:
        """Every cell of a post came from the cache (on `backend`, if not the primary one);
        `failed`: it has errors found before it ran."""
        row = self.rows[path]
        state = "failed" if failed else "cached"
        if backend is None:
            row.state, row.seconds = state, seconds
        else:
            row.others[backend] = (state, seconds)
        on = f" [{backend}]" if backend else ""
        self.status(f"{path}:{on} {row.cells} cells cached (they ran in {seconds:.1f} s)")

    def running(self, path: Path, cell: int, cells: int) -> None:
        with self.lock:
            row = self.rows[path]
            if row.state != "running":
                row.state, row.started = "running", time.monotonic()
            row.cell, row.cells = cell, cells

    def finished(
        self,
        path: Path,
        seconds: float,
        failures=(),
        cached: int = 0,
        failed: bool = False,
        backend: str | None = None,
    ) -> None:
        """A post ran (on `backend`, if not the primary one): through, or with these diagnostics;
        `cached` of its cells came from the cache; `failed`: it has errors found before running
        (reported already), under --keep-going."""
        state = "failed" if failures or failed else "executed"
        with self.lock:
            row = self.rows[path]
            if backend is None:
                row.state, row.seconds = state, seconds
            else:
                row.others[backend] = (state, seconds)
        for failure in failures:
            self.diagnostic(failure)
        if not failures:
            also = f" ({cached} more from the cache)" if cached else ""
            on = f" [{backend}]" if backend else ""
            self.status(f"{path}:{on} ran {row.cells - cached} cells in {seconds:.1f} s{also}")

    def status(self, line: str) -> None:
        """A post's result, as a line (the live display shows it in its table instead)."""
        self.report(line)

    def summary(self) -> None:
        """A table: post, cells, executed or cached, seconds; with several backends, a column
        per other backend: its result and seconds."""
        if not self.rows:
            return
        width = max(len(str(path)) for path in self.rows)
        others = self._others()
        extra = "".join(f"  {name:<14}" for name in others).rstrip()
        self.report(f"{'post':<{width}}  cells  {self.primary:<8}  seconds{extra}")
        for row in self.rows.values():
            seconds = (
                f"{row.seconds:7.1f}"
                if row.state in ("executed", "cached", "failed")
                else "      -"
            )
            extra = "".join(f"  {row.result(name):<14}" for name in others).rstrip()
            self.report(
                f"{str(row.path):<{width}}  {row.cells:5d}  {row.state:<8}  {seconds}{extra}"
            )

    def _others(self) -> list[str]:
        """The backends of the build but the primary one, in order."""
        return list(dict.fromkeys(name for row in self.rows.values() for name in row.others))

    def job_summary(self, title: str) -> None:
        """Append the summary, as Markdown, to the GitHub Actions job summary, if there is one."""
        path = os.environ.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        try:
            with open(path, "a", encoding="utf-8") as summary:
                summary.write(self.markdown(title))
        except OSError as error:
            message = f"could not write the job summary: {error.strerror or error}"
            self.diagnostic(Diagnostic(Path(path), 0, "warning", message))

    def markdown(self, title: str) -> str:
        """The summary as Markdown, for a GitHub Actions job summary: the table, then the errors."""
        lines = [f"## {title}", ""]
        if self.rows:
            others = self._others()
            lines += [
                f"| post | cells | {self.primary} | seconds |"
                + "".join(f" {name} |" for name in others),
                "| --- | ---: | --- | ---: |" + " --- |" * len(others),
            ]
            for row in self.rows.values():
                seconds = (
                    f"{row.seconds:.1f}" if row.state in ("executed", "cached", "failed") else "-"
                )
                lines.append(
                    f"| `{_cell(str(row.path))}` | {row.cells} | {row.state} | {seconds} |"
                    + "".join(f" {row.result(name)} |" for name in others)
                )
            lines.append("")
        errors = [d for d in self.diagnostics if d.severity == "error"]
        warnings = len(self.diagnostics) - len(errors)
        lines.append(
            f"{len(errors)} error{'s' * (len(errors) != 1)}, "
            f"{warnings} warning{'s' * (warnings != 1)}"
        )
        lines += [""] + [f"- `{_cell(str(d))}`" for d in errors] if errors else []
        return "\n".join(lines) + "\n"


class LiveProgress(Progress):
    """A rich live display on a terminal: each post's state and time, redrawn as it changes."""

    def __init__(self):
        from rich.console import Console  # only a terminal needs rich

        self.console = Console(stderr=True, highlight=False)
        super().__init__(lambda line: self.console.print(line, markup=False))
        self.live = None

    def __enter__(self) -> LiveProgress:
        from rich.live import Live

        self.live = Live(
            get_renderable=self._table, console=self.console, refresh_per_second=8, transient=True
        )
        self.live.start()
        return self

    def __exit__(self, *exc) -> None:
        self.live.stop()

    def status(self, line: str) -> None:
        pass  # the table shows each post's state

    def _table(self):
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, show_header=False, pad_edge=False)
        now = time.monotonic()
        with self.lock:
            for row in self.rows.values():
                if row.state == "running":
                    doing = (
                        f"running cell {row.cell} of {row.cells}"
                        if row.cell
                        else "starting a kernel"
                    )
                    state, seconds = Text(doing, "yellow"), now - row.started
                else:
                    state, seconds = Text(row.state, STYLES.get(row.state, "")), row.seconds
                shown = (
                    f"{seconds:.1f} s"
                    if row.state in ("running", "executed", "cached", "failed")
                    else ""
                )
                table.add_row(Text(str(row.path)), state, Text(shown))
        return table

    def summary(self) -> None:
        from rich.table import Table
        from rich.text import Text

        if not self.rows:
            return
        others = self._others()
        table = Table("post", "cells", self.primary, "seconds", *others)
        for row in self.rows.values():
            seconds = f"{row.seconds:.1f}" if row.state in ("executed", "cached", "failed") else "-"
            table.add_row(
                Text(str(row.path)),
                str(row.cells),
                Text(row.state, STYLES.get(row.state, "")),
                seconds,
                *(Text(row.result(name), STYLES.get(row.others[name][0], "")) for name in others),
            )
        self.console.print(table)


def _cell(text: str) -> str:
    """Text for a Markdown table cell in backticks: one line, no backtick or pipe to end it."""
    return " ".join(text.split()).replace("`", "'").replace("|", "\\|")


STYLES = {
    "cached": "cyan",
    "executed": "green",
    "failed": "red",
    "not run": "dim",
    "waiting": "dim",
}


def progress_for(report: Callable[[str], None] | None, github: bool = False) -> Progress:
    """Live progress when the build reports to a terminal, plain lines otherwise (and always
    plain lines with GitHub annotations, which must stay whole)."""
    if report is None:
        if sys.stderr.isatty() and not github:
            return LiveProgress()
        return Progress(lambda line: print(line, file=sys.stderr, flush=True), github)
    return Progress(report, github)
