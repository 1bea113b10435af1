"""gpt-tools: run named LLM assistants over text.

The public API is small: `run()` one assistant over a text, `load_config()` to see what is defined.
Front ends (CLI, Vim filter, pre-commit hook, Neovim plugin) are thin adapters over these.
"""

from gpt_tools.compat import find_file, sync_knowledge, upload_file
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
from gpt_tools.core.runner import InputFile, Result, run
from gpt_tools.errors import (
    ApiError,
    Cancelled,
    ConfigError,
    GptToolsError,
    InputRefused,
    MissingKey,
    ReplyRejected,
    RunFailed,
    UnknownAssistant,
    UsageError,
)

__version__ = "0.1.0"
__all__ = [
    "ApiError",
    "Assistant",
    "Cancelled",
    "Changes",
    "Config",
    "ConfigError",
    "GptToolsError",
    "InputFile",
    "InputRefused",
    "MissingKey",
    "ReplyRejected",
    "Result",
    "RunFailed",
    "Settings",
    "UnknownAssistant",
    "UsageError",
    "add_assistant_files",
    "create_assistant",
    "delete_assistant",
    "edit_assistant",
    "find_file",
    "load_config",
    "remove_assistant_files",
    "run",
    "set_assistant_files",
    "sync_knowledge",
    "upload_file",
]
