"""Retries, backoff, Retry-After, timeouts and proxies of the one HTTP module."""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest

from gpt_tools import ApiError, RunFailed
from gpt_tools.errors import UsageError
from gpt_tools.wire import retrypolicy, transport
from gpt_tools.wire.connections import Proxy, proxy_for
from gpt_tools.wire.transport import Endpoint, RetryNotice
from tests.fake_clock import FakeClock
from tests.fake_openai import FakeOpenAI, Scripted
from tests.scripted_http import Answer, ScriptedServer

KEY = "sk-proj-Abc123Def456Ghi789Jkl0"

BODY = {"model": "m", "input": "teh", "stream": False}


def _endpoint(fake: FakeOpenAI, **overrides: object) -> Endpoint:
    settings: dict[str, object] = {"base_url": fake.url, "api_key": "sk-secret-value", "max_retries": 3}
    settings.update(overrides)
    return Endpoint(**settings)  # type: ignore[arg-type]


def _post(endpoint: Endpoint, notices: list[RetryNotice]) -> dict[str, object]:
    response = transport.post(endpoint, "/responses", BODY, stream=False, on_retry=notices.append)
    return transport.read_json(response)


def test_retries_5xx_then_succeeds(fake: FakeOpenAI, waits: FakeClock) -> None:
    fake.script(Scripted(fault="500"), Scripted(fault="500"))
    notices: list[RetryNotice] = []
    assert _post(_endpoint(fake), notices)["status"] == "completed"
    assert [n.attempt for n in notices] == [1, 2]
    assert waits.waits == [n.wait for n in notices] and 0.375 <= waits.waits[0] <= 0.5 <= waits.waits[1] <= 1.0
    assert "HTTP 500" in notices[0].reason
    assert len(fake.model_requests()) == 3


def test_429_waits_what_retry_after_says(fake: FakeOpenAI, waits: FakeClock) -> None:
    fake.script(Scripted(fault="429", retry_after=0.3))
    notices: list[RetryNotice] = []
    _post(_endpoint(fake), notices)
    assert [n.wait for n in notices] == waits.waits == [0.3]
    assert "HTTP 429" in notices[0].reason


def test_retry_after_beyond_limit_fails_fast(fake: FakeOpenAI) -> None:
    fake.script(Scripted(fault="429", retry_after=120))
    with pytest.raises(RunFailed, match="asks to wait 120 s, over max_retry_wait"):
        _post(_endpoint(fake, max_retry_wait=10), [])
    assert len(fake.model_requests()) == 1


def test_quota_exhaustion_is_not_retried(fake: FakeOpenAI) -> None:
    fake.script(Scripted(fault="quota"))
    with pytest.raises(ApiError) as caught:
        _post(_endpoint(fake), [])
    assert caught.value.code == "insufficient_quota"
    assert len(fake.model_requests()) == 1


def test_gives_up_after_max_retries_with_last_error(fake: FakeOpenAI, waits: FakeClock) -> None:
    fake.default_fault = "500"
    notices: list[RetryNotice] = []
    with pytest.raises(ApiError, match="HTTP 500"):
        _post(_endpoint(fake, max_retries=2), notices)
    assert len(fake.model_requests()) == 3
    assert len(notices) == 2 and waits.waits == [n.wait for n in notices]


def test_connection_refused_is_a_run_failure() -> None:
    endpoint = Endpoint(base_url="http://127.0.0.1:9/v1", api_key=None, max_retries=1)
    notices: list[RetryNotice] = []
    with pytest.raises(RunFailed, match=r"cannot reach http://127\.0\.0\.1:9/v1"):
        transport.post(endpoint, "/responses", BODY, stream=False, on_retry=notices.append)
    assert len(notices) == 1


def test_read_timeout_on_a_silent_server(fake: FakeOpenAI) -> None:
    fake.script(*[Scripted(fault="slow", delay=3)] * 2)
    with pytest.raises(RunFailed, match="cannot reach"):
        _post(_endpoint(fake, read_timeout=0.3, max_retries=1), [])


def test_key_never_appears_in_errors_or_repr(fake: FakeOpenAI) -> None:
    endpoint = _endpoint(fake, max_retries=0)
    assert "sk-secret-value" not in repr(endpoint)
    fake.script(Scripted(fault="401"))
    with pytest.raises(ApiError) as caught:
        _post(endpoint, [])
    assert "sk-secret-value" not in str(caught.value)


def test_proxy_from_environment_honours_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "example.org, .corp,llm.lan:8443")
    assert proxy_for("https", "api.openai.com", 443) == Proxy(host="proxy.internal", port=3128)
    assert proxy_for("https", "api.example.org", 443) is None
    assert proxy_for("https", "llm.corp", 443) is None
    assert proxy_for("https", "llm.lan", 8443) is None
    assert proxy_for("https", "llm.lan", 443) is not None  # the entry names another port
    assert proxy_for("https", "127.0.0.1", 443) is None
    assert proxy_for("http", "api.openai.com", 80) is None
    monkeypatch.setenv("NO_PROXY", "*")
    assert proxy_for("https", "api.openai.com", 443) is None


@pytest.mark.timeout(15)  # a hang guard: without the cancel watch this would wait for the 60 s reply
def test_cancel_unblocks_a_request_the_server_has_not_answered(fake: FakeOpenAI) -> None:
    import threading

    from gpt_tools import Cancelled

    fake.script(Scripted(fault="slow", delay=60))
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    with pytest.raises(Cancelled):
        transport.post(_endpoint(fake), "/responses", {**BODY, "stream": True}, stream=True, cancel=cancel)


def test_probe_reports_status_or_why_unreachable(fake: FakeOpenAI) -> None:
    assert transport.probe(_endpoint(fake)) == 200
    unreachable = transport.probe(Endpoint(base_url="http://127.0.0.1:9/v1", api_key=None))
    assert isinstance(unreachable, str) and unreachable.startswith("unreachable:")


@pytest.fixture
def wire() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


def _raw_endpoint(server: ScriptedServer, **overrides: object) -> Endpoint:
    settings: dict[str, object] = {"base_url": server.url, "api_key": KEY, "max_retries": 2}
    settings.update(overrides)
    return Endpoint(**settings)  # type: ignore[arg-type]


def _error_answer(status: int, message: str = "nope", **headers: str) -> Answer:
    body = json.dumps({"error": {"message": message, "type": "x", "code": None}}).encode()
    return Answer(status=status, body=body, headers=headers)


def test_long_error_body_is_redacted_before_it_is_cut(wire: ScriptedServer) -> None:
    wire.script(Answer(status=403, body=b"x" * 490 + f" key {KEY} rejected".encode()))
    with pytest.raises(ApiError) as caught:
        _post(_raw_endpoint(wire), [])
    assert KEY[:8] not in str(caught.value)  # a cut at 500 would have left "sk-proj-Ab..."
    assert "***" in str(caught.value)


def test_a_key_that_cannot_be_a_header_is_refused_without_showing_it(wire: ScriptedServer) -> None:
    with pytest.raises(UsageError) as caught:
        _post(_raw_endpoint(wire, api_key=KEY + "\r"), [])
    assert KEY not in str(caught.value) and KEY[8:] not in str(caught.value)
    with pytest.raises(UsageError) as caught:
        _post(_raw_endpoint(wire, auth_header="X-Key\r\nInjected: 1"), [])
    assert "\r" not in str(caught.value) and "\n" not in str(caught.value)
    assert wire.requests == []


def test_errors_carry_the_request_id(wire: ScriptedServer) -> None:
    wire.script(_error_answer(400, "bad input", **{"x-request-id": "req_abc123"}))
    with pytest.raises(ApiError) as caught:
        _post(_raw_endpoint(wire), [])
    assert caught.value.request_id == "req_abc123"
    assert "(request req_abc123)" in str(caught.value)


def test_successful_replies_expose_the_request_id(wire: ScriptedServer) -> None:
    wire.script(Answer(headers={"x-request-id": "req_ok1"}), Answer(headers={"x-request-id": "req_ok2"}))
    assert transport.post(_raw_endpoint(wire), "/responses", BODY, stream=False).request_id == "req_ok1"
    streamed = transport.post(_raw_endpoint(wire), "/responses", {**BODY, "stream": True}, stream=True)
    assert (streamed.request_id, streamed.getheader("x-request-id")) == ("req_ok2", "req_ok2")
    streamed.close()


def test_organization_and_project_headers_are_sent(fake: FakeOpenAI) -> None:
    _post(_endpoint(fake, organization="org-abc", project="proj_xyz"), [])
    _post(_endpoint(fake), [])
    first, second = (request.headers for request in fake.model_requests())
    assert (first["openai-organization"], first["openai-project"]) == ("org-abc", "proj_xyz")
    assert "openai-organization" not in second and "openai-project" not in second


def _headers(**values: str) -> Message:
    message = Message()
    for name, value in values.items():
        message[name.replace("_", "-")] = value
    return message


def _message(values: dict[str, str]) -> Message:
    return _headers(**values)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry_after": "2"}, 2.0),
        ({"retry_after": "0.25"}, 0.25),
        ({"retry_after_ms": "150"}, 0.15),
        ({"retry_after_ms": "150", "retry_after": "9"}, 0.15),  # milliseconds win, as in the SDK
        ({"retry_after_ms": "soon", "retry_after": "3"}, 3.0),
        ({"retry_after": "-1"}, None),
        ({"retry_after": "0"}, None),
        ({"retry_after": "NaN"}, None),
        ({"retry_after": "inf"}, None),  # a literal infinity is malformed: back off
        ({"retry_after": "1e999"}, math.inf),  # an overflowing number is a huge wait: refused
        ({"retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),  # in the past
        ({"retry_after": "Wed, 99 Foo 2015 07:28:00 GMT"}, None),
        ({"retry_after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_parsed_like_the_sdk(headers: dict[str, str], expected: float | None) -> None:
    assert retrypolicy.retry_after(_headers(**headers)) == expected


def test_retry_after_as_a_future_http_date() -> None:
    when = email.utils.formatdate(time.time() + 100, usegmt=True)
    wait = retrypolicy.retry_after(_headers(retry_after=when))
    assert wait is not None and 90 < wait <= 100


@pytest.mark.parametrize("value", ["-1", "NaN", "inf", "Wed, 21 Oct 2015 07:28:00 GMT", "soon"])
def test_unusable_retry_after_falls_back_to_backoff(wire: ScriptedServer, value: str, waits: FakeClock) -> None:
    wire.script(_error_answer(429, "slow down", **{"Retry-After": value}))
    notices: list[RetryNotice] = []
    assert _post(_raw_endpoint(wire), notices)["status"] == "completed"
    assert len(notices) == 1 and 0.375 <= notices[0].wait <= 0.5  # the SDK's first backoff
    assert waits.waits == [notices[0].wait]


def test_overflowing_retry_after_fails_fast_with_the_request_id(wire: ScriptedServer) -> None:
    wire.script(_error_answer(429, "slow down", **{"Retry-After": "1e999", "x-request-id": "req_1"}))
    with pytest.raises(ApiError, match="over max_retry_wait") as caught:
        _post(_raw_endpoint(wire), [])
    assert (caught.value.status, caught.value.request_id) == (429, "req_1")
    assert "inf s" not in str(caught.value) and "Retry-After overflows" in str(caught.value)
    assert len(wire.requests) == 1


@pytest.mark.parametrize("status", [408, 409, 429, 500, 501, 502, 520, 529, 599])
def test_retried_statuses_match_the_sdk(wire: ScriptedServer, status: int, waits: FakeClock) -> None:
    wire.script(_error_answer(status, "again", **{"retry-after-ms": "10"}))
    notices: list[RetryNotice] = []
    assert _post(_raw_endpoint(wire), notices)["status"] == "completed"
    assert [notice.wait for notice in notices] == waits.waits == [0.01]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 407, 422])
def test_client_errors_are_not_retried(wire: ScriptedServer, status: int) -> None:
    wire.script(_error_answer(status, "no"))
    with pytest.raises(ApiError) as caught:
        _post(_raw_endpoint(wire), [])
    assert caught.value.status == status and len(wire.requests) == 1


def test_x_should_retry_overrides_the_status(wire: ScriptedServer) -> None:
    wire.script(_error_answer(400, "try again", **{"x-should-retry": "true", "retry-after-ms": "10"}))
    assert _post(_raw_endpoint(wire), [])["status"] == "completed"
    wire.script(_error_answer(503, "do not", **{"x-should-retry": "false"}))
    with pytest.raises(ApiError):
        _post(_raw_endpoint(wire), [])
    assert len(wire.requests) == 3


def test_cut_non_streamed_body_is_retried(fake: FakeOpenAI, waits: FakeClock) -> None:
    fake.script(Scripted(fault="cut"))
    notices: list[RetryNotice] = []
    assert _post(_endpoint(fake), notices)["status"] == "completed"
    assert len(notices) == 1 and "cut short" in notices[0].reason and waits.waits == [notices[0].wait]
    assert len(fake.model_requests()) == 2


def test_cut_download_is_retried(wire: ScriptedServer, waits: FakeClock) -> None:
    wire.script(Answer(body=b"0123456789" * 100, cut=True, headers={"x-request-id": "req_cut"}))
    wire.script(Answer(body=b"0123456789" * 100))
    notices: list[RetryNotice] = []
    assert transport.fetch(_raw_endpoint(wire), "/files/f/content", on_retry=notices.append) == b"0123456789" * 100
    assert "(request req_cut)" in notices[0].reason and waits.waits == [notices[0].wait]


def test_a_cut_stream_is_not_retried(fake: FakeOpenAI) -> None:
    fake.script(Scripted(fault="cut"))
    response = transport.post(_endpoint(fake), "/responses", {**BODY, "stream": True}, stream=True)
    events = [event for event, _ in transport.iter_sse(response)]
    assert "response.completed" not in events  # the backend reports it as cut; shown text is not sent twice
    assert len(fake.model_requests()) == 1


@pytest.fixture(scope="module")
def sdk() -> Any:
    import openai

    return openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9/v1")


@pytest.mark.parametrize("forced", [None, "true", "false"])
@pytest.mark.parametrize("status", [400, 401, 403, 404, 407, 408, 409, 410, 422, 429, 499, 500, 501, 503, 520, 599])
def test_retry_decision_matches_the_sdk(sdk: Any, status: int, forced: str | None) -> None:
    import httpx2

    headers = {"x-should-retry": forced} if forced else {}
    response = httpx2.Response(status, headers=headers, request=httpx2.Request("POST", "http://127.0.0.1:9/v1"))
    assert retrypolicy.should_retry(status, None, _message(headers)) == sdk._should_retry(response)


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": value}
        for value in (
            "2",
            "0.5",
            "-1",
            "0",
            "NaN",
            "inf",
            "-inf",
            "1e999",
            "300",
            "soon",
            "",
            "Wed, 21 Oct 2015 07:28:00 GMT",
        )
    ]
    + [{"retry-after-ms": "250"}, {"retry-after-ms": "x", "retry-after": "3"}, {"retry-after-ms": "-5"}],
)
def test_retry_after_matches_the_sdk(sdk: Any, headers: dict[str, str]) -> None:
    import httpx2

    theirs = sdk._parse_retry_after_header(httpx2.Headers(headers))
    ours = retrypolicy.retry_after(_message(headers))
    if theirs is not None and math.isfinite(theirs) and 0 < theirs <= 120:  # the SDK waits what was asked
        assert ours == theirs
    elif theirs is not None and math.isfinite(theirs) and theirs > 120:  # the SDK refuses to retry
        assert ours is not None and ours > 120
    else:  # the SDK backs off
        assert ours is None
