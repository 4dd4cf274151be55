"""The cell schema: what each cell of a post's notebook is, as a dataclass, and what it printed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if (
    TYPE_CHECKING
):  # nbformat loads when a notebook is made: a build with nothing to do never needs it
    import nbformat

KEY = "kernelblog"  # the notebook-metadata key that holds a CellMeta
ROLES = (
    "setup",
    "code",
    "inline",
)  # the build's setup at a component's start, a snippet, a prose cell's values


@dataclass(frozen=True)
class CellMeta:
    """A notebook cell of the build: its role, the post cell it comes from, its .md lines, its
    options."""

    role: str
    cell: int  # the post cell's number; -1 for a setup cell
    line: int  # the .md line of its fence (of its prose, for an inline cell; 1 for a setup cell)
    lines: tuple[int, ...]  # the .md line of each line of its code
    component: int = 0  # the component it runs in
    timeout: int | None = None
    raises: str | None = None
    static_error: str | None = (
        None  # found before running (--keep-going): only the build's lines run
    )
    additions: str | None = None  # those lines: the imports the build added
    backends: tuple[str, ...] | None = None  # the only backends it runs on (fence option)

    def metadata(self) -> dict:
        """The cell's notebook metadata."""
        meta = {key: value for key, value in asdict(self).items() if value is not None}
        meta["lines"] = list(self.lines)
        if self.backends is not None:
            meta["backends"] = list(self.backends)
        return {KEY: meta}

    def runs_on(self, backend: str) -> bool:
        """Whether the cell runs on this Keras backend (the fence option `backends`)."""
        return self.backends is None or backend in self.backends

    def key(self) -> dict:
        """What of the metadata the cache key covers: not the .md lines, which prose edits shift."""
        return {"role": self.role, "timeout": self.timeout, "static_error": self.static_error}

    @classmethod
    def of(cls, cell: nbformat.NotebookNode) -> CellMeta | None:
        """The metadata of a notebook cell the build made; None for prose and other cells."""
        meta = cell.get("metadata", {}).get(KEY)
        if not meta:
            return None
        return cls(
            meta["role"],
            meta["cell"],
            meta["line"],
            tuple(meta["lines"]),
            meta.get("component", 0),
            meta.get("timeout"),
            meta.get("raises"),
            meta.get("static_error"),
            meta.get("additions"),
            tuple(meta["backends"]) if meta.get("backends") else None,
        )


def code_cell(source: str, meta: CellMeta) -> nbformat.NotebookNode:
    """A code cell, built as a plain node: nbformat's constructors validate each cell, which is
    slow."""
    import nbformat

    return nbformat.from_dict(
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": meta.metadata(),
            "outputs": [],
            "source": source,
        }
    )


def markdown_cell(source: str) -> nbformat.NotebookNode:
    import nbformat

    return nbformat.from_dict({"cell_type": "markdown", "metadata": {}, "source": source})


@dataclass
class ExecutedCell:
    """A code cell of the build paired with what it printed and drew, and when it ran."""

    meta: CellMeta
    source: str
    outputs: list = field(default_factory=list)
    execution_count: int | None = None
    execution: dict = field(default_factory=dict)  # nbclient's timestamps

    @property
    def ran(self) -> bool:
        return self.execution_count is not None


def executed_cells(notebook: nbformat.NotebookNode) -> list[ExecutedCell]:
    """The build's code cells of an executed notebook, in order, each with its outputs."""
    return [
        ExecutedCell(
            meta,
            cell.source,
            cell.get("outputs", []),
            cell.get("execution_count"),
            cell.metadata.get("execution", {}),
        )
        for cell in notebook.cells
        if (meta := CellMeta.of(cell)) is not None
    ]


def role_of(cell: nbformat.NotebookNode) -> str | None:
    """The role of a notebook cell the build made; None for prose."""
    meta = CellMeta.of(cell)
    return meta.role if meta else None
