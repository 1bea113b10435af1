"""GitHub Actions workflow commands (`--output-format github`): `::warning file=…,line=…,col=…::message`.

GitHub reads one command per line, so the text is escaped by its rules (actions/toolkit's
`escapeData` and `escapeProperty`): `%`, CR and LF in the message; those and `:` and `,` in a
property (a file name holding `,line=1` must not move the annotation). What the report says is the
same as in text form; only the shape changes.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from gpt_tools.markdown.edits import line_col
from gpt_tools.markdown.textio import split_lines

if TYPE_CHECKING:
    from gpt_tools.core.records import EditReport

Level = Literal["error", "warning", "notice"]
OUTPUT_FORMATS = ("text", "github")


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: Level,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    end_line: int | None = None,
) -> str:
    """One workflow command line, every part escaped."""
    properties = [
        f"{name}={escape_property(str(value))}"
        for name, value in (("file", file), ("line", line), ("endLine", end_line), ("col", col))
        if value is not None
    ]
    return (
        f"::{level} {','.join(properties)}::{escape_data(message)}"
        if properties
        else f"::{level}::{escape_data(message)}"
    )


def _at(text: str, offset: int | None) -> tuple[int | None, int | None]:
    return line_col(text, offset) if offset is not None else (None, None)


def edit_annotations(path: str, report: EditReport, *, applied: bool = True) -> list[str]:
    """Each applied edit a warning at its line and column (applied=False: only the refused ones),
    each refused one a notice: the checks kept it out, it never fails anything."""
    from gpt_tools.cli.editlines import fixed_lines
    from gpt_tools.markdown.edit_protocol import find_to_replace

    text = report.original
    out: list[str] = []
    fixed = fixed_lines(text, report.applied) if applied else []
    for index, placed in enumerate(report.applied if applied else ()):
        line, col = _at(text, placed.start)
        edit = placed.edit
        message = f"{edit.reason}: {find_to_replace(edit.find, edit.replace)}\n{fixed[index]}"
        out.append(annotation("warning", message, file=path, line=line, col=col))
    for refusal in report.refused:
        line, col = _at(text, refusal.start)
        edit = refusal.edit
        message = (
            f"not applicable ({refusal.reason}): {find_to_replace(edit.find, edit.replace)}: {refusal.detail}"
        )
        out.append(annotation("notice", message, file=path, line=line, col=col))
    return out


def diff_annotations(path: str, before: bytes, after: bytes, *, verb: str = "would change") -> list[str]:
    """One warning per changed run of lines: where it is (line, endLine) and the new lines."""
    old = split_lines(before.decode("utf-8"))
    new = split_lines(after.decode("utf-8"))
    out: list[str] = []
    for tag, first, last, new_first, new_last in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        line = min(first + 1, max(1, len(old)))
        end = max(line, last)
        removed = [f"-{text.rstrip(chr(13) + chr(10))}" for text in old[first:last]]
        added = [f"+{text.rstrip(chr(13) + chr(10))}" for text in new[new_first:new_last]]
        message = "\n".join([f"{verb}:", *removed, *added])
        out.append(annotation("warning", message, file=path, line=line, end_line=end if end > line else None))
    return out


def problem_annotations(paths: Sequence[str], problem: str, *, level: Level = "error") -> list[str]:
    return [annotation(level, problem, file=path) for path in paths]
