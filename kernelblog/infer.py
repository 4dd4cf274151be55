"""What data a snippet's model needs, read from the code: input shape, targets, loss.

Part of the complete stage. It reads the model statically (the main process never imports
keras): a Sequential model's layers or a functional model's chain of layers, and the loss it
is compiled with. The result is the call into kernelblog.datasets that makes matching data.
"""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass, field

DATA_NAMES = ("X_train", "x_train", "y_train", "X_test", "x_test", "y_test")
TRAINING_METHODS = {
    "fit",
    "evaluate",
    "predict",
    "train_on_batch",
    "test_on_batch",
    "predict_on_batch",
}
# Sizes used where the model leaves a dimension open.
IMAGE_SIDE, TIMESTEPS, FEATURES, TOKENS = 32, 32, 8, 40
MERGING = {"concatenate", "add", "multiply", "average", "maximum", "minimum", "subtract", "dot"}
AUTOENCODER_WIDTH = 16  # an output as wide as the input, from this width on, reconstructs it
SAMPLES = {3: (600, 200), 2: (800, 200), 1: (800, 200)}  # by input rank: train, test

LOSS_TARGETS = {
    "sparse_categorical_crossentropy": "sparse",
    "sparsecategoricalcrossentropy": "sparse",
    "categorical_crossentropy": "onehot",
    "categoricalcrossentropy": "onehot",
    "categorical_focal_crossentropy": "onehot",
    "categoricalfocalcrossentropy": "onehot",
    "kl_divergence": "onehot",
    "kldivergence": "onehot",
    "categorical_hinge": "onehot",
    "binary_crossentropy": "binary",
    "binarycrossentropy": "binary",
    "binary_focal_crossentropy": "binary",
    "binaryfocalcrossentropy": "binary",
    "hinge": "binary",
    "mse": "regression",
    "mean_squared_error": "regression",
    "meansquarederror": "regression",
    "mae": "regression",
    "mean_absolute_error": "regression",
    "meanabsoluteerror": "regression",
    "huber": "regression",
    "log_cosh": "regression",
    "logcosh": "regression",
    "mean_squared_logarithmic_error": "regression",
    "msle": "regression",
}
TARGET_WORDS = {
    "sparse": "integer labels",
    "onehot": "one-hot labels",
    "binary": "0/1 labels",
    "multilabel": "0/1 labels per output",
    "regression": "real values",
    "inputs": "the inputs",
}
FLATTENING = {
    "Flatten",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling3D",
}
RECURRENT = {"LSTM", "GRU", "SimpleRNN"}
IMAGE_LAYERS = {
    "Conv2D",
    "SeparableConv2D",
    "DepthwiseConv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "Conv2DTranspose",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
}
SEQUENCE_LAYERS = RECURRENT | {
    "Conv1D",
    "MaxPooling1D",
    "AveragePooling1D",
    "Bidirectional",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
}


# keras.applications models the reading knows by name (others are known by include_top=).
APPLICATIONS = {
    "VGG16",
    "VGG19",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "ResNet50V2",
    "InceptionV3",
    "Xception",
    "MobileNet",
    "MobileNetV2",
    "MobileNetV3Small",
    "MobileNetV3Large",
    "DenseNet121",
    "DenseNet169",
    "DenseNet201",
    "EfficientNetB0",
    "EfficientNetB1",
    "EfficientNetV2B0",
    "NASNetMobile",
    "ConvNeXtTiny",
}


class CannotInfer(ValueError):
    """The data can't be worked out from the code; the message says what is missing."""


@dataclass
class Model:
    """What the build knows of one model from the code that builds it."""

    name: str
    layers: list[ast.Call] = field(default_factory=list)  # in order, the input layer included
    input_shape: tuple | None = None
    loss: str | None = None
    constants: dict = field(default_factory=dict)  # those of the helper function that built it
    inputs: list = field(
        default_factory=list
    )  # the Input calls of a functional model with several inputs
    outputs: int = 1  # how many outputs a functional model has


@dataclass(frozen=True)
class DataSpec:
    """Data that fits a model: the dataset call's arguments and why."""

    model: str
    loss: str
    input_shape: tuple[int, ...]
    targets: str
    outputs: int
    vocabulary: int | None = None
    assumed: str = ""  # what the code left open and the build chose
    several: tuple = ()  # the shape of each input, for a model with several

    @property
    def samples(self) -> tuple[int, int]:
        return SAMPLES.get(len(self.input_shape), (600, 200))

    def setup(self, x_train: str, x_test: str) -> tuple[str, str]:
        """The two lines that bind the data names."""
        shape = repr(list(self.several)) if self.several else repr(self.input_shape)
        arguments = [shape, f"targets={self.targets!r}", f"outputs={self.outputs}"]
        if self.vocabulary:
            arguments.append(f"vocabulary={self.vocabulary}")
        arguments += [f"n_train={self.samples[0]}", f"n_test={self.samples[1]}"]
        return (
            "from kernelblog.datasets import matching",
            f"({x_train}, y_train), ({x_test}, y_test) = matching({', '.join(arguments)})",
        )

    def note(self, x_train: str, x_test: str) -> str:
        """What was inferred, with shapes, for the page."""
        n_train, n_test = self.samples
        x_shape = ", ".join(map(str, self.input_shape))

        def inputs(n: int) -> str:
            if self.several:
                return "a list of " + " and ".join(
                    f"({n}, {', '.join(map(str, s))})" for s in self.several
                )
            return f"({n}, {x_shape})"

        y_shape = {
            "onehot": f", {self.outputs}",
            "multilabel": f", {self.outputs}",
            "regression": f", {self.outputs}" if self.outputs > 1 else "",
            "inputs": f", {x_shape}",
        }.get(self.targets, "")
        kind = TARGET_WORDS[self.targets]
        if self.targets in ("sparse", "onehot"):
            kind += f" for {self.outputs} classes"
        text = (
            f"inferred from `{self.model}` and its loss {self.loss}: {x_train} {inputs(n_train)}, "
            f"y_train ({n_train}{y_shape}) {kind}; {x_test} {inputs(n_test)}, "
            f"y_test ({n_test}{y_shape})"
        )
        return text + (f"; {self.assumed}" if self.assumed else "")


def first_data_use(tree: ast.Module, names: set[str]) -> ast.stmt | None:
    """The first top-level statement of a cell that reads one of `names`."""
    for statement in tree.body:
        if any(isinstance(node, ast.Name) and node.id in names for node in ast.walk(statement)):
            return statement
    return None


def infer_data(earlier: list[ast.Module], cell: ast.Module) -> DataSpec:
    """Data for the model that the cell trains (or the latest model built so far)."""
    try:
        return _infer(earlier, cell)
    except (
        TypeError,
        ValueError,
        ArithmeticError,
        RecursionError,
    ) as error:  # code the reading can't follow
        if isinstance(error, CannotInfer):
            raise
        raise CannotInfer(
            f"the build cannot read the model's code ({type(error).__name__})"
        ) from None


@dataclass
class _Scope:
    """What the reading knows at a point of the code: models, functional-API tensors, layers
    and applications bound to names, constants, and the post's functions."""

    models: dict[str, Model] = field(default_factory=dict)
    tensors: dict[str, list[ast.Call]] = field(
        default_factory=dict
    )  # tensor name -> layers that made it
    layers: dict[str, ast.Call] = field(
        default_factory=dict
    )  # `base = VGG16(...)`, `dense = Dense(3)`
    constants: dict[str, object] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    depth: int = 0  # helper functions being followed


def _infer(earlier: list[ast.Module], cell: ast.Module) -> DataSpec:
    trained = _trained_model(earlier, cell)
    scope = _Scope()
    latest = None
    statements = [s for tree in earlier for s in tree.body] + list(cell.body)
    for statement in statements:
        latest = _follow(statement, scope) or latest
        if trained and trained[1] is statement:
            break
    name = trained[0] if trained else latest
    if name is None:
        raise CannotInfer("no model is built before it to infer the data from")
    if name not in scope.models:
        raise CannotInfer(
            f"the build cannot see how `{name}` is built: it saw no Sequential, Model(...), "
            "keras.applications model or helper function of the post that returns one assigned "
            f"to `{name}`"
        )
    model = scope.models[name]
    return _spec(model, {**scope.constants, **model.constants})


def trains_model(cell: ast.Module, earlier: list[ast.Module] = ()) -> bool:
    """Whether the cell calls `model.fit(...)` or the like on the data."""
    return _trained_model(list(earlier), cell) is not None


def _trained_model(earlier: list[ast.Module], cell: ast.Module) -> tuple[str, ast.stmt] | None:
    """(model name, statement) of the first `model.fit(...)`-like call of the cell that reads the
    data, or a name computed from it (`imgs = X_train[idx]`, then `d.train_on_batch(imgs, ...)`)."""
    derived = set(DATA_NAMES)
    for tree in earlier:
        _derive(tree, derived)
    for statement in cell.body:
        _derive(statement, derived)
        for node in ast.walk(statement):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in TRAINING_METHODS
                and isinstance(node.func.value, ast.Name)
                and any(
                    isinstance(n, ast.Name) and n.id in derived
                    for arg in node.args + [k.value for k in node.keywords]
                    for n in ast.walk(arg)
                )
            ):
                return node.func.value.id, statement
    return None


def _derive(tree, derived: set[str]) -> None:
    """Add to `derived` the names assigned from expressions that read a name in it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(n, ast.Name) and n.id in derived for n in ast.walk(node.value)
        ):
            for target in node.targets:
                derived.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))


def _follow(statement: ast.stmt, scope: _Scope) -> str | None:
    """Update what is known from one statement; return a model name it builds."""
    if isinstance(statement, ast.FunctionDef):
        scope.functions[statement.name] = statement
        return None
    if isinstance(
        statement, (ast.For, ast.With)
    ):  # `for units in (64, 32): model.add(Dense(units))`
        if isinstance(statement, ast.For) and isinstance(statement.target, ast.Name):
            first = _value(statement.iter, scope.constants, ())
            if isinstance(first, tuple) and first:
                scope.constants[statement.target.id] = first[0]
        latest = None
        for inner in statement.body:
            latest = _follow(inner, scope) or latest
        return latest
    if (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
    ):
        return _assign(statement.targets[0].id, statement.value, scope)
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
            model = scope.models.get(call.func.value.id)
            if model and call.func.attr == "add" and call.args:
                layer = call.args[0]
                layer = scope.layers.get(layer.id) if isinstance(layer, ast.Name) else layer
                if isinstance(layer, ast.Call):
                    model.layers.append(layer)
            if model and call.func.attr == "compile":
                loss = call.args[1] if len(call.args) > 1 else _keyword(call, "loss")
                model.loss = _loss_name(loss, scope.constants) if loss is not None else None
    return None


def _assign(target: str, value, scope: _Scope) -> str | None:
    """Follow `target = value`; return `target` when it now holds a model."""
    try:
        scope.constants[target] = _constant(value, scope.constants)
    except (ValueError, ArithmeticError, RecursionError):  # not a constant the build can compute
        scope.constants.pop(target, None)
    for known in (scope.models, scope.tensors, scope.layers):
        known.pop(target, None)
    if isinstance(value, ast.Name) and value.id in scope.models:  # `model = base_model`
        scope.models[target] = scope.models[value.id]
        return target
    if (
        isinstance(value, ast.Attribute)
        and value.attr in ("output", "input")
        and isinstance(value.value, ast.Name)
    ):
        if value.value.id in scope.layers:  # `x = base.output`: the application's layers
            scope.tensors[target] = [scope.layers[value.value.id]]
        return None
    if not isinstance(value, ast.Call):
        return None
    kind = _callee(value)
    if kind == "Sequential":
        given = value.args[0] if value.args else _keyword(value, "layers")
        layers = [
            scope.layers.get(e.id) if isinstance(e, ast.Name) else e
            for e in getattr(given, "elts", [])
        ]
        scope.models[target] = Model(
            target, [layer for layer in layers if isinstance(layer, ast.Call)]
        )
        return target
    if kind in ("Model", "Functional"):
        inputs = value.args[0] if value.args else _keyword(value, "inputs")
        outputs = value.args[1] if len(value.args) > 1 else _keyword(value, "outputs")
        chain = _chain(outputs, scope)
        model = Model(
            target,
            chain
            if chain
            and _callee(chain[0]) in ("Input", "InputLayer")
            or _application(chain[0] if chain else None)
            else _chain(inputs, scope) + chain,
        )
        if isinstance(inputs, (ast.List, ast.Tuple)) and len(inputs.elts) > 1:
            model.inputs = [(_chain(e, scope) or [None])[0] for e in inputs.elts]
        model.outputs = (
            len(outputs.keys if isinstance(outputs, ast.Dict) else outputs.elts)
            if isinstance(outputs, (ast.List, ast.Tuple, ast.Dict))
            else 1
        )
        scope.models[target] = model
        return target
    if isinstance(value.func, ast.Name) and value.func.id in scope.functions and scope.depth < 3:
        model = _returned_model(scope.functions[value.func.id], value, scope)
        if model is not None:
            scope.models[target] = dataclasses.replace(
                model, name=target, layers=list(model.layers)
            )
            return target
        return None
    if _application(value):  # `base = VGG16(include_top=False, input_shape=...)`
        scope.layers[target] = value
        scope.models[target] = Model(target, [value])
        return target
    chain = _chain(value, scope)
    if chain:
        scope.tensors[target] = chain
    elif kind[:1].isupper() and isinstance(value.func, (ast.Name, ast.Attribute)):
        scope.layers[target] = value  # a layer kept in a name, called later
    return None


def _returned_model(function: ast.FunctionDef, call: ast.Call, outer: _Scope) -> Model | None:
    """The model a helper function of the post returns, followed with the call's arguments."""
    scope = _Scope(
        functions=dict(outer.functions),
        constants=dict(outer.constants),
        layers=dict(outer.layers),
        depth=outer.depth + 1,
    )
    parameters = function.args.args
    defaults = dict(
        zip(
            [p.arg for p in parameters[len(parameters) - len(function.args.defaults) :]],
            function.args.defaults,
        )
    )
    defaults.update(
        {
            p.arg: d
            for p, d in zip(function.args.kwonlyargs, function.args.kw_defaults)
            if d is not None
        }
    )
    given = dict(zip([p.arg for p in parameters], call.args))
    given.update({k.arg: k.value for k in call.keywords if k.arg})
    for name in [p.arg for p in parameters + function.args.kwonlyargs]:
        scope.constants.pop(name, None)
        value = _value(given.get(name, defaults.get(name)), outer.constants, None)
        if value is not None:
            scope.constants[name] = value
    returned = None
    for statement in function.body:
        if isinstance(statement, ast.Return) and statement.value is not None:
            if isinstance(statement.value, ast.Name):
                returned = scope.models.get(statement.value.id)
            elif _assign("_returned", statement.value, scope):
                returned = scope.models["_returned"]
            break
        _follow(statement, scope)
    if returned is not None:
        returned.constants = {**returned.constants, **scope.constants}
    return returned


def _application(call) -> bool:
    """Whether a call builds a keras.applications model: `VGG16(include_top=False, ...)`."""
    return isinstance(call, ast.Call) and (
        _callee(call) in APPLICATIONS or _keyword(call, "include_top") is not None
    )


def _chain(node, scope: _Scope) -> list[ast.Call]:
    """The layers that produce a functional-API tensor, from its Input."""
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:  # several outputs: the first decides
        return _chain(node.elts[0], scope)
    if isinstance(node, ast.Dict) and node.values:
        return _chain(node.values[0], scope)
    if (
        isinstance(node, ast.Call) and _callee(node) in MERGING and node.args
    ):  # concatenate([a, b]): a's path
        return _chain(node.args[0], scope)
    if isinstance(node, ast.Name):
        return list(scope.tensors.get(node.id, []))
    if (
        isinstance(node, ast.Attribute)
        and node.attr in ("output", "input")
        and isinstance(node.value, ast.Name)
    ):
        return [scope.layers[node.value.id]] if node.value.id in scope.layers else []
    if isinstance(node, ast.Call) and _callee(node) == "Input":
        return [node]
    if isinstance(node, ast.Call) and node.args:
        layer = (
            node.func
            if isinstance(node.func, ast.Call)
            else (scope.layers.get(node.func.id) if isinstance(node.func, ast.Name) else None)
        )
        if layer is not None:
            before = _chain(node.args[0], scope)
            if _application(layer) and before and _callee(before[0]) == "Input":
                return before + [layer]
            return before + [layer] if before else []
    return []


def _spec(model: Model, constants: dict) -> DataSpec:
    if not model.layers:
        raise CannotInfer(f"`{model.name}` has no layers the build can see")
    if model.loss is None:
        raise CannotInfer(
            f"`{model.name}` is not compiled with a loss before it, "
            "and the loss decides the targets"
        )
    targets = LOSS_TARGETS.get(model.loss.lower())
    if targets is None:
        raise CannotInfer(f"the build does not know which targets the loss {model.loss} takes")
    if model.outputs > 1:
        raise CannotInfer(
            f"`{model.name}` has {model.outputs} outputs, and the build infers targets for one"
        )
    shape, assumed, vocabulary = _input_shape(model, constants)
    several = ()
    if model.inputs:  # one shape per input, each read as the first input's is
        several = tuple(
            _input_shape(dataclasses.replace(model, layers=[call]), constants)[0]
            if isinstance(call, ast.Call)
            else None
            for call in model.inputs
        )
        if None in several or len({s[:-1] for s in several}) != 1:
            raise CannotInfer(
                f"`{model.name}` has {len(several)} inputs, and the build infers data for several "
                "inputs only when their shapes differ in the last dimension alone"
            )
    rank, units = len(shape), None
    for layer in model.layers:
        kind = _callee(layer)
        if kind == "Embedding":
            rank += 1
        elif kind in FLATTENING:
            rank = 1
        elif kind in RECURRENT or kind == "Bidirectional":
            inner = layer.args[0] if kind == "Bidirectional" and layer.args else layer
            rank = 2 if _value(_keyword(inner, "return_sequences"), constants, False) else 1
        elif kind == "Reshape":
            target = _value(
                layer.args[0] if layer.args else _keyword(layer, "target_shape"), constants, ()
            )
            rank = len(target) if isinstance(target, tuple) else 1
        if _application(layer):
            top = _value(_keyword(layer, "include_top"), constants, True)
            rank = 1 if top or _keyword(layer, "pooling") is not None else 3
            units = _value(_keyword(layer, "classes"), constants, 1000) if top else units
        if kind in ("Dense", "Conv1D", "Conv2D", "LSTM", "GRU", "SimpleRNN"):
            units = _value(
                layer.args[0]
                if layer.args
                else _keyword(layer, "units") or _keyword(layer, "filters"),
                constants,
                None,
            )
    if not isinstance(units, int) or units < 1:
        raise CannotInfer(f"the build cannot read the size of `{model.name}`'s output layer")
    reconstructs = targets in ("regression", "binary") and rank == len(shape) and units == shape[-1]
    if (
        reconstructs and (rank != 1 or units >= AUTOENCODER_WIDTH) and vocabulary is None
    ):  # an autoencoder
        return DataSpec(model.name, model.loss, shape, "inputs", units, vocabulary, assumed)
    if rank != 1:
        raise CannotInfer(
            f"`{model.name}` outputs a sequence or a grid, and the build only infers one target "
            "per example"
        )
    if targets in ("sparse", "onehot") and units < 2:
        raise CannotInfer(
            f"{model.loss} needs an output layer with one unit per class, and it has {units}"
        )
    if targets == "binary" and units > 1:
        targets = "multilabel"
    return DataSpec(model.name, model.loss, shape, targets, units, vocabulary, assumed, several)


def _input_shape(model: Model, constants: dict) -> tuple[tuple[int, ...], str, int | None]:
    """The input shape, what was assumed for it, and the vocabulary if an Embedding is first."""
    first = model.layers[0]
    kind = _callee(first)
    given = None
    if kind in ("Input", "InputLayer"):
        given = (
            _keyword(first, "shape")
            or _keyword(first, "input_shape")
            or (first.args[0] if first.args else None)
        )
    else:
        given = _keyword(first, "input_shape")
        if given is None and _keyword(first, "input_dim") is not None and kind != "Embedding":
            given = ast.Tuple([_keyword(first, "input_dim")], ast.Load())
    embedding = next((layer for layer in model.layers if _callee(layer) == "Embedding"), None)
    vocabulary = None
    if embedding is not None:
        vocabulary = _value(
            embedding.args[0] if embedding.args else _keyword(embedding, "input_dim"),
            constants,
            None,
        )
        if not isinstance(vocabulary, int):
            raise CannotInfer(
                "the build cannot read the Embedding's input_dim (the vocabulary size)"
            )
    if given is not None:
        shape = _value(given, constants, None)
        if isinstance(shape, int):
            shape = (shape,)
        if (
            not isinstance(shape, tuple)
            or not all(d is None or isinstance(d, int) for d in shape)
            or not shape
        ):
            raise CannotInfer(
                f"the build cannot read `{model.name}`'s input shape: {ast.unparse(given)}"
            )
        filled = tuple(
            d
            if d is not None
            else (IMAGE_SIDE if len(shape) == 3 else TIMESTEPS if len(shape) == 2 else TOKENS)
            for d in shape
        )
        assumed = f"open dimensions set to {filled}" if filled != shape else ""
        return filled, assumed, vocabulary
    layer = next(
        (
            _callee(layer)
            for layer in model.layers
            if _callee(layer) not in ("Dropout", "Rescaling")
        ),
        kind,
    )
    if embedding is not None and _callee(model.layers[0]) == "Embedding":
        return (TOKENS,), f"no input shape given: sequences of {TOKENS} tokens", vocabulary
    if layer in IMAGE_LAYERS:
        shape = (IMAGE_SIDE, IMAGE_SIDE, 3)
        return shape, f"no input shape given: {IMAGE_SIDE}×{IMAGE_SIDE} colour images", None
    if layer in SEQUENCE_LAYERS:
        return (
            (TIMESTEPS, 1),
            f"no input shape given: sequences of {TIMESTEPS} steps of 1 feature",
            None,
        )
    if layer == "Dense":
        return (FEATURES,), f"no input shape given: {FEATURES} features", None
    raise CannotInfer(
        f"`{model.name}` does not say its input shape: start it with keras.Input(shape=...)"
    )


def _callee(call) -> str:
    """The class or function a call names: `Dense` for layers.Dense(...) and
    keras.layers.Dense(...)."""
    func = getattr(call, "func", None)
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _keyword(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _loss_name(node, constants: dict) -> str:
    if isinstance(node, ast.Call):
        return _callee(node)
    if isinstance(node, ast.Attribute):
        return node.attr
    value = _value(node, constants, None)
    if isinstance(value, str):
        return value
    if isinstance(node, ast.Name):
        return node.id
    return ast.unparse(node)


def _value(node, constants: dict, default):
    if node is None:
        return default
    try:
        return _constant(node, constants)
    except (ValueError, ArithmeticError, RecursionError):
        return default


def _constant(node, constants: dict):
    """A literal, a name bound to one, a tuple of those or simple integer arithmetic."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_constant(e, constants) for e in node.elts)
    if isinstance(node, ast.BinOp) and isinstance(
        node.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)
    ):
        left, right = _constant(node.left, constants), _constant(node.right, constants)
        if isinstance(left, int) and isinstance(right, int):
            return {
                ast.Add: int.__add__,
                ast.Sub: int.__sub__,
                ast.Mult: int.__mul__,
                ast.FloorDiv: int.__floordiv__,
            }[type(node.op)](left, right)
    raise ValueError(ast.dump(node))
