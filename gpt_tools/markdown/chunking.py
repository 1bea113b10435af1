"""Splitting a (masked) Markdown document into chunks under a token budget.

Boundaries are top-level headings first, then top-level block starts for a section that is still too
big; never inside a code block (masked to one line) or a table. Concatenating the chunks gives the
document back exactly, so a chunk's rewrite can never touch another chunk's bytes.
"""

from __future__ import annotations

from itertools import pairwise

from gpt_tools.markdown.protect import parser
from gpt_tools.markdown.textio import estimate_tokens, split_lines


def _top_level_starts(text: str) -> tuple[list[int], list[int]]:
    """(heading lines, block-start lines) of top-level blocks, 0-based."""
    tokens = parser().parse(text)
    headings: list[int] = []
    blocks: list[int] = []
    for token in tokens:
        if token.level == 0 and token.map and token.nesting >= 0:
            (headings if token.type == "heading_open" else blocks).append(token.map[0])
    return headings, sorted(set(blocks) | set(headings))


def _split_at(lines: list[str], cuts: list[int]) -> list[str]:
    edges = [0, *sorted({c for c in cuts if 0 < c < len(lines)}), len(lines)]
    return ["".join(lines[a:b]) for a, b in pairwise(edges) if a < b]


def split_chunks(text: str, budget_tokens: int) -> list[str]:
    """Chunks whose concatenation is text, each under budget where structure allows."""
    if estimate_tokens(text) <= budget_tokens:
        return [text]
    lines = split_lines(text)
    headings, blocks = _top_level_starts(text)
    pieces: list[str] = []
    edges = [0, *[h for h in headings if h > 0], len(lines)]
    for start, end in pairwise(edges):
        section = "".join(lines[start:end])
        if estimate_tokens(section) <= budget_tokens:
            pieces.append(section)
        else:
            pieces.extend(_split_at(lines[start:end], [b - start for b in blocks if start < b < end]))
    return _group(pieces, budget_tokens)


def _group(pieces: list[str], budget_tokens: int) -> list[str]:
    """Greedily join consecutive pieces while they fit the budget."""
    chunks: list[str] = []
    for piece in pieces:
        if chunks and estimate_tokens(chunks[-1] + piece) <= budget_tokens:
            chunks[-1] += piece
        else:
            chunks.append(piece)
    return chunks
