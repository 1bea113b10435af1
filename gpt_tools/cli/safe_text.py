"""Text from a config (a cloned repository's) made safe to print on a terminal.

An assistant's description, name or file name could carry escape sequences (moving the cursor,
faking `[built-in]` in `gpt-tools list`) or bidi overrides (reordering what a line seems to say).
Every such character is shown as a visible escape instead: C0 and C1 controls, DEL, and the bidi
embeddings, overrides and isolates; and lone surrogates, which is how Python holds the bytes of a
file name that is not UTF-8 (`bad\xff.md`): printed raw they would not even encode. And `##[`, which
GitHub's runner takes anywhere in a log line for a (legacy) workflow command (`##[add-mask]…`): a
document or file name quoted in CI output must not give it commands; it is shown as `#\x23[`.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

_UNSAFE = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ud800-\udfff"
_ALL = re.compile(f"[{_UNSAFE}]")
_ALL_BUT_LINES = re.compile(f"(?![\t\n])[{_UNSAFE}]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """text with every terminal control character escaped; newlines (and tabs) kept if asked."""
    if keep_newlines:
        return _ALL_BUT_LINES.sub(_escape, text.replace("\r\n", "\n")).replace("##[", "#\\x23[")
    return _ALL.sub(_escape, text).replace("##[", "#\\x23[")


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(data: Any) -> str:
    """JSON for stdout (fd 1, where Console.result writes): UTF-8 as it is for a program; on a terminal
    every non-ASCII character escaped. JSON escapes C0 controls anyway, but C1 controls and bidi
    overrides from a reply or a file name would act on a terminal; `\\uXXXX` is the same JSON. A lone
    surrogate (a file name that is not UTF-8) is always escaped: raw, it cannot be written as UTF-8."""
    text = json.dumps(data, indent=2, ensure_ascii=os.isatty(1))
    return _SURROGATE.sub(lambda found: f"\\u{ord(found.group(0)):04x}", text) + "\n"
