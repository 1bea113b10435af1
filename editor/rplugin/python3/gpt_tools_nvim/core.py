"""The one door to the core library, `gpt_tools`, imported once per editor session.

The plugin holds no logic of its own beyond editor plumbing: every run goes through `gpt_tools.run`.
The import is deferred to the first use (in a worker thread for `:GptRun`), so starting the Python
host, which loads every remote plugin, stays cheap for users who never call us.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

_lock = threading.Lock()
_module: ModuleType | None = None

# The checkout this plugin lives in: editor/rplugin/python3/gpt_tools_nvim/core.py -> parents[4].
CHECKOUT = Path(__file__).resolve().parents[4]


def load() -> ModuleType:
    """`gpt_tools`, from the host's interpreter; else from the checkout this plugin came with."""
    global _module
    with _lock:
        if _module is None:
            try:
                import gpt_tools
            except ImportError:
                if not (CHECKOUT / "gpt_tools" / "__init__.py").is_file():
                    raise
                sys.path.append(str(CHECKOUT))
                import gpt_tools
            gpt_tools.run  # noqa: B018 - imports the whole run path (the API is lazy), so the first run pays none

            _module = gpt_tools
        return _module


def preload() -> None:
    """`load()`, for a background thread: a failure is reported by the run that needs the core."""
    with contextlib.suppress(Exception):
        load()


def listing_config(cwd: str) -> Any:
    """The config as completion, :GptList and :GptTrust see it: an untrusted project's trust-gated keys
    left out (and named in `ignored`) instead of refused, since nothing is sent (`load_config(inspect=True)`;
    a gpt_tools from before that keyword: the plain load)."""
    gpt = load()
    try:
        return gpt.load_config(cwd, inspect=True)
    except TypeError:
        return gpt.load_config(cwd)


def describe(exc: BaseException) -> tuple[str, bool]:
    """(one-line message, cancelled?) for any failure of a run.

    Cancelled means what the CLI's exit status 130 means (`gpt_tools.exit_status`, by type and code).
    """
    gpt = _module
    if gpt is not None and gpt.exit_status(exc) == gpt.Cancelled.exit_code:
        return "cancelled", True
    if gpt is not None and isinstance(exc, gpt.GptToolsError):
        return " ".join(str(exc).split()), False
    return f"internal error ({type(exc).__name__}: {' '.join(str(exc).split())})", False


def advice(exc: BaseException) -> str | None:
    """The fix for exc on its own (a core error's `advice`, e.g. an untrusted project's), if it has one."""
    gpt = _module
    if gpt is not None and isinstance(exc, gpt.GptToolsError):
        found = getattr(exc, "advice", None)
        return " ".join(found.split()) if isinstance(found, str) and found.strip() else None
    return None


def advice_first(title: str, advice: str | None, message: str) -> str:
    """A message whose first line is the fix (what a one-line display shows), the full text after it.

    The Lua half shows the first line and keeps every line in the message history (:messages)."""
    return f"{title}: {advice}\n{message}" if advice else message
