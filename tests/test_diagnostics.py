"""Diagnostics print as one line of plain text."""

from pathlib import Path

from kernelblog.diagnostics import Diagnostic


def test_control_characters_never_reach_the_terminal():
    diagnostic = Diagnostic(
        Path("posts/a.md"), 3, "error", "ValueError: \x1b[2J\x1b[31mboom\x07\x1b[0m\rover"
    )
    assert str(diagnostic) == "posts/a.md:3: error: ValueError: boom\\x07\\rover"


def test_a_diagnostic_without_a_line_names_the_file():
    assert str(Diagnostic(Path("posts"), 0, "error", "no posts")) == "posts: error: no posts"


# GitHub Actions annotations (workflow commands)

import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from conftest import ROOT, write_post  # noqa: E402

WORKFLOW_COMMAND = re.compile(r"^::(error|warning) ((?:[a-z]+=[^,:]*)(?:,[a-z]+=[^,:]*)*)::(.*)$")


def test_an_annotation_escapes_its_message_and_properties():
    diagnostic = Diagnostic(
        Path("posts/a,b:c%.md"), 12, "error", "ValueError: 100% off\nsecond line\r\x1b[31m!"
    )
    command = diagnostic.workflow_command()
    assert command == (
        "::error file=posts/a%2Cb%3Ac%25.md,line=12,title=kernelblog error::"
        "ValueError: 100%25 off%0Asecond line%0D!"
    )
    assert "\n" not in command and WORKFLOW_COMMAND.match(command)


def test_an_annotation_names_the_file_from_the_repository_root(tmp_path):
    warning = Diagnostic(tmp_path / "posts" / "x.md", 0, "warning", "a: b")
    assert (
        warning.workflow_command(tmp_path)
        == "::warning file=posts/x.md,title=kernelblog warning::a: b"
    )
    elsewhere = Diagnostic(Path("/elsewhere/x.md"), 3, "error", "m").workflow_command(tmp_path)
    assert elsewhere.startswith("::error file=/elsewhere/x.md,line=3,")


def test_a_broken_post_in_github_actions_is_annotated_at_its_line(tmp_path):
    """GITHUB_ACTIONS=true: each diagnostic line is followed by its workflow command, and the job
    summary lists the errors."""
    write_post(
        tmp_path / "posts",
        "broken.md",
        "# Broken\n\nProse.\n\n```python\nmodel = Sequential()\n"
        "model.add(Dense2(3))\n```\n\n```python\nprint('ok')\n```\n",
    )
    summary = tmp_path / "summary.md"
    env = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    plain = "posts/broken.md:7: error: name 'Dense2' is not defined (did you mean 'Dense'?)"
    annotation = (
        "::error file=posts/broken.md,line=7,title=kernelblog error::"
        "name 'Dense2' is not defined (did you mean 'Dense'?)"
    )
    assert lines[lines.index(plain) + 1] == annotation
    assert [line for line in lines if line.startswith("::")] == [annotation]
    text = summary.read_text()
    assert (
        text.startswith("## kernelblog check\n") and f"1 error, 0 warnings\n\n- `{plain}`\n" in text
    )


def test_the_job_summary_is_a_markdown_table_of_the_posts():
    from kernelblog.progress import Progress

    progress = Progress(lambda line: None, github=True)
    progress.add(Path("posts/a|b.md"), 3)
    progress.cached(Path("posts/a|b.md"), 12.34)
    progress.add(Path("posts/c.md"), 2, "not run")
    progress.diagnostic(Diagnostic(Path("posts/c.md"), 4, "error", "NameError: `x` | y"))
    progress.diagnostic(Diagnostic(Path("posts/c.md"), 9, "warning", "w"))
    assert progress.markdown("kernelblog build") == (
        "## kernelblog build\n\n| post | cells | result | seconds |\n| --- | ---: | --- | ---: |\n"
        "| `posts/a\\|b.md` | 3 | cached | 12.3 |\n| `posts/c.md` | 2 | not run | - |\n\n"
        "1 error, 1 warning\n\n- `posts/c.md:4: error: NameError: 'x' \\| y`\n"
    )


def test_the_plain_format_prints_no_workflow_commands(tmp_path):
    write_post(tmp_path / "posts", "broken.md", "# Broken\n\n```python\nDense2(3)\n```\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--check", "--format", "plain"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "PYTHONPATH": str(ROOT)},
    )
    assert (
        result.returncode == 1
        and "::" not in result.stderr
        and "posts/broken.md:4: error:" in result.stderr
    )
