"""Protected regions: the parts of a Markdown document a model must never touch.

Front matter, code blocks (fenced, indented, HTML), inline code, link and image targets with their
titles, reference definitions, autolinks, bare URLs and e-mail addresses, inline HTML tags with
attributes and comments, template code, attribute lists and footnote labels are replaced by
placeholders such as ⟦B1⟧ before sending (finders in protect_inline.py), and so is every opt-out
region (`<!-- gpt-tools: off -->` … `<!-- gpt-tools: on -->`, protect_optout.py), even with
`protect = false`. After the reply, every
placeholder must come back exactly once and in order, and is replaced by the original bytes; a reply
that loses, duplicates, reorders or invents one is refused. A block marker's line gets its container
prefix back where the model only re-spaced it, and the restored text must still parse to the same
blocks, link definitions and links (protect_check.py): bytes alone do not prove a fence is still
in its list item.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from gpt_tools.errors import InputRefused, ReplyRejected
from gpt_tools.markdown import protect_inline, protect_optout
from gpt_tools.markdown.protect_check import BLOCKS, Shape, lost_link, parse
from gpt_tools.markdown.protect_check import parser as parser  # chunking parses with the same settings
from gpt_tools.markdown.protect_inline import Span
from gpt_tools.markdown.textio import split_lines

# A document may itself talk about such markers (ours do): use the first pair it does not contain.
_MARKER_PAIRS = (("⟦", "⟧"), ("⟪", "⟫"), ("〚", "〛"), ("⦃", "⦄"))
_NL = protect_inline.NEWLINE
# YAML front matter may end with `...` as well as `---` (YAML's own end-of-document marker).
_FRONT_MATTER = re.compile(
    rf"\A(?:---[ \t]*{_NL}(?:.*?{_NL})??(?:---|\.\.\.)|\+\+\+[ \t]*{_NL}(?:.*?{_NL})??\+\+\+)[ \t]*(?:{_NL}|\Z)", re.S
)
_BREAK = re.compile(_NL)
_CONTAINER_PREFIX = re.compile(r"(?:[ \t]*(?:>|[-+*](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*")
_BLOCK_LETTERS = frozenset("FBHO")
# Every code or HTML block needs a fence, a tab, a `<`, or four spaces after its container markers; a
# document with none of these has no block to mask, and skips markdown-it's ~30 ms import.
_MAYBE_BLOCK = re.compile(r"```|~~~|<|\t|(?:\A|(?<=[\r\n]))[ >\-+*\d.)]*    ")  # re.M's ^ misses CR-only lines
_LETTERS = {
    "front matter": "F",
    "code block": "B",
    "HTML block": "H",
    "code": "C",
    "url": "U",
    "HTML tag": "T",
    "template": "J",
    protect_inline.DEFINITION: "U",
    "attribute list": "A",
    "footnote label": "N",
    protect_optout.KIND: "O",
}


@dataclass(frozen=True)
class Region:
    token: str
    original: str
    kind: str
    line: int  # 1-based line of the original where the region starts
    lead: str = ""  # a block's container prefix (indent, `>`, list marker) on its first line
    shape: Shape = ()  # a block's parse or a definition's link, which the restored text must reproduce


@dataclass(frozen=True)
class Masked:
    text: str
    regions: tuple[Region, ...]
    markers: tuple[str, str] = _MARKER_PAIRS[0]
    everything: bool = True  # False: only opt-out regions were masked (protect = false), nothing to re-parse

    @property
    def pattern(self) -> re.Pattern[str]:
        return _placeholder(self.markers)


def marker(markers: tuple[str, str], letter: str, number: int) -> str:
    """The one spelling of a placeholder: the opening bracket, the kind's letter, a number, the closing one."""
    return f"{markers[0]}{letter}{number}{markers[1]}"


def _placeholder(markers: tuple[str, str]) -> re.Pattern[str]:
    return re.compile(f"{re.escape(markers[0])}[A-Z][0-9]+{re.escape(markers[1])}")


class _Masker:
    def __init__(self, markers: tuple[str, str]) -> None:
        self.markers = markers
        self.pattern = _placeholder(markers)
        self.regions: list[Region] = []

    def token(self, kind: str, original: str, line: int, *, lead: str = "", shape: Shape = ()) -> str:
        if self.pattern.search(original):
            return original  # already holds a region: nesting would restore in the wrong order
        token = marker(self.markers, _LETTERS[kind], len(self.regions) + 1)
        self.regions.append(Region(token, original, kind, line, lead, shape))
        return token

    def blocks(self, text: str, first_line: int, *, code: bool = True) -> list[tuple[str, int]]:
        """(line, original line number) of text, each code/HTML block (only with code) and opt-out region
        replaced by one placeholder line.

        A block inside a list item or quote keeps its first line's container prefix (indent, `>`,
        list marker) outside the placeholder, so the model still sees the list or quote it is in.
        """
        lines = split_lines(text)
        if not (_MAYBE_BLOCK.search(text) if code else protect_optout.maybe(text)):  # skip the parser
            return [(line, first_line + i) for i, line in enumerate(lines)]
        out: list[tuple[str, int]] = []
        cursor = 0
        for start, end, kind, shape in _hidden(parse(text).blocks, lines, code=code):
            if start < cursor:  # nested inside a block or region already masked
                continue
            out.extend((line, first_line + cursor + i) for i, line in enumerate(lines[cursor:start]))
            original = "".join(lines[start:end])
            ending = original[len(original.rstrip("\r\n")) :]
            prefix = _CONTAINER_PREFIX.match(original)
            lead = prefix.group(0) if prefix else ""
            body = original[len(lead) : len(original) - len(ending)]
            token = self.token(kind, body, first_line + start, lead=lead, shape=shape)
            out.append((lead + token + ending, first_line + start))
            cursor = end
        out.extend((line, first_line + cursor + i) for i, line in enumerate(lines[cursor:]))
        return out

    def substitute(self, lines: list[tuple[str, int]], find: Callable[[str], list[Span]]) -> list[tuple[str, int]]:
        """Mask what find() finds in the joined text (spans may cross lines), keeping true line numbers."""
        text = "".join(line for line, _ in lines)
        starts = list(itertools.accumulate((len(line) for line, _ in lines[:-1]), initial=0))
        numbers = [number for _, number in lines]

        def number_at(position: int) -> int:
            return numbers[bisect.bisect_right(starts, position) - 1] if numbers else 1

        out: list[tuple[str, int]] = []
        current, current_number, cursor = "", number_at(0), 0
        for start, end, kind in find(text):
            current, current_number = self._copy(text, cursor, start, current, current_number, out, number_at)
            label = protect_inline.definition_label(text, start) if kind == protect_inline.DEFINITION else None
            shape = ("reference", _normalized(label)) if label else ()
            current += self.token(kind, text[start:end], number_at(start), shape=shape)
            cursor = end
        current, current_number = self._copy(text, cursor, len(text), current, current_number, out, number_at)
        if current:
            out.append((current, current_number))
        return out

    @staticmethod
    def _copy(
        text: str,
        start: int,
        end: int,
        current: str,
        number: int,
        out: list[tuple[str, int]],
        number_at: Callable[[int], int],
    ) -> tuple[str, int]:
        """Append text[start:end] to the lines being built; a new line starts after each line break."""
        while start < end:
            newline = _BREAK.search(text, start, end)
            if newline is None:
                return current + text[start:end], number
            out.append((current + text[start : newline.end()], number))
            current, number, start = "", number_at(newline.end()), newline.end()
        return current, number


def _hidden(blocks: list[tuple[int, int, Shape]], lines: list[str], *, code: bool) -> list[tuple[int, int, str, Shape]]:
    """(first line, end line, kind, shape) of what blocks() hides, in order: every opt-out region, and
    with code every code/HTML block. A region comes before the block its `off` marker is, and holds it;
    it has no shape to check, since its bytes come back as they were whatever surrounds them."""
    none: Shape = ()
    hidden = [(start, end, protect_optout.KIND, none) for start, end in protect_optout.regions(blocks, lines)]
    if code:
        hidden += [(start, end, BLOCKS[shape[0]], shape) for start, end, shape in blocks]
    return sorted(hidden, key=lambda item: (item[0], -item[1]))


def _normalized(label: str) -> str:
    from markdown_it.common.utils import normalizeReference  # start-up: only documents with definitions

    return normalizeReference(label)


def _code_spans(text: str) -> list[Span]:
    return [(match.start(), match.end(), "code") for match in protect_inline.CODE_SPAN.finditer(text)]


def mask(text: str, *, everything: bool = True) -> Masked:
    """text with its protected regions replaced by placeholders; only its opt-out regions when not
    everything (the `protect = false` setting: the author's own opt-outs still hold)."""
    if not everything and not protect_optout.maybe(text):
        return Masked(text, ())
    free = [pair for pair in _MARKER_PAIRS if pair[0] not in text and pair[1] not in text]
    if not free:
        raise InputRefused("the document uses every bracket pair protection could use as markers (⟦⟧ ⟪⟫ 〚〛 ⦃⦄)")
    masker = _Masker(free[0])
    head = ""
    front = _FRONT_MATTER.match(text) if everything else None
    if front:
        matter = front.group(0)
        ending = matter[len(matter.rstrip("\r\n")) :]
        head = masker.token("front matter", matter[: len(matter) - len(ending)], 1) + ending
    body = text[front.end() :] if front else text
    first = len(split_lines(text[: front.end()])) + 1 if front else 1
    lines = masker.blocks(body, first, code=everything)
    for find in (_code_spans, protect_inline.structural, protect_inline.bare) if everything else ():
        lines = masker.substitute(lines, find)
    masked = head + "".join(line for line, _ in lines)
    return Masked(masked, _with_references(masker.regions, body), masker.markers, everything)


def _with_references(regions: list[Region], body: str) -> tuple[Region, ...]:
    """regions, each link definition's shape completed with the link it defines (its first definition
    only: a later one with the same label defines nothing), or cleared where markdown-it sees none."""
    if not any(region.shape[:1] == ("reference",) for region in regions):
        return tuple(regions)
    references = parse(body).references
    seen: set[str] = set()
    out: list[Region] = []
    for region in regions:
        if region.shape[:1] == ("reference",):
            label = region.shape[1]
            defined = references.get(label) if label not in seen else None
            seen.add(label)
            region = replace(region, shape=("reference", label, *defined) if defined else ())
        out.append(region)
    return tuple(out)


def settle(reply: str, masked: Masked) -> str:
    """The (masked) reply with each block marker's line as it was masked, where the model only re-spaced it.

    ReplyRejected if a marker was lost, duplicated, reordered or invented, or a block marker left its line.
    """
    if not masked.regions:
        return reply
    found = masked.pattern.findall(reply)
    expected = masked.pattern.findall(masked.text)
    if found != expected:
        raise ReplyRejected(_describe_damage(found, masked))
    return _settle_block_lines(reply, masked)


def unmask(reply: str, masked: Masked) -> str:
    """The reply with originals restored; ReplyRejected if any protected region was altered."""
    if not masked.regions:
        return reply  # nothing was masked (protect = false): marker-like text is just text
    restored, blocks = _restore(settle(reply, masked), masked)
    if masked.everything and (blocks or _has_links(masked)):
        _check_structure(restored, blocks, masked)
    opt_outs = [region for region in masked.regions if region.kind == protect_optout.KIND]
    if opt_outs:
        before = _body(_restore(masked.text, masked)[0], masked)[0]
        index = protect_optout.lost(before, _body(restored, masked)[0])
        if index is not None:
            raise ReplyRejected(
                f"the reply changed the line the opt-out region (<!-- gpt-tools: off -->) of line "
                f"{opt_outs[min(index, len(opt_outs) - 1)].line} starts or ends on, or what surrounds it: "
                "it would no longer be the same region; nothing was applied"
            )
    return restored


def _restore(reply: str, masked: Masked) -> tuple[str, list[tuple[int, Region]]]:
    """reply with its markers replaced, and where each block or link definition starts in the result."""
    by_token = {region.token: region for region in masked.regions}
    pieces: list[str] = []
    blocks: list[tuple[int, Region]] = []
    size = cursor = 0
    for match in masked.pattern.finditer(reply):  # one pass: large documents stay fast
        region = by_token[match.group(0)]
        pieces.append(reply[cursor : match.start()])
        size += match.start() - cursor
        if region.shape:
            blocks.append((size, region))
        pieces.append(region.original)
        size += len(region.original)
        cursor = match.end()
    return "".join(pieces) + reply[cursor:], blocks


def _moved(region: Region) -> ReplyRejected:
    return ReplyRejected(
        f"the reply moved a protected {region.kind} (line {region.line}) into other text; nothing was applied"
    )


def _settle_block_lines(reply: str, masked: Masked) -> str:
    """reply with each block marker's line exactly as it was masked, where the model only re-spaced it.

    A block marker must stay alone on its line, after a container prefix; front matter first. The
    block's inner lines carry their original indentation, so its first line's prefix must come back as
    it was: a model that re-indents the marker line (or drops its `>` spacing) gets it put back. A
    changed container marker (`-` for `*`, a renumbered item) is kept, and _check_blocks decides.
    """
    by_token = {region.token: region for region in masked.regions}
    lines = split_lines(reply)
    for number, line in enumerate(lines):
        tokens = [token for token in masked.pattern.findall(line) if token[1] in _BLOCK_LETTERS]
        if not tokens:
            continue
        region = by_token[tokens[0]]
        at = line.index(region.token)
        prefix, after = line[:at], line[at + len(region.token) :]
        ending = after[len(after.rstrip("\r\n")) :]
        if masked.pattern.search(after) or after.strip() or not _CONTAINER_PREFIX.fullmatch(prefix):
            raise _moved(region)
        if region.token[1] == "F" and (number != 0 or prefix):
            raise _moved(region)
        if _squeezed(prefix) == _squeezed(region.lead) or region.kind == protect_optout.KIND:
            prefix = region.lead  # an opt-out region's first bytes are its lead: never the model's
        lines[number] = prefix + region.token + ending
    return "".join(lines)


def _squeezed(prefix: str) -> str:
    return prefix.replace(" ", "").replace("\t", "")


def _body(text: str, masked: Masked) -> tuple[str, int]:
    """text after its front matter (which markdown-it would read as a rule and a heading), and where it starts."""
    front = masked.regions[0] if masked.regions[0].kind == "front matter" else None
    if not (front and text.startswith(front.original)):
        return text, 0
    newline = _BREAK.match(text, len(front.original))
    cut = newline.end() if newline else len(text)
    return text[cut:], cut


def _has_links(masked: Masked) -> bool:
    """Whether a reply could break a link: bare URLs and <autolinks> are masked whole, so only inline
    links (`](`) and reference links (which need a definition) can; others skip the parser."""
    return "](" in masked.text or any(region.kind == protect_inline.DEFINITION for region in masked.regions)


def _check_structure(restored: str, blocks: list[tuple[int, Region]], masked: Masked) -> None:
    """Every code and HTML block must parse back as itself: same kind, content and enclosing containers;
    every link definition must still define its link, and every link and image must still be one.

    A model that joins a block to the paragraph before it, moves it out of its list item or quote, or
    re-indents its list, would otherwise turn code into prose or prose into code; one that renames one
    side of a reference link, joins a definition to a paragraph, or puts a space in `] (`, breaks links.
    """
    body, cut = _body(restored, masked)
    parsed = parse(body)
    shapes = {start: shape for start, _, shape in parsed.blocks}
    defined = set(parsed.references.values())
    line = position = 0
    for offset, region in blocks:
        line += len(_BREAK.findall(body, position, offset - cut))
        position = offset - cut
        if region.shape[0] == "reference":
            # Its label may change (a typo fixed where it is defined and used: the link check below
            # holds the uses), but it must still define its link, not be prose in a paragraph.
            if region.shape[2:] not in defined:
                raise ReplyRejected(
                    f"the reply joined a link definition (line {region.line}) to other text, where it would "
                    "no longer define a link; nothing was applied"
                )
        elif shapes.get(line) != region.shape:
            raise ReplyRejected(
                f"the reply re-indented or moved a protected {region.kind} (line {region.line}): restored there, "
                "it would no longer be the same block (it would leave its list item or quote, or merge with "
                "the text next to it); nothing was applied"
            )
    if _has_links(masked):
        before = parse(_body(_restore(masked.text, masked)[0], masked)[0]).links
        if lost_link(before, parsed.links) is not None:
            raise ReplyRejected(
                "the reply broke a link or image of the input (it is plain text now, or points elsewhere); "
                "nothing was applied"
            )


def _describe_damage(found: list[str], masked: Masked) -> str:
    by_token = {region.token: region for region in masked.regions}
    for region in masked.regions:
        if region.token in masked.text and found.count(region.token) != 1:
            verb = "removed" if region.token not in found else "duplicated"
            return f"the reply {verb} a protected {region.kind} (line {region.line}); nothing was applied"
    invented = [token for token in found if token not in by_token]
    if invented:
        return f"the reply invented a protected-region marker {invented[0]}; nothing was applied"
    return "the reply moved protected regions (code, links, front matter) out of order; nothing was applied"


def restrict(masked: Masked, text: str) -> Masked:
    """The part of masked that covers text (one chunk of masked.text)."""
    if not masked.regions:
        return Masked(text, (), masked.markers, masked.everything)
    present = set(masked.pattern.findall(text))
    kept = tuple(region for region in masked.regions if region.token in present)
    return Masked(text, kept, masked.markers, masked.everything)
