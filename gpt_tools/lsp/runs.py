"""The server's runs, in worker threads: the check assistant over a document, an assistant over a selection.

Each run goes through `gpt_tools.run` (front end `lsp` in the run log) with the config of the
document's own project (load_config from the document's folder: its project config, its trust), the
workspace's shared Session (requests in flight, 429 pauses, the result cache: an unchanged document
costs no request) and a cancel event (set: the request's socket is closed, no more tokens billed).
What a run proposes comes back as Fixes, offsets into the text it was given.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import gpt_tools
from gpt_tools.config.definitions import Assistant
from gpt_tools.core.records import Result
from gpt_tools.core.session import Session
from gpt_tools.lsp.anchor import Fix
from gpt_tools.state import paths
from gpt_tools.state.cache import ResultCache
from gpt_tools.wire.transport import RetryHook

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class Job:
    """One run as the server asks for it."""

    assistant: str
    text: str
    path: Path  # the document's file: its folder decides config and trust
    session: Session
    cancel: threading.Event
    model: str | None = None
    edits: bool = True  # a rewriter answers with edits (the check assistant always does)
    on_progress: Progress | None = None


def new_session(jobs: int) -> Session:
    return Session(jobs=jobs, cache=ResultCache())


def workspace_of(path: Path, folders: list[Path]) -> Path:
    """The workspace folder holding path (the deepest), else its project root by state/paths.py's rule."""
    holding = [folder for folder in folders if path.is_relative_to(folder)]
    if holding:
        return max(holding, key=lambda folder: len(folder.parts))
    return paths.project_root(None, path.parent)


def assistants(path: Path) -> list[Assistant]:
    """Every assistant the document's project defines (built-ins included): listing them sends nothing."""
    config = gpt_tools.load_config(path.parent)
    return sorted(config.assistants.values(), key=lambda assistant: assistant.name.lower())


def _retry_hook(on_progress: Progress | None) -> RetryHook | None:
    if on_progress is None:
        return None
    return lambda notice: on_progress(f"retrying in {notice.wait:.1f} s ({notice.reason})")


def execute(job: Job) -> tuple[Result, Assistant]:
    """The run itself; a GptToolsError (Cancelled too) is the caller's to report."""
    config = gpt_tools.load_config(job.path.parent)
    definition = config.assistant(job.assistant)
    if job.edits and definition.rewrites:
        definition = replace(definition, settings={**definition.settings, "output": "edits"})
    result = gpt_tools.run(
        definition,
        job.text,
        model=job.model,
        session=job.session,
        config=config,
        cwd=job.path.parent,
        frontend="lsp",
        cancel=job.cancel,
        on_retry=_retry_hook(job.on_progress),
    )
    return result, definition


def fixes_of(text: str, result: Result) -> list[Fix]:
    """A rewriter's proposals as fixes into text: its applied edits, or (document mode) the changed lines."""
    if result.edits is None:
        return diff_fixes(text, result.text)
    base = len(text) - len(result.edits.original)  # a BOM is not part of what was sent
    fixes = []
    for placed in result.edits.applied:
        start, end = placed.start + base, placed.end + base
        edit = placed.edit
        old = text[start:end]
        fixes.append(
            Fix(
                start=start,
                end=end,
                old=old,
                new=placed.new_text,
                reason=edit.reason,
                find=edit.find,
                replace=edit.replace,
            )
        )
    return fixes


def diff_fixes(before: str, after: str) -> list[Fix]:
    """The lines a whole-text rewrite changed, one fix per changed run of lines."""
    old_lines, new_lines = before.splitlines(keepends=True), after.splitlines(keepends=True)
    starts = [0]
    for line in old_lines:
        starts.append(starts[-1] + len(line))
    fixes = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        old, new = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        fixes.append(Fix(start=starts[i1], end=starts[i2], old=old, new=new, reason="rewrite", find=old, replace=new))
    return fixes


def check(job: Job) -> list[Fix]:
    """The check assistant's edits of job.text."""
    result, _ = execute(job)
    return fixes_of(job.text, result)


def run_on_selection(job: Job) -> tuple[list[Fix], bool]:
    """An assistant over a selection (job.text): (fixes into it, whether it rewrites). A writer's one fix
    is its output, at offset 0 with nothing replaced: where it goes is the caller's choice."""
    result, definition = execute(job)
    if not definition.rewrites:
        return [Fix(start=0, end=0, old="", new=result.text, reason=definition.name)], False
    return fixes_of(job.text, result), True
