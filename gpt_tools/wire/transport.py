"""All HTTP goes through here: the standard library's http.client, retries, timeouts and SSE (read in replies.py).

Why not the openai SDK: importing it costs 0.4-1.2 s on our machines, which a Vim filter would pay on
every call (bench/RESULTS.md). The two wire formats we speak are small JSON/SSE contracts; this module keeps
the SDK's behaviour that users rely on: its retry rules (retrypolicy.py), separate connect and read
timeouts, proxies from the environment with their credentials, one kept-alive connection per thread
(connections.py), OPENAI_ORG_ID/OPENAI_PROJECT_ID headers, and x-request-id on every error.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from gpt_tools import redact
from gpt_tools.errors import ApiError, Cancelled, RunFailed, UsageError
from gpt_tools.wire import connections, retrypolicy
from gpt_tools.wire.exchange import Response as Response  # re-exported: what post() and send() return
from gpt_tools.wire.exchange import exchange
from gpt_tools.wire.ratelimit import RateGate
from gpt_tools.wire.replies import failure

# Reading a reply's body is public here too: the backends read what send() returned through this module.
from gpt_tools.wire.replies import iter_sse as iter_sse
from gpt_tools.wire.replies import loads as loads
from gpt_tools.wire.replies import read_json as read_json

USER_AGENT = "gpt-tools/0.1"
_STREAM = "text/event-stream"
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
        "Accept": _STREAM if stream else "application/json",
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
            raise UsageError(f"the {name!r} header holds a control or non-ASCII character; nothing was sent")
    return headers


def _error_from(status: int, body: bytes, path: str, request_id: str | None) -> ApiError:
    # Redact before cutting: a cut made first could leave the start of a key that redact() no longer
    # recognises as the whole secret.
    message, code, param = redact.redact(body.decode("utf-8", "replace").strip())[:500], None, None
    try:
        error = json.loads(body)["error"]
        message, code = str(error.get("message") or message), error.get("code") or error.get("type")
        param = error.get("param")
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    hints = {401: " (check the API key)", 407: " (the proxy wants credentials: user:password@ in HTTP_PROXY)"}
    if path in ("/responses", "/chat/completions") and param in (None, "model"):
        # A 404 whose param names another part of the request (an input file, a tool's vector store)
        # is about that object: the model and the base_url are fine.
        hints[404] = " (check the model name and base_url)"
    hint = hints.get(status, "")
    text = f"HTTP {status}: {redact.redact(message)[:2000]}{hint}{_request_note(request_id)}"
    return ApiError(
        text,
        status=status,
        code=code if isinstance(code, str) else None,
        request_id=request_id,
        param=param if isinstance(param, str) else None,
        path=path,
    )


def _request_note(request_id: str | None) -> str:
    return f" (request {redact.redact(request_id)})" if request_id else ""


def display_url(url: str) -> str:
    """A base URL as messages show it: without user info or query, either of which may hold a secret."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return redact.redact(f"{parts.scheme}://{netloc}{parts.path}")


def _attempt(
    endpoint: Endpoint, method: str, path: str, payload: Payload, sent: dict[str, str], cancel: threading.Event | None
) -> tuple[Response | None, RunFailed | None, float | None]:
    """One try: the open 2xx response, or the error and any server-requested wait."""
    stream = sent.get("Accept") == _STREAM
    where = connections.route(endpoint.base_url)
    headers = {**sent, **where.proxy_headers()}
    try:
        timeouts = endpoint.connect_timeout, endpoint.read_timeout
        conn, raw, watch = exchange(where, timeouts, (method, where.target(path), payload.data, headers), cancel)
    except connections.ProxyRefused as exc:
        _raise_if_cancelled(cancel)
        message = failure(f"cannot reach {display_url(endpoint.base_url)}", exc) + _PROXY_HINT
        error = ApiError(message, status=exc.status)
        if exc.status < 500:
            raise error from None
        return None, error, None
    except (OSError, http.client.HTTPException) as exc:
        _raise_if_cancelled(cancel)
        unreached = RunFailed(failure(f"cannot reach {display_url(endpoint.base_url)}", exc))
        if not retrypolicy.retry_unanswered(exc):
            raise unreached from None
        return None, unreached, None
    response = Response(raw, conn, where, watch, cancel)
    if 200 <= raw.status < 300 and stream:
        return response, None, None
    try:
        body = response.read()
    except (OSError, http.client.HTTPException) as exc:
        # Nothing reached the caller yet, so a cut body is retried like a connection that failed.
        _raise_if_cancelled(cancel)
        return None, _cut(failure("the reply was cut short", exc), response.request_id), None
    finally:
        response.close()
    if 200 <= raw.status < 300:
        response.body = body
        return response, None, None
    error = _error_from(raw.status, body, path.split("?")[0], response.request_id)
    if not retrypolicy.should_retry(raw.status, error.code, raw.headers):
        raise error
    return None, error, retrypolicy.retry_after(raw.headers)


_PROXY_HINT = " (check the proxy URL and its user:password@ in HTTPS_PROXY)"


def _cut(message: str, request_id: str | None) -> RunFailed:
    error = RunFailed(message + _request_note(request_id))
    error.request_id = request_id
    return error


def _raise_if_cancelled(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled") from None


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
) -> Response:
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
) -> Response:
    """Send a request and return the open 2xx response, retrying what is worth retrying.

    Only opening the response is retried: once a reply streams, a retry would duplicate output the
    caller has already shown, so a cut stream is reported instead.
    """
    headers = _headers(endpoint, stream, payload.content_type)  # no Idempotency-Key: nor does the SDK for OpenAI
    for attempt in range(endpoint.max_retries + 1):
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled")
        if endpoint.gate is not None:
            endpoint.gate.wait(cancel)
        response, error, asked = _attempt(endpoint, method, path, payload, headers, cancel)
        if response is not None:
            return response
        assert error is not None
        if attempt == endpoint.max_retries:
            raise error
        wait = asked if asked is not None else retrypolicy.backoff(attempt)
        if wait > endpoint.max_retry_wait:
            raise _too_long(error, wait) from error
        if on_retry is not None:
            on_retry(RetryNotice(attempt + 1, endpoint.max_retries, wait, str(error)))
        if endpoint.gate is not None and isinstance(error, ApiError) and error.status == 429:
            endpoint.gate.refused(wait, cancel)  # the limit is shared: everyone backs off, and fewer go at once
        else:
            _sleep(wait, cancel)
    raise AssertionError("unreachable")


def _too_long(error: RunFailed, wait: float) -> RunFailed:
    # An overflowing Retry-After (1e999) is infinite here: "inf s" reads like a bug, not a server's answer.
    asked = f"{wait:.0f} s" if wait < 1e15 else "longer than any sensible wait (Retry-After overflows)"
    message = f"{error}; the server asks to wait {asked}, over max_retry_wait"
    if isinstance(error, ApiError):
        return ApiError(
            message,
            status=error.status,
            code=error.code,
            request_id=error.request_id,
            param=error.param,
            path=error.path,
        )
    return RunFailed(message)


def probe(endpoint: Endpoint) -> int | str:
    """GET /models: the HTTP status (any status means reachable) or why the server is unreachable.

    The body is never returned: an authentication error may echo part of the key.
    """
    quick = replace(endpoint, connect_timeout=min(endpoint.connect_timeout, 5.0), read_timeout=5.0)
    try:
        where = connections.route(quick.base_url)
        headers = {**_headers(quick, False, "application/json"), **where.proxy_headers()}
        timeouts = quick.connect_timeout, quick.read_timeout
        conn, raw, _ = exchange(where, timeouts, ("GET", where.target("/models"), None, headers), None)
    except UsageError as exc:  # a header or proxy setting that cannot be used: already redacted
        return f"not sent: {exc}"
    except (OSError, http.client.HTTPException) as exc:
        return failure("unreachable", exc)
    conn.close()  # the body is never read, so the connection cannot be reused
    return raw.status


def fetch(endpoint: Endpoint, path: str, *, on_retry: RetryHook | None = None) -> bytes:
    """GET a raw body (a file's content), with the same retries; a body cut short is an error."""
    response = send(endpoint, "GET", path, Payload(), stream=False, on_retry=on_retry)
    try:
        return response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise RunFailed(failure("the download was cut short", exc)) from None
    finally:
        response.close()
