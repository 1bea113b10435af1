"""How big an edits-mode chunk should be (issue 11): one long document, `edit_chunk_tokens` varied.

In edits mode the reply is a short list, so a chunk costs little output whatever its size; smaller
chunks only buy parallel requests (each paying time to first byte and sending its share of the
instructions again). The paced fake (tests/fake_openai.py --ttfb/--ms-per-token) stands in for the
model. For each setting, interleaved over rounds, `gpt-filter MarkdownLinter < doc` runs on a document
of ~N handbooks (bench/edits_speed.py's document, each copy retitled so no chunk repeats another);
the output must be the fixed document, and the fake's usage gives the tokens.

    python bench/edit_chunks.py [--copies 12] [--rounds 3] [--sizes 4000,8000,16000,32000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchlib import BenchError, child_env, fake_server, recorded_requests, reset_server
from edits_speed import DOCUMENT, VENV_BIN, usage
from filter_startup import fix_typos


def document(copies: int) -> str:
    """`copies` handbooks; every prose line of copy N ends in pN, so the fake's edits stay short and unique
    (near-identical copies would stretch each `find` across URLs until it occurred once)."""
    parts = []
    for index in range(1, copies + 1):
        lines, in_code = [], False
        for line in DOCUMENT.splitlines():
            in_code ^= line.startswith("```")
            prose = line.strip() and not in_code and not line.startswith(("    ", "|", "```", "#"))
            lines.append(f"{line} p{index}" if prose else line)
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def one_run(
    size: int, doc: Path, expected: str, tmp: Path, url: str, env: dict[str, str]
) -> tuple[float, int, int, int]:
    config = tmp / f"chunks-{size}.toml"
    config.write_text(f"max_retries = 0\nedit_chunk_tokens = {size}\n", encoding="utf-8")
    reset_server(url)
    run_env = {**env, "GPT_TOOLS_CONFIG": str(config), "XDG_CACHE_HOME": str(tmp / "cache")}
    with doc.open("rb") as stdin:
        started = time.perf_counter()
        argv = [str(VENV_BIN / "gpt-filter"), "MarkdownLinter"]
        done = subprocess.run(argv, stdin=stdin, capture_output=True, cwd=tmp, env=run_env, timeout=600, check=False)
        elapsed = time.perf_counter() - started
    if done.returncode != 0 or done.stdout.decode("utf-8") != expected:
        problem = done.stderr.decode("utf-8", "replace")[-800:]
        raise BenchError(f"edit_chunk_tokens={size}: exit {done.returncode}, {len(done.stdout)} bytes: {problem}")
    tokens_in, tokens_out = usage(url)
    return elapsed, len(recorded_requests(url)), tokens_in, tokens_out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="edits-mode chunk size against the paced fake")
    parser.add_argument("--copies", type=int, default=12, help="handbooks in the document (~1000 tokens each)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="4000,8000,16000,32000")
    parser.add_argument("--ttfb", type=float, default=0.3)
    parser.add_argument("--tokens-per-s", type=float, default=80.0)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    text = document(args.copies)
    expected = fix_typos(text)
    results: dict[int, list[tuple[float, int, int, int]]] = {size: [] for size in sizes}
    pace = ["--ttfb", str(args.ttfb), "--ms-per-token", str(1000 / args.tokens_per_s)]
    try:
        with tempfile.TemporaryDirectory(prefix="gpt-tools-chunks-") as name, fake_server(*pace) as url:
            tmp = Path(name)
            doc = tmp / "doc.md"
            doc.write_text(text, encoding="utf-8")
            env = child_env(url, tmp)
            (tmp / "warm").mkdir()
            one_run(sizes[0], doc, expected, tmp / "warm", url, env)  # compiles byte-code
            for round_no in range(args.rounds):
                for size in sizes if round_no % 2 == 0 else reversed(sizes):
                    run_dir = tmp / f"r{round_no}-{size}"
                    run_dir.mkdir()
                    results[size].append(one_run(size, doc, expected, run_dir, url, env))
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    print(f"document: {len(text.encode()):,} bytes ({args.copies} handbooks); {args.rounds} rounds, interleaved\n")
    print("| edit_chunk_tokens | requests | median (s) | min (s) | input tokens | output tokens |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        runs = results[size]
        print(
            f"| {size} | {runs[0][1]} | {statistics.median(r[0] for r in runs):.2f} | {min(r[0] for r in runs):.2f} "
            f"| {runs[0][2]} | {runs[0][3]} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
