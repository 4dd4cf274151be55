"""The one atomic write: the target is replaced whole, and no temporary file is left."""

import os

import pytest

from kernelblog import files
from kernelblog.files import atomic_write


@pytest.mark.parametrize("durable", [True, False])
def test_the_target_is_replaced_whole_and_nothing_else_is_left(tmp_path, durable):
    target = tmp_path / "record.json"
    target.write_bytes(b"the old content, longer than the new one")
    linked = tmp_path / "linked"
    os.link(target, linked)  # a reader holding the old file keeps it whole
    atomic_write(target, b"new", durable=durable)
    assert target.read_bytes() == b"new"
    assert linked.read_bytes() == b"the old content, longer than the new one"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["linked", "record.json"]


def test_a_new_file_is_made(tmp_path):
    atomic_write(tmp_path / "made", b"content")
    assert [(path.name, path.read_bytes()) for path in tmp_path.iterdir()] == [("made", b"content")]


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "entry"
    target.write_bytes(b"old")

    def fail(*args):
        raise KeyboardInterrupt  # e.g. Ctrl-C while syncing

    monkeypatch.setattr(files.os, "fsync", fail)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["entry"]


def test_a_rename_that_fails_leaves_no_temporary(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(OSError):
        atomic_write(tmp_path / "folder", b"a file cannot replace a folder")
    assert [path.name for path in tmp_path.iterdir()] == ["folder"]
