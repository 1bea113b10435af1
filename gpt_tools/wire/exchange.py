"""One request on a kept-alive connection, the open reply it gives, and the watch that cancels it.

Split from transport.py, which decides what to send and what to retry; this is the part that owns a
connection from checkout (connections.py) until it is given back or closed.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Callable
from email.message import Message

from gpt_tools.wire import connections
from gpt_tools.wire.connections import Route

_DRAIN_BYTES = 64 * 1024
_DRAIN_SECONDS = 0.25


class CancelWatch:
    """Shuts a request's socket down when the caller cancels, so a blocked read returns at once.

    Without it, a cancelled run would sit in getresponse() until the server answered or the read
    timeout ran out (minutes), holding a worker thread of the editor.
    """

    def __init__(self, sock: socket.socket, cancel: threading.Event) -> None:
        self._done = threading.Event()
        self._lock = threading.Lock()  # once stop() returns the socket is never shut: it may be reused
        self._sock, self._cancel = sock, cancel
        threading.Thread(target=self._watch, daemon=True, name="gpt-tools-cancel").start()

    def _watch(self) -> None:
        while not self._done.is_set():
            if self._cancel.wait(0.05):
                with self._lock, contextlib.suppress(OSError):
                    if not self._done.is_set():
                        self._sock.shutdown(socket.SHUT_RDWR)
                return

    def stop(self) -> None:
        with self._lock:
            self._done.set()


class Response:
    """An open 2xx reply: status, headers, x-request-id and body.

    A non-streamed body is read whole inside the retry loop (a cut one is retried); `read()` returns
    it. A stream is read with `readline()`. `close()` gives a connection whose reply was read to the
    end back for reuse, and closes any other (cut, cancelled, abandoned halfway).
    """

    def __init__(
        self,
        raw: http.client.HTTPResponse,
        conn: connections.Connection,
        where: Route,
        watch: CancelWatch | None,
        cancel: threading.Event | None,
    ) -> None:
        self.status: int = raw.status
        self.headers: Message = raw.headers
        self.request_id: str | None = raw.getheader("x-request-id")
        self.body: bytes | None = None
        self._raw, self._conn, self._where, self._watch, self._cancel = raw, conn, where, watch, cancel
        self._broken = self._closed = False

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self._raw.getheader(name, default)

    def read(self) -> bytes:
        return self.body if self.body is not None else self._guard(self._raw.read)

    def readline(self) -> bytes:
        return self._guard(self._raw.readline)

    def _guard(self, read: Callable[[], bytes]) -> bytes:
        try:
            return read()
        except BaseException:
            self._broken = True  # http.client marks a response closed after a short read, too
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._watch is not None:
            self._watch.stop()
        cancelled = self._cancel is not None and self._cancel.is_set()
        complete = not cancelled and not self._broken and self._drained()
        self._raw.close()
        if complete:
            connections.checkin(self._where, self._conn)
        else:
            self._conn.close()  # never reuse a connection that was cut, cancelled or left halfway

    def _drained(self) -> bool:
        """Whether the reply was read to its end, reading a little that is left first.

        Callers stop reading a stream at its terminal event, before the chunked encoding's last
        (empty) chunk, which follows at once: without this no streamed reply would free its
        connection. More than a little left, or a wait, and the connection is not worth keeping.
        """
        sock, left = self._conn.sock, _DRAIN_BYTES
        try:
            if not self._raw.isclosed() and sock is not None:
                sock.settimeout(_DRAIN_SECONDS)  # checkout() sets the read timeout again on reuse
            while not self._raw.isclosed() and left > 0 and (data := self._raw.read(min(left, 16384))):
                left -= len(data)
        except (OSError, http.client.HTTPException):
            return False
        return self._raw.isclosed()  # http.client closes a response at the end of its body


def exchange(
    where: Route, timeouts: tuple[float, float], request: tuple[str, str, bytes | None, dict[str, str]],
    cancel: threading.Event | None,
) -> tuple[connections.Connection, http.client.HTTPResponse, CancelWatch | None]:  # fmt: skip
    """Send one request and read the head of its reply.

    A kept-alive connection the server had already closed (RemoteDisconnected, a reset or broken pipe
    on reuse) is tried once more on a fresh connection: this does not count as a retry.
    """
    for fresh in (False, True):
        conn, reused = connections.checkout(where, *timeouts, fresh=fresh)
        watch: CancelWatch | None = None
        try:
            if conn.sock is None:
                connections.connect(conn)  # a timeout here is a ConnectTimeout: nothing was sent
            if cancel is not None:
                watch = CancelWatch(conn.sock, cancel)
            method, target, body, headers = request
            conn.request(method, target, body=body, headers=headers)
            return conn, conn.getresponse(), watch
        except (ConnectionResetError, BrokenPipeError) as exc:  # RemoteDisconnected is a ConnectionResetError
            _abandon(conn, watch)
            if not reused or (cancel is not None and cancel.is_set()):
                raise exc from None
        except BaseException:
            _abandon(conn, watch)
            raise
    raise AssertionError("unreachable")


def _abandon(conn: connections.Connection, watch: CancelWatch | None) -> None:
    if watch is not None:
        watch.stop()
    conn.close()
