"""The one way this project writes a user's file: complete, or not at all."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


def write_atomic(path: str | Path, data: bytes, *, durable: bool = True, private: bool = False) -> None:
    """Replace path's content with data via a temp file and rename, keeping mode and symlinks.

    A crash or a full disk leaves either the old file or the new one, never a truncated mix.
    `durable=False` skips the fsyncs, for files whose loss costs nothing but a repeat (caches).
    `private=True` creates a new file readable by its owner only (conversations, histories).
    """
    target = Path(os.path.realpath(path))  # write through a symlink: the link itself stays a link
    try:
        mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    # 0o666 lets the umask decide a new file's mode, as any editor would.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
