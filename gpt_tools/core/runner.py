"""`run()`: one assistant over one text, with every guard applied. The core's main entry point."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gpt_tools.config.definitions import Assistant, Settings, apply_settings
from gpt_tools.config.keys import resolve_endpoint
from gpt_tools.config.loader import Config, load_config
from gpt_tools.core import guards, knowledge
from gpt_tools.core.session import Session
from gpt_tools.errors import ApiError, Cancelled, InputRefused, ReplyRejected, TurnNotSaved, UsageError
from gpt_tools.markdown import textio
from gpt_tools.state import conversation as conversations
from gpt_tools.state import paths
from gpt_tools.state.conversation import Conversation
from gpt_tools.wire.backends import BackendRequest, Reply, Usage, get_backend
from gpt_tools.wire.backends.base import Attachment, Backend, DeltaHook, image_type
from gpt_tools.wire.transport import Endpoint, RetryHook


@dataclass(frozen=True)
class InputFile:
    """A file given with the text: a source for writers, reference material for rewriters.

    Text files travel as text; a file with `data` (a PDF, an image) is uploaded for this run only.
    """

    path: str
    text: str
    data: bytes | None = None


@dataclass(frozen=True)
class Result:
    text: str
    assistant: str
    model: str
    backend: str
    usage: Usage
    status: str
    elapsed: float
    response_id: str | None = None
    requests: int = 1  # requests actually sent (0 when every chunk came from the cache)
    chunks: int = 1
    request_id: str | None = None  # the server's x-request-id (comma-separated, one per chunk sent)


@dataclass(frozen=True)
class Outcome:
    """What the requests behind one result cost and came from."""

    usage: Usage
    model: str = ""
    response_id: str | None = None
    requests: int = 1
    chunks: int = 1
    request_id: str | None = None


@dataclass(frozen=True)
class Plan:
    """Everything resolved for one run; the rewrite pipeline sends one request per chunk with it."""

    assistant: Assistant
    settings: Settings
    instructions: str
    endpoint: Endpoint
    backend: Backend
    session: Session
    on_retry: RetryHook | None
    cancel: threading.Event | None
    vector_store_ids: tuple[str, ...] = ()
    container_file_ids: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    previous_response_id: str | None = None
    history: tuple[tuple[str, str], ...] = ()

    def request(self, text: str) -> BackendRequest:
        return BackendRequest(
            model=self.settings.model,
            instructions=self.instructions,
            text=text,
            temperature=self.assistant.temperature,
            max_output_tokens=self.assistant.max_output_tokens,
            tools=self.assistant.tools,
            vector_store_ids=self.vector_store_ids,
            container_file_ids=self.container_file_ids,
            attachments=self.attachments,
            previous_response_id=self.previous_response_id,
            history=self.history,
            stream=self.settings.stream,
            store=self.settings.store,
        )

    def send(self, request: BackendRequest, on_delta: DeltaHook | None = None) -> Reply:
        with self.session.slot(self.cancel):
            return self.backend.complete(
                request, self.endpoint, on_delta=on_delta, on_retry=self.on_retry, cancel=self.cancel
            )


def resolve_settings(config: Config, assistant: Assistant, *, model: str | None, backend: str | None) -> Settings:
    """Precedence: flag > environment > assistant > project config > user config > defaults."""
    settings = apply_settings(config.settings, {"model": assistant.model, **assistant.settings})
    env = {"model": os.environ.get("GPT_TOOLS_MODEL"), "backend": os.environ.get("GPT_TOOLS_BACKEND")}
    return apply_settings(apply_settings(settings, env), {"model": model, "backend": backend})


def _file_block(file: InputFile) -> str:
    return f'<file path="{file.path}">\n{file.text.rstrip(chr(10))}\n</file>'


def compose(assistant: Assistant, text: str, files: Sequence[InputFile], extra: str | None) -> tuple[str, str]:
    """(instructions, user text). A rewriter's message must be the bare document, so its extras and
    reference files go into the instructions; a writer gets the files as sources after the text."""
    instructions = assistant.instructions.rstrip("\n")
    if extra:
        instructions += "\n\n# Additional instructions from the user\n\n" + extra.strip()
    blocks = [_file_block(file) for file in files if file.data is None]
    if assistant.rewrites:
        if blocks:
            instructions += "\n\n# Reference files (not to be edited or output)\n\n" + "\n\n".join(blocks)
        return instructions, text
    if not blocks:
        return instructions, text
    return instructions, "\n\n".join(([text] if text.strip() else []) + blocks)


def check_input(
    assistant: Assistant,
    settings: Settings,
    texts: dict[str, str],
    *,
    allow_secrets: bool,
    context: dict[str, str] | None = None,
) -> None:
    """Refuse, before spending anything, input that is empty, too large, or holds a secret.

    `texts` is the user's input; `context` (instructions, knowledge files) goes out with it, so it is
    scanned for secrets and NULs too, but does not count as input.
    """
    if not any(text.strip() for text in texts.values()):
        raise InputRefused("the input is empty; nothing to send")
    document = texts.get("input")  # batch passes a single document under its file name: covered above
    if assistant.rewrites and document is not None and not document.strip():
        # Its reply replaces the document: an empty one would be "fixed" into an empty file, whatever
        # else is attached.
        raise InputRefused(f"{assistant.name} rewrites a document and the document is empty; nothing to send")
    everything = {**(context or {}), **texts}
    for source, text in everything.items():
        if "\0" in text:  # library callers skip decode_input; NULs mean binary, never prose
            line = text.count("\n", 0, text.index("\0")) + 1
            raise InputRefused(f"{source} holds a NUL byte (line {line}); it looks binary, refusing to send it")
    if not allow_secrets:
        guards.refuse_secrets(everything)
    # A rewriter's document goes out in chunks (each under max_input_tokens, checked per request), so
    # its whole size has a separate, larger cap that still keeps surprise bills away.
    limit, name = (
        (settings.max_document_tokens, "max_document_tokens")
        if assistant.rewrites
        else (settings.max_input_tokens, "max_input_tokens")
    )
    tokens = sum(guards.estimate_tokens(text) for text in texts.values())
    if tokens > limit:
        raise InputRefused(
            f"the input is about {tokens:,} tokens, over the limit of {limit:,} ({name}) for "
            f"{assistant.name}; nothing was sent. Split the document, or raise the limit."
        )


def checked_input(
    definition: Assistant,
    settings: Settings,
    text: str,
    files: Sequence[InputFile],
    extra_instructions: str | None,
    allow_secrets: bool,
) -> tuple[str, str]:
    """(instructions, user text) for a run, after every input check; shared by run() and --dry-run."""
    texts = {"input": text, **{file.path: file.text for file in files if file.data is None}}
    instructions, user_text = compose(definition, textio.strip_bom(text), files, extra_instructions)
    context = {"instructions": instructions}  # the assistant's own (instructions_file too) and -i extras
    if definition.files and not allow_secrets:
        context.update(knowledge.readable_texts(definition))  # knowledge goes out too: inlined or uploaded
    if not allow_secrets:  # uploaded attachments (not UTF-8, a NUL) are scanned byte-wise, never skipped
        context.update({file.path: guards.scannable_text(file.data) for file in files if file.data is not None})
    check_input(definition, settings, texts, allow_secrets=allow_secrets, context=context)
    return instructions, user_text


def uses_server_tools(definition: Assistant, settings: Settings) -> bool:
    """Knowledge files go to OpenAI's file_search/code_interpreter; otherwise they are inlined."""
    return settings.backend == "openai" and bool({"file_search", "code_interpreter"} & set(definition.tools))


@dataclass(frozen=True)
class Hooks:
    """How a run reports back while it works."""

    on_delta: DeltaHook | None = None
    on_retry: RetryHook | None = None
    on_progress: knowledge.ProgressHook | None = None
    cancel: threading.Event | None = None


def make_plan(
    definition: Assistant,
    settings: Settings,
    instructions: str,
    files: Sequence[InputFile],
    session: Session | None,
    hooks: Hooks,
    *,
    root: Path,
    verify: bool = False,
) -> Plan:
    """Resolve endpoint, backend and knowledge; syncing knowledge costs nothing when unchanged."""
    session = session or Session(jobs=settings.jobs)
    endpoint = replace(resolve_endpoint(settings), gate=session.gate)
    backend = get_backend(settings.backend)
    stores: tuple[str, ...] = definition.vector_store_ids
    container: tuple[str, ...] = ()
    if definition.files and uses_server_tools(definition, settings):
        report = knowledge.sync(
            endpoint,
            definition,
            verify=verify,
            progress=hooks.on_progress,
            timeout=settings.index_timeout,
            cancel=hooks.cancel,
        )
        stores = ((report.vector_store_id,) if report.vector_store_id else ()) + stores
        container = report.file_ids
    elif definition.files:
        instructions += knowledge.inline(definition, settings.knowledge_tokens)
        if "file_search" in definition.tools:  # the inlined files stand in for the search
            definition = replace(definition, tools=tuple(t for t in definition.tools if t != "file_search"))
    if "file_search" in definition.tools and not stores:
        raise UsageError(f"{definition.name} uses file_search but has no knowledge files or vector_store_ids")
    attachments = _attachments(settings, endpoint, root, files)
    return Plan(
        definition,
        settings,
        instructions,
        endpoint,
        backend,
        session,
        hooks.on_retry,
        hooks.cancel,
        stores,
        container,
        attachments,
    )


def _attachments(
    settings: Settings, endpoint: Endpoint, root: Path, files: Sequence[InputFile]
) -> tuple[Attachment, ...]:
    """Binary files, typed (image or not): uploaded for the Responses API, inline for other backends
    (a local server has no files API; the chat backend sends images as data URLs, refuses the rest)."""
    binary = [(file.path, file.data) for file in files if file.data is not None]
    if settings.backend != "openai":
        return tuple(Attachment.inline(name, data) for name, data in binary)
    return tuple(
        Attachment(
            name=name,
            media_type=image_type(data) or "application/octet-stream",
            file_id=knowledge.attach(endpoint, root, name, data),
        )
        for name, data in binary
    )


def _with_conversation(plan: Plan, conversation: Conversation | None, *, resend: bool = False) -> Plan:
    """A conversation turn: chain on the stored previous response, or resend the local history."""
    if conversation is None:
        return plan
    if plan.assistant.rewrites:
        raise UsageError(f"{plan.assistant.name} rewrites documents; conversations are for writing assistants")
    openai = plan.settings.backend == "openai"
    # The next turn can only chain on this one if OpenAI keeps it: conversation turns are stored.
    settings = replace(plan.settings, store=True) if openai else plan.settings
    if openai and conversation.last_response_id and not resend:
        return replace(plan, settings=settings, previous_response_id=conversation.last_response_id, history=())
    turns = tuple((message["role"], message["content"]) for message in conversation.messages)
    return replace(plan, settings=settings, previous_response_id=None, history=turns)


def _execute(plan: Plan, text: str, user_text: str, on_delta: DeltaHook | None) -> tuple[str, Outcome]:
    if plan.assistant.rewrites:
        from gpt_tools.core.rewrite import rewrite_document

        return rewrite_document(plan, text, on_delta)
    reply = plan.send(plan.request(user_text), on_delta)
    try:
        cleaned = guards.check_reply(reply.text, status=reply.status, reason=reply.reason, original=text)
    except ReplyRejected as refused:
        refused.usage = reply.usage  # billed all the same: the run log must say so
        refused.request_id = refused.request_id or reply.request_id
        raise
    outcome = Outcome(reply.usage, reply.model, reply.response_id, request_id=reply.request_id)
    return textio.conform_to_input(cleaned, text, rewrite=False), outcome


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
    frontend: str = "library",
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
    started = time.monotonic()
    config = config or load_config(cwd)
    definition = config.assistant(assistant) if isinstance(assistant, str) else assistant
    settings = resolve_settings(config, definition, model=model, backend=backend)
    try:
        with conversations.turn(conversation, cancel=cancel, on_wait=on_wait):
            result = _run(
                config,
                definition,
                settings,
                text,
                files,
                extra_instructions,
                allow_secrets,
                session,
                cwd,
                Hooks(on_delta, on_retry, on_progress, cancel),
                started,
                conversation,
            )
    except BaseException as error:
        if settings.run_log:
            from gpt_tools.state.runlog import record_run

            record_run(config, definition, settings, frontend, time.monotonic() - started, text, error=error)
        raise
    if settings.run_log:
        from gpt_tools.state.runlog import record_run

        record_run(config, definition, settings, frontend, time.monotonic() - started, text, result=result)
    return result


def _run(
    config: Config,
    definition: Assistant,
    settings: Settings,
    text: str,
    files: Sequence[InputFile],
    extra_instructions: str | None,
    allow_secrets: bool,
    session: Session | None,
    cwd: Path | str | None,
    hooks: Hooks,
    started: float,
    conversation: Conversation | None = None,
) -> Result:
    on_delta = hooks.on_delta
    instructions, user_text = checked_input(definition, settings, text, files, extra_instructions, allow_secrets)
    root = paths.project_root(config.project_root, Path(cwd or os.getcwd()).resolve())
    plan = _with_conversation(
        make_plan(definition, settings, instructions, files, session, hooks, root=root), conversation
    )
    try:
        final, outcome = _execute(plan, text, user_text, on_delta)
    except ApiError as error:
        lost = error.status in (400, 404) and "previous" in str(error).lower()
        if conversation is not None and plan.previous_response_id and lost:
            # The stored previous response is gone (expired, deleted): resend the local history.
            plan = _with_conversation(plan, conversation, resend=True)
        elif error.status == 404 and plan.assistant.files:
            # The server lost a knowledge file or vector store: check, upload again, retry once.
            plan = make_plan(definition, settings, instructions, files, session, hooks, root=root, verify=True)
            plan = _with_conversation(plan, conversation)
        else:
            raise
        final, outcome = _execute(plan, text, user_text, on_delta)
    if hooks.cancel is not None and hooks.cancel.is_set():
        # Cancelled as the reply completed: the caller has dropped it, so it must not become a turn.
        raise Cancelled("cancelled")
    result = Result(
        text=final,
        assistant=definition.name,
        model=outcome.model or settings.model,
        backend=settings.backend,
        usage=outcome.usage,
        status="completed",
        elapsed=time.monotonic() - started,
        response_id=outcome.response_id,
        requests=outcome.requests,
        chunks=outcome.chunks,
        request_id=outcome.request_id,
    )
    if conversation is not None:
        # Only a Responses API ID can be chained on; a chat-backend turn is continued by its history.
        chain_id = outcome.response_id if settings.backend == "openai" else None
        try:
            conversations.record_turn(conversation, user_text, final, chain_id)
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
    return result
