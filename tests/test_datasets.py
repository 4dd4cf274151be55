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


@pytest.mark.parametrize("shape, targets, outputs, vocabulary, y_shape, y_dtype", [
    ((32, 32, 3), "onehot", 10, None, (10,), np.float32),
    ((32, 32, 1), "sparse", 4, None, (), np.int64),
    ((32, 1), "sparse", 3, None, (), np.int64),
    ((50, 1), "regression", 1, None, (), np.float32),
    ((13,), "regression", 2, None, (2,), np.float32),
    ((20,), "binary", 1, None, (), np.float32),
    ((12,), "multilabel", 5, None, (5,), np.float32),
    ((40,), "sparse", 2, 1000, (), np.int64),
    ((28, 28, 1), "inputs", 1, None, (28, 28, 1), np.float32),
])
def test_matching_shapes(shape, targets, outputs, vocabulary, y_shape, y_dtype):
    (x, y), (x_test, y_test) = datasets.matching(shape, targets, outputs, vocabulary, n_train=120, n_test=40)
    assert x.shape == (120, *shape) and x_test.shape == (40, *shape)
    assert x.dtype == (np.int64 if vocabulary else np.float32)
    assert y.shape == (120, *y_shape) and y.dtype == y_dtype and y_test.shape == (40, *y_shape)
    if vocabulary:
        assert x.min() >= 1 and x.max() < vocabulary
    (again, _), _ = datasets.matching(shape, targets, outputs, vocabulary, n_train=120, n_test=40)
    assert np.array_equal(x, again)


@pytest.mark.parametrize("shape, vocabulary", [((32, 32, 3), None), ((32, 1), None), ((16,), None), ((30,), 500)])
def test_matching_classes_are_learnable(shape, vocabulary):
    """A nearest-centroid classifier on simple features beats chance on held-out data."""
    (x, y), (x_test, y_test) = datasets.matching(shape, "sparse", 4, vocabulary, n_train=400, n_test=200)

    def features(a):
        a = a.reshape(len(a), -1)
        if vocabulary:  # bag of words
            return np.stack([np.bincount(row, minlength=vocabulary) for row in a]).astype(float)
        return np.abs(np.fft.rfft(a - a.mean(1, keepdims=True), axis=1))  # phase-free spectrum

    f, f_test = features(x), features(x_test)
    centroids = np.stack([f[y == k].mean(0) for k in range(4)])
    predicted = np.argmin(((f_test[:, None] - centroids) ** 2).sum(-1), axis=1)
    assert (predicted == y_test).mean() > 0.5  # chance is 0.25


def test_matching_regression_targets_follow_the_input():
    (x, y), _ = datasets.matching((50, 1), "regression", 1, n_train=300, n_test=10)
    energy = np.abs(np.fft.rfft(x[..., 0], axis=1)).max(1)
    assert np.corrcoef(energy, y)[0, 1] > 0.8


def test_matching_rejects_what_it_cannot_make():
    with pytest.raises(ValueError, match="unknown targets"):
        datasets.matching((8,), "ranking")
    with pytest.raises(ValueError, match="at least 2 classes"):
        datasets.matching((8,), "sparse", 1)
