"""Edits computed for one version of a document, moved onto the text it has now, or dropped.

A fix is anchored by the text it replaces (`old`, the exact span at its version). The two texts are
compared as a diff does (difflib: the shared start and end, then lines, then the characters of each
changed run of lines): a fix whose span lies wholly in a part both texts share keeps that part's
place (in a changed line, with a shared character on each side of it); a fix in or across a changed
part is dropped. The diff's matches keep their order, so a fix
is never moved onto another occurrence of its text (an `its` deleted where it was wrong is not
looked for in an `its` typed elsewhere, where it is right). Whatever is kept is checked to replace
exactly `old`: never the wrong text.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

CONTEXT = 1  # shared characters a fix in a changed line needs on either side (see _changed_blocks)
CHARS_LIMIT = 20_000  # characters of a changed run of lines compared one by one; a longer run's fixes drop


@dataclass(frozen=True, kw_only=True)
class Fix:
    """One edit as a client applies it: text[start:end] (== old) becomes new."""

    start: int
    end: int
    old: str
    new: str
    reason: str = ""
    find: str = ""  # the model's own find/replace (a loose match may differ from old/new)
    replace: str = ""


Block = tuple[int, int, int]  # (start in before, start in after, length) of text both share


def _shared_prefix(before: str, after: str) -> int:
    """The length of the common prefix, by halving (slices compare at C speed; a 50 MB text is fast)."""
    low, high = 0, min(len(before), len(after))
    while low < high:
        middle = (low + high + 1) // 2
        if before[low:middle] == after[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _shared_ends(before: str, after: str) -> tuple[int, int]:
    """The lengths of the common prefix and of the common suffix (not overlapping the prefix)."""
    prefix = _shared_prefix(before, after)
    suffix = _shared_prefix(before[prefix:][::-1], after[prefix:][::-1])
    return prefix, suffix


def _line_starts(lines: list[str], base: int) -> list[int]:
    starts = [base]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return starts


def _changed_blocks(before: str, after: str, a: int, b: int) -> Iterator[Block]:
    """What before[a:] and after[b:] (the changed middle) share: equal lines, then equal characters."""
    old_lines, new_lines = before.splitlines(keepends=True), after.splitlines(keepends=True)
    old_at, new_at = _line_starts(old_lines, a), _line_starts(new_lines, b)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines)  # autojunk: blank lines repeat by the thousand
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            yield old_at[i1], new_at[j1], old_at[i2] - old_at[i1]
        elif tag == "replace" and old_at[i2] - old_at[i1] + new_at[j2] - new_at[j1] <= CHARS_LIMIT:
            old, new = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
            chars = difflib.SequenceMatcher(None, old, new, autojunk=False)
            for x, y, size in chars.get_matching_blocks():
                # a fix keeps a shared character on each side, unless it reaches its line's edge:
                # one typed right against it (or a lone word left of a rewritten line) is not surely it
                head = 0 if x == 0 else CONTEXT
                tail = 0 if x + size == len(old) else CONTEXT
                if size > head + tail:
                    yield old_at[i1] + x + head, new_at[j1] + y + head, size - head - tail


def _blocks(before: str, after: str) -> list[Block]:
    prefix, suffix = _shared_ends(before, after)
    middle = _changed_blocks(before[prefix : len(before) - suffix], after[prefix : len(after) - suffix], prefix, prefix)
    return [(0, 0, prefix), *middle, (len(before) - suffix, len(after) - suffix, suffix)]


def _place(fix: Fix, blocks: list[Block], before: str) -> int | None:
    """Where fix.start is in after: its span wholly inside one shared block. An insertion point is
    kept strictly inside a block, or at the document's start or end when the block reaches it."""
    for a, b, size in blocks:
        if fix.start < fix.end:
            if a <= fix.start and fix.end <= a + size:
                return b + fix.start - a
        elif a < fix.start < a + size or (fix.start == a == 0) or (fix.start == a + size == len(before)):
            return b + fix.start - a
    return None


def reanchor(fixes: Sequence[Fix], before: str, after: str) -> list[Fix]:
    """fixes (offsets into before) as offsets into after; those that cannot be placed surely are dropped."""
    if before == after:
        return list(fixes)
    blocks = _blocks(before, after)
    moved: list[Fix] = []
    for fix in fixes:
        start = _place(fix, blocks, before)
        if start is None or after[start : start + len(fix.old)] != fix.old:
            continue
        moved.append(replace(fix, start=start, end=start + len(fix.old)))
    return _without_overlaps(moved)


def _without_overlaps(fixes: list[Fix]) -> list[Fix]:
    """Two fixes placed at overlapping places cannot both be meant: both are dropped."""
    ordered = sorted(fixes, key=lambda fix: (fix.start, fix.end))
    clashing: set[int] = set()
    for i in range(1, len(ordered)):
        if ordered[i].start < ordered[i - 1].end:
            clashing.update((i - 1, i))
    return [fix for i, fix in enumerate(ordered) if i not in clashing]
