"""All user-facing output of the command-line front ends goes through here.

stdout carries only results; messages go to stderr. When stderr is the same file as stdout (Vim's
`:{range}!` runs the filter with `>tmp 2>&1`), messages must not land in the buffer: they go to the
terminal (/dev/tty) if there is one, and always to the log file under the user's state dir.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

from ..logfile import append_log
from .safe_text import printable


def stderr_is_stdout() -> bool:
    """True when fds 1 and 2 are the same file, as under Vim's filter redirection."""
    try:
        out, err = os.fstat(1), os.fstat(2)
    except OSError:
        return False
    return (out.st_dev, out.st_ino) == (err.st_dev, err.st_ino)


def _to_terminal(line: str) -> bool:
    try:
        with open("/dev/tty", "w", encoding="utf-8") as tty:
            tty.write(line + "\n")
        return True
    except OSError:
        return False


class Console:
    """Output for one program run; `filter_mode` for filters whose stderr may be the buffer."""

    def __init__(self, program: str, *, filter_mode: bool = False) -> None:
        self.program = program
        self.merged = filter_mode and stderr_is_stdout()
        self.filter_mode = filter_mode

    @property
    def stderr_tty(self) -> bool:
        return not self.merged and sys.stderr.isatty()

    def result(self, text: str) -> None:
        """The result, exactly, on stdout."""
        write_stdout(text.encode("utf-8"))

    def line(self, text: str) -> None:
        """One report line on stdout (the hook's per-file lines and summary)."""
        write_stdout((text + "\n").encode("utf-8"))

    def message(self, text: str, *, error: bool = False) -> None:
        # Messages quote config values and file names (a cloned repository's): no raw escapes.
        line = f"{self.program}: {'error: ' if error else ''}{printable(text, keep_newlines=True)}"
        if self.filter_mode:
            append_log(self.program, line)
        if not self.merged:
            print(line, file=sys.stderr, flush=True)
        else:
            _to_terminal(line)  # no terminal (a GUI Vim, CI): the log file above is where it is kept

    def error(self, text: str) -> None:
        self.message(text, error=True)

    def progress(self, label: str) -> Spinner:
        return Spinner(label, sys.stderr if self.stderr_tty else None)


def write_stdout(data: bytes) -> None:
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # The reader went away (`| head`); nothing to tell it, and Python must not print a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


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
