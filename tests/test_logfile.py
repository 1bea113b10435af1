"""The log file (logfile.py): private, redacted, and never a reason for a run to fail."""

from __future__ import annotations

import os
from pathlib import Path

from gpt_tools import redact
from gpt_tools.state.logfile import LOG_LIMIT, append_log
from tests.conftest import log_file

SECRET = "sk-proj-Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gFe"


def test_the_log_file_is_private_in_private_folders() -> None:
    state = Path(os.environ["XDG_STATE_HOME"])
    state.rmdir()  # the state dir itself does not exist yet: every folder we create is 0700
    append_log("gpt-filter", "first line")
    assert log_file().stat().st_mode & 0o777 == 0o600
    assert log_file().parent.stat().st_mode & 0o777 == 0o700
    assert state.stat().st_mode & 0o777 == 0o700


def test_an_older_world_readable_log_is_tightened() -> None:
    folder = log_file().parent
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    log_file().write_text("old line\n")
    log_file().chmod(0o644)
    append_log("gpt-filter", "new line")
    assert log_file().stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
    assert log_file().read_text().splitlines()[0] == "old line"  # appended, not replaced


def test_the_user_state_dir_keeps_its_own_mode() -> None:
    state = Path(os.environ["XDG_STATE_HOME"])
    state.chmod(0o755)  # the user's, not ours: only gpt-tools' own folder is made private
    append_log("gpt-filter", "line")
    assert state.stat().st_mode & 0o777 == 0o755


def test_a_rolled_over_log_is_private_too() -> None:
    folder = log_file().parent
    folder.mkdir(mode=0o700)
    log_file().write_bytes(b"x" * (LOG_LIMIT + 1))
    log_file().chmod(0o644)
    append_log("gpt-filter", "after the roll-over")
    rolled = log_file().with_suffix(".log.1")
    assert rolled.stat().st_mode & 0o777 == 0o600 and log_file().stat().st_mode & 0o777 == 0o600


def test_every_line_is_redacted() -> None:
    redact.remember("a-remembered-proxy-password")
    try:
        append_log("gpt-filter", f"HTTP 401: Incorrect API key provided: {SECRET} via a-remembered-proxy-password")
    finally:
        redact.forget_all()
    text = log_file().read_text()
    assert SECRET not in text and "a-remembered-proxy-password" not in text and "***" in text


def test_an_unwritable_log_is_not_an_error() -> None:
    log_file().parent.mkdir(mode=0o700)
    log_file().mkdir()  # a folder where the file should be: open() fails
    append_log("gpt-filter", "lost, quietly")
