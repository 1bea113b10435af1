"""Every failure the core can report, each carrying the exit status the front ends use.

Exit statuses (documented in the README): 0 ok, 1 the run failed (network, API, or a reply the guards
refused), 2 nothing was sent (usage, configuration, or input refused before any request).
"""

from __future__ import annotations


class GptToolsError(Exception):
    """Base of every error a user should see as a clear one-line message."""

    exit_code = 1


class UsageError(GptToolsError):
    """The request could not even be built; nothing was sent and nothing cost money."""

    exit_code = 2


class ConfigError(UsageError):
    """A config file is malformed: the message names the file and the key.

    `advice`, when given, is the fix on its own (also in the message): front ends that must cut a
    message short (an editor's one message line) show it first.
    """

    def __init__(self, path: str, key: str | None, problem: str, *, advice: str | None = None) -> None:
        where = f"{path}: {key}" if key else path
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.key = key
        self.advice = advice


class UnknownAssistant(UsageError):
    """The name matches no built-in or configured assistant."""


class MissingKey(UsageError):
    """No API key from the environment or from `api_key_cmd`."""


class InputRefused(UsageError):
    """The input must not be sent as it is (empty, binary, too large, holds a secret)."""


class RunFailed(GptToolsError):
    """The request was sent and did not give a usable reply."""

    usage: object = None  # the tokens the server billed for the unusable reply, when it said (backends.Usage)
    request_id: str | None = None  # the server's x-request-id, when a reply (even a cut one) came


class ApiError(RunFailed):
    """The server answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        param: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code  # the error object's code (else its type): what recovery matches on
        self.request_id = request_id  # the server's x-request-id: what its support asks for
        self.param = param  # the part of the request the error is about ("model", "tools", ...)
        self.path = path  # the request's path, without query: the object it was for ("/files/file-...")


class ReplyRejected(RunFailed):
    """A reply arrived but is not a complete, usable result (incomplete, cut short, empty)."""

    def __init__(self, message: str, *, remembered: bool = False) -> None:
        super().__init__(message)
        self.remembered = remembered  # refused by an earlier run (result cache): no request this time
        self.reply_text: str | None = None  # the refused reply itself, for the run log (log_texts only)


class TurnNotSaved(RunFailed):
    """A conversation turn's reply arrived (and was billed) but could not be saved (a full disk).

    `result` holds the reply (a core.records.Result): front ends deliver it, then report this error.
    """

    def __init__(self, message: str, *, result: object) -> None:
        super().__init__(message)
        self.result = result
        self.usage = getattr(result, "usage", None)  # the run log prices it: it was paid for


class Cancelled(RunFailed):
    """The caller cancelled the run (Ctrl-C, :GptCancel)."""

    exit_code = 130


def exit_status(exc: BaseException) -> int:
    """The exit status every front end gives for exc: the error's own code, 130 for Ctrl-C, else 1.

    Matched by type and `exit_code`, never by message: main, gpt-filter, the hook and the Neovim plugin
    all ask here, so one failure never means two different statuses.
    """
    if isinstance(exc, GptToolsError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return Cancelled.exit_code
    code = getattr(exc, "exit_code", None)  # click's ClickException and its kin carry their own
    return code if isinstance(code, int) and not isinstance(code, bool) else 1
