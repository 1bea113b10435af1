"""What was uploaded and who uses it: `files list`, `files prune` and `find_file`, over the state file.

What uses a file is its content: the hashes of the current config's knowledge files (users_of), never
the assistant names the state file recorded when it synced, so a renamed assistant keeps its files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gpt_tools.config.definitions import Assistant
from gpt_tools.core.knowledge import State, StateFile, delete_remote, endpoint_label, read_knowledge, state_root
from gpt_tools.state.localread import FileRefused, read_regular
from gpt_tools.wire.transport import Endpoint


def users_of(assistants: Iterable[Assistant], root: Path) -> dict[str, list[str]]:
    """sha256 -> the assistants (of the current config) that sync into root's state file and whose
    knowledge files, as they are now, have that content. What uses a file is its content, never the name
    the state file recorded: a renamed assistant still uses its files. Reads the files (ConfigError if one
    cannot be read: nothing is then called unused)."""
    found: dict[str, list[str]] = {}
    for assistant in assistants:
        if assistant.files and state_root(assistant).resolve() == root.resolve():
            for digest in dict.fromkeys(read_knowledge(assistant).hashes):
                found.setdefault(digest, []).append(assistant.name)
    return found


def usage(state: State, users: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """Every uploaded file with the assistants that use it: by content (users_of), or else as the state
    file last recorded them."""
    if users is None:
        users = {}
        for name, entry in state.assistants.items():
            for digest in entry.get("files", []):
                users.setdefault(digest, []).append(name)
    rows = [
        {"sha256": digest, **record, "assistants": sorted(users.get(digest, []))}
        for digest, record in sorted(state.files.items(), key=lambda item: item[1]["name"])
    ]
    return rows + _attachment_rows(state)


def _attachment_rows(state: State, label: str | None = None) -> list[dict[str, Any]]:
    """Per-run attachments (used by no assistant), of one endpoint or of all."""
    return [
        {"sha256": digest, **record, "endpoint": where, "assistants": []}
        for where, records in sorted(state.uploads.items())
        if label is None or where == label
        for digest, record in sorted(records.items(), key=lambda item: item[1]["name"])
    ]


def prune(
    endpoint: Endpoint,
    state_file: StateFile,
    *,
    dry_run: bool,
    live: set[str] | None = None,
    users: dict[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """Delete server files no assistant uses (by content, when users_of() is given); a file the server
    already lost is simply forgotten. The vector store of an assistant no longer in live goes too.

    Attachments uploaded to another endpoint are left alone: they can only be deleted through it.
    """
    label = endpoint_label(endpoint)
    with state_file.locked() as state:
        gone = [name for name in state.assistants if live is not None and name not in live]
        kept = State(state.files, {n: e for n, e in state.assistants.items() if n not in gone})
        unused = [row for row in usage(kept, users) if not row["assistants"] and "endpoint" not in row]
        attached = _attachment_rows(state, label)
        if dry_run:
            return unused + attached
        for row in attached:
            delete_remote(endpoint, f"/files/{row['id']}")
            del state.uploads[label][row["sha256"]]
        for name in gone:
            store = state.assistants.pop(name).get("vector_store_id")
            if store:
                delete_remote(endpoint, f"/vector_stores/{store}")
        for row in unused:
            delete_remote(endpoint, f"/files/{row['id']}")
            del state.files[row["sha256"]]
        for entry in state.assistants.values():  # a store's record names only files that still exist
            entry["files"] = [digest for digest in entry.get("files", []) if digest in state.files]
    return unused + attached


def lookup(state: State, root: Path, path_or_id: str) -> dict[str, Any] | None:
    """The uploaded file for a local path (by content) or a server file ID (attachments of any endpoint)."""
    rows = usage(state)
    for row in rows:
        if row["id"] == path_or_id:
            return _looked_up(row)
    try:
        data = read_regular(root / path_or_id)  # a FIFO or a device is no uploaded file, and must not hang
    except FileRefused:
        return None
    digest = hashlib.sha256(data).hexdigest()
    return next((_looked_up(row) for row in rows if row["sha256"] == digest), None)


def _looked_up(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "assistants"}
