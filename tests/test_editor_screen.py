"""What the screen shows while gpt-tools works and when it fails, in a real Vim (and Neovim) under tmux.

Each test starts the editor in a tmux session of a fixed size on a socket of its own, types as a user
would (send-keys) and reads the screen (capture-pane). The fake server is paced (ttfb), so progress
is on the screen long enough to be read; every wait polls the screen for what it expects.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_LINES as LINES
from tests.conftest import write_config
from tests.fake_openai import FakeOpenAI, Scripted
from tests.tmux_helpers import Screen, tmux_screen
from tests.vim_helpers import EDITOR, vim_env

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None and not os.environ.get("CI"), reason="tmux not installed"),
    pytest.mark.skipif(shutil.which("vim") is None and not os.environ.get("CI"), reason="vim not installed"),
    pytest.mark.timeout(120),
]

WIDTH, HEIGHT = 100, 14
PLUGIN = ["--cmd", f"set rtp^={EDITOR}", "--cmd", "runtime plugin/gpt_tools.vim"]


@pytest.fixture
def screen(tmp_path: Path) -> Iterator[Screen]:
    with tmux_screen(f"gpt-tools-test-{os.getpid()}-{tmp_path.name}", WIDTH, HEIGHT) as view:
        yield view


def _vim(screen: Screen, document: Path, *commands: str) -> None:
    extra = [arg for command in commands for arg in ("--cmd", command)]
    argv = ["vim", "-N", "-u", "NONE", "-i", "NONE", *PLUGIN, *extra, str(document)]
    screen.start(argv, document.parent, vim_env())
    screen.shows(LINES[2])


def test_gptfilter_shows_its_progress_then_the_result(api: FakeOpenAI, document: Path, screen: Screen) -> None:
    api.ttfb = 3
    _vim(screen, document)
    screen.command(":GptFilter MarkdownLinter")
    shown = screen.shows("GptFilter MarkdownLinter on notes.md: 1 s; Ctrl-C cancels")
    assert "the first line" not in shown  # nothing in the buffer while it waits
    screen.keys("j")  # Vim still takes keys
    shown = screen.shows("GptFilter MarkdownLinter: 4 line(s) changed, u undoes it")
    assert "the first line" in shown and "teh" not in shown


def test_ctrl_c_cancels_the_job_cleanly(api: FakeOpenAI, document: Path, screen: Screen) -> None:
    api.script(Scripted(delay=30))
    _vim(screen, document)
    screen.command(":GptFilter MarkdownLinter")
    screen.shows("GptFilter MarkdownLinter on notes.md: 0 s")
    screen.keys("C-c")
    last = screen.shows("GptFilter MarkdownLinter: cancelled; the text was left as it was").splitlines()[-1]
    assert last.startswith("GptFilter MarkdownLinter: cancelled") and "^C" not in screen.text()
    assert LINES[2] in screen.text()


def test_ctrl_c_while_vim_waits_leaves_no_leftovers(api: FakeOpenAI, document: Path, screen: Screen) -> None:
    api.script(Scripted(delay=30))
    _vim(screen, document, "let g:gpt_tools_filter_wait = 1")
    screen.command(":GptFilter MarkdownLinter")
    deadline = time.monotonic() + 30
    while not api.model_requests() and time.monotonic() < deadline:  # Vim is blocked: ask the server
        time.sleep(0.05)
    screen.keys("C-c")
    shown = screen.shows("GptFilter: cancelled; the text was left as it was")
    assert "^C" not in shown and "ptFilter MarkdownLinter" not in shown  # the typed command is gone too
    assert LINES[2] in shown


def test_a_server_that_is_down_is_reported_at_once(
    api: FakeOpenAI, document: Path, screen: Screen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # the discard port: nobody listens
    write_config(Path.cwd(), "max_retries = 4\n")
    _vim(screen, document)
    screen.command(":GptFilter MarkdownLinter")
    shown = screen.shows("GptFilter MarkdownLinter: cannot reach http://127.0.0.1:9/v1", seconds=5)
    assert LINES[2] in shown and "retrying" not in shown


def test_filter_retries_and_its_failure_are_on_the_terminal(api: FakeOpenAI, document: Path, screen: Screen) -> None:
    api.default_fault = "500"
    write_config(Path.cwd(), "max_retries = 1\nmax_retry_wait = 5\n")
    _vim(screen, document)
    screen.command(":%!gpt-filter MarkdownLinter")
    shown = screen.shows("shell returned 1")
    assert "retrying in" in shown and "(retry 1/1)" in shown and "the text was left unchanged" in shown
    screen.keys("Enter")
    assert LINES[2] in screen.shows(LINES[2])  # the text is back, unchanged


@pytest.mark.skipif(shutil.which("nvim") is None and not os.environ.get("CI"), reason="nvim not installed")
def test_neovim_shows_why_the_filter_failed(
    api: FakeOpenAI, document: Path, screen: Screen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    screen.start(["nvim", "-u", "NONE", "-i", "NONE", *PLUGIN, str(document)], document.parent, vim_env())
    screen.shows(LINES[2])
    screen.command(":%!gpt-filter MarkdownLinter")
    shown = screen.shows("shell returned 1")
    shown = screen.shows("gpt-filter: error: cannot reach http://127.0.0.1:9/v1")
    assert "the text was" in shown


def test_a_result_waits_for_insert_mode_to_end(api: FakeOpenAI, document: Path, screen: Screen) -> None:
    api.ttfb = 2
    _vim(screen, document, "set laststatus=2 statusline=[%{g:gpt_tools_status}]")
    screen.command(":GptFilter MarkdownLinter")
    screen.shows("[GptFilter MarkdownLinter on notes.md: 0 s]")
    screen.keys("i")  # Insert mode, nothing typed
    shown = screen.shows("[GptFilter MarkdownLinter: result ready; applies when you leave insert mode]")
    assert "-- INSERT --" in shown and "the first line" not in shown
    screen.keys("Escape")
    shown = screen.shows("GptFilter MarkdownLinter: 4 line(s) changed, u undoes it")
    assert "the first line" in shown and "[]" in shown
    screen.keys("u")
    assert "teh first line" in screen.shows("teh first line")


def test_typing_while_the_result_waits_sends_it_to_a_split(api: FakeOpenAI, document: Path, screen: Screen) -> None:
    api.ttfb = 2
    _vim(screen, document, "set laststatus=2 statusline=%f[%{g:gpt_tools_status}]")
    screen.command(":GptFilter MarkdownLinter")
    screen.shows("GptFilter MarkdownLinter on notes.md: 0 s")
    screen.keys("i", "typed ")
    screen.shows("result ready; applies when you leave insert mode")
    screen.keys("Escape")
    shown = screen.shows("GptFilter MarkdownLinter: the buffer changed meanwhile; the result is in a split (diffed")
    assert "typed # Notes" in shown and "gpt-filter://MarkdownLinter/" in shown


def test_a_waiting_result_can_be_cancelled(api: FakeOpenAI, document: Path, screen: Screen) -> None:
    api.ttfb = 1
    # <Cmd> runs it without leaving Insert mode (CTRL-O leaves it: the result would apply at once).
    _vim(
        screen,
        document,
        "set laststatus=2 statusline=[%{g:gpt_tools_status}]",
        "inoremap <F5> <Cmd>GptFilterCancel!<CR>",
    )
    screen.command(":GptFilter MarkdownLinter")
    screen.shows("[GptFilter MarkdownLinter on notes.md: 0 s]")
    screen.keys("i")
    screen.shows("result ready; applies when you leave insert mode")
    screen.keys("F5")
    screen.shows("[]")  # -- INSERT -- covers the message line; the status line says it is over
    screen.keys("Escape")
    screen.command(":messages")
    assert "line(s) changed" not in screen.shows("GptFilter MarkdownLinter: cancelled; the text was left as it was")
    screen.keys("Enter")
    shown = screen.shows("teh first line")
    assert "the first line" not in shown


def test_a_result_waits_for_the_command_line_window_to_close(api: FakeOpenAI, document: Path, screen: Screen) -> None:
    # The command-line window allows no change to another window (E11): the split was lost with it.
    api.ttfb = 2
    _vim(screen, document, "set laststatus=2 statusline=%f[%{g:gpt_tools_status}]")
    screen.command(":GptFilter MarkdownLinter")
    screen.shows("GptFilter MarkdownLinter on notes.md: 0 s")
    screen.keys("x", "q:")  # an edit (the result must go to a split), then the command-line window
    screen.shows("result ready; applies when you leave the command-line window")
    screen.command(":quit")
    shown = screen.shows("GptFilter MarkdownLinter: the buffer changed meanwhile; the result is in a split (diffed")
    assert "gpt-filter://MarkdownLinter/" in shown and "E11" not in shown
