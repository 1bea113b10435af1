"""The `openai` backend: OpenAI's Responses API, streamed or not."""

from __future__ import annotations

import json
import threading
from typing import Any

from .. import transport
from ..errors import ApiError
from ..transport import Endpoint, RetryHook
from .base import BackendRequest, DeltaHook, Reply, register, usage_from

_TERMINAL = {"response.completed", "response.incomplete", "response.failed", "response.cancelled"}


def _content(request: BackendRequest) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"type": "input_file", "file_id": file_id} for file_id in request.attachments]
    return [*parts, {"type": "input_text", "text": request.text}]


def _history(request: BackendRequest) -> list[dict[str, Any]]:
    kinds = {"user": "input_text", "assistant": "output_text"}
    return [{"role": role, "content": [{"type": kinds[role], "text": text}]} for role, text in request.history]


def build_body(request: BackendRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
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
    tools: list[dict[str, Any]] = []
    if "file_search" in request.tools:
        tools.append({"type": "file_search", "vector_store_ids": list(request.vector_store_ids)})
    if "code_interpreter" in request.tools:
        container: dict[str, Any] = {"type": "auto"}
        if request.container_file_ids:
            container["file_ids"] = list(request.container_file_ids)
        tools.append({"type": "code_interpreter", "container": container})
    if tools:
        body["tools"] = tools
    return body


def output_text(response: dict[str, Any]) -> str:
    """The text of every output_text part of every message item, in order."""
    return "".join(
        str(part.get("text") or "")
        for item in response.get("output") or []
        if item.get("type") == "message"
        for part in item.get("content") or []
        if part.get("type") == "output_text"
    )


def reply_from(response: dict[str, Any], streamed_text: str | None = None) -> Reply:
    status = str(response.get("status") or "failed")
    details = response.get("incomplete_details") or {}
    error = response.get("error") or {}
    reason = details.get("reason") or error.get("message")
    text = output_text(response) or (streamed_text or "")
    usage = usage_from(
        response.get("usage"),
        input_key="input_tokens",
        output_key="output_tokens",
        details_key="input_tokens_details",
    )
    return Reply(text, status, reason, usage, str(response.get("model") or ""), response.get("id"))


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
        if not request.stream:
            return reply_from(transport.read_json(response))
        chunks: list[str] = []
        for _event, data in transport.iter_sse(response, cancel):
            event = json.loads(data)
            kind = event.get("type")
            if kind == "response.output_text.delta":
                chunks.append(event.get("delta") or "")
                if on_delta is not None:
                    on_delta(chunks[-1])
            elif kind in _TERMINAL:
                return reply_from(event.get("response") or {}, "".join(chunks))
            elif kind == "error":
                raise ApiError(f"the server reported an error: {event.get('message')}", code=event.get("code"))
        return Reply("".join(chunks), "cut", "the reply stream ended before the response completed")


register("openai", ResponsesBackend())
