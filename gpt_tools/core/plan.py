"""What one run sends: decided without side effects (`decide`), then made real (`materialize`).

`decide()` resolves the assistant and settings, checks and composes the input, chooses how knowledge
files travel and estimates the tokens. It reads local files only: no request, no upload, no key (so
no api_key_cmd), which is why the dry run (preview.py) can describe exactly what `run()` will do.
`materialize()` does what costs or may prompt: resolve the key, sync knowledge, upload attachments.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from gpt_tools.config.definitions import Assistant, Settings, apply_settings
from gpt_tools.config.keys import base_url, resolve_endpoint
from gpt_tools.config.loader import Config, load_config
from gpt_tools.config.resolve import resolve_settings
from gpt_tools.core import editmode, guards, knowledge
from gpt_tools.core.inputs import InputFile, Prepared, checked_input, prepare, prepare_raw
from gpt_tools.core.session import Session
from gpt_tools.errors import MissingKey, UsageError
from gpt_tools.markdown import protect_explain
from gpt_tools.state import paths
from gpt_tools.state.conversation import Conversation
from gpt_tools.wire.backends import BackendRequest, Reply, get_backend
from gpt_tools.wire.backends.base import Attachment, Backend, DeltaHook, image_type
from gpt_tools.wire.transport import Endpoint, RetryHook

KnowledgeUse = Literal["none", "inline", "upload"]  # no files; inlined in the instructions; file_search


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """One run as asked for: the same value drives `run()` and its dry run, `preview()`."""

    assistant: str | Assistant
    text: str
    files: Sequence[InputFile] = ()
    model: str | None = None
    backend: str | None = None
    extra_instructions: str | None = None
    allow_secrets: bool = False
    config: Config | None = None
    cwd: Path | str | None = None
    conversation: Conversation | None = None
    # Per-run settings (`run -O KEY VALUE`, --no-stream): over every config layer, env and flags.
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Hooks:
    """How a run reports back while it works, and how it is stopped."""

    on_delta: DeltaHook | None = None
    on_retry: RetryHook | None = None
    on_progress: knowledge.ProgressHook | None = None
    on_wait: Callable[[str], None] | None = None  # another turn holds the conversation
    cancel: threading.Event | None = None


@dataclass(frozen=True, kw_only=True)
class Resolved:
    """The config, assistant and settings of a request: known before anything can fail to run."""

    config: Config
    assistant: Assistant
    settings: Settings
    root: Path  # the project root (state/paths.py's rule): per-run uploads are recorded there


def resolve_request(request: RunRequest) -> Resolved:
    config = request.config or load_config(request.cwd)
    definition = config.assistant(request.assistant) if isinstance(request.assistant, str) else request.assistant
    settings = resolve_settings(config, definition, model=request.model, backend=request.backend)
    settings = apply_settings(settings, request.settings)
    root = paths.project_root(config.project_root, Path(request.cwd or os.getcwd()).resolve())
    return Resolved(config=config, assistant=definition, settings=settings, root=root)


def uses_server_tools(definition: Assistant, settings: Settings) -> bool:
    """Knowledge files go to OpenAI's file_search/code_interpreter; otherwise they are inlined."""
    return settings.backend == "openai" and bool({"file_search", "code_interpreter"} & set(definition.tools))


def with_knowledge(definition: Assistant, settings: Settings, instructions: str) -> tuple[Assistant, str, KnowledgeUse]:
    """How the knowledge files travel: uploaded for the server's tools, or inlined in the instructions."""
    if not definition.files:
        use: KnowledgeUse = "none"
    elif uses_server_tools(definition, settings):
        use = "upload"
    else:
        use = "inline"
        instructions += knowledge.inline(definition, settings.knowledge_tokens)
        if "file_search" in definition.tools:  # the inlined files stand in for the search
            definition = replace(definition, tools=tuple(t for t in definition.tools if t != "file_search"))
    if "file_search" in definition.tools and use != "upload" and not definition.vector_store_ids:
        raise UsageError(f"{definition.name} uses file_search but has no knowledge files or vector_store_ids")
    return definition, instructions, use


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What a run would send, decided without sending, uploading or reading the key."""

    resolved: Resolved
    assistant: Assistant  # as sent: without file_search when inlined knowledge stands in for it
    instructions: str  # composed: the -i extras, reference files and inlined knowledge included
    text: str  # the caller's text, as given
    user_text: str  # the message: the bare document for a rewriter
    files: tuple[InputFile, ...]
    endpoint: str  # where requests would go (no key, no query)
    knowledge: KnowledgeUse
    prepared: Prepared | None  # a rewriter's document, masked and chunked
    conversation: Conversation | None
    input_tokens: int  # estimated, generously: instructions per request + text + files + history
    output_tokens: int | None  # a rewrite's reply is about its document; a writer's is unknown

    @property
    def settings(self) -> Settings:
        return self.resolved.settings

    @property
    def chunks(self) -> int:
        return len(self.prepared.chunks) if self.prepared else 1


def decide(request: RunRequest, resolved: Resolved | None = None) -> Decision:
    """The plan of a run; the input refusals apply here, before anything is sent."""
    resolved = resolved or resolve_request(request)
    definition, settings = resolved.assistant, resolved.settings
    instructions, user_text = checked_input(
        definition,
        settings,
        text=request.text,
        files=request.files,
        extra_instructions=request.extra_instructions,
        allow_secrets=request.allow_secrets,
    )
    conversation = request.conversation
    if conversation is not None and definition.rewrites:
        raise UsageError(f"{definition.name} rewrites documents; conversations are for writing assistants")
    sent, instructions, use = with_knowledge(definition, settings, instructions)
    edits = editmode.uses_edits(definition, settings)
    prepared = None
    if edits:  # sent raw (edits touching protected regions are refused), in larger chunks
        instructions = editmode.instructions_for(instructions)
        prepared = prepare_raw(request.text, chunk_tokens=settings.edit_chunk_tokens)
    elif definition.rewrites:
        prepared = prepare(request.text, protect_regions=settings.protect, chunk_tokens=settings.chunk_tokens)
    # A turn is billed for the whole conversation so far, sent again or chained by previous_response_id.
    history = sum(guards.estimate_tokens(m["content"]) for m in conversation.messages) if conversation else 0
    document = guards.estimate_tokens(user_text)
    chunks = len(prepared.chunks) if prepared else 1
    return Decision(
        resolved=resolved,
        assistant=sent,
        instructions=instructions,
        text=request.text,
        user_text=user_text,
        files=tuple(request.files),
        endpoint=base_url(settings),
        knowledge=use,
        prepared=prepared,
        conversation=conversation,
        input_tokens=document + chunks * guards.estimate_tokens(instructions) + history + _notes(prepared, edits),
        output_tokens=_output_estimate(definition, document, chunks, edits),
    )


def _notes(prepared: Prepared | None, edits: bool) -> int:
    """The tokens of what each chunk's markers are (protect_explain.py), sent with its instructions."""
    if prepared is None or not prepared.masked.regions:
        return 0
    notes = protect_explain.notes(prepared.masked, prepared.chunks, edits=edits)
    return sum(guards.estimate_tokens(note) for note in notes)


def _output_estimate(definition: Assistant, document: int, chunks: int, edits: bool) -> int | None:
    """A document-mode rewrite retypes its document; an edits reply is a fraction of it; a writer's is unknown."""
    if edits:
        return editmode.output_estimate(document, chunks)
    return document if definition.rewrites else definition.max_output_tokens


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Everything resolved for one run; the rewrite pipeline sends one request per chunk with it."""

    assistant: Assistant
    settings: Settings
    instructions: str
    endpoint: Endpoint
    backend: Backend
    session: Session
    hooks: Hooks = field(default_factory=Hooks)
    vector_store_ids: tuple[str, ...] = ()
    container_file_ids: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    previous_response_id: str | None = None
    history: tuple[tuple[str, str], ...] = ()
    missing_key: str | None = None  # no key, deferred: raised as MissingKey by the first send (cache hits need none)

    @property
    def cancel(self) -> threading.Event | None:
        return self.hooks.cancel

    @property
    def edits(self) -> bool:
        """Edits mode: the reply is find/replace edits (core/editing.py), asked for with a JSON schema."""
        return editmode.uses_edits(self.assistant, self.settings)

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
            json_schema=editmode.FORMAT if self.edits else None,
            json_format=self.settings.json_format,
            reasoning_effort=self.settings.reasoning_effort or None,
            verbosity=self.settings.verbosity or None,
        )

    def send(self, request: BackendRequest, on_delta: DeltaHook | None = None) -> Reply:
        if self.missing_key is not None:
            raise MissingKey(self.missing_key)
        with self.session.slot(self.cancel):
            return self.backend.complete(
                request, self.endpoint, on_delta=on_delta, on_retry=self.hooks.on_retry, cancel=self.cancel
            )


def build_plan(
    *,
    definition: Assistant,
    sent: Assistant,
    settings: Settings,
    instructions: str,
    knowledge_use: KnowledgeUse,
    files: Sequence[InputFile],
    root: Path,
    session: Session | None,
    hooks: Hooks,
    verify: bool = False,
) -> Plan:
    """Resolve the key and the backend, sync knowledge (free when unchanged) and upload attachments.

    `definition` is the assistant as configured (its knowledge is synced); `sent` as decided.
    """
    session = session or Session(jobs=settings.jobs)
    missing_key: str | None = None
    try:
        endpoint = replace(resolve_endpoint(settings), gate=session.gate)
    except MissingKey as missing:
        # The result cache needs no key (its key is the request and base_url): a run whose chunks are
        # all cached sends nothing, so the hook checks cached files offline. Uploads always need it.
        if session.cache is None or knowledge_use == "upload" or any(f.data is not None for f in files):
            raise
        endpoint, missing_key = Endpoint(base_url=base_url(settings), api_key=None, gate=session.gate), str(missing)
    stores: tuple[str, ...] = definition.vector_store_ids
    container: tuple[str, ...] = ()
    if knowledge_use == "upload":
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
    return Plan(
        assistant=sent,
        settings=settings,
        instructions=instructions,
        endpoint=endpoint,
        backend=get_backend(settings.backend),
        session=session,
        hooks=hooks,
        vector_store_ids=stores,
        container_file_ids=container,
        attachments=_attachments(settings, endpoint, root, files),
        missing_key=missing_key,
    )


def materialize(decision: Decision, *, session: Session | None, hooks: Hooks, verify: bool = False) -> Plan:
    """The decided run made ready to send (the effects `decide()` leaves out), its conversation applied."""
    resolved = decision.resolved
    plan = build_plan(
        definition=resolved.assistant,
        sent=decision.assistant,
        settings=resolved.settings,
        instructions=decision.instructions,
        knowledge_use=decision.knowledge,
        files=decision.files,
        root=resolved.root,
        session=session,
        hooks=hooks,
        verify=verify,
    )
    return with_conversation(plan, decision.conversation)


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


def with_conversation(plan: Plan, conversation: Conversation | None, *, resend: bool = False) -> Plan:
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
