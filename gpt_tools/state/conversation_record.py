"""A conversation's record: what its file holds, and the check that a file holds one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol


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
        self.updated = now()


def now() -> str:
    # To the microsecond: `conversations list` and `--continue` order turns made within one second.
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class _Dated(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def updated(self) -> str: ...


def last_used(record: _Dated) -> tuple[datetime, str]:
    """Sort key, newest last: when it was last used (files of older versions hold seconds), then its ID."""
    try:
        when = datetime.fromisoformat(record.updated)
    except ValueError:
        when = datetime.min
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when, record.id


_TEXTS = ("id", "assistant", "project", "created", "updated")


def checked(data: Any, conversation_id: str) -> Conversation:
    """The record in a file, every field of the type it is used as; TypeError/ValueError if not.

    A damaged file (valid JSON, wrong shapes) must be `cannot be read`, never a crash of `list`,
    `show` or a turn; and a record naming another ID would be saved into that other file.
    """
    if not isinstance(data, dict):
        raise TypeError("not a JSON object")
    talk = Conversation(**data)
    if any(not isinstance(getattr(talk, name), str) for name in _TEXTS):
        raise TypeError(f"{', '.join(_TEXTS)} must be strings")
    if not (talk.last_response_id is None or isinstance(talk.last_response_id, str)):
        raise TypeError("last_response_id must be a string or null")
    messages = talk.messages
    if not isinstance(messages, list) or not all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in messages
    ):
        raise TypeError("messages must be a list of {role, content} strings")
    if talk.id != conversation_id:
        raise ValueError(f"its file is {conversation_id}.json but it says it is {talk.id!r}")
    return talk
