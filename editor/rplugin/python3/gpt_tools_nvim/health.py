"""The Python half of `:checkhealth gpt_tools`: core importable, config and trust, assistants, key, endpoint.

Returns [level, message, advice] items for editor/lua/gpt_tools/health.lua, for the project of the
buffer the user was in (its folder is given), every check reported even after one failed. Paths and
names go in backticks: the health buffer is Markdown, where `__init__` would turn bold.
The key is never shown.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

from . import core

Item = list[str]


def code(text: object) -> str:
    """text as a Markdown code span (shown as it is: no emphasis, no escapes)."""
    return f"`{str(text).replace('`', chr(39))}`"


def install_command() -> str:
    """The pip command that installs gpt-tools and pynvim into this host's Python, from the checkout."""
    target = f"{core.CHECKOUT}[nvim]" if (core.CHECKOUT / "pyproject.toml").is_file() else "/path/to/gpt-tools[nvim]"
    return f"{shlex.quote(sys.executable)} -m pip install {shlex.quote(target)}"


def _endpoint_items(gpt: Any, config: Any) -> list[Item]:
    """Key and reachability for each distinct endpoint the assistants use (`gpt_tools.check_endpoints`)."""
    items: list[Item] = []
    for check in gpt.check_endpoints(config):
        if check.problem is not None:
            items.append(
                ["error", f"{code(check.assistant)}: {code(check.problem)}", "export the key before starting Neovim"]
            )
            continue
        items.append(
            ["ok", f"API key present for {code(check.where)} (not shown)"]
            if check.has_key
            else ["ok", f"no API key needed for {code(check.where)}"]
        )
        items.append(_reachability(check.where, check.status))
    return items


def _reachability(where: str, status: int | str) -> Item:
    if isinstance(status, str):
        return ["error", f"cannot reach {code(where)}: {code(status)}", "check base_url / $OPENAI_BASE_URL and proxies"]
    if status in (401, 403):
        return ["warn", f"{code(where)} is reachable but refused the key (HTTP {status})", "check the key"]
    return ["ok", f"{code(where)} is reachable (HTTP {status} for /models)"]


def _trusted(config: Any, root: Path) -> bool:
    """Whether root is trusted with the values its config has now (`config.trust_state`, when the core
    keeps one), else whether it is listed in trusted_projects (`config.trusted`)."""
    standing = getattr(config, "trust_state", None)
    if standing is not None:
        return bool(standing.trusted)
    return os.path.realpath(root) in set(getattr(config, "trusted", ()))


def _config_items(gpt: Any, cwd: str) -> tuple[list[Item], Any]:
    """The config of cwd's project (and its trust); on failure, the user config alone, to check the rest."""
    try:
        config = gpt.load_config(cwd)
    except gpt.ConfigError as exc:
        advice = getattr(exc, "advice", None)
        fix = f":GptTrust trusts it ({advice})" if advice else "fix the file and key named above"
        items = [["error", f"config of {code(cwd)}: {code(exc)}", fix]]
        if advice is None:  # a broken file: check the rest without it
            items.append(["warn", "the checks below use your user config and the built-ins only, not this project's"])
            return items, gpt.load_config(os.sep)
        items.append(["warn", "the checks below use this project's config without the settings that need trust"])
        return items, core.listing_config(cwd)
    files = ", ".join(code(path) for path in config.files)
    items = [["ok", f"config for {code(cwd)}: {files}"] if files else ["info", f"no config file above {code(cwd)}"]]
    root = config.project_root
    if root is not None:
        state = "trusted" if _trusted(config, root) else "not trusted (it sets nothing that needs trust)"
        items.append(["ok", f"project {code(root)}: {state}"])
    return items, config


def check(cwd: str) -> list[Item]:
    import pynvim

    try:
        gpt = core.load()
    except Exception as exc:
        message = f"cannot import gpt_tools in {code(sys.executable)}: {code(exc)}"
        return [["error", message, f"{install_command()}, then :UpdateRemotePlugins and restart Neovim"]]
    items: list[Item] = [
        ["ok", f"host: Python {sys.version.split()[0]} at {code(sys.executable)}, pynvim {pynvim.__version__}"],
        ["ok", f"gpt_tools {gpt.__version__} from {code(gpt.__file__)}"],
    ]
    try:
        found, config = _config_items(gpt, cwd)
    except gpt.GptToolsError as exc:  # the user config itself is broken
        return [*items, ["error", f"config: {code(exc)}", "fix the file and key named above"]]
    items += found
    names = ", ".join(sorted(config.assistants))  # one code span: a name_with_underscores stays as it is
    items.append(["ok", f"{len(config.assistants)} assistants loaded: {code(names)}"])
    return items + _endpoint_items(gpt, config)
