"""gpt-tools: run named LLM assistants over text.

The public API is small: `run()` one assistant over a text, `load_config()` to see what is defined,
the errors (each with an `exit_code`; `exit_status(exc)` for any exception), the knowledge-file
functions of the seed scripts, and `conversation` (new, load, resume, project_for) for multi-turn runs.
Front ends (CLI, Vim filter, pre-commit hook, Neovim plugin, language server) are thin adapters over these.

Every name is imported on first use (PEP 562), so `import gpt_tools` costs nothing: a front end that
only needs an error class or the version does not pay for the whole run path. Anything not listed in
`__all__` is internal and may move.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# Public name -> the module that defines it. A module name as its own value means the module itself.
_HOME = {
    "run": "gpt_tools.core.runner",
    "InputFile": "gpt_tools.core.inputs",
    "Result": "gpt_tools.core.records",
    "load_config": "gpt_tools.config.loader",
    "Config": "gpt_tools.config.loader",
    "Assistant": "gpt_tools.config.definitions",
    "Settings": "gpt_tools.config.definitions",
    "Changes": "gpt_tools.config.manager",
    "create_assistant": "gpt_tools.config.manager",
    "edit_assistant": "gpt_tools.config.manager",
    "delete_assistant": "gpt_tools.config.manager",
    "set_assistant_files": "gpt_tools.config.manager",
    "add_assistant_files": "gpt_tools.config.manager",
    "remove_assistant_files": "gpt_tools.config.manager",
    "upload_file": "gpt_tools.compat",
    "find_file": "gpt_tools.compat",
    "sync_knowledge": "gpt_tools.compat",
    "check_endpoints": "gpt_tools.compat",
    "EndpointCheck": "gpt_tools.compat",
    "conversation": "gpt_tools.state.conversation",
    "Conversation": "gpt_tools.state.conversation",
    "ApiError": "gpt_tools.errors",
    "Cancelled": "gpt_tools.errors",
    "ConfigError": "gpt_tools.errors",
    "GptToolsError": "gpt_tools.errors",
    "InputRefused": "gpt_tools.errors",
    "MissingKey": "gpt_tools.errors",
    "ReplyRejected": "gpt_tools.errors",
    "RunFailed": "gpt_tools.errors",
    "TurnNotSaved": "gpt_tools.errors",
    "UnknownAssistant": "gpt_tools.errors",
    "UsageError": "gpt_tools.errors",
    "exit_status": "gpt_tools.errors",
}

__all__ = [  # the same names as _HOME's keys (tests/test_public_api.py holds them together)
    "ApiError",
    "Assistant",
    "Cancelled",
    "Changes",
    "Config",
    "ConfigError",
    "Conversation",
    "EndpointCheck",
    "GptToolsError",
    "InputFile",
    "InputRefused",
    "MissingKey",
    "ReplyRejected",
    "Result",
    "RunFailed",
    "Settings",
    "TurnNotSaved",
    "UnknownAssistant",
    "UsageError",
    "__version__",
    "add_assistant_files",
    "check_endpoints",
    "conversation",
    "create_assistant",
    "delete_assistant",
    "edit_assistant",
    "exit_status",
    "find_file",
    "load_config",
    "remove_assistant_files",
    "run",
    "set_assistant_files",
    "sync_knowledge",
    "upload_file",
]

if TYPE_CHECKING:  # what mypy and IDEs see; at run time __getattr__ below imports each on first use
    from gpt_tools.compat import EndpointCheck, check_endpoints, find_file, sync_knowledge, upload_file
    from gpt_tools.config.definitions import Assistant, Settings
    from gpt_tools.config.loader import Config, load_config
    from gpt_tools.config.manager import (
        Changes,
        add_assistant_files,
        create_assistant,
        delete_assistant,
        edit_assistant,
        remove_assistant_files,
        set_assistant_files,
    )
    from gpt_tools.core.inputs import InputFile
    from gpt_tools.core.records import Result
    from gpt_tools.core.runner import run
    from gpt_tools.errors import (
        ApiError,
        Cancelled,
        ConfigError,
        GptToolsError,
        InputRefused,
        MissingKey,
        ReplyRejected,
        RunFailed,
        TurnNotSaved,
        UnknownAssistant,
        UsageError,
        exit_status,
    )
    from gpt_tools.state import conversation
    from gpt_tools.state.conversation import Conversation


def __getattr__(name: str) -> Any:
    """A public name, imported from its home module on first access (then cached in this module)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(home)
    value = module if home.rpartition(".")[2] == name else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
