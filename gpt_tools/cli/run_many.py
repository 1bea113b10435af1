"""`gpt-tools run NAME FILES... --write | --check | --diff`: a rewriting assistant over many files, ruff-style.

The hook's engine (cli/filecheck.py) with `run`'s words: every file is read, guarded, sent (one
shared session, the result cache) and then

- `--write`: each fixed file is written back atomically, never over an edit made meanwhile; a file
  that could not be checked leaves the others written (unlike the hook, which writes all or nothing);
- `--check`: each edit as `path:line:col: reason: "find" → "replace"` (document mode: a short diff);
- `--diff`: the whole unified diff on stdout (`git apply` takes it), the report on stderr.

Then one summary line with exact counts, e.g. `3 files fixed, 1 unchanged, 1 refused; 4 requests
sent`. Exit status, as ruff's: 0 when done (--write) or nothing would change; 1 when a file would
change (--check, --diff), or a file was refused or failed; 2 when no file could be checked at all
for a reason that sent nothing (no key, every input refused).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import click

from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.cli.report import fail, patch
from gpt_tools.cli.safe_text import printable

# The run path (core, wire, state) is imported when files are run, not for `gpt-tools --help`.
if TYPE_CHECKING:
    from gpt_tools.cli.filecheck import EngineOptions, FileCheck

Mode = Literal["write", "check", "diff"]
# `run` options that mean the same for many files; every other one, given with a mode, is refused.
_TAKEN = frozenset(
    {"name", "files", "assistant_name", "model", "backend", "instruct", "allow_secrets", "no_cache"}
    | {"temperature", "max_output_tokens", "options", "stream"}  # per-run settings: the same for every file
)
_OURS = frozenset({"write", "check", "diff", "output_format"})
_MODE_HELP = {
    "write": "Rewrite each FILE in place (atomically; never over an edit made meanwhile). Many files at once.",
    "check": "Only list what would change in each FILE (edits as path:line:col); exit 1 if anything would.",
    "diff": "Print a unified diff of what would change in each FILE; write nothing; exit 1 if anything would.",
}


def many_files(command: Callable[..., int]) -> Callable[..., int]:
    """`run`'s --write/--check/--diff/--output-format, dispatched here; without them `command` runs as it is."""

    @functools.wraps(command)
    def dispatch(*args: Any, write: bool, check: bool, diff: bool, output_format: str, **kwargs: Any) -> int:
        chosen: tuple[tuple[Mode, bool], ...] = (("write", write), ("check", check), ("diff", diff))
        modes = [mode for mode, on in chosen if on]
        if len(modes) > 1:
            raise click.UsageError(f"--{modes[0]} and --{modes[1]} cannot be used together; choose one")
        if not modes:
            if output_format != "text":
                raise click.UsageError("--output-format applies to --check and --write")
            return int(command(*args, **kwargs))
        _refuse_files_named_like_options(click.get_current_context())
        return run_files(_options(modes[0], output_format, kwargs), Console(PROGRAM))

    # click lists options in the reverse order they are applied: --write, --check, --diff, --output-format.
    formats = click.Choice(["text", "github"])
    format_help = "With --check or --write: text lines, or github (GitHub Actions annotations)."
    dispatch = click.option("--output-format", type=formats, default="text", help=format_help)(dispatch)
    for flag in ("diff", "check", "write"):
        dispatch = click.option(f"--{flag}", is_flag=True, help=_MODE_HELP[flag])(dispatch)
    return dispatch


@dataclass(frozen=True, kw_only=True)
class ManyOptions:
    mode: Mode
    github: bool
    files: tuple[str, ...]
    engine: EngineOptions


def _options(mode: Mode, output_format: str, given: dict[str, Any]) -> ManyOptions:
    from gpt_tools.cli.hook_args import distinct

    bare = bool(given.get("bare"))  # `gpt-tools MarkdownLinter docs/*.md --check`: the first word is NAME
    _refuse_the_rest(mode, ignored={"bare", "prompt"} if bare else set())
    if output_format == "github" and mode == "diff":
        raise click.UsageError("--output-format github applies to --check and --write; --diff prints a diff")
    name, files = given.get("assistant_name") or given.get("name"), tuple(given.get("files") or ())
    if (given.get("assistant_name") or bare) and given.get("name"):
        files = (given["name"], *files)  # with --assistant-name (or a bare NAME), the next word is a file
    if bare:
        name = given.get("prompt")
    if name is None or not files:
        raise click.UsageError(f"--{mode} needs the assistant and FILES: gpt-tools run NAME FILES... --{mode}")
    if "-" in files:
        raise click.UsageError(f"--{mode} works on files; stdin (-) cannot be written back or named in a report")
    files = distinct(files)  # `docs/*.md docs/a.md`: a.md is checked, counted and written once, as ruff does
    return ManyOptions(mode=mode, github=output_format == "github", files=files, engine=_engine(mode, name, given))


def _refuse_files_named_like_options(context: click.Context) -> None:
    """A usage error when an option given may have been a file's name: `*.md` in a cloned repository
    holding `-iAdd a link to x.md` (read as --instruct) or `--allow-secrets` (with `*`) must never
    change what is sent or written. The hook's rule (cli/hook_args.py): nothing is sent, rename it."""
    import os

    words: list[str] = []
    for param in context.command.params:
        if not isinstance(param, click.Option) or context.get_parameter_source(param.name or "") != (
            click.core.ParameterSource.COMMANDLINE
        ):
            continue
        value = context.params.get(param.name or "")
        firsts = (
            [item[0] if isinstance(item, tuple) else item for item in value] if isinstance(value, tuple) else [value]
        )
        for opt in (*param.opts, *param.secondary_opts):
            words.append(opt)  # `--allow-secrets`, `--write`: the word itself
            glue = "=" if opt.startswith("--") else ""  # `--model=x.md`, `-mx.md`
            words.extend(f"{opt}{glue}{first}" for first in firsts if isinstance(first, str | int | float))
    clashes = sorted({word for word in words if os.path.lexists(word)})
    if clashes:
        raise click.UsageError(
            f"{', '.join(map(printable, clashes))}: a file is named like an option given, so it cannot be told"
            " from it and nothing was checked; rename it, or put -- before the files"
        )


def _refuse_the_rest(mode: Mode, *, ignored: set[str]) -> None:
    """A usage error naming every option given that means nothing for many files (-o, --json, -t, ...)."""
    context = click.get_current_context()
    unused = [
        _spelling(param)
        for param in context.command.params
        if param.name not in _TAKEN | _OURS | ignored
        and context.get_parameter_source(param.name or "") not in (None, click.core.ParameterSource.DEFAULT)
    ]
    if unused:
        raise click.UsageError(f"{', '.join(unused)} cannot be used with --{mode}")


def _engine(mode: Mode, name: str, given: dict[str, Any]) -> EngineOptions:
    from gpt_tools.cli.filecheck import EngineOptions
    from gpt_tools.cli.runsettings import per_run
    from gpt_tools.state.localread import MAX_FILE_BYTES

    settings = per_run(
        given.get("options") or (),
        temperature=given.get("temperature"),
        max_output_tokens=given.get("max_output_tokens"),
        stream=given.get("stream"),
    )
    return EngineOptions(
        assistant=name,
        write=mode == "write",
        max_bytes=MAX_FILE_BYTES,  # `run`'s own cap on a FILE
        size_limit=f"the {MAX_FILE_BYTES:,}-byte limit",
        use_cache=not given.get("no_cache", False),
        model=given.get("model"),
        backend=given.get("backend"),
        instruct=given.get("instruct"),
        allow_secrets=bool(given.get("allow_secrets")),
        frontend="cli",
        assistant_fields=settings.assistant,
        settings=settings.settings,
    )


def _spelling(param: click.Parameter) -> str:
    return next((opt for opt in param.opts if opt.startswith("--")), param.opts[0] if param.opts else str(param.name))


def run_files(options: ManyOptions, console: Console) -> int:
    """Check every file, then write, list or diff; the summary; the exit status."""
    from gpt_tools.cli.filecheck import Engine

    try:
        engine = Engine(options.engine)
        outcomes = engine.check_all(options.files)
    except KeyboardInterrupt as exc:
        return fail(console, exc, after="; no file was changed")
    say = _Say(options, console)
    for outcome in outcomes:
        if outcome.note:
            say.file(outcome, outcome.note, level="notice")
        elif outcome.problem and not outcome.api_failure:
            say.file(outcome, outcome.problem)
    unwritten = 0
    for outcome in (o for o in outcomes if o.fixed is not None):
        unwritten += not say.checked(outcome)
    unchecked = [o for o in outcomes if o.api_failure]
    if unchecked:
        say.unchecked(unchecked)
    say.summary(_summary(outcomes, options.mode, unwritten=unwritten, sent=engine.sent))
    return _status(outcomes, options.mode, unwritten=unwritten, sent=engine.sent)


class _Say:
    """Where each part goes: report lines on stdout, except with --diff (the diff is stdout's)."""

    def __init__(self, options: ManyOptions, console: Console) -> None:
        from gpt_tools.cli.filereport import Lines

        self.mode = options.mode
        self.console = console
        self.lines = Lines(console, github=options.github)

    def file(self, outcome: FileCheck, text: str, *, level: Literal["error", "notice"] = "error") -> None:
        if self.mode == "diff":
            self.console.message(f"{outcome.shown}: {text}")
        else:
            self.lines.file(outcome, text, level=level)

    def checked(self, outcome: FileCheck) -> bool:
        """One checked file: written, listed or diffed. False if its fix could not be written."""
        if self.mode == "check":
            self.lines.check(outcome)
        elif self.mode == "write":
            written = not outcome.changes or self.lines.write(outcome, again="the command")
            self.lines.refused(outcome)
            return written
        elif outcome.changes:
            assert outcome.fixed is not None
            shown = patch(outcome.path, outcome.original, outcome.fixed)
            # A patch for `git apply` is passed on byte for byte; a terminal gets control characters escaped.
            if sys.stdout.isatty():
                self.console.result(printable(shown, keep_newlines=True))
            else:
                self.console.result(shown)
        return True

    def unchecked(self, outcomes: Sequence[FileCheck]) -> None:
        after = "; it was not changed" if len(outcomes) == 1 else "; they were not changed"
        if self.mode == "diff":
            self.console.message(f"not checked ({outcomes[0].problem}){after}: {', '.join(o.shown for o in outcomes)}")
        else:
            self.lines.unchecked(outcomes, after)

    def summary(self, lines: Sequence[str]) -> None:
        for line in lines:
            if self.mode == "diff":
                self.console.message(line)
            else:
                self.console.line(line)


def _summary(outcomes: Sequence[FileCheck], mode: Mode, *, unwritten: int, sent: int) -> list[str]:
    """`3 files fixed, 1 unchanged, 1 refused; 4 requests sent`: each file counted once, zeros left out."""
    checked = [o for o in outcomes if o.fixed is not None]
    changed = sum(1 for o in checked if o.changes)
    counts = [
        (changed - unwritten, "fixed" if mode == "write" else "would be fixed"),
        (len(checked) - changed, "unchanged"),
        (sum(1 for o in outcomes if o.note), "skipped"),
        (sum(1 for o in outcomes if o.kind in ("input", "reply")), "refused"),
        (sum(1 for o in outcomes if o.kind in ("unreadable", "unwritable", "api")) + unwritten, "failed"),
    ]
    shown = [(count, label) for count, label in counts if count] or [(0, counts[0][1])]
    first, *rest = shown
    parts = [f"{first[0]} file{'' if first[0] == 1 else 's'} {first[1]}", *(f"{n} {label}" for n, label in rest)]
    cached = sum(1 for o in checked if o.cached)
    requests = f"{sent} request{'' if sent == 1 else 's'} sent" + (f" ({cached} from cache)" if cached else "")
    lines = [f"{', '.join(parts)}; {requests}"]
    reports = [o.edits for o in checked if o.edits is not None]
    if any(r.applied or r.refused for r in reports):
        from gpt_tools.cli.editlines import edits_summary

        applied = sum(len(r.applied) for r in reports)
        lines.append(edits_summary(applied, sum(1 for r in reports if r.applied), sum(len(r.refused) for r in reports)))
    return lines


def _status(outcomes: Sequence[FileCheck], mode: Mode, *, unwritten: int, sent: int) -> int:
    """ruff's: 1 for a change --check/--diff found, a refused or failed file; 2 when nothing could be
    checked for a reason that sent nothing (the project's 2: usage error, no key, input refused)."""
    problems = [o for o in outcomes if o.problem]
    checked = [o for o in outcomes if o.fixed is not None]
    if problems and not checked and sent == 0 and all(o.status == 2 for o in problems):
        return 2
    if problems or unwritten:
        return 1
    return 1 if mode != "write" and any(o.changes for o in checked) else 0
