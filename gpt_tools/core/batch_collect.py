"""Collecting a batch run: its replies through the live rewrite's guards, then atomic writes.

A file is written only when every chunk came back usable and the file is byte-identical to what was
submitted. The SHA-256 of each result goes into the batch's record before anything is written, so a
second collect (or one after a crash) reports "already applied", never "changed since submit".
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gpt_tools.config.loader import load_config
from gpt_tools.core.batch import BatchRecord, FileRecord, retrieve, save_record, sha256
from gpt_tools.core.editing import chunk_spans, edits_of, join_results
from gpt_tools.core.inputs import prepare, prepare_raw
from gpt_tools.core.rewrite import assemble, check_chunk_reply
from gpt_tools.errors import GptToolsError, RunFailed
from gpt_tools.markdown import protect_hidden, textio
from gpt_tools.markdown.edits import EditResult, apply_edits, line_col
from gpt_tools.state import runlog
from gpt_tools.state.atomicwrite import ChangedMeanwhile, WriteRefused, write_atomic
from gpt_tools.wire import transport
from gpt_tools.wire.backends import Reply
from gpt_tools.wire.backends.responses import reply_from
from gpt_tools.wire.transport import Endpoint


@dataclass(frozen=True)
class FileOutcome:
    path: str
    status: str  # "fixed", "unchanged", "already applied", "skipped" or "failed"
    reason: str = ""
    before: bytes = b""
    after: bytes | None = None

    @property
    def ok(self) -> bool:
        return self.status not in ("skipped", "failed")


def _results(endpoint: Endpoint, batch: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """custom_id -> its output line, from the error file and then the output file."""
    found: dict[str, dict[str, Any]] = {}
    for key in ("error_file_id", "output_file_id"):  # output last: a success outranks an error
        file_id = batch.get(key)
        if not file_id:
            continue
        # JSONL lines end at LF only: str.splitlines would cut a line at a raw U+2028 inside a string.
        for raw in transport.fetch(endpoint, f"/files/{file_id}/content").split(b"\n"):
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # a damaged line: its chunk counts as missing
            if isinstance(line, dict) and isinstance(line.get("custom_id"), str):
                found[line["custom_id"]] = line
    return found


def _reply(line: dict[str, Any]) -> Reply:
    error = line.get("error")
    if isinstance(error, dict):
        raise RunFailed(f"the batch could not run it: {error.get('message') or error.get('code')}")
    response = line.get("response") or {}
    raw = response.get("body")
    body: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if response.get("status_code") != 200:
        message = (body.get("error") or {}).get("message") or "no message"
        raise RunFailed(f"HTTP {response.get('status_code')}: {message}")
    return reply_from(body)


def _edited(record: BatchRecord, entry: FileRecord, text: str, results: dict[str, dict[str, Any]]) -> EditResult:
    """An edits batch's file: each chunk's edits applied with the live run's checks (editing.py)."""
    prepared = prepare_raw(text, chunk_tokens=record.chunk_tokens)
    if [sha256(chunk) for chunk in prepared.chunks] != entry.chunk_sha256:
        raise RunFailed("the file no longer splits as it did at submit (was gpt-tools upgraded?); submit it again")
    hidden = prepared.masked  # its opt-out regions went out as markers (protect_hidden.py)
    spans = chunk_spans(hidden.text, prepared.chunks, protect=record.protect, hidden=hidden)
    parts = []
    places = protect_hidden.places(hidden, prepared.chunks)  # refusals name the document's lines
    for custom_id, chunk, where, protected, place in zip(
        entry.custom_ids, prepared.chunks, prepared.names, spans, places, strict=True
    ):
        line = results.get(custom_id)
        try:
            if line is None:
                raise RunFailed("no result in the batch's output")
            parts.append(apply_edits(chunk, edits_of(_reply(line), chunk), protected=protected, place=place))
        except GptToolsError as exc:
            raise RunFailed(str(exc) if where in str(exc) else f"{where}: {exc}") from None
    whole = protect_hidden.reveal(join_results(hidden.text, prepared.chunks, parts, protect=record.protect), hidden)
    return replace(whole, text=text[: len(text) - len(prepared.body)] + whole.text)  # its BOM kept


def _not_applied(result: EditResult, body: str) -> str:
    """What collect says about the edits the checks refused (the live run's report, in one line)."""
    if not result.refused:
        return ""
    shown = [
        f"line {line_col(body, r.start)[0]}: {r.reason}" if r.start is not None else r.reason
        for r in result.refused[:3]
    ]
    more = f", {len(result.refused) - 3} more" if len(result.refused) > 3 else ""
    return f"{len(result.refused)} edit(s) not applied ({'; '.join(shown)}{more})"


def _assemble(
    record: BatchRecord, entry: FileRecord, data: bytes, results: dict[str, dict[str, Any]]
) -> tuple[bytes, str]:
    """The file's new content, and a note on the edits that were not applied."""
    text = data.decode("utf-8")
    if record.output == "edits":
        edited = _edited(record, entry, text, results)
        return edited.text.encode("utf-8"), _not_applied(edited, textio.strip_bom(text))
    prepared = prepare(text, protect_regions=record.protect, chunk_tokens=record.chunk_tokens)
    if [sha256(chunk) for chunk in prepared.chunks] != entry.chunk_sha256:
        raise RunFailed("the file no longer splits as it did at submit (was gpt-tools upgraded?); submit it again")
    parts = []
    for custom_id, chunk, where in zip(entry.custom_ids, prepared.chunks, prepared.names, strict=True):
        line = results.get(custom_id)
        try:
            if line is None:
                raise RunFailed("no result in the batch's output")
            parts.append(check_chunk_reply(_reply(line), chunk, prepared.masked, where, rewords=record.rewords))
        except GptToolsError as exc:
            raise RunFailed(str(exc) if where in str(exc) else f"{where}: {exc}") from None
    return assemble(prepared, parts, text, rewords=record.rewords).encode("utf-8"), ""


def _outcome(record: BatchRecord, entry: FileRecord, results: dict[str, dict[str, Any]]) -> FileOutcome:
    if os.path.lexists(entry.path) and not _regular(entry.path):  # a symlink, FIFO or device now: not read
        return FileOutcome(entry.path, "skipped", _NOT_REGULAR)
    try:
        data = Path(entry.path).read_bytes()
    except OSError as exc:
        return FileOutcome(entry.path, "skipped", f"cannot read: {exc.strerror or exc}")
    digest = sha256(data)
    if digest != entry.sha256:
        if digest == entry.result_sha256:
            return FileOutcome(entry.path, "already applied", before=data)
        return FileOutcome(entry.path, "skipped", "changed since submit; submit it again", before=data)
    try:
        after, note = _assemble(record, entry, data, results)
    except GptToolsError as exc:
        return FileOutcome(entry.path, "failed", str(exc), before=data)
    return FileOutcome(entry.path, "fixed" if after != data else "unchanged", note, before=data, after=after)


def _log_usage(record: BatchRecord, batch: dict[str, Any], results: dict[str, dict[str, Any]]) -> None:
    """One run-log row for the whole batch: what its requests used and cost (at the batch price)."""
    tokens_in = tokens_out = cached = 0
    reported = not results  # no result line: nothing was billed; results without usage: unknown, never $0
    for line in results.values():
        body = (line.get("response") or {}).get("body")
        usage = body.get("usage") if isinstance(body, dict) else None
        if isinstance(usage, dict):
            reported = True
            tokens_in += int(usage.get("input_tokens") or 0)
            tokens_out += int(usage.get("output_tokens") or 0)
            cached += int((usage.get("input_tokens_details") or {}).get("cached_tokens") or 0)
    counts = batch.get("request_counts") or {}
    started, finished = batch.get("created_at") or 0, batch.get("completed_at") or 0
    failed = int(counts.get("failed") or 0)
    entry = runlog.Record(
        frontend="batch",
        assistant=record.assistant,
        model=record.model,
        backend="openai",
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cached_tokens=cached,
        duration=float(max(0, finished - started)),
        status="error" if failed else "ok",
        error=f"{failed} of {counts.get('total')} requests failed" if failed else None,
        requests=len(results),
        priced=reported,
    )
    try:
        config_prices = load_config(record.root).prices
    except GptToolsError:
        config_prices = {}
    half = runlog.BATCH_DISCOUNT
    full = {**runlog.PRICES, **config_prices}
    prices = {model: (fresh * half, hit * half, out * half) for model, (fresh, hit, out) in full.items()}
    runlog.append(entry, prices=prices)


def collect(record: BatchRecord, endpoint: Endpoint) -> tuple[dict[str, Any], list[FileOutcome]]:
    """The batch as the server sees it, and per file what its results would do (nothing is written).

    No outcomes unless the batch completed. Each usable result's SHA-256 goes into the record.
    """
    batch = retrieve(endpoint, record.id)
    if batch.get("status") != "completed":
        return batch, []
    results = _results(endpoint, batch)
    if not record.logged:
        _log_usage(record, batch, results)
        record.logged = True
        save_record(record)  # at once: an interruption before the end must not log the batch twice
    outcomes = [_outcome(record, entry, results) for entry in record.files]
    for entry, outcome in zip(record.files, outcomes, strict=True):
        if outcome.after is not None:
            entry.result_sha256 = sha256(outcome.after)
    return batch, outcomes


def apply(record: BatchRecord, outcomes: Sequence[FileOutcome]) -> list[FileOutcome]:
    """Write every fixed file atomically, unless it changed meanwhile; the record is saved first."""
    save_record(record)  # a crash mid-way must leave "already applied", not "changed since submit"
    done: list[FileOutcome] = []
    for outcome in outcomes:
        if outcome.status == "fixed" and outcome.after is not None:
            outcome = _write(outcome)
        done.append(outcome)
    record.state = "collected" if all(outcome.ok for outcome in done) else "partly collected"
    return done


_NOT_REGULAR = "no longer a regular file (a symlink?); left alone"


def _regular(path: str) -> bool:
    """Still a regular file reached through no symlink: one swapped in since submit is never written through."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode) and os.path.realpath(path) == os.path.abspath(path)
    except OSError:
        return False


def _write(outcome: FileOutcome) -> FileOutcome:
    if not _regular(outcome.path):  # checked again: it may have been swapped while collecting
        return replace(outcome, status="skipped", reason=_NOT_REGULAR, after=None)
    try:  # the content is re-checked after the new file is ready, immediately before the rename
        write_atomic(outcome.path, outcome.after or b"", expect=outcome.before)
    except ChangedMeanwhile:
        return replace(outcome, status="skipped", reason="changed while collecting; collect again", after=None)
    except WriteRefused as exc:  # read-only, hard-linked
        return replace(outcome, status="failed", reason=f"not written: {exc.problem}", after=None)
    except OSError as exc:
        return replace(outcome, status="failed", reason=f"cannot write: {exc.strerror or exc}", after=None)
    return outcome
