"""Batch runs: a rewriting assistant over many files through OpenAI's Batch API (half the price, within 24 h).

Submit guards, masks and chunks each file as a live rewrite does: one JSONL line per chunk with the
Responses body a live run would send, unstreamed. The user state dir keeps a record per batch: per
file its path, the SHA-256 at submit and its chunks' custom IDs (no content, no key). Collecting
the results is batch_collect.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from gpt_tools.config.definitions import Assistant, Settings
from gpt_tools.config.loader import load_config
from gpt_tools.config.resolve import resolve, resolve_settings
from gpt_tools.core import editmode, guards, knowledge
from gpt_tools.core.inputs import Prepared, check_input, compose, prepare, prepare_raw
from gpt_tools.core.plan import Hooks, Plan, build_plan, with_knowledge
from gpt_tools.core.rewrite import check_chunk_size, chunk_request
from gpt_tools.core.session import Session
from gpt_tools.errors import ConfigError, GptToolsError, InputRefused, UsageError
from gpt_tools.markdown.textio import decode_input
from gpt_tools.state.atomicwrite import write_atomic
from gpt_tools.state.localread import FileRefused, read_regular
from gpt_tools.state.paths import app_dir, batches_dir, project_root
from gpt_tools.state.private import private_dir
from gpt_tools.wire import transport
from gpt_tools.wire.backends.responses import build_body
from gpt_tools.wire.transport import Endpoint, Payload

ENDPOINT = "/v1/responses"
WINDOW = "24h"
MAX_REQUESTS, MAX_INPUT_BYTES = 50_000, 200_000_000  # the Batch API's limits for one input file
FORMAT = 1
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")  # the ID names a file: nothing that could leave the folder


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def shown(path: Path | str) -> str:
    """How messages name a file: relative to the working directory when it is below it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --- records -----------------------------------------------------------------------------------


@dataclass
class FileRecord:
    path: str  # absolute
    sha256: str  # the content at submit
    chunks: int
    custom_ids: list[str]
    chunk_sha256: list[str]  # each masked chunk as sent: collect must split the file the same way
    result_sha256: str | None = None  # the assembled result once collected: "already applied" when found


@dataclass
class BatchRecord:
    id: str
    assistant: str
    model: str
    created: str
    root: str  # the project root at submit: collect reads that project's config
    input_file_id: str
    protect: bool
    chunk_tokens: int
    files: list[FileRecord] = field(default_factory=list)
    state: str = "submitted"  # then "collected", or "partly collected" when files were left untouched
    logged: bool = False  # its usage went into the run log (once, at the first collect)
    rewords: bool = False  # the assistant's content guard at submit (fidelity.py); older records: strict
    output: str = "document"  # "edits": the chunks went out raw and the replies are edits (older: document)

    def to_json(self) -> bytes:
        return (json.dumps({"version": FORMAT, **asdict(self)}, indent=2) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchRecord:
        fields = {key: value for key, value in data.items() if key != "version"}
        files = [FileRecord(**entry) for entry in fields.pop("files")]
        return cls(**fields, files=files)


def records_dir() -> Path:
    return batches_dir()


def _valid(batch_id: str) -> str:
    if not _BATCH_ID.fullmatch(batch_id):
        raise UsageError(f"{batch_id!r} is not a batch ID")
    return batch_id


def _record_path(batch_id: str) -> Path:
    return records_dir() / f"{_valid(batch_id)}.json"


def find_record(batch_id: str) -> BatchRecord | None:
    """The local record of a batch; None when this machine did not submit it."""
    path = _record_path(batch_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") != FORMAT:
            raise ValueError("unknown format")
        return BatchRecord.from_json(data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ConfigError(str(path), None, f"unreadable batch record ({exc})") from None


def save_record(record: BatchRecord) -> None:
    """Atomically; private (0600 in 0700 folders), as the paths of a user's files are."""
    path = _record_path(record.id)
    private_dir(path.parent, owned_below=app_dir("state"))
    write_atomic(path, record.to_json(), private=True)


def list_records() -> list[BatchRecord]:
    """Every locally known batch, oldest first."""
    paths = sorted(records_dir().glob("*.json")) if records_dir().is_dir() else []
    found = [find_record(path.stem) for path in paths]
    return sorted((record for record in found if record is not None), key=lambda record: record.created)


@contextmanager
def locked(batch_id: str) -> Iterator[BatchRecord]:
    """The record, held against a concurrent collect of the same batch, and saved when the block ends."""
    from filelock import FileLock

    path = _record_path(batch_id)
    unknown = UsageError(f"no local record of batch {batch_id}; `gpt-tools batch status` lists the known ones")
    if not path.exists():  # checked before locking too, so an unknown ID leaves no lock file behind
        raise unknown
    with FileLock(str(path) + ".lock", timeout=600, mode=0o600):
        record = find_record(batch_id)
        if record is None:
            raise unknown
        yield record
        save_record(record)


# --- submit ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    path: Path
    sha256: str
    text: str
    prepared: Prepared


@dataclass(frozen=True)
class Submission:
    """What submit would send; building it sends nothing, so --dry-run stops here."""

    assistant: Assistant
    settings: Settings
    instructions: str
    root: Path
    documents: tuple[Document, ...]
    notes: tuple[tuple[Path, str], ...]  # files left out, and why

    @property
    def requests(self) -> int:
        return sum(len(document.prepared.chunks) for document in self.documents)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def expand(paths: Sequence[str | Path], root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """FILES as given and each DIR's *.md files (recursively, hidden folders skipped), each once;
    and the paths left out, with why.

    A repository can commit symlinks to anything (`notes.md -> ~/.netrc`), and collect --write would
    then rewrite their targets. So a walk never follows one (file or folder), and a path given
    explicitly that goes through a symlink is taken only when it resolves inside `root`.
    """
    found: dict[Path, None] = {}
    notes: list[tuple[Path, str]] = []
    for given in map(Path, paths):
        real = Path(os.path.realpath(given))
        if real != Path(os.path.abspath(given)) and not _inside(real, root):
            notes.append((given, f"skipped: a symlink to {real}, outside the project"))
        elif not real.is_dir():
            found.setdefault(real, None)
        else:
            found.update(dict.fromkeys(_walk(real, notes)))
    return list(found), notes


def _walk(top: Path, notes: list[tuple[Path, str]]) -> list[Path]:
    """top's *.md files, sorted, outside hidden folders, never through a symlink (file or folder)."""
    found = []
    for folder, subfolders, names in os.walk(top):  # os.walk does not enter symlinked folders
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for path in (Path(folder, name) for name in names if name.endswith(".md")):
            if path.is_symlink():
                notes.append((path, "skipped: a symlink (never followed in a folder)"))
            elif path.is_file():
                found.append(path)
    return sorted(found)


def _read(path: Path, settings: Settings, max_bytes: int, *, edits: bool = False) -> Document | str:
    """The file ready to send, or why it is left out (the hook skips the same files)."""
    try:  # bounded, regular files only: a named /dev/zero must not eat the memory, nor a FIFO block
        data = read_regular(path, limit=max_bytes)
    except FileRefused as exc:
        return f"skipped: it {exc.reason}" + (" (--max-bytes)" if exc.too_large else "")
    try:
        text = decode_input(data, source=shown(path))
        if not text.removeprefix("\ufeff").strip():  # a BOM alone is empty too
            return "skipped: empty"
        prepared = (
            prepare_raw(text, chunk_tokens=settings.edit_chunk_tokens)
            if edits  # as a live edits run sends it: raw, in its larger chunks
            else prepare(text, protect_regions=settings.protect, chunk_tokens=settings.chunk_tokens)
        )
    except GptToolsError as exc:
        return f"skipped: {exc}"
    return Document(path, sha256(data), text, prepared)


def _guard(document: Document, assistant: Assistant, settings: Settings, allow_secrets: bool) -> None:
    """The live run's input guards, for one file: secrets, the document's size, each chunk's size."""
    name = shown(document.path)
    check_input(assistant, settings, {name: document.text}, allow_secrets=allow_secrets)
    for chunk, where in zip(document.prepared.chunks, document.prepared.names, strict=True):
        check_chunk_size(chunk, settings.max_input_tokens, where)


def plan_submission(
    name: str,
    paths: Sequence[str | Path],
    *,
    model: str | None = None,
    instruct: str | None = None,
    allow_secrets: bool = False,
    max_bytes: int = 500_000,
    cwd: Path | str | None = None,
) -> Submission:
    """Read and guard every file; a file that cannot or must not be sent is left out with a note."""
    config = load_config(cwd)
    assistant = config.assistant(name)
    if not assistant.rewrites:
        raise UsageError(f"{assistant.name} writes new text; a batch run needs a rewriting assistant")
    settings = resolve_settings(config, assistant, model=model)
    if settings.backend != "openai":
        raise UsageError(f"batch runs use OpenAI's Batch API; {assistant.name} uses the {settings.backend} backend")
    instructions, _ = compose(assistant, "", (), instruct)
    context = {"instructions": instructions}
    edits = editmode.uses_edits(assistant, settings)
    if assistant.files:
        context.update(knowledge.readable_texts(assistant))
    if not allow_secrets:
        guards.refuse_secrets(context)  # sent with every request: refuses the whole batch
    root = project_root(config.project_root, Path(cwd or os.getcwd()).resolve())
    files, notes = expand(paths, root)
    documents = []
    for path in files:
        found = _read(path, settings, max_bytes, edits=edits)
        if isinstance(found, str):
            notes.append((path, found))
            continue
        try:
            _guard(found, assistant, settings, allow_secrets)
        except InputRefused as exc:  # this file only, as in the hook: the others still go
            notes.append((path, f"skipped: {exc}"))
            continue
        documents.append(found)
    if not documents:
        left_out = "".join(f"\n  {shown(path)}: {note}" for path, note in notes)  # else never shown
        raise UsageError("no file to submit" + (f"; every file was left out:{left_out}" if notes else ""))
    return Submission(assistant, settings, instructions, root, tuple(documents), tuple(notes))


def _plan(submission: Submission) -> Plan:
    """What a live run would resolve (knowledge files included), answering whole instead of streaming."""
    settings = replace(submission.settings, stream=False)
    definition = submission.assistant
    sent, instructions, use = with_knowledge(definition, settings, submission.instructions)
    if editmode.uses_edits(definition, settings):  # as a live run: the protocol last, the schema in Plan.request
        instructions = editmode.instructions_for(instructions)
    return build_plan(
        definition=definition,
        sent=sent,
        settings=settings,
        instructions=instructions,
        knowledge_use=use,
        files=(),
        root=submission.root,
        session=Session(jobs=1),
        hooks=Hooks(),
    )


def build_input(plan: Plan, documents: Sequence[Document]) -> tuple[bytes, list[FileRecord]]:
    """The JSONL (one request per chunk, custom ID "<file>-<chunk>") and each file's record."""
    lines: list[str] = []
    files: list[FileRecord] = []
    for index, document in enumerate(documents):
        chunks = document.prepared.chunks
        ids = [f"{index}-{number}" for number in range(len(chunks))]
        for custom_id, chunk in zip(ids, chunks, strict=True):
            request = chunk_request(plan, chunk, document.prepared.masked)  # as live: its markers explained
            line = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": build_body(request)}
            lines.append(json.dumps(line, ensure_ascii=False))
        hashes = [sha256(chunk) for chunk in chunks]
        files.append(FileRecord(str(document.path), document.sha256, len(chunks), ids, hashes))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if len(lines) > MAX_REQUESTS or len(data) > MAX_INPUT_BYTES:
        raise UsageError(
            f"{len(lines):,} requests, {len(data):,} bytes: over the Batch API's limits "
            f"({MAX_REQUESTS:,} requests, {MAX_INPUT_BYTES:,} bytes); submit fewer files at once"
        )
    return data, files


def submit(submission: Submission) -> BatchRecord:
    """Upload the requests, create the batch and record it; the record is all collect needs."""
    plan = _plan(submission)
    endpoint = plan.endpoint
    data, files = build_input(plan, submission.documents)
    file_id = knowledge.upload(endpoint, "gpt-tools-batch.jsonl", data, purpose="batch")
    metadata = {"tool": "gpt-tools", "assistant": submission.assistant.name}
    body = {"input_file_id": file_id, "endpoint": ENDPOINT, "completion_window": WINDOW, "metadata": metadata}
    try:
        batch = transport.call(endpoint, "POST", "/batches", Payload.json(body))
    except GptToolsError:
        with contextlib.suppress(GptToolsError):  # an orphaned upload costs storage; its removal is a courtesy
            transport.call(endpoint, "DELETE", f"/files/{file_id}")
        raise
    settings = submission.settings
    created = datetime.now().astimezone().isoformat(timespec="seconds")
    edits = editmode.uses_edits(submission.assistant, settings)
    record = BatchRecord(
        str(batch["id"]), submission.assistant.name, settings.model, created, str(submission.root),
        file_id, settings.protect, settings.edit_chunk_tokens if edits else settings.chunk_tokens, files,
        rewords=settings.rewords, output="edits" if edits else "document",
    )  # fmt: skip
    save_record(record)
    return record


# --- status and collect ------------------------------------------------------------------------


def endpoint_for(record: BatchRecord | None) -> Endpoint:
    """Where a batch lives: the endpoint of its project's config (the current one when unknown)."""
    config = load_config(record.root if record and Path(record.root).is_dir() else None)
    assistant = config.assistants.get(record.assistant) if record else None
    return resolve(config, assistant)[1]


def retrieve(endpoint: Endpoint, batch_id: str) -> dict[str, Any]:
    return transport.call(endpoint, "GET", f"/batches/{_valid(batch_id)}")


def cancel(endpoint: Endpoint, batch_id: str) -> dict[str, Any]:
    return transport.call(endpoint, "POST", f"/batches/{_valid(batch_id)}/cancel")
