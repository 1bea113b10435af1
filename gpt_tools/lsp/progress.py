"""`workDoneProgress` for one run: begin when it starts, report what it waits for, end when it ends.

A run shows progress only once it has taken PROGRESS_DELAY seconds (a result from the cache never
flickers). A cancellable one (given a cancel event) cancels the run when the user cancels it in the
editor. The client's own token is used when a request carried one; otherwise one is created, if the
client said it shows progress (`window.workDoneProgress`). Reports come from the run's worker thread
and are sent from the server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

PROGRESS_DELAY = 0.2  # seconds: a cached check is over long before; a model's reply is not


class Progress:
    def __init__(
        self,
        server: LanguageServer,
        title: str,
        token: types.ProgressToken | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.server = server
        self.cancel = cancel  # set when the user cancels the progress (window/workDoneProgress/cancel)
        self.title = title
        self.token = token
        self.loop = asyncio.get_running_loop()
        self.started = False
        self.latest = ""  # the last report, shown by a begin that comes after it
        self.label = title  # begin's message (what runs on what): every report starts with it

    def _supported(self) -> bool:
        window = self.server.client_capabilities.window
        return bool(window and window.work_done_progress)

    async def begin(self, message: str) -> None:
        if self.token is None:
            if not self._supported():
                return
            self.token = f"gpt-tools-{uuid.uuid4()}"
            try:
                await self.server.work_done_progress.create_async(self.token)
            except Exception:  # a client that refuses the token shows no progress; the run goes on
                self.token = None
                return
        self.started = True
        self.label = message
        if self.latest:  # what the run reported before the progress showed (a retry)
            message = f"{message}: {self.latest}"
        begin = types.WorkDoneProgressBegin(title=self.title, message=message, cancellable=self.cancel is not None)
        self.server.work_done_progress.begin(self.token, begin)
        cancel = self.cancel
        if cancel is not None:  # pygls cancels the token's future on window/workDoneProgress/cancel
            self.server.work_done_progress.tokens[self.token].add_done_callback(lambda _: cancel.set())

    def begin_after(self, delay: float, message: str) -> asyncio.Task[None]:
        """begin(), if the run still goes on after delay seconds: a result from the cache (a re-save)
        shows no progress at all and costs no round trip to the client. Cancel the task when done."""

        async def later() -> None:
            await asyncio.sleep(delay)
            await self.begin(message)

        return asyncio.ensure_future(later())

    def report(self, message: str) -> None:
        """From any thread."""
        self.loop.call_soon_threadsafe(self._report, message)

    def _report(self, message: str) -> None:
        self.latest = message
        if self.started and self.token is not None:
            report = types.WorkDoneProgressReport(message=f"{self.label}: {message}")
            self.server.work_done_progress.report(self.token, report)

    def end(self, message: str) -> None:
        if self.started and self.token is not None:
            self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            tokens: dict[Any, Any] = self.server.work_done_progress.tokens
            with contextlib.suppress(KeyError):
                del tokens[self.token]
        self.started = False
