"""`gpt-tools`: run, list and show assistants. Exit status: 0 ok, 1 run failed, 2 nothing sent."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import click

from gpt_tools import __version__
from gpt_tools.cli.console import Console, reserve_std_fds
from gpt_tools.errors import GptToolsError

PROGRAM = "gpt-tools"


@dataclass(frozen=True)
class RunOptions:
    name: str
    files: tuple[str, ...]
    attachments: tuple[str, ...]
    input_text: str | None
    instruct: str | None
    model: str | None
    backend: str | None
    output_file: str | None
    as_json: bool
    allow_secrets: bool
    dry_run: bool = False
    continue_last: bool = False
    conversation_id: str | None = None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name=PROGRAM)
def cli() -> None:
    """Run named LLM assistants over your text."""


@cli.command("run")
@click.argument("name", required=False)
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--assistant-name", "--assistant_name", "assistant_name", help="The assistant (instead of NAME).")
@click.option(
    "--input-files",
    "--input_files",
    "input_files",
    multiple=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Files to attach to this run: text goes in as text, others (PDF, images) are uploaded.",
)
@click.option("--list", "list_only", is_flag=True, help="List assistants and exit (the seed runner's --list).")
@click.option("-t", "--input-text", "--input_text", help="Text to send (a rewriter's document, or a writer's request).")
@click.option("-i", "--instruct", metavar="TEXT", help="Extra instructions for this run.")
@click.option("-m", "--model", help="Model to use instead of the assistant's.")
@click.option("--backend", help="Backend: openai, chat, or an installed plugin's.")
@click.option(
    "-o", "--output-file", "--output_file", type=click.Path(dir_okay=False), help="Write the result here (atomically)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result and its usage as JSON.")
@click.option("--allow-secrets", is_flag=True, help="Send text even if it looks like it holds a secret.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent and its estimated cost; send nothing.")
@click.option("--continue", "continue_last", is_flag=True, help="Continue this project's last conversation.")
@click.option("--conversation", "conversation_id", metavar="ID", help="Continue conversation ID (or `last`).")
def run_command(
    name: str | None,
    files: tuple[str, ...],
    assistant_name: str | None,
    input_files: tuple[str, ...],
    list_only: bool,
    input_text: str | None,
    instruct: str | None,
    model: str | None,
    backend: str | None,
    output_file: str | None,
    as_json: bool,
    allow_secrets: bool,
    dry_run: bool,
    continue_last: bool,
    conversation_id: str | None,
) -> int:
    """Run assistant NAME over FILES, --input-text or stdin."""
    if list_only:
        return int(list_command.callback(as_json))  # type: ignore[misc]
    chosen = assistant_name or name
    if chosen is None:
        raise click.UsageError("missing the assistant: give NAME or --assistant-name")
    if assistant_name and name:
        files = (name, *files)  # with --assistant-name, a bare first word is a file
    options = RunOptions(
        chosen,
        files,
        input_files,
        input_text,
        instruct,
        model,
        backend,
        output_file,
        as_json,
        allow_secrets,
        dry_run,
        continue_last,
        conversation_id,
    )
    from gpt_tools.cli.run import execute

    return execute(options, Console(PROGRAM))


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_command(as_json: bool) -> int:
    """List assistants and where each is defined."""
    from gpt_tools.config.loader import load_config

    config = load_config()
    rows = [
        {
            "name": a.name,
            "mode": a.mode,
            "model": a.model or config.settings.model,
            "source": a.source,
            "description": a.description,
        }
        for a in sorted(config.assistants.values(), key=lambda a: a.name.lower())
    ]
    console = Console(PROGRAM)
    if as_json:
        console.result(json.dumps(rows, indent=2) + "\n")
        return 0
    from gpt_tools.cli.safe_text import printable  # every field may come from a cloned repository's config

    shown = [{key: printable(str(value)) for key, value in row.items()} for row in rows]
    width = max(len(row["name"]) for row in shown)
    lines = [f"{row['name']:<{width}}  {row['mode']:<7}  {row['description']}  [{row['source']}]" for row in shown]
    console.result("\n".join(lines) + "\n")
    return 0


@cli.command("show")
@click.argument("name")
def show_command(name: str) -> int:
    """Show one assistant's full definition."""
    from gpt_tools.config.loader import load_config

    config = load_config()
    assistant = config.assistant(name)
    fields = asdict(assistant)
    instructions = fields.pop("instructions")
    fields["model"] = fields["model"] or f"{config.settings.model} (default)"
    fields["settings"] = dict(fields["settings"])
    from gpt_tools.cli.safe_text import printable

    header = "\n".join(
        f"{key}: {printable(str(value))}" for key, value in fields.items() if value not in ((), {}, None, "")
    )
    Console(PROGRAM).result(f"{header}\n\n{printable(instructions, keep_newlines=True)}")
    return 0


def _spread(args: list[str], options: tuple[str, ...]) -> list[str]:
    """`--input_files a b c` (the seed's argparse nargs='+') as click's repeated options."""
    spread: list[str] = []
    current: str | None = None
    for arg in args:
        if arg in options:
            current = arg
        elif current is not None and not arg.startswith("-"):
            spread += [current, arg]
        else:
            current = None
            spread.append(arg)
    return spread


def _as_filter(args: list[str]) -> list[str]:
    """`gpt-tools run NAME --vim [...]`: the seed's Vim mode, exactly gpt-filter's arguments."""
    rest = [arg for arg in args[1:] if arg != "--vim"]
    if "--assistant_name" in rest or "--assistant-name" in rest:
        flag = "--assistant_name" if "--assistant_name" in rest else "--assistant-name"
        at = rest.index(flag)
        rest = [*rest[at + 1 : at + 2], *rest[:at], *rest[at + 2 :]]
    return rest


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status instead of calling sys.exit (testable in-process)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["run"] and "--vim" in args:
        from gpt_tools.cli.filter import main as filter_main

        return filter_main(_as_filter(args))
    reserve_std_fds()  # a closed fd 1 must not be taken by a file or socket that then gets the result
    console = Console(PROGRAM)
    try:
        args = _spread(args, ("--input-files", "--input_files"))
        status = cli.main(args=args, prog_name=PROGRAM, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        console.error("interrupted")
        return 130
    except GptToolsError as exc:
        console.error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    return status if isinstance(status, int) else 0


def _register_groups() -> None:
    from gpt_tools.cli.batch import batch_group
    from gpt_tools.cli.chat import chat_command
    from gpt_tools.cli.logs import logs_command, usage_command
    from gpt_tools.cli.manage import assistant_group, files_group, trust_command

    cli.add_command(assistant_group)
    cli.add_command(files_group)
    cli.add_command(logs_command)
    cli.add_command(usage_command)
    cli.add_command(trust_command)
    cli.add_command(chat_command)
    cli.add_command(batch_group)


_register_groups()

if __name__ == "__main__":
    sys.exit(main())
