"""console.write_stdout and messages, through `gpt-tools run` as a real process: no short write goes unnoticed."""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import program, varied_text, write_config
from tests.fake_openai import FakeOpenAI

DOC = varied_text(2000).encode()
BUFFERING = {"buffered": {}, "unbuffered": {"PYTHONUNBUFFERED": "1"}}


def _run(stdout: Any, mode: str, preexec_fn: Callable[[], None] | None = None) -> subprocess.CompletedProcess[bytes]:
    Path("doc.md").write_bytes(DOC)
    write_config(Path.cwd(), "run_log = false\n", name="quiet.toml")
    env = {**os.environ, **BUFFERING[mode], "GPT_TOOLS_CONFIG": str(Path.cwd() / "quiet.toml")}
    return subprocess.run(
        [program("gpt-tools"), "run", "MarkdownLinter", "doc.md"],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=preexec_fn,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("mode", BUFFERING)
def test_run_to_a_full_device_fails_with_a_message(api: FakeOpenAI, mode: str) -> None:
    with open("/dev/full", "wb") as full:
        done = _run(full, mode)
    assert done.returncode == 1
    assert b"gpt-tools: error: cannot write to stdout: No space left on device" in done.stderr
    assert b"Traceback" not in done.stderr


@pytest.mark.parametrize("mode", BUFFERING)
def test_run_short_write_is_a_failure_and_leaves_no_half_result(api: FakeOpenAI, mode: str) -> None:
    """With PYTHONUNBUFFERED=1 a short write once gave a truncated result and exit 0."""
    limit = len(DOC) // 2

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = Path("out.md")
    with out.open("wb") as sink:
        done = _run(sink, mode, small_files)
    assert done.returncode == 1
    assert b"cannot write to stdout: File too large" in done.stderr
    assert out.read_bytes() == b""  # taken back: a regular file never keeps half a result


def test_run_into_a_closed_pipe_fails(api: FakeOpenAI) -> None:
    read, write = os.pipe()
    os.close(read)
    try:
        done = _run(write, "buffered")
    finally:
        os.close(write)
    assert done.returncode == 1
    assert b"cannot write to stdout: Broken pipe" in done.stderr
    assert b"Traceback" not in done.stderr and b"Exception ignored" not in done.stderr


def test_appended_output_is_taken_back_to_where_it_began(api: FakeOpenAI) -> None:
    out = Path("out.md")
    out.write_bytes(b"earlier lines\n")
    limit = len(DOC) // 2

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    with out.open("ab") as sink:
        done = _run(sink, "buffered", small_files)
    assert done.returncode == 1
    assert out.read_bytes() == b"earlier lines\n"


def test_message_with_stderr_closed_never_reaches_stdout(api: FakeOpenAI) -> None:
    """Python makes sys.stderr None when fd 2 is closed, and print(file=None) writes to stdout."""
    done = subprocess.run(
        [program("gpt-tools"), "run", "NoSuchAssistant", "-t", "x"],
        stdout=subprocess.PIPE,
        preexec_fn=lambda: os.close(2),
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, b"")


def test_run_with_stdout_closed_fails_with_a_message(api: FakeOpenAI) -> None:
    """fd 1 closed: nothing else (a log file, the HTTP socket) may take its number and get the result."""
    done = subprocess.run(
        [program("gpt-tools"), "run", "MarkdownLinter", "-t", "teh text"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert b"gpt-tools: error: stdout is closed" in done.stderr
    assert b"Traceback" not in done.stderr


def test_non_blocking_stdout_gets_the_whole_result(api: FakeOpenAI) -> None:
    """A parent that set O_NONBLOCK on the shared pipe: EAGAIN means wait, never a lost tail."""
    big = varied_text(200_000)
    Path("big.md").write_text(big)
    read, write = os.pipe()
    os.set_blocking(write, False)  # the flag lives on the pipe, so the child's stdout has it too
    proc = subprocess.Popen(
        [program("gpt-tools"), "run", "MarkdownLinter", "big.md"], stdin=subprocess.DEVNULL, stdout=write
    )
    os.close(write)
    received = b"".join(iter(lambda: os.read(read, 65536), b""))
    os.close(read)
    assert proc.wait(timeout=60) == 0
    assert received == big.replace("teh", "the").encode()


def test_failed_write_over_existing_bytes_cuts_nothing_beyond(api: FakeOpenAI) -> None:
    """`1<>file` writes over the file from its start: a failure must not truncate what lies beyond."""
    out = Path("out.md")
    tail = b"x" * (len(DOC) * 2)
    out.write_bytes(tail)
    limit = len(tail) + len(DOC) // 2  # the result, written from near the end, runs past this

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    fd = os.open(out, os.O_RDWR)  # no O_TRUNC, no O_APPEND: like the shell's 1<>
    try:
        os.lseek(fd, len(tail) - 10, os.SEEK_SET)
        done = _run(fd, "buffered", small_files)
    finally:
        os.close(fd)
    assert done.returncode == 1
    assert len(out.read_bytes()) >= len(tail)  # nothing of the old content was cut away
