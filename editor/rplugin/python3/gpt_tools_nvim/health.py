"""The Python half of `:checkhealth gpt_tools`: core importable, config, assistants, key, endpoint.

Returns [level, message, advice] items for editor/lua/gpt_tools/health.lua. The key is never shown.
"""

from __future__ import annotations

import sys
from typing import Any

from . import core

Item = list[str]


def _endpoint_items(gpt: Any, config: Any) -> list[Item]:
    """Key and reachability for each distinct endpoint the assistants use."""
    from gpt_tools.config.keys import resolve_endpoint
    from gpt_tools.core.runner import resolve_settings
    from gpt_tools.wire.transport import display_url, probe

    items: list[Item] = []
    seen: set[tuple[str | None, str]] = set()
    for assistant in config.assistants.values():
        settings = resolve_settings(config, assistant, model=None, backend=None)
        if (settings.base_url, settings.api_key_env) in seen:
            continue
        seen.add((settings.base_url, settings.api_key_env))
        try:
            endpoint = resolve_endpoint(settings)
        except gpt.GptToolsError as exc:
            items.append(["error", f"{assistant.name}: {exc}", "export the key before starting Neovim"])
            continue
        where = display_url(endpoint.base_url)  # without user info or query: either may hold a secret
        items.append(
            ["ok", f"API key present for {where} (not shown)"]
            if endpoint.api_key
            else ["ok", f"no API key needed for {where}"]
        )
        items.append(_reachability(where, probe(endpoint)))
    return items


def _reachability(where: str, status: int | str) -> Item:
    if isinstance(status, str):
        return ["error", f"cannot reach {where}: {status}", "check base_url / $OPENAI_BASE_URL and proxies"]
    if status in (401, 403):
        return ["warn", f"{where} is reachable but refused the key (HTTP {status})", "check the key"]
    return ["ok", f"{where} is reachable (HTTP {status} for /models)"]


def check(cwd: str) -> list[Item]:
    import pynvim

    try:
        gpt = core.load()
    except Exception as exc:
        advice = f"{sys.executable} -m pip install gpt-tools"
        return [["error", f"cannot import gpt_tools in {sys.executable}: {exc}", advice]]
    items: list[Item] = [
        ["ok", f"host: Python {sys.version.split()[0]} at {sys.executable}, pynvim {pynvim.__version__}"],
        ["ok", f"gpt_tools {gpt.__version__} from {gpt.__file__}"],
    ]
    try:
        config = gpt.load_config(cwd)
    except gpt.GptToolsError as exc:
        return [*items, ["error", f"config: {exc}", "fix the file and key named above"]]
    files = ", ".join(str(path) for path in config.files)
    items.append(["ok", f"config: {files}"] if files else ["info", f"no config file above {cwd}; built-ins only"])
    names = ", ".join(sorted(config.assistants))
    items.append(["ok", f"{len(config.assistants)} assistants loaded: {names}"])
    return items + _endpoint_items(gpt, config)
