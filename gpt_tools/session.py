"""What concurrent runs share: a bound on requests in flight, one rate-limit pause, the result cache.

When the server answers 429 with Retry-After, every worker waits before its next request, instead of
each burning its own retries against a limit they all share.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .cache import ResultCache
from .transport import RateGate


@dataclass
class Session:
    """Share one Session between runs that should share limits (the pre-commit hook does)."""

    jobs: int = 8
    cache: ResultCache | None = None
    gate: RateGate = field(default_factory=RateGate)
    _slots: threading.BoundedSemaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(max(1, self.jobs))

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._slots:
            yield
