"""All user-facing output of the command-line front ends goes through here.

stdout carries only results; messages go to stderr. When stderr is the same file as stdout (Vim's
`:{range}!` runs the filter with `>tmp 2>&1`), messages must not land in the buffer: they go to the
terminal (/dev/tty) if there is one, and always to the log file under the user's state dir.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import select
import stat
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

from gpt_tools.cli.safe_text import printable
from gpt_tools.errors import RunFailed
from gpt_tools.state.logfile import append_log

PROGRAM = "gpt-tools"  # the main command, as its messages name it


def stderr_is_stdout() -> bool:
    """True when fds 1 and 2 are the same file, as under Vim's filter redirection."""
    try:
        out, err = os.fstat(1), os.fstat(2)
    except OSError:
        return False
    return (out.st_dev, out.st_ino) == (err.st_dev, err.st_ino)


def _to_terminal(line: str) -> bool:
    """Write line to the controlling terminal, if there is one and we are in its foreground.

    A background job writing to a terminal with `stty tostop` would be stopped (SIGTTOU) until
    brought back: a filter must never hang for the sake of a message, which the log file keeps anyway.
    """
    try:
        fd = os.open("/dev/tty", os.O_WRONLY | os.O_NOCTTY)
    except OSError:  # no controlling terminal: GUI Vim, CI, a daemon
        return False
    try:
        if os.tcgetpgrp(fd) != os.getpgrp():
            return False
        os.write(fd, (line + "\n").encode("utf-8", "replace"))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


class Console:
    """Output for one program run; `filter_mode` for filters whose stderr may be the buffer."""

    def __init__(self, program: str, *, filter_mode: bool = False) -> None:
        self.program = program
        self.merged = filter_mode and stderr_is_stdout()
        self.filter_mode = filter_mode

    @property
    def stderr_tty(self) -> bool:
        try:
            return not self.merged and sys.stderr is not None and sys.stderr.isatty()
        except ValueError:  # closed
            return False

    def result(self, text: str) -> None:
        """The result, exactly, on stdout."""
        write_stdout(text.encode("utf-8"))

    def line(self, text: str) -> None:
        """One report line on stdout (the hook's per-file lines and summary)."""
        # Report lines quote file names and document lines (a cloned repository's): no raw escapes.
        write_stdout((printable(text, keep_newlines=True) + "\n").encode("utf-8"))

    def message(self, text: str, *, error: bool = False) -> None:
        # Messages quote config values and file names (a cloned repository's): no raw escapes.
        line = f"{self.program}: {'error: ' if error else ''}{printable(text, keep_newlines=True)}"
        if self.filter_mode:
            append_log(self.program, line)
        if not self.merged:
            # With fd 2 closed at start-up sys.stderr is None, and print(file=None) would write the
            # message to stdout, into the user's text. A broken stderr must not crash a handled failure.
            if sys.stderr is not None:
                with contextlib.suppress(OSError, ValueError):
                    print(line, file=sys.stderr, flush=True)
        else:
            _to_terminal(line)  # no terminal (a GUI Vim, CI): the log file above is where it is kept

    def error(self, text: str) -> None:
        self.message(text, error=True)

    def progress(self, label: str) -> Spinner:
        return Spinner(label, sys.stderr if self.stderr_tty else None)


class OutputFailed(RunFailed):
    """stdout did not take the whole of what was written to it (a full disk, a closed pipe, EIO).

    `left` is True when part of it is still there and could not be taken back (a pipe or a terminal
    already passed it on); on a regular file a failed write is truncated away, so `left` is False.
    """

    def __init__(self, message: str, *, left: bool) -> None:
        super().__init__(message)
        self.left = left


_stdout_closed = False  # fd 1 was closed when the program started (see reserve_std_fds)


def reserve_std_fds() -> frozenset[int]:
    """Put /dev/null on any of fds 0-2 that the caller closed (`gpt-filter X >&-`).

    Otherwise the next file or socket opened takes that number, and the result written "to stdout"
    would go into the log file or the HTTP connection. A closed stdout makes write_stdout fail.
    Returns the descriptors that were closed.
    """
    global _stdout_closed
    closed = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            _stdout_closed = _stdout_closed or fd == 1
            closed.add(fd)
            name = ("stdin", "stdout", "stderr")[fd]
            if getattr(sys, name) is None:  # Python's stand-in for a closed fd; print(file=None) goes to stdout
                setattr(sys, name, open(fd, "r" if fd == 0 else "w", encoding="utf-8", closefd=False))  # noqa: SIM115
    return frozenset(closed)


def _start_of_write() -> int | None:
    """Where the next write to stdout lands, if a failed write there can be taken back.

    Only at the end of a regular file: truncating is then exact. Written over existing bytes
    (`1<>file`), the old ones are gone, and truncating would cut what lies beyond as well.
    """
    try:
        info = os.fstat(1)
        if not stat.S_ISREG(info.st_mode):
            return None
        if fcntl.fcntl(1, fcntl.F_GETFL) & os.O_APPEND:
            return info.st_size
        position = os.lseek(1, 0, os.SEEK_CUR)
    except OSError:
        return None
    return position if position >= info.st_size else None


def _take_back(start: int | None) -> bool:
    if start is None:
        return False
    try:
        os.ftruncate(1, start)
        os.lseek(1, start, os.SEEK_SET)
        return True
    except OSError:
        return False


class _Short(Exception):
    def __init__(self, written: int, error: OSError) -> None:
        super().__init__(written, error)
        self.written, self.error = written, error


def _write_all(data: bytes) -> None:
    """Write every byte to fd 1, through short writes and a non-blocking descriptor, or raise _Short."""
    view, done = memoryview(data), 0
    while done < len(view):
        try:
            wrote = os.write(1, view[done:])
        except BlockingIOError:  # O_NONBLOCK set by whoever shares our stdout: wait until it drains
            select.select([], [1], [])
            continue
        except OSError as exc:
            raise _Short(done, exc) from None
        if wrote == 0:
            raise _Short(done, OSError(errno.EIO, "stdout accepted no more data"))
        done += wrote


def write_stdout(data: bytes) -> None:
    """All of data on stdout, or OutputFailed; never a silently short write.

    Written with os.write, not sys.stdout: the buffered (and the PYTHONUNBUFFERED raw) stream can
    drop the tail of a short write without a word. On a regular file a failed write is truncated
    back to where it began, so a caller never leaves half a result there.
    """
    if _stdout_closed:
        raise OutputFailed("stdout is closed; nothing could be written to it", left=False)
    written, start = 0, None
    try:
        if sys.stdout is not None and not sys.stdout.closed:
            sys.stdout.flush()  # anything print()ed before comes first
        start = _start_of_write()
        _write_all(data)
        return
    except _Short as short:
        written, error = short.written, short.error
    except OSError as exc:  # the flush of what was print()ed before
        error = exc
    left = written > 0 and not _take_back(start)
    if error.errno == errno.EPIPE:
        # The reader went away: fd 1 becomes /dev/null so the interpreter's final flush is quiet.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    raise OutputFailed(f"cannot write to stdout: {error.strerror or error}", left=left)


class Spinner:
    """Elapsed-time spinner on a terminal's stderr; does nothing when stream is None."""

    def __init__(self, label: str, stream: TextIO | None) -> None:
        self.label = label
        self.stream = stream
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _spin(self) -> None:
        assert self.stream is not None
        started = time.monotonic()
        for frame in itertools.cycle("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"):
            self.stream.write(f"\r{frame} {printable(self.label)} {time.monotonic() - started:.1f}s\033[K")
            self.stream.flush()
            if self._stop.wait(0.1):
                break
        self.stream.write("\r\033[K")
        self.stream.flush()

    def relabel(self, label: str) -> None:
        """Show what the work is doing now (e.g. indexing progress)."""
        self.label = label

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @contextlib.contextmanager
    def running(self) -> Iterator[Spinner]:
        if self.stream is not None:
            self._thread = threading.Thread(target=self._spin, daemon=True)
            self._thread.start()
        try:
            yield self
        finally:
            self.stop()
