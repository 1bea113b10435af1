"""Diagnostics: when a document is checked, and how its results reach the client.

A document is checked on open and on save (settings.check), never on a change: each check costs
money. A save of the text last checked shows its diagnostics again at once, then confirms them with a
check (answered by the result cache, no request; shown again only if they differ: the config changed).
Saves closer together than settings.debounceMs start one check. A save while a check of the
same text is in flight starts none; a save of another text cancels the older check (its socket is
closed) and checks the new one. Results are kept per document with the text they were computed for,
and re-anchored onto the text the document has when they are shown (anchor.py): pushed with
`textDocument/publishDiagnostics`, or, for a client that pulls (`textDocument/diagnostic`) and can be
told to pull again, by `workspace/diagnostic/refresh`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from lsprotocol import types
from pygls.uris import to_fs_path

from gpt_tools.lsp import runs
from gpt_tools.lsp.anchor import Fix, reanchor
from gpt_tools.lsp.diagnostics import diagnostics
from gpt_tools.lsp.progress import PROGRESS_DELAY, Progress
from gpt_tools.lsp.server import Checked, GptToolsServer, InFlight
from gpt_tools.state import paths


def file_path(uri: str) -> Path | None:
    """The file behind a file: URI; None for an untitled or remote document (it has no project): a
    file URI naming another host (file://server/share/a.md) is remote, though pygls makes a path of it."""
    if not uri.startswith("file:") or urlsplit(uri).netloc not in ("", "localhost"):
        return None
    path = to_fs_path(uri)
    return Path(path) if path else None


def wanted(server: GptToolsServer, uri: str) -> Path | None:
    """The document's file when the settings say it is checked."""
    path = file_path(uri)
    if path is None:
        return None
    document = server.document(uri)
    if document is None or not server.settings.wants(str(path), document.language_id):
        return None
    return path if _inside_its_project(server, path) else None


def _inside_its_project(server: GptToolsServer, path: Path) -> bool:
    """Whether the file is where it says: a document that is (or lies under) a symbolic link leading out
    of its project (a cloned repository's notes.md -> ~/.aws/credentials) is never checked by itself,
    as a project's own files are trusted only for where they lead. Choosing an assistant still runs."""
    root = paths.project_root(None, path.parent).resolve()
    real = path.resolve()
    if real.is_relative_to(root):
        return True
    text = (
        f"gpt-tools: {path.name} leads outside its project {root} (to {real}): not checked on open or save; "
        "open the file where it is to have it checked"
    )
    if text not in server.told:
        server.told.add(text)
        server.warn(text)
    return False


def current_fixes(server: GptToolsServer, uri: str) -> tuple[int | None, str, list[Fix]]:
    """(version, text, fixes) of the document as it is now: the last check's fixes re-anchored onto it."""
    document = server.document(uri)
    if document is None:
        return None, "", []
    checked = server.checked.get(uri)
    if checked is None:
        return document.version, document.source, []
    return document.version, document.source, reanchor(checked.fixes, checked.text, document.source)


def _pulls(server: GptToolsServer) -> bool:
    """A client that pulls diagnostics and can be told to pull again gets no pushed ones."""
    capabilities = server.client_capabilities
    pulls = capabilities.text_document is not None and capabilities.text_document.diagnostic is not None
    workspace = capabilities.workspace
    refresh = workspace is not None and workspace.diagnostics is not None and workspace.diagnostics.refresh_support
    return pulls and bool(refresh)


def publish(server: GptToolsServer, uri: str) -> None:
    if _pulls(server):
        server.workspace_diagnostic_refresh(None)
        return
    version, text, fixes = current_fixes(server, uri)
    items = diagnostics(fixes, text, version, server.encoding)
    server.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=version)
    )


def pull(server: GptToolsServer, params: types.DocumentDiagnosticParams) -> types.RelatedFullDocumentDiagnosticReport:
    """The last check's diagnostics, on the document as it is now: pulling never starts a check."""
    version, text, fixes = current_fixes(server, params.text_document.uri)
    return types.RelatedFullDocumentDiagnosticReport(items=diagnostics(fixes, text, version, server.encoding))


def forget(server: GptToolsServer, uri: str) -> None:
    """A closed document: its check in flight is cancelled and its diagnostics cleared."""
    flight = server.checking.pop(uri, None)
    if flight is not None:
        flight.cancel.set()
    server.checked.pop(uri, None)
    server.saves.pop(uri, None)
    if not _pulls(server):
        server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


async def check(server: GptToolsServer, uri: str, trigger: Literal["open", "save"]) -> None:
    """Check the document if the settings want it checked on this trigger (after the debounce, for a
    save), and show what was found. The settings are those of workspace/configuration, once read."""
    await server.configured.wait()
    if server.settings.check == "off" or (trigger == "save" and server.settings.check != "save"):
        return
    path = wanted(server, uri)
    if path is None:
        return
    count = server.saves[uri] = server.saves.get(uri, 0) + 1
    if trigger == "save" and server.settings.debounce_ms:
        await asyncio.sleep(server.settings.debounce_ms / 1000)
        if server.saves.get(uri) != count:
            return  # a later save will check
    document = server.document(uri)
    if document is None:
        return  # closed meanwhile
    text, version = document.source, document.version
    flight = server.checking.get(uri)
    if flight is not None:
        if flight.text == text:
            return  # that check's result is this text's
        flight.cancel.set()
    held = server.checked.get(uri)
    if held is not None and held.text == text:
        publish(server, uri)  # an unchanged re-save: what was found is shown again at once ...
    await _run_check(server, uri, path, text, version)  # ... and confirmed (the result cache: no request)


async def _run_check(server: GptToolsServer, uri: str, path: Path, text: str, version: int | None) -> None:
    flight = server.checking[uri] = InFlight(text=text)
    workspace = server.workspace_for(path)
    settings = server.settings
    progress = Progress(server, "gpt-tools")
    showing: asyncio.Task[None] | None = None
    try:
        async with workspace.limit:
            if flight.cancel.is_set():
                return
            showing = progress.begin_after(PROGRESS_DELAY, f"{settings.assistant}: {path.name}")
            job = runs.Job(
                assistant=settings.assistant,
                text=text,
                path=path,
                session=workspace.session,
                cancel=flight.cancel,
                model=settings.model,
                on_progress=progress.report,
            )
            fixes = await server.in_thread(lambda: runs.check(job), flight.cancel)
    except Exception as error:
        progress.end("failed")
        if not flight.cancel.is_set():
            server.tell(error, f"{settings.assistant} on {path.name}")
        return
    finally:
        if showing is not None:
            showing.cancel()
        if server.checking.get(uri) is flight:
            del server.checking[uri]
    progress.end(f"{len(fixes)} suggestion{'' if len(fixes) == 1 else 's'}")
    if flight.cancel.is_set() or not server.is_open(uri):
        return
    held = server.checked.get(uri)
    server.checked[uri] = Checked(version=version, text=text, fixes=fixes)
    if held is None or (held.text, held.fixes) != (text, fixes):  # else shown already
        publish(server, uri)
