"""Every post in posts/ executes, and the learning its prose claims shows in its outputs."""

import re

import pytest

from conftest import ROOT
from kernelblog.outputs import page_outputs
from kernelblog.pipeline import complete_all

pytestmark = pytest.mark.slow

COMPLETED = complete_all(ROOT / "posts", lambda line: None)


def printed(executed) -> str:
    """All text the post's cells printed, as the page shows it."""
    return "".join(
        block.text
        for cell in executed.notebook.cells
        for block in page_outputs(cell.get("outputs", []))
        if hasattr(block, "text")
    )


@pytest.fixture(scope="module")
def executed(posts_build):
    """Each post as the session's build of posts/ executed it (sandboxed where bwrap works)."""
    return posts_build.executed


@pytest.mark.parametrize("slug", [post.post.slug for post in COMPLETED])
def test_post_executes(slug, executed):
    completed = next(post for post in COMPLETED if post.post.slug == slug)
    assert completed.ok, "\n".join(map(str, completed.diagnostics))
    failure = executed[slug].failure
    assert failure is None, str(failure)  # names post:line of the failing snippet


def test_first_convnet_beats_chance(executed):
    text = printed(executed["first-convnet"])
    accuracy, chance = map(
        float, re.search(r"validation accuracy: ([\d.]+) \(chance: ([\d.]+)\)", text).groups()
    )
    assert accuracy > chance + 0.3


OVERVIEW = ROOT / "posts" / "deep-learning-overview" / "index.md"


def summary_row(technique: str) -> str:
    """The 'Result here' cell of the overview's summary table for a technique."""
    for line in OVERVIEW.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] == technique:
            return cells[2]
    raise AssertionError(f"no summary row for {technique}")


def mean_and_sd(text: str, label: str) -> tuple[float, float]:
    """The 'mean ± SD' printed after `label` (a regular expression)."""
    mean, sd = re.search(label + r"\s*([\d.]+) ± ([\d.]+)", text).groups()
    return float(mean), float(sd)


def test_overview_learning_claims(executed):
    """What the flagship's prose and its summary table say, checked against what its code printed:
    the table's words are the verdicts the code printed, and the learning is real."""
    text = printed(executed["deep-learning-overview"])

    # CNN: learns far above chance; the table's words are the printed verdicts.
    cnn, _ = mean_and_sd(text, r"\n  CNN")
    assert cnn > 1 / 6 + 0.5
    row = summary_row("Convolutional network")
    assert "CNN against ridge on the spectrum: worse than" in text
    assert row.startswith("Worse than the ridge classifier on the spectrum")
    assert "CNN against ridge on pixels: better than" in text
    assert "CNN against dense network: better than" in text
    assert "better than it on pixels, and than the dense network" in row
    errors, pair = map(
        int, re.search(r"errors over 3 runs: (\d+), of which \w+ <-> \w+: (\d+)", text).groups()
    )
    assert 0 < pair <= errors and abs(errors - (1 - cnn) * 600 * 3) <= 1  # the count is right

    # LSTM: parameters matched; the verdict at each length is the table's; at 40 steps it learns.
    sizes = re.search(r"parameters: LSTM ([\d,]+), SimpleRNN ([\d,]+)", text).groups()
    lstm_size, plain_size = (int(size.replace(",", "")) for size in sizes)
    assert abs(lstm_size - plain_size) < 0.05 * lstm_size
    verdicts = dict(
        re.findall(r"^\s*(10|40)\s+[\d.]+ ± [\d.]+\s+[\d.]+ ± [\d.]+\s+(.+)$", text, re.M)
    )
    words = {
        "worse than": "Worse than",
        "within the spread of": "within its spread",
        "better than": "better",
    }
    row = summary_row("LSTM")
    for length, clause in zip(("10", "40"), row.split(", "), strict=True):
        assert clause.startswith(words[verdicts[length].strip()]), (length, verdicts, row)
    constant, _ = mean_and_sd(text, "best constant guess: test MSE")
    lstm_40 = float(re.search(r"^\s*40\s+([\d.]+)", text, re.M).group(1))
    assert lstm_40 < 0.1 * constant

    # Autoencoder: better than PCA at every code size, as the table says; it detects anomalies.
    sizes = re.findall(
        r"code size (\d): PCA [\d.]+ ± [\d.]+, autoencoder ([\d.]+) ± [\d.]+ \((.+) PCA\)", text
    )
    assert [size for size, _, _ in sizes] == ["2", "4", "8"]
    assert all(verdict == "better than" for _, _, verdict in sizes)
    assert float(sizes[1][1]) > 0.9
    fitted = re.search(r"autoencoder, code size 4, against the sine fit: (.+)", text).group(1)
    recall = re.search(r"at 2% false alarms, autoencoder against PCA: (.+)", text).group(1)
    in_recall = {"better than": "better than it", "worse than": "worse than it"}.get(
        recall, "within its spread"
    )
    assert summary_row("Autoencoder") == (
        f"On smooth anomalies, better than PCA in AUC at every code size tried, {in_recall} in "
        "recall at 2% false "
        f"alarms; {fitted} the fitted sine, which knows the generator"
    )

    # GAN: the count of runs below every Gaussian draw and the KDE's verdict, as the table says.
    below = int(re.search(r"runs below every Gaussian draw: (\d) of 3", text).group(1))
    kde = re.search(r"KDE against the noise floor: (.+)", text).group(1)
    assert "copies against the noise floor: within the spread of" in text
    assert below == 2 and summary_row("GAN") == (
        "Runs disagree: 2 of 3 end below every Gaussian draw, one does not; "
        f"the KDE, with no training, is {kde} the noise floor, as are copies of the training "
        "points"
    )

    # Transfer: each verdict the table states, at both label counts.
    for n in (30, 150):
        assert f"{n} labels, frozen against from scratch: better than" in text
        assert f"{n} labels, fine-tuned against frozen: within the spread of" in text
    for n in (30, 150):
        assert f"{n} labels, frozen against scratch, tuned: better than" in text
    fitted = dict(
        re.findall(r"(30|150) labels, tuned from scratch: .*training accuracy ([\d.]+)", text)
    )
    assert float(fitted["30"]) >= 0.95 > float(fitted["150"])  # as the row says of the baseline
    assert summary_row("Transfer learning") == (
        "Frozen base better than from scratch at both label counts at the equal budget, and "
        "better than the tuned baseline (borderline at 30 labels; at 150 the baseline has not "
        "fitted its labels); fine-tuning within the spread of frozen"
    )
    assert "norm.trainable=True: moving mean updated" in text  # training=False is overridden...
    assert "norm.trainable=False: moving mean unchanged" in text  # ...trainable=False is not


def test_snippet_script_runs_on_its_own_and_prints_what_the_page_shows(executed, tmp_path):
    """snippets/<slug>.py, run as a plain script, prints the same results as the kernel did."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, str(ROOT / "snippets" / "first-convnet.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    line = re.search(r"validation accuracy: .*", printed(executed["first-convnet"])).group(0)
    assert line in result.stdout.splitlines()
