"""What every front end says when something ends: the failure line with its exit status, and diffs.

`fail()` is the one place a front end turns an exception into a message and a status: the status is
`gpt_tools.errors.exit_status` (by type and code, never by message), the same one the Neovim plugin
asks, so one failure never means two statuses.
"""

from __future__ import annotations

import difflib
import os
from typing import TYPE_CHECKING, Any

from gpt_tools.cli.console import Console, OutputFailed
from gpt_tools.cli.safe_text import json_text
from gpt_tools.errors import GptToolsError, RunFailed, exit_status
from gpt_tools.markdown.textio import split_lines

if TYPE_CHECKING:  # the run path is imported only when a run happens (gpt-filter's start-up)
    from gpt_tools.core.records import Result

DIFF_LINES = 60  # per file: enough to see what changes, short enough to read in a terminal


def plural(count: int, word: str) -> str:
    """`1 file`, `2 files`, `0 files`: a count and its noun (a regular plural)."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def fail(console: Console, exc: BaseException, *, after: str = "") -> int:
    """Say why the run ended (after: what it left, e.g. "; no file was changed"); its exit status."""
    if isinstance(exc, KeyboardInterrupt):
        console.error(f"interrupted{after}")
    elif isinstance(exc, GptToolsError):
        console.error(f"{exc}{after}")
    elif isinstance(exc, FileNotFoundError) and _cwd_gone():  # os.getcwd() in any layer: say what it means
        console.error(f"the working folder no longer exists (deleted or moved); cd to an existing folder{after}")
    else:
        console.error(f"internal error ({type(exc).__name__}: {exc}){after}")
    return exit_status(exc)


def fail_json(console: Console, exc: BaseException) -> int:
    """`fail()` for a command given --json: the error line, and on stdout one JSON object, `{"status":
    "error", "code": <the exit status>, "error": <its type>, "message": ..., "request_id"?, "result"?}`."""
    status = fail(console, exc)
    if not isinstance(exc, OutputFailed):  # stdout itself failed (a full disk): the error line must do
        console.result(json_text(error_json(exc, status)))
    return status


def error_json(
    exc: BaseException, status: int, *, message: str | None = None, kind: str | None = None
) -> dict[str, Any]:
    """The --json form of a failure; a reply that was paid for but not delivered (`result`) is in it.
    `message` and `kind`: what was said and its class, when the error is not ours (click's usage errors)."""
    from gpt_tools.core.records import Result
    from gpt_tools.redact import redact

    if message is None:
        message = str(exc) if isinstance(exc, GptToolsError) else "interrupted"
    error: dict[str, Any] = {
        "status": "error",
        "code": status,
        "error": kind or type(exc).__name__,
        "message": redact(message),
    }
    if isinstance(exc, RunFailed) and exc.request_id:
        error["request_id"] = exc.request_id
    result = getattr(exc, "result", None)  # TurnNotSaved, and run's -o that could not be written
    if isinstance(result, Result):
        error["result"] = result_json(result)
    return error


def _cwd_gone() -> bool:
    try:
        os.getcwd()
    except FileNotFoundError:
        return True
    return False


def diff(path: str, before: bytes, after: bytes) -> str:
    """A unified diff of one file's fix, cut at DIFF_LINES lines."""
    old = split_lines(before.decode("utf-8"))  # Markdown's lines: str.splitlines also cuts at form feeds
    new = split_lines(after.decode("utf-8"))
    lines = list(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}", n=1))
    shown = "".join(line if line.endswith("\n") else line + "\n" for line in lines[:DIFF_LINES])
    more = f"... ({len(lines) - DIFF_LINES} more diff lines)\n" if len(lines) > DIFF_LINES else ""
    return shown + more


def patch(path: str, before: bytes, after: bytes) -> str:
    """The whole unified diff of one file's fix, as `git apply` and `patch -p1` take it (3 lines of
    context; a last line without a newline marked `\\ No newline at end of file`). Lines are cut at
    LF only, as git and patch(1) cut them: a CR-only file (old Mac) is one line to them, and a line
    ending in a lone CR would run into the next line of the patch."""
    old = _lf_lines(before.decode("utf-8"))
    new = _lf_lines(after.decode("utf-8"))
    out: list[str] = []
    for line in difflib.unified_diff(old, new, _git_name(f"a/{path}"), _git_name(f"b/{path}"), n=3):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _lf_lines(text: str) -> list[str]:
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


_GIT_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\"}


def _git_name(name: str) -> str:
    """A file name in a patch header as git writes it (quote_c_style): a name holding a newline, a
    quote, a backslash, a control or a non-ASCII byte is quoted and escaped, so it can never end the
    header and forge another (`x.md\\n+++ b/other.md`); `git apply` reads it back byte for byte."""
    raw = name.encode("utf-8", "surrogateescape")  # a name that is not UTF-8: its own bytes
    if all(0x20 <= byte < 0x7F and byte not in (34, 92) for byte in raw):
        return name
    quoted = "".join(_GIT_ESCAPES.get(byte, chr(byte) if 0x20 <= byte < 0x7F else f"\\{byte:03o}") for byte in raw)
    return f'"{quoted}"'


def refused_edits(console: Console, result: Result, *, where: str = "") -> None:
    """Each edit the model proposed and the checks refused, one line on the message channel (never in
    the result: Vim's buffer, stdout): `[where:]line:col: refused (reason): "find" -> "replace" (detail)`."""
    from gpt_tools.markdown.edits import line_col

    if result.edits is None:
        return
    for refusal in result.edits.refused:
        place = ":".join(map(str, line_col(result.edits.original, refusal.start))) if refusal.start is not None else ""
        prefix = ":".join(part for part in (where, place) if part)
        edit = refusal.edit
        console.message(
            f"{prefix + ': ' if prefix else ''}edit not applied ({refusal.reason}): "
            f"{_quoted(edit.find)} -> {_quoted(edit.replace)}: {refusal.detail}"
        )


def _quoted(text: str) -> str:
    from gpt_tools.markdown.edit_protocol import quoted  # not at module level: report.py is on every start-up

    return quoted(text, 60)


def result_json(result: Result) -> dict[str, Any]:
    """A Result for --json: its fields, with the edits (applied and refused, reasons, line/col) as a list."""
    from dataclasses import asdict

    data = asdict(result)
    data["edits"] = result.edits.to_json() if result.edits is not None else None
    return data
