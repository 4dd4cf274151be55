"""Small, seeded, learnable synthetic datasets for the blog's snippets.

Every generator returns ``(x_train, y_train), (x_test, y_test)`` as keras.datasets does,
needs only numpy, and gives the same arrays for the same arguments. The class or target
depends on structure in the input, so a model that learns beats chance by a wide margin.
"""

from __future__ import annotations

import numpy as np

IMAGE_PATTERNS = ("horizontal stripes", "vertical stripes", "diagonal stripes", "ring",
                  "checkerboard", "blob", "cross", "square")


def images(n_train: int = 600, n_test: int = 200, classes: int = 4, size: int = 32,
           noise: float = 0.25, seed: int = 0, patterns: tuple[str, ...] | None = None):
    """Colour images of textures and shapes, one pattern per class.

    x: float32 (n, size, size, 3) in [0, 1]; y: int64 (n,) in [0, classes).
    Class k is pattern k of `patterns`, by default the first `classes` of IMAGE_PATTERNS:
    horizontal stripes, vertical stripes, diagonal stripes, ring, checkerboard, blob,
    cross, square. Frequency, phase, position and colours are random per image, and
    Gaussian noise of standard deviation `noise` is added, so the class is in the spatial
    structure, not in a colour or a single pixel.
    """
    patterns = tuple(patterns or IMAGE_PATTERNS[:classes])
    classes = len(patterns)
    if classes < 2 or not set(patterns) <= set(IMAGE_PATTERNS):
        raise ValueError(f"choose at least 2 patterns among {', '.join(IMAGE_PATTERNS)}")
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    labels = _balanced_labels(rng, n_train, n_test, classes)
    yy, xx = np.mgrid[0:size, 0:size] / size
    x = np.empty((n, size, size, 3), dtype=np.float32)
    for i, label in enumerate(labels):
        pattern = _pattern(IMAGE_PATTERNS.index(patterns[label]), xx, yy, rng)
        foreground, background = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        while np.abs(foreground - background).sum() < 0.8:  # keep the pattern visible
            foreground, background = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        image = pattern[..., None] * foreground + (1 - pattern[..., None]) * background
        x[i] = np.clip(image + rng.normal(0, noise, image.shape), 0, 1)
    return _split(x, labels.astype(np.int64), n_train)


def _pattern(label: int, xx: np.ndarray, yy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One grey pattern in [0, 1] for a class."""
    frequency, phase = rng.uniform(2.5, 4.5), rng.uniform(0, 2 * np.pi)
    cx, cy = rng.uniform(0.3, 0.7, 2)
    if label == 0:
        return (np.sin(2 * np.pi * frequency * yy + phase) > 0).astype(float)
    if label == 1:
        return (np.sin(2 * np.pi * frequency * xx + phase) > 0).astype(float)
    if label == 2:
        return (np.sin(2 * np.pi * frequency * (xx + yy) / np.sqrt(2) + phase) > 0).astype(float)
    radius = np.hypot(xx - cx, yy - cy)
    if label == 3:
        r = rng.uniform(0.15, 0.3)
        return (np.abs(radius - r) < 0.06).astype(float)
    if label == 4:
        cells = np.floor(xx * frequency * 2 + phase) + np.floor(yy * frequency * 2 + phase)
        return (cells % 2).astype(float)
    if label == 5:
        return (radius < rng.uniform(0.15, 0.3)).astype(float)
    half, width = rng.uniform(0.15, 0.3), 0.05
    if label == 6:
        return (((np.abs(xx - cx) < width) & (np.abs(yy - cy) < half))
                | ((np.abs(yy - cy) < width) & (np.abs(xx - cx) < half))).astype(float)
    box = np.maximum(np.abs(xx - cx), np.abs(yy - cy))
    return (np.abs(box - half) < width).astype(float)


def sequences(n_train: int = 800, n_test: int = 200, length: int = 32, noise: float = 0.1, seed: int = 0):
    """Noisy sums of two sine waves; the target is the next value of the clean signal.

    x: float32 (n, length, 1); y: float32 (n,). Frequencies, phases and amplitudes are
    random per sequence, so predicting the next value requires using the whole window.
    Repeating the last observed value, the naive forecast, is the baseline to beat.
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    t = np.arange(length + 1)
    frequencies = rng.uniform(0.02, 0.15, (n, 2))
    phases = rng.uniform(0, 2 * np.pi, (n, 2))
    amplitudes = rng.uniform(0.3, 1.0, (n, 2))
    clean = (amplitudes[:, :, None] * np.sin(2 * np.pi * frequencies[:, :, None] * t + phases[:, :, None])).sum(1)
    observed = clean[:, :length] + rng.normal(0, noise, (n, length))
    x = observed[..., None].astype(np.float32)
    y = clean[:, length].astype(np.float32)
    return _split(x, y, n_train)


def recall(n_train: int = 2000, n_test: int = 500, length: int = 40, seed: int = 0):
    """Sequences with one marked early step; the target is the value at the mark.

    x: float32 (n, length, 2). Channel 0 holds values uniform in [-1, 1]; channel 1 is 1
    at one step in the first quarter of the sequence and 0 elsewhere. y: float32 (n,), the
    marked value. A model that reads the sequence in order must hold that value for at
    least three quarters of its length; the best constant guess has a mean squared error
    of 1/3.
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    values = rng.uniform(-1, 1, (n, length))
    marks = np.zeros((n, length))
    where = rng.integers(0, length // 4, n)
    marks[np.arange(n), where] = 1
    x = np.stack([values, marks], axis=-1).astype(np.float32)
    return _split(x, values[np.arange(n), where].astype(np.float32), n_train)


def signals(n_train: int = 1000, n_test: int = 400, length: int = 64, anomalies: float = 0.5,
            noise: float = 0.05, seed: int = 0):
    """Smooth waveforms for anomaly detection; the anomalies carry a spike or a step.

    x: float32 (n, length). A normal signal is a sine with random frequency, phase and
    amplitude plus a little noise. The training set is all normal (y_train is all 0). In
    the test set a fraction `anomalies` (y_test = 1) also has a spike or a step somewhere,
    which a model of normal signals reconstructs poorly.
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    t = np.linspace(0, 1, length)
    frequency = rng.uniform(1, 3, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    amplitude = rng.uniform(0.5, 1.0, (n, 1))
    x = amplitude * np.sin(2 * np.pi * frequency * t + phase) + rng.normal(0, noise, (n, length))
    y = np.zeros(n, dtype=np.int64)
    y[n_train:] = rng.permutation(np.arange(n_test) < round(anomalies * n_test))
    for i in np.flatnonzero(y):
        where = rng.integers(4, length - 4)
        if rng.random() < 0.5:
            x[i, where:where + 3] += rng.choice([-1, 1]) * rng.uniform(1.0, 1.5)
        else:
            x[i, where:] += rng.choice([-1, 1]) * rng.uniform(0.6, 1.0)
    return _split(x.astype(np.float32), y, n_train)


def crescent(n_train: int = 2000, n_test: int = 500, noise: float = 0.15, seed: int = 0):
    """2-D points on a noisy crescent: a small distribution for generative models.

    x: float32 (n, 2), roughly centred; y is all 0 (there are no labels). Points follow
    the arc y = x² / 2 for x in [-1.5, 1.5], shifted to mean zero, with Gaussian noise.
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    u = rng.uniform(-1.5, 1.5, n)
    x = np.stack([u, 0.5 * u ** 2 - 0.375], axis=1) + rng.normal(0, noise, (n, 2))
    return _split(x.astype(np.float32), np.zeros(n, dtype=np.int64), n_train)


def tabular(n_train: int = 800, n_test: int = 200, features: int = 8, classes: int | None = 3,
            seed: int = 0):
    """Feature vectors for classification or, with ``classes=None``, regression.

    x: float32 (n, features), standardised. Classification: each class is a Gaussian
    cluster around its own centre; y is int64 (n,) in [0, classes). Regression: y is
    float32 (n,), a smooth non-linear function of the first three features plus noise.
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    if classes is None:
        x = rng.normal(0, 1, (n, features))
        y = np.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2] + rng.normal(0, 0.1, n)
        return _split(x.astype(np.float32), y.astype(np.float32), n_train)
    centres = rng.normal(0, 1.2, (classes, features))
    labels = _balanced_labels(rng, n_train, n_test, classes)
    x = centres[labels] + rng.normal(0, 1, (n, features))
    x = (x - x.mean(0)) / x.std(0)
    return _split(x.astype(np.float32), labels.astype(np.int64), n_train)


def _balanced_labels(rng: np.random.Generator, n_train: int, n_test: int, classes: int) -> np.ndarray:
    """Shuffled labels with every class equally often in train and in test (up to one)."""
    return np.concatenate([rng.permutation(np.arange(n) % classes) for n in (n_train, n_test)])


def _split(x: np.ndarray, y: np.ndarray, n_train: int):
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
