"""Conversations: turns that build on each other, kept in the user's state dir.

On the `openai` backend a turn continues the previous one with `previous_response_id` (the responses
are stored on OpenAI's side for that: `store = true` for conversation turns only); instructions are
re-sent every turn because the API does not carry them over. The full history is also kept locally,
so the `chat` backend (and a conversation whose stored response has expired) resends it instead.
The last conversation per project and assistant is remembered for `--continue`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .atomicwrite import write_atomic
from .errors import UsageError


@dataclass
class Conversation:
    id: str
    assistant: str
    project: str
    last_response_id: str | None = None
    messages: list[dict[str, str]] = field(default_factory=list)  # {"role": user|assistant, "content": ...}
    created: str = ""
    updated: str = ""

    def add_turn(self, user: str, reply: str, response_id: str | None) -> None:
        self.messages += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
        self.last_response_id = response_id
        self.updated = _now()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def folder() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("gpt-tools", appauthor=False)) / "conversations"


def _path(conversation_id: str) -> Path:
    if not conversation_id.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"not a conversation ID: {conversation_id!r}")
    return folder() / f"{conversation_id}.json"


def new(assistant: str, project: Path) -> Conversation:
    stamp = _now()
    return Conversation(f"conv-{secrets.token_hex(6)}", assistant, str(project), created=stamp, updated=stamp)


def load(conversation_id: str) -> Conversation:
    try:
        data: dict[str, Any] = json.loads(_path(conversation_id).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no conversation {conversation_id!r} (see {folder()})") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"conversation {conversation_id!r} cannot be read: {exc}") from None
    return Conversation(**data)


def _write(conversation: Conversation) -> None:
    path = _path(conversation.id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # histories are private
    data = json.dumps(asdict(conversation), indent=1, ensure_ascii=False).encode("utf-8")
    write_atomic(path, data, private=True)


def save(conversation: Conversation) -> None:
    _write(conversation)
    _remember(conversation)


def refresh(conversation: Conversation) -> None:
    """Catch up with turns another process (a terminal chat, the editor) added since we loaded it."""
    try:
        latest = load(conversation.id)
    except UsageError:
        return  # not saved yet: nothing newer exists
    conversation.messages = latest.messages
    conversation.last_response_id = latest.last_response_id
    conversation.updated = latest.updated


def record_turn(conversation: Conversation, user: str, reply: str, response_id: str | None) -> None:
    """Append a turn to the latest saved state under a lock: two front ends never drop each other's."""
    from filelock import FileLock

    path = _path(conversation.id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=30):
        refresh(conversation)
        conversation.add_turn(user, reply, response_id)
        _write(conversation)
    _remember(conversation)


def _index() -> Path:
    return folder() / "last.json"


def _remember(conversation: Conversation) -> None:
    from filelock import FileLock

    with FileLock(str(_index()) + ".lock", timeout=30):
        try:
            index = json.loads(_index().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            index = {}
        index[f"{conversation.project}::{conversation.assistant}"] = conversation.id
        write_atomic(_index(), json.dumps(index, indent=1).encode("utf-8"))


def last(assistant: str, project: Path) -> Conversation | None:
    """The conversation last used with assistant in project, if any (and still on disk)."""
    try:
        index = json.loads(_index().read_text(encoding="utf-8"))
        return load(index[f"{project}::{assistant}"])
    except (OSError, ValueError, KeyError, UsageError):
        return None


def project_for(config_root: Path | None, cwd: Path) -> Path:
    """The project a conversation belongs to: the config's folder, else the git root, else cwd."""
    if config_root is not None:
        return config_root
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return cwd


def resume(assistant: str, project: Path, *, continue_last: bool, conversation_id: str | None) -> Conversation | None:
    """The conversation a run should join: an explicit ID, the last one (or a new one), or none."""
    if conversation_id:
        found = load(conversation_id)
        if found.assistant != assistant:
            raise UsageError(f"conversation {conversation_id} belongs to {found.assistant}, not {assistant}")
        return found
    if continue_last:
        return last(assistant, project) or new(assistant, project)
    return None
