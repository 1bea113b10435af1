"""Why write_atomic (atomicwrite.py) did not write a file, on purpose: one class per reason, each an
OSError with its errno, so callers match the reason by type and every `except OSError` writer reports it.
"""

from __future__ import annotations

import errno
from pathlib import Path

from gpt_tools.errors import GptToolsError


class WriteRefused(GptToolsError, OSError):
    """The file was not written, on purpose. An OSError too, so every `except OSError` writer reports it."""

    code = errno.EPERM

    def __init__(self, path: str | Path, problem: str) -> None:
        self.message = f"{path}: not written: {problem}"
        super().__init__(self.code, self.message)
        self.path = str(path)
        self.problem = problem

    def __str__(self) -> str:
        return self.message  # not OSError's "[Errno N] ...": this is a message for the user


class ChangedMeanwhile(WriteRefused):
    """The file no longer holds what the caller read (edited, created or deleted meanwhile)."""

    code = errno.EAGAIN


class ReadOnlyFile(WriteRefused):
    """Its permissions or attributes (chattr +i) forbid writing it."""

    code = errno.EACCES


class HardLinked(WriteRefused):
    """Replacing it would break its other hard links (they would keep the old text)."""

    code = errno.EMLINK


class LeadsOutside(WriteRefused):
    """A symlink leads it out of the folder it must stay in (a repository's file, written for it)."""

    code = errno.EXDEV


class NotAFile(WriteRefused):
    """A directory, block device or socket: nothing a document can be written to."""

    code = errno.EISDIR
