"""A raw HTTP/1.1 server and a CONNECT proxy on loopback, for the transport's wire-level tests.

FakeOpenAI speaks the API; these speak bytes: any status, any header (`Retry-After: NaN`), a body cut
short, a kept-alive connection the server drops, and they count the TCP connections and CONNECTs they
accept, which is how reuse is proven.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

OK_BODY = b'{"object": "response", "status": "completed"}'


@dataclass(kw_only=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = OK_BODY
    cut: bool = False  # promise the whole body, send half, hang up
    drop_after: bool = False  # answer, then close the kept-alive connection without saying so
    hang_up: bool = False  # read the request, close without answering (a keep-alive race lost)
    delay: float = 0.0  # seconds before answering
    chunked: bool = False  # send the body in chunked encoding, one chunk per line


@dataclass(kw_only=True)
class Seen:
    method: str
    target: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


def _read_head(reader: BinaryIO) -> tuple[str, dict[str, str]] | None:
    line = reader.readline()
    if not line:
        return None
    headers: dict[str, str] = {}
    while (raw := reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return line.decode("latin-1").strip(), headers


class _Loopback:
    """A listening socket with one thread per accepted connection."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.connections = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._stopping = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # head and body go out as two writes
            with self._lock:
                self.connections += 1
                self._open.append(conn)
            threading.Thread(target=self._serve_safely, args=(conn,), daemon=True).start()

    def _serve_safely(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ssl.SSLError), conn:
            self.serve(conn)

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._stopping.set()
        self._listener.close()
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Loopback:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class ScriptedServer(_Loopback):
    """Answers requests from a script (then 200 OK_BODY), keeping connections alive between them."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[Seen] = []
        self._script: deque[Answer] = deque()
        self._tls = tls
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *answers: Answer) -> None:
        self._script.extend(answers)

    def serve(self, conn: socket.socket) -> None:
        if self._tls is not None:
            conn = self._tls.wrap_socket(conn, server_side=True)  # detaches the plain socket
        with conn:
            self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        while (head := _read_head(reader)) is not None:
            request_line, headers = head
            method, target, _ = request_line.split(" ", 2)
            body = reader.read(int(headers.get("content-length") or 0))
            self.requests.append(Seen(method=method, target=target, headers=headers, body=body))
            answer = self._script.popleft() if self._script else Answer()
            if answer.hang_up or self._stopping.wait(answer.delay):
                return
            body = answer.body[: len(answer.body) // 2] if answer.cut else answer.body
            framing = "Transfer-Encoding: chunked" if answer.chunked else f"Content-Length: {len(answer.body)}"
            lines = [f"HTTP/1.1 {answer.status} Scripted", framing]
            lines += [f"{name}: {value}" for name, value in answer.headers.items()]
            conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            if answer.chunked:
                for line in body.splitlines(keepends=True):
                    conn.sendall(b"%X\r\n%s\r\n" % (len(line), line))
                body = b"" if answer.cut else b"0\r\n\r\n"
            conn.sendall(body)
            if answer.cut or answer.drop_after:
                conn.shutdown(socket.SHUT_RDWR)
                return


class ConnectProxy(_Loopback):
    """An HTTPS proxy: CONNECT to any host goes to `upstream`; wrong Proxy-Authorization gets a 407."""

    def __init__(self, upstream: int, authorization: str | None = None) -> None:
        self.upstream = upstream
        self.authorization = authorization
        self.connects: list[Seen] = []
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        head = _read_head(reader)
        if head is None:
            return
        request_line, headers = head
        method, target, _ = request_line.split(" ", 2)
        self.connects.append(Seen(method=method, target=target, headers=headers, body=b""))
        if self.authorization is not None and headers.get("proxy-authorization") != self.authorization:
            conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            return
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with socket.create_connection(("127.0.0.1", self.upstream)) as upstream:
            pump = threading.Thread(target=_pipe, args=(upstream, conn), daemon=True)
            pump.start()
            _pipe(conn, upstream)
            pump.join(5)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)


def self_signed(folder: Path, host: str) -> tuple[Path, ssl.SSLContext]:
    """A certificate for `host` (the CA file clients trust) and a server context holding it."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={host}",
         "-addext", f"subjectAltName=DNS:{host}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context
