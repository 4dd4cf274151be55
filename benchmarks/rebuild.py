"""Benchmark the build on this machine: python benchmarks/rebuild.py [--posts DIR] [--post SLUG]

Works on a copy of posts/ in a temporary folder, so the repository is left as it was. Prints: (a) a
cold build with --force; (b) the floor: the same posts' snippets run as plain scripts, one after
another; (c) a rebuild with nothing changed (median of three); (d) after a prose-only edit to one
post (median of three edits); (e) after a one-line code edit in that post; the peak memory of each
(the resident memory of the process and its children, kernels included, sampled every 20 ms); and
the completion stage alone (read and complete every post, in a process that has imported the
package; median of five processes).
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
RAN = re.compile(r"^(\S+): ran \d+ cells in ([\d.]+) s(?: \(\d+ more from the cache\))?$", re.M)
CACHED = re.compile(r"^(\S+): \d+ cells cached", re.M)
SCRIPT_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}


def measure(
    command: list[str], env: dict | None = None, cwd: Path = ROOT
) -> tuple[float, int, str]:
    """Run `command`; return its wall time, the peak memory of its process tree, and its stderr."""
    started = time.perf_counter()
    process = psutil.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peak, done = 0, threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            try:
                tree = [process, *process.children(recursive=True)]
                total = 0
                for member in tree:
                    try:
                        total += member.memory_info().rss
                    except psutil.Error:
                        pass
                peak = max(peak, total)
            except psutil.Error:
                pass
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed with status {process.returncode}:\n{stderr}")
    return seconds, peak, stderr


def build(work: Path, *extra: str) -> tuple[float, int, str]:
    return measure(
        [
            sys.executable,
            str(ROOT / "build.py"),
            "--posts",
            str(work / "posts"),
            "--out",
            str(work / "site"),
            "--snippets",
            str(work / "snippets"),
            "--cache",
            str(work / "cache"),
            *extra,
        ]
    )


def prose_edit(text: str, k: int = 0) -> str:
    """Add a sentence at the end of the post, which is prose."""
    return text.rstrip("\n") + f"\n\nSentence {k} added by the benchmark.\n"


def code_edit(text: str) -> str:
    """Add one line at the top of the post's last python snippet."""
    fences = list(re.finditer(r"^```python[^\n]*\n", text, re.M))
    if not fences:
        sys.exit("the post has no python snippet to edit")
    at = fences[-1].end()
    return text[:at] + "benchmark_edit = 1\n" + text[at:]


def executed(stderr: str) -> list[str]:
    return sorted(Path(path).stem for path, _ in RAN.findall(stderr))


def mib(size: int) -> str:
    return f"{size / 2**20:7.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--posts", type=Path, default=ROOT / "posts", help="the posts to build (posts/)"
    )
    parser.add_argument("--post", default="first-convnet", help="the post to edit in (d) and (e)")
    args = parser.parse_args()
    # The package byte-compiled, as Python leaves it after a first import wherever it may write
    # bytecode (this machine sets PYTHONDONTWRITEBYTECODE=1, so an edited module compiles at every
    # start).
    compileall.compile_dir(ROOT / "kernelblog", quiet=1)
    work = Path(tempfile.mkdtemp(prefix="kernelblog-bench-"))
    try:
        shutil.copytree(args.posts, work / "posts")
        post = work / "posts" / f"{args.post}.md"
        original = post.read_text(encoding="utf-8")
        names = ", ".join(path.stem for path in sorted(work.glob("posts/*.md")))
        print(f"benchmark on {os.cpu_count()} cores, posts: {names}; editing {args.post}")

        # The completion stage first, before any build's kernels and files are about.
        timed = (
            "import time; from pathlib import Path; from kernelblog.pipeline import complete_all;"
            # the stage's modules
            "import kernelblog.complete, kernelblog.read, kernelblog.keras_index;"
            f"t = time.perf_counter(); complete_all(Path({str(work / 'posts')!r}),"
            " lambda line: None);"
            "print(time.perf_counter() - t)"
        )
        stages = sorted(
            float(
                subprocess.run(
                    [sys.executable, "-c", timed],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            for _ in range(5)
        )  # each in a fresh process
        stage = stages[2]

        a = build(work, "--force")
        post_seconds = {Path(path).stem: float(s) for path, s in RAN.findall(a[2])}

        env = dict(
            os.environ,
            **SCRIPT_ENV,
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )
        b_seconds, b_peak = 0.0, 0
        for script in sorted((work / "snippets").glob("*.py")):
            seconds, peak, _ = measure(
                [sys.executable, str(script)], env, cwd=work
            )  # files they save go there
            b_seconds, b_peak = b_seconds + seconds, max(b_peak, peak)
        b = (b_seconds, b_peak)

        runs = sorted(build(work) for _ in range(3))  # short, so noisy on a shared machine
        c = (runs[1][0], max(run[1] for run in runs), runs[1][2])
        prose = []
        for k in range(3):  # three different prose edits, each built
            post.write_text(prose_edit(original, k), encoding="utf-8")
            prose.append(build(work))
        prose.sort()
        d = (prose[1][0], max(run[1] for run in prose), prose[1][2])
        post.write_text(code_edit(prose_edit(original, 2)), encoding="utf-8")
        e = build(work)

    finally:
        shutil.rmtree(work, ignore_errors=True)

    def ran(stderr: str) -> str:
        return "executed " + (", ".join(executed(stderr)) or "nothing")

    rows = [
        ("(a) cold build, --force", a[0], a[1], ran(a[2])),
        ("(b) snippets as plain scripts", b[0], b[1], "one after another"),
        ("(c) rebuild, nothing changed (median of 3)", c[0], c[1], ran(c[2])),
        ("(d) rebuild, prose edit (median of 3)", d[0], d[1], ran(d[2])),
        ("(e) rebuild, one-line code edit", e[0], e[1], ran(e[2])),
    ]
    for name, seconds, peak, note in rows:
        print(f"{name:<44} {seconds:8.2f} s  peak {mib(peak)}  {note}")
    print(
        f"{'completion stage alone':<44} {stage:8.3f} s  "
        "(read and complete every post, imports done; median of 5 processes)"
    )
    alone = post_seconds.get(args.post, float("nan"))
    checks = [
        ("(a) / (b)", a[0] / b[0], "<= 1.10", a[0] / b[0] <= 1.10),
        ("(c)", c[0], "<= 0.5 s", c[0] <= 0.5),
        ("(d)", d[0], "<= 1 s", d[0] <= 1.0),
        (
            f"((e) - (c)) / {args.post}'s execution in (a) ({alone:.1f} s)",
            (e[0] - c[0]) / alone,
            "about 1",
            executed(e[2]) == [args.post],
        ),
        ("completion stage", stage, "< 0.2 s", stage < 0.2),
    ]
    for name, value, target, met in checks:
        print(f"{name:<58} {value:7.2f}  target {target:<9} {'met' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
