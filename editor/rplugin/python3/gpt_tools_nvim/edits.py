"""An edits-mode result as buffer changes: each applied edit becomes one `nvim_buf_set_text` call.

The core's offsets are `str` indices (code points) into the text the run was given, the range joined
by "\n" with a final "\n" (`text.lines_to_text`). `nvim_buf_set_text` wants 0-based rows and BYTE
columns (UTF-8), so a column is the UTF-8 length of the line's prefix: not the character count (é, ✓),
and not UTF-16 code units (an emoji is 1 code point, 4 bytes, 2 UTF-16 units). Rows are relative to
the range; the caller adds the range's first line. A unix buffer holding CRLF lines keeps its "\r" at
the end of each line, and an edit's new text carries the document's line breaks, so splitting both on
"\n" keeps the "\r"s where they were.

The changes are applied last to first, so each one's positions still hold when it is made; `check`
replays them on the lines and compares with the core's whole result before anything is touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .text import text_to_lines


@dataclass(frozen=True, kw_only=True)
class Change:
    """One edit as nvim_buf_set_text arguments, rows relative to the range, columns in bytes."""

    start_row: int
    start_col: int
    end_row: int
    end_col: int
    lines: list[str]
    label: str  # `line:col reason: "find" → "replace"`, for the review list (1-based, characters)

    def as_dict(self) -> dict[str, Any]:
        return {
            "start_row": self.start_row,
            "start_col": self.start_col,
            "end_row": self.end_row,
            "end_col": self.end_col,
            "lines": self.lines,
            "label": self.label,
        }


def position(text: str, offset: int) -> tuple[int, int]:
    """(0-based row, byte column) of a str offset into text."""
    row = text.count("\n", 0, offset)
    line_start = text.rfind("\n", 0, offset) + 1
    return row, len(text[line_start:offset].encode("utf-8"))


def quoted(text: str, limit: int | None = 40) -> str:
    """text on one line, in double quotes, cut at limit characters (None: never cut)."""
    flat = text.replace("\r", "\\r").replace("\n", "\\n")
    return f'"{flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"}"'


def change(text: str, start: int, end: int, new: str, label: str) -> Change:
    """The change replacing text[start:end] with new. The final "\n" of text is the end of the last
    line, not a line of its own (the buffer has no row after it): an edit reaching it ends at the end
    of the last line instead, with one "\n" less at the end of new (as text_to_lines would read it)."""
    if end == len(text) and text.endswith("\n"):
        if start == end:  # an insertion after the final newline: a new line after the last one
            new = "\n" + new
            start -= 1
        end -= 1
        new = new.removesuffix("\n")
    start_row, start_col = position(text, start)
    end_row, end_col = position(text, end)
    return Change(
        start_row=start_row, start_col=start_col, end_row=end_row, end_col=end_col, lines=new.split("\n"), label=label
    )


def changes(text: str, applied: Sequence[Any], first_line: int = 1) -> list[Change]:
    """The core's applied edits (PlacedEdit: start, end, new_text, edit) as changes, in document order;
    first_line (1-based) numbers the labels as the buffer does."""
    out = []
    for placed in applied:
        row = text.count("\n", 0, placed.start)
        column = placed.start - (text.rfind("\n", 0, placed.start) + 1)
        edit = placed.edit
        label = f"{first_line + row}:{column + 1} {edit.reason}: {quoted(edit.find)} → {quoted(edit.replace)}"
        out.append(change(text, placed.start, placed.end, placed.new_text, label))
    return out


def replay(lines: Sequence[str], chosen: Sequence[Change]) -> list[str]:
    """lines after the changes, made last to first as nvim_buf_set_text makes them (bytes columns)."""
    buffer = [line.encode("utf-8") for line in lines]
    for item in sorted(chosen, key=lambda c: (c.start_row, c.start_col), reverse=True):
        head = buffer[item.start_row][: item.start_col]
        tail = buffer[item.end_row][item.end_col :]
        new = [line.encode("utf-8") for line in item.lines]
        new[0] = head + new[0]
        new[-1] += tail  # the same line as new[0] when the change spans no line break
        buffer[item.start_row : item.end_row + 1] = new
    return [line.decode("utf-8") for line in buffer]


def plan(text: str, lines: Sequence[str], result: Any, first_line: int = 1) -> list[Change] | None:
    """The changes for an edits-mode result over lines (the range, given to the core as text), or None
    when the result must replace the lines whole instead: document mode, or positions that are not
    into this text, or changes that would not give exactly the core's result (never half an edit)."""
    report = getattr(result, "edits", None)
    if report is None or report.original != text:  # e.g. a BOM the core took off: offsets shifted
        return None
    try:
        planned = changes(text, report.applied, first_line)
        if replay(lines, planned) != text_to_lines(result.text):
            return None
    except (IndexError, UnicodeError):
        return None
    return planned


def refusals(result: Any, first_line: int) -> list[str]:
    """One line per edit the core refused, in full: `line:col: not applied (reason): "find" → "replace": detail`."""
    report = getattr(result, "edits", None)
    if report is None:
        return []
    out = []
    for refusal in report.refused:
        where = ""
        if refusal.start is not None:
            text = report.original
            row = text.count("\n", 0, refusal.start)
            where = f"{first_line + row}:{refusal.start - (text.rfind(chr(10), 0, refusal.start) + 1) + 1}: "
        closest = f" (did you mean {quoted(refusal.closest, None)}?)" if refusal.closest else ""
        edit = refusal.edit
        out.append(
            f"{where}edit not applied ({refusal.reason}): {quoted(edit.find, None)} → {quoted(edit.replace, None)}: "
            f"{refusal.detail}{closest}"
        )
    return out
