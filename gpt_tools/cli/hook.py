"""`gpt-tools-hook`: the pre-commit hook. Runs a rewriting assistant over changed Markdown files.

Fix mode writes changed files back (atomically) and exits 1, as pre-commit expects of a hook that
modifies files, and names each edit the checks refused; check mode prints each edit as
`path:line:col: reason: "find" → "replace"` (or, with --diff or for a document-mode assistant, a
short diff) and exits 1 when something would change. If any file could not be checked (API
down, no key, timeout), no file at all is written: the results already received are cached, so the
next run costs nothing for them.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from gpt_tools.cli import hook_args
from gpt_tools.cli.console import Console, OutputFailed
from gpt_tools.cli.editlines import edit_lines, edits_summary, refused_line
from gpt_tools.cli.hook_args import PROGRAM, link_note
from gpt_tools.cli.report import diff, fail
from gpt_tools.cli.safe_text import printable
from gpt_tools.config.loader import load_config
from gpt_tools.config.resolve import resolve_settings
from gpt_tools.core.preview import preview
from gpt_tools.core.records import EditReport, Result
from gpt_tools.core.runner import run
from gpt_tools.core.session import Session
from gpt_tools.errors import GptToolsError, InputRefused, ReplyRejected, UsageError
from gpt_tools.markdown.textio import decode_input
from gpt_tools.state import atomicwrite
from gpt_tools.state.cache import ResultCache


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class FileCheck:
    """What the hook did with one file: fixed, unchanged, skipped (note) or not checked (problem)."""

    path: str
    original: bytes
    fixed: bytes | None = None  # None: not checked (see problem/note)
    note: str | None = None  # skipped on purpose (size, binary)
    problem: str | None = None  # could not be checked, or the reply was refused
    api_failure: bool = False
    requests: int = 0
    edits: EditReport | None = None  # edits mode: what the model proposed, applied and refused
    cached: bool = False  # the answer came from the result cache (no request sent for it)

    @property
    def shown(self) -> str:
        """The path as printed: a newline or escape in a (repository's) file name never forges a line."""
        return printable(self.path)


def _read(path: str) -> bytes | FileCheck:
    """The file's bytes, or why it is skipped; a pipe or device is never opened for a blocking read."""

    link = link_note(path)  # a committed symlink must not make the hook send or rewrite its target
    if link is not None:
        return FileCheck(path, b"", note=link)
    try:
        original = atomicwrite.snapshot(path)
    except OSError as exc:
        return FileCheck(path, b"", problem=f"cannot read: {exc.strerror or exc}")
    if original is atomicwrite.ABSENT:
        return FileCheck(path, b"", problem="cannot read: no such file")
    if original is None:
        return FileCheck(path, b"", note="skipped: not a regular file")
    return original


def _process(path: str, options: Options, run_one: RunOne) -> FileCheck:
    original = _read(path)
    if isinstance(original, FileCheck):
        return original
    if not options.check:
        try:  # before paying for a fix that could not be written
            atomicwrite.check_writable(path)
        except atomicwrite.WriteRefused as exc:
            return FileCheck(path, original, problem=f"not written: {exc.problem}")
    if len(original) > options.max_bytes:
        return FileCheck(path, original, note=f"skipped: {len(original):,} bytes is over --max-bytes")
    try:
        text = decode_input(original, source=path)
    except GptToolsError as exc:
        return FileCheck(path, original, note=f"skipped: {exc}")
    if not text.strip():
        return FileCheck(path, original, fixed=original)
    try:
        result = run_one(text)
    except ReplyRejected as exc:
        return FileCheck(path, original, problem=f"left untouched: {exc}", requests=0 if exc.remembered else 1)
    except InputRefused as exc:  # this file only (a secret, too large): the others are still fixed
        return FileCheck(path, original, problem=f"skipped: {exc}")
    except GptToolsError as exc:
        return FileCheck(path, original, problem=str(exc), api_failure=True)
    fixed = result.text.encode("utf-8")
    cached = result.requests == 0
    return FileCheck(path, original, fixed=fixed, requests=result.requests, edits=result.edits, cached=cached)


class RunOne:
    """Runs the assistant over one text with the hook's shared session (limits, cache)."""

    def __init__(self, options: Options) -> None:
        self.config = load_config()
        self.assistant = self.config.assistant(options.assistant)
        if not self.assistant.rewrites:
            raise UsageError(f"{self.assistant.name} writes new text; the hook needs a rewriting assistant")
        # An empty model (flag, GPT_TOOLS_MODEL) fails the run as a usage error, not each file.
        resolve_settings(self.config, self.assistant, model=options.model)
        jobs = options.jobs or self.config.settings.jobs
        self.session = Session(jobs=jobs, cache=ResultCache() if options.use_cache else None)
        self.model = options.model
        self.cancel = threading.Event()  # set on Ctrl-C: every file's requests close their sockets

    def __call__(self, text: str) -> Result:
        return run(
            self.assistant,
            text,
            model=self.model,
            session=self.session,
            config=self.config,
            frontend="hook",
            cancel=self.cancel,
        )


def _write(outcome: FileCheck, console: Console) -> bool:
    """Write one fix unless the file changed meanwhile or cannot be written; say which. True if written."""

    assert outcome.fixed is not None
    try:
        written = atomicwrite.write_atomic(outcome.path, outcome.fixed, expect=outcome.original)
    except atomicwrite.ChangedMeanwhile as exc:
        console.line(f"{exc}; the fix is not applied (run the hook again)")
        return False
    except atomicwrite.WriteRefused as exc:
        console.line(str(exc))
        return False
    except OSError as exc:  # read-only folder, full disk: this file only, the others are still written
        console.line(f"{outcome.shown}: not written: {exc.strerror or exc}")
        return False
    kept = f" (could not keep its {', '.join(written.lost)})" if written.lost else ""
    console.line(f"fixed {outcome.shown}{kept}{_from_cache(outcome)}")
    return True


def _from_cache(outcome: FileCheck) -> str:
    return " (from cache)" if outcome.cached else ""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _changes(outcome: FileCheck) -> bool:
    return outcome.fixed is not None and outcome.fixed != outcome.original


def _show_check(outcome: FileCheck, options: Options, console: Console) -> None:
    """One file in check mode: each edit as a line (edits mode), or a diff (--diff, document mode)."""
    edits = outcome.edits
    lines_only = edits is not None and not options.diff and (edits.applied or not _changes(outcome))
    if edits is not None and lines_only:
        for line in edit_lines(outcome.shown, edits):
            console.line(line)
        return
    if _changes(outcome):
        assert outcome.fixed is not None
        shown = diff(outcome.shown, outcome.original, outcome.fixed)
        console.line(f"would fix {outcome.shown}{_from_cache(outcome)}:\n{shown}".rstrip("\n"))
    _show_refused(outcome, console)


def _show_refused(outcome: FileCheck, console: Console) -> None:
    """The edits of one file the checks refused, one line each (fix mode, and check mode's --diff)."""
    if outcome.edits is not None:
        for refusal in outcome.edits.refused:
            console.line(refused_line(outcome.shown, outcome.edits.original, refusal))


def _summary(outcomes: list[FileCheck], options: Options, written: int, held: int, sent: int) -> list[str]:
    """Exact counts, ruff-style: every file is in exactly one of changed, unchanged, skipped, failed."""
    checked = [o for o in outcomes if o.fixed is not None]
    changed = [o for o in checked if _changes(o)]
    unwritten = 0 if options.check else len(changed) - written - held
    done = len(changed) if options.check else written
    failed = sum(1 for o in outcomes if o.problem) + unwritten
    cached = sum(1 for o in checked if o.cached)
    counts = [
        f"{_plural(len(checked), 'file')} checked",
        f"{done} {'would change' if options.check else 'changed'}",
        *([f"{held} held back (not written: some file was not checked)"] if held else []),
        f"{len(checked) - len(changed)} unchanged",
        f"{sum(1 for o in outcomes if o.note)} skipped",
        f"{failed} failed",
    ]
    requests = f"{_plural(sent, 'request')} sent" + (f" ({cached} from cache)" if cached else "")
    lines = [f"{PROGRAM}: {', '.join(counts)}; {requests}"]
    with_edits = [o.edits for o in checked if o.edits is not None]
    if with_edits:
        applied = sum(len(e.applied) for e in with_edits)
        files = sum(1 for e in with_edits if e.applied)
        lines.append(f"{PROGRAM}: {edits_summary(applied, files, sum(len(e.refused) for e in with_edits))}")
    return lines


def _report(outcomes: list[FileCheck], options: Options, console: Console, *, sent: int) -> int:
    """Each file's lines, then the counts; the exit status (sent: HTTP requests, retries included)."""
    for outcome in outcomes:
        if outcome.note:
            console.line(f"{outcome.shown}: {outcome.note}")
    unchecked = [o for o in outcomes if o.api_failure]
    refused = [o for o in outcomes if o.problem and not o.api_failure]
    changed = [o for o in outcomes if _changes(o)]
    for outcome in refused:
        console.line(f"{outcome.shown}: {outcome.problem}")
    # Check mode shows what is known even when some files could not be checked; fix mode writes all
    # or nothing: a partial fix on a failing run would surprise more than help.
    held = len(changed) if unchecked and not options.check else 0
    written = 0
    for outcome in (o for o in outcomes if o.fixed is not None):
        if options.check:
            _show_check(outcome, options, console)
            continue
        if _changes(outcome) and not held and _write(outcome, console):
            written += 1
        _show_refused(outcome, console)
    if unchecked:
        console.line(f"not checked ({unchecked[0].problem}); no file was changed:")
        for outcome in unchecked:
            console.line(f"  {outcome.shown}")
    for line in _summary(outcomes, options, written, held, sent):
        console.line(line)
    # Fix mode fails when it wrote (pre-commit's "files were modified"), refused, or could not write.
    unwritten = len(changed) > written + held
    failed = bool(changed or refused) if options.check else bool(written or refused or unwritten)
    failed = failed or (bool(unchecked) and options.on_error == "fail")
    if unchecked and options.on_error == "warn":
        console.line("warning: some files were not checked; passing because of --on-error=warn")
    return 1 if failed else 0


def _dry_run(options: Options, console: Console) -> int:
    """Per file: what would be sent and its estimated cost. Nothing is sent, nothing written."""

    config = load_config()
    resolve_settings(config, config.assistant(options.assistant), model=options.model)
    total = 0.0
    for path in options.files:
        original = _read(path)
        if isinstance(original, FileCheck):  # a pipe or device is never read (it would block)
            console.line(f"{printable(path)}: would be skipped: {original.note or original.problem}")
            continue
        try:
            text = decode_input(original, source=path)
            plan = preview(options.assistant, text, model=options.model, config=config)
        except (OSError, GptToolsError) as exc:
            console.line(f"{printable(path)}: would be skipped: {exc}")
            continue
        total += plan.cost or 0.0
        cost = f"~{plan.input_tokens:,} tokens in, {plan.chunks} request(s), ~${plan.cost or 0:.4f}"
        console.line(f"{printable(path)}: {cost}")
    files = _plural(len(options.files), "file")
    console.line(f"{PROGRAM}: dry run, {files}, ~${total:.4f} at most (before the cache); nothing sent")
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
        files=tuple(args.files),
        assistant=args.assistant,
        check=args.check,
        jobs=args.jobs,
        max_bytes=args.max_bytes,
        on_error=args.on_error,
        use_cache=args.use_cache,
        model=args.model,
        dry_run=args.dry_run,
        diff=args.diff,
    )
    if options.diff and not options.check:
        parser.error("--diff shows what --check would change; it needs --check")

    try:
        if options.dry_run:
            return _dry_run(options, console)
        run_one = RunOne(options)
        # Twice as many workers as requests in flight: while `jobs` files wait for the server, the
        # others are read and prepared, and the replies that arrive are applied, so a freed request
        # slot is taken at once (the session's gate still holds requests in flight to `jobs`).
        workers = max(1, min(len(options.files), 2 * run_one.session.jobs))
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            outcomes = list(pool.map(lambda path: _process(path, options, run_one), options.files))
        except KeyboardInterrupt:
            run_one.cancel.set()  # Ctrl-C reaches only this thread: without this, files in flight go on billing
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=run_one.cancel.is_set())
        return _report(outcomes, options, console, sent=run_one.session.gate.sent)
    except OutputFailed as exc:  # the report is the hook's result: not seeing it is a failure, warn or not
        return fail(console, exc)
    except GptToolsError as exc:
        status = fail(console, exc, after="; no file was changed")
        return status if options.on_error == "fail" else 0
    except KeyboardInterrupt as exc:
        return fail(console, exc, after="; no file was changed")


if __name__ == "__main__":
    sys.exit(main())
