"""The "Run it yourself" downloads: self-contained, values resolved, outputs as on the page,
and (slow) they run where kernelblog is not installed and print what the page shows."""

import ast
import html
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_output

from conftest import ROOT, executed_with, write_post
from kernelblog.complete import complete_post
from kernelblog.extract import (
    Modules,
    library_for,
    library_imports,
    roots_of,
    without_library_imports,
)
from kernelblog.listing import INDEX, list_posts
from kernelblog.outputs import page_outputs, shown_text
from kernelblog.pipeline import complete_all
from kernelblog.postfiles import read_by
from kernelblog.read import read_post
from kernelblog.settings import Settings
from kernelblog.site import site_files
from kernelblog.write import (
    colab_notebook_text,
    download_notebook,
    download_notebook_text,
    download_script_text,
    download_warnings,
    shown_outputs,
    snippet_text,
)

PACKAGE = ROOT / "kernelblog"
NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1795549755.590549   13130 port.cc:153] oneDNN custom operations are on.\n"
)
CUINIT = (
    "E0000 00:00:1795549758.784894   13130 cuda_platform.cc:52] "
    "failed call to cuInit: UNKNOWN ERROR (303)\n"
)


def defined(source: str) -> dict:
    """The names `source` defines, run in a fresh namespace."""
    namespace: dict = {}
    exec(compile(source, "<library>", "exec"), namespace)
    return namespace


# The extraction: only what is used, and all that it needs.


def test_only_the_definitions_used_and_what_they_need():
    library = library_for(["from kernelblog.datasets import crescent\nx = crescent()"])
    tree = ast.parse(library.source)
    top = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert top == {"crescent", "_split"}
    assert [ast.unparse(node) for node in tree.body if isinstance(node, ast.Import)] == [
        "import numpy as np"
    ]
    assert library.names == ("crescent",) and library.files == ("kernelblog/datasets.py",)
    assert "# From kernelblog/datasets.py" in library.source


def test_helpers_and_constants_come_with_a_generator():
    library = library_for(["from kernelblog.datasets import images"])
    tree = ast.parse(library.source)
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert names == {"images", "_pattern", "_balanced_labels", "_split"}
    assert "IMAGE_PATTERNS" in {
        t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
    }
    assert "def recall" not in library.source and "def matching" not in library.source


def numpy_only_modules() -> list[str]:
    """The dataset library: modules of the package that import numpy, and otherwise only the
    standard library and each other."""
    imports = {}
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        absolute = {
            alias.name.split(".")[0]
            for node in tree.body
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        absolute |= {
            node.module.split(".")[0]
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and not node.level and node.module
        }
        relative = {
            (node.module or "").split(".")[0]
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.level
        }
        if "numpy" in absolute and absolute <= sys.stdlib_module_names | {"numpy", "__future__"}:
            imports[path.stem] = relative
    while any(not relative <= set(imports) for relative in imports.values()):
        imports = {
            module: relative for module, relative in imports.items() if relative <= set(imports)
        }
    return sorted(imports)


def test_the_dataset_library_is_found():
    assert "datasets" in numpy_only_modules()


@pytest.mark.parametrize("module", numpy_only_modules())
def test_every_definition_of_a_numpy_only_module_copies_out_and_works(module):
    """Each public top-level definition (generators, keras.datasets stand-ins, constants) comes
    out runnable without kernelblog, and gives the same arrays as the library's."""
    path = PACKAGE / f"{module}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [
        name
        for node in tree.body
        for name in (
            [node.name]
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))
            else [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
        )
        if not name.startswith("_")
    ]
    library = library_for([f"from kernelblog.{module} import {', '.join(names)}"])
    assert not library_imports(library.source) and "import kernelblog" not in library.source
    namespace = defined(library.source)
    original = __import__(f"kernelblog.{module}", fromlist=["_"])
    for name in names:
        assert name in namespace, name
        copied, source = namespace[name], getattr(original, name)
        if isinstance(source, type) and hasattr(source, "load_data"):  # a keras.datasets stand-in
            copied, source = copied.load_data, source.load_data
        if not callable(source) or isinstance(source, type):
            continue
        parameters = inspect.signature(source).parameters
        if any(
            p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            for p in parameters.values()
        ):
            continue  # matching(input_shape, ...)
        small = {
            key: value for key, value in (("n_train", 20), ("n_test", 10)) if key in parameters
        }
        assert_same(copied(**small), source(**small))


def assert_same(a, b):
    if isinstance(a, (tuple, list)) and not isinstance(b, np.ndarray):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


def test_the_library_of_another_module_and_its_imports(tmp_path):
    """A module that imports from another module of the library: both are copied, the used one
    first."""
    package = tmp_path / "kernelblog"
    package.mkdir()
    (package / "base.py").write_text(
        "import math\n\nimport numpy as np\n\nSCALE = 2\n\n\n"
        "def _scaled(x):\n    return np.asarray(x) * SCALE * math.pi\n\n\n"
        "def unused():\n    return 0\n"
    )
    (package / "standins.py").write_text(
        "import numpy as np\n\nfrom .base import _scaled as scale\n\n"
        "# Classes as keras.datasets' modules.\n"
        "TOPICS = ('a', 'b')\n\n\nclass toy:\n    summary = 'two topics'\n\n    @staticmethod\n"
        "    def load_data(n=3):\n        return scale(np.arange(n)), TOPICS\n"
    )
    library = library_for(
        ["from kernelblog.standins import toy as toys"], (Modules(tmp_path, "kernelblog"),)
    )
    assert library.files == ("kernelblog/base.py", "kernelblog/standins.py")
    source = library.source
    assert source.index("def _scaled") < source.index("class toy") and "def unused" not in source
    assert (
        "# Classes as keras.datasets' modules.\nTOPICS" in source
    )  # the comment above a definition comes with it
    assert (
        source.count("import numpy as np") == 1
        and "import math" in source
        and "from .base" not in source
    )
    namespace = defined(
        source + "\n" + without_library_imports("from kernelblog.standins import toy as toys")
    )
    values, topics = namespace["toys"].load_data()
    assert list(values) == [0, 2 * np.pi, 4 * np.pi] and topics == ("a", "b")


def test_library_imports_are_left_out_of_the_code():
    code = (
        "import numpy as np\nfrom kernelblog.datasets import images, recall as r\n"
        "if True:\n    from kernelblog.datasets import (crescent,\n        signals)\nprint(1)"
    )
    assert (
        without_library_imports(code)
        == "import numpy as np\nr = recall\nif True:\n    pass\nprint(1)"
    )
    assert library_for(["x = 1", "from keras.layers import Dense"]) is None


# The downloads, from an executed post (outputs given, nothing run).

DRAFT = """# Noise and numbers

```python data="crescent(n_train=10, n_test=5)"
score = float(x_train.mean())
print("mean:", round(score, 3))
```

The mean is `{python} f"{score:.2f}"`, or `{python} "*a_b*"` in words.

```python
import pickle
pickle.dumps(score)
```
"""


@pytest.fixture
def post(tmp_path, index):
    path = write_post(tmp_path / "posts", "noise.md", DRAFT)
    completed = complete_post(read_post(path), index)
    assert completed.ok, completed.diagnostics
    outputs = [
        [
            new_output("stream", name="stderr", text=NOISE),
            new_output("stream", name="stderr", text=CUINIT + "a real warning\n"),
            new_output("stream", name="stdout", text="mean: 0.0\n"),
        ],
        [new_output("execute_result", data={"text/plain": "b'...'"}, execution_count=2)],
    ]
    executed = executed_with(completed, outputs)
    inline = next(
        c
        for c in executed.notebook.cells
        if c.metadata.get("kernelblog", {}).get("role") == "inline"
    )
    inline.outputs = [new_output("display_data", data={"application/json": ["0.01", "*a_b*"]})]
    return completed, executed


def test_notebook_download_is_self_contained_with_values_and_clean_outputs(post):
    completed, executed = post
    notebook = nbformat.reads(
        download_notebook_text(completed, executed.notebook, "https://x.org/noise/"), 4
    )
    nbformat.validate(notebook)
    text = nbformat.writes(notebook)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "{python}" not in text and not library_imports(code) and "import kernelblog" not in code
    [setup, library, workdir, seeds, *_] = notebook.cells
    assert setup.cell_type == "markdown" and setup.source.startswith("## Added for this download")
    assert "`crescent`" in setup.source and "`kernelblog/datasets.py`" in setup.source
    assert "def crescent" in library.source and "os.chdir" in workdir.source
    assert "set_random_seed" in seeds.source or "np.random.seed" in seeds.source
    prose = "".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert r"The mean is 0.01, or \*a\_b\* in words." in prose  # shows as *a_b*, as on the page
    streams = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "stream"]
    assert [(o.name, o.text) for o in streams] == [
        ("stderr", "a real warning\n"),
        ("stdout", "mean: 0.0\n"),
    ]
    assert "role" not in text


def test_script_download_shows_the_values_as_plain_text(post):
    completed, executed = post
    script = download_script_text(completed, executed.notebook)
    assert (
        "{python}" not in script
        and not library_imports(script)
        and "import kernelblog" not in script
    )
    assert "# The mean is 0.01, or *a_b* in words." in script
    assert (
        script.index("def crescent")
        < script.index("os.chdir")
        < script.index("crescent(n_train=10")
    )
    compile(script, "noise.py", "exec")


def test_saved_outputs_are_what_the_page_shows():
    progress = [
        new_output("stream", name="stdout", text="Epoch 1/2\n1/2 ━━"),
        new_output("stream", name="stdout", text="\r2/2 ━━━━ - loss: 0.5\n"),
        new_output("stream", name="stderr", text=NOISE + CUINIT),
        new_output("stream", name="stdout", text="done\n"),
    ]
    kept = shown_outputs(progress)
    assert [o.text for o in kept] == ["Epoch 1/2\n2/2 ━━━━ - loss: 0.5\n", "done\n"]
    assert page_outputs(kept) == page_outputs(progress)
    assert progress[0].text == "Epoch 1/2\n1/2 ━━"  # the executed notebook is left as it was


@pytest.mark.parametrize("folder", ["posts", "tests/data/wild"])
def test_downloads_of_the_posts_need_no_kernelblog_and_keep_no_templates(folder):
    """With outputs faked, every post's downloads (and those of drafts from the wild, which use
    the keras.datasets stand-ins) copy in the dataset library instead of importing it."""
    for completed in complete_all(ROOT / folder, lambda line: None):
        codes = [cell.code for cell in completed.cells if cell.cell.kind == "code"]
        executed = executed_with(completed, [[] for _ in codes])
        notebook = download_notebook(completed, executed.notebook)
        code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
        assert "import kernelblog" not in code and not library_imports(code)
        imported = {
            alias.name for node in library_imports("\n".join(codes)) for alias in node.names
        }
        if imported:  # the library's cell (else the next one, which moves to a temporary folder)
            assert imported <= set(defined(notebook.cells[1].source)), completed.post.slug
        else:
            assert "os.chdir" in notebook.cells[1].source
        assert "{python}" not in download_script_text(completed, executed.notebook)


def test_a_post_that_rebinds_a_name_the_copied_library_uses_gets_a_warning(tmp_path, index):
    text = (
        '# Clash\n\n```python\nIMAGE_PATTERNS = ("mine",)\nimages = 3\nimport numpy as np\n```\n\n'
        '```python data="images"\nprint(x_train.shape)\n```\n'
    )
    completed = complete_post(read_post(write_post(tmp_path, "clash.md", text)), index)
    warnings = [str(w) for w in download_warnings(completed)]
    assert warnings == [
        f"{tmp_path / 'clash.md'}:4: warning: 'IMAGE_PATTERNS' is also defined by the dataset "
        "library's code that the downloads copy in, which would then use this one: rename it"
    ]
    reported = []
    site_files(
        Settings(), [completed], {"clash": executed_with(completed, [[], []])}, reported.append
    )
    assert [str(warning) for warning in reported] == warnings  # Diagnostics, as values


# The post's own modules: copied in as the dataset library is.

STATS = """# Stats

```python
from evidence import verdict
print(verdict([1, 2, 3]))
```

```python
import evidence
print(evidence.mean_sd([4, 5]))
```

```python
import pkg.sub as sub
from pkg import sub as same
print(sub.value, same.value, evidence.THRESHOLD)
```
"""
MODULES = {
    "evidence.py": '"""The post\'s statistics."""\nimport numpy as np\n\n'
    "from helpers import scale\n\n"
    "THRESHOLD = 2.0\n\n\ndef mean_sd(values):\n    array = np.asarray(values, dtype=float)\n"
    "    return round(float(array.mean()), 3), round(float(array.std()), 3)\n\n\n"
    "def verdict(values):\n    mean, _ = mean_sd(values)\n"
    '    return "above" if scale(mean) > THRESHOLD else "below"\n',
    "helpers.py": "FACTOR = 1.5\n\n\ndef scale(x):\n    return x * FACTOR\n\n\n"
    "def unused():\n    return 0\n",
    "pkg/__init__.py": "",
    "pkg/sub.py": "value = 7\n",
}


def folder_post(tmp_path: Path, text: str, modules: dict[str, str]):
    """The completed post folder posts/stats (index.md `text`, and `modules` beside it)."""
    posts = tmp_path / "posts"
    write_post(posts / "stats", "index.md", text)
    for name, source in modules.items():
        write_post((posts / "stats" / name).parent, Path(name).name, source)
    reported = []
    [completed] = complete_all(posts, reported.append)
    return completed, reported


def run_script(completed, tmp_path: Path, script: str = "") -> subprocess.CompletedProcess:
    """`script`, by default the post's download script (outputs faked), run with `python -I` in
    an empty folder."""
    codes = [cell for cell in completed.cells if cell.cell.kind == "code"]
    script = script or download_script_text(
        completed, executed_with(completed, [[] for _ in codes]).notebook
    )
    empty = tmp_path / "reader"
    shutil.rmtree(empty, ignore_errors=True)
    empty.mkdir()
    (empty / "stats.py").write_text(script, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-I", "stats.py"], cwd=empty, capture_output=True, text=True, timeout=60
    )


def test_the_modules_a_post_brings_are_copied_into_its_downloads(tmp_path):
    """What the post imports from its modules comes in with what it needs (a module's numpy
    import, another of its modules, a package's submodule), with no import of them left: the
    script runs in an empty folder, where no module of the post is."""
    completed, reported = folder_post(tmp_path, STATS, MODULES)
    assert completed.ok and not reported and not download_warnings(completed), reported
    notebook = download_notebook(completed, executed_with(completed, [[], [], []]).notebook)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    own = roots_of(completed.post.files)
    assert not library_imports(code, own) and "sys.path" not in code
    library = notebook.cells[1].source
    assert "def verdict" in library and "def scale" in library and "def unused" not in library
    assert "import numpy as np" in library and "The post's statistics" not in library
    prose = notebook.cells[0].source
    assert "`evidence.py`" in prose and "beside the post" in prose
    assert "copies there" not in prose  # no file left to save beside the download
    run = run_script(completed, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "above\n(4.5, 0.5)\n7 7 2.0\n"
    colab = nbformat.reads(colab_notebook_text(completed), 4)  # no folder holds the files
    colab_code = "\n".join(cell.source for cell in colab.cells if cell.cell_type == "code")
    assert not library_imports(colab_code, own) and "def verdict" in colab_code
    snippet = snippet_text(completed)  # snippets/<slug>.py runs from anywhere too
    assert not library_imports(snippet, own) and "def verdict" in snippet
    run = run_script(completed, tmp_path, snippet)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "above\n(4.5, 0.5)\n7 7 2.0\n"


def test_a_star_import_from_a_module_copies_its_public_names(tmp_path):
    text = "# Star\n\n```python\nfrom evidence import *\nprint(verdict([1]), mean_sd([2]))\n```\n"
    modules = dict(MODULES)
    modules["evidence.py"] += '\n__all__ = ["verdict", "mean_sd"]\n'
    completed, reported = folder_post(tmp_path, text, modules)
    assert completed.ok, reported
    run = run_script(completed, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "below (2.0, 0.0)\n"


def test_a_post_that_rebinds_a_name_its_copied_module_uses_gets_a_warning(tmp_path):
    text = "# Clash\n\n```python\nTHRESHOLD = 9\nfrom evidence import verdict\nverdict([1])\n```\n"
    completed, reported = folder_post(tmp_path, text, MODULES)
    assert [str(w) for w in download_warnings(completed)] == [
        f"{tmp_path / 'posts' / 'stats' / 'index.md'}:4: warning: 'THRESHOLD' is also defined by "
        "the post's modules' code that the downloads copy in, which would then use this one: "
        "rename it"
    ]


def test_modules_a_download_cannot_copy_in_are_an_error_at_the_import(tmp_path):
    """Two modules that define one name would be one name in the download: an error before
    anything runs, at the post's first import of its modules."""
    modules = dict(
        MODULES, **{"helpers.py": "THRESHOLD = 1\n\n\ndef scale(x):\n    return x * THRESHOLD\n"}
    )
    completed, reported = folder_post(tmp_path, STATS, modules)
    assert not completed.ok
    assert [str(d) for d in reported if d.severity == "error"] == [
        f"{tmp_path / 'posts' / 'stats' / 'index.md'}:4: error: the downloads cannot copy in the "
        "post's modules: helpers.py and evidence.py both define 'THRESHOLD': a download that "
        "copies both would keep only one"
    ]


# A reader's run (slow): the built site's downloads, where kernelblog is not installed.


def page_texts(page: Path) -> list[str]:
    """The text of every output block on a post's page."""
    return [
        html.unescape(block)
        for block in re.findall(
            r'<pre class="output"[^>]*>(.*?)</pre>', page.read_text(encoding="utf-8"), re.S
        )
    ]


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    from reader import kernel_spec, reader_env, reader_python

    folder = tmp_path_factory.mktemp("reader")
    python = reader_python(folder / "env")
    absent = subprocess.run(
        [python, "-I", "-c", "import kernelblog"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=reader_env(),
    )
    assert absent.returncode != 0 and "No module named 'kernelblog'" in absent.stderr
    present = subprocess.run(
        [python, "-I", "-c", "import numpy, matplotlib, keras, tensorflow, nbformat"],
        capture_output=True,
        text=True,
        env=reader_env(),
    )
    assert present.returncode == 0, present.stderr[-2000:]
    return python, kernel_spec(folder / "kernels", python)


@pytest.fixture(scope="module")
def completed_posts() -> dict:
    """The posts of posts/, completed and planned, by path."""
    return {done.post.path: done for done in complete_all(ROOT / "posts", lambda line: None)}


POSTS = list_posts(ROOT / "posts").posts  # flat posts and post folders


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", POSTS, ids=[p.parent.name if p.name == INDEX else p.stem for p in POSTS]
)
def test_downloads_run_as_a_reader_runs_them(path, completed_posts, built_posts, reader, tmp_path):
    """The .py with `python -I`, the .ipynb with nbclient in a kernel of that python, each from a
    folder holding them and the files the post reads, as the page offers them: both run, print
    what the page shows (timings aside), and find no kernelblog."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from reader import lines, masked, reader_env

    python, kernels = reader
    site = built_posts
    completed = completed_posts[path]
    slug = completed.post.slug
    for suffix in (".py", ".ipynb"):
        shutil.copy(site / slug / f"{slug}{suffix}", tmp_path / f"{slug}{suffix}")
    reads = [file.name for file in read_by(completed.post.files, completed.components)]
    page_html = (site / slug / "index.html").read_text(encoding="utf-8")
    for name in reads:  # offered on the page, saved beside the downloads
        assert f'href="{quote(name)}" download' in page_html, name
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(site / slug / name, tmp_path / name)
    page = page_texts(site / slug / "index.html")
    saved = nbformat.read(tmp_path / f"{slug}.ipynb", as_version=4)

    # The notebook's saved outputs are the page's, with no line the page's filter would drop.
    streams = [
        o.text for c in saved.cells for o in c.get("outputs", []) if o.output_type == "stream"
    ]
    assert streams and all(shown_text(text) == text for text in streams)
    saved_blocks = [
        b.text.rstrip("\n")
        for c in saved.cells
        for b in page_outputs(c.get("outputs", []))
        if hasattr(b, "text")
    ]
    assert saved_blocks == page

    script = subprocess.Popen(
        [python, "-I", f"{slug}.py"],
        cwd=tmp_path,
        env=reader_env(script=True),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # bytes: "\r" as printed
    try:
        notebook = nbformat.read(tmp_path / f"{slug}.ipynb", as_version=4)
        check = nbformat.v4.new_code_cell(
            "try:\n    import kernelblog\nexcept ModuleNotFoundError as error:\n"
            "    print(error)\nimport os, sys\nprint(sys.flags.isolated, os.getcwd())"
        )
        notebook.cells.append(check)
        specs = KernelSpecManager(kernel_dirs=[str(kernels)])
        manager = KernelManager(kernel_name="reader", kernel_spec_manager=specs)
        NotebookClient(
            notebook, km=manager, timeout=900, resources={"metadata": {"path": str(tmp_path)}}
        ).execute(env=reader_env())
        stdout, stderr = (out.decode("utf-8", "replace") for out in script.communicate(timeout=900))
    finally:
        script.kill()

    assert script.returncode == 0, stderr[-3000:]
    isolated = notebook.cells.pop().outputs[0].text
    flag, workdir = isolated.split("\n")[1].split(" ", 1)
    assert "No module named 'kernelblog'" in isolated and flag == "1" and Path(workdir) != tmp_path
    ran = [
        b.text.rstrip("\n")
        for c in notebook.cells
        for b in page_outputs(c.get("outputs", []))
        if hasattr(b, "text")
    ]
    assert [masked(text) for text in ran] == [masked(text) for text in page]
    figures = sum(
        "image/png" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", [])
    )
    assert figures == len(
        re.findall(r'<figure class="output">', (site / slug / "index.html").read_text())
    )

    # The script prints what the page shows, but for what only a notebook shows (a cell's last
    # value).
    printed = [
        b.text
        for c in saved.cells
        for b in page_outputs(
            [
                o
                for o in c.get("outputs", [])
                if o.output_type == "display_data"
                or (o.output_type == "stream" and o.name == "stdout")
            ]
        )
        if hasattr(b, "text")
    ]
    assert lines(shown_text(stdout)) == lines("\n".join(printed))
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted([f"{slug}.py", f"{slug}.ipynb", *reads])  # nothing left
