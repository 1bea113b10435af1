"""`gpt-tools list`, `show` and `assistant create/edit/delete/list`: thin click adapters over config.

The seed scripts' underscore spellings (--instruction_name, --input_files, ...) are accepted too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.cli.safe_text import printable
from gpt_tools.config.loader import load_config

if TYPE_CHECKING:  # imported where an edit needs it (below), not for `gpt-tools --help`
    from gpt_tools.config.manager import Changes


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_command(as_json: bool) -> int:
    """List assistants and where each is defined."""
    return print_assistants(as_json=as_json)


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
    return 0


@click.command("show")
@click.argument("name")
def show_command(name: str) -> int:
    """Show one assistant's full definition."""
    config = load_config(inspect=True)  # as in print_assistants
    assistant = config.assistant(name)
    fields = asdict(assistant)
    instructions = fields.pop("instructions")
    fields["model"] = fields["model"] or f"{config.settings.model} (default)"
    fields["settings"] = dict(fields["settings"])
    header = "\n".join(
        f"{key}: {printable(str(value))}" for key, value in fields.items() if value not in ((), {}, None, "")
    )
    Console(PROGRAM).result(f"{header}\n\n{printable(instructions, keep_newlines=True)}")
    return 0


def _definition_options(command: click.decorators.FC) -> click.decorators.FC:
    options = [
        click.option("--model", "-m", help="Model for this assistant."),
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
    )


@click.group("assistant")
def assistant_group() -> None:
    """Create, edit, delete and list assistants in the project's config."""


@assistant_group.command("create")
@click.argument("name")
@_definition_options
def create(name: str, **fields: object) -> int:
    """Add assistant NAME to the project config."""
    # config.manager brings tomlkit (~20 ms): paid by the commands that edit, not by `gpt-tools --help`.
    from gpt_tools.config.manager import create_assistant

    path = create_assistant(name, _changes(fields))
    Console(PROGRAM).message(f"created {name} in {path}")
    return 0


@assistant_group.command("edit")
@click.argument("name")
@click.option("--new-name", "--new_name", "new_name", help="Rename the assistant.")
@_definition_options
def edit(name: str, new_name: str | None, **fields: object) -> int:
    """Change assistant NAME (editing a built-in adds an override to the project config)."""
    # config.manager brings tomlkit (~20 ms): paid by the commands that edit, not by `gpt-tools --help`.
    from gpt_tools.config.manager import edit_assistant

    path = edit_assistant(name, _changes(fields), new_name=new_name)
    Console(PROGRAM).message(f"updated {new_name or name} in {path}")
    return 0


@assistant_group.command("delete")
@click.argument("name")
def delete(name: str) -> int:
    """Remove assistant NAME from the project config."""
    # config.manager brings tomlkit (~20 ms): paid by the commands that edit, not by `gpt-tools --help`.
    from gpt_tools.config.manager import delete_assistant

    path = delete_assistant(name)
    Console(PROGRAM).message(f"deleted {name} from {path}")
    return 0


@assistant_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_assistants(as_json: bool) -> int:
    """List assistants and where each is defined (same as `gpt-tools list`)."""
    return print_assistants(as_json=as_json)
