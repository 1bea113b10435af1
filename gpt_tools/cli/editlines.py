"""Edits as lines a terminal, an editor's quickfix list or CI can read: `path:line:col: reason: "find" → "replace"`.

The ruff/flake8 shape: one line per edit, 1-based line and column counted in characters (a tab, an
emoji and a CJK character are one column each; `\\r\\n` ends a line like `\\n`), positions into the
document as sent (without its BOM). Quotes are JSON's, so a newline or a quote inside `find` stays on
one line and the line stays parseable.
"""

from __future__ import annotations

from collections.abc import Sequence

from gpt_tools.core.records import EditReport
from gpt_tools.markdown.edit_protocol import find_to_replace
from gpt_tools.markdown.edit_protocol import quoted as quoted
from gpt_tools.markdown.edits import PlacedEdit, RefusedEdit, line_col
from gpt_tools.markdown.locate import line_starts

LINE_LIMIT = 160  # characters of a fixed line shown: a paragraph on one line is cut around its edit
LINE_BEFORE = 40  # of which before the edit


def _place(path: str, text: str, offset: int | None) -> str:
    if offset is None:  # never located (not found, ambiguous): the file, not a place in it
        return path
    line, column = line_col(text, offset)
    return f"{path}:{line}:{column}"


def applied_line(path: str, text: str, placed: PlacedEdit) -> str:
    """`path:line:col: reason: "find" → "replace"` for an edit that applies."""
    edit = placed.edit
    return f"{_place(path, text, placed.start)}: {edit.reason}: {find_to_replace(edit.find, edit.replace)}"


def refused_line(path: str, text: str, refusal: RefusedEdit) -> str:
    """The same shape for an edit the checks refused, with why (its position where it was found)."""
    edit = refusal.edit
    closest = f" (did you mean {quoted(refusal.closest)}?)" if refusal.closest else ""
    return (
        f"{_place(path, text, refusal.start)}: not applicable ({refusal.reason}): "
        f"{find_to_replace(edit.find, edit.replace)}: {refusal.detail}{closest}"
    )


def fixed_lines(text: str, applied: Sequence[PlacedEdit]) -> list[str]:
    """For each applied edit (in document order), the line it starts on as it reads once every edit is
    applied, without its line break: what the user gets, shown under the edit."""
    pieces, delta, new_starts, last = [], 0, [], 0
    for placed in applied:
        pieces += [text[last : placed.start], placed.new_text]
        new_starts.append(placed.start + delta)
        delta += len(placed.new_text) - (placed.end - placed.start)
        last = placed.end
    fixed = "".join(pieces) + text[last:]
    starts = line_starts(fixed)
    shown = []
    for start in new_starts:
        line, column = line_col(fixed, start)
        end = starts[line] if line < len(starts) else len(fixed)
        shown.append(_window(fixed[starts[line - 1] : end].rstrip("\r\n"), column - 1))
    return shown


def _window(line: str, at: int) -> str:
    """line, or LINE_LIMIT characters of it around index at, with … where it was cut."""
    if len(line) <= LINE_LIMIT:
        return line
    first = max(0, min(at - LINE_BEFORE, len(line) - LINE_LIMIT))
    cut = line[first : first + LINE_LIMIT]
    return ("…" if first else "") + cut + ("…" if first + LINE_LIMIT < len(line) else "")


def edit_lines(path: str, report: EditReport, *, with_fixed_line: bool = True) -> list[str]:
    """Every edit of one file: applied ones in document order (each optionally followed by its fixed
    line, indented), then refused ones in the reply's order."""
    text = report.original
    out: list[str] = []
    fixed = fixed_lines(text, report.applied) if with_fixed_line else []
    for index, placed in enumerate(report.applied):
        out.append(applied_line(path, text, placed))
        if with_fixed_line:
            out.append("    " + fixed[index])
    out += [refused_line(path, text, refusal) for refusal in report.refused]
    return out


def edits_summary(applied: int, files: int, refused: int) -> str:
    """The edits line of a summary, e.g. `3 edits in 2 files; 1 not applicable`."""
    edits = f"{applied} edit{'' if applied == 1 else 's'} in {files} file{'' if files == 1 else 's'}"
    return f"{edits}; {refused} not applicable" if refused else edits
