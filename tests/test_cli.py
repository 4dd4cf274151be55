"""The command line: exit statuses and path:line messages for input that fails before any kernel."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from conftest import ROOT, write_post
from kernelblog import execute
from kernelblog.pipeline import SITE_MARKER, Options, build, complete_all
from kernelblog.progress import LiveProgress, Progress


def run_build(*args):
    return subprocess.run(
        [sys.executable, str(ROOT / "build.py"), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_bad_front_matter_exits_2_with_path_and_line(tmp_path):
    post = write_post(tmp_path / "posts", "bad.md", "---\ntitle: x\ntags: [a\n---\n\ntext\n")
    result = run_build(
        "--posts", tmp_path / "posts", "--out", tmp_path / "site", "--snippets", tmp_path / "s"
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"{post}:4: error: front matter is not valid YAML")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda folder: folder.mkdir(), "no posts (*.md or <slug>/index.md) in this folder"),
        (lambda folder: None, "posts folder not found"),
    ],
)
def test_missing_or_empty_posts_folder_exits_2(tmp_path, setup, message):
    setup(tmp_path / "posts")
    result = run_build("--posts", tmp_path / "posts", "--out", tmp_path / "site")
    assert result.returncode == 2
    assert result.stderr.strip() == f"{tmp_path / 'posts'}: error: {message}"


@pytest.mark.parametrize(
    "args", [("--jobs", "many"), ("--jobs", "0"), ("--timeout", "0"), ("--timeout", "x")]
)
def test_usage_error_exits_2(args):
    result = run_build(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_out_must_not_replace_the_posts(tmp_path):
    write_post(tmp_path / "posts", "a.md", "# A\n")
    lines = []
    assert build(Options(posts=tmp_path / "posts", out=tmp_path), lines.append) == 2
    assert lines == [f"{tmp_path}: error: --out would replace the folder that holds the posts"]
    assert (tmp_path / "posts" / "a.md").exists()


def test_duplicate_slugs_exit_2(tmp_path):
    write_post(tmp_path, "a.md", "---\ntitle: A\nslug: same\n---\n")
    write_post(tmp_path, "b.md", "---\ntitle: B\nslug: same\n---\n")
    lines = []
    # a site folder of its own: tests on other workers may build into the default _site/
    site = tmp_path.with_name(tmp_path.name + "-site")
    assert build(Options(posts=tmp_path, out=site), lines.append) == 2
    assert lines == [
        f"{tmp_path / 'b.md'}:3: error: slug 'same' is also used by {tmp_path / 'a.md'}"
    ]


def test_undefined_name_fails_before_anything_runs(tmp_path, monkeypatch):
    def no_run(*args, **kwargs):
        raise AssertionError("a component was executed")

    monkeypatch.setattr(execute, "execute_component", no_run)
    post = write_post(
        tmp_path / "posts",
        "x.md",
        "# X\n\n```python\nmodel = Sequential()\nlayer = Dense2(3)\n```\n",
    )
    site = tmp_path / "site"
    write_post(site, "index.html", "previous site")
    write_post(site, SITE_MARKER, "")
    lines = []
    status = build(
        Options(posts=tmp_path / "posts", out=site, snippets=tmp_path / "s"), lines.append
    )
    assert status == 1
    assert lines == [f"{post}:5: error: name 'Dense2' is not defined (did you mean 'Dense'?)"]
    assert (site / "index.html").read_text() == "previous site"
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "args", [("serve", "--port", "x"), ("serve", "--port", "70000"), ("serve", "--check")]
)
def test_serve_usage_error_exits_2(args):
    result = run_build(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_plain_progress_is_lines_without_control_characters(tmp_path):
    lines = []
    progress = Progress(lines.append)
    progress.add(Path("posts/a.md"), 3)
    progress.add(Path("posts/b.md"), 2)
    progress.cached(Path("posts/a.md"), 4.25)
    progress.running(Path("posts/b.md"), 1, 2)
    progress.finished(Path("posts/b.md"), 1.5)
    progress.summary()
    assert lines == [
        "posts/a.md: 3 cells cached (they ran in 4.2 s)",
        "posts/b.md: ran 2 cells in 1.5 s",
        "post        cells  result    seconds",
        "posts/a.md      3  cached        4.2",
        "posts/b.md      2  executed      1.5",
    ]


def test_live_progress_shows_each_posts_state():
    progress = LiveProgress()
    progress.console = Console(record=True, width=100, force_terminal=True)
    progress.add(Path("posts/a.md"), 3)
    progress.add(Path("posts/b.md"), 4)
    progress.add(Path("posts/c.md"), 2)
    progress.cached(Path("posts/a.md"), 4.0)
    progress.running(Path("posts/b.md"), 2, 4)
    progress.finished(Path("posts/c.md"), 1.0, failures=["posts/c.md:3: error: NameError: x"])
    progress.console.print(progress._table())
    shown = progress.console.export_text()
    assert re.search(r"posts/a.md +cached +4.0 s", shown)
    assert re.search(r"posts/b.md +running cell 2 of 4 +\d+\.\d s", shown)
    assert re.search(r"posts/c.md +failed", shown) and "NameError" in shown


BAD_POSTS = [  # (file name, content, line of the error, start of the message)
    ("yaml.md", "---\ntitle: [unclosed\n---\n", 3, "front matter is not valid YAML"),
    ("mapping.md", "---\n- a\n- b\n---\n", 2, "front matter must be a mapping"),
    (
        "date.md",
        "---\ntitle: T\ndate: last tuesday\n---\n",
        3,
        "front matter 'date' must be a date",
    ),
    (
        "tags.md",
        "---\ntitle: T\ntags: keras, cnn\n---\n",
        3,
        "front matter 'tags' must be a list of strings",
    ),
    ("slug.md", "---\ntitle: T\nslug: ../../etc\n---\n", 3, "slug '../../etc' must be"),
    (
        "image.md",
        "# T\n\nSee ![x](../../../outside.png).\n",
        3,
        "image path '../../../outside.png' escapes",
    ),
    ("latin1.md", "# T\n\ncaf\xe9 au lait\n".encode("latin-1"), 3, "the post is not valid UTF-8"),
    (
        "reserved.md",
        "---\ntitle: T\nslug: tags\n---\n",
        3,
        "slug 'tags' is the folder of the site's own tags pages",
    ),
]


@pytest.mark.parametrize(
    "name, content, line, message", BAD_POSTS, ids=[case[0] for case in BAD_POSTS]
)
def test_bad_post_exits_2_at_its_line_and_leaves_the_site(tmp_path, name, content, line, message):
    write_post(tmp_path / "posts", "good.md", "# Good\n\nFine.\n")
    path = tmp_path / "posts" / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    site = tmp_path / "site"
    write_post(site, "index.html", "previous site")
    write_post(site, SITE_MARKER, "")
    lines = []
    assert (
        build(Options(posts=tmp_path / "posts", out=site, snippets=tmp_path / "s"), lines.append)
        == 2
    )
    assert len(lines) == 1 and lines[0].startswith(f"{path}:{line}: error: {message}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posts", "site"]
    assert sorted(p.name for p in site.iterdir()) == [SITE_MARKER, "index.html"]


def test_bad_post_on_the_command_line_has_no_traceback(tmp_path):
    post = tmp_path / "posts" / "latin1.md"
    post.parent.mkdir()
    post.write_bytes(b"---\ntitle: T\n---\n\n\xff\xfe\n")
    result = run_build(
        "--posts", post.parent, "--out", tmp_path / "site", "--snippets", tmp_path / "s"
    )
    assert (result.returncode, result.stderr) == (
        2,
        f"{post}:5: error: the post is not valid UTF-8\n",
    )


@pytest.mark.parametrize("out", ["important", "cache", "snippets"])
def test_out_never_replaces_a_folder_the_build_did_not_write(tmp_path, out):
    write_post(tmp_path / "posts", "a.md", "# A\n\nProse.\n")
    kept = write_post(tmp_path / out, "thesis.tex", "years of work")
    lines = []
    options = Options(
        posts=tmp_path / "posts",
        out=tmp_path / out,
        snippets=tmp_path / "snippets",
        cache=tmp_path / "cache",
    )
    assert build(options, lines.append) == 2
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / out}: error: --out ")
    assert kept.read_text() == "years of work"


def test_a_folder_named_like_a_post_is_not_read(tmp_path):
    write_post(tmp_path / "posts", "a.md", "# A\n\nProse.\n")
    (tmp_path / "posts" / "drafts.md").mkdir()
    assert [post.post.slug for post in complete_all(tmp_path / "posts", print)] == ["a"]


@pytest.mark.slow
def test_kernelblog_new_then_build_from_a_non_editable_install(tmp_path):
    """`kernelblog new DIR`, then `cd DIR && kernelblog build`, with the package installed as
    `pip install .` installs it (not editable), and no checkout of this project in reach."""
    import shutil

    source, target = tmp_path / "source", tmp_path / "site-packages"
    for name in ("kernelblog", "templates"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--target", str(target), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    shutil.rmtree(source)  # the installed package alone
    command = target / "bin" / "kernelblog"
    env = {
        "PATH": f"{target / 'bin'}:/usr/bin:/bin",
        "PYTHONPATH": str(target),
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }

    def kernelblog(*args, cwd=tmp_path):
        return subprocess.run(
            [sys.executable, str(command), *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=300,
        )

    made = kernelblog("new", "my-blog", "--title", "My Blog")
    assert made.returncode == 0, made.stderr
    blog = tmp_path / "my-blog"
    assert sorted(str(p.relative_to(blog)) for p in blog.rglob("*") if p.is_file()) == [
        ".github/workflows/check.yml",
        ".github/workflows/publish.yml",
        ".gitignore",
        "README.md",
        "posts/first-post.md",
        "pyproject.toml",
    ]
    built = kernelblog("build", "--jobs", "1", cwd=blog)
    assert built.returncode == 0, built.stdout + built.stderr
    page = (blog / "_site" / "first-post" / "index.html").read_text()
    assert "<title>A first post · My Blog</title>" in page
    assert '<meta property="og:type" content="article">' in page  # rendered by this package
    assert re.search(r'<pre class="output">50 points from 0 to 6\.28</pre>', page)
    assert list((blog / "_site" / "first-post").glob("cell*.png"))  # the figure it drew
    assert (blog / "snippets" / "first-post.py").is_file()
    assert (blog / "snippets" / "first-post.ipynb").is_file()
    again = kernelblog("new", "my-blog", cwd=tmp_path)
    assert again.returncode == 2 and "not empty" in again.stderr
