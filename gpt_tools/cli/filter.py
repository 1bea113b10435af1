"""`gpt-filter NAME`: stdin -> assistant -> stdout, for `:%!gpt-filter NAME` in Vim.

Vim replaces the range with whatever the command prints, even when it fails. So: stdout gets the
result and nothing else; on ANY failure stdout gets the input back byte for byte, the exit status is
non-zero, and the reason goes where it cannot reach the buffer (see console.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, NoReturn

from gpt_tools.cli import report
from gpt_tools.cli.console import Console, reserve_std_fds
from gpt_tools.cli.filter_guard import InputTooLarge, SignalGuard, Signalled
from gpt_tools.cli.report import fail
from gpt_tools.state import paths

if TYPE_CHECKING:  # the run path is imported only once the input is safe (see _filter)
    from gpt_tools.core.inputs import InputFile
    from gpt_tools.core.plan import RunRequest
    from gpt_tools.wire.transport import RetryNotice

PROGRAM = "gpt-filter"


class _Parser(argparse.ArgumentParser):
    """Never writes to stdout or exits: in a filter, stdout belongs to the user's text."""

    def print_help(self, file: object = None) -> None:
        raise _ArgExit(0)

    def error(self, message: str) -> NoReturn:
        raise _ArgError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _ArgExit(status)


class _ArgError(Exception):
    pass


class _ArgExit(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROGRAM,
        description="Run an assistant over stdin and print the result; on failure print the input unchanged.",
        epilog=(  # raw: argparse would break the log file's path at its hyphens
            "Exit status: 0 ok, 1 the run failed, 2 nothing was sent (usage, config or input refused).\n"
            "Messages go to stderr; when stderr is stdout (Vim's :%!), to the terminal if there is one.\n"
            f"Each one is also kept in {paths.log_file()}"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Optional for argparse only, so that a name swallowed by --input-files can be named in the error.
    parser.add_argument("assistant", nargs="?", help="assistant name (see `gpt-tools list`)")
    parser.add_argument("-m", "--model", help="model to use instead of the assistant's")
    parser.add_argument("--backend", help="backend to use (openai, chat, or a plugin's)")
    parser.add_argument("-i", "--instruct", metavar="TEXT", help="extra instructions for this run")
    parser.add_argument(
        "--input-files", "--input_files", nargs="+", default=[], metavar="FILE", help="files to attach to this run"
    )
    parser.add_argument(
        "--allow-secrets", action="store_true", help="send text even if it looks like it holds a secret"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would be sent and cost (not in the text); send nothing"
    )
    parser.add_argument("--temperature", metavar="T", help="sampling temperature for this run, 0-2")
    parser.add_argument("--max-output-tokens", metavar="N", help="most tokens the reply may take, for this run")
    parser.add_argument(
        "-O",
        "--option",
        dest="options",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="any config setting for this run (repeatable), checked like the config: -O reasoning_effort low",
    )
    return parser


def _filter(data: bytes, argv: Sequence[str], console: Console) -> bytes:
    """The bytes to print on success; raises on any failure."""
    args = _parser().parse_args(argv)
    if args.assistant is None:
        took = f": --input-files took {' '.join(args.input_files)}; put the name first, or end the list with --"
        raise _ArgError("the following arguments are required: assistant" + (took if args.input_files else ""))
    # The run path (~80 ms) is imported only now: after the signal guard, which gives the input back
    # on a signal during the import too, and never for --help or a usage error.
    from gpt_tools.cli.inputs import read_attachment
    from gpt_tools.core import runner
    from gpt_tools.core.plan import Hooks
    from gpt_tools.core.preview import preview_request
    from gpt_tools.markdown import textio
    from gpt_tools.wire import retrypolicy

    text = textio.decode_input(data, source="stdin")
    request = _request(args, text, [read_attachment(name) for name in args.input_files])
    if args.dry_run:
        console.message(preview_request(request).describe())
        return data  # the buffer stays exactly as it was
    # An editor waits on the filter with nothing to show: a server that is down is said at once, not
    # after 7-12 s of backoff (other failures are retried as everywhere).
    with retrypolicy.unreachable_fails_fast():
        result = runner.run_request(request, hooks=Hooks(on_retry=partial(_retrying, console)), frontend="filter")
    report.refused_edits(console, result)  # the message channel: Vim's buffer gets the document only
    return result.text.encode("utf-8")


def _request(args: argparse.Namespace, text: str, files: list[InputFile]) -> RunRequest:
    """The run asked for, with this run's --temperature, --max-output-tokens and -O (cli/runsettings.py)."""
    from gpt_tools.cli.runsettings import per_run
    from gpt_tools.config.loader import load_config
    from gpt_tools.core.plan import RunRequest

    per = per_run(
        [tuple(pair) for pair in args.options], temperature=args.temperature, max_output_tokens=args.max_output_tokens
    )
    config = load_config()
    return RunRequest(
        assistant=replace(config.assistant(args.assistant), **per.assistant),
        text=text,
        files=files,
        model=args.model,
        backend=args.backend,
        extra_instructions=args.instruct,
        allow_secrets=args.allow_secrets,
        config=config,
        settings=per.settings,
    )


def main(argv: Sequence[str] | None = None) -> int:
    closed = reserve_std_fds()
    console = Console(PROGRAM, filter_mode=True)
    if 1 in closed:
        console.error("stdout is closed: there is nowhere to put the result; nothing was sent")
        return 2
    guard = SignalGuard(console)
    with guard.installed():
        try:
            return _guarded(guard, console, list(sys.argv[1:] if argv is None else argv))
        except Signalled as stop:  # the input went back when the signal came
            return stop.status


def _guarded(guard: SignalGuard, console: Console, argv: list[str]) -> int:
    try:
        data = guard.read_stdin()
    except InputTooLarge:
        return guard.pass_through()
    except OSError as exc:  # stdin unreadable (a directory, EIO): what was read, if anything, goes back
        return guard.give_back(partial(_say, console, f"cannot read stdin: {exc.strerror or exc}", 2, error=True), 2)
    except Exception as exc:  # MemoryError: what was read goes back
        return guard.give_back(partial(_report, console, exc), 1)
    try:
        result = _filter(data, argv, console)
    except _ArgExit as exc:  # --help: the help text must not replace the user's text either
        return guard.give_back(partial(_say, console, _parser().format_help().rstrip(), exc.status), exc.status)
    except BaseException as exc:
        return guard.give_back(partial(_report, console, exc), 1)
    return guard.deliver(result)


def _retrying(console: Console, notice: RetryNotice) -> None:
    # On the message channel (stderr; the terminal and the log under `:%!`): why nothing arrives yet.
    console.message(f"{notice.reason}; retrying in {notice.wait:.1f} s (retry {notice.attempt}/{notice.max_retries})")


def _say(console: Console, text: str, status: int, *, error: bool = False) -> int:
    console.message(text, error=error)
    return status


def _report(console: Console, exc: BaseException) -> int:
    if isinstance(exc, _ArgError):
        console.error(f"{exc} (usage: {PROGRAM} ASSISTANT [-m MODEL] [-i TEXT]); the text was left unchanged")
        return 2
    return fail(console, exc, after="; the text was left unchanged")


if __name__ == "__main__":
    sys.exit(main())
