"""The `chat` backend: Chat Completions against any compatible server (Ollama, llama.cpp, vLLM, ...).

Request bodies follow the openai SDK's `CompletionCreateParams` and OpenAI's OpenAPI document
(tests/contract/ holds the schemas the tests validate them against).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any
from urllib.parse import urlsplit

from gpt_tools.errors import ApiError, UsageError
from gpt_tools.redact import redact
from gpt_tools.wire import transport
from gpt_tools.wire.backends.base import (
    JSON,
    BackendRequest,
    DeltaHook,
    Reply,
    ReplyStatus,
    Usage,
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

# finish_reason -> our status: anything but a natural stop means the text is not the whole answer.
_FINISH: dict[str, ReplyStatus] = {
    "stop": "completed",
    "length": "incomplete",
    "content_filter": "incomplete",
    "tool_calls": "incomplete",
}


def _user_content(request: BackendRequest) -> str | list[JSON]:
    """The user's text, with any images before it as image_url parts carrying the bytes (data URLs).

    Only images can travel: Chat Completions' `file` part is OpenAI-only, and the compatible servers
    (llama.cpp, Ollama, vLLM) take images as data URLs but no other files.
    """
    if not request.attachments:
        return request.text
    parts: list[JSON] = []
    for attachment in request.attachments:
        if not attachment.is_image or attachment.data_url is None:
            raise UsageError(
                f"the chat backend can send images but not other binary files ({attachment.name}); "
                "attach text files, or use backend 'openai'"
            )
        parts.append({"type": "image_url", "image_url": {"url": attachment.data_url}})
    return [*parts, {"type": "text", "text": request.text}]


# Azure OpenAI resources answer on any of these (classic OpenAI resources, multi-service Cognitive
# Services resources, Azure AI Foundry); all of them run OpenAI's models and OpenAI's parameter rules.
_AZURE_OPENAI_DOMAINS = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")


def is_openai_host(base_url: str) -> bool:
    """Whether `base_url` is OpenAI's own API or an Azure OpenAI resource (not a local or other server)."""
    host = (urlsplit(base_url).hostname or "").lower().rstrip(".")
    return host == "api.openai.com" or host.endswith(_AZURE_OPENAI_DOMAINS)


def token_limit_key(base_url: str) -> str:
    """The output-limit field a server honours.

    OpenAI (and Azure OpenAI) deprecated `max_tokens` and refuse it for reasoning models (gpt-5, the
    o-series: HTTP 400), asking for `max_completion_tokens`. Ollama's compatible API knows only
    `max_tokens` and silently ignores `max_completion_tokens` (ollama/ollama#7125), which would leave
    a local model's output unbounded; llama.cpp and vLLM read `max_tokens` too.
    """
    return "max_completion_tokens" if is_openai_host(base_url) else "max_tokens"


def build_body(request: BackendRequest, *, limit_key: str = "max_completion_tokens") -> JSON:
    if request.tools:
        raise UsageError(f"the chat backend cannot use the tools {', '.join(request.tools)}; use backend 'openai'")
    body: JSON = {
        "model": request.model,
        "messages": [
            {"role": "system", "content": request.instructions},
            *({"role": role, "content": text} for role, text in request.history),
            {"role": "user", "content": _user_content(request)},
        ],
        "stream": request.stream,
    }
    if request.stream:
        body["stream_options"] = {"include_usage": True}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_output_tokens is not None:
        body[limit_key] = request.max_output_tokens
    if request.json_schema is not None:
        body["response_format"] = _response_format(request)
    if request.reasoning_effort:
        body["reasoning_effort"] = request.reasoning_effort
    if request.verbosity:
        body["verbosity"] = request.verbosity
    return body


def _response_format(request: BackendRequest) -> JSON:
    assert request.json_schema is not None
    if request.json_format == "json_object":
        # llama-cpp-python's server refuses type json_schema (HTTP 500) and constrains decoding only with
        # its own shape: json_object carrying the bare schema.
        return {"type": "json_object", "schema": request.json_schema.schema}
    # OpenAI's shape; llama.cpp's llama-server, Ollama, vLLM and LM Studio take it too (as a grammar).
    return {"type": "json_schema", "json_schema": request.json_schema.as_wire()}


# Statuses that name another cause (the key, the proxy, the rate limit) than the request's shape.
_NOT_THE_FORMAT = frozenset({401, 403, 407, 429})
FORMAT_HINT = (
    "hint: if this server does not take OpenAI's json_schema response_format (llama-cpp-python's server "
    'refuses it with HTTP 500), set json_format = "json_object" for this assistant or endpoint'
)


def _with_format_hint(error: ApiError, request: BackendRequest) -> ApiError:
    """The error, with a hint line naming the json_format setting when the refusal may be the format's.

    Matched by status and the error's param, never its message: a param naming another part of the
    request rules the format out, and llama-cpp-python's refusal carries no param or code at all.
    """
    sent = request.json_schema is not None and request.json_format == "json_schema"
    about_format = error.param is None or error.param.split(".")[0] == "response_format"
    status = error.status or 0
    if not sent or not about_format or status < 400 or status in _NOT_THE_FORMAT:
        return error
    return ApiError(
        f"{error}\n{FORMAT_HINT}", status=error.status, code=error.code, request_id=error.request_id,
        param=error.param, path=error.path,
    )  # fmt: skip


def _usage(data: Any) -> Usage:
    return usage_from(
        data, input_key="prompt_tokens", output_key="completion_tokens", details_key="prompt_tokens_details"
    )


def _status(finish_reason: Any, refusal: str, *, streamed: bool) -> tuple[ReplyStatus, str | None]:
    if refusal.strip():
        return "refused", redact(refusal.strip())
    if not isinstance(finish_reason, str) or not finish_reason:
        ended = "the reply stream ended" if streamed else "the reply ended"
        return "cut", f"{ended} before a finish_reason"
    status = _FINISH.get(finish_reason, "incomplete")
    return status, None if status == "completed" else redact(f"finish_reason {finish_reason}")


def reply_from(data: JSON, request: str | None) -> Reply:
    """Our reading of a whole ChatCompletion; an error body is the server's error, not an empty reply."""
    if (error := error_reply(data, request)) is not None:
        raise error
    choice = next(iter(dicts(data.get("choices"))), {})
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    status, reason = _status(choice.get("finish_reason"), text_of(message.get("refusal")), streamed=False)
    return Reply(
        text_of(message.get("content")), status, reason, _usage(data.get("usage")),
        text_of(data.get("model")), text_of(data.get("id")) or None, request,
    )  # fmt: skip


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
        body = build_body(request, limit_key=token_limit_key(endpoint.base_url))
        try:
            response = transport.post(
                endpoint, "/chat/completions", body, stream=request.stream, on_retry=on_retry, cancel=cancel
            )
        except ApiError as error:
            raise _with_format_hint(error, request) from error
        if not request.stream or is_json(response):
            return reply_from(transport.read_json(response), request_id(response))
        return self._read_stream(response, on_delta, cancel)

    def _read_stream(self, response: Response, on_delta: DeltaHook | None, cancel: threading.Event | None) -> Reply:
        chunks: list[str] = []
        refusals: list[str] = []
        finish: Any = None
        usage, model, reply_id, request = Usage(), "", "", request_id(response)
        with contextlib.closing(sse_objects(response, cancel)) as events:
            for chunk in events:
                if chunk is None:  # [DONE]
                    break
                if (error := error_reply(chunk, request)) is not None:
                    raise error  # an in-band error chunk: the server gave up mid-stream
                model, reply_id = text_of(chunk.get("model")) or model, text_of(chunk.get("id")) or reply_id
                if chunk.get("usage") is not None:
                    usage = _usage(chunk["usage"])
                for choice in dicts(chunk.get("choices")):
                    delta = choice.get("delta")
                    delta = delta if isinstance(delta, dict) else {}
                    refusals.append(text_of(delta.get("refusal")))
                    if text := text_of(delta.get("content")):
                        chunks.append(text)
                        if on_delta is not None:
                            on_delta(text)
                    finish = choice.get("finish_reason") or finish
        status, reason = _status(finish, "".join(refusals), streamed=True)
        return Reply("".join(chunks), status, reason, usage, model, reply_id or None, request)


register("chat", ChatBackend())
