"""All HTTP goes through here: the standard library's http.client, retries, timeouts and SSE.

Why not the openai SDK: importing it costs 0.4-1.2 s on our machines, which a Vim filter would pay on
every call (bench/RESULTS.md). The two wire formats we speak are small JSON/SSE contracts; this module keeps
the SDK's behaviour that users rely on: Retry-After, x-should-retry, exponential backoff with jitter,
separate connect and read timeouts, HTTPS proxies from the environment.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import redact
from .errors import ApiError, Cancelled, RunFailed, UsageError
from .ratelimit import RateGate

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
USER_AGENT = "gpt-tools/0.1"
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token


@dataclass(frozen=True)
class Endpoint:
    """Where and how to send requests; the key lives only here and in request headers."""

    base_url: str
    api_key: str | None
    auth_header: str = "Authorization"
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    max_retries: int = 4
    max_retry_wait: float = 60.0
    gate: RateGate | None = field(default=None, compare=False)
    organization: str | None = None  # OpenAI-Organization: who is billed ($OPENAI_ORG_ID)
    project: str | None = None  # OpenAI-Project ($OPENAI_PROJECT_ID)

    def __repr__(self) -> str:  # never let the key reach a log or a traceback
        return f"Endpoint(base_url={self.base_url!r}, api_key={'***' if self.api_key else None})"


@dataclass(frozen=True)
class RetryNotice:
    """Told to the caller before each wait, so a user sees why nothing is happening."""

    attempt: int
    max_retries: int
    wait: float
    reason: str


RetryHook = Callable[[RetryNotice], None]


class _Connection(http.client.HTTPConnection):
    """Connects within the connect timeout, then waits up to the (longer) read timeout per read."""

    read_timeout: float = 300.0

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)


class _TLSConnection(http.client.HTTPSConnection):
    read_timeout: float = 300.0

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)


def _open_connection(endpoint: Endpoint) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(endpoint.base_url)
    host, port = parts.hostname or "localhost", parts.port
    proxy = _proxy_for(parts.scheme, host)
    target = proxy or (host, port)
    conn: _Connection | _TLSConnection
    if parts.scheme == "https":
        conn = _TLSConnection(target[0], target[1], timeout=endpoint.connect_timeout)
    else:
        conn = _Connection(target[0], target[1], timeout=endpoint.connect_timeout)
    conn.read_timeout = endpoint.read_timeout
    if proxy is not None:
        conn.set_tunnel(host, port)
    return conn, parts.path.rstrip("/")


def _proxy_for(scheme: str, host: str) -> tuple[str, int | None] | None:
    """The HTTPS/HTTP proxy from the environment, honouring NO_PROXY (loopback is never proxied)."""
    value = os.environ.get(f"{scheme}_proxy") or os.environ.get(f"{scheme.upper()}_PROXY")
    if not value or host in ("localhost", "127.0.0.1", "::1"):
        return None
    no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    for entry in (item.strip().lstrip(".") for item in no_proxy.split(",")):
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return None
    parts = urlsplit(value if "://" in value else "http://" + value)
    return parts.hostname or value, parts.port


@dataclass(frozen=True)
class Payload:
    """A request body: its bytes and content type (JSON or multipart)."""

    data: bytes | None = None
    content_type: str = "application/json"

    @classmethod
    def json(cls, body: dict[str, Any]) -> Payload:
        return cls(json.dumps(body).encode("utf-8"))

    @classmethod
    def multipart(cls, fields: dict[str, str], filename: str, content: bytes) -> Payload:
        """A form with text fields and one file, as the files API takes uploads."""
        boundary = f"gpt-tools-{random.getrandbits(64):016x}"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        quoted = filename.replace('"', "%22").replace("\r", "").replace("\n", "")
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        body = b"".join(parts) + head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
        return cls(body, f"multipart/form-data; boundary={boundary}")


def _headers(endpoint: Endpoint, stream: bool, content_type: str) -> dict[str, str]:
    """Every request's headers, one code path for model calls, files, batches, fetch and probe."""
    headers = {
        "Content-Type": content_type,
        "Accept": "text/event-stream" if stream else "application/json",
        "User-Agent": USER_AGENT,
    }
    if endpoint.api_key:
        redact.remember(endpoint.api_key)  # also for endpoints built by hand, not by keys.resolve_endpoint
        bearer = endpoint.auth_header.lower() == "authorization"
        headers[endpoint.auth_header] = f"Bearer {endpoint.api_key}" if bearer else endpoint.api_key
    if endpoint.organization:
        headers["OpenAI-Organization"] = endpoint.organization
    if endpoint.project:
        headers["OpenAI-Project"] = endpoint.project
    for name, value in headers.items():
        # http.client would refuse these with an error quoting the value, the key included.
        if not _HEADER_NAME.fullmatch(name) or any(ord(char) < 0x20 or ord(char) > 0x7E for char in value):
            raise UsageError(f"the {name} header holds a control or non-ASCII character; nothing was sent")
    return headers


def _error_from(status: int, body: bytes, path: str, request_id: str | None) -> ApiError:
    # Redact before cutting: a cut made first could leave the start of a key that redact() no longer
    # recognises as the whole secret.
    message, code = redact.redact(body.decode("utf-8", "replace").strip())[:500], None
    try:
        error = json.loads(body)["error"]
        message, code = str(error.get("message") or message), error.get("code") or error.get("type")
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    hints = {401: " (check the API key)"}
    if path in ("/responses", "/chat/completions"):
        hints[404] = " (check the model name and base_url)"
    hint = hints.get(status, "")
    text = f"HTTP {status}: {redact.redact(message)}{hint}{_request_note(request_id)}"
    return ApiError(text, status=status, code=code if isinstance(code, str) else None, request_id=request_id)


def _request_note(request_id: str | None) -> str:
    return f" (request {redact.redact(request_id)})" if request_id else ""


def _display(url: str) -> str:
    """A base URL as messages show it: without user info or query, either of which may hold a secret."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return redact.redact(f"{parts.scheme}://{netloc}{parts.path}")


def _failure(what: str, exc: BaseException) -> str:
    """A message about a low-level exception (http.client, socket, ssl), which may quote a header value."""
    return redact.redact(f"{what}: {exc or type(exc).__name__}")


def _retry_after(response: http.client.HTTPResponse) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms, Retry-After seconds or HTTP date)."""
    millis = response.getheader("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = response.getheader("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _should_retry(status: int, code: str | None, response: http.client.HTTPResponse) -> bool:
    forced = (response.getheader("x-should-retry") or "").lower()
    if forced in ("true", "false"):
        return forced == "true"
    return status in RETRY_STATUSES and code != "insufficient_quota"


def _backoff(attempt: int) -> float:
    return float(min(8.0, 0.5 * 2**attempt) * random.uniform(0.75, 1.0))


class _CancelWatch:
    """Shuts a request's socket down when the caller cancels, so a blocked read returns at once.

    Without it, a cancelled run would sit in getresponse() until the server answered or the read
    timeout ran out (minutes), holding a worker thread of the editor.
    """

    def __init__(self, sock: socket.socket, cancel: threading.Event) -> None:
        self._done = threading.Event()
        self._sock, self._cancel = sock, cancel
        threading.Thread(target=self._watch, daemon=True, name="gpt-tools-cancel").start()

    def _watch(self) -> None:
        while not self._done.is_set():
            if self._cancel.wait(0.05):
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_RDWR)
                return

    def stop(self) -> None:
        self._done.set()


def _release(response: http.client.HTTPResponse) -> None:
    """Close a response and stop watching its socket for cancellation."""
    watch = getattr(response, "gpt_tools_watch", None)
    if watch is not None:
        watch.stop()
    response.close()


def _attempt(
    endpoint: Endpoint, method: str, path: str, payload: Payload, stream: bool, cancel: threading.Event | None
) -> tuple[http.client.HTTPResponse | None, RunFailed | None, float | None]:
    """One try: the open 2xx response, or the error and any server-requested wait."""
    conn, prefix = _open_connection(endpoint)
    headers = _headers(endpoint, stream, payload.content_type)
    watch: _CancelWatch | None = None
    try:
        conn.request(method, prefix + path, body=payload.data, headers=headers)
        if cancel is not None and conn.sock is not None:
            watch = _CancelWatch(conn.sock, cancel)
        response = conn.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        if watch is not None:
            watch.stop()
        conn.close()
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled") from None
        return None, RunFailed(_failure(f"cannot reach {_display(endpoint.base_url)}", exc)), None
    if 200 <= response.status < 300:
        response.gpt_tools_watch = watch  # type: ignore[attr-defined]  # stopped by _release
        return response, None, None
    if watch is not None:
        watch.stop()
    error = _error_from(response.status, response.read(), path.split("?")[0], response.getheader("x-request-id"))
    conn.close()
    if not _should_retry(response.status, error.code, response):
        raise error
    return None, error, _retry_after(response)


def _sleep(seconds: float, cancel: threading.Event | None) -> None:
    if cancel is None:
        time.sleep(seconds)
    elif cancel.wait(seconds):
        raise Cancelled("cancelled")


def post(
    endpoint: Endpoint,
    path: str,
    body: dict[str, Any],
    *,
    stream: bool,
    on_retry: RetryHook | None = None,
    cancel: threading.Event | None = None,
) -> http.client.HTTPResponse:
    """POST JSON and return the open 2xx response, retrying what is worth retrying."""
    return send(endpoint, "POST", path, Payload.json(body), stream=stream, on_retry=on_retry, cancel=cancel)


def call(
    endpoint: Endpoint,
    method: str,
    path: str,
    payload: Payload | None = None,
    *,
    on_retry: RetryHook | None = None,
) -> dict[str, Any]:
    """A whole JSON request/response exchange (files, vector stores), with the same retries."""
    return read_json(send(endpoint, method, path, payload or Payload(), stream=False, on_retry=on_retry))


def send(
    endpoint: Endpoint,
    method: str,
    path: str,
    payload: Payload,
    *,
    stream: bool,
    on_retry: RetryHook | None = None,
    cancel: threading.Event | None = None,
) -> http.client.HTTPResponse:
    """Send a request and return the open 2xx response, retrying what is worth retrying.

    Only opening the response is retried: once a reply streams, a retry would duplicate output the
    caller has already shown, so a cut stream is reported instead.
    """
    for attempt in range(endpoint.max_retries + 1):
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled")
        if endpoint.gate is not None:
            endpoint.gate.wait(cancel)
        response, error, asked = _attempt(endpoint, method, path, payload, stream, cancel)
        if response is not None:
            return response
        assert error is not None
        if attempt == endpoint.max_retries:
            raise error
        wait = asked if asked is not None else _backoff(attempt)
        if wait > endpoint.max_retry_wait:
            raise RunFailed(f"{error}; the server asks to wait {wait:.0f} s, over max_retry_wait") from error
        if on_retry is not None:
            on_retry(RetryNotice(attempt + 1, endpoint.max_retries, wait, str(error)))
        if endpoint.gate is not None and isinstance(error, ApiError) and error.status == 429:
            endpoint.gate.refused(wait, cancel)  # the limit is shared: everyone backs off, and fewer go at once
        else:
            _sleep(wait, cancel)
    raise AssertionError("unreachable")


def read_json(response: http.client.HTTPResponse) -> dict[str, Any]:
    """The whole JSON body of a non-streamed reply; a body cut short is an error, never a result."""
    try:
        data = response.read()
        value = json.loads(data)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise RunFailed(_failure("the reply was cut short or unreadable", exc)) from None
    finally:
        _release(response)
    if not isinstance(value, dict):
        raise RunFailed("the reply was not a JSON object")
    return value


def iter_sse(response: http.client.HTTPResponse, cancel: threading.Event | None = None) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of a server-sent event stream; ends when the connection does."""
    event, data = "", list[str]()
    try:
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled")
            raw = response.readline()
            if not raw:
                if cancel is not None and cancel.is_set():  # our own shutdown ends the stream: not a cut
                    raise Cancelled("cancelled")
                return
            line = raw.decode("utf-8").rstrip("\r\n")
            if not line:
                if data:
                    yield event, "\n".join(data)
                event, data = "", list[str]()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif line.startswith("event:"):
                event = line[6:].strip()
    except (OSError, http.client.HTTPException) as exc:
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled") from None
        if isinstance(exc, TimeoutError):
            raise RunFailed("the server stopped sending the reply (read timeout)") from None
        raise RunFailed(_failure("the reply stream was cut short", exc)) from None
    finally:
        _release(response)


def probe(endpoint: Endpoint) -> int | str:
    """GET /models: the HTTP status (any status means reachable) or why the server is unreachable.

    The body is never returned: an authentication error may echo part of the key.
    """
    quick = Endpoint(endpoint.base_url, endpoint.api_key, endpoint.auth_header, min(endpoint.connect_timeout, 5.0), 5.0)
    conn, prefix = _open_connection(quick)
    try:
        conn.request("GET", prefix + "/models", headers=_headers(quick, False, "application/json"))
        return conn.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        return _failure("unreachable", exc)
    finally:
        conn.close()


def fetch(endpoint: Endpoint, path: str, *, on_retry: RetryHook | None = None) -> bytes:
    """GET a raw body (a file's content), with the same retries; a body cut short is an error."""
    response = send(endpoint, "GET", path, Payload(), stream=False, on_retry=on_retry)
    try:
        return response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise RunFailed(_failure("the download was cut short", exc)) from None
    finally:
        _release(response)
