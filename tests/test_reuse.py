"""Reused completions and pages: keyed by everything they derive from, never by a second read."""

from pathlib import Path

from conftest import write_post
from kernelblog.execute import ExecutedPost
from kernelblog.pipeline import complete_all
from kernelblog.read import read_post
from kernelblog.reuse import Reuse
from kernelblog.settings import Settings

POST = "---\ntitle: One\n---\n\n```python\nprint(6 * 7)\n```\n"


def test_a_completion_is_keyed_by_the_bytes_it_was_made_from(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    path = write_post(tmp_path / "posts", "one.md", POST)
    settings = tmp_path / "pyproject.toml"
    key = Reuse(tmp_path / "store", "inputs").completion_key(path, POST.encode(), settings)
    assert Reuse(tmp_path / "store", "inputs").completion_key(path, POST.encode(), settings) == key
    assert (
        Reuse(tmp_path / "store", "other").completion_key(path, POST.encode(), settings) != key
    )  # package
    edited = POST.replace("One", "Two").encode()
    assert Reuse(tmp_path / "store", "inputs").completion_key(path, edited, settings) != key
    (tmp_path / "posts" / "figure.png").write_bytes(b"png")  # a file the post's images may name
    assert Reuse(tmp_path / "store", "inputs").completion_key(path, POST.encode(), settings) != key
    (tmp_path / "posts" / "figure.png").unlink()
    (tmp_path / "keras" / "models").mkdir(
        parents=True
    )  # weights downloaded: an ImageNet model may now load
    (
        tmp_path / "keras" / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    ).write_bytes(b"h5")
    assert Reuse(tmp_path / "store", "inputs").completion_key(path, POST.encode(), settings) != key


def test_a_page_is_keyed_by_its_completion_not_by_reading_the_post_again(tmp_path):
    path = write_post(tmp_path / "posts", "one.md", POST)
    [done] = complete_all(tmp_path / "posts", lambda line: None)
    executed, site = ExecutedPost(done.notebook()), Settings()
    store = Reuse(tmp_path / "store", "inputs")
    assert (
        store.page_key(done, executed, site) is None
    )  # no completion key in this build: not reused
    store.completion_key(path, POST.encode(), tmp_path / "pyproject.toml")
    key = store.page_key(done, executed, site)
    path.write_text(
        POST.replace("One", "Edited after completion")
    )  # the page is made from the completion
    assert store.page_key(done, executed, site) == key
    other = Reuse(tmp_path / "store", "inputs")
    other.completion_key(path, path.read_bytes(), tmp_path / "pyproject.toml")
    assert other.page_key(done, executed, site) != key


def test_the_post_is_read_from_the_bytes_that_were_keyed(tmp_path):
    path = write_post(tmp_path / "posts", "one.md", POST)
    post = read_post(path, POST.replace("title: One", "title: Keyed").encode())
    assert post.meta.title == "Keyed"
    crlf = read_post(path, POST.replace("\n", "\r\n").encode())
    assert crlf.meta.title == "One" and [c.source for c in crlf.cells] == [
        c.source for c in read_post(path).cells
    ]


def test_completions_are_reused_across_builds(tmp_path):
    write_post(tmp_path / "posts", "one.md", POST)
    store = Path(tmp_path / "store")
    first = complete_all(tmp_path / "posts", lambda line: None, Reuse(store, "inputs"))
    reuse = Reuse(store, "inputs")
    again = complete_all(tmp_path / "posts", lambda line: None, reuse)
    assert reuse.hits["completed"] == 1 and again == first


def test_a_prose_edit_takes_the_highlighted_code_from_the_store(tmp_path, monkeypatch):
    from kernelblog import render
    from kernelblog.settings import Settings
    from kernelblog.site import site_files

    path = write_post(tmp_path / "posts", "one.md", POST)

    def build(reuse):
        [done] = complete_all(tmp_path / "posts", lambda line: None, reuse)
        return site_files(Settings(), [done], {"one": ExecutedPost(done.notebook())}, reuse=reuse)

    build(Reuse(tmp_path / "store", "inputs"))
    path.write_text(POST.replace("```python", "Edited prose.\n\n```python"))
    highlighted, real = [], render.code_html
    monkeypatch.setattr(render, "code_html", lambda code: highlighted.append(code) or real(code))
    reuse = Reuse(tmp_path / "store", "inputs")
    page = build(reuse)["one/index.html"].decode()
    assert "Edited prose." in page and "print" in page
    assert highlighted == [] and reuse.hits == {"highlighted": 1}
    build(Reuse(tmp_path / "store", "other"))  # other inputs (package, templates, versions)
    assert highlighted
