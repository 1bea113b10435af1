"""Payload builders for the fake OpenAI server: JSON bodies, SSE events, error shapes.

Kept apart from the HTTP plumbing in fake_openai.py so each file stays readable. Standard library
only, because the server is also started as a subprocess where start-up time matters. The shapes
follow the models of the real `openai` SDK (types/responses, types/chat) so the SDK parses them
exactly as it would parse the real service.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

JSON = dict[str, Any]

# Fault name -> (HTTP status, error type, error code, message). "429" gets its Retry-After header in
# the server; "quota" is a 429 too but deliberately without one: it will not succeed on retry.
ERROR_FAULTS: dict[str, tuple[int, str, str | None, str]] = {
    "500": (
        500,
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    "429": (
        429,
        "tokens",
        "rate_limit_exceeded",
        "Rate limit reached for {model} in organization org-fake on tokens per min (TPM): Limit 200000, "
        "Used 199500, Requested 1200. Please try again in {retry}s. "
        "Visit https://platform.openai.com/account/rate-limits to learn more.",
    ),
    "quota": (
        429,
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details. For more information "
        "on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
    ),
    "401": (
        401,
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys.",
    ),
    "context_length": (
        400,
        "invalid_request_error",
        "context_length_exceeded",
        "Your input exceeds the context window of this model. Please adjust your input and try again.",
    ),
    # A model the account cannot use (param "model"): a 404 that is about no knowledge file.
    "model_not_found": (
        404,
        "invalid_request_error",
        "model_not_found",
        "The model '{model}' does not exist or you do not have access to it.",
    ),
    # A model without reasoning (gpt-4.1, gpt-4o) asked for an effort (param "reasoning.effort").
    "unsupported_reasoning": (
        400,
        "invalid_request_error",
        "unsupported_parameter",
        "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
    ),
    # llama-cpp-python's server refusing response_format type json_schema: a 500 with no code or param.
    "refused_format": (
        500,
        "internal_server_error",
        None,
        "1 validation error: {{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
        "'msg': \"Input should be 'text' or 'json_object'\"}}",  # a str.format template: braces doubled
    ),
    # A stored response that expired or was deleted, named by a later turn's previous_response_id.
    "previous_not_found": (
        400,
        "invalid_request_error",
        "previous_response_not_found",
        "Previous response with id 'resp_expired' not found.",
    ),
}
TEXT_FAULTS = frozenset({"slow", "cut", "incomplete", "fenced", "empty", "annotated", "commentary", "refusal"})
# Replies no well-behaved server sends (fake_openai_odd.py builds them): each must end as a clean error.
ODD_FAULTS = frozenset(
    {"error_body", "bad_json", "bad_utf8", "not_object", "odd_usage", "stream_error", "failed", "json_stream"}
)
FAULTS = frozenset(ERROR_FAULTS) | TEXT_FAULTS | ODD_FAULTS
# What a codex / gpt-5 model says before its answer (a `phase: "commentary"` message).
COMMENTARY_TEXT = "I'll fix the typos and keep everything else as it is."
REFUSAL_TEXT = "I'm sorry, but I can't help with that."

CITATION_MARKER = "【4:0†notes.md】"
_TYPOS = {"teh": "the", "recieve": "receive", "seperate": "separate"}
_TYPO_RE = re.compile(r"\b(" + "|".join(_TYPOS) + r")\b")


def fix_typos(text: str) -> str:
    """Default responder: a visible, deterministic edit that leaves every other byte alone."""
    return _TYPO_RE.sub(lambda m: _TYPOS[m.group(1)], text)


def failing_on(marker: str) -> Callable[[str], str]:
    """A responder that fails for a text holding marker (the fake answers that request HTTP 500) and fixes
    "teh" and "recieve" in every other (as plain replacements, inside words too, unlike fix_typos)."""

    def responder(text: str) -> str:
        if marker in text:
            raise RuntimeError("the fake answers 500 when its responder fails")
        return text.replace("teh", "the").replace("recieve", "receive")

    return responder


def wants_json_schema(kind: str, body: JSON) -> bool:
    """The request asks for Structured Outputs (Responses `text.format`, Chat `response_format`)."""
    holder = body.get("text") if kind == "responses" else body
    fmt = holder.get("format" if kind == "responses" else "response_format") if isinstance(holder, dict) else None
    if isinstance(fmt, dict) and kind == "chat" and fmt.get("type") == "json_object":
        return "schema" in fmt  # llama-cpp-python's shape (the chat backend's json_format = "json_object")
    return isinstance(fmt, dict) and fmt.get("type") == "json_schema"


def _unique_span(original: str, tokens: list[str], starts: list[int], first: int, last: int) -> tuple[int, int]:
    """Token range [first, last) grown one token at a time, right then left, until its text occurs once."""
    while True:
        find = original[starts[first] : starts[last]]
        if find.strip() and original.count(find) == 1:
            return first, last
        if last < len(tokens):
            last += 1
        elif first > 0:
            first -= 1
        else:
            return first, last


def _changed_regions(ours: list[str], theirs: list[str]) -> list[tuple[int, int, int, int]] | None:
    """Token ranges (a0, a1, b0, b1) that cover every changed line, from a diff of lines: the word diff
    then runs inside them only (a word diff of a whole 4 KB reply costs ~100 ms, since whitespace tokens
    are everywhere). None when the tokens between two ranges do not pair up (a whitespace run across a
    changed line boundary): the caller diffs the whole text."""
    import difflib

    def cuts(tokens: list[str]) -> list[int]:
        lines = [0]  # the token index where each line starts (after the token holding its newline)
        for i, token in enumerate(tokens):
            lines.extend([i + 1] * token.count("\n"))
        return [*lines, len(tokens)]

    a_lines, b_lines = cuts(ours), cuts(theirs)
    a_text = ["".join(ours[a_lines[i] : a_lines[i + 1]]) for i in range(len(a_lines) - 1)]
    b_text = ["".join(theirs[b_lines[i] : b_lines[i + 1]]) for i in range(len(b_lines) - 1)]
    regions: list[tuple[int, int, int, int]] = []
    matcher = difflib.SequenceMatcher(None, a_text, b_text, autojunk=False)
    for tag, i0, i1, j0, j1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        # One token of margin each side: a whitespace token may straddle the changed lines' edges.
        a0, b0 = max(0, a_lines[i0] - 1), max(0, b_lines[j0] - 1)
        a1, b1 = min(len(ours), a_lines[i1] + 1), min(len(theirs), b_lines[j1] + 1)
        if regions and (a0 <= regions[-1][1] or b0 <= regions[-1][3]):
            a0, b0 = regions[-1][0], regions[-1][2]
            regions.pop()
        regions.append((a0, a1, b0, b1))
    a_at = b_at = 0
    for a0, a1, b0, b1 in [*regions, (len(ours), 0, len(theirs), 0)]:
        if ours[a_at:a0] != theirs[b_at:b0]:
            return None
        a_at, b_at = a1, b1
    return regions


def _word_opcodes(ours: list[str], theirs: list[str]) -> list[tuple[int, int, int, int]]:
    """The word diff's changed runs (a0, a1, b0, b1), within the changed lines' regions only."""
    import difflib  # only the edits replies need it

    regions = _changed_regions(ours, theirs)
    if regions is None:
        regions = [(0, len(ours), 0, len(theirs))]
    found: list[tuple[int, int, int, int]] = []
    for a_off, a_end, b_off, b_end in regions:
        matcher = difflib.SequenceMatcher(None, ours[a_off:a_end], theirs[b_off:b_end], autojunk=False)
        found.extend(
            (a_off + a0, a_off + a1, b_off + b0, b_off + b1)
            for tag, a0, a1, b0, b1 in matcher.get_opcodes()
            if tag != "equal"
        )
    return found


def edits_between(original: str, fixed: str) -> list[JSON]:
    """What a model in edits mode would send for turning original into fixed: one {find, replace, reason}
    per changed run of words, `find` extended with its neighbours until it occurs exactly once."""
    ours, theirs = re.findall(r"\s+|\S+", original), re.findall(r"\s+|\S+", fixed)
    starts = [0]
    for token in ours:
        starts.append(starts[-1] + len(token))
    edits: list[JSON] = []
    for a0, a1, b0, b1 in _word_opcodes(ours, theirs):
        first, last = _unique_span(original, ours, starts, a0, max(a1, a0 + 1) if a0 < len(ours) else a1)
        before, after = "".join(ours[first:a0]), "".join(ours[a1:last])
        find = original[starts[first] : starts[last]]
        edits.append({"find": find, "replace": before + "".join(theirs[b0:b1]) + after, "reason": "spelling"})
    return edits


def edits_reply(*edits: JSON) -> str:
    """A scripted edits reply: `Scripted(text=edits_reply({"find": ..., "replace": ..., "reason": ...}))`."""
    return json.dumps({"edits": list(edits)}, ensure_ascii=False)


def error_body(message: str, err_type: str, code: str | None = None, param: str | None = None) -> JSON:
    return {"error": {"message": message, "type": err_type, "param": param, "code": code}}


def fault_error(fault: str, model: str, retry_after: float, api_key: str) -> tuple[int, JSON]:
    status, err_type, code, template = ERROR_FAULTS[fault]
    # Real 401s echo a masked key; never echo the whole secret even in a fake.
    masked = (api_key[:3] + "*" * 4 + api_key[-4:]) if len(api_key) > 8 else "*" * len(api_key)
    message = template.format(model=model, retry=f"{retry_after:g}", key=masked)
    params = {"context_length": "input", "model_not_found": "model", "unsupported_reasoning": "reasoning.effort"}
    param = params.get(fault)
    return status, error_body(message, err_type, code, param)


def approx_tokens(text: str) -> int:
    """Rough len/4 estimate, at least 1, the way usage figures look without running a tokenizer."""
    return max(1, round(len(text) / 4))


def _texts(items: Any, roles: tuple[str, ...] | None) -> list[str]:
    texts: list[str] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or (roles is not None and item.get("role") not in roles):
            continue
        content = item.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            # "input_text" is the Responses part type, "text" the Chat one; accepting both costs nothing.
            texts.extend(
                part["text"]
                for part in content
                if isinstance(part, dict)
                and part.get("type") in ("input_text", "text")
                and isinstance(part.get("text"), str)
            )
    return texts


def user_text(kind: str, body: JSON) -> str:
    """The user's text only: instructions and system/developer messages are not part of it."""
    if kind == "responses":
        items = body.get("input")
        if isinstance(items, str):
            return items
        return "\n\n".join(_texts(items, ("user",)))
    return "\n\n".join(_texts(body.get("messages"), ("user",)))


def file_ids_in(kind: str, body: JSON) -> list[str]:
    """File ids a model request refers to: Responses `input_file`/`input_image` parts, Chat `file` parts."""
    items = body.get("input") if kind == "responses" else body.get("messages")
    found: list[str] = []
    for item in items if isinstance(items, list) else []:
        content = item.get("content") if isinstance(item, dict) else None
        for part in content if isinstance(content, list) else []:
            if not isinstance(part, dict):
                continue
            ref = part if part.get("type") in ("input_file", "input_image") else None
            ref = part.get("file") if part.get("type") == "file" else ref
            if isinstance(ref, dict) and isinstance(ref.get("file_id"), str):
                found.append(ref["file_id"])
    return found


def prompt_text(kind: str, body: JSON) -> str:
    """Everything the model would read, for the input token estimate."""
    items = body.get("input") if kind == "responses" else body.get("messages")
    parts = [items] if isinstance(items, str) else _texts(items, None)
    instructions = body.get("instructions")
    return "\n\n".join(([instructions] if isinstance(instructions, str) else []) + parts)


@dataclass(frozen=True)
class Plan:
    """Everything one model reply needs, computed once so streamed and plain forms agree."""

    kind: str  # "responses" or "chat"
    body: JSON
    text: str
    incomplete: bool
    annotation: JSON | None = None
    fault: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))
    resp_id: str = field(default_factory=lambda: "resp_" + uuid.uuid4().hex)
    msg_id: str = field(default_factory=lambda: "msg_" + uuid.uuid4().hex)
    chat_id: str = field(default_factory=lambda: "chatcmpl-" + uuid.uuid4().hex[:24])

    @property
    def model(self) -> str:
        return str(self.body.get("model"))

    @property
    def input_tokens(self) -> int:
        return approx_tokens(prompt_text(self.kind, self.body))

    @property
    def output_tokens(self) -> int:
        return approx_tokens(self.text)


def make_plan(kind: str, body: JSON, text: str, fault: str | None) -> Plan:
    annotation: JSON | None = None
    if fault == "fenced":
        text = "```markdown\n" + text + "\n```\n"
    elif fault == "empty":
        text = ""
    elif fault == "incomplete":
        # max_output_tokens stops the model mid-text, so only a prefix arrives.
        text = text[: len(text) // 2]
    elif fault == "annotated":
        end = re.search(r"[.!?](?=\s|$)", text)
        pos = end.end() if end else len(text)
        text = text[:pos] + CITATION_MARKER + text[pos:]
        # The SDK documents `index` as the position in the output text where the citation goes.
        annotation = {"type": "file_citation", "file_id": "file-fake0notes", "filename": "notes.md"}
        annotation["index"] = pos
    return Plan(kind, body, text, fault == "incomplete", annotation, fault)


def split_text(text: str) -> list[str]:
    """A few deltas that concatenate back to exactly `text` (word boundaries when possible)."""
    if not text:
        return []
    pieces = re.split(r"(?<=\s)(?=\S)", text)
    if len(pieces) < 3:
        third = max(1, len(text) // 3)
        pieces = [text[:third], text[third : 2 * third], text[2 * third :]]
        pieces = [p for p in pieces if p]
    count = min(5, len(pieces))
    size = -(-len(pieces) // count)
    return ["".join(pieces[i : i + size]) for i in range(0, len(pieces), size)]


# --- Chat Completions API --------------------------------------------------------------------


def chat_usage(plan: Plan) -> JSON:
    return {
        "prompt_tokens": plan.input_tokens,
        "completion_tokens": plan.output_tokens,
        "total_tokens": plan.input_tokens + plan.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _chat_envelope(plan: Plan, obj: str) -> JSON:
    return {
        "id": plan.chat_id,
        "object": obj,
        "created": plan.created,
        "model": plan.model,
        "service_tier": "default",  # no `system_fingerprint`: the spec types it as a string, never null
    }


def chat_completion(plan: Plan) -> JSON:
    message: JSON = {"role": "assistant", "content": plan.text, "refusal": None, "annotations": []}
    if plan.fault == "refusal":
        message.update(content=None, refusal=REFUSAL_TEXT)
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason(plan)}
    return {**_chat_envelope(plan, "chat.completion"), "choices": [choice], "usage": chat_usage(plan)}


def finish_reason(plan: Plan) -> str:
    return "length" if plan.incomplete else "stop"


def chat_chunks(plan: Plan, cut: bool) -> list[JSON]:
    """Streamed chat chunks; the caller appends `data: [DONE]` unless the stream is cut."""
    with_usage = bool((plan.body.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: JSON, finish: str | None) -> JSON:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        extra: JSON = {"usage": None} if with_usage else {}  # the real service adds it to every chunk then
        return {**_chat_envelope(plan, "chat.completion.chunk"), "choices": [choice], **extra}

    field_name = "refusal" if plan.fault == "refusal" else "content"
    deltas = split_text(REFUSAL_TEXT if plan.fault == "refusal" else plan.text)
    chunks = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    chunks += [chunk({field_name: d}, None) for d in (deltas[: len(deltas) // 2] if cut else deltas)]
    if cut:
        return chunks
    chunks.append(chunk({}, finish_reason(plan)))
    if with_usage:
        envelope = _chat_envelope(plan, "chat.completion.chunk")
        chunks.append({**envelope, "choices": [], "usage": chat_usage(plan)})
    return chunks


# --- framing ---------------------------------------------------------------------------------


def dumps(payload: Any) -> bytes:
    # Compact, raw UTF-8 like the real service, so clients meet multi-byte text split across reads.
    # A lone surrogate in a scripted text has no UTF-8: it goes out as the JSON escape `\ud800`.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + (data if isinstance(data, bytes) else dumps(data)) + b"\n\n"


def models_list() -> JSON:
    names = ("gpt-5-mini", "gpt-5", "gpt-5-nano", "gpt-4.1-mini", "gpt-6.1-terra", "gpt-6-luna")
    data = [{"id": n, "object": "model", "created": 1754425777, "owned_by": "system"} for n in names]
    return {"object": "list", "data": data}


# --- files and lists -------------------------------------------------------------------------


def cursor_page(items: list[JSON], query: dict[str, str], default_limit: int) -> tuple[int, JSON]:
    """A cursor page (limit/order/after/before) over `items` in creation order, as SyncCursorPage reads it."""
    limit_text, order = query.get("limit", str(default_limit)), query.get("order", "desc")
    limit = int(limit_text) if limit_text.isdigit() else 0
    if limit < 1 or order not in ("asc", "desc"):
        param = "limit" if limit < 1 else "order"
        message = f"Invalid '{param}': {query[param]!r}."
        return 400, error_body(message, "invalid_request_error", "invalid_value", param)
    items = items[::-1] if order == "desc" else items
    ids = [item["id"] for item in items]
    if "after" in query:
        items = items[ids.index(query["after"]) + 1 :] if query["after"] in ids else []
    elif "before" in query:
        items = items[: ids.index(query["before"])][-limit:] if query["before"] in ids else []
    data = items[:limit]
    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
    return 200, {"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": len(items) > limit}


@dataclass
class FormPart:
    data: bytes
    filename: str | None = None
    content_type: str | None = None


def _disposition_param(header: str, key: str) -> str | None:
    star = re.search(rf"(?:^|;)\s*{key}\*=[^']*'[^']*'([^;]*)", header)
    if star:
        return unquote(star.group(1).strip())
    match = re.search(rf'(?:^|;)\s*{key}="((?:[^"\\]|\\.)*)"', header)
    if not match:
        return None
    value = re.sub(r"\\(.)", r"\1", match.group(1))
    # httpx escapes quotes and control characters the HTML5 way: %22, %0A, ...
    return re.sub(r"%(22|[01][0-9A-F])", lambda m: chr(int(m.group(1), 16)), value)


def parse_multipart(raw: bytes, content_type: str) -> dict[str, FormPart] | None:
    """None when the body is not multipart/form-data; {} when it is but cannot be read."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if not boundary:
        return {}
    parts: dict[str, FormPart] = {}
    for chunk in raw.split(b"--" + boundary.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, sep, data = chunk.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        field_name = _disposition_param(disposition, "name")
        if sep and field_name is not None:
            filename = _disposition_param(disposition, "filename")
            parts[field_name] = FormPart(data.removesuffix(b"\r\n"), filename, headers.get("content-type"))
    return parts


def form_summary(form: dict[str, FormPart]) -> JSON:
    """What a recorded multipart request shows: text fields as text, files as name and size."""
    return {
        name: {"filename": part.filename, "bytes": len(part.data)}
        if part.filename is not None
        else part.data.decode("utf-8", "replace")
        for name, part in form.items()
    }


# The Responses API payloads live in fake_openai_responses.py, which builds on the Plan above; looked
# up on first use (PEP 562), so importing either module first works.
_RESPONSES = frozenset({"leading_items", "message_item", "output_part", "response_events", "response_object"})


def __getattr__(name: str) -> Any:
    if name in _RESPONSES:
        from tests import fake_openai_responses

        return getattr(fake_openai_responses, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
