"""Installing the Neovim plugin on a fresh Neovim, as editor/README.md tells a new user to: empty config
and data folders (XDG_CONFIG_HOME, XDG_DATA_HOME), an init.vim that only adds editor/ to the runtimepath
and names the Python host, `:UpdateRemotePlugins` in a headless Neovim, then `:GptRun` in a new one.

Before that works, `:checkhealth gpt_tools` says what is missing and prints the exact commands for this
machine: the host Python Neovim uses and the pip command that installs the checkout's `nvim` extra into it.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fake_openai import FakeOpenAI
from tests.nvim_helpers import EDITOR, NVIM, pynvim, start_run, stop_nvim, wait_done

pytestmark = pytest.mark.skipif(
    (NVIM is None or pynvim is None) and not os.environ.get("CI"), reason="nvim or pynvim not installed"
)


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: FakeOpenAI) -> Path:
    """A Neovim with nothing installed: its own config and data folders, the default manifest."""
    monkeypatch.delenv("NVIM_RPLUGIN_MANIFEST", raising=False)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        folder = tmp_path / "nvim-home" / name.lower()
        folder.mkdir(parents=True)
        monkeypatch.setenv(name, str(folder))
    return Path(os.environ["XDG_CONFIG_HOME"]) / "nvim"


def write_init(config: Path, python: str) -> None:
    config.mkdir(parents=True, exist_ok=True)
    (config / "init.vim").write_text(
        f"set runtimepath+={EDITOR}\nlet g:python3_host_prog = '{python}'\n", encoding="utf-8"
    )


def headless(*commands: str) -> subprocess.CompletedProcess[str]:
    assert NVIM is not None
    argv = [NVIM, "--headless", "-i", "NONE", *(f"+{command}" for command in commands), "+qa!"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def bare_host(config: Path, tmp_path: Path) -> str:
    """Neovim's host Python set to a new venv without pip, so without pynvim: the Python that venv runs."""
    venv = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    write_init(config, python)
    return python


def health_report() -> str:
    """:checkhealth gpt_tools in a headless Neovim, written to a file (its buffer is the report)."""
    out = Path(os.environ["XDG_STATE_HOME"]) / "health.txt"
    done = headless("checkhealth gpt_tools", f"write! {out}")
    assert out.exists(), done.stderr
    return out.read_text(encoding="utf-8")


def attach() -> Any:
    assert pynvim is not None and NVIM is not None
    return pynvim.attach("child", argv=[NVIM, "--embed", "--headless", "-i", "NONE"])


def test_a_host_python_without_pynvim_gets_the_exact_install_command(fresh: Path, tmp_path: Path) -> None:
    python = bare_host(fresh, tmp_path)
    report = health_report()
    assert f"no pynvim in `{python}` (g:python3_host_prog)" in report, report
    assert f"'{python}' -m pip install '{ROOT}[nvim]'" in report, report
    assert ":UpdateRemotePlugins, and restart Neovim" in report


def test_before_it_is_registered_gpt_run_says_how_to_install(fresh: Path, tmp_path: Path) -> None:
    python = bare_host(fresh, tmp_path)
    editor = attach()
    try:
        editor.command("GptRun MarkdownLinter")  # not "E492: Not an editor command"
        said = str(editor.api.exec("messages", True))
        assert ":GptRun needs the remote plugin, which is not registered: :GptToolsInstall says how" in said
        editor.command("%GptChat Summarizer")  # defined in Lua, calling the remote plugin's function
        assert ":GptChat needs the remote plugin" in str(editor.api.exec("messages", True))
        shown = str(editor.api.exec("GptToolsInstall", True))
        assert f"the Python host {python} (g:python3_host_prog) has no pynvim" in shown, shown
        assert f"'{python}' -m pip install '{ROOT}[nvim]'" in shown and ":UpdateRemotePlugins" in shown
    finally:
        stop_nvim(editor)


def test_update_remote_plugins_then_gpt_run_works_on_a_fresh_neovim(fresh: Path, tmp_path: Path) -> None:
    write_init(fresh, sys.executable)  # the Python that has pynvim and gpt-tools: after the pip command
    before = health_report()
    assert "the remote plugin is not registered" in before and "run :UpdateRemotePlugins" in before, before
    done = headless("UpdateRemotePlugins")
    manifest = Path(os.environ["XDG_DATA_HOME"]) / "nvim" / "rplugin.vim"
    assert manifest.exists() and "'GptRun'" in manifest.read_text(encoding="utf-8"), done.stderr
    after = health_report()
    assert "remote plugin registered" in after and "assistants loaded" in after, after
    assert "not registered" not in after  # the stand-ins are gone: the manifest defines the commands
    document = tmp_path / "notes.md"
    document.write_text("teh notes\n", encoding="utf-8")
    editor = attach()
    try:
        editor.command(f"edit {document}")
        start_run(editor, "GptRun MarkdownLinter")
        assert wait_done(editor)["status"] == "ok"
        assert editor.current.buffer[:] == ["the notes"]
        assert "installed" in str(editor.api.exec("GptToolsInstall", True))
    finally:
        stop_nvim(editor)


def test_the_printed_commands_hold_for_a_data_folder_with_a_quote_and_a_space(tmp_path: Path) -> None:
    data = tmp_path / "o'brien's data"
    data.mkdir()
    assert NVIM is not None
    script = "lua for _, c in ipairs(require('gpt_tools.install').commands(nil)) do io.stdout:write(c, '\\n') end"
    done = subprocess.run(
        [NVIM, "--headless", "-u", "NONE", "-i", "NONE", "--cmd", f"set rtp^={EDITOR}", f"+{script}", "+qa!"],
        env={**os.environ, "XDG_DATA_HOME": str(data)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    venv, pip, host, _ = done.stdout.splitlines()
    python = f"{data}/nvim/gpt-tools-venv/bin/python"
    assert shlex.split(venv) == ["python3", "-m", "venv", f"{data}/nvim/gpt-tools-venv"]
    assert shlex.split(pip) == [python, "-m", "pip", "install", f"{ROOT}[nvim]"]
    prefix = "then in your init.lua: vim.g.python3_host_prog = "
    assert host.startswith(prefix)
    literal = host.removeprefix(prefix)  # was '...o''brien...': Vim script quoting, a Lua syntax error
    check = f"lua io.stdout:write(tostring(assert(loadstring('return ' .. {json.dumps(literal)}))()))"
    said = subprocess.run(
        [NVIM, "--headless", "-u", "NONE", "-i", "NONE", f"+{check}", "+qa!"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert said.stdout == python, said.stderr
