"""A static index of Keras 3's public API, read from the installed package's API files."""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path

# Where a name exists in several modules, the shortest path wins, then this order.
MODULE_ORDER = (
    "keras", "keras.layers", "keras.models", "keras.applications", "keras.optimizers",
    "keras.callbacks", "keras.losses", "keras.metrics", "keras.activations",
    "keras.initializers", "keras.regularizers", "keras.constraints", "keras.utils", "keras.ops",
)
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


class AmbiguousName(LookupError):
    """A name that several modules export with no rule to choose between them."""

    def __init__(self, name: str, modules: tuple[str, ...]):
        super().__init__(name)
        self.name, self.modules = name, modules


@dataclass(frozen=True)
class KerasIndex:
    """Public name -> the modules that export it, plus keras's submodules."""

    names: dict[str, tuple[str, ...]]
    submodules: dict[str, str]  # "layers" -> "keras.layers"

    def import_for(self, name: str) -> tuple[str, str] | None:
        """The (module, name) to import `name` from, by the precedence policy, or None."""
        if name in self.submodules:
            module, _, leaf = self.submodules[name].rpartition(".")
            return module, leaf
        modules = sorted(self.names.get(name, ()), key=_precedence)
        if not modules:
            return None
        if len(modules) > 1 and modules[0] not in MODULE_ORDER and _precedence(modules[1])[0] == modules[0].count("."):
            raise AmbiguousName(name, tuple(modules))
        return modules[0], name

    def known_names(self) -> set[str]:
        return set(self.names) | set(self.submodules)


def _precedence(module: str) -> tuple:
    order = MODULE_ORDER.index(module) if module in MODULE_ORDER else len(MODULE_ORDER)
    return (module.count("."), order, module)


def api_root() -> Path:
    """The folder of keras's public API: `keras/api` in a source tree, `keras/` in a wheel."""
    spec = importlib.util.find_spec("keras")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("keras is not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    return root / "api" if (root / "api" / "__init__.py").is_file() else root


def build_index(root: Path | None = None) -> KerasIndex:
    """Parse every public `__init__.py` under `root`; import nothing."""
    root = root or api_root()
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
                    if module == "keras" and alias.name not in EXCLUDED_PARTS:
                        submodules[public] = f"keras.{alias.name}"
                    continue
                names.setdefault(public, set()).add(module)
    return KerasIndex({name: tuple(sorted(mods)) for name, mods in names.items()}, submodules)
