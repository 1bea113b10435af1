"""Retries, backoff, Retry-After, timeouts and proxies of the one HTTP module."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from gpt_tools import ApiError, RunFailed, transport
from gpt_tools.errors import UsageError
from gpt_tools.transport import Endpoint, RetryNotice
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


def test_retries_5xx_then_succeeds(fake: FakeOpenAI) -> None:
    fake.script(Scripted(fault="500"), Scripted(fault="500"))
    notices: list[RetryNotice] = []
    assert _post(_endpoint(fake), notices)["status"] == "completed"
    assert [n.attempt for n in notices] == [1, 2]
    assert "HTTP 500" in notices[0].reason
    assert len(fake.model_requests()) == 3


def test_429_waits_what_retry_after_says(fake: FakeOpenAI) -> None:
    fake.script(Scripted(fault="429", retry_after=0.3))
    notices: list[RetryNotice] = []
    _post(_endpoint(fake), notices)
    assert [n.wait for n in notices] == [0.3]
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


def test_gives_up_after_max_retries_with_last_error(fake: FakeOpenAI) -> None:
    fake.default_fault = "500"
    notices: list[RetryNotice] = []
    with pytest.raises(ApiError, match="HTTP 500"):
        _post(_endpoint(fake, max_retries=2), notices)
    assert len(fake.model_requests()) == 3
    assert len(notices) == 2


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
    monkeypatch.setenv("NO_PROXY", "example.org,.corp")
    assert transport._proxy_for("https", "api.openai.com") == ("proxy.internal", 3128)
    assert transport._proxy_for("https", "api.example.org") is None
    assert transport._proxy_for("https", "llm.corp") is None
    assert transport._proxy_for("https", "127.0.0.1") is None
    assert transport._proxy_for("http", "api.openai.com") is None


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
    assert wire.requests == []


def test_errors_carry_the_request_id(wire: ScriptedServer) -> None:
    wire.script(_error_answer(400, "bad input", **{"x-request-id": "req_abc123"}))
    with pytest.raises(ApiError) as caught:
        _post(_raw_endpoint(wire), [])
    assert caught.value.request_id == "req_abc123"
    assert "(request req_abc123)" in str(caught.value)


def test_organization_and_project_headers_are_sent(fake: FakeOpenAI) -> None:
    _post(_endpoint(fake, organization="org-abc", project="proj_xyz"), [])
    _post(_endpoint(fake), [])
    first, second = (request.headers for request in fake.model_requests())
    assert (first["openai-organization"], first["openai-project"]) == ("org-abc", "proj_xyz")
    assert "openai-organization" not in second and "openai-project" not in second
