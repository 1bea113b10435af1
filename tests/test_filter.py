"""`gpt-filter` as Vim runs it: only the result on stdout; on any failure, the input byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import log_file, run_program, write_config
from tests.fake_openai import FakeOpenAI, Scripted

DOC = b"# Notes\r\n\r\nI recieve teh mail.\r\n"
FIXED = b"# Notes\r\n\r\nI receive the mail.\r\n"


def test_fixes_and_keeps_crlf_and_final_newline(api: FakeOpenAI) -> None:
    done = run_program("gpt-filter", "MarkdownLinter", stdin=DOC)
    assert (done.returncode, done.stdout, done.stderr) == (0, FIXED, b"")


def test_keeps_missing_final_newline(api: FakeOpenAI) -> None:
    done = run_program("gpt-filter", "MarkdownLinter", stdin=b"teh end")
    assert done.stdout == b"the end"


def test_bom_survives(api: FakeOpenAI) -> None:
    done = run_program("gpt-filter", "MarkdownLinter", stdin="\ufeffteh\n".encode())
    assert done.stdout == "\ufeffthe\n".encode()
    assert "\ufeff" not in api.model_requests()[0].body["input"][0]["content"][0]["text"]


FAILURES = {
    "server error": (["MarkdownLinter"], "500", b"HTTP 500"),
    "incomplete reply": (["MarkdownLinter"], "incomplete", b"not complete"),
    "cut stream": (["MarkdownLinter"], "cut", b"not complete"),
    "empty reply": (["MarkdownLinter"], "empty", b"empty reply"),
    "unknown assistant": (["MarkdownLinte"], None, b"Did you mean 'MarkdownLinter'"),
    "bad option": (["MarkdownLinter", "--frobnicate"], None, b"unrecognized arguments"),
    "no assistant": ([], None, b"the following arguments are required"),
}


@pytest.mark.parametrize("case", FAILURES)
def test_failure_prints_input_unchanged_and_says_why_on_stderr(api: FakeOpenAI, case: str) -> None:
    args, fault, why = FAILURES[case]
    api.default_fault = fault
    done = run_program("gpt-filter", *args, stdin=DOC)
    assert done.stdout == DOC
    assert done.returncode in (1, 2)
    assert why in done.stderr
    assert b"the text was left unchanged" in done.stderr


def test_merged_stderr_keeps_the_message_out_of_the_buffer(api: FakeOpenAI) -> None:
    """Vim runs `cmd >tmp 2>&1`: the error must reach the log, never the buffer."""
    api.default_fault = "500"
    done = run_program("gpt-filter", "MarkdownLinter", stdin=DOC, merge_stderr=True)
    assert done.returncode == 1
    assert done.stdout == DOC
    assert "HTTP 500" in log_file().read_text(encoding="utf-8")


def test_success_with_merged_stderr_prints_only_the_result(api: FakeOpenAI) -> None:
    api.script(Scripted(fault="429", retry_after=0.1))
    done = run_program("gpt-filter", "MarkdownLinter", stdin=DOC, merge_stderr=True)
    assert (done.returncode, done.stdout) == (0, FIXED)


@pytest.mark.parametrize(
    ("data", "exit_code", "why"),
    [
        (b"", 2, b"empty"),
        (b"caf\xe9 au lait\n", 2, b"not valid UTF-8 (byte 3, line 1)"),
        (b"\x7fELF\x02\x01\x01\x00\x00binary", 2, b"looks binary"),
        (b"token: ghp_" + b"A1b2C3d4E5" * 4 + b"\n", 2, b"line 1: looks like a GitHub token"),
        (b"# big\n" + b"All work and no play.\n" * 250_000, 2, b"over the limit"),
    ],
    ids=["empty", "invalid-utf8", "binary", "secret", "5MB"],
)
def test_refused_input_comes_back_and_nothing_is_sent(api: FakeOpenAI, data: bytes, exit_code: int, why: bytes) -> None:
    done = run_program("gpt-filter", "MarkdownLinter", stdin=data)
    assert (done.returncode, done.stdout) == (exit_code, data)
    assert why in done.stderr
    assert b"ghp_" not in done.stderr
    assert api.model_requests() == []


def test_missing_key_is_a_config_error(fake: FakeOpenAI) -> None:
    done = run_program("gpt-filter", "MarkdownLinter", stdin=DOC)
    assert (done.returncode, done.stdout) == (2, DOC)
    assert b"no API key: set OPENAI_API_KEY" in done.stderr


def test_malformed_config_names_file_and_key(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(Path.cwd(), "[assistants.MarkdownLinter]\ntemprature = 0.2\n", name="broken.toml")
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(config))
    done = run_program("gpt-filter", "MarkdownLinter", stdin=DOC)
    assert (done.returncode, done.stdout) == (2, DOC)
    assert (
        f"{config}: assistants.MarkdownLinter.temprature: unknown key; did you mean 'temperature'?".encode()
        in done.stderr
    )


def test_help_does_not_replace_the_text(api: FakeOpenAI) -> None:
    done = run_program("gpt-filter", "--help", stdin=DOC)
    assert (done.returncode, done.stdout) == (0, DOC)
    assert b"usage: gpt-filter" in done.stderr


def test_merged_stderr_message_goes_to_the_controlling_terminal(api: FakeOpenAI, tmp_path: Path) -> None:
    """Under Vim in a terminal: the reason reaches /dev/tty, never the file that becomes the buffer."""
    import os
    import pty

    from tests.conftest import program

    api.default_fault = "500"
    source, output = tmp_path / "in.md", tmp_path / "out.md"
    source.write_bytes(DOC)
    pid, master = pty.fork()
    if pid == 0:  # child: the pty is its controlling terminal, like Vim's shell
        with open(source, "rb") as stdin, open(output, "wb") as out:
            os.dup2(stdin.fileno(), 0)
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)  # Vim's shellredir: >%s 2>&1
        os.execv(program("gpt-filter"), [program("gpt-filter"), "MarkdownLinter"])
    _, status = os.waitpid(pid, 0)  # the pty buffers what the child wrote to /dev/tty meanwhile
    terminal = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: nothing more from the terminal side
            break
        if not chunk:
            break
        terminal += chunk
    os.close(master)
    assert os.waitstatus_to_exitcode(status) == 1
    assert output.read_bytes() == DOC
    assert b"gpt-filter: error: HTTP 500" in terminal
