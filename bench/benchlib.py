"""Plumbing shared by the benchmark scripts in bench/: the fake server, its control calls, the children's
environment and the summary statistics. Standard library only, like the scripts.

The scripts are run as `python bench/NAME.py`, so bench/ is sys.path[0] and they `import benchlib`. Keeping
one copy here matters because the details are easy to get subtly wrong in one script only: the order in
which the fake server is stopped (see `fake_server`), or the byte-code settings that decide whether the
timed children re-compile the project on every call (see `cached_bytecode_env`).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
FAKE_SERVER = REPO / "tests" / "fake_openai.py"
API_KEY = "fake-bench-key"  # what the children send; the fake server accepts any key

URL_TIMEOUT = 20.0  # seconds to wait for the fake server's URL line
STOP_TIMEOUT = 5.0  # seconds for each step of stopping it
CONTROL_TIMEOUT = 10.0  # seconds for one /_fake/* call


class BenchError(Exception):
    """Something the benchmark depends on did not behave; the numbers would mean nothing."""


# --------------------------------------------------------------------------------------------- server


@contextlib.contextmanager
def fake_server(*args: str) -> Iterator[str]:
    """Run tests/fake_openai.py as a subprocess (extra CLI `args`, e.g. `--latency 0.5`); yield its base
    URL; always stop it.

    The server runs with --exit-on-stdin-eof, so it also ends when the benchmark dies without cleaning
    up (even on SIGKILL: its stdin pipe closes). It is written with PYTHONDONTWRITEBYTECODE=1 so that it
    leaves no __pycache__ in tests/. Its URL is read on a helper thread so that a server that never
    prints one fails the benchmark after URL_TIMEOUT instead of hanging it.
    """
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    argv = [sys.executable, str(FAKE_SERVER), "--port", "0", *args, "--exit-on-stdin-eof"]
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line: list[str] = []
        if proc.stdout is None:
            raise BenchError("fake server has no stdout pipe")
        stdout = proc.stdout
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(URL_TIMEOUT)
        url = line[0].strip() if line else ""
        if not url.startswith("http://"):
            raise BenchError(f"fake server did not print its URL (got {url!r}, exit status {proc.poll()})")
        yield url
    finally:
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()  # --exit-on-stdin-eof: the server stops by itself
        try:
            # Not SIGTERM at once: closing stdin lets the server leave the way it was built to, and
            # older versions of it aborted when signalled while reading stdin ("could not acquire lock
            # for <stdin>"). Signals are the fallback for a server that does not stop.
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT)
        if proc.stdout is not None:
            proc.stdout.close()


def control(base_url: str, method: str, path: str) -> Any:
    """One call to the fake server's /_fake/* control endpoints; the decoded JSON answer.

    Plain http.client rather than the code under test, so that the benchmark's own checks (request
    counts, uploads) do not depend on what is being measured. POST sends an empty JSON object.
    """
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=CONTROL_TIMEOUT)
    try:
        conn.request(method, path, body=b"{}" if method == "POST" else None)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise BenchError(f"{method} {path} answered HTTP {response.status}")
    finally:
        conn.close()
    return json.loads(body)


def reset_server(base_url: str) -> None:
    """POST /_fake/reset: forget recorded requests, queued replies, files and vector stores."""
    control(base_url, "POST", "/_fake/reset")


def recorded_requests(base_url: str) -> list[dict[str, Any]]:
    """GET /_fake/requests: every request the server has seen since the last reset, oldest first."""
    value = control(base_url, "GET", "/_fake/requests")
    if not isinstance(value, list):
        raise BenchError("GET /_fake/requests did not return a list")
    return value


def request_path(record: Mapping[str, Any]) -> str:
    """The path of one recorded request without its query string (/v1/responses, not ...?x=1)."""
    return urlsplit(str(record.get("path", ""))).path


# --------------------------------------------------------------------------------------------- children


def cached_bytecode_env(base: Mapping[str, str], pycache: Path) -> dict[str, str]:
    """A copy of `base` under which children compile byte-code once, into `pycache`, and reuse it.

    This environment sets PYTHONDONTWRITEBYTECODE=1; under it the editable-installed project would be
    re-compiled on every call while pip-installed packages came pre-compiled, which would bias every
    start-up figure. PYTHONPYCACHEPREFIX keeps the cache out of the repository and the virtualenvs.
    """
    env = dict(base)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def child_env(
    base_url: str, tmp: Path, *, drop: Sequence[str] = ("GPT_TOOLS_", "OPENAI_"), **extra: str
) -> dict[str, str]:
    """A clean, identical environment for every timed command, pointed at the fake server.

    Variables starting with a prefix in `drop` (GPT_TOOLS_CONFIG, GPT_TOOLS_MODEL, OPENAI_*, ...) and
    proxy settings must not leak in from the caller's shell; XDG_CONFIG_HOME and XDG_STATE_HOME under
    `tmp` mean no user config.toml is read and any log file lands in `tmp`. `extra` adds or overrides.
    """
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    kept = {k: v for k, v in os.environ.items() if not k.startswith(tuple(drop)) and k.lower() not in proxies}
    env = cached_bytecode_env(kept, tmp / "pycache")
    env.update(
        OPENAI_BASE_URL=base_url,
        OPENAI_API_KEY=API_KEY,
        XDG_CONFIG_HOME=str(tmp / "config"),
        XDG_STATE_HOME=str(tmp / "state"),
        NO_PROXY="127.0.0.1,localhost",
    )
    env.update(extra)
    return env


def timed_child(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run one command to completion; (wall seconds, its result as text). The caller checks the result.

    stdin is /dev/null so that nothing can wait for a terminal, output is captured (and so not timed on
    a slow console), and the clock runs around the child process only. A hang raises TimeoutExpired,
    which the scripts report as a broken benchmark (exit status 2).
    """
    started = time.perf_counter()
    done = subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return time.perf_counter() - started, done


# --------------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Stats:
    """Median and the 10th/90th percentiles of a series of timings."""

    median: float
    p10: float
    p90: float


def stats(values: Sequence[float]) -> Stats:
    """Median, p10 and p90; "inclusive" deciles so that small samples stay within the observed range."""
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return Stats(statistics.median(values), deciles[0], deciles[-1])


def verdict(ok: bool) -> str:
    """The result column of the target tables."""
    return "PASS" if ok else "FAIL"


def run_in_tempdir(prefix: str, bench: Callable[[Any, Path], int], args: Any) -> int:
    """bench(args, tmp) in a fresh temporary folder, removed afterwards. A benchmark that could not run
    correctly (a command failed, the server misbehaved, a timeout, the disk) exits 2, as the scripts'
    docs promise, with the reason on stderr."""
    try:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            return bench(args, Path(tmp))
    except (BenchError, subprocess.TimeoutExpired, OSError) as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        return 2
