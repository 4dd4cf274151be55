"""Settings: one place for every default; the command line and the live preview take them from it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, build_script
from kernelblog.settings import Options, Shard, default_format


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
    monkeypatch.setattr(build, "build", seen.append)
    options = Options(out=tmp_path / "o", force=True, timeout=5, format="github", shard=Shard(1, 2))
    build.main(options.argv())
    assert seen == [options]


def test_the_command_line_defaults_are_the_settings_defaults(monkeypatch):
    build = build_script()
    seen = []
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setattr(build, "build", seen.append)
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
    """`pip install .` (not -e) puts the templates inside the package, and pages render from there."""
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
        "from kernelblog import render, settings; from kernelblog.site import Site; "
        "print(settings.TEMPLATES); print(len(render.render_404(render.environment(), Site())))"
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
