"""Knowledge files: uploaded once per content, kept in a vector store per assistant.

Upload identity is the SHA-256 of the content, never the path: an edited file is uploaded again, an
unchanged or renamed one never is. What was uploaded lives in one small state file at the project
root (`.gpt-tools-state.json`: hashes, names and server IDs, no content, no key), written atomically
under a cross-process lock, so any number of processes can sync at once and each content is
uploaded once. An ID the server no longer knows (404) is dropped and uploaded again. Per-run
attachments are recorded per endpoint (endpoint_label): a file ID is only good on its own server.
Listing, pruning and looking up what was uploaded live in knowledge_files.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gpt_tools.config.definitions import Assistant
from gpt_tools.config.filenames import named_file
from gpt_tools.config.loader import refused
from gpt_tools.core.fileblock import file_block
from gpt_tools.core.guards import estimate_tokens, scannable_text
from gpt_tools.errors import ApiError, ConfigError, RunFailed, UsageError
from gpt_tools.markdown.textio import decode_input
from gpt_tools.state.atomicwrite import write_atomic
from gpt_tools.state.localread import FileRefused, read_regular
from gpt_tools.state.paths import STATE_FILE as STATE_FILE  # re-exported: tests and bench name it here
from gpt_tools.state.paths import state_file, state_lock
from gpt_tools.wire import transport
from gpt_tools.wire.indexing import Indexing, attach_to_store
from gpt_tools.wire.indexing import ProgressHook as ProgressHook  # re-exported: callers type their hooks with it
from gpt_tools.wire.transport import Endpoint, Payload


@dataclass
class State:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha256 -> {id, name, bytes}
    assistants: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {vector_store_id, files}
    # Per-run attachments, by endpoint (endpoint_label) then sha256 -> {id, name, bytes}: a file ID is
    # only good on the server it was uploaded to.
    uploads: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> bytes:
        data: dict[str, Any] = {"version": 1, "files": self.files, "assistants": self.assistants}
        if any(self.uploads.values()):
            data["uploads"] = {label: records for label, records in self.uploads.items() if records}
        return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Knowledge:
    """An assistant's knowledge files, read and hashed (no network)."""

    paths: tuple[Path, ...]
    hashes: tuple[str, ...]
    contents: tuple[bytes, ...]


@dataclass(frozen=True)
class SyncReport:
    vector_store_id: str | None
    file_ids: tuple[str, ...]
    uploaded: int = 0
    attached: int = 0
    detached: int = 0


def state_root(assistant: Assistant) -> Path:
    """Where an assistant's state lives: beside the config that defines it."""
    return Path(assistant.source).parent if assistant.source != "built-in" else Path.cwd()


def read_knowledge(assistant: Assistant) -> Knowledge:
    """Read and hash the files; an untrusted project's must lie inside it (localread), each within a cap."""
    root = state_root(assistant)
    confined = Path(assistant.confined_to) if assistant.confined_to else None
    paths, hashes, contents = [], [], []
    for name in assistant.files:
        path = named_file(root, name)
        try:
            data = read_regular(path, root=confined)
        except FileRefused as exc:
            raise refused(Path(assistant.source), f"assistants.{assistant.name}.files", name, exc, confined) from None
        paths.append(path.resolve())
        hashes.append(hashlib.sha256(data).hexdigest())
        contents.append(data)
    return Knowledge(tuple(paths), tuple(hashes), tuple(contents))


class StateFile:
    """The state file and its lock; use `with state_file.locked() as state:` to change it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = state_file(root)
        self.lock_path = state_lock(root)

    def refuse_links(self) -> None:
        """The state file and its lock are ours and never symlinks: a cloned repository's symlink could
        make a run overwrite another file of the user's, or read another project's file IDs."""
        for path in (self.path, self.lock_path):
            if path.is_symlink():
                raise ConfigError(
                    str(path),
                    None,
                    f"is a symlink (to {os.readlink(path)}); gpt-tools neither reads nor writes "
                    "its state through one: remove it (a new state file is made)",
                )

    def read(self) -> State:
        self.refuse_links()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return State()
        except (OSError, ValueError) as exc:
            raise ConfigError(str(self.path), None, f"unreadable state file ({exc}); delete it to start over") from None
        if not isinstance(data, dict) or data.get("version") != 1:
            raise ConfigError(str(self.path), "version", "unknown state file format")
        files, assistants = dict(data.get("files") or {}), dict(data.get("assistants") or {})
        return State(files, assistants, {label: dict(recs) for label, recs in (data.get("uploads") or {}).items()})

    def write(self, state: State) -> None:
        self.refuse_links()
        write_atomic(self.path, state.to_json(), within=self.root)

    @contextmanager
    def locked(self) -> Iterator[State]:
        from filelock import FileLock

        self.refuse_links()  # before the lock is created, so nothing is made through a symlink
        self.lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with FileLock(str(self.lock_path), timeout=600, mode=0o600):
            state = self.read()
            yield state
            self.write(state)


def upload(endpoint: Endpoint, name: str, content: bytes, purpose: str = "assistants") -> str:
    reply = transport.call(endpoint, "POST", "/files", Payload.multipart({"purpose": purpose}, name, content))
    return str(reply["id"])


def _ensure_uploaded(endpoint: Endpoint, state: State, state_file: StateFile, knowledge: Knowledge) -> int:
    uploaded = 0
    for path, digest, content in zip(knowledge.paths, knowledge.hashes, knowledge.contents, strict=True):
        if digest not in state.files:
            state.files[digest] = {"id": upload(endpoint, path.name, content), "name": path.name, "bytes": len(content)}
            state_file.write(state)  # durable at once: a crash later must not cost a second upload
            uploaded += 1
    return uploaded


def _missing(error: ApiError) -> bool:
    return error.status == 404


def delete_remote(endpoint: Endpoint, path: str) -> None:
    """DELETE something; what the server already lost is as good as deleted."""
    try:
        transport.call(endpoint, "DELETE", path)
    except ApiError as exc:
        if not _missing(exc):
            raise


def _sync_once(
    endpoint: Endpoint, assistant: Assistant, state: State, state_file: StateFile, indexing: Indexing
) -> SyncReport:
    knowledge = read_knowledge(assistant)
    uploaded = _ensure_uploaded(endpoint, state, state_file, knowledge)
    wanted = [state.files[digest]["id"] for digest in dict.fromkeys(knowledge.hashes)]
    if "file_search" not in assistant.tools:  # code_interpreter only needs the uploaded files
        state.assistants[assistant.name] = {"vector_store_id": None, "files": list(dict.fromkeys(knowledge.hashes))}
        return SyncReport(None, tuple(wanted), uploaded)
    entry = state.assistants.get(assistant.name) or {}
    store = entry.get("vector_store_id")
    if store is None:
        name = Payload.json({"name": f"gpt-tools {assistant.name}"})
        store = str(transport.call(endpoint, "POST", "/vector_stores", name)["id"])
        entry = {"vector_store_id": store, "files": []}
    current = {state.files[d]["id"] for d in entry.get("files", []) if d in state.files}
    add = [file_id for file_id in wanted if file_id not in current]
    remove = current - set(wanted)
    for file_id in remove:
        delete_remote(endpoint, f"/vector_stores/{store}/files/{file_id}")
    kept = [d for d in dict.fromkeys(knowledge.hashes) if state.files[d]["id"] in current]
    # Recorded before the wait: the store is reused, and only files known to be indexed count as
    # attached, so a sync after a failure or a deadline attaches the rest again.
    state.assistants[assistant.name] = {"vector_store_id": store, "files": kept}
    state_file.write(state)
    failed = attach_to_store(endpoint, store, add, indexing) if add else {}
    state.assistants[assistant.name]["files"] = [
        d for d in dict.fromkeys(knowledge.hashes) if state.files[d]["id"] not in failed
    ]
    if failed:
        state_file.write(state)
        names = {record["id"]: record["name"] for record in state.files.values()}
        listed = "; ".join(f"{names.get(file_id, file_id)} ({file_id}): {why}" for file_id, why in failed.items())
        raise RunFailed(f"{assistant.name}: the server could not index knowledge files, twice: {listed}")
    return SyncReport(store, tuple(wanted), uploaded, len(add), len(remove))


def _heal(endpoint: Endpoint, state: State, assistant: Assistant, error: ApiError) -> None:
    """Forget what the server no longer knows, found from what the 404 was for (never its wording).

    A file named in the request's path is the lost one; otherwise the server is asked which of the
    assistant's files it still has; if it has them all, the vector store is what it lost.
    """
    segments = set((error.path or "").split("/"))
    named = [digest for digest, record in state.files.items() if record["id"] in segments]
    wanted = dict.fromkeys(read_knowledge(assistant).hashes)
    lost = named or [digest for digest in wanted if digest in state.files and _gone(endpoint, state.files[digest])]
    for digest in lost:
        del state.files[digest]
    if not lost:
        state.assistants.pop(assistant.name, None)


def _gone(endpoint: Endpoint, record: dict[str, Any]) -> bool:
    try:
        transport.call(endpoint, "GET", f"/files/{record['id']}")
    except ApiError as exc:
        if _missing(exc):
            return True
        raise
    return False


def names_a_lost_reference(error: ApiError) -> bool:
    """A model request's 404 about its tools: a vector store or knowledge file the server lost.

    The error's `param` says which part of the request it is about (`tools`, `tools[0]...`), so a
    404 for the model itself (param `model`) or for the endpoint never triggers a knowledge re-sync.
    """
    return _missing(error) and (error.param or "").split("[")[0].split(".")[0] == "tools"


def names_a_lost_input(error: ApiError) -> bool:
    """A model request's 404 that may be about a file its input names (param `input...`, or none).

    Never one about the model (param `model`, code model_not_found) or the tools (knowledge): the caller
    then asks the server which file it lacks (forget_lost_attachments), never reads the message.
    """
    param = (error.param or "input").split("[")[0].split(".")[0]
    return _missing(error) and param == "input" and error.code != "model_not_found"


def sync(
    endpoint: Endpoint,
    assistant: Assistant,
    *,
    verify: bool = False,
    progress: ProgressHook | None = None,
    timeout: float = 300.0,
    cancel: threading.Event | None = None,
) -> SyncReport:
    """Make the server hold exactly assistant's knowledge files; no request when nothing changed.

    Indexing is waited for up to timeout seconds (the index_timeout setting), then IndexingUnfinished.
    """
    indexing = Indexing(timeout=timeout, cancel=cancel, progress=progress)
    if not assistant.files:
        return SyncReport(None, ())
    state_file = StateFile(state_root(assistant))
    with state_file.locked() as state:
        if verify:
            _verify(endpoint, state, assistant)
        for _attempt in range(3):
            try:
                return _sync_once(endpoint, assistant, state, state_file, indexing)
            except ApiError as exc:
                if not _missing(exc):
                    raise
                _heal(endpoint, state, assistant, exc)
        raise RunFailed(f"{assistant.name}: the server keeps losing knowledge files; try again later")


def _verify(endpoint: Endpoint, state: State, assistant: Assistant) -> None:
    """Check the server still has the vector store and its files; forget what it lost."""
    entry = state.assistants.get(assistant.name)
    if entry is None or entry.get("vector_store_id") is None:
        return
    present: set[str] = set()
    query = "limit=100"
    while True:
        try:
            listing = transport.call(endpoint, "GET", f"/vector_stores/{entry['vector_store_id']}/files?{query}")
        except ApiError as exc:
            if _missing(exc):
                state.assistants.pop(assistant.name)
                return
            raise
        page = listing.get("data") or []
        present |= {item["id"] for item in page}
        if not listing.get("has_more") or not page:
            break
        query = f"limit=100&after={page[-1]['id']}"
    for digest in entry.get("files", []):
        record = state.files.get(digest)
        if record and record["id"] not in present:
            del state.files[digest]  # lost (or detached): upload again
    entry["files"] = [d for d in entry.get("files", []) if d in state.files]


def inline(assistant: Assistant, budget_tokens: int) -> str:
    """Knowledge files as reference text for backends without file_search, within a token budget."""
    knowledge = read_knowledge(assistant)
    texts = [
        decode_input(data, source=str(path)) for path, data in zip(knowledge.paths, knowledge.contents, strict=True)
    ]
    sizes = [estimate_tokens(text) for text in texts]
    if sum(sizes) > budget_tokens:
        listed = ", ".join(f"{path.name} ~{size:,}" for path, size in zip(knowledge.paths, sizes, strict=True))
        raise UsageError(
            f"{assistant.name}: knowledge files are about {sum(sizes):,} tokens, over knowledge_tokens "
            f"({budget_tokens:,}): {listed}. Use the openai backend with file_search, or raise the budget."
        )
    blocks = [
        file_block(path.name, text.rstrip())
        for path, text in zip(knowledge.paths, texts, strict=True)
    ]
    return "\n\n# Knowledge files (reference material)\n\n" + "\n\n".join(blocks)


def endpoint_label(endpoint: Endpoint) -> str:
    """Which server a file ID belongs to: host, port and path of the base URL, and the organization and
    project when set. Never the key, nor a hash of it: a rotated key would re-upload everything, and
    another account behind the same URL is noticed by its 404 (forget_lost_attachments)."""
    parts = urlsplit(endpoint.base_url)
    port = f":{parts.port}" if parts.port else ""
    label = f"{(parts.hostname or '').lower()}{port}{parts.path.rstrip('/')}"
    return " ".join([label, *(value for value in (endpoint.organization, endpoint.project) if value)])


def attach(endpoint: Endpoint, root: Path, name: str, data: bytes) -> str:
    """Upload a per-run file once per content and endpoint (IDs kept in the state file; prune removes them)."""
    digest = hashlib.sha256(data).hexdigest()
    state_file = StateFile(root)
    with state_file.locked() as state:
        records = state.uploads.setdefault(endpoint_label(endpoint), {})
        if digest not in records:
            file_id = upload(endpoint, Path(name).name, data, purpose="user_data")
            records[digest] = {"id": file_id, "name": Path(name).name, "bytes": len(data)}
        return str(records[digest]["id"])


def forget_lost_attachments(endpoint: Endpoint, root: Path, file_ids: Iterable[str]) -> bool:
    """Forget the attachments among file_ids the server says it does not have (GET: 404); True if any.

    A model request's 404 does not say reliably which file it missed: the server is asked about each.
    """
    with StateFile(root).locked() as state:
        records = state.uploads.get(endpoint_label(endpoint), {})
        lost = {file_id for file_id in dict.fromkeys(file_ids) if _gone(endpoint, {"id": file_id})}
        for digest in [digest for digest, record in records.items() if record["id"] in lost]:
            del records[digest]
        return bool(lost)


def readable_texts(assistant: Assistant) -> dict[str, str]:
    """Every knowledge file as text the secret guard can read, by path, whatever its encoding.

    A key survives any byte around it: one invalid UTF-8 byte or a NUL must not make a file "binary"
    and let it go out unscanned (guards.scannable_text).
    """
    knowledge = read_knowledge(assistant)
    return {str(path): scannable_text(data) for path, data in zip(knowledge.paths, knowledge.contents, strict=True)}
