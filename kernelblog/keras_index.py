"""A static index of Keras 3's public API, read from the installed package's API files."""

from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import importlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from .cache import package_version
from .files import atomic_write
from .settings import user_cache

# Where a name exists in several modules, the shortest path wins, then this order.
MODULE_ORDER = (
    "keras",
    "keras.layers",
    "keras.models",
    "keras.applications",
    "keras.optimizers",
    "keras.callbacks",
    "keras.losses",
    "keras.metrics",
    "keras.activations",
    "keras.initializers",
    "keras.regularizers",
    "keras.constraints",
    "keras.utils",
    "keras.ops",
)
# A bare module name tutorials use for one of several modules that end with it.
PREFERRED_SUBMODULES = {"image": "keras.preprocessing.image"}
# Never emitted: private, legacy or TF-compatibility paths.
EXCLUDED_PARTS = {"src", "legacy", "_tf_keras", "api"}

# The usual aliases, as import statements.
ALIASES = {
    "np": "import numpy as np",
    "plt": "import matplotlib.pyplot as plt",
    "tf": "import tensorflow as tf",
    "keras": "import keras",
    "display": "from IPython.display import display",
}


# Losses and metrics that exist in both modules come from keras.metrics inside `metrics=[...]`.
CONTEXT_MODULES = {"metrics": "keras.metrics"}
# Helpers that differ per application family: they follow the model used in the same post.
FAMILY_HELPERS = {"preprocess_input", "decode_predictions"}


class AmbiguousName(LookupError):
    """A name that several modules export with no rule to choose between them."""

    def __init__(self, name: str, modules: tuple[str, ...]):
        super().__init__(name)
        self.name, self.modules = name, modules


@dataclass(frozen=True)
class KerasIndex:
    """Public name -> the modules that export it, plus keras's submodules."""

    names: dict[str, tuple[str, ...]]
    submodules: dict[str, str]  # "layers" -> "keras.layers", "imdb" -> "keras.datasets.imdb"

    def import_for(
        self, name: str, context: str = "", families: tuple[str, ...] = ()
    ) -> tuple[str, str] | None:
        """The (module, name) to import `name` from, by the precedence policy, or None.

        `context` is the keyword argument the name is used in (`metrics`); `families` are the
        application modules of the models the post uses, for preprocess_input and the like.
        """
        if name in self.submodules:
            module, _, leaf = self.submodules[name].rpartition(".")
            return module, leaf
        modules = sorted(self.names.get(name, ()), key=_precedence)
        if not modules:
            return None
        if CONTEXT_MODULES.get(context) in modules:
            return CONTEXT_MODULES[context], name
        if name in FAMILY_HELPERS:
            return self._family_helper(name, modules, families)
        if name.islower() and all(m == "keras.ops" or m.startswith("keras.ops.") for m in modules):
            clashes = [
                f"{where}.{name}"
                for where in ("builtins", "numpy")
                if name in _plain_python_names(where)
            ]
            if clashes:
                raise AmbiguousName(name, (modules[0], *clashes))
        if (
            len(modules) > 1
            and modules[0] not in MODULE_ORDER
            and _precedence(modules[1])[0] == modules[0].count(".")
        ):
            raise AmbiguousName(name, tuple(modules))
        return modules[0], name

    def _family_helper(
        self, name: str, modules: list[str], families: tuple[str, ...]
    ) -> tuple[str, str]:
        used = sorted({family for family in families if family in modules})
        if len(used) == 1:
            return used[0], name
        if used:
            raise AmbiguousName(name, tuple(used))
        raise AmbiguousName(
            name, tuple(m for m in modules if m != "keras.applications.imagenet_utils")
        )

    def families(self, names: set[str]) -> tuple[str, ...]:
        """The application modules (`keras.applications.vgg16`) of the model names among `names`."""
        found = set()
        for name in names:
            modules = self.names.get(name, ())
            if (
                "keras.applications" in modules
            ):  # a model; `resnet` and `resnet50` both export ResNet50
                family = sorted(
                    (
                        m
                        for m in modules
                        if m.startswith("keras.applications.")
                        and "preprocess_input" in self.members(m)
                    ),
                    key=lambda m: (m.rpartition(".")[2].replace("_", "") != name.lower(), m),
                )
                found.update(family[:1])
        return tuple(sorted(found))

    def members(self, module: str) -> set[str]:
        return {name for name, modules in self.names.items() if module in modules}

    @functools.cached_property
    def modules(self) -> frozenset[str]:
        """Every public module of the API."""
        return frozenset(
            {"keras"}
            | set(self.submodules.values())
            | {m for ms in self.names.values() for m in ms}
        )

    def known_names(self) -> set[str]:
        return set(self.names) | set(self.submodules)


@functools.cache
def _plain_python_names(module: str) -> frozenset[str]:
    """Public names of the builtins or of numpy (imported only when an ops name needs it)."""
    return frozenset(
        dir(builtins) if module == "builtins" else dir(importlib.import_module(module))
    )


def _precedence(module: str) -> tuple:
    order = MODULE_ORDER.index(module) if module in MODULE_ORDER else len(MODULE_ORDER)
    return (module.count("."), order, module)


def _submodule_rank(path: str) -> tuple:
    """Which module a bare name means when several end with it: the shortest path, then the one
    tutorials mean (`image` is keras.preprocessing.image, which `from keras.preprocessing
    import image` has always named, before keras.ops.image), then by MODULE_ORDER."""
    preferred = PREFERRED_SUBMODULES.get(path.rpartition(".")[2]) == path
    return (path.count("."), not preferred) + _precedence(path)[1:]


def api_root() -> Path:
    """The folder of keras's public API: `keras/api` in a source tree, `keras/` in a wheel."""
    spec = importlib.util.find_spec("keras")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("keras is not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    return root / "api" if (root / "api" / "__init__.py").is_file() else root


def build_index(root: Path | None = None, cache: Path | None = None) -> KerasIndex:
    """The index of keras's public API, from the cache kept per keras version, or parsed."""
    root = root or api_root()
    version = package_version("keras").replace("not installed", "source")
    cache = cache or user_cache()
    entry = cache / (
        f"keras-index-3-{version}-"
        f"{hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]}.json"
    )
    try:
        saved = json.loads(entry.read_text(encoding="utf-8"))
        if saved["root"] == str(root.resolve()) and saved["version"] == version:
            return KerasIndex({n: tuple(m) for n, m in saved["names"].items()}, saved["submodules"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    index = parse_index(root)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "root": str(root.resolve()),
            "version": version,
            "names": index.names,
            "submodules": index.submodules,
        }
        atomic_write(entry, json.dumps(data).encode(), durable=False)
    except OSError:
        pass  # a read-only home: parse again next time
    return index


def parse_index(root: Path) -> KerasIndex:
    """Parse every public `__init__.py` under `root`; import nothing."""
    names: dict[str, set[str]] = {}
    submodules: dict[str, str] = {}
    for init in sorted(root.rglob("__init__.py")):
        parts = init.parent.relative_to(root).parts
        if any(part in EXCLUDED_PARTS or part.startswith("_") for part in parts):
            continue
        module = ".".join(("keras",) + parts)
        for node in ast.parse(init.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            for alias in node.names:
                public = alias.asname or alias.name
                if public.startswith("_"):
                    continue
                child = init.parent / alias.name
                if (child / "__init__.py").is_file() and not node.module.split(".")[1:2] == ["src"]:
                    path = f"{module}.{alias.name}"
                    known = submodules.get(public)
                    better = known is None or _submodule_rank(path) < _submodule_rank(known)
                    if alias.name not in EXCLUDED_PARTS and better:
                        submodules[public] = (
                            path  # every public module by its last name; the shortest path wins
                        )
                    continue
                names.setdefault(public, set()).add(module)
    return KerasIndex({name: tuple(sorted(mods)) for name, mods in names.items()}, submodules)
