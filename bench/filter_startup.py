"""Start-up benchmark for `gpt-filter` (issue 2): one filter call, end to end, against a local fake server.

Compares, interleaved round-robin so that noise on a shared machine hits all three equally:

  (a) `python -c pass`                          the interpreter's own start-up (the floor)
  (b) `gpt-filter MarkdownLinter < doc`         this project
  (c) `llm -m fake -s <instructions> < doc`     the public `llm` CLI, same server, same instructions
                                                (skipped, with its ratio, when `llm` is not installed)

The server is tests/fake_openai.py with zero latency, so what is measured is process start-up, imports,
config loading, one HTTP round trip on loopback and output, not a model. Standard library only.

    python bench/filter_startup.py [--runs N] [--llm PATH] [--gpt-filter PATH] [--python PATH] [--compare PATH]

--compare PATH times a second gpt-filter (e.g. a wrapper running an older commit's tree) in the same
rounds, so that a before/after comparison sees the same noise: the report adds its row and the median
of the paired differences.

Byte-code: the environment here sets PYTHONDONTWRITEBYTECODE=1, under which the project's own modules
(installed editable, never compiled) would be re-compiled on every call while the SDK's came pre-compiled
by pip. The children therefore run with PYTHONDONTWRITEBYTECODE unset and PYTHONPYCACHEPREFIX pointing
at a temporary directory: the warm-up round compiles everything once for all three commands, nothing is
written into the repository or the virtualenvs, and the timed rounds see the steady state a user sees.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import (
    API_KEY,
    REPO,
    BenchError,
    child_env,
    fake_server,
    recorded_requests,
    request_path,
    stats,
    verdict,
)

ASSISTANT = "MarkdownLinter"
ASSISTANT_FILE = REPO / "gpt_tools" / "assistants" / f"{ASSISTANT}.md"
LLM_MODEL_ID = "fake"
MODEL_NAME = "gpt-5-mini"

DEFAULT_RUNS = 21
DEFAULT_GPT_FILTER = "/work/venv/bin/gpt-filter"
DEFAULT_LLM = "/work/llmvenv/bin/llm"
RUN_TIMEOUT = 120.0  # seconds for one command; the fake answers at once, so this only catches hangs

# Targets from issue 2.
MAX_OVERHEAD = 0.25  # seconds gpt-filter may add over bare interpreter start-up (median)
MIN_RATIO = 4.0  # llm median / gpt-filter median

# The fake server's default responder fixes exactly these words (tests/fake_openai_wire.py:fix_typos).
# Kept here rather than imported so the check is independent of the code under test.
TYPOS = {"teh": "the", "recieve": "receive", "seperate": "separate"}

DOCUMENT = """\
# Release checklist

This page describes how we cut a release of teh command-line tools. It is written for maintainers
who have push access to the main repository and to the package index. If you only want to try a
pre-release build, skip to [Installing a pre-release](#installing-a-pre-release).

## Before you start

Make sure your working tree is clean and that you are on the `main` branch. Every release is made
from a tagged commit; we never release from a feature branch, and we never re-use a tag. If you
recieve an error from the tagging script, stop and ask in the maintainers' channel rather than
deleting the tag by hand.

You will need:

- Python 3.10 or newer, with `build` and `twine` installed.
- A token for the package index, stored in your keyring (not in a dotfile).
- Write access to the changelog and to the documentation site.
- About half an hour, most of which is spent waiting for CI.

## Preparing the changelog

Open `CHANGELOG.md` and move the entries under *Unreleased* into a new section named after the
version. Keep user-visible changes and internal changes in seperate lists, so that readers can skip
the parts that do not affect them. Each entry should say what changed from the user's point of view,
not which function was edited.

If a change breaks compatibility, say so in the first sentence of its entry and link to the issue
that discusses the migration path. Teh release notes are generated from this file, so anything you
leave out here will be missing from the announcement too.

## Building and checking the artefacts

Run the build from a fresh virtual environment so that nothing from your development setup leaks
into the wheel:

```bash
python -m venv /tmp/release-env
. /tmp/release-env/bin/activate
python -m pip install --upgrade build twine
python -m build
twine check dist/*
```

Inspect the wheel before uploading it. The file list should contain the package, its data files and
the licence, and nothing else: no test fixtures, no editor backups, no `.pyc` files.

```python
from zipfile import ZipFile

with ZipFile("dist/example-1.4.0-py3-none-any.whl") as wheel:
    for name in sorted(wheel.namelist()):
        print(name)
```

## Publishing

1. Push the tag and wait for the release workflow to finish.
2. Upload the artefacts with `twine upload dist/*`.
3. Publish the draft release on the hosting site and paste in the changelog section.
4. Announce the release on the mailing list and in the chat room.

If the upload fails half-way, do not delete the files that did arrive: the index will not accept a
file with the same name twice. Bump the version, tag again and start from teh top.

## Installing a pre-release

Pre-releases are published with a `rc` suffix. Install one with `pip install --pre example`, and
report problems on the issue tracker with the exact version you tried. We try to answer within a
few days, but please be patient around holidays.

> Tip: keep a seperate virtual environment for pre-releases, so that a broken build never ends up in
> a project you depend on.

## Troubleshooting

Most failed releases come from one of a handful of causes. Check these first before opening an
issue, and include the full output of the failing command when you do.

| Symptom | Likely cause | What to do |
|---|---|---|
| Upload rejected with 400 | The version already exists | Bump the version and tag again |
| CI never starts | The tag was pushed before the commit | Push the branch, then the tag |
| Wheel is missing data files | `package-data` is out of date | Add the pattern and rebuild |

If teh documentation build fails, it is usually a broken link in the changelog. Run the link checker
locally with `make linkcheck` and fix whatever it reports; do not disable the check to get the build
through.

## After the release

Move the version in `pyproject.toml` to the next development number, open a pull request for it,
and close the milestone. Then take a break; you have earned it.
"""


def fix_typos(text: str) -> str:
    pattern = re.compile(r"\b(" + "|".join(TYPOS) + r")\b")
    return pattern.sub(lambda m: TYPOS[m.group(1)], text)


def model_paths(requests: list[dict[str, Any]]) -> list[str]:
    return [request_path(r) for r in requests]


# --------------------------------------------------------------------------------------------- setup


def instructions_text() -> str:
    """The assistant's instructions: the file after its +++ TOML front matter (as gpt-tools reads it)."""
    text = ASSISTANT_FILE.read_text(encoding="utf-8")
    if not text.startswith("+++\n"):
        raise BenchError(f"{ASSISTANT_FILE} has no +++ front matter")
    end = text.find("\n+++\n", 4)
    if end < 0:
        raise BenchError(f"{ASSISTANT_FILE}: front matter is not closed")
    return text[end + len("\n+++\n") :].strip("\n")


def default_python(gpt_filter: str) -> str:
    """The interpreter gpt-filter runs on: its shebang, else the `python` next to it."""
    try:
        with open(gpt_filter, "rb") as handle:
            first = handle.readline().decode("utf-8", "replace").strip()
    except OSError:
        first = ""
    if first.startswith("#!") and " " not in first[2:].strip():
        return first[2:].strip()
    return str(Path(gpt_filter).parent / "python")


def configure_llm(llm: str, base_url: str, env: dict[str, str], tmp: Path) -> None:
    """extra-openai-models.yaml in LLM_USER_PATH, plus the key via `llm keys set` (llm 0.36 semantics:
    a model with api_base needs no key unless api_key_name names one in keys.json)."""
    user_dir = Path(env["LLM_USER_PATH"])
    user_dir.mkdir(parents=True, exist_ok=True)
    (user_dir / "extra-openai-models.yaml").write_text(
        f"- model_id: {LLM_MODEL_ID}\n"
        f"  model_name: {MODEL_NAME}\n"
        f"  api_base: {json.dumps(base_url)}\n"
        f"  api_key_name: {LLM_MODEL_ID}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [llm, "keys", "set", LLM_MODEL_ID, "--value", API_KEY],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"`llm keys set` failed ({done.returncode}): {done.stderr.strip()}")


def llm_output_ok(stdout: bytes, expected: str) -> bool:
    # llm prints the streamed reply and then one newline of its own.
    return stdout.decode("utf-8", "replace") in (expected, expected + "\n")


# --------------------------------------------------------------------------------------------- runs


@dataclass
class Command:
    label: str
    argv: list[str]
    check_output: str | None = None  # "filter" or "llm": how to check stdout
    role: str = ""  # "floor", "filter", "compare" or "llm"
    times: list[float] = field(default_factory=list)


def run_once(cmd: Command, doc_path: Path, env: dict[str, str], cwd: Path, expected: str) -> float:
    with doc_path.open("rb") as stdin:
        started = time.perf_counter()
        done = subprocess.run(
            cmd.argv, stdin=stdin, capture_output=True, env=env, cwd=cwd, timeout=RUN_TIMEOUT, check=False
        )
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(
            f"{cmd.label} exited {done.returncode}: {done.stderr.decode('utf-8', 'replace').strip()[-2000:]}"
        )
    if cmd.check_output == "filter" and done.stdout != expected.encode("utf-8"):
        raise BenchError(f"{cmd.label} did not print the fixed document (got {len(done.stdout)} bytes)")
    if cmd.check_output == "llm" and not llm_output_ok(done.stdout, expected):
        raise BenchError(f"{cmd.label} did not print the fixed document (got {len(done.stdout)} bytes)")
    return elapsed


def verify_llm(cmd: Command, base_url: str, doc_path: Path, env: dict[str, str], cwd: Path, expected: str) -> None:
    """Prove, once, that `llm -m fake` really talks to the fake server and gets the fixed document."""
    before = recorded_requests(base_url)
    run_once(cmd, doc_path, env, cwd, expected)
    after = recorded_requests(base_url)
    new = after[len(before) :]
    if len(new) != 1:
        raise BenchError(f"`llm -m {LLM_MODEL_ID}` made {len(new)} requests to the fake server, expected 1")
    body = new[0].get("body") or {}
    if body.get("model") != MODEL_NAME:
        raise BenchError(f"llm sent model {body.get('model')!r}, expected {MODEL_NAME!r}")
    auth = (new[0].get("headers") or {}).get("authorization", "")
    if auth != f"Bearer {API_KEY}":
        raise BenchError("llm did not send the key set with `llm keys set`")


# --------------------------------------------------------------------------------------------- report


def report(commands: list[Command], runs: int) -> tuple[str, bool]:
    by_role = {cmd.role: cmd for cmd in commands}
    python, gpt_filter = by_role["floor"], by_role["filter"]
    llm, compare = by_role.get("llm"), by_role.get("compare")
    lines = [
        "| command | median (s) | p10 (s) | p90 (s) |",
        "|---|---:|---:|---:|",
    ]
    for cmd in commands:
        s = stats(cmd.times)
        lines.append(f"| `{cmd.label}` | {s.median:.3f} | {s.p10:.3f} | {s.p90:.3f} |")
    paired = [f - p for f, p in zip(gpt_filter.times, python.times, strict=True)]
    overhead = statistics.median(paired)
    gf_median = statistics.median(gpt_filter.times)
    ratio = statistics.median(llm.times) / gf_median if llm is not None else None
    over_ok, ratio_ok = overhead <= MAX_OVERHEAD, ratio is None or ratio >= MIN_RATIO
    ratio_row = (
        f"| llm median / gpt-filter median | {ratio:.1f}x | ≥ {MIN_RATIO:.0f}x | {verdict(ratio_ok)} |"
        if ratio is not None
        else f"| llm median / gpt-filter median | n/a (llm not installed) | ≥ {MIN_RATIO:.0f}x | not run |"
    )
    lines += [
        "",
        "| figure | value | target | result |",
        "|---|---:|---:|---|",
        f"| gpt-filter median (absolute) | {gf_median:.3f} s | | |",
        f"| gpt-filter overhead over `python -c pass` (median of paired differences) | {overhead:.3f} s "
        f"| ≤ {MAX_OVERHEAD:.2f} s | {verdict(over_ok)} |",
        ratio_row,
        *_compare_rows(gpt_filter, compare, python),
        "",
        f"{runs} timed rounds after 1 warm-up round; commands interleaved round-robin within each round.",
    ]
    return "\n".join(lines), over_ok and ratio_ok


def _compare_rows(gpt_filter: Command, compare: Command | None, python: Command) -> list[str]:
    if compare is None:
        return []
    over = statistics.median([c - p for c, p in zip(compare.times, python.times, strict=True)])
    delta = statistics.median([f - c for f, c in zip(gpt_filter.times, compare.times, strict=True)])
    return [
        f"| compared gpt-filter overhead over `python -c pass` (`{compare.label}`) | {over:.3f} s | | |",
        f"| gpt-filter minus compared gpt-filter (median of paired differences) | {delta:+.3f} s | | |",
    ]


# --------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="gpt-filter start-up benchmark against a local fake server.")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"timed rounds (default {DEFAULT_RUNS})")
    parser.add_argument("--llm", default=DEFAULT_LLM, help=f"the llm CLI (default {DEFAULT_LLM})")
    parser.add_argument("--gpt-filter", default=DEFAULT_GPT_FILTER, help=f"default {DEFAULT_GPT_FILTER}")
    parser.add_argument("--python", help="interpreter for `python -c pass` (default: gpt-filter's)")
    parser.add_argument("--compare", metavar="PATH", help="a second gpt-filter, timed in the same rounds")
    args = parser.parse_args(argv)
    if args.runs < 2:
        parser.error("--runs must be at least 2")
    return args


def bench(args: argparse.Namespace, tmp: Path) -> int:
    python = args.python or default_python(args.gpt_filter)
    for exe in (python, args.gpt_filter, *([args.compare] if args.compare else [])):
        if not os.access(exe, os.X_OK):
            raise BenchError(f"not executable: {exe}")
    with_llm = os.access(args.llm, os.X_OK)  # the comparison is optional: the start-up figures stand alone
    if not with_llm:
        print(f"{args.llm} is not executable: timing without llm", file=sys.stderr)
    doc_path = tmp / "doc.md"
    doc_path.write_text(DOCUMENT, encoding="utf-8")
    expected = fix_typos(DOCUMENT)
    if expected == DOCUMENT or len(DOCUMENT.encode()) not in range(3500, 4700):
        raise BenchError("the benchmark document should be ~4 KB and contain typos the fake fixes")
    workdir = tmp / "cwd"  # outside any project: no gpt-tools.toml / pyproject.toml is picked up
    workdir.mkdir()

    with fake_server() as base_url:
        # Also drop the caller's LLM_* settings: llm gets its own LLM_USER_PATH (see configure_llm).
        env = child_env(base_url, tmp, drop=("GPT_TOOLS_", "OPENAI_", "LLM_"), LLM_USER_PATH=str(tmp / "llm"))
        if with_llm:
            configure_llm(args.llm, base_url, env, tmp)
        commands = [
            Command("python -c pass", [python, "-c", "pass"], role="floor"),
            Command(f"gpt-filter {ASSISTANT}", [args.gpt_filter, ASSISTANT], "filter", role="filter"),
        ]
        if args.compare:
            commands.append(Command(f"{args.compare} {ASSISTANT}", [args.compare, ASSISTANT], "filter", role="compare"))
        llm = Command(
            f"llm -m {LLM_MODEL_ID} -s <instructions>", [args.llm, "-m", LLM_MODEL_ID, "-s"], "llm", role="llm"
        )
        llm.argv.append(instructions_text())
        print(f"fake server: {base_url}; document: {len(DOCUMENT.encode())} bytes", file=sys.stderr)
        if with_llm:
            verify_llm(llm, base_url, doc_path, env, workdir, expected)  # also compiles llm's byte-code
            commands.append(llm)
        start_count = len(recorded_requests(base_url))
        for round_no in range(args.runs + 1):  # round 0 is the warm-up
            for cmd in commands:
                elapsed = run_once(cmd, doc_path, env, workdir, expected)
                if round_no:
                    cmd.times.append(elapsed)
            if sys.stderr.isatty():
                print(f"\rround {round_no}/{args.runs}", end="", file=sys.stderr, flush=True)
        if sys.stderr.isatty():
            print(file=sys.stderr)

        paths = model_paths(recorded_requests(base_url)[start_count:])
        rounds = args.runs + 1
        counts = {p: paths.count(p) for p in set(paths)}
        filters = 2 if args.compare else 1
        wanted = {"/v1/responses": rounds * filters, **({"/v1/chat/completions": rounds} if with_llm else {})}
        if counts != wanted:
            raise BenchError(f"unexpected requests at the fake server: {counts} for {rounds} rounds")

    table, ok = report(commands, args.runs)
    print(table)
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="gpt-filter-bench-") as tmp:
            return bench(args, Path(tmp))
    except (BenchError, subprocess.TimeoutExpired) as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
