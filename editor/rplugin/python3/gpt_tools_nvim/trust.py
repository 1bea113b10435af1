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
from dataclasses import dataclass
from pathlib import Path

from pynvim import Nvim

from . import core

WHAT = (
    "Its config may then choose where your API key and documents go (base_url, api_key_env, api_key_cmd, "
    "auth_header, store, files outside it) and what your run log keeps (log_texts, run_log, [prices])."
)


@dataclass(frozen=True, kw_only=True)
class Project:
    """What :GptTrust would trust: the folder of the project config, and what trust would let it set."""

    folder: Path
    gated: tuple[str, ...] = ()  # the trust-gated keys its config sets
    changed: tuple[str, ...] = ()  # what changed since it was trusted ("base_url changed")


def project_of(cwd: str) -> Project | None:
    """The project cwd is in (None: no project config above cwd), as the core's trust sees it."""
    gpt = core.load()
    try:
        config = core.listing_config(cwd)
    except gpt.ConfigError as exc:
        if getattr(exc, "advice", None) is None:  # a malformed file: no trust can fix it
            raise
        return Project(folder=Path(exc.path).parent, gated=(exc.key,) if exc.key else ())
    standing = getattr(config, "trust_state", None)
    if standing is not None:
        return Project(folder=Path(standing.path).parent, gated=tuple(standing.gated), changed=tuple(standing.changed))
    root = config.project_root
    return Project(folder=Path(root)) if root is not None else None


def question(project: Project) -> str:
    """What :GptTrust asks: the folder, what its config sets now, what trust lets it do."""
    sets = f" Its config sets {', '.join(project.gated)}." if project.gated else " Its config sets none of them now."
    changed = f" Changed since you trusted it: {', '.join(project.changed)}." if project.changed else ""
    return f"Trust the project {project.folder}?\n{WHAT}{sets}{changed}"


def command() -> list[str]:
    """`gpt-tools` next to the host's Python (the install the plugin imports), else on $PATH."""
    here = Path(sys.executable).parent / "gpt-tools"
    found = str(here) if os.access(here, os.X_OK) else shutil.which("gpt-tools")
    if found is None:
        raise FileNotFoundError(f"the gpt-tools command (not next to {sys.executable}, not on $PATH)")
    return [found]


def trust_project(nvim: Nvim, cwd: str, *, ask: bool) -> tuple[str, str]:
    """(message, level) after trusting (or not) the project of cwd; asks first unless ask is False."""
    project = project_of(cwd)
    if project is None:
        return f"GptTrust: no project config (gpt-tools.toml, pyproject.toml) above {cwd}; nothing to trust", "WARN"
    folder = project.folder
    if ask and int(nvim.funcs.confirm(question(project), "&Trust\n&Cancel", 2, "Question")) != 1:
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
