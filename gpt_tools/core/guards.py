"""Guards every front end shares: what may be sent, and what counts as a usable reply."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

from gpt_tools.errors import InputRefused, ReplyRejected
from gpt_tools.markdown.textio import estimate_tokens as estimate_tokens  # re-exported: chunking needs it below core
from gpt_tools.markdown.textio import split_lines

if TYPE_CHECKING:
    from gpt_tools.wire.backends.base import Reply

# Each pattern names what it found; the matched text itself is never shown to anyone.
_SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a private key block", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("an OpenAI-style API key (sk-…)", re.compile(r"\bsk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_-]{32,}")),
    ("an AWS access key ID", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    (
        "an AWS secret access key",
        re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*[\"']?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"),
    ),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,})")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{20,}")),
)
# Documentation is full of placeholder keys (AWS's own AKIAIOSFODNN7EXAMPLE, sk-xxxx…); refusing those
# would make the tool useless on exactly the docs it is for.
_PLACEHOLDER = re.compile(r"(?i)example|(.)\1{7,}")
# detect-secrets' own spellings, so a line its users already marked passes here too: on the secret's
# line, or `pragma: allowlist nextline secret` on the line before it.
PRAGMA = "pragma: allowlist secret"
_ALLOW_LINE = re.compile(r"pragma: ?allowlist[ -]secret")
_ALLOW_NEXT = re.compile(r"pragma: ?allowlist[ -]nextline[ -]secret")


# scannable_text marks each member of an archive with a line "\x01name\x01" (a leading "!" in place of
# a name: the archive could not be scanned, and why). Scanned bytes never hold \x01 (it becomes a
# space), so a file cannot forge a marker; a name is shown in messages, so it is made printable.
_MARK = "\x01"
_SECTION = re.compile("\n\x01([^\x01\n]*)\x01\n")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MARKUP = (".xml", ".rels", ".html", ".htm", ".xhtml", ".svg", ".opf", ".ncx")
_TAG = re.compile(r"<[^<>]*>")  # Word splits a line into runs: "<w:t>-----BEGIN</w:t>...<w:t> PRIVATE"


@dataclass(frozen=True)
class SecretFinding:
    source: str
    line: int
    kind: str
    unscannable: bool = False  # kind is then why the file could not be scanned
    contained: bool = False  # in a container's member, where no pragma counts

    def describe(self) -> str:
        if self.unscannable:
            return f"{self.source} cannot be scanned: {self.kind}"
        return f"{self.source}, line {self.line}: looks like {self.kind}"


def line_starts(text: str) -> list[int]:
    """The offset of each line of text; `bisect_right(starts, offset)` is the 1-based line of offset.

    Lines end where Markdown ends them (LF, CRLF, CR: textio.split_lines): counting LFs alone made
    every line of a CR-only file line 1.
    """
    return [0, *accumulate(len(line) for line in split_lines(text))]


def find_secrets(text: str, source: str = "input") -> list[SecretFinding]:
    """Every plausible secret in text, by line; placeholders used in docs are not reported.

    An archive's members (see scannable_text) are reported as "source: member", lines counted in it.
    """
    if _MARK not in text:
        return _find_in(text, source)
    pieces = _SECTION.split(text)  # [the file's own bytes, name, member, name, member, ...]
    findings = _find_in(pieces[0], source)
    for label, body in zip(pieces[1::2], pieces[2::2], strict=True):
        if label.startswith("!"):
            findings.append(SecretFinding(source, 0, label[1:], unscannable=True))
        else:
            # No pragma inside a container: a .docx holds its whole text on one XML line (and its tags
            # stripped, runs joined), so one pragma there would allow every key in the document.
            findings.extend(_find_in(body, f"{source}: {label}", pragmas=False))
    return sorted(findings, key=lambda f: (f.source, f.line))


def _find_in(text: str, source: str, *, pragmas: bool = True) -> list[SecretFinding]:
    findings: list[SecretFinding] = []
    starts: list[int] = []  # each line's offset, computed once a secret is found
    broad: list[int] = []
    for kind, pattern in _SECRET_PATTERNS:
        for match in pattern.finditer(text):
            if kind != "a private key block" and _PLACEHOLDER.search(match.group(0)):
                continue
            starts = starts or line_starts(text)
            broad = broad or [0, *accumulate(len(line) for line in text.splitlines(keepends=True))]
            end = _key_end(text, match.end()) if kind == "a private key block" else match.end()
            if not (pragmas and _allowed(text, broad, match.start(), end)):
                findings.append(SecretFinding(source, bisect_right(starts, match.start()), kind, contained=not pragmas))
    return sorted(findings, key=lambda f: (f.source, f.line))


_KEY_END = re.compile(r"[ \t]*-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
# A key's body: base64 lines, PEM headers (Proc-Type: ...) and the blank line after them.
_KEY_LINE = re.compile(r"[ \t]*(?:[A-Za-z0-9+/=]{8,}|[A-Za-z-]+:[^\r\n]*)?[ \t]*")
_BREAK = re.compile(r"\r\n|\r|\n")


def _key_end(text: str, after: int) -> int:
    """Where a private key block whose BEGIN ends at `after` ends: its END line, else its last line that
    looks like key material (a header alone in prose is just that line). The key is those lines, which
    no pattern sees, so a pragma must mark each of them."""
    last = after
    newline = _BREAK.search(text, after)
    while newline is not None:
        start = newline.end()
        end = _KEY_END.match(text, start)
        if end:
            return end.end()
        line = _KEY_LINE.match(text, start)
        after_line = _BREAK.match(text, line.end()) if line else None
        if line is None or (after_line is None and line.end() < len(text)):
            break  # not key material: the block ended with the line before
        last = line.end() if line.group(0).strip() else last
        newline = after_line
    return last


def _allowed(text: str, broad: list[int], start: int, end: int) -> bool:
    """Whether the author marked every line text[start:end] is on as holding no secret, as detect-secrets
    reads it. Lines here break at every character some editor breaks at (str.splitlines: U+2028, NEL,
    form feed... as well as LF and CR): a pragma shown on a line of its own never allows a secret next
    to it, and a secret that runs over several lines needs each of them marked."""
    first, last = bisect_right(broad, start), bisect_right(broad, max(start, end - 1))
    return all(_line_allowed(text, broad, line) for line in range(first, last + 1))


def _line_allowed(text: str, broad: list[int], line: int) -> bool:
    here = text[broad[line - 1] : broad[line]] if line < len(broad) else text[broad[line - 1] :]
    if _ALLOW_LINE.search(here):
        return True
    before = text[broad[line - 2] : broad[line - 1]] if line > 1 else ""
    # `nextline` means the next line Markdown sees: not one only a U+2028 or a form feed starts.
    return bool(_ALLOW_NEXT.search(before)) and before.endswith(("\n", "\r"))


def scannable_text(data: bytes) -> str:
    """Any file's bytes as text the secret patterns can read (they are ASCII), archives' members too.

    Invalid UTF-8 and NULs become harmless non-word characters (the text holds no NUL: it is only
    scanned, never sent as text); UTF-16 (with a BOM, or mostly NULs) is read as such so a key in it is
    still one run of characters. A zip container (.docx, .xlsx, .odt, .epub, .zip), a gzip file or a
    PDF's Flate streams are unpacked within bounds (containers.py) and each member is appended, marked;
    markup members also without their tags. One that cannot be unpacked is marked so that
    refuse_secrets refuses it: it was not scanned.
    """
    text = _plain_text(data)
    from gpt_tools.core import containers  # only files that look compressed pay for zipfile/gzip

    if containers.kind(data) is None:
        return text
    try:
        members = containers.unpack(data)
    except containers.Unscannable as exc:
        return f"{text}\n{_MARK}!{_UNPRINTABLE.sub('?', exc.reason)}{_MARK}\n"
    parts = [text]
    for name, content in members:
        label, member = _UNPRINTABLE.sub("?", name), _plain_text(content)
        parts.append(f"\n{_MARK}{label}{_MARK}\n{member}")
        if name.lower().endswith(_MARKUP):
            parts.append(f"\n{_MARK}{label} (text){_MARK}\n{_TAG.sub('', member)}")
    return "".join(parts)


def _plain_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace").replace("\x00", " ")
    elif data.count(0) * 4 >= len(data) > 0:  # UTF-16 without a BOM: the ASCII of a key is every other byte
        text = data.decode("utf-8", errors="replace").replace("\x00", "")
    else:
        text = data.decode("utf-8", errors="replace").replace("\x00", " ")
    return text.replace(_MARK, " ")


def refuse_secrets(texts: dict[str, str]) -> None:
    """Raise InputRefused naming where secrets are; never echo the secret itself."""
    findings = [f for source, text in texts.items() for f in find_secrets(text, source)]
    if findings:
        listed = "; ".join(f.describe() for f in findings[:5])
        more = f" (and {len(findings) - 5} more)" if len(findings) > 5 else ""
        if all(f.unscannable for f in findings):
            raise InputRefused(
                f"refusing to send what cannot be checked for secrets: {listed}{more}. "
                "Pass --allow-secrets to send it unchecked."
            )
        raise InputRefused(
            f"refusing to send what looks like a secret: {listed}{more}. Remove it; if it is not one, "
            + ("" if all(f.contained for f in findings) else f"add a `{PRAGMA}` comment to each line it is on, or ")
            + "pass --allow-secrets to send everything unchecked."
        )


_FENCE_LINE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")
# Only an explicit Markdown info string says "this fence wraps a document"; a bare ``` may be the
# first of several code blocks, so it is unwrapped only when the parser sees one fence spanning all.
_DOC_LANGS = frozenset({"markdown", "md", "gfm", "mdx"})
_CITATIONS = (re.compile("【[^】\n]{0,80}†[^】\n]{0,200}】"), re.compile("\ue200[^\ue201]{0,300}\ue201"))


def _is_fenced(text: str) -> bool:
    return text.lstrip().startswith(("```", "~~~"))


def unwrap_outer_fence(reply: str, original: str) -> str:
    """Remove one code fence wrapped around the whole reply when the input had none.

    markdown-it-py decides whether the opening fence really closes at the last line; models also wrap
    documents that contain fences of the same length in ```markdown, which CommonMark would close early,
    so a documented Markdown info string is unwrapped line-wise.
    """
    if _is_fenced(original) or not _is_fenced(reply):
        return reply
    lines = reply.strip().split("\n")
    opening = _FENCE_LINE.match(lines[0])
    closing = lines[-1].strip()
    if len(lines) < 2 or opening is None:
        return reply
    fence = opening.group("fence")
    if not (closing.startswith(fence) and set(closing) == {fence[0]}):
        return reply
    from markdown_it import MarkdownIt  # only replies that look fenced pay for the parser

    tokens = [t for t in MarkdownIt("commonmark").parse(reply.strip()) if t.level == 0]
    whole = len(tokens) == 1 and tokens[0].type == "fence"
    if whole or opening.group("info").lower() in _DOC_LANGS:
        return "\n".join(lines[1:-1]) + "\n"
    return reply


def strip_citations(reply: str, original: str) -> str:
    """Drop file_search citation markers, unless the input itself used such markers."""
    for pattern in _CITATIONS:
        if not pattern.search(original):
            reply = pattern.sub("", reply)
    return reply


def check_reply(text: str, *, status: str, reason: str | None, original: str) -> str:
    """Refuse anything but a complete, non-empty reply, then clean it for use."""
    if status == "refused":  # the backends put the model's own explanation in reason
        raise ReplyRejected(f"the model refused: {reason or 'no reason given'}; nothing was applied")
    if status != "completed":
        why = f" ({reason})" if reason else ""
        raise ReplyRejected(f"the reply was not complete: status {status}{why}; nothing was applied")
    cleaned = strip_citations(unwrap_outer_fence(text, original), original)
    if not cleaned.strip() and original.strip():
        raise ReplyRejected("the model returned an empty reply for a non-empty input; nothing was applied")
    return cleaned


def billed(refused: ReplyRejected, reply: Reply) -> None:
    """refused, carrying what the reply it refused cost and was: the tokens are billed all the same
    (the run log must say so), log_texts keeps the reply, and the server's request id is what its
    support asks for. Every path that refuses a reply it was sent calls this, so none forgets one."""
    refused.usage = reply.usage
    refused.reply_text = reply.text
    refused.request_id = refused.request_id or reply.request_id
