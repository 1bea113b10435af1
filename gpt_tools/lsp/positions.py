"""Offsets into a document's text (Python str indices) as LSP positions, and back.

A position's line counts `\\n`, `\\r\\n` and `\\r` as line ends (the protocol's rule, and locate.py's);
its character counts code units of the encoding agreed at initialize: UTF-16 unless the client offered
UTF-8 or UTF-32 first. So an astral-plane character (an emoji) is 2 columns in UTF-16, 4 in UTF-8, 1 in
UTF-32, and a CRLF line's columns never include the `\\r`.
"""

from __future__ import annotations

import bisect
import re

from lsprotocol import types

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _units(text: str, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


class Positions:
    """One text's line starts, computed once: a document with many edits asks for many positions."""

    def __init__(self, text: str, encoding: str = types.PositionEncodingKind.Utf16) -> None:
        self.text = text
        self.encoding = encoding
        self.starts = (0, *(m.end() for m in _LINE_BREAK.finditer(text)))

    def position(self, offset: int) -> types.Position:
        line = bisect.bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        return types.Position(line=line, character=_units(self.text[start:offset], self.encoding))

    def range(self, start: int, end: int) -> types.Range:
        return types.Range(start=self.position(start), end=self.position(end))

    def _line_end(self, line: int) -> int:
        """Where line's text ends, before its line break (the protocol never points inside one)."""
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        body = self.text[self.starts[line] : end]
        return self.starts[line] + len(body.rstrip("\r\n"))

    def offset(self, position: types.Position) -> int:
        """The offset of position; a line or column past the end is clamped (as the protocol asks)."""
        if position.line >= len(self.starts):
            return len(self.text)
        start, end = self.starts[position.line], self._line_end(position.line)
        units = 0
        for index in range(start, end):
            if units >= position.character:
                return index
            units += _units(self.text[index], self.encoding)
        return end
