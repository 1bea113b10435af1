"""The log file under the user's state dir: where messages go that must not reach a Vim buffer."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

LOG_LIMIT = 1_000_000  # bytes; the log rolls over to .1 past this


def log_path() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("gpt-tools", appauthor=False)) / "gpt-tools.log"


def append_log(program: str, message: str) -> None:
    """Add one line to the log file; logging must never turn a handled failure into a crash."""
    try:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > LOG_LIMIT:
            path.replace(path.with_suffix(".log.1"))
        stamp = datetime.now().astimezone().isoformat(timespec="seconds")
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"{stamp} {program}[{os.getpid()}] {message}\n")
    except OSError:
        pass
