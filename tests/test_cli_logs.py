"""`gpt-tools logs` and `usage` options: dates are checked, never silently matching nothing."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import datetime, timedelta, timezone

import pytest

from gpt_tools.cli.main import main
from gpt_tools.state import paths, runlog
from tests.conftest import run_program

NOW = datetime(2026, 12, 1, 21, 30, tzinfo=timezone.utc)


def _seed(*times: datetime) -> None:
    import sqlite3

    for when in times:
        assert runlog.append(runlog.Record("cli", "A", "gpt-5-mini", "openai", 10, 5, 0, 0.1, "ok"), prices={})
        with closing(sqlite3.connect(paths.run_log(), isolation_level=None)) as db:
            stamp = when.isoformat(timespec="seconds")
            db.execute("UPDATE runs SET time = ? WHERE id = (SELECT MAX(id) FROM runs)", (stamp,))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-30", "2026-11-30"),
        ("2026-11-30T14:30", "2026-11-30T14:30:00+00:00"),
        ("2026-11-30T14:30:15+02:00", "2026-11-30T12:30:15+00:00"),
        ("2026-11-30T14:30Z", "2026-11-30T14:30:00+00:00"),
        ("today", "2026-12-01"),
        ("Yesterday", "2026-11-30"),
        ("12h", "2026-12-01T09:30:00+00:00"),
        ("7d", "2026-11-24T21:30:00+00:00"),
        ("2w", "2026-11-17T21:30:00+00:00"),
    ],
)
def test_dates_are_read_into_the_logs_own_format(value: str, expected: str) -> None:
    assert runlog.parse_time(value, now=NOW) == expected


@pytest.mark.parametrize(
    "value", ["2026-13-45", "2026-02-30", "tomorrow", "last week", "7", "7y", "", "2026-11-30T25:00"]
)
def test_anything_else_is_not_a_date(value: str) -> None:
    with pytest.raises(ValueError):
        runlog.parse_time(value, now=NOW)


@pytest.mark.parametrize("command", ["logs", "usage"])
@pytest.mark.parametrize("option", ["--since", "--until"])
@pytest.mark.parametrize("value", ["2026-13-45", "tomorrow"])
def test_a_bad_date_is_a_usage_error(command: str, option: str, value: str) -> None:
    done = run_program("gpt-tools", command, option, value)
    assert done.returncode == 2
    assert b"is not a date" in done.stderr and option.encode() in done.stderr
    assert b"Traceback" not in done.stderr and done.stdout == b""


def test_since_after_until_is_a_usage_error() -> None:
    done = run_program("gpt-tools", "logs", "--since", "2026-12-02", "--until", "2026-12-01")
    assert done.returncode == 2 and b"is not before --until" in done.stderr


def test_relative_dates_select_runs(capfd: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(timezone.utc)
    _seed(now - timedelta(days=3), now - timedelta(hours=30), now)
    assert main(["logs", "--since", "2d", "--json"]) == 0
    assert len(json.loads(capfd.readouterr().out)) == 2
    assert main(["logs", "--since", "today", "--json"]) == 0
    today = json.loads(capfd.readouterr().out)
    assert all(row["time"].startswith(now.date().isoformat()) for row in today) and today
    assert main(["usage", "--since", "yesterday", "--by", "assistant", "--json"]) == 0
    [row] = json.loads(capfd.readouterr().out)
    assert 1 <= row["runs"] <= 2  # the 30-hour-old run is yesterday's or the day before, by the clock


def test_a_limit_below_one_is_a_usage_error() -> None:
    done = run_program("gpt-tools", "logs", "-n", "0")
    assert done.returncode == 2 and b"Traceback" not in done.stderr


def test_names_from_a_config_reach_the_terminal_escaped(capfd: pytest.CaptureFixture[str]) -> None:
    record = runlog.Record("cli", "\x1b[2J\x1b[31mFake", "gpt-5-mini", "openai", 1, 1, 0, 0.1, "ok")
    assert runlog.append(record, prices={})
    assert main(["logs"]) == 0
    assert main(["usage", "--by", "assistant"]) == 0
    out = capfd.readouterr().out
    assert "\x1b" not in out and out.count("\\x1b[2J\\x1b[31mFake") == 2
