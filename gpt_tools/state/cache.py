"""Result cache: a chunk already fixed, or known clean, costs no request.

Keyed by everything that decides the reply: the full request (instructions as sent, model, backend,
endpoint, sampling settings) and the chunk's text, and by the guards that accepted it (a stricter
guard starts afresh). One small JSON file per entry under the user's cache dir, written atomically,
so any number of processes can share it without a lock. Entries hold whole documents: files are
0600 in 0700 folders, and a folder left looser by an older version is tightened when next written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gpt_tools.state import paths
from gpt_tools.state.atomicwrite import write_atomic
from gpt_tools.state.private import private_dir, private_file
from gpt_tools.wire.backends import BackendRequest

FORMAT = 1


class ResultCache:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or paths.results_cache()
        # The folders gpt-tools owns, and may tighten: its cache dir, or a folder the caller chose.
        self._owned = paths.app_dir("cache") if folder is None else self.folder

    @staticmethod
    def key(request: BackendRequest, backend: str, base_url: str, *, guard: str = "") -> str:
        """`guard` names the guards (and their version) that accept a reply for this key."""
        fields = asdict(request)
        fields.pop("stream")  # streamed or not, the reply is the same
        blob = json.dumps([FORMAT, backend, base_url, guard, fields], sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            value = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # missing or damaged: ask again rather than fail
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        path = self._path(key)
        try:
            private_dir(path.parent, owned_below=self._owned)
            # No fsync: a cache entry lost in a crash only costs one request next time.
            write_atomic(path, json.dumps(value, ensure_ascii=False).encode("utf-8"), durable=False, private=True)
            private_file(path)  # an entry an older version left 0644 (the folder is already closed to others)
        except OSError:
            pass  # a cache that cannot be written only costs a request next time
