"""Public helpers for scripts and front ends, on today's API.

The seed's knowledge-file functions (upload_to_gpt, get_gpt_file_from_path, syncing an assistant's
files) under their new names, and `check_endpoints`, which the Neovim plugin's :checkhealth shows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpt_tools.config.keys import resolve_endpoint
from gpt_tools.config.loader import Config, load_config
from gpt_tools.config.resolve import resolve, resolve_settings
from gpt_tools.core import knowledge, knowledge_files
from gpt_tools.core.guards import refuse_secrets, scannable_text
from gpt_tools.errors import GptToolsError, InputRefused
from gpt_tools.state import paths
from gpt_tools.state.localread import FileRefused, read_regular
from gpt_tools.wire.transport import display_url, probe


def _root(cwd: Path | str | None) -> Path:
    base = Path(cwd or os.getcwd()).resolve()
    return paths.project_root(load_config(base).project_root, base)


def sync_knowledge(
    name: str, *, cwd: Path | str | None = None, verify: bool = False, allow_secrets: bool = False
) -> knowledge.SyncReport:
    """Upload (once per content) and index assistant name's knowledge files, after the secret guard."""
    config = load_config(cwd)
    assistant = config.assistant(name)
    if not allow_secrets:
        refuse_secrets(knowledge.readable_texts(assistant))
    settings, endpoint = resolve(config, assistant)
    return knowledge.sync(endpoint, assistant, verify=verify, timeout=settings.index_timeout)


def upload_file(path: str | Path, *, cwd: Path | str | None = None, allow_secrets: bool = False) -> str:
    """The server file ID for path's content, uploading it only if that content never was.

    Only a regular file within the size cap is read, and its bytes pass the secret guard first.
    """
    config = load_config(cwd)
    try:
        data = read_regular(Path(cwd or os.getcwd(), path))
    except FileRefused as exc:
        raise InputRefused(f"{path} {exc.reason}") from None
    if not allow_secrets:
        refuse_secrets({str(path): scannable_text(data)})
    return knowledge.attach(resolve(config, None)[1], _root(cwd), str(path), data)


def find_file(path_or_id: str, *, cwd: Path | str | None = None) -> dict[str, Any] | None:
    """The uploaded file for a local path (matched by content) or a file ID, from the state file."""
    root = _root(cwd)
    base = Path(cwd or os.getcwd()).resolve()
    state = knowledge.StateFile(root).read()
    return knowledge_files.lookup(state, base, path_or_id)


@dataclass(frozen=True, kw_only=True)
class EndpointCheck:
    """One distinct endpoint of config's assistants, as :checkhealth shows it. The key is never held."""

    assistant: str  # the first assistant found using it
    where: str  # the base URL without user info or query (either may hold a secret)
    has_key: bool
    status: int | str | None  # GET /models: the HTTP status, why it is unreachable, or None if not probed
    problem: GptToolsError | None = None  # why no endpoint could be built (a missing key): nothing was sent


def check_endpoints(config: Config, *, reach: bool = True) -> list[EndpointCheck]:
    """Key and reachability of each distinct endpoint config's assistants use (probed when reach)."""
    checks: list[EndpointCheck] = []
    seen: set[tuple[str | None, str]] = set()
    for assistant in config.assistants.values():
        settings = resolve_settings(config, assistant)
        if (settings.base_url, settings.api_key_env) in seen:
            continue
        seen.add((settings.base_url, settings.api_key_env))
        try:
            endpoint = resolve_endpoint(settings)
        except GptToolsError as exc:
            checks.append(EndpointCheck(assistant=assistant.name, where="", has_key=False, status=None, problem=exc))
            continue
        checks.append(
            EndpointCheck(
                assistant=assistant.name,
                where=display_url(endpoint.base_url),
                has_key=bool(endpoint.api_key),
                status=probe(endpoint) if reach else None,
            )
        )
    return checks
