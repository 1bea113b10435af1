"""What the model is told about the markers it is sent: made from the masked text itself.

A document-mode rewriter sees placeholders where protected regions were (protect.py). Its instructions
get one section naming the bracket pair and the letters this very text uses, so they cannot drift from
what is sent: a custom assistant gets it too, and a document with no marker gets nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from gpt_tools.markdown import protect_inline, protect_optout
from gpt_tools.markdown.protect import Masked, restrict

# What the model is told each kind of marker stands for (explain()); every kind has its line.
DESCRIPTIONS = {
    "front matter": "the front matter (metadata at the top)",
    "code block": "a code block",
    "HTML block": "an HTML block",
    "code": "inline code",
    "url": "a URL or link target (with its title)",
    "HTML tag": "an inline HTML tag or comment",
    "template": "template code",
    protect_inline.DEFINITION: "a link reference definition's target",
    "attribute list": "an attribute list such as {#id}",
    "footnote label": "a footnote label",
    protect_optout.KIND: "a part the author marked to be left exactly as it is",
}


def explain(masked: Masked, *, edits: bool = False) -> str:
    """What the model must be told about the markers in masked.text, appended to its instructions; ""
    when there are none. Made from the markers themselves, so it says exactly what is sent; `edits`: the
    reply is edits (edits mode hides only opt-out regions), and an edit touching a marker is refused."""
    by_token = {region.token: region for region in masked.regions}
    tokens = [token for token in masked.pattern.findall(masked.text) if token in by_token]
    if not tokens:
        return ""
    opening, closing = masked.markers
    kinds = dict.fromkeys((token[1], by_token[token].kind) for token in tokens)
    listed = "\n".join(f"- {opening}{letter}…{closing} {DESCRIPTIONS[kind]}" for letter, kind in kinds)
    rule = _EDITS_RULE if edits else _DOCUMENT_RULE
    return (
        "\n\n# Protected regions\n\n"
        f"Parts of the document were taken out before you were sent it and replaced by markers: {opening}, a capital "
        f"letter, a number, {closing} (the first one here is {tokens[0]}). Each stands for text you cannot see:\n"
        f"{listed}\n\n{rule}"
    )


_DOCUMENT_RULE = (
    "Copy every marker exactly as written, exactly once, in the same order and place: a marker alone on its "
    "line stays alone on its line, with the same indentation, list marker or quote marks before it. Never "
    "edit, translate, merge, split, reorder or drop a marker, and never write one of your own: the original "
    "text is put back in its place, and a reply whose markers do not all come back is refused."
)
_EDITS_RULE = (
    "Never put a marker in a find or a replace, and never write one of your own: the original text stays in "
    "its place, and an edit that touches a marker is refused. A marker's whole line is the author's text too "
    "(the list marker or quote marks before it, the line break after it): leave that line as it is."
)


def notes(masked: Masked, chunks: Sequence[str], *, edits: bool = False) -> list[str]:
    """What each chunk's instructions get appended (explain() of its share of masked), for estimates."""
    return [explain(restrict(masked, chunk), edits=edits) for chunk in chunks]
