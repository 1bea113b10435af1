"""The `openai` backend (Responses API) against the fake server: what it sends and how it reads replies,
including the replies a server should not send."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

import gpt_tools
import gpt_tools.core.guards
from gpt_tools import redact
from gpt_tools.errors import ApiError, ReplyRejected, RunFailed, UsageError
from gpt_tools.wire.backends import BackendRequest, responses
from gpt_tools.wire.backends.base import Attachment
from gpt_tools.wire.transport import Endpoint
from tests.conftest import write_config
from tests.fake_openai import FakeOpenAI, Scripted
from tests.fake_openai_wire import COMMENTARY_TEXT, REFUSAL_TEXT

# Not an OpenAI-shaped key: only the registry (redact.remember) can hide it.
KEY = "hunter2-not-shaped-like-a-key"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"


@pytest.fixture
def endpoint(fake: FakeOpenAI) -> Endpoint:
    redact.remember(KEY)  # as keys.py does for every key it resolves
    return Endpoint(fake.url, KEY, max_retries=0)


def _request(stream: bool, **fields: object) -> BackendRequest:
    return BackendRequest(model="gpt-5.3-codex", instructions="Fix typos.", text="teh text", stream=stream, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("stream", [True, False])
def test_commentary_is_not_part_of_the_result(fake: FakeOpenAI, endpoint: Endpoint, stream: bool) -> None:
    fake.script(Scripted(text="# Title\n\nthe text", fault="commentary"))
    deltas: list[str] = []
    reply = responses.ResponsesBackend().complete(_request(stream), endpoint, on_delta=deltas.append)
    assert reply.text == "# Title\n\nthe text"
    assert COMMENTARY_TEXT not in "".join(deltas)
    assert "".join(deltas) == (reply.text if stream else "")


@pytest.mark.parametrize("stream", [True, False])
def test_commentary_never_reaches_the_document(api: FakeOpenAI, stream: bool) -> None:
    write_config(Path.cwd(), f"stream = {str(stream).lower()}\nmax_retries = 0\n")
    api.script(Scripted(fault="commentary"))
    result = gpt_tools.run("Summarizer", "This is teh document.", model="gpt-5.3-codex")
    assert result.text == "This is the document."


@pytest.mark.parametrize("stream", [True, False])
def test_a_refusal_is_reported_with_its_reason(fake: FakeOpenAI, endpoint: Endpoint, stream: bool) -> None:
    fake.script(Scripted(fault="refusal"))
    reply = responses.ResponsesBackend().complete(_request(stream), endpoint)
    assert (reply.status, reply.reason) == ("refused", REFUSAL_TEXT)
    with pytest.raises(ReplyRejected, match="the model refused: I'm sorry"):
        gpt_tools.core.guards.check_reply(reply.text, status=reply.status, reason=reply.reason, original="teh text")


@pytest.mark.parametrize("stream", [True, False])
def test_request_id_is_kept(fake: FakeOpenAI, endpoint: Endpoint, stream: bool) -> None:
    reply = responses.ResponsesBackend().complete(_request(stream), endpoint)
    assert reply.request_id is not None and reply.request_id.startswith("req_")


def test_history_goes_out_as_easy_input_messages() -> None:
    body = responses.build_body(_request(False, history=(("user", "q"), ("assistant", "a"))))
    assert body["input"][:2] == [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a", "phase": "final_answer"},
    ]


def test_images_go_out_as_input_image_and_other_files_as_input_file() -> None:
    image = Attachment(name="a.png", media_type="image/png", file_id="file-img")
    pdf = Attachment(name="b.pdf", media_type="application/octet-stream", file_id="file-pdf")
    content = responses.build_body(_request(False, attachments=(image, pdf)))["input"][0]["content"]
    assert content[:2] == [
        {"type": "input_image", "file_id": "file-img", "detail": "auto"},
        {"type": "input_file", "file_id": "file-pdf"},
    ]
    with pytest.raises(UsageError):
        responses.build_body(_request(False, attachments=(Attachment.inline("c.png", PNG),)))


def test_run_uploads_an_image_and_sends_it_as_input_image(api: FakeOpenAI) -> None:
    Path("shot.png").write_bytes(PNG)
    Path("report.pdf").write_bytes(PDF)
    files = [gpt_tools.InputFile("shot.png", "", data=PNG), gpt_tools.InputFile("report.pdf", "", data=PDF)]
    gpt_tools.run("DocWriter", "Describe them.", files=files)
    image, pdf, _text = api.model_requests()[0].body["input"][0]["content"]
    assert (image["type"], image["detail"], pdf["type"]) == ("input_image", "auto", "input_file")
    assert {image["file_id"], pdf["file_id"]} == set(api.files)
    assert base64.b64encode(PNG).decode() not in str(api.model_requests()[0].body)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        ("bad_json", RunFailed, "not JSON|unreadable"),
        ("bad_utf8", RunFailed, "UTF-8|unreadable"),
        ("not_object", RunFailed, "not a JSON object"),
        ("odd_usage", RunFailed, "usage has an unreadable input_tokens"),
        ("error_body", ApiError, "the server reported an error: Upstream rejected"),
        ("stream_error", ApiError, "the server reported an error: Upstream rejected"),
    ],
)
def test_malformed_replies_are_clean_errors(
    fake: FakeOpenAI, endpoint: Endpoint, stream: bool, fault: str, error: type[Exception], message: str
) -> None:
    if fault == "stream_error" and not stream:
        fault = "error_body"  # without a stream, the same error comes as the body
    fake.script(Scripted(fault=fault))
    with pytest.raises(error, match=message) as raised:
        responses.ResponsesBackend().complete(_request(stream), endpoint)
    assert type(raised.value) is error
    assert KEY not in str(raised.value)
    if isinstance(raised.value, ApiError):  # the server's text, with the key it echoed masked
        assert "***" in str(raised.value)
        assert raised.value.code == "server_error" and raised.value.request_id is not None


@pytest.mark.parametrize("stream", [True, False])
def test_a_failed_response_gives_the_servers_reason_without_the_key(
    fake: FakeOpenAI, endpoint: Endpoint, stream: bool
) -> None:
    fake.script(Scripted(fault="failed"))
    reply = responses.ResponsesBackend().complete(_request(stream), endpoint)
    assert reply.status == "failed"
    assert reply.reason is not None and "Upstream rejected" in reply.reason and KEY not in reply.reason


def test_a_json_reply_to_a_stream_request_is_read_as_one(fake: FakeOpenAI, endpoint: Endpoint) -> None:
    fake.script(Scripted(fault="json_stream"))
    reply = responses.ResponsesBackend().complete(_request(True), endpoint)
    assert (reply.status, reply.text) == ("completed", "the text")


@pytest.mark.parametrize(
    "body",
    [
        {"status": "completed", "output": "nope"},
        {"status": "completed", "output": [None, {"type": "message", "content": [7]}]},
        {"status": "completed", "output": [], "usage": None, "model": 3},
    ],
)
def test_odd_but_readable_responses_do_not_crash(body: dict[str, object]) -> None:
    reply = responses.reply_from(body)
    assert (reply.status, reply.text, reply.model) == ("completed", "", "")


@pytest.mark.parametrize("usage", [{"input_tokens": -1}, {"output_tokens": 1.5}, {"input_tokens": True}, "12"])
def test_usage_that_is_not_a_count_is_refused(usage: object) -> None:
    with pytest.raises(RunFailed, match="usage"):
        responses.reply_from({"status": "completed", "output": [], "usage": usage})


def test_a_body_without_a_status_is_not_taken_for_an_empty_reply() -> None:
    with pytest.raises(RunFailed, match="not a response object"):
        responses.reply_from({"id": "x"})


def test_an_image_naming_an_unknown_file_is_refused_by_the_fake(fake: FakeOpenAI, endpoint: Endpoint) -> None:
    image = Attachment(name="a.png", media_type="image/png", file_id="file-gone")
    with pytest.raises(ApiError) as raised:
        responses.ResponsesBackend().complete(_request(False, attachments=(image,)), endpoint)
    assert raised.value.status == 404


@pytest.mark.parametrize("fault", ["bad_json", "stream_error", "not_object"])
def test_a_stream_left_early_does_not_poison_the_next_request(fake: FakeOpenAI, endpoint: Endpoint, fault: str) -> None:
    """The rest of a stream we stopped reading must never be read as the next reply (kept-alive connections)."""
    fake.script(Scripted(fault=fault))
    with pytest.raises(RunFailed):
        responses.ResponsesBackend().complete(_request(True), endpoint)
    reply = responses.ResponsesBackend().complete(_request(True), endpoint)
    assert (reply.status, reply.text) == ("completed", "the text")


def test_a_response_without_a_known_status_is_never_taken_as_complete() -> None:
    reply = responses.reply_from({"object": "response", "output": [], "status": "weird"})
    assert (reply.status, reply.reason) == ("unknown", "the response has no known status")
