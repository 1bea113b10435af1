"""Turning bytes into text and back without losing a byte of the user's conventions."""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher

from gpt_tools.errors import InputRefused

BOM = "\ufeff"


def estimate_tokens(text: str) -> int:
    """A cheap, deliberately generous token estimate (no tokenizer import on the hot path)."""
    return max(1, (len(text) + 2) // 3)


def decode_input(data: bytes, *, source: str = "input") -> str:
    """Decode UTF-8 input, refusing binary data and invalid UTF-8 with the offending position."""
    if b"\0" in data:
        raise InputRefused(f"{source} looks binary (it holds NUL bytes); refusing to send it")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        head = data[: exc.start]
        line = head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1  # LF, CRLF and CR lines
        raise InputRefused(
            f"{source} is not valid UTF-8 (byte {exc.start}, line {line}); refusing to send it"
        ) from None


def uses_crlf(text: str) -> bool:
    """True when most line breaks of text are CRLF (Windows files keep their endings)."""
    return majority_ending(text) == "\r\n"


_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")
_BREAKS = "\r\n"
# A tie goes to CRLF, then LF: a file that is half Windows is a Windows file.
_PREFERENCE = ("\r\n", "\n", "\r")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, breaking exactly where markdown-it does (\n, \r\n, \r).

    str.splitlines also breaks at form feeds, vertical tabs, U+0085 and U+2028/2029, which would shift
    every line number markdown-it reports, mask the wrong lines, and give those lines a line ending.
    """
    return _LINE.findall(text)


def _ending(line: str) -> str:
    return line[len(line.rstrip(_BREAKS)) :]


def majority_ending(text: str) -> str:
    """The most common line break of text (LF when it has none)."""
    counts = Counter(_ending(line) for line in split_lines(text))
    counts.pop("", None)
    if not counts:
        return "\n"
    return max(_PREFERENCE, key=lambda ending: (counts[ending], -_PREFERENCE.index(ending)))


def conform_to_input(reply: str, original: str, *, rewrite: bool) -> str:
    """Give reply the line endings, BOM and leading/trailing newline convention of original.

    Models normalise these freely; a user diffing or committing the result must see only real edits.
    A rewrite keeps the exact runs of blank lines around the document, and each line it left alone
    keeps its own ending, so an unchanged reply gives the original back byte for byte whatever mix
    of LF, CRLF and CR it has; new text only gets a final newline when the input had one.
    """
    source = original.removeprefix(BOM)
    # The model never saw the BOM: one it adds is not the user's, but a second BOM of the input is text.
    body = reply if source.startswith(BOM) else reply.lstrip(BOM)
    majority = majority_ending(source)
    if rewrite:
        core = source.strip(_BREAKS)
        # A blank-only original has one run of line breaks, not a leading and a trailing one.
        lead = source[: len(source) - len(source.lstrip(_BREAKS))] if core else ""
        trail = source[len(source.rstrip(_BREAKS)) :]
        lines = _keep_endings(split_lines(body.strip(_BREAKS)), split_lines(core), majority)
        text = lead + "".join(lines) + trail if lines else lead + trail
    else:
        bare = [line.rstrip(_BREAKS) for line in split_lines(body.rstrip(_BREAKS))]
        text = majority.join(bare) + (majority if source.endswith(tuple(_BREAKS)) else "")
    return BOM + text if original.startswith(BOM) else text


def strip_bom(text: str) -> str:
    """The text without a leading byte-order mark (the model must not see or drop it)."""
    return text.removeprefix(BOM)


def _keep_endings(new: list[str], old: list[str], majority: str) -> list[str]:
    """new's lines, each line the rewrite left alone (or replaced one for one) with the ending its
    original had, and the majority ending where lines were added or removed; the last line keeps none."""
    endings = {_ending(line) for line in old[:-1]}
    new_bare = [line.rstrip(_BREAKS) for line in new]
    if len(endings) <= 1:  # one kind of ending: no need to match lines up
        return [line + (endings.pop() if endings else majority) for line in new_bare[:-1]] + new_bare[-1:]
    old_bare = [line.rstrip(_BREAKS) for line in old]
    out: list[str] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old_bare, new_bare, autojunk=False).get_opcodes():
        for offset in range(j2 - j1):
            kept = tag in ("equal", "replace") and i2 - i1 == j2 - j1
            out.append(new_bare[j1 + offset] + ((_ending(old[i1 + offset]) or majority) if kept else majority))
    if out:
        out[-1] = out[-1].rstrip(_BREAKS)
    return out
