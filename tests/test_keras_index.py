"""The static Keras index: public paths only, precedence, no import."""

import pytest

from kernelblog.keras_index import AmbiguousName, build_index


def test_public_paths_and_precedence(index):
    assert index.import_for("Dense") == ("keras.layers", "Dense")
    assert index.import_for("Adam") == ("keras.optimizers", "Adam")
    assert index.import_for("Sequential") == ("keras", "Sequential")  # shortest path wins
    assert index.import_for("VGG16") == ("keras.applications", "VGG16")
    assert index.import_for("layers") == ("keras", "layers")
    assert index.import_for("NoSuchLayer") is None
    assert index.import_for("imdb") == (
        "keras.datasets",
        "imdb",
    )  # every public module by its last name
    # `image.load_img(...)`, as tutorials write it: keras.preprocessing.image, not keras.ops.image
    assert index.import_for("image") == ("keras.preprocessing", "image")
    for modules in index.names.values():
        assert not any(".src" in m or "_tf_keras" in m or "legacy" in m for m in modules)


def test_tie_between_unordered_modules_is_ambiguous(index):
    with pytest.raises(AmbiguousName) as error:
        index.import_for("preprocess_input")
    assert "keras.applications.vgg16" in error.value.modules


def test_source_tree_layout(tmp_path):
    """A keras source checkout keeps its public API under keras/api."""
    api = tmp_path / "api"
    (api / "layers").mkdir(parents=True)
    (api / "__init__.py").write_text(
        "from keras.api import layers\nfrom keras.src.models.model import Model\n"
    )
    (api / "layers" / "__init__.py").write_text(
        "from keras.src.layers.core.dense import Dense as Dense\n"
    )
    index = build_index(api)
    assert index.import_for("Dense") == ("keras.layers", "Dense")
    assert index.import_for("Model") == ("keras", "Model")
    assert index.submodules == {"layers": "keras.layers"}


def test_index_is_cached_per_keras_version(tmp_path, monkeypatch):
    from kernelblog import keras_index

    first = build_index(cache=tmp_path)
    [entry] = tmp_path.glob("keras-index-*.json")
    monkeypatch.setattr(keras_index, "parse_index", lambda root: pytest.fail("parsed again"))
    assert build_index(cache=tmp_path) == first  # read from the cache
    monkeypatch.setattr(keras_index, "package_version", lambda name: "0.0.1")
    with pytest.raises(pytest.fail.Exception):
        build_index(cache=tmp_path)  # another keras version: the cache does not apply


def test_context_decides_between_losses_and_metrics(index):
    assert index.import_for("BinaryCrossentropy") == ("keras.losses", "BinaryCrossentropy")
    assert index.import_for("BinaryCrossentropy", "metrics") == (
        "keras.metrics",
        "BinaryCrossentropy",
    )


def test_application_helpers_follow_the_family(index):
    families = index.families({"ResNet50", "Dense"})
    assert families == ("keras.applications.resnet50",)
    assert index.import_for("preprocess_input", families=families) == (
        "keras.applications.resnet50",
        "preprocess_input",
    )


def test_ops_names_that_numpy_has_are_not_guessed(index):
    with pytest.raises(AmbiguousName) as error:
        index.import_for("mean")
    assert error.value.modules == ("keras.ops", "numpy.mean")
    assert index.import_for("convert_to_tensor") == ("keras.ops", "convert_to_tensor")
