"""Whether one edit adds prose of its own: the edits-mode counterpart of the rewrite content guard.

A located edit changes only its span, so it cannot drop the rest of the document; but its `replace`
can still carry what a copy editor never writes: a new paragraph, a note to the user glued to a
sentence ("Second para. (I corrected one typo.)"), a sentence of its own. Such an edit is refused
(`invents`), while what fixing a sentence takes passes: words changed, a word or two restored,
punctuation added ("I went home I slept" -> "I went home; then I slept."), a blank line a Markdown fix
needs (before a list or a heading).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

_PARAGRAPH = "\n\n"  # one token for a blank line: a new paragraph starts after it
_TOKEN = re.compile(r"\r?\n[ \t]*\r?\n|\r[ \t]*\r|[^\W_]+|[^\w\s]")
_WORD = re.compile(r"[^\W_]+")
_BOUNDARY = frozenset([*".!?:;([", _PARAGRAPH])  # what a new sentence, an aside or a paragraph starts after
MAX_NEW_WORDS = 8  # more new words than this, and more than the span had, is new prose, not a fix
MIN_NEW_SENTENCE = 2  # words after a boundary that make an added sentence or aside
_EXCERPT = 40


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= _EXCERPT else text[: _EXCERPT - 1].rstrip() + "…")


def added_prose(before: str, after: str) -> str | None:
    """Why replacing `before` with `after` adds prose of its own, or None when it is a fix."""
    old = [_token(m.group(0)) for m in _TOKEN.finditer(before)]
    new_matches = list(_TOKEN.finditer(after))
    new = [_token(m.group(0)) for m in new_matches]
    added_words = 0
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag not in ("insert", "replace"):
            continue
        net = _words(new[j1:j2]) - _words(old[i1:i2])
        added_words += max(0, net)
        if net >= MIN_NEW_SENTENCE and (start := _sentence_start(new[j1:j2])) is not None:
            piece = after[new_matches[j1 + start].start() : new_matches[j2 - 1].end()]
            return f"its replace adds {_excerpt(piece)}, which the text did not have (a note or a sentence of its own)"
    if added_words > max(MAX_NEW_WORDS, _words(old)):
        return f"its replace adds {added_words} words to {_words(old)}; an edit fixes text, it does not write more"
    return None


def _token(text: str) -> str:
    return _PARAGRAPH if text.isspace() else text


def _words(tokens: list[str]) -> int:
    return sum(1 for token in tokens if _WORD.fullmatch(token))


def _sentence_start(tokens: list[str]) -> int | None:
    """Index of a boundary in an inserted run that at least MIN_NEW_SENTENCE words follow."""
    for index, token in enumerate(tokens):
        if token in _BOUNDARY and _words(tokens[index + 1 :]) >= MIN_NEW_SENTENCE:
            return index
    return None
