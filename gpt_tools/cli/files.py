"""`gpt-tools files sync/list/prune`: knowledge files, thin click adapters over core.knowledge."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from gpt_tools.cli.completion import assistant_names
from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.cli.report import plural
from gpt_tools.cli.safe_text import printable
from gpt_tools.config.loader import Config, load_config
from gpt_tools.state import paths


@click.group("files")
def files_group() -> None:
    """Knowledge files: sync, list what is uploaded, prune what no assistant uses."""


def _state_roots(config: Config) -> list[Path]:
    """Every state file an assistant of config syncs into: the project's, and the user config's."""
    # core.knowledge brings the wire (~40 ms): paid by the files commands, not by `gpt-tools --help`.
    from gpt_tools.core.knowledge import state_root

    roots = [paths.project_root(config.project_root, Path.cwd())]
    roots += [state_root(a) for a in config.assistants.values() if paths.state_file(state_root(a)).exists()]
    return list(dict.fromkeys(root.resolve() for root in roots))


@files_group.command("sync")
@click.argument("names", nargs=-1, shell_complete=assistant_names)
@click.option("--verify", is_flag=True, help="Ask the server what it still has, and heal what it lost.")
@click.option("--allow-secrets", is_flag=True, help="Upload files even if they look like they hold a secret.")
@click.option("--json", "as_json", is_flag=True, help="Print what each assistant's sync did as JSON.")
def sync(names: tuple[str, ...], verify: bool, allow_secrets: bool, as_json: bool) -> int:
    """Upload and index the knowledge files of NAMES (default: every assistant that has some)."""
    # core.knowledge brings the wire (~40 ms): paid by the files commands, not by `gpt-tools --help`.
    from gpt_tools.config.resolve import resolve
    from gpt_tools.core.guards import refuse_secrets
    from gpt_tools.core.knowledge import readable_texts
    from gpt_tools.core.knowledge import sync as sync_knowledge

    console = Console(PROGRAM)
    config = load_config()
    chosen = [config.assistant(n) for n in names] or [a for a in config.assistants.values() if a.files]
    if not allow_secrets:  # every file is scanned before the first upload, as a run would
        refuse_secrets({path: text for a in chosen for path, text in readable_texts(a).items()})
    done: list[dict[str, object]] = []
    for assistant in chosen:
        settings, endpoint = resolve(config, assistant)
        spinner = console.progress(printable(f"{assistant.name}: syncing knowledge files"))  # raw on a terminal
        with spinner.running():
            report = sync_knowledge(
                endpoint,
                assistant,
                verify=verify,
                progress=spinner.relabel,
                timeout=settings.index_timeout,
            )
        console.message(
            f"{assistant.name}: {plural(len(report.file_ids), 'file')}, {report.uploaded} uploaded, "
            f"{report.attached} attached, {report.detached} detached"
            + (f" ({report.vector_store_id})" if report.vector_store_id else "")
        )
        done.append({"assistant": assistant.name, **asdict(report), "file_ids": list(report.file_ids)})
    if as_json:
        console.result(json.dumps(done, indent=2) + "\n")
    return 0


@files_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_files(as_json: bool) -> int:
    """What was uploaded, and which assistants use each file."""
    # core.knowledge brings the wire (~40 ms): paid by the files commands, not by `gpt-tools --help`.
    from gpt_tools.core.knowledge import StateFile
    from gpt_tools.core.knowledge_files import usage, users_of

    config = load_config()
    assistants = config.assistants.values()
    rows = [row for root in _state_roots(config) for row in usage(StateFile(root).read(), users_of(assistants, root))]
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
    # core.knowledge brings the wire (~40 ms): paid by the files commands, not by `gpt-tools --help`.
    from gpt_tools.config.resolve import resolve
    from gpt_tools.core.knowledge import StateFile
    from gpt_tools.core.knowledge_files import prune as prune_files
    from gpt_tools.core.knowledge_files import users_of

    config = load_config()
    endpoint = resolve(config, None)[1]
    live = set(config.assistants)
    # What uses a file is the current config's content (users_of), so a renamed assistant keeps its files.
    users = {root: users_of(config.assistants.values(), root) for root in _state_roots(config)}
    removed = [
        record
        for root, used in users.items()
        for record in prune_files(endpoint, StateFile(root), dry_run=dry_run, live=live, users=used)
    ]
    console = Console(PROGRAM)
    for record in removed:
        console.result(printable(f"{'would delete' if dry_run else 'deleted'} {record['id']} {record['name']}") + "\n")
    console.message(f"{plural(len(removed), 'unused file')} {'to delete' if dry_run else 'deleted'}")
    return 0
