"""Code actions: a quick fix per diagnostic, "apply all", and every assistant on the selection.

Listing actions sends nothing. A quick fix carries its edit. An assistant's action carries only what
it will run on (document, version, range); the model runs when the action is chosen: on
`codeAction/resolve` for a client that resolves edits, else through the `gpt-tools.run` command,
which applies its result with `workspace/applyEdit`. Every edit is built for the text the document
has when it is sent (anchor.py moves or drops each fix) and, where the client takes them, as a
`TextDocumentEdit` of that version, which the client refuses if the document changed again since.
A rewriter's action replaces the selection (the whole document when nothing is selected) with its
edits; a writer's inserts its output below the selection, and, for a client that creates files, a
second action puts it in a new document next to the source (newdoc.py), always through the command,
so that the server can open the new document once the client has made it.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path

from gpt_tools import GptToolsError
from gpt_tools.lsp import newdoc, runs
from gpt_tools.lsp.anchor import Fix, reanchor
from gpt_tools.lsp.diagnostics import diagnostic, message, same_fix
from gpt_tools.lsp.documents import current_fixes, file_path
from gpt_tools.lsp.positions import positions_of
from gpt_tools.lsp.progress import PROGRESS_DELAY, Progress
from gpt_tools.lsp.server import GptToolsServer

COMMAND = "gpt-tools.run"
WRITE_KIND = "refactor.write"  # a writer's output inserted: no standard kind says "add text"


def _versioned(server: GptToolsServer) -> bool:
    """Whether the client takes documentChanges (Neovim 0.7 applies them without saying so)."""
    workspace = server.client_capabilities.workspace
    edit = workspace.workspace_edit if workspace else None
    return bool(edit and edit.document_changes) or server.client_name == "Neovim"


def workspace_edit(
    server: GptToolsServer, uri: str, version: int | None, text: str, fixes: Sequence[Fix]
) -> types.WorkspaceEdit:
    where = positions_of(text, server.encoding)
    edits = [types.TextEdit(range=where.range(fix.start, fix.end), new_text=fix.new) for fix in fixes]
    if _versioned(server):
        document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=document, edits=edits)])
    return types.WorkspaceEdit(changes={uri: edits})


def text_digest(text: str) -> str:
    """What an action's data holds of the text it was offered for: a version alone is not enough, as a
    document closed and opened again starts its versions anew (and a client may not count them)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    return not only or any(kind == want or kind.startswith(want + ".") for want in only)


def _quick_fixes(
    server: GptToolsServer, params: types.CodeActionParams, start: int, end: int
) -> list[types.CodeAction]:
    uri = params.text_document.uri
    version, text, fixes = current_fixes(server, uri)
    where = positions_of(text, server.encoding)
    sent = params.context.diagnostics
    hit = [f for f in fixes if (f.start <= end and f.end >= start) or any(same_fix(f, d, where) for d in sent)]
    actions = []
    for fix in hit:
        actions.append(
            types.CodeAction(
                title=f"gpt-tools: {message(fix)}",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic(fix, where, version)],
                edit=workspace_edit(server, uri, version, text, [fix]),
                is_preferred=len(hit) == 1,
            )
        )
    if fixes:
        actions.append(
            types.CodeAction(
                title=f"gpt-tools: apply all {len(fixes)} fix{'' if len(fixes) == 1 else 'es'} in this document",
                kind=types.CodeActionKind.QuickFix,
                edit=workspace_edit(server, uri, version, text, fixes),
            )
        )
    return actions


def _resolves(server: GptToolsServer) -> bool:
    document = server.client_capabilities.text_document
    action = document.code_action if document else None
    support = action.resolve_support if action else None
    return bool(support and "edit" in support.properties)


def code_actions(server: GptToolsServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    document = server.document(uri)
    if document is None:
        return []  # only an open document's text is the editor's: nothing else is read
    where = positions_of(document.source, server.encoding)
    start, end = where.offset(params.range.start), where.offset(params.range.end)
    only = params.context.only
    actions = _quick_fixes(server, params, start, end) if _wanted(types.CodeActionKind.QuickFix, only) else []
    path = file_path(uri)
    if path is None:
        return actions
    try:
        assistants = runs.assistants(path)
    except GptToolsError as error:  # e.g. an untrusted project: the quick fixes are still offered
        server.tell_once(error, "code actions")
        return actions
    scope = "selection" if end > start else "document"
    digest = text_digest(document.source)
    for assistant in assistants:
        kind = types.CodeActionKind.RefactorRewrite if assistant.rewrites else WRITE_KIND
        if not _wanted(kind, only):
            continue
        data = {
            "uri": uri,
            "version": document.version,
            "text": digest,
            "assistant": assistant.name,
            "start": start,
            "end": end,
        }
        verb = "rewrite the" if assistant.rewrites else "write below the"
        title = f"gpt-tools: {assistant.name}: {verb} {scope}"
        if _resolves(server):
            actions.append(types.CodeAction(title=title, kind=kind, data=data))
        else:
            actions.append(_command_action(title, kind, data))
        if not assistant.rewrites and newdoc.creates(server):
            title = f"gpt-tools: {assistant.name}: write a new document from the {scope}"
            actions.append(_command_action(title, kind, {**data, "new": True}))
    return actions


def _command_action(title: str, kind: str, data: dict[str, Any]) -> types.CodeAction:
    return types.CodeAction(
        title=title, kind=kind, command=types.Command(title=title, command=COMMAND, arguments=[data])
    )


def _insertion_point(text: str, end: int) -> int:
    """Where a writer's output goes: the start of the line after the selection's last line."""
    if end > 0 and text[end - 1] in "\r\n":
        return end
    breaks = [at for at in (text.find("\n", end), text.find("\r", end)) if at >= 0]
    if not breaks:
        return len(text)
    at = min(breaks)
    return at + 2 if text.startswith("\r\n", at) else at + 1


def _job(
    server: GptToolsServer, data: dict[str, Any], text: str, cancel: threading.Event, progress: Progress
) -> tuple[runs.Job, int]:
    path = file_path(data["uri"])
    assert path is not None  # only file documents are offered assistants
    start, end = int(data["start"]), int(data["end"])
    if end <= start:
        start, end = 0, len(text)
    job = runs.Job(
        assistant=str(data["assistant"]),
        text=text[start:end],
        path=path,
        session=server.workspace_for(path).session,
        cancel=cancel,
        model=server.settings.model,
        on_progress=progress.report,
    )
    return job, start


def _writer_fixes(fixes: list[Fix], text: str, end: int) -> list[Fix]:
    """A writer's output as an insertion below the selection, on lines of its own."""
    at = _insertion_point(text, end)
    out = []
    for fix in fixes:
        new = fix.new if fix.new.endswith("\n") else fix.new + "\n"
        if at == len(text) and text and not text.endswith(("\n", "\r")):
            new = "\n" + new
        out.append(Fix(start=at, end=at, old="", new=new, reason=fix.reason))
    return out


def _new_document(server: GptToolsServer, source: Path, assistant: str, fixes: list[Fix]) -> types.WorkspaceEdit | None:
    """The edit creating a fresh file next to source with a writer's output; None (and a message) if none is free."""
    target = newdoc.fresh_path(
        source, assistant, lambda path: path.exists() or server.is_open(from_fs_path(str(path)) or "")
    )
    if target is None:
        server.warn(f"gpt-tools: {assistant}: no free name for a new document next to {source.name}")
        return None
    return newdoc.new_document_edit(from_fs_path(str(target)) or target.as_uri(), newdoc.output_text(fixes))


async def run_action(
    server: GptToolsServer, data: dict[str, Any], token: types.ProgressToken | None
) -> types.WorkspaceEdit | None:
    """An assistant's action, run: its edit for the document as it is when the run ends (None: nothing to apply)."""
    uri = str(data["uri"])
    document = server.document(uri)
    if document is None or (document.version, text_digest(document.source)) != (data.get("version"), data.get("text")):
        server.warn("gpt-tools: the document changed since the action was offered; choose it again")
        return None
    text = document.source
    cancel = threading.Event()
    progress = Progress(server, "gpt-tools", token, cancel)
    job, start = _job(server, data, text, cancel, progress)
    showing: asyncio.Task[None] | None = None
    try:
        async with server.workspace_for(job.path).limit:
            showing = progress.begin_after(PROGRESS_DELAY, f"{job.assistant}: {job.path.name}")
            fixes, rewrites = await server.in_thread(lambda: runs.run_on_selection(job), cancel)
    except asyncio.CancelledError:
        progress.end("cancelled")
        raise
    except Exception as error:
        progress.end("failed")
        server.tell(error, job.assistant)
        return None
    finally:
        if showing is not None:
            showing.cancel()
    progress.end("done")
    if data.get("new") and not rewrites:
        return _new_document(server, job.path, job.assistant, fixes)
    if rewrites:
        placed = [replace(fix, start=fix.start + start, end=fix.end + start) for fix in fixes]
    else:
        placed = _writer_fixes(fixes, text, start + len(job.text))
    now = server.document(uri)
    if now is None:
        return None  # closed meanwhile: there is no text to place the edits in
    moved = reanchor(placed, text, now.source)
    if len(moved) < len(placed):
        dropped = len(placed) - len(moved)
        server.warn(
            f"gpt-tools: {job.assistant}: the document changed meanwhile; "
            f"{dropped} edit(s) could not be placed surely and were dropped"
        )
    return workspace_edit(server, uri, now.version, now.source, moved) if moved else None
