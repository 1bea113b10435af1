"""A `:GptRun` in flight (Job), how it ended (JobEnd), and where its result goes.

Where a result goes: a rewriting assistant's result replaces the range (`replace`). A writing
assistant's (Summarizer, DocWriter) never replaces anything unless asked: it goes below the range
(`append`, the default), or into a new buffer (`enew`), a scratch split (`split`) or a floating
window (`popup`): `--target`, else `g:gpt_tools_writer_target`.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .args import TARGETS, RunArgs

ATTACHMENT_LIMIT = 20 * 1024 * 1024  # bytes: a file named with --input-files is read whole
SHOWN = ("enew", "split", "popup")  # targets that open the result somewhere, never touching the buffer
WRITER_DEFAULT = "append"


@dataclass(kw_only=True)
class Job:
    id: int
    bufnr: int
    label: str
    args: RunArgs
    first: int  # 0-based first line of the range
    last: int  # 0-based end of the range, exclusive
    snapshot: list[str]  # the whole buffer when the run started
    tick: int  # b:changedtick when the run started
    preview: bool
    cwd: str  # where the project config is looked up (the buffer's folder)
    files_cwd: str  # --input-files are relative to the buffer's folder, as with Vim's :GptFilter
    whole: bool
    writer_target: str = WRITER_DEFAULT  # g:gpt_tools_writer_target when the run started
    filetype: str = ""
    target: str = "replace"  # where the result goes, once the worker knows the assistant
    started: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    received: int = 0  # characters streamed so far
    result: Any = None  # gpt_tools.Result, kept while it waits for the user to leave Insert mode
    waiting: int | None = None  # the InsertLeave autocommand holding the result back
    sent: str = ""  # the text the run was given (an edits-mode result's offsets point into it)

    @property
    def assistant(self) -> str:
        return self.args.assistant

    @property
    def original(self) -> list[str]:
        return self.snapshot[self.first : self.last]

    @property
    def title(self) -> str:
        where = self.label if self.whole else f"{self.label} lines {self.first + 1}-{self.last}"
        return f"GptRun {self.assistant} on {where}"

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def choose_target(self, rewrites: bool) -> str:
        """Where the result goes: --target, else replace (a rewriter) or the writer default."""
        self.target = self.args.target or ("replace" if rewrites else self.writer_target)
        return self.target

    def new_range(self, lines: list[str]) -> list[str]:
        """What the range becomes: the result (replace), or the range with the result below it (append),
        after an empty line when the range does not end with one (Markdown would join the paragraphs)."""
        if self.target != "append":
            return lines
        original = self.original
        gap = [""] if original and original[-1].strip() else []
        return [*original, *gap, *lines]


@dataclass
class JobEnd:
    """How a buffer run ended: its result, or its error."""

    result: Any = None  # gpt_tools.Result on success
    error: str = ""
    cancelled: bool = False
    advice: str | None = None  # the error's fix on its own, shown first


def writer_target(value: Any) -> str:
    """g:gpt_tools_writer_target, checked; ValueError names the allowed values."""
    if value is None:
        return WRITER_DEFAULT
    text = value.decode() if isinstance(value, bytes) else str(value)
    if text not in TARGETS:
        raise ValueError(f"g:gpt_tools_writer_target is {text!r}; expected one of {', '.join(TARGETS)}")
    return text


def read_attachment(gpt: Any, name: str, folder: str, what: str = "--input-files ") -> Any:
    """A file named with --input-files as a `gpt_tools.InputFile`: UTF-8 text as text, anything else as
    data (uploaded for the run). Only a regular file within ATTACHMENT_LIMIT is read: a FIFO or a device
    must not hang the editor's worker or fill its memory. It is opened without blocking and checked
    through the open file, so a FIFO put in its place after a check cannot hang the read either.
    what: how messages name it (the option, or nothing for :GptChatAdd)."""
    path = os.path.join(folder, name)  # an absolute name stays as it is; nothing is expanded (no ~)
    try:
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise gpt.InputRefused(f"{what}{name}: not a regular file")
            if info.st_size > ATTACHMENT_LIMIT:
                raise gpt.InputRefused(f"{what}{name}: larger than {ATTACHMENT_LIMIT // 1024 // 1024} MB")
            data = handle.read(ATTACHMENT_LIMIT + 1)
    except OSError as exc:
        raise gpt.InputRefused(f"{what}{name}: {exc.strerror or exc}") from None
    try:
        return gpt.InputFile(name, data.decode("utf-8"))
    except UnicodeDecodeError:
        return gpt.InputFile(name, "", data=data)
