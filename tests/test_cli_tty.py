"""Terminal behaviour through a real pseudo-terminal: progress only on a terminal's stderr."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

import gpt_tools
from gpt_tools.config.loader import load_config
from gpt_tools.config.resolve import resolve_settings
from gpt_tools.state import conversation
from tests.conftest import program, read_pty
from tests.fake_openai import FakeOpenAI, Scripted


def _run(args: list[str], *, stdout_tty: bool, stderr_tty: bool) -> tuple[int, bytes, bytes]:
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [program("gpt-tools"), *args],
        stdin=subprocess.DEVNULL,
        stdout=slave if stdout_tty else subprocess.PIPE,
        stderr=slave if stderr_tty else subprocess.PIPE,
    )
    os.close(slave)
    piped = process.stdout or process.stderr
    piped_bytes = piped.read() if piped else b""
    code = process.wait(timeout=60)
    terminal = read_pty(master)
    os.close(master)
    return code, terminal, piped_bytes


def test_spinner_on_terminal_stderr_result_alone_on_piped_stdout(api: FakeOpenAI) -> None:
    api.script(Scripted(delay=0.4))
    code, terminal, stdout = _run(["run", "Summarizer", "-t", "teh news"], stdout_tty=False, stderr_tty=True)
    assert code == 0
    assert stdout == b"the news"
    config = load_config()
    model = resolve_settings(config, config.assistant("Summarizer")).model  # the default moves with OpenAI's
    assert f"⠋ Summarizer · {model}".encode() in terminal  # the spinner's first frame
    assert b" in / " in terminal and b" out \xc2\xb7 " in terminal  # the closing usage summary
    assert b"\r" not in stdout


def test_no_progress_when_stderr_is_not_a_terminal(api: FakeOpenAI) -> None:
    code, terminal, stderr = _run(["run", "Summarizer", "-t", "teh news"], stdout_tty=True, stderr_tty=False)
    assert code == 0
    assert stderr == b""
    assert b"the news" in terminal  # streamed to the terminal


def test_reply_streams_to_a_terminal(api: FakeOpenAI) -> None:
    api.script(Scripted(chunk_delay=0.05))
    code, terminal, _ = _run(
        ["run", "Summarizer", "-t", "teh quick brown fox jumps"], stdout_tty=True, stderr_tty=False
    )
    assert code == 0
    assert b"the quick brown fox jumps" in terminal.replace(b"\r\n", b"\n")


def test_conversation_export_escapes_control_characters_only_on_a_terminal(api: FakeOpenAI) -> None:
    api.responder = lambda text: "colour \x1b]0;owned\x07 \x1b[1mbold"
    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh", conversation=talk)
    code, terminal, _ = _run(["conversations", "export", talk.id], stdout_tty=True, stderr_tty=False)
    assert code == 0
    assert b"\x1b" not in terminal and b"colour \\x1b]0;owned\\x07 \\x1b[1mbold" in terminal
    code, _, piped = _run(["conversations", "export", talk.id], stdout_tty=False, stderr_tty=True)
    assert code == 0 and b"colour \x1b]0;owned\x07 \x1b[1mbold" in piped  # a file gets the text as it is


def test_conversation_json_on_a_terminal_escapes_what_json_leaves_raw(api: FakeOpenAI) -> None:
    api.responder = lambda text: "right\u202eleft \x9b31m café"  # a bidi override and a C1 CSI
    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh", conversation=talk)
    for command in (["show", talk.id, "--json"], ["list", "--json"], ["export", talk.id, "--json"]):
        code, terminal, _ = _run(["conversations", *command], stdout_tty=True, stderr_tty=False)
        assert code == 0
        assert "\u202e".encode() not in terminal and "\x9b".encode() not in terminal, command
        if command[0] != "list":  # list shows the first words, the user's
            assert b"right\\u202eleft \\u009b31m caf\\u00e9" in terminal, command
    code, _, piped = _run(["conversations", "show", talk.id, "--json"], stdout_tty=False, stderr_tty=True)
    assert code == 0 and json.loads(piped)["messages"][1]["content"] == "right\u202eleft \x9b31m café"
    assert "café".encode() in piped  # UTF-8 as it is for a program
