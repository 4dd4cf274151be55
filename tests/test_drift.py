"""Keras 2 drift rules: checked against the installed Keras, read statically (never imported)."""

import ast

import pytest

from kernelblog import drift
from kernelblog.keras_index import api_root

SOURCE = api_root().parent / "src" if (api_root().parent / "src").is_dir() else api_root() / "src"


def exists(dotted: str, index) -> bool:
    """Whether keras exports `dotted` (a module, or a name in a module)."""
    if dotted in index.modules:
        return True
    module, _, name = dotted.rpartition(".")
    return module in index.names.get(name, ())


def methods(path: str) -> set[str]:
    tree = ast.parse((SOURCE / path).read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def parameters(path: str, function: str) -> set[str]:
    tree = ast.parse((SOURCE / path).read_text(encoding="utf-8"))
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    return {a.arg for a in node.args.args + node.args.kwonlyargs}


def test_every_replacement_named_exists_in_the_installed_keras(index):
    named = [name for entry in drift.REMOVED.values() if entry for name in entry[1]]
    named += [f"keras.layers.{new}" for new in drift.RENAMED_NAMES.values()]
    assert len(named) > 15
    missing = [name for name in named if not exists(name, index)]
    assert missing == []


def test_renamed_methods_are_gone_and_their_replacements_are_there():
    model = (
        methods("trainers/trainer.py")
        | methods("models/model.py")
        | methods("backend/tensorflow/trainer.py")
    )
    for old, new in drift.RENAMED_METHODS.items():
        assert old not in model and new in model
    assert "predict_classes" not in model


def test_renamed_keywords_match_the_installed_signatures():
    optimizer = parameters("optimizers/base_optimizer.py", "__init__")
    assert "learning_rate" in optimizer and "lr" not in optimizer and "decay" not in optimizer
    assert "epochs" in parameters("trainers/trainer.py", "fit") and "nb_epoch" not in parameters(
        "trainers/trainer.py", "fit"
    )
    dense = parameters("layers/core/dense.py", "__init__")
    assert {"units", "kernel_initializer"} <= dense and not {"output_dim", "init"} & dense
    assert "negative_slope" in parameters("layers/activations/leaky_relu.py", "__init__")


def test_removed_modules_and_names_are_gone(index):
    for module in drift.REMOVED_MODULES:
        assert module not in index.modules
    for name in drift.REMOVED_NAMES:
        assert name not in index.names
    renamed = drift.Reviser(index, {}).renamed
    assert {"CuDNNLSTM", "CuDNNGRU"} <= set(
        renamed
    ) and "Convolution2D" not in renamed  # still an alias in 3.x
    assert all(old not in index.names and new in index.names for old, new in renamed.items())


@pytest.mark.parametrize(
    "code, expected",
    [
        ("opt = Adam(lr=0.1)", "opt = Adam(learning_rate=0.1)"),
        (
            "opt = keras.optimizers.SGD(lr=lr, momentum=0.9)",
            "opt = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)",
        ),
        ("m.fit_generator(g, steps_per_epoch=2)", "m.fit(g, steps_per_epoch=2)"),
        ("from keras.layers.convolutional import Conv2D", "from keras.layers import Conv2D"),
        ("x = 'café'; y = keras.datasets.mnist.load_data()", "x = 'café'; y = mnist.load_data()"),
        (
            "from tensorflow.keras.datasets import cifar10",
            "from kernelblog.datasets import cifar10",
        ),
        ("lr = 3  # lr= stays a name", "lr = 3  # lr= stays a name"),
    ],
)
def test_corrections_keep_the_rest_of_the_line(code, expected, index):
    reviser = drift.Reviser(index, {"mnist": "", "cifar10": ""})
    assert reviser.revise(code, ast.parse(code)).source == expected
