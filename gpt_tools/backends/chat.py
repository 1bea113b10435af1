"""The `chat` backend: Chat Completions against any compatible server (Ollama, llama.cpp, vLLM, ...)."""

from __future__ import annotations

import json
import threading
from typing import Any

from .. import transport
from ..errors import UsageError
from ..transport import Endpoint, RetryHook
from .base import BackendRequest, DeltaHook, Reply, Usage, register, usage_from

# finish_reason -> our status: anything but a natural stop means the text is not the whole answer.
_FINISH = {
    "stop": "completed",
    "length": "incomplete",
    "content_filter": "incomplete",
    "tool_calls": "incomplete",
}


def build_body(request: BackendRequest) -> dict[str, Any]:
    if request.attachments:
        raise UsageError("the chat backend cannot take binary attachments; attach text files, or use backend 'openai'")
    if request.tools:
        raise UsageError(f"the chat backend cannot use the tools {', '.join(request.tools)}; use backend 'openai'")
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [
            {"role": "system", "content": request.instructions},
            *({"role": role, "content": text} for role, text in request.history),
            {"role": "user", "content": request.text},
        ],
        "stream": request.stream,
    }
    if request.stream:
        body["stream_options"] = {"include_usage": True}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_output_tokens is not None:
        body["max_tokens"] = request.max_output_tokens  # the spelling every compatible server accepts
    return body


def _usage(data: dict[str, Any] | None) -> Usage:
    return usage_from(
        data, input_key="prompt_tokens", output_key="completion_tokens", details_key="prompt_tokens_details"
    )


def _status(finish_reason: str | None) -> tuple[str, str | None]:
    if finish_reason is None:
        return "cut", "the reply stream ended before a finish_reason"
    status = _FINISH.get(finish_reason, "incomplete")
    return status, None if status == "completed" else f"finish_reason {finish_reason}"


class ChatBackend:
    """Speaks POST /chat/completions, streamed (with usage) or not."""

    def complete(
        self,
        request: BackendRequest,
        endpoint: Endpoint,
        *,
        on_delta: DeltaHook | None = None,
        on_retry: RetryHook | None = None,
        cancel: threading.Event | None = None,
    ) -> Reply:
        body = build_body(request)
        response = transport.post(
            endpoint, "/chat/completions", body, stream=request.stream, on_retry=on_retry, cancel=cancel
        )
        if not request.stream:
            data = transport.read_json(response)
            choice = (data.get("choices") or [{}])[0]
            content = str((choice.get("message") or {}).get("content") or "")
            status, reason = _status(choice.get("finish_reason"))
            return Reply(
                content,
                status,
                reason,
                _usage(data.get("usage")),
                str(data.get("model") or ""),
                data.get("id"),
            )
        return self._read_stream(response, on_delta, cancel)

    def _read_stream(self, response: Any, on_delta: DeltaHook | None, cancel: threading.Event | None) -> Reply:
        chunks: list[str] = []
        finish: str | None = None
        usage, model, reply_id = Usage(), "", None
        for _event, data in transport.iter_sse(response, cancel):
            if data.strip() == "[DONE]":
                break
            chunk = json.loads(data)
            model, reply_id = str(chunk.get("model") or model), chunk.get("id") or reply_id
            if chunk.get("usage"):
                usage = _usage(chunk["usage"])
            for choice in chunk.get("choices") or []:
                delta = (choice.get("delta") or {}).get("content")
                if delta:
                    chunks.append(delta)
                    if on_delta is not None:
                        on_delta(delta)
                finish = choice.get("finish_reason") or finish
        status, reason = _status(finish)
        return Reply("".join(chunks), status, reason, usage, model, reply_id)


register("chat", ChatBackend())
