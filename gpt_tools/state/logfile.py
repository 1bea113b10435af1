"""The log file under the user's state dir: where messages go that must not reach a Vim buffer.

Its lines quote errors about the user's texts, so it is private (0600 in a 0700 folder, an older
looser one tightened), and every line loses the process's secrets first (redact.py).
"""

from __future__ import annotations

import os
from datetime import datetime

from gpt_tools.redact import redact
from gpt_tools.state import paths
from gpt_tools.state.private import open_private, private_dir, private_file

LOG_LIMIT = 1_000_000  # bytes; the log rolls over to .1 past this


def append_log(program: str, message: str) -> None:
    """Add one line to the log file; logging must never turn a handled failure into a crash."""
    try:
        path = paths.log_file()
        private_dir(path.parent, owned_below=paths.app_dir("state"))
        if path.exists() and path.stat().st_size > LOG_LIMIT:
            rolled = path.with_suffix(".log.1")
            path.replace(rolled)
            private_file(rolled)  # a log of an older version may have been 0644
        stamp = datetime.now().astimezone().isoformat(timespec="seconds")
        line = redact(f"{stamp} {program}[{os.getpid()}] {message}\n")
        fd = open_private(path, os.O_WRONLY | os.O_APPEND)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(line)
    except OSError:
        pass
