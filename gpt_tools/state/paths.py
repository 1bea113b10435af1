"""Every place on disk gpt-tools reads or writes, and the one rule for where a project's root is.

The user's folders come from platformdirs (imported here only), so $XDG_CONFIG_HOME, $XDG_STATE_HOME,
$XDG_DATA_HOME and $XDG_CACHE_HOME move them; $GPT_TOOLS_CONFIG names the project config and
$GPT_TOOLS_RUN_LOG the run log. Each location is computed when asked, never at import: the environment
of a long-lived process (an editor's host, a test) may change between calls.

    user config       <config>/gpt-tools/config.toml (also where `gpt-tools trust` records projects)
    log file          <state>/gpt-tools/gpt-tools.log
    conversations     <state>/gpt-tools/conversations/
    batch records     <state>/gpt-tools/batches/
    locks             <state>/gpt-tools/locks/ (config edits, knowledge state files: never in a project)
    chat history      <state>/gpt-tools/chat_history
    run log           <data>/gpt-tools/runs.sqlite3, or $GPT_TOOLS_RUN_LOG
    result cache      <cache>/gpt-tools/results/
    project config    gpt-tools.toml or pyproject.toml's [tool.gpt-tools], nearest at or above the
                      working directory, or $GPT_TOOLS_CONFIG
    knowledge state   .gpt-tools-state.json at a project's root (its lock is under locks/)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

import platformdirs

APP = "gpt-tools"
PROJECT_FILE = "gpt-tools.toml"
PYPROJECT_FILE = "pyproject.toml"
STATE_FILE = ".gpt-tools-state.json"

Kind = Literal["config", "state", "data", "cache"]
_FINDERS = {
    "config": platformdirs.user_config_dir,
    "state": platformdirs.user_state_dir,
    "data": platformdirs.user_data_dir,
    "cache": platformdirs.user_cache_dir,
}


def app_dir(kind: Kind) -> Path:
    """gpt-tools' own folder in the user's config, state, data or cache dir: the first one it owns."""
    return Path(_FINDERS[kind](APP, appauthor=False))


def user_config_file() -> Path:
    return app_dir("config") / "config.toml"


def explicit_config_file() -> Path | None:
    """The project config named by $GPT_TOOLS_CONFIG (searched for no further), if set."""
    explicit = os.environ.get("GPT_TOOLS_CONFIG")
    return Path(explicit).expanduser() if explicit else None


def log_file() -> Path:
    return app_dir("state") / "gpt-tools.log"


def conversations_dir() -> Path:
    return app_dir("state") / "conversations"


def batches_dir() -> Path:
    return app_dir("state") / "batches"


def locks_dir() -> Path:
    return app_dir("state") / "locks"


def config_lock(config: Path) -> Path:
    """The lock every edit of the config file at `config` takes: keyed by its real path, outside the repository."""
    digest = hashlib.sha256(os.fsencode(os.path.realpath(config))).hexdigest()[:32]
    return locks_dir() / f"config-{digest}.lock"


def chat_history() -> Path:
    return app_dir("state") / "chat_history"


def run_log() -> Path:
    override = os.environ.get("GPT_TOOLS_RUN_LOG")
    return Path(override) if override else app_dir("data") / "runs.sqlite3"


def results_cache() -> Path:
    return app_dir("cache") / "results"


def state_file(root: Path) -> Path:
    """The knowledge state file of the project (or user config folder) at root."""
    return root / STATE_FILE


def state_lock(root: Path) -> Path:
    """The lock of root's state file: in the state dir, keyed by the real path, so a project (its git
    status, its .gitignore) never sees a lock file."""
    digest = hashlib.sha256(os.fsencode(os.path.realpath(state_file(root)))).hexdigest()[:32]
    return locks_dir() / f"state-{digest}.lock"


def project_root(config_root: Path | None, cwd: Path) -> Path:
    """The one rule for a project's root: its config's folder, else the enclosing git root, else cwd.

    `config_root` is the folder of the project config in effect (Config.project_root), None without one.
    """
    if config_root is not None:
        return config_root
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return cwd
