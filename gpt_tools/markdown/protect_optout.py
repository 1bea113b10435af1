"""Opt-out regions: the parts of a document its author marked for no front end to change.

    <!-- gpt-tools: off -->
    … left byte for byte as it is …
    <!-- gpt-tools: on -->

Each marker is an HTML comment alone on its line, in any case (spaces around and inside it allowed, in a list item or
quote too), as markdown-it sees it: one shown inside a code block, or inside a larger HTML block, is
text, never a marker. A region runs from the start of its `off` line to the end of the next `on` line,
both markers included; an `off` with no `on` after it runs to the end of the document. A second `off`
inside a region changes nothing (regions do not nest: the first `on` closes it), and an `on` outside one
is an ordinary comment. protect.mask() hides a region whole behind one block marker, whatever the
`protect` setting, and the edits engine refuses every edit that touches one (`protected`).
"""

from __future__ import annotations

import bisect
import itertools
import re

from gpt_tools.markdown.protect_check import Shape, parse
from gpt_tools.markdown.textio import BOM, split_lines

KIND = "opt-out region"
OFF = "<!-- gpt-tools: off -->"
ON = "<!-- gpt-tools: on -->"
# markdown-it gives an HTML block's content with LF endings and without its container prefix.
# Any case: an author who wrote `<!-- GPT-Tools: OFF -->` means it, and a marker missed sends the region.
_MARKER = re.compile(r"<!--[ \t]*gpt-tools:[ \t]*(off|on)[ \t]*-->", re.IGNORECASE)
_NEEDLE = re.compile("gpt-tools:", re.IGNORECASE)  # a document without it has no region, and skips the parse


def maybe(text: str) -> bool:
    """Whether text could hold an opt-out marker: the cheap test before any parse."""
    return _NEEDLE.search(text) is not None


def _switch(shape: Shape) -> str | None:
    """Which switch a block is ("off" or "on") when it is one opt-out marker, else None."""
    if shape[0] != "html_block":
        return None
    found = _MARKER.fullmatch(shape[2].strip())
    return found.group(1).lower() if found else None


def regions(blocks: list[tuple[int, int, Shape]], lines: list[str]) -> list[tuple[int, int]]:
    """(first line, end line) of each opt-out region, from the document's parsed code/HTML blocks and lines."""
    found: list[tuple[int, int]] = []
    start: int | None = None
    for first, end, switch in _switches(blocks, lines):
        if switch == "off" and start is None:
            start = first
        elif switch == "on" and start is not None:
            found.append((start, end))
            start = None
    if start is not None:
        found.append((start, len(lines)))  # never switched back on: to the end of the document
    return found


def _switches(blocks: list[tuple[int, int, Shape]], lines: list[str]) -> list[tuple[int, int, str | None]]:
    """Each marker's (first line, end line, switch), in order. A marker line a stray BOM starts (files
    joined with `cat`) is a paragraph to markdown-it, yet reads as a marker to its author: one outside
    every code/HTML block counts, since a marker missed sends the region."""
    found = [(first, end, _switch(shape)) for first, end, shape in blocks]
    if any(line.lstrip(" \t").startswith(BOM) for line in lines):
        starts = [first for first, _, _ in blocks]
        for number, line in enumerate(lines):
            marker = _MARKER.fullmatch(line.strip().lstrip(BOM).strip()) if BOM in line else None
            i = bisect.bisect_right(starts, number) - 1
            if marker and line.lstrip(" \t").startswith(BOM) and not (i >= 0 and number < blocks[i][1]):
                found.append((number, number + 1, marker.group(1).lower()))
        found.sort(key=lambda item: item[0])
    return found


def spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each opt-out region of text: its whole lines, the last one's break included."""
    if not maybe(text):
        return []
    lines = split_lines(text)
    starts = list(itertools.accumulate((len(line) for line in lines), initial=0))
    return [(starts[first], starts[end]) for first, end in regions(parse(text).blocks, lines)]


def texts(text: str) -> list[str]:
    """Each opt-out region of text, its whole lines as they are (the last one's line break included)."""
    return [text[start:end] for start, end in spans(text)]


def lost(before: str, after: str) -> int | None:
    """The index of before's first opt-out region that is no longer one in after, byte for byte and in
    order (after may have new ones); None when all are kept. Markers prove a region's bytes came back;
    only this shows it is still a region that starts and ends where it did: a reply that changed the
    list marker or quote its first line starts with, joined text to a marker line, opened code around it
    or wrote an `off` before it has not."""
    remaining = iter(texts(after))
    for index, region in enumerate(texts(before)):
        if not any(_same(region, candidate) for candidate in remaining):
            return index
    return None


def _same(region: str, candidate: str) -> bool:
    # A region that ended the document without a line break gets one when text now follows it.
    return candidate == region or (region[-1:] not in "\r\n" and candidate.rstrip("\r\n") == region)
