"""What the hook and `gpt-tools run --write/--check` say about each file, as text or as GitHub annotations.

Text lines are the ruff/flake8 shape (`path:line:col: reason: "find" → "replace"`, `fixed path`,
`path: problem`); `--output-format github` turns each into a workflow command
(`::warning file=…,line=…,col=…::…`, cli/github.py) that GitHub shows on the pull request.
The summary lines stay plain in both: they are for the log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gpt_tools.cli import github
from gpt_tools.cli.console import Console
from gpt_tools.cli.editlines import edit_lines, refused_line
from gpt_tools.cli.filecheck import FileCheck, write_fix
from gpt_tools.cli.report import diff

# GitHub's runner takes any log line that starts, after blanks, with `::` for a workflow command
# (`::add-mask::`, `::stop-commands::`, `::error file=…::`). A text report line may start with a
# repository's file name, or show a document's line indented or as a diff's context: such a `::` is
# shown as `\x3a:`, as control characters are. Annotations (--output-format github) escape their data.
_COMMAND_LIKE = re.compile(r"^(\s*):(?=:)", re.MULTILINE)


def no_workflow_commands(text: str) -> str:
    return _COMMAND_LIKE.sub(r"\1\\x3a", text)


def from_cache(outcome: FileCheck) -> str:
    return " (from cache)" if outcome.cached else ""


class Lines:
    """One file's report lines; `github` for annotations; `diff` to show a diff even for edits."""

    def __init__(self, console: Console, *, github: bool, diff: bool = False) -> None:
        self.console = console
        self.github = github
        self.diff = diff

    def say(self, *lines: str) -> None:
        for line in lines:
            self.console.line(line if self.github else no_workflow_commands(line))

    def file(self, outcome: FileCheck, text: str, *, level: github.Level = "error") -> None:
        """A line about one file as a whole (a note, a problem)."""
        if self.github:
            self.say(github.annotation(level, text, file=outcome.path))
        else:
            self.say(f"{outcome.shown}: {text}")

    def fixed(self, outcome: FileCheck, kept: str = "") -> None:
        if self.github:
            self.say(github.annotation("warning", f"fixed{kept}{from_cache(outcome)}", file=outcome.path))
        else:
            self.say(f"fixed {outcome.shown}{kept}{from_cache(outcome)}")

    def check(self, outcome: FileCheck) -> None:
        """One file in check mode: each edit as a line (edits mode), or a short diff (document mode, `diff`)."""
        edits = outcome.edits
        if edits is not None and not self.diff and (edits.applied or not outcome.changes):
            shown = github.edit_annotations(outcome.path, edits) if self.github else None
            self.say(*(shown if shown is not None else edit_lines(outcome.shown, edits)))
            return
        if outcome.changes:
            assert outcome.fixed is not None
            if self.github:
                self.say(*github.diff_annotations(outcome.path, outcome.original, outcome.fixed))
            else:
                shown_diff = diff(outcome.shown, outcome.original, outcome.fixed)
                self.say(f"would fix {outcome.shown}{from_cache(outcome)}:\n{shown_diff}".rstrip("\n"))
        self.refused(outcome)

    def refused(self, outcome: FileCheck) -> None:
        """The edits of one file the checks refused, one line each."""
        if outcome.edits is None:
            return
        if self.github:
            self.say(*github.edit_annotations(outcome.path, outcome.edits, applied=False))
            return
        for refusal in outcome.edits.refused:
            self.say(refused_line(outcome.shown, outcome.edits.original, refusal))

    def unchecked(self, outcomes: Sequence[FileCheck], after: str = "") -> None:
        """The files that could not be checked (after: what that left, e.g. "; no file was changed")."""
        if self.github:
            for outcome in outcomes:
                self.say(github.annotation("error", f"not checked ({outcome.problem}){after}", file=outcome.path))
            return
        self.say(f"not checked ({outcomes[0].problem}){after}:", *(f"  {outcome.shown}" for outcome in outcomes))

    def warning(self, text: str) -> None:
        """A warning about the whole run."""
        self.say(github.annotation("warning", text) if self.github else f"warning: {text}")

    def write(self, outcome: FileCheck, *, again: str) -> bool:
        """Write one fix unless the file changed meanwhile or cannot be written; say which. True if written.

        again: what to run for a file saved while its request was in flight ("the hook", "the command").
        """
        end = write_fix(outcome)
        if not end.written:
            assert end.problem is not None
            said = (
                f"{end.problem}; the fix is not applied (run {again} again)" if end.changed_meanwhile else end.problem
            )
            if self.github:
                self.say(github.annotation("error", said, file=outcome.path))
            else:
                self.say(said)
            return False
        self.fixed(outcome, f" (could not keep its {', '.join(end.lost)})" if end.lost else "")
        return True
