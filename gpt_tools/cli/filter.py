"""`gpt-filter NAME`: stdin -> assistant -> stdout, for `:%!gpt-filter NAME` in Vim.

Vim replaces the range with whatever the command prints, even when it fails. So: stdout gets the
result and nothing else; on ANY failure stdout gets the input back byte for byte, the exit status is
non-zero, and the reason goes where it cannot reach the buffer (see console.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from .console import Console, write_stdout

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
        epilog="Exit status: 0 ok, 1 the run failed, 2 nothing was sent (usage, config or input refused).",
    )
    parser.add_argument("assistant", help="assistant name (see `gpt-tools list`)")
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
    return parser


def _filter(data: bytes, argv: Sequence[str], console: Console) -> bytes:
    """The bytes to print on success; raises on any failure."""
    args = _parser().parse_args(argv)
    from .. import runner, textio
    from .inputs import read_attachment

    text = textio.decode_input(data, source="stdin")
    if args.dry_run:
        from ..preview import preview

        files = [read_attachment(name) for name in args.input_files]
        plan = preview(
            args.assistant,
            text,
            files=files,
            model=args.model,
            backend=args.backend,
            extra_instructions=args.instruct,
            allow_secrets=args.allow_secrets,
        )
        console.message(plan.describe())
        return data  # the buffer stays exactly as it was
    result = runner.run(
        args.assistant,
        text,
        files=[read_attachment(name) for name in args.input_files],
        model=args.model,
        backend=args.backend,
        extra_instructions=args.instruct,
        allow_secrets=args.allow_secrets,
        frontend="filter",
    )
    return result.text.encode("utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    console = Console(PROGRAM, filter_mode=True)
    argv = list(sys.argv[1:] if argv is None else argv)
    data = b""
    try:
        data = sys.stdin.buffer.read()
        write_stdout(_filter(data, argv, console))
        return 0
    except _ArgExit as exc:  # --help: the help text must not replace the user's text either
        console.message(_parser().format_help().rstrip())
        write_stdout(data)
        return exc.status
    except BaseException as exc:
        write_stdout(data)
        return _report(console, exc)


def _report(console: Console, exc: BaseException) -> int:
    from ..errors import GptToolsError

    if isinstance(exc, _ArgError):
        console.error(f"{exc} (usage: {PROGRAM} ASSISTANT [-m MODEL] [-i TEXT]); the text was left unchanged")
        return 2
    if isinstance(exc, KeyboardInterrupt):
        console.error("interrupted; the text was left unchanged")
        return 130
    if isinstance(exc, GptToolsError):
        console.error(f"{exc}; the text was left unchanged")
        return exc.exit_code
    console.error(f"internal error ({type(exc).__name__}: {exc}); the text was left unchanged")
    return 1


if __name__ == "__main__":
    sys.exit(main())
