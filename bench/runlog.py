"""Run-log benchmark (issue 6): what logging costs a run, and how fast `gpt-tools usage` reads a big log.

Part 1, write overhead (target: ≤ 5 ms per run)

  (a) `runlog.append()` of one realistic record into a fresh database in a temporary directory (same
      disk as the user's data dir here), timed one call at a time: the first call (creates the file,
      the schema and switches to WAL) on its own, then N more; median and p90. Each timed append is
      paired with a timed no-op call of the same signature, so the harness's own cost is visible and
      the median of the paired differences is the overhead proper.
  (b) For realism, `gpt_tools.run("MarkdownLinter", doc)` in-process against the zero-latency fake
      server (tests/fake_openai.py, a subprocess), with `run_log = true` and `run_log = false`,
      interleaved, N each after warm-up; the difference of the medians, and the median of the paired
      differences. Every run is checked (fixed text, one new row per logged run, none otherwise).

Part 2, reading (target: `gpt-tools usage` ≤ 0.5 s over 100,000 records)

  A database with 100,000 records over 90 days (7 assistants, 6 models, one of them unpriced, 5 front
  ends, cache hits, errors, long-tailed token counts) filled with one executemany. Then, interleaved
  over R rounds after one warm-up: the installed `gpt-tools usage --by {day,assistant,model,frontend}`
  as a subprocess (GPT_TOOLS_RUN_LOG pointing at the database), `gpt-tools logs` and `gpt-tools
  --version` (the console script's start-up floor); and `runlog.usage()` in-process for each --by. The
  JSON output is checked against sums computed while generating the records.

    python bench/runlog.py [--appends 200] [--runs 51] [--records 100000] [--rounds 7] [--gpt-tools PATH]

Exit status: 0 both targets pass, 1 a target fails, 2 the benchmark itself could not run correctly.
Standard library and the project only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchlib import BenchError, child_env, fake_server, stats, timed_child, verdict

from gpt_tools.state import runlog

DEFAULT_GPT_TOOLS = "/work/venv/bin/gpt-tools"
DEFAULT_APPENDS = 200
DEFAULT_RUNS = 51
DEFAULT_RECORDS = 100_000
DEFAULT_ROUNDS = 7
DAYS = 90
CHILD_TIMEOUT = 60.0

# Targets from issue 6.
MAX_APPEND = 0.005  # seconds of log writing per run
MAX_USAGE = 0.5  # seconds for `gpt-tools usage` over 100,000 records

DOC = "# Release notes\n\nThis release fixes teh login bug and adds a seperate settings page.\n"
FIXED = "# Release notes\n\nThis release fixes the login bug and adds a separate settings page.\n"

RECORD = runlog.Record(
    frontend="hook",
    assistant="MarkdownLinter",
    model="gpt-5-mini-2025-08-07",
    backend="openai",
    input_tokens=1834,
    output_tokens=912,
    cached_tokens=1024,
    duration=2.317,
    status="ok",
    requests=1,
)

ASSISTANTS = (
    ("MarkdownLinter", 35),
    ("ProofReader", 20),
    ("Summarizer", 15),
    ("DocWriter", 10),
    ("Simplifier", 8),
    ("ChangelogWriter", 7),
    ("HouseStyle", 5),
)
MODELS = (
    ("gpt-5-mini", 40),
    ("gpt-5-mini-2025-08-07", 20),
    ("gpt-5", 10),
    ("gpt-4.1-mini", 15),
    ("gpt-5-nano", 10),
    ("local-llama-3.1-8b", 5),  # not in the price table: counted as unpriced
)
FRONTENDS = (("hook", 40), ("filter", 20), ("nvim", 20), ("cli", 15), ("library", 5))
GROUPS = ("day", "assistant", "model", "frontend")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def pick(rng: random.Random, table: Sequence[tuple[str, int]]) -> str:
    return rng.choices([name for name, _ in table], weights=[weight for _, weight in table])[0]


# --------------------------------------------------------------------------------------------- part 1a


@dataclass(frozen=True)
class AppendFigures:
    first: float
    append: list[float]
    noop: list[float]
    rows: int
    size: int

    @property
    def diffs(self) -> list[float]:
        return [a - b for a, b in zip(self.append, self.noop, strict=True)]


def _noop(record: runlog.Record, *, prices: runlog.Prices, path: Path | None = None) -> bool:
    return True


def bench_append(tmp: Path, n: int) -> AppendFigures:
    path = tmp / "append" / "runs.sqlite3"
    prices = dict(runlog.PRICES)
    started = time.perf_counter()
    if not runlog.append(RECORD, prices=prices, path=path):
        raise BenchError("the first append failed (see the log file)")
    first = time.perf_counter() - started
    calls: tuple[Callable[..., bool], Callable[..., bool]] = (runlog.append, _noop)
    timings: dict[str, list[float]] = {"append": [], "noop": []}
    for i in range(n):
        order = calls if i % 2 == 0 else calls[::-1]  # alternate which goes first
        for call in order:
            started = time.perf_counter()
            ok = call(RECORD, prices=prices, path=path)
            elapsed = time.perf_counter() - started
            if not ok:
                raise BenchError("an append failed (see the log file)")
            timings["append" if call is runlog.append else "noop"].append(elapsed)
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    if rows != n + 1 or mode != "wal":
        raise BenchError(f"expected {n + 1} rows in WAL mode, found {rows} ({mode})")
    return AppendFigures(first, timings["append"], timings["noop"], rows, path.stat().st_size)


# --------------------------------------------------------------------------------------------- part 1b


@dataclass(frozen=True)
class RunFigures:
    logged: list[float]
    unlogged: list[float]

    @property
    def diffs(self) -> list[float]:
        return [a - b for a, b in zip(self.logged, self.unlogged, strict=True)]


def _count(path: Path) -> int:
    if not path.exists():
        return 0
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def bench_run(tmp: Path, n: int, warmup: int = 3) -> RunFigures:
    import gpt_tools
    from gpt_tools.config.loader import load_config

    work = tmp / "run"
    work.mkdir()
    database = tmp / "run-log" / "runs.sqlite3"
    with fake_server() as url:
        env = child_env(url, tmp, GPT_TOOLS_RUN_LOG=str(database), XDG_DATA_HOME=str(tmp / "data"))
        for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "NO_PROXY"):
            os.environ[name] = env[name]
        os.environ["GPT_TOOLS_RUN_LOG"] = str(database)
        for name in [key for key in os.environ if key.startswith("GPT_TOOLS_") and key != "GPT_TOOLS_RUN_LOG"]:
            del os.environ[name]
        configs = {}
        for logged in (True, False):
            file = work / f"run_log_{str(logged).lower()}.toml"
            file.write_text(f"run_log = {str(logged).lower()}\nmax_retries = 0\n", encoding="utf-8")
            os.environ["GPT_TOOLS_CONFIG"] = str(file)
            configs[logged] = load_config(work)
            if configs[logged].settings.run_log is not logged:
                raise BenchError(f"{file} did not set run_log = {logged}")
        del os.environ["GPT_TOOLS_CONFIG"]
        times: dict[bool, list[float]] = {True: [], False: []}
        for i in range(warmup + n):
            order = (True, False) if i % 2 == 0 else (False, True)
            for logged in order:
                before = _count(database)
                started = time.perf_counter()
                result = gpt_tools.run("MarkdownLinter", DOC, config=configs[logged], cwd=work)
                elapsed = time.perf_counter() - started
                if result.text != FIXED:
                    raise BenchError(f"unexpected result {result.text!r}")
                if _count(database) != before + int(logged):
                    raise BenchError(f"run_log = {logged}: the log did not grow by {int(logged)} row")
                if i >= warmup:
                    times[logged].append(elapsed)
    return RunFigures(times[True], times[False])


# --------------------------------------------------------------------------------------------- part 2


@dataclass
class Expected:
    """Per group value: runs, input tokens, output tokens and cost, summed while generating."""

    sums: dict[str, dict[str, list[float]]]


def fill(path: Path, records: int, seed: int = 6) -> Expected:
    """A log of `records` realistic runs over DAYS days, oldest first (as appends would leave it)."""
    rng = random.Random(seed)
    end = datetime(2026, 11, 23, 23, 0, tzinfo=timezone.utc)
    start = end - timedelta(days=DAYS)
    span = int((end - start).total_seconds())
    offsets = sorted(rng.randrange(span) for _ in range(records))
    prices = dict(runlog.PRICES)
    sums: dict[str, dict[str, list[float]]] = {by: defaultdict(lambda: [0, 0, 0, 0.0]) for by in GROUPS}
    rows = []
    for offset in offsets:
        when = (start + timedelta(seconds=offset)).isoformat(timespec="seconds")
        frontend, assistant, model = pick(rng, FRONTENDS), pick(rng, ASSISTANTS), pick(rng, MODELS)
        roll = rng.random()
        status, error, requests, hit = "ok", None, 1, 0
        tokens_in = int(rng.lognormvariate(7.2, 0.9))  # median ~1,300 tokens, a long tail
        tokens_out = int(tokens_in * rng.uniform(0.3, 1.1))
        cached = int(tokens_in * rng.choice((0, 0, 0.5, 0.9)))
        if roll < 0.10:  # a hook or editor re-run answered from the cache
            tokens_in = tokens_out = cached = requests = 0
            hit = 1
        elif roll < 0.13:
            status, error, tokens_out, cached = "error", "ApiError: HTTP 500: the server had an error", 0, 0
        elif roll < 0.14:
            status, error, tokens_in, tokens_out, cached, requests = "error", "InputRefused: empty", 0, 0, 0, 0
        elif roll < 0.15:
            status, error, tokens_out = "cancelled", "Cancelled: cancelled", 0
        estimate = runlog.cost(model, tokens_in, cached, tokens_out, prices)
        duration = round(rng.uniform(0.4, 25.0), 3) if requests else round(rng.uniform(0.01, 0.05), 3)
        row = (when, frontend, assistant, model, "openai", tokens_in, tokens_out, cached, duration, status)
        rows.append((*row, error, estimate, hit, requests))
        for by, key in zip(GROUPS, (when[:10], assistant, model, frontend), strict=True):
            entry = sums[by][key]
            entry[0] += 1
            entry[1] += tokens_in
            entry[2] += tokens_out
            entry[3] += estimate or 0.0
    with runlog.connect(path) as db:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO runs (time, frontend, assistant, model, backend, input_tokens, output_tokens,"
            " cached_tokens, duration, status, error, cost, cache_hit, requests)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.execute("COMMIT")
    if _count(path) != records:
        raise BenchError(f"the filled log holds {_count(path)} rows, not {records}")
    return Expected({by: dict(group) for by, group in sums.items()})


def check_usage(rows: list[dict[str, object]], by: str, expected: Expected) -> None:
    """The per-group runs, tokens and cost of `usage --json` against the generator's own sums."""
    want = expected.sums[by]
    got = {str(row[by]): row for row in rows}
    if set(got) != set(want):
        raise BenchError(f"usage --by {by}: groups {sorted(got)[:5]}... differ from {sorted(want)[:5]}...")
    for key, (runs, tokens_in, tokens_out, cost) in want.items():
        row = got[key]
        if (row["runs"], row["input_tokens"], row["output_tokens"]) != (runs, tokens_in, tokens_out):
            raise BenchError(f"usage --by {by}: {key} sums differ: {row} vs {(runs, tokens_in, tokens_out)}")
        if not math.isclose(float(row["cost"]), cost, rel_tol=1e-9, abs_tol=1e-9):  # type: ignore[arg-type]
            raise BenchError(f"usage --by {by}: {key} cost {row['cost']} vs {cost}")


@dataclass(frozen=True)
class ReadFigures:
    size: int
    fill: float
    cli: dict[str, list[float]]  # "usage --by X", "logs", "--version"
    inproc: dict[str, list[float]]


def bench_read(tmp: Path, records: int, rounds: int, gpt_tools: str) -> ReadFigures:
    database = tmp / "big" / "runs.sqlite3"
    started = time.perf_counter()
    expected = fill(database, records)
    filled = time.perf_counter() - started
    env = child_env("http://127.0.0.1:9", tmp, GPT_TOOLS_RUN_LOG=str(database), XDG_DATA_HOME=str(tmp / "data"))
    cwd = tmp / "cwd"  # no gpt-tools.toml here or above: built-in prices only
    cwd.mkdir()

    def child(*args: str) -> tuple[float, str]:
        elapsed, done = timed_child([gpt_tools, *args], cwd=cwd, env=env, timeout=CHILD_TIMEOUT)
        if done.returncode != 0:
            raise BenchError(f"gpt-tools {' '.join(args)} exited {done.returncode}: {done.stderr[-500:]}")
        return elapsed, done.stdout

    for by in GROUPS:  # warm-up, and the check of what the timed commands print
        check_usage(json.loads(child("usage", "--by", by, "--json")[1]), by, expected)
        check_usage(runlog.usage(runlog.Filters(), by, runlog.PRICES, path=database), by, expected)
    total = sum(entry[3] for entry in expected.sums["day"].values())
    _, text = child("usage")
    if not text.splitlines()[-1].endswith(f"${total:.4f}") or len(text.splitlines()) != DAYS + 2:
        raise BenchError(f"`gpt-tools usage` printed an unexpected table ending {text[-200:]!r}")
    if len(child("logs")[1].splitlines()) != 20:
        raise BenchError("`gpt-tools logs` did not print 20 runs")
    child("--version")

    cli: dict[str, list[float]] = defaultdict(list)
    inproc: dict[str, list[float]] = defaultdict(list)
    commands = [[f"usage --by {by}", "usage", "--by", by] for by in GROUPS]
    commands += [["logs", "logs"], ["--version", "--version"]]
    for r in range(rounds):
        for label, *args in commands[r % len(commands) :] + commands[: r % len(commands)]:  # rotate the order
            cli[label].append(child(*args)[0])
        for by in GROUPS:
            started = time.perf_counter()
            runlog.usage(runlog.Filters(), by, runlog.PRICES, path=database)
            inproc[by].append(time.perf_counter() - started)
    size = sum(p.stat().st_size for p in database.parent.iterdir())
    return ReadFigures(size, filled, dict(cli), dict(inproc))


# --------------------------------------------------------------------------------------------- report


def report(args: argparse.Namespace, appended: AppendFigures, ran: RunFigures, read: ReadFigures) -> int:
    print(f"\n## Run log (issue 6): {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"CPython {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores\n")

    a, noop, diff = stats(appended.append), stats(appended.noop), stats(appended.diffs)
    print(f"### 1a. runlog.append(), {len(appended.append)} calls into a fresh database\n")
    print("| figure | median (ms) | p10 (ms) | p90 (ms) |")
    print("|---|---:|---:|---:|")
    print(f"| first append (creates the file, schema, WAL) | {ms(appended.first)} | | |")
    print(f"| `runlog.append()` | {ms(a.median)} | {ms(a.p10)} | {ms(a.p90)} |")
    print(f"| no-op call, same signature | {ms(noop.median)} | {ms(noop.p10)} | {ms(noop.p90)} |")
    print(f"| paired difference | {ms(diff.median)} | {ms(diff.p10)} | {ms(diff.p90)} |")
    print(f"\n{appended.rows} rows, {appended.size:,} bytes.\n")

    logged, unlogged, paired = stats(ran.logged), stats(ran.unlogged), stats(ran.diffs)
    print(f"### 1b. gpt_tools.run() against the fake server, interleaved, N={len(ran.logged)} each\n")
    print("| run | median (ms) | p10 (ms) | p90 (ms) |")
    print("|---|---:|---:|---:|")
    print(f"| `run_log = true` | {ms(logged.median)} | {ms(logged.p10)} | {ms(logged.p90)} |")
    print(f"| `run_log = false` | {ms(unlogged.median)} | {ms(unlogged.p10)} | {ms(unlogged.p90)} |")
    print(f"| paired difference | {ms(paired.median)} | {ms(paired.p10)} | {ms(paired.p90)} |")
    print(f"\nDifference of the medians: {ms(logged.median - unlogged.median)} ms.\n")

    print(f"### 2. {args.records:,} records over {DAYS} days, {read.size:,} bytes (filled in {read.fill:.2f} s)\n")
    print("| command | n | median (s) | p10 (s) | p90 (s) |")
    print("|---|---:|---:|---:|---:|")
    for label, values in read.cli.items():
        s = stats(values)
        print(f"| `gpt-tools {label}` | {len(values)} | {s.median:.3f} | {s.p10:.3f} | {s.p90:.3f} |")
    for by, values in read.inproc.items():
        s = stats(values)
        print(f"| `runlog.usage(by={by!r})` in-process | {len(values)} | {s.median:.3f} | {s.p10:.3f} | {s.p90:.3f} |")

    usage_median = max(statistics.median(read.cli[f"usage --by {by}"]) for by in GROUPS)
    default_median = statistics.median(read.cli["usage --by day"])
    append_ok = diff.median <= MAX_APPEND and a.median <= MAX_APPEND
    usage_ok = usage_median <= MAX_USAGE
    print("\n| figure | value | target | result |")
    print("|---|---:|---:|---|")
    print(f"| `runlog.append()` median | {ms(a.median)} ms | ≤ 5 ms | {verdict(a.median <= MAX_APPEND)} |")
    print(f"| `runlog.append()` p90 | {ms(a.p90)} ms | | |")
    print(f"| append minus no-op, median | {ms(diff.median)} ms | ≤ 5 ms | {verdict(diff.median <= MAX_APPEND)} |")
    print(f"| `run()` logged minus unlogged, paired median | {ms(paired.median)} ms | | |")
    day_ok = verdict(default_median <= MAX_USAGE)
    print(f"| `gpt-tools usage` (--by day) median | {default_median:.3f} s | ≤ 0.5 s | {day_ok} |")
    print(f"| `gpt-tools usage` slowest --by, median | {usage_median:.3f} s | ≤ 0.5 s | {verdict(usage_ok)} |")
    return 0 if append_ok and usage_ok else 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--appends", type=int, default=DEFAULT_APPENDS, help="timed appends (default %(default)s)")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="runs per arm (default %(default)s)")
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS, help="records (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="timed reads each (default %(default)s)")
    parser.add_argument("--gpt-tools", default=DEFAULT_GPT_TOOLS, help="the console script (default %(default)s)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="gpt-tools-runlog-bench-") as name:
            tmp = Path(name)
            os.environ["XDG_STATE_HOME"] = str(tmp / "state")  # append's notes go here, not to the user's log
            appended = bench_append(tmp, args.appends)
            ran = bench_run(tmp, args.runs)
            read = bench_read(tmp, args.records, args.rounds, args.gpt_tools)
            log = tmp / "state" / "gpt-tools" / "gpt-tools.log"
            if log.exists() and "run log not written" in log.read_text(encoding="utf-8"):
                raise BenchError(f"the run log dropped rows: {log.read_text(encoding='utf-8')[-500:]}")
            return report(args, appended, ran, read)
    except (BenchError, subprocess.TimeoutExpired, OSError, sqlite3.Error) as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
