"""The `openai` backend: OpenAI's Responses API, streamed or not.

Request bodies follow the openai SDK's `ResponseCreateParams` and OpenAI's OpenAPI document
(tests/contract/ holds the schemas the tests validate them against).
"""

from __future__ import annotations

import contextlib
import threading

from gpt_tools.errors import ApiError, RunFailed, UsageError
from gpt_tools.redact import redact
from gpt_tools.wire import transport
from gpt_tools.wire.backends.base import (
    JSON,
    Attachment,
    BackendRequest,
    DeltaHook,
    Reply,
    ReplyStatus,
    dicts,
    error_reply,
    is_json,
    register,
    request_id,
    sse_objects,
    text_of,
    usage_from,
)
from gpt_tools.wire.transport import Endpoint, Response, RetryHook

_TERMINAL = {"response.completed", "response.incomplete", "response.failed", "response.cancelled"}
_STATUSES = {"completed", "incomplete", "failed", "cancelled", "in_progress", "queued"}
# Messages the model sends before its answer (codex and newer gpt-5 models): never part of the result.
COMMENTARY = "commentary"


def _part(attachment: Attachment) -> JSON:
    if attachment.file_id is None:
        raise UsageError(f"{attachment.name}: the openai backend sends attachments as uploaded files")
    if attachment.is_image:  # "detail" is required by the spec and the SDK's ResponseInputImageParam
        return {"type": "input_image", "file_id": attachment.file_id, "detail": "auto"}
    return {"type": "input_file", "file_id": attachment.file_id}


def _content(request: BackendRequest) -> list[JSON]:
    return [*(_part(attachment) for attachment in request.attachments), {"type": "input_text", "text": request.text}]


def _history(request: BackendRequest) -> list[JSON]:
    """Earlier turns as EasyInputMessage items: a string content is valid for every role.

    `output_text` parts are only valid inside output message items (which need the server's id and
    status); our turns are final answers, so they say so (`phase`), as the spec asks for follow-ups.
    """
    return [
        {"role": role, "content": text, **({"phase": "final_answer"} if role == "assistant" else {})}
        for role, text in request.history
    ]


def build_body(request: BackendRequest) -> JSON:
    body: JSON = {
        "model": request.model,
        "instructions": request.instructions,
        "input": [*_history(request), {"role": "user", "content": _content(request)}],
        "stream": request.stream,
        "store": request.store,
    }
    if request.previous_response_id:
        body["previous_response_id"] = request.previous_response_id
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_output_tokens is not None:
        body["max_output_tokens"] = request.max_output_tokens
    tools: list[JSON] = []
    if "file_search" in request.tools:
        tools.append({"type": "file_search", "vector_store_ids": list(request.vector_store_ids)})
    if "code_interpreter" in request.tools:
        container: JSON = {"type": "auto"}
        if request.container_file_ids:
            container["file_ids"] = list(request.container_file_ids)
        tools.append({"type": "code_interpreter", "container": container})
    if tools:
        body["tools"] = tools
    return _reply_options(body, request)


def _reply_options(body: JSON, request: BackendRequest) -> JSON:
    """The reply's format and verbosity go in `text`, the effort in `reasoning` (ResponseTextParam, Reasoning)."""
    text: JSON = {}
    if request.json_schema is not None:
        text["format"] = {"type": "json_schema", **request.json_schema.as_wire()}
    if request.verbosity:
        text["verbosity"] = request.verbosity
    if text:
        body["text"] = text
    if request.reasoning_effort:
        body["reasoning"] = {"effort": request.reasoning_effort}
    return body


def answer_messages(response: JSON) -> list[JSON]:
    """The message items that make up the answer: reasoning, tool calls and commentary are not."""
    return [
        item
        for item in dicts(response.get("output"))
        if item.get("type") == "message" and item.get("phase") != COMMENTARY
    ]


def output_text(response: JSON) -> str:
    """The text of every output_text part of every answer message, in order."""
    return "".join(
        text_of(part.get("text"))
        for item in answer_messages(response)
        for part in dicts(item.get("content"))
        if part.get("type") == "output_text"
    )


def refusal(response: JSON) -> str | None:
    """The model's refusal explanation, when an answer message holds a refusal part."""
    found = [
        text_of(part.get("refusal"))
        for item in answer_messages(response)
        for part in dicts(item.get("content"))
        if part.get("type") == "refusal"
    ]
    return redact(" ".join(found).strip() or "no reason given") if found else None


def reply_from(response: JSON, streamed_text: str | None = None, request: str | None = None) -> Reply:
    """Our reading of a Response object; a body that is not one is an error, never an empty reply."""
    given = response.get("status")
    status: ReplyStatus = given if given in _STATUSES else "unknown"
    if given not in _STATUSES:
        if (error := error_reply(response, request)) is not None:
            raise error
        if response.get("object") != "response":
            raise RunFailed(f"the reply is not a response object (status {redact(repr(given))[:60]})")
        # "unknown": the spec makes `status` optional: without one, nothing says the output is whole
    details = response.get("incomplete_details")
    error = response.get("error")
    reason = text_of(details.get("reason") if isinstance(details, dict) else None) or text_of(
        error.get("message") if isinstance(error, dict) else None
    )
    if status == "unknown":
        reason = reason or "the response has no known status"
    usage = usage_from(
        response.get("usage"),
        input_key="input_tokens",
        output_key="output_tokens",
        details_key="input_tokens_details",
    )
    text = output_text(response) or (streamed_text or "")
    refused = refusal(response)
    if refused is not None and status == "completed":
        status, reason = "refused", refused
    return Reply(
        text, status, redact(reason) or None, usage, text_of(response.get("model")),
        text_of(response.get("id")) or None, request,
    )  # fmt: skip


class _Stream:
    """Reads one Responses event stream: only the answer's deltas reach on_delta."""

    def __init__(self, on_delta: DeltaHook | None, request: str | None) -> None:
        self.on_delta, self.request = on_delta, request
        self.chunks: list[str] = []
        self.commentary: set[object] = set()  # item ids and output indexes of commentary messages

    def event(self, event: JSON) -> Reply | None:
        kind = event.get("type")
        if kind == "response.output_item.added":
            item = event.get("item")
            if isinstance(item, dict) and item.get("type") == "message" and item.get("phase") == COMMENTARY:
                self.commentary.update({("id", item.get("id")), ("index", event.get("output_index"))})
        elif kind == "response.output_text.delta":
            if {("id", event.get("item_id")), ("index", event.get("output_index"))} & self.commentary:
                return None
            delta = text_of(event.get("delta"))
            self.chunks.append(delta)
            if self.on_delta is not None and delta:
                self.on_delta(delta)
        elif kind in _TERMINAL:
            response = event.get("response")
            return reply_from(response if isinstance(response, dict) else {}, "".join(self.chunks), self.request)
        elif kind == "error":
            message = redact(text_of(event.get("message")) or "no message")
            code = text_of(event.get("code")) or None
            raise ApiError(f"the server reported an error: {message}", code=code, request_id=self.request)
        elif kind is None and (error := error_reply(event, self.request)) is not None:
            raise error
        return None


class ResponsesBackend:
    """Speaks POST /responses; a stream that ends without a terminal event is reported as cut."""

    def complete(
        self,
        request: BackendRequest,
        endpoint: Endpoint,
        *,
        on_delta: DeltaHook | None = None,
        on_retry: RetryHook | None = None,
        cancel: threading.Event | None = None,
    ) -> Reply:
        response = transport.post(
            endpoint,
            "/responses",
            build_body(request),
            stream=request.stream,
            on_retry=on_retry,
            cancel=cancel,
        )
        if not request.stream or is_json(response):
            return reply_from(transport.read_json(response), request=request_id(response))
        return self._read_stream(response, on_delta, cancel)

    def _read_stream(self, response: Response, on_delta: DeltaHook | None, cancel: threading.Event | None) -> Reply:
        stream = _Stream(on_delta, request_id(response))
        with contextlib.closing(sse_objects(response, cancel)) as events:
            for event in events:
                if event is not None and (reply := stream.event(event)) is not None:
                    return reply
        return Reply(
            "".join(stream.chunks), "cut", "the reply stream ended before the response completed",
            request_id=stream.request,
        )  # fmt: skip


register("openai", ResponsesBackend())
