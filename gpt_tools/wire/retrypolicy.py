"""When a failed request is worth another try, and how long to wait first: the openai SDK's rules.

Held to `openai._base_client` (`_should_retry`, `_parse_retry_after_header`, `_calculate_retry_timeout`):
408, 409, 429 and every 5xx are retried unless `x-should-retry` says otherwise; the wait is what the
server asked for (retry-after-ms, Retry-After in seconds or as an HTTP date) when that is a sensible
positive number, else exponential backoff with jitter. One deliberate difference: a 429 for an exhausted
quota is not retried (it never succeeds on retry); `x-should-retry: true` still wins. A request that got no
answer at all is retried too, as the SDK does, unless the caller asked unreachable hosts to fail fast.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import errno
import math
import random
import socket
import time
from collections.abc import Iterator
from email.message import Message

from gpt_tools.wire.connections import ConnectTimeout

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
_INFINITY_LITERALS = frozenset({"inf", "+inf", "infinity", "+infinity"})
_UNREACHABLE_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH})
# A context variable, not a global: it holds for the caller's own thread (and the chunk threads it
# starts, which run in copies of its context: core/rewrite.py), never for another thread's CLI or
# library run in the same process, and nested or overlapping uses each restore their own value.
_unreachable_retried = contextvars.ContextVar("gpt_tools_unreachable_retried", default=True)


def unreachable(exc: BaseException) -> bool:
    """Nobody listens there, no route leads there, the host name does not resolve, or the connect
    timeout ran out (a host or firewall that swallows connections: ConnectTimeout, not a read timeout)."""
    if isinstance(exc, (socket.gaierror, ConnectTimeout)):
        return True
    return isinstance(exc, OSError) and exc.errno in _UNREACHABLE_ERRNOS


def retry_unanswered(exc: BaseException) -> bool:
    """Whether a request that failed before the server answered (connecting, sending) is worth another try."""
    return _unreachable_retried.get() or not unreachable(exc)


@contextlib.contextmanager
def unreachable_fails_fast() -> Iterator[None]:
    """Inside (this thread, and threads started in copies of its context): an unreachable host fails
    at once instead of after max_retries backoffs (7-12 s; connect_timeout x (max_retries + 1) for a
    host that swallows connections).

    For front ends a user waits on with nothing else to do (a Vim filter): the server that refused the
    connection a second ago almost never accepts it a few seconds later. Other failures retry as before.
    """
    token = _unreachable_retried.set(False)
    try:
        yield
    finally:
        _unreachable_retried.reset(token)


def should_retry(status: int, code: str | None, headers: Message) -> bool:
    """Whether an error status is worth retrying; the server's `x-should-retry` decides when present."""
    forced = (headers.get("x-should-retry") or "").strip().lower()
    if forced in ("true", "false"):
        return forced == "true"
    if code == "insufficient_quota":
        return False
    return status in (408, 409, 429) or status >= 500


def retry_after(headers: Message) -> float | None:
    """Seconds the server asked to wait, or None when it asked nothing usable (then: backoff).

    Negative, zero, NaN, a literal infinity, a date in the past and garbage are ignored, as the SDK
    ignores them. A number too large for a float (`1e999`) is a very long wait, not garbage: it is
    returned as infinity so that the caller's `max_retry_wait` refuses it.
    """
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            delay = float(value)
        except ValueError:
            continue
        if delay == math.inf and value.strip().lower() not in _INFINITY_LITERALS:
            return math.inf
        return _usable(delay / divisor)
    try:
        parsed = email.utils.parsedate_tz(headers.get("retry-after") or "")
        when = email.utils.mktime_tz(parsed) if parsed is not None else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return None if when is None else _usable(when - time.time())


def _usable(seconds: float) -> float | None:
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def backoff(attempt: int) -> float:
    """The SDK's wait before retry number `attempt + 1`: 0.5 s doubling to 8 s, minus up to 25 %."""
    delay = min(INITIAL_RETRY_DELAY * 2.0 ** min(attempt, 1000), MAX_RETRY_DELAY)
    return float(delay * (1 - 0.25 * random.random()))
