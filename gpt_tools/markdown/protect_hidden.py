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
import functools
import re
from collections.abc import Sequence
from dataclasses import replace

from gpt_tools.markdown import protect, protect_optout
from gpt_tools.markdown.edit_guard import splice
from gpt_tools.markdown.edits import EditResult, Place, PlacedEdit, RefusedEdit, line_col
from gpt_tools.markdown.locate import line_starts

Span = tuple[int, int]
_BREAK = re.compile(r"\r\n|\r|\n")


def hide(body: str) -> protect.Masked:
    """body with each opt-out region replaced by its marker (nothing else masked)."""
    return protect.mask(body, everything=False)


def marker_spans(hidden: protect.Masked, text: str) -> list[Span]:
    """Where hidden's markers are in text (hidden.text or a chunk of it), for the edits engine to protect:
    each with the rest of its line, since the list marker, quote or indent before it is the region's
    first bytes and the line break after it its last."""
    if not hidden.regions:
        return []
    tokens = {region.token for region in hidden.regions}
    spans = []
    for found in hidden.pattern.finditer(text):
        if found.group(0) in tokens:
            start = max(text.rfind("\n", 0, found.start()), text.rfind("\r", 0, found.start())) + 1
            ending = _BREAK.match(text, found.end())
            spans.append((start, ending.end() if ending else found.end()))
    return spans


def _tokens(hidden: protect.Masked, text: str) -> list[Span]:
    tokens = {region.token for region in hidden.regions}
    return [(found.start(), found.end()) for found in hidden.pattern.finditer(text) if found.group(0) in tokens]


class _Offsets:
    """Maps an offset into hidden.text to the original's: each marker before it gave back its region."""

    def __init__(self, hidden: protect.Masked) -> None:
        by_token = {region.token: region for region in hidden.regions}
        self.markers = [(s, e, by_token[hidden.text[s:e]].original) for s, e in _tokens(hidden, hidden.text)]
        self.starts = [start for start, _, _ in self.markers]
        self.grown = [0]  # how much longer the original is than hidden.text before each marker's end
        for start, end, original in self.markers:
            self.grown.append(self.grown[-1] + len(original) - (end - start))

    def original(self, offset: int, *, end: bool) -> int:
        i = bisect.bisect_right(self.starts, offset) - 1  # the last marker starting at or before offset
        if i >= 0 and self.markers[i][0] < offset < self.markers[i][1]:  # inside a marker: its region's edge
            start, _, original = self.markers[i]
            return start + self.grown[i] + (len(original) if end else 0)
        before = i + 1 if i >= 0 and offset >= self.markers[i][1] else i if i >= 0 else 0
        return offset + self.grown[before]

    def body(self, hidden: protect.Masked) -> str:
        """hidden.text with every region back: the document as the user has it."""
        pieces, cursor = [], 0
        for start, end, original in self.markers:
            pieces += [hidden.text[cursor:start], original]
            cursor = end
        return "".join(pieces) + hidden.text[cursor:]


def places(hidden: protect.Masked, chunks: Sequence[str]) -> list[Place]:
    """Where each chunk of hidden.text sits in the original, for refusals to name: an offset into it as a
    line of the document the user has (a marker counts the lines of the region it stands for), and its
    spans that are none of its own regions (the markers) named as opt-out regions."""
    offsets = _Offsets(hidden) if hidden.regions else None
    starts = line_starts(offsets.body(hidden) if offsets else hidden.text)
    found, at = [], 0
    for chunk in chunks:
        found.append(Place(line_of=functools.partial(_line, starts, offsets, at), kind=protect_optout.KIND))
        at += len(chunk)
    return found


def _line(starts: Sequence[int], offsets: _Offsets | None, chunk_start: int, offset: int) -> int:
    at = chunk_start + offset
    return bisect.bisect_right(starts, offsets.original(at, end=False) if offsets else at)


def reveal(result: EditResult, hidden: protect.Masked) -> EditResult:
    """result (its text and offsets in hidden.text) with every region back and offsets into the original.

    No applied edit touches a marker's line (they are protected), so each applies to the original as it
    did to hidden.text. Two kinds are refused here, as `protected`: an edit that writes a marker (text
    standing for nothing it could see), and one that, though it touches no region, would make one stop
    being a region (a fence opened before it, text joined to its first line, a new `off` above it)."""
    if not hidden.regions:
        return result
    offsets = _Offsets(hidden)
    body = offsets.body(hidden)
    applied = [
        replace(p, start=offsets.original(p.start, end=False), end=offsets.original(p.end, end=True))
        for p in result.applied
    ]
    refused = [
        replace(r, start=offsets.original(r.start, end=False), end=offsets.original(r.end or r.start, end=True))
        if r.start is not None
        else r
        for r in result.refused
    ]
    writes = [p for p in applied if hidden.pattern.search(p.new_text)]
    refused += [_refusal(p, _WRITES) for p in writes]
    applied, broken = _keeping_regions(body, [p for p in applied if p not in writes])
    text = splice(body, [(p.start, p.end, p.new_text) for p in applied])
    return EditResult(text=text, applied=tuple(applied), refused=(*refused, *broken))


_WRITES = "it writes a marker of the kind that stands for an opt-out region, which it cannot see"
_BUDGET = 12  # re-parses one reply may cost when its edits break regions; past that, the rest are refused


def _refusal(placed: PlacedEdit, detail: str) -> RefusedEdit:
    return RefusedEdit(edit=placed.edit, reason="protected", detail=detail, start=placed.start, end=placed.end)


def _keeping_regions(body: str, applied: list[PlacedEdit]) -> tuple[list[PlacedEdit], list[RefusedEdit]]:
    """applied without the edits that would make an opt-out region of body stop being one: for each
    region lost, the last edit before it (else the first) is refused, and the rest checked again."""
    refused: list[RefusedEdit] = []
    for _ in range(_BUDGET):
        if not applied:
            break
        lost = protect_optout.lost(body, splice(body, [(p.start, p.end, p.new_text) for p in applied]))
        if lost is None:
            return applied, refused
        at = protect_optout.spans(body)[lost][0]
        before = [p for p in applied if p.start <= at]
        culprit = before[-1] if before else applied[0]
        line = line_col(body, at)[0]
        refused.append(_refusal(culprit, _BREAKS.format(line=line)))
        applied = [p for p in applied if p is not culprit]
    else:
        refused += [_refusal(p, _BREAKS.format(line="?")) for p in applied]
        applied = []
    return applied, refused


_BREAKS = (
    "it would change what the opt-out region (<!-- gpt-tools: off -->) of line {line} is (open code "
    "around it, join text to its first line, or start a region before it), though it does not touch its text"
)
