"""Reading a file named by a config or a flag: a regular file, of bounded size, maybe confined to a folder.

A cloned repository's config must not reach outside itself: until the project is trusted, the files
it names must resolve (symlinks followed) inside the project. Everyone, trusted or not, gets regular
files only (a FIFO would hang the editor, /dev/zero would eat all memory) read with a bounded read,
so a file that grows while it is read cannot either.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

# 32 MiB: far more text than any model's context takes (~10M tokens), room for a manual's PDF, and a
# bound on what one file can cost in memory. OpenAI takes larger files; they are rare as knowledge.
MAX_FILE_BYTES = 32 * 1024 * 1024


class FileRefused(Exception):
    """The file was not read; `outside` says whether trusting the project would change that, `too_large`
    whether a larger limit would."""

    def __init__(self, reason: str, *, outside: bool = False, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.outside = outside
        self.too_large = too_large


def inside(path: Path, root: Path) -> bool:
    """Whether path, symlinks resolved, lies in root (symlinks resolved)."""
    real, folder = os.path.realpath(path), os.path.realpath(root)
    return real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)


def read_regular(path: Path, *, root: Path | None = None, limit: int = MAX_FILE_BYTES, pipes: bool = False) -> bytes:
    """path's bytes; FileRefused if it is outside root (when given), not a regular file, or over limit.

    `pipes=True` (a file the user named on the command line: `--input-files <(cmd)`) also takes a pipe
    or a character device, still read with the bounded read: /dev/zero is refused at the cap, and a
    FIFO nobody writes to reads as empty instead of blocking forever on open.
    """
    if root is not None and not inside(path, root):
        raise FileRefused(f"resolves to {os.path.realpath(path)}, outside the project {root}", outside=True)
    # O_NONBLOCK: opening a FIFO with no writer must not block; the fstat below then decides.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)  # not realpath: /dev/fd/N of `<(cmd)` resolves to no openable name
    except OSError as exc:
        raise FileRefused(f"cannot be read: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        special = pipes and (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode))
        if not (stat.S_ISREG(mode) or special):
            raise FileRefused("is not a regular file")
        if root is not None and os.path.isdir("/proc/self/fd") and not inside(Path(f"/proc/self/fd/{fd}"), root):
            # The path was swapped for a symlink between the check and the open.
            raise FileRefused("changed while it was opened; it now lies outside the project", outside=True)
        if special:
            os.set_blocking(fd, True)  # a writer that is slow to start is waited for, as `cat` would
        elif os.fstat(fd).st_size > limit:
            raise FileRefused(f"is larger than {limit:,} bytes", too_large=True)
        return _bounded(fd, limit)
    finally:
        os.close(fd)


def _bounded(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = os.read(fd, min(1 << 20, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    raise FileRefused(f"is larger than {limit:,} bytes", too_large=True)
