"""Private files and folders: what holds a user's texts is readable by its owner only.

Conversations, the chat history, the log file, the run log and batch records sit in the user's
state and data dirs. Each file is 0600 and each folder gpt-tools owns is 0700, and a file or folder
left looser by an older version (or a umask) is tightened when it is next used, not only when it is
created. Folders above gpt-tools' own (`~/.local/state`) are only made 0700 when we create them.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

FILE_MODE, DIR_MODE = 0o600, 0o700


def private_dir(path: Path, *, owned_below: Path | None = None) -> Path:
    """Create `path` (and missing parents) as 0700; tighten the existing folders from `owned_below` down.

    `owned_below` is the first folder that belongs to gpt-tools (the app dir): folders above it are
    the user's, and keep their modes unless we create them.
    """
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # created meanwhile by another process: checked below
            os.mkdir(folder, DIR_MODE)  # a umask can only tighten this
    if owned_below is not None and (path == owned_below or owned_below in path.parents):
        for folder in (path, *path.parents):
            _tighten(folder, DIR_MODE, stat.S_ISDIR)
            if folder == owned_below:
                break
    return path


def private_file(path: Path) -> None:
    """Make an existing regular file 0600 if it is looser (a symlink is left alone: not ours to chmod)."""
    _tighten(path, FILE_MODE, stat.S_ISREG)


def _tighten(path: Path, mode: int, kind: Callable[[int], bool]) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if kind(info.st_mode) and info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, stat.S_IMODE(info.st_mode) & mode)


def open_private(path: Path, flags: int) -> int:
    """os.open for a private file: created 0600, an existing looser one tightened."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    try:
        info = os.fstat(fd)
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.fchmod(fd, stat.S_IMODE(info.st_mode) & FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd
