"""Responses API payloads for the fake server: Response objects and their event streams, with the
output items gpt-5 and codex models send before the answer (reasoning, file_search_call, commentary).

Re-exported by fake_openai_wire (callers use `wire.response_object`); kept apart so each file stays
readable. The shapes follow OpenAI's OpenAPI document and the SDK's models (tests/test_wire_contract.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tests.fake_openai_wire import COMMENTARY_TEXT, JSON, REFUSAL_TEXT, Plan, split_text, user_text


def output_part(plan: Plan, text: str, final: bool) -> JSON:
    if plan.fault == "refusal":  # a refusal part instead of text: the model declined
        return {"type": "refusal", "refusal": REFUSAL_TEXT if final else ""}
    annotations = [plan.annotation] if final and plan.annotation else []
    return {"type": "output_text", "annotations": annotations, "logprobs": [], "text": text}


def message_item(
    plan: Plan, status: str, content: list[JSON], *, item_id: str | None = None, phase: str | None = None
) -> JSON:
    item = {"id": item_id or plan.msg_id, "type": "message", "status": status, "content": content, "role": "assistant"}
    phase = phase or ("final_answer" if plan.fault == "commentary" else None)
    return {**item, "phase": phase} if phase else item


@dataclass(frozen=True)
class _Message:
    """One message item of the output: the answer, or a commentary message before it."""

    item_id: str
    index: int
    text: str
    phase: str | None
    answer: bool

    def part(self, plan: Plan, text: str, final: bool) -> JSON:
        if self.answer:
            return output_part(plan, text, final)
        return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}

    def item(self, plan: Plan, status: str, content: list[JSON]) -> JSON:
        return message_item(plan, status, content, item_id=self.item_id, phase=self.phase)


def leading_items(plan: Plan) -> list[JSON]:
    """Completed output items before the answer, as gpt-5 and codex models send them: a reasoning
    item first, then a file_search_call when the request has file_search, then any commentary."""
    items: list[JSON] = []
    tools = plan.body.get("tools") if isinstance(plan.body.get("tools"), list) else []
    searches = any(isinstance(t, dict) and t.get("type") == "file_search" for t in tools)
    if plan.fault == "commentary" or searches:
        items.append({"id": "rs_" + plan.msg_id[4:], "type": "reasoning", "summary": [], "status": "completed"})
    if searches:
        call = {"id": "fs_" + plan.msg_id[4:], "type": "file_search_call", "status": "completed"}
        items.append({**call, "queries": [user_text("responses", plan.body)[:40]], "results": None})
    if plan.fault == "commentary":
        note = _commentary(plan, len(items))
        items.append(note.item(plan, "completed", [note.part(plan, note.text, True)]))
    return items


def _commentary(plan: Plan, index: int) -> _Message:
    return _Message("msg_commentary_" + plan.msg_id[4:], index, COMMENTARY_TEXT, "commentary", False)


def _answer(plan: Plan) -> _Message:
    return _Message(plan.msg_id, len(leading_items(plan)), plan.text, None, True)


def response_object(plan: Plan, status: str) -> JSON:
    body, finished = plan.body, status in ("completed", "incomplete")
    item_status = "incomplete" if plan.incomplete else "completed"
    answer = message_item(plan, item_status, [output_part(plan, plan.text, True)])
    output = [*leading_items(plan), answer] if finished else []
    usage = {
        "input_tokens": plan.input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": plan.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": plan.input_tokens + plan.output_tokens,
    }
    return {
        "id": plan.resp_id, "object": "response", "created_at": plan.created, "status": status,
        "background": False, "completed_at": int(time.time()) if status == "completed" else None,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": None, "model": plan.model, "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"), "prompt_cache_key": None,
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "safety_identifier": None, "service_tier": "default", "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto", "tools": body.get("tools") or [], "top_logprobs": 0,
        "top_p": body.get("top_p", 1.0), "truncation": "disabled",
        "metadata": body.get("metadata") or {},
        # No `usage` before the end and no `user`: the spec types them as object and string, never null.
        **({"usage": usage} if finished else {}),
    }  # fmt: skip


def response_events(plan: Plan, cut: bool) -> list[tuple[str, JSON]]:
    """The event sequence of a reply, in the order the real service sends it: the leading items
    (reasoning, file_search_call, commentary), then the answer message.

    With `cut`, only the opening events and about half the answer's deltas: the caller then drops
    the connection, as a network failure mid-answer would.
    """
    events: list[tuple[str, JSON]] = [
        ("response.created", {"response": response_object(plan, "in_progress")}),
        ("response.in_progress", {"response": response_object(plan, "in_progress")}),
    ]
    for index, item in enumerate(leading_items(plan)):
        if item["type"] == "message":
            events += _message_events(plan, _commentary(plan, index), cut=False)
        else:
            events += _item_events(item, index)
    events += _message_events(plan, _answer(plan), cut=cut)
    if not cut:
        status = "incomplete" if plan.incomplete else "completed"
        events.append((f"response.{status}", {"response": response_object(plan, status)}))
    # Every event carries its type and a growing sequence_number, as the SDK's stream helper expects.
    return [(kind, {"type": kind, **data, "sequence_number": seq}) for seq, (kind, data) in enumerate(events)]


def _item_events(item: JSON, index: int) -> list[tuple[str, JSON]]:
    added = {"output_index": index, "item": {**item, "status": "in_progress"}}
    if item["type"] == "reasoning":
        return [
            ("response.output_item.added", added),
            ("response.output_item.done", {"output_index": index, "item": item}),
        ]
    ids = {"output_index": index, "item_id": item["id"]}
    phases = ("in_progress", "searching", "completed")
    return [
        ("response.output_item.added", added),
        *((f"response.file_search_call.{phase}", dict(ids)) for phase in phases),
        ("response.output_item.done", {"output_index": index, "item": item}),
    ]


def _message_events(plan: Plan, message: _Message, *, cut: bool) -> list[tuple[str, JSON]]:
    ids = {"item_id": message.item_id, "output_index": message.index, "content_index": 0}
    events: list[tuple[str, JSON]] = [
        ("response.output_item.added", {"output_index": message.index, "item": message.item(plan, "in_progress", [])}),
        ("response.content_part.added", {**ids, "part": message.part(plan, "", False)}),
    ]
    refusal = message.answer and plan.fault == "refusal"
    deltas = split_text(REFUSAL_TEXT if refusal else message.text)
    kind = "response.refusal.delta" if refusal else "response.output_text.delta"
    for delta in deltas[: len(deltas) // 2] if cut else deltas:
        events.append((kind, {**ids, "delta": delta} if refusal else {**ids, "delta": delta, "logprobs": []}))
    if cut:
        return events
    if message.answer and plan.annotation:
        added = {**ids, "annotation_index": 0, "annotation": plan.annotation}
        events.append(("response.output_text.annotation.added", added))
    part = message.part(plan, message.text, True)
    final = "incomplete" if plan.incomplete and message.answer else "completed"
    done = (
        ("response.refusal.done", {**ids, "refusal": REFUSAL_TEXT})
        if refusal
        else ("response.output_text.done", {**ids, "text": message.text, "logprobs": []})
    )
    item_done = {"output_index": message.index, "item": message.item(plan, final, [part])}
    return [
        *events,
        done,
        ("response.content_part.done", {**ids, "part": part}),
        ("response.output_item.done", item_done),
    ]
