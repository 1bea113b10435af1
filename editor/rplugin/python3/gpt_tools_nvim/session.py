"""Runs in flight, one per buffer: the request in a worker thread, the result back on the host's loop.

The editor is never blocked: `start` reads the range, starts a thread and returns. The worker calls
the core (`gpt_tools.run`) with a cancel event and hands the outcome to `nvim.async_call`. The result
replaces the range in ONE `nvim_buf_set_lines` call (one undo step), or, in edits mode, each applied
edit is its own `nvim_buf_set_text` inside one Lua call (still one undo step; see edits.py), and only
when the buffer's changedtick is the one seen at the start; otherwise it is offered in a diff split,
never written. `:GptRun!` in edits mode opens a review list (editor/lua/gpt_tools/review.lua) instead.

A result that arrives while the user is in Insert or Replace mode is held back: applied then, it would
join the undo step of the user's typing (one `u` would revert both). A one-shot InsertLeave
autocommand hands it back (`resume`), and it takes the same path again, changedtick check included:
if the user typed meanwhile, it is offered in the diff split instead.

Where the result goes (replace, append, enew, split, popup): jobs.py.
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import Any

from pynvim import Nvim
from pynvim.api import Buffer, NvimError

from . import core, edits
from .args import RunArgs
from .jobs import SHOWN, Job, JobEnd, read_attachment, writer_target
from .text import changed_lines, lines_to_text, replacement, text_to_lines
from .ui import Ui, completion, usage_line

PROGRESS_EVERY = 1.0  # seconds between progress messages
APPLY_RETRIES = 25  # the buffer may be text-locked for a moment (e.g. the command-line window)
APPLY_RETRY_WAIT = 0.2
DIFF_KEYS = "a takes all, d drops, x a hunk"  # the diff split's keys (editor/lua/gpt_tools/result.lua)


class UserError(Exception):
    """A message for the user; nothing was started and nothing was changed."""


def _label(buffer: Buffer) -> str:
    return os.path.basename(buffer.name) if buffer.name else f"buffer {buffer.number}"


def _cwd(nvim: Nvim, buffer: Buffer) -> str:
    """Where the project config is looked up: the file's folder, else Neovim's current directory."""
    folder = os.path.dirname(buffer.name) if buffer.name else ""
    return folder if folder and os.path.isdir(folder) else str(nvim.funcs.getcwd())


class Controller:
    def __init__(self, nvim: Nvim) -> None:
        self.nvim = nvim
        self.ui = Ui(nvim)
        self.jobs: dict[int, Job] = {}
        self.pending = 0  # worker threads still running, cancelled ones included
        self._ids = itertools.count(1)

    def cwd(self) -> str:
        return _cwd(self.nvim, self.nvim.current.buffer)

    # ------------------------------------------------------------------------------ start and cancel

    def start(self, args: RunArgs, line_range: list[int], preview: bool) -> None:
        buffer = self.nvim.current.buffer
        if buffer.number in self.jobs:
            job = self.jobs[buffer.number]
            state = "is still running" if job.waiting is None else "has a result waiting for the end of Insert mode"
            raise UserError(f"{job.title} {state}; :GptCancel stops it")
        try:
            default = writer_target(self.nvim.vars.get("gpt_tools_writer_target"))
        except ValueError as exc:
            raise UserError(str(exc)) from None
        # Refused before anything is sent unless the result may open elsewhere: a writer's goes to
        # g:gpt_tools_writer_target (the assistant is known only in the worker; a rewriter's result for
        # a buffer still not 'modifiable' then is offered in a diff split, never lost).
        elsewhere = args.target in SHOWN or (args.target is None and default in SHOWN)
        if not preview and not elsewhere and not buffer.options["modifiable"]:
            raise UserError(
                "the buffer is not 'modifiable'; :GptRun! shows the result without applying it, "
                "and --target split (or enew, popup) shows it elsewhere"
            )
        snapshot = list(buffer.api.get_lines(0, -1, True))
        first, last = line_range[0] - 1, line_range[1]
        job = Job(
            id=next(self._ids),
            bufnr=buffer.number,
            label=_label(buffer),
            args=args,
            first=first,
            last=last,
            snapshot=snapshot,
            tick=int(buffer.api.get_changedtick()),
            preview=preview,
            cwd=(folder := _cwd(self.nvim, buffer)),
            files_cwd=folder,
            whole=first == 0 and last == len(snapshot),
            writer_target=default,
            filetype=str(buffer.options["filetype"]),
        )
        text = job.sent = lines_to_text(job.original, first + 1)
        self.jobs[job.bufnr] = job
        self.count(+1)
        threading.Thread(target=self._work, args=(job, text), name=f"gpt-tools-{job.id}", daemon=True).start()
        threading.Thread(target=self._tick, args=(job,), name=f"gpt-tools-{job.id}-tick", daemon=True).start()
        self.ui.progress(f"{job.title}…")

    def refuse(self, assistant: str, message: str) -> None:
        """A run that could not start: said like any other failure (message, g:gpt_tools_last, event)."""
        info = {"status": "error", "buffer": self.nvim.current.buffer.number, "assistant": assistant}
        self.ui.done({**info, "message": message, "seconds": 0}, message, "ERROR")

    def cancel(self, everywhere: bool, quiet: bool = False) -> int:
        """Cancel this buffer's run (every run); how many. Unless quiet, says so when there was none."""
        bufnr = self.nvim.current.buffer.number
        jobs = list(self.jobs.values()) if everywhere else [self.jobs[bufnr]] if bufnr in self.jobs else []
        if not jobs and not quiet:
            self.ui.notify("no GptRun in flight" + ("" if everywhere else " for this buffer"), "WARN")
        for job in jobs:
            del self.jobs[job.bufnr]
            job.cancel.set()  # the core stops at its next check; its outcome is then dropped
            if job.waiting is not None:  # a result held back until InsertLeave: drop it
                self.ui.forget(job.waiting)
                job.waiting = job.result = None
            self._report(job, "cancelled", f"{job.title} cancelled; the buffer was left unchanged", "WARN")
        return len(jobs)

    def resume(self, job_id: int) -> None:
        """InsertLeave after a result was held back: the normal apply path again, all its checks included."""
        job = next((job for job in self.jobs.values() if job.id == job_id and job.waiting is not None), None)
        if job is None:
            return  # cancelled meanwhile (already reported): the result is dropped
        result, job.waiting, job.result = job.result, None, None
        self._deliver_safely(job, result, 0)

    def _deliver_safely(self, job: Job, result: Any, attempt: int) -> None:
        """`_deliver`, from the loop's callbacks: a failure there (a bug, Neovim refusing a window)
        must not leave the job in flight for good (every later :GptRun refused), nor the user without
        a word; the buffer is not touched by it."""
        try:
            self._deliver(job, result, attempt)
        except Exception as exc:
            message = f"{job.title}: internal error ({type(exc).__name__}: {' '.join(str(exc).split())})"
            self._report(job, "error", message + "; the buffer was left unchanged", "ERROR")

    def shutdown(self) -> None:
        for job in self.jobs.values():
            job.cancel.set()

    # ------------------------------------------------------------------------------ worker threads

    def _work(self, job: Job, text: str) -> None:
        outcome = JobEnd()

        def on_delta(delta: str) -> None:
            job.received += len(delta)

        def on_retry(notice: Any) -> None:
            message = f"{job.title}: retry {notice.attempt}/{notice.max_retries} in {notice.wait:.0f} s"
            self.nvim.async_call(self._warn_if_current, job, f"{message} ({notice.reason})")

        try:
            outcome.result = self._run(job, text, on_delta, on_retry)
        except BaseException as exc:  # every failure must reach the user, none may reach the buffer
            outcome.error, outcome.cancelled = core.describe(exc)
            outcome.advice = core.advice(exc)
        finally:
            job.done.set()
            self.nvim.async_call(self._finish, job, outcome)

    @staticmethod
    def _run(job: Job, text: str, on_delta: Any, on_retry: Any) -> Any:
        """The run, in the worker: the assistant decides where its result goes (job.target)."""
        gpt = core.load()
        config = gpt.load_config(job.cwd)
        assistant = config.assistant(job.assistant)
        job.choose_target(assistant.rewrites)  # read on the loop only after this thread is done
        args = job.args
        return gpt.run(
            assistant.name,
            text,
            files=[read_attachment(gpt, name, job.files_cwd) for name in args.input_files],
            model=args.model,
            backend=args.backend,
            extra_instructions=args.instruct,
            allow_secrets=args.allow_secrets,
            on_delta=on_delta,
            on_retry=on_retry,
            cancel=job.cancel,
            config=config,
            cwd=job.cwd,
            frontend="nvim",
        )

    def _tick(self, job: Job) -> None:
        while not job.done.wait(PROGRESS_EVERY) and not job.cancel.is_set():
            self.nvim.async_call(self._progress, job)

    # ------------------------------------------------------------------------------ back on the loop

    def count(self, step: int) -> None:
        """Worker threads still running (runs and chat replies): g:gpt_tools_pending."""
        self.pending += step
        self.ui.set_pending(self.pending)

    def _current(self, job: Job) -> bool:
        return self.jobs.get(job.bufnr) is job

    def _progress(self, job: Job) -> None:
        if self._current(job):
            streamed = f", {job.received:,} characters" if job.received else ""
            self.ui.progress(f"{job.title}: {job.elapsed():.0f} s{streamed}")

    def _warn_if_current(self, job: Job, message: str) -> None:
        if self._current(job):
            self.ui.notify(message, "WARN")

    def _finish(self, job: Job, outcome: JobEnd) -> None:
        self.count(-1)
        if not self._current(job):
            return  # cancelled (already reported) or superseded: touch nothing
        if outcome.result is None:
            status = "cancelled" if outcome.cancelled else "error"
            message = f"{job.title} failed: {outcome.error}; the buffer was left unchanged"
            self._report(job, status, core.advice_first(job.title, outcome.advice, message), "ERROR")
        else:
            self._deliver_safely(job, outcome.result, 0)

    def _buffer(self, bufnr: int) -> Buffer | None:
        api = self.nvim.api
        if api.buf_is_valid(bufnr) and api.buf_is_loaded(bufnr):
            return self.nvim.buffers[bufnr]
        return None

    def _deliver(self, job: Job, result: Any, attempt: int) -> None:
        """Apply, offer or hold back the result. The job stays in self.jobs until it is reported."""
        if not self._current(job):
            return  # cancelled while a retry or the end of Insert mode was awaited: touch nothing
        lines = text_to_lines(result.text)
        buffer = self._buffer(job.bufnr)
        cost = usage_line(result, job.elapsed())
        if job.target in SHOWN:
            self._show(job, lines, result, attempt, cost)
        elif buffer is None:
            self._offer(
                job, lines, result, "conflict", f"{job.title}: the buffer is gone; result in a scratch split ({cost})"
            )
        elif (
            job.preview
            and (planned := self._plan(job, result)) is not None
            and (tick := self._unedited_tick(job, buffer)) is not None
        ):
            self._review(job, planned, result, tick, cost)
        elif job.preview:
            message = f"{job.title}: preview in a diff split ({DIFF_KEYS}), nothing applied ({cost})"
            self._offer(job, lines, result, "preview", message)
        elif (tick := self._unedited_tick(job, buffer)) is None:
            message = f"{job.title}: the buffer changed meanwhile, so nothing was overwritten; the result is "
            self._offer(job, lines, result, "conflict", message + f"in a diff split ({DIFF_KEYS}) ({cost})")
        else:
            self._apply(job, lines, result, tick, attempt)

    @staticmethod
    def _unedited_tick(job: Job, buffer: Buffer) -> int | None:
        """The changedtick, if the text is the one the run started from; None if the user edited it.

        An edit undone again (changedtick moved, text identical) is no edit.
        """
        tick = int(buffer.api.get_changedtick())
        if tick == job.tick or list(buffer.api.get_lines(0, -1, True)) == job.snapshot:
            return tick
        return None

    def _plan(self, job: Job, result: Any) -> list[edits.Change] | None:
        """An edits-mode result as individual changes; None: replace the range whole (document mode),
        or put the result elsewhere (--target append: the fixed text goes below the range)."""
        if job.target != "replace":
            return None
        return edits.plan(job.sent, job.original, result, job.first + 1)

    def _review(self, job: Job, planned: list[edits.Change], result: Any, tick: int, cost: str) -> None:
        """:GptRun! in edits mode: the review list; the user takes or drops each edit, :w applies them."""
        if not planned:
            self._report(job, "preview", f"{job.title}: no edits to review ({cost})", "INFO", result)
            return
        name = f"gpt-tools://{job.id}/{job.assistant}/{job.label}/edits"
        if not self.ui.review(job.bufnr, tick, job.first, [c.as_dict() for c in planned], name, job.title):
            self._retry(job, result, 0)  # the command-line window is open: the list opens after it
            return
        message = f"{job.title}: {len(planned)} edit(s) to review (a all, d none, x/<CR> toggle, :w apply) ({cost})"
        self._report(job, "preview", message, "INFO", result)

    def _change(self, job: Job, lines: list[str], result: Any, tick: int) -> tuple[str, str] | None:
        """Make the change in one call (mode check, changedtick check and the change: nothing comes
        between): (state, what was done), or None when there is nothing to change."""
        planned = self._plan(job, result)
        if planned is not None:  # edits mode: each edit its own change, the rest of the buffer untouched
            if not planned:
                return None
            changes = [c.as_dict() for c in planned]
            return self.ui.apply_edits(job.bufnr, tick, job.first, changes), f"{len(planned)} edit(s) applied"
        wanted = job.new_range(lines)
        span = replacement(job.original, wanted)
        if span is None:
            return None
        start, end, new = span
        if job.target == "append":
            changed = f"{len(new)} line(s) added below line {job.last}"
        else:
            changed = changed_lines(job.original, wanted)
        return self.ui.apply(job.bufnr, tick, job.first + start, job.first + end, new), changed

    def _show(self, job: Job, lines: list[str], result: Any, attempt: int, cost: str) -> None:
        """--target enew, split or popup: the result opens there; the buffer is never touched."""
        name = f"gpt-tools://{job.id}/{job.assistant}/{job.label}/result"
        state = self.ui.show(job.target, lines, name, job.filetype)
        if state == "insert":
            self._defer(job, lines, result)
        elif state == "busy":
            self._retry(job, result, attempt)
        else:
            where = {"enew": "a new buffer", "split": "a split", "popup": "a popup (q closes it)"}[job.target]
            self._report(job, "ok", f"{job.title}: done, the result is in {where} ({cost})", "INFO", result)

    def _apply(self, job: Job, lines: list[str], result: Any, tick: int, attempt: int) -> None:
        try:
            outcome = self._change(job, lines, result, tick)
        except NvimError as exc:
            if "E565" in str(exc) and attempt < APPLY_RETRIES:  # text-locked: try again shortly
                self._retry(job, result, attempt + 1)
                return
            self._offer(job, lines, result, "conflict", f"{job.title}: could not apply ({exc}); result in a diff split")
            return
        if outcome is None:
            self._report(
                job, "ok", f"{job.title}: done, no changes ({usage_line(result, job.elapsed())})", "INFO", result
            )
            return
        state, changed = outcome
        if state == "insert":
            self._defer(job, lines, result)
        elif state == "busy":  # Neovim waits for a key (pending operator, prompt): look again shortly
            self._retry(job, result, attempt)
        elif state == "changed" and attempt < APPLY_RETRIES:  # an edit came between check and apply
            self._deliver(job, result, attempt + 1)
        elif state == "changed":
            message = f"{job.title}: the buffer keeps changing; result in a diff split"
            self._offer(job, lines, result, "conflict", message)
        else:
            self._report(
                job,
                "ok",
                f"{job.title}: done, {changed}, u undoes ({usage_line(result, job.elapsed())})",
                "INFO",
                result,
            )

    def _retry(self, job: Job, result: Any, attempt: int) -> None:
        timer = threading.Timer(APPLY_RETRY_WAIT, self.nvim.async_call, (self._deliver_safely, job, result, attempt))
        timer.daemon = True
        timer.start()

    def _defer(self, job: Job, lines: list[str], result: Any) -> None:
        """The user is in Insert mode: hold the result back until InsertLeave, then `resume`."""
        waiting = self.ui.defer(job.id)
        if waiting is None:  # GptToolsResume is not registered: a manifest from before it existed
            message = f"{job.title}: result in a diff split, not applied during Insert mode (:UpdateRemotePlugins)"
            self._offer(job, lines, result, "conflict", message)
            return
        job.waiting, job.result = waiting, result
        self.ui.progress(f"{job.title}: result ready; applies when you leave insert mode")

    def _offer(self, job: Job, lines: list[str], result: Any, status: str, message: str) -> None:
        proposed = job.snapshot[: job.first] + job.new_range(lines) + job.snapshot[job.last :]
        alive = self._buffer(job.bufnr) is not None
        name = f"gpt-tools://{job.id}/{job.assistant}/{job.label}"
        if self.ui.offer(job.bufnr, proposed if alive else lines, name, job.snapshot) == "busy":
            self._retry(job, result, 0)  # the command-line window is open: the split opens after it
            return
        self._report(job, status, message, "WARN" if status == "conflict" else "INFO", result)

    def _report(self, job: Job, status: str, message: str, level: str, result: Any = None) -> None:
        """The end of a run, whatever it was: the buffer is free for the next one."""
        if self._current(job):
            del self.jobs[job.bufnr]
        refused = edits.refusals(result, job.first + 1)
        if refused:  # the summary says how many; the message history has each one in full
            message += f"; {len(refused)} edit(s) not applied (:messages)"
        info = completion(status, job.elapsed(), result, buffer=job.bufnr, assistant=job.assistant, message=message)
        if refused:
            info["refused"] = refused
            self.ui.history(refused, "WARN")
        self.ui.done(info, message, level)
