"""The wire under contract: every request body the backends send, and every reply and event the fake
server sends, held to OpenAI's OpenAPI document (the subset in tests/contract/, see extract.py there)
and to the openai SDK's types (request TypedDicts, response models).

The fake stands in for the real service in every other test, so where it disagrees with the spec the
fake is what gets fixed.
"""

from __future__ import annotations

import functools
import json
import typing
from pathlib import Path
from typing import Any

import jsonschema
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat import completion_create_params as chat_params
from openai.types.responses import Response, ResponseStreamEvent
from openai.types.responses import response_create_params as responses_params
from pydantic import TypeAdapter

from gpt_tools.wire.backends import BackendRequest, chat, responses
from gpt_tools.wire.backends.base import Attachment, JsonSchema
from tests import fake_openai_wire as wire
from tests.fake_openai import FakeOpenAI, Scripted

CONTRACT = json.loads((Path(__file__).parent / "contract" / "openapi-subset.json").read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = CONTRACT["schemas"]
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
PDF = b"%PDF-1.4\n"


@functools.cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": SCHEMAS}}
    return jsonschema.Draft202012Validator(schema)


def spec_errors(name: str, value: Any) -> list[str]:
    """Why `value` is not a valid `name` of the spec (empty when it is)."""
    found = sorted(_validator(name).iter_errors(value), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in found]


def spec_properties(name: str) -> set[str]:
    """Every property a schema names, through allOf (the spec's objects are open: unknown keys pass)."""
    schema = SCHEMAS[name]
    found = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        found |= spec_properties(part["$ref"].rsplit("/", 1)[1]) if "$ref" in part else set(part.get("properties", {}))
    return found


def assert_request(spec_name: str, sdk_type: Any, body: dict[str, Any]) -> None:
    assert spec_errors(spec_name, body) == []
    TypeAdapter(sdk_type).validate_python(body)  # the SDK's request TypedDicts (unknown keys pass there too)
    known = spec_properties(spec_name) & set(typing.get_type_hints(sdk_type))
    assert set(body) <= known, f"keys neither the spec nor the SDK knows: {set(body) - known}"


def _request(stream: bool, **fields: Any) -> BackendRequest:
    return BackendRequest(model="gpt-5-mini", instructions="Fix typos.", text="teh text", stream=stream, **fields)


# The edit protocol's schema as the wire carries it (the engine's own EDITS_SCHEMA is checked below).
_EDIT = {
    "type": "object",
    "properties": {"find": {"type": "string"}, "replace": {"type": "string"}, "reason": {"type": "string"}},
    "required": ["find", "replace", "reason"],
    "additionalProperties": False,
}
EDITS = {
    "type": "object",
    "properties": {"edits": {"type": "array", "items": _EDIT}},
    "required": ["edits"],
    "additionalProperties": False,
}
IMAGE = Attachment(name="a.png", media_type="image/png", file_id="file-img")
PDF_FILE = Attachment(name="b.pdf", media_type="application/octet-stream", file_id="file-pdf")
RESPONSES_REQUESTS = {
    "plain": {},
    "options": {"temperature": 0.2, "max_output_tokens": 300, "store": True},
    "file_search": {"tools": ("file_search",), "vector_store_ids": ("vs_1", "vs_2")},
    "code_interpreter": {"tools": ("code_interpreter",), "container_file_ids": ("file-a", "file-b")},
    "both_tools": {"tools": ("file_search", "code_interpreter"), "vector_store_ids": ("vs_1",)},
    "attachments": {"attachments": (IMAGE, PDF_FILE)},
    "history_fallback": {"history": (("user", "teh one"), ("assistant", "the one"), ("user", "more"))},
    "previous_response_id": {"previous_response_id": "resp_123"},
    "edits": {"json_schema": JsonSchema(name="edits", schema=EDITS), "reasoning_effort": "low", "verbosity": "low"},
    "edits_only": {"json_schema": JsonSchema(name="edits", schema=EDITS)},
    "effort_only": {"reasoning_effort": "minimal"},
}


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("case", sorted(RESPONSES_REQUESTS))
def test_responses_request_bodies_follow_the_spec_and_the_sdk(case: str, stream: bool) -> None:
    body = responses.build_body(_request(stream, **RESPONSES_REQUESTS[case]))
    sdk = (
        responses_params.ResponseCreateParamsStreaming if stream else responses_params.ResponseCreateParamsNonStreaming
    )
    assert_request("CreateResponse", sdk, body)


def test_the_old_history_shape_is_refused_by_both_oracles() -> None:
    """What the history fallback used to send: output_text parts in an input message."""
    body = {"model": "m", "input": [{"role": "assistant", "content": [{"type": "output_text", "text": "a"}]}]}
    assert spec_errors("CreateResponse", body) != []
    with pytest.raises(ValueError):
        TypeAdapter(responses_params.ResponseCreateParamsNonStreaming).validate_python(body)


CHAT_REQUESTS = {
    "plain": {},
    "options": {"temperature": 0.2, "max_output_tokens": 300},
    "history": {"history": (("user", "teh one"), ("assistant", "the one"))},
    "image": {"attachments": (Attachment.inline("a.png", PNG),)},
    "edits": {"json_schema": JsonSchema(name="edits", schema=EDITS), "reasoning_effort": "low", "verbosity": "low"},
}


@pytest.mark.parametrize("limit_key", ["max_completion_tokens", "max_tokens"])
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("case", sorted(CHAT_REQUESTS))
def test_chat_request_bodies_follow_the_spec_and_the_sdk(case: str, stream: bool, limit_key: str) -> None:
    body = chat.build_body(_request(stream, **CHAT_REQUESTS[case]), limit_key=limit_key)
    sdk = chat_params.CompletionCreateParamsStreaming if stream else chat_params.CompletionCreateParamsNonStreaming
    assert_request("CreateChatCompletionRequest", sdk, body)


def test_the_edits_format_goes_where_each_api_reads_it() -> None:
    """Responses: `text.format` (json_schema, named, strict) with `text.verbosity`, `reasoning.effort`;
    Chat: `response_format.json_schema`, `reasoning_effort`, `verbosity`. Unset, none of it is sent."""
    fields = RESPONSES_REQUESTS["edits"]
    wanted = {"type": "json_schema", "name": "edits", "strict": True, "schema": EDITS}
    body = responses.build_body(_request(False, **fields))
    assert body["text"] == {"format": wanted, "verbosity": "low"}
    assert body["reasoning"] == {"effort": "low"}
    body = chat.build_body(_request(False, **fields))
    as_chat = {key: wanted[key] for key in ("name", "strict", "schema")}
    assert body["response_format"] == {"type": "json_schema", "json_schema": as_chat}
    assert (body["reasoning_effort"], body["verbosity"]) == ("low", "low")
    plain = {**responses.build_body(_request(False)), **chat.build_body(_request(False))}
    assert not {"text", "reasoning", "response_format", "reasoning_effort", "verbosity"} & set(plain)
    blank = _request(False, reasoning_effort="", verbosity="")  # "" in config: the model's default
    assert not {"text", "reasoning"} & set(responses.build_body(blank))


def test_json_format_json_object_sends_llama_cpp_pythons_shape_on_chat_only() -> None:
    """json_format = "json_object": the chat backend sends `{"type": "json_object", "schema": ...}` (the only
    constrained shape llama-cpp-python's server takes); the Responses API body does not change."""
    fields = {**RESPONSES_REQUESTS["edits_only"], "json_format": "json_object"}
    body = chat.build_body(_request(False, **fields))
    assert body["response_format"] == {"type": "json_object", "schema": EDITS}
    same = responses.build_body(_request(False, **RESPONSES_REQUESTS["edits_only"]))
    assert responses.build_body(_request(False, **fields)) == same
    assert chat.build_body(_request(False, json_format="json_object")).get("response_format") is None


def _strict_mode_problems(schema: Any, where: str = "$") -> list[str]:
    """What OpenAI's strict mode refuses (HTTP 400): an object that allows extra keys or leaves a key optional."""
    if not isinstance(schema, dict):
        return []
    found = []
    if schema.get("type") == "object":
        if schema.get("additionalProperties") is not False:
            found.append(f"{where}: additionalProperties must be false")
        if set(schema.get("required", [])) != set(schema.get("properties", {})):
            found.append(f"{where}: every property must be required")
    for key, value in schema.get("properties", {}).items():
        found += _strict_mode_problems(value, f"{where}.{key}")
    return found + _strict_mode_problems(schema.get("items"), f"{where}[]")


def test_the_engines_schema_is_the_wire_contract_and_strict_mode_valid() -> None:
    edits = pytest.importorskip("gpt_tools.markdown.edits")
    assert edits.SCHEMA_NAME == "edits"
    assert edits.EDITS_SCHEMA == EDITS
    assert _strict_mode_problems(edits.EDITS_SCHEMA) == []
    assert _strict_mode_problems({"type": "object", "properties": {"a": {}}}) != []  # the check can fail


# --- what the fake sends -------------------------------------------------------------------------

REPLIES = {  # name -> (request fields, fault)
    "plain": ({}, None),
    "incomplete": ({}, "incomplete"),
    "citations": ({}, "annotated"),
    "commentary": ({}, "commentary"),
    "refusal": ({}, "refusal"),
    "file_search": ({"tools": ("file_search",), "vector_store_ids": ("vs_1",)}, None),
}


# Event type -> its schema, from the union's branches (each pins `type` to one value).
EVENT_SCHEMAS = {
    SCHEMAS[name]["properties"]["type"]["enum"][0]: name
    for name in (branch["$ref"].rsplit("/", 1)[1] for branch in SCHEMAS["ResponseStreamEvent"]["anyOf"])
}


def _plan(kind: str, case: str, stream: bool) -> wire.Plan:
    fields, fault = REPLIES[case]
    build = responses.build_body if kind == "responses" else chat.build_body
    body = build(_request(stream, **(fields if kind == "responses" else {})))
    return wire.make_plan(kind, body, "the text. More text.", fault)


@pytest.mark.parametrize("case", sorted(REPLIES))
def test_fake_responses_follow_the_spec_and_parse_with_the_sdk(case: str) -> None:
    plan = _plan("responses", case, stream=False)
    body = wire.response_object(plan, "incomplete" if plan.incomplete else "completed")
    assert spec_errors("Response", body) == []
    parsed = Response.model_validate(body)
    if case == "commentary":  # reasoning first, then the commentary, then the answer
        assert [(item.type, getattr(item, "phase", None)) for item in parsed.output] == [
            ("reasoning", None), ("message", "commentary"), ("message", "final_answer")
        ]  # fmt: skip
    if case == "file_search":
        assert [item.type for item in parsed.output] == ["reasoning", "file_search_call", "message"]


@pytest.mark.parametrize("cut", [False, True])
@pytest.mark.parametrize("case", sorted(REPLIES))
def test_fake_events_follow_the_spec_and_parse_with_the_sdk(case: str, cut: bool) -> None:
    events = wire.response_events(_plan("responses", case, stream=True), cut)
    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    for number, (kind, event) in enumerate(events):
        assert (event["type"], event["sequence_number"]) == (kind, number)
        assert spec_errors(EVENT_SCHEMAS[kind], event) == [], kind  # the event's own schema: clear errors
        assert spec_errors("ResponseStreamEvent", event) == [], kind
        assert adapter.validate_python(event).type == kind


@pytest.mark.parametrize("case", ["plain", "incomplete", "refusal"])
def test_fake_chat_replies_follow_the_spec_and_parse_with_the_sdk(case: str) -> None:
    body = wire.chat_completion(_plan("chat", case, stream=False))
    assert spec_errors("CreateChatCompletionResponse", body) == []
    ChatCompletion.model_validate(body)
    for chunk in wire.chat_chunks(_plan("chat", case, stream=True), cut=False):
        assert spec_errors("CreateChatCompletionStreamResponse", chunk) == []
        ChatCompletionChunk.model_validate(chunk)


@pytest.mark.parametrize("case", ["commentary", "file_search", "citations", "refusal"])
def test_the_sdk_streams_the_fake_to_the_same_final_response(server: FakeOpenAI, client: Any, case: str) -> None:
    fields, fault = REPLIES[case]
    body = responses.build_body(_request(True, **fields))
    if case == "file_search":
        made = client.files.create(file=("n.md", b"# n\n"), purpose="assistants")
        body["tools"][0]["vector_store_ids"] = [client.vector_stores.create(file_ids=[made.id]).id]
    server.script(*(Scripted(text="the text. More text.", fault=fault) for _ in range(2)))
    del body["stream"]
    with client.responses.stream(**body) as stream:
        final = stream.get_final_response()
    plain = client.responses.create(**body)
    assert [item.type for item in final.output] == [item.type for item in plain.output]
    if case != "refusal":
        assert final.output_text == plain.output_text != ""


def _raw(response: Any) -> Any:
    return json.loads(response.http_response.content)


def test_fake_files_vector_stores_and_batches_follow_the_spec(server: FakeOpenAI, client: Any) -> None:
    raw = client.with_raw_response
    server.indexing_polls = 1
    made = _raw(raw.files.create(file=("notes.md", b"# Notes\n"), purpose="assistants"))
    assert spec_errors("OpenAIFile", made) == []
    assert spec_errors("ListFilesResponse", _raw(raw.files.list(limit=1))) == []
    store = _raw(raw.vector_stores.create(name="kb"))
    assert spec_errors("VectorStoreObject", store) == []
    job = _raw(raw.vector_stores.file_batches.create(store["id"], file_ids=[made["id"]]))
    assert spec_errors("VectorStoreFileBatchObject", job) == []
    listed = _raw(raw.vector_stores.files.list(store["id"]))
    assert spec_errors("ListVectorStoreFilesResponse", listed) == []
    for entry in listed["data"]:
        assert spec_errors("VectorStoreFileObject", entry) == []
    assert {entry["status"] for entry in listed["data"]} <= {"in_progress", "completed", "failed", "cancelled"}
    line = {"custom_id": "a", "method": "POST", "url": "/v1/responses", "body": {"model": "m", "input": "teh"}}
    batch_file = client.files.create(file=("b.jsonl", json.dumps(line).encode() + b"\n"), purpose="batch")
    batch = _raw(raw.batches.create(input_file_id=batch_file.id, endpoint="/v1/responses", completion_window="24h"))
    assert spec_errors("Batch", batch) == []
    assert spec_errors("ListBatchesResponse", _raw(raw.batches.list())) == []
    with pytest.raises(openai.NotFoundError) as missing:
        client.files.retrieve("file-nope")
    assert spec_errors("ErrorResponse", missing.value.response.json()) == []


def test_fake_indexing_and_batch_status_sequences_follow_the_spec(server: FakeOpenAI, client: Any) -> None:
    """Every state a poll can see: indexing in progress, then completed or failed; a batch from
    validating to completed; each one a valid object of the spec."""
    raw = client.with_raw_response
    server.indexing_polls, server.index_failures = 2, {"bad.md": 1}
    good = client.files.create(file=("good.md", b"# Good\n"), purpose="assistants")
    bad = client.files.create(file=("bad.md", b"# Bad\n"), purpose="assistants")
    store = client.vector_stores.create(name="kb")
    job = client.vector_stores.file_batches.create(store.id, file_ids=[good.id, bad.id])
    seen: list[str] = []
    for _ in range(4):
        polled = _raw(raw.vector_stores.file_batches.retrieve(job.id, vector_store_id=store.id))
        assert spec_errors("VectorStoreFileBatchObject", polled) == []
        seen.append(polled["status"])
    assert seen[0] == "in_progress" and seen[-1] == "completed"
    entries = _raw(raw.vector_stores.files.list(store.id))["data"]
    assert sorted(entry["status"] for entry in entries) == ["completed", "failed"]
    for entry in entries:
        assert spec_errors("VectorStoreFileObject", entry) == []
    line = {"custom_id": "a", "method": "POST", "url": "/v1/responses", "body": {"model": "m", "input": "teh"}}
    batch_file = client.files.create(file=("b.jsonl", json.dumps(line).encode() + b"\n"), purpose="batch")
    batch = client.batches.create(input_file_id=batch_file.id, endpoint="/v1/responses", completion_window="24h")
    statuses = [batch.status]
    while statuses[-1] not in ("completed", "failed", "expired", "cancelled") and len(statuses) < 10:
        polled = _raw(raw.batches.retrieve(batch.id))
        assert spec_errors("Batch", polled) == []
        statuses.append(polled["status"])
    assert statuses[-1] == "completed"


def test_the_fake_model_list_follows_the_spec_and_list_models_reads_the_sdks_models(
    server: FakeOpenAI, client: Any
) -> None:
    from gpt_tools.wire.models import list_models
    from gpt_tools.wire.transport import Endpoint

    listed = _raw(client.with_raw_response.models.list())
    assert spec_errors("ListModelsResponse", listed) == []  # what `gpt-tools models` is tested against
    sdk_ids = sorted(model.id for model in client.models.list())
    ours = list_models(Endpoint(server.url, "sk-test", max_retries=0))
    assert [model["id"] for model in ours] == sdk_ids != []
    assert all(spec_errors("Model", model) == [] for model in ours)  # kept whole, as the spec shapes them
