"""Benchmark components: python benchmarks/components.py [--post FILE] [--blog N]

On a copy of a six-cell post covering five techniques, each section making its own data
(benchmarks/posts/five-techniques.md), measures side by side in one run, against the floor
(the same cells as one plain `python` script):
  cold builds with --jobs 1 and --jobs 2; two plain processes splitting the sections; one
  section alone as a plain script; a code edit to that section, then to the first technique,
  each rebuilt by one `python build.py`; the same edit under `serve` (save to new outputs on
  the page); a rebuild with nothing changed; the peak memory of each kernel.
With --blog N, also prose edits on a blog of N copies of a small post (cache warm). With
--backends tensorflow,jax, also a cold --jobs 2 build on those backends, against the floors of
each backend (the plain script with KERAS_BACKEND set) run one after the other.
Times are wall-clock seconds on this machine; ratios are from the same run. The floor and the
cold builds run in turn --repeats times (2), and each is the mean of its runs.
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
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRIPT_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
KERNELS = re.compile(r"^kernels: .*$", re.M)
COMPONENTS = re.compile(r"^components: .*$", re.M)


def env(backend: str | None = None) -> dict:
    return dict(
        os.environ,
        **SCRIPT_ENV,
        **({"KERAS_BACKEND": backend} if backend else {}),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )


def timed(command: list[str], cwd: Path, backend: str | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env(backend), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(
            f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    return seconds, done.stderr


def build(work: Path, *extra: str) -> tuple[float, str]:
    return timed(
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
        ],
        work,
    )


def scripts(posts: Path, work: Path) -> tuple[Path, list[Path]]:
    """The post as one plain script (the floor), and each component as a script of its own."""
    from kernelblog.pipeline import complete_all
    from kernelblog.write import snippet_text

    [post] = complete_all(posts, lambda line: None)
    whole = work / "whole.py"
    whole.write_text(snippet_text(post), encoding="utf-8")
    parts = []
    for component in post.components:
        code = [component.setup] + [
            post.cells[n].code for n in component.cells if post.cells[n].cell.kind == "code"
        ]
        part = work / f"section{component.number}.py"
        part.write_text("\n\n".join(code) + "\n", encoding="utf-8")
        parts.append(part)
    return whole, parts


def together(commands: list[list[str]], cwd: Path) -> float:
    """Wall time of commands run at once."""
    started = time.perf_counter()
    processes = [
        subprocess.Popen(c, cwd=cwd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for c in commands
    ]
    for process in processes:
        if process.wait() != 0:
            sys.exit(f"a plain script failed: {process.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - started


def edit_section(text: str, marker: str, old: str, new: str) -> str:
    """Replace `old` with `new` in the first snippet after `marker`."""
    at = text.index(marker)
    return text[:at] + text[at:].replace(old, new, 1)


def serve_edit(work: Path, post: Path, edited: str, expect: str) -> float:
    """Under `serve`: seconds from saving the edit to the page showing `expect`."""
    command = [
        sys.executable,
        str(ROOT / "build.py"),
        "serve",
        "--port",
        "0",
        "--posts",
        str(work / "posts"),
        "--out",
        str(work / "site"),
        "--snippets",
        str(work / "snippets"),
        "--cache",
        str(work / "cache"),
    ]
    server = subprocess.Popen(
        command, cwd=work, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        url, ready = None, False
        for (
            line
        ) in server.stderr:  # wait until serve listens and its warm kernel has imported keras
            match = re.search(r"serving (http://\S+)", line)
            url = match.group(1) if match else url
            if line.startswith("kernel ready"):
                ready = True
                break
        if url is None or not ready:
            sys.exit("serve did not start, or its kernel never became ready")
        threading_drain(server)
        time.sleep(1)  # let the watcher settle
        page = url + post.stem + "/"
        started = time.perf_counter()
        post.write_text(edited, encoding="utf-8")
        while time.perf_counter() - started < 300:
            try:
                if expect in urllib.request.urlopen(page, timeout=5).read().decode():
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.05)
        sys.exit("serve never showed the edit")
    finally:
        server.terminate()
        server.wait(timeout=30)


def threading_drain(process: subprocess.Popen) -> None:
    import threading

    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()


def blog_prose_edit(count: int, work: Path) -> tuple[float, float, float]:
    """A blog of `count` small posts, built once; then a no-op rebuild, and prose edits to one post:
    the first (every page then changes once, to say its outputs were kept from the run before),
    and the median of five more."""
    blog = work / "blog"
    (blog / "posts").mkdir(parents=True)
    for k in range(count):
        (blog / "posts" / f"post-{k:03d}.md").write_text(
            f"---\ntitle: Post {k}\ndate: 2026-01-01\ntags: [t{k % 7}]\n---\n\nSome prose {k}.\n\n"
            f"```python\nvalues = np.arange({k + 3})\nprint(values.sum())\n```\n\nMore prose.\n",
            encoding="utf-8",
        )
    build(blog)
    noop = build(blog)[0]
    post = blog / "posts" / "post-007.md"
    original = post.read_text(encoding="utf-8")
    edits = []
    for k in range(6):
        post.write_text(original + f"\nSentence {k} added by the benchmark.\n", encoding="utf-8")
        edits.append(build(blog)[0])
    return noop, edits[0], sorted(edits[1:])[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--post", type=Path, default=ROOT / "benchmarks" / "posts" / "five-techniques.md"
    )
    parser.add_argument(
        "--blog", type=int, default=0, help="also a prose edit on a blog of N posts"
    )
    parser.add_argument("--no-serve", action="store_true", help="skip the measurement under serve")
    parser.add_argument(
        "--backends", help="also a cold --jobs 2 build on these backends, such as tensorflow,jax"
    )
    parser.add_argument(
        "--repeats", type=int, default=2, help="runs of the floor and of each cold build (2)"
    )
    args = parser.parse_args()
    # The package byte-compiled, as Python leaves it after a first import wherever it may write
    # bytecode (this machine sets PYTHONDONTWRITEBYTECODE=1, so an edited module compiles at every
    # start).
    compileall.compile_dir(ROOT / "kernelblog", quiet=1)
    work = Path(tempfile.mkdtemp(prefix="kernelblog-components-"))
    rows: list[tuple[str, float, str]] = []
    try:
        (work / "posts").mkdir()
        post = work / "posts" / args.post.name
        original = args.post.read_text(encoding="utf-8")
        post.write_text(original, encoding="utf-8")
        whole, parts = scripts(work / "posts", work)
        last_alone, _ = timed([sys.executable, str(parts[-1])], work)
        first_alone, _ = timed([sys.executable, str(parts[0])], work)
        half = (len(parts) + 1) // 2
        split = []
        for k, group in enumerate((parts[:half], parts[half:])):
            script = work / f"half{k}.py"
            script.write_text(
                "\n\n".join(p.read_text(encoding="utf-8") for p in group), encoding="utf-8"
            )
            split.append([sys.executable, str(script)])
        two_plain = together(split, work)

        # The floor and the cold builds, in turn, `--repeats` times: each is the mean of its runs,
        # which drift by a tenth from one minute to the next on these machines.
        floors, colds1, colds2 = [], [], []
        for _ in range(args.repeats):
            floors.append(timed([sys.executable, str(whole)], work)[0])
            seconds, said1 = build(work, "--force", "--jobs", "1")
            colds1.append(seconds)
            seconds, said2 = build(work, "--force", "--jobs", "2")
            colds2.append(seconds)
        floor, cold1, cold2 = (sum(runs) / len(runs) for runs in (floors, colds1, colds2))
        backends = None
        if args.backends:
            names = args.backends.split(",")
            floors_each = [timed([sys.executable, str(whole)], work, name)[0] for name in names]
            seconds, _ = build(work, "--force", "--jobs", "2", "--backends", args.backends)
            backends = (names, floors_each, seconds)
        noops = sorted(build(work)[0] for _ in range(3))
        last = edit_section(original, "## Transfer learning", "epochs=5", "epochs=4")
        post.write_text(last, encoding="utf-8")
        edit_last, said_last = build(work, "--jobs", "2")
        first = edit_section(last, "## A convnet on images", "epochs=6", "epochs=5")
        post.write_text(first, encoding="utf-8")
        edit_first, said_first = build(work, "--jobs", "2")
        serve = None
        if not args.no_serve:
            edited = edit_section(
                first, "## Transfer learning", "epochs=4, batch_size=32", "epochs=3, batch_size=32"
            )
            edited = edited.replace(
                "with the pretrained, frozen base", "with the pretrained, frozen base (3 epochs)"
            )
            serve = serve_edit(work, post, edited, "frozen base (3 epochs)")
        blog = blog_prose_edit(args.blog, work) if args.blog else None
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def row(name: str, seconds: float, note: str = "") -> None:
        rows.append((name, seconds, note))

    each = f"mean of {args.repeats}, in turn with the cold builds" if args.repeats > 1 else ""
    row("floor: the six cells as one plain python script", floor, each)
    row("two plain processes splitting the sections", two_plain, f"{two_plain / floor:.2f}x floor")
    row("last section alone, plain script", last_alone, f"{last_alone / floor:.2f}x floor")
    row("first section alone, plain script", first_alone, f"{first_alone / floor:.2f}x floor")
    row(
        "cold build --jobs 1",
        cold1,
        f"{cold1 / floor:.2f}x floor (target <= 1.10)" + (f"; {each}" if each else ""),
    )
    row(
        "cold build --jobs 2",
        cold2,
        f"{cold2 / floor:.2f}x floor (target <= 0.85)" + (f"; {each}" if each else ""),
    )
    if backends:
        names, floors_each, seconds = backends
        for name, each_floor in zip(names, floors_each):
            row(f"floor on {name}", each_floor, f"{each_floor / floor:.2f}x floor")
        row(
            f"cold build --jobs 2 --backends {','.join(names)}",
            seconds,
            f"{seconds / sum(floors_each):.2f}x the floors one after the other; "
            f"{seconds / cold2:.2f}x the one-backend cold build",
        )
    row("rebuild, nothing changed (median of 3)", noops[1], "target <= 0.15 s")
    row(
        "code edit to the last section, build.py",
        edit_last,
        f"{edit_last / last_alone:.2f}x that section alone (target <= 1.3)",
    )
    row(
        "code edit to the first technique, build.py",
        edit_first,
        f"{edit_first / first_alone:.2f}x that section alone (target <= 1.3)",
    )
    if serve is not None:
        row(
            "code edit to the last section, serve",
            serve,
            f"{serve / last_alone:.2f}x that section alone (target <= 0.6)",
        )
    if blog:
        row(f"blog of {args.blog} posts: nothing changed", blog[0], "target <= 0.15 s")
        row(
            f"blog of {args.blog} posts: first prose edit",
            blog[1],
            "every page re-rendered once: outputs now cached",
        )
        row(f"blog of {args.blog} posts: prose edit (median of 5)", blog[2], "target <= 0.5 s")
    print(f"benchmark on {os.cpu_count()} cores, post {args.post.name}, {len(parts)} sections")
    for name, seconds, note in rows:
        print(f"{name:<48} {seconds:7.2f} s  {note}")
    for line in (
        KERNELS.findall(said2) + COMPONENTS.findall(said_last) + COMPONENTS.findall(said_first)
    ):
        print(line)


if __name__ == "__main__":
    main()
