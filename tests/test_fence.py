"""Fence options: each declared once, the README's table made from the declarations, and only
those that change outputs in the cache key."""

from dataclasses import fields

import pytest

from conftest import ROOT, write_post
from kernelblog.complete import complete_post
from kernelblog.fence import FenceOptions, table
from kernelblog.pipeline import make_ready
from kernelblog.plan import plan_post
from kernelblog.read import read_post


def test_the_readme_table_is_made_from_the_declarations():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert table() in readme
    rows = table().splitlines()[2:]
    assert len(rows) == len(fields(FenceOptions))
    for spec, row in zip(fields(FenceOptions), rows):
        option = spec.metadata["option"]
        assert row.startswith(f"| `{spec.name}=") and option.help in row


def test_the_key_holds_the_options_that_change_outputs_and_differ_from_their_defaults():
    options = FenceOptions(data="images", timeout=3, caption="c", alt=("a",), echo=False, fold=True)
    assert options.key() == {"data": "images", "timeout": 3}
    assert FenceOptions().key() == {}
    keyed = {spec.name for spec in fields(FenceOptions) if spec.metadata["option"].keyed}
    assert keyed == {"data", "timeout", "after", "raises", "backends"}


def codes(tmp_path, index, options: str):
    """Each component's number, code digest and cells, for a post whose fence gives `options`."""
    text = f"# T\n\n```python {options}\nprint(1)\n```\n\n```python\nprint(2)\n```\n"
    post = read_post(write_post(tmp_path, "p.md", text))
    return make_ready(plan_post(complete_post(post, index))).codes


@pytest.mark.parametrize(
    "options", ['caption="c"', 'alt=["a"]', "echo=false", "fold=true", "echo=false fold=true"]
)
def test_what_only_the_page_shows_leaves_the_code_digest_as_it_was(tmp_path, index, options):
    """Captions, alt texts, hiding or folding the code: toggling them executes nothing."""
    assert codes(tmp_path, index, options) == codes(tmp_path, index, "")


def test_an_option_that_changes_outputs_changes_the_code_digest(tmp_path, index):
    assert codes(tmp_path, index, "timeout=5") != codes(tmp_path, index, "")
