"""The edit protocol: a rewriting assistant returns find/replace edits, and the client applies them strictly.

The model sees the document **raw**, protected regions unmasked: prose next to code reads better with
the code in view, and a `find` must be copied from what the model saw. Protection moves to the
applier instead: an edit whose span touches front matter, a code block, inline code, a URL or HTML is
refused, never applied. Refused edits are reported with their reason; the valid ones are applied
together against the original, so every byte outside their spans stays as it was by construction.

Decisions (documented for the front ends):
- An empty `find` matches everywhere: refused as `ambiguous`.
- Edits whose spans overlap are all refused (`overlap`): which one the model meant cannot be known. An
  exact repeat of an earlier edit (same span, same replacement) is the one exception: the first is
  applied, the repeats refused as `overlap`. Edits refused for another reason take no part in overlaps.
- A loose match (whitespace, quote style, dashes: see locate.py) keeps the original's characters where
  the model kept its `find` unchanged, so it never restyles quotes or re-wraps lines it did not mean to;
  an edit that then changes nothing is `no_op`.
- Line breaks the model writes are given the document's line break (the one that ends the edit's line).
- An edit that touches no protected byte but would change what a protected region is (a fence typed
  into prose, a blank line deleted before indented code) is refused as `protected` (edit_guard.py);
  results assembled from chunks are checked whole with keep_structure().
- The BOM is a protected region; a `find` matching in several places is reported with up to 10 of them.
- An edit whose replace adds prose of its own (a paragraph, a note or sentence glued on) is `invents`
  (edit_content.py): the counterpart of the rewrite content guard.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from gpt_tools.markdown import edit_guard, locate
from gpt_tools.markdown.edit_content import added_prose

# The protocol's names are public here too: edits.py is the edit API's one module for its callers.
from gpt_tools.markdown.edit_protocol import EDIT_INSTRUCTIONS as EDIT_INSTRUCTIONS
from gpt_tools.markdown.edit_protocol import EDITS_SCHEMA as EDITS_SCHEMA
from gpt_tools.markdown.edit_protocol import SCHEMA_NAME as SCHEMA_NAME
from gpt_tools.markdown.edit_protocol import Edit as Edit
from gpt_tools.markdown.edit_protocol import EditResult as EditResult
from gpt_tools.markdown.edit_protocol import PlacedEdit as PlacedEdit
from gpt_tools.markdown.edit_protocol import RefusalReason as RefusalReason
from gpt_tools.markdown.edit_protocol import RefusedEdit as RefusedEdit
from gpt_tools.markdown.edit_protocol import edits_to_json as edits_to_json
from gpt_tools.markdown.edit_protocol import parse_edits as parse_edits
from gpt_tools.markdown.locate import line_col as line_col
from gpt_tools.markdown.locate import line_starts
from gpt_tools.markdown.locate import utf16_position as utf16_position
from gpt_tools.markdown.textio import majority_ending


def protected_spans(text: str) -> list[tuple[int, int]]:
    """Front matter, code blocks, inline code, URLs, HTML... of text (via markdown.protect), in order."""
    return [(start, end) for start, end, _ in edit_guard.regions(text)]


@dataclass(kw_only=True)
class _Context:
    """What every edit of one reply is located against: the original, folded once, and its lines."""

    original: str
    folded: locate.Folded
    line_starts: tuple[int, ...]
    line_of: Callable[[int], int] | None  # a chunk's offset -> its line in the whole document
    protected: list[tuple[int, int, str]]  # sorted by start
    own_regions: list[tuple[int, int, str]]  # protect's finders on this text: what must survive the edits
    protected_ends: list[int]  # running maximum of the ends, for bisecting
    closest_budget: int = 8  # missing finds that get a "did you mean" (each costs difflib work)
    located: dict[str, locate.Located] = field(default_factory=dict)  # a hostile reply repeats its finds

    def locate(self, find: str) -> locate.Located:
        if find not in self.located:
            self.located[find] = locate.locate(self.original, self.folded, find)
        return self.located[find]

    def line(self, offset: int) -> int:
        return self.line_of(offset) if self.line_of else bisect.bisect_right(self.line_starts, offset)

    def lines(self, spans: Sequence[tuple[int, int]]) -> str:
        return ", ".join(str(self.line(start)) for start, _ in spans)

    def touched(self, start: int, end: int) -> tuple[int, int, str] | None:
        """The first protected region that shares a character with original[start:end]."""
        i = bisect.bisect_left(self.protected_ends, start + 1)  # first region ending after start
        if i < len(self.protected) and self.protected[i][0] < end:
            return self.protected[i]
        return None


_LINE_START = re.compile(r"\r\n|\r(?!\n)|\n")


def _context(original: str, protected: Sequence[tuple[int, int]] | None, place: Place | None = None) -> _Context:
    """The context of one reply; protection off (no regions, no structure check) when protected is empty."""
    found = edit_guard.regions(original) if protected is None or protected else []
    if protected is None:
        regions = found
    else:  # the caller's spans (e.g. a chunk's share of the document's), named by our own where they agree
        kinds = {(start, end): kind for start, end, kind in found}
        other = place.kind if place else "protected region"
        regions = [(s, e, kinds.get((s, e), other)) for s, e in protected]
        found = _within(found, sorted(protected))  # only what the caller protects must survive (protect = false)
    regions = sorted(region for region in regions if region[1] > region[0])
    ends: list[int] = []
    for _, end, _ in regions:
        ends.append(max(end, ends[-1]) if ends else end)
    return _Context(
        original=original,
        folded=locate.fold(original),
        line_starts=line_starts(original),
        line_of=place.line_of if place else None,
        protected=regions,
        protected_ends=ends,
        own_regions=found,
    )


def _within(found: list[tuple[int, int, str]], spans: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """The regions of found that share a character with one of spans (sorted), e.g. only the opt-out
    regions when those are all the caller protects."""
    starts = [start for start, _ in spans]
    ends = list(itertools.accumulate((end for _, end in spans), max))
    kept = []
    for region in found:
        i = bisect.bisect_left(ends, region[0] + 1)  # the first span ending after the region starts
        if i < len(spans) and starts[i] < region[1]:
            kept.append(region)
    return kept


def _newline_at(original: str, offset: int) -> str:
    """The line break that ends the line holding offset (the document's most common one on its last line)."""
    found = _LINE_START.search(original, offset)
    return found.group(0) if found else majority_ending(original)


def _place(context: _Context, edit: Edit) -> PlacedEdit | RefusedEdit:
    """edit located in the original, or refused: empty, no-op, missing, ambiguous or protected."""
    if not edit.find:
        return RefusedEdit(edit=edit, reason="ambiguous", detail="its find is empty, which matches everywhere")
    if edit.find == edit.replace:
        return RefusedEdit(edit=edit, reason="no_op", detail="its replace is the same as its find")
    located = context.locate(edit.find)
    if not located.spans:
        closest = None
        if context.closest_budget > 0:
            context.closest_budget -= 1
            closest = locate.closest(context.folded, edit.find)
        detail = "not found in the document, not even ignoring whitespace and quote style"
        return RefusedEdit(edit=edit, reason="not_found", detail=detail, closest=closest)
    if len(located.spans) > 1:
        count = f"{len(located.spans)} or more" if len(located.spans) >= locate.MAX_PLACES else len(located.spans)
        lines = context.lines(located.spans[:5]) + (", ..." if len(located.spans) > 5 else "")
        return RefusedEdit(edit=edit, reason="ambiguous", detail=f"matches {count} places (lines {lines})")
    start, end = located.spans[0]
    return _placed(context, edit, start, end, located)


def _placed(context: _Context, edit: Edit, start: int, end: int, located: locate.Located) -> PlacedEdit | RefusedEdit:
    newline = _newline_at(context.original, start)
    if located.folded_find is None:
        replacement = locate.conform(edit.replace, newline)
    else:
        replacement = locate.transplant(
            context.folded, located.folded_start, located.folded_find, edit.replace, newline
        )
    where = f"line {context.line(start)}"
    if replacement == context.original[start:end]:
        detail = f"it would change nothing ({where})"
        return RefusedEdit(edit=edit, reason="no_op", detail=detail, start=start, end=end)
    region = context.touched(start, end)
    if region is not None:
        detail = f"it touches {edit_guard.kind_name(region[2])} (line {context.line(region[0])})"
        return RefusedEdit(edit=edit, reason="protected", detail=detail, start=start, end=end)
    invented = added_prose(context.original[start:end], replacement)
    if invented is not None:
        return RefusedEdit(edit=edit, reason="invents", detail=invented, start=start, end=end)
    match: Literal["exact", "loose"] = "loose" if located.loose else "exact"
    return PlacedEdit(edit=edit, start=start, end=end, match=match, replacement=replacement)


def _without_overlaps(
    context: _Context, placed: list[tuple[int, PlacedEdit]]
) -> tuple[list[tuple[int, PlacedEdit]], list[tuple[int, RefusedEdit]]]:
    """placed (reply index, edit) split into those that overlap no other and the refused rest."""
    ordered = sorted(placed, key=lambda item: (item[1].start, item[1].end, item[0]))
    kept: list[tuple[int, PlacedEdit]] = []
    refused: list[tuple[int, RefusedEdit]] = []
    group: list[tuple[int, PlacedEdit]] = []
    group_end = 0
    for item in [*ordered, None]:
        if item is not None and group and item[1].start < group_end:
            group.append(item)
            group_end = max(group_end, item[1].end)
            continue
        if len(group) == 1:
            kept.append(group[0])
        elif group:
            refusals = _overlap_refusals(context, group)
            refused.extend(refusals)
            out = {index for index, _ in refusals}
            kept.extend(item for item in group if item[0] not in out)  # the first of exact repeats
        group = [item] if item is not None else []
        group_end = item[1].end if item is not None else 0
    return kept, refused


def _overlap_refusals(context: _Context, group: list[tuple[int, PlacedEdit]]) -> list[tuple[int, RefusedEdit]]:
    first = min(group, key=lambda item: item[0])
    same = all((e.start, e.end, e.new_text) == (first[1].start, first[1].end, first[1].new_text) for _, e in group)
    last = max(e.end for _, e in group)
    lines = f"lines {context.line(group[0][1].start)}-{context.line(last - 1)}"
    out: list[tuple[int, RefusedEdit]] = []
    for index, placed in group:
        if same and index == first[0]:
            continue
        detail = f"it repeats edit {first[0] + 1}" if same else f"it overlaps another edit ({lines})"
        refusal = RefusedEdit(edit=placed.edit, reason="overlap", detail=detail, start=placed.start, end=placed.end)
        out.append((index, refusal))
    return out


@dataclass(frozen=True, kw_only=True)
class Place:
    """Where a chunk sits in its document, for refusals to name: the document line of each offset into
    the chunk, and what its protected spans that are none of its own regions are (hidden opt-outs)."""

    line_of: Callable[[int], int]
    kind: str


def apply_edits(
    original: str,
    edits: Sequence[Edit],
    *,
    protected: Sequence[tuple[int, int]] | None = None,
    place: Place | None = None,
) -> EditResult:
    """original with every valid edit applied, and the refused ones with their reasons.

    protected=None: the spans of protected_spans(original); given spans (a chunk's share of the whole
    document's) are used instead; empty: nothing is protected. While something is protected, an edit
    that would change what one of original's protected regions is (edit_guard.py) is refused too.
    """
    context = _context(original, protected, place)
    placed: list[tuple[int, PlacedEdit]] = []
    refused: list[tuple[int, RefusedEdit]] = []
    for index, edit in enumerate(edits):
        outcome = _place(context, edit)
        if isinstance(outcome, PlacedEdit):
            placed.append((index, outcome))
        else:
            refused.append((index, outcome))
    kept, overlapping = _without_overlaps(context, placed)
    refused.extend(overlapping)
    if context.own_regions:  # protection is on: every region must still be what it was
        kept, broken = _keeping_structure(context, kept)
        refused.extend(broken)
    refused.sort(key=lambda item: item[0])
    text = edit_guard.splice(original, [(p.start, p.end, p.new_text) for _, p in kept])
    return EditResult(text=text, applied=tuple(p for _, p in kept), refused=tuple(r for _, r in refused))


def keep_structure(original: str, result: EditResult) -> EditResult:
    """result (its offsets into original) without the edits that would change what one of original's
    protected regions is, moved to refused. For results put together from chunks: a fence typed at the
    end of one chunk swallows the next, which no chunk's own check can see."""
    placed = [(i, p) for i, p in enumerate(result.applied)]
    context = _context(original, None)
    kept, broken = _keeping_structure(context, placed)
    if not broken:
        return result
    text = edit_guard.splice(original, [(p.start, p.end, p.new_text) for _, p in kept])
    refused = result.refused + tuple(r for _, r in broken)
    return EditResult(text=text, applied=tuple(p for _, p in kept), refused=refused)


def _keeping_structure(
    context: _Context, kept: list[tuple[int, PlacedEdit]]
) -> tuple[list[tuple[int, PlacedEdit]], list[tuple[int, RefusedEdit]]]:
    """kept without the edits that would change what a protected region is (edit_guard's docstring)."""
    survival = edit_guard.Survival(context.original, context.own_regions)
    bad = survival.breaking([(p.start, p.end, p.new_text) for _, p in kept])
    refused = [
        (index, RefusedEdit(edit=p.edit, reason="protected", detail=_BREAKS, start=p.start, end=p.end))
        for i, (index, p) in enumerate(kept)
        if i in bad
    ]
    return [item for i, item in enumerate(kept) if i not in bad], refused


_BREAKS = (
    "it would change a protected region next to it (open or close code, join text to a code block, "
    "or break a link), though it does not touch its text"
)
