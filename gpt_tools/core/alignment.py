"""Word alignment for the content guard (fidelity.py), in near-linear time whatever the text.

difflib's SequenceMatcher alone is quadratic or worse on text made of similar lines (a changelog, a
table, a list): each of its recursive longest-match searches scans every pair of equal words in its
range, and a reply that fixes one word per line makes it recurse once per line (a 10 KB list: 13 s).
So the alignment is patience-style instead:

1. the common start and end of a stretch are paired at once (most replies change little);
2. words that occur exactly once on each side of the stretch, in the same order (the longest
   increasing run of their positions), are anchors: paired, and the stretches between them are
   aligned the same way, on their own;
3. a stretch with no such anchor is left to difflib when it is small, and otherwise walked greedily
   with a short look-ahead; so is everything once a work budget proportional to the text is spent.

Then each run of dropped (or added) words that could equally sit a few words earlier or later in
repetitive text is slid onto block boundaries, so a line dropped from a list of similar lines shows
as that line gone rather than as halves of two lines, each half of which still looks kept.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Collection, Sequence
from difflib import SequenceMatcher
from itertools import pairwise

_SMALL = 2_500  # word pairs in an anchor-less stretch that difflib may align (its worst case is small)
_LOOK_AHEAD = 8  # words the greedy walk looks ahead on each side to resynchronise after an edit
_BUDGET = 16  # passes over the text the anchoring may make before the rest is walked greedily
_SLIDE = 64  # how far a run of dropped or added words may be slid to reach a block boundary


def align(before: Sequence[str], after: Sequence[str]) -> list[int]:
    """For each word of `before`, the position of the word of `after` it aligns with, or -1."""
    partner = [-1] * len(before)
    budget = _BUDGET * (len(before) + len(after)) + 10_000
    stack = [(0, len(before), 0, len(after))]
    while stack:
        alo, ahi, blo, bhi = _trim(before, after, partner, *stack.pop())
        if alo == ahi or blo == bhi:
            continue
        budget -= (ahi - alo) + (bhi - blo)
        anchors = _anchors(before, alo, ahi, after, blo, bhi) if budget > 0 else []
        if anchors:
            for i, j in anchors:
                partner[i] = j
            edges = [(alo - 1, blo - 1), *anchors, (ahi, bhi)]
            stack.extend((i + 1, k, j + 1, m) for (i, j), (k, m) in pairwise(edges))
        elif (ahi - alo) * (bhi - blo) <= _SMALL and budget > 0:
            budget -= (ahi - alo) * (bhi - blo)
            matcher = SequenceMatcher(None, before[alo:ahi], after[blo:bhi], autojunk=False)
            for block in matcher.get_matching_blocks():
                partner[alo + block.a : alo + block.a + block.size] = range(blo + block.b, blo + block.b + block.size)
        else:
            _greedy(before, after, partner, alo, ahi, blo, bhi)
    return partner


def _trim(
    before: Sequence[str], after: Sequence[str], partner: list[int], alo: int, ahi: int, blo: int, bhi: int
) -> tuple[int, int, int, int]:
    """Pair the stretch's common start, then its common end; the unpaired middle is what remains."""
    while alo < ahi and blo < bhi and before[alo] == after[blo]:
        partner[alo] = blo
        alo, blo = alo + 1, blo + 1
    while alo < ahi and blo < bhi and before[ahi - 1] == after[bhi - 1]:
        ahi, bhi = ahi - 1, bhi - 1
        partner[ahi] = bhi
    return alo, ahi, blo, bhi


def _anchors(
    before: Sequence[str], alo: int, ahi: int, after: Sequence[str], blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Words once on each side of the stretch, as position pairs, in the longest run in the same order."""
    mine, theirs = Counter(before[alo:ahi]), Counter(after[blo:bhi])
    unique = {w for w, c in mine.items() if c == 1 and theirs[w] == 1}
    if not unique:
        return []
    where = {after[j]: j for j in range(blo, bhi) if after[j] in unique}
    pairs = [(i, where[before[i]]) for i in range(alo, ahi) if before[i] in unique]
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest subsequence of `pairs` (in order of their first item) whose second items increase."""
    tails: list[int] = []  # tails[k]: the smallest last second item of an increasing run of length k + 1
    tail_at: list[int] = []  # its index in pairs
    back = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        k = bisect_left(tails, j)
        back[index] = tail_at[k - 1] if k else -1
        if k == len(tails):
            tails.append(j)
            tail_at.append(index)
        else:
            tails[k], tail_at[k] = j, index
    run: list[tuple[int, int]] = []
    index = tail_at[-1] if tail_at else -1
    while index >= 0:
        run.append(pairs[index])
        index = back[index]
    return run[::-1]


def _greedy(
    before: Sequence[str], after: Sequence[str], partner: list[int], alo: int, ahi: int, blo: int, bhi: int
) -> None:
    """Pair equal words walking both sides; after a mismatch skip to the nearer match a few words on.

    A word changed in place (the next words agree again) is a substitution, never a skip: skipping
    would pair every later word one off, and in repetitive text that drift adds up to lost blocks.
    """
    i, j = alo, blo
    while i < ahi and j < bhi:
        if before[i] == after[j]:
            partner[i] = j
            i, j = i + 1, j + 1
            continue
        if i + 1 < ahi and j + 1 < bhi and before[i + 1] == after[j + 1]:  # one word changed, not moved
            i, j = i + 1, j + 1
            continue
        skip_b = next((d for d in range(1, _LOOK_AHEAD + 1) if j + d < bhi and after[j + d] == before[i]), 0)
        skip_a = next((d for d in range(1, _LOOK_AHEAD + 1) if i + d < ahi and before[i + d] == after[j]), 0)
        if skip_b and (not skip_a or skip_b <= skip_a):
            j += skip_b
        elif skip_a:
            i += skip_a
        else:
            i, j = i + 1, j + 1


def slide(partner: list[int], words: Sequence[str], starts: Collection[int], ends: Collection[int]) -> None:
    """Move each run of unpaired words between two pairs onto block boundaries where it can go.

    A run [s, e) of words of one side with nothing unpaired facing it can move one word earlier when
    the word before it equals its last one, or later when its first equals the word after it: the
    pairing stays as good, word for word. Of those places, the one that starts a block and ends one
    is taken (ties keep the place found).
    """
    n, s = len(partner), 1
    while s < n:
        if partner[s] >= 0 or partner[s - 1] < 0:
            s += 1
            continue
        e = s
        while e < n and partner[e] < 0:
            e += 1
        if e < n and partner[e] == partner[s - 1] + 1:
            _slide_run(partner, words, s, e, starts, ends)
        s = e + 1


def _slide_run(
    partner: list[int], words: Sequence[str], s: int, e: int, starts: Collection[int], ends: Collection[int]
) -> None:
    def score(shift: int) -> int:
        return (s + shift in starts) + (e + shift in ends)

    best, up, down = 0, 0, 0
    while up < _SLIDE and s - up - 1 >= 0 and partner[s - up - 1] >= 0 and words[s - up - 1] == words[e - up - 1]:
        up += 1
        best = -up if score(-up) > score(best) else best
    while down < _SLIDE and e + down < len(words) and partner[e + down] >= 0 and words[s + down] == words[e + down]:
        down += 1
        best = down if score(down) > score(best) else best
    if best == 0:
        return
    # Shifting the run by `best` moves the pairs it passes over by the run's length, keeping their partners.
    low, high = (s + best, s) if best < 0 else (e, e + best)
    moved = partner[low:high]
    target = low + (e - s) if best < 0 else s
    partner[low:high] = [-1] * (high - low)
    partner[target : target + len(moved)] = moved
    partner[s + best : e + best] = [-1] * (e - s)
