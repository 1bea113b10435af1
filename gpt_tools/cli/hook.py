"""`gpt-tools-hook`: the pre-commit hook. Runs a rewriting assistant over changed Markdown files.

Fix mode writes changed files back (atomically) and exits 1, as pre-commit expects of a hook that
modifies files; check mode prints a short diff and exits 1. If any file could not be checked (API
down, no key, timeout), no file at all is written: the results already received are cached, so the
next run costs nothing for them.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..definitions import flag_value
from ..textio import split_lines
from .console import Console

PROGRAM = "gpt-tools-hook"
DIFF_LINES = 60  # per file: enough to see what changes, short enough to read in a terminal


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


@dataclass(frozen=True)
class Outcome:
    path: str
    original: bytes
    fixed: bytes | None = None  # None: not checked (see problem/note)
    note: str | None = None  # skipped on purpose (size, binary)
    problem: str | None = None  # could not be checked, or the reply was refused
    api_failure: bool = False
    requests: int = 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description="Fix (or check) Markdown files with an assistant.")
    parser.add_argument("files", nargs="*", help="files to process (pre-commit passes the changed ones)")
    parser.add_argument("--assistant", default="MarkdownLinter", help="a rewriting assistant (default: %(default)s)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--fix", action="store_false", dest="check", help="write fixes back (default)")
    mode.add_argument("--check", action="store_true", help="only report what would change; never write")
    parser.set_defaults(check=False)  # otherwise --fix's store_false would make checking the default
    jobs_help = "requests in flight at once (default: config `jobs`, 10)"
    parser.add_argument("--jobs", type=flag_value("jobs"), help=jobs_help)
    parser.add_argument("--max-bytes", type=int, default=500_000, help="skip larger files (default: %(default)s)")
    parser.add_argument(
        "--on-error",
        choices=("fail", "warn"),
        default="fail",
        help="when files cannot be checked (offline, no key): fail the hook, or warn and pass",
    )
    parser.add_argument("--no-cache", action="store_false", dest="use_cache", help="ask again even for known text")
    parser.add_argument("-m", "--model", help="model to use instead of the assistant's")
    parser.add_argument("--dry-run", action="store_true", help="show what would be sent and cost; send nothing")
    return parser


def _process(path: str, options: Options, run_one: RunOne) -> Outcome:
    from ..errors import GptToolsError, InputRefused, ReplyRejected
    from ..textio import decode_input

    try:
        original = Path(path).read_bytes()
    except OSError as exc:
        return Outcome(path, b"", problem=f"cannot read: {exc.strerror or exc}")
    if len(original) > options.max_bytes:
        return Outcome(path, original, note=f"skipped: {len(original):,} bytes is over --max-bytes")
    try:
        text = decode_input(original, source=path)
    except GptToolsError as exc:
        return Outcome(path, original, note=f"skipped: {exc}")
    if not text.strip():
        return Outcome(path, original, fixed=original)
    try:
        fixed, requests = run_one(text)
    except ReplyRejected as exc:
        return Outcome(path, original, problem=f"left untouched: {exc}", requests=0 if exc.remembered else 1)
    except InputRefused as exc:  # this file only (a secret, too large): the others are still fixed
        return Outcome(path, original, problem=f"skipped: {exc}")
    except GptToolsError as exc:
        return Outcome(path, original, problem=str(exc), api_failure=True)
    return Outcome(path, original, fixed=fixed.encode("utf-8"), requests=requests)


class RunOne:
    """Runs the assistant over one text with the hook's shared session (limits, cache)."""

    def __init__(self, options: Options) -> None:
        from .. import load_config
        from ..cache import ResultCache
        from ..errors import UsageError
        from ..session import Session

        self.config = load_config()
        self.assistant = self.config.assistant(options.assistant)
        if not self.assistant.rewrites:
            raise UsageError(f"{self.assistant.name} writes new text; the hook needs a rewriting assistant")
        jobs = options.jobs or self.config.settings.jobs
        self.session = Session(jobs=jobs, cache=ResultCache() if options.use_cache else None)
        self.model = options.model
        self.cancel = threading.Event()  # set on Ctrl-C: every file's requests close their sockets

    def __call__(self, text: str) -> tuple[str, int]:
        from ..runner import run

        result = run(
            self.assistant,
            text,
            model=self.model,
            session=self.session,
            config=self.config,
            frontend="hook",
            cancel=self.cancel,
        )
        return result.text, result.requests


def _diff(outcome: Outcome) -> str:
    assert outcome.fixed is not None
    # Lines as Markdown sees them: str.splitlines would also cut at form feeds and U+2028.
    before = split_lines(outcome.original.decode("utf-8"))
    after = split_lines(outcome.fixed.decode("utf-8"))
    lines = list(difflib.unified_diff(before, after, f"a/{outcome.path}", f"b/{outcome.path}", n=1))
    shown = "".join(line if line.endswith("\n") else line + "\n" for line in lines[:DIFF_LINES])
    more = f"... ({len(lines) - DIFF_LINES} more diff lines)\n" if len(lines) > DIFF_LINES else ""
    return shown + more


def _report(outcomes: list[Outcome], options: Options, console: Console) -> int:
    from .. import atomicwrite

    for outcome in outcomes:
        if outcome.note:
            console.line(f"{outcome.path}: {outcome.note}")
    unchecked = [o for o in outcomes if o.api_failure]
    refused = [o for o in outcomes if o.problem and not o.api_failure]
    changed = [o for o in outcomes if o.fixed is not None and o.fixed != o.original]
    for outcome in refused:
        console.line(f"{outcome.path}: {outcome.problem}")
    if unchecked:
        console.line(f"not checked ({unchecked[0].problem}); no file was changed:")
        for outcome in unchecked:
            console.line(f"  {outcome.path}")
        changed = []  # all or nothing: a partial fix on a failing run would surprise more than help
    for outcome in changed:
        if options.check:
            console.line(f"would fix {outcome.path}:\n{_diff(outcome)}".rstrip("\n"))
        else:
            assert outcome.fixed is not None
            atomicwrite.write_atomic(outcome.path, outcome.fixed)
            console.line(f"fixed {outcome.path}")
    requests = sum(o.requests for o in outcomes)
    console.line(f"{PROGRAM}: {len(changed)} changed, {len(outcomes)} checked, {requests} requests")
    failed = bool(changed or refused) or (bool(unchecked) and options.on_error == "fail")
    if unchecked and options.on_error == "warn":
        console.line("warning: some files were not checked; passing because of --on-error=warn")
    return 1 if failed else 0


def _dry_run(options: Options, console: Console) -> int:
    """Per file: what would be sent and its estimated cost. Nothing is sent, nothing written."""
    from .. import load_config
    from ..errors import GptToolsError
    from ..preview import preview
    from ..textio import decode_input

    config = load_config()
    total = 0.0
    for path in options.files:
        try:
            text = decode_input(Path(path).read_bytes(), source=path)
            plan = preview(options.assistant, text, model=options.model, config=config)
        except (OSError, GptToolsError) as exc:
            console.line(f"{path}: would be skipped: {exc}")
            continue
        total += plan.cost or 0.0
        console.line(f"{path}: ~{plan.input_tokens:,} tokens in, {plan.chunks} request(s), ~${plan.cost or 0:.4f}")
    console.line(
        f"{PROGRAM}: dry run, {len(options.files)} files, ~${total:.4f} at most (before the cache); nothing sent"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    console = Console(PROGRAM)
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
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
    )
    from ..errors import GptToolsError

    try:
        if options.dry_run:
            return _dry_run(options, console)
        run_one = RunOne(options)
        workers = max(1, run_one.session.jobs)
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            outcomes = list(pool.map(lambda path: _process(path, options, run_one), options.files))
        except KeyboardInterrupt:
            run_one.cancel.set()  # Ctrl-C reaches only this thread: without this, files in flight go on billing
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=run_one.cancel.is_set())
        return _report(outcomes, options, console)
    except GptToolsError as exc:
        console.error(f"{exc}; no file was changed")
        return exc.exit_code if options.on_error == "fail" else 0
    except KeyboardInterrupt:
        console.error("interrupted; no file was changed")
        return 130


if __name__ == "__main__":
    sys.exit(main())
