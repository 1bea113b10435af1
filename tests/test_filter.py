"""`gpt-filter` as Vim runs it: only the result on stdout; on any failure, the input byte for byte."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.conftest import BIN, log_file, program, run_program, varied_text, write_config
from tests.fake_openai import FakeOpenAI, Scripted, fix_typos

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
    assert f"also kept in {log_file()}\n".encode() in done.stderr  # where a failed :%! told its reason


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


# --- Signals: whatever ends the filter, stdout ends up holding the input (or the whole result). ---


def _until(condition: Callable[[], object], what: str, timeout: float = 30) -> None:
    """Poll for a state the test needs (never to measure time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _start_filter(*args: str, stdin: bytes | None = None, **kwargs: Any) -> subprocess.Popen[bytes]:
    """gpt-filter in the background; with `stdin` bytes, reading them from a file, as Vim gives them."""
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kwargs}
    if stdin is not None:
        source = Path.cwd() / "stdin.txt"
        source.write_bytes(stdin)
        pipes["stdin"] = source.open("rb")
    try:
        return subprocess.Popen([program("gpt-filter"), *args], start_new_session=True, **pipes)
    finally:
        if stdin is not None:
            pipes["stdin"].close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1])
def test_signal_during_the_request_gives_the_input_back(api: FakeOpenAI, signum: int) -> None:
    api.script(Scripted(delay=30))  # the reply is held until the test is over
    proc = _start_filter("MarkdownLinter", stdin=DOC)
    _until(api.model_requests, "the request to reach the server")
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (128 + signum, DOC)
    assert f"stopped by {signal.Signals(signum).name}; the text was left unchanged".encode() in err
    assert b"Traceback" not in err


def test_signal_while_a_pipe_is_still_sending_gives_back_what_came(api: FakeOpenAI) -> None:
    proc = _start_filter("MarkdownLinter")
    assert proc.stdin is not None
    proc.stdin.write(DOC)
    proc.stdin.flush()  # and keep it open: more could come
    _until(lambda: _unread(proc.stdin) == 0, "the filter to read what was sent")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (128 + signal.SIGTERM, DOC)
    assert api.model_requests() == []


def _read_exactly(proc: subprocess.Popen[bytes], size: int) -> bytes:
    assert proc.stdout is not None
    got = b""
    while len(got) < size and (chunk := os.read(proc.stdout.fileno(), size - len(got))):
        got += chunk
    return got


def _signal_while_reading(signum: int) -> tuple[subprocess.Popen[bytes], bytes]:
    """A filter sent the first 5000 bytes of a text through a pipe, then signalled; the first bytes
    are back on its stdout (so the signal was answered while stdin was still open)."""
    doc = varied_text(11460).encode()
    proc = _start_filter("MarkdownLinter")
    assert proc.stdin is not None
    proc.stdin.write(doc[:5000])
    proc.stdin.flush()
    _until(lambda: _unread(proc.stdin) == 0, "the filter to read what was sent")
    proc.send_signal(signum)
    assert _read_exactly(proc, 5000) == doc[:5000]
    return proc, doc


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signal_while_a_pipe_is_being_read_passes_the_whole_input_through(api: FakeOpenAI, signum: int) -> None:
    proc, doc = _signal_while_reading(signum)
    assert proc.stdin is not None
    proc.stdin.write(doc[5000:])  # the writer was not stopped: the rest of the text still comes
    proc.stdin.close()
    proc.stdin = None  # closed: communicate() must not flush it
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, doc[:5000] + out) == (128 + signum, doc), err
    assert b"the input was passed through unchanged" in err and b"left unchanged" not in err
    assert api.model_requests() == []


def test_second_signal_while_passing_through_stops_and_says_the_text_is_cut(api: FakeOpenAI) -> None:
    proc, _ = _signal_while_reading(signal.SIGTERM)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (128 + signal.SIGINT, b"")
    assert b"stdout holds only part of it" in err


def test_a_writer_that_falls_silent_after_a_signal_is_waited_for_boundedly(api: FakeOpenAI) -> None:
    # The filter with a short idle bound (30 s by default), as a real process.
    code = (
        "import sys; from gpt_tools.cli import filter_guard; filter_guard.PASS_IDLE_SECONDS = 0.5; "
        "from gpt_tools.cli.filter import main; sys.exit(main(['MarkdownLinter']))"
    )
    proc = subprocess.Popen(
        [str(BIN / "python"), "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(DOC)
    proc.stdin.flush()
    _until(lambda: _started(proc) and _unread(proc.stdin) == 0, "the filter to read what was sent")
    proc.send_signal(signal.SIGTERM)
    assert _read_exactly(proc, len(DOC)) == DOC
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM  # stdin is still open: it gave up waiting
    assert f"stdout holds only the first {len(DOC)} bytes".encode() in proc.stderr.read()
    proc.stdin.close()


def _signal_delivered(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    pending = [line.split()[1] for line in status.splitlines() if line.startswith(("SigPnd", "ShdPnd"))]
    return all(int(mask, 16) == 0 for mask in pending)


def test_signal_before_any_input_still_passes_the_input_through(api: FakeOpenAI) -> None:
    proc = _start_filter("MarkdownLinter")
    assert proc.stdin is not None
    _until(lambda: _started(proc), "the filter's handlers")
    proc.send_signal(signal.SIGTERM)
    _until(lambda: _signal_delivered(proc.pid), "the signal to be delivered")
    out, err = proc.communicate(DOC, timeout=30)
    assert (proc.returncode, out) == (128 + signal.SIGTERM, DOC), err


def _started(proc: subprocess.Popen[bytes]) -> bool:
    """The filter's handlers are in place: SIGTERM is caught (SigCgt), not the default action."""
    status = Path(f"/proc/{proc.pid}/status").read_text()
    caught = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt"))
    return bool(int(caught, 16) & (1 << (signal.SIGTERM - 1)))


def _unread(pipe: IO[bytes] | None) -> int:
    assert pipe is not None
    return struct.unpack("i", fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]  # type: ignore[no-any-return]


def test_signal_while_the_result_is_written_lets_the_whole_result_out(api: FakeOpenAI) -> None:
    """Half a fix followed by the input would be worse than either: the write finishes, exit 0."""
    doc = varied_text(100_000).encode()
    assert len(doc) > 65536  # more than a pipe holds: the filter blocks writing the result
    proc = _start_filter("MarkdownLinter", stdin=doc)
    assert proc.stdout is not None
    first = os.read(proc.stdout.fileno(), 1)  # the result has begun to arrive; the rest waits in the filter
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert first + out == fix_typos(doc.decode()).encode()
    assert proc.returncode == 0, err


def _filter_pid(session: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        script = any(arg.endswith(b"/gpt-filter") for arg in cmdline.split(b"\0"))  # not Vim's `sh -c`
        if script and int(fields[3]) == session:  # field 6 of stat: the session id
            return int(entry.name)
    return None


@pytest.mark.skipif(shutil.which("vim") is None, reason="vim not installed")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_vim_buffer_survives_the_filter_being_killed(api: FakeOpenAI, document: Path, signum: int) -> None:
    api.script(Scripted(delay=30))
    before = document.read_bytes()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    argv = ["vim", "-Es", "-N", "-u", "NONE", "-i", "NONE", "-c", "%!gpt-filter MarkdownLinter", "-c", "wq"]
    vim = subprocess.Popen([*argv, str(document)], env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        _until(api.model_requests, "the filter's request")
        pid = _filter_pid(vim.pid)
        assert pid is not None
        os.kill(pid, signum)
        assert vim.wait(timeout=30) is not None
    finally:
        vim.kill()
    assert document.read_bytes() == before
    assert f"stopped by {signal.Signals(signum).name}".encode() in log_file().read_bytes()


# --- Output that cannot be written: never a truncated fix where the input should be. ---

BUFFERING = {"buffered": {}, "unbuffered": {"PYTHONUNBUFFERED": "1"}}


@pytest.mark.parametrize("mode", BUFFERING)
def test_full_device_is_a_failure_not_a_traceback(api: FakeOpenAI, mode: str) -> None:
    with open("/dev/full", "wb") as full:
        proc = _start_filter("MarkdownLinter", stdin=DOC, stdout=full, env={**os.environ, **BUFFERING[mode]})
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert b"cannot write to stdout: No space left on device" in err
    assert b"Traceback" not in err


def _file_size_limit(limit: int) -> Callable[[], None]:
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


LONG_DOC = varied_text(2000).encode()


@pytest.mark.parametrize("mode", BUFFERING)
def test_short_write_leaves_the_input_where_it_fits(api: FakeOpenAI, mode: str) -> None:
    """A file size limit between the input's and the result's size: the fix is cut; the input fits."""
    assert LONG_DOC.count(b"teh") > 1
    api.responder = lambda text: text.replace("teh", "thee")  # one byte longer for each "teh"
    write_config(Path.cwd(), "run_log = false\n", name="quiet.toml")
    out = Path.cwd() / "out.md"
    env = {**os.environ, **BUFFERING[mode], "GPT_TOOLS_CONFIG": str(Path.cwd() / "quiet.toml")}
    with out.open("wb") as sink:
        proc = _start_filter(
            "MarkdownLinter", stdin=LONG_DOC, stdout=sink, env=env, preexec_fn=_file_size_limit(len(LONG_DOC) + 1)
        )
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert out.read_bytes() == LONG_DOC
    assert b"File too large" in err and b"the text was left unchanged" in err


@pytest.mark.parametrize("mode", BUFFERING)
def test_short_write_leaves_nothing_when_not_even_the_input_fits(api: FakeOpenAI, mode: str) -> None:
    out = Path.cwd() / "out.md"
    with out.open("wb") as sink:
        proc = _start_filter(
            "MarkdownLinter",
            stdin=LONG_DOC,
            stdout=sink,
            env={**os.environ, **BUFFERING[mode]},
            preexec_fn=_file_size_limit(len(LONG_DOC) // 2),
        )
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert out.read_bytes() == b""  # nothing, rather than a document cut in half
    assert b"nor the text given back" in err


def test_closed_pipe_is_a_failure(api: FakeOpenAI) -> None:
    proc = _start_filter("MarkdownLinter", stdin=DOC)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the result comes
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert b"Broken pipe" in err and b"Traceback" not in err


def test_closed_stderr_keeps_the_message_out_of_stdout(api: FakeOpenAI) -> None:
    """With fd 2 closed, Python's print(file=sys.stderr) would write the message into the text."""
    api.default_fault = "500"
    proc = _start_filter("MarkdownLinter", stdin=DOC, stderr=subprocess.DEVNULL, preexec_fn=lambda: os.close(2))
    out, _ = proc.communicate(timeout=60)
    assert (proc.returncode, out) == (1, DOC)
    assert "HTTP 500" in log_file().read_text(encoding="utf-8")


def test_closed_stdout_sends_nothing(api: FakeOpenAI) -> None:
    proc = _start_filter("MarkdownLinter", stdin=DOC, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(1))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert b"stdout is closed" in err
    assert api.model_requests() == []


def test_help_with_a_broken_stderr_still_gives_the_text_back(api: FakeOpenAI) -> None:
    proc = _start_filter("--help", stdin=DOC)
    assert proc.stderr is not None
    proc.stderr.close()  # printing the help text meets EPIPE
    out, _ = proc.communicate(timeout=60)
    assert (proc.returncode, out) == (0, DOC)


def test_input_too_large_to_hold_passes_through_unchanged(api: FakeOpenAI) -> None:
    from gpt_tools.cli.filter_guard import MAX_INPUT

    data = b"teh line\n" * (MAX_INPUT // 9 + 1000)
    done = run_program("gpt-filter", "MarkdownLinter", stdin=data)
    assert done.returncode == 2
    assert done.stdout == data
    assert b"passed through unchanged" in done.stderr
    assert api.model_requests() == []


def test_signalled_run_is_logged_as_cancelled(api: FakeOpenAI) -> None:
    api.script(Scripted(delay=30))
    proc = _start_filter("MarkdownLinter", stdin=DOC)
    _until(api.model_requests, "the request to reach the server")
    proc.send_signal(signal.SIGTERM)
    assert proc.communicate(timeout=30)[0] == DOC
    rows = json.loads(run_program("gpt-tools", "logs", "--json").stdout)
    assert [(row["frontend"], row["status"]) for row in rows] == [("filter", "cancelled")]


def test_signal_with_chunks_in_flight_gives_the_input_back_and_ends(api: FakeOpenAI) -> None:
    """The chunks' threads may still wait on the server: the process ends anyway (a watchdog)."""
    doc = varied_text(40_000).encode()
    api.script(*[Scripted(delay=60) for _ in range(20)])
    proc = _start_filter("MarkdownLinter", stdin=doc)
    _until(lambda: len(api.model_requests()) > 1, "two chunks in flight")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=40)  # the replies are held longer than this
    assert (proc.returncode, out) == (128 + signal.SIGTERM, doc), err


@pytest.mark.parametrize(
    ("name", "args", "stdout"),
    [
        ("gpt-filter", ["MarkdownLinter"], DOC),
        ("gpt-tools", ["run", "MarkdownLinter", "-t", "teh"], b""),
        ("gpt-tools-hook", ["--check", "x.md"], b""),
    ],
)
def test_a_deleted_working_folder_is_named_and_the_text_given_back(
    api: FakeOpenAI, tmp_path: Path, name: str, args: list[str], stdout: bytes
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    command = 'cd "$1" && rmdir "$1" && shift && exec "$@"'
    done = subprocess.run(
        ["sh", "-c", command, "sh", str(gone), program(name), *args], input=DOC, capture_output=True, check=False
    )
    assert (done.returncode, done.stdout) == (2, stdout), done.stderr
    assert b"the working folder no longer exists" in done.stderr and b"Traceback" not in done.stderr
    assert api.model_requests() == []


# --- A server that is down: the filter says so at once; the CLI keeps retrying. ---


def _refused_url() -> str:
    """A loopback URL nobody listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.mark.parametrize("where", ["refused", "no such host"])
def test_unreachable_server_fails_at_once_with_the_input_back(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    url = _refused_url() if where == "refused" else "http://gpt-tools-test.invalid/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    write_config(Path.cwd(), "max_retries = 4\n")
    done = run_program("gpt-filter", "MarkdownLinter", stdin=DOC)
    assert (done.returncode, done.stdout) == (1, DOC)
    assert b"cannot reach" in done.stderr and b"retrying" not in done.stderr, done.stderr


def test_the_cli_still_retries_a_refused_connection(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", _refused_url())
    write_config(Path.cwd(), "max_retries = 1\n")
    done = run_program("gpt-tools", "run", "MarkdownLinter", "-t", "teh")
    assert done.returncode != 0
    assert b"retrying in" in done.stderr and b"(retry 1/1)" in done.stderr, done.stderr


def test_a_retried_server_error_is_reported_while_it_waits(api: FakeOpenAI) -> None:
    api.default_fault = "500"
    done = run_program("gpt-filter", "MarkdownLinter", stdin=DOC)
    assert (done.returncode, done.stdout) == (1, DOC)
    assert done.stderr.count(b"retrying in") == 2 and b"(retry 2/2)" in done.stderr, done.stderr


@pytest.mark.parametrize("mode", ["document", "edits"])
def test_opt_out_regions_come_back_byte_identical(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    from tests.golden import fixture_cases

    monkeypatch.setenv("GPT_TOOLS_OUTPUT", mode)
    for _title, (text, _, fixed) in fixture_cases("protect/opt_out.md", 3):
        crlf = text.replace("\n", "\r\n").encode()
        done = run_program("gpt-filter", "MarkdownLinter", stdin=crlf)
        assert (done.returncode, done.stdout) == (0, fixed.replace("\n", "\r\n").encode()), done.stderr


@pytest.fixture
def swallowing_url() -> Iterator[str]:
    """A loopback URL whose listener never accepts and whose backlog is full: a new connection's SYN
    is dropped, so connecting hangs until the connect timeout, as with a host behind a blackhole."""
    with contextlib.ExitStack() as stack:
        listener = stack.enter_context(socket.socket())
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(2):  # Linux queues backlog + 1 connections; these fill the queue
            filler = stack.enter_context(socket.socket())
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        yield f"http://127.0.0.1:{port}/v1"


def test_a_host_that_swallows_connections_fails_after_one_connect_timeout(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, swallowing_url: str
) -> None:
    # Several chunks: each runs in a pool thread, and each must see the filter's fail-fast switch.
    monkeypatch.setenv("OPENAI_BASE_URL", swallowing_url)
    write_config(Path.cwd(), "max_retries = 4\nconnect_timeout = 0.3\nchunk_tokens = 200\njobs = 3\n")
    text = varied_text(4000).encode()
    done = run_program("gpt-filter", "MarkdownLinter", stdin=text)
    assert (done.returncode, done.stdout) == (1, text)
    assert b"timed out connecting after 0.3 s" in done.stderr and b"retrying" not in done.stderr, done.stderr


def test_the_cli_still_retries_a_connect_timeout(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, swallowing_url: str
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", swallowing_url)
    write_config(Path.cwd(), "max_retries = 1\nconnect_timeout = 0.3\n")
    done = run_program("gpt-tools", "run", "MarkdownLinter", "-t", "teh")
    assert done.returncode != 0 and b"timed out connecting" in done.stderr
    assert b"retrying in" in done.stderr and b"(retry 1/1)" in done.stderr, done.stderr


def test_the_fail_fast_switch_holds_only_where_it_was_set() -> None:
    """Another thread's run in the same process (a CLI or library run) keeps retrying while a filter
    fails fast, and overlapping uses leave the default behind whatever order they end in."""
    from gpt_tools.wire import retrypolicy
    from gpt_tools.wire.connections import ConnectTimeout

    refused = ConnectionRefusedError(errno.ECONNREFUSED, "refused")
    first, second = retrypolicy.unreachable_fails_fast(), retrypolicy.unreachable_fails_fast()
    seen: dict[str, bool] = {}
    entered, ended = threading.Event(), threading.Event()

    def other() -> None:  # overlaps with first: enters after it, ends before it
        with second:
            seen["inside"] = retrypolicy.retry_unanswered(refused)
            entered.set()
            ended.wait(10)

    with first:
        assert not retrypolicy.retry_unanswered(ConnectTimeout("timed out connecting"))
        worker = threading.Thread(target=other)
        worker.start()
        entered.wait(10)
        seen["elsewhere"] = _in_thread(lambda: retrypolicy.retry_unanswered(refused))
    ended.set()
    worker.join(10)
    assert seen == {"inside": False, "elsewhere": True}
    assert retrypolicy.retry_unanswered(refused) and _in_thread(lambda: retrypolicy.retry_unanswered(refused))
    assert retrypolicy.retry_unanswered(TimeoutError("a read timeout is not a connect timeout"))


def _in_thread(probe: Callable[[], bool]) -> bool:
    got: list[bool] = []
    worker = threading.Thread(target=lambda: got.append(probe()))
    worker.start()
    worker.join(10)
    return got[0]
