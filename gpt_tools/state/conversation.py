"""Conversations: turns that build on each other, kept in the user's state dir.

On the `openai` backend a turn continues the previous one with `previous_response_id` (the responses
are stored on OpenAI's side for that: `store = true` for conversation turns only); instructions are
re-sent every turn because the API does not carry them over. The full history is also kept locally,
so the `chat` backend (and a conversation whose stored response has expired) resends it instead.
The last conversation per project and assistant is remembered for `--continue`.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from filelock import BaseFileLock

    from gpt_tools.state.conversation_list import Summary

from gpt_tools.errors import Cancelled, GptToolsError, UsageError
from gpt_tools.state import paths
from gpt_tools.state.atomicwrite import write_atomic
from gpt_tools.state.conversation_record import Conversation as Conversation
from gpt_tools.state.conversation_record import checked, last_used, now
from gpt_tools.state.private import private_dir

LAST = "last"  # `--conversation last`: this project's last conversation with the assistant
_ID = re.compile(r"conv-[A-Za-z0-9_-]{1,100}")  # names a file: nothing that could leave the folder
LOCK_POLL = 0.2  # seconds between checks for a cancel while another turn holds the conversation
project_for = paths.project_root  # the project a conversation belongs to, by the one rule (the editor calls it here)


def _folder() -> Path:
    """The folder, created private (0700 up to the app dir), looser modes of older versions fixed."""
    folder = private_dir(paths.conversations_dir(), owned_below=paths.app_dir("state"))
    if not folder.is_dir():  # a file in its place: an OSError, as every writer here expects
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder))
    return folder


def _path(conversation_id: str) -> Path:
    if not _ID.fullmatch(conversation_id):
        raise UsageError(f"not a conversation ID: {conversation_id!r} (IDs look like conv-1a2b3c4d5e6f, or `last`)")
    return paths.conversations_dir() / f"{conversation_id}.json"


def new(assistant: str, project: Path) -> Conversation:
    stamp = now()
    return Conversation(f"conv-{secrets.token_hex(6)}", assistant, str(project), created=stamp, updated=stamp)


def load(conversation_id: str) -> Conversation:
    try:
        return checked(json.loads(_path(conversation_id).read_text(encoding="utf-8")), conversation_id)
    except FileNotFoundError:
        raise UsageError(f"no conversation {conversation_id!r} (see {paths.conversations_dir()})") from None
    except (OSError, ValueError, TypeError) as exc:
        raise UsageError(f"conversation {conversation_id!r} cannot be read: {exc}") from None


def _write(conversation: Conversation) -> None:
    _folder()
    path = _path(conversation.id)
    data = json.dumps(asdict(conversation), indent=1, ensure_ascii=False).encode("utf-8")
    write_atomic(path, data, private=True)


def save(conversation: Conversation) -> None:
    _write(conversation)
    _remember(conversation)


def refresh(conversation: Conversation) -> None:
    """Catch up with turns another process (a terminal chat, the editor) added since we loaded it.

    Raises Removed when the conversation had turns but its file is gone (`conversations rm`): a chat
    holding it in memory must not bring it back by saving its next turn.
    """
    if not _path(conversation.id).exists():
        if conversation.messages:
            raise Removed(conversation.id)
        return  # not saved yet: nothing newer exists
    try:
        latest = load(conversation.id)
    except UsageError:
        return  # unreadable: this turn's save replaces it
    conversation.messages = latest.messages
    conversation.last_response_id = latest.last_response_id
    conversation.updated = latest.updated


@contextmanager
def turn(
    conversation: Conversation | None,
    *,
    cancel: threading.Event | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the conversation for one whole turn (read its latest state, send, save), across processes.

    A turn chains on the last saved response (previous_response_id). Two turns started together would
    both chain on the same parent, both be saved, and the next turn would follow only one of them: the
    server-side chain forks and the other turn is forgotten. Detecting the fork at save time would mean
    paying for the turn again; waiting costs nothing, and the second turn then chains on the first
    one's reply, as if typed after it. The lock is an OS file lock: a crashed holder releases it.
    None (no conversation) holds nothing.
    """
    if conversation is None:
        yield
        return
    try:
        lock = _hold(conversation, cancel, on_wait)
    except OSError as exc:  # not TimeoutError: _hold waits those out
        raise _unusable(exc) from None
    try:
        refresh(conversation)  # under the lock: the state this turn chains on is the latest one
        yield
    finally:
        lock.release()


def _unusable(exc: OSError) -> GptToolsError:
    """The folder cannot hold conversations (a file in its place, no permission): before anything is sent."""
    return GptToolsError(f"conversations cannot be kept in {paths.conversations_dir()}: {exc.strerror or exc}")


def _hold(
    conversation: Conversation, cancel: threading.Event | None, on_wait: Callable[[str], None] | None
) -> BaseFileLock:
    """The conversation's turn lock, acquired: at once, or after the turn in progress elsewhere."""
    _folder()
    lock = _file_lock(f"{_path(conversation.id)}.lock")
    try:
        lock.acquire(timeout=0)
        return lock
    except TimeoutError:  # filelock.Timeout is one
        if on_wait is not None:
            on_wait(f"conversation {conversation.id} has a turn in progress elsewhere; waiting for it to finish")
    while True:
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled while waiting for the conversation's other turn")
        try:
            lock.acquire(timeout=LOCK_POLL)
            return lock
        except TimeoutError:  # filelock.Timeout is one
            continue


def record_turn(conversation: Conversation, user: str, reply: str, response_id: str | None) -> None:
    """Append a turn and save it; call it inside `turn()`, which holds the conversation.

    OSError (a full disk) leaves the conversation as it was saved, in memory too, and is raised;
    NotRemembered means the turn was saved but `--continue` will not find the conversation.
    """
    messages, previous, updated = list(conversation.messages), conversation.last_response_id, conversation.updated
    conversation.add_turn(user, reply, response_id)
    try:
        _write(conversation)
    except OSError:
        conversation.messages, conversation.last_response_id, conversation.updated = messages, previous, updated
        raise
    try:
        _remember(conversation)
    except OSError as exc:
        raise NotRemembered(exc) from exc


class NotRemembered(Exception):
    """The turn was saved, but the conversation could not be recorded as the project's last one."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.error = error


def _index() -> Path:
    return paths.conversations_dir() / "last.json"


def _key(project: Path | str, assistant: str = "") -> str:
    """The index key of a project's last conversation with assistant ("": with any assistant)."""
    return f"{project}::{assistant}"


def _file_lock(path: str, timeout: float = -1) -> BaseFileLock:
    # Imported here: filelock costs ~20 ms of start-up, and only conversation turns need it.
    from filelock import FileLock

    return FileLock(path, timeout=timeout, mode=0o600)


def _index_lock() -> BaseFileLock:
    return _file_lock(str(_folder() / "last.json.lock"), timeout=30)


def _remember(conversation: Conversation) -> None:
    with _index_lock():
        _update_index(conversation)


def _update_index(conversation: Conversation) -> None:
    """Make conversation the project's last one with its assistant; the caller holds the index lock."""
    try:
        index = json.loads(_index().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        index = {}
    index[_key(conversation.project, conversation.assistant)] = conversation.id
    index[_key(conversation.project)] = conversation.id  # the project's last one, whatever the assistant
    write_atomic(_index(), json.dumps(index, indent=1).encode("utf-8"), private=True)


def _claim_new(assistant: str, project: Path) -> Conversation:
    """A new conversation for --continue, saved at once (empty) as the project's last one.

    Under the index lock, so that two `--continue` turns started together in a project with no
    conversation yet join one conversation (the turn lock then orders them) instead of starting two.
    If it cannot be saved, the conversation is still returned: the turn's own save says what failed.
    """
    talk = new(assistant, project)
    try:
        with _index_lock():
            found = last(assistant, project)
            if found is not None:
                return found
            _write(talk)
            _update_index(talk)
    except OSError:  # filelock.Timeout included
        pass
    return talk


def last(assistant: str, project: Path) -> Conversation | None:
    """The conversation last used with assistant in project, if any (and still on disk)."""
    try:
        index = json.loads(_index().read_text(encoding="utf-8"))
        return load(index[_key(project, assistant)])
    except (OSError, ValueError, KeyError, TypeError, UsageError):
        return None


def resume(
    assistant: str, project: Path, *, continue_last: bool, conversation_id: str | None, claim: bool = True
) -> Conversation | None:
    """The conversation a run should join: an explicit ID, the last one (or a new one), or none.

    A new one for `continue_last` is saved at once (see _claim_new) unless `claim` is False (a dry run).
    """
    if conversation_id == LAST:
        found_last = last(assistant, project)
        if found_last is None:
            raise UsageError(f"no conversation with {assistant} in {project} yet; start one with --continue")
        return found_last
    if conversation_id:
        found = find(conversation_id)
        if found.assistant != assistant:
            raise UsageError(f"conversation {conversation_id} belongs to {found.assistant}, not {assistant}")
        return found
    if continue_last:
        return last(assistant, project) or (_claim_new(assistant, project) if claim else new(assistant, project))
    return None


# --- conversations as objects: `gpt-tools conversations list|show|rm|export`, `--continue` without a name


class Removed(UsageError):
    """The conversation's file was removed while a front end held it: nothing was sent (exit 2)."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id} was removed; start a new one")
        self.conversation_id = conversation_id


class Busy(GptToolsError):
    """A turn of the conversation is in progress in another process; it was left alone (exit 1)."""


def saved() -> tuple[list[Summary], list[str]]:
    """Every saved conversation's summary, last used first, and the IDs of those that cannot be read."""
    from gpt_tools.state import conversation_list  # only listing needs it; every run's start-up imports this module

    return conversation_list.summaries(load, _index_lock)


def find(given: str) -> Conversation:
    """A conversation by its ID or a unique prefix of it (`conv-` may be left out)."""
    return load(resolve_id(given))


def resolve_id(given: str) -> str:
    """The ID of the saved conversation that given is, or is the unique start of; its file may be damaged."""
    wanted = given if given.startswith("conv-") else f"conv-{given}"
    if not _ID.fullmatch(wanted):
        raise UsageError(f"not a conversation ID: {given!r} (IDs look like conv-1a2b3c4d5e6f, or `last`)")
    if _path(wanted).exists():
        return wanted
    folder = paths.conversations_dir()
    ids = sorted(path.stem for path in folder.glob("conv-*.json")) if folder.is_dir() else []
    matches = [known for known in ids if known.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = ", ".join(matches[:5]) + (", …" if len(matches) > 5 else "")
        raise UsageError(f"{given!r} is the start of {len(matches)} conversations ({shown}); give more of the ID")
    close = difflib.get_close_matches(wanted, ids, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise UsageError(f"no conversation {given!r}; {hint}`gpt-tools conversations list` shows them")


def latest(project: Path) -> Conversation | None:
    """The conversation last used in project, with any assistant (`--continue` without a name)."""
    try:
        index = json.loads(_index().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(index, dict):
        return None
    with_any = index.get(_key(project))
    if with_any:
        with contextlib.suppress(UsageError):
            return load(str(with_any))
    # An index written before the any-assistant key, or whose entry was removed: the newest of the rest.
    found: list[Conversation] = []
    for key, conversation_id in index.items():
        if key.rsplit("::", 1)[0] == str(project) and conversation_id != with_any:
            with contextlib.suppress(UsageError):
                found.append(load(str(conversation_id)))
    return max(found, key=last_used, default=None)


def remove(conversation_id: str) -> None:
    """Delete a saved conversation, holding its turn lock: never while a turn of it is in progress.

    Busy if another process holds the lock. The lock file goes too, unlinked while held: a turn that
    was waiting on it then finds the conversation removed (refresh raises Removed) and sends nothing.
    """
    path = _path(conversation_id)
    lock = _file_lock(f"{path}.lock")
    try:
        _folder()
        lock.acquire(timeout=0)
    except TimeoutError:  # filelock.Timeout is one
        raise Busy(f"conversation {conversation_id} has a turn in progress; try again when it is done") from None
    except OSError as exc:
        raise _unusable(exc) from None
    try:
        path.unlink(missing_ok=True)
        with _index_lock():
            _forget(conversation_id)
            from gpt_tools.state import conversation_list  # not at module level: see saved()

            conversation_list.forget(conversation_id)  # the start of its first message goes with it
        Path(f"{path}.lock").unlink(missing_ok=True)
    finally:
        lock.release()


def _forget(conversation_id: str) -> None:
    """Drop every index entry naming conversation_id; the caller holds the index lock."""
    try:
        index = json.loads(_index().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(index, dict):
        return
    kept = {key: value for key, value in index.items() if value != conversation_id}
    if kept != index:
        write_atomic(_index(), json.dumps(kept, indent=1).encode("utf-8"), private=True)
