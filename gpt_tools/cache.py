"""Result cache: a chunk already fixed, or known clean, costs no request.

Keyed by everything that decides the reply: the full request (instructions as sent, model, backend,
endpoint, sampling settings) and the chunk's text. One small JSON file per entry under the user's
cache dir, written atomically, so any number of processes can share it without a lock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .atomicwrite import write_atomic
from .backends import BackendRequest

FORMAT = 1


def default_folder() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("gpt-tools", appauthor=False)) / "results"


class ResultCache:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or default_folder()

    @staticmethod
    def key(request: BackendRequest, backend: str, base_url: str) -> str:
        fields = asdict(request)
        fields.pop("stream")  # streamed or not, the reply is the same
        blob = json.dumps([FORMAT, backend, base_url, fields], sort_keys=True, ensure_ascii=False)
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
            path.parent.mkdir(parents=True, exist_ok=True)
            # No fsync: a cache entry lost in a crash only costs one request next time.
            write_atomic(path, json.dumps(value, ensure_ascii=False).encode("utf-8"), durable=False)
        except OSError:
            pass  # a cache that cannot be written only costs a request next time
