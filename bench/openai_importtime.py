"""What importing a module costs a fresh interpreter: `python -X importtime -c "import M"`, median of N runs.

Reports the cumulative microseconds of the unindented (top-level) line naming M (for `openai`: the line
`import time: ... | openai`), i.e. what a process would pay on every start if its hot path imported M.

    python bench/openai_importtime.py [--runs 3] [--python /work/venv/bin/python] [MODULE ...]

Default modules: `openai` (the SDK the runtime avoids) and `gpt_tools.core.runner` (what gpt-filter does import
after parsing its arguments; its line includes the `gpt_tools` package and everything it pulls in).
As in filter_startup.py, byte-code goes to a temporary PYTHONPYCACHEPREFIX and one warm-up run comes
first, so every module is measured with its .pyc cached.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchlib import cached_bytecode_env

DEFAULT_PYTHON = "/work/venv/bin/python"
DEFAULT_MODULES = ("openai", "gpt_tools.core.runner")


def cumulative_us(python: str, module: str, env: dict[str, str], cwd: str) -> int:
    done = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"import {module} failed: {done.stderr.strip()[-1000:]}")
    for line in done.stderr.splitlines():
        # "import time:      1393 |     466597 | openai": no indentation before the name = top level.
        fields = line.split("|")
        if len(fields) == 3 and fields[2] == f" {module}":
            return int(fields[1].strip())
    raise SystemExit(f"no top-level `{module}` line in the -X importtime output")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("modules", nargs="*", default=list(DEFAULT_MODULES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", default=DEFAULT_PYTHON)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="importtime-bench-") as tmp:
        env = cached_bytecode_env(os.environ, Path(tmp) / "pycache")
        print("| command | runs: cumulative µs of the top-level line | median (µs) |")
        print("|---|---|---:|")
        for module in args.modules:
            cumulative_us(args.python, module, env, tmp)  # warm-up: writes the byte-code cache
            runs = [cumulative_us(args.python, module, env, tmp) for _ in range(args.runs)]
            shown = ", ".join(f"{r:,}" for r in runs)
            print(f'| `python -X importtime -c "import {module}"` | {shown} | {statistics.median(runs):,.0f} |')
    return 0


if __name__ == "__main__":
    sys.exit(main())
