"""`:GptTrust`: trust the current buffer's project, after saying what that lets its config do.

The same as `gpt-tools trust FOLDER` in a terminal (Vim's `:GptTrust` runs that command too): FOLDER
is the folder of the project config the buffer's folder finds (gpt-tools.toml or pyproject.toml,
walking up). The trust is recorded by the `gpt-tools` command of the Python the plugin runs in, so it
lands in the same user config the runs read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from pynvim import Nvim

from . import core

WHAT = (
    "Its config may then choose where your API key and documents go (base_url, api_key_env, api_key_cmd, "
    "auth_header, store) and what your run log keeps (log_texts, run_log, [prices])."
)


def project_of(cwd: str) -> tuple[Path | None, str | None]:
    """(the folder to trust, the setting refused until then) for the project cwd is in; (None, None)
    when no project config is found above cwd."""
    gpt = core.load()
    try:
        config = gpt.load_config(cwd)
    except gpt.ConfigError as exc:
        if getattr(exc, "advice", None) is None:  # a malformed file: no trust can fix it
            raise
        return Path(exc.path).parent, exc.key  # refused because untrusted: that project's folder
    root = config.project_root
    return (Path(root), None) if root is not None else (None, None)


def command() -> list[str]:
    """`gpt-tools` next to the host's Python (the install the plugin imports), else on $PATH."""
    here = Path(sys.executable).parent / "gpt-tools"
    found = str(here) if os.access(here, os.X_OK) else shutil.which("gpt-tools")
    if found is None:
        raise FileNotFoundError(f"the gpt-tools command (not next to {sys.executable}, not on $PATH)")
    return [found]


def trust_project(nvim: Nvim, cwd: str, *, ask: bool) -> tuple[str, str]:
    """(message, level) after trusting (or not) the project of cwd; asks first unless ask is False."""
    folder, refused = project_of(cwd)
    if folder is None:
        return f"GptTrust: no project config (gpt-tools.toml, pyproject.toml) above {cwd}; nothing to trust", "WARN"
    now = f" It is refused now: {refused}." if refused else ""
    question = f"Trust the project {folder}?\n{WHAT}{now}"
    if ask and int(nvim.funcs.confirm(question, "&Trust\n&Cancel", 2, "Question")) != 1:
        return f"GptTrust: {folder} not trusted (cancelled)", "WARN"
    try:
        argv = [*command(), "trust", str(folder)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"GptTrust: could not run gpt-tools trust {folder}: {exc}", "ERROR"
    said = " ".join((done.stderr + done.stdout).split())
    if done.returncode != 0:
        return f"GptTrust: gpt-tools trust {folder} failed: {said}", "ERROR"
    return f"GptTrust: {said or str(folder) + ': trusted'}", "INFO"
