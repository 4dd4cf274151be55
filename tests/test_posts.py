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


def numbers(text: str, label: str) -> list[float]:
    """Every number printed after `label` (a regular expression), in order."""
    return [float(value) for value in re.findall(label + r"\s*([\d.]+)", text)]


def test_overview_learning_claims(executed):
    """The claims the flagship's prose makes, checked against what its code printed."""
    text = printed(executed["deep-learning-overview"])
    [(accuracy, chance)] = re.findall(r"validation accuracy: ([\d.]+) \(chance: ([\d.]+)\)", text)
    accuracy, chance = float(accuracy), float(chance)
    assert accuracy > chance + 0.3  # CNN: well above chance
    [errors], [pair] = (
        numbers(text, r"errors:"),
        numbers(text, r"errors: \d+, of which \w+ <-> \w+:"),
    )
    assert (
        0 < pair <= errors == round((1 - accuracy) * 300)
    )  # the confusion the prose names is counted right

    [lstm], [plain], [baseline] = (
        numbers(text, f"test MSE, {name}:")
        for name in ("LSTM", "SimpleRNN", r"baseline \(training mean\)")
    )
    assert lstm < 0.1 * baseline  # the LSTM solves the recall task
    assert lstm < plain  # and the plain RNN of the same width does not match it
    [(lstm_size, plain_size)] = re.findall(r"parameters, LSTM: ([\d,]+); SimpleRNN: ([\d,]+)", text)
    assert int(lstm_size.replace(",", "")) - 33 == 4 * (
        int(plain_size.replace(",", "")) - 33
    )  # "four times"

    [auc], [auc_pca] = (
        numbers(text, "ROC AUC, autoencoder:"),
        numbers(text, "ROC AUC, PCA with 4 components:"),
    )
    assert auc > 0.9  # the autoencoder's error separates the anomalies
    assert 0.5 < auc_pca <= 1  # the PCA baseline is computed and learns something too

    [(low, high)] = re.findall(
        r"noise floor, real against real \(5 draws of 1000\): (-?[\d.]+) to (-?[\d.]+)", text
    )
    floor = max(abs(float(low)), abs(float(high)))
    [gaussian] = numbers(text, "Gaussian with the crescent's mean and covariance:")
    distances = numbers(text, r"MMD² ")
    assert len(distances) == 7
    assert gaussian > 10 * floor  # the measure sees shape: moments alone are far from the crescent
    assert (
        distances[-1] < gaussian < distances[0]
    )  # the GAN learned more than the first two moments

    rows = {
        int(n): [(float(m), float(s)) for m, s in re.findall(r"([\d.]+) ± ([\d.]+)", row)]
        for n, row in re.findall(r"^\s*(30|150)\s+(.*±.*)$", text, re.M)
    }
    assert set(rows) == {30, 150} and all(len(row) == 3 for row in rows.values())
    (scratch, scratch_sd), (frozen, frozen_sd), _ = rows[30]
    assert (
        frozen - scratch > scratch_sd + frozen_sd
    )  # with few labels the pretrained base clearly helps
    assert all(
        0 < sd < 0.2 for row in rows.values() for _, sd in row
    )  # three runs that differ, sanely
    assert (
        "norm.trainable=True: moving mean updated" in text
    )  # training=False is overridden by the call...
    assert (
        "norm.trainable=False: moving mean unchanged" in text
    )  # ...and trainable=False is what keeps inference mode


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
