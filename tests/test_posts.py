"""Every post in posts/ executes, and the learning its prose claims shows in its outputs."""

import re

import pytest

from conftest import ROOT
from kernelblog.execute import execute_post
from kernelblog.outputs import page_outputs
from kernelblog.pipeline import complete_all

pytestmark = pytest.mark.slow

COMPLETED = complete_all(ROOT / "posts", lambda line: None)


def printed(executed) -> str:
    """All text the post's cells printed, as the page shows it."""
    return "".join(block.text for cell in executed.notebook.cells for block in page_outputs(cell.get("outputs", []))
                   if hasattr(block, "text"))


@pytest.fixture(scope="module")
def executed():
    return {post.post.slug: execute_post(post) for post in COMPLETED}


@pytest.mark.parametrize("slug", [post.post.slug for post in COMPLETED])
def test_post_executes(slug, executed):
    completed = next(post for post in COMPLETED if post.post.slug == slug)
    assert completed.ok, "\n".join(map(str, completed.diagnostics))
    failure = executed[slug].failure
    assert failure is None, str(failure)  # names post:line of the failing snippet


def test_first_convnet_beats_chance(executed):
    text = printed(executed["first-convnet"])
    accuracy, chance = map(float, re.search(r"validation accuracy: ([\d.]+) \(chance: ([\d.]+)\)", text).groups())
    assert accuracy > chance + 0.3
