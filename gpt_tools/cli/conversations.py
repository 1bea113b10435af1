"""`gpt-tools conversations list|show|rm|export`: saved conversations as objects.

A conversation is made by `run --continue`, `run --conversation ID`, `chat` and the editor's
`:GptChat`; a plain `run` is not part of one. IDs may be given by a unique prefix, `conv-` included
or not. Listings and `show` escape terminal control characters (a reply can hold any); `export`
writes the text as it is, except to a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gpt_tools.cli.console import Console
from gpt_tools.cli.safe_text import json_text, printable
from gpt_tools.errors import GptToolsError, UsageError

if TYPE_CHECKING:  # the state module brings filelock's users; imported when a command runs
    from gpt_tools.state.conversation import Conversation
    from gpt_tools.state.conversation_list import Summary

PROGRAM = "gpt-tools conversations"
FIRST_WORDS = 48  # characters of the first message shown by `list`
NOT_A_CONVERSATION = (
    "A plain `gpt-tools run` is not part of any conversation: only `run --continue`, "
    "`run --conversation ID`, `chat` and the editor's :GptChat are."
)


@click.group("conversations")
def conversations_group() -> None:
    """Saved conversations: list, show, export or remove them.

    A plain `gpt-tools run` is not part of any conversation: only `run --continue` (`-c`),
    `run --conversation ID`, `chat` and the editor's :GptChat make and continue them. An ID may be
    given by a unique prefix (`conv-` may be left out); `last` is this project's last conversation.
    """


def _turns(talk: Conversation) -> int:
    return sum(1 for message in talk.messages if message.get("role") == "user")


def first_words(text: str, width: int = FIRST_WORDS) -> str:
    """The start of a message on one line: newlines and tabs would break the listing."""
    words = " ".join(text.split())
    return words if len(words) <= width else words[: width - 1].rstrip() + "…"


def _when(stamp: str) -> str:
    """A stored UTC stamp in local time, to the minute; as stored if it is not one."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except (ValueError, OverflowError):  # year 1 or 9999 does not fit in local time
        return stamp or "-"


def _summary(talk: Summary) -> dict[str, Any]:
    return {
        "id": talk.id,
        "assistant": talk.assistant,
        "project": talk.project,
        "turns": talk.turns,
        "created": talk.created,
        "updated": talk.updated,
        "first_words": first_words(talk.first),
    }


@conversations_group.command("list")
@click.option("--here", is_flag=True, help="Only this project's conversations.")
@click.option("--json", "as_json", is_flag=True, help="Print them as a JSON array.")
def list_command(here: bool, as_json: bool) -> int:
    """List saved conversations, last used first.

    One line each: ID, assistant, turns, when it was last used, and its first words.
    """
    return json_failures(as_json, lambda: _list(here, as_json))


def json_failures(as_json: bool, command: Callable[[], int], *, program: str = PROGRAM) -> int:
    """With --json a failure prints the `{"status": "error", ...}` object on stdout too, same exit status."""
    try:
        return command()
    except GptToolsError as exc:
        if not as_json:
            raise
        from gpt_tools.cli.report import fail_json

        return fail_json(Console(program), exc)


def _list(here: bool, as_json: bool) -> int:
    from gpt_tools.state import conversation

    console = Console(PROGRAM)
    found, unreadable = conversation.saved()
    if here:
        project = str(_project())
        found = [talk for talk in found if talk.project == project]
    for name in unreadable:
        console.message(f"{name}: cannot be read; `gpt-tools conversations rm {name}` removes it")
    if as_json:
        console.result(json_text([_summary(talk) for talk in found]))
        return 0
    rows = [(t.id, t.assistant, f"{t.turns} turns", _when(t.updated), first_words(t.first)) for t in found]
    widths = [max((len(printable(row[i])) for row in rows), default=0) for i in range(4)]
    for row in rows:
        cells = [printable(cell).ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        console.line("  ".join([*cells, printable(row[4])]).rstrip())
    if not found:
        console.message("no conversations yet" + (" in this project" if here else "") + ". " + NOT_A_CONVERSATION)
    return 0


def _resolved(given: str) -> str:
    """The ID that given names: an ID, a unique prefix of one, or `last` (this project's last one)."""
    from gpt_tools.state import conversation

    if given != conversation.LAST:
        return conversation.resolve_id(given)
    project = _project()
    talk = conversation.latest(project)
    if talk is None:
        raise UsageError(f"no conversation in {project} yet; `gpt-tools conversations list` shows them all")
    return talk.id


def _project() -> Path:
    from gpt_tools.config.loader import load_config
    from gpt_tools.state import conversation

    return conversation.project_for(load_config().project_root, Path.cwd())


@conversations_group.command("show")
@click.argument("conversation_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the whole record as JSON.")
def show_command(conversation_id: str, as_json: bool) -> int:
    """Show conversation ID and every turn of it."""
    return json_failures(as_json, lambda: _show(conversation_id, as_json))


def _show(conversation_id: str, as_json: bool) -> int:
    from gpt_tools.state import conversation

    talk = conversation.load(_resolved(conversation_id))
    console = Console(PROGRAM)
    if as_json:
        console.result(json_text({**asdict(talk), "turns": _turns(talk)}))
        return 0
    console.line(f"{talk.id} · {talk.assistant} · {_turns(talk)} turns")
    console.line(f"project: {talk.project}")
    console.line(f"started {_when(talk.created)}, last used {_when(talk.updated)}")
    for message in talk.messages:
        who = "you" if message.get("role") == "user" else talk.assistant
        console.line(f"\n{who}>\n{message.get('content', '').rstrip().lstrip(chr(10))}")
    return 0


@conversations_group.command("rm")
@click.argument("conversation_ids", metavar="ID...", nargs=-1, required=True)
def rm_command(conversation_ids: tuple[str, ...]) -> int:
    """Remove conversations (never one with a turn in progress).

    Every ID is found before any is removed, so a mistyped one removes nothing.
    """
    from gpt_tools.state import conversation

    console = Console(PROGRAM)
    found = dict.fromkeys(_resolved(given) for given in conversation_ids)
    for conversation_id in found:
        try:
            talk = conversation.load(conversation_id)
            what = f"{talk.assistant}, {_turns(talk)} turns"
        except UsageError:  # a damaged file is removed all the same: that is how to be rid of it
            what = "unreadable"
        conversation.remove(conversation_id)
        console.message(f"removed {conversation_id} ({what})")
    return 0


def _print_json(data: Any) -> int:
    Console(PROGRAM).result(json_text(data))
    return 0


def markdown(talk: Conversation) -> str:
    """The conversation as a Markdown document: a title, then each message under a heading."""
    parts = [
        f"# {talk.assistant} · {talk.id}\n",
        f"Project `{talk.project}`, started {talk.created}, last used {talk.updated}, {_turns(talk)} turns.\n",
    ]
    for message in talk.messages:
        who = "You" if message.get("role") == "user" else talk.assistant
        # Blank lines around a message are layout; its first line's indent is not (an indented code block).
        parts.append(f"## {who}\n\n{message.get('content', '').strip(chr(10))}\n")
    return "\n".join(parts)


@conversations_group.command("export")
@click.argument("conversation_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="The whole record as JSON instead of Markdown.")
def export_command(conversation_id: str, as_json: bool) -> int:
    """Print conversation ID as Markdown (or JSON) on stdout.

    Redirect it to keep it (`> talk.md`): the text is written as it is, except on a terminal, where
    control characters are escaped.
    """
    from gpt_tools.state import conversation

    if as_json:
        return json_failures(True, lambda: _print_json(asdict(conversation.load(_resolved(conversation_id)))))
    talk = conversation.load(_resolved(conversation_id))
    text = markdown(talk)
    Console(PROGRAM).result(printable(text, keep_newlines=True) if sys.stdout.isatty() else text)
    return 0


def continued(name: str | None, files: tuple[str, ...], conversation_id: str | None) -> tuple[str, tuple[str, ...]]:
    """(assistant, files) for `run --continue`/`--conversation ID`, where NAME may be left out.

    NAME is the assistant if it names one; a NAME that is no assistant but a file (or `-`) is the
    first file, and the assistant is the conversation's own (`gpt-tools run -c notes.md`).
    """
    from gpt_tools.config.loader import load_config

    if name is not None:
        config = load_config()
        if name in config.assistants or not (name == "-" or Path(name).exists()):
            return name, files  # an assistant, or neither one nor a file: the run says which it knows
        files = (name, *files)
    return continued_assistant(conversation_id), files


def continued_assistant(conversation_id: str | None) -> str:
    """The assistant of the conversation `--continue`/`--conversation ID` names when no NAME is given."""
    from gpt_tools.config.loader import load_config
    from gpt_tools.errors import UnknownAssistant
    from gpt_tools.state import conversation

    if conversation_id and conversation_id != conversation.LAST:
        talk = conversation.find(conversation_id)
    else:
        project = _project()
        found = conversation.latest(project)
        if found is None:
            raise UsageError(
                f"no conversation in {project} yet; start one with `gpt-tools run NAME --continue` or "
                "`gpt-tools chat NAME` (a plain run is not part of any conversation)"
            )
        talk = found
    try:
        load_config().assistant(talk.assistant)
    except UnknownAssistant:  # the user never typed the name: say where it comes from
        raise UnknownAssistant(
            f"conversation {talk.id} is with {talk.assistant!r}, which this project's config no longer "
            "defines; name an assistant to start a new conversation, or define it again to continue"
        ) from None
    return talk.assistant
