"""The one interface every backend implements, and the plain name -> backend registry."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from gpt_tools.errors import ApiError, RunFailed, UsageError
from gpt_tools.redact import redact
from gpt_tools.wire import transport
from gpt_tools.wire.transport import Endpoint, Response, RetryHook

DeltaHook = Callable[[str], None]
JSON = dict[str, Any]

# The image formats the APIs take as image parts (input_image, image_url), told by their magic bytes.
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(data: bytes) -> str | None:
    """The media type of an image the APIs accept as an image part, or None for any other file."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in _IMAGE_MAGIC if data.startswith(magic)), None)


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A per-run binary file: an image goes out as an image part, anything else as a file part.

    The Responses API takes an uploaded file's ID; a backend that cannot take uploads gets the bytes
    inline as a data URL (the chat backend, for images only).
    """

    name: str
    media_type: str  # "image/png", ..., or "application/octet-stream" for any non-image file
    file_id: str | None = None
    data_url: str | None = None

    @property
    def is_image(self) -> bool:
        return self.media_type.startswith("image/")

    @classmethod
    def inline(cls, name: str, data: bytes) -> Attachment:
        media_type = image_type(data) or "application/octet-stream"
        encoded = base64.b64encode(data).decode("ascii")
        return cls(name=name, media_type=media_type, data_url=f"data:{media_type};base64,{encoded}")


@dataclass(frozen=True, kw_only=True)
class JsonSchema:
    """A reply format: Structured Outputs, the reply is one JSON value valid against `schema`.

    The wire layer knows nothing of what the schema means (the edit protocol lives in markdown/edits.py);
    `strict` asks the server to enforce it (OpenAI's strict mode: grammar-constrained decoding).
    """

    name: str
    schema: dict[str, Any]
    strict: bool = True

    def as_wire(self) -> JSON:
        return {"name": self.name, "strict": self.strict, "schema": self.schema}


@dataclass(frozen=True)
class BackendRequest:
    """Everything a backend needs for one request, already resolved from config and flags."""

    model: str
    instructions: str
    text: str
    temperature: float | None = None
    max_output_tokens: int | None = None
    tools: tuple[str, ...] = ()
    vector_store_ids: tuple[str, ...] = ()
    container_file_ids: tuple[str, ...] = ()  # knowledge files code_interpreter can open
    attachments: tuple[Attachment, ...] = ()  # per-run binary files (image or file parts)
    previous_response_id: str | None = None  # a conversation turn on the Responses API
    history: tuple[tuple[str, str], ...] = ()  # (role, text) turns to resend when there is no previous ID
    stream: bool = True
    store: bool = False
    json_schema: JsonSchema | None = None  # None: a plain text reply
    # The chat backend's shape for json_schema: "json_schema" (OpenAI's) or "json_object" (llama-cpp-python's)
    json_format: str = "json_schema"
    reasoning_effort: str | None = None  # sent only when set (reasoning models bill reasoning as output)
    verbosity: str | None = None  # sent only when set


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0


# "completed", or why not: the Responses API's own statuses, "unknown" (none given), "cut" (the reply
# ended early) and "refused" (the model declined; its words are the reason).
ReplyStatus = Literal[
    "completed", "incomplete", "failed", "cancelled", "in_progress", "queued", "unknown", "cut", "refused"
]


@dataclass(frozen=True)
class Reply:
    """What the server said, before the output guards decide whether it is usable."""

    text: str
    status: ReplyStatus
    reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    response_id: str | None = None
    request_id: str | None = None  # the server's x-request-id header, for the run log and support


class Backend(Protocol):
    """A way to run one request: the built-ins register exactly as a third-party backend would."""

    def complete(
        self,
        request: BackendRequest,
        endpoint: Endpoint,
        *,
        on_delta: DeltaHook | None = None,
        on_retry: RetryHook | None = None,
        cancel: threading.Event | None = None,
    ) -> Reply: ...


BACKENDS: dict[str, Backend] = {}
ENTRY_POINT_GROUP = "gpt_tools.backends"


def register(name: str, backend: Backend) -> None:
    """Make backend available under name (config `backend = "name"`, `--backend name`)."""
    BACKENDS[name] = backend


def get_backend(name: str) -> Backend:
    """The backend registered as name; installed plugins are looked up only when needed."""
    if name not in BACKENDS:
        _load_plugins()
    try:
        return BACKENDS[name]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise UsageError(f"unknown backend {name!r}; known backends: {known}") from None


def _load_plugins() -> None:
    # Entry points cost a scan of every installed distribution: never on the common path.
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name not in BACKENDS:
            loaded: Any = entry.load()
            register(entry.name, loaded() if isinstance(loaded, type) else loaded)


def usage_from(data: Any, *, input_key: str, output_key: str, details_key: str) -> Usage:
    """Token counts from either API's usage object (they name the same things differently).

    No usage (null, absent: many compatible servers) counts as zero; a figure that is not a
    non-negative integer is a broken reply, never a number to guess at.
    """
    if data is None:
        return Usage()
    if not isinstance(data, dict):
        raise RunFailed(f"the reply's usage is not an object: {_shown(data)}")
    details = data.get(details_key)
    if details is not None and not isinstance(details, dict):
        raise RunFailed(f"the reply's usage.{details_key} is not an object: {_shown(details)}")
    return Usage(
        input_tokens=_count(data, input_key),
        output_tokens=_count(data, output_key),
        cached_tokens=_count(details or {}, "cached_tokens"),
    )


def _count(data: JSON, key: str) -> int:
    value = data.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RunFailed(f"the reply's usage has an unreadable {key}: {_shown(value)}")
    return value


def _shown(value: Any) -> str:
    return redact(json.dumps(value, ensure_ascii=False)[:80])


def dicts(value: Any) -> list[JSON]:
    """The objects of a JSON list (anything else in it, or a non-list, is ignored): replies are untrusted."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def request_id(response: Response) -> str | None:
    """The server's x-request-id: what its support asks for when a reply goes wrong."""
    return response.getheader("x-request-id") or None


def error_reply(data: JSON, request: str | None) -> ApiError | None:
    """The ApiError for a body or chunk that is an OpenAI error object (`{"error": {...}}`), else None.

    Some servers and proxies answer 200 with an error body, or put one in the middle of a stream.
    """
    error = data.get("error")
    if not isinstance(error, dict):
        return None
    message = redact(text_of(error.get("message")) or json.dumps(error, ensure_ascii=False)[:500])
    code = text_of(error.get("code")) or text_of(error.get("type")) or None
    return ApiError(f"the server reported an error: {message}", code=code, request_id=request)


def is_json(response: Response) -> bool:
    """True when a reply asked for as a stream came back as one JSON body (an error, or no SSE support)."""
    media = (response.getheader("content-type") or "").split(";")[0].strip().lower()
    return media == "application/json"


def sse_objects(response: Response, cancel: threading.Event | None) -> Generator[JSON | None, None, None]:
    """The JSON object of each server-sent event; None for the `[DONE]` sentinel.

    A stream that is not UTF-8, or an event that is not a JSON object, is a broken reply (RunFailed).
    Close it (contextlib.closing) when done early: the stream under it is closed at once, which gives
    its connection back or drops it, instead of whenever the garbage collector gets to it.
    """
    events = cast(Generator[tuple[str, str], None, None], transport.iter_sse(response, cancel))
    try:
        for _event, data in events:
            if data.strip() == "[DONE]":
                yield None
                continue
            try:
                value = transport.loads(data)
            except ValueError:
                raise RunFailed(f"the reply stream held an event that is not JSON: {redact(data[:80])!r}") from None
            if not isinstance(value, dict):
                raise RunFailed(f"the reply stream held an event that is not a JSON object: {_shown(value)}")
            yield value
    except UnicodeDecodeError:
        raise RunFailed("the reply stream is not valid UTF-8") from None
    finally:
        events.close()
