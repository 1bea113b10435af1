"""The argument line of `:GptRun`: gpt-filter's argv, split by shell word rules, plus `--target`.

One syntax for `:GptRun` (Neovim) and `:GptFilter` (Vim), the one `gpt-filter` takes on a shell's
command line: `NAME [-m MODEL] [-i TEXT] [--backend B] [--input-files F...] [--allow-secrets]`. The
command gets the line raw (`-nargs=?` hands it over unsplit) and it is split here with `shlex`: quotes
and backslashes as in a POSIX shell, nothing expanded (`$HOME`, `~`, `*`, `%` stay as typed). The
cases both editors must agree on: tests/fixtures/editor_args.json.

`--target` is Neovim's own: where a result goes (`replace`, `append`, `enew`, `split`, `popup`).
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass
from typing import NoReturn

TARGETS = ("replace", "append", "enew", "split", "popup")
USAGE = (
    ":[range]GptRun[!] NAME [-m MODEL] [-i TEXT] [--backend B] [--input-files F...] [--allow-secrets] "
    f"[--target {'|'.join(TARGETS)}]"
)
OPTIONS = ("-m", "--model", "-i", "--instruct", "--backend", "--input-files", "--allow-secrets", "--target")


class ArgsError(ValueError):
    """The argument line cannot be read; nothing was started."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting (Neovim has no stderr to print to)."""

    def error(self, message: str) -> NoReturn:
        raise ArgsError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise ArgsError(message or USAGE)


@dataclass(frozen=True, kw_only=True)
class RunArgs:
    assistant: str
    model: str | None = None
    instruct: str | None = None
    backend: str | None = None
    input_files: tuple[str, ...] = ()
    allow_secrets: bool = False
    target: str | None = None  # None: the default for the assistant (replace, or g:gpt_tools_writer_target)


def split(line: str) -> list[str]:
    """The words of line by POSIX shell rules, nothing expanded; ArgsError on an unclosed quote or a
    backslash at the very end."""
    try:
        return shlex.split(line)
    except ValueError as exc:  # shlex's only failures: an unclosed quote, a final backslash
        raise ArgsError(f"{exc} in {line.strip()!r}") from None


def _parser() -> _Parser:
    parser = _Parser(prog="GptRun", add_help=False, allow_abbrev=False)
    parser.add_argument("assistant", nargs="?")
    parser.add_argument("-m", "--model")
    parser.add_argument("-i", "--instruct")
    parser.add_argument("--backend")
    parser.add_argument("--input-files", "--input_files", nargs="+", default=[])
    parser.add_argument("--allow-secrets", action="store_true")
    parser.add_argument("--target", choices=TARGETS)
    parser.add_argument("--dry-run", action="store_true")  # refused by parse(), with the reason
    return parser


def parse(line: str) -> RunArgs:
    """`:GptRun`'s arguments; ArgsError (naming the usage) when they are not gpt-filter's."""
    try:
        parsed, rest = _parser().parse_known_args(split(line))
    except ArgsError as exc:
        raise ArgsError(f"{exc}; usage: {USAGE}") from None
    if rest:
        hint = ' (extra instructions go after -i, quoted: -i "...")' if not rest[0].startswith("-") else ""
        raise ArgsError(f"unexpected {' '.join(rest)!r}{hint}; usage: {USAGE}")
    if parsed.dry_run:  # the core's preview is not public API: the plugin cannot say what it would send
        raise ArgsError("--dry-run is gpt-filter's only (:GptFilter, :%!gpt-filter); :GptRun! reviews a result")
    if not parsed.assistant:
        files = " ".join(parsed.input_files)
        took = f" (--input-files took {files}: end the list with --)" if files else ""
        raise ArgsError(f"no assistant named{took}; usage: {USAGE}")
    return RunArgs(
        assistant=parsed.assistant,
        model=parsed.model,
        instruct=parsed.instruct,
        backend=parsed.backend,
        input_files=tuple(parsed.input_files),
        allow_secrets=parsed.allow_secrets,
        target=parsed.target,
    )


def first_word(line: str) -> str:
    """The assistant name (for messages, also about a line that could not be parsed): the first word
    by the same shell rules (a quoted name with spaces is one word), else as typed up to a space."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    return words[0] if words else ""


def completing(line: str) -> tuple[str, str | None]:
    """(the word being completed, the option it is the value of, if any) of a command line being typed.

    line is the command line up to the cursor, without the command name. An unclosed quote is part of
    the word (so `-i "wor` completes nothing)."""
    try:
        words = shlex.split(line)
    except ValueError:
        return "", "-i"
    if not line or line[-1].isspace():
        words.append("")
    lead = words[-1]
    before = words[-2] if len(words) > 1 else None
    return lead, before if before in OPTIONS else None
