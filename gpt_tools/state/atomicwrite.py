"""The one way this project writes a user's file: complete, or not at all, and never over a change.

A regular file is replaced by a temp file renamed over it, after re-checking that it still holds what
the caller read (`expect`). The temp file is unnamed while it is written (Linux O_TMPFILE), so a
SIGKILL leaves nothing behind; it gets a name only for the instant between link and rename. Mode,
owner, group (where permitted) and extended attributes are copied to it. What is not a regular file is
never replaced: a pipe or character device is written through, `/dev/stdout` and `/proc/self/fd/N`
write to the descriptor itself, anything else is refused. A file that is read-only (permissions or
`chattr +i`) or has other hard links is refused rather than replaced.

What a replaced file cannot keep: its inode number and birth time, chattr flags (`lsattr`), and,
unless running as root, an owner other than the writer (and a group the writer is not in); those
two are reported in Written.lost, like any xattr that could not be copied.
"""

from __future__ import annotations

import enum
import errno
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from gpt_tools.state.private import private_file

# The refusals are public here too: callers match them where they call write_atomic.
from gpt_tools.state.write_refusals import ChangedMeanwhile as ChangedMeanwhile
from gpt_tools.state.write_refusals import HardLinked as HardLinked
from gpt_tools.state.write_refusals import LeadsOutside as LeadsOutside
from gpt_tools.state.write_refusals import NotAFile as NotAFile
from gpt_tools.state.write_refusals import ReadOnlyFile as ReadOnlyFile
from gpt_tools.state.write_refusals import WriteRefused as WriteRefused


class Absent(enum.Enum):
    """`expect=ABSENT`: the target did not exist when read, and must not exist when written."""

    ABSENT = "absent"


ABSENT = Absent.ABSENT
Expected = bytes | Absent | None


@dataclass(frozen=True, kw_only=True)
class Written:
    changed: bool  # False: the file already held exactly these bytes, and was not touched
    lost: tuple[str, ...] = ()  # what the new file could not keep: "owner", "group", "xattr NAME"


@dataclass(frozen=True, kw_only=True)
class _Target:
    path: Path  # symlinks resolved: the link itself stays a link
    fd: int | None = None  # /dev/stdout, /dev/fd/N, /proc/self/fd/N: this process's descriptor N


# /dev/fd -> /proc/self/fd -> /proc/<pid>/fd; threads see /proc/<pid>/task/<tid>/fd.
_FD_PATH = re.compile(r"/proc/(?:self|thread-self|(\d+))(?:/task/\d+)?/fd/(\d+)")
_SYMLINK_HOPS = 40  # Linux's own limit (SYMLOOP_MAX)


def _resolve(path: str | Path) -> _Target:
    """Follow symlinks one hop at a time, stopping at this process's own descriptor paths.

    realpath would turn /dev/stdout into the file the shell redirected stdout to (replacing it loses
    what `>>` appended) or into a meaningless `pipe:[123]`.
    """
    current = os.path.abspath(path)
    for _ in range(_SYMLINK_HOPS):
        head, tail = os.path.split(current)
        current = os.path.join(os.path.realpath(head), tail)
        found = _FD_PATH.fullmatch(current)
        if found and found.group(1) in (None, str(os.getpid())):
            return _Target(path=Path(current), fd=int(found.group(2)))
        if not os.path.islink(current):
            return _Target(path=Path(current))
        current = os.path.join(os.path.dirname(current), os.readlink(current))
    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _identity(info: os.stat_result) -> tuple[int, ...]:
    """Cheap evidence that a file is untouched: any write or rename changes one of these."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _read(path: Path) -> tuple[bytes, os.stat_result] | None:
    """Content and identity from one descriptor; None when it is not a regular file (never blocks)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(), info
    finally:
        os.close(fd)


def snapshot(path: str | Path) -> Expected:
    """What to pass as `expect` later: the file's bytes, ABSENT, or None if it is not a regular file."""
    target = _resolve(path)
    if target.fd is not None:
        return None
    try:
        found = _read(target.path)
    except FileNotFoundError:
        return ABSENT
    return None if found is None else found[0]


def check_writable(path: str | Path) -> None:
    """Raise what write_atomic would refuse for, before anything costly is done for the write."""
    target = _resolve(path)
    if target.fd is not None:
        return
    info = _stat(target.path)
    if info is None:
        if not target.path.parent.is_dir():
            raise FileNotFoundError(errno.ENOENT, "no such directory", str(target.path.parent))
        return
    try:
        _check_replaceable(target.path, info)
    except WriteRefused as exc:
        raise type(exc)(path, exc.problem) from None


def _check_replaceable(path: Path, info: os.stat_result) -> None:
    if stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode):
        return  # written through, not replaced
    if not stat.S_ISREG(info.st_mode):
        raise NotAFile(path, "not a regular file, a pipe or a character device")
    # No write bit at all means the user made it read-only: even root (who may write) respects that.
    effective = os.access in os.supports_effective_ids
    if not info.st_mode & 0o222 or not os.access(path, os.W_OK, effective_ids=effective):
        raise ReadOnlyFile(path, "read-only (its permissions or chattr +i)")
    if info.st_nlink > 1:
        raise HardLinked(path, f"it has {info.st_nlink} hard links, which replacing it would break")


def write_atomic(
    path: str | Path,
    data: bytes,
    *,
    durable: bool = True,
    private: bool = False,
    expect: Expected = None,
    within: Path | None = None,
) -> Written:
    """Make path hold data: the old file or the new one, never a mix; unchanged bytes are not rewritten.

    `expect`: what the caller read earlier (see snapshot()); if the file holds anything else when the
    new one is ready, ChangedMeanwhile is raised and nothing is written.
    `durable=False` skips the fsyncs, for files whose loss costs nothing but a repeat (caches).
    `private=True` creates a new file readable by its owner only (conversations, histories).
    `within`: the folder the file must resolve into; a symlink leading out of it is refused (LeadsOutside),
    so a cloned repository's symlink cannot make gpt-tools write another file of the user's.
    """
    try:
        target = _resolve(path)
        if within is not None and not _inside(target, within):
            raise LeadsOutside(path, f"it is a symlink to {target.path}, outside {os.path.realpath(within)}")
        return _write(target, data, durable=durable, private=private, expect=expect)
    except WriteRefused as exc:  # name the file as the caller did, not by its resolved path
        raise type(exc)(path, exc.problem) from None


def _inside(target: _Target, folder: Path) -> bool:
    real = os.path.realpath(folder)
    return target.fd is None and (str(target.path) == real or str(target.path).startswith(real.rstrip(os.sep) + os.sep))


def _write(target: _Target, data: bytes, *, durable: bool, private: bool, expect: Expected) -> Written:
    if target.fd is not None:
        _write_all(target.fd, data)
        return Written(changed=True)
    info = _stat(target.path)
    if info is not None:
        if stat.S_ISREG(info.st_mode) and info.st_size == len(data) and _same(target.path, data):
            if private:  # nothing to write, but a private file left looser (an older version's) is still made so
                private_file(target.path)
            return Written(changed=False)
        _check_replaceable(target.path, info)
        if not stat.S_ISREG(info.st_mode):
            if isinstance(expect, bytes):  # read as a regular file: opening the FIFO now put there would block
                raise ChangedMeanwhile(target.path, "replaced by a pipe or device since it was read")
            return _write_through(target.path, data)
        if expect is ABSENT:
            raise ChangedMeanwhile(target.path, "created since it was read")
    elif isinstance(expect, bytes):
        raise ChangedMeanwhile(target.path, "deleted since it was read")
    return _replace(target.path, data, info, durable=durable, private=private, expect=expect)


def _same(path: Path, data: bytes) -> bool:
    try:
        found = _read(path)
    except PermissionError:  # a write-only file: it can be written, not compared
        return False
    return found is not None and found[0] == data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_through(path: Path, data: bytes) -> Written:
    """A pipe or device: write into it, as a shell redirection would; it cannot be replaced."""
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):  # became a regular file since the stat: do not write into it
            raise ChangedMeanwhile(path, "replaced by a regular file since it was checked")
        _write_all(fd, data)
    finally:
        os.close(fd)
    return Written(changed=True)


def _replace(
    path: Path, data: bytes, info: os.stat_result | None, *, durable: bool, private: bool, expect: Expected
) -> Written:
    fd, named = _open_temp(path, 0o600 if private else 0o666)  # 0o666: the umask decides, as in any editor
    lost: tuple[str, ...] = ()
    try:
        _write_all(fd, data)
        if info is not None:
            lost = _copy_metadata(fd, path, info, private=private)
        if durable:
            os.fsync(fd)
        named = _commit(fd, named, path, expect)
    finally:
        os.close(fd)
        if named is not None:
            named.unlink(missing_ok=True)
    if durable:
        _fsync_dir(path.parent)
    return Written(changed=True, lost=lost)


def _temp_name(path: Path) -> Path:
    """`.NAME.XXXXXXXX.tmp`, with NAME cut so the whole fits the folder's NAME_MAX."""
    try:
        limit = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    suffix = f".{secrets.token_hex(4)}.tmp".encode()
    stem = os.fsencode(path.name)[: max(1, limit - len(suffix) - 1)]
    return path.with_name(os.fsdecode(b"." + stem + suffix))


def _open_temp(path: Path, mode: int) -> tuple[int, Path | None]:
    """An unnamed file in path's folder (None) when the system allows it, else a named one."""
    unnamed = getattr(os, "O_TMPFILE", 0)
    if unnamed and os.path.isdir("/proc/self/fd"):  # linking it needs /proc
        try:
            return os.open(path.parent, unnamed | os.O_WRONLY, mode), None
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise  # EACCES, EROFS, ENOSPC, ENOENT: a named file would fail the same way
    named = _temp_name(path)
    return os.open(named, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), named


def _commit(fd: int, named: Path | None, path: Path, expect: Expected) -> Path | None:
    """Put the finished temp file at path, unless path changed; returns the temp's name still to remove."""
    if expect is ABSENT:  # link() never replaces: a file created meanwhile makes it fail
        try:
            _link(fd, named, path)
        except FileExistsError:
            raise ChangedMeanwhile(path, "created since it was read") from None
        return named
    before = _recheck(path, expect) if isinstance(expect, bytes) else None
    if named is None:  # the name exists only from here to the rename
        named = _temp_name(path)
        _link(fd, None, named)
    try:
        if before is not None and _identity_now(path) != before:
            raise ChangedMeanwhile(path, "changed since it was read")
        os.replace(named, path)
    except BaseException:
        named.unlink(missing_ok=True)
        raise
    return None


def _link(fd: int, named: Path | None, dest: Path) -> None:
    """A second name for the temp file; an unnamed one is linked through /proc (linkat, AT_SYMLINK_FOLLOW)."""
    if named is not None:
        os.link(named, dest)
        return
    # Without a dir fd, os.link calls link(2), which links the /proc symlink itself (EXDEV).
    folder = os.open(dest.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(f"/proc/self/fd/{fd}", dest.name, dst_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(folder)


def _recheck(path: Path, expect: bytes) -> tuple[int, ...]:
    """Compare the content; returns its identity, re-checked immediately before the rename."""
    try:
        found = _read(path)
    except FileNotFoundError:
        found = None
    if found is None or found[0] != expect:
        raise ChangedMeanwhile(path, "changed since it was read")
    return _identity(found[1])


def _identity_now(path: Path) -> tuple[int, ...] | None:
    now = _stat(path)
    return None if now is None else _identity(now)


def _copy_metadata(fd: int, path: Path, info: os.stat_result, *, private: bool) -> tuple[str, ...]:
    """Owner, group, xattrs, then mode (chown clears set-id bits) onto the temp file; returns what failed.

    A private file loses any group/other bits it had (one written by an older version, or by hand).
    """
    lost = list(_copy_owner(fd, info))
    for name in _xattr_names(path):
        try:
            os.setxattr(fd, name, os.getxattr(path, name))
        except OSError:
            lost.append(f"xattr {name}")
    os.fchmod(fd, stat.S_IMODE(info.st_mode) & (0o7700 if private else 0o7777))
    return tuple(lost)


def _copy_owner(fd: int, info: os.stat_result) -> tuple[str, ...]:
    if (info.st_uid, info.st_gid) == (os.geteuid(), os.getegid()):
        return ()
    try:
        os.fchown(fd, info.st_uid, info.st_gid)  # root, or our own file in another of our groups
        return ()
    except PermissionError:
        pass
    try:
        os.fchown(fd, -1, info.st_gid)
    except PermissionError:
        return ("owner", "group") if info.st_uid != os.geteuid() else ("group",)
    return ("owner",) if info.st_uid != os.geteuid() else ()


def _xattr_names(path: Path) -> list[str]:
    if not hasattr(os, "listxattr"):
        return []
    try:
        return os.listxattr(path)
    except OSError:  # the filesystem has none
        return []


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
