"""Replies no well-behaved server sends, for the fake server's ODD_FAULTS: broken JSON, bytes that are
not UTF-8, JSON that is not an object, usage figures that are not counts, errors delivered with a 200
(as a body, an SSE `error` event, an in-band Chat chunk or a `response.failed`) that echo the key.

Each fault gives (content type, body pieces): one piece for a JSON body, one SSE event per piece for
a stream. Standard library only, like the rest of the fake.
"""

from __future__ import annotations

from tests import fake_openai_wire as wire

JSON = wire.JSON
SSE = "text/event-stream; charset=utf-8"
JSON_TYPE = "application/json"


def echoed(key: str) -> str:
    """A server message that quotes the whole key, as a careless proxy or server would."""
    return f"Upstream rejected the request made with key {key}; try again later."


def odd_reply(fault: str, plan: wire.Plan, stream: bool, key: str) -> tuple[str, list[bytes]]:
    if fault == "error_body" or (fault in ("stream_error", "failed") and not stream and plan.kind == "chat"):
        return JSON_TYPE, [wire.dumps(wire.error_body(echoed(key), "server_error", "server_error"))]
    if fault == "json_stream" or not stream:
        return JSON_TYPE, [_whole(fault, plan, key)]
    return SSE, _events(fault, plan, key)


def _complete(plan: wire.Plan) -> JSON:
    return wire.response_object(plan, "completed") if plan.kind == "responses" else wire.chat_completion(plan)


def _odd_usage(reply: JSON, kind: str) -> JSON:
    names = ("input_tokens", "output_tokens") if kind == "responses" else ("prompt_tokens", "completion_tokens")
    return {**reply, "usage": {**reply["usage"], names[0]: "12", names[1]: -3}}


def _whole(fault: str, plan: wire.Plan, key: str) -> bytes:
    reply = _complete(plan)
    if fault == "bad_json":
        return wire.dumps(reply)[:-7]  # complete Content-Length, but not JSON
    if fault == "bad_utf8":
        return wire.dumps(reply).replace(b'"model"', b'"\xff\xfemodel"', 1)
    if fault == "not_object":
        return wire.dumps([reply])
    if fault == "odd_usage":
        return wire.dumps(_odd_usage(reply, plan.kind))
    if fault == "failed":
        error = {"code": "server_error", "message": echoed(key)}
        return wire.dumps({**wire.response_object(plan, "failed"), "error": error})
    return wire.dumps(reply)  # json_stream: a whole reply to a request that asked for a stream


def _events(fault: str, plan: wire.Plan, key: str) -> list[bytes]:
    if plan.kind == "responses":
        good = [wire.sse(data, kind) for kind, data in wire.response_events(plan, cut=False)]
    else:
        good = [wire.sse(chunk) for chunk in wire.chat_chunks(plan, cut=False)] + [wire.sse(b"[DONE]")]
    opening = good[:2]
    if fault == "bad_json":
        return [*opening, b'data: {"type": "response.output_text.delta", "delta": \n\n']
    if fault == "bad_utf8":
        return [*opening, b'data: {"type": "response.output_text.delta", "delta": "\xff\xfe"}\n\n']
    if fault == "not_object":
        return [*opening, b"data: [1, 2]\n\n"]
    if fault == "odd_usage":
        if plan.kind == "responses":
            last = wire.response_events(plan, cut=False)[-1][1]
            usage = _odd_usage(last["response"], "responses")
            return [*good[:-1], wire.sse({**last, "response": usage}, last["type"])]
        final = {**wire.chat_chunks(plan, cut=False)[-1], "usage": {"prompt_tokens": "12", "completion_tokens": -3}}
        return [*good[:-2], wire.sse(final), wire.sse(b"[DONE]")]
    if fault == "failed" and plan.kind == "responses":
        error = {"code": "server_error", "message": echoed(key)}
        failed = {"response": {**wire.response_object(plan, "failed"), "error": error}}
        return [*opening, wire.sse({"type": "response.failed", **failed, "sequence_number": 2}, "response.failed")]
    # stream_error: an SSE `error` event (Responses) or an in-band error chunk (Chat) after some text.
    if plan.kind == "responses":
        error = {"type": "error", "code": "server_error", "message": echoed(key), "param": None, "sequence_number": 2}
        return [*opening, wire.sse(error, "error")]
    return [*opening, wire.sse(wire.error_body(echoed(key), "server_error", "server_error"))]
