"""The adaptive concurrency: it learns a server's limit from 429s, never stalls, and is cancellable."""

from __future__ import annotations

import threading
import time

import pytest

import gpt_tools
from gpt_tools.core.session import Session
from gpt_tools.errors import Cancelled
from gpt_tools.wire import ratelimit
from gpt_tools.wire.ratelimit import RateGate

from .fake_clock import FakeClock
from .fake_openai import FakeOpenAI


def test_one_refused_wave_sets_the_limit_to_what_the_server_took() -> None:
    """Ten in flight, the server takes four: the six refusals, in any order, leave the limit at four."""
    gate = RateGate(ceiling=10)
    everyone_in = threading.Barrier(10)
    finish = threading.Event()
    limits_while_waiting: list[int] = []

    def worker(refuse: bool) -> None:
        with gate.slot():
            everyone_in.wait(5)
            if refuse:
                gate.refused(0.0)  # gives the place back, then waits for one under the new limit
            else:
                finish.wait(5)

    threads = [threading.Thread(target=worker, args=(i >= 4,)) for i in range(10)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while (gate.limit, gate.active) != (4, 4) and time.monotonic() < deadline:
        time.sleep(0.01)
    limits_while_waiting.append(gate.limit)
    limits_while_waiting.append(gate.active)  # only the four the server took hold a place
    finish.set()
    for thread in threads:
        thread.join(5)
    assert limits_while_waiting == [4, 4]
    assert gate.active == 0


def test_refused_worker_waits_without_its_slot_and_gets_one_back() -> None:
    gate = RateGate(ceiling=2)
    seen: list[int] = []
    with gate.slot():
        gate.refused(0.0)  # limit 2 -> 1 (two were not in flight: one was)
        seen.append(gate.active)
    assert seen == [1]
    assert gate.active == 0
    assert gate.limit == 1


def test_limit_grows_back_after_a_streak_but_not_to_a_level_just_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = RateGate(ceiling=8)
    gate.limit, gate._refused_level, gate._refused_at = 3, 5, time.monotonic()
    for _ in range(10):
        with gate.slot():
            pass
    assert gate.limit == 4  # 4 < 5, the level refused: allowed; 5 is not, within PROBE_AFTER
    monkeypatch.setattr(ratelimit, "PROBE_AFTER", 0.0)
    for _ in range(10):
        with gate.slot():
            pass
    assert gate.limit == 6  # long enough ago: probing resumes, a step per `limit` answers
    for _ in range(100):
        with gate.slot():
            pass
    assert gate.limit == 8  # never above the configured ceiling


def test_waiting_for_a_slot_is_cancellable() -> None:
    gate = RateGate(ceiling=1)
    cancel = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with gate.slot(cancel):
                pass
        except Cancelled as exc:
            errors.append(exc)

    with gate.slot():
        thread = threading.Thread(target=second)
        thread.start()
        cancel.set()
        thread.join(5)
    assert not thread.is_alive()
    assert len(errors) == 1
    assert gate.active == 0


def test_a_cancelled_retry_wait_leaves_the_count_right() -> None:
    gate = RateGate(ceiling=2)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled), gate.slot():
        gate.refused(5.0, cancel)
    assert gate.active == 0


def test_runs_against_a_server_limited_to_three_all_succeed(api: FakeOpenAI) -> None:
    """Twelve runs sharing one session with jobs=10 against a server that takes three at once."""
    api.max_in_flight, api.limit_retry_after, api.latency = 3, 0.05, 0.2
    session = Session(jobs=10)
    results: list[str] = []
    errors: list[BaseException] = []

    def one(index: int) -> None:
        try:
            results.append(gpt_tools.run("Summarizer", f"Text number {index}.", session=session).text)
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        api.max_in_flight = None
    assert errors == []
    assert len(results) == 12
    assert session.gate.limit == 3  # learned from the refusals, not stuck at 1 nor back at 10


def test_a_429_pause_is_waited_once_by_the_refused_worker_and_not_again(waits: FakeClock) -> None:
    gate = RateGate(ceiling=4)
    with gate.slot():
        gate.refused(2.0)
    gate.wait()  # the pause is over: the refused worker already waited it out
    assert waits.waits == [2.0]
    gate.pause(3.0)
    gate.wait()  # a worker arriving during a pause waits what is left of it
    assert waits.waits[1:] and 2.9 <= waits.waits[1] <= 3.0
