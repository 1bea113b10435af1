"""`:GptChat`: a conversation with a writing assistant in a scratch buffer, the replies streamed in.

The editor is never blocked. `send` takes the message from the buffer, starts a worker thread and
returns. The worker calls the core, `gpt_tools.run(..., conversation=...)`, which chains the turn on
the previous one (or resends the history, per backend) and saves the conversation when the turn
succeeds. Deltas are collected in the worker and written in batches, at most every FLUSH_EVERY
seconds, through `nvim.async_call`, so a fast stream does not flood the UI. A cancelled or failed
turn does not advance the conversation: its partial text stays in the buffer, marked, and the
message goes back into the prompt area if that is empty.

The worker gets a copy of the conversation, adopted only when the turn succeeds and was not
cancelled: a reply that completes just as it is cancelled does not advance what the buffer shows
and the next turn chains on.

Buffer layout, undo and Insert mode: editor/lua/gpt_tools/chat.lua.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pynvim import Nvim
from pynvim.api import NvimError

from . import core
from .chatview import HELD, ChatView, block, file_block, reply_lines, transcript
from .jobs import read_attachment
from .session import UserError
from .ui import Ui, completion, usage_line

FLUSH_EVERY = 0.05  # seconds between two writes of streamed text
PROGRESS_EVERY = 1.0
RETRY_WAIT = 0.2  # a write Neovim refused (busy, text-locked) is tried again after this
HELD_WAIT = 1.0  # a write held back during Insert mode is tried again after this (or on InsertLeave)
ERRORS_ALLOWED = 25  # text-locked writes (E565) in a row before the reply is given up
AGAIN = " Your message is back below: <CR> sends it again."
USAGE = ":[range]GptChat[!] NAME [--continue | --conversation ID]"


@dataclass
class TurnEnd:
    """How a chat turn ended: its result and conversation, or its error."""

    result: Any = None  # gpt_tools.Result on success
    conversation: Any = None  # the conversation with the turn added, on success
    error: str = ""
    cancelled: bool = False
    advice: str | None = None  # the error's fix on its own, shown first


@dataclass
class Reply:
    message: list[str]  # the user's message, as sent (put back if the turn fails)
    started: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: list[str] = field(default_factory=list)  # streamed, not written yet
    shown: str = ""  # written so far
    received: int = 0
    queued: bool = False  # a flush is on its way to the loop
    held: bool = False  # a write waits for the user to leave Insert mode
    errors: int = 0
    outcome: TurnEnd | None = None  # set on the loop once the turn ended (or was cancelled)

    def add(self, delta: str) -> None:
        with self.lock:
            self.pending.append(delta)
            self.received += len(delta)

    def take(self) -> str:
        with self.lock:
            text = "".join(self.pending)
            self.pending.clear()
            return text

    def give_back(self, text: str) -> None:
        with self.lock:
            self.pending.insert(0, text)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Chat:
    bufnr: int
    assistant: str
    cwd: str
    conversation: Any  # gpt_tools.Conversation, as the buffer shows it
    reply: Reply | None = None  # the reply in flight: one per chat

    @property
    def title(self) -> str:
        return f"GptChat {self.assistant}"


def parse(args: list[str], bang: bool) -> tuple[str, bool, str | None]:
    """(assistant, continue the last conversation?, conversation ID) from the command's arguments."""
    rest = list(args[1:])
    continue_last, conversation_id = bang, None
    while rest:
        arg = rest.pop(0)
        if arg == "--continue":
            continue_last = True
        elif arg == "--conversation" and rest:
            conversation_id = rest.pop(0)
        else:
            raise UserError(f"unexpected {arg!r}; usage: {USAGE}")
    return args[0], continue_last, conversation_id


class Chats:
    def __init__(self, nvim: Nvim, ui: Ui, count: Callable[[int], None]) -> None:
        self.nvim = nvim
        self.ui = ui
        self.view = ChatView(nvim)
        self.count = count  # the shared g:gpt_tools_pending counter of worker threads
        self.chats: dict[int, Chat] = {}
        self.last: int | None = None  # the chat buffer last opened or shown: where :GptChatAdd adds
        self.usage = USAGE

    def owns(self, bufnr: int) -> bool:
        return bufnr in self.chats

    # ------------------------------------------------------------------------------ text into a chat

    def block_of_buffer(self, buffer: Any, line_range: list[int] | None) -> list[str]:
        """The buffer (or lines line_range of it) as a block for the next message."""
        if buffer.number in self.chats:
            raise UserError("this is a chat buffer; name a file (:GptChatAdd FILE), or add from another buffer")
        # As :ls names it (relative to Neovim's folder, ~ for home): the message need not carry full paths.
        label = str(self.nvim.funcs.fnamemodify(buffer.name, ":~:.")) if buffer.name else f"buffer {buffer.number}"
        if line_range is None:
            lines, title = list(buffer[:]), label
        else:
            first, last = line_range
            lines, title = list(buffer[first - 1 : last]), f"{label} lines {first}-{last}"
        return block(title, str(buffer.options["filetype"]), lines)

    def add_file(self, name: str, folder: str) -> None:
        """:GptChatAdd FILE: the file's text (UTF-8 only) into the next message."""
        attached = read_attachment(core.load(), name, folder, what="")
        if attached.data is not None or "\0" in attached.text:  # a NUL: binary, as :GptRun refuses it
            raise UserError(f"{name} is not UTF-8 text; only text goes into a chat message")
        self.add_block(file_block(name, attached.text))

    def add_block(self, lines: list[str]) -> None:
        """lines into the next message of the chat here, else of the chat last opened."""
        bufnr = self.nvim.current.buffer.number
        target = bufnr if bufnr in self.chats else self.last
        if target is None or target not in self.chats or not self.view.alive(target):
            raise UserError("no chat is open; :GptChat NAME opens one (:'<,'>GptChat NAME with the selection)")
        self.view.add(target, lines)
        self.last = target
        self.ui.notify(f"{self.chats[target].title}: added to your next message; <CR> sends it", "INFO")

    # ------------------------------------------------------------------------------ commands

    def open(self, args: list[str], bang: bool, cwd: str, selection: list[str] | None = None) -> None:
        name, continue_last, conversation_id = parse(args, bang)
        gpt = core.load()
        config = gpt.load_config(cwd)
        assistant = config.assistant(name)
        if assistant.rewrites:
            raise UserError(f"{assistant.name} rewrites documents; chat with a writing assistant (:GptRun rewrites)")
        conversations = gpt.conversation
        root = conversations.project_for(config.project_root, Path(cwd))
        talk = conversations.resume(
            assistant.name, root, continue_last=continue_last, conversation_id=conversation_id
        ) or conversations.new(assistant.name, root)
        shown = (chat.bufnr for chat in self.chats.values() if chat.conversation.id == talk.id)
        bufnr = next((number for number in shown if self.view.alive(number)), None)
        if bufnr is not None:
            self.view.show(bufnr)  # already open: go there (its reply may be in flight)
        else:
            lines = transcript(assistant.name, talk.id, talk.messages)
            bufnr = self.view.open(f"gpt-chat://{assistant.name}/{talk.id}", lines)
            self.chats[bufnr] = Chat(bufnr, assistant.name, cwd, talk)
        self.last = bufnr
        if selection is not None:
            self.add_block(selection)

    def send(self) -> None:
        """<CR> in a chat buffer: send the message written since the last reply."""
        chat = self.chats.get(self.nvim.current.buffer.number)
        if chat is None:
            self.ui.notify("GptChat: this is not a chat buffer (:GptChat {assistant} opens one)", "WARN")
            return
        if chat.reply is not None:
            self.ui.notify(f"{chat.title}: a reply is still streaming; wait for it, or :GptCancel stops it", "WARN")
            return
        message = self.view.send(chat.bufnr, chat.assistant)
        if message is None:
            self.ui.notify(f"{chat.title}: nothing to send; write your message below the last reply", "WARN")
            return
        reply = chat.reply = Reply(message)
        self.count(+1)
        talk = copy.deepcopy(chat.conversation)
        name = f"gpt-tools-chat-{chat.bufnr}"
        work = (chat, reply, "\n".join(message), talk)
        threading.Thread(target=self._work, args=work, name=name, daemon=True).start()
        threading.Thread(target=self._tick, args=(chat, reply), name=f"{name}-tick", daemon=True).start()
        self.ui.progress(f"{chat.title}…")

    def cancel(self, bufnr: int | None) -> int:
        """Cancel the reply in flight in chat bufnr (None: in every chat); how many were cancelled.

        A reply whose turn already ended (its display waiting for the end of Insert mode) is not
        cancelled: the core has saved that turn, so it is shown as it is.
        """
        chats = [chat for chat in self.chats.values() if bufnr is None or chat.bufnr == bufnr]
        cancelled = 0
        for chat in chats:
            reply = chat.reply
            if reply is None or reply.outcome is not None:
                continue
            reply.cancel.set()  # the core stops at its next check; its outcome is then dropped
            reply.outcome = TurnEnd(error="cancelled", cancelled=True)
            cancelled += 1
            self._flush(chat, reply)
        return cancelled

    def resume(self, bufnr: int) -> None:
        """InsertLeave after a write was held back: write now."""
        chat = self.chats.get(bufnr)
        if chat is not None and chat.reply is not None:
            chat.reply.held = False
            self._flush(chat, chat.reply)

    def closed(self, bufnr: int) -> None:
        """The chat buffer was unloaded or wiped: forget it; a reply in flight is cancelled."""
        chat = self.chats.pop(bufnr, None)
        reply = chat.reply if chat is not None else None
        if chat is None or reply is None:
            return
        chat.reply = None
        reply.cancel.set()
        if reply.outcome is not None and reply.outcome.result is not None:
            message = f"{chat.title}: the chat was closed before the reply was shown; it is saved (:GptChat! shows it)"
            self._report(chat, reply, "ok", message, "INFO", reply.outcome.result)
        else:
            self._report(chat, reply, "cancelled", f"{chat.title}: the chat was closed; reply cancelled", "WARN")

    def shutdown(self) -> None:
        for chat in self.chats.values():
            if chat.reply is not None:
                chat.reply.cancel.set()

    # ------------------------------------------------------------------------------ worker threads

    def _work(self, chat: Chat, reply: Reply, text: str, talk: Any) -> None:
        outcome = TurnEnd()

        def on_retry(notice: Any) -> None:
            message = f"{chat.title}: retry {notice.attempt}/{notice.max_retries} in {notice.wait:.0f} s"
            self.nvim.async_call(self._warn_if_current, chat, reply, f"{message} ({notice.reason})")

        try:
            outcome.result = core.load().run(
                chat.assistant,
                text,
                conversation=talk,
                on_delta=reply.add,
                on_retry=on_retry,
                cancel=reply.cancel,
                cwd=chat.cwd,
                frontend="nvim",
            )
            outcome.conversation = talk
        except BaseException as exc:  # every failure must reach the user
            outcome.error, outcome.cancelled = core.describe(exc)
            outcome.advice = core.advice(exc)
        finally:
            reply.done.set()
            self.nvim.async_call(self._finish, chat, reply, outcome)

    def _tick(self, chat: Chat, reply: Reply) -> None:
        """Batches: a flush every FLUSH_EVERY seconds while text is pending; progress every second."""
        progress = time.monotonic()
        while not reply.done.wait(FLUSH_EVERY) and not reply.cancel.is_set():
            self._schedule(chat, reply)
            if time.monotonic() - progress >= PROGRESS_EVERY:
                progress = time.monotonic()
                self.nvim.async_call(self._progress, chat, reply)

    def _schedule(self, chat: Chat, reply: Reply, wait: float = 0.0) -> None:
        """A flush on the loop (after wait seconds), unless one is on its way already."""
        with reply.lock:
            if reply.queued or (not wait and (reply.held or not reply.pending)):
                return
            reply.queued = True
        if not wait:
            self.nvim.async_call(self._flush, chat, reply)
            return
        timer = threading.Timer(wait, self.nvim.async_call, (self._flush, chat, reply))
        timer.daemon = True
        timer.start()

    # ------------------------------------------------------------------------------ back on the loop

    def _warn_if_current(self, chat: Chat, reply: Reply, message: str) -> None:
        if chat.reply is reply:
            self.ui.notify(message, "WARN")

    def _progress(self, chat: Chat, reply: Reply) -> None:
        if chat.reply is reply and reply.outcome is None:
            streamed = f", {reply.received:,} characters" if reply.received else ""
            self.ui.progress(f"{chat.title}: {reply.elapsed():.0f} s{streamed}")

    def _finish(self, chat: Chat, reply: Reply, outcome: TurnEnd) -> None:
        self.count(-1)
        if chat.reply is reply and reply.outcome is None:  # else: cancelled, or the chat was closed
            reply.outcome = outcome
            self._flush(chat, reply)

    def _flush(self, chat: Chat, reply: Reply) -> None:
        """Write the pending text; once the turn has ended, finish the reply and report it."""
        with reply.lock:
            reply.queued = False
        if chat.reply is not reply:
            return
        if not self.view.alive(chat.bufnr):
            self.closed(chat.bufnr)
            return
        text = reply.take()
        if text:
            if self._write(chat, reply, lambda: self.view.append(chat.bufnr, text)) is None:
                reply.give_back(text)
                return
            reply.shown += text
        if reply.outcome is not None:
            self._complete(chat, reply, reply.outcome)

    def _write(self, chat: Chat, reply: Reply, write: Callable[[], str]) -> str | None:
        """The state of a buffer write, or None when it must wait (it is then tried again)."""
        try:
            state = write()
        except NvimError as exc:  # E565: text locked for a moment (the command-line window): try again
            reply.errors += 1
            if "E565" not in str(exc) or reply.errors > ERRORS_ALLOWED:
                chat.reply = None
                reply.cancel.set()
                message = f"{chat.title}: the reply could not be written to the chat buffer ({exc})"
                self._report(chat, reply, "error", message, "ERROR")
                return None
            state = "busy"
        if state not in HELD:
            reply.errors = 0
            return state
        if state == "insert":  # chat.lua calls back (resume) on InsertLeave; i_CTRL-C fires no event, so
            reply.held = True  # look again now and then too
        self._schedule(chat, reply, HELD_WAIT if state == "insert" else RETRY_WAIT)
        return None

    def _complete(self, chat: Chat, reply: Reply, outcome: TurnEnd) -> None:
        result = outcome.result
        if result is not None:
            final = reply_lines(result.text)
            # The text the conversation keeps, in place of the streamed one (as the buffer has it) if they differ.
            changed = final if final != reply.shown.split("\n") else None
            if self._write(chat, reply, lambda: self.view.finish(chat.bufnr, changed, None, None)) is None:
                return
            chat.reply, chat.conversation = None, outcome.conversation
            self._report(
                chat, reply, "ok", f"{chat.title}: reply done ({usage_line(result, reply.elapsed())})", "INFO", result
            )
            return
        what = "cancelled" if outcome.cancelled else f"error: {outcome.error}"
        note = f"> **{what}**. This reply is not part of the conversation."
        state = self._write(chat, reply, lambda: self.view.finish(chat.bufnr, None, note, reply.message, AGAIN))
        if state is None:
            return
        chat.reply = None
        kept = "your message is back in the prompt" if state == "restored" else "your message stays in the buffer"
        if outcome.cancelled:
            message = f"{chat.title}: reply cancelled; the conversation was not advanced; {kept}"
            self._report(chat, reply, "cancelled", message, "WARN")
        else:
            message = f"{chat.title} failed: {outcome.error}; the conversation was not advanced; {kept}"
            self._report(chat, reply, "error", core.advice_first(chat.title, outcome.advice, message), "ERROR")

    def _report(self, chat: Chat, reply: Reply, status: str, message: str, level: str, result: Any = None) -> None:
        """g:gpt_tools_last, then `User GptToolsDone`, as for :GptRun."""
        info = completion(
            status,
            reply.elapsed(),
            result,
            buffer=chat.bufnr,
            assistant=chat.assistant,
            conversation=chat.conversation.id,
            message=message,
        )
        self.ui.done(info, message, level)
