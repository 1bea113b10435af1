"""Shared fixtures: the fake OpenAI server and an isolated environment for every test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gpt_tools.backends import BACKENDS, register
from tests.fake_clock import FakeClock
from tests.fake_openai import FakeOpenAI
from tests.lsp_client import LspClient
from tests.scripted_backend import NAME as SCRIPTED
from tests.scripted_backend import ScriptedBackend

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def _server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def fake(_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The fake server, reset for this test (one server per session keeps the suite fast)."""
    _server.reset()
    yield _server
    _server.reset()


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    """A fresh fake server of the test's own (for tests that inspect or break its state)."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def client(server: FakeOpenAI) -> Any:
    """The real openai SDK talking to the fake: the reference the fake is held to."""
    import openai

    return openai.OpenAI(base_url=server.url, api_key="test", max_retries=0, timeout=10)


@pytest.fixture(scope="session")
def plugin_init(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The editor plugin registered once (`:UpdateRemotePlugins` into a temporary manifest)."""
    from tests.nvim_helpers import register_plugin

    return register_plugin(tmp_path_factory.mktemp("nvim"))


@pytest.fixture
def nvim(
    fake: FakeOpenAI, api: FakeOpenAI, plugin_init: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """A real headless Neovim with the plugin, talking to the fake server."""
    from tests.nvim_helpers import start_nvim, stop_nvim

    init, manifest = plugin_init
    monkeypatch.setenv("NVIM_RPLUGIN_MANIFEST", str(manifest))
    write_config(Path.cwd(), "max_retries = 0\n")  # the api fixture's config: failures fail at once
    editor = start_nvim(init)
    try:
        yield editor
    finally:
        api.responder = lambda text: text  # release any gated reply before the server is reset
        stop_nvim(editor)


SAMPLE_LINES = ["# Notes", "", "teh first line", "teh second line", "teh third line", "last teh line"]


@pytest.fixture
def document(tmp_path: Path) -> Path:
    """A small Markdown file for the editor tests (Vim filter, Vim plugin)."""
    path = tmp_path / "notes.md"
    path.write_text("\n".join(SAMPLE_LINES) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No real key, config or state dir of the developer's can leak into a test."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "GPT_TOOLS_")) or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    for sub in ("config", "state", "data", "cache"):
        (home / sub).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    # The tests written before edits mode test document mode (its guards, its streaming); tests of
    # edits mode ask for the `edits_mode` fixture, which gives the assistants their own output back.
    monkeypatch.setenv("GPT_TOOLS_OUTPUT", "document")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def edits_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in rewriters' own output (MarkdownLinter, ProofReader: edits)."""
    monkeypatch.delenv("GPT_TOOLS_OUTPUT")


@pytest.fixture
def api(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """The fake server wired in through the environment, as a user would point at a proxy."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    # Keep retry waits short; tests about backoff set their own.
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(write_config(Path.cwd(), "max_retries = 2\nmax_retry_wait = 5\n")))
    return fake


@pytest.fixture
def lsp(api: FakeOpenAI, edits_mode: None) -> Iterator[LspClient]:
    """A `gpt-tools lsp` process in edits mode against `api`, initialized on the cwd, checking saves at once."""
    client = LspClient(cwd=Path.cwd())
    client.initialize(root=Path.cwd(), options={"debounceMs": 0})
    yield client
    client.kill()


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedBackend]:
    """An in-process backend answering from a script, selected for every run (no HTTP, no key): for
    tests of what the pipeline does with replies. Tests of the wire use `api` (the real HTTP fake)."""
    backend = ScriptedBackend()
    register(SCRIPTED, backend)
    monkeypatch.setenv("GPT_TOOLS_BACKEND", SCRIPTED)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://scripted.invalid/v1")  # never reached: nothing is sent
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(write_config(Path.cwd(), "max_retries = 0\n")))
    yield backend
    BACKENDS.pop(SCRIPTED, None)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Retry waits recorded in `waits.waits` and not spent (tests/fake_clock.py)."""
    clock = FakeClock()
    clock.install(monkeypatch)
    return clock


def write_config(folder: Path, text: str, name: str = "gpt-tools.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def trust_project(folder: Path) -> None:
    """What `gpt-tools trust FOLDER` does: let that project's config choose endpoint and key."""
    from gpt_tools.config.trust import trust
    from gpt_tools.state.paths import user_config_file

    trust(folder, user_config_file())


def varied_text(size: int) -> str:
    """A Markdown document of about `size` characters, with a heading every 40 lines and a 'teh'
    (the fake's typo) on every tenth; its words rarely repeat, as prose's rarely do in bulk."""
    lines: list[str] = []
    total = n = 0
    while total < size:
        if n % 40 == 0:
            lines.append(f"# Part {n}\n\n")
        words = " ".join(f"w{(n * 7919 + k * 104729) % 999983}" for k in range(6))
        lines.append(("teh " if n % 10 == 0 else "") + words + "\n")
        total += len(lines[-1]) + (len(lines[-2]) if n % 40 == 0 else 0)
        n += 1
    return "".join(lines)


def log_file() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "gpt-tools" / "gpt-tools.log"


def program(name: str) -> str:
    """The installed console script, next to the running interpreter."""
    found = BIN / name
    return str(found) if found.exists() else shutil.which(name) or name


def run_program(
    name: str, *args: str, stdin: bytes = b"", merge_stderr: bool = False, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """Run a console script as a user would, detached from any terminal (no /dev/tty)."""
    return subprocess.run(
        [program(name), *args],
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        timeout=timeout,
        start_new_session=True,
        check=False,
    )


def read_pty(fd: int) -> bytes:
    """All a pseudo-terminal's leader side gets until the last holder of its other side has closed it."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side closed (Linux says so rather than reading b"")
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
