"""What the server reads from the client: `initializationOptions`, then `workspace/configuration`
(section `gpt-tools`), both the same object. Unknown keys and wrong types are reported, never fatal.

    check        "save" (default: on open and on every save), "open" (on open only), "off" (never by
                 itself: code actions only). Never on a keystroke: each check costs money.
    assistant    the check assistant (default "MarkdownLinter"); it runs in edits mode.
    model        a model for every run of this server (default: the config's).
    languageIds  documents checked by languageId (default ["markdown"]) ...
    globs        ... or by file name (default ["*.md", "*.markdown"]; a glob with "/" matches the path).
    debounceMs   saves closer together than this start one check (default 300).
    jobs         checks and assistant runs in flight per workspace folder (default 2).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any, Literal, get_args

CheckOn = Literal["save", "open", "off"]
SECTION = "gpt-tools"


@dataclass(frozen=True, kw_only=True)
class LspSettings:
    check: CheckOn = "save"
    assistant: str = "MarkdownLinter"
    model: str | None = None
    language_ids: tuple[str, ...] = ("markdown",)
    globs: tuple[str, ...] = ("*.md", "*.markdown")
    debounce_ms: int = 300
    jobs: int = 2
    problems: tuple[str, ...] = field(default=(), compare=False)  # what was not understood, for the user

    def wants(self, path: str, language_id: str | None) -> bool:
        """Whether a document is checked: by its languageId or its file name."""
        if language_id is not None and language_id in self.language_ids:
            return True
        name = PurePath(path).name
        return any(fnmatch.fnmatchcase(path if "/" in glob else name, glob) for glob in self.globs)


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def _value(key: str, value: Any) -> Any:
    """The setting's value, or None when it has the wrong type or range."""
    if key == "check":
        return value if value in get_args(CheckOn) else None
    if key in ("assistant", "model"):
        return value if isinstance(value, str) and value else None
    if key in ("languageIds", "globs"):
        return _strings(value)
    if key in ("debounceMs", "jobs"):
        low = 0 if key == "debounceMs" else 1
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= low else None
    return None


_FIELDS = {
    "check": "check",
    "assistant": "assistant",
    "model": "model",
    "languageIds": "language_ids",
    "globs": "globs",
    "debounceMs": "debounce_ms",
    "jobs": "jobs",
}


def read_settings(raw: Any, base: LspSettings | None = None) -> LspSettings:
    """base (the defaults) with what raw sets; a `gpt-tools` key holding the object is accepted too."""
    base = base or LspSettings()
    if isinstance(raw, Mapping) and isinstance(raw.get(SECTION), Mapping):
        raw = raw[SECTION]
    if raw is None:
        return base
    if not isinstance(raw, Mapping):
        return replace(base, problems=("the settings are not an object",))
    changes: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in raw.items():
        if key not in _FIELDS:
            problems.append(f"unknown setting {key!r} (known: {', '.join(_FIELDS)})")
        elif value is None:
            continue
        elif (checked := _value(key, value)) is None:
            problems.append(f"setting {key!r} has a wrong value: {value!r}")
        else:
            changes[_FIELDS[key]] = checked
    return replace(base, **changes, problems=tuple(problems))
