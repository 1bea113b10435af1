"""The Python half of `:checkhealth gpt_tools`: core importable, config, assistants, key, endpoint.

Returns [level, message, advice] items for editor/lua/gpt_tools/health.lua. The key is never shown.
"""

from __future__ import annotations

import sys
from typing import Any

from . import core

Item = list[str]


def _endpoint_items(gpt: Any, config: Any) -> list[Item]:
    """Key and reachability for each distinct endpoint the assistants use (`gpt_tools.check_endpoints`)."""
    items: list[Item] = []
    for check in gpt.check_endpoints(config):
        if check.problem is not None:
            items.append(["error", f"{check.assistant}: {check.problem}", "export the key before starting Neovim"])
            continue
        items.append(
            ["ok", f"API key present for {check.where} (not shown)"]
            if check.has_key
            else ["ok", f"no API key needed for {check.where}"]
        )
        items.append(_reachability(check.where, check.status))
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
