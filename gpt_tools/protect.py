"""Protected regions: the parts of a Markdown document a model must never touch.

Front matter, code blocks (fenced, indented, HTML), inline code, and link/image URLs are replaced by
placeholders such as ⟦B1⟧ before sending; after the reply, every placeholder must come back exactly
once and in order, and is replaced by the original bytes. A reply that loses, duplicates, reorders
or invents one is refused: the model changed something it was not allowed to see.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import InputRefused, ReplyRejected
from .textio import split_lines

# A document may itself talk about such markers (ours do): use the first pair it does not contain.
_MARKER_PAIRS = (("⟦", "⟧"), ("⟪", "⟫"), ("〚", "〛"), ("⦃", "⦄"))
_FRONT_MATTER = re.compile(r"\A(---|\+\+\+)[ \t]*\r?\n.*?\r?\n\1[ \t]*(?:\r?\n|\Z)", re.S)
# A code span may cross line breaks, but never a blank line (that would end its paragraph).
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\r?\n)[\s\S])+?)(?<!`)\1(?!`)")
_AUTOLINK = re.compile(r"<(?:https?|ftp|mailto):[^<>\s]+>")
_LINK_TARGET = re.compile(r"(?<=\]\()(?:[^()\s]|\([^()\s]*\))*(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?(?=\))")
_REFERENCE = re.compile(r"(?<=\]:)[ \t]*\S+(?:[ \t]+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?[ \t]*(?=\r?\n|$)")
_REFERENCE_LINE = re.compile(r"^[ ]{0,3}\[[^\]^][^\]]*\]:")  # not a footnote: [^note]: is prose
_BARE_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>()\[\]`⟦⟪〚⦃]+[^\s<>()\[\]`.,;:!?\"'⟦⟪〚⦃]")
_CONTAINER_PREFIX = re.compile(r"(?:[ \t]*(?:>|[-+*](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*")
_BLOCK_LETTERS = frozenset("FBH")
_BLOCKS = {"fence": "code block", "code_block": "code block", "html_block": "HTML block"}
# Every code or HTML block needs a fence, a tab, a `<`, or four spaces after its container markers; a
# document with none of these has no block to mask, and skips markdown-it's ~30 ms import.
_MAYBE_BLOCK = re.compile(r"```|~~~|<|\t|^[ >\-+*\d.)]*    ", re.M)
_LETTERS = {"front matter": "F", "code block": "B", "HTML block": "H", "code": "C", "url": "U"}


@dataclass(frozen=True)
class Region:
    token: str
    original: str
    kind: str
    line: int  # 1-based line of the original where the region starts


@dataclass(frozen=True)
class Masked:
    text: str
    regions: tuple[Region, ...]
    markers: tuple[str, str] = _MARKER_PAIRS[0]

    @property
    def pattern(self) -> re.Pattern[str]:
        return _placeholder(self.markers)


def _placeholder(markers: tuple[str, str]) -> re.Pattern[str]:
    return re.compile(f"{re.escape(markers[0])}[A-Z][0-9]+{re.escape(markers[1])}")


def parser() -> object:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


class _Masker:
    def __init__(self, markers: tuple[str, str]) -> None:
        self.markers = markers
        self.pattern = _placeholder(markers)
        self.regions: list[Region] = []

    def token(self, kind: str, original: str, line: int) -> str:
        if self.pattern.search(original):
            return original  # already holds a region: nesting would restore in the wrong order
        token = f"{self.markers[0]}{_LETTERS[kind]}{len(self.regions) + 1}{self.markers[1]}"
        self.regions.append(Region(token, original, kind, line))
        return token

    def blocks(self, text: str, first_line: int) -> list[tuple[str, int]]:
        """(line, original line number) of text, each code/HTML block replaced by one placeholder line.

        A block inside a list item or quote keeps its first line's container prefix (indent, `>`,
        list marker) outside the placeholder, so the model still sees the list or quote it is in.
        """
        lines = split_lines(text)
        if not _MAYBE_BLOCK.search(text):  # nothing could start a code or HTML block: skip the parser
            return [(line, first_line + i) for i, line in enumerate(lines)]
        tokens = parser().parse(text)  # type: ignore[attr-defined]
        spans = sorted({(t.map[0], t.map[1], _BLOCKS[t.type]) for t in tokens if t.type in _BLOCKS and t.map})
        out: list[tuple[str, int]] = []
        cursor = 0
        for start, end, kind in spans:
            if start < cursor:  # nested inside a block already masked
                continue
            out.extend((line, first_line + cursor + i) for i, line in enumerate(lines[cursor:start]))
            original = "".join(lines[start:end])
            ending = original[len(original.rstrip("\r\n")) :]
            prefix = _CONTAINER_PREFIX.match(original)
            lead = prefix.group(0) if prefix else ""
            body = original[len(lead) : len(original) - len(ending)]
            out.append((lead + self.token(kind, body, first_line + start) + ending, first_line + start))
            cursor = end
        out.extend((line, first_line + cursor + i) for i, line in enumerate(lines[cursor:]))
        return out

    def _replacer(self, kind: str, number: int) -> Callable[[re.Match[str]], str]:
        return lambda match: self.token(kind, match.group(0), number) if match.group(0) else ""

    def code_spans(self, lines: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """Mask inline code over the joined text (spans may cross lines), keeping true line numbers."""
        text = "".join(line for line, _ in lines)
        starts = list(itertools.accumulate((len(line) for line, _ in lines[:-1]), initial=0))
        numbers = [number for _, number in lines]

        def number_at(position: int) -> int:
            return numbers[bisect.bisect_right(starts, position) - 1] if numbers else 1

        out: list[tuple[str, int]] = []
        current, current_number, cursor = "", number_at(0), 0
        for match in _CODE_SPAN.finditer(text):
            current, current_number = self._copy(text, cursor, match.start(), current, current_number, out, number_at)
            current += self.token("code", match.group(0), number_at(match.start()))
            cursor = match.end()
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
        """Append text[start:end] to the lines being built; a new line starts after each newline."""
        while start < end:
            newline = text.find("\n", start, end)
            if newline < 0:
                return current + text[start:end], number
            out.append((current + text[start : newline + 1], number))
            current, number, start = "", number_at(newline + 1), newline + 1
        return current, number

    def inline(self, line: str, number: int) -> str:
        if self.pattern.fullmatch(line.strip()):
            return line
        for kind, pattern in (("url", _AUTOLINK), ("url", _LINK_TARGET)):
            line = pattern.sub(self._replacer(kind, number), line)
        if _REFERENCE_LINE.match(line):
            line = _REFERENCE.sub(lambda m: self.token("url", m.group(0), number), line)
        return _BARE_URL.sub(lambda m: self.token("url", m.group(0), number), line)


def mask(text: str) -> Masked:
    """text with its protected regions replaced by placeholders."""
    free = [pair for pair in _MARKER_PAIRS if pair[0] not in text and pair[1] not in text]
    if not free:
        raise InputRefused("the document uses every bracket pair protection could use as markers (⟦⟧ ⟪⟫ 〚〛 ⦃⦄)")
    masker = _Masker(free[0])
    head = ""
    front = _FRONT_MATTER.match(text)
    if front:
        matter = front.group(0)
        ending = matter[len(matter.rstrip("\r\n")) :]
        head = masker.token("front matter", matter[: len(matter) - len(ending)], 1) + ending
    body = text[front.end() :] if front else text
    first = len(split_lines(text[: front.end()])) + 1 if front else 1
    lines = masker.code_spans(masker.blocks(body, first))
    masked = head + "".join(masker.inline(line, number) for line, number in lines)
    return Masked(masked, tuple(masker.regions), masker.markers)


def unmask(reply: str, masked: Masked) -> str:
    """The reply with originals restored; ReplyRejected if any protected region was altered."""
    if not masked.regions:
        return reply  # nothing was masked (protect = false): marker-like text is just text
    found = masked.pattern.findall(reply)
    expected = masked.pattern.findall(masked.text)
    if found != expected:
        raise ReplyRejected(_describe_damage(found, masked))
    _check_block_lines(reply, masked)
    originals = {region.token: region.original for region in masked.regions}
    return masked.pattern.sub(lambda match: originals[match.group(0)], reply)  # one pass: large docs stay fast


def _check_block_lines(reply: str, masked: Masked) -> None:
    """A block's marker must stay alone on its line (after its container prefix); front matter first.

    Otherwise restoring would put a code fence mid-paragraph, where it is no longer a code block.
    """
    by_token = {region.token: region for region in masked.regions}
    for line_number, line in enumerate(split_lines(reply)):
        for token in masked.pattern.findall(line):
            region = by_token[token]
            if token[1] not in _BLOCK_LETTERS:
                continue
            rest = line.replace(token, "", 1)
            prefix = _CONTAINER_PREFIX.match(rest)
            alone = rest.strip() == "" or (prefix is not None and rest[prefix.end() :].strip() == "")
            if not alone or (token[1] == "F" and (line_number != 0 or not line.startswith(token))):
                raise ReplyRejected(
                    f"the reply moved a protected {region.kind} (line {region.line}) into other text; "
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
        return Masked(text, (), masked.markers)
    present = set(masked.pattern.findall(text))
    return Masked(text, tuple(region for region in masked.regions if region.token in present), masked.markers)
