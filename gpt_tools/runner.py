"""`run()`: one assistant over one text, with every guard applied. The core's main entry point."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import guards, textio
from .backends import BackendRequest, Usage, get_backend
from .backends.base import DeltaHook
from .config import Config, load_config
from .definitions import Assistant, Settings, apply_settings
from .errors import InputRefused, UsageError
from .keys import resolve_endpoint
from .transport import RetryHook


@dataclass(frozen=True)
class InputFile:
    """A file given with the text: a source for writers, reference material for rewriters."""

    path: str
    text: str


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
    blocks = [_file_block(file) for file in files]
    if assistant.rewrites:
        if blocks:
            instructions += "\n\n# Reference files (not to be edited or output)\n\n" + "\n\n".join(blocks)
        return instructions, text
    if not blocks:
        return instructions, text
    return instructions, "\n\n".join(([text] if text.strip() else []) + blocks)


def check_input(assistant: Assistant, settings: Settings, texts: dict[str, str], *, allow_secrets: bool) -> None:
    """Refuse, before spending anything, input that is empty, too large, or holds a secret."""
    if not any(text.strip() for text in texts.values()):
        raise InputRefused("the input is empty; nothing to send")
    if not allow_secrets:
        guards.refuse_secrets(texts)
    tokens = sum(guards.estimate_tokens(text) for text in texts.values())
    if tokens > settings.max_input_tokens:
        raise InputRefused(
            f"the input is about {tokens:,} tokens, over the limit of {settings.max_input_tokens:,} "
            f"(max_input_tokens) for {assistant.name}; nothing was sent. "
            "Split the document, or raise the limit."
        )


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
    cancel: threading.Event | None = None,
    config: Config | None = None,
    cwd: Path | str | None = None,
) -> Result:
    """Run assistant (a name or a definition) over text and return the guarded result.

    Raises a GptToolsError subclass on any failure; the caller's text is never modified here.
    """
    started = time.monotonic()
    config = config or load_config(cwd)
    definition = config.assistant(assistant) if isinstance(assistant, str) else assistant
    settings = resolve_settings(config, definition, model=model, backend=backend)
    texts = {"input": text, **{file.path: file.text for file in files}}
    if extra_instructions:
        texts["instructions"] = extra_instructions
    check_input(definition, settings, texts, allow_secrets=allow_secrets)
    if "file_search" in definition.tools and not definition.vector_store_ids:
        raise UsageError(f"{definition.name} uses file_search but has no vector_store_ids configured")
    instructions, user_text = compose(definition, textio.strip_bom(text), files, extra_instructions)
    request = BackendRequest(
        model=settings.model,
        instructions=instructions,
        text=user_text,
        temperature=definition.temperature,
        max_output_tokens=definition.max_output_tokens,
        tools=definition.tools,
        vector_store_ids=definition.vector_store_ids,
        stream=settings.stream,
        store=settings.store,
    )
    endpoint = resolve_endpoint(settings)
    reply = get_backend(settings.backend).complete(
        request, endpoint, on_delta=on_delta, on_retry=on_retry, cancel=cancel
    )
    cleaned = guards.check_reply(reply.text, status=reply.status, reason=reply.reason, original=text)
    final = textio.conform_to_input(cleaned, text, rewrite=definition.rewrites)
    return Result(
        text=final,
        assistant=definition.name,
        model=reply.model or settings.model,
        backend=settings.backend,
        usage=reply.usage,
        status=reply.status,
        elapsed=time.monotonic() - started,
        response_id=reply.response_id,
    )
