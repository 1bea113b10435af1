"""`gpt-tools assistant ...` and `gpt-tools files ...`: thin click adapters over manager/knowledge.

The seed scripts' underscore spellings (--instruction_name, --input_files, ...) are accepted too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gpt_tools.cli.console import Console
from gpt_tools.cli.safe_text import printable

if TYPE_CHECKING:
    from gpt_tools.config.loader import Config

PROGRAM = "gpt-tools"


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


def _changes(
    model: str | None,
    instruction_name: str | None,
    input_files: tuple[str, ...],
    retrieval: bool | None,
    code: bool | None,
    mode: str | None,
    description: str | None,
) -> object:
    from gpt_tools.config.manager import Changes

    return Changes(
        model, instruction_name, list(input_files) if input_files else None, retrieval, code, mode, description
    )


@click.group("assistant")
def assistant_group() -> None:
    """Create, edit, delete and list assistants in the project's config."""


@assistant_group.command("create")
@click.argument("name")
@_definition_options
def create(name: str, **fields: object) -> int:
    """Add assistant NAME to the project config."""
    from gpt_tools.config.manager import create_assistant

    path = create_assistant(name, _changes(**fields))  # type: ignore[arg-type]
    Console(PROGRAM).message(f"created {name} in {path}")
    return 0


@assistant_group.command("edit")
@click.argument("name")
@click.option("--new-name", "--new_name", "new_name", help="Rename the assistant.")
@_definition_options
def edit(name: str, new_name: str | None, **fields: object) -> int:
    """Change assistant NAME (editing a built-in adds an override to the project config)."""
    from gpt_tools.config.manager import edit_assistant

    path = edit_assistant(name, _changes(**fields), new_name=new_name)  # type: ignore[arg-type]
    Console(PROGRAM).message(f"updated {new_name or name} in {path}")
    return 0


@assistant_group.command("delete")
@click.argument("name")
def delete(name: str) -> int:
    """Remove assistant NAME from the project config."""
    from gpt_tools.config.manager import delete_assistant

    path = delete_assistant(name)
    Console(PROGRAM).message(f"deleted {name} from {path}")
    return 0


@assistant_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_assistants(as_json: bool) -> int:
    """List assistants and where each is defined (same as `gpt-tools list`)."""
    from gpt_tools.cli.main import list_command

    return int(list_command.callback(as_json))  # type: ignore[misc]


@click.group("files")
def files_group() -> None:
    """Knowledge files: sync, list what is uploaded, prune what no assistant uses."""


def _state_roots(config: Config) -> list[Path]:
    """Every state file an assistant of config syncs into: the project's, and the user config's."""
    from gpt_tools.core.knowledge import state_root
    from gpt_tools.state import paths

    roots = [paths.project_root(config.project_root, Path.cwd())]
    roots += [state_root(a) for a in config.assistants.values() if paths.state_file(state_root(a)).exists()]
    return list(dict.fromkeys(root.resolve() for root in roots))


@files_group.command("sync")
@click.argument("names", nargs=-1)
@click.option("--verify", is_flag=True, help="Ask the server what it still has, and heal what it lost.")
@click.option("--allow-secrets", is_flag=True, help="Upload files even if they look like they hold a secret.")
def sync(names: tuple[str, ...], verify: bool, allow_secrets: bool) -> int:
    """Upload and index the knowledge files of NAMES (default: every assistant that has some)."""
    from gpt_tools.config.keys import resolve_endpoint
    from gpt_tools.config.loader import load_config
    from gpt_tools.core.guards import refuse_secrets
    from gpt_tools.core.knowledge import readable_texts
    from gpt_tools.core.knowledge import sync as sync_knowledge
    from gpt_tools.core.runner import resolve_settings

    console = Console(PROGRAM)
    config = load_config()
    chosen = [config.assistant(n) for n in names] or [a for a in config.assistants.values() if a.files]
    if not allow_secrets:  # every file is scanned before the first upload, as a run would
        refuse_secrets({path: text for a in chosen for path, text in readable_texts(a).items()})
    for assistant in chosen:
        settings = resolve_settings(config, assistant, model=None, backend=None)
        spinner = console.progress(printable(f"{assistant.name}: syncing knowledge files"))  # raw on a terminal
        with spinner.running():
            report = sync_knowledge(
                resolve_endpoint(settings),
                assistant,
                verify=verify,
                progress=spinner.relabel,
                timeout=settings.index_timeout,
            )
        console.message(
            f"{assistant.name}: {len(report.file_ids)} files, {report.uploaded} uploaded, "
            f"{report.attached} attached, {report.detached} detached"
            + (f" ({report.vector_store_id})" if report.vector_store_id else "")
        )
    return 0


@files_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_files(as_json: bool) -> int:
    """What was uploaded, and which assistants use each file."""
    from gpt_tools.config.loader import load_config
    from gpt_tools.core.knowledge import StateFile, usage

    rows = [row for root in _state_roots(load_config()) for row in usage(StateFile(root).read())]
    console = Console(PROGRAM)
    if as_json:
        console.result(json.dumps(rows, indent=2) + "\n")
    else:
        lines = [
            printable(f"{r['id']}  {r['bytes']:>9,}  {r['name']}  [{', '.join(r['assistants']) or 'unused'}]")
            for r in rows
        ]
        console.result("\n".join(lines) + ("\n" if lines else ""))
    return 0


@files_group.command("prune")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
def prune(dry_run: bool) -> int:
    """Delete uploaded files that no assistant uses any more (per-run attachments included)."""
    from gpt_tools.config.keys import resolve_endpoint
    from gpt_tools.config.loader import load_config
    from gpt_tools.core.knowledge import StateFile
    from gpt_tools.core.knowledge import prune as prune_files

    config = load_config()
    endpoint = resolve_endpoint(config.settings)
    live = set(config.assistants)
    removed = [
        record
        for root in _state_roots(config)
        for record in prune_files(endpoint, StateFile(root), dry_run=dry_run, live=live)
    ]
    console = Console(PROGRAM)
    for record in removed:
        console.result(printable(f"{'would delete' if dry_run else 'deleted'} {record['id']} {record['name']}") + "\n")
    console.message(f"{len(removed)} unused files {'to delete' if dry_run else 'deleted'}")
    return 0


@click.command("trust")
@click.argument("folder", required=False, type=click.Path(file_okay=False, exists=True))
@click.option("--remove", is_flag=True, help="Stop trusting the folder.")
@click.option("--list", "list_only", is_flag=True, help="List the trusted folders.")
def trust_command(folder: str | None, remove: bool, list_only: bool) -> int:
    """Let the project in FOLDER (default: here) set base_url, api_key_env, api_key_cmd, auth_header, store.

    A repository's config with those settings decides where your API key or your documents go (and
    log_texts, run_log, [prices] what your run log keeps); they are refused, and the files it names
    must lie inside it, until you trust the project. The list lives in your user config (trusted_projects).
    """
    from gpt_tools.config.loader import _read_toml
    from gpt_tools.config.trust import trust, trusted_list
    from gpt_tools.state import paths

    console = Console(PROGRAM)
    user = paths.user_config_file()
    if list_only:
        entries = trusted_list(_read_toml(user), user) if user.is_file() else []
        console.result("".join(f"{printable(entry)}\n" for entry in entries))
        return 0
    target = Path(folder or Path.cwd()).resolve()
    changed = trust(target, user, remove=remove)
    verb = "no longer trusted" if remove else "trusted"
    console.message(f"{target}: {verb}" + ("" if changed else " (already)") + f" ({user})")
    return 0
