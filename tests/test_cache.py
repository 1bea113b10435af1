"""cache.py: what the result cache key depends on, and that entries are read and written safely."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import gpt_tools
from gpt_tools.core.session import Session
from gpt_tools.errors import ReplyRejected
from gpt_tools.state import paths
from gpt_tools.state.cache import ResultCache
from gpt_tools.wire.backends import BackendRequest
from tests.fake_openai import FakeOpenAI, Scripted

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
    folder = paths.results_cache()
    assert folder == Path(os.environ["XDG_CACHE_HOME"]) / "gpt-tools" / "results"
    assert ResultCache().folder == folder


def test_key_changes_with_the_guards_that_accept_the_reply() -> None:
    strict = ResultCache.key(REQUEST, BACKEND, BASE_URL, guard="1:strict")
    assert strict != KEY
    assert strict != ResultCache.key(REQUEST, BACKEND, BASE_URL, guard="1:rewords")
    assert strict != ResultCache.key(REQUEST, BACKEND, BASE_URL, guard="2:strict")  # a newer guard starts afresh


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """umask 022, with which a careless writer makes files 0644 and folders 0755."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("usual_umask")
def test_entries_are_private_in_private_folders() -> None:
    cache = ResultCache()
    cache.put(KEY, {"text": "a whole document"})
    entry = cache.folder / KEY[:2] / f"{KEY}.json"
    assert _mode(entry) == 0o600
    assert _mode(entry.parent) == _mode(cache.folder) == _mode(cache.folder.parent) == 0o700


@pytest.mark.usefixtures("usual_umask")
def test_folders_left_open_by_an_older_version_are_tightened() -> None:
    cache = ResultCache()
    (cache.folder / KEY[:2]).mkdir(parents=True)
    entry = cache.folder / KEY[:2] / f"{KEY}.json"
    entry.write_text('{"text": "old"}', encoding="utf-8")
    assert (_mode(entry), _mode(entry.parent)) == (0o644, 0o755)
    cache.put(KEY, {"text": "new"})
    assert _mode(entry) == 0o600
    assert _mode(entry.parent) == _mode(cache.folder) == _mode(cache.folder.parent) == 0o700
    assert _mode(Path(os.environ["XDG_CACHE_HOME"])) == 0o755  # the user's own cache dir keeps its mode


# --- What the rewrite pipeline stores and replays ---------------------------------------------------------

DOCUMENT = "# Guide\n\n" + "".join(f"Step {i}: run teh command number {i} and check its output.\n\n" for i in range(6))
UNRELATED = "".join(f"A note about day {i}: it was sunny, warm and calm all day.\n\n" for i in range(6))


def _entries(folder: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.rglob("*.json"))]


def test_a_refused_reply_is_remembered_as_a_refusal_never_as_a_result(api: FakeOpenAI, tmp_path: Path) -> None:
    session = Session(cache=ResultCache(tmp_path / "cache"))
    api.script(Scripted(text=UNRELATED))
    with pytest.raises(ReplyRejected, match="nothing in common with the input"):
        gpt_tools.run("MarkdownLinter", DOCUMENT, session=session)
    [entry] = _entries(tmp_path / "cache")
    assert set(entry) == {"refused"}
    # The user reverts and runs again: no request, and still refused, never "fixed" from the cache.
    with pytest.raises(ReplyRejected, match="remembered from an earlier run") as again:
        gpt_tools.run("MarkdownLinter", DOCUMENT, session=session)
    assert again.value.remembered and len(api.model_requests()) == 1


def test_a_cached_result_the_guards_now_refuse_is_not_replayed(api: FakeOpenAI, tmp_path: Path) -> None:
    """An entry written by older code (or damaged) that holds a damaging reply is asked again."""
    session = Session(cache=ResultCache(tmp_path / "cache"))
    fixed = gpt_tools.run("MarkdownLinter", DOCUMENT, session=session).text
    assert fixed == DOCUMENT.replace("teh", "the")
    for path in (tmp_path / "cache").rglob("*.json"):  # poison every result: the fix and the "clean" entry
        path.write_text(json.dumps({"text": UNRELATED}), encoding="utf-8")
    again = gpt_tools.run("MarkdownLinter", DOCUMENT, session=session)
    assert (again.text, again.requests) == (fixed, 1)
    converged = gpt_tools.run("MarkdownLinter", fixed, session=session)
    assert (converged.text, converged.requests) == (fixed, 0)  # the fresh result was stored again
