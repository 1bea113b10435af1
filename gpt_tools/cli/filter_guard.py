"""gpt-filter's promise under signals and failing writes: stdout ends up holding the input or the result.

Vim's `:%!gpt-filter` replaces the range with whatever the process left in its output file, even when
it was killed. So every signal whose default action ends the process is caught, and the handler
writes the input back before the exit (status 128+N). Three moments need care:

- reading stdin: a regular file (Vim's temp file) is read to its end first, so the whole input goes
  back. A pipe (or socket) still being written cannot be given back yet: what came so far is not the
  input, and printing it would cut the text. So the filter turns into a pass-through: what was read,
  then the rest of stdin until EOF, goes to stdout unchanged, then the exit. It was asked to stop, not
  to cut the text; it keeps copying as long as data comes, and gives up (saying stdout is incomplete)
  only after PASS_IDLE_SECONDS without any, or at a second signal. A terminal gives back what was
  typed before the signal (Ctrl-C at a prompt means stop now).
- the run: the input goes back at once; the exception then unwinds the run (so the run log keeps a
  row), and a watchdog ends the process if the unwinding hangs (chunks in flight).
- writing stdout: a signal waits until the write is over. Writing the input after half a result is
  the one thing worse than either, so a completed result stays (exit 0: the status tells the caller
  what stdout holds) and a failed write is taken back first (console.write_stdout).

Not handled, on purpose: SIGKILL and SIGSTOP (cannot be caught), SIGPIPE and SIGXFSZ (Python ignores
them, so they arrive as EPIPE/EFBIG write errors, handled like any failed write), the job-control
and ignored-by-default signals, and the synchronous faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT,
SIGTRAP, SIGSYS: after those the interpreter itself cannot be trusted to write anything).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from gpt_tools.cli.console import Console, OutputFailed, write_stdout

_NOT_TERMINATING = {
    "SIGKILL", "SIGSTOP", "SIGPIPE", "SIGXFSZ", "SIGCHLD", "SIGCONT", "SIGTSTP", "SIGTTIN", "SIGTTOU",
    "SIGURG", "SIGWINCH", "SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT", "SIGTRAP", "SIGSYS",
}  # fmt: skip


def _terminating() -> tuple[int, ...]:
    """Every catchable signal whose default action would end the process (realtime ones too)."""
    chosen = []
    for signum in sorted(signal.valid_signals()):
        try:
            name = signal.Signals(signum).name
        except ValueError:  # a realtime signal without a name: its default action is to terminate
            name = f"SIGRT{signum}"
        if name not in _NOT_TERMINATING:
            chosen.append(int(signum))
    return tuple(chosen)


TERMINATING = _terminating()
MAX_INPUT = 64 * 1024 * 1024  # bytes held in memory; far over any limit a run accepts by default
UNWIND_SECONDS = 2.0  # after the input went back, how long the run may take to clean up and log
PASS_IDLE_SECONDS = 30.0  # signalled while a pipe is being read: how long a silent writer is waited for
_READING, _RUNNING, _WRITING, _PASSING, _DONE = range(5)


class InputTooLarge(Exception):
    """stdin holds more than MAX_INPUT bytes: passed through, never held whole in memory."""


class Signalled(KeyboardInterrupt):
    """Raised in the main thread once the input has gone back: unwinds the run as an interrupt (so
    the run log records it as cancelled)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.status = 128 + signum


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class SignalGuard:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.chunks: list[bytes] = []
        self.phase = _READING
        self.status: int | None = None  # set once a signal has been answered
        self.late: int | None = None  # a signal that came while stdout was being written
        self._wake: tuple[int, int] | None = None

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Handlers for every terminating signal (main thread only), restored on the way out."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self._on_signal) for signum in TERMINATING}
        self._wake = os.pipe()
        os.set_blocking(self._wake[1], False)  # a handler must never block on its own wake-up pipe
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)
            for fd in self._wake:
                os.close(fd)
            self._wake = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.phase == _RUNNING:
            self._answer(signum)
            raise Signalled(signum)
        if self.phase == _PASSING:  # the input is being copied through: stopping leaves what was copied
            if self.late is not None:  # a second signal: the caller insists
                with contextlib.suppress(Exception):
                    self.console.error(
                        f"stopped again by {_name(signum)} while passing the input through; "
                        "stdout holds only part of it"
                    )
            os._exit(128 + signum)
        if self.late is None:
            self.late = signum
        if self.phase == _READING and self._wake is not None:
            with contextlib.suppress(BlockingIOError):  # full: select() is awake already
                os.write(self._wake[1], b"!")  # wakes the select() in read_stdin

    def _answer(self, signum: int) -> None:
        """Give the input back, say why, and make sure the process ends soon."""
        self.phase, self.status = _DONE, 128 + signum
        try:
            self._write_input()
            with contextlib.suppress(Exception):  # a broken stderr or log changes nothing now
                self.console.error(f"stopped by {_name(signum)}; the text was left unchanged")
            timer = threading.Timer(UNWIND_SECONDS, os._exit, args=(self.status,))
            timer.daemon = True
            timer.start()
        except BaseException:  # nothing may keep this exit from happening (no thread, no memory)
            os._exit(self.status)

    def read_stdin(self) -> bytes:
        """All of stdin, unless a signal comes first (see the module docstring)."""
        try:
            mode = os.fstat(0).st_mode
        except OSError:
            mode = 0
        regular, piped = stat.S_ISREG(mode), stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
        size = 0
        while True:
            watched = [0] if regular or self._wake is None else [0, self._wake[0]]
            ready, _, _ = select.select(watched, [], [])
            if 0 not in ready:
                break  # only the wake-up pipe: a signal came while a pipe or terminal was silent
            chunk = os.read(0, 1 << 20)
            if not chunk:
                break
            self.chunks.append(chunk)
            size += len(chunk)
            if size > MAX_INPUT:
                raise InputTooLarge
            if self.late is not None and not regular:
                break
        if self.late is not None and piped:
            self.status = self._pass_rest(self.late)
            raise Signalled(self.late)
        data = b"".join(self.chunks)
        self.chunks = [data]
        self.phase = _RUNNING
        if self.late is not None:
            self._answer(self.late)
            raise Signalled(self.late)
        return data

    def pass_through(self) -> int:
        """Copy an over-large stdin to stdout unchanged, without holding it (exit 2)."""
        self.phase = _PASSING
        try:
            for chunk in itertools.chain(self.chunks, iter(lambda: os.read(0, 1 << 20), b"")):
                write_stdout(chunk)  # one chunk at a time: the rest of stdin is never held
        except (OSError, OutputFailed) as exc:
            self.console.error(f"the input is over {MAX_INPUT >> 20} MiB and could not be passed through: {exc}")
            return 1
        self.console.error(f"the input is over {MAX_INPUT >> 20} MiB; passed through unchanged, nothing was sent")
        return 2

    def _pass_rest(self, signum: int) -> int:
        """Signalled while a pipe was being read: pass the whole input through, then say so."""
        self.phase, status = _PASSING, 128 + signum
        stopped = f"stopped by {_name(signum)} while reading stdin"
        copied, complete = 0, False
        try:
            for chunk in self.chunks:
                write_stdout(chunk)
                copied += len(chunk)
            self.chunks = []
            while select.select([0], [], [], PASS_IDLE_SECONDS)[0]:
                chunk = os.read(0, 1 << 20)
                if not chunk:
                    complete = True
                    break
                write_stdout(chunk)
                copied += len(chunk)
        except (OSError, OutputFailed) as exc:
            why = f"the input could not be passed through ({exc}); stdout holds only part of it"
        else:
            why = (
                "the input was passed through unchanged; nothing was sent"
                if complete
                else f"no more input came for {PASS_IDLE_SECONDS:g} s: stdout holds only the first {copied} bytes"
            )
        self.phase = _DONE
        with contextlib.suppress(Exception):
            self.console.error(f"{stopped}; {why}")
        return status

    def give_back(self, report: Callable[[], int], fallback: int) -> int:
        """After a failure (or --help): the input on stdout, then the report; returns the status."""
        if self.status is not None:  # a signal already gave the input back
            return self.status
        self.phase = _WRITING
        problem = self._write_input()
        try:
            status = report()
        except Exception:  # a broken stderr or log must not change what stdout holds
            status = fallback
        if problem is not None:
            with contextlib.suppress(Exception):
                self.console.error(f"{problem}; the text could not be given back")
            status = status or 1
        return status

    def deliver(self, result: bytes) -> int:
        """The result on stdout, whole; if that fails, the input instead, or nothing (exit 1)."""
        if self.status is not None:
            return self.status
        self.phase = _WRITING
        problem = self._write(result)
        if problem is None:
            return 0  # a signal that came meanwhile found the work done: stdout holds the result
        if problem.left:  # a pipe or terminal already passed part of it on: adding the input would mix them
            why = "only part of the result reached stdout (it cannot be taken back)"
        elif (again := self._write_input()) is None:
            why = "the result could not be written; the text was left unchanged"
        else:
            why = f"the result could not be written, nor the text given back ({again})"
        with contextlib.suppress(Exception):
            self.console.error(f"{problem}: {why}")
        return 1

    def _write_input(self) -> OutputFailed | None:
        # Chunk by chunk, never a joined copy: the input must go back even when memory has run out.
        # Once read_stdin is done there is one chunk, so a failed write is taken back whole.
        for chunk in self.chunks:
            if (problem := self._write(chunk)) is not None:
                return problem
        return None

    def _write(self, data: bytes) -> OutputFailed | None:
        try:
            write_stdout(data)
        except OutputFailed as exc:
            return exc
        return None
