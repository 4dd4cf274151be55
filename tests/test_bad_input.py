"""Bad input found by fuzzing the static stages: each ends in a diagnostic at its line, never a
traceback or a hang, and no file named like a post is skipped without a word. No kernel runs."""

import os
import signal
import time

import pytest

from conftest import static_build, write_post
from kernelblog import uptodate
from kernelblog.pipeline import _warm_code, ready_all


def diagnostics_of(tmp_path, text: str | bytes, name: str = "post.md") -> list[str]:
    posts = tmp_path / "posts"
    posts.mkdir(exist_ok=True)
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    (posts / name).write_bytes(data)
    return [str(d) for d in static_build(tmp_path)]


def one_error(found: list[str], line: int, words: str, name: str = "post.md") -> None:
    errors = [d for d in found if ": error: " in d]
    assert errors, found
    assert any(f"{name}:{line}: error: " in d and words in d for d in errors), found


@pytest.mark.parametrize("key", ["title", "summary", "tags"])
def test_a_lone_surrogate_in_front_matter_is_an_error_at_its_line(tmp_path, key):
    value = '["\\ud800"]' if key == "tags" else '"a \\udfff b"'
    found = diagnostics_of(tmp_path, f"---\ndate: 2026-11-24\n{key}: {value}\n---\n\nProse.\n")
    one_error(found, 3, "lone surrogate")


def test_a_control_character_in_front_matter_is_an_error_at_its_line(tmp_path):
    found = diagnostics_of(tmp_path, '---\ntitle: ok\nsummary: "\\x01"\n---\n\nProse.\n')
    one_error(found, 3, "control character")


def test_front_matter_nested_too_deeply_is_an_error(tmp_path):
    found = diagnostics_of(tmp_path, "---\na: " + "[" * 1000 + "]" * 1000 + "\n---\n\nProse.\n")
    one_error(found, 2, "nested too deeply")


def test_front_matter_that_holds_itself_is_read(tmp_path):
    found = diagnostics_of(tmp_path, "---\ntitle: x\nloop: &a [*a]\n---\n\nProse.\n")
    assert not [d for d in found if ": error: " in d], found


@pytest.mark.parametrize(
    "code",
    [
        "x = " + "not " * 20_000 + "1",
        "x = " + "-" * 20_000 + "1",
        "x = " + "1+" * 30_000 + "1",
        "x = " + "1+" * 4_000 + "1",  # Python parses it; a recursive walk of its tree fails
        "x = " + "f(" * 190 + ")" * 190,
    ],
    ids=["not", "minus", "sum", "sum-parsed", "calls-parsed"],
)
def test_code_too_deeply_nested_is_an_error_and_the_keep_going_pages_are_written(tmp_path, code):
    found = diagnostics_of(tmp_path, f"---\ntitle: deep\n---\n\nProse.\n\n```python\n{code}\n```\n")
    one_error(found, 8, "too deeply nested")
    assert (tmp_path / "site" / "post" / "index.html").is_file()  # written, as --keep-going does


def test_an_image_path_over_the_name_limit_is_an_error_at_its_line(tmp_path):
    found = diagnostics_of(tmp_path, "Prose.\n\n![a](" + "a" * 300 + ".png)\n")
    one_error(found, 3, "255")


def test_an_image_path_over_the_path_limit_is_an_error(tmp_path):
    found = diagnostics_of(tmp_path, "Prose.\n\n![a](" + "a/" * 2100 + "b.png)\n")
    one_error(found, 3, "4096")


def test_a_slug_over_the_name_limit_is_an_error_at_its_line(tmp_path):
    found = diagnostics_of(tmp_path, "---\ntitle: t\nslug: " + "a" * 300 + "\n---\n\nProse.\n")
    one_error(found, 3, "255 bytes")


def test_a_file_name_whose_slug_is_too_long_is_an_error(tmp_path):
    name = "b" * 252 + ".md"  # fits, but b...b.ipynb would not
    one_error(diagnostics_of(tmp_path, "Prose.\n", name), 1, "255 bytes", name)


def test_tags_that_share_a_page_are_an_error_naming_both(tmp_path):
    write_post(tmp_path / "posts", "one.md", "---\ntitle: one\ntags: [keras, C++]\n---\n\nx\n")
    write_post(tmp_path / "posts", "two.md", "---\ntitle: two\n\ntags: [C#]\n---\n\nx\n")
    [error] = [str(d) for d in static_build(tmp_path)]
    assert "two.md:4: error: " in error and "'C#'" in error and "'C++'" in error, error
    assert "one.md:3" in error and "tags/c/" in error, error


def test_tags_in_one_case_and_another_are_an_error(tmp_path):
    write_post(tmp_path / "posts", "one.md", "---\ntitle: one\ntags: [keras, Keras]\n---\n\nx\n")
    [error] = [str(d) for d in static_build(tmp_path)]
    assert "'Keras'" in error and "'keras'" in error, error


def test_unicode_tags_get_readable_pages(tmp_path):
    tags = "[Ünïcode, 日本語, réseaux de neurones]"
    write_post(tmp_path / "posts", "one.md", f"---\ntitle: one\ntags: {tags}\n---\n\nx\n")
    assert static_build(tmp_path) == []
    pages = sorted(path.name for path in (tmp_path / "site" / "tags").iterdir() if path.is_dir())
    assert pages == ["reseaux-de-neurones", "ri-ben-yu", "unicode"]


# Entries named like a post that are not one: each is named in a diagnostic, within a second.
ODD_ENTRIES = {
    "fifo.md": lambda path: os.mkfifo(path),
    "dangling.md": lambda path: path.symlink_to(path.parent / "nowhere.md"),
    "loop.md": lambda path: path.symlink_to(path),
    "null.md": lambda path: path.symlink_to("/dev/null"),
    "to-folder.md": lambda path: path.symlink_to(path.parent / "folder"),
    "folder.md": lambda path: path.mkdir(),
    "UPPER.MD": lambda path: path.write_text("# Upper\n"),
}


class Hang(Exception):
    """Not an OSError, which the code under test may catch."""


def hang_guard(seconds: int):
    def expired(signum, frame):
        signal.alarm(1)  # and again, should the first be caught
        raise Hang(f"still running after {seconds} s")

    signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)


@pytest.mark.parametrize("name", ODD_ENTRIES)
def test_an_entry_named_like_a_post_that_is_not_one_is_named_in_a_warning(tmp_path, name):
    posts = tmp_path / "posts"
    write_post(posts, "real.md", "---\ntitle: real\n---\n\nProse.\n")
    (posts / "folder").mkdir()
    ODD_ENTRIES[name](posts / name)
    hang_guard(10)
    try:
        started = time.monotonic()
        uptodate.fingerprint(posts, {}, "inputs")  # what reads the posts before the build does
        uptodate.code_digest(posts)
        _warm_code(posts)
        found = [str(d) for d in static_build(tmp_path)]
        elapsed = time.monotonic() - started
    finally:
        signal.alarm(0)
    assert elapsed < 1, elapsed
    [warning] = [d for d in found if name in d]
    assert ": warning: not read: " in warning, found
    assert (tmp_path / "site" / "real" / "index.html").is_file()  # the real post is built


def test_a_post_whose_name_is_not_utf8_is_an_error_naming_it(tmp_path):
    posts = tmp_path / "posts"
    write_post(posts, "real.md", "---\ntitle: real\n---\n\nProse.\n")
    (posts / os.fsdecode(b"caf\xe9.md")).write_text("# Caf\n")
    uptodate.fingerprint(posts, {}, "inputs")
    uptodate.code_digest(posts)
    [error] = [str(d) for d in static_build(tmp_path)]
    assert "caf\\xe9.md: error: the file name is not UTF-8" in error, error
    error.encode("utf-8")  # printable as it is


def test_a_skipped_entry_changes_the_fingerprint(tmp_path):
    posts = tmp_path / "posts"
    write_post(posts, "real.md", "Prose.\n")
    before = uptodate.fingerprint(posts, {}, "inputs")
    (posts / "other.md").mkdir()
    assert uptodate.fingerprint(posts, {}, "inputs") != before  # so its warning is given


def test_a_symlink_loop_as_an_image_is_an_error(tmp_path):
    posts = tmp_path / "posts"
    write_post(posts, "post.md", "Prose.\n\n![a](loop.png)\n")
    (posts / "loop.png").symlink_to(posts / "loop.png")
    found = [str(d) for d in ready_and_report(posts)]
    assert any("post.md:3: error: " in d and "loop.png" in d for d in found), found


def ready_and_report(posts):
    from kernelblog.diagnostics import BadInput

    found = []
    try:
        ready_all(posts, found.append)
    except BadInput as error:
        found.append(error.diagnostic)
    return found


def test_another_file_whose_name_is_not_utf8_is_an_error_naming_it(tmp_path):
    """The posts folder's other files are a flat post's files (issue 23), and a name that is not
    UTF-8 cannot be published or downloaded: an error naming it, no traceback."""
    posts = tmp_path / "posts"
    write_post(posts, "real.md", "---\ntitle: real\n---\n\nProse.\n")
    (posts / os.fsdecode(b"\xff.png")).write_bytes(b"image")
    (posts / "link").symlink_to(os.fsdecode(b"\xfe"))  # broken: no file to bring, no trouble
    [diagnostic] = static_build(tmp_path)
    assert diagnostic.severity == "error" and "\\xff.png" in diagnostic.message


def test_a_broken_link_beside_a_post_is_no_trouble(tmp_path):
    posts = tmp_path / "posts"
    write_post(posts, "real.md", "---\ntitle: real\n---\n\nProse.\n")
    (posts / "link").symlink_to(os.fsdecode(b"\xfe"))
    assert static_build(tmp_path) == []


def test_settings_nested_too_deeply_are_an_error(tmp_path):
    write_post(tmp_path / "posts", "real.md", "Prose.\n")
    (tmp_path / "pyproject.toml").write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    [error] = [str(d) for d in static_build(tmp_path)]
    assert "pyproject.toml:1: error: not valid TOML: nested too deeply" in error, error


@pytest.mark.parametrize("bad", [False, True], ids=["built", "bad input"])
def test_the_build_reports_entries_it_did_not_read(tmp_path, bad):
    from kernelblog.kernels import Kernels
    from kernelblog.pipeline import BAD_INPUT, OK, Options, build

    posts = tmp_path / "posts"
    write_post(posts, "real.md", "---\ntitle: [not a string]\n---\n" if bad else "Prose.\n")
    os.mkfifo(posts / "fifo.md")
    options = Options(
        posts=posts,
        out=tmp_path / "site",
        snippets=tmp_path / "snippets",
        cache=tmp_path / "cache",
    )
    lines: list[str] = []
    kernels = Kernels(1)  # none started: no post has code to run
    assert build(options, lines.append, kernels) == (BAD_INPUT if bad else OK), lines
    assert any("fifo.md: warning: not read: it is a FIFO" in line for line in lines), lines
    if not bad:  # the next build, with nothing changed, says it again
        lines.clear()
        assert build(options, lines.append, kernels) == OK
        assert any("nothing changed" in line for line in lines), lines
        assert any("fifo.md: warning: not read" in line for line in lines), lines
