"""Knowledge sync benchmark (issue 3): a repeated `gpt-tools files sync` must upload nothing and be fast.

The fake server (tests/fake_openai.py, started as a subprocess) holds files and vector stores. A fresh
project gets 20 knowledge files of a few KB each for a file_search assistant. Then the script times the
real console script:

  cold    `gpt-tools files sync` once on the fresh project: must upload all 20 files, create one
          vector store and index them (one file batch)
  warm    the same command N more times with nothing changed: must upload nothing and make no HTTP
          request at all (the state file says everything is in place)
  ref     `gpt-tools --version`, interleaved with the warm runs: the same console script's start-up,
          i.e. the floor a warm sync cannot go below

Every run is checked before its time counts: exit status 0, the summary line on stderr, and the fake
server's counters (`GET /_fake/state` for uploads and vector stores, `GET /_fake/requests` for every
request it saw). Targets: 0 uploads and 0 requests per warm run, warm median <= 0.5 s.

    python bench/knowledge_sync.py [--runs 11] [--files 20] [--gpt-tools PATH]

Exit status: 0 targets met, 1 a target missed, 2 the benchmark itself could not run correctly.
Byte-code: as in filter_startup.py, children run with PYTHONDONTWRITEBYTECODE unset and a temporary
PYTHONPYCACHEPREFIX; one untimed full sync compiles everything first (its state file is then deleted and
the server reset, so the timed cold sync really starts from nothing). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchlib import BenchError, child_env, control, fake_server, reset_server, stats, timed_child, verdict

DEFAULT_GPT_TOOLS = "/work/venv/bin/gpt-tools"
DEFAULT_RUNS = 11
DEFAULT_FILES = 20
ASSISTANT = "Kb"
STATE_FILE = ".gpt-tools-state.json"
RUN_TIMEOUT = 120.0

MAX_WARM_MEDIAN = 0.5  # seconds (issue 3)


# --------------------------------------------------------------------------------------------- project

TOPICS = (
    "release process", "coding style", "error messages", "configuration keys", "glossary", "API versioning",
    "logging", "security reporting", "database migrations", "caching", "feature flags", "deployment",
    "testing strategy", "accessibility", "translations", "performance budgets", "backups", "incident response",
    "dependency updates", "documentation style", "rate limits", "telemetry", "support rotation", "onboarding",
)  # fmt: skip


def knowledge_file(index: int) -> str:
    """A distinct Markdown reference page of about 3 KB."""
    topic = TOPICS[index % len(TOPICS)]
    lines = [f"# {topic.capitalize()} (page {index + 1})", ""]
    for section in range(8):
        lines += [f"## Part {section + 1}", ""]
        lines.append(
            f"Rule {index}.{section}: everything about {topic} that a contributor needs to know before "
            f"changing it. Keep changes small, explain why in the commit message, and link the ticket. "
            f"Ask in the team channel when a rule here and the code disagree; the code wins until the page "
            f"is fixed (page {index + 1}, part {section + 1})."
        )
        lines.append("")
    return "\n".join(lines)


def make_project(root: Path, count: int) -> list[str]:
    """gpt-tools.toml with one file_search assistant over `count` knowledge files; returns their paths."""
    names = []
    (root / "kb").mkdir(parents=True)
    for index in range(count):
        name = f"kb/{index + 1:02d}-{TOPICS[index % len(TOPICS)].replace(' ', '-')}.md"
        text = knowledge_file(index)
        if not 2000 <= len(text.encode()) <= 5000:
            raise BenchError(f"knowledge file {name} is not a few KB ({len(text.encode())} bytes)")
        (root / name).write_text(text, encoding="utf-8")
        names.append(name)
    config = (
        "# benchmark project (bench/knowledge_sync.py)\n\n"
        f"[assistants.{ASSISTANT}]\n"
        'instructions = "Answer questions from the knowledge files."\n'
        'tools = ["file_search"]\n'
        f"files = {json.dumps(names)}\n"
    )
    (root / "gpt-tools.toml").write_text(config, encoding="utf-8")
    return names


# --------------------------------------------------------------------------------------------- server


@dataclass(frozen=True)
class Counters:
    uploads: int
    requests: int
    files: int
    vector_stores: dict[str, list[str]]


def counters(base_url: str) -> Counters:
    state = control(base_url, "GET", "/_fake/state")
    recorded = control(base_url, "GET", "/_fake/requests")
    if not isinstance(state, dict) or not isinstance(recorded, list):
        raise BenchError("the fake server's /_fake/state or /_fake/requests answered something odd")
    return Counters(int(state["uploads"]), len(recorded), len(state["files"]), dict(state["vector_stores"]))


# --------------------------------------------------------------------------------------------- runs


def timed(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    elapsed, done = timed_child(argv, cwd=cwd, env=env, timeout=RUN_TIMEOUT)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return elapsed, done


def expect_summary(stderr: str, files: int, uploaded: int, attached: int) -> None:
    wanted = f"{ASSISTANT}: {files} files, {uploaded} uploaded, {attached} attached, 0 detached ("
    if wanted not in stderr:
        raise BenchError(f"expected {wanted!r} on stderr, got {stderr.strip()!r}")


def check_state(project: Path, file_ids: set[str]) -> None:
    try:
        data = json.loads((project / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"the state file is missing or not JSON: {exc}") from None
    recorded = {record["id"] for record in data["files"].values()}
    if recorded != file_ids:
        raise BenchError(f"the state file names {len(recorded)} files, the server holds {len(file_ids)}")


@dataclass(frozen=True)
class Results:
    cold: float
    cold_uploads: int
    cold_requests: int
    warm: list[float]
    warm_uploads: list[int]
    warm_requests: list[int]
    version: list[float]


def measure(gpt_tools: str, runs: int, count: int) -> Results:
    with tempfile.TemporaryDirectory(prefix="bench-knowledge-") as temp, fake_server() as url:
        tmp = Path(temp)
        project = tmp / "project"
        make_project(project, count)
        env = child_env(url, tmp)
        # Untimed warm-up: a full sync fills the byte-code cache; then forget it all, on both sides.
        timed([gpt_tools, "files", "sync"], project, env)
        for name in (STATE_FILE, STATE_FILE + ".lock"):
            (project / name).unlink(missing_ok=True)
        reset_server(url)

        cold, done = timed([gpt_tools, "files", "sync"], project, env)
        expect_summary(done.stderr, count, count, count)
        after = counters(url)
        stores = after.vector_stores
        if after.uploads != count or len(stores) != 1 or len(next(iter(stores.values()))) != count:
            raise BenchError(f"cold sync: {after.uploads} uploads, vector stores {stores}; expected {count} in one")
        file_ids = set(next(iter(stores.values())))
        check_state(project, file_ids)

        warm: list[float] = []
        warm_uploads: list[int] = []
        warm_requests: list[int] = []
        version: list[float] = []
        for _ in range(runs):
            before = counters(url)
            elapsed, done = timed([gpt_tools, "files", "sync"], project, env)
            now = counters(url)
            expect_summary(done.stderr, count, 0, 0)
            if now.vector_stores != stores:
                raise BenchError("a warm sync changed the vector stores")
            warm.append(elapsed)
            warm_uploads.append(now.uploads - before.uploads)
            warm_requests.append(now.requests - before.requests)
            elapsed, done = timed([gpt_tools, "--version"], project, env)
            if "gpt-tools, version" not in done.stdout:
                raise BenchError(f"gpt-tools --version printed {done.stdout!r}")
            version.append(elapsed)
        check_state(project, file_ids)
        return Results(cold, after.uploads, after.requests, warm, warm_uploads, warm_requests, version)


def report(results: Results, runs: int, count: int) -> tuple[str, bool]:
    warm, ref = stats(results.warm), stats(results.version)
    uploads, requests = sum(results.warm_uploads), sum(results.warm_requests)
    rows = [
        "| run | n | median (s) | p10 (s) | p90 (s) | uploads | HTTP requests |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| cold `gpt-tools files sync` ({count} new files) | 1 | {results.cold:.3f} | | | "
        f"{results.cold_uploads} | {results.cold_requests} |",
        f"| warm `gpt-tools files sync` (nothing changed) | {runs} | {warm.median:.3f} | {warm.p10:.3f} | "
        f"{warm.p90:.3f} | {uploads} in total | {requests} in total |",
        f"| reference `gpt-tools --version` | {runs} | {ref.median:.3f} | {ref.p10:.3f} | {ref.p90:.3f} | | |",
    ]
    ok_uploads, ok_requests, ok_time = uploads == 0, requests == 0, warm.median <= MAX_WARM_MEDIAN
    targets = [
        "",
        "| figure | value | target | result |",
        "|---|---:|---:|---|",
        f"| uploads per warm sync | {max(results.warm_uploads)} (max) | 0 | {verdict(ok_uploads)} |",
        f"| HTTP requests per warm sync | {max(results.warm_requests)} (max) | 0 | {verdict(ok_requests)} |",
        f"| warm sync median | {warm.median:.3f} s | <= {MAX_WARM_MEDIAN} s | {verdict(ok_time)} |",
        f"| warm sync p90 | {warm.p90:.3f} s | | |",
        f"| warm median over `--version` median | {warm.median - ref.median:+.3f} s | | |",
    ]
    return "\n".join(rows + targets), ok_uploads and ok_requests and ok_time


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"warm syncs timed (default {DEFAULT_RUNS})")
    parser.add_argument("--files", type=int, default=DEFAULT_FILES, help=f"knowledge files (default {DEFAULT_FILES})")
    parser.add_argument(
        "--gpt-tools", default=DEFAULT_GPT_TOOLS, help=f"the console script (default {DEFAULT_GPT_TOOLS})"
    )
    args = parser.parse_args(argv)
    if args.runs < 2 or args.files < 1:
        parser.error("--runs must be at least 2 and --files at least 1")
    try:
        results = measure(args.gpt_tools, args.runs, args.files)
    except (BenchError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"knowledge_sync: benchmark failed: {exc}", file=sys.stderr)
        return 2
    table, ok = report(results, args.runs, args.files)
    print(f"gpt-tools files sync, {args.files} knowledge files, {args.runs} warm runs")
    print(f"({platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs)\n")
    print(table)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
