"""Reading a reply's body once send() (transport.py) returned it: the whole JSON of a plain reply, or a
server-sent event stream, each cut short or unreadable reported as a RunFailed, never taken as a result.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

from gpt_tools import redact
from gpt_tools.errors import Cancelled, RunFailed
from gpt_tools.wire.exchange import Response


def failure(what: str, exc: BaseException) -> str:
    """A message about a low-level exception (http.client, socket, ssl), which may quote a header value."""
    return redact.redact(f"{what}: {exc or type(exc).__name__}")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def loads(data: str | bytes) -> Any:
    """json.loads, with each lone surrogate (`"\\ud800"`: valid JSON, but no character) made U+FFFD.

    Kept, one would crash whatever writes the text as UTF-8 (stdout, a conversation file) after the
    reply was paid for. A pair (`"\\ud83d\\ude00"`) is decoded to its character by json itself.
    """
    value = json.loads(data)
    marker: str | bytes = b"\\u" if isinstance(data, bytes) else "\\u"
    return _mended(value) if marker in data else value  # type: ignore[operator]


def _mended(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_mended(item) for item in value]
    if isinstance(value, dict):
        return {_mended(key): _mended(item) for key, item in value.items()}
    return value


def read_json(response: Response) -> dict[str, Any]:
    """The whole JSON body of a non-streamed reply; a body cut short is an error, never a result."""
    try:
        data = response.read()
        value = loads(data)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise RunFailed(failure("the reply was cut short or unreadable", exc)) from None
    finally:
        response.close()
    if not isinstance(value, dict):
        raise RunFailed("the reply was not a JSON object")
    return value


def iter_sse(response: Response, cancel: threading.Event | None = None) -> Iterator[tuple[str, str]]:
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
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise RunFailed("the reply stream was not valid UTF-8") from None
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
        raise RunFailed(failure("the reply stream was cut short", exc)) from None
    finally:
        response.close()
