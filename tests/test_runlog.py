"""The run log (runlog.py): one SQLite row per run from every front end, `gpt-tools logs` and `usage`."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import gpt_tools
from gpt_tools.cli.hook import main as hook_main
from gpt_tools.cli.main import main
from gpt_tools.config.definitions import DEFAULT_MODEL
from gpt_tools.errors import Cancelled, GptToolsError, InputRefused
from gpt_tools.state import paths, runlog
from tests.conftest import ROOT, log_file, run_program, write_config
from tests.fake_openai import FakeOpenAI, Scripted

BASE_CONFIG = "max_retry_wait = 5\n"
PROSE = "# Title\n\nThis is teh document.\n"
# Shaped like a real key, so that the secret guard recognises it inside a text.
REAL_LOOKING_KEY = "sk-proj-Q7vT2mZk9LpR4xWc8NbY3hJd6FgS1aUe0VoKiXq5"


def _configure(extra: str = "", retries: int = 2) -> None:
    """Rewrite the config the `api` fixture points GPT_TOOLS_CONFIG at."""
    write_config(Path.cwd(), f"{BASE_CONFIG}max_retries = {retries}\n{extra}")


def _db() -> Path:
    return paths.run_log()


def _rows(path: Path | None = None) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(path or _db())) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM runs ORDER BY id")]


def _db_bytes(path: Path | None = None) -> bytes:
    """The database and whatever WAL/SHM files sit next to it."""
    target = path or _db()
    return b"".join(p.read_bytes() for p in sorted(target.parent.glob(target.name + "*")))


def _log_text() -> str:
    return log_file().read_text(encoding="utf-8") if log_file().exists() else ""


# ----------------------------------------------------------------------------------------- one run


def test_library_run_writes_one_row_with_the_right_fields(api: FakeOpenAI) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    result = gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    path = _db()
    assert path.is_relative_to(os.environ["XDG_DATA_HOME"])  # the user's data dir
    [row] = _rows()
    assert row["frontend"] == "library"
    assert (row["assistant"], row["model"], row["backend"]) == ("MarkdownLinter", DEFAULT_MODEL, "openai")
    assert row["status"] == "ok" and row["error"] is None
    usage = result.usage
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert (row["input_tokens"], row["output_tokens"], row["cached_tokens"]) == (
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_tokens,
    )
    fresh, _, out = runlog.PRICES[DEFAULT_MODEL]
    expected = (usage.input_tokens * fresh + usage.output_tokens * out) / 1_000_000  # the default model, no cached
    assert row["cost"] > 0 and row["cost"] == pytest.approx(expected)
    assert row["cache_hit"] == 0 and row["requests"] == 1
    assert 0 <= row["duration"] < 30
    stamp = datetime.fromisoformat(row["time"])
    assert stamp.utcoffset() == timedelta(0)
    assert before <= stamp <= datetime.now(timezone.utc)
    assert row["input_text"] is None and row["output_text"] is None
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_failing_run_is_logged_as_error_with_its_message(api: FakeOpenAI) -> None:
    _configure(retries=0)
    api.default_fault = "500"
    with pytest.raises(GptToolsError, match="HTTP 500") as caught:
        gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    [row] = _rows()
    assert row["status"] == "error"
    assert row["error"] == f"{type(caught.value).__name__}: {caught.value}"
    assert "HTTP 500" in row["error"]
    assert (row["input_tokens"], row["output_tokens"], row["requests"], row["cache_hit"]) == (0, 0, 0, 0)
    assert row["cost"] == 0


def test_refused_input_is_logged_with_no_tokens(api: FakeOpenAI) -> None:
    with pytest.raises(InputRefused):
        gpt_tools.run("MarkdownLinter", "   \n", cwd=Path.cwd())
    assert api.model_requests() == []
    [row] = _rows()
    assert row["status"] == "error" and row["error"].startswith("InputRefused: the input is empty")
    assert (row["input_tokens"], row["output_tokens"], row["cached_tokens"], row["requests"]) == (0, 0, 0, 0)
    assert row["frontend"] == "library" and row["assistant"] == "MarkdownLinter"


def test_cancelled_run_is_logged_as_cancelled(api: FakeOpenAI) -> None:
    api.script(Scripted(fault="slow"))  # the fake waits 5 s before answering
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    try:
        with pytest.raises(Cancelled):
            gpt_tools.run("MarkdownLinter", PROSE, cancel=cancel, cwd=Path.cwd())
    finally:
        timer.cancel()
    [row] = _rows()
    assert row["status"] == "cancelled" and row["error"].startswith("Cancelled")


def test_the_key_never_reaches_the_database(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", REAL_LOOKING_KEY)
    _configure("log_texts = true\n", retries=0)  # even with the texts kept
    gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    api.script(Scripted(fault="401"))  # its message echoes a masked key, like the real service
    with pytest.raises(GptToolsError):
        gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    api.default_fault = "500"
    with pytest.raises(GptToolsError):
        gpt_tools.run("Summarizer", "teh", cwd=Path.cwd())
    rows = _rows()
    assert [row["status"] for row in rows] == ["ok", "error", "error"]
    data = _db_bytes()
    assert REAL_LOOKING_KEY.encode() not in data
    assert REAL_LOOKING_KEY[8:].encode() not in data  # nor its secret part
    assert REAL_LOOKING_KEY.encode() not in "".join(map(str, rows)).encode()


def test_a_refused_secret_is_not_kept_even_with_log_texts(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", REAL_LOOKING_KEY)
    _configure("log_texts = true\n")
    with pytest.raises(InputRefused, match="looks like an OpenAI-style API key"):
        gpt_tools.run("Summarizer", f"deploy notes\nOPENAI_API_KEY={REAL_LOOKING_KEY}\n", cwd=Path.cwd())
    assert api.model_requests() == []
    [row] = _rows()
    assert row["status"] == "error"
    assert REAL_LOOKING_KEY.encode() not in _db_bytes()


def test_texts_are_absent_by_default_and_kept_with_log_texts(api: FakeOpenAI) -> None:
    gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    _configure("log_texts = true\n")
    result = gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    first, second = _rows()
    assert (first["input_text"], first["output_text"]) == (None, None)
    assert (second["input_text"], second["output_text"]) == (PROSE, result.text)
    assert result.text == PROSE.replace("teh", "the")


def test_default_texts_leave_no_trace_in_the_file(api: FakeOpenAI) -> None:
    marker = "Zanzibar-quokka-marker"
    gpt_tools.run("MarkdownLinter", f"# {marker}\n\nteh text\n", cwd=Path.cwd())
    assert len(_rows()) == 1
    assert marker.encode() not in _db_bytes()


def test_failed_run_keeps_its_input_text_with_log_texts(api: FakeOpenAI) -> None:
    _configure("log_texts = true\n", retries=0)
    api.default_fault = "500"
    with pytest.raises(GptToolsError):
        gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    [row] = _rows()
    assert (row["input_text"], row["output_text"]) == (PROSE, None)


def test_run_log_false_writes_no_database(api: FakeOpenAI) -> None:
    _configure("run_log = false\n")
    gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    with pytest.raises(InputRefused):
        gpt_tools.run("MarkdownLinter", "", cwd=Path.cwd())
    assert not _db().exists()
    assert not _db().parent.exists() or list(_db().parent.iterdir()) == []


def test_env_override_moves_the_log(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    elsewhere = tmp_path / "logs" / "mine.sqlite3"
    monkeypatch.setenv("GPT_TOOLS_RUN_LOG", str(elsewhere))
    assert paths.run_log() == elsewhere
    gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    assert len(_rows(elsewhere)) == 1
    monkeypatch.delenv("GPT_TOOLS_RUN_LOG")
    assert not paths.run_log().exists()


# ----------------------------------------------------------------------------------------- front ends


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> io.BytesIO:
    data = io.BytesIO()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(data))
    return data


def test_cli_run_records_frontend_cli(api: FakeOpenAI, stdin: io.BytesIO) -> None:
    assert main(["run", "ProofReader", "--input-text", "teh cat"]) == 0
    assert main(["run", "Summarizer", "-t", "teh", "-m", "gpt-4.1-mini"]) == 0
    first, second = _rows()
    assert (first["frontend"], first["assistant"], first["status"]) == ("cli", "ProofReader", "ok")
    assert (second["frontend"], second["model"]) == ("cli", "gpt-4.1-mini")
    expected = runlog.cost("gpt-4.1-mini", second["input_tokens"], 0, second["output_tokens"], runlog.PRICES)
    assert second["cost"] == pytest.approx(expected) and expected > 0


def test_cli_failure_records_error(api: FakeOpenAI, stdin: io.BytesIO) -> None:
    _configure(retries=0)
    api.default_fault = "500"
    assert main(["run", "MarkdownLinter", "-t", "teh"]) == 1
    [row] = _rows()
    assert (row["frontend"], row["status"]) == ("cli", "error") and "HTTP 500" in row["error"]


def test_gpt_filter_records_frontend_filter(api: FakeOpenAI) -> None:
    done = run_program("gpt-filter", "MarkdownLinter", stdin=b"teh line\n")
    assert (done.returncode, done.stdout) == (0, b"the line\n")
    _configure(retries=0)
    api.default_fault = "500"
    done = run_program("gpt-filter", "MarkdownLinter", stdin=b"teh line\n")
    assert (done.returncode, done.stdout) == (1, b"teh line\n")
    ok, failed = _rows()
    assert (ok["frontend"], ok["status"], ok["input_tokens"] > 0) == ("filter", "ok", True)
    assert (failed["frontend"], failed["status"]) == ("filter", "error")


def test_hook_records_frontend_hook_and_cache_hits(api: FakeOpenAI) -> None:
    Path("typo.md").write_text("# Guide\n\nYou will recieve teh answer.\n")
    assert hook_main(["typo.md"]) == 1  # fixed
    sent = len(api.model_requests())
    assert sent == 1
    assert hook_main(["typo.md"]) == 0  # the fixed file again: answered from the cache
    assert len(api.model_requests()) == sent
    first, second = _rows()
    assert (first["frontend"], first["cache_hit"], first["requests"], first["status"]) == ("hook", 0, 1, "ok")
    assert first["input_tokens"] > 0 and first["cost"] > 0
    assert (second["frontend"], second["cache_hit"], second["requests"], second["status"]) == ("hook", 1, 0, "ok")
    assert second["cost"] == 0


# ----------------------------------------------------------------------------------------- a bad log never fails a run


@pytest.mark.parametrize("kind", ["garbage", "directory", "parent is a file"])
def test_an_unusable_log_never_fails_a_run(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    path = _db()
    path.parent.mkdir(parents=True, exist_ok=True)
    garbage = bytes(range(256)) * 64
    if kind == "garbage":
        path.write_bytes(garbage)
    elif kind == "directory":
        path.mkdir()
    else:
        blocker = path.parent / "blocker"
        blocker.write_text("x")
        monkeypatch.setenv("GPT_TOOLS_RUN_LOG", str(blocker / "runs.sqlite3"))
    result = gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    assert result.text == PROSE.replace("teh", "the")
    with pytest.raises(InputRefused):  # failing runs keep their own error, not the log's
        gpt_tools.run("MarkdownLinter", "", cwd=Path.cwd())
    assert _log_text().count("run log not written") == 2
    if kind == "garbage":
        assert "file is not a database" in _log_text()
        assert path.read_bytes() == garbage  # the user's file is left for them to inspect


def test_append_reports_false_on_a_corrupt_log(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    path.write_bytes(b"not a database" * 300)
    record = runlog.Record("library", "A", "gpt-5-mini", "openai", 1, 1, 0, 0.1, "ok")
    assert runlog.append(record, prices=runlog.PRICES, path=path) is False
    assert "run log not written (DatabaseError" in _log_text()


def test_logs_and_usage_on_a_corrupt_log_say_so_without_a_traceback() -> None:
    path = _db()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage!" * 512)
    for command in ("logs", "usage"):
        done = run_program("gpt-tools", command)
        assert done.returncode == 1
        assert b"Traceback" not in done.stderr
        assert str(path).encode() in done.stderr


class _ShortWait(sqlite3.Connection):
    """A connection whose busy timeout is 50 ms whatever runlog asks for (keeps the test fast)."""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.startswith("PRAGMA busy_timeout"):
            sql = "PRAGMA busy_timeout = 50"
        return super().execute(sql, *args)


def _hold_lock(path: Path) -> sqlite3.Connection:
    """Another writer, inside an exclusive transaction on the log, holding the write lock."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute(
        "INSERT INTO runs (time, frontend, assistant, model, backend, duration, status)"
        " VALUES ('2026-01-01T00:00:00+00:00', 'cli', 'Holder', 'm', 'openai', 0, 'ok')"
    )
    return holder


def test_a_locked_log_never_fails_a_run(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())  # creates the log (WAL mode)
    holder = _hold_lock(_db())
    real_connect = sqlite3.connect
    try:
        with monkeypatch.context() as patch:
            patch.setattr(
                sqlite3, "connect", lambda *a, **k: real_connect(*a, **{**k, "timeout": 0.05, "factory": _ShortWait})
            )
            patch.setattr(runlog, "BUSY_TIMEOUT", 0.05, raising=False)  # for a retry loop with its own deadline
            result = gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
            assert result.text == PROSE.replace("teh", "the")
            with pytest.raises(InputRefused):
                gpt_tools.run("MarkdownLinter", "", cwd=Path.cwd())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert len(_rows()) == 1  # both rows dropped, the first run's kept
    assert _log_text().count("run log not written (OperationalError: database is locked)") == 2


def test_connect_raising_locked_never_fails_a_run(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    def locked(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(sqlite3, "connect", locked)
    result = gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    assert result.text == PROSE.replace("teh", "the")
    assert "run log not written (OperationalError: database is locked)" in _log_text()


def test_a_briefly_locked_log_waits_and_keeps_the_row(api: FakeOpenAI) -> None:
    """The busy timeout: a writer that finishes within it delays the row, never drops it."""
    gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    holder = _hold_lock(_db())
    release = threading.Timer(0.5, lambda: (holder.execute("COMMIT"), holder.close()))
    started = time.monotonic()
    release.start()
    try:
        gpt_tools.run("Summarizer", "teh", cwd=Path.cwd())
    finally:
        release.join()
    assert time.monotonic() - started >= 0.45
    assert [row["assistant"] for row in _rows()] == ["MarkdownLinter", "Holder", "Summarizer"]
    assert "run log not written" not in _log_text()


WRITER = """
import sys, time
from pathlib import Path
from gpt_tools.state import runlog
path, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
record = runlog.Record("hook", name, "gpt-5-mini", "openai", 1000, 200, 100, 0.25, "ok", requests=1)
while not go.exists():
    time.sleep(0.001)
written = sum(runlog.append(record, prices=runlog.PRICES, path=path) for _ in range(int(sys.argv[4])))
sys.exit(0 if written == int(sys.argv[4]) else 1)
"""


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path, go = tmp_path / "shared" / "runs.sqlite3", tmp_path / "go"
    with runlog.connect(path):  # an existing log; creating it concurrently is tested below
        pass
    writers, appends = 8, 25
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"w{i}", str(go), str(appends)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        for i in range(writers)
    ]
    time.sleep(0.3)  # let them all start and wait at the line, then release them at once
    go.touch()
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * writers, errors
    rows = _rows(path)
    assert len(rows) == writers * appends
    counts = {f"w{i}": 0 for i in range(writers)}
    for row in rows:
        counts[row["assistant"]] += 1
    assert set(counts.values()) == {appends}
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert "run log not written" not in _log_text()


def test_a_log_being_created_by_another_writer_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    creator = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    creator.execute("BEGIN IMMEDIATE")  # another process half-way through creating the log
    creator.execute("CREATE TABLE IF NOT EXISTS scratch (x)")
    release = threading.Timer(0.5, lambda: (creator.execute("COMMIT"), creator.close()))
    record = runlog.Record("hook", "A", "gpt-5-mini", "openai", 10, 5, 0, 0.1, "ok")
    started = time.monotonic()
    release.start()
    try:
        written = runlog.append(record, prices=runlog.PRICES, path=path)
    finally:
        release.join()
    assert "run log not written" not in _log_text()
    assert written is True
    assert time.monotonic() - started >= 0.45  # it waited for the creator, well inside the 5 s busy timeout
    assert [row["assistant"] for row in _rows(path)] == ["A"]


# ----------------------------------------------------------------------------------------- logs and usage

# (time, frontend, assistant, model, input, cached, output, cache_hit)
SEED = [
    ("2026-03-01T09:00:00+00:00", "cli", "ProofReader", "gpt-5-mini", 1000, 200, 500, False),
    ("2026-03-01T18:30:00+00:00", "hook", "MarkdownLinter", "gpt-5-mini-2025-08-07", 2000, 0, 1000, False),
    ("2026-03-02T08:00:00+00:00", "filter", "ProofReader", "gpt-4.1", 1_000_000, 0, 0, False),
    ("2026-03-03T12:00:00+00:00", "nvim", "Summarizer", "my-local-llama", 300, 0, 100, False),
    ("2026-03-03T13:00:00+00:00", "hook", "MarkdownLinter", "gpt-5-mini", 0, 0, 0, True),
]
COSTS = [0.001205, 0.0025, 2.0, None, 0.0]  # by hand, from the built-in table


@pytest.fixture
def seeded() -> Path:
    """Five runs written through runlog.append, then moved to fixed times."""
    for when, frontend, assistant, model, tokens_in, cached, tokens_out, hit in SEED:
        record = runlog.Record(
            frontend, assistant, model, "openai", tokens_in, tokens_out, cached, 1.5, "ok", cache_hit=hit
        )
        assert runlog.append(record, prices=runlog.PRICES)
        with closing(sqlite3.connect(_db(), isolation_level=None)) as db:
            db.execute("UPDATE runs SET time = ? WHERE id = (SELECT MAX(id) FROM runs)", (when,))
    return _db()


def _json(capfd: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main([*argv, "--json"]) == 0
    return json.loads(capfd.readouterr().out)


def test_append_stores_the_cost_estimate(seeded: Path) -> None:
    costs = [row["cost"] for row in _rows()]
    assert costs[3] is None  # unknown model: no estimate, not zero
    assert [c for i, c in enumerate(costs) if i != 3] == pytest.approx([c for c in COSTS if c is not None])


def test_logs_newest_first_without_texts(seeded: Path, capfd: pytest.CaptureFixture[str]) -> None:
    rows = _json(capfd, "logs")
    assert [row["time"] for row in rows] == [seed[0] for seed in reversed(SEED)]
    assert "input_text" not in rows[0] and "output_text" not in rows[0]
    assert rows[-1]["cost"] == pytest.approx(0.001205) and rows[1]["cost"] is None
    assert rows[0]["cache_hit"] == 1 and rows[0]["frontend"] == "hook"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--assistant", "ProofReader"], [2, 0]),
        (["--frontend", "hook"], [4, 1]),
        (["--since", "2026-03-02"], [4, 3, 2]),
        (["--until", "2026-03-02"], [1, 0]),
        (["--since", "2026-03-01T12:00:00", "--until", "2026-03-03"], [2, 1]),
        (["--assistant", "MarkdownLinter", "--since", "2026-03-02"], [4]),
        (["-n", "2"], [4, 3]),
        (["--limit", "1", "--frontend", "cli"], [0]),
        (["--assistant", "Nobody"], []),
    ],
)
def test_logs_filters(seeded: Path, capfd: pytest.CaptureFixture[str], args: list[str], expected: list[int]) -> None:
    rows = _json(capfd, "logs", *args)
    assert [row["time"] for row in rows] == [SEED[i][0] for i in expected]


def test_logs_text_output(seeded: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["logs"]) == 0
    lines = capfd.readouterr().out.splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("2026-03-03T13:00:00+00:00  hook") and lines[0].endswith("ok cache")
    assert "$0.0012" in lines[4] and "1,000 in" in lines[4] and lines[4].endswith("ok")
    assert " - " in lines[1].replace("  ", " ")  # unpriced model: no estimate shown


def test_logs_and_usage_without_a_log_create_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    assert _json(capfd, "logs") == []
    assert main(["usage"]) == 0
    assert capfd.readouterr().out == "no runs logged yet\n"
    assert not _db().exists()


def _by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in rows}


def test_usage_by_day(seeded: Path, capfd: pytest.CaptureFixture[str]) -> None:
    rows = _json(capfd, "usage")  # --by day is the default
    assert [row["day"] for row in rows] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    first, second, third = rows
    assert (first["runs"], first["input_tokens"], first["cached_tokens"], first["output_tokens"]) == (
        2,
        3000,
        200,
        1500,
    )
    assert first["cost"] == pytest.approx(0.001205 + 0.0025) and first["unpriced_runs"] == 0
    assert (second["runs"], second["cost"]) == (1, pytest.approx(2.0))
    assert (third["runs"], third["cache_hits"], third["unpriced_runs"], third["cost"]) == (2, 1, 1, 0)


def test_usage_by_assistant_model_frontend(seeded: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assistants = _by(_json(capfd, "usage", "--by", "assistant"), "assistant")
    assert set(assistants) == {"ProofReader", "MarkdownLinter", "Summarizer"}
    assert assistants["ProofReader"]["runs"] == 2 and assistants["ProofReader"]["cost"] == pytest.approx(2.001205)
    assert assistants["MarkdownLinter"]["cache_hits"] == 1
    assert assistants["MarkdownLinter"]["cost"] == pytest.approx(0.0025)
    assert (assistants["Summarizer"]["unpriced_runs"], assistants["Summarizer"]["cost"]) == (1, 0)

    models = _by(_json(capfd, "usage", "--by", "model"), "model")
    assert set(models) == {"gpt-5-mini", "gpt-5-mini-2025-08-07", "gpt-4.1", "my-local-llama"}
    assert models["gpt-5-mini-2025-08-07"]["cost"] == pytest.approx(0.0025)  # priced as gpt-5-mini
    assert models["gpt-5-mini"]["runs"] == 2 and models["gpt-5-mini"]["cost"] == pytest.approx(0.001205)
    assert models["my-local-llama"]["unpriced_runs"] == 1

    frontends = _by(_json(capfd, "usage", "--by", "frontend"), "frontend")
    assert {name: row["runs"] for name, row in frontends.items()} == {"cli": 1, "hook": 2, "filter": 1, "nvim": 1}
    assert sum(row["cost"] for row in frontends.values()) == pytest.approx(2.003705)


def test_usage_filters(seeded: Path, capfd: pytest.CaptureFixture[str]) -> None:
    models = _by(_json(capfd, "usage", "--by", "model", "--since", "2026-03-02"), "model")
    assert set(models) == {"gpt-4.1", "my-local-llama", "gpt-5-mini"}
    assert models["gpt-5-mini"]["runs"] == 1
    days = _json(capfd, "usage", "--frontend", "hook")
    assert [(row["day"], row["runs"]) for row in days] == [("2026-03-01", 1), ("2026-03-03", 1)]
    only = _json(capfd, "usage", "--assistant", "ProofReader", "--until", "2026-03-02")
    assert [(row["day"], row["runs"], row["cost"]) for row in only] == [("2026-03-01", 1, pytest.approx(0.001205))]


def test_usage_text_output(seeded: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["usage", "--by", "assistant"]) == 0
    lines = capfd.readouterr().out.splitlines()
    assert len(lines) == 4
    assert any(line.startswith("Summarizer") and "(1 runs of unpriced models)" in line for line in lines)
    assert lines[-1].startswith("total") and lines[-1].endswith("$2.0037")


def test_price_override_in_config_changes_usage(
    seeded: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(
        Path.cwd(),
        '[prices."gpt-5-mini"]\ninput = 1.0\noutput = 10.0\n\n'
        '[prices."my-local-llama"]\ninput = 0.5\ncached_input = 0.1\noutput = 1.0\n',
    )
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(config))
    models = _by(_json(capfd, "usage", "--by", "model"), "model")
    # cached_input defaults to input: (800 + 200) * 1.0 + 500 * 10.0
    assert models["gpt-5-mini"]["cost"] == pytest.approx(0.006)
    assert models["gpt-5-mini-2025-08-07"]["cost"] == pytest.approx(0.012)  # the snapshot follows its family
    assert models["gpt-4.1"]["cost"] == pytest.approx(2.0)  # untouched built-in price
    assert (models["my-local-llama"]["unpriced_runs"], models["my-local-llama"]["cost"]) == (0, pytest.approx(0.00025))
    assert _rows()[0]["cost"] == pytest.approx(0.001205)  # the stored estimate is the one of the run's time


def test_user_config_price_override_reaches_the_run_estimate(api: FakeOpenAI) -> None:
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "gpt-tools" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text(f'[prices."{DEFAULT_MODEL}"]\ninput = 100.0\ncached_input = 10.0\noutput = 1000.0\n')
    result = gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    [row] = _rows()
    expected = (result.usage.input_tokens * 100.0 + result.usage.output_tokens * 1000.0) / 1_000_000
    assert row["cost"] == pytest.approx(expected)


def test_unknown_model_run_is_unpriced(api: FakeOpenAI) -> None:
    gpt_tools.run("Summarizer", "teh", model="house-model-7b", cwd=Path.cwd())
    [row] = _rows()
    assert (row["model"], row["status"], row["cost"]) == ("house-model-7b", "ok", None)
    [total] = runlog.usage(runlog.Filters(), "model", runlog.PRICES)
    assert (total["model"], total["unpriced_runs"], total["cost"]) == ("house-model-7b", 1, 0.0)


def test_installed_usage_program(seeded: Path) -> None:
    done = run_program("gpt-tools", "usage", "--by", "frontend", "--json")
    assert done.returncode == 0, done.stderr
    rows = _by(json.loads(done.stdout), "frontend")
    assert rows["hook"]["runs"] == 2 and rows["filter"]["cost"] == pytest.approx(2.0)


# ----------------------------------------------------------------------------------------- prices


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gpt-5-mini", "gpt-5-mini"),
        ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("gpt-5-2025-08-07", "gpt-5"),
        ("gpt-5-nano-2025-08-07", "gpt-5-nano"),
        ("gpt-4.1-mini", "gpt-4.1-mini"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),  # longest prefix, not gpt-4.1
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
    ],
)
def test_price_for_maps_snapshots_to_their_family(model: str, family: str) -> None:
    assert runlog.price_for(model, runlog.PRICES) == runlog.PRICES[family]


@pytest.mark.parametrize("model", ["gpt-50", "gpt-4.10", "gpt-5mini", "llama3", "", "GPT-5-mini-x"])
def test_price_for_unknown_models(model: str) -> None:
    assert runlog.price_for(model, runlog.PRICES) is None


def test_price_for_uses_the_given_table() -> None:
    table = {"gpt-4.1": (2.0, 0.5, 8.0)}
    assert runlog.price_for("gpt-4.1-mini", table) == (2.0, 0.5, 8.0)  # only the family is known here
    assert runlog.price_for("gpt-4.1-mini", {**table, "gpt-4.1-mini": (1.0, 1.0, 1.0)}) == (1.0, 1.0, 1.0)
    assert runlog.price_for("gpt-5", table) is None


def test_cost_arithmetic() -> None:
    assert runlog.cost("gpt-5-mini", 1000, 200, 500, runlog.PRICES) == pytest.approx(0.001205)
    assert runlog.cost("gpt-4.1", 1_000_000, 1_000_000, 1_000_000, runlog.PRICES) == pytest.approx(8.5)
    assert runlog.cost("gpt-5", 0, 0, 0, runlog.PRICES) == 0
    assert runlog.cost("gpt-5", 10, 50, 0, runlog.PRICES) == pytest.approx(50 * 0.125 / 1_000_000)  # no negative
    assert runlog.cost("mystery", 10, 0, 10, runlog.PRICES) is None


def test_usage_in_process_matches_the_cli(seeded: Path, capfd: pytest.CaptureFixture[str]) -> None:
    for by in runlog.GROUPS:
        shown = [{**row, "cost_estimate": None} for row in runlog.usage(runlog.Filters(), by, runlog.PRICES)]
        assert shown == _json(capfd, "usage", "--by", by)  # the CLI adds why a cost is an estimate (prices.py)
    assert runlog.recent(runlog.Filters(frontend="nvim"), 10)[0]["model"] == "my-local-llama"


def test_an_incomplete_reply_logs_what_the_server_billed(api: FakeOpenAI) -> None:
    _configure(retries=0)
    api.script(Scripted(fault="incomplete"))
    with pytest.raises(gpt_tools.ReplyRejected):
        gpt_tools.run("Summarizer", PROSE, cwd=Path.cwd())
    [row] = _rows()
    assert row["status"] == "rejected" and row["input_tokens"] > 0 and row["output_tokens"] > 0 and row["cost"] > 0


def test_a_cut_reply_logs_an_unknown_cost_never_a_false_zero(api: FakeOpenAI) -> None:
    _configure(retries=0)
    api.script(Scripted(fault="cut"))
    with pytest.raises(gpt_tools.ReplyRejected):
        gpt_tools.run("Summarizer", PROSE, cwd=Path.cwd())
    [row] = _rows()
    assert row["status"] == "rejected" and row["cost"] is None and row["usage_known"] == 0
    [shown] = runlog.recent(runlog.Filters(), 5)
    assert (shown["input_tokens"], shown["output_tokens"], shown["cost"]) == (None, None, None)


def test_usage_prices_batch_rows_at_half(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    for frontend in ("cli", "batch"):
        record = runlog.Record(frontend, "A", "gpt-5-mini", "openai", 1_000_000, 0, 0, 1.0, "ok")
        assert runlog.append(record, prices=runlog.PRICES, path=path)
    rows = {row["frontend"]: row for row in runlog.usage(runlog.Filters(), "frontend", runlog.PRICES, path=path)}
    assert rows["cli"]["cost"] == pytest.approx(0.25) and rows["batch"]["cost"] == pytest.approx(0.125)


# ------------------------------------------------------------ schema version, request IDs, privacy

V0_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, time TEXT NOT NULL, frontend TEXT NOT NULL, assistant TEXT NOT NULL,
    model TEXT NOT NULL, backend TEXT NOT NULL, input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0, cached_tokens INTEGER NOT NULL DEFAULT 0,
    duration REAL NOT NULL, status TEXT NOT NULL, error TEXT, cost REAL,
    cache_hit INTEGER NOT NULL DEFAULT 0, requests INTEGER NOT NULL DEFAULT 0,
    input_text TEXT, output_text TEXT
);
CREATE INDEX runs_time ON runs(time);
INSERT INTO runs (time, frontend, assistant, model, backend, duration, status)
    VALUES ('2026-03-01T09:00:00+00:00', 'cli', 'ProofReader', 'gpt-5-mini', 'openai', 1.0, 'ok');
"""


def test_a_log_of_the_first_release_is_migrated_in_place(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    _db().parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(_db())) as db:
        db.executescript(V0_SCHEMA)  # what the code before versioning created: user_version 0
    gpt_tools.run("Summarizer", "teh", cwd=Path.cwd())
    with closing(sqlite3.connect(_db())) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == runlog.VERSION == 3
    old, new = _rows()
    assert old["assistant"] == "ProofReader" and old["request_id"] is None  # kept as it was
    assert old["usage_known"] == 1 == new["usage_known"]  # an old row's tokens are what it said
    assert new["request_id"].startswith("req_")
    rows = _json(capfd, "logs")
    assert rows[0]["request_id"] == new["request_id"] and rows[1]["request_id"] is None


def test_a_new_log_is_created_at_the_current_version() -> None:
    assert runlog.append(runlog.Record("cli", "A", "m", "openai", 0, 0, 0, 0.1, "ok"), prices={})
    with closing(sqlite3.connect(_db())) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == runlog.VERSION
        assert "request_id" in [row[1] for row in db.execute("PRAGMA table_info(runs)")]


def test_failed_runs_keep_the_servers_request_id(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    _configure(retries=0)
    api.script(Scripted(fault="500"))
    with pytest.raises(GptToolsError):
        gpt_tools.run("Summarizer", "teh", cwd=Path.cwd())
    [row] = _rows()
    assert row["status"] == "error" and row["request_id"].startswith("req_")
    assert main(["logs"]) == 0
    assert row["request_id"] in capfd.readouterr().out  # shown in the text output too


def test_every_text_in_the_run_log_is_redacted(api: FakeOpenAI) -> None:
    from gpt_tools import redact

    secret = "a-remembered-proxy-password-0042"
    _configure("log_texts = true\n")
    redact.remember(secret)
    try:
        api.responder = lambda text: f"{text} {secret}"  # a server echoing it back
        gpt_tools.run("Summarizer", f"teh {secret}", cwd=Path.cwd(), allow_secrets=True)
    finally:
        redact.forget_all()
    [row] = _rows()
    assert secret not in (row["input_text"] + row["output_text"]) and "***" in row["output_text"]
    assert secret.encode() not in _db_bytes()


def test_the_run_log_is_private_even_when_it_was_not(api: FakeOpenAI) -> None:
    gpt_tools.run("Summarizer", "teh", cwd=Path.cwd())
    folder = _db().parent
    files = sorted(folder.glob(_db().name + "*"))
    assert {path.name for path in files} >= {_db().name}
    folder.chmod(0o755)
    for path in files:
        path.chmod(0o644)
    holder = sqlite3.connect(_db())  # holds the WAL and shared memory open, as another process would
    try:
        holder.execute("SELECT COUNT(*) FROM runs").fetchone()
        gpt_tools.run("Summarizer", "teh", cwd=Path.cwd())
        files = sorted(folder.glob(_db().name + "*"))
        assert [path.name[len(_db().name) :] for path in files] == ["", "-shm", "-wal"]
        for path in files:
            assert path.stat().st_mode & 0o777 == 0o600, path
        assert folder.stat().st_mode & 0o777 == 0o700
    finally:
        holder.close()


def test_an_explicit_log_folder_keeps_its_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    monkeypatch.setenv("GPT_TOOLS_RUN_LOG", str(shared / "runs.sqlite3"))
    assert runlog.append(runlog.Record("cli", "A", "m", "openai", 0, 0, 0, 0.1, "ok"), prices={})
    assert shared.stat().st_mode & 0o777 == 0o755  # the user's folder: not ours to change
    assert (shared / "runs.sqlite3").stat().st_mode & 0o777 == 0o600


def test_a_key_straddling_the_error_cut_is_redacted_whole(api: FakeOpenAI) -> None:
    from gpt_tools import redact
    from gpt_tools.config.resolve import resolve_settings
    from gpt_tools.core import accounting
    from gpt_tools.errors import ApiError

    key = "AzureStyleKey0123456789abcdef0123456789"  # no sk- shape: only the remembered value finds it
    redact.remember(key)
    try:
        config = gpt_tools.load_config()
        assistant = config.assistant("Summarizer")
        settings = resolve_settings(config, assistant, model=None, backend=None)
        error = ApiError("x" * 470 + key + " was refused")  # the 500-character cut falls inside the key
        accounting.record_run(config, assistant, settings, "cli", 0.1, "teh", error=error)
    finally:
        redact.forget_all()
    [row] = _rows()
    assert key[:12] not in row["error"] and "***" in row["error"]


# ------------------------------------------ unknown usage, usage errors, refused replies (issue 13)


def test_a_reply_with_no_usage_is_logged_as_unknown_never_as_zero(
    scripted: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    from gpt_tools.backends import Usage
    from tests.scripted_backend import Say

    scripted.script(Say(text="Some text.", usage=Usage()))  # a server that streams no usage
    gpt_tools.run("Summarizer", "Summarize teh text.", cwd=Path.cwd())
    [row] = _rows()
    assert (row["status"], row["usage_known"], row["cost"]) == ("ok", 0, None)
    assert main(["logs"]) == 0
    line = capfd.readouterr().out.splitlines()[0]
    assert "- in       - out" in line and " 0 in" not in line and "$0.0000" not in line
    assert main(["usage", "--json"]) == 0
    [total] = json.loads(capfd.readouterr().out)
    assert total["unknown_runs"] == 1


def test_a_cache_hit_is_a_known_zero(scripted: Any) -> None:
    from gpt_tools.core.session import Session
    from gpt_tools.state.cache import ResultCache

    session = Session(cache=ResultCache(Path("cache")))
    for _ in range(2):
        gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd(), session=session)
    second = _rows()[1]
    assert (second["cache_hit"], second["usage_known"], second["cost"]) == (1, 1, 0)


def test_usage_errors_are_not_runs(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")  # a local server needs no key
    with pytest.raises(gpt_tools.MissingKey):
        gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    monkeypatch.setenv("OPENAI_BASE_URL", api.url)
    Path("notes").mkdir()
    write_config(Path.cwd(), '[assistants.Kb]\nmode = "write"\ninstructions = "x"\ntools = ["file_search"]\n')
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    with pytest.raises(gpt_tools.UsageError):
        gpt_tools.run("Kb", "hello", cwd=Path.cwd())
    assert api.model_requests() == [] and not _db().exists()
    with pytest.raises(InputRefused):  # a refused input is the guards' decision: it is logged
        gpt_tools.run("MarkdownLinter", " \n", cwd=Path.cwd())
    assert [row["status"] for row in _rows()] == ["error"]


def test_a_refused_reply_is_logged_with_why_and_shown_by_show_rejected(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    _configure(retries=0)
    api.script(Scripted(text="I'm sorry, I can't help with that."))
    with pytest.raises(gpt_tools.ReplyRejected):
        gpt_tools.run("MarkdownLinter", PROSE * 20, cwd=Path.cwd())
    _configure("log_texts = true\n", retries=0)
    api.script(Scripted(text="\x1b[31mHere is the fixed document:\x1b[0m"))
    with pytest.raises(gpt_tools.ReplyRejected):
        gpt_tools.run("MarkdownLinter", PROSE * 20, cwd=Path.cwd())
    gpt_tools.run("MarkdownLinter", PROSE, cwd=Path.cwd())
    assert [row["status"] for row in _rows()] == ["rejected", "rejected", "ok"]
    assert main(["logs", "--show-rejected"]) == 0
    out = capfd.readouterr().out
    first, _why, reply, text, second, why, kept = out.splitlines()
    assert re.search(r" rejected  req_\w+$", first) and re.search(r" rejected  req_\w+$", second)
    assert "why: ReplyRejected: the reply for the document is" in why
    assert reply == "  reply:" and text == "    \\x1b[31mHere is the fixed document:\\x1b[0m"  # escaped
    assert kept == "  reply: not kept (log_texts = true keeps it)"
    assert main(["logs", "--show-rejected", "--json"]) == 0
    rows = json.loads(capfd.readouterr().out)
    assert [row["output_text"] for row in rows] == ["\x1b[31mHere is the fixed document:\x1b[0m", None]
    assert all(row["error"].startswith("ReplyRejected: ") for row in rows)


def test_batch_results_without_usage_are_logged_as_unknown(tmp_path: Path) -> None:
    from gpt_tools.core.batch import BatchRecord
    from gpt_tools.core.batch_collect import _log_usage

    record = BatchRecord("batch_1", "MarkdownLinter", "gpt-5-mini", "now", str(tmp_path), "file-1", True, 1000)
    batch = {"request_counts": {"total": 1, "failed": 0}, "created_at": 1, "completed_at": 2}
    _log_usage(record, batch, {"0-0": {"response": {"body": {"output": []}}}})
    _log_usage(record, batch, {"0-0": {"response": {"body": {"usage": {"input_tokens": 5, "output_tokens": 2}}}}})
    unknown, known = runlog.recent(runlog.Filters(), 5)[::-1]
    assert (unknown["input_tokens"], unknown["cost"]) == (None, None)
    assert (known["input_tokens"], known["output_tokens"]) == (5, 2) and known["cost"] is not None


def test_a_refusal_remembered_from_the_cache_costs_a_known_zero(api: FakeOpenAI, tmp_path: Path) -> None:
    from gpt_tools.core.session import Session
    from gpt_tools.state.cache import ResultCache

    session = Session(cache=ResultCache(tmp_path / "cache"))
    text = "# Doc\n\nSome teh prose.\n\n```\ncode\n```\n"
    api.script(Scripted(text="# Doc\n\nSome the prose.\n"))  # drops the code block: refused
    for _ in range(2):
        with pytest.raises(gpt_tools.ReplyRejected):
            gpt_tools.run("MarkdownLinter", text, session=session, cwd=Path.cwd())
    paid, remembered = _rows()
    assert paid["status"] == remembered["status"] == "rejected" and paid["cost"] > 0
    assert (remembered["usage_known"], remembered["cost"], remembered["input_tokens"]) == (1, 0, 0)


def test_a_log_at_version_2_gets_usage_known_and_keeps_its_rows(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    _db().parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(_db())) as db:
        for statement in [s for migration in runlog.MIGRATIONS[:2] for s in migration]:
            db.executescript(statement)
        db.executescript(V0_SCHEMA[V0_SCHEMA.index("INSERT") :])  # a row the older code wrote
        db.execute("PRAGMA user_version = 2")
        db.commit()
    gpt_tools.run("Summarizer", "teh", cwd=Path.cwd())
    with closing(sqlite3.connect(_db())) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == runlog.VERSION
    rows = _json(capfd, "logs")
    assert len(rows) == 2 and rows[0]["input_tokens"] is not None and rows[1]["assistant"] == "ProofReader"


@pytest.mark.parametrize("output", ["document", "edits"])
def test_a_refused_reply_keeps_the_servers_request_id(
    api: FakeOpenAI, output: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GPT_TOOLS_OUTPUT", output)
    _configure(retries=0)
    api.script(Scripted(text="I'm sorry, I can't help with that."))
    with pytest.raises(gpt_tools.ReplyRejected):
        gpt_tools.run("MarkdownLinter", PROSE * 20, cwd=Path.cwd())
    [row] = _rows()
    assert row["status"] == "rejected" and row["request_id"].startswith("req_")  # the reply was billed: quote it
