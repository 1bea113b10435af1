"""What a run gives back: its result, and what the requests behind it cost and came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gpt_tools.wire.backends import Usage

ResultStatus = Literal["completed"]  # a run that did not complete raises instead of returning


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


@dataclass(frozen=True, kw_only=True)
class Spent:
    """What the requests behind one result cost and came from (one request, or a document's chunks)."""

    usage: Usage
    model: str = ""
    response_id: str | None = None
    requests: int = 1
    chunks: int = 1
    request_id: str | None = None
