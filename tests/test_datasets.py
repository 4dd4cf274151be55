"""The dataset library: shapes, seeds, and signal a simple model can find."""

import numpy as np
import pytest

from kernelblog import datasets


@pytest.mark.parametrize("name, x_shape, y_dtype", [
    ("images", (600, 32, 32, 3), np.int64),
    ("sequences", (800, 32, 1), np.float32),
    ("tabular", (800, 8), np.int64),
    ("recall", (2000, 40, 2), np.float32),
    ("signals", (1000, 64), np.int64),
    ("crescent", (2000, 2), np.int64),
])
def test_shapes_and_seeds(name, x_shape, y_dtype):
    generate = getattr(datasets, name)
    (x_train, y_train), (x_test, y_test) = generate()
    assert x_train.shape == x_shape and x_train.dtype == np.float32
    assert y_train.dtype == y_dtype and len(y_train) == len(x_train)
    assert len(x_test) == len(y_test) > 0
    (again, _), _ = generate()
    assert np.array_equal(x_train, again)
    (other, _), _ = generate(seed=1)
    assert not np.array_equal(x_train, other)


def test_images_are_balanced_and_in_range():
    (x, y), _ = datasets.images(classes=6, n_train=300, n_test=60)
    assert x.min() >= 0 and x.max() <= 1
    assert np.bincount(y).tolist() == [50] * 6


def test_tabular_classes_are_learnable():
    """Nearest class centre, fitted on train, beats chance on test by a wide margin."""
    (x, y), (xt, yt) = datasets.tabular(classes=3)
    centres = np.stack([x[y == k].mean(0) for k in range(3)])
    predicted = np.argmin(((xt[:, None] - centres) ** 2).sum(-1), axis=1)
    assert (predicted == yt).mean() > 1 / 3 + 0.3


def test_sequences_beat_the_naive_forecast():
    """A linear autoregression on the window beats repeating the last value."""
    (x, y), (xt, yt) = datasets.sequences()
    x, xt = x[..., 0], xt[..., 0]
    weights, *_ = np.linalg.lstsq(x, y, rcond=None)
    linear = np.mean((xt @ weights - yt) ** 2)
    naive = np.mean((xt[:, -1] - yt) ** 2)
    assert linear < 0.5 * naive


def test_recall_target_is_the_marked_value():
    (x, y), _ = datasets.recall(n_train=50, n_test=10)
    assert np.all(x[..., 1].sum(1) == 1)
    marked = x[..., 1].argmax(1)
    assert np.all(marked < 10)
    assert np.array_equal(y, x[np.arange(50), marked, 0])


def test_signals_anomalies_only_in_test():
    (x, y), (xt, yt) = datasets.signals()
    assert y.sum() == 0 and yt.mean() == 0.5
    # a spike or a step makes the signal rougher: its largest jump is bigger
    jump = np.abs(np.diff(xt, axis=1)).max(1)
    assert np.median(jump[yt == 1]) > 2 * np.median(jump[yt == 0])


def test_images_patterns_choose_the_classes():
    (x, y), _ = datasets.images(n_train=30, n_test=6, patterns=("cross", "square", "checkerboard"))
    assert x.shape == (30, 32, 32, 3) and set(y) == {0, 1, 2}
