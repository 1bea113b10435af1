"""`gpt-tools trust`: let a project set what decides where the key and documents go."""

from __future__ import annotations

from pathlib import Path

import click

from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.cli.safe_text import printable
from gpt_tools.config.loader import _read_toml, load_base_config
from gpt_tools.config.trust import config_in, gated_values, state, trust, trusted_list
from gpt_tools.state import paths


def _project_folder(folder: str | None) -> Path:
    """The folder of the project config found from FOLDER (default: here), walking up as a run does:
    `gpt-tools trust .` in docs/ trusts the project docs/ belongs to, the one trust is checked for.
    FOLDER itself when no config is found (trusted ahead of its config)."""
    start = Path(folder or Path.cwd()).resolve()
    if folder is None and paths.explicit_config_file() is not None:
        return start
    found = next((place for place in (start, *start.parents) if config_in(place) is not None), None)
    return found or start


@click.command("trust")
@click.argument("folder", required=False, type=click.Path(file_okay=False, exists=True))
@click.option("--remove", is_flag=True, help="Stop trusting the folder.")
@click.option("--list", "list_only", is_flag=True, help="List the trusted folders.")
def trust_command(folder: str | None, remove: bool, list_only: bool) -> int:
    """Let the project in FOLDER (default: this one) decide where your key, documents and run log go.

    Trust-gated: base_url, api_key_env, api_key_cmd, auth_header (where your key goes), store (whether
    the provider keeps your documents), log_texts, run_log and [prices] (what your run log keeps and
    says you spent), and instructions_file or knowledge files outside the project (by name and by where
    they lead: a symlink pointed elsewhere is a change).

    FOLDER may be any folder inside the project: the config found from it, walking up, is trusted.
    Until you trust the project they are refused, and the files it names must lie inside it. Trust is
    for the values the config has now: a change to any of them (a `git pull`) makes the project
    untrusted again, and the refusal says what changed. The list lives in your user config
    (trusted_projects, with a digest of each value in trusted_values). A file named in
    $GPT_TOOLS_CONFIG is always trusted (the way for CI, where a fresh clone never is). Installed only
    as a pre-commit hook, gpt-tools is on no PATH: the hook's refusal names its own gpt-tools by its
    full path, to be typed as shown.
    """
    console = Console(PROGRAM)
    user = paths.user_config_file()
    if list_only:
        entries = trusted_list(_read_toml(user), user) if user.is_file() else []
        console.result("".join(f"{printable(entry)}\n" for entry in entries))
        return 0
    target = _project_folder(folder)
    if remove and folder is not None and str(Path(folder).resolve()) in _records()[0]:
        target = Path(folder).resolve()  # a folder trusted as such (ahead of its config) is removed as named
    found = None if remove else config_in(target)
    before = state(found[0], found[1], *_records()) if found else None
    changed = trust(target, user, remove=remove)
    verb = "no longer trusted" if remove else "trusted"
    keys = list(gated_values(*found)) if found else []
    values = f" with {', '.join(keys)} as they are now" if keys else ""
    since = f"; since it was last trusted: {', '.join(before.changed)}" if before and before.changed else ""
    console.message(printable(f"{target}: {verb}{values}" + ("" if changed else " (already)") + f"{since} ({user})"))
    return 0


def _records() -> tuple[list[str], dict[str, dict[str, str]]]:
    """The trusted folders and their recorded values, as the user config has them now."""
    config = load_base_config()
    return config.trusted, config.trusted_values
