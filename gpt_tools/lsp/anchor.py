"""Edits computed for one version of a document, moved onto the text it has now, or dropped.

A fix is anchored by the text it replaces (`old`, the exact span at its version). The part of the
document both texts share at the start and at the end is where nothing moved: a fix there keeps its
place (shifted by the change's length when after it). A fix in or across the changed part is looked
for again: its `old` text must occur exactly once within NEAR characters of its old place, else it
is dropped. Whatever is kept is checked to replace exactly `old`: never the wrong text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

NEAR = 400  # characters either side of a fix's old place where it may be found again


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


def _shared_ends(before: str, after: str) -> tuple[int, int]:
    """The lengths of the common prefix and of the common suffix (not overlapping the prefix)."""
    limit = min(len(before), len(after))
    prefix = 0
    while prefix < limit and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and before[-1 - suffix] == after[-1 - suffix]:
        suffix += 1
    return prefix, suffix


def _found_near(after: str, fix: Fix, guess: int) -> int | None:
    """The one place within NEAR of guess where fix.old occurs now; None if none or several."""
    if not fix.old:
        return None
    low = max(0, guess - NEAR)
    window = after[low : guess + NEAR + len(fix.old)]
    first = window.find(fix.old)
    if first < 0 or window.find(fix.old, first + 1) >= 0:
        return None
    return low + first


def reanchor(fixes: Sequence[Fix], before: str, after: str) -> list[Fix]:
    """fixes (offsets into before) as offsets into after; those that cannot be placed surely are dropped."""
    if before == after:
        return list(fixes)
    prefix, suffix = _shared_ends(before, after)
    delta = len(after) - len(before)
    moved: list[Fix] = []
    for fix in fixes:
        if fix.end <= prefix and (fix.end < prefix or fix.start < fix.end):
            start: int | None = fix.start  # wholly before the change (an insertion point at its edge is not)
        elif fix.start >= len(before) - suffix and fix.start > prefix:
            start = fix.start + delta
        else:
            start = _found_near(after, fix, fix.start + (delta if fix.start > prefix else 0))
        if start is None or after[start : start + len(fix.old)] != fix.old:
            continue
        moved.append(replace(fix, start=start, end=start + len(fix.old)))
    return _without_overlaps(moved)


def _without_overlaps(fixes: list[Fix]) -> list[Fix]:
    """Two fixes found again at overlapping places cannot both be meant: both are dropped."""
    ordered = sorted(fixes, key=lambda fix: (fix.start, fix.end))
    clashing: set[int] = set()
    for i in range(1, len(ordered)):
        if ordered[i].start < ordered[i - 1].end:
            clashing.update((i - 1, i))
    return [fix for i, fix in enumerate(ordered) if i not in clashing]
