"""A text's prose blocks (paragraphs, headings, list items, table rows) and its words, for the content
guard (fidelity.py) to align and judge. Protected-region markers are not prose and are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MARKER = re.compile("[⟦⟪〚⦃][A-Z][0-9]+[⟧⟫〛⦄]")
WORD = re.compile(r"[^\W_]+")
_BLANK = re.compile(r"^[ \t>]*$")  # a blank line, also inside a block quote
_HEADING = re.compile(r"^ {0,3}(?:>[ \t]?)*#{1,6}(?:[ \t]|$)")
_ITEM = re.compile(r"^[ \t]*(?:>[ \t]?)*(?:[-+*]|\d{1,9}[.)])[ \t]+")
_ROW = re.compile(r"^[ \t]*(?:>[ \t]?)*\|")  # a table row: dropping rows is losing content too
_ONE_LINE = ("heading", "table row")


@dataclass(frozen=True, kw_only=True)
class Block:
    kind: str  # "paragraph", "heading", "list item" or "table row"
    text: str
    start: int  # index of its first word in the text's word list
    end: int  # one past its last word


def blocks(text: str) -> tuple[list[Block], list[str]]:
    """The text's prose blocks that hold words, and all its words in order (lower-cased)."""
    found: list[Block] = []
    words: list[str] = []
    current: list[str] = []
    kind = "paragraph"

    def close() -> None:
        body = _MARKER.sub(" ", "".join(current))
        own = [w.lower() for w in WORD.findall(body)]
        if own:
            found.append(Block(kind=kind, text=" ".join(body.split()), start=len(words), end=len(words) + len(own)))
            words.extend(own)
        current.clear()

    for line in text.splitlines(keepends=True):
        if _BLANK.match(line):
            close()
            kind = "paragraph"
            continue
        starts = _starts(line)
        if starts or kind in _ONE_LINE:
            close()
            kind = starts or "paragraph"
        current.append(line)
    close()
    return found, words


def _starts(line: str) -> str | None:
    """The kind of block this line starts, if it starts one without a blank line before it."""
    if _HEADING.match(line):
        return "heading"
    if _ITEM.match(line):
        return "list item"
    return "table row" if _ROW.match(line) else None
