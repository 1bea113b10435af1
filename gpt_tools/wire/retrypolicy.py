"""When a failed request is worth another try, and how long to wait first: the openai SDK's rules.

Held to `openai._base_client` (`_should_retry`, `_parse_retry_after_header`, `_calculate_retry_timeout`):
408, 409, 429 and every 5xx are retried unless `x-should-retry` says otherwise; the wait is what the
server asked for (retry-after-ms, Retry-After in seconds or as an HTTP date) when that is a sensible
positive number, else exponential backoff with jitter. One deliberate difference: a 429 for an exhausted
quota is not retried (it never succeeds on retry); `x-should-retry: true` still wins.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from email.message import Message

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
_INFINITY_LITERALS = frozenset({"inf", "+inf", "infinity", "+infinity"})


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
