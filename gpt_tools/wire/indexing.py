"""Waiting for a vector store to index files: failed files retried once, a deadline, cancel respected.

The server indexes asynchronously (a file batch is `in_progress`, then `completed` with per-file
statuses). A file that ends `failed` is never searchable, so it is attached once more and then
reported with the server's `last_error`; a job that never finishes must not hang an editor filter:
past `index_timeout` it is IndexingUnfinished (the server goes on; a later sync picks it up).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpt_tools.errors import Cancelled, RunFailed
from gpt_tools.wire import transport
from gpt_tools.wire.transport import Endpoint, Payload

ProgressHook = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class Indexing:
    """How long to wait for the server to index files, and how the caller cancels the wait."""

    timeout: float = 300.0
    cancel: threading.Event | None = None
    progress: ProgressHook | None = None


class IndexingUnfinished(RunFailed):
    """The server had not finished indexing by the deadline; it goes on, a later sync picks it up."""


def _wait_for_batch(endpoint: Endpoint, store: str, batch: dict[str, Any], indexing: Indexing) -> dict[str, Any]:
    started = time.monotonic()
    while batch.get("status") == "in_progress":
        waited = time.monotonic() - started
        counts = batch.get("file_counts") or {}
        if indexing.progress is not None:
            done, total = counts.get("completed", 0), counts.get("total", 0)
            indexing.progress(f"indexing knowledge files: {done}/{total} ({waited:.0f} s)")
        if waited >= indexing.timeout:
            raise IndexingUnfinished(
                f"the server is still indexing knowledge files after {indexing.timeout:g} s "
                f"({counts.get('completed', 0)}/{counts.get('total', 0)} done, index_timeout); it goes on "
                "by itself: run `gpt-tools files sync` later to finish"
            )
        pause = min(0.2 if waited < 5 else 1.0, max(0.0, indexing.timeout - waited))
        if indexing.cancel is not None and indexing.cancel.wait(pause):
            raise Cancelled("cancelled while the server indexed knowledge files")
        if indexing.cancel is None:
            time.sleep(pause)
        batch = transport.call(endpoint, "GET", f"/vector_stores/{store}/file_batches/{batch['id']}")
    if batch.get("status") not in ("completed", "failed"):
        raise RunFailed(f"indexing knowledge files ended with status {batch.get('status')}: {batch.get('file_counts')}")
    return batch


def _failed_files(endpoint: Endpoint, store: str, batch: dict[str, Any]) -> dict[str, str]:
    """file ID -> the server's last_error, for the batch's files whose indexing failed."""
    if batch.get("status") == "completed" and not (batch.get("file_counts") or {}).get("failed"):
        return {}
    failed: dict[str, str] = {}
    query = "filter=failed&limit=100"
    while True:
        page = transport.call(endpoint, "GET", f"/vector_stores/{store}/file_batches/{batch['id']}/files?{query}")
        items = page.get("data") or []
        for item in items:
            error = item.get("last_error") or {}
            failed[str(item["id"])] = str(error.get("message") or error.get("code") or "no reason given")
        if not page.get("has_more") or not items:
            return failed
        query = f"filter=failed&limit=100&after={items[-1]['id']}"


def attach_to_store(endpoint: Endpoint, store: str, file_ids: list[str], indexing: Indexing) -> dict[str, str]:
    """Attach files to the store and wait for indexing; a failed file is tried once more.

    Returns the files that failed twice (file ID -> last_error): attached but never searchable.
    """
    path = f"/vector_stores/{store}/file_batches"
    failed: dict[str, str] = {}
    for _attempt in range(2):
        batch = transport.call(endpoint, "POST", path, Payload.json({"file_ids": file_ids}))
        failed = _failed_files(endpoint, store, _wait_for_batch(endpoint, store, batch, indexing))
        if not failed:
            return {}
        file_ids = list(failed)
    return failed
