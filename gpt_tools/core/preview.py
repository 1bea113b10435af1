"""`--dry-run`: what a run would send and roughly cost, sending nothing (no request, no upload).

It describes the run's own `plan.decide()`, so the dry run and the run cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gpt_tools.config.definitions import Assistant
from gpt_tools.config.loader import Config
from gpt_tools.config.prices import estimate_note
from gpt_tools.core import editmode, knowledge
from gpt_tools.core.inputs import InputFile
from gpt_tools.core.plan import Decision, RunRequest, decide
from gpt_tools.state import runlog
from gpt_tools.state.conversation import Conversation
from gpt_tools.wire.transport import display_url


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
    price_note: str | None = None  # why the cost is only an estimate (an old price; config/prices.py)

    @property
    def money(self) -> str:
        """The cost as shown: `~$0.0123`, labelled an estimate when its price is old; never a false $0."""
        if self.cost is None:
            return "no price for this model (cost unknown)"
        return f"~${self.cost:.4f}" + (f" (an estimate: {self.price_note})" if self.price_note else "")

    def describe(self) -> str:
        """One short paragraph for a terminal or the filter's message channel."""
        out = f"~{self.output_tokens:,} out" if self.output_tokens is not None else "output unknown"
        money = self.money
        if self.cost is not None and self.output_tokens is None:
            money += " for the input alone (the output is not estimated)"
        lines = [
            f"dry run: {self.assistant} ({self.mode}) on {self.model} via {self.backend} at {self.endpoint}",
            f"  ~{self.input_tokens:,} tokens in, {out}, {money}; {self.chunks} request(s); nothing was sent",
        ]
        if self.files:
            lines.append(f"  files: {', '.join(self.files)}")
        if self.knowledge_files:
            count, uploads = len(self.knowledge_files), self.knowledge_uploads
            lines.append(f"  knowledge: {count} file{'' if count == 1 else 's'}, {uploads} would be uploaded")
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


def describe(decision: Decision) -> Preview:
    """The dry run of a decided run: its plan, priced, and what its knowledge sync would upload."""
    resolved = decision.resolved
    definition, settings = resolved.assistant, resolved.settings
    prices = {**runlog.PRICES, **resolved.config.prices}
    estimate = runlog.cost(settings.model, decision.input_tokens, 0, decision.output_tokens or 0, prices)
    names, uploads = _knowledge(definition, decision.knowledge == "upload")
    return Preview(
        assistant=definition.name,
        model=settings.model,
        backend=settings.backend,
        # base_url only (a dry run needs no key, nor runs api_key_cmd), shown without user info or query.
        endpoint=display_url(decision.endpoint),
        mode="rewrite, edits" if editmode.uses_edits(definition, settings) else definition.mode,
        input_tokens=decision.input_tokens,
        output_tokens=decision.output_tokens,
        cost=estimate,
        chunks=decision.chunks,
        files=[file.path for file in decision.files],
        knowledge_files=names,
        knowledge_uploads=uploads,
        price_note=estimate_note(settings.model, resolved.config),
    )


def preview_request(request: RunRequest) -> Preview:
    """The dry run of the request `runner.run_request()` would run; the same input refusals apply."""
    return describe(decide(request))


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
    return preview_request(request)
