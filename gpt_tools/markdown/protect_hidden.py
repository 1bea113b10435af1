"""Edits mode's one hidden kind: opt-out regions go out as markers, never as their text.

Edits mode sends a document raw (edits.py: a `find` is copied from what the model saw), except for
its opt-out regions (protect_optout.py): the author asked for them to be left alone, so the model is
not sent them either. Each becomes one block marker (protect.mask(everything=False)); the edits are
located and applied in that text, with every marker protected like a region (an edit touching one is
refused as `protected`), then reveal() puts each region back and moves every offset into the
original document, so reports, editors and the language server see positions in what the user has.
"""

from __future__ import annotations

import bisect
from dataclasses import replace

from gpt_tools.markdown import protect
from gpt_tools.markdown.edits import EditResult

Span = tuple[int, int]


def hide(body: str) -> protect.Masked:
    """body with each opt-out region replaced by its marker (nothing else masked)."""
    return protect.mask(body, everything=False)


def marker_spans(hidden: protect.Masked, text: str) -> list[Span]:
    """Where hidden's markers are in text (hidden.text or a chunk of it), for the edits engine to protect."""
    if not hidden.regions:
        return []
    tokens = {region.token for region in hidden.regions}
    return [(found.start(), found.end()) for found in hidden.pattern.finditer(text) if found.group(0) in tokens]


class _Offsets:
    """Maps an offset into hidden.text to the original's: each marker before it gave back its region."""

    def __init__(self, hidden: protect.Masked) -> None:
        by_token = {region.token: region for region in hidden.regions}
        self.markers = [(s, e, len(by_token[hidden.text[s:e]].original)) for s, e in marker_spans(hidden, hidden.text)]
        self.starts = [start for start, _, _ in self.markers]
        self.grown = [0]  # how much longer the original is than hidden.text before each marker's end
        for start, end, size in self.markers:
            self.grown.append(self.grown[-1] + size - (end - start))

    def original(self, offset: int, *, end: bool) -> int:
        i = bisect.bisect_right(self.starts, offset) - 1  # the last marker starting at or before offset
        if i >= 0 and self.markers[i][0] < offset < self.markers[i][1]:  # inside a marker: its region's edge
            start, _, size = self.markers[i]
            return start + self.grown[i] + (size if end else 0)
        before = i + 1 if i >= 0 and offset >= self.markers[i][1] else i if i >= 0 else 0
        return offset + self.grown[before]


def reveal(result: EditResult, hidden: protect.Masked) -> EditResult:
    """result (its text and offsets in hidden.text) with every region back and offsets into the original."""
    if not hidden.regions:
        return result
    offsets = _Offsets(hidden)
    by_token = {region.token: region for region in hidden.regions}
    # No applied edit touches a marker (they are protected): each moved by the edits before it.
    growth = [(placed.end, len(placed.new_text) - (placed.end - placed.start)) for placed in result.applied]
    pieces, cursor = [], 0
    for start, end, _ in offsets.markers:
        at = start + sum(change for edit_end, change in growth if edit_end <= start)
        pieces += [result.text[cursor:at], by_token[hidden.text[start:end]].original]
        cursor = at + (end - start)
    text = "".join(pieces) + result.text[cursor:]
    applied = tuple(
        replace(p, start=offsets.original(p.start, end=False), end=offsets.original(p.end, end=True))
        for p in result.applied
    )
    refused = tuple(
        replace(r, start=offsets.original(r.start, end=False), end=offsets.original(r.end or r.start, end=True))
        if r.start is not None
        else r
        for r in result.refused
    )
    return EditResult(text=text, applied=applied, refused=refused)
