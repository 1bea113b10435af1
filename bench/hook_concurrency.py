"""Concurrency benchmark for `gpt-tools-hook` (issue 4): 40 changed docs against a slow fake server.

The fake server (tests/fake_openai.py) waits 0.5 s before answering every model request, standing in
for the model's own time. Interleaved over N rounds, each with fresh copies of the docs and fresh
cache directories, the script times three runs of the real console script:

  (a) hook        `gpt-tools-hook --fix <40 files>`             default jobs (10 requests in flight)
  (b) sequential  `gpt-tools-hook --fix --jobs 1 <40 files>`    the same work, one request at a time
  (c) re-run      (a) again on the files it fixed, with (a)'s cache: must send no request at all

Every run is verified before its time counts: exit status (1 when files were fixed, 0 for the re-run),
the hook's summary line, the number of model requests the server saw (`GET /_fake/requests`, cleared
with `POST /_fake/reset` before each run), and the bytes of all 40 files (typos fixed in the prose,
code blocks and inline code untouched, (a) and (b) identical).

    python bench/hook_concurrency.py [--rounds N] [--latency S] [--jobs N] [--hook PATH]

Byte-code: as in filter_startup.py, children run with PYTHONDONTWRITEBYTECODE unset and a temporary
PYTHONPYCACHEPREFIX; one untimed warm-up run compiles everything first. Standard library only.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import shutil
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import (
    BenchError,
    child_env,
    fake_server,
    recorded_requests,
    request_path,
    reset_server,
    run_in_tempdir,
    timed_child,
    verdict,
)

DEFAULT_HOOK = "/work/venv/bin/gpt-tools-hook"
DEFAULT_ROUNDS = 3
DEFAULT_LATENCY = 0.5  # seconds the fake server waits before every model reply
DEFAULT_JOBS = 10  # the hook's default (`jobs` in gpt_tools/definitions.py); only used for the floor
N_DOCS = 40
RUN_TIMEOUT = 300.0  # seconds for one hook run; the sequential one takes about 40 x latency

# Targets from issue 4.
MAX_HOOK = 2.5  # seconds, 40 docs with the default jobs
SEQUENTIAL_REFERENCE = 20.0  # seconds, 40 x 0.5 s: what "the same work done sequentially" should cost
MAX_RERUN = 1.0  # seconds, and no request at all

MODEL_PATHS = ("/v1/responses", "/v1/chat/completions")
# The hook's summary line (cli/hook.py _summary), e.g. "gpt-tools-hook: 40 files checked, 40 changed,
# 0 unchanged, 0 skipped, 0 failed; 40 requests sent" ("would change" with --check, "(n from cache)" after).
SUMMARY = re.compile(
    r"^gpt-tools-hook: (?P<checked>\d+) files? checked, (?P<changed>\d+) (?:changed|would change)\b[^;\n]*; "
    r"(?P<requests>\d+) requests? sent(?: \(\d+ from cache\))?$",
    re.M,
)


# --------------------------------------------------------------------------------------------- documents

# The fake's default responder fixes lower-case "teh", "recieve" and "seperate" as whole words, nothing else
# (tests/fake_openai_wire.py:fix_typos). The templates mark where a typo goes; the document gets the
# typo, the expected result the right word. Typos inside code blocks and inline code are written
# literally: the hook masks those regions (as it does link targets), so they must come back untouched.
WORDS = {"%teh%": ("teh", "the"), "%recieve%": ("recieve", "receive")}

TOPICS = [
    ("Release checklist", "release"),
    ("Onboarding new contributors", "onboarding"),
    ("Database migrations", "migrations"),
    ("Logging conventions", "logging"),
    ("Configuring the cache", "cache"),
    ("Writing integration tests", "integration-tests"),
    ("Incident response", "incidents"),
    ("API versioning policy", "api-versioning"),
    ("Deploying to staging", "staging"),
    ("Feature flags", "feature-flags"),
    ("Dependency updates", "dependencies"),
    ("Code review guidelines", "code-review"),
    ("Error handling", "errors"),
    ("Metrics and dashboards", "metrics"),
    ("Local development setup", "local-setup"),
    ("Security reporting", "security"),
    ("Translating the interface", "translations"),
    ("Accessibility checks", "accessibility"),
    ("Backup and restore", "backups"),
    ("Performance budgets", "performance"),
    ("Command-line options", "cli-options"),
    ("Plugin architecture", "plugins"),
    ("Data retention", "retention"),
    ("Rate limiting", "rate-limits"),
    ("Authentication flows", "authentication"),
    ("Search indexing", "search"),
    ("Email notifications", "notifications"),
    ("Scheduled jobs", "scheduled-jobs"),
    ("Continuous integration", "ci"),
    ("Documentation style", "doc-style"),
    ("Packaging for Linux", "linux-packages"),
    ("Upgrading Python", "python-upgrade"),
    ("Profiling slow requests", "profiling"),
    ("Webhooks", "webhooks"),
    ("Exporting reports", "reports"),
    ("Storage quotas", "quotas"),
    ("Offline mode", "offline"),
    ("Telemetry opt-out", "telemetry"),
    ("Deprecation process", "deprecations"),
    ("Support rotation", "support"),
]

INTRO = (
    "This page explains %topic-lower% for everyone who works on %teh% project, from first-time "
    "contributors to maintainers. It describes what we do today, not what we would like to do one day; "
    "when the two differ, the [roadmap](https://example.org/roadmap/%slug%) says so. Questions that are "
    "not answered here belong in the [discussion forum](https://forum.example.org/c/%slug%).\n"
)

SECTIONS = [
    (
        "## Why this matters",
        "Small inconsistencies add up. When every team handles %topic-lower% in its own way, %teh% "
        "people who have to debug a problem at night spend their time reading code instead of fixing it. "
        "A shared convention, written down once, is cheaper than a hundred explanations in review "
        "comments.\n\nIf you %recieve% a question about this page that it does not answer, add the answer "
        "here rather than in a private message, so that the next person finds it too.\n",
    ),
    (
        "## Before you start",
        "Make sure your checkout is up to date and that the test suite passes on your machine. You will "
        "need:\n\n- Python 3.10 or newer and a virtual environment for %teh% project.\n- Access to the "
        "[staging dashboard](https://dashboard.example.org/staging) (ask in the team channel).\n"
        "- About twenty minutes, most of which is spent waiting for CI.\n",
    ),
    (
        "## How it works",
        "In %teh% short version, every change goes through the same three steps, and each step can be "
        "repeated safely. The longer version is in the [design notes](../design/%slug%.md), which also "
        "explain which alternatives we rejected and why.\n\nNothing in this process is automatic on "
        "purpose. A person decides when to move on, because the checks we run cannot see everything a "
        "reviewer sees.\n",
    ),
    (
        "## Common mistakes",
        "Most problems we see come from a handful of causes. Check these before you open an issue:\n\n"
        "1. The configuration file was edited but the service was not restarted.\n"
        "2. Two people changed %teh% same setting in different branches.\n"
        "3. A test passed locally only because of data left over from an earlier run.\n\n"
        "When you do open an issue, include the full output of the failing command and the version you "
        "ran; we cannot reproduce a problem from a screenshot.\n",
    ),
    (
        "## Troubleshooting",
        "| Symptom | Likely cause | What to do |\n|---|---|---|\n"
        "| Nothing happens | The job is queued | Wait, or check the queue |\n"
        "| Permission denied | Missing role | Ask an administrator |\n"
        "| Timeout after 30 s | The service is overloaded | Retry later |\n\n"
        "If you %recieve% an error that is not in this table, search %teh% issue tracker first; someone "
        "has probably seen it before.\n",
    ),
    (
        "## Reviewing changes",
        "Reviewers look at behaviour first and style last. A change that touches %topic-lower% needs one "
        "approval from a maintainer of the affected component; see `CODEOWNERS` for who that is. Keep "
        "pull requests small: a reviewer who has to read two thousand lines will miss %teh% one that "
        "matters.\n",
    ),
    (
        "## Rolling back",
        "Every step above can be undone. Roll back first and investigate afterwards: a quick rollback "
        "costs minutes, a slow investigation on a broken system costs hours. The "
        "[rollback runbook](https://runbooks.example.org/%slug%/rollback) lists %teh% exact commands.\n",
    ),
    (
        "## Further reading",
        "- [The original proposal](https://example.org/rfcs/%slug%)\n"
        "- [Frequently asked questions](faq.md#%slug%)\n"
        "- <https://docs.example.org/%slug%/reference>\n\n"
        "You will %recieve% an invitation to %teh% quarterly review once you have contributed a change in "
        "this area.\n",
    ),
]

CODE_BLOCKS = [
    "```bash\n# teh old flags still work; see the changelog\n./scripts/%slug%.sh --dry-run\n"
    "./scripts/%slug%.sh --apply --verbose\n```\n",
    "```python\nfrom example import %ident%\n\n\ndef recieve(message: str) -> None:\n"
    '    """Kept under its misspelt name for compatibility (teh public API)."""\n'
    "    %ident%.handle(message)\n```\n",
    "```toml\n[%ident%]\nenabled = true\n# teh default is 30 seconds\ntimeout = 30\n```\n",
    "```yaml\n%ident%:\n  enabled: true\n  retries: 3  # teh server gives up after that\n```\n",
]


def make_documents(count: int) -> list[tuple[str, str, str]]:
    """(file name, document with typos, the document the fake server's fixes must produce)."""
    if count > len(TOPICS):
        raise BenchError(f"at most {len(TOPICS)} distinct documents")
    rng = random.Random(4)  # fixed: every run of the benchmark sends the same documents
    docs = []
    for index, (title, slug) in enumerate(TOPICS[:count]):
        sections = rng.sample(SECTIONS, rng.randint(5, 6))
        code = CODE_BLOCKS[index % len(CODE_BLOCKS)]
        parts = [f"# {title}\n", INTRO]
        for position, (heading, body) in enumerate(sections):
            parts.append(f"{heading}\n\n{body}")
            if position == 1:
                parts.append(f"Try it on a scratch copy first; `%slug%-teh-check` is a safe no-op:\n\n{code}")
        template = "\n".join(parts)
        template = template.replace("%topic-lower%", title[0].lower() + title[1:])
        template = template.replace("%slug%", slug).replace("%ident%", slug.replace("-", "_"))
        typos = sum(template.count(marker) for marker in WORDS)
        doc, fixed = template, template
        for marker, (typo, right) in WORDS.items():
            doc, fixed = doc.replace(marker, typo), fixed.replace(marker, right)
        size = len(doc.encode("utf-8"))
        if re.search(r"%[a-z-]+%", doc, re.I) or not 2000 <= size <= 4096 or typos < 3:
            raise BenchError(f"document {index} is not a ~2-4 KB document with typos ({size} bytes)")
        docs.append((f"{index + 1:02d}-{slug}.md", doc, fixed))
    if len({doc for _, doc, _ in docs}) != count:
        raise BenchError("documents must be distinct, or the cache would answer some of them")
    return docs


# --------------------------------------------------------------------------------------------- server


def model_requests(base_url: str) -> int:
    """Model requests seen since the last reset; anything else reaching the server is an error."""
    paths = [(str(r.get("method")), request_path(r)) for r in recorded_requests(base_url)]
    unexpected = [p for p in paths if p[0] != "POST" or p[1] not in MODEL_PATHS]
    if unexpected:
        raise BenchError(f"unexpected requests at the fake server: {unexpected[:5]}")
    return len(paths)


# --------------------------------------------------------------------------------------------- runs


@dataclass
class Run:
    label: str
    times: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Expect:
    status: int
    changed: int
    requests: int


def write_docs(folder: Path, docs: list[tuple[str, str, str]]) -> list[str]:
    folder.mkdir(parents=True)
    for name, doc, _ in docs:
        (folder / name).write_text(doc, encoding="utf-8")
    return [name for name, _, _ in docs]


def run_hook(
    argv: list[str], files: list[str], cwd: Path, cache: Path, env: dict[str, str], base_url: str, expect: Expect
) -> tuple[float, int]:
    """Run the hook once in cwd on files (relative names, as pre-commit passes them); check it; return
    (wall time, model requests the server saw)."""
    reset_server(base_url)
    run_env = {**env, "XDG_CACHE_HOME": str(cache)}
    elapsed, done = timed_child([*argv, *files], cwd=cwd, env=run_env, timeout=RUN_TIMEOUT)
    requests = model_requests(base_url)
    output = f"stdout: {done.stdout.strip()[-1500:]}\nstderr: {done.stderr.strip()[-1500:]}"
    summary = SUMMARY.search(done.stdout)
    if done.returncode != expect.status:
        raise BenchError(f"`{' '.join(argv)}` exited {done.returncode}, expected {expect.status}\n{output}")
    if summary is None:
        raise BenchError(f"`{' '.join(argv)}` printed no summary line\n{output}")
    got = tuple(int(summary[name]) for name in ("changed", "checked", "requests"))
    if got != (expect.changed, len(files), expect.requests):
        raise BenchError(f"`{' '.join(argv)}`: summary {summary.group(0)!r}, expected {expect}")
    if requests != expect.requests:
        raise BenchError(f"`{' '.join(argv)}`: the server saw {requests} model requests, expected {expect.requests}")
    return elapsed, requests


def check_files(folder: Path, docs: list[tuple[str, str, str]], label: str) -> dict[str, bytes]:
    contents = {name: (folder / name).read_bytes() for name, _, _ in docs}
    wrong = [name for name, _, fixed in docs if contents[name] != fixed.encode("utf-8")]
    if wrong:
        raise BenchError(f"{label}: {len(wrong)} files not fixed as expected, e.g. {wrong[0]}")
    return contents


# --------------------------------------------------------------------------------------------- report


def report(runs: dict[str, Run], args: argparse.Namespace) -> tuple[str, bool]:
    hook, sequential, rerun = runs["hook"], runs["sequential"], runs["rerun"]
    jobs = args.jobs or DEFAULT_JOBS
    floor = math.ceil(N_DOCS / jobs) * args.latency
    lines = [
        "| run | command | median (s) | min (s) | model requests |",
        "|---|---|---:|---:|---:|",
    ]
    for run, command in (
        (hook, f"gpt-tools-hook --fix{f' --jobs {args.jobs}' if args.jobs else ''} <{N_DOCS} files>"),
        (sequential, f"gpt-tools-hook --fix --jobs 1 <{N_DOCS} files>"),
        (rerun, "(a) again on its fixed files, same cache"),
    ):
        counts = sorted(set(run.requests))
        lines.append(
            f"| {run.label} | `{command}` | {statistics.median(run.times):.2f} | {min(run.times):.2f} "
            f"| {', '.join(map(str, counts))} |"
        )
    hook_median = statistics.median(hook.times)
    seq_median = statistics.median(sequential.times)
    rerun_median = statistics.median(rerun.times)
    hook_ok = hook_median <= MAX_HOOK
    rerun_ok = rerun_median <= MAX_RERUN and set(rerun.requests) == {0}
    lines += [
        "",
        "| figure | value | target | result |",
        "|---|---:|---:|---|",
        f"| (a) hook, median | {hook_median:.2f} s | ≤ {MAX_HOOK:.1f} s | {verdict(hook_ok)} |",
        f"| (a) floor: ⌈{N_DOCS}/{jobs} jobs⌉ x {args.latency:g} s latency | {floor:.2f} s | | |",
        f"| (a) above the floor, median | {hook_median - floor:.2f} s | | |",
        f"| (b) sequential, median | {seq_median:.2f} s | ≈ {N_DOCS * args.latency:.0f} s (reference) | |",
        f"| (b) / (a), medians | {seq_median / hook_median:.1f}x | | |",
        f"| (c) re-run, median; requests | {rerun_median:.2f} s; {max(rerun.requests)} "
        f"| ≤ {MAX_RERUN:.1f} s; 0 | {verdict(rerun_ok)} |",
        "",
        f"{len(hook.times)} timed rounds after 1 warm-up run; fake server latency {args.latency:g} s per "
        f"request; {N_DOCS} distinct docs of {args.doc_sizes}; fresh copies and cache dirs every round.",
    ]
    return "\n".join(lines), hook_ok and rerun_ok


# --------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="gpt-tools-hook concurrency benchmark against a slow fake server.")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help=f"timed rounds (default {DEFAULT_ROUNDS})")
    parser.add_argument("--latency", type=float, default=DEFAULT_LATENCY, help="fake server seconds per request")
    parser.add_argument("--jobs", type=int, help="pass --jobs N to run (a) (default: none, the hook's default 10)")
    parser.add_argument("--hook", default=DEFAULT_HOOK, help=f"the console script (default {DEFAULT_HOOK})")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def bench(args: argparse.Namespace, tmp: Path) -> int:
    if not os.access(args.hook, os.X_OK):
        raise BenchError(f"not executable: {args.hook}")
    docs = make_documents(N_DOCS)
    sizes = [len(doc.encode("utf-8")) for _, doc, _ in docs]
    args.doc_sizes = f"{min(sizes):,}-{max(sizes):,} bytes"
    hook_argv = [args.hook, "--fix", *(["--jobs", str(args.jobs)] if args.jobs else [])]
    seq_argv = [args.hook, "--fix", "--jobs", "1"]
    fixing = Expect(status=1, changed=N_DOCS, requests=N_DOCS)
    clean = Expect(status=0, changed=0, requests=0)
    runs = {"hook": Run("(a) hook"), "sequential": Run("(b) sequential"), "rerun": Run("(c) re-run")}

    with fake_server("--latency", str(args.latency)) as base_url:
        env = child_env(base_url, tmp)  # XDG_CACHE_HOME is set per run (see run_hook)
        print(f"fake server: {base_url}; latency {args.latency:g} s; docs: {args.doc_sizes}", file=sys.stderr)

        warm = tmp / "warm-up"
        files = write_docs(warm / "docs", docs)
        run_hook(hook_argv, files, warm / "docs", warm / "cache", env, base_url, fixing)  # compiles byte-code
        shutil.rmtree(warm)

        for round_no in range(1, args.rounds + 1):
            root = tmp / f"round-{round_no}"
            hook_dir, seq_dir = root / "hook", root / "sequential"
            hook_files, seq_files = write_docs(hook_dir / "docs", docs), write_docs(seq_dir / "docs", docs)

            def do_hook(hook_dir: Path = hook_dir, hook_files: list[str] = hook_files) -> None:
                t, n = run_hook(hook_argv, hook_files, hook_dir / "docs", hook_dir / "cache", env, base_url, fixing)
                runs["hook"].times.append(t)
                runs["hook"].requests.append(n)
                after = check_files(hook_dir / "docs", docs, "(a) hook")
                t, n = run_hook(hook_argv, hook_files, hook_dir / "docs", hook_dir / "cache", env, base_url, clean)
                if check_files(hook_dir / "docs", docs, "(c) re-run") != after:
                    raise BenchError("(c) re-run changed files")
                runs["rerun"].times.append(t)
                runs["rerun"].requests.append(n)

            def do_sequential(seq_dir: Path = seq_dir, seq_files: list[str] = seq_files) -> None:
                t, n = run_hook(seq_argv, seq_files, seq_dir / "docs", seq_dir / "cache", env, base_url, fixing)
                runs["sequential"].times.append(t)
                runs["sequential"].requests.append(n)
                check_files(seq_dir / "docs", docs, "(b) sequential")

            # Alternate the order so that slow phases of a noisy machine do not always hit the same run.
            for step in (do_hook, do_sequential) if round_no % 2 else (do_sequential, do_hook):
                step()
            hook_bytes = {name: (hook_dir / "docs" / name).read_bytes() for name in hook_files}
            seq_bytes = {name: (seq_dir / "docs" / name).read_bytes() for name in seq_files}
            if hook_bytes != seq_bytes:
                raise BenchError("(a) and (b) fixed the files differently")
            shutil.rmtree(root)
            print(
                f"round {round_no}/{args.rounds}: hook {runs['hook'].times[-1]:.2f} s, "
                f"sequential {runs['sequential'].times[-1]:.2f} s, re-run {runs['rerun'].times[-1]:.2f} s",
                file=sys.stderr,
            )

    table, ok = report(runs, args)
    print(table)
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_tempdir("gpt-tools-hook-bench-", bench, args)


if __name__ == "__main__":
    sys.exit(main())
