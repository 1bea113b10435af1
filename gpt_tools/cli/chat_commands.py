"""The chat's slash commands: /help, /model, /clear, /save, /edit, /exit.

A line starting with `/` is a command, never sent; `//` sends the line with one `/` less. A message
of many lines is never a command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gpt_tools.cli.console import Console

if TYPE_CHECKING:
    from gpt_tools.state.conversation import Conversation

HELP = """\
Type a message and press Enter to send it. A paste is one message however many lines it has.
A line starting with \"\"\" starts a message of many lines; a line ending with \"\"\" sends it.
  /help           this help
  /model [NAME]   show the model, or use NAME for the next turns
  /clear          start a new conversation (this one stays saved)
  /save [FILE]    write this conversation as Markdown to FILE (default: its ID .md)
  /edit           write the next message in $VISUAL or $EDITOR (else vim, nano or vi);
                  after a failed or cancelled turn it starts from that turn's message
  /exit           leave (so does Ctrl-D)
  //text          send "/text"
Ctrl-C cancels a reply in flight (nothing more is paid for it) or what you were typing."""


@dataclass(kw_only=True)
class ChatState:
    """What the chat holds between turns; the commands change it."""

    assistant: str
    project: Path
    talk: Conversation
    model: str  # the model the next turn uses, as resolved (flag, environment, assistant, config)
    model_given: str | None  # -m or /model: passed to the run; None leaves the assistant's
    saved: bool = True  # every reply so far was saved
    failed: bool = False  # a turn failed (nothing came back): a script's chat stops there
    draft: str | None = None  # the message of a turn that failed or was cancelled: /edit starts from it
    leave: bool = False


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a line asks for: a message to send (None: nothing to send)."""

    send: str | None


def handle(line: str, state: ChatState, console: Console) -> Outcome:
    """A typed line: a message to send, or a command carried out here."""
    if line.startswith("//"):
        return Outcome(send=line[1:])
    if not line.startswith("/") or "\n" in line:
        # A message of many lines (a paste, a block) is text even when it starts with a path: a
        # command is one line. `/model x` + a pasted question would have set the model to both.
        return Outcome(send=line)
    word, _, rest = line[1:].partition(" ")
    rest = rest.strip()
    if word == "help":
        console.message(HELP)
    elif word == "model":
        _model(rest, state, console)
    elif word == "clear":
        _clear(state, console)
    elif word == "save":
        _save(rest, state, console)
    elif word == "edit":
        return Outcome(send=_edit(state, console))
    elif word in ("exit", "quit"):
        state.leave = True
    else:
        console.error(f"unknown command /{word}; /help lists them (start with // to send a line beginning with /)")
    return Outcome(send=None)


def _model(name: str, state: ChatState, console: Console) -> None:
    if name:
        state.model, state.model_given = name, name
        console.message(f"model: {name} from the next turn")
    else:
        console.message(f"model: {state.model}")


def _clear(state: ChatState, console: Console) -> None:
    from gpt_tools.state import conversation

    old = state.talk
    state.talk = conversation.new(state.assistant, state.project)
    kept = f"{old.id} stays saved" if old.messages else f"{old.id} had no turns"
    console.message(f"new conversation {state.talk.id} · {state.assistant} · {state.model} ({kept})")


def _save(name: str, state: ChatState, console: Console) -> None:
    """The conversation as Markdown; never over a file that holds anything but this conversation."""
    from gpt_tools.cli.conversations import markdown
    from gpt_tools.errors import UsageError
    from gpt_tools.state import conversation
    from gpt_tools.state.atomicwrite import WriteRefused, write_atomic

    # With the turns another front end added meanwhile (`run -c`, a second chat, the editor); a
    # conversation removed meanwhile is saved as this chat holds it.
    with contextlib.suppress(UsageError):
        conversation.refresh(state.talk)
    path = Path(name).expanduser() if name else Path(f"{state.talk.id}.md")
    text = markdown(state.talk)
    header = text.partition("\n")[0]
    try:
        if path.exists() and not path.is_file():  # reading a FIFO's first line would wait forever
            console.error(f"{path} exists and is not a regular file; /save another name")
            return
        if path.exists() and _first_line(path) != header:
            console.error(f"{path} exists and holds something else; /save another name")
            return
        # A symlink (a dangling one included) may not lead out of the folder named: in a cloned
        # repository, `/save notes.md` must not write wherever its notes.md points.
        write_atomic(path, text.encode("utf-8"), within=path.absolute().parent)
    except WriteRefused as exc:
        console.error(str(exc))
        return
    except OSError as exc:
        console.error(f"cannot write {path}: {exc.strerror or exc}")
        return
    console.message(f"wrote {path} ({len(state.talk.messages) // 2} turns)")


def _first_line(path: Path) -> str:
    with path.open(encoding="utf-8", errors="replace") as file:
        return file.readline().rstrip("\n")


def _edit(state: ChatState, console: Console) -> str | None:
    """A message written in the user's editor; None if it was left empty or unchanged.

    What was written is never lost: if it cannot be sent (not UTF-8, the editor failed), the file
    is kept and named. It starts from the message of a turn that failed (typed lines are in the
    history; a message written here or pasted is not).
    """
    import click

    fd, name = tempfile.mkstemp(prefix="gpt-tools-message-", suffix=".md")  # 0600: a message is private
    path, start = Path(name), (f"{state.draft}\n" if state.draft else "").encode("utf-8")
    with os.fdopen(fd, "wb") as file:
        file.write(start)
    before = path.stat().st_mtime_ns
    try:
        with _editor_owns_ctrl_c():
            click.edit(filename=name)  # $VISUAL/$EDITOR split by the shell: `code --wait` works
        saved = path.stat().st_mtime_ns != before  # quitting without saving sends nothing, a draft neither
        text = path.read_bytes().decode("utf-8-sig")
    except click.ClickException as exc:  # no editor could be started, or it failed
        console.error(f"{exc.format_message()}; nothing was sent (the editor is $VISUAL or $EDITOR)")
        _kept(path, start, console)
        return None
    except UnicodeDecodeError as exc:
        console.error(f"what was written is not UTF-8 ({exc.reason} at byte {exc.start}); nothing was sent")
        _kept(path, b"", console)
        return None
    except OSError as exc:  # the editor removed or renamed the file
        console.error(f"cannot read what was written: {exc.strerror or exc}; nothing was sent")
        return None
    path.unlink(missing_ok=True)
    if not saved or not text.strip():
        console.message("nothing written; nothing sent")
        return None
    return text.rstrip("\n").replace("\r\n", "\n")


def _kept(path: Path, start: bytes, console: Console) -> None:
    """Keep what the editor left in path, unless it is what it started with; say where it is."""
    try:
        left = path.read_bytes()
    except OSError:
        return
    if left.strip() and left != start:
        console.message(f"what was written is kept in {path}")
    else:
        path.unlink(missing_ok=True)


@contextmanager
def _editor_owns_ctrl_c() -> Iterator[None]:
    """While the editor runs, Ctrl-C is the editor's (as under `git commit`): the chat waits for it.

    A KeyboardInterrupt would return to the prompt with an editor (vim ignores Ctrl-C) still on
    the terminal. A Python handler, not SIG_IGN: the editor starts with Ctrl-C at its default.
    """
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
