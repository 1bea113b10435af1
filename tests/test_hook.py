"""`gpt-tools-hook` in-process: fix and check modes, all-or-nothing writes, skips, convergence."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from gpt_tools.cli.hook import main
from tests.conftest import program
from tests.fake_openai import FakeOpenAI, Scripted

TYPO = "# Guide\n\nYou will recieve teh answer.\n\n```sh\necho teh\n```\n"
FIXED = "# Guide\n\nYou will receive the answer.\n\n```sh\necho teh\n```\n"
CLEAN = "# Clean\n\nNothing to fix here.\n"


@pytest.fixture
def files(api: FakeOpenAI) -> dict[str, Path]:
    paths = {"typo": Path("typo.md"), "clean": Path("clean.md"), "crlf": Path("crlf.md")}
    paths["typo"].write_text(TYPO)
    paths["clean"].write_text(CLEAN)
    paths["crlf"].write_bytes(b"teh line\r\nsecond\r\n")
    paths["crlf"].chmod(0o640)
    return paths


def _run(*args: str) -> int:
    return main([*args])


def test_fix_writes_changed_files_and_exits_1(files: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    clean_stat = files["clean"].stat()
    assert _run(*map(str, files.values())) == 1
    assert files["typo"].read_text() == FIXED
    assert files["crlf"].read_bytes() == b"the line\r\nsecond\r\n"
    assert files["crlf"].stat().st_mode & 0o777 == 0o640
    assert files["clean"].stat().st_mtime_ns == clean_stat.st_mtime_ns  # unchanged files are not rewritten
    out = capfd.readouterr().out
    assert "fixed typo.md" in out and "fixed crlf.md" in out and "clean.md" not in out.replace("clean.md:", "")


def test_rerun_after_fix_makes_no_request_and_passes(files: dict[str, Path], api: FakeOpenAI) -> None:
    assert _run(*map(str, files.values())) == 1
    sent = len(api.model_requests())
    assert sent == len(files)
    assert _run(*map(str, files.values())) == 0
    assert len(api.model_requests()) == sent


def test_check_mode_never_writes_and_shows_diff(files: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    before = {name: path.read_bytes() for name, path in files.items()}
    assert _run("--check", *map(str, files.values())) == 1
    assert {name: path.read_bytes() for name, path in files.items()} == before
    out = capfd.readouterr().out
    assert "would fix typo.md" in out
    assert "-You will recieve teh answer." in out and "+You will receive the answer." in out


def test_server_down_touches_nothing_and_names_unchecked_files(
    files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    api.default_fault = "500"
    before = {name: path.read_bytes() for name, path in files.items()}
    assert _run(*map(str, files.values())) == 1
    assert {name: path.read_bytes() for name, path in files.items()} == before
    out = capfd.readouterr().out
    assert "not checked (HTTP 500" in out and "no file was changed" in out
    assert all(f"  {path}" in out for path in files.values())


def test_partial_failure_writes_nothing(files: dict[str, Path], api: FakeOpenAI) -> None:
    def responder(text: str) -> str:
        if "second" in text:
            raise RuntimeError("the fake answers 500 when its responder fails")
        return text.replace("teh", "the")

    api.responder = responder
    before = {name: path.read_bytes() for name, path in files.items()}
    assert _run(*map(str, files.values())) == 1
    assert {name: path.read_bytes() for name, path in files.items()} == before


def test_offline_warn_passes(files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    api.default_fault = "500"
    assert _run("--on-error", "warn", *map(str, files.values())) == 0
    assert "warning: some files were not checked" in capfd.readouterr().out
    assert files["typo"].read_text() == TYPO


def test_missing_key_touches_nothing(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    assert _run(*map(str, files.values())) == 1
    assert files["typo"].read_text() == TYPO


def test_reply_altering_code_is_refused_and_not_paid_twice(
    files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    api.script(Scripted(text="# Guide\n\nYou will receive the answer.\n\n```sh\necho the\n```\n"))
    assert _run(str(files["typo"])) == 1
    assert files["typo"].read_text() == TYPO
    assert "left untouched: the reply removed a protected code block (line 5)" in capfd.readouterr().out
    sent = len(api.model_requests())
    assert _run(str(files["typo"])) == 1
    assert len(api.model_requests()) == sent
    assert "remembered from an earlier run" in capfd.readouterr().out


def test_skips_large_binary_and_non_utf8(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("big.md").write_text("teh\n" * 1000)
    Path("bin.md").write_bytes(b"\x00\x01teh")
    Path("latin.md").write_bytes(b"caf\xe9 teh\n")
    assert _run("--max-bytes", "1000", "big.md", "bin.md", "latin.md") == 0
    out = capfd.readouterr().out
    assert "big.md: skipped: 4,000 bytes is over --max-bytes" in out
    assert "bin.md: skipped: bin.md looks binary" in out
    assert "latin.md: skipped: latin.md is not valid UTF-8" in out
    assert api.model_requests() == []


def test_writing_assistant_is_refused(files: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    assert _run("--assistant", "DocWriter", str(files["typo"])) == 2
    assert "needs a rewriting assistant" in capfd.readouterr().err


def test_429_slows_down_instead_of_failing(files: dict[str, Path], api: FakeOpenAI) -> None:
    api.script(Scripted(fault="429", retry_after=0.2))
    assert _run("--jobs", "2", *map(str, files.values())) == 1
    assert files["typo"].read_text() == FIXED


def test_no_cache_asks_again(files: dict[str, Path], api: FakeOpenAI) -> None:
    _run(str(files["clean"]))
    _run("--no-cache", str(files["clean"]))
    assert len(api.model_requests()) == 2
    assert os.path.exists(files["clean"])


def test_ctrl_c_closes_every_file_in_flight_exits_130_and_writes_nothing(api: FakeOpenAI) -> None:
    paths = [Path(f"doc{i}.md") for i in range(5)]
    for path in paths:
        path.write_text(TYPO)
    api.script(*[Scripted(delay=120) for _ in range(5)])  # every reply held far longer than the test runs
    hook = subprocess.Popen(
        [program("gpt-tools-hook"), "--jobs", "3", "--no-cache", *map(str, paths)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(api.model_requests()) < 3:
            assert time.monotonic() < deadline, "the hook never had 3 files in flight"
            time.sleep(0.02)
        hook.send_signal(signal.SIGINT)
        out, _ = hook.communicate(timeout=30)  # without the cancel it waits the full 120 s for the replies
    finally:
        hook.kill()
    assert hook.returncode == 130, out
    assert b"interrupted; no file was changed" in out
    assert all(path.read_text() == TYPO for path in paths)
    deadline = time.monotonic() + 30
    while api.hung_up < 3:
        assert time.monotonic() < deadline, "the server never saw the connections closed"
        time.sleep(0.02)
    assert len(api.model_requests()) == 3  # no file was started after Ctrl-C
