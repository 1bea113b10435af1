"""The run log: one SQLite row per run from every front end, with tokens and a cost estimate.

Lives in the user's data dir. Never holds the key; holds the texts only with `log_texts = true`.
Safe under concurrent writers (pre-commit, several editors): WAL mode and a busy timeout. A locked,
corrupt or unwritable log never fails a run: the row is dropped and the reason goes to the log file.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from gpt_tools.errors import GptToolsError
from gpt_tools.redact import redact
from gpt_tools.state import paths
from gpt_tools.state.logfile import append_log
from gpt_tools.state.private import private_dir, private_file

Frontend = Literal["cli", "filter", "hook", "nvim", "chat", "batch", "lsp", "library"]  # who ran it
# "rejected": a reply came and the guards refused it (its reason is the row's error; with log_texts, the
# refused reply is its output_text).
RunStatus = Literal["ok", "error", "cancelled", "rejected"]

# The schema as the first release created it: version 0 (PRAGMA user_version unset). A database of
# that release has this table and user_version 0; a new one has neither. Both take the migrations.
_V0 = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,            -- UTC, ISO 8601
    frontend TEXT NOT NULL,        -- cli, filter, hook, nvim, chat, batch, library
    assistant TEXT NOT NULL,
    model TEXT NOT NULL,
    backend TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens INTEGER NOT NULL DEFAULT 0,
    duration REAL NOT NULL,
    status TEXT NOT NULL,          -- ok, error, cancelled
    error TEXT,
    cost REAL,                     -- USD estimate at the time of the run; NULL when the model has no price
    cache_hit INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    input_text TEXT,
    output_text TEXT
)
"""

# Ordered migrations: MIGRATIONS[n] takes a database from version n to n + 1. Append only; never
# edit one that has shipped, since databases out there are at every version.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1: the original table (a no-op on a database of the first release)
    (_V0, "CREATE INDEX IF NOT EXISTS runs_time ON runs(time)"),
    # 1 -> 2: the server's x-request-id
    ("ALTER TABLE runs ADD COLUMN request_id TEXT",),
    # 2 -> 3: whether the server reported the tokens (0: unknown, never a false 0 in, 0 out)
    ("ALTER TABLE runs ADD COLUMN usage_known INTEGER NOT NULL DEFAULT 1",),
)
VERSION = len(MIGRATIONS)

BATCH_DISCOUNT = 0.5  # the Batch API bills half the synchronous price

# USD per million tokens: (input, cached input, output), for prompts up to 272K input tokens (longer ones
# bill more). Estimates; override with [prices] in config. PRICES_CHECKED says when each entry was last
# checked against OpenAI's published prices: an older one, or a model not here, makes a cost an estimate
# (config/prices.py). Where a cached rate was not published, the input rate stands (never under-reports).
PRICES: dict[str, tuple[float, float, float]] = {
    "gpt-6.2-astra": (8.0, 8.0, 40.0),  # cached rate not published where checked
    "gpt-6.2-sol": (2.0, 2.0, 10.0),  # cached rate not published where checked
    "gpt-6.1-terra": (1.0, 0.05, 5.0),
    "gpt-6.1-sol": (2.0, 0.10, 10.0),
    "gpt-6-astra": (10.0, 1.0, 50.0),
    "gpt-6-sol": (2.0, 0.20, 10.0),
    "gpt-6-luna": (0.10, 0.01, 0.50),
    "gpt-5.6-sol": (4.0, 0.40, 20.0),  # twice gpt-6-sol, as OpenAI priced gpt-6 at half of gpt-5.6
    "gpt-5.6-terra": (2.0, 0.20, 12.0),  # since 2026-07-30 (2.50 / 15.00 at launch)
    "gpt-5.6-luna": (0.20, 0.02, 1.20),  # since 2026-07-30
    "gpt-5": (1.25, 0.125, 10.0),  # gpt-5, -mini, -nano: deprecated, shut down 2026-12-11
    "gpt-5-mini": (0.25, 0.025, 2.0),
    "gpt-5-nano": (0.05, 0.005, 0.40),
    "gpt-4.1": (2.0, 0.50, 8.0),
    "gpt-4.1-mini": (0.40, 0.10, 1.60),
    "gpt-4.1-nano": (0.10, 0.025, 0.40),
    "gpt-4o": (2.50, 1.25, 10.0),
    "gpt-4o-mini": (0.15, 0.075, 0.60),
}
_CHECKED_NOW = ("gpt-6", "gpt-5")  # families checked on 2026-12-02; gpt-4.1 and gpt-4o when first tabled
PRICES_CHECKED: dict[str, date] = {
    model: date(2026, 12, 2) if model.startswith(_CHECKED_NOW) else date(2026, 11, 24) for model in PRICES
}


@dataclass(frozen=True)
class Record:
    """One row: what ran, where from, what it used; the core builds it (core/accounting.py)."""

    frontend: Frontend
    assistant: str
    model: str
    backend: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    duration: float
    status: RunStatus
    error: str | None = None
    cache_hit: bool = False
    requests: int = 0
    input_text: str | None = None
    output_text: str | None = None
    priced: bool = True  # False when the tokens are unknown (a failed run): cost NULL, never a false $0
    request_id: str | None = None  # the server's x-request-id: what OpenAI's support asks for


def price_for(model: str, prices: Mapping[str, tuple[float, float, float]]) -> tuple[float, float, float] | None:
    """The price of model; dated snapshots (gpt-5-mini-2025-08-07) use their family's price."""
    if model in prices:
        return prices[model]
    family = max((name for name in prices if model.startswith(name + "-")), key=len, default=None)
    return prices[family] if family else None


Prices = Mapping[str, tuple[float, float, float]]


def cost(model: str, input_tokens: int, cached: int, output_tokens: int, prices: Prices) -> float | None:
    price = price_for(model, prices)
    if price is None:
        return None
    fresh = max(0, input_tokens - cached)
    return (fresh * price[0] + cached * price[1] + output_tokens * price[2]) / 1_000_000


# Seconds a writer waits for another (pre-commit threads, editors). Writes take milliseconds in WAL
# mode, and a filter in an editor must not hang on a log another program holds locked.
BUSY_TIMEOUT = 1.0


def _private(path: Path) -> None:
    """The log may hold texts (log_texts): readable by its owner only, its WAL and shared memory too."""
    private_dir(path.parent, owned_below=paths.app_dir("data"))  # an explicit GPT_TOOLS_RUN_LOG's folder is the user's
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # SQLite gives -wal and -shm this mode
    for file in (path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        private_file(file)  # an older, looser log is fixed


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to VERSION, one migration at a time, each in its own transaction.

    Concurrent processes may open an old log at once: BEGIN IMMEDIATE makes one of them migrate
    while the others wait (busy timeout), then re-read the version and find nothing to do.
    """
    while (version := int(db.execute("PRAGMA user_version").fetchone()[0])) < VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            if int(db.execute("PRAGMA user_version").fetchone()[0]) == version:
                for statement in MIGRATIONS[version]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    _private(path)
    with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)) as db:
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        db.execute("PRAGMA journal_mode = WAL")  # readers never block the writers of other processes
        migrate(db)
        yield db


_INSERT = (
    "INSERT INTO runs (time, frontend, assistant, model, backend, input_tokens, output_tokens,"
    " cached_tokens, duration, status, error, cost, cache_hit, requests, input_text, output_text, request_id,"
    " usage_known) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def append(record: Record, *, prices: Mapping[str, tuple[float, float, float]], path: Path | None = None) -> bool:
    """Add one row; False (and a line in the log file) when the log could not take it."""
    estimate = (
        cost(record.model, record.input_tokens, record.cached_tokens, record.output_tokens, prices)
        if record.priced
        else None
    )
    fields = (
        datetime.now(timezone.utc).isoformat(timespec="seconds"),
        record.frontend,
        record.assistant,
        record.model,
        record.backend,
        record.input_tokens,
        record.output_tokens,
        record.cached_tokens,
        round(record.duration, 3),
        record.status,
        record.error,
        estimate,
        int(record.cache_hit),
        record.requests,
        record.input_text,
        record.output_text,
        record.request_id,
        int(record.priced),
    )
    # Every text loses the process's secrets first (redact.py): a key in an error message, in a
    # text kept with log_texts, or pasted where a model name goes never reaches the disk.
    row = tuple(redact(value) if isinstance(value, str) else value for value in fields)
    # While another process is still creating the log, SQLite answers "locked" at once instead of
    # waiting out the busy timeout; retry until the same deadline rather than drop the row.
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            with connect(path or paths.run_log()) as db:
                db.execute(_INSERT, row)
            return True
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) and time.monotonic() < deadline:
                time.sleep(0.01)
                continue
            _note(f"run log not written ({type(exc).__name__}: {exc})")
            return False
        except (sqlite3.Error, OSError) as exc:
            _note(f"run log not written ({type(exc).__name__}: {exc})")
            return False


def _note(message: str) -> None:
    append_log("run-log", message)


_RELATIVE = re.compile(r"(\d{1,5})([hdw])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_time(value: str, *, now: datetime | None = None) -> str:
    """A --since/--until value as the log's own time format (UTC ISO 8601), for comparing with it.

    Accepts an ISO date (`2026-12-01`, a UTC day), an ISO date and time (`2026-12-01T14:30`, UTC
    unless it has an offset), `today` and `yesterday` (UTC days), and `12h`, `7d`, `2w` ago.
    Anything else raises ValueError: a filter that silently matched nothing would say "no runs".
    """
    now = now or datetime.now(timezone.utc)
    text = value.strip().lower()
    if text in ("today", "yesterday"):
        return (now.date() - timedelta(days=1 if text == "yesterday" else 0)).isoformat()
    relative = _RELATIVE.fullmatch(text)
    if relative:
        ago = now - int(relative.group(1)) * _UNITS[relative.group(2)]
        return ago.astimezone(timezone.utc).isoformat(timespec="seconds")
    if _DATE.fullmatch(text):
        return date.fromisoformat(text).isoformat()  # ValueError for 2026-13-45
    if not _DATE.match(text):
        raise ValueError(f"not a date: {value!r}")
    moment = datetime.fromisoformat(text.upper().removesuffix("Z") + ("+00:00" if text.endswith("z") else ""))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Filters:
    assistant: str | None = None
    frontend: str | None = None
    since: str | None = None  # ISO date or datetime, inclusive
    until: str | None = None  # ISO date or datetime, exclusive
    status: RunStatus | None = None


def _where(filters: Filters) -> tuple[str, list[str]]:
    clauses, values = [], []
    for column, value in (("assistant", filters.assistant), ("frontend", filters.frontend), ("status", filters.status)):
        if value:
            clauses.append(f"{column} = ?")
            values.append(value)
    if filters.since:
        clauses.append("time >= ?")
        values.append(filters.since)
    if filters.until:
        clauses.append("time < ?")
        values.append(filters.until)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", values


@contextmanager
def reading(path: Path) -> Iterator[sqlite3.Connection]:
    """For `logs` and `usage`: a damaged log is one clear error, not a traceback."""
    try:
        with connect(path) as db:
            yield db
    except sqlite3.DatabaseError as exc:
        raise GptToolsError(f"the run log {path} cannot be read ({exc}); move it aside to start a new one") from None


_TOKENS = ("input_tokens", "output_tokens", "cached_tokens")


def recent(filters: Filters, limit: int, *, path: Path | None = None, replies: bool = False) -> list[dict[str, object]]:
    """The last runs, newest first; tokens the server never reported are None. Texts are left out (`logs`
    is for seeing what ran and cost), except with replies: each row's reply (a refused one's too), if kept."""
    where, values = _where(filters)
    columns = (
        "time, frontend, assistant, model, backend, input_tokens, output_tokens, cached_tokens, duration,"
        " status, error, cost, cache_hit, requests, request_id, usage_known" + (", output_text" if replies else "")
    )
    target = path or paths.run_log()
    if not target.exists():
        return []
    with reading(target) as db:
        db.row_factory = sqlite3.Row
        rows = [
            dict(row)
            for row in db.execute(f"SELECT {columns} FROM runs{where} ORDER BY id DESC LIMIT ?", [*values, limit])
        ]
    for row in rows:
        if not row.pop("usage_known"):
            row.update(dict.fromkeys(_TOKENS))
    return rows


GROUPS = {"day": "substr(time, 1, 10)", "assistant": "assistant", "model": "model", "frontend": "frontend"}


@dataclass
class _Totals:
    runs: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    cache_hits: int = 0
    cost: float = 0.0
    unpriced_runs: int = 0  # runs of models the price table does not know: their cost is not in `cost`
    unknown_runs: int = 0  # runs whose tokens the server never reported: neither in the tokens nor in `cost`
    models: list[str] = field(default_factory=list)  # the models its runs used (whose prices `cost` took)


def usage(filters: Filters, by: str, prices: Prices, *, path: Path | None = None) -> list[dict[str, object]]:
    """Runs, tokens and estimated cost per day/assistant/model/frontend, priced with today's table."""
    where, values = _where(filters)
    # Group by model too, so each group's cost uses its own models' prices; fold the models in Python.
    query = (
        f"SELECT {GROUPS[by]} AS grp, model, frontend = 'batch' AS batched, COUNT(*), SUM(input_tokens),"
        f" SUM(cached_tokens), SUM(output_tokens), SUM(cache_hit), SUM(usage_known = 0) FROM runs{where}"
        " GROUP BY grp, model, batched ORDER BY grp"
    )
    target = path or paths.run_log()
    if not target.exists():
        return []
    totals: dict[str, _Totals] = {}
    with reading(target) as db:
        for group, model, batched, runs, tokens_in, cached, tokens_out, hits, unknown in db.execute(query, values):
            row = totals.setdefault(group, _Totals())
            row.runs += runs
            row.unknown_runs += unknown
            row.models += [] if model in row.models else [model]
            row.input_tokens += tokens_in
            row.cached_tokens += cached
            row.output_tokens += tokens_out
            row.cache_hits += hits
            estimate = cost(model, tokens_in, cached, tokens_out, prices)
            if estimate is None:
                row.unpriced_runs += runs
            else:
                row.cost += estimate * (BATCH_DISCOUNT if batched else 1.0)
    return [{by: group, **asdict(row)} for group, row in totals.items()]
