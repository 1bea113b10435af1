"""Load benchmark for `gpt-tools-hook` (issue 9): 40 docs against a server that takes only N requests at once.

The fake server (tests/fake_openai.py --max-in-flight N) answers model requests beyond N in flight with
429 + Retry-After, like a proxy's or a local server's concurrency cap, and waits `--latency` seconds
before every answer it accepts. Interleaved over rounds, with fresh copies and caches every time:

  (a) adaptive   `gpt-tools-hook --fix <40 files>`            the default jobs (10), over the server's N
  (b) reference  `gpt-tools-hook --fix --jobs N <40 files>`   exactly the server's limit, never refused

Every run must fix all 40 files (exit 1, every file byte-identical to the expected fix). The target:
(a) finishes every file with no failure, in at most 1.5x the time of (b), by adapting its concurrency
(bench/RESULTS.md). The server's peak concurrency and its 429 count come from GET /_fake/stats.

    python bench/hook_load.py [--rounds N] [--limit N] [--latency S] [--retry-after S] [--hook PATH]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import BenchError, child_env, control, fake_server, reset_server, run_in_tempdir, timed_child, verdict
from hook_concurrency import DEFAULT_HOOK, N_DOCS, RUN_TIMEOUT, check_files, make_documents, write_docs

MAX_RATIO = 1.5  # (a) / (b), medians: the target


@dataclass
class Series:
    label: str
    command: str
    times: list[float] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)


def one_run(
    argv: list[str], folder: Path, docs: list[tuple[str, str, str]], env: dict[str, str], url: str
) -> tuple[float, int, int]:
    """Run the hook once on fresh copies; check every file was fixed; (seconds, 429s, peak in flight)."""
    files = write_docs(folder / "docs", docs)
    reset_server(url)
    elapsed, done = timed_child(
        [*argv, *files], cwd=folder / "docs", env={**env, "XDG_CACHE_HOME": str(folder / "cache")}, timeout=RUN_TIMEOUT
    )
    if done.returncode != 1:
        tail = f"stdout: {done.stdout.strip()[-1500:]}\nstderr: {done.stderr.strip()[-1500:]}"
        raise BenchError(f"`{' '.join(argv[1:])}` exited {done.returncode}, expected 1 (all fixed)\n{tail}")
    check_files(folder / "docs", docs, " ".join(argv[1:]))
    stats = control(url, "GET", "/_fake/stats")
    shutil.rmtree(folder)
    return elapsed, int(stats["refused_over_limit"]), int(stats["peak_in_flight"])


def report(runs: list[Series], args: argparse.Namespace) -> tuple[str, bool]:
    adaptive, reference = runs
    lines = [
        "| run | command | median (s) | min (s) | max (s) | 429s (median) | peak in flight |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run.label} | `{run.command}` | {statistics.median(run.times):.2f} | {min(run.times):.2f} "
            f"| {max(run.times):.2f} | {statistics.median(run.refused):g} | {max(run.peaks)} |"
        )
    ratio = statistics.median(adaptive.times) / statistics.median(reference.times)
    ok = ratio <= MAX_RATIO
    lines += [
        "",
        "| figure | value | target | result |",
        "|---|---:|---:|---|",
        f"| (a) / (b), medians | {ratio:.2f}x | ≤ {MAX_RATIO:.1f}x | {verdict(ok)} |",
        f"| files fixed in every run | {N_DOCS}/{N_DOCS} | all | PASS |",
        "",
        f"{len(adaptive.times)} timed rounds after 1 warm-up run, order alternating; server limit {args.limit} "
        f"in flight, latency {args.latency:g} s, Retry-After {args.retry_after:g} s on refusals; {N_DOCS} "
        "distinct 2-4 KB docs; fresh copies and caches every run.",
    ]
    return "\n".join(lines), ok


def bench(args: argparse.Namespace, tmp: Path) -> int:
    docs = make_documents(N_DOCS)
    runs = [
        Series("(a) adaptive", f"gpt-tools-hook --fix <{N_DOCS} files>"),
        Series("(b) reference", f"gpt-tools-hook --fix --jobs {args.limit} <{N_DOCS} files>"),
    ]
    argvs = [[args.hook, "--fix"], [args.hook, "--fix", "--jobs", str(args.limit)]]
    server_args = ("--latency", str(args.latency), "--max-in-flight", str(args.limit))
    with fake_server(*server_args, "--limit-retry-after", str(args.retry_after)) as url:
        env = child_env(url, tmp)
        one_run(argvs[0], tmp / "warm-up", docs, env, url)  # compiles byte-code
        for round_no in range(1, args.rounds + 1):
            order = (0, 1) if round_no % 2 else (1, 0)
            for index in order:
                elapsed, refused, peak = one_run(argvs[index], tmp / f"r{round_no}-{index}", docs, env, url)
                runs[index].times.append(elapsed)
                runs[index].refused.append(refused)
                runs[index].peaks.append(peak)
            print(
                f"round {round_no}/{args.rounds}: adaptive {runs[0].times[-1]:.2f} s ({runs[0].refused[-1]} 429s), "
                f"reference {runs[1].times[-1]:.2f} s",
                file=sys.stderr,
            )
    table, ok = report(runs, args)
    print(table)
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="gpt-tools-hook against a server with a concurrency limit.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=4, help="requests the fake server takes at once")
    parser.add_argument("--latency", type=float, default=0.5, help="fake server seconds per accepted request")
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After of the server's 429s")
    parser.add_argument("--hook", default=DEFAULT_HOOK)
    args = parser.parse_args(argv)
    return run_in_tempdir("gpt-tools-load-bench-", bench, args)


if __name__ == "__main__":
    sys.exit(main())
