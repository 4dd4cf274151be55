import importlib.util
import os
import shutil
import struct
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import html5lib
import pytest
from hypothesis import HealthCheck, settings

from kernelblog.keras_index import build_index

ROOT = Path(__file__).resolve().parent.parent


def build_script():
    """build.py, the command line, loaded from the checkout: it is not on sys.path under pytest."""
    spec = importlib.util.spec_from_file_location("build", ROOT / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIXTURES = Path(__file__).resolve().parent / "fixtures"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
PAGE_BUDGET = 300_000  # bytes per page, with its CSS and JS, images aside


@pytest.fixture(autouse=True)
def same_working_folder():
    """Each test starts in the folder the run started in, even after one changed it to a folder
    that has since been removed (as running a download's working-folder cell in-process does)."""
    folder = os.getcwd()
    yield
    os.chdir(folder)


@pytest.fixture(autouse=True)
def outside_github_actions(monkeypatch):
    """Tests run the same inside a GitHub Actions job: no annotations, no job summary unless a test
    asks."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


# Under pytest-xdist (`-n 2`, see pyproject.toml), the tests that share a session build run on one
# worker, so that each build is made once.
SHARED_BUILDS = {
    "posts": {"posts_build", "built_posts"},
    "drafts": {"drafts_build", "wild_build"},
}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items):
    for item in items:
        for group, fixtures in SHARED_BUILDS.items():
            if fixtures & set(item.fixturenames):
                item.add_marker(pytest.mark.xdist_group(group))
                break


@pytest.fixture(scope="session")
def index():
    return build_index()


@dataclass
class Built:
    """A build's site, what it reported, and each post's executed notebook (slug -> ExecutedPost,
    as the build handed them to write_all)."""

    site: Path
    status: int
    lines: list[str]
    executed: dict


def build_recording(options) -> Built:
    """Build with `options`, recording the report and the executed posts."""
    from kernelblog import pipeline

    lines: list[str] = []
    executed: dict = {}
    real = pipeline.write_all

    def write_all(options, completed, done, *args, **kwargs):
        executed.update(done)
        return real(options, completed, done, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "write_all", write_all)
        status = pipeline.build(options, report=lines.append)
    return Built(options.out, status, lines, executed)


def cold_options(posts: Path, folder: Path, jobs: int, keep_going=False, out=None):
    """Options of a cold build of `posts` into `folder` (site/, snippets/ and cache/ in it)."""
    from kernelblog.pipeline import Options

    return Options(
        posts=posts,
        out=out or folder / "site",
        snippets=folder / "snippets",
        cache=folder / "cache",
        jobs=jobs,
        keep_going=keep_going,
    )


@pytest.fixture(scope="session")
def posts_build(tmp_path_factory):
    """posts/ built once, cold (executing every post), into a temporary folder under a base path
    (blog/): shared by every test that needs posts/ executed."""
    from kernelblog.pipeline import OK

    root = tmp_path_factory.mktemp("served")
    built = build_recording(cold_options(ROOT / "posts", root, jobs=2, out=root / "blog"))
    assert built.status == OK, "\n".join(built.lines)
    return built


@pytest.fixture(scope="session")
def built_posts(posts_build):
    """The site of the session's build of posts/ (its snippets and cache beside it)."""
    return posts_build.site


DRAFTS = [
    ROOT / "tests" / "data" / "draft" / "typical-draft.md",
    ROOT / "tests" / "data" / "components" / "sections.md",
]


@pytest.fixture(scope="session")
def drafts_build(tmp_path_factory):
    """A typical draft and a post of two independent sections (DRAFTS), built once, cold, with
    --keep-going, in one kernel (--jobs 1: every component after another)."""
    folder = tmp_path_factory.mktemp("drafts")
    (folder / "posts").mkdir()
    for draft in DRAFTS:
        shutil.copy(draft, folder / "posts" / draft.name)
    return build_recording(cold_options(folder / "posts", folder, jobs=1, keep_going=True))


RAW_DRAFT = ROOT / "tests" / "data" / "draft" / "deep-learning-overview-raw.md"


@pytest.fixture(scope="session")
def wild_build(tmp_path_factory):
    """The drafts of tests/data/wild/ and the overview's first draft (RAW_DRAFT), built once,
    cold, with --keep-going."""
    folder = tmp_path_factory.mktemp("wild")
    shutil.copytree(ROOT / "tests" / "data" / "wild", folder / "posts")
    shutil.copy(RAW_DRAFT, folder / "posts" / RAW_DRAFT.name)
    return build_recording(cold_options(folder / "posts", folder, jobs=2, keep_going=True))


def write_post(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def executed_with(completed, outputs, seconds=1.5, executed_at="2026-11-24T09:00:00+00:00"):
    """An ExecutedPost whose code cells got `outputs` (one list per cell, in order), as if they ran,
    each for 0.25 s by nbclient's timestamps."""
    from kernelblog.execute import ExecutedPost

    notebook = completed.notebook()
    code = [
        cell for cell in notebook.cells if cell.metadata.get("kernelblog", {}).get("role") == "code"
    ]
    for count, (cell, cell_outputs) in enumerate(zip(code, outputs), start=1):
        cell.execution_count = count
        cell.outputs = cell_outputs
        cell.metadata["execution"] = {
            "iopub.execute_input": "2026-11-24T09:00:01.000000Z",
            "shell.execute_reply": "2026-11-24T09:00:01.250000Z",
        }
    return ExecutedPost(notebook, seconds=seconds, executed_at=executed_at)


def png(width: int, height: int) -> bytes:
    """A valid one-colour PNG of this size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\xff" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# Checks of a built site, for the site and browser tests.


class Links(HTMLParser):
    """Every URL a page links to or loads."""

    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (tag, url)

    def handle_starttag(self, tag, attrs):
        if tag == "link" and ("rel", "canonical") in attrs:
            return  # names the page's own absolute URL; loads nothing
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append((tag, value))


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def check_html5(site: Path) -> None:
    """Every page parses as HTML5 without a single parse error."""
    parser = html5lib.HTMLParser(strict=True)
    for page in pages(site):
        try:
            parser.parse(page.read_text(encoding="utf-8"))
        except html5lib.html5parser.ParseError as error:
            raise AssertionError(f"{page.relative_to(site)}: {error}") from None


def check_links(site: Path) -> None:
    """Internal links are relative and resolve; nothing is loaded from elsewhere."""
    for page in pages(site):
        if page.name == "404.html":
            continue  # served at any path, so its one link is absolute
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        assert parser.links, page
        for tag, url in parser.links:
            parts = urlsplit(url)
            where = f"{page.relative_to(site)}: {tag} {url}"
            if parts.scheme or url.startswith("//"):
                assert tag == "a" and parts.scheme in ("http", "https"), (
                    f"{where}: loads from elsewhere"
                )
                continue
            assert not url.startswith("/"), (
                f"{where}: absolute path; the site must work at any base path"
            )
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            assert target.is_file(), f"{where}: no such file"
            if parts.fragment and target.suffix == ".html":
                assert f'id="{parts.fragment}"' in target.read_text(encoding="utf-8"), (
                    f"{where}: no such anchor"
                )


def page_weight(page: Path) -> int:
    """Bytes of a page with the CSS and JS it loads, images aside."""
    parser = Links()
    parser.feed(page.read_text(encoding="utf-8"))
    loaded = {
        (page.parent / url).resolve()
        for tag, url in parser.links
        if tag in ("link", "script") and url.endswith((".css", ".js"))
    }
    return page.stat().st_size + sum(path.stat().st_size for path in loaded)


def static_build(folder: Path) -> list:
    """The static stages over the posts in `folder`/posts, as a build with --keep-going runs them,
    without kernels: read, complete and plan every post, then render and write the site, each
    post's code cells given no outputs. Returns the diagnostics, a BadInput's last; any other
    exception is the caller's to see."""
    from kernelblog.diagnostics import BadInput
    from kernelblog.pipeline import Options, ready_all, write_all

    found: list = []
    try:
        completed = [done.post for done in ready_all(folder / "posts", found.append)]
        executed = {done.post.slug: executed_with(done, []) for done in completed}
        options = Options(out=folder / "site", snippets=folder / "snippets")
        write_all(options, completed, executed, report=found.append)
    except BadInput as error:
        found.append(error.diagnostic)
    return found


# Hypothesis: the suite's runs are bounded (tests/test_fuzz.py, about a minute); a long one is
# asked for with `pytest --hypothesis-profile=long tests/test_fuzz.py`.
settings.register_profile("suite", max_examples=600, deadline=None)
settings.register_profile(
    "long", max_examples=20_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile("suite")
