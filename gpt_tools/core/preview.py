"""`--dry-run`: what a run would send and roughly cost, sending nothing (no request, no upload)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gpt_tools.config.definitions import Assistant
from gpt_tools.config.keys import base_url
from gpt_tools.config.loader import Config, load_config
from gpt_tools.core import guards, knowledge
from gpt_tools.core.runner import InputFile, checked_input, resolve_settings, uses_server_tools
from gpt_tools.errors import UsageError
from gpt_tools.markdown import textio
from gpt_tools.state.conversation import Conversation


@dataclass(frozen=True)
class Preview:
    assistant: str
    model: str
    backend: str
    endpoint: str
    mode: str
    input_tokens: int  # estimated, generously: instructions + text + files
    output_tokens: int | None  # a rewrite's reply is about its document; a writer's is unknown
    cost: float | None  # USD for input_tokens + output_tokens at the model's price; None if unpriced
    chunks: int = 1
    files: list[str] = field(default_factory=list)  # per-run files
    knowledge_files: list[str] = field(default_factory=list)
    knowledge_uploads: int = 0  # knowledge files whose content the server does not have yet

    def describe(self) -> str:
        """One short paragraph for a terminal or the filter's message channel."""
        out = f"~{self.output_tokens:,} out" if self.output_tokens is not None else "output unknown"
        money = f"~${self.cost:.4f}" if self.cost is not None else "no price for this model"
        if self.cost is not None and self.output_tokens is None:
            money += " for the input alone (the output is not estimated)"
        lines = [
            f"dry run: {self.assistant} ({self.mode}) on {self.model} via {self.backend} at {self.endpoint}",
            f"  ~{self.input_tokens:,} tokens in, {out}, {money}; {self.chunks} request(s); nothing was sent",
        ]
        if self.files:
            lines.append(f"  files: {', '.join(self.files)}")
        if self.knowledge_files:
            lines.append(f"  knowledge: {len(self.knowledge_files)} files, {self.knowledge_uploads} would be uploaded")
        return "\n".join(lines)


def _knowledge(assistant: Assistant, uploads: bool) -> tuple[list[str], int]:
    if not assistant.files:
        return [], 0
    found = knowledge.read_knowledge(assistant)
    if not uploads:  # inlined into the instructions: nothing is uploaded
        return [path.name for path in found.paths], 0
    state = knowledge.StateFile(knowledge.state_root(assistant)).read()
    missing = sum(1 for digest in set(found.hashes) if digest not in state.files)
    return [path.name for path in found.paths], missing


def preview(
    assistant: str | Assistant,
    text: str,
    *,
    files: Sequence[InputFile] = (),
    model: str | None = None,
    backend: str | None = None,
    extra_instructions: str | None = None,
    allow_secrets: bool = False,
    config: Config | None = None,
    cwd: Path | str | None = None,
    conversation: Conversation | None = None,
) -> Preview:
    """The plan of `run()` with the same arguments; the same input refusals apply."""
    from gpt_tools.markdown.chunking import split_chunks
    from gpt_tools.markdown.protect import mask
    from gpt_tools.state import runlog

    config = config or load_config(cwd)
    definition = config.assistant(assistant) if isinstance(assistant, str) else assistant
    settings = resolve_settings(config, definition, model=model, backend=backend)
    instructions, user_text = checked_input(definition, settings, text, files, extra_instructions, allow_secrets)
    if conversation is not None and definition.rewrites:
        raise UsageError(f"{definition.name} rewrites documents; conversations are for writing assistants")
    server_tools = uses_server_tools(definition, settings)
    if definition.files and not server_tools:  # a live run inlines them, within knowledge_tokens
        instructions += knowledge.inline(definition, settings.knowledge_tokens)
    # A turn is billed for the whole conversation so far, sent again or chained by previous_response_id.
    history = sum(guards.estimate_tokens(m["content"]) for m in conversation.messages) if conversation else 0
    chunks = 1
    if definition.rewrites:
        body = mask(textio.strip_bom(text)).text if settings.protect else text
        chunks = len(split_chunks(body, settings.chunk_tokens))
    document = guards.estimate_tokens(user_text)
    tokens_in = document + chunks * guards.estimate_tokens(instructions) + history
    tokens_out = document if definition.rewrites else definition.max_output_tokens
    estimate = runlog.cost(settings.model, tokens_in, 0, tokens_out or 0, {**runlog.PRICES, **config.prices})
    names, uploads = _knowledge(definition, server_tools)
    # Not resolve_endpoint(): a dry run must not need the key, nor run api_key_cmd (it may prompt).
    endpoint = base_url(settings)

    return Preview(
        assistant=definition.name,
        model=settings.model,
        backend=settings.backend,
        endpoint=endpoint,
        mode=definition.mode,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost=estimate,
        chunks=chunks,
        files=[file.path for file in files],
        knowledge_files=names,
        knowledge_uploads=uploads,
    )
