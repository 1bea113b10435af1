"""How FILES, --input-text and stdin combine into one run's input (documented in the README).

- stdin is read when FILES contains `-`, or when neither FILES nor --input-text is given and stdin
  is not a terminal (never otherwise: a script with an idle stdin must not hang).
- A rewriting assistant (MarkdownLinter) takes exactly one document: one FILE, stdin, or
  --input-text; its reply replaces that document.
- A writing assistant (DocWriter) gets --input-text as the request and every FILE (and stdin) as a
  source, each wrapped in <file path="..."> tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..definitions import Assistant
from ..errors import InputRefused, UsageError
from ..localread import FileRefused, read_regular
from ..runner import InputFile
from ..textio import decode_input


@dataclass(frozen=True)
class RunInput:
    text: str
    files: tuple[InputFile, ...] = ()


def _read_file(name: str) -> InputFile:
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        raise InputRefused(f"cannot read {name}: {exc.strerror or exc}") from None
    return InputFile(name, decode_input(data, source=name))


def gather(
    assistant: Assistant, names: Sequence[str], input_text: str | None, stdin: BinaryIO, stdin_is_tty: bool
) -> RunInput:
    """The text and files for one run, read and decoded; raises UsageError/InputRefused."""
    wants_stdin = "-" in names or (not names and input_text is None and not stdin_is_tty)
    if not names and input_text is None and not wants_stdin:
        raise UsageError("no input: give FILES, --input-text, or pipe text to stdin")
    sources = [_read_file(name) for name in names if name != "-"]
    if wants_stdin:
        sources.append(InputFile("<stdin>", decode_input(stdin.read(), source="stdin")))
    if assistant.rewrites:
        return _one_document(assistant, sources, input_text)
    if input_text is None and len(sources) == 1:
        return RunInput(sources[0].text)
    return RunInput(input_text or "", tuple(sources))


def _one_document(assistant: Assistant, sources: list[InputFile], input_text: str | None) -> RunInput:
    if not sources and input_text is not None:
        return RunInput(input_text)
    if len(sources) != 1 or input_text is not None:
        given = len(sources) + (input_text is not None)
        raise UsageError(
            f"{assistant.name} rewrites one document and was given {given} inputs; "
            "run it once per file (the pre-commit hook does that), and pass extra guidance with --instruct"
        )
    return RunInput(sources[0].text)


def read_attachment(name: str) -> InputFile:
    """A per-run file: UTF-8 text goes in as text, anything else is uploaded as an input_file.

    The user named it, so it may be anywhere; but only a regular file within the size cap is read (a
    FIFO or a device must not hang the editor or fill the memory).
    """
    try:
        data = read_regular(Path(name), pipes=True)
    except FileRefused as exc:
        raise InputRefused(f"{name} {exc.reason}") from None
    try:
        return InputFile(name, decode_input(data, source=name))
    except InputRefused:
        return InputFile(name, "", data=data)
