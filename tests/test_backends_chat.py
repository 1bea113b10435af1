"""The `chat` backend (Chat Completions) against the fake server: what it sends and how it reads replies,
including the replies a server should not send."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

import gpt_tools
from gpt_tools import redact
from gpt_tools.errors import ApiError, ConfigError, RunFailed, UsageError
from gpt_tools.markdown.edits import EDITS_SCHEMA, SCHEMA_NAME
from gpt_tools.wire.backends import BackendRequest, chat
from gpt_tools.wire.backends.base import Attachment, JsonSchema
from gpt_tools.wire.transport import Endpoint
from tests import fake_openai_wire as wire
from tests.conftest import write_config
from tests.fake_openai import FakeOpenAI, Scripted
from tests.fake_openai_wire import REFUSAL_TEXT

KEY = "hunter2-not-shaped-like-a-key"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"


@pytest.fixture
def endpoint(fake: FakeOpenAI) -> Endpoint:
    redact.remember(KEY)
    return Endpoint(fake.url, KEY, max_retries=0)


def _request(stream: bool, **fields: object) -> BackendRequest:
    return BackendRequest(model="gpt-5-mini", instructions="Fix typos.", text="teh text", stream=stream, **fields)  # type: ignore[arg-type]


def test_output_limit_is_max_completion_tokens_for_openai_and_max_tokens_for_local_servers(
    fake: FakeOpenAI, endpoint: Endpoint
) -> None:
    request = _request(False, max_output_tokens=99)
    assert chat.build_body(request)["max_completion_tokens"] == 99
    assert "max_tokens" not in chat.build_body(request)
    assert chat.token_limit_key("https://api.openai.com/v1") == "max_completion_tokens"
    assert chat.token_limit_key("https://res.openai.azure.com/openai/v1") == "max_completion_tokens"
    assert chat.token_limit_key("http://localhost:11434/v1") == "max_tokens"  # Ollama ignores the other
    for azure in ("res.openai.azure.com", "res.cognitiveservices.azure.com", "proj.services.ai.azure.com"):
        for url in (f"https://{azure}/openai/v1", f"https://{azure.upper()}./openai/deployments/d"):
            assert chat.token_limit_key(url) == "max_completion_tokens", url
    for other in ("https://evil-openai.azure.com.example/v1", "https://azure.com/v1", "http://127.0.0.1:8080/v1"):
        assert chat.token_limit_key(other) == "max_tokens", other
    chat.ChatBackend().complete(request, endpoint)
    assert fake.model_requests()[-1].body["max_tokens"] == 99


def test_images_go_inline_as_image_url_and_other_files_are_refused() -> None:
    image = Attachment.inline("a.png", PNG)
    content = chat.build_body(_request(False, attachments=(image,)))["messages"][1]["content"]
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert content == [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "teh text"}]
    with pytest.raises(UsageError, match=r"images but not other binary files \(b.pdf\)"):
        chat.build_body(_request(False, attachments=(Attachment.inline("b.pdf", PDF),)))


def test_run_on_the_chat_backend_uploads_nothing(api: FakeOpenAI) -> None:
    write_config(Path.cwd(), "backend = 'chat'\nmax_retries = 0\n")
    gpt_tools.run("DocWriter", "Describe it.", files=[gpt_tools.InputFile("shot.png", "", data=PNG)])
    assert api.uploads == 0
    assert api.model_requests()[0].body["messages"][1]["content"][0]["type"] == "image_url"
    with pytest.raises(UsageError):
        gpt_tools.run("DocWriter", "Describe it.", files=[gpt_tools.InputFile("r.pdf", "", data=PDF)])
    assert len(api.model_requests()) == 1 and api.uploads == 0  # refused before anything was sent


@pytest.mark.parametrize("stream", [True, False])
def test_a_refusal_is_reported_with_its_reason(fake: FakeOpenAI, endpoint: Endpoint, stream: bool) -> None:
    fake.script(Scripted(fault="refusal"))
    reply = chat.ChatBackend().complete(_request(stream), endpoint)
    assert (reply.status, reply.reason, reply.text) == ("refused", REFUSAL_TEXT, "")


@pytest.mark.parametrize("stream", [True, False])
def test_request_id_is_kept(fake: FakeOpenAI, endpoint: Endpoint, stream: bool) -> None:
    reply = chat.ChatBackend().complete(_request(stream), endpoint)
    assert reply.request_id is not None and reply.request_id.startswith("req_")


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        ("bad_json", RunFailed, "not JSON|unreadable"),
        ("bad_utf8", RunFailed, "UTF-8|unreadable"),
        ("not_object", RunFailed, "not a JSON object"),
        ("odd_usage", RunFailed, "usage has an unreadable prompt_tokens"),
        ("error_body", ApiError, "the server reported an error: Upstream rejected"),
        ("stream_error", ApiError, "the server reported an error: Upstream rejected"),
    ],
)
def test_malformed_replies_are_clean_errors(
    fake: FakeOpenAI, endpoint: Endpoint, stream: bool, fault: str, error: type[Exception], message: str
) -> None:
    fake.script(Scripted(fault=fault))
    with pytest.raises(error, match=message) as raised:
        chat.ChatBackend().complete(_request(stream), endpoint)
    assert type(raised.value) is error
    assert KEY not in str(raised.value)
    if isinstance(raised.value, ApiError):
        assert "***" in str(raised.value) and raised.value.request_id is not None


def _edits_request(json_format: str = "json_schema", **fields: object) -> BackendRequest:
    schema = JsonSchema(name=SCHEMA_NAME, schema=EDITS_SCHEMA)
    return _request(False, json_schema=schema, json_format=json_format, **fields)


@pytest.mark.parametrize(
    ("fault", "request_", "hinted"),
    [
        ("refused_format", _edits_request(), True),  # llama-cpp-python: HTTP 500, no code, no param
        ("500", _edits_request(), True),
        ("context_length", _edits_request(), False),  # a param naming another part of the request
        ("unsupported_reasoning", _edits_request(reasoning_effort="low"), False),
        ("401", _edits_request(), False),
        ("429", _edits_request(), False),
        ("refused_format", _edits_request("json_object"), False),  # already the other shape
        ("refused_format", _request(False), False),  # no response_format at all
    ],
)
def test_a_refused_json_schema_request_names_the_json_format_setting(
    fake: FakeOpenAI, endpoint: Endpoint, fault: str, request_: BackendRequest, hinted: bool
) -> None:
    fake.script(Scripted(fault=fault))
    with pytest.raises(ApiError) as raised:
        chat.ChatBackend().complete(request_, endpoint)
    status = wire.ERROR_FAULTS[fault][0]
    assert raised.value.status == status and raised.value.request_id is not None
    assert str(raised.value).endswith("\n" + chat.FORMAT_HINT) is hinted
    assert ('json_format = "json_object"' in str(raised.value)) is hinted


def test_json_format_set_for_an_assistant_is_what_the_chat_backend_sends(api: FakeOpenAI, edits_mode: None) -> None:
    """Per assistant in the config: the linter's edits go out in llama-cpp-python's shape and are applied."""
    linter = "[assistants.MarkdownLinter]\njson_format = 'json_object'\n"
    write_config(Path.cwd(), "backend = 'chat'\nmax_retries = 0\n" + linter)
    result = gpt_tools.run("MarkdownLinter", "A teh text.\n")
    assert result.text == "A the text.\n"
    sent = api.model_requests()[0].body["response_format"]
    assert sent == {"type": "json_object", "schema": EDITS_SCHEMA}
    gpt_tools.run("ProofReader", "Teh text.\n")  # another assistant keeps the default
    assert api.model_requests()[1].body["response_format"]["type"] == "json_schema"
    write_config(Path.cwd(), "backend = 'chat'\njson_format = 'json'\n")
    with pytest.raises(ConfigError, match="json_format"):
        gpt_tools.run("MarkdownLinter", "A teh text.\n")


def test_a_json_reply_to_a_stream_request_is_read_as_one(fake: FakeOpenAI, endpoint: Endpoint) -> None:
    fake.script(Scripted(fault="json_stream"))
    reply = chat.ChatBackend().complete(_request(True), endpoint)
    assert (reply.status, reply.text) == ("completed", "the text")


@pytest.mark.parametrize(
    "body",
    [{"choices": "nope"}, {"choices": [None]}, {"choices": [{"message": "x", "finish_reason": 3}]}, {}],
)
def test_odd_but_readable_completions_do_not_crash(body: dict[str, object]) -> None:
    reply = chat.reply_from(body, None)
    assert (reply.status, reply.text) == ("cut", "")
    assert reply.reason == "the reply ended before a finish_reason"


@pytest.mark.parametrize("fault", ["bad_json", "stream_error"])
def test_a_stream_left_early_does_not_poison_the_next_request(fake: FakeOpenAI, endpoint: Endpoint, fault: str) -> None:
    fake.script(Scripted(fault=fault))
    with pytest.raises(RunFailed):
        chat.ChatBackend().complete(_request(True), endpoint)
    reply = chat.ChatBackend().complete(_request(True), endpoint)
    assert (reply.status, reply.text) == ("completed", "the text")


def test_reasoning_text_of_local_servers_is_not_part_of_the_result() -> None:
    """llama.cpp/DeepSeek send `reasoning_content`, Ollama `reasoning`: thinking, never the answer."""
    message = {"content": "the answer", "reasoning_content": "thinking...", "reasoning": "more thinking"}
    reply = chat.reply_from({"choices": [{"message": message, "finish_reason": "stop"}]}, None)
    assert (reply.status, reply.text) == ("completed", "the answer")
