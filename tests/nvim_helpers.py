"""Driving a real, headless Neovim with the remote plugin from editor/, for tests and the benchmark.

`register_plugin` runs `:UpdateRemotePlugins` once into a temporary manifest; `start_nvim` then starts
a Neovim that reads it (through $NVIM_RPLUGIN_MANIFEST) and attaches pynvim to it. Waiting is always
on an explicit signal the plugin sets (g:gpt_tools_last, g:gpt_tools_pending), polled with a deadline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tests.fake_openai import FakeOpenAI, fix_typos

try:
    import pynvim
except ImportError:  # pragma: no cover - the test module skips (outside CI) or fails (in CI)
    pynvim = None

ROOT = Path(__file__).resolve().parent.parent
EDITOR = ROOT / "editor"
NVIM = shutil.which("nvim")
T = TypeVar("T")


def write_init(folder: Path, python: str = sys.executable) -> Path:
    """An init.vim with only the runtime, editor/ and the Python host: no user plugins can interfere."""
    init = folder / "init.vim"
    init.write_text(
        f"set runtimepath={EDITOR},$VIMRUNTIME\n"
        "set packpath=\n"
        f"let g:python3_host_prog = '{python}'\n"
        "set shortmess+=I\n",
        encoding="utf-8",
    )
    return init


def register_plugin(folder: Path, python: str = sys.executable) -> tuple[Path, Path]:
    """(init.vim, manifest): `:UpdateRemotePlugins` in a first Neovim, with a throw-away HOME."""
    folder.mkdir(parents=True, exist_ok=True)
    init, manifest = write_init(folder, python), folder / "rplugin.vim"
    home = folder / "home"
    env = {**os.environ, "HOME": str(home), "NVIM_RPLUGIN_MANIFEST": str(manifest)}
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(home / name.lower())
    assert NVIM is not None, "nvim is not installed"
    done = subprocess.run(
        [NVIM, "--headless", "-i", "NONE", "-u", str(init), "+UpdateRemotePlugins", "+qa!"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    text = manifest.read_text(encoding="utf-8") if manifest.exists() else ""
    assert "'GptRun'" in text, f"UpdateRemotePlugins did not register the plugin: {done.stderr}{text}"
    return init, manifest


def start_nvim(init: Path) -> Any:
    """A headless Neovim child attached through pynvim; the environment (fake server) is inherited."""
    assert pynvim is not None, "pynvim is not installed"
    assert NVIM is not None, "nvim is not installed"
    return pynvim.attach("child", argv=[NVIM, "--embed", "--headless", "-i", "NONE", "-u", str(init)])


def stop_nvim(nvim: Any) -> None:
    try:
        with contextlib.suppress(OSError, EOFError):  # the connection drops as Neovim exits
            nvim.quit("qa!")
    finally:
        nvim.close()


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    """Poll probe until it returns something truthy, or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.01)


def start_run(nvim: Any, command: str) -> None:
    """Run an Ex command that starts a run, after clearing the completion signal of the last one."""
    nvim.command("unlet! g:gpt_tools_last")
    nvim.command(command)


def wait_done(nvim: Any, timeout: float = 30.0) -> dict[str, Any]:
    """g:gpt_tools_last, the dict the plugin sets (just before `User GptToolsDone`) when a run ends."""
    return wait_for("g:gpt_tools_last", lambda: nvim.vars.get("gpt_tools_last"), timeout)


def wait_idle(nvim: Any, timeout: float = 30.0) -> None:
    """Until no worker thread is left in the host, cancelled ones included (g:gpt_tools_pending)."""
    wait_for("g:gpt_tools_pending == 0", lambda: nvim.vars.get("gpt_tools_pending", 0) == 0 or None, timeout)


def gate(server: FakeOpenAI, limit: float = 20.0) -> threading.Event:
    """Hold every reply of server until the returned event is set (a server that sleeps on demand)."""
    opened = threading.Event()

    def responder(text: str) -> str:
        opened.wait(limit)
        return fix_typos(text)

    server.responder = responder
    return opened


def wait_requests(server: FakeOpenAI, count: int = 1, timeout: float = 30.0) -> None:
    wait_for(f"{count} model request(s)", lambda: len(server.model_requests()) >= count or None, timeout)
