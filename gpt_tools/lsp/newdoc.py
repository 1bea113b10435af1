"""A writer's output in a new document next to the source: `notes.md` → `notes.Summarizer.md` (`-2`, `-3`… when taken).

Offered only to a client that applies workspace edits with documentChanges and the `create` resource
operation: a new file is more portable than an `untitled:` URI, which many clients refuse. The edit
is a `CreateFile` with `overwrite: false, ignoreIfExists: true`, then a `TextDocumentEdit` filling the
new file; the source document is never touched. `ignoreIfExists` is true because Neovim's client
truncates an existing file on disk for a create without it: should a file of the chosen name appear in
the moment before the client applies the edit, the output is inserted at the top of its buffer
(unsaved, undoable) rather than the file emptied. Neovim 0.7 declares `create` but not
documentChanges, so it is not offered the action at all. The server applies the edit itself
(workspace/applyEdit) and then, where the client shows documents, opens the new one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from lsprotocol import types

from gpt_tools.lsp.anchor import Fix
from gpt_tools.lsp.server import GptToolsServer

MOST_TRIES = 1000  # names tried before giving up: a folder holding that many is not worth a new one


def creates(server: GptToolsServer) -> bool:
    """Whether the client applies a workspace edit that creates a file (and the server may send one). Unlike
    actions._versioned, Neovim gets no exception for undeclared documentChanges: 0.7's create empties a file."""
    workspace = server.client_capabilities.workspace
    edit = workspace.workspace_edit if workspace else None
    operations = (edit.resource_operations or []) if edit else []
    return bool(workspace and workspace.apply_edit and edit and edit.document_changes) and (
        types.ResourceOperationKind.Create in operations
    )


def shows(server: GptToolsServer) -> bool:
    window = server.client_capabilities.window
    return bool(window and window.show_document and window.show_document.support)


def fresh_path(source: Path, assistant: str, taken: Callable[[Path], bool]) -> Path | None:
    """A name next to source, for assistant's output, that taken() says is free; None if none is."""
    label = re.sub(r"[^\w-]+", "-", assistant).strip("-") or "output"  # a name safe in any file system
    stem = f"{source.stem}.{label}"
    for n in range(1, MOST_TRIES + 1):
        candidate = source.with_name(f"{stem}{'' if n == 1 else f'-{n}'}{source.suffix}")
        if not taken(candidate):
            return candidate
    return None


def output_text(fixes: Sequence[Fix]) -> str:
    """A writer's output, ending with a line break as a text file does."""
    text = "".join(fix.new for fix in fixes)
    return text if not text or text.endswith(("\n", "\r")) else text + "\n"


def new_document_edit(uri: str, text: str) -> types.WorkspaceEdit:
    create = types.CreateFile(uri=uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=True))
    document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None)
    start = types.Position(line=0, character=0)
    fill = types.TextEdit(range=types.Range(start=start, end=start), new_text=text)
    return types.WorkspaceEdit(document_changes=[create, types.TextDocumentEdit(text_document=document, edits=[fill])])


def created_uri(edit: types.WorkspaceEdit) -> str | None:
    """The URI a new-document edit creates; None for any other edit."""
    for change in edit.document_changes or []:
        if isinstance(change, types.CreateFile):
            return change.uri
    return None
