"""How many requests concurrent workers keep in flight, learned from the server's 429s.

A server that allows only N requests at once answers the N+1st with 429 + Retry-After. A fixed `jobs`
above N turns every wave into N answers and a burst of 429s, each costing a retry (and, after
`max_retries`, a failed file). So the limit adapts, like TCP's congestion window:

- it starts at the configured ceiling (`jobs`), so a server without limits is never slowed down;
- each 429 lowers it to one less than the requests that were in flight when the server refused, which
  is exactly N after one refused wave, instead of halving (that would average only 3/4 of N); a lone
  429 after a full window of answers is taken for the server's count lagging, not for a smaller limit;
- the refused worker gives its slot back while it waits, so retries queue behind the new limit instead
  of storming the server again all at once;
- after `limit` answers in a row it grows by one, but not back to a level the server refused within
  `PROBE_AFTER` seconds: each probe costs a 429 and a shared pause.

The shared pause is the other half: a Retry-After is a limit the workers share, so one 429 pauses every
worker's next attempt once, instead of each burning its own retries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from gpt_tools.errors import Cancelled

PROBE_AFTER = 30.0  # seconds before trying again a concurrency the server refused


def sleep(seconds: float, cancel: threading.Event | None) -> None:
    """Sleep, or raise Cancelled as soon as `cancel` is set."""
    if cancel is None:
        time.sleep(max(0.0, seconds))
    elif cancel.wait(max(0.0, seconds)):
        raise Cancelled("cancelled")


class RateGate:
    """The limits concurrent requests to one server share: a pause after 429, and an adaptive concurrency."""

    def __init__(self, ceiling: int | None = None) -> None:
        self._cond = threading.Condition()
        self._not_before = 0.0
        self.ceiling = max(1, ceiling) if ceiling is not None else None  # None: no concurrency limit
        self.limit = self.ceiling or 0
        self._active = 0
        self._streak = 0  # answers since the limit last changed
        self._refused_level = 0  # the concurrency the server last refused...
        self._refused_at = -PROBE_AFTER  # ...and when
        self._holder = threading.local()
        self.sent = 0  # HTTP requests that went out through this gate, retries included (what front ends report)

    # -- the shared pause ---------------------------------------------------------------------------

    def pause(self, seconds: float) -> None:
        with self._cond:
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    def wait(self, cancel: threading.Event | None = None) -> None:
        """Return once no pause is in force (at once, usually)."""
        while True:
            with self._cond:
                remaining = self._not_before - time.monotonic()
                if remaining <= 0:  # every attempt passes here once, just before it is sent
                    self.sent += 1
                    return
            sleep(remaining, cancel)

    # -- the adaptive concurrency -------------------------------------------------------------------

    @property
    def active(self) -> int:
        with self._cond:
            return self._active

    @contextmanager
    def slot(self, cancel: threading.Event | None = None) -> Iterator[None]:
        """Hold one of the `limit` places for a whole request; a normal exit counts as an answer."""
        self._acquire(cancel)
        try:
            yield
        except BaseException:
            self._release()
            raise
        self._release(answered=True)

    def refused(self, wait: float, cancel: threading.Event | None = None) -> None:
        """A 429 for the calling worker: lower the limit, pause everyone, and wait without a slot."""
        with self._cond:
            # One refusal after a full window of answers at this limit is the server's count lagging
            # its last answer (a slot it frees just after we read the reply), not a smaller limit.
            lagging = self._active <= self.limit and self._streak >= self.limit
            if self.ceiling is not None and not lagging:
                self._refused_level = self._active
                self._refused_at = time.monotonic()
                self.limit = max(1, min(self.limit, self._active) - 1)
            self._streak = 0
        self.pause(wait)
        held = getattr(self._holder, "held", False)
        if held:
            self._release()  # retries queue behind the new limit instead of all hitting the server again
        sleep(wait, cancel)
        if held:
            self._acquire(cancel)

    def _acquire(self, cancel: threading.Event | None) -> None:
        with self._cond:
            while self.ceiling is not None and self._active >= self.limit:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled")
                self._cond.wait(0.1 if cancel is not None else None)
            self._active += 1
        self._holder.held = True

    def _release(self, *, answered: bool = False) -> None:
        """Give the calling thread's place back (nothing, if a cancelled wait left it without one)."""
        if not getattr(self._holder, "held", False):
            return
        self._holder.held = False
        with self._cond:
            self._active -= 1
            if answered and self.ceiling is not None:
                self._grow(self.ceiling)
            self._cond.notify_all()

    def _grow(self, ceiling: int) -> None:
        self._streak += 1
        if self._streak < self.limit or self.limit >= ceiling:
            return
        recently_refused = time.monotonic() - self._refused_at < PROBE_AFTER
        if recently_refused and self.limit + 1 >= self._refused_level:
            return
        self.limit += 1
        self._streak = 0
