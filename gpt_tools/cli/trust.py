"""`gpt-tools trust`: let a project set what decides where the key and documents go."""

from __future__ import annotations

from pathlib import Path

import click

from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.cli.safe_text import printable
from gpt_tools.config.loader import _read_toml
from gpt_tools.config.trust import trust, trusted_list
from gpt_tools.state import paths


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
