"""The summaries `conversations list` shows, without reading every conversation every time.

A conversation's file holds its whole history: reading thousands of them took seconds. Each file's
summary is kept in `summaries.json` beside them, under the file's (inode, size, mtime) as it was
read; a file whose stat differs (a turn saves a new file: a new inode) is read again. The cache is
only ever a shortcut: damaged, missing or from another version, it is rebuilt from the files.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gpt_tools.errors import UsageError
from gpt_tools.state import paths
from gpt_tools.state.atomicwrite import write_atomic
from gpt_tools.state.conversation_record import last_used

FIRST = 200  # characters of the first message kept: `list` shows fewer
_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class Summary:
    id: str
    assistant: str
    project: str
    turns: int
    created: str
    updated: str
    first: str  # the start of the first message the user sent ("" if none)


def _cache() -> Path:
    return paths.conversations_dir() / "summaries.json"


def _summary(conversation_id: str, load: Callable[[str], Any]) -> Summary:
    talk = load(conversation_id)  # conversation.load: that module owns the record's format
    users = [message["content"] for message in talk.messages if message["role"] == "user"]
    return Summary(
        id=talk.id,
        assistant=talk.assistant,
        project=talk.project,
        turns=len(users),
        created=talk.created,
        updated=talk.updated,
        first=users[0][:FIRST] if users else "",
    )


def _read_cache() -> dict[str, Any]:
    try:
        data = json.loads(_cache().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _VERSION or not isinstance(data.get("files"), dict):
        return {}
    files: dict[str, Any] = data["files"]
    return files


def _cached(entry: Any, key: list[int]) -> Summary | None:
    """The summary an entry holds if it was made from the file as it is now (same stat key)."""
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    fields = entry.get("summary")
    # Checked as the files are (conversation_record.checked): a damaged cache must not crash `list` either.
    if not isinstance(fields, dict) or fields.keys() != _TYPES.keys():
        return None
    if not all(type(fields[name]) is kind for name, kind in _TYPES.items()):
        return None
    return Summary(**fields)


_TYPES = {"turns": int} | dict.fromkeys(("id", "assistant", "project", "created", "updated", "first"), str)


def summaries(
    load: Callable[[str], Any], lock: Callable[[], AbstractContextManager[Any]]
) -> tuple[list[Summary], list[str]]:
    """Every saved conversation's summary, last used first, and the IDs of those that cannot be read.

    `load` reads one record (conversation.load: UsageError when it cannot be read); `lock` is the
    one `forget` is called under (conversation's index lock).
    """
    folder = paths.conversations_dir()
    try:
        entries = [entry for entry in os.scandir(folder) if entry.name.startswith("conv-")]
    except FileNotFoundError:
        return [], []
    except OSError as exc:  # not a folder, no permission: said, never a traceback nor "none yet"
        raise UsageError(f"cannot read {folder}: {exc.strerror or exc}") from None
    cache, fresh, changed = _read_cache(), {}, False
    found: list[Summary] = []
    unreadable: list[str] = []
    for entry in sorted(entries, key=lambda entry: entry.name):
        if not entry.name.endswith(".json"):
            continue
        stem = entry.name[: -len(".json")]
        with contextlib.suppress(OSError):  # removed meanwhile: not listed
            info = entry.stat(follow_symlinks=False)
            key = [info.st_ino, info.st_size, info.st_mtime_ns]
            cached = _cached(cache.get(stem), key)
            if cached is not None:
                fresh[stem] = cache[stem]
            else:
                changed = True
                try:
                    cached = _summary(stem, load)
                except UsageError:  # damaged, or a name load() refuses: read again next time
                    unreadable.append(stem)
                    continue
                fresh[stem] = {"key": key, "summary": asdict(cached)}
            found.append(cached)
    if changed or len(fresh) != len(cache):
        with contextlib.suppress(OSError), lock():  # filelock.Timeout included: the cache can wait
            # Under the lock `conversations rm` forgets under: a summary of a file removed since the
            # folder was read would otherwise be written back, and the removed text kept.
            _write_cache({stem: entry for stem, entry in fresh.items() if (folder / f"{stem}.json").exists()})
    found.sort(key=last_used, reverse=True)
    return found, unreadable


def _write_cache(files: dict[str, Any]) -> None:
    data = json.dumps({"version": _VERSION, "files": files}, ensure_ascii=False).encode("utf-8")
    with contextlib.suppress(OSError):  # a cache that cannot be written costs the next list its speed only
        write_atomic(_cache(), data, durable=False, private=True)


def forget(conversation_id: str) -> None:
    """Drop a removed conversation's summary: the start of its first message must go with it.

    Call it under the lock `summaries` writes under, after the file is gone."""
    files = _read_cache()
    if files.pop(conversation_id, None) is not None:
        _write_cache(files)
