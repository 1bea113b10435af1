"""`gpt-tools list`, `show` and `assistant create/edit/delete/list`: thin click adapters over config.

The seed scripts' underscore spellings (--instruction_name, --input_files, ...) are accepted too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from gpt_tools.cli.completion import assistant_names, model_names
from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.cli.report import fail_json
from gpt_tools.cli.safe_text import printable
from gpt_tools.config.loader import Config, load_config
from gpt_tools.errors import GptToolsError

if TYPE_CHECKING:  # imported where an edit needs it (below), not for `gpt-tools --help`
    from gpt_tools.config.manager import Changes


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_command(as_json: bool) -> int:
    """List assistants and where each is defined."""
    return json_failures(as_json, lambda: print_assistants(as_json=as_json))


def print_assistants(*, as_json: bool) -> int:
    """`gpt-tools list`, `assistant list` and `run --list`."""
    config = load_config(inspect=True)  # sends nothing: an untrusted base_url & co are left out, not refused
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
    # Every field may come from a cloned repository's config: printed through printable().
    shown = [{key: printable(str(value)) for key, value in row.items()} for row in rows]
    width = max(len(row["name"]) for row in shown)
    lines = [f"{row['name']:<{width}}  {row['mode']:<7}  {row['description']}  [{row['source']}]" for row in shown]
    console.result("\n".join(lines) + "\n")
    note_ignored(console, config)
    return 0


def note_ignored(console: Console, config: Config) -> None:
    """Say which keys of an untrusted project a command that sends nothing left out (load_config(inspect=True))."""
    if config.ignored:  # the names come from a cloned repository's config: printable()
        left_out = f"{config.project_file}: {', '.join(config.ignored)} left out"
        console.message(printable(f"note: {left_out} (the project is not trusted; a run refuses)"))


@click.command("show")
@click.argument("name", shell_complete=assistant_names)
@click.option("--json", "as_json", is_flag=True, help="Print the definition as JSON (the model in effect included).")
def show_command(name: str, as_json: bool) -> int:
    """Show one assistant's full definition."""
    return json_failures(as_json, lambda: _show(name, as_json))


def json_failures(as_json: bool, command: Callable[[], int]) -> int:
    """With --json a failure is a JSON object on stdout too (report.fail_json), with the same exit status."""
    try:
        return command()
    except GptToolsError as exc:
        if not as_json:
            raise
        return fail_json(Console(PROGRAM), exc)


def _show(name: str, as_json: bool) -> int:
    from gpt_tools.config.explain import shown_settings  # here: it brings the wire, which --help must not load

    config = load_config(inspect=True)  # as in print_assistants
    assistant = config.assistant(name)
    fields = asdict(assistant)
    fields["settings"] = shown_settings(assistant.settings)  # a base_url's password is never shown
    if as_json:  # where each field came from is `gpt-tools config show NAME`'s
        fields = {key: value for key, value in fields.items() if key != "origins"}
        fields.update(model=assistant.model or config.settings.model, default_model=assistant.model is None)
        Console(PROGRAM).result(json.dumps({**fields, "settings": dict(fields["settings"])}, indent=2) + "\n")
        return 0
    instructions = fields.pop("instructions")
    fields.pop("origins")  # where each field came from: `gpt-tools config show NAME`
    fields["model"] = fields["model"] or f"{config.settings.model} (default)"
    fields["settings"] = dict(fields["settings"])
    header = "\n".join(
        f"{key}: {printable(str(value))}" for key, value in fields.items() if value not in ((), {}, None, "")
    )
    Console(PROGRAM).result(f"{header}\n\n{printable(instructions, keep_newlines=True)}")
    note_ignored(Console(PROGRAM), config)
    return 0


def _definition_options(command: click.decorators.FC) -> click.decorators.FC:
    options = [
        click.option("--model", "-m", shell_complete=model_names, help="Model for this assistant."),
        click.option(
            "--instruction-name",
            "--instruction_name",
            "instruction_name",
            help="instructions/NAME.md or an assistant's name.",
        ),
        click.option(
            "--input-files", "--input_files", "input_files", multiple=True, help="Knowledge files (repeatable)."
        ),
        click.option(
            "--retrieval-tool/--no-retrieval-tool",
            "--retrieval_tool/--no_retrieval_tool",
            "retrieval",
            default=None,
            help="file_search over the knowledge files.",
        ),
        click.option(
            "--code-tool/--no-code-tool", "--code_tool/--no_code_tool", "code", default=None, help="code_interpreter."
        ),
        click.option("--mode", type=click.Choice(["rewrite", "write"]), help="rewrite: the reply replaces the input."),
        click.option("--description", help="One line for `gpt-tools list`."),
        click.option("--instructions", metavar="TEXT", help="The instructions themselves (instead of a file)."),
        click.option(
            "--instructions-file",
            "--instructions_file",
            "instructions_file",
            metavar="FILE",
            help="A file holding the instructions, recorded relative to the config.",
        ),
        click.option("--temperature", type=float, metavar="T", help="Sampling temperature, 0-2."),
        click.option("--backend", metavar="NAME", help="openai, chat, or an installed plugin's backend."),
        click.option(
            "--base-url",
            "--base_url",
            "base_url",
            metavar="URL",
            help="The server for this assistant (e.g. http://localhost:11434/v1); a project config that sets it "
            "needs `gpt-tools trust`.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _changes(fields: Mapping[str, Any]) -> Changes:
    """The --model, --instruction-name, ... options as the fields a create or edit sets."""
    # config.manager brings tomlkit (~20 ms): paid by the commands that edit, not by `gpt-tools --help`.
    from gpt_tools.config.manager import Changes

    files = fields["input_files"]
    return Changes(
        model=fields["model"],
        instruction_name=fields["instruction_name"],
        input_files=list(files) if files else None,
        retrieval=fields["retrieval"],
        code=fields["code"],
        mode=fields["mode"],
        description=fields["description"],
        instructions=fields["instructions"],
        instructions_file=fields["instructions_file"],
        temperature=fields["temperature"],
        settings={"backend": fields["backend"], "base_url": fields["base_url"]},
    )


@click.group("assistant")
def assistant_group() -> None:
    """Create, edit, delete and list assistants in the project's config."""


def _named(command: click.decorators.FC) -> click.decorators.FC:
    """NAME, or the seed's `--assistant_name N` (manage_chatgpt_assistant.py's spelling)."""
    command = click.option(
        "--assistant-name",
        "--assistant_name",
        "assistant_name",
        metavar="NAME",
        help="The assistant (instead of NAME).",
    )(command)
    return click.argument("name", required=False, shell_complete=assistant_names)(command)


def _the_name(name: str | None, assistant_name: str | None) -> str:
    if name is not None and assistant_name is not None and name != assistant_name:
        raise click.UsageError(f"two names given: {name!r} and --assistant-name {assistant_name!r}; give one")
    chosen = name or assistant_name
    if not chosen:
        raise click.UsageError("missing the assistant: give NAME or --assistant-name")
    return chosen


def _new_name(name: str, where: str = "NAME") -> str:
    """A name a new (or renamed) assistant may take: one that can be typed and read back as it is."""
    if not name.strip() or name != name.strip() or printable(name) != name:
        raise click.UsageError(
            f"{where} '{printable(name)}': a name must not be blank, start or end with a space, "
            "or hold control characters; nothing was written"
        )
    return name


def _say_shadowed(console: Console, name: str) -> None:
    """A name that is also a command: `gpt-tools NAME` is the command, so say how to run it."""
    root = click.get_current_context().find_root().command  # the group: main.py registers this module's commands
    commands = root.commands if isinstance(root, click.Group) else {}
    if name in commands or name == "help":
        console.message(f"note: `{PROGRAM} {name}` is the command; run this assistant as `{PROGRAM} run {name}`")


def _still_loads(console: Console) -> None:
    """A definition that needs trust to be used (base_url in a project config) says so at once."""
    from gpt_tools.errors import ConfigError

    try:
        load_config()
    except ConfigError as exc:
        console.message(f"note: runs refuse this config until that is done: {exc}")


@assistant_group.command("create")
@_named
@_definition_options
def create(name: str | None, assistant_name: str | None, **fields: object) -> int:
    """Add assistant NAME to the project config; --instructions TEXT is llm's `-s TEXT --save NAME`."""
    # config.manager brings tomlkit (~20 ms): paid by the commands that edit, not by `gpt-tools --help`.
    from gpt_tools.config.manager import create_assistant

    name = _new_name(_the_name(name, assistant_name))
    path = create_assistant(name, _changes(fields))
    console = Console(PROGRAM)
    console.message(f"created {name} in {path}")
    _say_shadowed(console, name)
    _still_loads(console)
    return 0


@assistant_group.command("edit")
@_named
@click.option("--new-name", "--new_name", "new_name", help="Rename the assistant.")
@_definition_options
def edit(name: str | None, assistant_name: str | None, new_name: str | None, **fields: object) -> int:
    """Change assistant NAME (editing a built-in adds an override to the project config)."""
    # config.manager brings tomlkit (~20 ms): paid by the commands that edit, not by `gpt-tools --help`.
    from gpt_tools.config.manager import edit_assistant

    name = _the_name(name, assistant_name)
    new_name = _new_name(new_name, "--new-name") if new_name is not None else None
    path = edit_assistant(name, _changes(fields), new_name=new_name)
    console = Console(PROGRAM)
    console.message(f"updated {new_name or name} in {path}")
    if new_name:
        _say_shadowed(console, new_name)
    _still_loads(console)
    return 0


@assistant_group.command("delete")
@_named
def delete(name: str | None, assistant_name: str | None) -> int:
    """Remove assistant NAME from the project config."""
    # config.manager brings tomlkit (~20 ms): paid by the commands that edit, not by `gpt-tools --help`.
    from gpt_tools.config.manager import delete_assistant

    name = _the_name(name, assistant_name)
    path = delete_assistant(name)
    Console(PROGRAM).message(f"deleted {name} from {path}")
    return 0


@assistant_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_assistants(as_json: bool) -> int:
    """List assistants and where each is defined (same as `gpt-tools list`)."""
    return print_assistants(as_json=as_json)
