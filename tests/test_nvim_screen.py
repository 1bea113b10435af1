"""What Neovim's screen shows while :GptRun works and when it fails, in a real Neovim under tmux.

The editor runs in a detached tmux session of a fixed size with the plugin registered (the session's
manifest); the test types as a user would (send-keys) and reads the screen (capture-pane), polling for
what it expects. The fake server is paced (ttfb), so the progress stays on the screen long enough.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpt_tools.state.paths import user_config_file
from tests.fake_openai import FakeOpenAI
from tests.nvim_helpers import NVIM
from tests.tmux_helpers import PASSED, Screen, tmux_screen

pytestmark = [
    pytest.mark.skipif(
        (shutil.which("tmux") is None or NVIM is None) and not os.environ.get("CI"), reason="tmux or nvim missing"
    ),
    pytest.mark.timeout(120),
]

WIDTH, HEIGHT = 100, 12


@pytest.fixture
def screen(tmp_path: Path, plugin_init: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Screen]:
    monkeypatch.setenv("NVIM_RPLUGIN_MANIFEST", str(plugin_init[1]))
    with tmux_screen(f"gpt-tools-nvim-{os.getpid()}-{tmp_path.name}", WIDTH, HEIGHT) as view:
        yield view


def open_in_nvim(screen: Screen, init: Path, document: Path) -> None:
    assert NVIM is not None
    argv = [NVIM, "-i", "NONE", "-u", str(init), str(document)]
    screen.start(argv, document.parent, os.environ, (*PASSED, "NVIM_RPLUGIN_MANIFEST"))
    screen.shows(document.read_text(encoding="utf-8").splitlines()[0])


def last_line(shown: str) -> str:
    return shown.rstrip("\n").splitlines()[-1]


def test_progress_then_what_changed(
    api: FakeOpenAI, document: Path, screen: Screen, plugin_init: tuple[Path, Path]
) -> None:
    api.ttfb = 3
    open_in_nvim(screen, plugin_init[0], document)
    screen.command(":GptRun MarkdownLinter")
    shown = screen.shows("GptRun MarkdownLinter on notes.md: 1 s")
    assert "the first line" not in shown
    shown = screen.shows("GptRun MarkdownLinter on notes.md: done, 4 line(s) changed, u undoes")
    assert "the first line" in shown and "teh" not in shown


def test_an_error_shows_its_fix_on_one_line_and_messages_has_all_of_it(
    api: FakeOpenAI, screen: Screen, plugin_init: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG")  # it stops the search for the buffer's project config
    user_config_file().parent.mkdir(parents=True, exist_ok=True)
    user_config_file().write_text("max_retries = 0\n", encoding="utf-8")
    project = tmp_path / "p"
    project.mkdir()
    (project / "gpt-tools.toml").write_text(f'base_url = "{api.url}"\n', encoding="utf-8")
    document = project / "notes.md"
    document.write_text("teh notes\n", encoding="utf-8")
    open_in_nvim(screen, plugin_init[0], document)
    screen.command(":GptRun MarkdownLinter")
    shown = screen.shows("(:messages)")
    line = last_line(shown)
    assert line.startswith("GptRun MarkdownLinter on notes.md: the project") and line.endswith("(:messages)")
    assert "Press ENTER" not in shown  # no hit-enter prompt in the middle of the user's work
    screen.command(":messages")
    shown = "".join(screen.shows("Press ENTER").splitlines())  # the long lines wrap: join them back
    assert "is not trusted; if you trust it, run `" in shown and "gpt-tools" in shown and "base_url" in shown
    assert "teh notes" in document.read_text(encoding="utf-8")
