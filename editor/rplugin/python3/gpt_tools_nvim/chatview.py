"""The chat buffer as the remote plugin sees it: calls into editor/lua/gpt_tools/chat.lua, and the text.

Called on the host's event loop only (worker threads use `nvim.async_call`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pynvim import Nvim

from .text import text_to_lines

LUA = "return require('gpt_tools.chat')[...](select(2, ...))"
YOU = "## You"
HELD = ("insert", "busy")  # write states meaning: not now, try again later


def heading(assistant: str) -> str:
    return f"## {assistant}"


def header(assistant: str, conversation_id: str, turns: int) -> str:
    continuing = f" · continuing after {turns} turn{'s' if turns != 1 else ''}" if turns else ""
    return f"# {assistant} · {conversation_id}{continuing} · <CR> sends what you write below the last reply"


def reply_lines(text: str) -> list[str]:
    """A reply as buffer lines, without the empty lines its final newlines would add."""
    return text_to_lines(text.rstrip("\n"))


def transcript(assistant: str, conversation_id: str, messages: Sequence[dict[str, str]]) -> list[str]:
    """The whole buffer for a conversation: header, the turns so far, and the empty prompt line last."""
    lines = [header(assistant, conversation_id, len(messages) // 2), ""]
    for message in messages:
        lines += [YOU if message["role"] == "user" else heading(assistant), "", *reply_lines(message["content"]), ""]
    return [*lines, ""]


def block(title: str, filetype: str, lines: Sequence[str]) -> list[str]:
    """Text for a chat message: its title, then the lines in a fenced code block longer than any run
    of backticks inside them (so a Markdown file's own fences stay inside)."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{title}:", "", f"{fence}{filetype}", *lines, fence]


def file_block(name: str, text: str) -> list[str]:
    """A file's text as a block, fenced with its type (md: markdown, else the suffix); CRLF line ends
    become the buffer's own (a "\r" would show as ^M in every line)."""
    suffix = name.rpartition(".")[2] if "." in name.rpartition("/")[2] else ""
    lines = reply_lines(text.replace("\r\n", "\n"))
    return block(name, {"md": "markdown", "py": "python"}.get(suffix, suffix), lines)


class ChatView:
    def __init__(self, nvim: Nvim) -> None:
        self.nvim = nvim

    def _lua(self, function: str, *args: Any) -> Any:
        return self.nvim.exec_lua(LUA, function, *args)

    def open(self, name: str, lines: list[str]) -> int:
        """A new chat buffer in a split, showing lines, the cursor on the prompt line: its number."""
        return int(self._lua("open", name, lines))

    def show(self, bufnr: int) -> None:
        self._lua("show", bufnr)

    def alive(self, bufnr: int) -> bool:
        api = self.nvim.api
        return bool(api.buf_is_valid(bufnr) and api.buf_is_loaded(bufnr))

    def send(self, bufnr: int, assistant: str) -> list[str] | None:
        """The message written since the last reply, now marked as sent; None if there is none."""
        message = self._lua("send", bufnr, YOU, heading(assistant))
        return None if message is None else [str(line) for line in message]

    def append(self, bufnr: int, text: str) -> str:
        """Streamed text after the reply so far: 'written', or 'insert' / 'busy' (try again later)."""
        return str(self._lua("append", bufnr, text))

    def add(self, bufnr: int, lines: list[str]) -> None:
        """lines into the message being written (the prompt area), the chat shown, the cursor below them."""
        self._lua("add", bufnr, lines)

    def finish(
        self, bufnr: int, final: list[str] | None, note: str | None, restore: list[str] | None, again: str = ""
    ) -> str:
        """The end of a reply (see chat.lua M.finish): 'written', 'restored', or 'insert' / 'busy'."""
        return str(self._lua("finish", bufnr, final, note, restore, again))
