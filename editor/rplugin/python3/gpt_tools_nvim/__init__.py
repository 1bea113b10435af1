"""gpt-tools for Neovim: a pynvim remote plugin, a thin adapter over the core library `gpt_tools`.

    :[range]GptRun[!] {assistant} [extra instructions]   run over the range (default: whole buffer)
    :GptCancel[!]                                        cancel this buffer's run (! every run)
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
from .session import Controller, UserError
from .text import RangeRefused


@pynvim.plugin
class GptTools:
    def __init__(self, nvim: Nvim) -> None:
        self.nvim = nvim
        self.controller = Controller(nvim)
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

    @pynvim.command("GptCancel", bang=True, sync=True)
    def gpt_cancel(self, bang: bool) -> None:
        self.controller.cancel(everywhere=bang)

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

    @pynvim.function("GptToolsComplete", sync=True)
    def complete(self, args: list[Any]) -> list[str]:
        """customlist completion: assistant names of the current buffer's project, by prefix."""
        lead = str(args[0]).lower() if args else ""
        try:
            names = core.load().load_config(self.controller.cwd()).assistants
        except Exception:
            return []
        return sorted(name for name in names if name.lower().startswith(lead))

    @pynvim.function("GptToolsHealth", sync=True)
    def health(self, args: list[Any]) -> list[list[str]]:
        """[level, message, advice] items for :checkhealth gpt_tools (editor/lua/gpt_tools/health.lua)."""
        return health.check(str(args[0]) if args else self.controller.cwd())

    @pynvim.shutdown_hook
    def shutdown(self) -> None:
        self.controller.shutdown()
