"""Result cache: a chunk already fixed, or known clean, costs no request.

Keyed by everything that decides the reply: the full request (instructions as sent, model, backend,
endpoint, sampling settings) and the chunk's text, and by the guards that accepted it (a stricter
guard starts afresh). One small JSON file per entry under the user's cache dir, written atomically,
so any number of processes can share it without a lock. Entries hold whole documents: files are
0600 in 0700 folders, and a folder left looser by an older version is tightened when next written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gpt_tools.state import paths
from gpt_tools.state.atomicwrite import write_atomic
from gpt_tools.state.private import private_dir, private_file
from gpt_tools.wire.backends import BackendRequest

FORMAT = 1
_HEX = re.compile(r"[0-9a-f]+")
_ENTRY = re.compile(r"[0-9a-f]{64}\.json")


@dataclass(frozen=True, kw_only=True)
class Cleared:
    entries: int
    size: int  # bytes


def _scan(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as found:
            return list(found)
    except (FileNotFoundError, NotADirectoryError):
        return []


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

    def forget(self, key: str) -> bool:
        """Remove one entry (`gpt-tools cache clear FILE`); whether there was one."""
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def clear(self) -> Cleared:
        """Remove every entry (`gpt-tools cache clear`), and the folders they leave empty.

        Only what has an entry's name is removed (`xx/<64 hex>.json`), never through a symlink: a cache
        folder that holds something else keeps it.
        """
        entries = size = 0
        for shard in _scan(self.folder):
            if not (shard.is_dir(follow_symlinks=False) and _HEX.fullmatch(shard.name) and len(shard.name) == 2):
                continue
            for entry in _scan(Path(shard.path)):
                if entry.is_file(follow_symlinks=False) and _ENTRY.fullmatch(entry.name):
                    with contextlib.suppress(FileNotFoundError):  # another process cleared it first
                        size += entry.stat(follow_symlinks=False).st_size
                        os.unlink(entry.path)
                        entries += 1
            with contextlib.suppress(OSError):  # not empty (something else is kept) or already gone
                os.rmdir(shard.path)
        return Cleared(entries=entries, size=size)

    def put(self, key: str, value: dict[str, Any]) -> None:
        path = self._path(key)
        try:
            private_dir(path.parent, owned_below=self._owned)
            # No fsync: a cache entry lost in a crash only costs one request next time.
            write_atomic(path, json.dumps(value, ensure_ascii=False).encode("utf-8"), durable=False, private=True)
            private_file(path)  # an entry an older version left 0644 (the folder is already closed to others)
        except OSError:
            pass  # a cache that cannot be written only costs a request next time
