"""What every front end says when something ends: the failure line with its exit status, and diffs.

`fail()` is the one place a front end turns an exception into a message and a status: the status is
`gpt_tools.errors.exit_status` (by type and code, never by message), the same one the Neovim plugin
asks, so one failure never means two statuses.
"""

from __future__ import annotations

import difflib

from gpt_tools.cli.console import Console
from gpt_tools.errors import GptToolsError, exit_status
from gpt_tools.markdown.textio import split_lines

DIFF_LINES = 60  # per file: enough to see what changes, short enough to read in a terminal


def fail(console: Console, exc: BaseException, *, after: str = "") -> int:
    """Say why the run ended (after: what it left, e.g. "; no file was changed"); its exit status."""
    if isinstance(exc, KeyboardInterrupt):
        console.error(f"interrupted{after}")
    elif isinstance(exc, GptToolsError):
        console.error(f"{exc}{after}")
    else:
        console.error(f"internal error ({type(exc).__name__}: {exc}){after}")
    return exit_status(exc)


def diff(path: str, before: bytes, after: bytes) -> str:
    """A unified diff of one file's fix, cut at DIFF_LINES lines."""
    old = split_lines(before.decode("utf-8"))  # Markdown's lines: str.splitlines also cuts at form feeds
    new = split_lines(after.decode("utf-8"))
    lines = list(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}", n=1))
    shown = "".join(line if line.endswith("\n") else line + "\n" for line in lines[:DIFF_LINES])
    more = f"... ({len(lines) - DIFF_LINES} more diff lines)\n" if len(lines) > DIFF_LINES else ""
    return shown + more
