"""The one interface every backend implements, and the plain name -> backend registry."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import UsageError
from ..transport import Endpoint, RetryHook

DeltaHook = Callable[[str], None]


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
    attachments: tuple[str, ...] = ()  # per-run uploaded files (input_file parts)
    previous_response_id: str | None = None  # a conversation turn on the Responses API
    history: tuple[tuple[str, str], ...] = ()  # (role, text) turns to resend when there is no previous ID
    stream: bool = True
    store: bool = False


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0


@dataclass(frozen=True)
class Reply:
    """What the server said, before the output guards decide whether it is usable."""

    text: str
    status: str  # "completed" or why not: "incomplete", "failed", "cut"
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


def usage_from(data: dict[str, Any] | None, *, input_key: str, output_key: str, details_key: str) -> Usage:
    """Token counts from either API's usage object (they name the same things differently)."""
    if not data:
        return Usage()
    details = data.get(details_key) or {}
    return Usage(int(data.get(input_key) or 0), int(data.get(output_key) or 0), int(details.get("cached_tokens") or 0))
