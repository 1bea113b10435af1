"""`gpt-tools run -o FILE`: written atomically, never over an edit made meanwhile, never over what is not a
regular file, never onto a read-only or hard-linked file; an unchanged result leaves FILE untouched."""

from __future__ import annotations

import io
import json
import os
import pty
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from gpt_tools.cli.main import main
from tests.conftest import program, read_pty
from tests.fake_openai import FakeOpenAI

DOC = "# Notes\n\nteh text\n"
FIXED = "# Notes\n\nthe text\n"
EDITED = "# Notes\n\nteh text\n\nA paragraph the user saved while the request was in flight.\n"


@pytest.fixture(autouse=True)
def stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-terminal, empty stdin (pytest's own is neither a file nor a tty)."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO()))


def test_edit_made_while_the_request_is_in_flight_is_kept(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    doc = Path("doc.md")
    doc.write_text(DOC)

    def user_saves_then_reply(text: str) -> str:
        doc.write_text(EDITED)  # the server is still thinking when the user saves
        return text.replace("teh", "the")

    api.responder = user_saves_then_reply
    assert main(["run", "MarkdownLinter", "doc.md", "-o", "doc.md"]) == 1
    assert doc.read_text() == EDITED
    captured = capfd.readouterr()
    assert captured.out == FIXED  # the paid-for result is not lost
    assert "doc.md changed while the request was in flight; not overwritten" in captured.err
    assert sorted(os.listdir(".")) == ["doc.md", "gpt-tools.toml"]


def test_output_created_meanwhile_is_kept(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    out = Path("out.md")

    def someone_creates_it(text: str) -> str:
        out.write_text("made by someone else\n")
        return text.replace("teh", "the")

    api.responder = someone_creates_it
    assert main(["run", "ProofReader", "-t", "teh", "-o", "out.md"]) == 1
    assert out.read_text() == "made by someone else\n"
    assert capfd.readouterr().out == "the"


def _assert_run_leaves_untouched(out: Path, argv: list[str]) -> None:
    """argv succeeds and out is the same file, not written (neither replaced nor touched)."""
    before = out.stat()
    assert main(argv) == 0
    after = out.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_unchanged_result_leaves_the_file_untouched(api: FakeOpenAI) -> None:
    doc = Path("doc.md")
    doc.write_text(FIXED)
    _assert_run_leaves_untouched(doc, ["run", "MarkdownLinter", "doc.md", "-o", "doc.md"])


@pytest.mark.parametrize("mode", [0o444, 0o555])
def test_read_only_output_is_refused_before_anything_is_sent(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], mode: int
) -> None:
    doc = Path("doc.md")
    doc.write_text(DOC)
    doc.chmod(mode)
    assert main(["run", "MarkdownLinter", "doc.md", "-o", "doc.md"]) == 2
    assert doc.read_text() == DOC and stat.S_IMODE(doc.stat().st_mode) == mode
    assert "doc.md: not written: read-only" in capfd.readouterr().err
    assert api.model_requests() == []


def test_hard_linked_output_is_refused(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    doc = Path("doc.md")
    doc.write_text(DOC)
    os.link(doc, "backup.md")
    assert main(["run", "MarkdownLinter", "doc.md", "-o", "doc.md"]) == 2
    assert Path("backup.md").read_text() == DOC and doc.stat().st_nlink == 2
    assert "hard links" in capfd.readouterr().err


def test_symlinked_output_writes_the_target_and_keeps_the_link(api: FakeOpenAI) -> None:
    Path("real.md").write_text(DOC)
    Path("link.md").symlink_to("real.md")
    assert main(["run", "MarkdownLinter", "link.md", "-o", "link.md"]) == 0
    assert Path("link.md").is_symlink() and Path("real.md").read_text() == FIXED


def test_fifo_output_is_written_through(api: FakeOpenAI) -> None:
    os.mkfifo("out.md")
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(Path("out.md").read_bytes()), daemon=True)
    reader.start()
    assert main(["run", "ProofReader", "-t", "teh", "-o", "out.md"]) == 0
    assert stat.S_ISFIFO(os.lstat("out.md").st_mode)
    reader.join(timeout=30)
    assert received == [b"the"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_device_output_is_written_through_and_a_full_one_fails(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    os.mknod("null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # private copies: the real ones are never at risk
    os.mknod("full", 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    assert main(["run", "ProofReader", "-t", "teh", "-o", "null"]) == 0
    assert stat.S_ISCHR(os.lstat("null").st_mode)
    capfd.readouterr()
    assert main(["run", "ProofReader", "-t", "teh", "-o", "full"]) == 1
    assert stat.S_ISCHR(os.lstat("full").st_mode)
    captured = capfd.readouterr()
    assert "cannot write full: No space left on device" in captured.err
    assert captured.out == "the"
    assert sorted(os.listdir(".")) == ["full", "gpt-tools.toml", "null"]


def test_dev_stdout_writes_to_stdout_not_over_the_redirected_file(api: FakeOpenAI) -> None:
    log = Path("log.txt")
    log.write_text("before\n")
    inode = log.stat().st_ino
    with log.open("ab") as appended:  # `gpt-tools run ... -o /dev/stdout >> log.txt`
        done = subprocess.run(
            [program("gpt-tools"), "run", "ProofReader", "-t", "teh", "-o", "/dev/stdout"],
            stdin=subprocess.DEVNULL,
            stdout=appended,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert log.read_text() == "before\nthe"
    assert log.stat().st_ino == inode


def test_dev_stdout_into_a_pipe(api: FakeOpenAI) -> None:
    done = subprocess.run(
        [program("gpt-tools"), "run", "ProofReader", "-t", "teh", "-o", "/dev/stdout"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"the"


def test_json_with_output_file_writes_the_file(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "ProofReader", "-t", "teh", "--json", "-o", "out.md"]) == 0
    assert Path("out.md").read_text() == "the"
    assert json.loads(capfd.readouterr().out)["text"] == "the"


def test_json_failure_prints_an_error_object_with_the_exit_status(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    api.default_fault = "401"
    assert main(["run", "ProofReader", "-t", "teh", "--json"]) == 1
    captured = capfd.readouterr()
    error = json.loads(captured.out)
    assert (error["status"], error["code"], error["error"]) == ("error", 1, "ApiError")
    assert error["message"] and error["message"] in captured.err  # the same words as the error line
    assert error["request_id"].startswith("req_") and "sk-test-not-a-real-key" not in captured.out


@pytest.mark.parametrize(
    "args",
    [["NoSuchAssistant", "-t", "x"], ["ProofReader"], ["ProofReader", "-t", "x", "-O", "jobs", "0"], ["-t", "x"]],
    ids=["unknown-assistant", "no-input", "bad-option", "no-name"],
)
def test_json_usage_errors_print_an_error_object_with_status_2(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert main(["run", *args, "--json"]) == 2
    error = json.loads(capfd.readouterr().out)
    assert (error["status"], error["code"]) == ("error", 2)
    assert api.model_requests() == []


def test_json_result_that_could_not_be_written_is_one_error_object_holding_it(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    out = Path("out.md")

    def someone_creates_it(text: str) -> str:
        out.write_text("made by someone else\n")
        return text.replace("teh", "the")

    api.responder = someone_creates_it
    assert main(["run", "ProofReader", "-t", "teh", "-o", "out.md", "--json"]) == 1
    error = json.loads(capfd.readouterr().out)  # one JSON document, not a result and then an error
    assert (error["status"], error["code"], error["result"]["text"]) == ("error", 1, "the")
    assert out.read_text() == "made by someone else\n"


def test_empty_output_file_name_is_a_usage_error(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "ProofReader", "-t", "teh", "-o", ""]) == 2
    assert "-o/--output-file: expected a file name, got ''" in capfd.readouterr().err
    assert api.model_requests() == []


def test_unchanged_result_into_another_file_leaves_it_untouched(api: FakeOpenAI) -> None:
    """The sibling of the in-place case: `run X a.md -o b.md` when b.md already holds the result."""
    Path("a.md").write_text(DOC)
    out = Path("b.md")
    out.write_text(FIXED)
    _assert_run_leaves_untouched(out, ["run", "MarkdownLinter", "a.md", "-o", "b.md"])


@pytest.mark.parametrize(
    "argv",
    [["run", "ProofReader", "--json", "--nope"], ["run", "--json", "-O", "jobs"], ["list", "--json", "--x"]],
    ids=["unknown-option", "missing-value", "list"],
)
def test_json_click_usage_errors_print_an_error_object_too(capfd: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(argv) == 2
    error = json.loads(capfd.readouterr().out)
    assert (error["status"], error["code"], error["error"]) == ("error", 2, "UsageError")


HOSTILE = "right\u202eleft \x9b31m café"  # a bidi override and a C1 CSI: JSON leaves both raw
ESCAPED = "right\\u202eleft \\u009b31m caf\\u00e9"


def _stdout_is_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.isatty
    monkeypatch.setattr(os, "isatty", lambda fd: fd == 1 or real(fd))


def test_json_result_on_a_terminal_escapes_what_json_leaves_raw(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    api.responder = lambda text: HOSTILE
    assert main(["run", "Summarizer", "-t", "teh", "--json"]) == 0
    assert "café" in capfd.readouterr().out  # a pipe gets UTF-8 as it is
    _stdout_is_a_terminal(monkeypatch)
    assert main(["run", "Summarizer", "-t", "teh", "--json"]) == 0
    out = capfd.readouterr().out
    assert "\u202e" not in out and "\x9b" not in out and ESCAPED in out
    assert json.loads(out)["text"] == HOSTILE


def test_json_error_on_a_terminal_escapes_what_json_leaves_raw(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdout_is_a_terminal(monkeypatch)
    name = f"missing/{HOSTILE}.md"  # a file name is said in the error, and could come from a repository
    assert main(["run", "Summarizer", "-t", "teh", "-o", name, "--json"]) == 2
    out = capfd.readouterr().out
    assert "\u202e" not in out and "\x9b" not in out and ESCAPED in out
    assert HOSTILE in json.loads(out)["message"]


def test_json_error_naming_a_file_whose_name_is_not_utf8_is_printed(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    name = os.fsdecode(b"gone\xff.md")  # Python holds the byte as a lone surrogate, which UTF-8 cannot encode
    assert main(["run", "Summarizer", name, "--json"]) == 2  # was a traceback from the error's own JSON
    out = capfd.readouterr().out
    assert "gone\\udcff.md" in out and json.loads(out)["error"] == "InputRefused"


def _on_a_terminal(*args: str) -> tuple[int, bytes]:
    """gpt-tools with stdout on a pseudo-terminal (stderr piped): its exit status and what the terminal got."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [program("gpt-tools"), *args], stdin=subprocess.DEVNULL, stdout=follower, stderr=subprocess.PIPE
    )
    os.close(follower)
    process.communicate(timeout=60)
    shown = read_pty(leader)
    os.close(leader)
    return process.returncode, shown


@pytest.mark.parametrize("stream", [[], ["--no-stream"]], ids=["streamed", "whole"])
def test_a_reply_on_a_terminal_has_its_control_characters_escaped(api: FakeOpenAI, stream: list[str]) -> None:
    """As conversations export does: a reply's ESC/OSC, C1 and bidi characters never act on the terminal."""
    api.responder = lambda text: "title \x1b]0;owned\x07 \x9b2J right\u202eleft\tend\n"
    code, terminal = _on_a_terminal("run", "Summarizer", "-t", "teh", *stream)
    assert code == 0
    shown = terminal.decode().replace("\r\n", "\n")
    assert "\x1b" not in shown and "\x9b" not in shown and "\u202e" not in shown
    assert "title \\x1b]0;owned\\x07 \\x9b2J right\\u202eleft\tend" in shown
    done = subprocess.run(
        [program("gpt-tools"), "run", "Summarizer", "-t", "teh"], capture_output=True, stdin=subprocess.DEVNULL
    )
    assert done.stdout.startswith("title \x1b]0;owned\x07 \x9b2J right\u202eleft\tend".encode())  # a pipe: as is
