"""Reading one chat message, which may span many lines.

A message is one turn, however many lines it has:

- on a terminal, a paste arrives as one message, without being sent line by line: GNU readline's
  bracketed paste puts the whole paste in the line being edited, and Enter sends it (terminals that
  bracket pastes: xterm, GNOME Terminal, Konsole, iTerm2, kitty, Alacritty, Windows Terminal, tmux,
  screen). Where pastes are not bracketed (or without GNU readline), lines already waiting on the
  terminal when a line ends join it: a pasted block is sent once, when its last line arrives.
- everywhere, pipes included, a line starting with `\"\"\"` opens a block that a line ending with
  `\"\"\"` closes: the lines between are one message (the end of input closes an open block too).
- on a pipe, every other line is a message of its own: nothing depends on timing.
"""

from __future__ import annotations

import contextlib
import select
import sys
from dataclasses import dataclass
from typing import TextIO

FENCE = '"""'
PROMPT = "you> "
MORE = "...  "  # the prompt of a block's further lines
PASTE_GRACE = 0.03  # seconds: a pasted line follows the one before at once; a typed one never this fast


@dataclass(frozen=True, kw_only=True)
class Lines:
    """Where the lines of a chat come from, and where its prompts go."""

    terminal: bool  # stdin is a terminal: pastes are coalesced
    edited: bool  # input() with readline (stdin and stdout are both terminals)
    prompts: TextIO | None  # where prompts are written when not `edited` (a terminal's stderr), or nowhere

    @classmethod
    def for_stdin(cls) -> Lines:
        terminal = _isatty(sys.stdin)
        edited = terminal and _isatty(sys.stdout)
        # Prompts never go into piped output: with stdout redirected they go to a terminal's stderr.
        prompts = sys.stderr if terminal and not edited and _isatty(sys.stderr) else None
        return cls(terminal=terminal, edited=edited, prompts=prompts)

    def line(self, prompt: str) -> str:
        """One line without its newline; EOFError at the end of input."""
        if self.edited:
            return input(prompt)
        if self.prompts is not None:
            self.prompts.write(prompt)
            self.prompts.flush()
        raw = sys.stdin.buffer.readline()
        if not raw:
            raise EOFError
        line = raw.decode("utf-8")  # UnicodeDecodeError: the caller says so and sends nothing
        # CRLF is a line ending too (a script written on Windows): `/exit\r` was an unknown command.
        return line.removesuffix("\n").removesuffix("\r") if line.endswith("\n") else line

    def pending(self) -> bool:
        """True when more input is already waiting on the terminal (the rest of a paste)."""
        if not self.terminal:
            return False
        try:
            return bool(select.select([sys.stdin.fileno()], [], [], PASTE_GRACE)[0])
        except (OSError, ValueError):
            return False


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # closed
        return False


def read_message(lines: Lines) -> str:
    """The next message: one line, a `\"\"\"` block, or a paste; EOFError at the end of input."""
    first = lines.line(PROMPT)
    if "\n" in first:
        return first  # a bracketed paste, whole: quotes in it are its text, not a block's fences
    if first.lstrip().startswith(FENCE):
        return _block(lines, first.lstrip()[len(FENCE) :])
    gathered = [first]
    while lines.pending():
        try:
            gathered.append(lines.line(""))
        except EOFError:
            break
    return "\n".join(gathered)


def _block(lines: Lines, opening: str) -> str:
    """The lines of a `\"\"\"` block, the fences left out; text beside a fence is part of the message."""
    if opening.rstrip().endswith(FENCE):
        return opening.rstrip()[: -len(FENCE)]  # `\"\"\"one line\"\"\"`
    gathered = [opening] if opening.strip() else []
    with contextlib.suppress(EOFError):  # the end of input closes the block: what was written is sent
        while True:
            line = lines.line(MORE)
            if line.rstrip().endswith(FENCE):
                last = line.rstrip()[: -len(FENCE)]
                if last.strip():
                    gathered.append(last)
                break
            gathered.append(line)
    return "\n".join(gathered)
