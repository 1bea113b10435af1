"""`run()`: one assistant over one text, with every guard applied. The core's main entry point.

A run is decided (plan.decide: what would be sent, no side effect), made real (plan.materialize:
key, knowledge, uploads), sent (rewrite.py for a rewriter's document) and logged (accounting.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from gpt_tools.config.definitions import Assistant
from gpt_tools.config.loader import Config
from gpt_tools.core import accounting, guards, knowledge
from gpt_tools.core.editing import edit_document
from gpt_tools.core.inputs import InputFile
from gpt_tools.core.plan import (
    Decision,
    Hooks,
    Plan,
    RunRequest,
    decide,
    materialize,
    resolve_request,
    with_conversation,
)
from gpt_tools.core.records import Result, Spent
from gpt_tools.core.rewrite import rewrite_document
from gpt_tools.core.session import Session
from gpt_tools.errors import ApiError, Cancelled, ReplyRejected, TurnNotSaved
from gpt_tools.markdown import textio
from gpt_tools.state import conversation as conversations
from gpt_tools.state.conversation import Conversation
from gpt_tools.state.runlog import Frontend
from gpt_tools.wire.backends.base import DeltaHook
from gpt_tools.wire.transport import RetryHook

PREVIOUS_RESPONSE_LOST = "previous_response_not_found"  # the stored response a turn chains on is gone


def run(
    assistant: str | Assistant,
    text: str,
    *,
    files: Sequence[InputFile] = (),
    model: str | None = None,
    backend: str | None = None,
    extra_instructions: str | None = None,
    allow_secrets: bool = False,
    on_delta: DeltaHook | None = None,
    on_retry: RetryHook | None = None,
    on_progress: knowledge.ProgressHook | None = None,
    cancel: threading.Event | None = None,
    session: Session | None = None,
    config: Config | None = None,
    cwd: Path | str | None = None,
    frontend: Frontend = "library",
    conversation: Conversation | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Result:
    """Run assistant (a name or a definition) over text and return the guarded result.

    A rewriting assistant's document is protected, chunked and (with a session cache) cached; see
    rewrite.py. Raises a GptToolsError subclass on any failure; the caller's text is never modified.
    Every run, failed or not, adds a row to the run log (runlog.py) unless `run_log = false`.
    A conversation turn holds the conversation from reading it to saving it (`on_wait` hears when
    another turn holds it); a reply that cannot be saved raises TurnNotSaved, which carries it.
    """
    request = RunRequest(
        assistant=assistant,
        text=text,
        files=files,
        model=model,
        backend=backend,
        extra_instructions=extra_instructions,
        allow_secrets=allow_secrets,
        config=config,
        cwd=cwd,
        conversation=conversation,
    )
    hooks = Hooks(on_delta=on_delta, on_retry=on_retry, on_progress=on_progress, on_wait=on_wait, cancel=cancel)
    return run_request(request, hooks=hooks, session=session, frontend=frontend)


def run_request(
    request: RunRequest, *, hooks: Hooks | None = None, session: Session | None = None, frontend: Frontend = "library"
) -> Result:
    """`run()` of one request value (the one `preview()` takes too)."""
    started = time.monotonic()
    hooks = hooks or Hooks()
    resolved = resolve_request(request)
    log = accounting.RunLogged(resolved=resolved, frontend=frontend, text=request.text, started=started)
    try:
        with conversations.turn(request.conversation, cancel=hooks.cancel, on_wait=hooks.on_wait):
            result = _run(decide(request, resolved), hooks=hooks, session=session, started=started)
    except BaseException as error:
        log.failed(error)
        raise
    log.succeeded(result)
    return result


def _execute(plan: Plan, decision: Decision, on_delta: DeltaHook | None) -> tuple[str, Spent]:
    text = decision.text
    if plan.edits:
        return edit_document(plan, text, prepared=decision.prepared)
    if plan.assistant.rewrites:
        return rewrite_document(plan, text, prepared=decision.prepared, on_delta=on_delta)
    reply = plan.send(plan.request(decision.user_text), on_delta)
    try:
        cleaned = guards.check_reply(reply.text, status=reply.status, reason=reply.reason, original=text)
    except ReplyRejected as refused:
        guards.billed(refused, reply)
        raise
    spent = Spent(usage=reply.usage, model=reply.model, response_id=reply.response_id, request_id=reply.request_id)
    return textio.conform_to_input(cleaned, text, rewrite=False), spent


def _lost_previous(error: ApiError, plan: Plan, conversation: Conversation | None) -> bool:
    return conversation is not None and plan.previous_response_id is not None and error.code == PREVIOUS_RESPONSE_LOST


def _lost_knowledge(error: ApiError, plan: Plan) -> bool:
    """The server no longer has a vector store or file the request named (its knowledge, not the model)."""
    return error.status == 404 and bool(plan.assistant.files) and knowledge.names_a_lost_reference(error)


def _forgot_lost_attachments(error: ApiError, plan: Plan, decision: Decision) -> bool:
    """A 404 about the input, and the server confirms it lacks an attachment's recorded upload
    (deleted, or uploaded to another server or account): that record is forgotten."""
    file_ids = [attachment.file_id for attachment in plan.attachments if attachment.file_id]
    return (
        bool(file_ids)
        and knowledge.names_a_lost_input(error)
        and knowledge.forget_lost_attachments(plan.endpoint, decision.resolved.root, file_ids)
    )


_OPTIONS = frozenset({"reasoning.effort", "reasoning_effort", "reasoning", "text.verbosity", "verbosity"})


def _refused_an_option(error: ApiError, plan: Plan) -> bool:
    """The server refused the reasoning effort or verbosity this run sent (by the error's param)."""
    sent = bool(plan.settings.reasoning_effort or plan.settings.verbosity)
    return sent and error.status == 400 and error.param in _OPTIONS


def _run(decision: Decision, *, hooks: Hooks, session: Session | None, started: float) -> Result:
    conversation = decision.conversation
    plan = materialize(decision, session=session, hooks=hooks)
    try:
        final, spent = _execute(plan, decision, hooks.on_delta)
    except ApiError as error:
        if _lost_previous(error, plan, conversation):
            # The stored previous response is gone (expired, deleted): resend the local history.
            plan = with_conversation(plan, conversation, resend=True)
        elif _lost_knowledge(error, plan):
            # The server lost a knowledge file or vector store: check, upload again, retry once.
            plan = materialize(decision, session=session, hooks=hooks, verify=True)
        elif _forgot_lost_attachments(error, plan, decision):
            # An attachment's recorded file ID is not on this server: upload it again, retry once.
            plan = materialize(decision, session=session, hooks=hooks)
        elif _refused_an_option(error, plan):
            # A model without reasoning (gpt-4.1, gpt-4o) refuses an effort or a verbosity (HTTP 400,
            # nothing billed): the built-in linters' low effort is a saving, never a reason to fail.
            plan = replace(plan, settings=replace(plan.settings, reasoning_effort=None, verbosity=None))
        else:
            raise
        final, spent = _execute(plan, decision, hooks.on_delta)
    if hooks.cancel is not None and hooks.cancel.is_set():
        # Cancelled as the reply completed: the caller has dropped it, so it must not become a turn.
        raise Cancelled("cancelled")
    settings = decision.settings
    result = Result(
        text=final,
        assistant=decision.resolved.assistant.name,
        model=spent.model or settings.model,
        backend=settings.backend,
        usage=spent.usage,
        status="completed",
        elapsed=time.monotonic() - started,
        response_id=spent.response_id,
        requests=spent.requests,
        chunks=spent.chunks,
        request_id=spent.request_id,
        edits=spent.edits,
    )
    if conversation is not None:
        _save_turn(conversation, decision, result)
    return result


def _save_turn(conversation: Conversation, decision: Decision, result: Result) -> None:
    # Only a Responses API ID can be chained on; a chat-backend turn is continued by its history.
    chain_id = result.response_id if decision.settings.backend == "openai" else None
    try:
        conversations.record_turn(conversation, decision.user_text, result.text, chain_id)
    except OSError as exc:
        raise TurnNotSaved(
            f"this reply was not saved in conversation {conversation.id} "
            f"({exc.strerror or exc}): the next turn will not know it",
            result=result,
        ) from None
    except conversations.NotRemembered as exc:
        raise TurnNotSaved(
            f"this reply was saved in conversation {conversation.id}, but it could not be made this "
            f"project's last conversation ({exc}): continue it with --conversation {conversation.id}",
            result=result,
        ) from None
