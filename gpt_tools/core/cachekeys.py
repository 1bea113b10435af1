"""Which result-cache entries a document has: the keys a run would look its chunks up by.

`gpt-tools cache clear FILE` forgets exactly those, so the next run asks again (a remembered refusal
included). Computed offline from the run's own `plan.decide()`: no key, no request, no upload.
"""

from __future__ import annotations

from gpt_tools.config.keys import base_url
from gpt_tools.core import editing, rewrite
from gpt_tools.core.plan import Plan, RunRequest, decide
from gpt_tools.core.session import Session
from gpt_tools.state.cache import ResultCache
from gpt_tools.wire.backends import get_backend
from gpt_tools.wire.transport import Endpoint


def document_keys(request: RunRequest, cache: ResultCache) -> list[str]:
    """The keys of every chunk of request's document, for a rewriting assistant; none for a writer (its
    replies are never cached) or for knowledge the server searches (its store is known after a sync only)."""
    decision = decide(request)
    prepared = decision.prepared
    if prepared is None or decision.knowledge == "upload":
        return []
    settings = decision.settings
    plan = Plan(
        assistant=decision.assistant,
        settings=settings,
        instructions=decision.instructions,
        endpoint=Endpoint(base_url=base_url(settings), api_key=None),  # the key is no part of a cache key
        backend=get_backend(settings.backend),
        session=Session(jobs=1),
        vector_store_ids=decision.resolved.assistant.vector_store_ids,  # as build_plan() sends them
    )
    if plan.edits:
        return editing.chunk_keys(plan, cache, prepared)
    return rewrite.chunk_keys(plan, cache, prepared)
