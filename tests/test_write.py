"""Write stage: the site is swapped in whole, and snippets/ matches posts/."""

import os

import pytest

from conftest import ROOT
from kernelblog.extract import post_modules, without_library_imports
from kernelblog.pipeline import complete_all, page_url
from kernelblog.settings import load_settings
from kernelblog.write import colab_notebook_text, snippet_text, write_site


def test_site_is_replaced_whole(tmp_path):
    out = tmp_path / "_site"
    write_site(out, {"index.html": b"one", "old/page.html": b"x"})
    write_site(out, {"index.html": b"two"})
    assert (out / "index.html").read_bytes() == b"two"
    assert not (out / "old").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]  # no temporary folders left


def test_a_file_the_site_has_already_is_linked_not_written_again(tmp_path):
    out, outside = tmp_path / "_site", tmp_path / "outside"
    write_site(
        out,
        {
            "index.html": b"one",
            "a/page.html": b"same",
            "b/page.html": b"old",
            "c/page.html": b"same",
        },
    )
    kept = (out / "a" / "page.html").stat().st_ino
    outside.mkdir()
    (outside / "page.html").write_bytes(b"same")
    (out / "c").rename(tmp_path / "c-moved")
    (out / "c").symlink_to(outside)  # a folder of the site that now points out of it
    write_site(
        out,
        {
            "index.html": b"two",
            "a/page.html": b"same",
            "b/page.html": b"new",
            "c/page.html": b"same",
        },
    )
    assert (out / "a" / "page.html").stat().st_ino == kept  # the same content: linked
    assert (out / "b" / "page.html").read_bytes() == b"new"
    assert (
        not (out / "c").is_symlink() and (out / "c" / "page.html").stat().st_nlink == 1
    )  # not linked out
    assert (out / "index.html").read_bytes() == b"two"


def test_failed_write_leaves_previous_site(tmp_path):
    out = tmp_path / "_site"
    write_site(out, {"index.html": b"previous"})
    with pytest.raises(OSError):
        write_site(
            out, {"index.html": b"new", "index.html/inside": b"cannot be a file and a folder"}
        )
    assert (out / "index.html").read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]


def test_snippets_are_in_step_with_posts():
    """snippets/<slug>.py and snippets/<slug>.ipynb are what the build writes for the current
    posts; rebuild if this fails."""
    settings = load_settings(ROOT / "pyproject.toml")
    for completed in complete_all(ROOT / "posts", lambda line: None):
        slug = completed.post.slug
        for suffix, text in (
            (".py", snippet_text(completed)),
            (".ipynb", colab_notebook_text(completed, page_url(settings, slug))),
        ):
            committed = ROOT / "snippets" / f"{slug}{suffix}"
            assert committed.exists(), f"{committed} is missing: run python build.py"
            stale = f"{committed} is stale: run python build.py"
            assert committed.read_text(encoding="utf-8") == text, stale


def test_snippet_is_the_completed_code():
    [completed, *_] = complete_all(ROOT / "posts", lambda line: None)
    text = snippet_text(completed)
    assert text.count("# %%") >= len(completed.post.code_cells) + 1  # + the seeding cell
    assert "keras.utils.set_random_seed(0)" in text or "np.random.seed(0)" in text
    for done in completed.cells:
        if done.cell.kind == "code":  # less the imports of the post's modules, copied in
            own = post_modules(completed.post.files)
            assert (without_library_imports(done.code, (own,)) if own else done.code) in text


def test_scripts_of_removed_posts_are_removed(tmp_path):
    from kernelblog.write import GENERATED, write_snippets

    (tmp_path / "old.py").write_text(f"# Old\n# {GENERATED} from old.md; do not edit.\n")
    (tmp_path / "mine.py").write_text("print('written by hand')\n")
    write_snippets(tmp_path, {"new": f"# New\n# {GENERATED} from new.md\n"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.py", "new.py"]


def test_a_snippet_already_written_is_left_as_it_is(tmp_path):
    from kernelblog.write import write_snippets

    write_snippets(
        tmp_path, {"same": "print(1)\n", "changed": "print(2)\n", "linked": "print(3)\n"}
    )
    (tmp_path / "elsewhere.txt").write_text("print(3)\n")
    (tmp_path / "linked.py").unlink()
    (tmp_path / "linked.py").symlink_to(tmp_path / "elsewhere.txt")
    same = (tmp_path / "same.py").stat().st_ino, (tmp_path / "same.py").stat().st_mtime_ns
    write_snippets(
        tmp_path, {"same": "print(1)\n", "changed": "print(22)\n", "linked": "print(3)\n"}
    )
    assert ((tmp_path / "same.py").stat().st_ino, (tmp_path / "same.py").stat().st_mtime_ns) == same
    assert (tmp_path / "changed.py").read_text() == "print(22)\n"
    assert (
        not (tmp_path / "linked.py").is_symlink()
        and (tmp_path / "linked.py").read_text() == "print(3)\n"
    )


def test_every_committed_snippet_has_a_post():
    slugs = {completed.post.slug for completed in complete_all(ROOT / "posts", lambda line: None)}
    assert {path.stem for path in (ROOT / "snippets").glob("*.py")} == slugs
    assert {path.stem for path in (ROOT / "snippets").glob("*.ipynb")} == slugs


class Interrupting(dict):
    """Files whose writing is interrupted after the first, as Ctrl-C would."""

    def items(self):
        for number, item in enumerate(super().items()):
            if number == 1:
                raise KeyboardInterrupt
            yield item


def test_interrupted_write_leaves_previous_site(tmp_path):
    out = tmp_path / "_site"
    write_site(out, {"index.html": b"previous"})
    with pytest.raises(KeyboardInterrupt):
        write_site(out, Interrupting({"a.html": b"new", "b.html": b"new"}))
    assert [(p.name, p.read_bytes()) for p in out.iterdir()] == [("index.html", b"previous")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]


@pytest.mark.parametrize("atomic", [True, False])
def test_signal_during_the_swap_waits_until_the_site_is_whole(tmp_path, monkeypatch, atomic):
    """With renameat2's exchange, and with the two renames where it is missing."""
    import os
    import signal
    from pathlib import Path

    from kernelblog import write

    out = tmp_path / "_site"
    write_site(out, {"index.html": b"previous"})
    rename, exchange = Path.rename, write.exchange

    def rename_then_sigint(self, target):
        result = rename(self, target)
        if self == out:  # the previous site has just been moved aside
            os.kill(os.getpid(), signal.SIGINT)
        return result

    def exchange_then_sigint(first, second):
        assert exchange(first, second)
        os.kill(os.getpid(), signal.SIGINT)
        return True

    monkeypatch.setattr(Path, "rename", rename_then_sigint)
    monkeypatch.setattr(
        write, "exchange", exchange_then_sigint if atomic else lambda first, second: False
    )
    # Python's own handler, which raises KeyboardInterrupt: a test process started under nohup or
    # with & inherits an ignored SIGINT, and write_site rightly keeps ignoring it then.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            write_site(out, {"index.html": b"new"})
    finally:
        signal.signal(signal.SIGINT, previous)
    assert (out / "index.html").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]


KILLED_AT_THE_SWAP = """
import os, signal, sys
from pathlib import Path
from kernelblog import write

out, when = Path(sys.argv[1]), sys.argv[2]
exchange = write.exchange

def exchange_and_die(first, second):
    if when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    exchange(first, second)
    os.kill(os.getpid(), signal.SIGKILL)

write.exchange = exchange_and_die
write.write_site(out, {"index.html": b"new"})
"""


@pytest.mark.parametrize("when, site", [("before", b"previous"), ("after", b"new")])
def test_kill_at_the_swap_leaves_a_whole_site_and_the_next_build_cleans_up(tmp_path, when, site):
    """SIGKILL just before or just after the exchange: a whole site either way, never none;
    the next write removes the folder left beside it."""
    import subprocess
    import sys

    out = tmp_path / "_site"
    write_site(out, {"index.html": b"previous"})
    killed = subprocess.run([sys.executable, "-c", KILLED_AT_THE_SWAP, str(out), when], cwd=ROOT)
    assert killed.returncode == -9
    assert (out / "index.html").read_bytes() == site
    [leftover] = [p.name for p in tmp_path.iterdir() if p.name != "_site"]
    assert leftover.startswith("._site.new-")
    write_site(out, {"index.html": b"next"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]


def test_site_is_never_missing_while_it_is_swapped(tmp_path):
    """Another process swapping the site 200 times; this one never finds it missing."""
    import subprocess
    import sys

    out = tmp_path / "_site"
    write_site(out, {"index.html": b"0"})
    swapper = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from kernelblog.write import write_site\n"
            "for n in range(200): write_site(sys.argv[1], {'index.html': str(n).encode()})",
            str(out),
        ],
        cwd=ROOT,
    )
    missing = looks = 0
    while swapper.poll() is None:
        looks += 1
        missing += not (out / "index.html").exists()
    assert swapper.wait() == 0 and looks > 100
    assert missing == 0


def test_leftovers_of_a_build_killed_between_two_renames_are_resolved(tmp_path):
    """Where renameat2 is missing: the previous site comes back, the rest goes."""
    from kernelblog.write import remove_leftovers

    out = tmp_path / "_site"
    write_site(tmp_path / "._site.old-123", {"index.html": b"previous"})
    write_site(tmp_path / "._site.new-abc", {"index.html": b"half"})
    remove_leftovers(out)
    assert (out / "index.html").read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]


@pytest.mark.parametrize("atomic", [True, False])
def test_the_new_site_is_built_aside_and_swapped_in(tmp_path, monkeypatch, atomic):
    """The site is exactly the new files: what the new site lacks goes, and a symbolic link
    planted in the site is removed, never followed. With renameat2's exchange, and with two
    renames where it is missing; no folder is left beside it either way."""
    from kernelblog import write

    if not atomic:
        monkeypatch.setattr(write, "exchange", lambda first, second: False)
    out, outside = tmp_path / "_site", tmp_path / "outside"
    first = {"index.html": b"1", "a/index.html": b"a", "b/index.html": b"b", "b/figure.png": b"png"}
    write_site(out, first)
    outside.mkdir()
    (outside / "page.html").write_bytes(b"outside")
    (out / "c").symlink_to(outside)
    third = {"index.html": b"3", "a/index.html": b"a", "c/page.html": b"new", "d/index.html": b"d"}
    write_site(out, third)
    assert {
        p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
    } == third
    assert not (out / "c").is_symlink() and (outside / "page.html").read_bytes() == b"outside"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site", "outside"]


def test_a_file_of_the_previous_site_is_never_written_through(tmp_path):
    """A changed page is a new file: the previous site's file, which a reader may hold (here a
    hard link), keeps its content."""
    out = tmp_path / "_site"
    write_site(out, {"index.html": b"1", "a/page.html": b"same"})
    held = tmp_path / "held"
    os.link(out / "a" / "page.html", held)
    write_site(out, {"index.html": b"2", "a/page.html": b"changed"})
    assert (out / "a" / "page.html").read_bytes() == b"changed"
    assert held.read_bytes() == b"same"


def test_a_site_whose_search_index_fails_is_not_swapped_in(tmp_path, monkeypatch):
    import pagefind_bin

    from kernelblog.search import IndexFailed, index_site

    out = tmp_path / "_site"
    write_site(out, {"index.html": b"previous"})
    monkeypatch.setattr(pagefind_bin, "get_executable", lambda: "/bin/false")
    with pytest.raises(IndexFailed, match="pagefind could not index"):
        write_site(out, {"index.html": b"new"}, index_site)
    assert (out / "index.html").read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]


def test_the_search_index_covers_the_posts_articles_only(tmp_path):
    from kernelblog.search import index_site

    page = "<!doctype html><html lang=en><body>{}</body></html>"
    write_site(
        tmp_path / "_site",
        {
            "index.html": page.format("<p>autoencoder on the index</p>").encode(),
            "post/index.html": page.format(
                "<article data-pagefind-body><p>An autoencoder.</p></article>"
            ).encode(),
        },
        index_site,
    )
    [fragment] = (tmp_path / "_site" / "pagefind" / "fragment").iterdir()  # one page indexed
    assert (tmp_path / "_site" / "pagefind" / "pagefind-ui.js").is_file()
    assert fragment.suffix == ".pf_fragment"
