"""Turning bytes into text and back without losing a byte of the user's conventions."""

from __future__ import annotations

import re

from .errors import InputRefused

BOM = "\ufeff"


def decode_input(data: bytes, *, source: str = "input") -> str:
    """Decode UTF-8 input, refusing binary data and invalid UTF-8 with the offending position."""
    if b"\0" in data:
        raise InputRefused(f"{source} looks binary (it holds NUL bytes); refusing to send it")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputRefused(
            f"{source} is not valid UTF-8 (byte {exc.start}, line {line}); refusing to send it"
        ) from None


def uses_crlf(text: str) -> bool:
    """True when most line breaks of text are CRLF (Windows files keep their endings)."""
    crlf = text.count("\r\n")
    return crlf > 0 and crlf >= text.count("\n") - crlf


def _newline_run(text: str, *, at_end: bool) -> str:
    """The run of line breaks (LF or CRLF) at the start or end of text."""
    stripped = text.rstrip("\r\n") if at_end else text.lstrip("\r\n")
    if at_end:
        return text[len(stripped) :]
    return text[: len(text) - len(stripped)]


def conform_to_input(reply: str, original: str, *, rewrite: bool) -> str:
    """Give reply the line endings, BOM and leading/trailing newline convention of original.

    Models normalise these freely; a user diffing or committing the result must see only real edits.
    A rewrite keeps the exact runs of blank lines around the document; new text only gets a final
    newline when the input had one.
    """
    body = reply.replace("\r\n", "\n").lstrip(BOM)
    crlf = uses_crlf(original)
    if rewrite:
        body = body.strip("\n")
        # A blank-only original has one run of newlines, not a leading and a trailing one.
        blank = not original.lstrip(BOM).strip("\r\n")
        lead = "" if blank else _newline_run(original.lstrip(BOM), at_end=False).replace("\r\n", "\n")
        trail = _newline_run(original, at_end=True).replace("\r\n", "\n")
        body = lead + body + trail if body else lead + trail
    elif original.endswith("\n"):
        body = body.rstrip("\n") + "\n"
    else:
        body = body.rstrip("\n")
    if rewrite and "\r\n" in original and "\n" in original.replace("\r\n", ""):
        body = _keep_mixed_endings(body, original.lstrip(BOM), "\r\n" if crlf else "\n")
    elif crlf:
        body = body.replace("\n", "\r\n")
    if original.startswith(BOM):
        body = BOM + body
    return body


def strip_bom(text: str) -> str:
    """The text without a leading byte-order mark (the model must not see or drop it)."""
    return text.removeprefix(BOM)


_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, breaking exactly where markdown-it does (\n, \r\n, \r).

    str.splitlines also breaks at form feeds and Unicode separators, which would shift every line
    number markdown-it reports and mask the wrong lines.
    """
    return _LINE.findall(text)


def _keep_mixed_endings(body: str, original: str, majority: str) -> str:
    """Each line the rewrite left alone keeps its own ending; changed lines get the original's
    ending line for line, or the majority ending where lines were added or removed."""
    from difflib import SequenceMatcher

    old = split_lines(original)
    new = body.splitlines(keepends=True)
    old_bare = [line.rstrip("\r\n") for line in old]
    new_bare = [line.rstrip("\n") for line in new]
    out: list[str] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old_bare, new_bare, autojunk=False).get_opcodes():
        for offset, j in enumerate(range(j1, j2)):
            has_end = new[j].endswith("\n")
            if tag in ("equal", "replace") and i2 - i1 == j2 - j1:
                ending = old[i1 + offset][len(old_bare[i1 + offset]) :] or (majority if has_end else "")
            else:
                ending = majority if has_end else ""
            out.append(new_bare[j] + (ending if has_end else ""))
    return "".join(out)
