"""Edits versus rewrites (issue 11): how long a copy edit takes, and how many tokens the model writes,
when the model answers with its edits instead of the whole document.

The fake server (tests/fake_openai.py) runs in paced mode: every reply's first byte after --ttfb
seconds, then --ms-per-token per output token (default 12.5 ms: 80 tokens/s), so a reply costs what
its length would cost at a real model's pace. Its GET /_fake/stats counts the output tokens of the
replies it sent (the usage figures it reports), reset before every run.

Part 1, one ~4 KB Markdown document with six typos (bench/filter_startup.py's DOCUMENT), interleaved
rounds, the order rotated every round:

  (a) edits     `gpt-filter MarkdownLinter < doc`     the built-in: output = "edits"
  (b) document  the same with output = "document"     (GPT_TOOLS_CONFIG: [assistants.MarkdownLinter])
  (c) llm       `llm -m fake -s <instructions> < doc` the `llm` CLI's full rewrite, same server

Part 2, the pre-commit hook `gpt-tools-hook --fix` on 40 distinct ~4 KB documents (fresh copies and
cache every run), in edits and in document mode.

Every run is checked before its time counts: exit status, stdout (the fixed document) or every file's
bytes, and the requests the server saw. Targets: edits output ≤ 15 % of the document's tokens, (a)
≥ 5x faster than (c), the hook on 40 documents ≤ 8 s in edits mode.

    .venv/bin/python bench/edits_speed.py [--rounds 3] [--hook-rounds 1] [--ttfb 0.3] [--tokens-per-s 80]
        [--gpt-filter PATH] [--hook PATH] [--llm PATH] [--skip edits,document,llm,hook]

`llm` is not a project dependency: install it into a venv of its own (`python3 -m venv /tmp/llm-venv &&
/tmp/llm-venv/bin/pip install llm`); without it, (c) is reported as not run. Exits 0 when every target that
ran passes, 1 when one fails, 2 when the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import (
    REPO,
    BenchError,
    child_env,
    control,
    fake_server,
    recorded_requests,
    reset_server,
    run_in_tempdir,
    timed_child,
    verdict,
)
from filter_startup import ASSISTANT, DOCUMENT, LLM_MODEL_ID, configure_llm, fix_typos, instructions_text, llm_output_ok

# The hook's summary line: files checked, changed, requests sent.
SUMMARY = re.compile(r"^gpt-tools-hook: (\d+) files checked, (\d+) changed\b.*?(\d+) requests sent$", re.M)
VENV_BIN = REPO / ".venv" / "bin"
DEFAULT_LLM = "/tmp/llm-venv/bin/llm"
RUN_TIMEOUT = 600.0  # seconds for one command: a document-mode hook run takes about a minute
N_DOCS = 40
# USD per million tokens for gpt-5-mini (input, output): gpt_tools/state/runlog.py PRICES, Dec 2026.
PRICE_IN, PRICE_OUT = 0.25, 2.00

# Targets from issue 11.
MAX_EDITS_SHARE = 0.15  # edits-mode output tokens / the document's
MIN_SPEEDUP = 5.0  # llm median / edits median
MAX_HOOK_EDITS = 8.0  # seconds, 40 documents


@dataclass
class Mode:
    label: str
    argv: list[str]
    config: str  # the GPT_TOOLS_CONFIG text ("" for llm)
    times: list[float] = field(default_factory=list)
    output_tokens: list[int] = field(default_factory=list)
    input_tokens: list[int] = field(default_factory=list)


def configs(tmp: Path) -> dict[str, Path]:
    """The two config files: the built-in's own output mode, and document mode forced for MarkdownLinter."""
    base = "max_retries = 0\n"
    texts = {"edits": base, "document": base + f'\n[assistants.{ASSISTANT}]\noutput = "document"\n'}
    paths = {}
    for name, text in texts.items():
        paths[name] = tmp / f"{name}.toml"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def usage(base_url: str) -> tuple[int, int]:
    stats = control(base_url, "GET", "/_fake/stats")
    return int(stats["input_tokens"]), int(stats["output_tokens"])


def run_filter(mode: Mode, doc: Path, env: dict[str, str], cwd: Path, base_url: str, expected: str) -> None:
    reset_server(base_url)
    with doc.open("rb") as stdin:
        started = time.perf_counter()
        done = subprocess.run(mode.argv, stdin=stdin, capture_output=True, env=env, cwd=cwd, timeout=RUN_TIMEOUT)
        elapsed = time.perf_counter() - started
    out = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0:
        raise BenchError(f"{mode.label} exited {done.returncode}: {done.stderr.decode('utf-8', 'replace')[-2000:]}")
    if not (llm_output_ok(done.stdout, expected) if mode.label == "llm" else out == expected):
        raise BenchError(f"{mode.label} did not print the fixed document (got {len(done.stdout)} bytes): {out[:300]!r}")
    if (n := len(recorded_requests(base_url))) != 1:
        raise BenchError(f"{mode.label} made {n} requests, expected 1")
    tokens_in, tokens_out = usage(base_url)
    mode.times.append(elapsed)
    mode.input_tokens.append(tokens_in)
    mode.output_tokens.append(tokens_out)


def hook_documents() -> list[tuple[str, str, str]]:
    """40 distinct ~4 KB documents: part 1's, each with its own title (so no cache can answer one for
    another); (file name, document, the fixed document)."""
    title = DOCUMENT.partition("\n")[0]
    docs = []
    for index in range(1, N_DOCS + 1):
        doc = DOCUMENT.replace(title, f"{title}, part {index}", 1)
        docs.append((f"{index:02d}-handbook.md", doc, fix_typos(doc)))
    return docs


@dataclass
class HookRun:
    label: str
    config: Path
    times: list[float] = field(default_factory=list)
    output_tokens: list[int] = field(default_factory=list)


def run_hook(
    run: HookRun, hook: str, docs: list[tuple[str, str, str]], tmp: Path, env: dict[str, str], url: str
) -> None:
    folder = tmp / f"hook-{run.label}-{len(run.times)}"
    (folder / "docs").mkdir(parents=True)
    for name, doc, _ in docs:
        (folder / "docs" / name).write_text(doc, encoding="utf-8")
    reset_server(url)
    run_env = {**env, "XDG_CACHE_HOME": str(folder / "cache"), "GPT_TOOLS_CONFIG": str(run.config)}
    files = [name for name, _, _ in docs]
    elapsed, done = timed_child([hook, "--fix", *files], cwd=folder / "docs", env=run_env, timeout=RUN_TIMEOUT)
    summary = SUMMARY.search(done.stdout)
    said = f"stdout: {done.stdout[-1500:]}\nstderr: {done.stderr[-1500:]}"
    if done.returncode != 1 or summary is None or summary.groups() != (str(N_DOCS), str(N_DOCS), str(N_DOCS)):
        raise BenchError(f"hook ({run.label}) exited {done.returncode}, expected 1 with 40 changed\n{said}")
    wrong = [name for name, _, fixed in docs if (folder / "docs" / name).read_text("utf-8") != fixed]
    if wrong:
        raise BenchError(f"hook ({run.label}): {len(wrong)} files not fixed as expected, e.g. {wrong[0]}")
    run.times.append(elapsed)
    run.output_tokens.append(usage(url)[1])


def cost(tokens_in: float, tokens_out: float) -> float:
    return (tokens_in * PRICE_IN + tokens_out * PRICE_OUT) / 1e6


def report(modes: dict[str, Mode], hooks: dict[str, HookRun], args: argparse.Namespace) -> tuple[str, bool]:
    doc_tokens = len(DOCUMENT) / 4  # the fake's len/4 estimate, as for every usage figure here
    lines = ["| run | median (s) | min (s) | output tokens | input tokens | cost per run (USD) |"]
    lines.append("|---|---:|---:|---:|---:|---:|")
    for mode in modes.values():
        if not mode.times:
            lines.append(f"| {mode.label} | not run | | | | |")
            continue
        t_in, t_out = statistics.median(mode.input_tokens), statistics.median(mode.output_tokens)
        lines.append(
            f"| {mode.label} | {statistics.median(mode.times):.2f} | {min(mode.times):.2f} | {t_out:.0f} "
            f"| {t_in:.0f} | {cost(t_in, t_out):.6f} |"
        )
    for run in hooks.values():
        if run.times:
            lines.append(
                f"| hook, {N_DOCS} docs, {run.label} | {statistics.median(run.times):.2f} | {min(run.times):.2f} "
                f"| {statistics.median(run.output_tokens):.0f} | | |"
            )
    checks: list[tuple[str, str, str, bool]] = []
    edits, llm = modes["edits"], modes["llm"]
    if edits.times:
        share = statistics.median(edits.output_tokens) / doc_tokens
        checks.append(
            ("edits output / document tokens", f"{share:.1%}", f"≤ {MAX_EDITS_SHARE:.0%}", share <= MAX_EDITS_SHARE)
        )
    if edits.times and llm.times:
        speedup = statistics.median(llm.times) / statistics.median(edits.times)
        checks.append(("llm / edits, medians", f"{speedup:.1f}x", f"≥ {MIN_SPEEDUP:.0f}x", speedup >= MIN_SPEEDUP))
    if hooks["edits"].times:
        hook = statistics.median(hooks["edits"].times)
        checks.append(
            (f"hook, {N_DOCS} docs, edits", f"{hook:.2f} s", f"≤ {MAX_HOOK_EDITS:.0f} s", hook <= MAX_HOOK_EDITS)
        )
    rows = [f"| {name} | {value} | {target} | {verdict(passed)} |" for name, value, target, passed in checks]
    ok = all(passed for *_, passed in checks)
    lines += ["", "| figure | value | target | result |", "|---|---:|---:|---|", *rows, ""]
    lines.append(
        f"Fake server paced at {args.ttfb:g} s to first byte and {1000 / args.tokens_per_s:g} ms per output token "
        f"({args.tokens_per_s:g} tokens/s); document {len(DOCUMENT.encode()):,} bytes (~{doc_tokens:.0f} tokens); "
        f"{len(edits.times) or len(modes['document'].times)} interleaved rounds after a warm-up; cost at gpt-5-mini "
        f"prices (${PRICE_IN}/M in, ${PRICE_OUT}/M out)."
    )
    return "\n".join(lines), ok


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Edits mode against document mode and llm's full rewrite.")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of part 1 (default 3; 0: skip it)")
    parser.add_argument("--hook-rounds", type=int, default=1, help="timed hook runs per mode (default 1)")
    parser.add_argument("--ttfb", type=float, default=0.3, help="fake server seconds to first byte")
    parser.add_argument("--tokens-per-s", type=float, default=80.0, help="fake server output pace")
    parser.add_argument("--gpt-filter", default=str(VENV_BIN / "gpt-filter"))
    parser.add_argument("--hook", default=str(VENV_BIN / "gpt-tools-hook"))
    parser.add_argument("--llm", default=DEFAULT_LLM)
    parser.add_argument("--skip", default="", help="comma-separated: edits, document (both parts), llm, hook (part 2)")
    args = parser.parse_args(argv)
    args.skip = {s for s in args.skip.split(",") if s}
    if args.rounds < 0 or args.tokens_per_s <= 0 or args.skip - {"edits", "document", "llm", "hook"}:
        parser.error("--rounds ≥ 0, --tokens-per-s > 0, --skip from edits, document, llm, hook")
    return args


def bench(args: argparse.Namespace, tmp: Path) -> int:
    with_llm = "llm" not in args.skip and os.access(args.llm, os.X_OK)
    if "llm" not in args.skip and not with_llm:
        print(f"{args.llm} is not executable: (c) llm not run", file=sys.stderr)
    doc = tmp / "doc.md"
    doc.write_text(DOCUMENT, encoding="utf-8")
    expected = fix_typos(DOCUMENT)
    paths = configs(tmp)
    modes = {
        "edits": Mode("edits", [args.gpt_filter, ASSISTANT], str(paths["edits"])),
        "document": Mode("document", [args.gpt_filter, ASSISTANT], str(paths["document"])),
        "llm": Mode("llm", [args.llm, "-m", LLM_MODEL_ID, "-s", instructions_text()], ""),
    }
    active = [m for name, m in modes.items() if name not in args.skip and (name != "llm" or with_llm)]
    hooks = {name: HookRun(name, paths[name]) for name in ("edits", "document")}
    pace = ["--ttfb", str(args.ttfb), "--ms-per-token", str(1000 / args.tokens_per_s)]
    workdir = tmp / "cwd"  # outside any project: no gpt-tools.toml is picked up
    workdir.mkdir()
    with fake_server(*pace) as url:
        env = child_env(url, tmp, drop=("GPT_TOOLS_", "OPENAI_", "LLM_"), LLM_USER_PATH=str(tmp / "llm"))
        if with_llm:
            configure_llm(args.llm, url, env, tmp)
        for round_no in range(args.rounds + 1 if args.rounds else 0):  # round 0: warm-up (byte-code, llm's plugins)
            for mode in active[round_no % len(active) :] + active[: round_no % len(active)]:
                run_env = {**env, "GPT_TOOLS_CONFIG": mode.config} if mode.config else env
                run_filter(mode, doc, run_env, workdir, url, expected)
                if not round_no:
                    mode.times.clear(), mode.output_tokens.clear(), mode.input_tokens.clear()
            done = ", ".join(f"{m.label} {m.times[-1]:.2f} s" for m in active if m.times)
            print(f"round {round_no}/{args.rounds}: {done or 'warm-up'}", file=sys.stderr)
        if "hook" not in args.skip:
            docs = hook_documents()
            for round_no in range(args.hook_rounds):
                for name in ("edits", "document") if round_no % 2 == 0 else ("document", "edits"):
                    if name not in args.skip:
                        run_hook(hooks[name], args.hook, docs, tmp, env, url)
                        print(f"hook {name}: {hooks[name].times[-1]:.2f} s", file=sys.stderr)
    table, ok = report(modes, hooks, args)
    print(table)
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_tempdir("gpt-tools-edits-bench-", bench, args)


if __name__ == "__main__":
    sys.exit(main())
