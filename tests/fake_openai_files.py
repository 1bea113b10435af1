"""Files, vector stores and file batches for the fake OpenAI server.

State and request handlers only; fake_openai.py owns the HTTP plumbing and mixes `FileStore` into
`FakeOpenAI`, so tests read `server.uploads`, `server.files`, `server.vector_stores` directly.
Shapes follow the real SDK's models (types/file_object.py, types/vector_store*.py,
types/vector_stores/*), errors the real service's JSON. Standard library only.

File batches stay "in_progress" for the first `indexing_polls` retrievals, then complete: the
SDK's `poll` helpers then really poll, paced by the `openai-poll-after-ms` header the fake sends.
Files attached one by one (vector store create, vector_stores.files.create) complete at once.
"""

from __future__ import annotations

import collections
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from tests import fake_openai_wire as wire
from tests.fake_openai_wire import FormPart

JSON = dict[str, Any]
Reply = tuple[int, Any, dict[str, str]]  # status, JSON payload (or raw bytes), extra headers
Handler = Callable[..., Reply]

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
STATIC_CHUNKING: JSON = {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}
STATUSES = ("in_progress", "completed", "failed", "cancelled")


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int
    expires_at: int | None = None

    @property
    def size(self) -> int:
        return len(self.content)

    def to_json(self) -> JSON:
        return {
            "id": self.id, "object": "file", "bytes": self.size, "created_at": self.created_at,
            "filename": self.filename, "purpose": self.purpose, "status": "processed",
            # The spec types expires_at as an integer, never null: a file that never expires has none.
            **({"expires_at": self.expires_at} if self.expires_at is not None else {}),
        }  # fmt: skip


@dataclass
class StoreEntry:
    """One file in one vector store."""

    file_id: str
    created_at: int
    usage_bytes: int
    status: str = "completed"
    attributes: JSON | None = None
    chunking_strategy: JSON = field(default_factory=lambda: dict(STATIC_CHUNKING))
    batch_id: str | None = None


@dataclass
class StoredVectorStore:
    id: str
    name: str
    created_at: int
    metadata: JSON = field(default_factory=dict)
    expires_after: JSON | None = None
    entries: dict[str, StoreEntry] = field(default_factory=dict)  # file id -> entry
    last_active_at: int = 0

    @property
    def file_ids(self) -> list[str]:
        return list(self.entries)

    @property
    def statuses(self) -> dict[str, str]:
        return {file_id: entry.status for file_id, entry in self.entries.items()}


@dataclass
class StoredBatch:
    id: str
    vector_store_id: str
    file_ids: list[str]
    created_at: int
    polls_left: int
    status: str = "in_progress"
    final_counts: JSON | None = None


def _counts(statuses: Iterable[str]) -> JSON:
    seen = collections.Counter(statuses)
    return {**{status: seen[status] for status in STATUSES}, "total": sum(seen.values())}


def _error(status: int, message: str, param: str | None = None, code: str | None = None) -> Reply:
    return status, wire.error_body(message, "invalid_request_error", code, param), {}


def _missing(param: str) -> Reply:
    return _error(400, f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def _page(items: list[JSON], query: dict[str, str], default_limit: int) -> Reply:
    return (*wire.cursor_page(items, query, default_limit), {})


def _no_file(file_id: str, param: str = "id") -> Reply:
    return _error(404, f"No such File object: {file_id}", param)


def _no_store(store_id: str) -> Reply:
    return _error(404, f"No vector store found with id '{store_id}'.", "vector_store_id")


def _str_list(value: Any) -> list[str] | None:
    """The strings of a JSON list (None, i.e. absent, gives []); None when it is something else."""
    if value is None:
        return []
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    return list(value) if ok else None


class FileStore:
    """Server-side files and vector stores; thread-safe, mixed into FakeOpenAI."""

    def __init__(self, indexing_polls: int = 1, poll_after_ms: int = 10) -> None:
        self._files_lock = threading.RLock()
        self._initial_indexing_polls = indexing_polls
        self.indexing_polls = indexing_polls  # batch retrievals that still answer "in_progress"
        self.poll_after_ms = poll_after_ms  # the openai-poll-after-ms hint for the SDK's poll helpers
        self.uploads = 0  # successful POST /v1/files
        self.files: dict[str, StoredFile] = {}
        self.vector_stores: dict[str, StoredVectorStore] = {}
        self.file_batches: dict[str, StoredBatch] = {}
        self.index_failures: dict[str, int] = {}  # filename -> how many more times its indexing fails
        self.index_errors: dict[str, JSON] = {}  # file ID -> the last_error of its failed indexing

    def reset_files(self) -> None:
        with self._files_lock:
            self.index_failures.clear()
            self.index_errors.clear()
            self.uploads = 0
            self.files.clear()
            self.vector_stores.clear()
            self.file_batches.clear()
            self.indexing_polls = self._initial_indexing_polls

    def forget_file(self, file_id: str, keep_in_stores: bool = False) -> bool:
        """Simulate the service losing a file: later requests naming it get 404s.

        It also leaves every vector store, unless `keep_in_stores` (a store listing a dead file).
        False when there was no such file.
        """
        with self._files_lock:
            if self.files.pop(file_id, None) is None:
                return False
            if not keep_in_stores:
                for store in self.vector_stores.values():
                    store.entries.pop(file_id, None)
            return True

    def files_state(self) -> JSON:
        with self._files_lock:
            stores = {store.id: store.file_ids for store in self.vector_stores.values()}
            return {"uploads": self.uploads, "files": list(self.files), "vector_stores": stores}

    def files_control(self, method: str, path: str, body: Any) -> tuple[int, Any] | None:
        """/_fake/state and /_fake/forget_file; None for every other path."""
        if method == "GET" and path == "/_fake/state":
            return 200, self.files_state()
        if method == "POST" and path == "/_fake/forget_file":
            file_id = body.get("file_id") if isinstance(body, dict) else None
            if not isinstance(file_id, str):
                return 400, wire.error_body('expected {"file_id": "file-..."}', "invalid_request_error")
            keep = bool(body.get("keep_in_stores", False))
            return 200, {"ok": True, "forgotten": self.forget_file(file_id, keep)}
        return None

    def check_references(self, kind: str, body: JSON) -> tuple[int, JSON] | None:
        """A model request naming an unknown vector store or file gets the real service's 404."""
        with self._files_lock:
            tools = body.get("tools")
            for index, tool in enumerate(tools if isinstance(tools, list) else []):
                if not isinstance(tool, dict) or tool.get("type") != "file_search":
                    continue
                store_ids = tool.get("vector_store_ids")
                if not isinstance(store_ids, list) or not store_ids:
                    return _missing(f"tools[{index}].vector_store_ids")[:2]
                for store_id in store_ids:
                    store = self.vector_stores.get(store_id) if isinstance(store_id, str) else None
                    if store is None:
                        return _error(404, f"Vector store with id '{store_id}' not found.", "tools")[:2]
                    store.last_active_at = int(time.time())
            for file_id in wire.file_ids_in(kind, body):
                if file_id not in self.files:
                    return _no_file(file_id, "input" if kind == "responses" else "messages")[:2]
        return None

    def files_request(
        self, method: str, path: str, query: str, body: Any, form: dict[str, FormPart] | None
    ) -> Reply | None:
        """Answer a /v1/files or /v1/vector_stores request; None when the path is not one of these."""
        for route_method, pattern, handler in _ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                args = dict(parse_qsl(query)), body if isinstance(body, dict) else {}, form
                try:
                    with self._files_lock:
                        return handler(self, *args, *match.groups())
                except (TypeError, ValueError, KeyError, AttributeError) as err:  # odd JSON: 400, not a hang-up
                    return _error(400, f"Invalid request body: {err!r}")
        return None

    # --- Files ---------------------------------------------------------------------------

    def _create_file(self, query: JSON, body: JSON, form: dict[str, FormPart] | None) -> Reply:
        if form is None:
            msg = "Invalid Content-Type header, expected multipart/form-data. (HINT: If you're using curl, you "
            return _error(400, msg + "can pass -H 'Content-Type: multipart/form-data')")
        purpose = form["purpose"].data.decode() if "purpose" in form else None
        upload = form.get("file")
        if purpose is None:
            return _missing("purpose")
        if purpose not in PURPOSES:
            return _error(400, f"'{purpose}' is not one of {list(PURPOSES)} - 'purpose'", "purpose")
        if upload is None or upload.filename is None:
            return _missing("file")
        now = int(time.time())
        expires = form.get("expires_after[seconds]")
        expires_at = (
            now + int(expires.data)
            if expires and expires.data.isdigit()
            else (now + 30 * 86400 if purpose == "batch" else None)
        )
        stored = StoredFile("file-" + uuid.uuid4().hex[:22], upload.filename, purpose, upload.data, now, expires_at)
        self.files[stored.id] = stored
        self.uploads += 1
        return 200, stored.to_json(), {}

    def _list_files(self, query: JSON, body: JSON, form: Any) -> Reply:
        purpose = query.get("purpose")
        items = [f.to_json() for f in self.files.values() if purpose is None or f.purpose == purpose]
        return _page(items, query, 10000)

    def _get_file(self, query: JSON, body: JSON, form: Any, file_id: str) -> Reply:
        stored = self.files.get(file_id)
        return (200, stored.to_json(), {}) if stored else _no_file(file_id)

    def _delete_file(self, query: JSON, body: JSON, form: Any, file_id: str) -> Reply:
        if not self.forget_file(file_id):
            return _no_file(file_id)
        return 200, {"id": file_id, "object": "file", "deleted": True}, {}

    def _file_content(self, query: JSON, body: JSON, form: Any, file_id: str) -> Reply:
        stored = self.files.get(file_id)
        return (200, stored.content, {}) if stored else _no_file(file_id)

    # --- Vector stores -------------------------------------------------------------------

    def _store_json(self, store: StoredVectorStore) -> JSON:
        counts = _counts(store.statuses.values())
        usage = sum(e.usage_bytes for e in store.entries.values() if e.status == "completed")
        days = (store.expires_after or {}).get("days")
        return {
            "id": store.id, "object": "vector_store", "created_at": store.created_at, "name": store.name,
            "usage_bytes": usage, "file_counts": counts,
            "status": "in_progress" if counts["in_progress"] else "completed",
            "last_active_at": store.last_active_at, "metadata": store.metadata,
            **({"expires_after": store.expires_after} if store.expires_after else {}),  # an object, never null
            "expires_at": store.last_active_at + int(days) * 86400 if isinstance(days, int) else None,
        }  # fmt: skip

    def _entry_json(self, store_id: str, entry: StoreEntry) -> JSON:
        return {
            "id": entry.file_id, "object": "vector_store.file", "created_at": entry.created_at,
            "vector_store_id": store_id, "status": entry.status,
            "usage_bytes": entry.usage_bytes if entry.status == "completed" else 0,
            "last_error": self.index_errors.get(entry.file_id) if entry.status == "failed" else None,
            "chunking_strategy": entry.chunking_strategy, "attributes": entry.attributes,
        }  # fmt: skip

    def _entry(self, file_id: str, body: JSON, status: str = "completed", batch_id: str | None = None) -> StoreEntry:
        chunking = body.get("chunking_strategy")
        chunking = chunking if isinstance(chunking, dict) and chunking.get("type") == "static" else STATIC_CHUNKING
        attributes = body.get("attributes") if isinstance(body.get("attributes"), dict) else None
        size = self.files[file_id].size
        return StoreEntry(file_id, int(time.time()), size, status, attributes, dict(chunking), batch_id)

    def _create_store(self, query: JSON, body: JSON, form: Any) -> Reply:
        file_ids = _str_list(body.get("file_ids"))
        if file_ids is None:
            return _error(400, "Invalid 'file_ids': expected an array of strings.", "file_ids")
        unknown = [f for f in file_ids if f not in self.files]
        if unknown:
            return _no_file(unknown[0], "file_ids")
        now = int(time.time())
        metadata: JSON = body["metadata"] if isinstance(body.get("metadata"), dict) else {}
        store = StoredVectorStore("vs_" + uuid.uuid4().hex, str(body.get("name") or ""), now, metadata)
        store.expires_after, store.last_active_at = body.get("expires_after"), now
        store.entries = {f: self._entry(f, body) for f in file_ids}
        self.vector_stores[store.id] = store
        return 200, self._store_json(store), {}

    def _list_stores(self, query: JSON, body: JSON, form: Any) -> Reply:
        return _page([self._store_json(s) for s in self.vector_stores.values()], query, 20)

    def _get_store(self, query: JSON, body: JSON, form: Any, store_id: str) -> Reply:
        store = self.vector_stores.get(store_id)
        return (200, self._store_json(store), {}) if store else _no_store(store_id)

    def _update_store(self, query: JSON, body: JSON, form: Any, store_id: str) -> Reply:
        store = self.vector_stores.get(store_id)
        if store is None:
            return _no_store(store_id)
        store.name = str(body.get("name", store.name) or "")
        store.metadata = body.get("metadata", store.metadata) or {}
        store.expires_after = body.get("expires_after", store.expires_after)
        return 200, self._store_json(store), {}

    def _delete_store(self, query: JSON, body: JSON, form: Any, store_id: str) -> Reply:
        if self.vector_stores.pop(store_id, None) is None:
            return _no_store(store_id)
        for batch_id in [b.id for b in self.file_batches.values() if b.vector_store_id == store_id]:
            del self.file_batches[batch_id]
        return 200, {"id": store_id, "object": "vector_store.deleted", "deleted": True}, {}

    # --- Vector store files --------------------------------------------------------------

    def _poll_hint(self) -> dict[str, str]:
        return {"openai-poll-after-ms": str(self.poll_after_ms)}

    def _add_store_file(self, query: JSON, body: JSON, form: Any, store_id: str) -> Reply:
        store = self.vector_stores.get(store_id)
        file_id = body.get("file_id")
        if store is None:
            return _no_store(store_id)
        if not isinstance(file_id, str):
            return _missing("file_id")
        if file_id not in self.files:
            return _no_file(file_id, "file_id")
        entry = store.entries[file_id] = self._entry(file_id, body)
        return 200, self._entry_json(store_id, entry), self._poll_hint()

    def _list_store_files(self, query: JSON, body: JSON, form: Any, store_id: str, batch_id: str = "") -> Reply:
        store = self.vector_stores.get(store_id)
        if store is None:
            return _no_store(store_id)
        wanted = query.get("filter")
        entries = [e for e in store.entries.values() if wanted in (None, e.status)]
        entries = [e for e in entries if not batch_id or e.batch_id == batch_id]
        return _page([self._entry_json(store_id, e) for e in entries], query, 20)

    def _store_file(self, store_id: str, file_id: str) -> StoreEntry | Reply:
        store = self.vector_stores.get(store_id)
        if store is None:
            return _no_store(store_id)
        entry = store.entries.get(file_id)
        return entry or _error(404, f"No file found with id '{file_id}' in vector store '{store_id}'.", "file_id")

    def _get_store_file(self, query: JSON, body: JSON, form: Any, store_id: str, file_id: str) -> Reply:
        entry = self._store_file(store_id, file_id)
        return entry if isinstance(entry, tuple) else (200, self._entry_json(store_id, entry), self._poll_hint())

    def _remove_store_file(self, query: JSON, body: JSON, form: Any, store_id: str, file_id: str) -> Reply:
        entry = self._store_file(store_id, file_id)
        if isinstance(entry, tuple):
            return entry
        del self.vector_stores[store_id].entries[file_id]
        return 200, {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}, {}

    # --- File batches --------------------------------------------------------------------

    def _batch_json(self, batch: StoredBatch) -> JSON:
        counts = batch.final_counts or self._live_counts(batch)
        return {
            "id": batch.id, "object": "vector_store.files_batch", "created_at": batch.created_at,
            "vector_store_id": batch.vector_store_id, "status": batch.status, "file_counts": counts,
        }  # fmt: skip

    def _live_counts(self, batch: StoredBatch) -> JSON:
        entries = self.vector_stores[batch.vector_store_id].entries
        owned = [entries.get(f) for f in batch.file_ids]
        # A file deleted (or re-batched) meanwhile no longer belongs to this batch: count it cancelled.
        return _counts(e.status if e and e.batch_id == batch.id else "cancelled" for e in owned)

    def _finish_batch(self, batch: StoredBatch, status: str) -> None:
        for entry in self.vector_stores[batch.vector_store_id].entries.values():
            if entry.batch_id == batch.id and entry.status == "in_progress":
                entry.status = status
                name = self.files[entry.file_id].filename if entry.file_id in self.files else ""
                if status == "completed" and self.index_failures.get(name, 0) > 0:
                    self.index_failures[name] -= 1
                    entry.status = "failed"
                    self.index_errors[entry.file_id] = {"code": "unsupported_file", "message": f"{name}: cannot parse"}
        batch.status, batch.final_counts = status, self._live_counts(batch)

    def _create_batch(self, query: JSON, body: JSON, form: Any, store_id: str) -> Reply:
        store = self.vector_stores.get(store_id)
        if store is None:
            return _no_store(store_id)
        file_ids, files = _str_list(body.get("file_ids")), body.get("files") or []
        if file_ids is None or not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            return _error(400, "Invalid 'file_ids' or 'files': expected an array.", "file_ids")
        specs = [{**body, **spec} for spec in [{"file_id": f} for f in file_ids] + files]  # batch-wide defaults
        if not specs:
            return _missing("file_ids")
        for spec in specs:
            if not isinstance(spec.get("file_id"), str):
                return _missing("files.file_id")
            if spec["file_id"] not in self.files:
                return _no_file(spec["file_id"], "file_ids")
        now, batch_id = int(time.time()), "vsfb_" + uuid.uuid4().hex
        for spec in specs:
            store.entries[spec["file_id"]] = self._entry(spec["file_id"], spec, "in_progress", batch_id)
        file_ids = list(dict.fromkeys(spec["file_id"] for spec in specs))
        batch = StoredBatch(batch_id, store_id, file_ids, now, max(0, self.indexing_polls))
        self.file_batches[batch.id] = batch
        return 200, self._batch_json(batch), self._poll_hint()

    def _batch(self, store_id: str, batch_id: str) -> StoredBatch | Reply:
        if store_id not in self.vector_stores:
            return _no_store(store_id)
        batch = self.file_batches.get(batch_id)
        if batch is None or batch.vector_store_id != store_id:
            return _error(404, f"No file batch found with id '{batch_id}' in vector store '{store_id}'.", "batch_id")
        return batch

    def _get_batch(self, query: JSON, body: JSON, form: Any, store_id: str, batch_id: str) -> Reply:
        batch = self._batch(store_id, batch_id)
        if isinstance(batch, tuple):
            return batch
        if batch.status == "in_progress":
            if batch.polls_left > 0:
                batch.polls_left -= 1
            else:
                self._finish_batch(batch, "completed")
        return 200, self._batch_json(batch), self._poll_hint()

    def _cancel_batch(self, query: JSON, body: JSON, form: Any, store_id: str, batch_id: str) -> Reply:
        batch = self._batch(store_id, batch_id)
        if isinstance(batch, tuple):
            return batch
        if batch.status == "in_progress":
            self._finish_batch(batch, "cancelled")
        return 200, self._batch_json(batch), self._poll_hint()

    def _list_batch_files(self, query: JSON, body: JSON, form: Any, store_id: str, batch_id: str) -> Reply:
        batch = self._batch(store_id, batch_id)
        return batch if isinstance(batch, tuple) else self._list_store_files(query, body, form, store_id, batch_id)


_ID = "([^/]+)"
_TABLE: list[tuple[str, str, Handler]] = [
    ("POST", "/v1/files", FileStore._create_file),
    ("GET", "/v1/files", FileStore._list_files),
    ("GET", "/v1/files/{}", FileStore._get_file),
    ("DELETE", "/v1/files/{}", FileStore._delete_file),
    ("GET", "/v1/files/{}/content", FileStore._file_content),
    ("POST", "/v1/vector_stores", FileStore._create_store),
    ("GET", "/v1/vector_stores", FileStore._list_stores),
    ("GET", "/v1/vector_stores/{}", FileStore._get_store),
    ("POST", "/v1/vector_stores/{}", FileStore._update_store),
    ("DELETE", "/v1/vector_stores/{}", FileStore._delete_store),
    ("POST", "/v1/vector_stores/{}/files", FileStore._add_store_file),
    ("GET", "/v1/vector_stores/{}/files", FileStore._list_store_files),
    ("GET", "/v1/vector_stores/{}/files/{}", FileStore._get_store_file),
    ("DELETE", "/v1/vector_stores/{}/files/{}", FileStore._remove_store_file),
    ("POST", "/v1/vector_stores/{}/file_batches", FileStore._create_batch),
    ("GET", "/v1/vector_stores/{}/file_batches/{}", FileStore._get_batch),
    ("POST", "/v1/vector_stores/{}/file_batches/{}/cancel", FileStore._cancel_batch),
    ("GET", "/v1/vector_stores/{}/file_batches/{}/files", FileStore._list_batch_files),
]
_ROUTES = [(method, re.compile(pattern.replace("{}", _ID)), handler) for method, pattern, handler in _TABLE]
