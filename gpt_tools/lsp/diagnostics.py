"""A check's fixes as diagnostics, and diagnostics' data back as fixes.

One diagnostic per edit: its range is the span the edit replaces, its message the reason and
`"find" → "replace"` (JSON quoting, as the hook's check mode prints it), its source `gpt-tools`, and
its `data` the edit itself (find, replace, reason, the replaced text and its replacement, the document
version it was computed for), so a client can hand it back in a code action request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsprotocol import types

from gpt_tools.lsp.anchor import Fix
from gpt_tools.lsp.positions import Positions, positions_of
from gpt_tools.markdown.edit_protocol import find_to_replace

SOURCE = "gpt-tools"
def message(fix: Fix) -> str:
    return f"{fix.reason}: {find_to_replace(fix.find or fix.old, fix.replace or fix.new)}"


def diagnostic(fix: Fix, where: Positions, version: int | None) -> types.Diagnostic:
    data: dict[str, Any] = {
        "find": fix.find,
        "replace": fix.replace,
        "reason": fix.reason,
        "old": fix.old,
        "new": fix.new,
        "version": version,
    }
    return types.Diagnostic(
        range=where.range(fix.start, fix.end),
        message=message(fix),
        severity=types.DiagnosticSeverity.Information,
        source=SOURCE,
        data=data,
    )


def diagnostics(fixes: Sequence[Fix], text: str, version: int | None, encoding: str) -> list[types.Diagnostic]:
    where = positions_of(text, encoding)
    return [diagnostic(fix, where, version) for fix in fixes]


def same_fix(fix: Fix, item: types.Diagnostic, where: Positions) -> bool:
    """Whether a diagnostic the client sent back is this fix's (its range, source and data agree)."""
    data = item.data if isinstance(item.data, dict) else {}
    return (
        item.source == SOURCE
        and where.offset(item.range.start) == fix.start
        and where.offset(item.range.end) == fix.end
        and data.get("old", fix.old) == fix.old
        and data.get("new", fix.new) == fix.new
    )
