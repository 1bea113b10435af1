"""`gpt-tools chat [NAME]`: an interactive conversation with streaming replies.

Ctrl-C cancels the reply in flight and stays in the chat (the cancel closes the connection, so no
further tokens are paid for); Ctrl-D leaves. Line editing and history come from readline; the
history file lives in the user's state dir. Messages of many lines (pastes, triple-quote blocks) are read
by chat_input.py, the slash commands are chat_commands.py. With stdin a pipe, no prompt is shown
and stdout carries the replies alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gpt_tools.cli.chat_commands import ChatState, handle
from gpt_tools.cli.chat_input import Lines, read_message
from gpt_tools.cli.completion import assistant_names, model_names
from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.cli.runflags import chat_flags
from gpt_tools.cli.runsettings import RunFlags, applied
from gpt_tools.cli.safe_text import printable
from gpt_tools.config.loader import Config, load_config
from gpt_tools.errors import Cancelled, GptToolsError, InputRefused, TurnNotSaved, UsageError
from gpt_tools.state import paths
from gpt_tools.state.private import open_private, private_dir

if TYPE_CHECKING:  # their modules are imported where a chat needs them (below), not for `gpt-tools --help`
    from gpt_tools.core.records import Result


@dataclass(frozen=True)
class ChatOptions:
    name: str | None
    continue_last: bool
    conversation_id: str | None
    model: str | None
    backend: str | None
    flags: RunFlags = field(default_factory=RunFlags)  # -s, --temperature, --max-output-tokens, -O
    allow_secrets: bool = False  # the secret guard's refusal names this flag, as run's does


@click.command("chat")
@click.argument("name", required=False, shell_complete=assistant_names)
@click.option(
    "-c",
    "--continue",
    "continue_last",
    is_flag=True,
    help="Continue this project's last conversation (with NAME: its last one with NAME).",
)
@click.option(
    "--conversation", "conversation_id", metavar="ID", help="Continue conversation ID (a unique prefix, or `last`)."
)
@click.option("-m", "--model", shell_complete=model_names, help="Model to use instead of the assistant's.")
@click.option("--backend", help="Backend: openai, chat, or an installed plugin's.")
@click.option("--allow-secrets", is_flag=True, help="Send messages even if they look like they hold a secret.")
@chat_flags
def chat_command(
    name: str | None,
    continue_last: bool,
    conversation_id: str | None,
    model: str | None,
    backend: str | None,
    allow_secrets: bool,
    **flag_values: Any,
) -> int:
    """Talk with assistant NAME (without NAME, -c continues the last conversation, with its assistant).

    A paste is one message however many lines it has; a line starting with \"\"\" starts a message
    of many lines that a line ending with \"\"\" sends. /help lists the commands (/model, /clear,
    /save, /edit, /exit). Ctrl-C cancels a reply, Ctrl-D leaves. With stdin a pipe, each line (or
    \"\"\" block) is one turn, stdout carries only the replies, and a failed turn stops the chat
    (exit 1): the lines after it are not sent.
    """
    flags = RunFlags(**flag_values)
    flags.checked()  # a bad -O is a usage error now, not at the first turn
    if name is None and flags.system is not None and not conversation_id:
        from gpt_tools.cli.adhoc import DEFAULT_ASSISTANT

        name = DEFAULT_ASSISTANT  # `gpt-tools chat -s "..."`: the plain Assistant's chat
    if name is None and not (continue_last or conversation_id):
        raise click.UsageError("missing the assistant: give NAME, or -c to continue the last conversation")
    options = ChatOptions(name, continue_last, conversation_id, model, backend, flags, allow_secrets=allow_secrets)
    status = repl(options, Console(PROGRAM))
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
    if "libedit" not in (readline.__doc__ or ""):
        # CPython turns GNU readline's bracketed paste off (bpo-42819, for its own REPL); on, a paste
        # of many lines lands in the line being edited as one message, and Enter sends it.
        readline.parse_and_bind("set enable-bracketed-paste on")
    import atexit

    atexit.register(lambda: _save_history(readline, path))


def _save_history(readline: object, path: Path) -> None:
    with contextlib.suppress(OSError):
        # What you typed to a model is private: the file is 0600 (an older looser one tightened)
        # before readline writes into it, never readable by others even for a moment.
        os.close(open_private(path, os.O_WRONLY))
        readline.write_history_file(path)  # type: ignore[attr-defined]


def repl(options: ChatOptions, console: Console) -> int:
    config = load_config()
    state = _start(options, config)
    lines = Lines.for_stdin()
    if lines.edited:
        _readline()
    turns = len(state.talk.messages) // 2
    console.message(
        f"{state.assistant} · {state.model} · {state.talk.id}"
        + (f" · continuing after {turns} turns" if turns else "")
        + " · /help for commands, Ctrl-C cancels a reply, Ctrl-D leaves"
    )
    while not state.leave:
        try:
            line = read_message(lines)
        except EOFError:
            if lines.terminal:
                console.result("\n")  # the prompt's line ends; piped output stays the replies alone
            break
        except KeyboardInterrupt:
            console.result("\n")
            continue
        except UnicodeDecodeError as exc:  # a pipe's bytes, or a terminal's encoding: never sent mangled
            console.error(f"a message that is not UTF-8 was not sent ({exc.reason} at byte {exc.start})")
            continue
        try:
            message = handle(line, state, console).send if line.strip() else None
            if message is not None and message.strip():
                _turn(message, state, options, config, console)
        except KeyboardInterrupt:  # in /edit, or before the turn's own Ctrl-C handling took over
            console.message("cancelled; nothing was sent")
        if state.failed and not lines.terminal:
            # A script's next lines may build on the reply that failed: they are not sent.
            console.error("stopped at the failed turn; the rest of the input was not sent")
            break
    # A reply that could not be saved is a failure, and so is a failed turn on a pipe (a script's).
    return 0 if state.saved and not (state.failed and not lines.terminal) else 1


def _start(options: ChatOptions, config: Config) -> ChatState:
    """The assistant, model and conversation the chat starts with; refused before anything is read."""
    # conversation brings filelock and the state files (~30 ms): paid by a chat, not by `gpt-tools --help`.
    from gpt_tools.config.resolve import resolve_settings
    from gpt_tools.state import conversation

    name = options.name
    if name is None:
        from gpt_tools.cli.conversations import continued_assistant

        name = continued_assistant(options.conversation_id)
    assistant = config.assistant(name)
    if assistant.rewrites:
        raise UsageError(f"{assistant.name} rewrites documents; chat with a writing assistant")
    settings = resolve_settings(config, assistant, model=options.model, backend=options.backend)
    root = conversation.project_for(config.project_root, Path.cwd())
    talk = conversation.resume(
        assistant.name, root, continue_last=options.continue_last, conversation_id=options.conversation_id
    ) or conversation.new(assistant.name, root)
    return ChatState(assistant=assistant.name, project=root, talk=talk, model=settings.model, model_given=options.model)


def _turn(line: str, state: ChatState, options: ChatOptions, config: Config, console: Console) -> None:
    """One reply, streamed; Ctrl-C from here on cancels it (never the chat) and returns to the prompt.

    Ctrl-C only sets the turn's cancel event while the turn runs: a KeyboardInterrupt raised at any
    point of it (an import, the thread's start) would end the chat over a request in flight.
    """
    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda signum, frame: cancel.set())
    try:
        _run_turn(line, state, options, config, console, cancel)
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_turn(
    line: str, state: ChatState, options: ChatOptions, config: Config, console: Console, cancel: threading.Event
) -> None:
    # The run path (~80 ms): paid by a chat's first turn, not by `gpt-tools --help`.
    from gpt_tools.core import runner

    if cancel.is_set():  # Ctrl-C before anything was sent
        console.message("cancelled; nothing was sent")
        state.draft = line
        return
    results: list[Result] = []
    errors: list[BaseException] = []
    streamed: list[str] = []
    # Only on a terminal's stderr, and stopped (its line erased) before the first word of the reply.
    spinner = console.progress(f"{state.assistant} · {state.model}")

    def on_delta(delta: str) -> None:
        spinner.stop()
        streamed.append(delta)
        console.result(_shown(delta))

    def on_wait(message: str) -> None:
        spinner.stop()
        console.message(message)

    def work() -> None:
        try:
            result = runner.run(
                applied(config.assistant(state.assistant), options.flags),
                line,
                model=state.model_given,
                backend=options.backend,
                allow_secrets=options.allow_secrets,
                on_delta=on_delta,
                on_retry=lambda notice: on_wait(f"{notice.reason}; retrying in {notice.wait:.1f} s"),
                cancel=cancel,
                config=config,
                conversation=state.talk,
                frontend="chat",
                on_wait=on_wait,
            )
            results.append(result)
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)
        finally:
            finished.set()

    finished = threading.Event()
    worker = threading.Thread(target=work, daemon=True, name="gpt-tools-chat")
    with spinner.running():
        worker.start()
        while not finished.wait(0.1):  # Ctrl-C's handler runs here (signals reach the main thread only)
            pass
    if streamed and not "".join(streamed).endswith("\n"):
        console.result("\n")
    _report(errors[0] if errors else None, results, bool(streamed), state, console)
    state.draft = None if results or any(isinstance(error, TurnNotSaved) for error in errors) else line
    if any(isinstance(error, InputRefused) for error in errors):
        _unremember(line)  # a secret the guard refused must not reach the history file (/edit has it)


def _report(
    error: BaseException | None, results: list[Result], streamed: bool, state: ChatState, console: Console
) -> None:
    """Say how the turn ended; a reply that could not be saved is shown all the same (state.saved False)."""
    from gpt_tools.state.conversation import Removed  # loaded already: the chat holds a conversation

    if isinstance(error, TurnNotSaved):
        if not streamed:
            console.result(_shown(error.result.text) + "\n")  # type: ignore[attr-defined]
        console.error(str(error))
        state.saved = False
    elif isinstance(error, Cancelled):
        console.message("reply cancelled")
    elif isinstance(error, Removed):
        console.error(f"conversation {error.conversation_id} was removed; /clear starts a new one")
        state.failed = True
    elif isinstance(error, GptToolsError):
        console.error(str(error))
        state.failed = True
    elif error is not None:
        raise error
    elif not streamed and results:
        console.result(_shown(results[0].text) + "\n")


def _shown(text: str) -> str:
    """A reply as written to stdout: as it is for a program; on a terminal its escapes are shown, as
    `run` shows them (an OSC could retitle the window, a CSI clear the screen)."""
    return printable(text, keep_newlines=True) if sys.stdout.isatty() else text


def _unremember(message: str) -> None:
    """Drop the readline history entries that typed message: the whole of it, or its lines as typed."""
    readline = sys.modules.get("readline")  # loaded only for a terminal chat
    if readline is None:
        return
    typed = {message, *message.split("\n")}
    for _ in range(message.count("\n") + 1):  # its entries are the last ones
        length = readline.get_current_history_length()
        if length == 0 or readline.get_history_item(length) not in typed:
            break
        readline.remove_history_item(length - 1)
