"""Connections for transport.py: where a request goes (proxy, request target) and keep-alive reuse.

One connection per thread per (scheme, host, port, proxy) is kept open between requests, as the SDK's
httpx pool does: a hook fixing 40 files or a chunked rewrite would otherwise pay a TCP and TLS
handshake (and a CONNECT through a proxy) for every request. A connection is only given back once its
reply was read to the end; a cut, a cancel or an error status read halfway closes it instead.
"""

from __future__ import annotations

import base64
import http.client
import os
import select
import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from gpt_tools import redact
from gpt_tools.errors import UsageError

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class ConnectTimeout(TimeoutError):
    """The connect timeout ran out before the connection was made (TCP, a proxy's tunnel, the TLS
    handshake): unlike a read timeout, nothing was sent, and the host may be swallowing connections."""


def connect(conn: http.client.HTTPConnection) -> None:
    """Open conn's connection within its (connect) timeout; a timeout is a ConnectTimeout."""
    try:
        conn.connect()
    except TimeoutError as exc:  # socket.timeout: only the connect timeout applies until connect() returns
        conn.close()
        raise ConnectTimeout(f"timed out connecting after {conn.timeout:g} s (connect_timeout)") from exc


class ProxyRefused(OSError):
    """The proxy answered CONNECT with an error status (407: it wants credentials)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"the proxy refused the tunnel: HTTP {status} {reason}".strip())
        self.status = status


@dataclass(frozen=True, kw_only=True)
class Proxy:
    host: str
    port: int
    authorization: str | None = field(default=None, repr=False)  # "Basic …" from user:password@ in its URL


@dataclass(frozen=True, kw_only=True)
class Route:
    """Where a base URL's requests go, and how their targets are written."""

    scheme: str
    host: str
    port: int
    prefix: str  # the base URL's path, without its trailing slash
    query: str  # the base URL's query (Azure's api-version=...), added to every request
    proxy: Proxy | None

    @property
    def key(self) -> tuple[str, str, int, Proxy | None]:
        return self.scheme, self.host, self.port, self.proxy

    @property
    def forwarded(self) -> bool:
        """A plain-HTTP request through a proxy: sent to the proxy whole, not through a tunnel."""
        return self.proxy is not None and self.scheme == "http"

    def target(self, path: str) -> str:
        """The request target for `path`: base path + path, with the base URL's query merged in."""
        path, _, own = path.partition("?")
        mine = {name for name, _ in parse_qsl(own, keep_blank_values=True)}
        base = "&".join(item for item in self.query.split("&") if item and unquote(item.partition("=")[0]) not in mine)
        query = "&".join(part for part in (base, own) if part)
        target = self.prefix + path + (f"?{query}" if query else "")
        if not self.forwarded:
            return target
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}{'' if self.port == 80 else f':{self.port}'}{target}"

    def proxy_headers(self) -> dict[str, str]:
        """Proxy-Authorization for a forwarded request (a tunnel sends it with CONNECT instead)."""
        if self.forwarded and self.proxy is not None and self.proxy.authorization:
            return {"Proxy-Authorization": self.proxy.authorization}
        return {}


def route(base_url: str) -> Route:
    parts = urlsplit(base_url)
    scheme = parts.scheme.lower() or "http"
    host = parts.hostname or "localhost"
    port = parts.port or (443 if scheme == "https" else 80)
    proxy = proxy_for(scheme, host, port)
    return Route(scheme=scheme, host=host, port=port, prefix=parts.path.rstrip("/"), query=parts.query, proxy=proxy)


def proxy_for(scheme: str, host: str, port: int) -> Proxy | None:
    """The proxy for this scheme from the environment, as urllib reads it (NO_PROXY: `*`, suffixes,
    host:port entries); loopback is never proxied. Credentials in the proxy URL become a Basic
    Proxy-Authorization and are remembered as secrets."""
    if host in _LOOPBACK or not any(name.lower() == f"{scheme}_proxy" for name in os.environ):
        return None
    import urllib.request  # only now: most runs have no proxy, and the import costs a Vim filter ~6 ms

    proxies = urllib.request.getproxies_environment()
    value = proxies.get(scheme)
    # Not in typeshed, but in every CPython since 2.x: the NO_PROXY rules urllib and requests apply.
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if not value or bypass(f"{host}:{port}", proxies):
        return None
    parts = urlsplit(value if "://" in value else "http://" + value)
    # An https:// proxy URL is spoken to in plain HTTP, as urllib does; SOCKS is not spoken at all.
    if parts.scheme.lower() not in ("http", "https"):
        raise UsageError(f"{scheme.upper()}_PROXY: {parts.scheme} proxies are not supported, only HTTP proxies")
    authorization = None
    if parts.username is not None:
        user, password = unquote(parts.username), unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        for secret in (password, parts.password, token, value):
            redact.remember(secret)
        authorization = f"Basic {token}"
    return Proxy(host=parts.hostname or value, port=parts.port or 80, authorization=authorization)


class _Plain(http.client.HTTPConnection):
    """Connects within the connect timeout, then waits up to the (longer) read timeout per read."""

    read_timeout: float = 300.0

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)


class _TLS(http.client.HTTPSConnection):
    read_timeout: float = 300.0
    tunnel_to: tuple[str, int] = ("", 0)
    tunnel_headers: dict[str, str] | None = None

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)

    def _tunnel(self) -> None:
        """CONNECT through the proxy, with a typed error for a refusal (http.client's is only text)."""
        host, port = self.tunnel_to
        lines = [f"CONNECT {host}:{port} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{name}: {value}" for name, value in (self.tunnel_headers or {}).items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        response = http.client.HTTPResponse(self.sock, method="CONNECT")
        try:
            response.begin()
            if response.status != 200:
                self.close()
                raise ProxyRefused(response.status, response.reason)
        finally:
            response.close()


Connection = _Plain | _TLS


class _Idle(threading.local):
    def __init__(self) -> None:
        self.connections: dict[tuple[str, str, int, Proxy | None], Connection] = {}


_idle = _Idle()


def checkout(where: Route, connect_timeout: float, read_timeout: float, *, fresh: bool) -> tuple[Connection, bool]:
    """This thread's idle connection for the route (and True), or a new unconnected one (and False)."""
    conn = None if fresh else _idle.connections.pop(where.key, None)
    if conn is not None and (conn.sock is None or _dropped(conn.sock)):
        conn.close()
        conn = None
    reused = conn is not None
    if conn is None:
        conn = _new(where)
    conn.timeout = connect_timeout
    conn.read_timeout = read_timeout
    if conn.sock is not None:
        conn.sock.settimeout(read_timeout)
    return conn, reused


def _new(where: Route) -> Connection:
    host, port = (where.proxy.host, where.proxy.port) if where.proxy is not None else (where.host, where.port)
    if where.scheme != "https":
        return _Plain(host, port)
    conn = _TLS(host, port)
    if where.proxy is not None:
        auth = where.proxy.authorization
        conn.tunnel_to, conn.tunnel_headers = (where.host, where.port), {"Proxy-Authorization": auth} if auth else {}
        conn.set_tunnel(where.host, where.port)  # makes http.client call _tunnel() before the TLS handshake
    return conn


def checkin(where: Route, conn: Connection) -> None:
    """Keep a connection whose reply was read to the end for this thread's next request."""
    if conn.sock is None:  # the server said Connection: close
        conn.close()
        return
    previous = _idle.connections.get(where.key)
    if previous is not None and previous is not conn:
        previous.close()
    _idle.connections[where.key] = conn


def _dropped(sock: socket.socket) -> bool:
    """An idle connection with something to read has been closed by the server (or is out of step)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
