"""The language server's state and lifecycle: settings, documents' last checks, workspaces, worker threads.

`shutdown` cancels every run in flight (their sockets close: nothing more is billed) and `exit` ends
the process, with status 0 after a shutdown (1 without, as the protocol says); a lost client (end of
stdin, a broken pipe) ends it too, with status 0. A run's failure is told with `window/showMessage`
and never ends the server.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from gpt_tools import Cancelled, GptToolsError, __version__
from gpt_tools.core.session import Session
from gpt_tools.lsp import runs
from gpt_tools.lsp.anchor import Fix
from gpt_tools.lsp.protocol import GptToolsProtocol
from gpt_tools.lsp.settings import LspSettings
from gpt_tools.redact import redact

T = TypeVar("T")
log = logging.getLogger("gpt_tools.lsp")
WORKERS = 8  # threads for runs; the per-workspace limit (settings.jobs) decides how many send at once


@dataclass(kw_only=True)
class Checked:
    """A document's last check: the text and version it was computed for, and its fixes (offsets into text)."""

    version: int | None
    text: str
    fixes: list[Fix]


@dataclass(kw_only=True)
class Workspace:
    session: Session
    limit: asyncio.Semaphore


@dataclass(kw_only=True)
class InFlight:
    text: str
    cancel: threading.Event = field(default_factory=threading.Event)


class GptToolsServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "gpt-tools",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=GptToolsProtocol,
        )
        self.settings = LspSettings()
        self.checked: dict[str, Checked] = {}
        self.saves: dict[str, int] = {}  # uri -> how many saves asked for a check (the debounce's clock)
        self.checking: dict[str, InFlight] = {}
        self.cancels: set[threading.Event] = set()
        self.workspaces: dict[Path, Workspace] = {}
        self.runner = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="gpt-tools-lsp")
        self.shut_down = False
        self.exit_status = 0
        self.client_name = ""
        self.told: set[str] = set()  # messages tell_once() has shown
        self.configured = asyncio.Event()  # set once workspace/configuration was read (or cannot be)

    # -- documents and workspaces

    def document(self, uri: str) -> TextDocument | None:
        """The open document; None for one not open (pygls would read the file from disk: a closed
        document's text, or any file a request names, must never be checked or sent)."""
        document: TextDocument | None = self.workspace.text_documents.get(unquote(uri))  # pygls's keys: unquoted
        return document

    @property
    def encoding(self) -> str:
        return str(self.workspace.position_encoding or types.PositionEncodingKind.Utf16)

    def folders(self) -> list[Path]:
        found = []
        for folder in self.workspace.folders.values():
            path = to_fs_path(folder.uri)
            if path:
                found.append(Path(path))
        return found

    def workspace_for(self, path: Path) -> Workspace:
        """The workspace folder's shared session and limit (created on first use)."""
        root = runs.workspace_of(path, self.folders())
        if root not in self.workspaces:
            jobs = self.settings.jobs
            self.workspaces[root] = Workspace(session=runs.new_session(jobs), limit=asyncio.Semaphore(jobs))
        return self.workspaces[root]

    # -- running in threads, telling the user

    async def in_thread(self, work: Callable[[], T], cancel: threading.Event) -> T:
        """work() in a worker thread; if the awaiting request is cancelled, so is the run (cancel is set)."""
        self.cancels.add(cancel)
        try:
            return await asyncio.get_running_loop().run_in_executor(self.runner, work)
        except asyncio.CancelledError:
            cancel.set()
            raise
        finally:
            self.cancels.discard(cancel)

    def tell(self, error: BaseException, what: str) -> None:
        """A failed run, as a message the user sees; a cancelled one is not a failure."""
        if isinstance(error, Cancelled):
            return
        if isinstance(error, GptToolsError):
            text = f"gpt-tools: {what}: {error}"
        else:
            log.error("%s failed", what, exc_info=error)
            text = f"gpt-tools: {what}: internal error ({type(error).__name__}: {error})"
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=redact(text)))

    def tell_once(self, error: BaseException, what: str) -> None:
        """tell(), once per distinct message: a client may ask for code actions at every cursor move."""
        key = f"{what}: {error}"
        if key not in self.told:
            self.told.add(key)
            self.tell(error, what)

    def is_open(self, uri: str) -> bool:
        return self.document(uri) is not None

    def warn(self, text: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=redact(text)))

    def cancel_all(self) -> None:
        for cancel in list(self.cancels):
            cancel.set()
