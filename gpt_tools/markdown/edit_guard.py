"""What edits may not touch: the protected regions of a document, and a check that they survived.

An edit whose span shares a character with a protected region is refused outright (edits.py). An
edit next to one can still change what it is without touching its bytes: a ``` typed into prose
opens a fence that swallows the rest of the document, a deleted blank line turns an indented code
block into paragraph text, a backtick joins prose to inline code. So the result is masked again, and
every region of the original must still be there, same kind and same text, in the same order (new
ones may appear: a linter may put a command in backticks). The edit that broke one is looked for
before the first region lost (one mask per culprit), refused, and the rest checked again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from gpt_tools.errors import InputRefused
from gpt_tools.markdown.textio import BOM

Region = tuple[int, int, str]  # start, end, kind
Splice = tuple[int, int, str]  # start, end, replacement: one placed edit

# Markers no document holds, for the rare document that uses every pair protect.mask could choose:
# swapped in one character for one, so every offset stays where it was.
_MARKER_SWAP = str.maketrans(dict.fromkeys("⟦⟧⟪⟫〚〛⦃⦄", "\ufffc"))
_MASKS = 12  # masks one reply may cost when its edits break structure; past that, suspects are refused

# protect.Region kinds as a refusal names them.
_KIND_NAMES = {
    "front matter": "the front matter",
    "code block": "a code block",
    "HTML block": "an HTML block",
    "code": "inline code",
    "url": "a URL",
    "HTML tag": "an HTML tag",
    "template": "template code",
    "link reference": "a link target",
    "attribute list": "an attribute list",
    "footnote label": "a footnote label",
    "byte order mark": "the byte order mark",
    "opt-out region": "an opt-out region (<!-- gpt-tools: off -->)",
}


# What an edits-mode model is told it may not edit (edits.EDIT_INSTRUCTIONS): every kind in _KIND_NAMES
# but the BOM and opt-out regions, which the model is never sent (an opt-out region goes as a marker that
# protect_explain describes). Protection can only be switched off whole (`protect = false`).
NEVER_EDITED = (
    "front matter, code blocks and `inline code`, HTML blocks, HTML tags with attributes and HTML "
    "comments, URLs, e-mail addresses and link or image targets (reference definitions' too), template "
    "code (`{{ }}`, `{% %}`, `{# #}`), attribute lists (`{#id}`) or footnote labels (`[^1]`)"
)


def kind_name(kind: str) -> str:
    return _KIND_NAMES.get(kind, f"a {kind}")


def regions(text: str, *, everything: bool = True) -> list[Region]:
    """(start, end, kind) of every protected region of text, from protect.mask's own finders, in order;
    only its opt-out regions when not everything (the `protect = false` setting)."""
    from gpt_tools.markdown import protect  # markdown-it: only documents that get edits pay for it

    try:
        masked = protect.mask(text, everything=everything)
    except InputRefused:
        masked = protect.mask(text.translate(_MARKER_SWAP), everything=everything)
    by_token = {region.token: region for region in masked.regions}
    found: list[Region] = []
    if everything and text.startswith(BOM):
        found.append((0, len(BOM), "byte order mark"))
    shift = 0  # how much longer the original is than the masked text, up to here
    for match in masked.pattern.finditer(masked.text):
        region = by_token.get(match.group(0))
        if region is None:  # marker-like text where nothing was masked (no opt-out region): just text
            continue
        start = match.start() + shift
        found.append((start, start + len(region.original), region.kind))
        shift += len(region.original) - (match.end() - match.start())
    return found


def opt_out_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of text's opt-out regions: what edits may not touch even with `protect = false`."""
    return [(start, end) for start, end, _ in regions(text, everything=False)]


def splice(original: str, edits: Sequence[Splice]) -> str:
    """original with each (start, end, replacement) applied; edits sorted and disjoint."""
    pieces: list[str] = []
    cursor = 0
    for start, end, replacement in edits:  # the text between edits is copied as it was
        pieces.append(original[cursor:start])
        pieces.append(replacement)
        cursor = end
    pieces.append(original[cursor:])
    return "".join(pieces)


# Characters that make Markdown structure: an edit that changes how many of them its span holds is the
# likeliest to have broken a region (a fence, a backtick, a bracket, a line break, an indent).
_STRUCTURAL = frozenset("`~<>[]()!|{}:\n\r\t")


def _structural(text: str) -> Counter[str]:
    counts = Counter(char for char in text if char in _STRUCTURAL)
    counts["indent"] = text.count("\n ") + text.count("\r ")
    return counts


class Survival:
    """Whether the original's protected regions survive a set of edits, with a bounded number of masks."""

    def __init__(self, original: str, found: Sequence[Region]) -> None:
        self.original = original
        self.found = list(found)
        self.masks = _MASKS

    def lost(self, edits: Sequence[Splice]) -> int | None:
        """The original offset of the first region the edits lose or change, or None if all survive."""
        self.masks -= 1
        text = splice(self.original, edits)
        remaining = iter([(kind, text[start:end]) for start, end, kind in regions(text)])
        for start, end, kind in self.found:  # a subsequence, in order: new regions may appear
            if (kind, self.original[start:end]) not in remaining:
                return start
        return None

    def breaking(self, edits: Sequence[Splice]) -> set[int]:
        """Indices of the edits (sorted, disjoint) to refuse for every original region to survive.

        One mask per culprit: the suspect is an edit before the first lost region, one that changes
        structural characters first; past the mask budget, every remaining edit is refused."""
        bad: set[int] = set()
        while True:
            left = [i for i in range(len(edits)) if i not in bad]
            if not left:
                return bad
            if self.masks <= 0:
                return set(range(len(edits)))
            at = self.lost([edits[i] for i in left])
            if at is None:
                return bad
            bad.add(self._suspect(edits, left, at))

    def _suspect(self, edits: Sequence[Splice], left: list[int], at: int) -> int:
        """The likeliest culprit for the region lost at offset at: of the edits that change structural
        characters (else of all), the last one that starts before it, else the first one after it."""
        changed = [i for i in left if _structural(self.original[edits[i][0] : edits[i][1]]) != _structural(edits[i][2])]
        pool = changed or left
        before = [i for i in pool if edits[i][0] <= at]
        return before[-1] if before else pool[0]
