"""`gpt-tools batch submit|status|collect|cancel`: thin click adapters over gpt_tools/batch.py.

stdout carries results (the new batch's ID, status lines, one line per collected file, diffs);
messages go to stderr.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import click

from gpt_tools.cli.completion import assistant_names, model_names
from gpt_tools.cli.console import Console
from gpt_tools.cli.report import diff, plural
from gpt_tools.cli.safe_text import json_text, printable
from gpt_tools.errors import GptToolsError
from gpt_tools.redact import redact

PROGRAM = "gpt-tools batch"


@click.group("batch")
def batch_group() -> None:
    """Run a rewriting assistant over many files with OpenAI's Batch API (cheaper, done within 24 h)."""


@batch_group.command("submit")
@click.argument("name", shell_complete=assistant_names)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-m", "--model", shell_complete=model_names, help="Model to use instead of the assistant's.")
@click.option("-i", "--instruct", metavar="TEXT", help="Extra instructions for every file.")
@click.option("--allow-secrets", is_flag=True, help="Send text even if it looks like it holds a secret.")
@click.option("--max-bytes", type=click.IntRange(min=1), default=500_000, show_default=True, help="Skip larger files.")
@click.option("--dry-run", is_flag=True, help="Count the requests and files; upload nothing.")
def submit_command(
    name: str,
    paths: tuple[str, ...],
    model: str | None,
    instruct: str | None,
    allow_secrets: bool,
    max_bytes: int,
    dry_run: bool,
) -> int:
    """Submit assistant NAME over FILES (a DIR means its *.md files) as one batch."""
    # core.batch brings the core and the wire (~110 ms): paid by batch commands, not by `gpt-tools --help`.
    from gpt_tools.core import batch

    console = Console(PROGRAM)
    submission = batch.plan_submission(
        name, paths, model=model, instruct=instruct, allow_secrets=allow_secrets, max_bytes=max_bytes
    )
    for path, note in submission.notes:
        console.message(f"{batch.shown(path)}: {note}")
    summary = (
        f"{plural(submission.requests, 'request')} for {plural(len(submission.documents), 'file')} "
        f"({submission.assistant.name} on {submission.settings.model})"
    )
    if dry_run:
        console.line(f"dry run: {summary}; nothing was uploaded")
        return 0
    record = batch.submit(submission)
    console.line(record.id)
    console.message(f"submitted {summary} as {record.id}")
    console.message(f"check it with `gpt-tools batch status {record.id}`")
    console.message(f"apply it with `gpt-tools batch collect {record.id} --write` once completed")
    return 0


def _field(info: Any, key: str) -> dict[str, Any]:
    """info[key] if it is an object, else {}: a server's odd shape is shown as missing, never a crash."""
    value = info.get(key) if isinstance(info, dict) else None
    return value if isinstance(value, dict) else {}


def _errors(info: Any) -> list[dict[str, Any]]:
    data = _field(info, "errors").get("data")
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _counts(info: dict[str, Any]) -> str:
    counts = _field(info, "request_counts")
    done, failed, total = counts.get("completed", 0), counts.get("failed", 0), counts.get("total", 0)
    return f"{done}/{total} requests done, {failed} failed"


def _status_json(batch_id: str, info: dict[str, Any] | None, record: Any, error: str | None = None) -> dict[str, Any]:
    """One batch for `status --json`: the server's view (None if it could not be asked) and the local record."""
    counts = _field(info, "request_counts")
    errors = _errors(info)
    return {
        "id": batch_id,
        "status": (info or {}).get("status"),
        "request_counts": {key: counts.get(key, 0) for key in ("completed", "failed", "total")} if info else None,
        "errors": [{key: item.get(key) for key in ("code", "message", "line")} for item in errors],
        "assistant": record.assistant if record is not None else None,
        "model": record.model if record is not None else None,
        "files": len(record.files) if record is not None else None,
        "submitted": record.created if record is not None else None,
        "state": record.state if record is not None else None,  # submitted, collected, partly collected
        **({"server_error": error} if error is not None else {}),
    }


def _print_json(console: Console, data: Any) -> None:
    # On a terminal every non-ASCII character is escaped: the server's words must not act on it.
    console.result(json_text(data))


@batch_group.command("status")
@click.argument("batch_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the batch (or the list of batches) as JSON.")
def status_command(batch_id: str | None, as_json: bool) -> int:
    """Show batch BATCH_ID on the server, or list every batch submitted from here."""
    from gpt_tools.cli.conversations import json_failures

    return json_failures(as_json, lambda: _status(batch_id, as_json), program=PROGRAM)


def _status(batch_id: str | None, as_json: bool) -> int:
    # core.batch brings the core and the wire (~110 ms): paid by batch commands, not by `gpt-tools --help`.
    from gpt_tools.core import batch

    console = Console(PROGRAM)
    if batch_id is not None:
        record = batch.find_record(batch_id)
        info = batch.retrieve(batch.endpoint_for(record), batch_id)
        if as_json:
            _print_json(console, _status_json(batch_id, info, record))
            return 0
        console.line(f"{batch_id}: {info.get('status')}, {_counts(info)}")
        for error in _errors(info):
            where = f" (line {error['line']})" if error.get("line") else ""
            console.line(printable(f"  error: {error.get('message')}{where}"))  # the server's text
        if record is not None:
            files = plural(len(record.files), "file")
            console.line(f"  {record.assistant}, {files}, submitted {record.created}, {record.state}")
        return 0
    return _list_status(console, as_json)


def _list_status(console: Console, as_json: bool) -> int:
    from gpt_tools.core import batch

    records = batch.list_records()
    listed: list[dict[str, Any]] = []
    for record in records:
        info, failure = None, None
        try:
            info = batch.retrieve(batch.endpoint_for(record), record.id)
            server = f"{info.get('status')}, {_counts(info)}"
        except GptToolsError as exc:
            failure = redact(str(exc))  # the server's or the transport's words, bound for a file
            server = f"server status unknown: {exc}"
        if as_json:
            listed.append(_status_json(record.id, info, record, failure))
        else:
            files = plural(len(record.files), "file")
            console.line(printable(f"{record.id}  {record.assistant}  {files}  {record.state}  {server}"))
    if as_json:
        _print_json(console, listed)
    elif not records:
        console.message("no batches submitted from this account's state dir")
    return 0


def _line(outcome: Any, shown: str, write: bool) -> str:
    note = f" ({outcome.reason})" if outcome.reason and outcome.status in ("fixed", "unchanged") else ""
    if outcome.status == "fixed":
        if write:
            return f"fixed {shown}{note}"
        return f"would fix {shown}{note}:\n{diff(shown, outcome.before, outcome.after)}"
    if outcome.status == "failed":
        return f"left untouched {shown}: {outcome.reason}"
    if outcome.status == "skipped":
        return f"skipped {shown}: {outcome.reason}"
    return f"{outcome.status} {shown}{note}"


@batch_group.command("collect")
@click.argument("batch_id")
@click.option("--write/--diff", default=False, help="Write the fixed files, or only show a diff (default).")
def collect_command(batch_id: str, write: bool) -> int:
    """Apply a completed batch's results, with the guards of a live run; files changed since are skipped."""
    # core.batch brings the core and the wire (~110 ms): paid by batch commands, not by `gpt-tools --help`.
    from gpt_tools.core import batch, batch_collect

    console = Console(PROGRAM)
    with batch.locked(batch_id) as record:
        info, outcomes = batch_collect.collect(record, batch.endpoint_for(record))
        if info.get("status") != "completed":
            console.message(f"{batch_id} is {info.get('status')} ({_counts(info)}); nothing was written")
            return 1
        if write:
            outcomes = batch_collect.apply(record, outcomes)
    for outcome in outcomes:
        # File names and contents come from a repository: no raw terminal escapes.
        console.line(printable(_line(outcome, batch.shown(outcome.path), write).rstrip("\n"), keep_newlines=True))
    tally = Counter(outcome.status for outcome in outcomes)
    labels = {"fixed": "fixed" if write else "would fix", "failed": "left untouched"}
    order = ("fixed", "unchanged", "already applied", "skipped", "failed")
    console.message(", ".join(f"{tally[key]} {labels.get(key, key)}" for key in order if tally[key]) or "no files")
    return 0 if all(outcome.ok for outcome in outcomes) else 1


@batch_group.command("cancel")
@click.argument("batch_id")
def cancel_command(batch_id: str) -> int:
    """Ask the server to stop batch BATCH_ID; requests already done still count."""
    # core.batch brings the core and the wire (~110 ms): paid by batch commands, not by `gpt-tools --help`.
    from gpt_tools.core import batch

    info = batch.cancel(batch.endpoint_for(batch.find_record(batch_id)), batch_id)
    Console(PROGRAM).line(f"{batch_id}: {info.get('status')}")
    return 0
