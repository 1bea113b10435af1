"""`gpt-tools-hook`: the pre-commit hook. Runs a rewriting assistant over changed Markdown files.

Fix mode writes changed files back (atomically) and exits 1, as pre-commit expects of a hook that
modifies files, and names each edit the checks refused; check mode prints each edit as
`path:line:col: reason: "find" → "replace"` (or, with --diff or for a document-mode assistant, a
short diff) and exits 1 when something would change. If any file could not be checked (API
down, no key, timeout), no file at all is written: the results already received are cached, so the
next run costs nothing for them (and with no key, files whose answers are cached are still checked).
`--output-format github` prints the same report as GitHub Actions annotations. The per-file engine
(cli/filecheck.py) is shared with `gpt-tools run --write/--check/--diff`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from gpt_tools.cli import hook_args
from gpt_tools.cli.console import Console, OutputFailed
from gpt_tools.cli.editlines import edits_summary
from gpt_tools.cli.filecheck import Engine, EngineOptions, FileCheck, read_file
from gpt_tools.cli.filereport import Lines
from gpt_tools.cli.hook_args import PROGRAM
from gpt_tools.cli.report import fail, plural
from gpt_tools.cli.safe_text import printable
from gpt_tools.config.loader import load_config
from gpt_tools.config.resolve import resolve_settings
from gpt_tools.core.preview import preview
from gpt_tools.errors import GptToolsError
from gpt_tools.markdown.textio import decode_input


@dataclass(frozen=True, kw_only=True)
class Options:
    files: tuple[str, ...]
    assistant: str
    check: bool
    jobs: int | None
    max_bytes: int
    on_error: str
    use_cache: bool
    model: str | None
    dry_run: bool = False
    diff: bool = False
    allow_secrets: bool = False
    output_format: str = "text"

    def engine(self) -> EngineOptions:
        return EngineOptions(
            assistant=self.assistant,
            write=not self.check,
            jobs=self.jobs,
            max_bytes=self.max_bytes,
            size_limit="--max-bytes",
            use_cache=self.use_cache,
            model=self.model,
            allow_secrets=self.allow_secrets,
            frontend="hook",
        )


def _summary(outcomes: list[FileCheck], options: Options, written: int, held: int, sent: int) -> list[str]:
    """Exact counts, ruff-style: every file is in exactly one of changed, unchanged, skipped, failed."""
    checked = [o for o in outcomes if o.fixed is not None]
    changed = [o for o in checked if o.changes]
    unwritten = 0 if options.check else len(changed) - written - held
    done = len(changed) if options.check else written
    failed = sum(1 for o in outcomes if o.problem) + unwritten
    cached = sum(1 for o in checked if o.cached)
    counts = [
        f"{plural(len(checked), 'file')} checked",
        f"{done} {'would change' if options.check else 'changed'}",
        *([f"{held} held back (not written: some file was not checked)"] if held else []),
        f"{len(checked) - len(changed)} unchanged",
        f"{sum(1 for o in outcomes if o.note)} skipped",
        f"{failed} failed",
    ]
    requests = f"{plural(sent, 'request')} sent" + (f" ({cached} from cache)" if cached else "")
    lines = [f"{PROGRAM}: {', '.join(counts)}; {requests}"]
    with_edits = [o.edits for o in checked if o.edits is not None]
    if any(e.applied or e.refused for e in with_edits):  # never "0 edits in 0 files"
        applied = sum(len(e.applied) for e in with_edits)
        files = sum(1 for e in with_edits if e.applied)
        lines.append(f"{PROGRAM}: {edits_summary(applied, files, sum(len(e.refused) for e in with_edits))}")
    return lines


def _report(outcomes: list[FileCheck], options: Options, console: Console, *, sent: int) -> int:
    """Each file's lines, then the counts; the exit status (sent: HTTP requests, retries included)."""
    lines = Lines(console, github=options.output_format == "github", diff=options.diff)
    for outcome in outcomes:
        if outcome.note:
            lines.file(outcome, outcome.note, level="notice")
    unchecked = [o for o in outcomes if o.api_failure]
    refused = [o for o in outcomes if o.problem and not o.api_failure]
    changed = [o for o in outcomes if o.changes]
    for outcome in refused:
        assert outcome.problem is not None
        lines.file(outcome, outcome.problem)
    # Check mode shows what is known even when some files could not be checked; fix mode writes all
    # or nothing: a partial fix on a failing run would surprise more than help.
    held = len(changed) if unchecked and not options.check else 0
    written = 0
    for outcome in (o for o in outcomes if o.fixed is not None):
        if options.check:
            lines.check(outcome)
            continue
        if outcome.changes and not held and lines.write(outcome, again="the hook"):
            written += 1
        lines.refused(outcome)
    if unchecked:
        lines.unchecked(unchecked, "; no file was changed")
    lines.say(*_summary(outcomes, options, written, held, sent))
    # Fix mode fails when it wrote (pre-commit's "files were modified"), refused, or could not write.
    unwritten = len(changed) > written + held
    failed = bool(changed or refused) if options.check else bool(written or refused or unwritten)
    failed = failed or (bool(unchecked) and options.on_error == "fail")
    if unchecked and options.on_error == "warn":
        lines.warning("some files were not checked; passing because of --on-error=warn")
    return 1 if failed else 0


def _dry_run(options: Options, console: Console) -> int:
    """Per file: what would be sent and its estimated cost. Nothing is sent, nothing written."""

    config = load_config()
    resolve_settings(config, config.assistant(options.assistant), model=options.model)
    total, unpriced = 0.0, 0
    for path in options.files:
        original = read_file(path)
        if isinstance(original, FileCheck):  # a pipe or device is never read (it would block)
            console.line(f"{printable(path)}: would be skipped: {original.note or original.problem}")
            continue
        try:
            text = decode_input(original, source=path)
            plan = preview(
                options.assistant, text, model=options.model, allow_secrets=options.allow_secrets, config=config
            )
        except (OSError, GptToolsError) as exc:
            console.line(f"{printable(path)}: would be skipped: {exc}")
            continue
        total += plan.cost or 0.0
        unpriced += plan.cost is None
        cost = f"~{plan.input_tokens:,} tokens in, {plan.chunks} request(s), {plan.money}"  # unpriced: no false $0
        console.line(f"{printable(path)}: {cost}")
    files = plural(len(options.files), "file")
    unknown = f", the cost of {plural(unpriced, 'file')} unknown (no price)" if unpriced else ""
    console.line(f"{PROGRAM}: dry run, {files}, ~${total:.4f} at most (before the cache){unknown}; nothing sent")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    console = Console(PROGRAM)
    parser = hook_args.parser()
    try:
        words = hook_args.split(parser, sys.argv[1:] if argv is None else argv)
    except hook_args.NamedLikeAnOption as exc:
        return fail(console, exc)
    args = parser.parse_args(words)
    options = Options(
        files=hook_args.distinct(args.files),
        assistant=args.assistant,
        check=args.check,
        jobs=args.jobs,
        max_bytes=args.max_bytes,
        on_error=args.on_error,
        use_cache=args.use_cache,
        model=args.model,
        dry_run=args.dry_run,
        diff=args.diff,
        allow_secrets=args.allow_secrets,
        output_format=args.output_format,
    )
    if options.diff and not options.check:
        parser.error("--diff shows what --check would change; it needs --check")

    try:
        if options.dry_run:
            return _dry_run(options, console)
        engine = Engine(options.engine())
        outcomes = engine.check_all(options.files)
        return _report(outcomes, options, console, sent=engine.sent)
    except OutputFailed as exc:  # the report is the hook's result: not seeing it is a failure, warn or not
        return fail(console, exc)
    except GptToolsError as exc:
        status = fail(console, exc, after="; no file was changed")
        # --on-error=warn forgives an unreachable API, never a usage or config error (a misspelt
        # --assistant, an untrusted config): that would pass every commit without checking anything.
        return status if options.on_error == "fail" or status == 2 else 0
    except KeyboardInterrupt as exc:
        return fail(console, exc, after="; no file was changed")


if __name__ == "__main__":
    sys.exit(main())
