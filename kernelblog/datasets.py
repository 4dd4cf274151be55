"""Small, seeded, learnable synthetic datasets for the blog's snippets.

Every generator returns ``(x_train, y_train), (x_test, y_test)`` as keras.datasets does,
needs only numpy, and gives the same arrays for the same arguments. The class or target
depends on structure in the input, so a model that learns beats chance by a wide margin.
"""

from __future__ import annotations

import numpy as np

IMAGE_PATTERNS = (
    "horizontal stripes",
    "vertical stripes",
    "diagonal stripes",
    "ring",
    "checkerboard",
    "blob",
    "cross",
    "square",
)


SIGNAL_ANOMALIES = ("spike", "step", "frequency", "harmonic")


def images(
    n_train: int = 600,
    n_test: int = 200,
    classes: int = 4,
    size: int = 32,
    noise: float = 0.25,
    seed: int = 0,
    patterns: tuple[str, ...] | None = None,
    channels: int = 3,
):
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
        while (
            np.abs(foreground - background).sum() < 0.8 * channels / 3
        ):  # keep the pattern visible
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
        return (
            ((np.abs(xx - cx) < width) & (np.abs(yy - cy) < half))
            | ((np.abs(yy - cy) < width) & (np.abs(xx - cx) < half))
        ).astype(float)
    box = np.maximum(np.abs(xx - cx), np.abs(yy - cy))
    return (np.abs(box - half) < width).astype(float)


def sequences(
    n_train: int = 800, n_test: int = 200, length: int = 32, noise: float = 0.1, seed: int = 0
):
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
    clean = (
        amplitudes[:, :, None]
        * np.sin(2 * np.pi * frequencies[:, :, None] * t + phases[:, :, None])
    ).sum(1)
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


def signals(
    n_train: int = 1000,
    n_test: int = 400,
    length: int = 64,
    anomalies: float = 0.5,
    noise: float = 0.05,
    seed: int = 0,
    kinds: tuple[str, ...] = ("spike", "step"),
):
    """Smooth waveforms for anomaly detection; each anomaly is one of `kinds`.

    x: float32 (n, length). A normal signal is a sine with random frequency, phase and
    amplitude plus a little noise. The training set is all normal (y_train is all 0). In
    the test set a fraction `anomalies` (y_test = 1) is anomalous, of a kind drawn from
    `kinds`: "spike" (a short bump) and "step" (a jump that stays) break the curve;
    "frequency" (the sine goes on faster or slower from a random point, without a jump) and
    "harmonic" (a second harmonic added, the amplitude kept) stay smooth, so a rule on
    jumps or extremes misses them.
    """
    if not kinds or not set(kinds) <= set(SIGNAL_ANOMALIES):
        raise ValueError(f"choose kinds among {', '.join(SIGNAL_ANOMALIES)}")
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
        if tuple(kinds) == ("spike", "step"):  # the original draws, so old arrays stay the same
            where = rng.integers(4, length - 4)
            kind = "spike" if rng.random() < 0.5 else "step"
        else:
            where = rng.integers(length // 4, 3 * length // 4)
            kind = kinds[rng.integers(len(kinds))]
        if kind == "spike":
            x[i, where : where + 3] += rng.choice([-1, 1]) * rng.uniform(1.0, 1.5)
        elif kind == "step":
            x[i, where:] += rng.choice([-1, 1]) * rng.uniform(0.6, 1.0)
        else:
            angle = 2 * np.pi * frequency[i] * t + phase[i]
            if kind == "frequency":  # phase-continuous: the curve bends, it does not jump
                ratio = rng.uniform(1.4, 1.8) if rng.random() < 0.5 else rng.uniform(0.55, 0.7)
                angle[where:] = angle[where] + ratio * (angle[where:] - angle[where])
                clean = np.sin(angle)
            else:
                weight = rng.uniform(0.3, 0.5)
                clean = np.sin(angle) + weight * np.sin(2 * angle + rng.uniform(0, 2 * np.pi))
                clean /= np.abs(clean).max()  # the same peak amplitude as the normal sine
            x[i] = amplitude[i] * clean + rng.normal(0, noise, length)
    return _split(x.astype(np.float32), y, n_train)


def crescent(n_train: int = 2000, n_test: int = 500, noise: float = 0.15, seed: int = 0):
    """2-D points on a noisy crescent: a small distribution for generative models.

    x: float32 (n, 2), roughly centred; y is all 0 (there are no labels). Points follow
    the arc y = x² / 2 for x in [-1.5, 1.5], shifted to mean zero, with Gaussian noise.
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    u = rng.uniform(-1.5, 1.5, n)
    x = np.stack([u, 0.5 * u**2 - 0.375], axis=1) + rng.normal(0, noise, (n, 2))
    return _split(x.astype(np.float32), np.zeros(n, dtype=np.int64), n_train)


def tabular(
    n_train: int = 800, n_test: int = 200, features: int = 8, classes: int | None = 3, seed: int = 0
):
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


def matching(
    input_shape: tuple[int, ...],
    targets: str = "sparse",
    outputs: int = 2,
    vocabulary: int | None = None,
    n_train: int = 800,
    n_test: int = 200,
    seed: int = 0,
):
    """Data shaped for a model: inputs of `input_shape`, targets for its loss.

    A list of shapes, for a model with several inputs, gives x as a list of arrays, one per
    input (the shapes may differ in their last dimension only).

    `targets` is "sparse" (int64 labels in [0, outputs)), "onehot" (float32 (n, outputs)),
    "binary" (float32 0/1, (n,)), "multilabel" (float32 0/1, (n, outputs)), "regression"
    (float32 (n,) or (n, outputs)) or "inputs" (y is x, for autoencoders). With
    `vocabulary`, x holds int64 token ids in [1, vocabulary). Each class has its own
    structure (a pattern for images, a frequency for sequences, a centre for vectors,
    keywords for tokens), and each regression target is a smooth function of the input,
    so a model that learns beats chance.
    """
    if isinstance(input_shape, list):  # several inputs: one joint input, split along its last axis
        shapes = [tuple(s) for s in input_shape]
        if len({s[:-1] for s in shapes}) != 1 or targets == "inputs":
            raise ValueError("several inputs must differ in their last dimension only")
        joint = shapes[0][:-1] + (sum(s[-1] for s in shapes),)
        (x, y), (x_test, y_test) = matching(
            joint, targets, outputs, vocabulary, n_train, n_test, seed
        )
        cuts = np.cumsum([s[-1] for s in shapes])[:-1]
        return (np.split(x, cuts, axis=-1), y), (np.split(x_test, cuts, axis=-1), y_test)
    rng = np.random.default_rng(seed)
    shape, n = tuple(input_shape), n_train + n_test
    classes = {"sparse": outputs, "onehot": outputs, "binary": 2}.get(targets)
    if targets not in ("sparse", "onehot", "binary", "multilabel", "regression", "inputs"):
        raise ValueError(f"unknown targets {targets!r}")
    if classes is not None and classes < 2:
        raise ValueError("classification needs at least 2 classes")
    if vocabulary is not None:
        x, y = _tokens(rng, n, shape, vocabulary, classes, targets, outputs)
    elif len(shape) == 1 and (
        classes or (targets == "regression" and outputs == 1 and shape[0] >= 3)
    ):
        (x, y), (x_test, y_test) = tabular(n_train, n_test, shape[0], classes, seed=seed)
        x, y = np.concatenate([x, x_test]), np.concatenate([y, y_test])
    elif (
        classes
        and len(shape) == 3
        and shape[0] == shape[1]
        and classes <= len(IMAGE_PATTERNS)
        and targets != "multilabel"
    ):
        (x, y), (x_test, y_test) = images(
            n_train, n_test, classes, shape[0], seed=seed, channels=shape[2]
        )
        x, y = np.concatenate([x, x_test]), np.concatenate([y, y_test])
    else:
        x, y = _structured(rng, n, shape, classes, targets, outputs)
    if targets == "onehot":
        y = np.eye(outputs, dtype=np.float32)[y]
    elif targets == "binary":
        y = y.astype(np.float32)
    elif targets == "inputs":  # an autoencoder's: values in [0, 1], as a sigmoid output gives
        x = ((x - x.min()) / max(float(x.max() - x.min()), 1e-9)).astype(x.dtype)
        y = x.copy()
    return _split(x, y, n_train)


def _structured(
    rng: np.random.Generator,
    n: int,
    shape: tuple[int, ...],
    classes: int | None,
    targets: str,
    outputs: int,
):
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
        x += weights[:, k, None, None] * np.sin(
            2 * np.pi * frequencies[k] * t[None, :, None] + phase
        )
    x += rng.normal(0, 0.5, x.shape)
    return x.reshape((n,) + shape).astype(np.float32), y


def _tokens(
    rng: np.random.Generator,
    n: int,
    shape: tuple[int, ...],
    vocabulary: int,
    classes: int | None,
    targets: str,
    outputs: int,
):
    """Token ids; each class (or output) has keywords, and a sequence carries those of its label."""
    components = classes or outputs
    if vocabulary < 2 + 3 * components:
        raise ValueError(
            f"a vocabulary of {vocabulary} is too small for {components} classes of keywords"
        )
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


def _balanced_labels(
    rng: np.random.Generator, n_train: int, n_test: int, classes: int
) -> np.ndarray:
    """Shuffled labels with every class equally often in train and in test (up to one)."""
    return np.concatenate([rng.permutation(np.arange(n) % classes) for n in (n_train, n_test)])


def _split(x: np.ndarray, y: np.ndarray, n_train: int):
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


# Stand-ins for keras.datasets. The build cannot download, so `mnist.load_data()` and the like
# get these: the same tuple structure, dtypes, value ranges and shapes per example as the real
# dataset, a few thousand seeded examples, and structure a model can learn. Each class's
# `summary` is shown on the page where the stand-in replaces the real one.

DIGIT_SEGMENTS = (
    "abcdef",
    "bc",
    "abged",
    "abgcd",
    "fgbc",
    "afgcd",
    "afgedc",
    "abc",
    "abcdefg",
    "abcdfg",
)
# Segments of a seven-segment digit as lines (x0, y0, x1, y1) in a unit box, y down.
SEGMENT_LINES = {
    "a": (0, 0, 1, 0),
    "b": (1, 0, 1, 0.5),
    "c": (1, 0.5, 1, 1),
    "d": (0, 1, 1, 1),
    "e": (0, 0.5, 0, 1),
    "f": (0, 0, 0, 0.5),
    "g": (0, 0.5, 1, 0.5),
}
# Fashion-MNIST's ten classes as unions of boxes (x0, y0, x1, y1) in a unit square.
GARMENTS = (
    ((0.3, 0.15, 0.7, 0.85), (0.1, 0.15, 0.3, 0.4), (0.7, 0.15, 0.9, 0.4)),  # T-shirt/top
    ((0.3, 0.1, 0.48, 0.95), (0.52, 0.1, 0.7, 0.95), (0.3, 0.1, 0.7, 0.3)),  # trouser
    ((0.3, 0.15, 0.7, 0.85), (0.1, 0.15, 0.3, 0.85), (0.7, 0.15, 0.9, 0.85)),  # pullover
    ((0.4, 0.1, 0.6, 0.4), (0.25, 0.4, 0.75, 0.95)),  # dress
    ((0.25, 0.1, 0.75, 0.95), (0.1, 0.1, 0.25, 0.8), (0.75, 0.1, 0.9, 0.8)),  # coat
    ((0.1, 0.7, 0.9, 0.8), (0.2, 0.55, 0.3, 0.7), (0.5, 0.55, 0.6, 0.7)),  # sandal
    ((0.3, 0.1, 0.7, 0.9), (0.15, 0.1, 0.3, 0.6), (0.7, 0.1, 0.85, 0.6)),  # shirt
    ((0.1, 0.55, 0.9, 0.8), (0.45, 0.4, 0.75, 0.55)),  # sneaker
    ((0.15, 0.4, 0.85, 0.9), (0.35, 0.2, 0.4, 0.4), (0.6, 0.2, 0.65, 0.4)),  # bag
    ((0.4, 0.1, 0.7, 0.8), (0.1, 0.6, 0.7, 0.85)),  # ankle boot
)
REVIEW_WORDS = (
    "the",
    "and",
    "a",
    "of",
    "to",
    "is",
    "br",
    "in",
    "it",
    "i",
    "this",
    "that",
    "was",
    "as",
    "for",
    "with",
    "movie",
    "but",
    "film",
    "on",
    "not",
    "you",
    "are",
    "his",
    "have",
    "he",
    "be",
    "one",
)
POSITIVE_WORDS = (
    "great",
    "excellent",
    "wonderful",
    "best",
    "loved",
    "beautiful",
    "brilliant",
    "perfect",
)
NEGATIVE_WORDS = ("bad", "worst", "awful", "boring", "terrible", "waste", "poor", "stupid")
REUTERS_TOPICS = (
    "cocoa",
    "grain",
    "veg-oil",
    "earn",
    "acq",
    "wheat",
    "copper",
    "housing",
    "money-supply",
    "coffee",
    "sugar",
    "trade",
    "reserves",
    "ship",
    "cotton",
    "carcass",
    "crude",
    "nat-gas",
    "cpi",
    "money-fx",
    "interest",
    "gnp",
    "meal-feed",
    "alum",
    "oilseed",
    "gold",
    "tin",
    "strategic-metal",
    "livestock",
    "retail",
    "ipi",
    "iron-steel",
    "rubber",
    "heat",
    "jobs",
    "lei",
    "bop",
    "zinc",
    "orange",
    "pet-chem",
    "dlr",
    "gas",
    "silver",
    "wpi",
    "hog",
    "lead",
)
VOCABULARY = 5000  # words in the stand-in text datasets, by decreasing frequency


def _strokes(rng: np.random.Generator, n: int, side: int, lines_of) -> np.ndarray:
    """Grey uint8 images (n, side, side): line drawings at a random place, size, slant and
    thickness, blurred edges and noise. `lines_of(i)` gives image i's lines in a unit box."""
    yy, xx = np.mgrid[0:side, 0:side] + 0.5
    x = np.empty((n, side, side), dtype=np.uint8)
    for i in range(n):
        width, height = rng.uniform(0.3, 0.45) * side, rng.uniform(0.55, 0.7) * side
        left, top = (
            rng.uniform(0.1 * side, 0.9 * side - width),
            rng.uniform(0.1 * side, 0.9 * side - height),
        )
        slant, thickness = rng.uniform(-0.25, 0.25), rng.uniform(0.9, 1.8)
        image = np.zeros((side, side))
        for x0, y0, x1, y1 in lines_of(i):
            ax, ay = left + x0 * width + slant * (1 - y0) * height / 2, top + y0 * height
            bx, by = left + x1 * width + slant * (1 - y1) * height / 2, top + y1 * height
            dx, dy = bx - ax, by - ay
            t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
            distance = np.hypot(xx - ax - t * dx, yy - ay - t * dy)
            image = np.maximum(image, np.clip(thickness + 0.5 - distance, 0, 1))
        image = image * rng.uniform(0.8, 1.0) + rng.normal(0, 0.04, image.shape)
        x[i] = np.clip(image * 255, 0, 255).astype(np.uint8)
    return x


def _digits(n_train: int, n_test: int, seed: int):
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(rng, n_train, n_test, 10)
    x = _strokes(
        rng, len(labels), 28, lambda i: [SEGMENT_LINES[s] for s in DIGIT_SEGMENTS[labels[i]]]
    )
    return _split(x, labels.astype(np.uint8), n_train)


def _garments(n_train: int, n_test: int, seed: int):
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(rng, n_train, n_test, 10)
    yy, xx = (np.mgrid[0:28, 0:28] + 0.5) / 28
    x = np.empty((len(labels), 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        scale, dx, dy = rng.uniform(0.85, 1.1), rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08)
        u, v = (xx - 0.5 - dx) / scale + 0.5, (yy - 0.5 - dy) / scale + 0.5
        shape = np.zeros((28, 28), dtype=bool)
        for x0, y0, x1, y1 in GARMENTS[label]:
            shape |= (u >= x0) & (u <= x1) & (v >= y0) & (v <= y1)
        texture = rng.uniform(0.5, 0.9) + 0.1 * np.sin(
            2 * np.pi * rng.uniform(2, 6) * v + rng.uniform(0, 6)
        )
        image = shape * texture + rng.normal(0, 0.05, shape.shape)
        x[i] = np.clip(image * 255, 0, 255).astype(np.uint8)
    return _split(x, labels.astype(np.uint8), n_train)


def _colour_images(n_train: int, n_test: int, classes: int, seed: int, label_dtype):
    """uint8 (n, 32, 32, 3) images; a class is one of 8 patterns in one of several colour
    families (hue bands), labels shaped (n, 1) as CIFAR's are."""
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(rng, n_train, n_test, classes)
    hues = -(-classes // len(IMAGE_PATTERNS))  # colour families needed
    yy, xx = np.mgrid[0:32, 0:32] / 32
    x = np.empty((len(labels), 32, 32, 3), dtype=np.uint8)
    for i, label in enumerate(labels):
        pattern = _pattern(label % len(IMAGE_PATTERNS), xx, yy, rng)
        hue = (label // len(IMAGE_PATTERNS) + rng.uniform(0.1, 0.9)) / hues
        foreground = 0.5 + 0.5 * np.cos(2 * np.pi * (hue - np.array([0, 1 / 3, 2 / 3])))
        background = rng.uniform(0, 0.35, 3)
        image = pattern[..., None] * foreground + (1 - pattern[..., None]) * background
        x[i] = np.clip((image + rng.normal(0, 0.08, image.shape)) * 255, 0, 255).astype(np.uint8)
    return _split(x, labels.reshape(-1, 1).astype(label_dtype), n_train)


def _word_index(topics: tuple[str, ...] = ()) -> dict[str, int]:
    """Word -> frequency rank (from 1): common words, sentiment or topic words, then `w<rank>`."""
    known = (
        list(REVIEW_WORDS)
        + list(POSITIVE_WORDS)
        + list(NEGATIVE_WORDS)
        + [t.replace("-", "") for t in topics]
    )
    return {
        (known[rank - 1] if rank <= len(known) else f"w{rank}"): rank
        for rank in range(1, VOCABULARY + 1)
    }


def _texts(
    n_train: int,
    n_test: int,
    classes: int,
    keyword_ranks,
    lengths: tuple[int, int],
    seed: int,
    num_words,
    skip_top: int,
    maxlen,
    start_char: int,
    oov_char,
    index_from: int,
):
    """Lists of word indices, encoded as keras.datasets encodes IMDB and Reuters: each list
    starts with `start_char`, a word of rank r is r + index_from, ranks under `skip_top` or
    from `num_words` up become `oov_char` (or are dropped when it is None), and lists longer
    than `maxlen` are left out. Words follow a Zipf law; each class adds its own keywords."""
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(rng, n_train, n_test, classes)
    weights = 1 / np.arange(1, VOCABULARY + 1)
    weights /= weights.sum()
    xs = []
    for label in labels:
        length = int(rng.integers(*lengths))
        ranks = rng.choice(VOCABULARY, size=length, p=weights) + 1
        spots = rng.choice(length, size=max(2, length // 12), replace=False)
        ranks[spots] = rng.choice(keyword_ranks[label], size=len(spots))
        words = ranks + index_from
        if oov_char is not None:
            words = np.where(
                (ranks < skip_top) | (num_words is not None and words >= (num_words or 0)),
                oov_char,
                words,
            )
        else:
            words = words[(ranks >= skip_top) & ((num_words is None) | (words < (num_words or 0)))]
        xs.append([start_char] + [int(w) for w in words])
    keep = [i for i, x in enumerate(xs) if maxlen is None or len(x) <= maxlen]
    train, test = [i for i in keep if i < n_train], [i for i in keep if i >= n_train]
    as_array = lambda picked: np.array([xs[i] for i in picked] + [None], dtype=object)[:-1]  # noqa: E731
    return (as_array(train), labels[train].astype(np.int64)), (
        as_array(test),
        labels[test].astype(np.int64),
    )


def _houses(n: int, features: int, test_split: float, seed: int, dtype):
    """Features and a price that depends on them smoothly, with noise; float, unstandardised."""
    rng = np.random.default_rng(seed)
    scales = rng.uniform(1, 100, features)
    z = rng.normal(0, 1, (n, features))
    price = (
        22
        + 6 * z[:, 0]
        - 4 * z[:, 1]
        + 3 * np.tanh(z[:, 2])
        + 2 * z[:, 3] * z[:, 4]
        + rng.normal(0, 1.5, n)
    )
    x = (np.abs(z * 0.3 + 1) * scales).astype(dtype)
    n_train = int(n * (1 - test_split))
    return _split(x, np.clip(price, 5, 50).astype(dtype), n_train)


class mnist:
    """Stand-in for keras.datasets.mnist: seven-segment digits drawn at random places,
    sizes, slants and thicknesses, uint8 (n, 28, 28) in [0, 255], labels uint8 0-9."""

    summary = "2,000/500 images, 28×28 uint8, 10 classes (digits)"

    @staticmethod
    def load_data(path="mnist.npz", n_train=2000, n_test=500, seed=0):
        return _digits(n_train, n_test, seed)


class fashion_mnist:
    """Stand-in for keras.datasets.fashion_mnist: silhouettes of the ten garment classes,
    uint8 (n, 28, 28), labels uint8 0-9."""

    summary = "2,000/500 images, 28×28 uint8, 10 classes (garment silhouettes)"

    @staticmethod
    def load_data(n_train=2000, n_test=500, seed=0):
        return _garments(n_train, n_test, seed)


class cifar10:
    """Stand-in for keras.datasets.cifar10: uint8 (n, 32, 32, 3) colour patterns, labels
    uint8 (n, 1) in 0-9."""

    summary = "2,000/500 images, 32×32×3 uint8, 10 classes (pattern and colour)"

    @staticmethod
    def load_data(n_train=2000, n_test=500, seed=0):
        return _colour_images(n_train, n_test, 10, seed, np.uint8)


class cifar100:
    """Stand-in for keras.datasets.cifar100: uint8 (n, 32, 32, 3), labels int64 (n, 1):
    100 fine classes (pattern and colour), or 20 coarse ones with label_mode="coarse"."""

    summary = "5,000/1,000 images, 32×32×3 uint8, 100 fine or 20 coarse classes"

    @staticmethod
    def load_data(label_mode="fine", n_train=5000, n_test=1000, seed=0):
        if label_mode not in ("fine", "coarse"):
            raise ValueError('`label_mode` must be one of `"fine"`, `"coarse"`.')
        return _colour_images(n_train, n_test, 100 if label_mode == "fine" else 20, seed, np.int64)


class imdb:
    """Stand-in for keras.datasets.imdb: reviews as lists of word indices (object arrays),
    labels int64 0 (negative) or 1 (positive); each class uses its own sentiment words."""

    summary = "2,000/500 reviews of 20 to 200 words, a 5,000-word vocabulary, 2 classes"

    @staticmethod
    def load_data(
        path="imdb.npz",
        num_words=None,
        skip_top=0,
        maxlen=None,
        seed=113,
        start_char=1,
        oov_char=2,
        index_from=3,
        n_train=2000,
        n_test=500,
        **kwargs,
    ):
        index = _word_index()
        keywords = [[index[w] for w in NEGATIVE_WORDS], [index[w] for w in POSITIVE_WORDS]]
        return _texts(
            n_train,
            n_test,
            2,
            keywords,
            (20, 200),
            seed,
            num_words,
            skip_top,
            maxlen,
            start_char,
            oov_char,
            index_from,
        )

    @staticmethod
    def get_word_index(path="imdb_word_index.json"):
        return _word_index()


class reuters:
    """Stand-in for keras.datasets.reuters: newswires as lists of word indices, labels int64
    in 0-45; each topic uses its own words."""

    summary = "2,000/500 newswires of 20 to 120 words, a 5,000-word vocabulary, 46 topics"

    @staticmethod
    def load_data(
        path="reuters.npz",
        num_words=None,
        skip_top=0,
        maxlen=None,
        test_split=0.2,
        seed=113,
        start_char=1,
        oov_char=2,
        index_from=3,
        n_train=2000,
        n_test=500,
    ):
        index = _word_index(REUTERS_TOPICS)
        keywords = [
            [index[t.replace("-", "")], 400 + 7 * k, 401 + 7 * k]
            for k, t in enumerate(REUTERS_TOPICS)
        ]
        return _texts(
            n_train,
            n_test,
            len(REUTERS_TOPICS),
            keywords,
            (20, 120),
            seed,
            num_words,
            skip_top,
            maxlen,
            start_char,
            oov_char,
            index_from,
        )

    @staticmethod
    def get_word_index(path="reuters_word_index.json"):
        return _word_index(REUTERS_TOPICS)

    @staticmethod
    def get_label_names():
        return REUTERS_TOPICS


class boston_housing:
    """Stand-in for keras.datasets.boston_housing: float64 (n, 13) features on their own
    scales, a float64 price in [5, 50] that depends on them."""

    summary = "404/102 houses, 13 float64 features, a price"

    @staticmethod
    def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
        return _houses(506, 13, test_split, seed, np.float64)


class california_housing:
    """Stand-in for keras.datasets.california_housing: float32 (n, 8) features, a float32
    value that depends on them; version="small" gives 600 examples, as Keras's does."""

    summary = '2,000/500 districts (480/120 with version="small"), 8 float32 features, a value'

    @staticmethod
    def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
        return _houses(2500 if version == "large" else 600, 8, test_split, seed, np.float32)
