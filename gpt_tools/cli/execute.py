"""`gpt-tools run`, once its options are read (cli/run.py): gather input, run with progress, deliver."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from gpt_tools.cli import report
from gpt_tools.cli.console import Console
from gpt_tools.cli.inputs import gather, read_attachment
from gpt_tools.config.loader import Config, load_config
from gpt_tools.core import runner
from gpt_tools.core.inputs import InputFile
from gpt_tools.core.preview import preview
from gpt_tools.core.records import Result
from gpt_tools.errors import RunFailed, TurnNotSaved, UsageError
from gpt_tools.state import atomicwrite, conversation
from gpt_tools.state.conversation import Conversation
from gpt_tools.wire.transport import RetryNotice


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    name: str
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


def execute(options: RunOptions, console: Console) -> int:
    config = load_config()
    assistant = config.assistant(options.name)
    before = _check_output(options.output_file)  # before the input is read: an edit after it is caught
    given = gather(
        assistant,
        options.files,
        options.input_text,
        sys.stdin.buffer,
        sys.stdin.isatty(),
        attachments=options.attachments,
    )
    attached = tuple(read_attachment(name) for name in options.attachments)
    stream_to_terminal = sys.stdout.isatty() and not options.as_json and not options.output_file
    spinner = console.progress(f"{assistant.name} · {options.model or assistant.model or config.settings.model}")
    streamed: list[str] = []

    def on_delta(delta: str) -> None:
        if stream_to_terminal:
            spinner.stop()
            streamed.append(delta)
            console.result(delta)

    def on_retry(notice: RetryNotice) -> None:
        spinner.stop()
        console.message(
            f"{notice.reason}; retrying in {notice.wait:.1f} s (retry {notice.attempt}/{notice.max_retries})"
        )

    talk = None
    if options.continue_last or options.conversation_id:
        root = conversation.project_for(config.project_root, Path.cwd())
        talk = conversation.resume(
            assistant.name,
            root,
            continue_last=options.continue_last,
            conversation_id=options.conversation_id,
            claim=not options.dry_run,  # a dry run leaves no trace, not even an empty conversation
        )
    if options.dry_run:
        return _dry_run(options, console, config, given.text, given.files + attached, talk)

    def on_wait(message: str) -> None:
        spinner.stop()
        console.message(message)

    try:
        with spinner.running():
            result = runner.run(
                assistant,
                given.text,
                files=given.files + attached,
                model=options.model,
                backend=options.backend,
                extra_instructions=options.instruct,
                allow_secrets=options.allow_secrets,
                on_delta=on_delta,
                on_retry=on_retry,
                config=config,
                frontend="cli",
                conversation=talk,
                on_wait=on_wait,
            )
    except TurnNotSaved as unsaved:  # paid for: deliver the reply, then say it was not saved (exit 1)
        _deliver(unsaved.result, options, console, streamed="".join(streamed), expect=before)  # type: ignore[arg-type]
        raise
    _deliver(result, options, console, streamed="".join(streamed), expect=before)
    if talk is not None and console.stderr_tty:
        console.message(f"conversation {talk.id} (continue with --continue or --conversation {talk.id})")
    return 0


def _check_output(path: str | None) -> atomicwrite.Expected:
    """What `-o` holds now (to re-check before writing); refused before anything is paid for if unwritable."""
    if path is None:
        return None
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
    result: Result, options: RunOptions, console: Console, *, streamed: str, expect: atomicwrite.Expected
) -> None:
    output = _write_output(result.text, options.output_file, expect) if options.output_file else None
    if options.as_json:
        console.result(json.dumps(report.result_json(result), indent=2, ensure_ascii=False) + "\n")
    elif output is not None and output.written:
        pass
    elif streamed:
        # The terminal already shows the streamed text; only finish the line.
        console.result("" if streamed.endswith("\n") else "\n")
    else:
        console.result(result.text)
    if not options.as_json:  # --json carries them in "edits"
        report.refused_edits(console, result)
    if console.stderr_tty:
        usage = result.usage
        console.message(
            f"{result.assistant} · {result.model} · {usage.input_tokens:,} in / {usage.output_tokens:,} out · "
            f"{result.elapsed:.1f} s" + (f" · {output.said}" if output is not None and output.written else "")
        )
    if output is not None and output.lost:
        console.message(output.lost)
    if output is not None and not output.written:  # the paid-for result went to stdout instead of being lost
        raise RunFailed(f"{output.said}; the result is on stdout instead")


def _dry_run(
    options: RunOptions,
    console: Console,
    config: Config,
    text: str,
    files: tuple[InputFile, ...],
    talk: Conversation | None,
) -> int:
    plan = preview(
        options.name,
        text,
        files=files,
        model=options.model,
        backend=options.backend,
        extra_instructions=options.instruct,
        allow_secrets=options.allow_secrets,
        config=config,
        conversation=talk,
    )
    console.result(json.dumps(asdict(plan), indent=2) + "\n" if options.as_json else plan.describe() + "\n")
    return 0
