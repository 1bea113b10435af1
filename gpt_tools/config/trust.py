"""Which projects may decide where your API key goes.

A repository's config that sets `base_url`, `api_key_env`, `api_key_cmd` or `auth_header` could send
your key (or any environment variable) to another host, or run a command, the moment you run a filter
or commit in a clone; one that sets `log_texts`, `run_log` or `[prices]` could make your run log keep
your texts, hide runs, or misprice what you spend; one that sets `store` would keep every document you
run on the provider's side. Those keys are honoured only for projects you trusted with `gpt-tools trust`
(recorded as `trusted_projects` in your user config), or for a file you named in $GPT_TOOLS_CONFIG.
Until then the files an untrusted project names (instructions_file, knowledge files) must also lie
inside it (config.confinement).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gpt_tools.config.tomledit import dumps, edit_lock, read_document, write_document
from gpt_tools.errors import ConfigError

SENSITIVE = ("base_url", "api_key_env", "api_key_cmd", "auth_header", "log_texts", "run_log", "store")
TOP_LEVEL_ONLY = ("prices",)
KEY = "trusted_projects"
_WHY = {"store": "decides whether the provider keeps every document you run (store)"}


def sensitive_keys(table: Mapping[str, Any]) -> list[str]:
    """Dotted names of the sensitive settings a config table sets (top level and per assistant)."""
    found = [key for key in (*SENSITIVE, *TOP_LEVEL_ONLY) if key in table]
    assistants = table.get("assistants")
    for name, body in assistants.items() if isinstance(assistants, Mapping) else ():
        if isinstance(body, Mapping):
            found += [f"assistants.{name}.{key}" for key in SENSITIVE if key in body]
    return found


def trusted_list(user_table: Mapping[str, Any], path: Path) -> list[str]:
    value = user_table.get(KEY, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(str(path), KEY, "expected a list of folder paths")
    return [os.path.realpath(os.path.expanduser(item)) for item in value]


def is_trusted(path: Path, trusted: list[str]) -> bool:
    """Whether the project whose config is path was trusted (trusted: from trusted_list)."""
    return os.path.realpath(path.parent) in trusted


def check(path: Path, table: Mapping[str, Any], trusted: list[str], *, explicit: bool) -> None:
    """Refuse a project config's sensitive settings unless the project is trusted."""
    if KEY in table:
        raise ConfigError(str(path), KEY, "belongs in your user config, not in a project's")
    keys = sensitive_keys(table)
    if not keys or explicit or is_trusted(path, trusted):
        return
    what = _WHY.get(keys[0].rsplit(".", 1)[-1], "decides where your API key is sent or what your run log keeps")
    raise ConfigError(
        str(path),
        keys[0],
        f"{what}, and this project is not trusted; "
        f"if you trust it, run `gpt-tools trust {path.parent}` (or move the setting to your user config)",
    )


def trust(folder: Path, user_config: Path, *, remove: bool = False) -> bool:
    """Add (or remove) folder in the user config's trusted_projects; True if anything changed.

    A malformed user config (bad TOML, trusted_projects not a list of strings) is a ConfigError and
    is left as it is: it must never turn into a trust grant (a string is not a list of its characters).
    """
    with edit_lock(user_config):
        doc, layout = read_document(user_config)
        entries = trusted_list(doc.unwrap(), user_config)
        raw = [str(item) for item in doc.get(KEY, [])]
        target = os.path.realpath(folder)
        present = target in entries
        if present != remove:
            return False
        kept = [item for item, real in zip(raw, entries, strict=True) if real != target]
        doc[KEY] = kept if remove else [*raw, target]
        write_document(user_config, dumps(doc, layout))
    return True
