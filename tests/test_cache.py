"""cache.py: what the result cache key depends on, and that entries are read and written safely."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from gpt_tools.backends import BackendRequest
from gpt_tools.cache import ResultCache, default_folder

REQUEST = BackendRequest(model="gpt-5-mini", instructions="Fix typos.", text="teh text\n", temperature=0.2)
BACKEND, BASE_URL = "openai", "https://api.openai.com/v1"
KEY = ResultCache.key(REQUEST, BACKEND, BASE_URL)


def test_key_is_a_stable_sha256() -> None:
    assert len(KEY) == 64 and int(KEY, 16) >= 0
    same = BackendRequest(model="gpt-5-mini", instructions="Fix typos.", text="teh text\n", temperature=0.2)
    assert ResultCache.key(same, BACKEND, BASE_URL) == KEY


@pytest.mark.parametrize(
    "change",
    [
        {"instructions": "Fix typos!"},
        {"model": "gpt-5"},
        {"text": "teh text \n"},
        {"temperature": 0.3},
        {"temperature": None},
        {"max_output_tokens": 100},
        {"tools": ("file_search",)},
        {"vector_store_ids": ("vs_1",)},
        {"store": True},
    ],
    ids=lambda change: next(iter(change)),
)
def test_key_changes_with_everything_that_decides_the_reply(change: dict[str, object]) -> None:
    assert ResultCache.key(replace(REQUEST, **change), BACKEND, BASE_URL) != KEY  # type: ignore[arg-type]


def test_key_changes_with_backend_and_endpoint_but_not_stream() -> None:
    assert ResultCache.key(REQUEST, "chat", BASE_URL) != KEY
    assert ResultCache.key(REQUEST, BACKEND, "http://127.0.0.1:8080/v1") != KEY
    assert ResultCache.key(replace(REQUEST, stream=not REQUEST.stream), BACKEND, BASE_URL) == KEY


def test_put_then_get_round_trips(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "results")
    value = {"text": "the text ⟦B1⟧ — ünïcode\r\n"}
    cache.put(KEY, value)
    assert cache.get(KEY) == value
    assert (tmp_path / "results" / KEY[:2] / f"{KEY}.json").is_file()
    cache.put(KEY, {"refused": "no"})  # overwriting an entry is fine
    assert cache.get(KEY) == {"refused": "no"}


def test_missing_entry_is_none(tmp_path: Path) -> None:
    assert ResultCache(tmp_path / "never-created").get(KEY) is None


@pytest.mark.parametrize("content", [b"", b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe\x00garbage"])
def test_damaged_entry_is_none(tmp_path: Path, content: bytes) -> None:
    cache = ResultCache(tmp_path)
    path = tmp_path / KEY[:2] / f"{KEY}.json"
    path.parent.mkdir()
    path.write_bytes(content)
    assert cache.get(KEY) is None


def test_unwritable_cache_does_not_fail(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    cache = ResultCache(blocker)
    cache.put(KEY, {"text": "x"})  # cannot create blocker/<xx>/: silently skipped
    assert cache.get(KEY) is None


def _all_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_put_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    for i in range(5):
        cache.put(KEY, {"text": f"version {i}"})
    assert _all_files(tmp_path) == [f"{KEY[:2]}/{KEY}.json"]
    assert cache.get(KEY) == {"text": "version 4"}


def test_concurrent_puts_from_threads(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    keys = [ResultCache.key(replace(REQUEST, text=f"text {i}\n"), BACKEND, BASE_URL) for i in range(8)]
    start = threading.Barrier(16)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            start.wait(timeout=5)
            for round_ in range(8):
                cache.put(KEY, {"text": f"shared {n} {round_}", "pad": "x" * 2000})
                cache.put(keys[n % len(keys)], {"text": f"own {n % len(keys)}"})
                assert cache.get(KEY) is not None  # readers never see a half-written file
        except BaseException as err:  # reported below: a thread's failure must fail the test
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    final = cache.get(KEY)
    assert final is not None and final["text"].startswith("shared ") and final["pad"] == "x" * 2000
    assert [cache.get(k) for k in keys] == [{"text": f"own {i}"} for i in range(8)]
    names = _all_files(tmp_path)
    assert len(names) == 9 and all(name.endswith(".json") and "tmp" not in name for name in names)


def test_default_folder_is_under_the_user_cache_dir() -> None:
    folder = default_folder()
    assert folder == Path(os.environ["XDG_CACHE_HOME"]) / "gpt-tools" / "results"
    assert ResultCache().folder == folder
