"""The content guard for rewriting assistants: a rewrite keeps the document's prose, block by block.

A size ratio cannot tell a fix from a reply that drops four paragraphs, wraps the document in
chatter ("Here is the fixed document:") or swaps it for an unrelated text of similar length. So the
input and the reply are split into blocks (paragraphs, headings, list items), their words aligned in
order (alignment.py, near-linear), and every stretch of one that has no counterpart in the other is judged:

- input blocks with no reply text in their place were **dropped**;
- reply blocks with no input in their place were **invented** (first or last: a preamble or a note);
- input blocks replaced by reply text that resembles them too little were **replaced**;
- reply blocks that occur more often than anything like them in the input are **repeats** (counted,
  since the one-to-one alignment may hide a copy inside a kept block's stretch);
- a sentence or aside glued to the first or last block is a **note** to the user.

Split or joined paragraphs, re-formatted lists and fixed headings keep their words in order, so they
pass. Protected-region markers are not prose (protect.py checks them) and are ignored here.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from gpt_tools.core import alignment
from gpt_tools.core.fidelity_blocks import WORD
from gpt_tools.core.fidelity_blocks import Block as Block  # public here: the guard's one module
from gpt_tools.core.fidelity_blocks import blocks as blocks
from gpt_tools.errors import ReplyRejected

VERSION = 3  # in every result-cache key: a stricter guard must not replay a reply it would now refuse


@dataclass(frozen=True, kw_only=True)
class Fidelity:
    """How far a rewriting assistant's reply may stray from its input."""

    name: str
    kept: float  # an input block with this share of its words found, in order, in the reply is kept
    similar: float  # other input: its replacement passes with this character similarity (typo fixes) ...
    shared: float  # ... or with this share of word stems in common (rewording)
    min_size: float  # the reply's size, at least this share of the input's (rewrite.check_ratio)


# MarkdownLinter, ProofReader and most custom rewriters change few words: a replaced stretch must still
# read mostly the same. Simplifier (`rewords = true`) rewords freely but keeps every fact and block.
STRICT = Fidelity(name="strict", kept=0.5, similar=0.6, shared=0.5, min_size=0.5)
REWORDS = Fidelity(name="rewords", kept=0.5, similar=0.6, shared=0.2, min_size=0.3)  # plain English is shorter

# Words too common to say two texts are about the same thing (stems of 4+ letters only count anyway).
_COMMON = frozenset(
    ("that", "this", "with", "from", "have", "your", "will", "been", "were", "they", "them", "then", "than", "what")
)
_CHAR_LIMIT = 6000  # character similarity is quadratic: longer stretches are judged by words alone
# ... and so is the sum over a reply's stretches (3000 by 3000 characters of repetitive text: about 1 s),
# so past this many character pairs compared in one check, the remaining stretches are judged by words
# alone. Only stretches already lost or invented are compared: a fixed block is kept, it has no stretch.
_CHAR_BUDGET = 20_000_000
_EXCERPT = 40


def _stems(words: Sequence[str]) -> Counter[str]:
    return Counter(w[:6] for w in words if len(w) >= 4 and w not in _COMMON)


@dataclass(kw_only=True)
class Budget:
    """Character pairs that character similarity may still compare in one check (see _CHAR_BUDGET)."""

    pairs: int = _CHAR_BUDGET


def similarity(before: Sequence[str], after: Sequence[str], fidelity: Fidelity, budget: Budget | None = None) -> bool:
    """Whether `after` (words) can stand in place of `before`: a typo-level edit, or a rewording."""
    a, b = _stems(before), _stems(after)
    total = sum(a.values()) + sum(b.values())
    if total and 2 * sum((a & b).values()) / total >= fidelity.shared:
        return True
    left, right = " ".join(before), " ".join(after)
    budget = budget or Budget()
    if len(left) + len(right) > _CHAR_LIMIT or len(left) * len(right) > budget.pairs:
        return False
    matcher = SequenceMatcher(None, left, right, autojunk=False)
    if matcher.real_quick_ratio() < fidelity.similar or matcher.quick_ratio() < fidelity.similar:
        return False  # both are upper bounds of ratio(), cheap ones: the quadratic part is not needed
    budget.pairs -= len(left) * len(right)
    return matcher.ratio() >= fidelity.similar


@dataclass(frozen=True, kw_only=True)
class _Gap:
    """A stretch of input blocks and the reply's words in their place, between two kept blocks."""

    lost: list[Block]  # input blocks not kept
    words: list[int]  # reply word positions in the gap: what stands in for the lost blocks
    new: list[int]  # those outside reply blocks that are kept: what the reply adds, if anything
    first: bool  # before the first kept block
    last: bool  # after the last kept block


def _partners(ins: list[Block], outs: list[Block], before: list[str], after: list[str]) -> list[int]:
    """For each input word, the position of the reply word it aligns with, or -1 (alignment.py).

    Runs of dropped or added words are slid onto block boundaries where the text allows, so that a
    line dropped from similar lines counts as one block lost, not as two half-kept ones.
    """
    partner = alignment.align(before, after)
    alignment.slide(partner, before, {b.start for b in ins}, {b.end for b in ins})
    inverse = [-1] * len(after)
    for k, p in enumerate(partner):
        if p >= 0:
            inverse[p] = k
    alignment.slide(inverse, after, {b.start for b in outs}, {b.end for b in outs})
    partner = [-1] * len(before)
    for p, k in enumerate(inverse):
        if k >= 0:
            partner[k] = p
    return partner


def _kept(block: Block, matched: Sequence[bool], fidelity: Fidelity) -> bool:
    return sum(matched[block.start : block.end]) >= fidelity.kept * (block.end - block.start)


def _gaps(
    ins: list[Block], outs: list[Block], partner: list[int], n_after: int, fidelity: Fidelity
) -> tuple[list[_Gap], list[tuple[_Gap, Block]]]:
    """The gaps to judge, and the reply blocks not kept that lie in none (see _hidden)."""
    matched_in = [p >= 0 for p in partner]
    matched_out = [False] * n_after
    for p in partner:
        if p >= 0:
            matched_out[p] = True
    kept_out = [False] * n_after  # words of reply blocks that are mostly aligned: edits, not inventions
    for block in outs:
        if _kept(block, matched_out, fidelity):
            kept_out[block.start : block.end] = [True] * (block.end - block.start)
    gaps: list[_Gap] = []
    lost: list[Block] = []
    position, first = 0, True
    for block in ins:
        if not _kept(block, matched_in, fidelity):
            lost.append(block)
            continue
        aligned = [p for p in partner[block.start : block.end] if p >= 0]
        gaps.append(_gap(lost, range(position, aligned[0]), kept_out, first=first, last=False))
        lost, position, first = [], aligned[-1] + 1, False
    gaps.append(_gap(lost, range(position, n_after), kept_out, first=first, last=True))
    return [gap for gap in gaps if gap.lost or gap.new], _hidden(ins, outs, partner, gaps, kept_out)


def _hidden(
    ins: list[Block], outs: list[Block], partner: list[int], gaps: list[_Gap], kept_out: list[bool]
) -> list[tuple[_Gap, Block]]:
    """Reply blocks mostly unaligned that no gap holds, each with the kept input block whose reply
    stretch holds it: a repeated or added paragraph lands there when the alignment pairs a word of
    the block before it with one after it ("para" of "Intro teh para." with "Second para." later)."""
    in_gap = bytearray(len(kept_out))
    for gap in gaps:
        if gap.words:
            in_gap[gap.words[0] : gap.words[-1] + 1] = b"\1" * len(gap.words)
    stretches = [(p[0], p[-1], b) for b in ins if (p := [q for q in partner[b.start : b.end] if q >= 0])]
    firsts = [first for first, _, _ in stretches]  # increasing: the alignment keeps the order
    found: list[tuple[_Gap, Block]] = []
    for block in outs:
        if kept_out[block.start] or any(in_gap[block.start : block.end]):
            continue
        k = bisect_left(firsts, block.start) - 1
        if k >= 0 and stretches[k][1] > block.start:
            span = list(range(block.start, block.end))
            found.append((_Gap(lost=[], words=span, new=span, first=False, last=False), stretches[k][2]))
    return found


def _gap(lost: list[Block], span: range, kept_out: list[bool], *, first: bool, last: bool) -> _Gap:
    return _Gap(lost=lost, words=list(span), new=[i for i in span if not kept_out[i]], first=first, last=last)


def _excerpt(text: str) -> str:
    return repr(text if len(text) <= _EXCERPT else text[: _EXCERPT - 1].rstrip() + "…")


def _count(found: list[Block], of: list[Block]) -> str:
    kinds = {block.kind for block in found}
    kind = kinds.pop() if len(kinds) == 1 else "block"
    total = sum(1 for block in of if block.kind == kind) if kind != "block" else len(of)
    return f"{len(found)} of {total} {kind}{'s' if total != 1 else ''}"


def _invented(gap: _Gap, outs: list[Block]) -> str:
    new = set(gap.new)  # a set: the reply may be all new, thousands of blocks (the document twice)
    hit = [block for block in outs if any(i in new for i in range(block.start, block.end))]
    where = "at the start" if gap.first else "at the end" if gap.last else "in the middle"
    note = len(hit) == 1 and gap.first != gap.last and len(gap.new) <= 40
    say = " (a note to you, not part of the document)" if note else ""
    blocks_ = f"{len(hit)} block{'s' if len(hit) != 1 else ''}"
    return f"adds {blocks_} {where} that the input does not have{say}, starting {_excerpt(hit[0].text)}"


def _judge(
    gap: _Gap,
    ins: list[Block],
    outs: list[Block],
    before: list[str],
    after: list[str],
    fidelity: Fidelity,
    budget: Budget,
) -> str | None:
    """What is wrong with one gap, or None when its reply text can stand in for its input."""
    lost_words = [w for block in gap.lost for w in before[block.start : block.end]]
    if not lost_words:
        return _invented(gap, outs)
    new_words = [after[i] for i in gap.words]
    if gap.first and gap.last and len(gap.lost) == len(ins) and not similarity(lost_words, new_words, fidelity, budget):
        start = f" (it starts {_excerpt(outs[0].text)})" if outs else ""
        return f"has nothing in common with the input{start}, so it is not a rewrite of it"
    # However well the words compare, fewer blocks in their place means some are gone: a rewording
    # keeps (or splits) every block, and a paragraph dropped next to a reworded one must not hide in it.
    missing = len(gap.lost) - _standing(gap, outs)
    if missing > 0:
        gone = _least_present(gap.lost, before, new_words, missing)
        return f"drops {_count(gone, ins)}, starting {_excerpt(gone[0].text)}"
    if similarity(lost_words, new_words, fidelity, budget):
        return None
    if len(new_words) > 2 * len(lost_words) and gap.new:
        return _invented(gap, outs)
    return f"replaces {_count(gap.lost, ins)} with unrelated text, starting {_excerpt(gap.lost[0].text)}"


def _standing(gap: _Gap, outs: list[Block]) -> int:
    """Reply blocks that lie (at least half) in the gap: what stands in the lost blocks' place."""
    if not gap.words:
        return 0
    low, high = gap.words[0], gap.words[-1] + 1  # the gap's reply words are one contiguous stretch
    near = outs[bisect_right(outs, low, key=_end) : bisect_left(outs, high, key=_start)]  # blocks overlapping it
    return sum(1 for b in near if 2 * (min(high, b.end) - max(low, b.start)) >= b.end - b.start)


def _start(block: Block) -> int:
    return block.start


def _end(block: Block) -> int:
    return block.end


def _least_present(lost: list[Block], before: list[str], new_words: list[str], count: int) -> list[Block]:
    """The `count` lost blocks whose words the reply's text in their place has least of, in order."""
    present = _stems(new_words)

    def share(block: Block) -> float:
        own = _stems(before[block.start : block.end])
        return sum((own & present).values()) / max(1, sum(own.values()))

    worst = sorted(lost, key=share)[:count]
    return [block for block in lost if block in worst]


# A new sentence or aside glued to the document's first or last block: "… gardening. (I fixed a typo.)",
# "Note: … Here is the text." Inside the document such text has neighbours the guard can weigh it
# against; at the very edge a note to the user looks like any sentence, so it is refused unless the
# input has as many words there that the reply replaced (a rewritten last sentence).
_BOUNDARY = re.compile(r"[.!?:;…]['\"\u201d\u2019)\]]*\s+|\s+[(\[]|\s+[\u2014\u2013-]+\s+")
_EDGEWORDS = 6  # words an edge may gain without a sentence boundary (a missing word restored)


def _edge(ins: list[Block], outs: list[Block], partner: list[int], n_in: int, *, start: bool) -> str | None:
    """What the reply glues to the document's first (or last) block, if it is a sentence of its own."""
    aligned = [(k, p) for k, p in enumerate(partner) if p >= 0]
    if not aligned or not ins or not outs:
        return None
    k, p = aligned[0] if start else aligned[-1]
    block = outs[0] if start else outs[-1]
    if not block.start <= p < block.end:
        return None  # whole blocks at the edge: the gaps judged them
    word = list(WORD.finditer(block.text))[p - block.start]
    text = block.text[: word.start()] if start else block.text[word.end() :]
    lost = k if start else n_in - 1 - k  # input words at the edge that the reply's edge replaced
    extra = len(WORD.findall(text)) - lost
    if extra <= 0:
        return None
    where = f"at the {'start' if start else 'end'} of its {'first' if start else 'last'} {block.kind}"
    bounds = list(_BOUNDARY.finditer(text))
    if bounds:  # the words beyond the boundary nearest the edge make a sentence (or aside) of their own
        own = text[: bounds[-1].start()] if start else text[bounds[0].end() :]
        if len(WORD.findall(own)) > lost:
            return f"adds {_excerpt(own.strip())} {where} (a note to you, not part of the document)"
    return f"adds {_excerpt(text.strip())} {where}" if extra > _EDGEWORDS else None


_ALIKE = 0.75  # character similarity at which an input block counts as a copy of a repeated reply block
_CANDIDATES = 64  # input blocks compared with one repeated reply block (those holding its rarest word)
_COMPARISONS = 5000  # ... and in one check: past it, repeats are judged by exact copies alone (refused)


def repeats(ins: list[Block], outs: list[Block], before: list[str], after: list[str]) -> list[str]:
    """Reply blocks that occur more often in the reply than anything like them does in the input.

    The alignment is one-to-one, so a repeated paragraph leaves one copy unpaired; but the copy may
    sit inside a kept block's stretch, where no gap looks at it. Counting is independent of that: a
    split paragraph or a fixed line has no twin, and a line the input repeats may repeat as often.
    """
    in_count = Counter(tuple(before[b.start : b.end]) for b in ins)
    out_count = Counter(tuple(after[b.start : b.end]) for b in outs)
    kinds: Counter[str] = Counter()
    nth: dict[int, int] = {}  # "paragraph 5": each input block's place among those of its kind
    for block in ins:
        kinds[block.kind] += 1
        nth[id(block)] = kinds[block.kind]
    holding: dict[str, list[Block]] = {}
    for block in ins:
        for word in set(before[block.start : block.end]):
            holding.setdefault(word, []).append(block)
    problems: list[str] = []
    comparisons = _COMPARISONS
    for block in outs:
        words = tuple(after[block.start : block.end])
        copies = out_count.pop(words, 0)
        if copies < 2 or copies <= in_count[words]:
            continue
        rarest = min(words, key=lambda w: len(holding.get(w, ())) or len(ins) + 1)
        near = holding.get(rarest, [])[: min(_CANDIDATES, comparisons)]  # the input blocks holding its rarest word
        comparisons -= len(near)
        like = [b for b in near if _alike(before[b.start : b.end], words)]
        has = max(in_count[words], len(like))
        if copies <= has:
            continue
        what = f"{like[0].kind} {nth[id(like[0])]} {_excerpt(like[0].text)}" if like else _excerpt(block.text)
        problems.append(f"repeats {what} ({copies} copies where the input has {has})")
    return problems


def _alike(before: Sequence[str], after: Sequence[str]) -> bool:
    left, right = " ".join(before), " ".join(after)
    if len(left) + len(right) > _CHAR_LIMIT:
        left, right = before, after  # type: ignore[assignment]  # long blocks: by words, not characters
    matcher = SequenceMatcher(None, left, right, autojunk=False)
    return matcher.quick_ratio() >= _ALIKE and matcher.ratio() >= _ALIKE


def check_content(before: str, after: str, where: str, fidelity: Fidelity = STRICT) -> None:
    """Refuse a reply that drops, invents or replaces whole blocks of the input's prose."""
    ins, in_words = blocks(before)
    outs, out_words = blocks(after)
    if in_words == out_words:
        return
    partner = _partners(ins, outs, in_words, out_words)
    budget = Budget()
    gaps, hidden = _gaps(ins, outs, partner, len(out_words), fidelity)
    problems = [problem for gap in gaps if (problem := _judge(gap, ins, outs, in_words, out_words, fidelity, budget))]
    edges = (
        _edge(ins, outs, partner, len(in_words), start=True),
        _edge(ins, outs, partner, len(in_words), start=False),
    )
    problems = problems or [problem for problem in edges if problem]
    problems = problems or repeats(ins, outs, in_words, out_words)
    problems = (
        problems
        or [
            _invented(gap, outs)
            for gap, owner in hidden  # a part of its owner reworded (Simplifier's steps made a list) passes
            if not similarity(in_words[owner.start : owner.end], [out_words[i] for i in gap.words], fidelity, budget)
        ]
    )
    if problems:
        more = (
            f" (and {len(problems) - 1} more such place{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        )
        raise ReplyRejected(f"the reply for {where} {problems[0]}{more}; nothing was applied")
