"""Golden fixture files in markdown-it's format (as mdformat and markdown-it-py use): each case is a title,
then a fixed number of sections, each closed by a line holding only ".".

Line endings and invisible characters are the subject of some fixtures, so `visible()` spells them out:
`␍` is a carriage return (so `text␍` is a CRLF line), `␄` ends a line with no line feed (`text␍␄` is a
CR-only line; `␄` on a section's last line leaves the section without a final newline), and `⟨U+XXXX⟩` is
that code point (a BOM, a form feed, U+2028 ...). A fixture that does not use them reads as plain Markdown.
"""

from __future__ import annotations

import re
from pathlib import Path

from gpt_tools.markdown.textio import split_lines

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_CODE_POINT = re.compile(r"⟨U\+([0-9A-Fa-f]{4,6})⟩")


def fixture_cases(name: str, sections: int) -> list[tuple[str, list[str]]]:
    """(title, sections) of each case of fixtures/NAME; split_lines, since a fixture may hold form feeds."""
    cases: list[tuple[str, list[str]]] = []
    lines, current = split_lines((FIXTURES / name).read_text(encoding="utf-8")), list[str]()
    for line in lines:
        if line.rstrip("\r\n") != ".":
            current.append(line)
        elif not cases or len(cases[-1][1]) == sections:
            cases.append(("".join(current).strip(), []))
            current = []
        else:
            cases[-1][1].append("".join(current))
            current = []
    assert cases and all(len(parts) == sections for _, parts in cases), name
    assert len({title for title, _ in cases}) == len(cases), f"{name}: two cases share a title"
    return cases


def visible(section: str) -> str:
    """The text a section spells out with `␍`, `␄` and `⟨U+XXXX⟩` (see the module's docstring)."""
    text = section.replace("␄\n", "").replace("␍", "\r")
    return _CODE_POINT.sub(lambda found: chr(int(found.group(1), 16)), text)
