"""`gpt-tools-hook` in-process: fix and check modes, all-or-nothing writes, skips, convergence; file names are never
options; an edit made meanwhile is kept; an unwritable file is reported and the others are still fixed."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gpt_tools.cli import github
from gpt_tools.cli.hook import main
from gpt_tools.state import atomicwrite
from tests.conftest import program
from tests.fake_clock import FakeClock
from tests.fake_openai import FakeOpenAI, Scripted
from tests.fake_openai_wire import failing_on
from tests.scripted_backend import ScriptedBackend

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
    files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str], waits: FakeClock
) -> None:
    api.default_fault = "500"
    before = {name: path.read_bytes() for name, path in files.items()}
    assert _run(*map(str, files.values())) == 1
    assert {name: path.read_bytes() for name, path in files.items()} == before
    out = capfd.readouterr().out
    assert "not checked (HTTP 500" in out and "no file was changed" in out
    assert all(f"  {path}" in out for path in files.values())
    assert len(waits.waits) * 3 == len(api.model_requests()) * 2  # two backoffs per file, none spent
    # Every HTTP request counts, retries included; none of the files was checked.
    summary = "gpt-tools-hook: 0 files checked, 0 changed, 0 unchanged, 0 skipped, 3 failed; 9 requests sent"
    assert (len(api.model_requests()), out.splitlines()[-1]) == (9, summary)


def test_partial_failure_writes_nothing(
    files: dict[str, Path], api: FakeOpenAI, waits: FakeClock, capfd: pytest.CaptureFixture[str]
) -> None:
    def responder(text: str) -> str:
        if "second" in text:
            raise RuntimeError("the fake answers 500 when its responder fails")
        return text.replace("teh", "the")

    api.responder = responder
    before = {name: path.read_bytes() for name, path in files.items()}
    assert _run(*map(str, files.values())) == 1
    assert {name: path.read_bytes() for name, path in files.items()} == before
    assert len(waits.waits) == 2  # the failing file's two backoffs, asked for and not spent
    summary = capfd.readouterr().out.splitlines()[-1]
    assert summary == (
        "gpt-tools-hook: 2 files checked, 0 changed, 1 held back (not written: some file was not checked), "
        "1 unchanged, 0 skipped, 1 failed; 5 requests sent"
    )


def test_offline_warn_passes(
    files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str], waits: FakeClock
) -> None:
    api.default_fault = "500"
    assert _run("--on-error", "warn", *map(str, files.values())) == 0
    assert waits.waits  # retried with backoff, not spent
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


def test_429_slows_down_instead_of_failing(files: dict[str, Path], api: FakeOpenAI, waits: FakeClock) -> None:
    api.script(Scripted(fault="429", retry_after=0.2))
    assert _run("--jobs", "2", *map(str, files.values())) == 1
    assert waits.waits[:1] == [0.2] and max(waits.waits) == 0.2  # the pause Retry-After asked for, shared
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


# --- writing users' files: never over an edit, one unwritable file never stops the others ----------------------


def test_edit_made_while_the_request_is_in_flight_is_kept(
    files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    edited = TYPO + "\nA paragraph the user saved while the hook waited.\n"

    def user_saves_then_reply(text: str) -> str:
        if "recieve" in text:
            files["typo"].write_text(edited)
        return text.replace("teh", "the").replace("recieve", "receive")

    api.responder = user_saves_then_reply
    assert _run(*map(str, files.values())) == 1
    assert files["typo"].read_text() == edited
    assert files["crlf"].read_bytes() == b"the line\r\nsecond\r\n"  # the other files are still fixed
    out = capfd.readouterr().out
    assert "typo.md: not written: changed since it was read; the fix is not applied (run the hook again)" in out
    assert "fixed crlf.md" in out and "1 changed" in out
    assert sorted(os.listdir(".")) == ["clean.md", "crlf.md", "gpt-tools.toml", "typo.md"]


@pytest.mark.parametrize("mode", [0o444, 0o555])
def test_read_only_file_is_refused_unsent_and_the_others_fixed(
    files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str], mode: int
) -> None:
    files["typo"].chmod(mode)
    assert _run(*map(str, files.values())) == 1
    assert files["typo"].read_text() == TYPO
    assert files["crlf"].read_bytes() == b"the line\r\nsecond\r\n"
    assert "typo.md: not written: read-only" in capfd.readouterr().out
    assert len(api.model_requests()) == 2  # no request for a fix that could not be written


def test_hard_linked_file_is_refused(files: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    os.link(files["typo"], "copy.md")
    assert _run(str(files["typo"])) == 1
    assert Path("copy.md").read_text() == TYPO and files["typo"].read_text() == TYPO
    assert "typo.md: not written: it has 2 hard links" in capfd.readouterr().out


def _lock(folder: Path) -> bool:
    """A folder no file can be created in: chmod for a user, chattr +i for root (who ignores modes)."""
    folder.chmod(0o555)
    if os.geteuid() != 0:
        return True
    return shutil.which("chattr") is not None and subprocess.run(["chattr", "+i", str(folder)]).returncode == 0


def test_unwritable_folder_full_disk_and_long_name_are_reported_per_file(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    locked = Path("locked")
    locked.mkdir()
    (locked / "in.md").write_text(TYPO)
    long_name = Path("n" * 239 + ".md")  # 242 bytes: ".NAME.XXXXXXXX.tmp" would be too long for the folder
    long_name.write_text(TYPO)
    Path("full.md").write_text("teh disk is full\n")
    real_write_all = atomicwrite._write_all

    def disk_full_for_one(fd: int, data: bytes) -> None:
        if b"disk is full" in data:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write_all(fd, data)

    monkeypatch.setattr(atomicwrite, "_write_all", disk_full_for_one)
    if not _lock(locked):
        pytest.skip("cannot make a folder unwritable here")
    try:
        status = _run("locked/in.md", "full.md", str(long_name), *map(str, files.values()))
    finally:
        subprocess.run(["chattr", "-i", str(locked)], capture_output=True, check=False)
        locked.chmod(0o755)
    assert status == 1
    out = capfd.readouterr().out
    assert "locked/in.md: not written: " in out and "full.md: not written: No space left on device" in out
    assert "Traceback" not in out
    assert (locked / "in.md").read_text() == TYPO and Path("full.md").read_text() == "teh disk is full\n"
    assert long_name.read_text() == FIXED and files["typo"].read_text() == FIXED  # the later files are fixed
    assert "3 changed" in out


def test_a_fifo_is_skipped_not_read(files: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    os.mkfifo("pipe.md")  # reading it would block the hook for ever
    assert _run("pipe.md", str(files["clean"])) == 0
    assert "pipe.md: skipped: not a regular file" in capfd.readouterr().out
    assert stat.S_ISFIFO(os.lstat("pipe.md").st_mode)


def test_file_names_are_never_options(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    tricky = ["-mx.md", "--model=y.md", "--check.md", "-"]
    for name in tricky[:3]:
        Path(name).write_text(TYPO)
    Path("-").write_text(TYPO)
    assert _run(*tricky) == 1
    assert all(Path(name).read_text() == FIXED for name in tricky)
    assert not {request.body["model"] for request in api.model_requests()} & {"x.md", "y.md"}
    assert "4 changed" in capfd.readouterr().out


def test_user_options_still_work_before_files_that_look_like_options(api: FakeOpenAI) -> None:
    Path("-mx.md").write_text(TYPO)
    Path("plain.md").write_text(TYPO)
    assert _run("--jobs", "2", "-m", "gpt-chosen", "--no-cache", "-mx.md", "plain.md") == 1
    assert Path("-mx.md").read_text() == FIXED and Path("plain.md").read_text() == FIXED
    assert {request.body["model"] for request in api.model_requests()} == {"gpt-chosen"}
    assert _run("--check", "--", "-mx.md") == 0  # an explicit `--` is honoured too


KILLED_HOOK = """
import sys, time
from gpt_tools.state import atomicwrite
from gpt_tools.cli.hook import main

def stall(fd):  # the first fix is written to its (unnamed) temp file: stop until the test kills us
    print("ready", flush=True)
    time.sleep(120)

atomicwrite.os.fsync = stall
main(sys.argv[1:])
"""


def test_sigkill_during_the_hooks_writes_leaves_no_temp_file(api: FakeOpenAI) -> None:
    paths = [Path(f"doc{i}.md") for i in range(3)]
    for path in paths:
        path.write_text(TYPO)
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_HOOK, *map(str, paths)], stdout=subprocess.PIPE, text=True
    ) as hook:
        assert hook.stdout is not None
        assert "ready\n" in iter(hook.stdout.readline, "")
        hook.send_signal(signal.SIGKILL)
        hook.wait(timeout=30)
    assert all(path.read_text() == TYPO for path in paths)
    assert sorted(os.listdir(".")) == ["doc0.md", "doc1.md", "doc2.md", "gpt-tools.toml"]


def test_a_large_file_is_chunked_not_refused_and_others_still_get_fixed(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    section = "## Part\n\n" + "Plain prose line for size. " * 30 + "\n\n"
    Path("big.md").write_text(section * 500)  # about 400 KB: over max_input_tokens as a whole
    Path("small.md").write_text("teh\n")
    assert main(["--max-bytes", "1000000", "big.md", "small.md"]) == 1
    assert Path("small.md").read_text() == "the\n"
    out = capfd.readouterr().out
    assert "big.md:" not in out and "not checked" not in out  # checked, clean, untouched
    assert len(api.model_requests()) > 2  # big.md went out in chunks


def test_remembered_refusal_is_not_counted_as_a_request(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("doc.md").write_text("# T\n\n```sh\necho teh\n```\n")
    api.script(Scripted(text="# T\n\nno code here\n"))
    assert main(["doc.md"]) == 1
    capfd.readouterr()
    assert main(["doc.md"]) == 1
    assert "0 requests" in capfd.readouterr().out


@pytest.mark.parametrize("fault", [None, "500"], ids=["all checked", "server down"])
def test_a_report_that_cannot_be_printed_fails_even_with_on_error_warn(
    files: dict[str, Path], api: FakeOpenAI, fault: str | None
) -> None:
    # --on-error=warn forgives an unreachable API, never a report the user cannot see (stdout full).
    if fault:
        api.default_fault = fault
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [program("gpt-tools-hook"), "--check", "--on-error", "warn", *map(str, files.values())],
            stdin=subprocess.DEVNULL,
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert b"cannot write to stdout: No space left on device" in done.stderr
    assert b"Traceback" not in done.stderr
    assert files["typo"].read_text() == TYPO


# Edits mode (the built-in linters' own output): check mode lists edits, fix mode names the refused ones.

TYPO_EDITS = [
    'typo.md:3:10: spelling: "recieve" → "receive"',
    "    You will receive the answer.",
    'typo.md:3:18: spelling: "teh " → "the "',
    "    You will receive the answer.",
]
CODE_REFUSED = 'typo.md:6:6: not applicable (protected): "teh\\n" → "the\\n": it touches a code block (line 5)'
CRLF_EDIT = 'crlf.md:1:1: spelling: "teh" → "the"'


@pytest.mark.usefixtures("edits_mode")
def test_check_mode_prints_each_edit_as_path_line_col_and_counts_exactly(
    files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    before = {name: path.read_bytes() for name, path in files.items()}
    assert _run("--check", *map(str, files.values())) == 1
    assert {name: path.read_bytes() for name, path in files.items()} == before
    lines = capfd.readouterr().out.splitlines()
    assert lines == [
        *TYPO_EDITS,
        CODE_REFUSED,
        CRLF_EDIT,
        "    the line",
        "gpt-tools-hook: 3 files checked, 2 would change, 1 unchanged, 0 skipped, 0 failed; 3 requests sent",
        "gpt-tools-hook: 3 edits in 2 files; 1 not applicable",
    ]


@pytest.mark.usefixtures("edits_mode")
def test_check_diff_shows_the_unified_diff_and_the_refused_edits(
    files: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    assert _run("--check", "--diff", str(files["typo"])) == 1
    out = capfd.readouterr().out
    assert "would fix typo.md:\n--- a/typo.md\n+++ b/typo.md\n" in out
    assert "-You will recieve teh answer.\n+You will receive the answer.\n" in out
    assert CODE_REFUSED in out.splitlines() and TYPO_EDITS[0] not in out


def test_diff_needs_check(files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _run("--diff", str(files["typo"]))
    assert exit_.value.code == 2 and "--diff" in capfd.readouterr().err
    assert api.model_requests() == []


@pytest.mark.usefixtures("edits_mode")
def test_fix_mode_applies_edits_reports_refused_ones_and_converges(
    files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    assert _run(*map(str, files.values())) == 1
    assert files["typo"].read_text() == FIXED and files["crlf"].read_bytes() == b"the line\r\nsecond\r\n"
    out = capfd.readouterr().out.splitlines()
    assert out[:3] == ["fixed typo.md", CODE_REFUSED, "fixed crlf.md"]
    assert out[3] == "gpt-tools-hook: 3 files checked, 2 changed, 1 unchanged, 0 skipped, 0 failed; 3 requests sent"
    sent = len(api.model_requests())
    # After `git add`, the hook sees its own result: no request, nothing to do, the refusal said again.
    assert _run(*map(str, files.values())) == 0
    assert len(api.model_requests()) == sent
    again = capfd.readouterr().out.splitlines()
    assert again[0] == CODE_REFUSED
    assert again[1] == (
        "gpt-tools-hook: 3 files checked, 0 changed, 3 unchanged, 0 skipped, 0 failed; 0 requests sent (3 from cache)"
    )
    assert again[2] == "gpt-tools-hook: 0 edits in 0 files; 1 not applicable"


@pytest.mark.usefixtures("edits_mode")
def test_a_fix_from_the_cache_says_so(
    files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    assert _run("--check", str(files["typo"]), str(files["clean"])) == 1
    capfd.readouterr()
    assert _run(str(files["typo"]), str(files["clean"])) == 1
    out = capfd.readouterr().out
    assert "fixed typo.md (from cache)\n" in out and "0 requests sent (2 from cache)" in out
    assert len(api.model_requests()) == 2


@pytest.mark.usefixtures("edits_mode")
def test_check_mode_still_lists_the_edits_known_when_one_file_is_unreachable(
    files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str], waits: FakeClock
) -> None:
    api.responder = failing_on("second")
    assert _run("--check", *map(str, files.values())) == 1
    out = capfd.readouterr().out.splitlines()
    assert TYPO_EDITS[0] in out and "  crlf.md" in out
    assert "gpt-tools-hook: 2 files checked, 1 would change, 1 unchanged, 0 skipped, 1 failed; " in out[-2]


def test_counts_are_exact_with_skipped_and_failed_files(
    files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    Path("bin.md").write_bytes(b"\x00\x01teh")
    files["crlf"].chmod(0o444)  # not written, so never sent: failed
    assert _run(str(files["typo"]), str(files["clean"]), str(files["crlf"]), "bin.md") == 1
    out = capfd.readouterr().out.splitlines()
    assert out[-1] == "gpt-tools-hook: 2 files checked, 1 changed, 1 unchanged, 1 skipped, 1 failed; 2 requests sent"
    capfd.readouterr()
    assert _run(str(files["clean"])) == 0
    assert capfd.readouterr().out.splitlines()[-1] == (
        "gpt-tools-hook: 1 file checked, 0 changed, 1 unchanged, 0 skipped, 0 failed; 0 requests sent (1 from cache)"
    )


def test_document_mode_check_keeps_the_diff_and_has_no_edit_lines(
    files: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    assert _run("--check", *map(str, files.values())) == 1
    out = capfd.readouterr().out
    assert "would fix typo.md:\n" in out and "edits in" not in out and "typo.md:3:" not in out
    assert out.splitlines()[-1] == (
        "gpt-tools-hook: 3 files checked, 2 would change, 1 unchanged, 0 skipped, 0 failed; 3 requests sent"
    )


def test_a_reply_repeating_a_paragraph_is_refused_never_written_nor_replayed(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    Path("two.md").write_text("Intro teh para.\n\nSecond para.\n")
    api.script(Scripted(text="Intro the para.\n\nSecond para.\n\nSecond para.\n"))
    assert main(["two.md"]) == 1
    assert Path("two.md").read_text() == "Intro teh para.\n\nSecond para.\n"
    assert "repeats paragraph 2 'Second para.'" in capfd.readouterr().out
    assert main(["two.md"]) == 1  # the refusal is remembered, the duplicate never comes back from the cache
    assert Path("two.md").read_text() == "Intro teh para.\n\nSecond para.\n"
    assert "remembered from an earlier run" in capfd.readouterr().out


def test_a_note_glued_to_the_only_paragraph_is_refused(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    text = "This is the opening paragraph of my short note about gardening.\n"
    Path("one.md").write_text(text)
    api.script(Scripted(text=text.replace(".\n", ". (I corrected one typo.)\n")))
    assert main(["one.md"]) == 1
    assert Path("one.md").read_text() == text
    assert "adds '(I corrected one typo.)' at the end of its last paragraph" in capfd.readouterr().out


def test_dry_run_summary_says_1_file(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("a.md").write_text(TYPO)
    assert _run("--dry-run", "a.md") == 0
    assert "gpt-tools-hook: dry run, 1 file, ~$" in capfd.readouterr().out
    assert api.model_requests() == []


@pytest.mark.parametrize("mode", ["document", "edits"])
def test_opt_out_regions_are_left_byte_identical(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    from tests.golden import fixture_cases

    monkeypatch.setenv("GPT_TOOLS_OUTPUT", mode)
    cases = fixture_cases("protect/opt_out.md", 3)
    paths = [Path(f"doc{number}.md") for number in range(len(cases))]
    for path, (_title, (text, _, _fixed)) in zip(paths, cases, strict=True):
        path.write_bytes(text.replace("\n", "\r\n").encode())
    assert _run(*map(str, paths)) == 1
    for path, (_title, (_, _, fixed)) in zip(paths, cases, strict=True):
        assert path.read_bytes() == fixed.replace("\n", "\r\n").encode(), path


# --- no key: the cache needs none; --allow-secrets; --output-format github ------------------------------------


def test_without_a_key_cached_files_are_checked_and_only_the_others_are_not_checked(
    scripted: ScriptedBackend, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")  # a host that needs a key
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    Path("known.md").write_text(TYPO)
    Path("new.md").write_text("# New\n\nteh new one\n")
    assert _run("--check", "known.md") == 1
    sent = len(scripted.requests)
    capfd.readouterr()
    monkeypatch.delenv("OPENAI_API_KEY")
    assert _run("known.md", "new.md") == 1
    out = capfd.readouterr().out.splitlines()
    assert len(scripted.requests) == sent  # nothing was sent, nothing could be
    assert out[0].startswith("not checked (no API key: set OPENAI_API_KEY") and out[1] == "  new.md"
    assert "  known.md" not in out and Path("known.md").read_text() == TYPO  # all or nothing: not written
    assert out[-1] == (
        "gpt-tools-hook: 1 file checked, 0 changed, 1 held back (not written: some file was not checked), "
        "0 unchanged, 0 skipped, 1 failed; 0 requests sent (1 from cache)"
    )
    assert _run("known.md") == 1  # the cached file alone: fixed offline
    assert Path("known.md").read_text() == TYPO.replace("teh answer", "the answer")  # the scripted fix


GITHUB_TOKEN_LINE = "token ghp_" + "Ab3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA3bC5" + " here teh\n"


def test_the_secret_refusal_advises_what_the_hook_accepts(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("leak.md").write_text("# Leak\n\n" + GITHUB_TOKEN_LINE)
    assert _run("leak.md") == 1
    out = capfd.readouterr().out
    assert "leak.md: refusing to send what looks like a secret" in out and "--allow-secrets" in out
    assert api.model_requests() == [] and "1 failed; 0 requests sent" in out
    assert _run("--allow-secrets", "leak.md") == 1  # the advice works: sent, fixed
    assert Path("leak.md").read_text() == "# Leak\n\n" + GITHUB_TOKEN_LINE.replace("teh", "the")
    assert len(api.model_requests()) == 1


@pytest.mark.usefixtures("edits_mode")
def test_output_format_github_annotates_each_edit_and_problem(
    files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    odd = Path("a,b:c%.md")  # every character a property must escape
    odd.write_text("teh odd one\n")
    Path("bin.md").write_bytes(b"\x00\x01teh")
    assert _run("--check", "--output-format", "github", str(files["typo"]), str(odd), "bin.md") == 1
    lines = capfd.readouterr().out.splitlines()
    assert lines[0].startswith("::notice file=bin.md::skipped: bin.md looks binary")
    assert lines[1:] == [
        '::warning file=typo.md,line=3,col=10::spelling: "recieve" → "receive"%0AYou will receive the answer.',
        '::warning file=typo.md,line=3,col=18::spelling: "teh " → "the "%0AYou will receive the answer.',
        '::notice file=typo.md,line=6,col=6::not applicable (protected): "teh\\n" → "the\\n": '
        "it touches a code block (line 5)",
        '::warning file=a%2Cb%3Ac%25.md,line=1,col=1::spelling: "teh" → "the"%0Athe odd one',
        "gpt-tools-hook: 2 files checked, 2 would change, 0 unchanged, 1 skipped, 0 failed; 2 requests sent",
        "gpt-tools-hook: 3 edits in 2 files; 1 not applicable",
    ]


def test_output_format_github_document_mode_annotates_each_changed_run_of_lines(
    files: dict[str, Path], api: FakeOpenAI, waits: FakeClock, capfd: pytest.CaptureFixture[str]
) -> None:
    api.responder = failing_on("second")
    assert _run("--check", "--output-format", "github", str(files["typo"]), str(files["crlf"])) == 1
    lines = capfd.readouterr().out.splitlines()
    change = "would change:%0A-You will recieve teh answer.%0A+You will receive the answer."
    assert lines[0] == f"::warning file=typo.md,line=3::{change}"
    assert lines[1].startswith("::error file=crlf.md::not checked (HTTP 500")
    assert lines[1].endswith("; no file was changed") and "%0A" not in lines[1]


def test_annotation_escapes_data_and_properties_by_githubs_rules() -> None:
    line = github.annotation("warning", "50% done\r\nnext: a,b", file="x,y:z%\n.md", line=3, col=1)
    assert line == "::warning file=x%2Cy%3Az%25%0A.md,line=3,col=1::50%25 done%0D%0Anext: a,b"
    assert github.annotation("error", "plain") == "::error::plain"


@pytest.mark.parametrize("args", [["--assistant", "NoSuchLinter"], ["--assistant", "DocWriter"], ["-m", ""]])
def test_on_error_warn_never_forgives_a_usage_error(
    files: dict[str, Path], api: FakeOpenAI, capfd: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert _run("--on-error", "warn", *args, str(files["typo"])) == 2  # was 0: every commit passed unchecked
    assert "no file was changed" in capfd.readouterr().err
    assert api.model_requests() == []


@pytest.mark.usefixtures("edits_mode")
def test_clean_files_in_edits_mode_get_no_edits_line(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("clean.md").write_text(CLEAN)
    assert _run("--check", "clean.md") == 0
    assert capfd.readouterr().out.splitlines() == [
        "gpt-tools-hook: 1 file checked, 0 would change, 1 unchanged, 0 skipped, 0 failed; 1 request sent"
    ]


@pytest.mark.parametrize("output_format", ["text", "github"])
def test_a_file_name_that_is_not_utf8_is_fixed_and_reported_escaped(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], output_format: str
) -> None:
    bad = os.fsdecode(b"bad\xff.md")  # as Python holds the bytes of a name that is not UTF-8
    Path(bad).write_text(TYPO)
    Path("z.md").write_text(TYPO)  # after it: a crash on the first name would leave it unwritten
    assert _run("--output-format", output_format, bad, "z.md") == 1
    assert Path(bad).read_text() == FIXED and Path("z.md").read_text() == FIXED
    out = capfd.readouterr().out.splitlines()
    assert out[0] == ("fixed bad\\udcff.md" if output_format == "text" else "::warning file=bad\\udcff.md::fixed")


def test_a_file_empty_but_for_a_bom_is_unchanged_and_never_sent(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    Path("bom.md").write_bytes(b"\xef\xbb\xbf")
    Path("bomlines.md").write_bytes(b"\xef\xbb\xbf\r\n\r\n")
    assert _run("bom.md", "bomlines.md") == 0
    assert capfd.readouterr().out.splitlines() == [
        "gpt-tools-hook: 2 files checked, 0 changed, 2 unchanged, 0 skipped, 0 failed; 0 requests sent"
    ]
    assert api.model_requests() == [] and Path("bom.md").read_bytes() == b"\xef\xbb\xbf"


def test_a_read_only_file_skipped_anyway_is_counted_skipped_or_unchanged_not_failed(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    Path("logo.png").write_bytes(b"\x89PNG\0\0")
    Path("empty.md").write_bytes(b"")
    for name in ("logo.png", "empty.md"):
        Path(name).chmod(0o444)
    assert _run("logo.png", "empty.md") == 0
    out = capfd.readouterr().out.splitlines()
    assert out[-1] == "gpt-tools-hook: 1 file checked, 0 changed, 1 unchanged, 1 skipped, 0 failed; 0 requests sent"
    assert api.model_requests() == []


@pytest.mark.usefixtures("edits_mode")
def test_text_reports_never_give_githubs_runner_a_workflow_command(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    # The runner takes a log line starting (after blanks) with `::`, or holding `##[` anywhere, for a command.
    Path("::add-mask::x.md").write_text("# Doc\n\n  ::set-output name=ok::1 teh\n\n##[add-mask]y teh\n")
    Path("##[add-mask]z.md").write_text("teh")
    assert _run("--check", "::add-mask::x.md", "##[add-mask]z.md") == 1
    assert _run("--check", "--diff", "::add-mask::x.md") == 1
    out = capfd.readouterr().out
    assert "x.md" in out and "z.md" in out and "set-output" in out
    assert "##[" not in out and not any(line.lstrip().startswith("::") for line in out.splitlines())
    assert "\\x3a:add-mask::x.md:3:" in out and "#\\x23[add-mask]z.md" in out
