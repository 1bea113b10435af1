"""Where the server's protocol differs from pygls's own (LanguageServerProtocol), and why.

- `textDocument/didChange`: a ranged change is placed by positions.py's line rule (`\\n`, `\\r\\n`,
  `\\r` end a line, nothing else). pygls places it by `str.splitlines()`, which also ends a line at
  U+2028, U+0085, a form feed and more, so a change after such a character landed on the wrong line
  and the server's text (and every edit computed on it) went out of step with the editor's. A
  position past a line's end is clamped to that end (pygls put it one character before).
- `workspace/executeCommand` runs the command's handler as the request's own task, so
  `$/cancelRequest` cancels it: pygls runs it as a step of a generator whose cancelled request left
  the handler (and its model request) running.
- A request before `initialize` is answered ServerNotInitialized and a notification is dropped, as
  the protocol asks (pygls failed both with an internal error: a traceback, an error message shown).
"""

from __future__ import annotations

import inspect
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcServerNotInitialized
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from gpt_tools.lsp.positions import Positions

_BEFORE_INITIALIZE = {types.INITIALIZE, types.EXIT, types.SHUTDOWN}


def apply_change(text: str, change: types.TextDocumentContentChangeEvent, encoding: str) -> str:
    """text with one didChange content change applied (a change without a range replaces it all)."""
    if not isinstance(change, types.TextDocumentContentChangePartial):
        return change.text
    where = Positions(text, encoding)
    start, end = where.offset(change.range.start), where.offset(change.range.end)
    if end < start:  # a reversed range: the span between its ends
        start, end = end, start
    return text[:start] + change.text + text[end:]


class GptToolsProtocol(LanguageServerProtocol):
    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        document = self.workspace.text_documents.get(unquote(params.text_document.uri))  # pygls's keys
        if document is None:
            return  # a change of a document never opened: nothing to keep in step
        encoding = str(self.workspace.position_encoding or types.PositionEncodingKind.Utf16)
        text = document.source
        for change in params.content_changes:
            text = apply_change(text, change, encoding)
        document.apply_change(types.TextDocumentContentChangeWholeDocument(text=text))
        document.version = params.text_document.version

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    async def lsp_workspace__execute_command(  # type: ignore[override]  # a coroutine: its own cancellable task
        self, params: types.ExecuteCommandParams
    ) -> Any:
        handler = self.fm.commands.get(params.command)
        if handler is None:
            raise JsonRpcInvalidParams.of(ValueError(f"Command name {params.command!r} is not defined"))
        result = handler(*(params.arguments or []))  # the server's commands take their arguments as *args
        return await result if inspect.isawaitable(result) else result

    def handle_message(self, message: Any) -> None:
        method = getattr(message, "method", None)
        if method is not None and method not in _BEFORE_INITIALIZE and self._workspace is None:  # initialize makes it
            if getattr(message, "id", None) is not None:
                self._send_response(message.id, error=JsonRpcServerNotInitialized().to_response_error())
            return  # a notification is dropped, as the protocol says (pygls failed it with an error message)
        super().handle_message(message)
