"""One rewriting assistant over many files: what the hook and `gpt-tools run --write/--check/--diff` share.

Each file is read (never through a symbolic link, never a pipe or device), sized, decoded and run
through the assistant with one shared session (the server's limits, the result cache), concurrently;
`FileCheck` says what became of it. Writing a fix back is `write_fix()`: atomic, and never over an
edit made while the request was in flight. The front ends only say it, each in its own words.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from gpt_tools.cli.hook_args import link_note
from gpt_tools.cli.safe_text import printable
from gpt_tools.config.definitions import apply_settings
from gpt_tools.config.loader import load_config
from gpt_tools.config.resolve import resolve_settings
from gpt_tools.core.plan import Hooks, RunRequest
from gpt_tools.core.records import EditReport, Result
from gpt_tools.core.runner import run_request
from gpt_tools.core.session import Session
from gpt_tools.errors import GptToolsError, InputRefused, ReplyRejected, UsageError, exit_status
from gpt_tools.markdown.textio import decode_input
from gpt_tools.state import atomicwrite
from gpt_tools.state.cache import ResultCache
from gpt_tools.state.runlog import Frontend

# Why a file was not checked or not fixed: its bytes could not be read, it could not be written (so
# it was not sent), its input was refused (a secret), the reply was refused (the guards), or the
# request failed (network, API error, no key).
Problem = Literal["unreadable", "unwritable", "input", "reply", "api"]


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    assistant: str
    write: bool  # fixes will be written: a file that cannot be written is refused before it is sent
    jobs: int | None = None
    max_bytes: int
    size_limit: str  # how the size limit is named in the skip note ("--max-bytes")
    use_cache: bool = True
    model: str | None = None
    backend: str | None = None
    instruct: str | None = None
    allow_secrets: bool = False
    frontend: Frontend = "hook"
    # Per-run settings (`run --temperature`, `-O KEY VALUE`): the assistant's fields, and settings over every layer.
    assistant_fields: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FileCheck:
    """What became of one file: checked (fixed is set), skipped (note) or not checked (problem)."""

    path: str
    original: bytes
    fixed: bytes | None = None  # None: not checked (see problem/note)
    note: str | None = None  # skipped on purpose (size, binary, a symbolic link)
    problem: str | None = None  # could not be checked or written, or the input or the reply was refused
    kind: Problem | None = None  # which of those problems
    status: int = 0  # the problem's exit status (gpt_tools.errors.exit_status): 2 when nothing was sent for it
    requests: int = 0
    edits: EditReport | None = None  # edits mode: what the model proposed, applied and refused
    cached: bool = False  # the answer came from the result cache (no request sent for it)

    @property
    def shown(self) -> str:
        """The path as printed: a newline or escape in a (repository's) file name never forges a line."""
        return printable(self.path)

    @property
    def api_failure(self) -> bool:
        return self.kind == "api"

    @property
    def changes(self) -> bool:
        return self.fixed is not None and self.fixed != self.original


def read_file(path: str) -> bytes | FileCheck:
    """The file's bytes, or why it is skipped; a pipe or device is never opened for a blocking read."""
    link = link_note(path)  # a committed symlink must not make the hook send or rewrite its target
    if link is not None:
        return FileCheck(path, b"", note=link)
    try:
        original = atomicwrite.snapshot(path)
    except OSError as exc:
        return FileCheck(path, b"", problem=f"cannot read: {exc.strerror or exc}", kind="unreadable", status=2)
    if original is atomicwrite.ABSENT:
        return FileCheck(path, b"", problem="cannot read: no such file", kind="unreadable", status=2)
    if original is None:
        return FileCheck(path, b"", note="skipped: not a regular file")
    return original


class Engine:
    """Runs the assistant over files with one shared session (limits, cache) and one cancel."""

    def __init__(self, options: EngineOptions) -> None:
        self.options = options
        self.config = load_config()
        self.assistant = replace(self.config.assistant(options.assistant), **options.assistant_fields)
        if not self.assistant.rewrites:
            raise UsageError(f"{self.assistant.name} writes new text; this needs a rewriting assistant")
        # An empty model (flag, GPT_TOOLS_MODEL) fails the run as a usage error, not each file.
        settings = resolve_settings(self.config, self.assistant, model=options.model, backend=options.backend)
        jobs = options.jobs or apply_settings(settings, options.settings).jobs
        self.session = Session(jobs=jobs, cache=ResultCache() if options.use_cache else None)
        self.cancel = threading.Event()  # set on Ctrl-C: every file's requests close their sockets

    @property
    def sent(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self.session.gate.sent

    def run_text(self, text: str) -> Result:
        options = self.options
        request = RunRequest(
            assistant=self.assistant,
            text=text,
            model=options.model,
            backend=options.backend,
            extra_instructions=options.instruct,
            allow_secrets=options.allow_secrets,
            config=self.config,
            settings=options.settings,
        )
        return run_request(request, hooks=Hooks(cancel=self.cancel), session=self.session, frontend=options.frontend)

    def check(self, path: str) -> FileCheck:
        """One file, read, guarded and run; never raises for a problem of this file alone."""
        original = read_file(path)
        if isinstance(original, FileCheck):
            return original
        if len(original) > self.options.max_bytes:
            return FileCheck(path, original, note=f"skipped: {len(original):,} bytes is over {self.options.size_limit}")
        try:
            text = decode_input(original, source=path)
        except GptToolsError as exc:
            return FileCheck(path, original, note=f"skipped: {exc}")
        if not text.removeprefix("\ufeff").strip():  # empty but for a BOM (strip() keeps it): nothing to pay for
            return FileCheck(path, original, fixed=original)
        if self.options.write:
            try:  # before paying for a fix that could not be written; a file skipped anyway is not a failure
                atomicwrite.check_writable(path)
            except atomicwrite.WriteRefused as exc:
                return FileCheck(path, original, problem=f"not written: {exc.problem}", kind="unwritable", status=2)
        return self._run(path, original, text)

    def _run(self, path: str, original: bytes, text: str) -> FileCheck:
        try:
            result = self.run_text(text)
        except ReplyRejected as exc:
            sent = 0 if exc.remembered else 1
            return FileCheck(path, original, problem=f"left untouched: {exc}", kind="reply", status=1, requests=sent)
        except InputRefused as exc:  # this file only (a secret, too large): the others are still fixed
            return FileCheck(path, original, problem=str(exc), kind="input", status=exit_status(exc))
        except GptToolsError as exc:
            return FileCheck(path, original, problem=str(exc), kind="api", status=exit_status(exc))
        fixed = result.text.encode("utf-8")
        cached = result.requests == 0
        return FileCheck(path, original, fixed=fixed, requests=result.requests, edits=result.edits, cached=cached)

    def check_all(self, paths: Sequence[str]) -> list[FileCheck]:
        """Every file, in the order given; Ctrl-C closes every request in flight and starts no other file."""
        # Twice as many workers as requests in flight: while `jobs` files wait for the server, the
        # others are read and prepared, and the replies that arrive are applied, so a freed request
        # slot is taken at once (the session's gate still holds requests in flight to `jobs`).
        workers = max(1, min(len(paths), 2 * self.session.jobs))
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            return list(pool.map(self.check, paths))
        except KeyboardInterrupt:
            self.cancel.set()  # Ctrl-C reaches only this thread: without this, files in flight go on billing
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=self.cancel.is_set())


@dataclass(frozen=True, kw_only=True)
class WriteEnd:
    """How writing one fix ended: written (and what the new file could not keep), or why not."""

    written: bool
    problem: str | None = None  # not written: the message, naming the file
    changed_meanwhile: bool = False
    lost: tuple[str, ...] = ()


def write_fix(outcome: FileCheck) -> WriteEnd:
    """Write one fix atomically, unless the file changed since it was read or cannot be written."""
    assert outcome.fixed is not None
    if link_note(outcome.path) is not None:  # a link put in its place meanwhile: its target may hold the same bytes
        problem = f"{outcome.shown}: not written: it became a symbolic link since it was read"
        return WriteEnd(written=False, problem=problem, changed_meanwhile=True)
    try:
        written = atomicwrite.write_atomic(outcome.path, outcome.fixed, expect=outcome.original)
    except atomicwrite.ChangedMeanwhile as exc:
        return WriteEnd(written=False, problem=str(exc), changed_meanwhile=True)
    except atomicwrite.WriteRefused as exc:
        return WriteEnd(written=False, problem=str(exc))
    except OSError as exc:  # read-only folder, full disk: this file only, the others are still written
        return WriteEnd(written=False, problem=f"{outcome.shown}: not written: {exc.strerror or exc}")
    return WriteEnd(written=True, lost=tuple(written.lost))
