"""What edits may not touch: the protected regions of a document, and a check that they survived.

An edit whose span shares a character with a protected region is refused outright (edits.py). An
edit next to one can still change what it is without touching its bytes: a ``` typed into prose
opens a fence that swallows the rest of the document, a deleted blank line turns an indented code
block into paragraph text, a backtick joins prose to inline code. So the result is masked again, and
every region of the original must still be there, same kind and same text, in the same order (new
ones may appear: a linter may put a command in backticks). The edits that break this are found by
halving the set (a few masks for one culprit among many) and refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from gpt_tools.errors import InputRefused
from gpt_tools.markdown.textio import BOM

Region = tuple[int, int, str]  # start, end, kind
Splice = tuple[int, int, str]  # start, end, replacement: one placed edit

# Markers no document holds, for the rare document that uses every pair protect.mask could choose:
# swapped in one character for one, so every offset stays where it was.
_MARKER_SWAP = str.maketrans(dict.fromkeys("⟦⟧⟪⟫〚〛⦃⦄", "\ufffc"))
_MASKS = 24  # masks one reply may cost when its edits break structure; past that, suspects are refused

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
}


def kind_name(kind: str) -> str:
    return _KIND_NAMES.get(kind, f"a {kind}")


def regions(text: str) -> list[Region]:
    """(start, end, kind) of every protected region of text, from protect.mask's own finders, in order."""
    from gpt_tools.markdown import protect  # markdown-it: only documents that get edits pay for it

    try:
        masked = protect.mask(text)
    except InputRefused:
        masked = protect.mask(text.translate(_MARKER_SWAP))
    by_token = {region.token: region for region in masked.regions}
    found: list[Region] = []
    if text.startswith(BOM):
        found.append((0, len(BOM), "byte order mark"))
    shift = 0  # how much longer the original is than the masked text, up to here
    for match in masked.pattern.finditer(masked.text):
        region = by_token[match.group(0)]
        start = match.start() + shift
        found.append((start, start + len(region.original), region.kind))
        shift += len(region.original) - (match.end() - match.start())
    return found


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


class Survival:
    """Whether the original's protected regions survive a set of edits, with a bounded number of masks."""

    def __init__(self, original: str, found: Sequence[Region]) -> None:
        self.original = original
        self.expected = [(kind, original[start:end]) for start, end, kind in found]
        self.masks = _MASKS

    def intact(self, edits: Sequence[Splice]) -> bool:
        self.masks -= 1
        text = splice(self.original, edits)
        remaining = iter([(kind, text[start:end]) for start, end, kind in regions(text)])
        return all(region in remaining for region in self.expected)  # a subsequence, in order

    def breaking(self, edits: Sequence[Splice]) -> set[int]:
        """Indices of the edits that must be refused for every original region to survive."""
        if not edits or self.intact(edits):
            return set()
        bad = self._culprits(list(range(len(edits))), edits)
        rest = [edit for i, edit in enumerate(edits) if i not in bad]
        if rest and (self.masks <= 0 or not self.intact(rest)):  # edits harmless alone, harmful together
            return set(range(len(edits)))
        return bad

    def _culprits(self, indices: list[int], edits: Sequence[Splice]) -> set[int]:
        """The indices (known to break something together) that break something alone or in a half."""
        if len(indices) == 1 or self.masks <= 0:
            return set(indices)
        half = len(indices) // 2
        bad: set[int] = set()
        for part in (indices[:half], indices[half:]):
            if not self.intact([edits[i] for i in part]):
                bad |= self._culprits(part, edits)
        return bad or set(indices)
