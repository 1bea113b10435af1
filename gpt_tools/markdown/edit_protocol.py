"""The edit protocol's wire side: what a rewriting assistant in edits mode is told (the JSON schema and
the instructions), the records an edit and its outcome are, how a reply is parsed into edits, and how a
result is reported as JSON. How edits are placed and applied is edits.py, which re-exports all of this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from gpt_tools.errors import ReplyRejected
from gpt_tools.markdown import edit_guard
from gpt_tools.markdown.locate import line_col

ARROW = "→"
QUOTE_LIMIT = 80  # characters of find/replace shown in a report or message: the whole edit is in --json and data


def quoted(text: str, limit: int = QUOTE_LIMIT) -> str:
    """text as one line in JSON's quoting (newlines and quotes escaped), cut at limit characters:
    how every front end shows an edit's find and replace."""
    return json.dumps(text if len(text) <= limit else text[: limit - 1] + "…", ensure_ascii=False)


def find_to_replace(find: str, replace: str) -> str:
    """`"find" → "replace"`, as the hook, run --check, GitHub annotations and the language server say it."""
    return f"{quoted(find)} {ARROW} {quoted(replace)}"

SCHEMA_NAME = "edits"
_EDIT_FIELDS = ("find", "replace", "reason")
EDITS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "edits": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {field: {"type": "string"} for field in _EDIT_FIELDS},
                "required": list(_EDIT_FIELDS),
                "additionalProperties": False,
            },
        }
    },
    "required": ["edits"],
    "additionalProperties": False,
}

EDIT_INSTRUCTIONS = """\
Reply with edits, not with the document. Your reply is a JSON object {"edits": [...]}; each edit is
{"find": ..., "replace": ..., "reason": ...}:
- "find" is copied exactly, character for character, from the document: same spelling, spacing,
  punctuation, quotes and line breaks. It must occur exactly once in the document: if the text you
  want to change occurs more than once, extend "find" with neighbouring words until it is unique.
- Keep each "find" short: the smallest unique span around the change (a few words), never a whole
  paragraph. Edits must not overlap; make one edit per separate change.
- "replace" is the corrected text for exactly that span; everything outside your edits stays as it is.
- "reason" says why in a few words (e.g. "spelling", "subject-verb agreement").
- Never edit NEVER_EDITED: such edits are refused, and so is an edit next to one that would change
  what it is (a backtick or fence typed into prose, a blank line removed before code).
- If there is nothing to fix, reply {"edits": []}.
""".replace("NEVER_EDITED", edit_guard.NEVER_EDITED)

RefusalReason = Literal["not_found", "ambiguous", "overlap", "no_op", "protected", "invents"]


@dataclass(frozen=True, kw_only=True)
class Edit:
    find: str
    replace: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class PlacedEdit:
    edit: Edit
    start: int  # offsets into the ORIGINAL text (str indices), end exclusive
    end: int
    match: Literal["exact", "loose"]
    replacement: str | None = None  # what apply_edits put in place of original[start:end] (see new_text)

    @property
    def new_text(self) -> str:
        """The text that replaces original[start:end]: edit.replace with the document's line breaks, and
        for a loose match the original's whitespace and quotes where the model kept its `find` unchanged."""
        return self.edit.replace if self.replacement is None else self.replacement


@dataclass(frozen=True, kw_only=True)
class RefusedEdit:
    edit: Edit
    reason: RefusalReason
    detail: str  # human sentence, e.g. "matches 3 places (lines 4, 9, 12)"
    closest: str | None = None  # for not_found: the closest text in the document ("did you mean …")
    start: int | None = None  # where it was found, when it was (no_op, protected, overlap)
    end: int | None = None


@dataclass(frozen=True, kw_only=True)
class EditResult:
    text: str  # the original with every placed edit applied (byte-identical elsewhere)
    applied: tuple[PlacedEdit, ...]  # in document order
    refused: tuple[RefusedEdit, ...]  # in the reply's order


def _rejected(problem: str) -> ReplyRejected:
    return ReplyRejected(f"the reply is not valid edits JSON: {problem}; nothing was applied")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _rejected(f"a key appears twice in one object ({sorted(k for k in keys if keys.count(k) > 1)[0]!r})")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise _rejected(f"{name} is not JSON")


def parse_edits(reply: str) -> list[Edit]:
    """The edits of a reply: exactly {"edits": [{"find", "replace", "reason"}, ...]}, all strings.

    ReplyRejected for anything else (not JSON, text around it, a missing or extra key, a wrong type).
    An empty list is valid: nothing to fix. Raw control characters inside strings are taken as the
    characters they are (strict=False, and nothing else looser): llama-cpp-python's schema grammar lets a
    literal newline or tab into a string, which strict JSON forbids, and the text it stands for is plain.
    """
    try:
        data = json.loads(reply, strict=False, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise _rejected(f"{exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise _rejected("it nests too deeply") from None
    if not isinstance(data, dict) or set(data) != {"edits"}:
        raise _rejected('expected an object with exactly one key, "edits"')
    items = data["edits"]
    if not isinstance(items, list):
        raise _rejected('"edits" is not a list')
    edits: list[Edit] = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict) or set(item) != set(_EDIT_FIELDS):
            raise _rejected(f'edit {number} is not an object with exactly "find", "replace" and "reason"')
        wrong = [field for field in _EDIT_FIELDS if not isinstance(item[field], str)]
        if wrong:
            raise _rejected(f'edit {number}: "{wrong[0]}" is not a string')
        edits.append(Edit(find=item["find"], replace=item["replace"], reason=item["reason"]))
    return edits


def edits_to_json(result: EditResult, text: str) -> list[dict[str, Any]]:
    """For --json: every edit, applied ones first in document order, then refused ones in the reply's order.

    text is the ORIGINAL (positions are into it). Lines and columns are 1-based, in characters.
    """
    out: list[dict[str, Any]] = []
    for placed in result.applied:
        entry = _entry(placed.edit, text, placed.start, placed.end)
        entry.update(status="applied", match=placed.match, new_text=placed.new_text)
        out.append(entry)
    for refusal in result.refused:
        entry = _entry(refusal.edit, text, refusal.start, refusal.end)
        entry.update(status="refused", refusal=refusal.reason, detail=refusal.detail, closest=refusal.closest)
        out.append(entry)
    return out


def _entry(edit: Edit, text: str, start: int | None, end: int | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"find": edit.find, "replace": edit.replace, "reason": edit.reason}
    if start is not None and end is not None:
        line, column = line_col(text, start)
        end_line, end_column = line_col(text, end)
        entry.update(start=start, end=end, line=line, column=column, end_line=end_line, end_column=end_column)
    return entry
