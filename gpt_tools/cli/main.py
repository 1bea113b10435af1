"""`gpt-tools`: the command group and its entry point. Exit status: 0 ok, 1 run failed, 2 nothing sent.

Registration only: each command group lives in its own module (run, assistants, files, trust, logs,
chat, batch), none of which imports this one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import click

from gpt_tools import __version__
from gpt_tools.cli import filter as gpt_filter
from gpt_tools.cli.adhoc import bare_prompt
from gpt_tools.cli.assistants import assistant_group, list_command, show_command
from gpt_tools.cli.batch import batch_group
from gpt_tools.cli.cache import cache_group
from gpt_tools.cli.chat import chat_command
from gpt_tools.cli.completion import completion_command
from gpt_tools.cli.config_cmd import config_group
from gpt_tools.cli.console import PROGRAM, Console, reserve_std_fds
from gpt_tools.cli.conversations import conversations_group
from gpt_tools.cli.files import files_group
from gpt_tools.cli.logs import logs_command, usage_command
from gpt_tools.cli.lsp import lsp_command
from gpt_tools.cli.models import models_command
from gpt_tools.cli.report import error_json, fail, fail_json
from gpt_tools.cli.run import run_command
from gpt_tools.cli.trust import trust_command
from gpt_tools.errors import GptToolsError


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(__version__, prog_name=PROGRAM)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Run named LLM assistants over your text."""
    if ctx.invoked_subcommand is None:  # bare `gpt-tools`: the help, and success (asking for it is no error)
        Console(PROGRAM).result(ctx.get_help() + "\n")


for _command in (
    run_command,
    list_command,
    show_command,
    assistant_group,
    files_group,
    logs_command,
    usage_command,
    trust_command,
    chat_command,
    batch_group,
    conversations_group,
    lsp_command,
    config_group,
    models_command,
    completion_command,
    cache_group,
):
    cli.add_command(_command)


def _summary(text: str) -> str:
    """A command's whole first sentence: click cuts a summary at the terminal's width with '...'."""
    words = text.partition("\n\n")[0].split()
    for i, word in enumerate(words):
        if word.endswith(".") and (i == len(words) - 1 or not words[i + 1][0].islower()):  # as click reads "vs."
            return " ".join(words[: i + 1])
    return " ".join(words)


def _full_summaries(group: click.Group) -> None:
    """Give every command without one an explicit short_help (never cut; the help wraps it instead)."""
    for command in group.commands.values():
        if command.short_help is None and command.help:
            command.short_help = _summary(command.help)
        if isinstance(command, click.Group):
            _full_summaries(command)
            _bare_group_shows_help(command)


def _bare_group_shows_help(group: click.Group) -> None:
    """`gpt-tools assistant` with no subcommand prints that group's help on stdout and succeeds, as
    bare `gpt-tools` does (click's default is the help on stderr and exit 2). Done here, once, so no
    group can forget it; a group that handles it itself is left alone."""
    if group.invoke_without_command or group.callback is None:
        return
    callback = group.callback

    def shows_help(*args: object, **kwargs: object) -> object:
        ctx = click.get_current_context()
        if ctx.invoked_subcommand is None:
            Console(PROGRAM).result(ctx.get_help() + "\n")
            return None
        return callback(*args, **kwargs)

    group.invoke_without_command, group.no_args_is_help, group.callback = True, False, shows_help


def _spread(args: list[str], options: tuple[str, ...]) -> list[str]:
    """`--input_files a b c` (the seed's argparse nargs='+') as click's repeated options."""
    spread: list[str] = []
    current: str | None = None
    given = False  # whether the current option took a value
    for arg in args:
        if current is not None and arg not in options and (arg == "-" or not arg.startswith("-")):
            spread += [current, arg]  # `-` too, as argparse takes it
            given = True
            continue
        if current is not None and not given:  # never dropped silently: click says it needs a value
            spread.append(current)
        current, given = (arg, False) if arg in options else (None, False)
        if current is None:
            spread.append(arg)
    if current is not None and not given:
        spread.append(current)
    return spread


def _as_filter(args: list[str]) -> list[str]:
    """`gpt-tools run NAME --vim [...]`: the seed's Vim mode, exactly gpt-filter's arguments."""
    rest = [arg for arg in args[1:] if arg != "--vim"]
    if "--assistant_name" in rest or "--assistant-name" in rest:
        flag = "--assistant_name" if "--assistant_name" in rest else "--assistant-name"
        at = rest.index(flag)
        rest = [*rest[at + 1 : at + 2], *rest[:at], *rest[at + 2 :]]
    return rest


def _kind(exc: click.ClickException) -> str:
    return "UsageError" if isinstance(exc, click.UsageError) else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status instead of calling sys.exit (testable in-process)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["run"] and "--vim" in args:
        return gpt_filter.main(_as_filter(args))
    reserve_std_fds()  # a closed fd 1 must not be taken by a file or socket that then gets the result
    console = Console(PROGRAM)
    try:
        # `gpt-tools "question"` first: before the prompt, --input-files takes one file (`gpt-tools
        # --input-files a.pdf "What is it?"`); the seed's lists are spread in the command line it makes.
        args = _spread(bare_prompt(args, cli.commands), ("--input-files", "--input_files"))
        _full_summaries(cli)  # here, after every module has registered its commands
        status = cli.main(args=args, prog_name=PROGRAM, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        if "--json" in args:  # a usage error is a failure too: the --json object says so on stdout
            error = error_json(exc, exc.exit_code, message=exc.format_message(), kind=_kind(exc))
            console.result(json.dumps(error, indent=2) + "\n")
        return exc.exit_code
    except click.exceptions.Abort:
        console.error("interrupted")
        return 130
    except (GptToolsError, KeyboardInterrupt) as exc:
        if "--json" in args:  # raised before a command could say it as JSON (a prompt's first word) or by one
            return fail_json(console, exc)  # that does not itself (models, logs, files --json)
        return fail(console, exc)
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
