"""A run's inputs: the files given with the text, the message they make, and the checks before sending."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from gpt_tools.config.definitions import Assistant, Settings
from gpt_tools.core import guards, knowledge
from gpt_tools.core.fileblock import file_block
from gpt_tools.errors import InputRefused
from gpt_tools.markdown import protect, protect_hidden, textio
from gpt_tools.markdown.chunking import split_chunks


@dataclass(frozen=True)
class InputFile:
    """A file given with the text: a source for writers, reference material for rewriters.

    Text files travel as text; a file with `data` (a PDF, an image) is uploaded for this run only.
    """

    path: str
    text: str
    data: bytes | None = None


def compose(assistant: Assistant, text: str, files: Sequence[InputFile], extra: str | None) -> tuple[str, str]:
    """(instructions, user text). A rewriter's message must be the bare document, so its extras and
    reference files go into the instructions; a writer gets the files as sources after the text."""
    instructions = assistant.instructions.rstrip("\n")
    if extra:
        instructions += "\n\n# Additional instructions from the user\n\n" + extra.strip()
    blocks = [file_block(file.path, file.text) for file in files if file.data is None]
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
    # A BOM alone is empty too (str.strip() keeps U+FEFF): it would pay for a request about nothing.
    if not any(text.removeprefix("\ufeff").strip() for text in texts.values()):
        raise InputRefused("the input is empty; nothing to send")
    document = texts.get("input")  # batch passes a single document under its file name: covered above
    if assistant.rewrites and document is not None and not document.removeprefix("\ufeff").strip():
        # Its reply replaces the document: an empty one would be "fixed" into an empty file, whatever
        # else is attached.
        raise InputRefused(f"{assistant.name} rewrites a document and the document is empty; nothing to send")
    everything = {**(context or {}), **texts}
    for source, text in everything.items():
        if "\0" in text:  # library callers skip decode_input; NULs mean binary, never prose
            line = bisect_right(guards.line_starts(text), text.index("\0"))  # CR-only lines count too
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
    *,
    text: str,
    files: Sequence[InputFile],
    extra_instructions: str | None,
    allow_secrets: bool,
) -> tuple[str, str]:
    """(instructions, user text) for a run, after every input check."""
    texts = {"input": text, **{file.path: file.text for file in files if file.data is None}}
    instructions, user_text = compose(definition, textio.strip_bom(text), files, extra_instructions)
    context = {"instructions": instructions}  # the assistant's own (instructions_file too) and -i extras
    if definition.files and not allow_secrets:
        context.update(knowledge.readable_texts(definition))  # knowledge goes out too: inlined or uploaded
    if not allow_secrets:  # uploaded attachments (not UTF-8, a NUL) are scanned byte-wise, never skipped
        context.update({file.path: guards.scannable_text(file.data) for file in files if file.data is not None})
    check_input(definition, settings, texts, allow_secrets=allow_secrets, context=context)
    return instructions, user_text


@dataclass(frozen=True)
class Prepared:
    """A document ready to send: its text without BOM, its masked form, and the masked text's chunks."""

    body: str
    masked: protect.Masked
    chunks: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        """How messages name each chunk."""
        if len(self.chunks) == 1:
            return ["the document"]
        return [f"chunk {i + 1}/{len(self.chunks)}" for i in range(len(self.chunks))]


def prepare(text: str, *, protect_regions: bool, chunk_tokens: int) -> Prepared:
    """Mask and split text; deterministic, so a batch run can redo it at collect time."""
    body = textio.strip_bom(text)
    masked = protect.mask(body, everything=protect_regions)  # opt-out regions hold whatever protect says
    return Prepared(body, masked, tuple(split_chunks(masked.text, chunk_tokens)))


def prepare_raw(text: str, *, chunk_tokens: int) -> Prepared:
    """The document as an edits run sends it: raw but for its opt-out regions, which are never sent
    (protect_hidden.py), in chunks that join back to the masked text."""
    body = textio.strip_bom(text)
    hidden = protect_hidden.hide(body)
    return Prepared(body, hidden, tuple(split_chunks(hidden.text, chunk_tokens)))
