"""The protocol's messages, wired to what answers them; `serve()` runs the server over stdio."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, BinaryIO

from lsprotocol import types

from gpt_tools.lsp import actions, documents, newdoc
from gpt_tools.lsp.server import GptToolsServer
from gpt_tools.lsp.settings import SECTION, read_settings

KINDS = [types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite, actions.WRITE_KIND]
CONFIGURATION_WAIT = 5.0  # seconds for workspace/configuration's answer: checks wait for it, not forever
_tasks: set[asyncio.Task[None]] = set()  # checks in flight: a task nobody holds may be collected


def _spawn(server: GptToolsServer, work: Coroutine[Any, Any, None], what: str) -> None:
    """Run work on the event loop; a failure is told to the user, never left in an unread task."""

    async def guarded() -> None:
        try:
            await work
        except Exception as error:
            server.tell(error, what)

    task = asyncio.ensure_future(guarded())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def _lifecycle(server: GptToolsServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: GptToolsServer, params: types.InitializeParams) -> None:
        ls.client_name = params.client_info.name if params.client_info else ""
        ls.settings = read_settings(params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: GptToolsServer, params: types.InitializedParams) -> None:
        if ls.settings.problems:
            ls.warn("gpt-tools: " + "; ".join(ls.settings.problems))
        try:
            await _configure(ls)
        finally:
            ls.configured.set()  # documents opened meanwhile are checked (or not) by these settings

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def changed(ls: GptToolsServer, params: types.DidChangeConfigurationParams) -> None:
        if not await _configure(ls) and params.settings is not None:
            ls.settings = read_settings(params.settings, ls.settings)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: GptToolsServer, params: Any) -> None:
        ls.shut_down = True
        ls.cancel_all()

    @server.feature(types.EXIT)
    def exit_(ls: GptToolsServer, params: Any) -> None:
        ls.exit_status = 0 if ls.shut_down else 1
        ls.cancel_all()


async def _configure(ls: GptToolsServer) -> bool:
    """The `gpt-tools` section of workspace/configuration, over initializationOptions; False if not asked."""
    workspace = ls.client_capabilities.workspace
    if not (workspace and workspace.configuration):
        return False
    try:
        found = await asyncio.wait_for(
            ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
            ),
            CONFIGURATION_WAIT,
        )
    except Exception:  # a client that cannot answer (or never does) keeps the settings it gave at initialize
        return False
    if found and found[0] is not None:
        ls.settings = read_settings(found[0], ls.settings)
        if ls.settings.problems:
            ls.warn("gpt-tools: " + "; ".join(ls.settings.problems))
    return True


def _documents(server: GptToolsServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def opened(ls: GptToolsServer, params: types.DidOpenTextDocumentParams) -> None:
        _spawn(ls, documents.check(ls, params.text_document.uri, "open"), "check")

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def saved(ls: GptToolsServer, params: types.DidSaveTextDocumentParams) -> None:
        _spawn(ls, documents.check(ls, params.text_document.uri, "save"), "check")

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def closed(ls: GptToolsServer, params: types.DidCloseTextDocumentParams) -> None:
        documents.forget(ls, params.text_document.uri)

    options = types.DiagnosticOptions(
        identifier="gpt-tools", inter_file_dependencies=False, workspace_diagnostics=False
    )

    @server.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, options)
    def pulled(ls: GptToolsServer, params: types.DocumentDiagnosticParams) -> types.RelatedFullDocumentDiagnosticReport:
        return documents.pull(ls, params)


def _actions(server: GptToolsServer) -> None:
    options = types.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=True)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, options)
    def listed(ls: GptToolsServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return actions.code_actions(ls, params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve(ls: GptToolsServer, action: types.CodeAction) -> types.CodeAction:
        if isinstance(action.data, dict) and action.edit is None:
            action.edit = await actions.run_action(ls, action.data, None)
        return action

    @server.command(actions.COMMAND)
    async def command(ls: GptToolsServer, *arguments: Any) -> None:
        data = arguments[0] if arguments and isinstance(arguments[0], dict) else None
        if data is None:
            ls.warn(f"gpt-tools: {actions.COMMAND} needs the action's data as its argument")
            return
        edit = await actions.run_action(ls, data, None)
        if edit is not None:
            answer = await ls.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label=str(data.get("assistant")))
            )
            created = newdoc.created_uri(edit)
            if created is not None:
                await _show_created(ls, created, answer.applied)


async def _show_created(ls: GptToolsServer, uri: str, applied: bool) -> None:
    """The new document shown in the editor; if the client refused the edit, the user is told."""
    if not applied:
        ls.warn(
            f"gpt-tools: the editor did not create {uri} (a file of that name may exist now); choose the action again"
        )
    elif newdoc.shows(ls):
        await ls.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True))


def build() -> GptToolsServer:
    server = GptToolsServer()
    _lifecycle(server)
    _documents(server)
    _actions(server)
    return server


def serve(stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """Serve one client over stdin/stdout until exit or a lost client; the exit status."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    sys.stdout = sys.stderr  # the protocol owns stdout: a stray print must not corrupt a message
    server = build()
    try:
        server.start_io(stdin, stdout)
    finally:
        server.cancel_all()  # runs still in flight close their sockets; their threads end soon after
        server.runner.shutdown(wait=False, cancel_futures=True)
    return server.exit_status
