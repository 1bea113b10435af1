"""gpt-tools for Neovim: a pynvim remote plugin, a thin adapter over the core library `gpt_tools`.

    :[range]GptRun[!] {assistant} [extra instructions]   run over the range (default: whole buffer);
                                                         ! previews (edits mode: a review list)
    :GptChat[!] {assistant} [--continue | --conversation ID]
                                                         a chat buffer (! continues the last conversation)
    :GptCancel[!]                                        cancel this buffer's run or reply (! every one)
    :GptList                                             the assistants of this project
    :checkhealth gpt_tools

Installation and the user-facing contract: editor/README.md.
"""

from __future__ import annotations

import threading
from typing import Any

import pynvim
from pynvim import Nvim

from . import core, health
from .chat import Chats
from .session import Controller, UserError
from .text import RangeRefused


@pynvim.plugin
class GptTools:
    def __init__(self, nvim: Nvim) -> None:
        self.nvim = nvim
        self.controller = Controller(nvim)
        self.chats = Chats(nvim, self.controller.ui, self.controller.count)
        # Import the core in the background as the host starts, so the first run does not wait for it.
        threading.Thread(target=core.preload, name="gpt-tools-import", daemon=True).start()

    def _error(self, message: str) -> None:
        self.controller.ui.notify(message, "ERROR")

    @pynvim.command("GptRun", nargs="+", range="%", bang=True, complete="customlist,GptToolsComplete", sync=True)
    def gpt_run(self, args: list[str], line_range: list[int], bang: bool) -> None:
        try:
            self.controller.start(args, line_range, preview=bang)
        except (UserError, RangeRefused) as exc:
            self.controller.refuse(args[0], f"GptRun {args[0]}: {exc}")
        except Exception as exc:  # a bug here must not show a traceback or touch the buffer
            self.controller.refuse(args[0], f"GptRun: internal error ({type(exc).__name__}: {exc}); nothing changed")

    @pynvim.command("GptChat", nargs="+", bang=True, complete="customlist,GptToolsCompleteWriters", sync=True)
    def gpt_chat(self, args: list[str], bang: bool) -> None:
        try:
            self.chats.open(args, bang, self.controller.cwd())
        except UserError as exc:
            self.controller.refuse(args[0], f"GptChat {args[0]}: {exc}")
        except Exception as exc:  # unknown assistant, unreadable conversation, or a bug: said, never raised
            self.controller.refuse(args[0], f"GptChat {args[0]}: {core.describe(exc)[0]}")

    @pynvim.function("GptToolsChatSend", sync=True)
    def chat_send(self, args: list[Any]) -> None:
        """<CR> in a chat buffer."""
        try:
            self.chats.send()
        except Exception as exc:
            self._error(f"GptChat: internal error ({type(exc).__name__}: {exc})")

    @pynvim.function("GptToolsChatFlush", sync=False)
    def chat_flush(self, args: list[Any]) -> None:
        """Called on InsertLeave when a chat write was held back during Insert mode."""
        self.chats.resume(int(args[0]))

    @pynvim.function("GptToolsChatClosed", sync=False)
    def chat_closed(self, args: list[Any]) -> None:
        """Called when a chat buffer is unloaded."""
        self.chats.closed(int(args[0]))

    @pynvim.command("GptCancel", bang=True, sync=True)
    def gpt_cancel(self, bang: bool) -> None:
        bufnr = self.nvim.current.buffer.number
        if bang:
            if not self.chats.cancel(None) + self.controller.cancel(everywhere=True, quiet=True):
                self.controller.ui.notify("no GptRun or GptChat reply in flight", "WARN")
        elif self.chats.owns(bufnr):
            if not self.chats.cancel(bufnr) + self.controller.cancel(everywhere=False, quiet=True):
                self.controller.ui.notify("no GptChat reply in flight in this chat", "WARN")
        else:
            self.controller.cancel(everywhere=False)

    @pynvim.function("GptToolsResume", sync=False)
    def resume(self, args: list[Any]) -> None:
        """Called by the InsertLeave autocommand of a result held back during Insert mode."""
        self.controller.resume(int(args[0]))

    @pynvim.command("GptList", sync=True)
    def gpt_list(self) -> None:
        try:
            config = core.load().load_config(self.controller.cwd())
        except Exception as exc:
            self._error(f"GptList: {core.describe(exc)[0]}")
            return
        width = max(map(len, config.assistants), default=0)
        rows = [
            f"{name:<{width}}  {item.mode:<7}  {item.description}  ({item.source})"
            for name, item in sorted(config.assistants.items())
        ]
        self.nvim.api.echo([["\n".join(rows) or "no assistants", ""]], False, {})

    def _names(self, args: list[Any], writers_only: bool) -> list[str]:
        lead = str(args[0]).lower() if args else ""
        try:
            assistants = core.load().load_config(self.controller.cwd()).assistants
        except Exception:
            return []
        return sorted(
            name
            for name, item in assistants.items()
            if name.lower().startswith(lead) and not (writers_only and item.rewrites)
        )

    @pynvim.function("GptToolsComplete", sync=True)
    def complete(self, args: list[Any]) -> list[str]:
        """customlist completion: assistant names of the current buffer's project, by prefix."""
        return self._names(args, writers_only=False)

    @pynvim.function("GptToolsCompleteWriters", sync=True)
    def complete_writers(self, args: list[Any]) -> list[str]:
        """customlist completion for :GptChat: the writing assistants only."""
        return self._names(args, writers_only=True)

    @pynvim.function("GptToolsHealth", sync=True)
    def health(self, args: list[Any]) -> list[list[str]]:
        """[level, message, advice] items for :checkhealth gpt_tools (editor/lua/gpt_tools/health.lua)."""
        return health.check(str(args[0]) if args else self.controller.cwd())

    @pynvim.shutdown_hook
    def shutdown(self) -> None:
        self.controller.shutdown()
        self.chats.shutdown()
