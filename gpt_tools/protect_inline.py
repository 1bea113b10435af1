"""Finding the inline parts of Markdown a model must not touch: code, link targets, HTML, templates.

Each finder takes the text of a run of lines (blocks already masked) and returns the spans to mask.
Link destinations and titles are read with markdown-it's own scanners, so `<url with spaces>`,
nested parentheses and titles split over lines end exactly where CommonMark ends them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from markdown_it.common.html_re import HTML_TAG_RE
from markdown_it.helpers import parseLinkDestination, parseLinkTitle

Span = tuple[int, int, str]  # start, end, kind

MARKER_CHARS = "⟦⟧⟪⟫〚〛⦃⦄"
# One line break; never a CR alone when an LF follows, or a CRLF would count as a blank line.
NEWLINE = r"(?:\r\n|\r(?!\n)|\n)"
# A code span may cross line breaks, but never a blank line (that would end its paragraph).
CODE_SPAN = re.compile(rf"(?<!`)(`+)(?!`)((?:(?!{NEWLINE}[ \t]*{NEWLINE})[\s\S])+?)(?<!`)\1(?!`)")
_BLANK_LINE = re.compile(NEWLINE + r"[ \t>]*" + NEWLINE)
_LINK_OPEN = re.compile(r"(?<!\\)\]\(")
_LINE_START = r"(?:\A|(?<=[\r\n]))"  # re.M's ^ does not know a lone CR ends a line
_CONTAINER = r"(?:[ \t]*(?:>|[-+*](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*"
# [label]: at a line's start, inside quotes and list items too; [^note]: is a footnote, which is prose.
_DEFINITION = re.compile(_LINE_START + _CONTAINER + r"\[(?!\^)(?:\\.|[^\\\[\]])+\]:")
# CommonMark autolinks: any scheme, and e-mail addresses in angle brackets.
_AUTOLINK = re.compile(
    r"<(?:[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^<>\x00-\x20]*"
    r"|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>"
)
# A bare tag (<br>, <kbd>, </a>) has nothing a model could damage; one with attributes has URLs, ids.
_BARE_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*\s*/?>")
# Jinja/Liquid/Hugo template code and {#id .class} attribute lists (the targets of #id links).
_IN_PARAGRAPH = rf"(?:(?!{NEWLINE}[ \t>]*{NEWLINE})[\s\S])*?"  # any text short of a blank line
_TEMPLATE = re.compile(rf"\{{\{{{_IN_PARAGRAPH}\}}\}}|\{{%{_IN_PARAGRAPH}%\}}|\{{#{_IN_PARAGRAPH}#\}}")
_ATTRIBUTES = re.compile(r"\{[:#.][^{}\r\n]*\}")
_BARE_URL = re.compile(rf"(?<![\w@/.:+-])(?:(?:https?|ftp)://|www\.)[^\s<>\[\]`{MARKER_CHARS}]+")
_EMAIL = re.compile(
    r"(?<![\w.+/:-])[A-Za-z0-9._+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
# GFM's rule: trailing punctuation ends the sentence, not the URL.
_TRAILING = "?!.,:;*_~'\""
_ENTITY_AT_END = re.compile(r"&[A-Za-z0-9]+;\Z")


def _limit(text: str, start: int) -> int:
    """Where the paragraph holding start ends: no inline construct crosses a blank line."""
    blank = _BLANK_LINE.search(text, start)
    return blank.start() if blank else len(text)


def _skip_space(text: str, pos: int, limit: int, *, newline: bool) -> int:
    """pos after spaces and tabs, and after at most one line break when newline is allowed."""
    while pos < limit and text[pos] in " \t":
        pos += 1
    if newline and pos < limit and text[pos] in "\r\n":
        pos += 2 if text.startswith("\r\n", pos) else 1
        while pos < limit and text[pos] in " \t":
            pos += 1
    return pos


def _target(text: str, pos: int, limit: int) -> tuple[int, int, int] | None:
    """(start, destination end, title end) of a link target from pos, or None if there is none.

    The title end is the destination end when no title follows.
    """
    start = _skip_space(text, pos, limit, newline=True)
    destination = parseLinkDestination(text, start, limit)
    if not destination.ok or destination.pos == start:
        return None
    end = destination.pos
    after = _skip_space(text, end, limit, newline=True)
    if end < after < limit and text[after] in "\"'(":
        title = parseLinkTitle(text, after, limit)
        if title.ok:
            return start, end, title.pos
    return start, end, end


def link_targets(text: str) -> Iterator[Span]:
    """Inline link and image destinations with their titles: [a](<url> "title")."""
    for match in _LINK_OPEN.finditer(text):
        limit = _limit(text, match.end())
        found = _target(text, match.end(), limit)
        if found is None:
            continue
        for end in (found[2], found[1]):  # with the title if the link closes after it
            close = _skip_space(text, end, limit, newline=True)
            if close < limit and text[close] == ")":
                yield found[0], end, "url"
                break


_LINE_END = re.compile(r"[ \t]*(?:\r\n?|\n|\Z)")


def definitions(text: str) -> Iterator[Span]:
    """Reference definitions' destinations and titles: [id]: <url> 'title', the title maybe on the next line."""
    for match in _DEFINITION.finditer(text):
        found = _target(text, match.end(), _limit(text, match.end()))
        if found is None:
            continue
        for end in (found[2], found[1]):  # with the title if only spaces follow it
            if _LINE_END.match(text, end):
                yield found[0], end, "url"
                break


def html_and_templates(text: str) -> Iterator[Span]:
    """Autolinks, inline HTML with attributes or comments, template code and attribute lists."""
    for match in _AUTOLINK.finditer(text):
        yield match.start(), match.end(), "url"
    for match in HTML_TAG_RE.finditer(text):
        if not _BARE_TAG.fullmatch(match.group(0)):
            yield match.start(), match.end(), "HTML tag"
    for kind, pattern in (("template", _TEMPLATE), ("attribute list", _ATTRIBUTES)):
        for match in pattern.finditer(text):
            yield match.start(), match.end(), kind


def _trim_url(url: str) -> str:
    while url:
        if url[-1] in _TRAILING:
            entity = _ENTITY_AT_END.search(url)
            url = url[: entity.start()] if entity else url[:-1]
        elif url[-1] == ")" and url.count("(") < url.count(")"):
            url = url[:-1]
        else:
            break
    return url


def bare_links(text: str) -> Iterator[Span]:
    """URLs (https://…, www.…) and e-mail addresses written as plain text, as GFM links them."""
    for match in _BARE_URL.finditer(text):
        url = _trim_url(match.group(0))
        if len(url) > len("www.") and (not url.startswith("www.") or "." in url[4:]):
            yield match.start(), match.start() + len(url), "url"
    for match in _EMAIL.finditer(text):
        yield match.start(), match.end(), "url"


def structural(text: str) -> list[Span]:
    """Every link target, definition, HTML and template span, the earliest first, none overlapping."""
    found = sorted([*link_targets(text), *definitions(text), *html_and_templates(text)], key=lambda s: (s[0], -s[1]))
    return _disjoint(text, found)


def bare(text: str) -> list[Span]:
    return _disjoint(text, sorted(bare_links(text), key=lambda s: (s[0], -s[1])))


def _disjoint(text: str, spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for span in spans:
        if span[1] > span[0] and (not out or span[0] >= out[-1][1]) and not _BLANK_LINE.search(text, span[0], span[1]):
            out.append(span)
    return out
