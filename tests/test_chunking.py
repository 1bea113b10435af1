"""chunking.py: where a (masked) document may be cut, and that the cuts lose nothing."""

from __future__ import annotations

import random
import re
from itertools import pairwise

import pytest

from gpt_tools.markdown.chunking import split_chunks
from gpt_tools.markdown.protect import mask, restrict, unmask
from gpt_tools.markdown.textio import estimate_tokens
from tests.golden import fixture_cases, visible


def _sections(count: int, words: int = 12) -> str:
    return "".join(f"## Section {i}\n\nParagraph {i} " + "with some prose " * words + "text.\n\n" for i in range(count))


def test_small_document_is_one_chunk() -> None:
    text = "# Title\n\nShort.\n\n## More\n\nStill short.\n"
    assert split_chunks(text, 4000) == [text]
    assert split_chunks(text, estimate_tokens(text)) == [text]


def test_many_sections_give_several_chunks_under_budget_cut_at_headings() -> None:
    text = "# Guide\n\nIntro.\n\n" + _sections(40)
    budget = 200
    chunks = split_chunks(text, budget)
    assert "".join(chunks) == text
    assert len(chunks) > 5
    assert all(estimate_tokens(chunk) <= budget for chunk in chunks)
    assert chunks[0].startswith("# Guide\n")
    assert all(chunk.startswith("## Section ") for chunk in chunks[1:])
    # Greedy grouping: no two neighbours would have fitted together.
    assert all(estimate_tokens(a + b) > budget for a, b in pairwise(chunks))


def test_section_sizes_decide_grouping() -> None:
    section = "## S\n\n" + "word " * 100 + "\n\n"  # 508 chars: 170 tokens
    assert [len(c) for c in split_chunks(section * 4, 400)] == [len(section) * 2] * 2
    assert split_chunks(section * 4, 170) == [section] * 4


def test_table_is_never_split() -> None:
    table = "| name | value |\n|------|-------|\n" + "".join(f"| row {i} | value {i} |\n" for i in range(60))
    text = "## Data\n\nIntro paragraph.\n\n" + table + "\nAfter the table.\n"
    chunks = split_chunks(text, 30)
    assert "".join(chunks) == text
    assert any(chunk.startswith(table) for chunk in chunks)  # one chunk holds the whole table
    assert estimate_tokens(table) > 30  # ...though it is over budget: structure wins
    assert chunks[-1] == "After the table.\n"


def test_masked_code_block_is_one_line_and_never_split() -> None:
    code = "```python\n" + "".join(f"line_{i} = {i}\n\n" for i in range(80)) + "```\n"
    text = "## Code\n\nBefore.\n\n" + code + "\nAfter.\n\n## Next\n\nMore.\n"
    masked = mask(text)
    assert masked.text == "## Code\n\nBefore.\n\n⟦B1⟧\n\nAfter.\n\n## Next\n\nMore.\n"
    chunks = split_chunks(masked.text, 3)
    assert chunks == ["## Code\n\n", "Before.\n\n", "⟦B1⟧\n\n", "After.\n\n", "## Next\n\n", "More.\n"]
    assert "".join(unmask(c, restrict(masked, c)) for c in chunks) == text


def test_unmasked_code_block_is_never_split_either() -> None:
    code = "```text\n" + "".join(f"# not a heading {i}\n\nline {i}\n" for i in range(40)) + "```\n"
    text = "## Code\n\nBefore.\n\n" + code + "\n## Next\n\nMore.\n"
    chunks = split_chunks(text, 20)
    assert "".join(chunks) == text
    assert [c for c in chunks if "```" in c] == [code + "\n"]


def test_one_huge_section_is_split_at_block_starts() -> None:
    paragraphs = [f"Paragraph {i} " + "lorem ipsum " * 30 + "end.\n\n" for i in range(12)]
    text = "## Only section\n\n" + "".join(paragraphs)
    budget = 300
    chunks = split_chunks(text, budget)
    assert "".join(chunks) == text
    assert len(chunks) > 3
    assert all(estimate_tokens(chunk) <= budget for chunk in chunks)
    assert chunks[0].startswith("## Only section\n\nParagraph 0 ")
    assert all(chunk.startswith("Paragraph ") for chunk in chunks[1:])
    assert all(chunk.endswith("end.\n\n") for chunk in chunks)


def test_setext_headings_are_split_points() -> None:
    text = "".join(f"Section {i}\n{'=-'[i % 2] * 10}\n\nBody {i} text text text.\n\n" for i in range(6))
    chunks = split_chunks(text, 20)
    assert "".join(chunks) == text
    assert [chunk.split("\n", 1)[0] for chunk in chunks] == [f"Section {i}" for i in range(6)]


def test_headings_inside_lists_and_blockquotes_are_not_split_points() -> None:
    item = "- item\n\n  ## heading in a list\n\n  more item text\n\n"
    quote = "> ## heading in a quote\n>\n> more quote\n\n"
    text = "# Top\n\n" + item + quote + "## Real\n\nend\n"
    chunks = split_chunks(text, 5)
    assert chunks == ["# Top\n\n", item, quote, "## Real\n\nend\n"]


def test_document_without_trailing_newline_and_crlf() -> None:
    text = _sections(10).replace("\n", "\r\n") + "## Last\r\n\r\nno newline at end"
    chunks = split_chunks(text, 100)
    assert len(chunks) > 1 and "".join(chunks) == text
    assert all(chunk.startswith("## ") for chunk in chunks)
    assert chunks[-1].endswith("no newline at end")


def _random_document(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 40)):
        kind = rng.choice(["h1", "h2", "setext", "para", "list", "quote", "fence", "table", "blank", "hr"])
        if kind == "h1":
            parts.append(f"# Heading {rng.random():.3f}\n")
        elif kind == "h2":
            parts.append(f"## Sub {rng.random():.3f}\n\n")
        elif kind == "setext":
            parts.append("Setext title\n------------\n\n")
        elif kind == "para":
            parts.append(" ".join(["word"] * rng.randint(1, 60)) + ".\nsecond line `code`\n\n")
        elif kind == "list":
            parts.append("".join(f"- item {i}\n  continued\n" for i in range(rng.randint(1, 6))) + "\n")
        elif kind == "quote":
            parts.append("> quoted\n> ## inner heading\n\n")
        elif kind == "fence":
            parts.append("```\n# not heading\n\ncode\n```\n")
        elif kind == "table":
            parts.append("| a | b |\n|---|---|\n" + "| x | y |\n" * rng.randint(1, 8) + "\n")
        elif kind == "blank":
            parts.append("\n" * rng.randint(1, 3))
        else:
            parts.append("---\n\n")
    text = "".join(parts)
    return text.replace("\n", "\r\n") if rng.random() < 0.3 else text


def test_concatenation_is_exact_for_many_documents_and_budgets() -> None:
    rng = random.Random(1234)
    for _ in range(80):
        text = _random_document(rng)
        for budget in (1, 7, 40, 250, 10_000):
            chunks = split_chunks(text, budget)
            assert "".join(chunks) == text
            assert all(chunks)
            if len(chunks) > 1:  # every cut is at the start of a line
                assert all(chunk.endswith(("\n", "\r\n")) for chunk in chunks[:-1])


def test_form_feeds_do_not_move_the_cut_points() -> None:
    text = "## A\n\n" + "para\x0cwith form feeds\x0c\x0c\n" * 3 + "\n## B\n\ntext\n"
    chunks = split_chunks(text, 5)
    assert "".join(chunks) == text
    assert all(chunk.startswith("## ") or chunk.startswith("para") for chunk in chunks)
    assert all(chunk.endswith("\n") for chunk in chunks)


# --- golden fixtures: a document, then its chunks separated by "✂" lines; the budget is in the title ---

BOUNDARIES = fixture_cases("chunking/boundaries.md", 2)


@pytest.mark.parametrize(("title", "parts"), BOUNDARIES, ids=[title for title, _ in BOUNDARIES])
def test_chunk_boundaries_fixture(title: str, parts: list[str]) -> None:
    budget = re.search(r"\((\d+) tokens\)$", title)
    assert budget, f"{title!r} names no budget"
    document, expected = (visible(part) for part in parts)
    assert split_chunks(document, int(budget.group(1))) == expected.split("✂\n")
