"""A run's row in the run log: what it used, cost and came to, built from the run's own values.

The run log (state/runlog.py) only stores rows; what a run's outcome means for its row (billed or
not, which status, which texts may be kept) is decided here, where runs are known.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gpt_tools.config.definitions import Assistant, Settings
from gpt_tools.config.loader import Config
from gpt_tools.core.plan import Resolved
from gpt_tools.core.records import Result
from gpt_tools.errors import Cancelled, InputRefused, ReplyRejected, UsageError
from gpt_tools.redact import redact
from gpt_tools.state import runlog
from gpt_tools.state.runlog import Frontend, RunStatus
from gpt_tools.wire.backends import Usage


def _status(error: BaseException | None) -> RunStatus:
    if error is None:
        return "ok"
    if isinstance(error, (Cancelled, KeyboardInterrupt)):
        return "cancelled"
    return "rejected" if isinstance(error, ReplyRejected) else "error"


def logged(error: BaseException) -> bool:
    """Whether a failure is a run: a usage or config error (a missing key, an unknown option value)
    sent nothing and is the invocation's mistake, not a run; a refused input is the guards' decision."""
    return not isinstance(error, UsageError) or isinstance(error, InputRefused)


def run_record(
    *,
    assistant: Assistant,
    settings: Settings,
    frontend: Frontend,
    duration: float,
    text: str,
    result: Result | None = None,
    error: BaseException | None = None,
) -> runlog.Record:
    """The row for one run of `runner.run()`, whatever its outcome."""
    billed = getattr(error, "usage", None)
    if not isinstance(billed, Usage) or billed == Usage():  # a cut stream reports nothing
        billed = None
    usage = result.usage if result else billed or Usage()
    # A server that streams no usage (some Chat Completions servers) answered a request all the same:
    # its tokens are unknown, never 0 in, 0 out at $0.
    unreported = result is not None and result.requests > 0 and result.usage == Usage()
    # An HTTP error or a refusal before sending bills nothing ($0); a reply cut short, refused by the
    # guards or cancelled mid-stream was billed for what the server produced, unknown unless it said.
    # A refusal remembered from an earlier run (the result cache) sent nothing this time: a true $0.
    remembered = isinstance(error, ReplyRejected) and error.remembered
    known = (not isinstance(error, (ReplyRejected, Cancelled)) or billed is not None or remembered) and not unreported
    return runlog.Record(
        frontend=frontend,
        assistant=assistant.name,
        model=result.model if result else settings.model,
        backend=settings.backend,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        duration=duration,
        status=_status(error),
        # Redacted before it is cut: a key cut in half would no longer be recognised (and its start kept).
        error=redact(f"{type(error).__name__}: {error}")[:500] if error else None,
        cache_hit=bool(result and result.requests == 0),
        requests=result.requests if result else 0,
        # A refused input may be refused *because* it holds a secret: never keep it.
        input_text=text if settings.log_texts and not isinstance(error, InputRefused) else None,
        # A refused reply is kept as the run's output (log_texts only): `logs --show-rejected` shows it.
        output_text=(result.text if result else getattr(error, "reply_text", None)) if settings.log_texts else None,
        priced=known,  # refused before sending: truly $0; failed after: unknown unless the server said
        request_id=result.request_id if result else getattr(error, "request_id", None),
    )


def record_run(
    config: Config,
    assistant: Assistant,
    settings: Settings,
    frontend: Frontend,
    duration: float,
    text: str,
    *,
    result: Result | None = None,
    error: BaseException | None = None,
) -> None:
    """Log one run, whatever its outcome; never raises for the log's sake (nor when run_log = false)."""
    if not settings.run_log:
        return
    record = run_record(
        assistant=assistant,
        settings=settings,
        frontend=frontend,
        duration=duration,
        text=text,
        result=result,
        error=error,
    )
    runlog.append(record, prices={**runlog.PRICES, **config.prices})


@dataclass(frozen=True, kw_only=True)
class RunLogged:
    """The run log's side of one run in progress: `succeeded` or `failed` adds its row."""

    resolved: Resolved
    frontend: Frontend
    text: str
    started: float

    def succeeded(self, result: Result) -> None:
        self._record(result=result)

    def failed(self, error: BaseException) -> None:
        if logged(error):
            self._record(error=error)

    def _record(self, *, result: Result | None = None, error: BaseException | None = None) -> None:
        resolved = self.resolved
        duration = time.monotonic() - self.started
        record_run(
            resolved.config, resolved.assistant, resolved.settings, self.frontend, duration, self.text,
            result=result, error=error,
        )  # fmt: skip
