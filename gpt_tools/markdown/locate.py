"""Finding an edit's `find` in the original text: exactly, then loosely, else the closest text.

The loose match folds what models retype differently without meaning a change: every run of
whitespace (spaces, tabs, a line break, NBSP) becomes one space (a run holding a blank line becomes
one line break: a paragraph break is structure, not spacing), curly and straight quotes of each
kind become one, and hyphens, en and em dashes and the minus sign become `-`. Folding keeps a one-to-one map
from each folded character back to the original span it came from, so a loose match ends exactly
on original offsets. Ellipses (… vs ...) are not folded: that would change lengths inside a word.

Work is bounded for documents of ~500 KB and hostile replies: the document is folded once per
reply, each search is a C-level `str.find`, places are counted up to a cap, and the closest text
for a missing `find` looks at a bounded number of windows (anchored on the find's words when it
has any) with difflib.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from difflib import SequenceMatcher

_SPACE = re.compile(r"\s+")
_NEWLINE = r"(?:\r\n|\r(?!\n)|\n)"  # a CRLF is one line break, never a CR and then an LF
_BLANK_LINE = re.compile(rf"{_NEWLINE}[^\S\r\n]*{_NEWLINE}")
_FOLD = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),  # curly, low and reversed singles, prime
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'),  # the same doubles, double prime
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),  # hyphens, dashes, minus
    }
)
# Backticks and guillemets are not folded: they are code and a language's quotes, not a typing style.
MAX_PLACES = 10  # places counted for an ambiguous find ("matches 10 or more places"): bounded work
_CLOSEST_MAX = 1000  # a longer missing find gets no "did you mean": the windows would be too costly
_WINDOWS = 200  # windows of the document difflib compares with one missing find
_ANCHORS = 4  # words of the find used to anchor windows, each at up to _ANCHOR_HITS places
_ANCHOR_HITS = 25
_WORD = re.compile(r"\w{3,}")


@dataclass(frozen=True, kw_only=True)
class Folded:
    """text folded, with the map back: runs[i] is (folded index, original start, original end) of the
    i-th whitespace run; every other folded character is one original character."""

    original: str
    text: str
    run_at: tuple[int, ...]
    run_start: tuple[int, ...]
    run_end: tuple[int, ...]

    def to_original(self, k: int) -> int:
        """The original offset where folded character k starts (k == len(text): the original's end)."""
        i = bisect.bisect_right(self.run_at, k) - 1
        if i < 0:
            return k
        if self.run_at[i] == k:
            return self.run_start[i]
        return self.run_end[i] + (k - self.run_at[i] - 1)

    def unit(self, k: int) -> tuple[int, int]:
        """The original span folded character k stands for."""
        return self.to_original(k), self.to_original(k + 1)


def _space(run: re.Match[str]) -> str:
    """A run of whitespace folded: a blank line (a paragraph break) is not a space, and a loose match
    never lets a space in the find stand for one (deleting that space would join two paragraphs)."""
    return "\n" if _BLANK_LINE.search(run.group(0)) else " "


def fold(text: str) -> Folded:
    runs = list(_SPACE.finditer(text))
    at: list[int] = []
    shrink = 0  # characters the runs before this one lost
    for run in runs:
        at.append(run.start() - shrink)
        shrink += run.end() - run.start() - 1
    folded = _SPACE.sub(_space, text).translate(_FOLD)
    return Folded(
        original=text,
        text=folded,
        run_at=tuple(at),
        run_start=tuple(run.start() for run in runs),
        run_end=tuple(run.end() for run in runs),
    )


def places(haystack: str, needle: str, *, limit: int = MAX_PLACES) -> list[int]:
    """Where needle starts in haystack (overlapping places too), at most limit of them."""
    found: list[int] = []
    at = haystack.find(needle)
    while at >= 0 and len(found) < limit:
        found.append(at)
        at = haystack.find(needle, at + 1)
    return found


@dataclass(frozen=True, kw_only=True)
class Located:
    spans: tuple[tuple[int, int], ...]  # original spans; one is a match, several ambiguous, none missing
    loose: bool
    folded_find: Folded | None = None  # for a loose match: how find's characters map to the document's
    folded_start: int = 0  # for a loose match: where the first one starts in the folded document


def locate(original: str, document: Folded, find: str) -> Located:
    """The places find occurs in original: exactly if it does anywhere, else loosely."""
    exact = places(original, find)
    if exact:
        return Located(spans=tuple((at, at + len(find)) for at in exact), loose=False)
    folded = fold(find)
    if not folded.text:
        return Located(spans=(), loose=True)
    loose = places(document.text, folded.text)
    spans = tuple((document.to_original(k), document.to_original(k + len(folded.text))) for k in loose)
    return Located(spans=spans, loose=True, folded_find=folded, folded_start=loose[0] if loose else 0)


def transplant(document: Folded, start: int, find: Folded, replace: str, newline: str) -> str:
    """The replacement for a loose match at folded index start: the parts the model kept unchanged
    (equal in find and replace) are copied from the original, so its whitespace, quotes and line
    endings survive; the parts the model changed are its own text, with the document's line breaks."""
    if len(find.original) * len(replace) > 4_000_000:  # quadratic diff of a huge edit: its own text
        return conform(replace, newline)
    pieces: list[str] = []
    matcher = SequenceMatcher(None, find.original, replace, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            pieces.append(conform(replace[j1:j2], newline))
            continue
        k = _folded_index(find, i1)
        while k < len(find.text):
            fs, fe = find.unit(k)
            if fs >= i2:
                break
            if fs >= i1 and fe <= i2:
                os_, oe = document.unit(start + k)
                pieces.append(document.original[os_:oe])
            else:  # a whitespace run the model partly changed: its own characters
                pieces.append(conform(find.original[max(fs, i1) : min(fe, i2)], newline))
            k += 1
    return "".join(pieces)


def _folded_index(folded: Folded, offset: int) -> int:
    """The folded character whose original span holds offset."""
    i = bisect.bisect_right(folded.run_start, offset) - 1
    if i < 0:
        return offset
    if offset < folded.run_end[i]:
        return folded.run_at[i]
    return folded.run_at[i] + 1 + (offset - folded.run_end[i])


_BREAK = re.compile(r"\r\n|\r|\n")


def conform(text: str, newline: str) -> str:
    """text with each line break written as newline."""
    return _BREAK.sub(newline, text) if ("\r" in text or newline != "\n") else text


def closest(document: Folded, find: str) -> str | None:
    """The text of the document most like find (difflib ratio ≥ 0.5), or None; bounded work."""
    needle = fold(find).text.strip()
    if not needle or len(needle) > _CLOSEST_MAX or not document.text:
        return None
    haystack = document.text
    size, slack = len(needle), max(2, len(needle) // 4)
    best: tuple[float, int, int] | None = None
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(needle)  # difflib caches facts about seq2: the needle is the one that stays
    for begin in _window_starts(haystack, needle):
        lo, hi = max(0, begin - slack), min(len(haystack), begin + size + slack)
        matcher.set_seq1(haystack[lo:hi])
        if matcher.real_quick_ratio() < 0.5 or matcher.quick_ratio() < 0.5:
            continue
        blocks = [block for block in matcher.get_matching_blocks() if block.size]
        if not blocks:
            continue
        first, last = blocks[0].a, blocks[-1].a + blocks[-1].size
        score = 2.0 * sum(block.size for block in blocks) / (size + last - first)
        if best is None or score > best[0]:
            best = (score, lo + first, lo + last)
    if best is None or best[0] < 0.5:
        return None
    text = document.original[document.to_original(best[1]) : document.to_original(best[2])]
    return text.strip() or None


def _window_starts(haystack: str, needle: str) -> list[int]:
    """Folded offsets where a window like needle may start: around places of its longest words, else
    evenly spread over the document; at most _WINDOWS of them."""
    starts: list[int] = []
    words = sorted({m.group(0): m.start() for m in _WORD.finditer(needle)}.items(), key=lambda w: -len(w[0]))
    for word, offset in words[:_ANCHORS]:
        starts.extend(max(0, at - offset) for at in places(haystack, word, limit=_ANCHOR_HITS))
    if starts:
        return sorted(set(starts))[:_WINDOWS]
    last = max(0, len(haystack) - len(needle))
    step = max(1, len(needle) // 2, last // _WINDOWS + 1)
    return list(range(0, last + 1, step))


_LINE_BREAK = re.compile(_NEWLINE)  # as textio.split_lines breaks lines


@functools.lru_cache(maxsize=4)
def line_starts(text: str) -> tuple[int, ...]:
    """Where each line of text starts (cached: the front ends ask for many positions in one text)."""
    return (0, *(m.end() for m in _LINE_BREAK.finditer(text)))


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of offset; lines end at \\n, \\r\\n or \\r (split_lines)."""
    starts = line_starts(text)
    line = bisect.bisect_right(starts, offset)
    return line, offset - starts[line - 1] + 1


def utf16_position(text: str, offset: int) -> tuple[int, int]:
    """0-based line and UTF-16 code-unit column of offset (LSP positions; Neovim's utf-16 columns)."""
    line, column = line_col(text, offset)
    head = text[offset - column + 1 : offset]
    return line - 1, len(head) + sum(1 for char in head if ord(char) > 0xFFFF)
