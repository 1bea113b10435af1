"""gpt-tools: run named LLM assistants over text.

The public API is small: `run()` one assistant over a text, `load_config()` to see what is defined.
Front ends (CLI, Vim filter, pre-commit hook, Neovim plugin) are thin adapters over these.
"""

from .config import Config, load_config
from .definitions import Assistant, Settings
from .errors import (
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
from .runner import InputFile, Result, run

__version__ = "0.1.0"
__all__ = [
    "ApiError",
    "Assistant",
    "Cancelled",
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
    "load_config",
    "run",
]
