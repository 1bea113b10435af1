r"""Buffer lines <-> the text the core takes, and the smallest replacement between two line lists.

Neovim hands a buffer over as lines without their line breaks; a NUL byte in the file arrives as "\0"
inside a line. A 'fileformat=dos' buffer has no "\r" in its lines (Neovim writes them back); a unix
buffer holding CRLF lines keeps the "\r" at the end of each line, so the core sees CRLF text and
answers in CRLF (the core keeps the input's line endings), which splits back into the same kind of lines.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence


class RangeRefused(ValueError):
    """The lines cannot be sent as they are; nothing is sent and the buffer is left alone."""


def lines_to_text(lines: Sequence[str], first_line: int) -> str:
    """The range as the core's text: every line ends with a newline, as in the file."""
    for offset, line in enumerate(lines):
        if "\0" in line or "\n" in line:  # the API gives a NUL byte as "\0" (internally it is "\n")
            raise RangeRefused(f"line {first_line + offset} holds a NUL byte (binary data); nothing was sent")
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            raise RangeRefused(f"line {first_line + offset} is not valid UTF-8; nothing was sent") from None
    return "\n".join(lines) + "\n"


def text_to_lines(text: str) -> list[str]:
    """The core's text as buffer lines: the final newline ends the last line, it adds no line."""
    return (text[:-1] if text.endswith("\n") else text).split("\n")


def replacement(old: Sequence[str], new: Sequence[str]) -> tuple[int, int, list[str]] | None:
    """(start, end, lines): replace old[start:end] with lines to turn old into new; None if equal.

    Lines the result shares with the original at both ends are left alone, so marks, folds and the
    cursor on them stay put; the rest is still one change, hence one undo step.
    """
    if list(old) == list(new):
        return None
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    tail = 0
    while tail < limit - start and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]:
        tail += 1
    return start, len(old) - tail, list(new[start : len(new) - tail])


def _counts(old: Sequence[str], new: Sequence[str]) -> tuple[int, int, int]:
    """(changed, added, removed) lines by difflib's matching blocks."""
    changed = added = removed = 0
    for tag, a_start, a_end, b_start, b_end in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        left, right = a_end - a_start, b_end - b_start
        if tag == "replace":
            changed += min(left, right)
            added += max(right - left, 0)
            removed += max(left - right, 0)
        elif tag == "insert":
            added += right
        elif tag == "delete":
            removed += left
    if len(old) == len(new):  # repeated lines (blank ones) can mislead the matcher: line by line may say less
        in_place = sum(1 for a, b in zip(old, new, strict=True) if a != b)
        if in_place <= changed + added + removed:
            return in_place, 0, 0
    return changed, added, removed


def changed_lines(old: Sequence[str], new: Sequence[str]) -> str:
    """What turning old into new did, for the success message: "5 line(s) changed", "2 line(s) changed,
    1 added, 3 removed", "1 line(s) added" (never the span's length: unchanged lines between count not)."""
    changed, added, removed = _counts(old, new)
    parts = [f"{changed} line(s) changed"] if changed else []
    if added:
        parts.append(f"{added} added" if parts else f"{added} line(s) added")
    if removed:
        parts.append(f"{removed} removed" if parts else f"{removed} line(s) removed")
    return ", ".join(parts) or "no lines changed"
