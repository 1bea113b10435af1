"""`gpt-tools run --dry-run`: the plan's summary, then what each request would send, sending nothing.

The texts shown are the run's own `plan.decide()`: a rewriter's chunks as sent (masked: protected
regions are `⟦…⟧` markers), a writer's one message, the instructions, and what a chunk's request adds to
them (what its markers stand for, as core/rewrite.chunk_request sends it). Each is cut to a few lines
and its control characters are shown as escapes, and only the first SHOWN_REQUESTS requests are shown;
`--json` carries them all, whole.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from gpt_tools.cli.console import Console
from gpt_tools.cli.safe_text import json_text, printable
from gpt_tools.core.editmode import uses_edits
from gpt_tools.core.plan import Decision, RunRequest, decide
from gpt_tools.core.preview import describe
from gpt_tools.markdown.protect_explain import notes
from gpt_tools.markdown.textio import split_lines

SHOWN_LINES = 12  # per text: enough to recognise it, short enough to see every chunk of a long document
SHOWN_CHARS = 1_500
SHOWN_REQUESTS = 20  # a 10 MB document is 1,700 requests: a megabyte of terminal output if all were shown


def sent_texts(decision: Decision) -> list[str]:
    """The user message of every request the run would send, in order."""
    if decision.prepared is not None:
        return list(decision.prepared.chunks)
    return [decision.user_text]


def sent_notes(decision: Decision) -> list[str]:
    """What each request adds to the instructions: what its chunk's markers stand for ("" for none)."""
    prepared = decision.prepared
    if prepared is None:
        return [""]
    return notes(prepared.masked, prepared.chunks, edits=uses_edits(decision.resolved.assistant, decision.settings))


def bounded(text: str) -> str:
    """text cut to SHOWN_LINES lines and SHOWN_CHARS characters, escaped for a terminal."""
    lines = split_lines(text)
    shown = "".join(lines[:SHOWN_LINES])
    if len(shown) > SHOWN_CHARS:
        shown = shown[:SHOWN_CHARS]
    cut = len(text) - len(shown)
    body = printable(shown.rstrip("\n"), keep_newlines=True)
    if cut:
        more = len(lines) - len(split_lines(shown))
        body += f"\n    … {cut:,} more characters" + (f" ({more:,} more lines)" if more > 0 else "")
    return "\n".join("    " + line for line in body.split("\n"))


def show(request: RunRequest, console: Console, *, as_json: bool) -> int:
    """Print the dry run of request; the same refusals as the run apply (raised)."""
    decision = decide(request)
    plan = describe(decision)
    texts, added = sent_texts(decision), sent_notes(decision)
    if as_json:
        data: dict[str, Any] = asdict(plan)
        data["instructions"] = decision.instructions
        data["requests"] = texts
        data["notes"] = added  # appended to the instructions of the request of the same index
        console.result(json_text(data))
        return 0
    # The summary names files and assistants (a cloned repository's): escaped like the texts.
    parts = [
        printable(plan.describe(), keep_newlines=True),
        f"  instructions ({len(decision.instructions):,} characters):",
    ]
    parts.append(bounded(decision.instructions))
    for number, (text, note) in enumerate(zip(texts[:SHOWN_REQUESTS], added, strict=False), 1):
        parts.append(f"  request {number}/{len(texts)} ({len(text):,} characters):")
        parts.append(bounded(text))
        if note:
            parts.append(f"  its instructions end with what its markers are ({len(note):,} characters):")
            parts.append(bounded(note.strip("\n")))
    left = texts[SHOWN_REQUESTS:]
    if left:
        size = sum(len(text) for text in left)
        parts.append(f"  … {len(left):,} more requests ({size:,} characters) not shown; --json has every one")
    console.result("\n".join(parts) + "\n")
    return 0
