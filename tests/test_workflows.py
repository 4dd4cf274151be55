"""The blog's GitHub Actions workflows: valid for actionlint, actions pinned to major versions, and
calling build.py with options it has."""

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, build_script
from kernelblog import cli
from kernelblog.settings import BACKENDS, Options, Shard

GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
# the workflows `kernelblog new` writes into a new blog
STARTER = [ROOT / "kernelblog" / "starter" / name for name in ("check.yml", "publish.yml")]


def load(name: str) -> dict:
    return yaml.safe_load((GITHUB / "workflows" / name).read_text(encoding="utf-8"))


def steps(document: dict):
    jobs = document.get("jobs") or {"action": {"steps": document["runs"]["steps"]}}
    for job in jobs.values():
        yield from job.get("steps", [])


def test_the_workflows_pass_actionlint():
    beside_python = (
        Path(sys.executable).parent / "actionlint"
    )  # pip's scripts folder may not be on PATH
    actionlint = shutil.which("actionlint") or (
        str(beside_python) if beside_python.exists() else None
    )
    if actionlint is None:
        pytest.skip("actionlint is not installed: pip install -e '.[test]'")
    result = subprocess.run(
        [actionlint, "-no-color", *map(str, WORKFLOWS + STARTER)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_action_is_pinned_to_a_major_version():
    files = WORKFLOWS + STARTER + sorted(GITHUB.glob("actions/*/action.yml"))
    used = [
        step["uses"]
        for path in files
        for step in steps(yaml.safe_load(path.read_text()))
        if "uses" in step
    ]
    assert len(used) >= 10
    for uses in used:
        assert uses.startswith("./") or re.fullmatch(r"[\w-]+/[\w./-]+@v\d+", uses), uses


def build_commands(name: str) -> list[list[str]]:
    """The build.py command lines a workflow runs, with its expressions given example values."""
    commands = []
    for step in steps(load(name)):
        for line in step.get("run", "").splitlines():
            if line.strip().startswith("python build.py"):
                line = (
                    line.replace("${{ matrix.shard }}", "2")
                    .replace("${{ strategy.job-total }}", "3")
                    .replace("$SHARDS", "3")
                    .replace("${{ matrix.backend }}", "jax")
                )
                assert "${{" not in line, line
                commands.append(shlex.split(line)[2:])
    return commands


def parsed(argv: list[str], monkeypatch) -> Options:
    build = build_script()
    seen = []
    monkeypatch.setattr(cli, "build", seen.append)  # what build.py calls
    build.main(argv)
    return seen[0]


def test_check_runs_every_snippet_on_pull_requests(monkeypatch):
    workflow = load("check.yml")
    assert list(workflow[True]) == ["pull_request"]  # YAML reads the key `on` as true
    [command] = build_commands("check.yml")
    options = parsed(command, monkeypatch)
    assert options.check and options.keep_going and not options.shard
    assert options.isolation == "required"  # posts in pull requests come from strangers
    # a job per Keras backend, each checking the posts on its own
    assert workflow["jobs"]["check"]["strategy"]["matrix"]["backend"] == list(BACKENDS)
    assert options.backends == ("jax",)


def test_publish_shards_the_work_then_builds_and_deploys_from_main(monkeypatch):
    workflow = load("publish.yml")
    assert workflow[True]["push"] == {"branches": ["main"]}
    assert workflow["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    jobs = workflow["jobs"]
    assert jobs["site"]["needs"] == "shard" and jobs["deploy"]["needs"] == "site"
    matrix = jobs["shard"]["strategy"]["matrix"]
    assert len(matrix["shard"]) >= 2 and jobs["shard"]["env"]["SHARDS"] == len(matrix["shard"])
    assert matrix["backend"] == list(BACKENDS)  # the backends beside the shards
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert jobs["deploy"]["environment"]["name"] == "github-pages"
    shard, site = build_commands("publish.yml")
    assert parsed(shard, monkeypatch) == Options(
        shard=Shard(2, 3), keep_going=True, isolation="required", backends=("jax",)
    )
    assert parsed(site, monkeypatch) == Options(
        isolation="required", backends=tuple(BACKENDS)
    )  # the site from the merged cache, every backend's entries in it
    uses = [step.get("uses", "") for step in steps(workflow)]
    assert "actions/upload-pages-artifact@v3" in uses and "actions/deploy-pages@v4" in uses


def test_the_cache_key_covers_the_posts_the_package_and_the_versions():
    [restore] = [
        step
        for step in steps(yaml.safe_load((GITHUB / "actions/setup/action.yml").read_text()))
        if step.get("uses", "").startswith("actions/cache/restore@")
    ]
    key = restore["with"]["key"]
    for part in (
        "posts/**",
        "kernelblog/**",
        "pyproject.toml",
        ".kernelblog-versions.txt",
        "python-version",
    ):
        assert part in key
    assert restore["with"]["path"] == Options().cache.as_posix()
    assert restore["with"][
        "restore-keys"
    ].split()  # an older cache serves the posts that did not change


def test_the_new_blogs_workflows_call_the_kernelblog_command_with_options_it_has(monkeypatch):
    """The check workflow checks every snippet in the sandbox; publish builds with it."""
    commands = [
        shlex.split(step["run"])
        for path in STARTER
        for step in steps(yaml.safe_load(path.read_text()))
        if step.get("run", "").startswith("kernelblog ")
    ]
    assert [command[:2] for command in commands] == [
        ["kernelblog", "check"],
        ["kernelblog", "build"],
    ]
    seen = []
    monkeypatch.setattr(cli, "build", seen.append)
    for command in commands:
        cli.main(command[1:])
    assert [(options.check, options.isolation) for options in seen] == [
        (True, "required"),
        (False, "required"),
    ]
