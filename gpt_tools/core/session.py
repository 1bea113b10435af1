"""What concurrent runs share: the server's limits (an adaptive concurrency and a 429 pause) and the result cache.

When the server answers 429 with Retry-After, every worker waits before its next request, instead of
each burning its own retries against a limit they all share, and the number of requests in flight
drops to what the server accepts (see ratelimit.py).
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from gpt_tools.config.definitions import Settings
from gpt_tools.state.cache import ResultCache
from gpt_tools.wire.ratelimit import RateGate


@dataclass
class Session:
    """Share one Session between runs that should share limits (the pre-commit hook does)."""

    jobs: int = Settings.jobs  # the most requests in flight; fewer while the server refuses more
    cache: ResultCache | None = None
    gate: RateGate = field(init=False)

    def __post_init__(self) -> None:
        self.gate = RateGate(ceiling=self.jobs)

    def slot(self, cancel: threading.Event | None = None) -> AbstractContextManager[None]:
        return self.gate.slot(cancel)
