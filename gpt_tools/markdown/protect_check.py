"""What a restored document must still be: each code/HTML block, link definition and link as before.

Markers prove the protected bytes came back; only a parse shows they still mean what they meant. A
fence the model moved out of its list item, an indented block joined to a paragraph, a definition
whose label it "fixed" or a link it broke with a space before `(` all restore byte for byte and are
still damage.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

Shape = tuple[str, ...]  # a block as markdown-it sees it: type, info, content, enclosing containers
BLOCKS = {"fence": "code block", "code_block": "code block", "html_block": "HTML block"}


def parser() -> MarkdownIt:
    from markdown_it import MarkdownIt  # ~30 ms: imported only for documents that need it

    return MarkdownIt("commonmark").enable("table")


@dataclass(frozen=True, kw_only=True)
class Parsed:
    blocks: list[tuple[int, int, Shape]]  # (first line, end line, shape) of each code/HTML block
    references: dict[str, tuple[str, str]]  # normalised label -> (href, title)
    links: list[str] = field(default_factory=list)  # each link's href and image's src, in order


@functools.lru_cache(maxsize=16)
def parse(text: str) -> Parsed:
    """The code/HTML blocks, references and links markdown-it sees in `text`.

    Cached: masking, the edit guard and the reply checks parse the same texts several times per run
    (three full parses of a 4 KB document were a fifth of gpt-filter's time). Callers only read it.
    """
    env: dict[str, Any] = {}
    tokens = parser().parse(text, env)
    containers: list[str] = []
    blocks: list[tuple[int, int, Shape]] = []
    links: list[str] = []
    for token in tokens:
        if token.nesting == 1:
            containers.append(token.type)
        elif token.nesting == -1:
            containers.pop()
        elif token.type in BLOCKS and token.map:
            blocks.append((token.map[0], token.map[1], (token.type, token.info, token.content, *containers)))
        elif token.type == "inline":
            links.extend(_links(token.children or ()))
    references = {label: (found["href"], found["title"]) for label, found in env.get("references", {}).items()}
    return Parsed(blocks=blocks, references=references, links=links)


def _links(children: Iterable[Any]) -> list[str]:
    found: list[str] = []
    for child in children:
        if child.type == "link_open":
            found.append(f"link {child.attrs.get('href', '')}")
        elif child.type == "image":
            found.append(f"image {child.attrs.get('src', '')}")
            found.extend(_links(child.children or ()))  # a link inside an image's alt text
    return found


def lost_link(before: list[str], after: list[str]) -> str | None:
    """The first link of before that after does not keep, in order; None if after keeps them all.

    New links are allowed (a linter may wrap a bare URL in <>); lost ones are not.
    """
    remaining = iter(after)
    for link in before:
        if not any(link == candidate for candidate in remaining):
            return link
    return None
