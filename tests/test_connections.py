"""connections.py: keep-alive reuse, proxies (CONNECT with credentials, forwarded HTTP), request targets."""

from __future__ import annotations

import base64
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpt_tools import ApiError, Cancelled, UsageError, redact
from gpt_tools.wire import transport
from gpt_tools.wire.connections import route
from gpt_tools.wire.transport import Endpoint, RetryNotice
from tests.fake_openai import FakeOpenAI
from tests.scripted_http import Answer, ConnectProxy, ScriptedServer, self_signed

KEY = "sk-proj-Abc123Def456Ghi789Jkl0"
BODY = {"model": "m", "input": "teh", "stream": False}
ORIGIN = "api.example.test"  # never resolved: the proxy is the only way there


@pytest.fixture
def wire() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


def _endpoint(url: str, **overrides: object) -> Endpoint:
    settings: dict[str, object] = {"base_url": url, "api_key": KEY, "max_retries": 2}
    settings.update(overrides)
    return Endpoint(**settings)  # type: ignore[arg-type]


def _post(endpoint: Endpoint, notices: list[RetryNotice] | None = None) -> dict[str, object]:
    hook = notices.append if notices is not None else None
    return transport.read_json(transport.post(endpoint, "/responses", BODY, stream=False, on_retry=hook))


def test_one_connection_is_reused_for_a_thread(wire: ScriptedServer) -> None:
    endpoint = _endpoint(wire.url)
    for _ in range(3):
        _post(endpoint)
    wire.script(Answer(status=400, body=b'{"error": {"message": "no"}}'))
    with pytest.raises(ApiError):
        _post(endpoint)  # an error status read to the end keeps the connection too
    assert transport.fetch(endpoint, "/files/f/content") == b'{"object": "response", "status": "completed"}'
    assert (len(wire.requests), wire.connections) == (5, 1)


def test_each_thread_has_its_own_connection(wire: ScriptedServer) -> None:
    endpoint = _endpoint(wire.url)
    _post(endpoint)
    worker = threading.Thread(target=lambda: [_post(endpoint) for _ in range(2)])
    worker.start()
    worker.join()
    _post(endpoint)
    assert (len(wire.requests), wire.connections) == (4, 2)


def test_a_stream_left_at_its_last_event_frees_its_connection(wire: ScriptedServer) -> None:
    endpoint = _endpoint(wire.url)
    sse = b'event: delta\ndata: {"d": 1}\n\nevent: done\ndata: {}\n\n'
    for _ in range(3):
        wire.script(Answer(body=sse, chunked=True, headers={"Content-Type": "text/event-stream"}))
        response = transport.post(endpoint, "/responses", {**BODY, "stream": True}, stream=True)
        for event, _data in transport.iter_sse(response):
            if event == "done":
                break  # as the backends stop at a terminal event, before the last chunk
    assert (len(wire.requests), wire.connections) == (3, 1)


def test_a_connection_the_server_dropped_is_replaced_without_a_retry(wire: ScriptedServer) -> None:
    endpoint = _endpoint(wire.url)
    wire.script(Answer(drop_after=True))  # closed while idle: seen before sending
    _post(endpoint)
    notices: list[RetryNotice] = []
    _post(endpoint, notices)
    wire.script(Answer(hang_up=True))  # closed as the request arrives: RemoteDisconnected on reuse
    _post(endpoint, notices)
    assert notices == []
    assert (len(wire.requests), wire.connections) == (4, 3)


def test_a_fresh_connection_hung_up_on_is_an_ordinary_retry(wire: ScriptedServer) -> None:
    wire.script(Answer(hang_up=True))
    notices: list[RetryNotice] = []
    _post(_endpoint(wire.url), notices)
    assert len(notices) == 1 and "cannot reach" in notices[0].reason


def test_cut_cancelled_or_abandoned_connections_are_not_reused(wire: ScriptedServer) -> None:
    endpoint = _endpoint(wire.url, max_retries=0)
    _post(endpoint)
    wire.script(Answer(body=b"data: x\n" * 20_000))
    response = transport.post(endpoint, "/responses", {**BODY, "stream": True}, stream=True)
    response.readline()
    response.close()  # left with much unread: not worth draining
    _post(endpoint)
    wire.script(Answer(delay=30))
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    with pytest.raises(Cancelled):  # on a reused connection: the watch still shuts its socket
        transport.post(endpoint, "/responses", BODY, stream=False, cancel=cancel)
    _post(endpoint)
    wire.script(Answer(cut=True), Answer())
    _post(_endpoint(wire.url, max_retries=1))  # the cut try is retried on a new connection
    assert (len(wire.requests), wire.connections) == (7, 4)


@pytest.mark.parametrize(
    ("base", "path", "target"),
    [
        ("/v1?api-version=2024-10-21", "/responses", "/v1/responses?api-version=2024-10-21"),
        ("/v1/?api-version=1", "/files?limit=100&after=f", "/v1/files?api-version=1&limit=100&after=f"),
        ("/v1?limit=5&api-version=1", "/files?limit=100", "/v1/files?api-version=1&limit=100"),
        ("/v1", "/files?limit=100", "/v1/files?limit=100"),
    ],
)
def test_the_base_urls_query_goes_with_every_request(base: str, path: str, target: str) -> None:
    assert route("http://127.0.0.1:1" + base).target(path) == target


def test_azure_style_api_version_reaches_the_server(fake: FakeOpenAI) -> None:
    endpoint = _endpoint(fake.url + "?api-version=2024-10-21")
    transport.read_json(transport.post(endpoint, "/responses", BODY, stream=False))
    assert transport.probe(endpoint) == 200
    assert [r.path for r in fake.requests] == [f"/v1/{p}?api-version=2024-10-21" for p in ("responses", "models")]


@pytest.fixture
def tls_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedServer]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl (to make a test certificate) not installed")
    cert, context = self_signed(tmp_path, ORIGIN)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client's default context trusts only it
    with ScriptedServer(tls=context) as origin:
        yield origin


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_https_through_a_proxy_with_credentials_tunnels_once(
    tls_origin: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ConnectProxy(tls_origin.port, authorization=_basic("me", "p@ss word!")) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://me:p%40ss%20word%21@127.0.0.1:{proxy.port}")
        endpoint = _endpoint(f"https://{ORIGIN}/v1")
        _post(endpoint)
        _post(endpoint)
        assert [(seen.method, seen.target) for seen in proxy.connects] == [("CONNECT", f"{ORIGIN}:443")]
    assert [seen.target for seen in tls_origin.requests] == ["/v1/responses"] * 2
    assert "proxy-authorization" not in tls_origin.requests[0].headers  # the origin never sees it
    assert tls_origin.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_a_proxy_refusing_credentials_is_a_clear_error_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    with ConnectProxy(1, authorization=_basic("me", "right-password")) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://me:wrong-password@127.0.0.1:{proxy.port}")
        with pytest.raises(ApiError) as caught:
            _post(_endpoint(f"https://{ORIGIN}/v1", max_retries=3))
        assert len(proxy.connects) == 1
    assert caught.value.status == 407
    assert "407" in str(caught.value) and "wrong-password" not in str(caught.value)


def test_plain_http_through_a_proxy_is_forwarded_with_credentials(
    wire: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://me:secret-password@127.0.0.1:{wire.port}")
    _post(_endpoint(f"http://{ORIGIN}:8080/v1?api-version=3"))
    [seen] = wire.requests
    assert seen.target == f"http://{ORIGIN}:8080/v1/responses?api-version=3"
    assert seen.headers["proxy-authorization"] == _basic("me", "secret-password")
    assert seen.headers["host"] == f"{ORIGIN}:8080"
    assert redact.redact("password secret-password") == "password ***"


def test_a_proxy_answering_407_to_a_forwarded_request_is_not_retried(
    wire: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{wire.port}")
    wire.script(Answer(status=407, body=b"Proxy Authentication Required"))
    with pytest.raises(ApiError) as caught:
        _post(_endpoint(f"http://{ORIGIN}/v1"))
    assert caught.value.status == 407 and len(wire.requests) == 1
    assert "user:password@ in HTTP_PROXY" in str(caught.value)


def test_a_socks_proxy_is_refused_before_anything_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(UsageError, match="HTTPS_PROXY: socks5 proxies are not supported"):
        _post(_endpoint(f"https://{ORIGIN}/v1"))
    assert str(transport.probe(_endpoint(f"https://{ORIGIN}/v1"))).startswith("not sent: HTTPS_PROXY")
