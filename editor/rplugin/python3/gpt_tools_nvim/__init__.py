"""gpt-tools for Neovim: a pynvim remote plugin, a thin adapter over the core library `gpt_tools`.

    :[range]GptRun[!] NAME [-m MODEL] [-i TEXT] [--backend B] [--input-files F...] [--allow-secrets]
                      [--target replace|append|enew|split|popup]
                                  run over the range (default: whole buffer), gpt-filter's arguments;
                                  ! previews (edits mode: a review list)
    :[range]GptChat[!] NAME [--continue | --conversation ID]
                                  a chat buffer (! continues the last conversation); a range goes
                                  into the message being written
    :[range]GptChatAdd [FILE]     the range, the buffer or FILE into the chat's next message
    :GptCancel[!]                 cancel this buffer's run or reply (! every one)
    :GptList                      the assistants of this project
    :GptTrust[!]                  trust the buffer's project (after asking; ! does not ask)
    :checkhealth gpt_tools

Installation and the user-facing contract: editor/README.md and :help gpt-tools.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

import pynvim
from pynvim import Nvim

from . import args as run_args
from . import core, health, trust
from .chat import Chats
from .session import Controller, UserError
from .text import RangeRefused, lines_to_text

COMMAND = re.compile(r"Gpt\w*!?")  # the command's name in a command line being completed


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

    @pynvim.command("GptRun", nargs="?", range="%", bang=True, complete="customlist,GptToolsComplete", sync=True)
    def gpt_run(self, line: list[str], line_range: list[int], bang: bool) -> None:
        raw = line[0] if line else ""
        name = run_args.first_word(raw)
        title = f"GptRun {name}" if name else "GptRun"
        try:
            self.controller.start(run_args.parse(raw), line_range, preview=bang)
        except (UserError, RangeRefused, run_args.ArgsError) as exc:
            self.controller.refuse(name, f"{title}: {exc}")
        except Exception as exc:  # a bug here must not show a traceback or touch the buffer
            self.controller.refuse(name, f"GptRun: internal error ({type(exc).__name__}: {exc}); nothing changed")

    # :GptChat and :GptChatAdd are defined in Lua (editor/lua/gpt_tools/install.lua), which calls these
    # with the range count: a remote command cannot get it. Its first call goes through Neovim's bootstrap,
    # which substitutes the `<range>` of `eval` once, at that first call (every later :'<,'>GptChat
    # then got the first one's count), and forwards that call with an explicit range.
    @pynvim.function("GptToolsChatCommand", sync=True)
    def gpt_chat_command(self, args: list[Any]) -> None:
        """:[range]GptChat[!] {args}: [args, line1, line2, range count (0: none given), bang]."""
        raw, first, last, count, bang = str(args[0]), int(args[1]), int(args[2]), int(args[3]), bool(args[4])
        self.gpt_chat([raw] if raw else [], [first, last], bang, count)

    @pynvim.function("GptToolsChatAddCommand", sync=True)
    def gpt_chat_add_command(self, args: list[Any]) -> None:
        """:[range]GptChatAdd [file]: [args, line1, line2, range count (0: none given)]."""
        raw, first, last, count = str(args[0]), int(args[1]), int(args[2]), int(args[3])
        self.gpt_chat_add([raw] if raw else [], [first, last], count)

    def gpt_chat(self, line: list[str], line_range: list[int], bang: bool, count: int) -> None:
        raw = line[0] if line else ""
        name = run_args.first_word(raw)
        try:
            words = run_args.split(raw)
            if not words:
                raise UserError(f"no assistant named; usage: {self.chats.usage}")
            selection = self._context(line_range) if count else None
            self.chats.open(words, bang, self.controller.cwd(), selection)
        except (UserError, RangeRefused, run_args.ArgsError) as exc:
            self.controller.refuse(name, f"GptChat {name}: {exc}")
        except Exception as exc:  # unknown assistant, unreadable conversation, or a bug: said, never raised
            title = f"GptChat {name}"
            message = f"{title}: {core.describe(exc)[0]}"
            self.controller.refuse(name, core.advice_first(title, core.advice(exc), message))

    def _context(self, line_range: list[int] | None) -> list[str]:
        """The current buffer's lines (a range of them) as a block for a chat message."""
        buffer = self.nvim.current.buffer
        first, last = line_range if line_range is not None else (1, len(buffer))
        lines_to_text(buffer[first - 1 : last], first)  # RangeRefused for binary text, as :GptRun says
        return self.chats.block_of_buffer(buffer, line_range)

    def gpt_chat_add(self, line: list[str], line_range: list[int], count: int) -> None:
        raw = line[0] if line else ""
        try:
            words = run_args.split(raw)
            if len(words) > 1:
                raise UserError("one file at a time (quote a name with spaces)")
            if words:
                self.chats.add_file(words[0], str(self.nvim.funcs.getcwd()))
            else:
                self.chats.add_block(self._context(line_range if count else None))
        except (UserError, RangeRefused, run_args.ArgsError) as exc:
            self.controller.refuse("", f"GptChatAdd: {exc}")
        except Exception as exc:  # a file refused by the core (not a regular file, too large), or a bug
            self.controller.refuse("", f"GptChatAdd: {core.describe(exc)[0]}")

    @pynvim.command("GptTrust", bang=True, sync=True)
    def gpt_trust(self, bang: bool) -> None:
        try:
            message, level = trust.trust_project(self.nvim, self.controller.cwd(), ask=not bang)
        except Exception as exc:
            message, level = f"GptTrust: {core.describe(exc)[0]}", "ERROR"
        self.controller.ui.notify(message, level)

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
            config = core.listing_config(self.controller.cwd())
        except Exception as exc:
            self._error(f"GptList: {core.describe(exc)[0]}")
            return
        # One line each: a project's config (trusted or not) may put a carriage return or a line break
        # in a name or description, which would overwrite the row on screen or start a fake one.
        names = {name: " ".join(name.split()) for name in config.assistants}
        width = max(map(len, names.values()), default=0)
        rows = [
            f"{names[name]:<{width}}  {item.mode:<7}  {' '.join(item.description.split())}  ({item.source})"
            for name, item in sorted(config.assistants.items())
        ]
        self.nvim.api.echo([["\n".join(rows) or "no assistants", ""]], False, {})

    def _names(self, lead: str, writers_only: bool) -> list[str]:
        try:
            assistants = core.listing_config(self.controller.cwd()).assistants
        except Exception:
            return []
        return sorted(
            name
            for name, item in assistants.items()
            if name.lower().startswith(lead.lower()) and not (writers_only and item.rewrites)
        )

    def _complete(self, args: list[Any], writers_only: bool) -> list[str]:
        """customlist completion (ArgLead, CmdLine, CursorPos) of a :GptRun / :GptChat line."""
        line = str(args[1])[: int(args[2])] if len(args) > 2 else str(args[0]) if args else ""
        found = COMMAND.search(line)
        rest = line[found.end() :] if found else line
        lead, option = run_args.completing(rest)
        if option == "--target":
            return [target for target in run_args.TARGETS if target.startswith(lead)]
        if option == "--input-files":  # relative to the buffer's folder, as the run reads them
            folder = os.path.join(self.controller.cwd(), "")
            found = self.nvim.funcs.getcompletion(os.path.join(folder, lead), "file")
            return [str(name).removeprefix(folder) for name in found]
        if option is not None:
            return []
        if lead.startswith("-"):
            options = run_args.OPTIONS if not writers_only else ("--continue", "--conversation")
            return [name for name in options if name.startswith(lead)]
        words = rest.split()
        if len(words) > (0 if rest[-1:].isspace() or not rest else 1):
            return []  # the name is typed already
        return self._names(lead, writers_only)

    @pynvim.function("GptToolsComplete", sync=True)
    def complete(self, args: list[Any]) -> list[str]:
        """customlist completion: assistant names of the current buffer's project, option names and values."""
        return self._complete(args, writers_only=False)

    @pynvim.function("GptToolsCompleteWriters", sync=True)
    def complete_writers(self, args: list[Any]) -> list[str]:
        """customlist completion for :GptChat: the writing assistants only."""
        return self._complete(args, writers_only=True)

    @pynvim.function("GptToolsHealth", sync=True)
    def health(self, args: list[Any]) -> list[list[str]]:
        """[level, message, advice] items for :checkhealth gpt_tools (editor/lua/gpt_tools/health.lua)."""
        return health.check(str(args[0]) if args else self.controller.cwd())

    @pynvim.shutdown_hook
    def shutdown(self) -> None:
        self.controller.shutdown()
        self.chats.shutdown()
