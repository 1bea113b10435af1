"""Finding the inline parts of Markdown a model must not touch: code, link targets, HTML, templates.

Each finder takes the text of a run of lines (blocks already masked) and returns the spans to mask.
Link destinations and titles are read with markdown-it's own scanners, so `<url with spaces>`,
nested parentheses and titles split over lines end exactly where CommonMark ends them.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

Span = tuple[int, int, str]  # start, end, kind
DEFINITION = "link reference"  # a reference definition's destination and title

MARKER_CHARS = "⟦⟧⟪⟫〚〛⦃⦄"
# One line break; never a CR alone when an LF follows, or a CRLF would count as a blank line.
NEWLINE = r"(?:\r\n|\r(?!\n)|\n)"
# A code span may cross line breaks, but never a blank line (that would end its paragraph).
CODE_SPAN = re.compile(rf"(?<!`)(`+)(?!`)((?:(?!{NEWLINE}[ \t]*{NEWLINE})[\s\S])+?)(?<!`)\1(?!`)")
_BLANK_LINE = re.compile(rf"(?={NEWLINE}[ \t>]*{NEWLINE})")  # every start, overlapping ones too
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
_TEMPLATES = (("{{", "}}"), ("{%", "%}"), ("{#", "#}"))
_ATTRIBUTES = re.compile(r"\{[:#.][^{}\r\n]*\}")
# [^label] where a footnote is used and where it is defined: an identifier both must spell alike.
_FOOTNOTE = re.compile(r"\[\^[^\]\s\\]+\]")
_BARE_URL = re.compile(rf"(?<![\w@/.:+-])(?:(?:https?|ftp)://|www\.)[^\s<>\[\]`{MARKER_CHARS}]+")
_EMAIL = re.compile(
    r"(?<![\w.+/:-])[A-Za-z0-9._+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
# GFM's rule: trailing punctuation ends the sentence, not the URL.
_TRAILING = "?!.,:;*_~'\""
_ENTITY_AT_END = re.compile(r"&[A-Za-z0-9]+;\Z")


class _Paragraphs:
    """Where each paragraph ends: no inline construct crosses a blank line.

    Found once per text, so a paragraph of thousands of unclosed `](` or `{{` stays linear.
    """

    def __init__(self, text: str) -> None:
        self.size = len(text)
        self.blanks = [match.start() for match in _BLANK_LINE.finditer(text)]

    def limit(self, start: int) -> int:
        at = bisect.bisect_left(self.blanks, start)
        return self.blanks[at] if at < len(self.blanks) else self.size


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
    from markdown_it.helpers import parseLinkDestination, parseLinkTitle  # start-up: only documents with links

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


def link_targets(text: str, paragraphs: _Paragraphs) -> Iterator[Span]:
    """Inline link and image destinations with their titles: [a](<url> "title")."""
    for match in _LINK_OPEN.finditer(text):
        limit = paragraphs.limit(match.end())
        found = _target(text, match.end(), limit)
        if found is None:
            continue
        for end in (found[2], found[1]):  # with the title if the link closes after it
            close = _skip_space(text, end, limit, newline=True)
            if close < limit and text[close] == ")":
                yield found[0], end, "url"
                break


_LINE_END = re.compile(r"[ \t]*(?:\r\n?|\n|\Z)")


def definitions(text: str, paragraphs: _Paragraphs) -> Iterator[Span]:
    """Reference definitions' destinations and titles: [id]: <url> 'title', the title maybe on the next line."""
    for match in _DEFINITION.finditer(text):
        found = _target(text, match.end(), paragraphs.limit(match.end()))
        if found is None:
            continue
        for end in (found[2], found[1]):  # with the title if only spaces follow it
            if _LINE_END.match(text, end):
                yield found[0], end, DEFINITION
                break


_LABEL_BEFORE = re.compile(rf"\[((?:\\.|[^\\\[\]]){{1,999}})\]:[ \t]*(?:{NEWLINE}[ \t]*)?\Z")


def definition_label(text: str, start: int) -> str | None:
    """The label of the reference definition whose destination starts at start."""
    found = _LABEL_BEFORE.search(text, max(0, start - 1100), start)
    return found.group(1) if found else None


def html_and_attributes(text: str) -> Iterator[Span]:
    """Autolinks, inline HTML with attributes or comments, {#id .class} attribute lists, footnote labels."""
    for match in _ATTRIBUTES.finditer(text):
        yield match.start(), match.end(), "attribute list"
    for match in _FOOTNOTE.finditer(text):
        yield match.start(), match.end(), "footnote label"
    if "<" not in text:
        return
    from markdown_it.common.html_re import HTML_TAG_RE  # start-up: only documents with a `<` pay for the parser

    for match in _AUTOLINK.finditer(text):
        yield match.start(), match.end(), "url"
    for match in HTML_TAG_RE.finditer(text):
        if not _BARE_TAG.fullmatch(match.group(0)):
            yield match.start(), match.end(), "HTML tag"


def templates(text: str, paragraphs: _Paragraphs) -> Iterator[Span]:
    """Jinja/Liquid/Hugo `{{ … }}`, `{% … %}` and `{# … #}`, each closed within its paragraph."""
    for opening, closing in _TEMPLATES:
        closes = _positions(text, closing)
        end = 0
        for start in _positions(text, opening):
            if start < end:
                continue  # inside the one just found
            at = bisect.bisect_left(closes, start + len(opening))
            if at < len(closes) and closes[at] < paragraphs.limit(start):
                end = closes[at] + len(closing)
                yield start, end, "template"


def _positions(text: str, needle: str) -> list[int]:
    found, at = [], text.find(needle)
    while at >= 0:
        found.append(at)
        at = text.find(needle, at + 1)
    return found


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
    paragraphs = _Paragraphs(text)
    found = [
        *templates(text, paragraphs),  # first: `{# … #}` is a template comment before it is an {#id}
        *link_targets(text, paragraphs),
        *definitions(text, paragraphs),
        *html_and_attributes(text),
    ]
    return _disjoint(paragraphs, found)


def bare(text: str) -> list[Span]:
    return _disjoint(_Paragraphs(text), list(bare_links(text)))


def _disjoint(paragraphs: _Paragraphs, spans: list[Span]) -> list[Span]:
    """The spans to mask: the earliest (then longest) first, none overlapping, none over a blank line."""
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s[0], -s[1])):
        if span[1] > span[0] and (not out or span[0] >= out[-1][1]) and paragraphs.limit(span[0]) >= span[1]:
            out.append(span)
    return out
