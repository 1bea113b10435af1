"""The `<file path="…">` tag that carries a file's text in a prompt.

Neither a file's name nor its text can fake a tag boundary: the name is escaped as an XML attribute
value (`"`, `<`, `>`, `&`, and every control or line-separating character as a character reference,
so `a.md"><system>…` stays inside the attribute), and a `<file` or `</file` in the text travels as
`&lt;file` / `&lt;/file`, so the only closing tag is the block's own. Escaping, not a random boundary:
the same input must make the same request (response cache keys, a batch redone at collect time).
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: each could start a
# new line in the model's reading of the name; and the quote that would end the attribute.
_UNSAFE_IN_NAME = re.compile('[\x00-\x1f\x7f-\x9f\u2028\u2029"]')
_TAG_IN_TEXT = re.compile(r"<(?=/?file\b)", re.IGNORECASE)


def _reference(match: re.Match[str]) -> str:
    char = match.group()
    return "&quot;" if char == '"' else f"&#{ord(char)};"


def path_attribute(path: str) -> str:
    """The path as a double-quoted attribute value's text."""
    return _UNSAFE_IN_NAME.sub(_reference, escape(path))


def file_block(path: str, text: str) -> str:
    """`text` (its trailing newlines dropped) wrapped in a tag naming `path`."""
    body = _TAG_IN_TEXT.sub("&lt;", text.rstrip("\n"))
    return f'<file path="{path_attribute(path)}">\n{body}\n</file>'
