"""A fake OpenAI server: real HTTP on loopback, scripted replies and faults, standard library only.

Tests, benchmarks and editor tests point real clients (the `openai` SDK, the project's own
http.client code, Vim/Neovim jobs) at it, so it speaks the wire format the real service speaks:
JSON bodies, SSE streams in chunked transfer encoding, OpenAI error shapes and headers.

In-process use::

    with FakeOpenAI() as server:
        server.script(Scripted(text="Hello."), Scripted(fault="429"))
        client = openai.OpenAI(base_url=server.url, api_key="test", max_retries=0)

Out-of-process use: ``python tests/fake_openai.py [--port 0] [--latency 0.5] [--exit-on-stdin-eof]
[--ttfb 0.3 --ms-per-token 12]`` prints its URL as the first stdout line; script it with POST /_fake/script,
read GET /_fake/requests and GET /_fake/state (uploads, files, vector stores), clear it with POST /_fake/reset.

Paced mode (`ttfb`, `ms_per_token`; also settable with POST /_fake/script): a model request waits
`ttfb` seconds before its first byte, then its output takes `ms_per_token` per output token (the
usage figure): all at once for a plain reply, spread over the text deltas of a stream. So a benchmark
sees a model's pace, and a short reply is faster than a long one, as against a real model.

Files, vector stores and file batches (/v1/files, /v1/vector_stores/...) live in fake_openai_files.py,
batches (/v1/batches) in fake_openai_batches.py.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

if not __package__:
    # Run as a script (or imported with tests/ on sys.path): make the `tests` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import fake_openai_wire as wire
from tests.fake_openai_batches import BatchStore
from tests.fake_openai_odd import odd_reply
from tests.fake_openai_wire import fix_typos

__all__ = ["FakeOpenAI", "RecordedRequest", "Scripted", "fix_typos", "main"]

MODEL_PATHS = {"/v1/responses": "responses", "/v1/chat/completions": "chat"}
_T = TypeVar("_T")


@dataclass
class Scripted:
    """One queued reply. `text=None` means: ask the server's responder."""

    text: str | None = None
    fault: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0

    def __post_init__(self) -> None:
        # A typo in a fault name would otherwise silently give a normal reply and a passing test.
        if self.fault is not None and self.fault not in wire.FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; known: {sorted(wire.FAULTS)}")


class _Headers(dict[str, str]):
    """Header names stored lower-cased (as HTTP/2 delivers them); lookups ignore case."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key.lower() if isinstance(key, str) else key)

    @overload
    def get(self, key: str, default: None = None, /) -> str | None: ...
    @overload
    def get(self, key: str, default: str, /) -> str: ...
    @overload
    def get(self, key: str, default: _T, /) -> str | _T: ...
    def get(self, key: str, default: Any = None, /) -> Any:
        return super().get(key.lower(), default)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or None when empty or not JSON


class FakeOpenAI(BatchStore):
    """The server. File state (FileStore): uploads, files, vector_stores, indexing_polls, forget_file();
    batches (BatchStore): batches, batch_polls."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        indexing_polls: int = 1,
        *,
        ttfb: float = 0.0,
        ms_per_token: float = 0.0,
    ) -> None:
        super().__init__(indexing_polls)
        self.host, self.port = host, port
        self.latency = latency
        self._initial_latency = latency
        self.ttfb, self.ms_per_token = ttfb, ms_per_token  # paced mode (see the module docstring)
        self._initial_pace = (ttfb, ms_per_token)
        self.responder: Callable[[str], str] = fix_typos
        self.requests: list[RecordedRequest] = []
        self._default_fault: str | None = None
        self._queue: collections.deque[Scripted] = collections.deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # A server that allows only this many model requests at once answers the rest 429 + Retry-After
        # (vLLM/LM Studio queues, a proxy's concurrency cap): what the hook's adaptive concurrency meets.
        self.max_in_flight: int | None = None
        self.limit_retry_after = 1.0
        self.in_flight = self.peak_in_flight = self.refused_over_limit = 0
        self.hung_up = 0  # model requests whose client closed the connection while a scripted delay held them
        self.held = 0  # model requests a scripted delay began to hold (hung_up counts those that ended early)
        self.tokens_written = self.tokens_read = 0  # usage figures of the replies sent (GET /_fake/stats)

    @property
    def default_fault(self) -> str | None:
        return self._default_fault

    @default_fault.setter
    def default_fault(self, fault: str | None) -> None:
        self._default_fault = Scripted(fault=fault).fault  # same validation as scripted faults

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not started")
        return f"http://{self.host}:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop promptly: wake sleeping handlers and drop open (keep-alive or streaming) sockets."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def script(self, *replies: Scripted) -> None:
        with self._lock:
            self._queue.extend(replies)

    def model_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and urlsplit(r.path).path in MODEL_PATHS]

    def reset(self) -> None:
        # Latency returns to the constructor's value so `--latency` survives a reset between runs; the
        # responder returns to fix_typos so a session-wide server does not leak one test's responder.
        with self._lock:
            self.responder = fix_typos
            self._queue.clear()
            self.requests.clear()
            self._default_fault = None
            self.latency = self._initial_latency
            self.ttfb, self.ms_per_token = self._initial_pace
            self.peak_in_flight = self.refused_over_limit = 0  # the limit itself stays, like --latency
            self.hung_up = self.held = 0
            self.tokens_written = self.tokens_read = 0
        self.reset_files()

    def enter(self) -> bool:
        """Count a model request in; False when it is over `max_in_flight` (answer it 429)."""
        with self._lock:
            if self.max_in_flight is not None and self.in_flight >= self.max_in_flight:
                self.refused_over_limit += 1
                return False
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def next_reply(self) -> Scripted:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            return Scripted(fault=self._default_fault)

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; False means: give up, the server is going away."""
        return seconds <= 0 or not self._stopping.wait(seconds)

    def control(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """The /_fake/* endpoints, so a server in another process can be scripted too."""
        if (answer := self.files_control(method, path, body)) is not None:
            return answer
        if method == "GET" and path == "/_fake/stats":
            with self._lock:
                stats = {"peak_in_flight": self.peak_in_flight, "refused_over_limit": self.refused_over_limit}
                stats.update(output_tokens=self.tokens_written, input_tokens=self.tokens_read)
            return 200, stats
        if method == "GET" and path == "/_fake/requests":
            with self._lock:
                return 200, [dataclasses.asdict(r) for r in self.requests]
        if method == "POST" and path == "/_fake/reset":
            self.reset()
            return 200, {"ok": True}
        if method == "POST" and path == "/_fake/script" and isinstance(body, dict):
            try:  # validate everything before changing anything
                replies = [Scripted(**r) for r in body.get("replies") or []]
                fault = Scripted(fault=body.get("default_fault", self.default_fault)).fault
                latency = float(body.get("latency", self.latency))
                polls = int(body.get("indexing_polls", self.indexing_polls))
                ttfb = float(body.get("ttfb", self.ttfb))
                ms_per_token = float(body.get("ms_per_token", self.ms_per_token))
            except (TypeError, ValueError) as err:
                return 400, wire.error_body(str(err), "invalid_request_error")
            self.script(*replies)
            self.default_fault, self.latency, self.indexing_polls = fault, latency, polls
            self.ttfb, self.ms_per_token = ttfb, ms_per_token
            return 200, {"ok": True, "queued": len(self._queue)}
        return 404, wire.error_body(f"Invalid URL ({method} {path})", "invalid_request_error")


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a sleeping "slow" handler must never keep the process alive
    request_queue_size = 64  # 8+ concurrent clients (the hook, chunked rewrites) must not overflow the backlog
    block_on_close = False

    def __init__(self, address: tuple[str, int], fake: FakeOpenAI) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-request (timeouts, cancelled runs) are what the tests provoke.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def drop_connections(self) -> None:
        with self._conn_lock:
            for conn in list(self._connections):
                with contextlib.suppress(OSError):  # already closed by the peer
                    conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so keep-alive and chunked streams behave as they do against the real service.
    protocol_version = "HTTP/1.1"
    server_version = "fake-openai/1.0"
    timeout = 60  # idle keep-alive connections eventually go away
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes; with Nagle on, the body waits for the client's
        # delayed ACK and every request on a kept-alive connection costs ~40 ms that no real server adds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        with contextlib.suppress(OSError):  # client went away first; nothing left to flush
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test and benchmark output clean

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return data
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _dispatch(self) -> None:
        raw = self._read_body()
        form = wire.parse_multipart(raw, self.headers.get("Content-Type", ""))
        try:
            body = wire.form_summary(form) if form is not None else json.loads(raw) if raw else None
        except ValueError:
            body = None
        url = urlsplit(self.path)
        path = url.path
        fake = self.server.fake
        if path.startswith("/_fake/"):
            self._send_json(*fake.control(self.command, path, body))
            return
        # Record first: a test must see the request even if the answer is a fault or never comes.
        headers = _Headers({k.lower(): v for k, v in self.headers.items()})
        fake.record(RecordedRequest(self.command, self.path, headers, body))
        if raw and body is None:
            msg = "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
            msg += "using your HTTP library correctly.)"
            self._send_json(400, wire.error_body(msg, "invalid_request_error"))
        elif (reply := fake.files_request(self.command, path, url.query, body, form)) is not None:
            status, payload, extra = reply
            if isinstance(payload, bytes):
                self._send_data(status, payload, "application/octet-stream", extra)
            else:
                self._send_json(status, payload, extra)
        elif self.command == "POST" and path in MODEL_PATHS:
            self._model(MODEL_PATHS[path], body)
        elif self.command == "GET" and path == "/v1/models":
            self._send_json(200, wire.models_list())
        elif self.command == "GET" and path.startswith("/v1/models/"):
            model = path.rsplit("/", 1)[1]
            found = [m for m in wire.models_list()["data"] if m["id"] == model]
            if found:
                self._send_json(200, found[0])
            else:
                msg = f"The model '{model}' does not exist"
                err = wire.error_body(msg, "invalid_request_error", "model_not_found", "model")
                self._send_json(404, err)
        else:
            msg = f"Invalid URL ({self.command} {path})"
            self._send_json(404, wire.error_body(msg, "invalid_request_error"))

    def _model(self, kind: str, body: Any) -> None:
        fake = self.server.fake
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            msg, code = "Missing required parameter: 'model'.", "missing_required_parameter"
            self._send_json(400, wire.error_body(msg, "invalid_request_error", code, "model"))
            return
        if (missing := fake.check_references(kind, body)) is not None:
            self._send_json(*missing)  # an unknown vector store or file: refused before any reply
            return
        if not fake.enter():
            msg = "Too many requests in flight; please retry."
            retry = {"Retry-After": f"{fake.limit_retry_after:g}"}
            self._send_json(429, wire.error_body(msg, "rate_limit_exceeded", "rate_limit_exceeded"), retry)
            return
        try:
            self._answer(kind, body)
        finally:
            fake.leave()

    def _answer(self, kind: str, body: Any) -> None:
        fake = self.server.fake
        reply = fake.next_reply()
        delay = reply.delay or (5.0 if reply.fault == "slow" else 0.0)
        if not (fake.sleep(fake.latency) and self._hold(delay)):
            self.close_connection = True  # stopping: hang up without an answer
            return
        composing = time.monotonic()
        if reply.fault in wire.ERROR_FAULTS:
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            retry = reply.retry_after if reply.retry_after is not None else 1.0
            status, err = wire.fault_error(reply.fault, body["model"], retry, key)
            extra = {"Retry-After": f"{retry:g}"} if reply.fault == "429" else {}
            self._send_json(status, err, extra)
            return
        try:
            text = reply.text if reply.text is not None else fake.responder(wire.user_text(kind, body))
            if reply.text is None and wire.wants_json_schema(kind, body):  # edits mode: the responder's fixes
                text = wire.edits_reply(*wire.edits_between(wire.user_text(kind, body), text))
        except Exception as err:  # a broken responder is a test bug: make it loud, not a hang
            self._send_json(500, wire.error_body(f"fake_openai responder failed: {err!r}", "server_error"))
            return
        plan = wire.make_plan(kind, body, text, reply.fault)
        with fake._lock:  # what a benchmark bills: the usage each reply reports
            fake.tokens_written += plan.output_tokens
            fake.tokens_read += plan.input_tokens
        cut = reply.fault == "cut"
        streamed = body.get("stream") is True and reply.fault not in wire.ODD_FAULTS
        # Paced mode: the first byte `ttfb` after the reply was begun, the fake's own work on it (the edits
        # responder's diff: ~0.1 s for 4 KB) included, as a server's prompt processing is; a plain reply also
        # waits for all its tokens to be "written".
        first_byte = max(0.0, fake.ttfb - (time.monotonic() - composing)) if fake.ttfb > 0 else 0.0
        if not fake.sleep(first_byte + (0.0 if streamed else plan.output_tokens * fake.ms_per_token / 1000)):
            self.close_connection = True
            return
        if reply.fault in wire.ODD_FAULTS:
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            self._send_odd(*odd_reply(reply.fault, plan, body.get("stream") is True, key))
        elif body.get("stream") is True:
            self._stream(plan, cut, reply.chunk_delay)
        elif kind == "responses":
            final = "incomplete" if plan.incomplete else "completed"
            self._send_json(200, wire.response_object(plan, final), cut=cut)
        else:
            self._send_json(200, wire.chat_completion(plan), cut=cut)

    def _common_headers(self, status: int, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("x-request-id", "req_" + uuid.uuid4().hex)
        self.send_header("openai-processing-ms", "12")

    def _send_json(self, status: int, payload: Any, extra: dict[str, str] | None = None, cut: bool = False) -> None:
        self._send_data(status, wire.dumps(payload), "application/json", extra, cut)

    def _send_data(
        self, status: int, data: bytes, content_type: str, extra: dict[str, str] | None = None, cut: bool = False
    ) -> None:
        self._common_headers(status, content_type)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        # "cut": promise the whole body, deliver half, hang up - a dropped connection mid-response.
        self._write(data[: len(data) // 2] if cut else data)
        if cut:
            self.close_connection = True

    def _send_odd(self, content_type: str, pieces: list[bytes]) -> None:
        """A 200 whose body is one of fake_openai_odd's broken replies (SSE: one HTTP chunk per event)."""
        if content_type.startswith("application/json"):
            self._send_data(200, b"".join(pieces), content_type)
            return
        self._common_headers(200, content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for piece in pieces:
            if not self._write(b"%X\r\n%s\r\n" % (len(piece), piece)):
                return
        self._write(b"0\r\n\r\n")

    def _stream(self, plan: wire.Plan, cut: bool, chunk_delay: float) -> None:
        """SSE in chunked encoding: one HTTP chunk per event, a final zero chunk unless cut."""
        self._common_headers(200, "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if plan.kind == "responses":
            events = [wire.sse(payload, kind) for kind, payload in wire.response_events(plan, cut)]
        else:
            events = [wire.sse(chunk) for chunk in wire.chat_chunks(plan, cut)]
            events += [] if cut else [wire.sse(b"[DONE]")]
        pace = _token_pace(plan, events, self.server.fake.ms_per_token)
        for index, event in enumerate(events):
            if index and not self.server.fake.sleep(chunk_delay + pace[index]):
                cut = True
                break
            if not self._write(b"%X\r\n%s\r\n" % (len(event), event)):
                return
        if cut:
            self.close_connection = True  # no zero chunk: the client sees a truncated body
        else:
            self._write(b"0\r\n\r\n")

    def _hold(self, seconds: float) -> bool:
        """A scripted delay that ends early, counted in `hung_up`, when the client closes the connection
        (a cancelled run must close it, not leave the server working and billing)."""
        fake = self.server.fake
        if seconds > 0:
            with fake._lock:
                fake.held += 1
        steps = max(1, int(seconds / 0.05))
        for _ in range(steps if seconds > 0 else 0):
            if not fake.sleep(seconds / steps):
                return False
            try:
                ready = select.select([self.connection], [], [], 0)[0]
                gone = bool(ready) and not self.connection.recv(1, socket.MSG_PEEK)
            except OSError:
                gone = True
            if gone:
                with fake._lock:
                    fake.hung_up += 1
                self.close_connection = True
                return False
        return True

    def _write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except OSError:  # the client hung up (e.g. closed the stream early)
            self.close_connection = True
            return False


def _token_pace(plan: wire.Plan, events: list[bytes], ms_per_token: float) -> list[float]:
    """Seconds to wait before each event: the reply's output time shared among the events by the
    characters of text they carry, so the stream ends when a model at that pace would end it."""
    if ms_per_token <= 0:
        return [0.0] * len(events)
    total = plan.output_tokens * ms_per_token / 1000
    sizes = [len(_delta_text(event)) for event in events]
    whole = sum(sizes) or 1
    return [total * size / whole for size in sizes]


def _delta_text(event: bytes) -> str:
    """The output text one SSE event carries (a chat delta's content/refusal, a Responses text delta)."""
    data = event.partition(b"data: ")[2]
    try:
        payload = json.loads(data)
    except ValueError:  # [DONE]
        return ""
    if not isinstance(payload, dict):
        return ""
    if payload.get("type") in ("response.output_text.delta", "response.refusal.delta"):
        return str(payload.get("delta") or "")
    choice = (payload.get("choices") or [{}])[0]
    delta = (choice.get("delta") or {}) if isinstance(choice, dict) else {}
    return str(delta.get("content") or delta.get("refusal") or "")


def _stdin_closed(timeout: float) -> bool:
    """Wait up to `timeout` seconds for stdin to reach end of file; True once it has.

    Polled from the main thread with select() and os.read() on the raw descriptor, never from a reader
    thread blocked in sys.stdin.buffer.read(): such a thread holds the BufferedReader's lock, and when a
    signal then ends the process CPython aborts at shutdown ("Fatal Python error: could not acquire lock
    for <stdin>"). Whatever the parent writes is read and dropped; a missing or broken stdin counts as
    closed, like a parent that went away.
    """
    try:
        fd = sys.stdin.fileno()
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable) and not os.read(fd, 65536)
    except (AttributeError, OSError, ValueError):  # stdin is None, closed, or not selectable
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake OpenAI server for tests and benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every model request waits")
    parser.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin closes")
    parser.add_argument("--indexing-polls", type=int, default=1, help="file batch polls before completion")
    parser.add_argument("--max-in-flight", type=int, help="answer model requests beyond this many at once with 429")
    parser.add_argument("--limit-retry-after", type=float, default=1.0, help="Retry-After of those 429s (seconds)")
    parser.add_argument("--ttfb", type=float, default=0.0, help="paced mode: seconds to a reply's first byte")
    parser.add_argument("--ms-per-token", type=float, default=0.0, help="paced mode: milliseconds per output token")
    args = parser.parse_args(argv)
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pace = {"ttfb": args.ttfb, "ms_per_token": args.ms_per_token}
    with FakeOpenAI(args.host, args.port, args.latency, args.indexing_polls, **pace) as server:
        server.max_in_flight, server.limit_retry_after = args.max_in_flight, args.limit_retry_after
        print(server.url, flush=True)
        while not done.is_set():
            # The parent keeps our stdin open while it lives, so its death (even SIGKILL) ends us too.
            if args.exit_on_stdin_eof:
                if _stdin_closed(0.5):
                    break
            else:
                done.wait(0.5)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
