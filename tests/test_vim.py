"""`:%!gpt-filter` and `:2,4!gpt-filter` through a real, headless Vim."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, ROOT, log_file
from tests.conftest import SAMPLE_LINES as LINES
from tests.fake_openai import FakeOpenAI

pytestmark = pytest.mark.skipif(shutil.which("vim") is None and not os.environ.get("CI"), reason="vim not installed")


def _vim(path: Path, command: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["vim", "-Es", "-N", "-u", "NONE", "-i", "NONE", "-c", command, "-c", "wq", str(path)],
        env=env,
        capture_output=True,
        timeout=60,
        start_new_session=True,  # no controlling terminal: messages can only go to the log
        check=False,
    )


def test_whole_buffer_is_fixed(api: FakeOpenAI, document: Path) -> None:
    _vim(document, "%!gpt-filter MarkdownLinter")
    assert document.read_text().splitlines() == [line.replace("teh", "the") for line in LINES]


def test_range_fixes_only_its_lines(api: FakeOpenAI, document: Path) -> None:
    _vim(document, "3,4!gpt-filter MarkdownLinter")
    expected = [*LINES[:2], "the first line", "the second line", *LINES[4:]]
    assert document.read_text().splitlines() == expected
    assert api.model_requests()[0].body["input"][0]["content"][0]["text"] == "teh first line\nteh second line\n"


@pytest.mark.parametrize("command", ["%!gpt-filter MarkdownLinter", "2,4!gpt-filter MarkdownLinter"])
def test_failing_server_leaves_buffer_unchanged_and_free_of_errors(
    api: FakeOpenAI, document: Path, command: str
) -> None:
    api.default_fault = "500"
    before = document.read_bytes()
    _vim(document, command)
    assert document.read_bytes() == before
    assert "HTTP 500" in log_file().read_text(encoding="utf-8")


def test_unknown_assistant_leaves_buffer_unchanged(api: FakeOpenAI, document: Path) -> None:
    before = document.read_bytes()
    _vim(document, "%!gpt-filter NoSuchAssistant")
    assert document.read_bytes() == before
    assert api.model_requests() == []


@pytest.mark.skipif(shutil.which("nvim") is None and not os.environ.get("CI"), reason="nvim not installed")
def test_neovim_with_the_plugin_shows_why_the_filter_failed(
    api: FakeOpenAI, document: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neovim runs filters without a terminal: the plugin shows what gpt-filter logged, not just
    "shell returned 1" (tests/test_editor_screen.py shows it on a real screen)."""
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nobody listens
    before = document.read_bytes()
    messages = document.with_name("messages.txt")
    log_file().parent.mkdir(parents=True)
    log_file().write_text("2026-01-01T00:00:00+00:00 gpt-filter[1] gpt-filter: error: an older run's line\n")
    argv = ["nvim", "--headless", "-u", "NONE", "-i", "NONE", "--cmd", f"set rtp^={ROOT / 'editor'}"]
    argv += ["--cmd", "runtime plugin/gpt_tools.vim", "-c", "%!gpt-filter MarkdownLinter"]
    argv += ["-c", f"call writefile(split(execute('messages'), '\\n'), '{messages}')", "-c", "qa!", str(document)]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(argv, env=env, capture_output=True, timeout=60, start_new_session=True, check=False)
    shown = messages.read_text(encoding="utf-8")
    assert "gpt-filter: error: cannot reach http://127.0.0.1:9/v1" in shown and "older run" not in shown
    assert document.read_bytes() == before


def _neovim(document: Path, *commands: str) -> None:
    argv = ["nvim", "--headless", "-u", "NONE", "-i", "NONE", "--cmd", f"set rtp^={ROOT / 'editor'}"]
    argv += ["--cmd", "runtime plugin/gpt_tools.vim", *(arg for command in commands for arg in ("-c", command))]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        [*argv, str(document)], env=env, capture_output=True, timeout=60, start_new_session=True, check=False
    )


@pytest.mark.skipif(shutil.which("nvim") is None and not os.environ.get("CI"), reason="nvim not installed")
@pytest.mark.parametrize("command", ["%!{}", "3,4!{}"])
def test_neovim_dropping_what_gpt_filter_gave_back_is_undone(tmp_path: Path, document: Path, command: str) -> None:
    """Neovim 0.7 may drop a filter's output when Ctrl-C stopped it (it sees the Ctrl-C again while
    reading the output back): the range went empty. Here a program stands for that: it logs as
    gpt-filter does, and nothing comes back. The plugin undoes the emptying."""
    dropped = tmp_path / "dropped"
    dropped.write_text(
        "#!/bin/sh\ncat >/dev/null\n"
        "printf '2026-01-01T00:00:00+00:00 gpt-filter[%s] gpt-filter: error: stopped by SIGINT\\n' $$"
        f" >> '{log_file()}'\n"
        "exit 130\n"
    )
    dropped.chmod(0o755)
    log_file().parent.mkdir(parents=True)
    before = document.read_bytes()
    _neovim(document, command.format(dropped), "sleep 100m", "wq")  # the undo comes from a timer
    assert document.read_bytes() == before
    other = document.with_name("other.txt")
    other.write_bytes(before)  # another program's failure without gpt-filter's log: left to Neovim
    _neovim(other, f"{command.format('false')}", "sleep 100m", "wq")
    assert other.read_bytes() != before
