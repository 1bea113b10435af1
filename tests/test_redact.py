"""redact.py and the texts that pass through it: keys, proxy passwords, low-level errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gpt_tools import RunFailed, redact
from gpt_tools.wire import transport
from gpt_tools.wire.connections import proxy_for, route
from gpt_tools.wire.transport import Endpoint

KEY = "sk-proj-Abc123Def456Ghi789Jkl0"


@pytest.fixture(autouse=True)
def _no_secrets() -> Iterator[None]:
    redact.forget_all()
    yield
    redact.forget_all()


def test_remembered_secrets_are_masked_with_and_without_padding() -> None:
    redact.remember(f" {KEY}\r\n")
    assert redact.redact(f"got {KEY} and {KEY}.") == "got *** and ***."


def test_short_values_are_not_secrets() -> None:
    redact.remember("x")
    assert redact.redact("x marks the spot") == "x marks the spot"


def test_openai_shaped_keys_are_masked_even_unremembered() -> None:
    assert KEY not in redact.redact(f"echoed: {KEY}")


def test_proxy_passwords_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://me:hunter2%21long@proxy.internal:3128")
    proxy = proxy_for("https", "api.openai.com", 443)
    assert proxy is not None and proxy.authorization is not None
    token = proxy.authorization.removeprefix("Basic ")
    assert redact.redact(f"pw hunter2!long raw hunter2%21long token {token}") == "pw *** raw *** token ***"
    assert token not in repr(proxy) and token not in repr(route("https://api.openai.com/v1"))


def test_unreachable_messages_hide_the_base_urls_user_info_and_query() -> None:
    endpoint = Endpoint(
        base_url="http://user:pa55word-in-url@127.0.0.1:9/v1?key=query-secret", api_key=None, max_retries=0
    )
    with pytest.raises(RunFailed) as caught:
        transport.post(endpoint, "/responses", {"model": "m"}, stream=False)
    assert "cannot reach http://127.0.0.1:9/v1" in str(caught.value)
    assert "pa55word" not in str(caught.value) and "query-secret" not in str(caught.value)


def test_a_hand_built_endpoints_key_is_remembered_when_sent() -> None:
    endpoint = Endpoint(base_url="http://127.0.0.1:9/v1", api_key="local-server-token-123", max_retries=0)
    with pytest.raises(RunFailed):
        transport.post(endpoint, "/responses", {"model": "m"}, stream=False)
    assert redact.redact("echo local-server-token-123") == "echo ***"


def test_display_url_drops_user_info_and_query() -> None:
    assert transport.display_url("https://me:pw@llm.corp:8443/v1?key=abc&api-version=1") == "https://llm.corp:8443/v1"
