"""The click options behind RunFlags, for `gpt-tools run` and `chat`.

Apart from runsettings.py (which parses and checks them) because gpt-filter shares that checking but
parses its argv with argparse: importing click there would cost a filter call about 25 ms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

_Decorator = Callable[[Any], Any]


def _sampling() -> list[_Decorator]:
    """--temperature, --max-output-tokens and -O: what `run`, `chat` (and gpt-filter's argparse) share."""
    return [
        click.option("--temperature", metavar="T", help="Sampling temperature for this run, 0-2."),
        click.option("--max-output-tokens", metavar="N", help="Most tokens the reply may take, for this run."),
        click.option(
            "-O",
            "--option",
            "options",
            nargs=2,
            multiple=True,
            metavar="KEY VALUE",
            help="Any config setting for this run (repeatable), checked like the config: "
            "-O reasoning_effort low -O read_timeout 600.",
        ),
    ]


def _applied(command: click.decorators.FC, options: Sequence[_Decorator]) -> click.decorators.FC:
    for option in reversed(options):
        command = option(command)
    return command


def run_flags(command: click.decorators.FC) -> click.decorators.FC:
    """The options behind RunFlags, added to `gpt-tools run`."""
    options = [
        click.option(
            "-s",
            "--system",
            metavar="TEXT",
            help="Instructions for this run instead of the assistant's. Without NAME it runs the plain "
            "Assistant, and a first word that is not an assistant's name is a FILE.",
        ),
        click.option(
            "-p",
            "--prompt",
            metavar="TEXT",
            help='An ad-hoc request (what `gpt-tools "TEXT"` runs): a piped stdin is its material unless FILES '
            "are given. Without NAME it runs the plain Assistant.",
        ),
        click.option("--bare", is_flag=True, hidden=True),  # set by `gpt-tools WORD ...` (cli/adhoc.py)
        *_sampling(),
        click.option(
            "--no-stream", "stream", flag_value=False, default=None, help="Wait for the whole reply; do not stream."
        ),
        click.option(
            "--no-cache",
            is_flag=True,
            help="Ask again even for a document the result cache knows; nothing is read from it or stored.",
        ),
    ]
    return _applied(command, options)


def chat_flags(command: click.decorators.FC) -> click.decorators.FC:
    """`gpt-tools chat`'s share of RunFlags: -s and the sampling options, for every turn."""
    system = click.option(
        "-s",
        "--system",
        metavar="TEXT",
        help="Instructions for this chat instead of the assistant's; without NAME, the plain Assistant's chat.",
    )
    return _applied(command, [system, *_sampling()])
