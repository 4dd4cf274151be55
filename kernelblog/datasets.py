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
           noise: float = 0.25, seed: int = 0, patterns: tuple[str, ...] | None = None, channels: int = 3):
    """Colour images of textures and shapes, one pattern per class.

    x: float32 (n, size, size, channels) in [0, 1]; y: int64 (n,) in [0, classes).
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
    x = np.empty((n, size, size, channels), dtype=np.float32)
    for i, label in enumerate(labels):
        pattern = _pattern(IMAGE_PATTERNS.index(patterns[label]), xx, yy, rng)
        foreground, background = rng.uniform(0, 1, channels), rng.uniform(0, 1, channels)
        while np.abs(foreground - background).sum() < 0.8 * channels / 3:  # keep the pattern visible
            foreground, background = rng.uniform(0, 1, channels), rng.uniform(0, 1, channels)
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


def matching(input_shape: tuple[int, ...], targets: str = "sparse", outputs: int = 2,
             vocabulary: int | None = None, n_train: int = 800, n_test: int = 200, seed: int = 0):
    """Data shaped for a model: inputs of `input_shape`, targets for its loss.

    `targets` is "sparse" (int64 labels in [0, outputs)), "onehot" (float32 (n, outputs)),
    "binary" (float32 0/1, (n,)), "multilabel" (float32 0/1, (n, outputs)), "regression"
    (float32 (n,) or (n, outputs)) or "inputs" (y is x, for autoencoders). With
    `vocabulary`, x holds int64 token ids in [1, vocabulary). Each class has its own
    structure (a pattern for images, a frequency for sequences, a centre for vectors,
    keywords for tokens), and each regression target is a smooth function of the input,
    so a model that learns beats chance.
    """
    rng = np.random.default_rng(seed)
    shape, n = tuple(input_shape), n_train + n_test
    classes = {"sparse": outputs, "onehot": outputs, "binary": 2}.get(targets)
    if targets not in ("sparse", "onehot", "binary", "multilabel", "regression", "inputs"):
        raise ValueError(f"unknown targets {targets!r}")
    if classes is not None and classes < 2:
        raise ValueError("classification needs at least 2 classes")
    if vocabulary is not None:
        x, y = _tokens(rng, n, shape, vocabulary, classes, targets, outputs)
    elif len(shape) == 1 and (classes or (targets == "regression" and outputs == 1 and shape[0] >= 3)):
        (x, y), (x_test, y_test) = tabular(n_train, n_test, shape[0], classes, seed=seed)
        x, y = np.concatenate([x, x_test]), np.concatenate([y, y_test])
    elif (classes and len(shape) == 3 and shape[0] == shape[1] and classes <= len(IMAGE_PATTERNS)
          and targets != "multilabel"):
        (x, y), (x_test, y_test) = images(n_train, n_test, classes, shape[0], seed=seed, channels=shape[2])
        x, y = np.concatenate([x, x_test]), np.concatenate([y, y_test])
    else:
        x, y = _structured(rng, n, shape, classes, targets, outputs)
    if targets == "onehot":
        y = np.eye(outputs, dtype=np.float32)[y]
    elif targets == "binary":
        y = y.astype(np.float32)
    elif targets == "inputs":
        y = x.copy()
    return _split(x, y, n_train)


def _structured(rng: np.random.Generator, n: int, shape: tuple[int, ...], classes: int | None, targets: str,
                outputs: int):
    """Float inputs made of waves along the flattened input, with a random phase per example
    and noise: a class has its own frequency; regression targets are the waves' amplitudes
    (in [0, 1]);
    multi-label targets say which frequencies are present."""
    components = classes or outputs
    steps = int(np.prod(shape[:-1])) if len(shape) > 1 else shape[0]
    t = np.linspace(0, 1, steps)
    frequencies = 2 + 1.5 * rng.permutation(components)
    if classes:
        labels = rng.permutation(np.arange(n) % classes)
        weights = np.eye(components)[labels] * rng.uniform(0.7, 1.3, (n, 1))
        y = labels.astype(np.int64)
    elif targets == "multilabel":
        weights = (rng.random((n, components)) < 0.5).astype(float)
        y = weights.astype(np.float32)
    else:
        weights = rng.uniform(0, 1, (n, components))
        y = (weights if outputs > 1 else weights[:, 0]).astype(np.float32)
    channels = shape[-1] if len(shape) > 1 else 1
    x = np.zeros((n, steps, channels))
    for k in range(components):
        phase = rng.uniform(0, 2 * np.pi, (n, 1, channels))
        x += weights[:, k, None, None] * np.sin(2 * np.pi * frequencies[k] * t[None, :, None] + phase)
    x += rng.normal(0, 0.5, x.shape)
    return x.reshape((n,) + shape).astype(np.float32), y


def _tokens(rng: np.random.Generator, n: int, shape: tuple[int, ...], vocabulary: int, classes: int | None,
            targets: str, outputs: int):
    """Token ids; each class (or output) has keywords, and a sequence carries those of its label."""
    components = classes or outputs
    if vocabulary < 2 + 3 * components:
        raise ValueError(f"a vocabulary of {vocabulary} is too small for {components} classes of keywords")
    keywords = rng.permutation(np.arange(1, vocabulary))[: 3 * components].reshape(components, 3)
    x = rng.integers(1, vocabulary, (n,) + shape)
    flat = x.reshape(n, -1)
    if classes:
        labels = rng.permutation(np.arange(n) % classes)
        present = np.eye(components, dtype=bool)[labels]
        y = labels.astype(np.int64)
    else:
        present = rng.random((n, components)) < 0.5
        y = present.astype(np.float32)
        if targets == "regression":
            y = (present * rng.uniform(0.5, 1.0, (n, components))).astype(np.float32)
            y = y if outputs > 1 else y[:, 0]
    for i in range(n):
        for k in np.flatnonzero(present[i]):
            where = rng.choice(flat.shape[1], size=min(3, flat.shape[1]), replace=False)
            flat[i, where] = rng.choice(keywords[k], size=len(where))
    return flat.reshape((n,) + shape).astype(np.int64), y


def _balanced_labels(rng: np.random.Generator, n_train: int, n_test: int, classes: int) -> np.ndarray:
    """Shuffled labels with every class equally often in train and in test (up to one)."""
    return np.concatenate([rng.permutation(np.arange(n) % classes) for n in (n_train, n_test)])


def _split(x: np.ndarray, y: np.ndarray, n_train: int):
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
