"""An in-process backend that answers from a script (like llm's fake model), for pipeline and guard tests.

FakeOpenAI is the place to test the wire: real HTTP, real SSE, faults on the socket. A test about what the
pipeline does with a reply (guards, protection, chunks, the cache, refusals, cancel) needs none of that:
ScriptedBackend is registered as a backend like any third-party one (`gpt_tools.backends.register`), takes
every request the pipeline sends, records it, and answers from a queue of scripted replies, or from its
responder once the queue is empty. A fault is an exception the backend raises, as a real one would.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gpt_tools.backends import BackendRequest, Reply, Usage
from gpt_tools.errors import Cancelled
from gpt_tools.wire.backends.base import DeltaHook, ReplyStatus
from gpt_tools.wire.transport import Endpoint, RetryHook

NAME = "scripted"


@dataclass(frozen=True, kw_only=True)
class Say:
    """One scripted reply. `text=None` asks the responder for the text (so a fix can follow the request);
    `fault` is raised instead of replying; `hold` makes the reply wait until the run is cancelled (or
    `release` is set), as a reply still in flight does."""

    text: str | None = None
    status: ReplyStatus = "completed"
    reason: str | None = None
    usage: Usage = field(default_factory=lambda: Usage(input_tokens=10, output_tokens=10))
    model: str = "scripted-model"
    response_id: str | None = None
    request_id: str | None = None
    fault: BaseException | None = None
    hold: bool = False


def fix_typos(text: str) -> str:
    """The default responder: the one fix every test document needs."""
    return text.replace("teh", "the")


@dataclass
class ScriptedBackend:
    """Answers each request with the next scripted reply; records what it was sent."""

    responder: Callable[[BackendRequest], str | Say] = field(default=lambda request: fix_typos(request.text))
    requests: list[BackendRequest] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    _queue: deque[Say] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *replies: Say | str | BaseException) -> None:
        """Queue replies in the order requests will take them (a str is a completed reply's text)."""
        for reply in replies:
            if isinstance(reply, BaseException):
                self._queue.append(Say(fault=reply))
            else:
                self._queue.append(Say(text=reply) if isinstance(reply, str) else reply)

    @property
    def texts(self) -> list[str]:
        """The user text of every request, in the order they arrived."""
        return [request.text for request in self.requests]

    def complete(
        self,
        request: BackendRequest,
        endpoint: Endpoint,
        *,
        on_delta: DeltaHook | None = None,
        on_retry: RetryHook | None = None,
        cancel: threading.Event | None = None,
    ) -> Reply:
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled")  # as the transport does: a cancelled run sends nothing more
        with self._lock:
            self.requests.append(request)
            self.endpoints.append(endpoint)
            queued = self._queue.popleft() if self._queue else None
        self.arrived.release()
        say = queued or self._answer(request)
        if say.hold:
            self._wait(cancel)
        if say.fault is not None:
            raise say.fault
        text = say.text if say.text is not None else self._text(request)
        if on_delta is not None and text:
            on_delta(text)
        return Reply(
            text=text,
            status=say.status,
            reason=say.reason,
            usage=say.usage,
            model=say.model,
            response_id=say.response_id,
            request_id=say.request_id,
        )

    def _answer(self, request: BackendRequest) -> Say:
        answer = self.responder(request)
        return Say(text=answer) if isinstance(answer, str) else answer

    def _text(self, request: BackendRequest) -> str:
        answer = self.responder(request)
        return answer if isinstance(answer, str) else answer.text or ""

    def _wait(self, cancel: threading.Event | None) -> None:
        # What the transport does with a reply in flight: the cancel event reaches it, and it gives up.
        while not self.release.is_set():
            if cancel is not None and cancel.wait(0.01):
                raise Cancelled("cancelled")
            self.release.wait(0.01)
