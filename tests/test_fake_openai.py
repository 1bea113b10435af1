"""The fake OpenAI server, held to the real `openai` SDK and to plain http.client.

If these pass, the shapes the fake sends are ones the SDK accepts, so tests of the project's own
client against the fake mean something.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.fake_openai import FakeOpenAI, Scripted, fix_typos

MODEL = "gpt-5-mini"
TEXT = "One two three four five six seven eight nine ten."


def ask(client: openai.OpenAI, text: str = "x", **kwargs: Any) -> Any:
    return client.responses.create(model=MODEL, input=text, **kwargs)


def chat(client: openai.OpenAI, text: str = "x", **kwargs: Any) -> Any:
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}], **kwargs)


# No proxy from the environment may sit between a test and the loopback server.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post_json(url: str, payload: Any) -> Any:
    req = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with DIRECT.open(req, timeout=5) as resp:
        return json.loads(resp.read())


def get_json(url: str) -> Any:
    with DIRECT.open(url, timeout=5) as resp:
        return json.loads(resp.read())


def test_fix_typos_whole_words_only():
    assert fix_typos("I recieve teh seperate mail.") == "I receive the separate mail."
    untouched = "Tehran, tehx, recieved, Teh  \n\ttabs\r\n"
    assert fix_typos(untouched) == untouched


def test_responses_create_plain(server, client):
    resp = ask(client, "teh cat", instructions="Fix typos.")
    assert resp.output_text == "the cat"
    assert resp.id.startswith("resp_")
    assert (resp.object, resp.status, resp.model) == ("response", "completed", MODEL)
    assert resp.instructions == "Fix typos."
    assert resp.incomplete_details is None and resp.error is None
    part = resp.output[0].content[0]
    assert (part.type, part.annotations, part.logprobs) == ("output_text", [], [])
    assert resp.usage.output_tokens >= 1
    assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens


def test_user_text_excludes_instructions(server, client):
    seen: list[str] = []
    server.responder = lambda text: seen.append(text) or "ok"
    items = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]},
        {"role": "assistant", "content": "earlier answer"},
        {"type": "message", "role": "user", "content": "c"},
    ]
    assert ask(client, items, instructions="inst").output_text == "ok"
    messages = [
        {"role": "developer", "content": "dev"},
        {"role": "user", "content": [{"type": "text", "text": "d"}]},
        {"role": "user", "content": "e"},
    ]
    client.chat.completions.create(model=MODEL, messages=messages)
    assert seen == ["a\n\nb\n\nc", "d\n\ne"]


def test_responses_stream_raw_events(server, client):
    events = list(ask(client, TEXT, stream=True))
    types = [e.type for e in events]
    opening = ["response.created", "response.in_progress", "response.output_item.added"]
    assert types[:4] == [*opening, "response.content_part.added"]
    closing = ["response.output_text.done", "response.content_part.done", "response.output_item.done"]
    assert types[-4:] == [*closing, "response.completed"]
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) >= 3 and "".join(deltas) == TEXT
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response.output_text == TEXT


def test_responses_stream_helper_final_response(server, client):
    with client.responses.stream(model=MODEL, input="teh end") as stream:
        final = stream.get_final_response()
    assert final.output_text == "the end"
    assert final.status == "completed"


def test_chat_plain(server, client):
    completion = chat(client, "teh dog")
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "the dog"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens_details.cached_tokens == 0
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_chat_stream_with_usage(server, client):
    chunks = list(chat(client, TEXT, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == TEXT
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens >= 1


def test_chat_stream_without_usage_has_no_usage_chunk(server, client):
    chunks = list(chat(client, TEXT, stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


@pytest.mark.parametrize(
    ("fault", "error", "status", "code"),
    [
        ("500", openai.InternalServerError, 500, None),
        ("quota", openai.RateLimitError, 429, "insufficient_quota"),
        ("401", openai.AuthenticationError, 401, "invalid_api_key"),
        ("context_length", openai.BadRequestError, 400, "context_length_exceeded"),
    ],
)
def test_error_faults(server, client, fault, error, status, code):
    server.script(Scripted(fault=fault))
    with pytest.raises(error) as info:
        ask(client)
    assert info.value.status_code == status
    assert info.value.code == code
    assert "retry-after" not in info.value.response.headers
    assert info.value.body["message"]


def test_rate_limit_has_retry_after(server, client):
    server.script(Scripted(fault="429", retry_after=7), Scripted(fault="429"))
    for expected in ("7", "1"):
        with pytest.raises(openai.RateLimitError) as info:
            chat(client)
        assert info.value.code == "rate_limit_exceeded"
        assert info.value.response.headers["retry-after"] == expected


def test_faults_also_hit_stream_requests(server, client):
    server.script(Scripted(fault="500"))
    with pytest.raises(openai.InternalServerError):
        list(ask(client, stream=True))


def test_incomplete(server, client):
    server.script(*[Scripted(text=TEXT, fault="incomplete")] * 4)
    resp = ask(client)
    assert resp.status == "incomplete"
    assert resp.incomplete_details.reason == "max_output_tokens"
    assert TEXT.startswith(resp.output_text) and len(resp.output_text) < len(TEXT)
    events = list(ask(client, stream=True))
    assert events[-1].type == "response.incomplete"
    assert not any(e.type == "response.completed" for e in events)
    # The SDK's helper insists on response.completed: an incomplete stream raises RuntimeError.
    with client.responses.stream(model=MODEL, input="x") as stream, pytest.raises(RuntimeError):
        stream.get_final_response()
    assert chat(client).choices[0].finish_reason == "length"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [("fenced", f"```markdown\n{TEXT}\n```\n"), ("empty", "")],
)
def test_text_faults(server, client, fault, expected):
    server.script(Scripted(text=TEXT, fault=fault), Scripted(text=TEXT, fault=fault))
    assert ask(client).output_text == expected
    assert "".join(e.delta for e in ask(client, stream=True) if e.type == "response.output_text.delta") == expected


def test_annotated(server, client):
    server.script(Scripted(text="First. Second.", fault="annotated"), Scripted(fault="annotated"))
    resp = ask(client)
    assert resp.output_text == "First.【4:0†notes.md】 Second."
    (annotation,) = resp.output[0].content[0].annotations
    assert (annotation.type, annotation.filename, annotation.index) == ("file_citation", "notes.md", 6)
    with client.responses.stream(model=MODEL, input="No full stop here") as stream:
        final = stream.get_final_response()
    assert final.output_text == "No full stop here【4:0†notes.md】"
    assert final.output[0].content[0].annotations[0].index == len("No full stop here")


def test_cut_stream_raises_connection_error_after_partial_text(server, client):
    server.script(Scripted(text=TEXT, fault="cut"))
    deltas: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for event in ask(client, stream=True):
            deltas.append(getattr(event, "delta", ""))
    assert deltas and TEXT.startswith("".join(deltas)) and "".join(deltas) != TEXT


@pytest.mark.parametrize("stream", [False, True])
def test_cut_chat_and_plain_raise_connection_error(server, client, stream):
    server.script(Scripted(text=TEXT, fault="cut"), Scripted(text=TEXT, fault="cut"))
    with pytest.raises(openai.APIConnectionError):
        list(chat(client, stream=True)) if stream else chat(client)
    with pytest.raises(openai.APIConnectionError):
        list(ask(client, stream=True)) if stream else ask(client)


def test_script_queue_then_default_fault_then_normal(server, client):
    server.script(Scripted(text="first"), Scripted(text="second"))
    assert [ask(client).output_text, chat(client).choices[0].message.content] == ["first", "second"]
    server.default_fault = "500"
    with pytest.raises(openai.InternalServerError):
        ask(client)
    server.default_fault = None
    assert ask(client, "teh").output_text == "the"
    with pytest.raises(ValueError):
        Scripted(fault="no-such-fault")


def test_slow_does_not_block_others_and_stop_is_prompt():
    server = FakeOpenAI().start()
    client = openai.OpenAI(base_url=server.url, api_key="test", max_retries=0, timeout=10)
    server.script(Scripted(fault="slow"))  # 5 s by default
    outcome: list[str] = []

    def slow_call() -> None:
        try:
            ask(client)
            outcome.append("answered")
        except openai.APIConnectionError:
            outcome.append("connection closed")

    worker = threading.Thread(target=slow_call)
    worker.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert ask(client, "teh").output_text == "the"
    assert time.monotonic() - started < 1
    server.stop()
    worker.join(timeout=2)
    assert time.monotonic() - started < 2
    assert outcome == ["connection closed"]


def test_delay_latency_and_chunk_delay(server, client):
    server.latency = 0.1
    server.script(Scripted(delay=0.2), Scripted(chunk_delay=0.05))
    started = time.monotonic()
    ask(client)
    assert 0.3 <= time.monotonic() - started < 2
    started = time.monotonic()
    events = list(ask(client, stream=True))
    assert 0.1 + 0.05 * (len(events) - 1) <= time.monotonic() - started < 3


def test_requests_are_recorded(server, client):
    ask(client, "hello")
    client.models.list()
    first = server.requests[0]
    assert (first.method, first.path) == ("POST", "/v1/responses")
    assert first.headers["Authorization"] == "Bearer test"
    assert first.headers.get("authorization") == "Bearer test" and "AUTHORIZATION" in first.headers
    assert first.body["input"] == "hello" and first.body["model"] == MODEL
    assert [r.path for r in server.requests] == ["/v1/responses", "/v1/models"]
    assert [r.path for r in server.model_requests()] == ["/v1/responses"]
    server.responder = str.upper
    server.reset()
    assert server.requests == []
    assert ask(client, "teh").output_text == "the"  # reset restores the default responder


def test_unknown_path_is_openai_404(server, client):
    with pytest.raises(openai.NotFoundError) as info:
        client.get("/nope", cast_to=object)
    assert info.value.body == {
        "message": "Invalid URL (GET /v1/nope)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert server.requests[-1].path == "/v1/nope"


def test_http_control_endpoints(server, client):
    base = server.url.removesuffix("/v1")
    replies = [{"text": "scripted"}, {"fault": "429", "retry_after": 3}]
    post_json(base + "/_fake/script", {"replies": replies, "default_fault": "500", "latency": 0.0})
    assert ask(client).output_text == "scripted"
    with pytest.raises(openai.RateLimitError) as info:
        ask(client)
    assert info.value.response.headers["retry-after"] == "3"
    with pytest.raises(openai.InternalServerError):
        ask(client)
    recorded = get_json(base + "/_fake/requests")
    assert [r["path"] for r in recorded] == ["/v1/responses"] * 3  # control calls are not recorded
    assert recorded[0]["headers"]["authorization"] == "Bearer test"
    assert recorded[0]["body"]["input"] == "x"
    with pytest.raises(urllib.error.HTTPError) as bad:
        post_json(base + "/_fake/script", {"replies": [{"fault": "bogus"}]})
    assert bad.value.code == 400
    post_json(base + "/_fake/reset", {})
    assert get_json(base + "/_fake/requests") == []
    assert ask(client, "teh").output_text == "the"


def read_sse(raw: bytes) -> list[tuple[str | None, str]]:
    events = []
    for block in raw.decode().split("\n\n"):
        if block:
            fields = dict(line.split(": ", 1) for line in block.split("\n"))
            events.append((fields.get("event"), fields["data"]))
    return events


def test_http_client_reads_stream_to_end_and_reuses_connection(server):
    conn = http.client.HTTPConnection("127.0.0.1", int(server.url.split(":")[2].split("/")[0]), timeout=5)
    body = json.dumps({"model": MODEL, "input": "teh end", "stream": True})
    for _ in range(2):  # the same keep-alive connection twice: the chunked framing must be exact
        conn.request("POST", "/v1/responses", body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/event-stream")
        events = read_sse(resp.read())
        assert events[-1][0] == "response.completed"
        assert all(event == json.loads(data)["type"] for event, data in events)
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "teh"}], "stream": True})
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    events = read_sse(conn.getresponse().read())
    assert events[-1] == (None, "[DONE]")
    conn.close()


def test_http_client_sees_cut_stream_as_incomplete_read(server):
    server.script(Scripted(text=TEXT, fault="cut"))
    conn = http.client.HTTPConnection("127.0.0.1", int(server.url.split(":")[2].split("/")[0]), timeout=5)
    conn.request("POST", "/v1/responses", json.dumps({"model": MODEL, "input": "x", "stream": True}))
    resp = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead) as info:
        resp.read()
    events = read_sse(info.value.partial)
    assert events[0][0] == "response.created"
    assert all(event != "response.completed" for event, _ in events)
    conn.close()


def start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    script = Path(__file__).with_name("fake_openai.py")
    proc = subprocess.Popen(
        [sys.executable, str(script), "--port", "0", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_cli_prints_url_and_serves():
    proc, url = start_cli("--latency", "0.0")
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", url)
        models = get_json(url + "/models")
        assert models["object"] == "list" and models["data"][0]["id"] == MODEL
        client = openai.OpenAI(base_url=url, api_key="test", max_retries=0, timeout=10)
        post_json(url.removesuffix("/v1") + "/_fake/script", {"replies": [{"text": "from afar"}]})
        assert ask(client).output_text == "from afar"
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0


def test_cli_exits_on_stdin_eof():
    proc, url = start_cli("--exit-on-stdin-eof")
    assert get_json(url + "/models")["data"]
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=5) == 0


def _sleeps(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits the server asks for instead of spending them (a paced reply's schedule)."""
    asked: list[float] = []

    def sleep(seconds: float) -> bool:
        asked.append(seconds) if seconds > 0 else None
        return True

    monkeypatch.setattr(server, "sleep", sleep)
    return asked


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("api", ["responses", "chat"])
def test_paced_mode_waits_ttfb_then_ms_per_token_of_the_output(
    server: FakeOpenAI, client: Any, monkeypatch: pytest.MonkeyPatch, stream: bool, api: str
) -> None:
    text = "word " * 200  # 1000 characters: 250 output tokens by the fake's len/4 estimate
    server.ttfb, server.ms_per_token = 0.3, 12.0
    asked = _sleeps(server, monkeypatch)
    server.script(Scripted(text=text))
    if api == "chat":
        reply = chat(client, stream=stream, **({"stream_options": {"include_usage": True}} if stream else {}))
        got = "".join(c.choices[0].delta.content or "" for c in reply if c.choices) if stream else reply
    else:
        reply = ask(client, stream=stream)
        got = "".join(e.delta for e in reply if e.type == "response.output_text.delta") if stream else reply
    if not stream:
        got = got.choices[0].message.content if api == "chat" else got.output_text
    assert got == text
    # ttfb counts from the reply's start, so the fake's own (here tiny) work comes off the first wait.
    assert asked[0] == pytest.approx(0.3 if stream else 0.3 + 250 * 0.012, abs=0.05)
    assert sum(asked) == pytest.approx(0.3 + 250 * 0.012, abs=0.05)  # a stream spreads the 3 s over its deltas
    assert len(asked) > (2 if stream else 0)


def test_paced_mode_is_scriptable_and_reset_restores_the_constructor_pace() -> None:
    with FakeOpenAI(ttfb=0.1, ms_per_token=5) as paced:
        base = paced.url.removesuffix("/v1")
        post_json(base + "/_fake/script", {"ttfb": 0.3, "ms_per_token": 12})
        assert (paced.ttfb, paced.ms_per_token) == (0.3, 12.0)
        with pytest.raises(urllib.error.HTTPError) as bad:
            post_json(base + "/_fake/script", {"ms_per_token": "fast"})
        assert bad.value.code == 400 and (paced.ttfb, paced.ms_per_token) == (0.3, 12.0)
        post_json(base + "/_fake/reset", {})
        assert (paced.ttfb, paced.ms_per_token) == (0.1, 5.0)


def test_cli_paced_mode_flags() -> None:
    proc, url = start_cli("--ttfb", "0.05", "--ms-per-token", "0.5")
    try:
        client = openai.OpenAI(base_url=url, api_key="test", max_retries=0, timeout=10)
        post_json(url.removesuffix("/v1") + "/_fake/script", {"replies": [{"text": "paced"}]})
        started = time.monotonic()
        assert ask(client).output_text == "paced"
        assert time.monotonic() - started >= 0.05  # a lower bound only: the first byte waited its ttfb
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0


def test_stats_count_the_usage_of_the_replies_sent(server: FakeOpenAI, client: Any) -> None:
    server.script(Scripted(text="a" * 400), Scripted(text="b" * 40))
    first, second = ask(client, "x" * 80), chat(client, "y" * 80, stream=True)
    list(second)
    stats = get_json(server.url.removesuffix("/v1") + "/_fake/stats")
    assert stats["output_tokens"] == first.usage.output_tokens + 10 == 110
    assert stats["input_tokens"] >= 40
    post_json(server.url.removesuffix("/v1") + "/_fake/reset", {})
    assert get_json(server.url.removesuffix("/v1") + "/_fake/stats")["output_tokens"] == 0
