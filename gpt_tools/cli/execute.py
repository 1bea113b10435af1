"""`gpt-tools run`, once its options are read (cli/run.py): gather input, run with progress, deliver."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from gpt_tools.cli import adhoc, dryrun, report
from gpt_tools.cli.console import Console
from gpt_tools.cli.inputs import gather, left_repository, read_attachment
from gpt_tools.cli.runsettings import RunFlags, applied
from gpt_tools.cli.safe_text import json_text, printable
from gpt_tools.config.definitions import Assistant
from gpt_tools.config.loader import Config, load_config
from gpt_tools.core import runner
from gpt_tools.core.plan import Hooks, RunRequest, resolve_request
from gpt_tools.core.records import Result
from gpt_tools.core.session import Session
from gpt_tools.errors import GptToolsError, RunFailed, TurnNotSaved, UsageError
from gpt_tools.state import atomicwrite, conversation
from gpt_tools.state.cache import ResultCache
from gpt_tools.state.conversation import Conversation
from gpt_tools.wire.transport import RetryNotice


class OutputNotWritten(RunFailed):
    """`-o FILE` could not be written: the paid-for result goes to stdout instead (exit 1)."""

    def __init__(self, message: str, *, result: Result) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    name: str | None  # None: an ad-hoc run (cli/adhoc.py decides with the config); FILES hold every word
    files: tuple[str, ...]
    attachments: tuple[str, ...]
    input_text: str | None
    instruct: str | None
    model: str | None
    backend: str | None
    output_file: str | None
    as_json: bool
    allow_secrets: bool
    dry_run: bool = False
    continue_last: bool = False
    conversation_id: str | None = None
    flags: RunFlags = field(default_factory=RunFlags)


def execute(options: RunOptions, console: Console) -> int:
    """The run; with --json a failure is printed as `{"status": "error", ...}` too (same exit status)."""
    try:
        return _execute(options, console)
    except (GptToolsError, KeyboardInterrupt) as exc:
        if not options.as_json:
            raise
        return report.fail_json(console, exc)


def _chosen(options: RunOptions, config: Config) -> tuple[Assistant, tuple[str, ...], str | None]:
    """The assistant as this run sends it (-s, --temperature, -O), its FILES, and an ad-hoc prompt."""
    flags = options.flags
    if options.name is None and not flags.ad_hoc:
        raise UsageError("missing the assistant: give NAME, --assistant-name, or -s/-p for the plain Assistant")
    if options.name is None:
        chosen = adhoc.choose(config, options.files, flags, output=options.output_file is not None)
        name, files, prompt = chosen.name, chosen.files, chosen.prompt
    else:
        name, files, prompt = options.name, options.files, flags.prompt
    if prompt is not None and not prompt.strip():
        raise UsageError("-p/--prompt: the prompt is empty; nothing was sent")
    if prompt is not None and options.input_text is not None:
        raise UsageError("give the request once: a prompt or --input-text, not both")
    return applied(config.assistant(name), flags, settings=False), files, prompt


def _execute(options: RunOptions, console: Console) -> int:
    config = load_config()
    assistant, files, prompt = _chosen(options, config)
    settings = options.flags.checked().settings
    before = _check_output(options.output_file)  # before the input is read: an edit after it is caught
    given = gather(
        assistant,
        files,
        prompt if prompt is not None else options.input_text,
        sys.stdin.buffer,
        sys.stdin.isatty(),
        attachments=options.attachments,
        prompt=prompt is not None,
    )
    attached = tuple(read_attachment(name) for name in options.attachments)
    talk = _conversation(options, config, assistant)
    request = RunRequest(
        assistant=assistant,
        text=given.text,
        files=given.files + attached,
        model=options.model,
        backend=options.backend,
        extra_instructions=options.instruct,
        allow_secrets=options.allow_secrets,
        config=config,
        conversation=talk,
        settings=settings,
    )
    if options.dry_run:
        return dryrun.show(request, console, as_json=options.as_json)
    streamed: list[str] = []
    try:
        result = _send(request, options, console, streamed)
    except TurnNotSaved as unsaved:  # paid for: deliver the reply, then say it was not saved (exit 1)
        _deliver(unsaved.result, options, console, streamed="".join(streamed), expect=before, failed=unsaved)  # type: ignore[arg-type]
        raise
    _deliver(result, options, console, streamed="".join(streamed), expect=before)
    if talk is not None and console.stderr_tty:
        console.message(f"conversation {talk.id} (continue with --continue or --conversation {talk.id})")
    return 0


def _conversation(options: RunOptions, config: Config, assistant: Assistant) -> Conversation | None:
    if not (options.continue_last or options.conversation_id):
        return None
    root = conversation.project_for(config.project_root, Path.cwd())
    return conversation.resume(
        assistant.name,
        root,
        continue_last=options.continue_last,
        conversation_id=options.conversation_id,
        claim=not options.dry_run,  # a dry run leaves no trace, not even an empty conversation
    )


def _send(request: RunRequest, options: RunOptions, console: Console, streamed: list[str]) -> Result:
    """The run, with a spinner, the reply streamed to a terminal, and the rewriters' result cache."""
    resolved = resolve_request(request)
    stream_to_terminal = sys.stdout.isatty() and not options.as_json and not options.output_file
    spinner = console.progress(f"{resolved.assistant.name} · {resolved.settings.model}")

    def on_delta(delta: str) -> None:
        if stream_to_terminal:
            spinner.stop()
            streamed.append(delta)
            console.result(printable(delta, keep_newlines=True))  # a terminal: see _deliver

    def on_retry(notice: RetryNotice) -> None:
        spinner.stop()
        console.message(
            f"{notice.reason}; retrying in {notice.wait:.1f} s (retry {notice.attempt}/{notice.max_retries})"
        )

    def on_wait(message: str) -> None:
        spinner.stop()
        console.message(message)

    # The hook's cache: a document already fixed (or known clean) costs no request; --no-cache asks again.
    session = Session(jobs=resolved.settings.jobs, cache=None if options.flags.no_cache else ResultCache())
    hooks = Hooks(on_delta=on_delta, on_retry=on_retry, on_wait=on_wait)
    with spinner.running():
        return runner.run_request(request, hooks=hooks, session=session, frontend="cli")


def _check_output(path: str | None) -> atomicwrite.Expected:
    """What `-o` holds now (to re-check before writing); refused before anything is paid for if unwritable."""
    if path is None:
        return None
    if not path.strip():  # `-o ""` (an unset shell variable) names no file: said as such, before anything
        raise UsageError(f"-o/--output-file: expected a file name, got {path!r}")
    if (why := left_repository(path)) is not None:  # a clone's link must not make -o write your files
        raise UsageError(f"-o/--output-file: {why}; nothing was sent")
    try:
        atomicwrite.check_writable(path)
    except atomicwrite.WriteRefused as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        return atomicwrite.snapshot(path)
    except OSError:  # a write-only file: it can be written, not compared
        return None


@dataclass(frozen=True, kw_only=True)
class _Output:
    written: bool
    said: str  # for the usage line; if not written, why
    lost: str | None = None  # what the new file could not keep: said even without a terminal


def _write_output(text: str, path: str, expect: atomicwrite.Expected) -> _Output:
    """Write `-o`, never over an edit made while the request was in flight."""
    try:
        written = atomicwrite.write_atomic(path, text.encode("utf-8"), expect=expect)
    except atomicwrite.ChangedMeanwhile:
        return _Output(written=False, said=f"{path} changed while the request was in flight; not overwritten")
    except atomicwrite.WriteRefused as exc:
        return _Output(written=False, said=str(exc))
    except OSError as exc:
        return _Output(written=False, said=f"cannot write {path}: {exc.strerror or exc}")
    lost = f"{path}: could not keep its {', '.join(written.lost)}" if written.lost else None
    return _Output(written=True, said=f"wrote {path}" if written.changed else f"{path} already held it", lost=lost)


def _deliver(
    result: Result,
    options: RunOptions,
    console: Console,
    *,
    streamed: str,
    expect: atomicwrite.Expected,
    failed: BaseException | None = None,
) -> None:
    output = _write_output(result.text, options.output_file, expect) if options.output_file else None
    unwritten = output is not None and not output.written
    if options.as_json:
        if not unwritten and not isinstance(failed, TurnNotSaved):  # else the error's JSON carries the result
            console.result(json_text(report.result_json(result)))
    elif output is not None and output.written:
        pass
    elif streamed:
        # The terminal already shows the streamed text; only finish the line.
        console.result("" if streamed.endswith("\n") else "\n")
    elif sys.stdout.isatty():  # a reply's ESC, C1 and bidi characters must not act on a terminal: shown escaped
        console.result(printable(result.text, keep_newlines=True))
    else:
        console.result(result.text)  # a pipe or a file: exactly the text
    if not options.as_json:  # --json carries them in "edits"
        report.refused_edits(console, result)
    if console.stderr_tty:
        usage = result.usage
        console.message(
            f"{result.assistant} · {result.model} · {usage.input_tokens:,} in / {usage.output_tokens:,} out · "
            f"{result.elapsed:.1f} s"
            + (" · from cache" if result.requests == 0 else "")
            + (f" · {output.said}" if output is not None and output.written else "")
        )
    if output is not None and output.lost:
        console.message(output.lost)
    if output is not None and not output.written:  # the paid-for result went to stdout instead of being lost
        raise OutputNotWritten(f"{output.said}; the result is on stdout instead", result=result)
