"""Keras 2 habits in Keras 3: keras.datasets replaced by stand-ins, renames corrected, removed APIs
as errors.

Part of the complete stage. It reads each cell's code (never importing keras) and returns the
code with its mechanical corrections, line for line, and what it changed or found, per line:
- `keras.datasets.<name>`, by any spelling, becomes the stand-in of the dataset library;
- an import from a module the installed Keras no longer has (`keras.layers.core`,
  `keras.utils.np_utils`) imports from where the installed Keras exports the names;
- the renames of RENAMED_KEYWORDS and RENAMED_METHODS are corrected, with a warning;
- the APIs of REMOVED are errors that name their Keras 3 replacement, as is `.add` on a
  functional model.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .keras_index import KerasIndex

DATASETS_MODULE = "kernelblog.datasets"
KERAS_PREFIXES = ("keras", "tf.keras", "tensorflow.keras")
# Keyword renames: (the callables it applies to, "optimizers" meaning every keras.optimizers class)
# -> new name.
RENAMED_KEYWORDS = {
    "lr": ("optimizers", "learning_rate"),
    "nb_epoch": (("fit", "fit_generator"), "epochs"),
    "output_dim": (("Dense",), "units"),
    "init": (("Dense", "Conv1D", "Conv2D", "Conv3D"), "kernel_initializer"),
    "alpha": (("LeakyReLU",), "negative_slope"),
}
# Methods Keras 3 removed whose replacement takes the same arguments.
RENAMED_METHODS = {
    "fit_generator": "fit",
    "evaluate_generator": "evaluate",
    "predict_generator": "predict",
    "predict_proba": "predict",
}
GENERATOR_ONLY = (
    "workers",
    "use_multiprocessing",
    "max_queue_size",
)  # arguments Keras 3's fit does not take
NETWORK_WEIGHTS = (
    "{model} loads its ImageNet weights from the network, and builds have none: pass weights=None "
    "to train it from scratch, or run this where the weights are in Keras's cache (~/.keras/models)"
)
GENERATOR_MESSAGE = (
    "Keras 3 removed {method}: use {new}, which takes the generator or a keras.utils.PyDataset, "
    "without {arguments}"
)
# Class renames: old name -> the Keras 3 name; applied where the installed Keras lacks the old name.
RENAMED_NAMES = {
    "Convolution1D": "Conv1D",
    "Convolution2D": "Conv2D",
    "Convolution3D": "Conv3D",
    "CuDNNLSTM": "LSTM",
    "CuDNNGRU": "GRU",
}
# Removed APIs: the name, module or keyword as written -> (what to use instead, the Keras 3 names it
# mentions).
REMOVED = {
    "decay": (
        "Keras 3 ignores decay= (with a warning); for the same schedule pass "
        "learning_rate=keras.optimizers.schedules.InverseTimeDecay("
        "lr, decay_steps=1, decay_rate=decay)",
        ("keras.optimizers.schedules.InverseTimeDecay",),
    ),
    "predict_classes": (
        "Keras 3 removed predict_classes: use np.argmax(model.predict(x), axis=-1), or "
        "(model.predict(x) > 0.5).astype('int32') for a sigmoid output",
        ("keras.Model",),
    ),
    "merge": (
        "Keras 3 removed keras.layers.merge and Merge: use keras.layers.concatenate, add, "
        "multiply, average or dot (or the layers Concatenate, Add, ...)",
        (
            "keras.layers.concatenate",
            "keras.layers.Concatenate",
            "keras.layers.add",
            "keras.layers.dot",
        ),
    ),
    "Merge": None,  # as merge
    "scikit_learn": (
        "Keras 3 removed keras.wrappers.scikit_learn (KerasClassifier, KerasRegressor): use "
        "keras.wrappers.SKLearnClassifier or SKLearnRegressor, which take the model or a function "
        "that builds it",
        ("keras.wrappers.SKLearnClassifier", "keras.wrappers.SKLearnRegressor"),
    ),
    "ImageDataGenerator": (
        "Keras 3 removed ImageDataGenerator: load images with "
        "keras.utils.image_dataset_from_directory and augment them with layers such as "
        "keras.layers.RandomFlip, RandomRotation and RandomZoom",
        (
            "keras.utils.image_dataset_from_directory",
            "keras.layers.RandomFlip",
            "keras.layers.RandomRotation",
            "keras.layers.RandomZoom",
        ),
    ),
    "Tokenizer": (
        "Keras 3 removed keras.preprocessing.text and its Tokenizer: use the layer "
        "keras.layers.TextVectorization",
        ("keras.layers.TextVectorization",),
    ),
    "functional add": (
        "a functional model has no .add (only a Sequential has): build "
        "keras.Sequential([{name}, ...]), or call the new layers on {name}.output and make a "
        "keras.Model",
        ("keras.Sequential", "keras.Model"),
    ),
}
# Keras 3 models have no reset_states(); their stateful layers have reset_state().
RESET_STATES = '[layer.reset_state() for layer in {model}.layers if hasattr(layer, "reset_state")]'
# Sizes of the real datasets (train, test): code that reshapes to them means "all the examples".
REAL_SIZES = {
    "mnist": (60000, 10000),
    "fashion_mnist": (60000, 10000),
    "cifar10": (50000, 10000),
    "cifar100": (50000, 10000),
    "imdb": (25000, 25000),
    "reuters": (8982, 2246),
    "california_housing": (16512, 4128),
}
# Readers of files that take a URL too: numpy's and pandas'; a build has no network for them.
FILE_READERS = {"loadtxt", "genfromtxt", "fromfile", "read_csv", "read_table", "read_json"}
URL_MESSAGE = (
    "{callee} reads {url!r} from the network, which builds cannot reach: save the file beside "
    "the post (in a post folder, posts/<slug>/, with its index.md) and read it by its path there"
)
BATCH_MESSAGE = (
    "Keras 3 has no batch_input_shape=: make the model's first layer "
    "keras.Input(batch_shape=...) with that shape (the build moves it itself only for a layer "
    "written on one line, in model.add(...) or first in Sequential([...]))"
)
SLICE_MESSAGE = (
    "{text} starts past the stand-in's {size:,} training examples (keras.datasets.{name} has "
    "{real:,}): here it is empty; slice by a fraction, such as [int(len(x) * 0.7):]"
)
REMOVED_NAMES = (
    "ImageDataGenerator",
    "Tokenizer",
    "merge",
    "Merge",
)  # names Keras 3 no longer exports
REMOVED_MODULES = {
    "keras.layers.merge": "merge",
    "keras.wrappers.scikit_learn": "scikit_learn",
    "keras.preprocessing.text": "Tokenizer",
}


@dataclass
class Revision:
    """One cell's code after the corrections, and what they were, by line of the cell (from 1)."""

    source: str
    notes: list[tuple[int, str]] = field(
        default_factory=list
    )  # (line or 0, what the build replaced or corrected)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (line, severity, message)
    standins: set[str] = field(default_factory=set)  # stand-ins the code now names
    referenced: set[str] = field(
        default_factory=set
    )  # those named where keras.datasets.<name> was: to import


class Reviser:
    """Revises a post's cells in order, remembering which names hold functional models."""

    def __init__(self, index: KerasIndex, standins: dict[str, str]):
        self.index, self.standins = index, standins  # stand-in name -> its summary
        self.functional: dict[str, str] = {}  # name -> how it was built, "VGG16(...)"
        self.dataset_modules: set[str] = (
            set()
        )  # names bound to keras.datasets: `from keras import datasets`
        self.seen: set[str] = set()  # stand-ins the post has used so far
        self.models: set[str] = set()  # names the post binds to a Sequential or Model, anywhere
        self.optimizers = {
            name
            for name, modules in index.names.items()
            if "keras.optimizers" in modules and name[:1].isupper()
        }
        # only what the installed Keras really renamed: Keras 3.x still has Convolution2D as an
        # alias
        self.renamed = {
            old: new
            for old, new in RENAMED_NAMES.items()
            if old not in index.names and new in index.names
        }
        applications = {
            name for name, modules in index.names.items() if "keras.applications" in modules
        }
        words = (
            {"keras", "datasets", "add", "reshape"}
            | set(standins)
            | set(RENAMED_KEYWORDS)
            | set(RENAMED_METHODS)
            | set(REMOVED)
            | set(REMOVED_NAMES)
            | set(self.renamed)
            | applications
            | {"decay", "predict_classes", "batch_input_shape", "save_weights", "load_weights"}
            | {"reset_states"}
            | FILE_READERS
        )
        self.triggers = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, words))) + r")\b")

    def revise(self, source: str, tree: ast.Module) -> Revision:
        revision = Revision(source)
        slices = bool(self.seen) and ":" in source  # a stand-in used before may be sliced here
        if (
            not self.triggers.search(source) and not slices
        ):  # nothing to revise: only remember what it binds
            self._bind_functional(tree)
            self.models |= _model_names(tree)
            self._remember()
            return revision
        lines = source.split("\n")
        edits: list[
            tuple[int, int, int, str]
        ] = []  # (line, start, end, text): characters of one line

        def replace(node, text: str, start: int | None = None, end: int | None = None) -> bool:
            if node.lineno != node.end_lineno and end is None:
                return False
            line = lines[node.lineno - 1]
            edits.append(
                (
                    node.lineno,
                    _chars(line, node.col_offset) if start is None else start,
                    _chars(line, node.end_col_offset) if end is None else end,
                    text,
                )
            )
            return True

        def problem(line: int, key: str, severity: str = "error", **names) -> None:
            message = (REMOVED[key] or REMOVED[key.lower()])[0].format(**names)
            revision.problems.append((line, severity, message))

        def correct(line: int, old: str, new: str, why: str = "Keras 3") -> None:
            revision.problems.append(
                (line, "warning", f"corrected by the build for {why}: {old} → {new}")
            )
            revision.notes.append((line, f"{old} → {new} ({why})"))

        corrected: set[int] = set()  # the layers whose batch_input_shape= became an Input
        self._bind_functional(tree)
        self.models |= _model_names(tree)
        self.seen |= {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in self.standins
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                self._import(node, lines, edits, revision, problem, correct)
            elif isinstance(node, ast.Attribute):
                dotted = _dotted(node)
                stem, _, leaf = (dotted or "").rpartition(".")
                if leaf in self.standins and (
                    stem in tuple(p + ".datasets" for p in KERAS_PREFIXES)
                    or stem in self.dataset_modules
                ):
                    if replace(node, leaf):
                        revision.standins.add(leaf)
                        revision.referenced.add(leaf)
                elif dotted and any(dotted.startswith(p + ".") for p in KERAS_PREFIXES):
                    for module, key in REMOVED_MODULES.items():
                        if _unprefixed(dotted).startswith(module):
                            problem(node.lineno, key)
            elif (
                isinstance(node, ast.Name)
                and node.id in REMOVED_NAMES
                and node.id not in self.index.names
            ):
                if isinstance(node.ctx, ast.Load) and not _binds(tree, node.id):
                    problem(node.lineno, node.id)
            if isinstance(node, ast.Call):
                self._call(node, lines, revision, replace, problem, correct)
                corrected.add(id(self._batch_input_shape(node, lines, edits, correct)))
            if isinstance(node, ast.Subscript) and self.seen | revision.standins:
                self._slice(node, lines, revision, revision.standins)
            if isinstance(node, ast.Name) and node.id in self.renamed and not _binds(tree, node.id):
                if replace(node, self.renamed[node.id]):
                    correct(node.lineno, node.id, self.renamed[node.id])
        for node in ast.walk(tree):  # a batch_input_shape= the build could not move
            if isinstance(node, ast.Call) and id(node) not in corrected:
                for keyword in node.keywords:
                    if keyword.arg == "batch_input_shape":
                        revision.problems.append((keyword.lineno, "error", BATCH_MESSAGE))
        self._remember()
        for line, start, end, text in sorted(set(edits), reverse=True):
            lines[line - 1] = lines[line - 1][:start] + text + lines[line - 1][end:]
        revision.source = "\n".join(lines)
        self.seen |= revision.standins
        revision.notes = sorted(set(revision.notes)) + [
            (0, f"keras.datasets.{name} is replaced by a synthetic stand-in: {self.standins[name]}")
            for name in sorted(revision.standins)
        ]
        revision.problems = sorted(set(revision.problems))
        return revision

    def _import(
        self, node: ast.ImportFrom, lines, edits, revision: Revision, problem, correct
    ) -> None:
        module = node.module
        if not any(module == p or module.startswith(p + ".") for p in KERAS_PREFIXES):
            return
        plain = _unprefixed(module)
        names = [alias.name for alias in node.names]
        line = lines[node.lineno - 1]
        if plain == "keras":
            self.dataset_modules.update(
                a.asname or a.name for a in node.names if a.name == "datasets"
            )
        if plain == "keras.utils" and names == ["np_utils"] and line.count("np_utils") == 1:
            # Keras 2's module of to_categorical: Keras 3 has the function in keras.utils itself
            start = line.index("np_utils")
            edits.append((node.lineno, start, start + len("np_utils"), "utils as np_utils"))
            found = re.match(r"\s*from\s+([\w.]+)", line)
            edits.append((node.lineno, found.start(1), found.end(1), module.rpartition(".")[0]))
            correct(
                node.lineno,
                f"from {module} import np_utils",
                f"from {module.rpartition('.')[0]} import utils as np_utils",
            )
            return
        found = re.match(
            r"\s*from\s+(" + re.escape(module).replace(r"\.", r"\s*\.\s*") + r")\b", line
        )
        if plain == "keras.datasets" and all(n in self.standins for n in names) and found:
            edits.append((node.lineno, found.start(1), found.end(1), DATASETS_MODULE))
            revision.standins.update(names)
            return
        for removed, key in REMOVED_MODULES.items():
            if plain == removed or plain.startswith(removed + "."):
                problem(node.lineno, key)
                return
        for name in names:
            if name in REMOVED_NAMES:
                problem(node.lineno, name)
        if plain in self.index.modules or "*" in names or not found:
            for alias in node.names:
                start = line.find(alias.name, found.end(1) if found else 0)
                if alias.name in self.renamed and start >= 0:
                    new = self.renamed[alias.name] + ("" if alias.asname else f" as {alias.name}")
                    edits.append((node.lineno, start, start + len(alias.name), new))
                    correct(node.lineno, alias.name, self.renamed[alias.name])
            return
        # A module the installed Keras does not have: import each name from where it lives now.
        homes = set()
        for name in names:
            try:
                home = self.index.import_for(name)
            except LookupError:
                home = None
            if home is None or home[1] != name:
                # a name that is not (or no longer) in Keras: left to the undefined-name check
                return
            homes.add(home[0])
        if len(homes) == 1:
            home = homes.pop()
            edits.append((node.lineno, found.start(1), found.end(1), home))
            correct(node.lineno, module, home)

    def _call(
        self, node: ast.Call, lines: list[str], revision: Revision, replace, problem, correct
    ) -> None:
        callee = (
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        )
        for keyword in node.keywords:
            if keyword.arg in RENAMED_KEYWORDS:
                applies, new = RENAMED_KEYWORDS[keyword.arg]
                if callee in (self.optimizers if applies == "optimizers" else applies):
                    line = keyword.lineno
                    start = _chars(lines[line - 1], keyword.col_offset)
                    replace(keyword, new, start, start + len(keyword.arg))
                    correct(line, f"{keyword.arg}=", f"{new}=")
            if keyword.arg == "decay" and callee in self.optimizers:
                if isinstance(keyword.value, ast.Constant) and keyword.value.value == 0:
                    revision.problems.append(
                        (
                            keyword.lineno,
                            "warning",
                            "Keras 3 ignores decay= (with a warning); "
                            "decay=0 changes nothing, so it can go",
                        )
                    )
                else:
                    problem(keyword.lineno, "decay")
        if "keras.applications" in self.index.names.get(callee, ()) and callee[:1].isupper():
            weights = next((k.value for k in node.keywords if k.arg == "weights"), None)
            if (
                weights is None
                or (isinstance(weights, ast.Constant) and weights.value == "imagenet")
            ) and not _weights_cached(callee):
                revision.problems.append(
                    (node.lineno, "error", NETWORK_WEIGHTS.format(model=callee))
                )
        first = node.args[0] if node.args else None
        if callee in FILE_READERS and isinstance(first, ast.Constant):
            if isinstance(first.value, str) and re.match(r"https?://", first.value, re.I):
                message = URL_MESSAGE.format(callee=callee, url=first.value)
                revision.problems.append((node.lineno, "error", message))
        if callee in ("save_weights", "load_weights") and isinstance(first, ast.Constant):
            name = first.value if isinstance(first.value, str) else ""
            if name.endswith(".h5") and not name.endswith(".weights.h5"):
                written = lines[first.lineno - 1][
                    _chars(lines[first.lineno - 1], first.col_offset) : _chars(
                        lines[first.lineno - 1], first.end_col_offset
                    )
                ]
                new = written[: -len(".h5") - 1] + ".weights.h5" + written[-1:]
                if first.lineno == first.end_lineno and replace(first, new):
                    correct(first.lineno, written, new, "Keras 3's .weights.h5 names")
        if callee == "reshape" and self.seen | revision.standins:
            self._reshape(node, lines, revision, replace, correct)
        if isinstance(node.func, ast.Attribute):
            method, receiver = node.func.attr, node.func.value
            if method in RENAMED_METHODS:
                if any(k.arg in GENERATOR_ONLY for k in node.keywords):
                    revision.problems.append(
                        (
                            node.func.end_lineno,
                            "error",
                            GENERATOR_MESSAGE.format(
                                method=method,
                                new=RENAMED_METHODS[method],
                                arguments=", ".join(GENERATOR_ONLY),
                            ),
                        )
                    )
                else:
                    end = _chars(lines[node.func.end_lineno - 1], node.func.end_col_offset)
                    span = ast.Name(lineno=node.func.end_lineno, end_lineno=node.func.end_lineno)
                    replace(span, RENAMED_METHODS[method], end - len(method), end)
                    correct(node.func.end_lineno, f".{method}(", f".{RENAMED_METHODS[method]}(")
            elif method == "predict_classes":
                problem(node.func.end_lineno, "predict_classes")
            elif (
                method == "reset_states"
                and not node.args
                and not node.keywords
                and isinstance(receiver, ast.Name)
                and (receiver.id in self.models or receiver.id in self.functional)
                and node.lineno == node.end_lineno
            ):
                line = lines[node.lineno - 1]
                alone = lines[node.lineno - 1].strip() == f"{receiver.id}.reset_states()"
                # a statement of its own: `;` keeps IPython from showing the list it makes
                new = RESET_STATES.format(model=receiver.id) + (";" if alone else "")
                if replace(node, new):
                    correct(node.lineno, f"{receiver.id}.reset_states()", new)
            elif (
                method == "add"
                and isinstance(receiver, ast.Name)
                and self._functional_at(receiver.id, node.lineno)
            ):
                if not any(
                    message.startswith("a functional model has no .add")
                    and f"[{receiver.id}," in message
                    for _, _, message in revision.problems
                ):  # once per model and cell
                    problem(node.lineno, "functional add", name=receiver.id)

    def _batch_input_shape(self, node: ast.Call, lines, edits, correct) -> ast.Call | None:
        """`model.add(LSTM(4, batch_input_shape=(1, 3, 1), stateful=True))`, or such a layer first
        in `Sequential([...])`: Keras 3 takes the batch shape from a first `Input(batch_shape=...)`,
        put before the layer on its line. The layer corrected, if any."""
        callee = getattr(node.func, "attr", getattr(node.func, "id", ""))
        if callee == "add" and node.args:
            layer, before = node.args[0], node
        elif callee == "Sequential" and node.args and isinstance(node.args[0], ast.List):
            layer = node.args[0].elts[0] if node.args[0].elts else None
            before = layer
        else:
            return None
        keyword = next(
            (k for k in getattr(layer, "keywords", ()) if k.arg == "batch_input_shape"), None
        )
        if keyword is None or not (before.lineno == layer.lineno == layer.end_lineno):
            return None
        line = lines[layer.lineno - 1]
        shape = line[
            _chars(line, keyword.value.col_offset) : _chars(line, keyword.value.end_col_offset)
        ]
        arguments = [*layer.args, *layer.keywords]
        k = arguments.index(keyword)
        if k:  # from the end of the argument before it
            start = _chars(line, arguments[k - 1].end_col_offset)
            end = _chars(line, keyword.end_col_offset)
        elif len(arguments) > 1:  # to the start of the argument after it
            start, end = _chars(line, keyword.col_offset), _chars(line, arguments[1].col_offset)
        else:
            start, end = _chars(line, keyword.col_offset), _chars(line, keyword.end_col_offset)
        edits.append((layer.lineno, start, end, ""))
        at = _chars(line, before.col_offset)
        if before is node:  # a statement of its own before it, on the same line
            receiver = line[at : _chars(line, node.func.value.end_col_offset)]
            added = f"{receiver}.add(keras.Input(batch_shape={shape})); "
        else:
            added = f"keras.Input(batch_shape={shape}), "
        edits.append((layer.lineno, at, at, added))
        correct(
            layer.lineno,
            f"batch_input_shape={shape}",
            f"a first keras.Input(batch_shape={shape})",
        )
        return layer

    def _slice(self, node: ast.Subscript, lines, revision: Revision, standins: set[str]) -> None:
        """`x_train[42000:]` on a stand-in smaller than the real dataset: empty, so a warning."""
        start = node.slice.lower if isinstance(node.slice, ast.Slice) else None
        if not (isinstance(start, ast.Constant) and type(start.value) is int):
            return
        for name in sorted(self.seen | standins):
            size = _standin_size(self.standins.get(name, ""))
            real = max(REAL_SIZES.get(name, (0,)))
            if size and size <= start.value < real:
                text = ast.get_source_segment("\n".join(lines), node) or "the slice"
                message = SLICE_MESSAGE.format(
                    text=text, size=size, name=name, real=REAL_SIZES[name][0]
                )
                revision.problems.append((node.lineno, "warning", message))
                return

    def _reshape(self, node: ast.Call, lines, revision: Revision, replace, correct) -> None:
        """`x_train.reshape(60000, 784)` on a stand-in: the real dataset's size becomes -1."""
        numpy_style = isinstance(node.func, ast.Attribute) and getattr(
            node.func.value, "id", ""
        ) in ("np", "numpy")
        shape = node.args[1:] if numpy_style else node.args
        first = shape[0] if shape else None
        if isinstance(first, (ast.Tuple, ast.List)) and first.elts:
            first = first.elts[0]
        sizes = {
            size for name in self.seen | revision.standins for size in REAL_SIZES.get(name, ())
        }
        if isinstance(first, ast.Constant) and type(first.value) is int and first.value in sizes:
            if replace(first, "-1"):
                correct(
                    first.lineno,
                    f"reshape({first.value}, ...)",
                    "reshape(-1, ...)",
                    "the stand-in, smaller than the real dataset",
                )

    def _remember(self) -> None:
        """Carry this cell's bindings of functional models to the next cells."""
        for _, name, functional in self.bindings:
            if functional:
                self.functional[name] = "functional"
            else:
                self.functional.pop(name, None)

    def _functional_at(self, name: str, line: int) -> bool:
        """Whether `name` holds a functional model at this line of the cell being revised."""
        bound = [
            functional
            for at, bound_name, functional in self.bindings
            if bound_name == name and at < line
        ]
        return bound[-1] if bound else name in self.functional

    def _bind_functional(self, tree: ast.Module) -> None:
        """Remember the names this cell binds to functional models, at module level, in order."""
        self.bindings: list[
            tuple[int, str, bool]
        ] = []  # (line, name, whether a functional model) in this cell
        for statement in tree.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                if not isinstance(target, ast.Name):
                    continue
                value = statement.value
                callee = (
                    value.func.attr
                    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                    else getattr(getattr(value, "func", None), "id", "")
                )
                functional = (
                    callee in ("Model", "Functional")
                    or "keras.applications" in self.index.names.get(callee, ())
                    or isinstance(value, ast.Name)
                    and self._functional_at(value.id, statement.lineno)
                )
                self.bindings.append((statement.lineno, target.id, functional))


def _model_names(tree: ast.Module) -> set[str]:
    """Names the code binds, anywhere (functions too), to a new Sequential or Model, or to a
    loaded or cloned one."""
    makers = {"Sequential", "Model", "load_model", "clone_model"}
    return {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and (getattr(node.value.func, "attr", None) or getattr(node.value.func, "id", "")) in makers
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def weights_folder() -> Path:
    """Keras's download cache of application weights."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models"


def _weights_cached(model: str) -> bool:
    """Whether Keras's download cache holds weights for this application model."""
    stem = model.lower().replace("_", "")
    try:
        return any(
            path.name.lower().replace("_", "").startswith(stem)
            for path in weights_folder().iterdir()
        )
    except OSError:
        return False


def _standin_size(summary: str) -> int:
    """The training examples of a stand-in, from its summary: "2,000/500 images, ..." -> 2000."""
    found = re.match(r"([\d,]+)/", summary)
    return int(found.group(1).replace(",", "")) if found else 0


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id] + parts[::-1])


def _unprefixed(dotted: str) -> str:
    """`tf.keras.layers` and `tensorflow.keras.layers` as `keras.layers`."""
    for prefix in ("tf.keras", "tensorflow.keras"):
        if dotted == prefix or dotted.startswith(prefix + "."):
            return "keras" + dotted[len(prefix) :]
    return dotted


def _binds(tree: ast.Module, name: str) -> bool:
    """Whether the cell binds `name` itself (an import, an assignment, a def)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
            (a.asname or a.name).split(".")[0] == name for a in node.names
        ):
            return True
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return True
    return False


def _chars(line: str, offset: int) -> int:
    """The character index of ast's UTF-8 byte offset in `line`."""
    return len(line.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))
