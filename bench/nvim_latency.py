"""Neovim plugin latency (issue: Neovim plugin): how fast `:GptRun` gives the editor back, and what a run
costs on top of the model's own time, first run of a session versus later ones.

A real headless Neovim (pynvim child) runs the remote plugin from editor/ against tests/fake_openai.py
in this process, every reply held for --delay seconds (2 s) as a slow model would. Per round, a fresh
Neovim (so a fresh Python host) and three runs of MarkdownLinter over a ~4 KB Markdown buffer:

  return (cold host)   `:GptRun` is the session's first remote call: Neovim starts the Python host
                       synchronously (remote#host#Require) before the command can return
  return (warm host)   a later `:GptRun`: only the plugin's own command handler
  latency, run 1 / 2+  command issued -> result applied (g:gpt_tools_last set), minus the server delay:
                       run 1 pays host start and the core's imports, later runs pay neither
  return, host pre-started   the first `:GptRun` right after the host was started by another call (the
                             plugin's idle-time prestart, or another remote plugin), while the core is
                             still being imported in the host's background thread

    python bench/nvim_latency.py [--rounds N] [--delay S] [--python PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import REPO, stats

sys.path.insert(0, str(REPO))

from tests.fake_openai import FakeOpenAI, Scripted
from tests.nvim_helpers import register_plugin, start_nvim, stop_nvim, wait_done

TARGET_RETURN = 0.050  # seconds: `:GptRun` must give the editor back within this (warm host)
PARAGRAPH = (
    "This page describes how we cut a release of teh command-line tools. It is written for maintainers "
    "who have push access to the main repository and to the package index. If you recieve an error, stop.\n"
)
DOCUMENT = "# Release checklist\n\n" + "\n".join(PARAGRAPH for _ in range(16))


def timed_run(nvim: Any, server: FakeOpenAI, delay: float) -> tuple[float, float]:
    """(seconds until :GptRun returned, seconds until the result was applied minus the delay)."""
    server.script(Scripted(delay=delay))
    nvim.command("unlet! g:gpt_tools_last")
    started = time.perf_counter()
    nvim.command("GptRun MarkdownLinter")
    returned = time.perf_counter() - started
    done = wait_done(nvim, timeout=delay + 60)
    finished = time.perf_counter() - started
    if done["status"] != "ok":
        raise SystemExit(f"benchmark run failed: {done}")
    nvim.command("normal! u")  # back to the typos for the next run
    return returned, finished - delay


def one_round(init: Path, doc: Path, server: FakeOpenAI, delay: float, prestart: bool) -> list[float]:
    nvim = start_nvim(init)
    try:
        nvim.command(f"edit {doc}")
        if prestart:
            nvim.call("remote#host#Require", "python3")
            return [timed_run(nvim, server, delay)[0]]
        figures: list[float] = []
        for _ in range(3):
            figures.extend(timed_run(nvim, server, delay))
        return figures  # return1, latency1, return2, latency2, return3, latency3
    finally:
        stop_nvim(nvim)


def row(label: str, values: list[float], target: str = "") -> str:
    s = stats(values)
    ms = [1000 * v for v in (s.median, s.p10, s.p90)]
    return f"| {label} | {ms[0]:.1f} | {ms[1]:.1f} | {ms[2]:.1f} | {target} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="fresh Neovim sessions timed (default 7)")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds the fake server sleeps per reply")
    parser.add_argument("--python", default=sys.executable, help="g:python3_host_prog (pynvim + gpt-tools)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gpt-nvim-bench-") as tmp, FakeOpenAI() as server:
        folder = Path(tmp)
        init, manifest = register_plugin(folder / "nvim", args.python)
        doc = folder / "doc.md"
        doc.write_text(DOCUMENT, encoding="utf-8")
        os.environ.update(NVIM_RPLUGIN_MANIFEST=str(manifest), OPENAI_BASE_URL=server.url, OPENAI_API_KEY="sk-bench")
        os.environ.update(HOME=str(folder), XDG_CONFIG_HOME=str(folder / "config"), XDG_STATE_HOME=str(folder))
        os.chdir(folder)  # no project config is found
        one_round(init, doc, server, args.delay, prestart=False)  # warm-up: OS caches, byte-code
        sessions = [one_round(init, doc, server, args.delay, prestart=False) for _ in range(args.rounds)]
        prestarted = [one_round(init, doc, server, args.delay, prestart=True)[0] for _ in range(args.rounds)]
    warm_returns = [s[2] for s in sessions] + [s[4] for s in sessions]
    print(f"{len(DOCUMENT.encode())}-byte buffer, server delay {args.delay:g} s, {args.rounds} sessions\n")
    print("| figure | median (ms) | p10 (ms) | p90 (ms) | target |\n|---|---:|---:|---:|---|")
    print(row("`:GptRun` returns, warm host (runs 2-3)", warm_returns, f"≤ {TARGET_RETURN * 1000:.0f} ms"))
    print(row("`:GptRun` returns, host just pre-started (core importing in the background)", prestarted, ""))
    print(row("`:GptRun` returns, first call of the session (starts the Python host)", [s[0] for s in sessions]))
    print(row("run 1 latency over the server delay (host start + imports)", [s[1] for s in sessions]))
    print(row("run 2 latency over the server delay (imports warm)", [s[3] for s in sessions]))
    print(row("run 3 latency over the server delay", [s[5] for s in sessions]))
    ok = statistics.median(warm_returns) <= TARGET_RETURN
    print(f"\nwarm-host return target (median ≤ {TARGET_RETURN * 1000:.0f} ms): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
