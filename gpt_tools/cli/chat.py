"""`gpt-tools chat NAME`: an interactive conversation with streaming replies.

Ctrl-C cancels the reply in flight and stays in the chat (the cancel closes the connection, so no
further tokens are paid for); Ctrl-D leaves. Line editing and history come from readline; the
history file lives in the user's state dir.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.config.loader import Config, load_config
from gpt_tools.errors import Cancelled, GptToolsError, TurnNotSaved, UsageError
from gpt_tools.state import paths
from gpt_tools.state.private import open_private, private_dir

if TYPE_CHECKING:  # their modules are imported where a chat needs them (below), not for `gpt-tools --help`
    from gpt_tools.core.records import Result
    from gpt_tools.state.conversation import Conversation


@dataclass(frozen=True)
class ChatOptions:
    name: str
    continue_last: bool
    conversation_id: str | None
    model: str | None
    backend: str | None


@click.command("chat")
@click.argument("name")
@click.option("--continue", "continue_last", is_flag=True, help="Continue this project's last conversation.")
@click.option("--conversation", "conversation_id", metavar="ID", help="Continue conversation ID (or `last`).")
@click.option("-m", "--model", help="Model to use instead of the assistant's.")
@click.option("--backend", help="Backend: openai, chat, or an installed plugin's.")
def chat_command(
    name: str, continue_last: bool, conversation_id: str | None, model: str | None, backend: str | None
) -> int:
    """Talk with assistant NAME: Ctrl-C cancels a reply, Ctrl-D leaves."""
    status = repl(ChatOptions(name, continue_last, conversation_id, model, backend), Console(PROGRAM))
    if sys.stdin.isatty():
        # After a Ctrl-C at the prompt, GNU readline can spin forever in interpreter shutdown (seen
        # with CPython 3.11 here). Every turn is already saved and logged; save the history and leave.
        _leave(status)
    return status


def _leave(status: int) -> None:
    import atexit

    atexit._run_exitfuncs()  # readline history and anything else registered
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _readline() -> None:
    try:
        import readline
    except ImportError:  # not on every platform; input() still works without editing
        return
    path = paths.chat_history()
    try:
        private_dir(path.parent, owned_below=paths.app_dir("state"))
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(1000)
    import atexit

    atexit.register(lambda: _save_history(readline, path))


def _save_history(readline: object, path: Path) -> None:
    with contextlib.suppress(OSError):
        # What you typed to a model is private: the file is 0600 (an older looser one tightened)
        # before readline writes into it, never readable by others even for a moment.
        os.close(open_private(path, os.O_WRONLY))
        readline.write_history_file(path)  # type: ignore[attr-defined]


def repl(options: ChatOptions, console: Console) -> int:
    # conversation brings filelock and the state files (~30 ms): paid by a chat, not by `gpt-tools --help`.
    from gpt_tools.state import conversation

    config = load_config()
    assistant = config.assistant(options.name)
    if assistant.rewrites:
        raise UsageError(f"{assistant.name} rewrites documents; chat with a writing assistant")
    root = conversation.project_for(config.project_root, Path.cwd())
    talk = conversation.resume(
        assistant.name, root, continue_last=options.continue_last, conversation_id=options.conversation_id
    ) or conversation.new(assistant.name, root)
    _readline()
    turns = len(talk.messages) // 2
    console.message(
        f"{assistant.name} · {talk.id}"
        + (f" · continuing after {turns} turns" if turns else "")
        + " · Ctrl-C cancels a reply, Ctrl-D leaves"
    )
    saved = True
    while True:
        try:
            line = input("you> ")
        except EOFError:
            console.result("\n")
            return 0 if saved else 1  # a reply that could not be saved is a failure, said when it happened
        except KeyboardInterrupt:
            console.result("\n")
            continue
        if line.strip():
            saved = _turn(line, talk, options, config, console) and saved


def _turn(line: str, talk: Conversation, options: ChatOptions, config: Config, console: Console) -> bool:
    """One reply, streamed; Ctrl-C while it streams cancels it and returns to the prompt.

    False when a reply arrived but could not be saved (it is shown all the same).
    """
    # The run path (~80 ms): paid by a chat's first turn, not by `gpt-tools --help`.
    from gpt_tools.core import runner

    cancel = threading.Event()
    results: list[Result] = []
    errors: list[BaseException] = []
    streamed: list[str] = []

    def on_delta(delta: str) -> None:
        streamed.append(delta)
        console.result(delta)

    def work() -> None:
        try:
            result = runner.run(
                options.name,
                line,
                model=options.model,
                backend=options.backend,
                on_delta=on_delta,
                cancel=cancel,
                config=config,
                conversation=talk,
                frontend="chat",
                on_wait=console.message,
            )
            results.append(result)
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)
        finally:
            finished.set()

    # Wait on an Event, not Thread.join(): a join interrupted by Ctrl-C can leave is_alive() False
    # while the thread still runs (CPython 3.11), and the prompt would return over a live reply.
    finished = threading.Event()
    worker = threading.Thread(target=work, daemon=True, name="gpt-tools-chat")
    worker.start()
    while not finished.is_set():
        try:
            finished.wait(0.1)
        except KeyboardInterrupt:
            cancel.set()
    if streamed and not "".join(streamed).endswith("\n"):
        console.result("\n")
    return _report(errors[0] if errors else None, results, bool(streamed), console)


def _report(error: BaseException | None, results: list[Result], streamed: bool, console: Console) -> bool:
    """Say how the turn ended; False when its reply could not be saved (shown all the same)."""
    if isinstance(error, TurnNotSaved):
        if not streamed:
            console.result(error.result.text + "\n")  # type: ignore[attr-defined]
        console.error(str(error))
        return False
    if isinstance(error, Cancelled):
        console.message("reply cancelled")
    elif isinstance(error, GptToolsError):
        console.error(str(error))
    elif error is not None:
        raise error
    elif not streamed and results:
        console.result(results[0].text + "\n")
    return True
