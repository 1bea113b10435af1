"""What a run gives back: its result, and what the requests behind it cost and came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gpt_tools.markdown.edits import EditResult, PlacedEdit, RefusedEdit, edits_to_json
from gpt_tools.wire.backends import Usage

ResultStatus = Literal["completed"]  # a run that did not complete raises instead of returning


@dataclass(frozen=True, kw_only=True)
class EditReport:
    """An edits-mode run's edits: applied and refused, positions into `original` (the document as sent:
    without its BOM)."""

    original: str
    applied: tuple[PlacedEdit, ...] = ()
    refused: tuple[RefusedEdit, ...] = ()

    def to_json(self) -> list[dict[str, Any]]:
        """For --json: each edit with its status, reasons and 1-based line/column."""
        return edits_to_json(EditResult(text="", applied=self.applied, refused=self.refused), self.original)


@dataclass(frozen=True, kw_only=True)
class Result:
    text: str
    assistant: str
    model: str
    backend: str
    usage: Usage
    status: ResultStatus
    elapsed: float
    response_id: str | None = None
    requests: int = 1  # requests actually sent (0 when every chunk came from the cache)
    chunks: int = 1
    request_id: str | None = None  # the server's x-request-id (comma-separated, one per chunk sent)
    edits: EditReport | None = None  # edits mode only: what was applied and refused (None: document mode)


@dataclass(frozen=True, kw_only=True)
class Spent:
    """What the requests behind one result cost and came from (one request, or a document's chunks)."""

    usage: Usage
    model: str = ""
    response_id: str | None = None
    requests: int = 1
    chunks: int = 1
    request_id: str | None = None
    edits: EditReport | None = None
