"""The dataset library: shapes, seeds, and signal a simple model can find."""

import numpy as np
import pytest

from kernelblog import datasets


@pytest.mark.parametrize("name, x_shape, y_dtype", [
    ("images", (600, 32, 32, 3), np.int64),
    ("sequences", (800, 32, 1), np.float32),
    ("tabular", (800, 8), np.int64),
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
