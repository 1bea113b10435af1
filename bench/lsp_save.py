"""`gpt-tools lsp` (issue 12): how long from `textDocument/didSave` to `textDocument/publishDiagnostics`.

One real server process (tests/lsp_client.py drives it over stdio) against the paced fake server
(tests/fake_openai.py --ttfb --ms-per-token: a reply's first byte after ttfb, then ms per output token),
on bench/filter_startup.py's ~4 KB document with six typos, in interleaved rounds:

  (a) changed   a line with a new typo at the end (didChange), then didSave: a check the cache has not seen, one request
  (b) unchanged didSave again with nothing changed: the result cache answers, 0 requests

Every round is checked: (a) publishes the diagnostics for its new version and costs exactly one request,
(b) costs none (GET /_fake/requests), each counted once the check behind it is in the run log. Two
times per save: until the diagnostics are published (for (b), the server's own overhead on a re-save,
target < 20 ms: it shows what it found for that text at once), and until the check behind them is
logged (for (b), the confirming check the result cache answers). The debounce is 0 so that it does
not count.

    .venv/bin/python bench/lsp_save.py [--rounds 5] [--ttfb 0.3] [--tokens-per-s 80]

Exits 0 when the target is met, 1 when not, 2 when the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from filter_startup import DOCUMENT

sys.path.insert(0, str(benchlib.REPO))
from tests.lsp_client import LspClient

TARGET_MS = 20.0


def _environment(tmp: Path, url: str) -> None:
    """The server's environment (inherited): the fake server, a key, a private HOME and state."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "GPT_TOOLS_")):
            del os.environ[name]
    for sub in ("config", "state", "data", "cache"):
        (tmp / sub).mkdir()
    os.environ.update(
        HOME=str(tmp),
        XDG_CONFIG_HOME=str(tmp / "config"),
        XDG_STATE_HOME=str(tmp / "state"),
        XDG_DATA_HOME=str(tmp / "data"),
        XDG_CACHE_HOME=str(tmp / "cache"),
        GPT_TOOLS_RUN_LOG=str(tmp / "runs.sqlite3"),
        OPENAI_BASE_URL=url,
        OPENAI_API_KEY=benchlib.API_KEY,
    )


def _runs(tmp: Path) -> int:
    """The rows of the server's run log (GPT_TOOLS_RUN_LOG): one per check, from the cache or not."""
    path = tmp / "runs.sqlite3"
    if not path.exists():
        return 0
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])


def _timed_save(client: LspClient, uri: str, version: int, tmp: Path) -> tuple[float, float]:
    """(seconds to the diagnostics, seconds until the check behind them is logged)."""
    mark, logged = client.mark(), _runs(tmp)
    started = time.perf_counter()
    client.save(uri)
    client.wait_for(
        lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"].get("version") == version,
        timeout=60,
        after=mark,
    )
    shown = time.perf_counter() - started
    deadline = started + 60
    while _runs(tmp) == logged:
        if time.perf_counter() > deadline:
            raise benchlib.BenchError("the check behind a save never reached the run log")
        time.sleep(0.001)
    return shown, time.perf_counter() - started


def _requests(url: str) -> int:
    return sum(1 for r in benchlib.recorded_requests(url) if benchlib.request_path(r).startswith("/v1/"))


def bench(args: argparse.Namespace, tmp: Path) -> int:
    pace = ["--ttfb", str(args.ttfb), "--ms-per-token", str(1000 / args.tokens_per_s)]
    with benchlib.fake_server(*pace) as url:
        _environment(tmp, url)
        work = tmp / "work"
        work.mkdir()
        path = work / "doc.md"
        path.write_text(DOCUMENT, encoding="utf-8")
        client = LspClient(cwd=work)
        try:
            client.initialize(root=work, options={"debounceMs": 0})
            uri = client.open(path, DOCUMENT)
            client.diagnostics(uri, timeout=60)  # the first check (on open) is not timed
            changed: list[tuple[float, float]] = []
            unchanged: list[tuple[float, float]] = []
            for round_ in range(args.rounds):  # the same size every round: one new typo in place of the last
                text = DOCUMENT + f"\nOne more teh line, number {round_}.\n"
                version = round_ + 2
                client.change(uri, text, version)
                before = _requests(url)
                changed.append(_timed_save(client, uri, version, tmp))
                if _requests(url) != before + 1:
                    raise benchlib.BenchError("a changed document did not cost exactly one request")
                unchanged.append(_timed_save(client, uri, version, tmp))
                if _requests(url) != before + 1:
                    raise benchlib.BenchError("an unchanged re-save sent a request")
            status = client.close()
        finally:
            client.kill()
    if status != 0:
        raise benchlib.BenchError(f"the server's exit status after shutdown + exit was {status}")
    return _report(changed, unchanged, args)


def _report(changed: list[tuple[float, float]], unchanged: list[tuple[float, float]], args: argparse.Namespace) -> int:
    overhead = statistics.median(shown for shown, _ in unchanged) * 1000
    pace = f"ttfb {args.ttfb} s, {args.tokens_per_s:g} tokens/s"
    print(f"gpt-tools lsp didSave -> publishDiagnostics, {args.rounds} rounds, {pace}")
    print("| save | requests | diagnostics shown, median (ms) | check logged, median (ms) | shown, each run (ms) |")
    print("|---|---:|---:|---:|---|")
    for name, runs, requests in (("changed document", changed, 1), ("unchanged re-save", unchanged, 0)):
        shown = ", ".join(f"{run * 1000:.0f}" for run, _ in runs)
        median_shown = statistics.median(run for run, _ in runs) * 1000
        median_logged = statistics.median(done for _, done in runs) * 1000
        print(f"| {name} | {requests} | {median_shown:.1f} | {median_logged:.1f} | {shown} |")
    verdict = "PASS" if overhead < TARGET_MS else "FAIL"
    print(
        f"unchanged re-save: {overhead:.1f} ms median to the diagnostics, "
        f"target < {TARGET_MS:.0f} ms, 0 requests: {verdict}"
    )
    return 0 if overhead < TARGET_MS else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ttfb", type=float, default=0.3)
    parser.add_argument("--tokens-per-s", type=float, default=80.0)
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return bench(args, Path(tmp))
    except benchlib.BenchError as exc:
        print(f"lsp_save: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
