"""Drive a real editor in a detached tmux session: type as a user would (send-keys), read the screen (capture-pane).

Each screen runs on a tmux socket of its own, so tests never see each other's sessions; every wait polls the
screen for what it expects.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

# The editor sees only the test's fake server, key and state dirs (and PATH, HOME): nothing of the user's own.
PASSED = ("OPENAI_", "GPT_TOOLS_", "XDG_")


class Screen:
    """One editor in a detached tmux session of a fixed size."""

    def __init__(self, socket: str, width: int, height: int) -> None:
        self.socket = socket
        self.width = width
        self.height = height

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True)
        return done.stdout

    def start(self, argv: list[str], cwd: Path, env: Mapping[str, str], names: tuple[str, ...] = PASSED) -> None:
        """Run argv with only the variables of env whose names start with one of names (and PATH, HOME)."""
        kept = {name: value for name, value in env.items() if name.startswith(names) or name in ("PATH", "HOME")}
        command = ["env", "-i", "TERM=xterm-256color", "LANG=C.UTF-8", *(f"{k}={v}" for k, v in kept.items()), *argv]
        self.tmux("new-session", "-d", "-x", str(self.width), "-y", str(self.height), "-c", str(cwd), *command)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "0", *keys)

    def command(self, line: str) -> None:
        self.keys(line)
        self.keys("Enter")

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "0")

    def until(self, check: Callable[[str], bool], what: str, seconds: float = 30) -> str:
        deadline = time.monotonic() + seconds
        while True:
            shown = self.text()
            if check(shown):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen never showed {what}:\n{shown}")
            time.sleep(0.05)

    def shows(self, text: str, seconds: float = 30) -> str:
        return self.until(lambda shown: text in shown, repr(text), seconds)


@contextmanager
def tmux_screen(socket: str, width: int, height: int) -> Iterator[Screen]:
    """A Screen whose tmux server is killed on the way out, whatever the test did."""
    view = Screen(socket, width, height)
    try:
        yield view
    finally:
        subprocess.run(["tmux", "-L", view.socket, "kill-server"], capture_output=True, check=False)
