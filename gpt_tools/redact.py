"""The one place that knows this process's secrets and removes them from any text that leaves it.

A key can reach text in many ways: an http.client error quoting a bad header value, a server echoing
it in an error body or an SSE `error` event, a proxy's message. Rather than scrubbing at each of those
places with whatever the caller happens to know, every key is remembered here once, when it is
resolved, and every text bound for a terminal, the log file or the run log goes through `redact()`.
"""

from __future__ import annotations

import re
import threading

MASK = "***"
MIN_SECRET_LENGTH = 8  # shorter values (tests' "k", "x") would mask ordinary words
# Key shapes redacted even when the key was never remembered (a key in a server's echo of another one).
_KEY_SHAPES = re.compile(r"\b(?:sk-[A-Za-z0-9_-]{16,}|sess-[A-Za-z0-9]{20,})")

_secrets: set[str] = set()
_lock = threading.Lock()


def remember(secret: str | None) -> None:
    """Register a secret (an API key, a proxy password) so that `redact()` hides it from now on."""
    if not secret:
        return
    for value in {secret, secret.strip()}:
        if len(value) >= MIN_SECRET_LENGTH:
            with _lock:
                _secrets.add(value)


def redact(text: str) -> str:
    """`text` with every remembered secret and every OpenAI-shaped key replaced by `***`."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return _KEY_SHAPES.sub(MASK, text)


def forget_all() -> None:
    """For tests: start from no remembered secrets."""
    with _lock:
        _secrets.clear()
