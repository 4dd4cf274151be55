"""Settings: one place for every default; the command line and the live preview take them from
it; pyproject.toml's [tool.kernelblog] table, each key declared once and checked by its type."""

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, build_script, write_post
from kernelblog import cli
from kernelblog.diagnostics import BadInput
from kernelblog.pipeline import Options, build
from kernelblog.settings import Settings, Shard, default_format, load_settings


def test_argv_gives_back_the_options_that_differ_from_the_defaults(tmp_path):
    options = Options(
        posts=tmp_path / "p",
        jobs=3,
        timeout=12.5,
        keep_going=True,
        format="github",
        shard=Shard(2, 3),
    )
    assert options.argv() == [
        "--posts",
        str(tmp_path / "p"),
        "--jobs",
        "3",
        "--timeout",
        "12.5",
        "--keep-going",
        "--format",
        "github",
        "--shard",
        "2/3",
    ]
    assert Options().argv() == []


def test_the_command_line_parses_argv_back_to_the_same_options(tmp_path, monkeypatch):
    build = build_script()
    seen = []
    monkeypatch.setattr(cli, "build", seen.append)  # what build.py calls
    options = Options(out=tmp_path / "o", force=True, timeout=5, format="github", shard=Shard(1, 2))
    build.main(options.argv())
    assert seen == [options]


def test_the_command_line_defaults_are_the_settings_defaults(monkeypatch):
    build = build_script()
    seen = []
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setattr(cli, "build", seen.append)  # what build.py calls
    build.main([])
    assert seen == [Options()]


@pytest.mark.parametrize("text, shard", [("1/3", Shard(1, 3)), (" 3 / 3 ", Shard(3, 3))])
def test_shard_parses_k_of_n(text, shard):
    assert Shard.parse(text) == shard


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "1/0", "a/b", "-1/2"])
def test_a_bad_shard_is_a_usage_error(text):
    result = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--shard", text],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert (
        result.returncode == 2 and "--shard" in result.stderr and "Traceback" not in result.stderr
    )


def test_github_format_is_the_default_inside_github_actions():
    assert default_format({"GITHUB_ACTIONS": "true"}) == "github"
    assert default_format({}) == "plain"


def test_a_non_editable_install_ships_the_templates(tmp_path):
    """`pip install .` (not -e) puts the templates in the package, and pages render from there."""
    source, target = tmp_path / "source", tmp_path / "site-packages"
    for name in (
        "kernelblog",
        "templates",
    ):  # a copy: building in place would leave build/ in the repository
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    script = (
        "from kernelblog import render, settings; from kernelblog.settings import Settings; "
        "print(settings.TEMPLATES); print(len(render.render_404(render.environment(), Settings())))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(target)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    templates, size = result.stdout.split()
    assert Path(templates) == target / "kernelblog" / "templates" and int(size) > 1000
    assert (target / "kernelblog" / "templates" / "static" / "style.css").is_file()


def test_settings_come_from_pyproject(tmp_path):
    assert load_settings(tmp_path / "missing.toml") == Settings()
    path = write_post(tmp_path, "pyproject.toml", '[project]\nname = "x"\n')
    assert load_settings(path) == Settings()
    write_post(
        tmp_path,
        "pyproject.toml",
        '[tool.kernelblog]\ntitle = "Mine"\nbase_url = "https://x.example/blog"\n'
        'processes = 64\nkernel_memory = "2G"\n'
        '[tool.kernelblog.aliases]\npd = "import pandas as pd"\n',
    )
    settings = load_settings(path)
    assert settings == Settings(
        title="Mine",
        base_url="https://x.example/blog/",
        processes=64,
        kernel_memory=2 << 30,
        aliases={"pd": "import pandas as pd"},
    )
    with pytest.raises(TypeError):
        settings.aliases["np"] = "import numpy as np"  # read-only, as the whole object
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.title = "Other"


def test_project_settings_are_valid():
    warnings = []
    settings = load_settings(ROOT / "pyproject.toml", warnings.append)
    assert settings.base_url.startswith("https://") and warnings == []


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("[tool.kernelblog]\n\ntitle = 3\n", 3, "[tool.kernelblog] title: expected a string"),
        ('[tool.kernelblog]\ntitle = "x\n', 2, "not valid TOML"),
        (
            '[tool.kernelblog]\ntitle = "x"\nprocesses = "many"\n',
            3,
            "processes: expected an integer",
        ),
        ("[tool.kernelblog]\nprocesses = true\n", 2, "processes: expected an integer"),
        ("[tool.kernelblog]\nprocesses = 0\n", 2, "processes: expected an integer of at least 1"),
        ('[tool.kernelblog]\n\ndisk = "lots"\n', 3, "disk: 'lots' is not a size"),
        ("[tool.kernelblog]\ndisk = 1000\n", 2, 'disk: expected a size such as "1G"'),
        ('[tool.kernelblog]\nisolation = "yes"\n', 2, "expected auto, required or off"),
        ("[tool.kernelblog]\ntitle = []\n", 2, "title: expected a string"),
    ],
)
def test_a_wrong_type_is_an_error_at_its_line(tmp_path, text, line, message):
    path = write_post(tmp_path, "pyproject.toml", text)
    with pytest.raises(BadInput) as error:
        load_settings(path)
    assert str(error.value.diagnostic).startswith(f"{path}:{line}: error: ")
    assert message in error.value.diagnostic.message


@pytest.mark.parametrize(
    "content, line, message",
    [
        (b'[tool.kernelblog.aliases]\npd = "pandas"\n', 2, "one import statement"),
        (b'[tool.kernelblog.aliases]\n\npd = "import numpy as np"\n', 3, "does not bind 'pd'"),
        (b"[tool.kernelblog.aliases]\npd = 3\n", 2, "one import statement"),
        (b"[tool]\nkernelblog = 3\n", 2, "[tool.kernelblog] must be a table"),
        (b'[tool.kernelblog]\ntitle = "caf\xe9"\n', 2, "not valid UTF-8"),
        (b"[tool.kernelblog]\naliases = 3\n", 2, "expected a table of name"),
    ],
)
def test_bad_settings_and_aliases_are_errors_at_their_line(tmp_path, content, line, message):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_bytes(content)
    with pytest.raises(BadInput) as error:
        load_settings(pyproject)
    assert error.value.diagnostic.line == line and message in error.value.diagnostic.message


def test_an_unknown_key_is_a_warning_with_a_did_you_mean(tmp_path):
    path = write_post(
        tmp_path,
        "pyproject.toml",
        '[tool.kernelblog]\ntitle = "T"\ntitel = "x"\ncolour = "red"\n\n'
        '[tool.kernelblog.alias]\npd = "import pandas as pd"\n',
    )
    warnings = []
    assert load_settings(path, warnings.append) == Settings(title="T")
    assert [str(warning) for warning in warnings] == [
        f"{path}:3: warning: [tool.kernelblog] titel: not a setting, ignored "
        "(did you mean 'title'?)",
        f"{path}:4: warning: [tool.kernelblog] colour: not a setting, ignored",
        f"{path}:6: warning: [tool.kernelblog] alias: not a setting, ignored "
        "(did you mean 'aliases'?)",
    ]


def test_the_build_reports_an_unknown_key_and_stops_at_a_wrong_type(tmp_path):
    write_post(tmp_path / "posts", "p.md", "# P\n\nProse only.\n")
    pyproject = write_post(tmp_path, "pyproject.toml", '[tool.kernelblog]\ntitel = "T"\n')
    options = Options(
        posts=tmp_path / "posts", out=tmp_path / "site", snippets=tmp_path / "s", isolation="off"
    )
    lines = []
    assert build(options, lines.append) == 0
    warning = f"{pyproject}:2: warning: [tool.kernelblog] titel: not a setting, ignored"
    assert lines[0].startswith(warning)
    lines = []
    assert build(options, lines.append) == 0  # nothing changed: the warning still holds
    assert lines[0].startswith(warning)
    pyproject.write_text("[tool.kernelblog]\ntitle = 1\n")
    lines = []
    assert build(options, lines.append) == 2
    assert lines == [f"{pyproject}:2: error: [tool.kernelblog] title: expected a string"]


def test_the_readme_lists_every_setting_with_its_type_and_default():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for field in dataclasses.fields(Settings):
        default = field.default_factory() if field.default is dataclasses.MISSING else field.default
        if default is None:
            shown = "none"
        elif isinstance(default, str):
            shown = f'"{default}"'
        else:
            shown = json.dumps(dict(default) if field.metadata["kind"] == "table" else default)
        row = (
            f"| `{field.name}` | {field.metadata['kind']} | `{shown}` | {field.metadata['help']} |"
        )
        assert row in readme, f"README.md lacks the row of {field.name}: {row}"
