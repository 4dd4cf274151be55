"""The dataset library: shapes, seeds, and signal a simple model can find."""

import inspect

import numpy as np
import pytest

from kernelblog import datasets


@pytest.mark.parametrize(
    "name, x_shape, y_dtype",
    [
        ("images", (600, 32, 32, 3), np.int64),
        ("sequences", (800, 32, 1), np.float32),
        ("tabular", (800, 8), np.int64),
        ("recall", (2000, 40, 2), np.float32),
        ("signals", (1000, 64), np.int64),
        ("crescent", (2000, 2), np.int64),
    ],
)
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


@pytest.mark.parametrize(
    "shape, targets, outputs, vocabulary, y_shape, y_dtype",
    [
        ((32, 32, 3), "onehot", 10, None, (10,), np.float32),
        ((32, 32, 1), "sparse", 4, None, (), np.int64),
        ((32, 1), "sparse", 3, None, (), np.int64),
        ((50, 1), "regression", 1, None, (), np.float32),
        ((13,), "regression", 2, None, (2,), np.float32),
        ((20,), "binary", 1, None, (), np.float32),
        ((12,), "multilabel", 5, None, (5,), np.float32),
        ((40,), "sparse", 2, 1000, (), np.int64),
        ((28, 28, 1), "inputs", 1, None, (28, 28, 1), np.float32),
    ],
)
def test_matching_shapes(shape, targets, outputs, vocabulary, y_shape, y_dtype):
    (x, y), (x_test, y_test) = datasets.matching(
        shape, targets, outputs, vocabulary, n_train=120, n_test=40
    )
    assert x.shape == (120, *shape) and x_test.shape == (40, *shape)
    assert x.dtype == (np.int64 if vocabulary else np.float32)
    assert y.shape == (120, *y_shape) and y.dtype == y_dtype and y_test.shape == (40, *y_shape)
    if vocabulary:
        assert x.min() >= 1 and x.max() < vocabulary
    (again, _), _ = datasets.matching(shape, targets, outputs, vocabulary, n_train=120, n_test=40)
    assert np.array_equal(x, again)


@pytest.mark.parametrize(
    "shape, vocabulary", [((32, 32, 3), None), ((32, 1), None), ((16,), None), ((30,), 500)]
)
def test_matching_classes_are_learnable(shape, vocabulary):
    """A nearest-centroid classifier on simple features beats chance on held-out data."""
    (x, y), (x_test, y_test) = datasets.matching(
        shape, "sparse", 4, vocabulary, n_train=400, n_test=200
    )

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


# Stand-ins for keras.datasets: what Keras's load_data returns, per example, small and learnable.


@pytest.mark.parametrize(
    "name, kwargs, x_shape, x_dtype, y_shape, y_dtype, classes",
    [
        ("mnist", {"n_train": 400, "n_test": 50}, (400, 28, 28), np.uint8, (400,), np.uint8, 10),
        (
            "fashion_mnist",
            {"n_train": 300, "n_test": 50},
            (300, 28, 28),
            np.uint8,
            (300,),
            np.uint8,
            10,
        ),
        (
            "cifar10",
            {"n_train": 300, "n_test": 50},
            (300, 32, 32, 3),
            np.uint8,
            (300, 1),
            np.uint8,
            10,
        ),
        (
            "cifar100",
            {"n_train": 400, "n_test": 50},
            (400, 32, 32, 3),
            np.uint8,
            (400, 1),
            np.int64,
            100,
        ),
        (
            "cifar100",
            {"label_mode": "coarse", "n_train": 400, "n_test": 50},
            (400, 32, 32, 3),
            np.uint8,
            (400, 1),
            np.int64,
            20,
        ),
        ("boston_housing", {}, (404, 13), np.float64, (404,), np.float64, None),
        (
            "california_housing",
            {"version": "small"},
            (480, 8),
            np.float32,
            (480,),
            np.float32,
            None,
        ),
    ],
)
def test_standins_have_keras_structure_dtypes_and_shapes(
    name, kwargs, x_shape, x_dtype, y_shape, y_dtype, classes
):
    (x, y), (x_test, y_test) = getattr(datasets, name).load_data(**kwargs)
    assert (x.shape, x.dtype, y.shape, y.dtype) == (x_shape, x_dtype, y_shape, y_dtype)
    assert x_test.shape[1:] == x.shape[1:] and len(x_test) == len(y_test)
    if classes:
        assert x.min() == 0 and x.max() == 255 and set(np.unique(y)) == set(range(classes))
    (again, _), _ = getattr(datasets, name).load_data(**kwargs)
    assert np.array_equal(x, again)


def test_standin_summaries_state_the_default_sizes():
    from kernelblog.complete import dataset_standins

    summaries = dataset_standins()
    assert set(summaries) == {
        "mnist",
        "fashion_mnist",
        "cifar10",
        "cifar100",
        "imdb",
        "reuters",
        "boston_housing",
        "california_housing",
    }
    for name, summary in summaries.items():
        defaults = inspect.signature(getattr(datasets, name).load_data).parameters
        if "n_train" in defaults:  # generated at these sizes (mnist is, above)
            sizes = defaults["n_train"].default, defaults["n_test"].default
        else:
            (x, _), (x_test, _) = getattr(datasets, name).load_data()
            sizes = len(x), len(x_test)
        assert summary.startswith(f"{sizes[0]:,}/{sizes[1]:,} "), name


def test_imdb_honours_keras_options():
    (x, y), (x_test, _) = datasets.imdb.load_data(
        num_words=100, maxlen=60, start_char=1, oov_char=2, index_from=3, n_train=300, n_test=50
    )
    assert x.dtype == object and y.dtype == np.int64 and set(np.unique(y)) == {0, 1}
    assert all(seq[0] == 1 and len(seq) <= 60 and max(seq) < 100 for seq in x) and len(x) < 300
    assert any(2 in seq for seq in x)  # words past num_words became oov_char
    (dropped, _), _ = datasets.imdb.load_data(num_words=100, oov_char=None, n_train=300, n_test=50)
    assert all(max(seq) < 100 for seq in dropped)
    (shifted, _), _ = datasets.imdb.load_data(index_from=10, start_char=7, n_train=300, n_test=50)
    (plain, _), _ = datasets.imdb.load_data(n_train=300, n_test=50)
    assert shifted[0][0] == 7 and [w - 10 for w in shifted[0][1:]] == [w - 3 for w in plain[0][1:]]
    index = datasets.imdb.get_word_index()
    assert index["the"] == 1 and len(index) == datasets.VOCABULARY
    words = {rank: word for word, rank in index.items()}
    assert any(
        words.get(w - 3) in datasets.POSITIVE_WORDS + datasets.NEGATIVE_WORDS for w in plain[0]
    )


def test_standins_are_learnable():
    """A least-squares linear classifier beats chance by a wide margin on each."""

    def linear_accuracy(x, y, x_test, y_test, classes):
        pool = lambda v: v.reshape(len(v), v.shape[1] // 2, 2, v.shape[2] // 2, 2, -1).mean((2, 4))  # noqa: E731
        x, x_test = (
            pool(x).reshape(len(x), -1) / 255.0,
            pool(x_test).reshape(len(x_test), -1) / 255.0,
        )
        weights = np.linalg.solve(
            x.T @ x + 10 * np.eye(x.shape[1]), x.T @ np.eye(classes)[y.ravel()]
        )
        return np.mean(np.argmax(x_test @ weights, 1) == y_test.ravel())

    for name in ("mnist", "fashion_mnist", "cifar10"):
        (x, y), (x_test, y_test) = getattr(datasets, name).load_data(n_train=600, n_test=200)
        assert linear_accuracy(x, y, x_test, y_test, 10) > 0.3, name  # chance: 0.1
    (x, y), (x_test, y_test) = datasets.imdb.load_data(num_words=500, n_train=1000, n_test=300)
    bag = lambda seqs: np.array([np.bincount(s, minlength=500) > 0 for s in seqs], dtype=float)  # noqa: E731
    a, b = bag(x), bag(x_test)
    w = np.linalg.solve(a.T @ a + np.eye(500), a.T @ (2.0 * y - 1))
    assert np.mean((b @ w > 0) == y_test) > 0.75  # chance: 0.5
    (x, y), (x_test, y_test) = datasets.boston_housing.load_data()
    design = lambda v: np.c_[v, np.ones(len(v))]  # noqa: E731
    coefficients = np.linalg.lstsq(design(x), y, rcond=None)[0]
    assert 1 - np.mean((design(x_test) @ coefficients - y_test) ** 2) / np.var(y_test) > 0.5


def test_smooth_signal_anomalies_have_no_jump_or_peak_a_rule_could_flag():
    """The "frequency" and "harmonic" anomalies stay within what normal signals do: no larger jump
    between samples and no larger peak, so only a model of the signals' shape can find them."""
    (x, _), (xt, yt) = datasets.signals(n_train=2000, n_test=400, kinds=("frequency", "harmonic"))
    anomalous = xt[yt == 1]
    assert len(anomalous) == 200 and (x.shape, xt.shape) == ((2000, 64), (400, 64))
    jump = lambda signals: np.abs(np.diff(signals, axis=1)).max(axis=1)  # noqa: E731
    assert jump(anomalous).max() <= jump(x).max() and np.abs(anomalous).max() <= np.abs(x).max()
    with pytest.raises(ValueError, match="choose kinds among"):
        datasets.signals(kinds=("wobble",))
