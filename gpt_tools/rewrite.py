"""Rewriting a document safely: protect, chunk, send the chunks concurrently, verify, reassemble.

Every chunk's reply must pass the output guards, bring back its protected regions intact and keep a
plausible size; otherwise the whole document is refused. With a session cache, a chunk seen before
(or a chunk that is itself an earlier fix) costs no request, and a refused reply is remembered so a
repeated run does not pay for it again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from . import guards, protect, textio
from .backends import Usage
from .backends.base import DeltaHook
from .cache import ResultCache
from .chunking import split_chunks
from .errors import ReplyRejected
from .runner import Outcome, Plan

MIN_RATIO, MAX_RATIO = 0.5, 2.0  # a rewrite outside these bounds is not a fix, it is something else
RATIO_FLOOR = 400  # characters; below this, small absolute edits make ratios meaningless


@dataclass(frozen=True)
class _Chunk:
    text: str  # the masked reply, in the input's conventions
    usage: Usage
    model: str
    response_id: str | None
    sent: bool


def check_ratio(before: str, after: str, where: str) -> None:
    if len(before) >= RATIO_FLOOR and not MIN_RATIO <= len(after) / len(before) <= MAX_RATIO:
        raise ReplyRejected(
            f"the reply for {where} is {len(after) / len(before):.0%} of the input's size, outside "
            f"{MIN_RATIO:.0%}-{MAX_RATIO:.0%}; a rewrite should not be that different; nothing was applied"
        )


def _verify(cleaned: str, chunk: str, masked: protect.Masked, where: str) -> str:
    out = textio.conform_to_input(cleaned, chunk, rewrite=True)
    protect.unmask(out, protect.restrict(masked, chunk))
    check_ratio(chunk, out, where)
    return out


def _run_chunk(plan: Plan, chunk: str, masked: protect.Masked, where: str, on_delta: DeltaHook | None) -> _Chunk:
    cache: ResultCache | None = plan.session.cache
    request = plan.request(chunk)
    key = cache.key(request, plan.settings.backend, plan.endpoint.base_url) if cache else ""
    known = cache.get(key) if cache else None
    if known and isinstance(known.get("text"), str):
        return _Chunk(known["text"], Usage(), "", None, sent=False)
    if known and "refused" in known:
        raise ReplyRejected(f"{known['refused']} (remembered from an earlier run; edit the text to try again)")
    reply = plan.send(request, on_delta)
    # Incomplete, cut or empty replies are transient: refused, but never remembered.
    cleaned = guards.check_reply(reply.text, status=reply.status, reason=reply.reason, original=chunk)
    try:
        out = _verify(cleaned, chunk, masked, where)
    except ReplyRejected as refused:
        if cache:
            cache.put(key, {"refused": str(refused)})
        raise
    if cache:
        cache.put(key, {"text": out})
        cache.put(cache.key(plan.request(out), plan.settings.backend, plan.endpoint.base_url), {"text": out})
    return _Chunk(out, reply.usage, reply.model, reply.response_id, sent=True)


def rewrite_document(plan: Plan, text: str, on_delta: DeltaHook | None = None) -> tuple[str, Outcome]:
    """The rewritten document in text's own conventions, and what it cost."""
    body = textio.strip_bom(text)
    masked = protect.mask(body) if plan.settings.protect else protect.Masked(body, ())
    chunks = split_chunks(masked.text, plan.settings.chunk_tokens)
    # Streaming partial text only makes sense when it is the final text: one chunk, nothing masked.
    stream_to = on_delta if len(chunks) == 1 and not masked.regions else None
    names = [f"chunk {i + 1}/{len(chunks)}" if len(chunks) > 1 else "the document" for i in range(len(chunks))]
    if len(chunks) == 1:
        done = [_run_chunk(plan, chunks[0], masked, names[0], stream_to)]
    else:
        with ThreadPoolExecutor(max_workers=min(len(chunks), plan.session.jobs)) as pool:
            done = list(pool.map(lambda c, n: _run_chunk(plan, c, masked, n, None), chunks, names))
    restored = protect.unmask("".join(part.text for part in done), masked)
    check_ratio(body, restored, "the document")
    final = textio.conform_to_input(restored, text, rewrite=True)
    sent = [part for part in done if part.sent]
    usage = Usage(
        sum(p.usage.input_tokens for p in sent),
        sum(p.usage.output_tokens for p in sent),
        sum(p.usage.cached_tokens for p in sent),
    )
    model = next((p.model for p in sent if p.model), "")
    return final, Outcome(usage, model, next((p.response_id for p in sent), None), len(sent), len(chunks))
