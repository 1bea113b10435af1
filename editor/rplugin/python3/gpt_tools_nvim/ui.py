"""What the user sees, through the Lua half of the plugin (editor/lua/gpt_tools/init.lua).

Called on the host's event loop only (never from a worker thread: those use `nvim.async_call`).
"""

from __future__ import annotations

from typing import Any

from pynvim import Nvim

LUA = "return require('gpt_tools')[...](select(2, ...))"


def usage_line(result: Any, seconds: float) -> str:
    """Tokens and time of a finished run, for the success message."""
    usage = result.usage
    return f"{usage.input_tokens:,} in + {usage.output_tokens:,} out tokens, {seconds:.1f} s"


def completion(status: str, seconds: float, result: Any, **fields: Any) -> dict[str, Any]:
    """What g:gpt_tools_last holds when a run or a chat reply ends (tests and users wait on it)."""
    info: dict[str, Any] = {"status": status, **fields, "seconds": round(seconds, 3)}
    if result is not None:
        info.update(input_tokens=result.usage.input_tokens, output_tokens=result.usage.output_tokens)
    return info


class Ui:
    def __init__(self, nvim: Nvim) -> None:
        self.nvim = nvim

    def _lua(self, function: str, *args: Any) -> Any:
        return self.nvim.exec_lua(LUA, function, *args)

    def notify(self, message: str, level: str = "INFO") -> None:
        """A message through `vim.notify` (so nvim-notify, fidget and the like show it)."""
        self._lua("notify", message, level)

    def progress(self, message: str) -> None:
        """A transient status line: echoed without history, and kept in g:gpt_tools_status."""
        self._lua("progress", message)

    def done(self, info: dict[str, Any], message: str, level: str) -> None:
        """Tell the user, set g:gpt_tools_last = info, then fire `User GptToolsDone`."""
        self._lua("done", info, message, level)

    def offer(self, bufnr: int, lines: list[str], name: str, base: list[str]) -> str:
        """Open lines (the result applied to base, bufnr's text when the run started) in a scratch split,
        diffed against buffer bufnr when it still exists; edits made to bufnr since, away from the
        result's lines, are kept in the split (so `a` does not undo them). 'shown', or 'busy' (the
        command-line window is open: nothing done)."""
        return str(self._lua("offer", bufnr, lines, name, base))

    def show(self, target: str, lines: list[str], name: str, filetype: str) -> str:
        """Open lines at target (enew, split, popup): 'shown', or 'insert' / 'busy' (nothing done)."""
        return str(self._lua("show", target, lines, name, filetype))

    def apply(self, bufnr: int, tick: int, first: int, last: int, lines: list[str]) -> str:
        """Replace lines [first, last) of bufnr if changedtick is still tick and the user is not typing.

        'applied', or: 'insert' (Insert/Replace mode: nothing done), 'busy' (Neovim waits for a key),
        'changed' (changedtick moved). Raises NvimError when Neovim refuses (E565: text locked).
        """
        return str(self._lua("apply", bufnr, tick, first, last, lines))

    def apply_edits(self, bufnr: int, tick: int, first: int, changes: list[dict[str, Any]]) -> str:
        """Like `apply`, for an edits-mode result: each change one nvim_buf_set_text (rows relative to
        line first, byte columns), last to first, all in one call: one undo step."""
        return str(self._lua("apply_edits", bufnr, tick, first, changes))

    def review(self, bufnr: int, tick: int, first: int, changes: list[dict[str, Any]], name: str, title: str) -> bool:
        """The review list of :GptRun! in edits mode (editor/lua/gpt_tools/review.lua); False when it
        cannot open now (the command-line window is open: nothing done)."""
        return bool(self._lua("review", bufnr, tick, first, changes, name, title) != "busy")

    def history(self, lines: list[str], level: str) -> None:
        """Each line in the message history (:messages), in full."""
        self._lua("history", lines, level)

    def defer(self, job_id: int) -> int | None:
        """A one-shot InsertLeave autocommand calling GptToolsResume(job_id): its id, or None if impossible."""
        waiting = self._lua("defer", job_id)
        return None if waiting is None else int(waiting)

    def forget(self, waiting: int) -> None:
        """Delete the autocommand `defer` created (nothing if it already ran)."""
        self._lua("forget", waiting)

    def set_pending(self, count: int) -> None:
        self.nvim.vars["gpt_tools_pending"] = count
