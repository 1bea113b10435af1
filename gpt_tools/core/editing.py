"""A rewriter's run in edits mode: send the document raw, apply the edits it answers with, strictly.

The model sees the document **raw**, protected regions included (markdown/edits.py's choice: prose
next to code reads better with the code in place); an edit that touches a protected region is
refused by apply_edits, never applied, so the raw view costs no safety. Every byte no applied edit
covers stays byte-identical by construction, so document mode's size and content guards have
nothing to check here. A reply that is not edits JSON is refused like any bad reply.

Long documents go out in chunks (settings.edit_chunk_tokens: the replies are written in parallel,
which bench/edit_chunks.py measured as the faster choice); each chunk's edits are applied to that chunk
only, so a `find` need only be unique in the chunk it was sent with. With a session cache, a chunk
seen before costs no request (its edits are applied again, with today's checks), and the text an
edit run produced is remembered as needing nothing more, so a re-run after `git add` sends nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from gpt_tools.core import editmode, guards
from gpt_tools.core.inputs import Prepared, prepare_raw
from gpt_tools.core.plan import Plan
from gpt_tools.core.records import EditReport, Spent
from gpt_tools.core.rewrite import check_chunk_size, chunk_request, run_in_parallel
from gpt_tools.errors import ReplyRejected
from gpt_tools.markdown import protect_hidden
from gpt_tools.markdown.edit_guard import opt_out_spans
from gpt_tools.markdown.edits import (
    Edit,
    EditResult,
    Place,
    PlacedEdit,
    RefusedEdit,
    apply_edits,
    keep_structure,
    parse_edits,
    protected_spans,
)
from gpt_tools.markdown.protect import Masked
from gpt_tools.state.cache import ResultCache
from gpt_tools.wire.backends import Reply, Usage

Span = tuple[int, int]


def spans_in(spans: Sequence[Span], start: int, end: int) -> list[Span]:
    """The protected spans that reach into [start, end), in the chunk's own offsets."""
    return [(max(s, start) - start, min(e, end) - start) for s, e in spans if e > start and s < end]


def edits_of(reply: Reply, chunk: str) -> list[Edit]:
    """A chunk's reply, checked (complete, not refused) and parsed; ReplyRejected otherwise (for batch
    collect, whose replies arrive later; a live run does the same in two steps around its cache)."""
    return parse_edits(guards.check_reply(reply.text, status=reply.status, reason=reply.reason, original=chunk))


def _stored(edits: Sequence[Edit]) -> dict[str, Any]:
    return {"edits": [asdict(edit) for edit in edits]}


def _key(plan: Plan, cache: ResultCache, text: str, hidden: Masked) -> str:
    request = chunk_request(plan, text, hidden)  # as sent: with what its hidden regions' markers are
    return cache.key(request, plan.settings.backend, plan.endpoint.base_url, guard=editmode.GUARD)


def chunk_keys(plan: Plan, cache: ResultCache, prepared: Prepared) -> list[str]:
    """The cache key each chunk of `prepared` is looked up by (`gpt-tools cache clear FILE`)."""
    return [_key(plan, cache, chunk, prepared.masked) for chunk in prepared.chunks]


def _from_cache(cache: ResultCache, key: str) -> list[Edit] | None:
    """A remembered reply's edits (read as strictly as a fresh reply); a remembered refusal is raised."""
    known = cache.get(key)
    if known and isinstance(known.get("edits"), list):
        try:
            return parse_edits(json.dumps({"edits": known["edits"]}))
        except ReplyRejected:
            return None  # a damaged entry is never replayed: ask again
    if known and isinstance(known.get("refused"), str):
        raise ReplyRejected(
            f"{known['refused']} (remembered from an earlier run; edit the text to try again)", remembered=True
        )
    return None


@dataclass(frozen=True, kw_only=True)
class _Part:
    result: EditResult  # offsets into the chunk
    spent: Spent | None  # None: from the cache


def _remember_result(plan: Plan, cache: ResultCache, result: EditResult, hidden: Masked) -> None:
    """The text an edit run produced needs nothing more from this model: remembered as such, with the
    edits that were refused (so a re-run reports them again), if none of them would apply there."""
    left = [refusal.edit for refusal in result.refused]
    spans = _spans(result.text, protect=plan.settings.protect, hidden=hidden)
    if not apply_edits(result.text, left, protected=spans).applied:
        cache.put(_key(plan, cache, result.text, hidden), _stored(left))


def _run_chunk(plan: Plan, chunk: str, spans: list[Span], where: str, place: Place, hidden: Masked) -> _Part:
    check_chunk_size(chunk, plan.settings.max_input_tokens, where)
    cache = plan.session.cache
    key = _key(plan, cache, chunk, hidden) if cache else ""
    if cache and (known := _from_cache(cache, key)) is not None:
        return _Part(result=apply_edits(chunk, known, protected=spans, place=place), spent=None)
    reply = plan.send(chunk_request(plan, chunk, hidden))
    try:
        # Incomplete, cut or empty replies are transient: refused, but never remembered.
        cleaned = guards.check_reply(reply.text, status=reply.status, reason=reply.reason, original=chunk)
        try:
            edits = parse_edits(cleaned)
        except ReplyRejected as refused:  # a whole reply that is not edits: asking again pays again
            if cache:
                cache.put(key, {"refused": str(refused)})
            raise
    except ReplyRejected as refused:
        guards.billed(refused, reply)
        raise
    result = apply_edits(chunk, edits, protected=spans, place=place)  # refusals name the document's lines
    if cache:
        cache.put(key, _stored(edits))
        _remember_result(plan, cache, result, hidden)
    spent = Spent(usage=reply.usage, model=reply.model, response_id=reply.response_id, request_id=reply.request_id)
    return _Part(result=result, spent=spent)


def _shifted(part: EditResult, offset: int) -> tuple[list[PlacedEdit], list[RefusedEdit]]:
    applied = [replace(p, start=p.start + offset, end=p.end + offset) for p in part.applied]
    refused = [
        replace(r, start=r.start + offset, end=(r.end or 0) + offset) if r.start is not None else r
        for r in part.refused
    ]
    return applied, refused


def join_results(body: str, chunks: Sequence[str], results: Sequence[EditResult], *, protect: bool) -> EditResult:
    """Each chunk's edits as one result over body (offsets shifted into it), checked whole: a fence
    typed at one chunk's end would swallow the next, which no chunk's own check can see."""
    applied: list[PlacedEdit] = []
    refused: list[RefusedEdit] = []
    offset = 0
    for chunk, part in zip(chunks, results, strict=True):
        more, less = _shifted(part, offset)
        applied += more
        refused += less
        offset += len(chunk)
    whole = EditResult(text="".join(part.text for part in results), applied=tuple(applied), refused=tuple(refused))
    return keep_structure(body, whole) if len(chunks) > 1 and protect else whole


def _spans(text: str, *, protect: bool, hidden: Masked) -> list[Span]:
    """What no edit may touch in text: its protected regions (only opt-outs with protection off: the
    author's own always hold), and the markers of the opt-out regions protect_hidden hid."""
    spans = protected_spans(text) if protect else opt_out_spans(text)
    return sorted(spans + protect_hidden.marker_spans(hidden, text))


def chunk_spans(body: str, chunks: Sequence[str], *, protect: bool, hidden: Masked) -> list[list[Span]]:
    """The spans no edit may touch in body (the hidden text the chunks join to), cut to each chunk, in its
    offsets."""
    spans = _spans(body, protect=protect, hidden=hidden)
    found, start = [], 0
    for chunk in chunks:
        found.append(spans_in(spans, start, start + len(chunk)))
        start += len(chunk)
    return found


def edit_document(plan: Plan, text: str, *, prepared: Prepared | None = None) -> tuple[str, Spent]:
    """text with the model's valid edits applied (in text's own BOM and line endings: they are its
    bytes), what it cost, and every edit applied or refused, with positions into text without BOM."""
    prepared = prepared or prepare_raw(text, chunk_tokens=plan.settings.edit_chunk_tokens)
    body, hidden, chunks, protect = prepared.body, prepared.masked, prepared.chunks, plan.settings.protect
    spans = chunk_spans(hidden.text, chunks, protect=protect, hidden=hidden)
    jobs = list(zip(chunks, spans, prepared.names, protect_hidden.places(hidden, chunks), strict=True))
    parts = run_in_parallel(plan, len(jobs), lambda sent_by, i: _run_chunk(sent_by, *jobs[i], hidden))
    joined = join_results(hidden.text, chunks, [part.result for part in parts], protect=protect)
    whole = protect_hidden.reveal(joined, hidden)  # the opt-out regions back, offsets into body
    sent = [part.spent for part in parts if part.spent is not None]
    report = EditReport(original=body, applied=whole.applied, refused=whole.refused)
    return text[: len(text) - len(body)] + whole.text, _spent(sent, len(parts), report)


def _spent(sent: list[Spent], chunks: int, report: EditReport) -> Spent:
    usage = Usage(
        sum(s.usage.input_tokens for s in sent),
        sum(s.usage.output_tokens for s in sent),
        sum(s.usage.cached_tokens for s in sent),
    )
    return Spent(
        usage=usage,
        model=next((s.model for s in sent if s.model), ""),
        response_id=next((s.response_id for s in sent if s.response_id), None),
        requests=len(sent),
        chunks=chunks,
        request_id=",".join(s.request_id for s in sent if s.request_id) or None,
        edits=report,
    )
