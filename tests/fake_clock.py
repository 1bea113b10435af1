"""Retry waits asked for, not spent: a clock the transport's and the rate gate's sleeps advance at once.

Backoff and Retry-After tests assert *which* waits were asked for; spending them (0.5 s, 1 s, ... per
retry) only makes the suite slow. FakeClock replaces `gpt_tools.wire.transport._sleep`,
`gpt_tools.wire.ratelimit.sleep` and the rate gate's clock: each sleep is recorded and moves the
clock on by that much, so a shared 429 pause is over as soon as it has been "waited". A cancel that is
already set still cancels the sleep, as the real ones do.
"""

from __future__ import annotations

import threading
import time
import types

import pytest

from gpt_tools.errors import Cancelled
from gpt_tools.wire import ratelimit, transport


class FakeClock:
    def __init__(self) -> None:
        self.waits: list[float] = []  # every sleep asked for, in order
        self._offset = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return time.monotonic() + self._offset

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled")
        with self._lock:
            self.waits.append(seconds)
            self._offset += max(0.0, seconds)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(transport, "_sleep", self.sleep)
        monkeypatch.setattr(ratelimit, "sleep", self.sleep)
        # The gate reads its clock as `time.monotonic()`: its module gets a `time` that reads this clock.
        monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(monotonic=self.monotonic, sleep=self.sleep))
