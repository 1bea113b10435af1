"""`gpt-tools run`: gather input, run with progress, deliver the result."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from .. import atomicwrite, runner
from ..config import Config, load_config
from ..conversation import Conversation
from ..errors import RunFailed, TurnNotSaved
from ..runner import InputFile
from ..transport import RetryNotice
from .console import Console
from .inputs import gather, read_attachment

if TYPE_CHECKING:
    from .main import RunOptions


def execute(options: RunOptions, console: Console) -> int:
    config = load_config()
    assistant = config.assistant(options.name)
    given = gather(assistant, options.files, options.input_text, sys.stdin.buffer, sys.stdin.isatty())
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
        from .. import conversation

        root = conversation.project_for(config.project_root, Path.cwd())
        talk = conversation.resume(
            assistant.name, root, continue_last=options.continue_last, conversation_id=options.conversation_id
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
        _deliver(unsaved.result, options, console, streamed="".join(streamed))  # type: ignore[arg-type]
        raise
    _deliver(result, options, console, streamed="".join(streamed))
    if talk is not None and console.stderr_tty:
        console.message(f"conversation {talk.id} (continue with --continue or --conversation {talk.id})")
    return 0


def _deliver(result: runner.Result, options: RunOptions, console: Console, *, streamed: str) -> None:
    if options.output_file:
        try:
            atomicwrite.write_atomic(options.output_file, result.text.encode("utf-8"))
        except OSError as exc:
            raise RunFailed(f"cannot write {options.output_file}: {exc.strerror or exc}") from None
    if options.as_json:
        console.result(json.dumps(asdict(result), indent=2, ensure_ascii=False) + "\n")
    elif options.output_file:
        pass
    elif streamed:
        # The terminal already shows the streamed text; only finish the line.
        console.result("" if streamed.endswith("\n") else "\n")
    else:
        console.result(result.text)
    if console.stderr_tty:
        usage = result.usage
        console.message(
            f"{result.assistant} · {result.model} · {usage.input_tokens:,} in / {usage.output_tokens:,} out · "
            f"{result.elapsed:.1f} s" + (f" · wrote {options.output_file}" if options.output_file else "")
        )


def _dry_run(
    options: RunOptions,
    console: Console,
    config: Config,
    text: str,
    files: tuple[InputFile, ...],
    talk: Conversation | None,
) -> int:
    from ..preview import preview

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
