"""How FILES, --input-text and stdin combine into one run's input (documented in the README).

- stdin is read when FILES contains `-`, or when neither FILES nor --input-text is given and stdin
  is not a terminal (never otherwise: a script with an idle stdin must not hang). An ad-hoc prompt
  (`gpt-tools "question"`) reads a non-terminal stdin even with its text, unless FILES are given.
- Sources go out in the order given: `- a.md` sends stdin first.
- A rewriting assistant (MarkdownLinter) takes exactly one document: one FILE, stdin, or
  --input-text; its reply replaces that document.
- A writing assistant (DocWriter) gets --input-text as the request and every FILE (and stdin) as a
  source, each wrapped in <file path="..."> tags (core/fileblock.py: neither a name nor a text can
  fake a tag boundary).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gpt_tools.config.definitions import Assistant
from gpt_tools.core.inputs import InputFile
from gpt_tools.errors import InputRefused, UsageError
from gpt_tools.markdown.textio import decode_input
from gpt_tools.state.localread import MAX_FILE_BYTES, FileRefused, read_regular


@dataclass(frozen=True)
class RunInput:
    text: str
    files: tuple[InputFile, ...] = ()


def label(name: str) -> str:
    """A file's name as the request carries it (`<file path="...">`, an upload's filename): a name that
    is not UTF-8 (`doc\xff.md`, held by Python as a lone surrogate) with its odd bytes as `\xff`
    escapes, since no request can be encoded with the surrogate in it."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def left_repository(name: str) -> str | None:
    """Why a path must not be followed: named inside a git repository (a clone), it leads out of it
    through a symbolic link (`docs/guide.md -> ~/.aws/credentials`), as `run --write` and the hook
    refuse too; None when it stays inside, or lies in no repository (your own links are yours).

    The repository is found from the folders before the first link, so a link cannot bring its own
    `.git` with it."""
    absolute = Path(os.path.abspath(name))
    unlinked = Path(absolute.anchor)
    for part in absolute.parent.parts[1:]:
        if os.path.islink(unlinked / part):
            break
        unlinked /= part
    root = next((folder for folder in (unlinked, *unlinked.parents) if os.path.lexists(folder / ".git")), None)
    if root is None:
        return None
    real, inside = Path(os.path.realpath(absolute)), Path(os.path.realpath(root))
    if real.is_relative_to(inside):
        return None
    return f"{name} leads out of the repository {inside} through a symbolic link (to {real}); name the target itself"


def _read_file(name: str) -> InputFile:
    # Bounded, like --input-files: `run X /dev/zero` must be refused at the cap, not eat the memory.
    if (why := left_repository(name)) is not None:
        raise InputRefused(f"{why}; nothing was sent")
    try:
        data = read_regular(Path(name), pipes=True)
    except FileRefused as exc:
        raise InputRefused(f"{name} {exc.reason}") from None
    return InputFile(label(name), decode_input(data, source=name))


def _read_stdin(stdin: BinaryIO) -> bytes:
    data = stdin.read(MAX_FILE_BYTES + 1)  # `run X < /dev/zero`: the same cap as a named file
    if len(data) > MAX_FILE_BYTES:
        raise InputRefused(f"stdin is larger than {MAX_FILE_BYTES:,} bytes")
    return data


def gather(
    assistant: Assistant,
    names: Sequence[str],
    input_text: str | None,
    stdin: BinaryIO,
    stdin_is_tty: bool,
    *,
    attachments: Sequence[str] = (),
    prompt: bool = False,
) -> RunInput:
    """The text and files for one run, read and decoded; raises UsageError/InputRefused.

    `attachments` (--input-files) are only named here: a rewriter left without a document is most
    often one whose FILE the attachment list took, and the refusal says so. `prompt`: input_text is
    an ad-hoc prompt, which takes a piped stdin as its source (`cat f | gpt-tools "summarize"`).
    """
    asked = "-" in names
    wants_stdin = asked or (not names and (input_text is None or prompt) and not stdin_is_tty)
    if not names and input_text is None and not wants_stdin:
        raise UsageError("no input: give FILES, --input-text, or pipe text to stdin" + _took(attachments))
    sources = _in_order(names, stdin)
    if wants_stdin and not asked:
        piped = InputFile("<stdin>", decode_input(_read_stdin(stdin), source="stdin"))
        if piped.text.strip() or assistant.rewrites:
            sources.append(piped)  # an empty stdin nobody named is no source (a writer may use attachments)
    if assistant.rewrites:
        return _one_document(assistant, sources, input_text, attachments)
    for source in sources:
        if not source.text.strip():  # a writer would make up what an empty source should have said
            raise InputRefused(f"{_shown(source)} is empty; nothing was sent")
    if input_text is None and len(sources) == 1:
        return RunInput(sources[0].text)
    return RunInput(input_text or "", tuple(sources))


def _in_order(names: Sequence[str], stdin: BinaryIO) -> list[InputFile]:
    """FILES in the order given: `- notes.md` sends stdin first (read once, even if named twice)."""
    sources: list[InputFile] = []
    read = False
    for name in names:
        if name != "-":
            sources.append(_read_file(name))
        elif not read:
            sources.append(InputFile("<stdin>", decode_input(_read_stdin(stdin), source="stdin")))
            read = True
    return sources


def _shown(source: InputFile) -> str:
    return "stdin" if source.path == "<stdin>" else source.path


def _took(attachments: Sequence[str]) -> str:
    if not attachments:
        return ""
    return (
        f" (--input-files took {' '.join(attachments)}: put the document before --input-files, "
        "or attach each file with --input-files=FILE)"
    )


def _one_document(
    assistant: Assistant, sources: list[InputFile], input_text: str | None, attachments: Sequence[str]
) -> RunInput:
    if len(sources) + (input_text is not None) > 1:
        given = len(sources) + (input_text is not None)
        raise UsageError(
            f"{assistant.name} rewrites one document and was given {given} inputs; "
            "run it over many files with --write, --check or --diff, and pass extra guidance with --instruct"
        )
    document = input_text if input_text is not None else sources[0].text
    if not document.strip():  # its reply replaces the document: an empty one would empty the file
        where = "--input-text" if input_text is not None else _shown(sources[0])
        raise InputRefused(
            f"{assistant.name} rewrites one document and {where} is empty; nothing was sent" + _took(attachments)
        )
    return RunInput(document)


def read_attachment(name: str) -> InputFile:
    """A per-run file: UTF-8 text goes in as text, anything else is uploaded as an input_file.

    The user named it, so it may be anywhere; but only a regular file within the size cap is read (a
    FIFO or a device must not hang the editor or fill the memory).
    """
    if name == "-":  # read as a file named "-" it was "no such file"; stdin is the run's own input
        raise UsageError("--input-files: '-' (stdin) cannot be attached: stdin is the input itself; nothing was sent")
    if (why := left_repository(name)) is not None:
        raise InputRefused(f"--input-files: {why}; nothing was sent")
    try:
        data = read_regular(Path(name), pipes=True)
    except FileRefused as exc:
        raise InputRefused(f"{name} {exc.reason}") from None
    try:
        return InputFile(label(name), decode_input(data, source=name))
    except InputRefused:
        return InputFile(label(name), "", data=data)
