"""Files, vector stores and file batches of the fake OpenAI server, held to the real `openai` SDK."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.fake_openai import FakeOpenAI, Scripted

MODEL = "gpt-5-mini"
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def upload(client: openai.OpenAI, name: str = "notes.md", data: bytes = b"# Notes\n", **kwargs: Any) -> Any:
    return client.files.create(file=(name, data), purpose=kwargs.pop("purpose", "assistants"), **kwargs)


def control(server: FakeOpenAI, path: str, payload: Any = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(server.url.removesuffix("/v1") + path, data)
    with DIRECT.open(request, timeout=5) as resp:
        return json.loads(resp.read())


def assert_404(info: pytest.ExceptionInfo[openai.NotFoundError], message: str) -> None:
    assert info.value.status_code == 404
    assert info.value.body["message"] == message
    assert info.value.body["type"] == "invalid_request_error"


def test_files_create_from_bytes_and_path(server, client, tmp_path: Path):
    data = "Zeile mit Umlaut: ä\r\nand a NUL \x00 byte\n--boundary-like--\n".encode()
    made = upload(client, "bytes.md", data)
    assert made.id.startswith("file-") and made.object == "file"
    assert (made.filename, made.bytes, made.purpose, made.status) == ("bytes.md", len(data), "assistants", "processed")
    assert made.expires_at is None and made.status_details is None
    assert abs(made.created_at - time.time()) < 5
    path = tmp_path / 'odd "name".txt'
    path.write_bytes(b"from disk")
    from_path = client.files.create(file=path, purpose="user_data")
    assert (from_path.filename, from_path.bytes, from_path.purpose) == ('odd "name".txt', 9, "user_data")
    assert server.uploads == 2
    assert server.files[made.id].content == data and server.files[made.id].filename == "bytes.md"
    assert server.files[from_path.id].purpose == "user_data" and server.files[from_path.id].size == 9
    recorded = server.requests[0]
    assert (recorded.method, recorded.path) == ("POST", "/v1/files")
    assert recorded.body == {"purpose": "assistants", "file": {"filename": "bytes.md", "bytes": len(data)}}


def test_files_list_retrieve_content_delete(server, client):
    first, second = upload(client, "a.md", b"A"), upload(client, "b.jsonl", b"{}\n", purpose="batch")
    assert second.expires_at is not None  # batch files expire after 30 days by default
    listed = client.files.list()
    assert [f.id for f in listed.data] == [second.id, first.id]  # newest first
    assert (listed.has_more, listed.first_id, listed.last_id) == (False, second.id, first.id)
    assert [f.id for f in client.files.list(purpose="assistants")] == [first.id]
    assert [f.id for f in client.files.list(order="asc", limit=1)] == [first.id, second.id]  # auto-paginates
    assert client.files.retrieve(first.id).filename == "a.md"
    assert client.files.content(second.id).content == b"{}\n"
    deleted = client.files.delete(first.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (first.id, "file", True)
    assert [f.id for f in client.files.list()] == [second.id]
    assert server.uploads == 2  # deleting does not undo the count of uploads


def test_unknown_file_ids_are_404(server, client):
    for call in (client.files.retrieve, client.files.delete, client.files.content):
        with pytest.raises(openai.NotFoundError) as info:
            call("file-nope")
        assert_404(info, "No such File object: file-nope")
        assert info.value.body["param"] == "id" and info.value.body["code"] is None


def test_forget_file(server, client):
    made = upload(client)
    store = client.vector_stores.create(name="kb", file_ids=[made.id])
    assert server.forget_file(made.id) is True
    assert server.forget_file(made.id) is False
    for call in (client.files.retrieve, client.files.delete, client.files.content):
        with pytest.raises(openai.NotFoundError):
            call(made.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vector_store_id=store.id, file_id=made.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(made.id, vector_store_id=store.id)
    assert server.vector_stores[store.id].file_ids == []
    kept = upload(client)
    client.vector_stores.files.create(vector_store_id=store.id, file_id=kept.id)
    server.forget_file(kept.id, keep_in_stores=True)  # a store still listing a file the service lost
    assert [f.id for f in client.vector_stores.files.list(vector_store_id=store.id)] == [kept.id]


def test_files_create_errors(server, client):
    with pytest.raises(openai.BadRequestError) as info:
        upload(client, purpose="nonsense")
    assert info.value.body["param"] == "purpose"
    with pytest.raises(openai.BadRequestError):
        client.post("/files", body={"purpose": "assistants"}, cast_to=object)  # JSON, not multipart
    assert server.uploads == 0 and server.files == {}


def test_vector_stores_create_retrieve_list_update_delete(server, client):
    made = upload(client, data=b"12345")
    store = client.vector_stores.create(name="kb", file_ids=[made.id], metadata={"project": "x"})
    assert store.id.startswith("vs_") and store.object == "vector_store"
    assert (store.name, store.status, store.usage_bytes, store.metadata) == ("kb", "completed", 5, {"project": "x"})
    counts = store.file_counts
    assert (counts.completed, counts.in_progress, counts.failed, counts.cancelled, counts.total) == (1, 0, 0, 0, 1)
    assert store.expires_after is None and store.expires_at is None and store.last_active_at
    assert server.vector_stores[store.id].file_ids == [made.id]
    assert server.vector_stores[store.id].statuses == {made.id: "completed"}
    other = client.vector_stores.create(expires_after={"anchor": "last_active_at", "days": 2})
    assert other.name == "" and other.file_counts.total == 0
    assert other.expires_at == other.last_active_at + 2 * 86400
    assert client.vector_stores.retrieve(store.id).file_counts.total == 1
    assert [s.id for s in client.vector_stores.list()] == [other.id, store.id]
    assert client.vector_stores.update(store.id, name="renamed").name == "renamed"
    deleted = client.vector_stores.delete(store.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (store.id, "vector_store.deleted", True)
    assert [s.id for s in client.vector_stores.list()] == [other.id]
    assert made.id in server.files  # the file outlives the store


def test_unknown_vector_store_ids_are_404(server, client):
    message = "No vector store found with id 'vs_nope'."
    for call in (client.vector_stores.retrieve, client.vector_stores.delete):
        with pytest.raises(openai.NotFoundError) as info:
            call("vs_nope")
        assert_404(info, message)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.list(vector_store_id="vs_nope")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.file_batches.retrieve("vsfb_nope", vector_store_id="vs_nope")
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.create(file_ids=["file-nope"])
    assert_404(info, "No such File object: file-nope")
    for bad in ({"file_ids": "file-x"}, {"file_ids": [{"id": 1}]}):
        with pytest.raises(openai.BadRequestError):
            client.post("/vector_stores", body=bad, cast_to=object)
    assert server.vector_stores == {}  # nothing half-made


def test_vector_store_files(server, client):
    store = client.vector_stores.create(name="kb")
    first, second = upload(client, "a.md", b"aaa"), upload(client, "b.md", b"bb")
    added = client.vector_stores.files.create(vector_store_id=store.id, file_id=first.id, attributes={"k": "v"})
    assert (added.id, added.object, added.vector_store_id) == (first.id, "vector_store.file", store.id)
    assert (added.status, added.usage_bytes, added.last_error, added.attributes) == ("completed", 3, None, {"k": "v"})
    assert added.chunking_strategy.type == "static"
    assert added.chunking_strategy.static.max_chunk_size_tokens == 800
    polled = client.vector_stores.files.create_and_poll(file_id=second.id, vector_store_id=store.id)
    assert polled.status == "completed"
    listed = client.vector_stores.files.list(vector_store_id=store.id)
    assert [f.id for f in listed.data] == [second.id, first.id] and listed.has_more is False
    assert client.vector_stores.files.retrieve(first.id, vector_store_id=store.id).usage_bytes == 3
    assert client.vector_stores.retrieve(store.id).usage_bytes == 5
    removed = client.vector_stores.files.delete(first.id, vector_store_id=store.id)
    assert (removed.id, removed.object, removed.deleted) == (first.id, "vector_store.file.deleted", True)
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.files.delete(first.id, vector_store_id=store.id)
    assert_404(info, f"No file found with id '{first.id}' in vector store '{store.id}'.")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vector_store_id=store.id, file_id="file-nope")
    assert first.id in server.files  # leaving a store does not delete the file
    client.files.delete(second.id)  # deleting a file takes it out of every store
    assert client.vector_stores.files.list(vector_store_id=store.id).data == []
    assert server.vector_stores[store.id].file_ids == []


def test_file_batch_poll(server, client):
    store = client.vector_stores.create(name="kb")
    ids = [upload(client, f"{n}.md", b"x" * n).id for n in (1, 2, 3)]
    batch = client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=ids)
    assert batch.id.startswith("vsfb_") and batch.object == "vector_store.files_batch"
    assert (batch.status, batch.vector_store_id, batch.file_counts.in_progress) == ("in_progress", store.id, 3)
    assert client.vector_stores.retrieve(store.id).status == "in_progress"
    assert set(server.vector_stores[store.id].statuses.values()) == {"in_progress"}
    raw = client.vector_stores.file_batches.with_raw_response.retrieve(batch.id, vector_store_id=store.id)
    assert raw.headers["openai-poll-after-ms"] == "10"
    assert raw.parse().status == "in_progress"  # indexing_polls=1: the first retrieval is still busy
    started = time.monotonic()
    done = client.vector_stores.file_batches.poll(batch.id, vector_store_id=store.id)
    assert time.monotonic() - started < 0.5  # the 10 ms hint, not the SDK's 1 s default
    assert (done.status, done.file_counts.completed, done.file_counts.total) == ("completed", 3, 3)
    assert server.vector_stores[store.id].statuses == dict.fromkeys(ids, "completed")
    files = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    assert sorted(f.id for f in files) == sorted(ids)
    store_now = client.vector_stores.retrieve(store.id)
    assert (store_now.status, store_now.usage_bytes, store_now.file_counts.completed) == ("completed", 6, 3)


def test_file_batch_create_and_poll_counts_polls(server, client):
    server.indexing_polls = 3
    store = client.vector_stores.create()
    ids = [upload(client).id, upload(client).id]
    done = client.vector_stores.file_batches.create_and_poll(vector_store_id=store.id, file_ids=ids)
    assert done.status == "completed" and done.file_counts.completed == 2
    batch_gets = [r for r in server.requests if r.method == "GET" and "/file_batches/" in r.path]
    assert len(batch_gets) == 4  # three "in_progress" answers, then "completed"
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[ids[0], "file-nope"])
    assert_404(info, "No such File object: file-nope")
    assert len(server.file_batches) == 1


def test_file_batch_upload_and_poll_and_cancel(server, client, tmp_path: Path):
    server.indexing_polls = 0
    store = client.vector_stores.create()
    paths = [tmp_path / "one.md", tmp_path / "two.md"]
    for path in paths:
        path.write_text(path.stem)
    done = client.vector_stores.file_batches.upload_and_poll(vector_store_id=store.id, files=paths)
    assert done.status == "completed" and done.file_counts.completed == 2 and server.uploads == 2
    server.indexing_polls = 5
    batch = client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[upload(client).id])
    cancelled = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert (cancelled.status, cancelled.file_counts.cancelled, cancelled.file_counts.in_progress) == ("cancelled", 1, 0)


def test_state_control_endpoint_and_reset(server, client):
    made = upload(client)
    store = client.vector_stores.create(file_ids=[made.id])
    assert control(server, "/_fake/state") == {"uploads": 1, "files": [made.id], "vector_stores": {store.id: [made.id]}}
    assert control(server, "/_fake/forget_file", {"file_id": made.id}) == {"ok": True, "forgotten": True}
    assert control(server, "/_fake/state")["vector_stores"] == {store.id: []}
    control(server, "/_fake/script", {"indexing_polls": 4})
    assert server.indexing_polls == 4
    control(server, "/_fake/reset", {})
    assert control(server, "/_fake/state") == {"uploads": 0, "files": [], "vector_stores": {}}
    assert server.indexing_polls == 1 and server.uploads == 0 and server.vector_stores == {}


def test_responses_with_file_search_and_input_file(server, client):
    made = upload(client)
    store = client.vector_stores.create(file_ids=[made.id])
    tools: Any = [{"type": "file_search", "vector_store_ids": [store.id]}]
    assert client.responses.create(model=MODEL, input="teh", tools=tools).output_text == "the"
    content: Any = [{"type": "input_file", "file_id": made.id}, {"type": "input_text", "text": "teh"}]
    resp = client.responses.create(model=MODEL, input=[{"role": "user", "content": content}])
    assert resp.output_text == "the"  # the responder sees the text parts
    server.script(Scripted(text="never sent"))
    with pytest.raises(openai.NotFoundError) as info:
        client.responses.create(
            model=MODEL, input="x", tools=[{"type": "file_search", "vector_store_ids": ["vs_nope"]}]
        )
    assert_404(info, "Vector store with id 'vs_nope' not found.")
    with pytest.raises(openai.NotFoundError) as info:
        client.responses.create(
            model=MODEL, input=[{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]
        )
    assert_404(info, "No such File object: f")
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model=MODEL, input="x", tools=[{"type": "file_search", "vector_store_ids": []}])
    assert bad.value.body["param"] == "tools[0].vector_store_ids"
    message: Any = {"role": "user", "content": [{"type": "file", "file": {"file_id": "file-nope"}}]}
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model=MODEL, messages=[message])
    assert client.responses.create(model=MODEL, input="x").output_text == "never sent"  # no reply was used up
