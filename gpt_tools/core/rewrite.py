"""Rewriting a document safely: protect, chunk, send the chunks concurrently, verify, reassemble.

Every chunk's reply must pass the output guards, bring back its protected regions intact, keep a
plausible size and keep the chunk's prose block by block (fidelity.py); otherwise the whole document
is refused. With a session cache, a chunk seen before (or a chunk that is itself an earlier fix) costs
no request, and a refused reply is remembered so a repeated run does not pay for it again; only a
reply that passed every guard is cached as a result, and it is checked again before it is replayed.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import TypeVar

from gpt_tools.core import fidelity, guards
from gpt_tools.core.inputs import Prepared, prepare
from gpt_tools.core.plan import Plan
from gpt_tools.core.records import Spent
from gpt_tools.errors import Cancelled, InputRefused, ReplyRejected
from gpt_tools.markdown import protect, protect_explain, textio
from gpt_tools.state.cache import ResultCache
from gpt_tools.wire.backends import BackendRequest, Reply, Usage
from gpt_tools.wire.backends.base import DeltaHook

MIN_RATIO, MAX_RATIO = 0.5, 2.0  # a rewrite outside these bounds is not a fix, it is something else
T = TypeVar("T")
SMALL_SLACK = 60  # characters a short text may change by whatever the ratio: "teh cat" -> "The cat."


@dataclass(frozen=True)
class _Chunk:
    text: str  # the masked reply, in the input's conventions
    usage: Usage
    model: str
    response_id: str | None
    sent: bool
    request_id: str | None = None  # the server's x-request-id, for the run log


def check_ratio(before: str, after: str, where: str, min_ratio: float = MIN_RATIO) -> None:
    """Refuse a 'rewrite' whose size is far from the input's (a refusal, chatter, a summary).

    Short texts get an absolute slack instead, so a fix of a few words is never refused, while a
    paragraph replaced by "I'm sorry, I can't help with that" still is.
    """
    if abs(len(after) - len(before)) <= SMALL_SLACK:
        return
    if not before or not min_ratio <= len(after) / len(before) <= MAX_RATIO:
        ratio = f"{len(after) / len(before):.0%}" if before else "far more than"
        raise ReplyRejected(
            f"the reply for {where} is {ratio} of the input's size, outside "
            f"{min_ratio:.0%}-{MAX_RATIO:.0%}; a rewrite should not be that different; nothing was applied"
        )


def _verify(cleaned: str, chunk: str, masked: protect.Masked, where: str, strictness: fidelity.Fidelity) -> str:
    part = protect.restrict(masked, chunk)
    # Settled: a re-spaced block marker line is cached as masked, so the next run hits the cache.
    out = protect.settle(textio.conform_to_input(cleaned, chunk, rewrite=True), part)
    protect.unmask(out, part)
    check_ratio(chunk, out, where, strictness.min_size)
    fidelity.check_content(chunk, out, where, strictness)
    return out


def strictness(rewords: bool) -> fidelity.Fidelity:
    """The content guard an assistant gets: `rewords = true` (Simplifier) allows heavy rewording."""
    return fidelity.REWORDS if rewords else fidelity.STRICT


def check_chunk_size(chunk: str, max_input_tokens: int, where: str) -> None:
    tokens = guards.estimate_tokens(chunk)
    if tokens > max_input_tokens:  # one block no heading or blank line could split
        raise InputRefused(
            f"{where} is about {tokens:,} tokens with no place to split it, over max_input_tokens "
            f"({max_input_tokens:,}); nothing was sent"
        )


def check_chunk_reply(reply: Reply, chunk: str, masked: protect.Masked, where: str, *, rewords: bool = False) -> str:
    """A chunk's reply, guarded and verified, as masked text in the chunk's conventions (for batch runs,
    whose replies arrive later and in bulk; a live run does the same in two steps around its cache)."""
    cleaned = guards.check_reply(reply.text, status=reply.status, reason=reply.reason, original=chunk)
    return _verify(cleaned, chunk, masked, where, strictness(rewords))


def chunk_request(plan: Plan, chunk: str, masked: protect.Masked) -> BackendRequest:
    """One chunk's request: the plan's instructions, then what the chunk's markers stand for, so any
    rewriting assistant, a custom one too, is told exactly what it is sent (protect_explain.py; in edits
    mode, the opt-out regions protect_hidden.py hid)."""
    request = plan.request(chunk)
    note = protect_explain.explain(protect.restrict(masked, chunk), edits=plan.edits)
    return replace(request, instructions=request.instructions + note) if note else request


def _key(plan: Plan, cache: ResultCache, text: str, masked: protect.Masked) -> str:
    guard = f"{fidelity.VERSION}:{strictness(plan.settings.rewords).name}"  # what was accepted, and by what
    request = chunk_request(plan, text, masked)
    return cache.key(request, plan.settings.backend, plan.endpoint.base_url, guard=guard)


def chunk_keys(plan: Plan, cache: ResultCache, prepared: Prepared) -> list[str]:
    """The cache key each chunk of `prepared` is looked up by (`gpt-tools cache clear FILE`)."""
    return [_key(plan, cache, chunk, prepared.masked) for chunk in prepared.chunks]


def _from_cache(plan: Plan, cache: ResultCache, key: str, chunk: str, masked: protect.Masked, where: str) -> str | None:
    """A remembered result, checked again as if it had just arrived; a remembered refusal is raised."""
    known = cache.get(key)
    if known and isinstance(known.get("text"), str):
        try:
            return _verify(known["text"], chunk, masked, where, strictness(plan.settings.rewords))
        except ReplyRejected:
            return None  # an entry today's guards refuse (damaged, or from older code) is never replayed
    if known and "refused" in known:
        raise ReplyRejected(
            f"{known['refused']} (remembered from an earlier run; edit the text to try again)", remembered=True
        )
    return None


def _run_chunk(plan: Plan, chunk: str, masked: protect.Masked, where: str, on_delta: DeltaHook | None) -> _Chunk:
    check_chunk_size(chunk, plan.settings.max_input_tokens, where)
    cache: ResultCache | None = plan.session.cache
    key = _key(plan, cache, chunk, masked) if cache else ""
    if cache and (known := _from_cache(plan, cache, key, chunk, masked, where)) is not None:
        return _Chunk(known, Usage(), "", None, sent=False)
    reply = plan.send(chunk_request(plan, chunk, masked), on_delta)
    try:
        # Incomplete, cut or empty replies are transient: refused, but never remembered.
        cleaned = guards.check_reply(reply.text, status=reply.status, reason=reply.reason, original=chunk)
        try:
            out = _verify(cleaned, chunk, masked, where, strictness(plan.settings.rewords))
        except ReplyRejected as refused:
            if cache:
                cache.put(key, {"refused": str(refused)})
            raise
    except ReplyRejected as refused:
        guards.billed(refused, reply)
        raise
    if cache:
        cache.put(key, {"text": out})
        cache.put(_key(plan, cache, out, masked), {"text": out})
    return _Chunk(out, reply.usage, reply.model, reply.response_id, sent=True, request_id=reply.request_id)


def assemble(prepared: Prepared, parts: Sequence[str], text: str, *, rewords: bool = False) -> str:
    """The verified chunk replies joined, protected regions restored, in text's own conventions."""
    restored = protect.unmask("".join(parts), prepared.masked)
    check_ratio(prepared.body, restored, "the document", strictness(rewords).min_size)
    return textio.conform_to_input(restored, text, rewrite=True)


def run_in_parallel(plan: Plan, count: int, work: Callable[[Plan, int], T]) -> list[T]:
    """work(plan, i) for every i < count, in order, or the first failure; one item runs in this thread.

    Ctrl-C lands in this thread, never in the workers: the cancel event is what reaches their sockets,
    so an interrupted run returns at once instead of waiting (up to read_timeout) for chunks that go
    on billing. After a failure the other chunks are stopped too, unless a cache can keep their fixes.
    Work is given the plan that carries the cancel event: it must send with that one.
    """
    if count == 1:
        return [work(plan, 0)]
    cancel = plan.cancel or threading.Event()
    plan = replace(plan, hooks=replace(plan.hooks, cancel=cancel))
    pool = ThreadPoolExecutor(max_workers=min(count, plan.session.jobs))
    futures: list[Future[T]] = []
    first: BaseException | None = None
    try:
        for index in range(count):
            # In a copy of this thread's context: settings held in context variables (the filter's
            # fail-fast switch, wire/retrypolicy.py) hold for every chunk.
            futures.append(pool.submit(contextvars.copy_context().run, work, plan, index))
        wait(futures, return_when=FIRST_EXCEPTION)
        first = next((f.exception() for f in futures if f.done() and f.exception() is not None), None)
        if first is not None and plan.session.cache is None:
            cancel.set()
    except BaseException:
        cancel.set()  # KeyboardInterrupt, SystemExit: stop every chunk in flight, then let it through
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=cancel.is_set())
    if first is not None:
        raise first
    if any(future.cancelled() for future in futures):
        raise Cancelled("cancelled")  # the caller's cancel stopped chunks before they started
    return [future.result() for future in futures]


def rewrite_document(
    plan: Plan, text: str, *, prepared: Prepared | None = None, on_delta: DeltaHook | None = None
) -> tuple[str, Spent]:
    """The rewritten document in text's own conventions, and what it cost.

    `prepared` is text as the run's decide() masked and chunked it (prepared again when not given).
    """
    if prepared is None:
        prepared = prepare(text, protect_regions=plan.settings.protect, chunk_tokens=plan.settings.chunk_tokens)
    chunks, masked, names = prepared.chunks, prepared.masked, prepared.names
    # Streaming partial text only makes sense when it is the final text: one chunk, nothing masked.
    stream_to = on_delta if len(chunks) == 1 and not masked.regions else None
    if len(chunks) == 1:
        done = [_run_chunk(plan, chunks[0], masked, names[0], stream_to)]
    else:
        done = run_in_parallel(
            plan, len(chunks), lambda sent_by, i: _run_chunk(sent_by, chunks[i], masked, names[i], None)
        )
    final = assemble(prepared, [part.text for part in done], text, rewords=plan.settings.rewords)
    sent = [part for part in done if part.sent]
    usage = Usage(
        sum(p.usage.input_tokens for p in sent),
        sum(p.usage.output_tokens for p in sent),
        sum(p.usage.cached_tokens for p in sent),
    )
    model = next((p.model for p in sent if p.model), "")
    request_ids = ",".join(p.request_id for p in sent if p.request_id) or None  # one per chunk sent
    spent = Spent(
        usage=usage,
        model=model,
        response_id=next((p.response_id for p in sent), None),
        requests=len(sent),
        chunks=len(chunks),
        request_id=request_ids,
    )
    return final, spent
