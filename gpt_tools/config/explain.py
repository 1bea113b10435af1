"""What is in effect, and where each value came from: `gpt-tools config show` (like ruff's --show-settings).

Nothing is sent and no key command is run: the key's source is named, never the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from gpt_tools.config.definitions import CHOICES, Assistant, Settings, apply_settings
from gpt_tools.config.keys import base_url
from gpt_tools.config.loader import Config
from gpt_tools.config.resolve import resolve_settings
from gpt_tools.redact import redact
from gpt_tools.wire.backends.chat import is_openai_host
from gpt_tools.wire.transport import display_url

DEFAULT = "built-in default"
_ENV = {"model": "GPT_TOOLS_MODEL", "backend": "GPT_TOOLS_BACKEND", "output": "GPT_TOOLS_OUTPUT"}
_FLAGS = {"model": "-m/--model", "backend": "--backend"}


@dataclass(frozen=True, kw_only=True)
class Value:
    """One setting in effect and what set it: a config file's path, $VAR, a flag or the built-in default."""

    key: str
    value: Any
    origin: str


@dataclass(frozen=True, kw_only=True)
class Explanation:
    assistant: str | None
    settings: Settings
    values: list[Value]
    endpoint: Value
    key_source: str  # "$OPENAI_API_KEY", "api_key_cmd (not run here)", "none: ...", never the key
    files: list[str]  # config files read, lowest precedence first
    trust: str  # "trusted", "not trusted: ...", "no project config", ...
    ignored: list[str] = field(default_factory=list)


def _origin(key: str, config: Config, assistant: Assistant | None, flags: dict[str, str | None]) -> str:
    if flags.get(key) is not None:
        return _FLAGS[key]
    env = os.environ.get(_ENV.get(key, ""))
    # GPT_TOOLS_OUTPUT with a value it does not take is ignored by a run (resolve_settings): not the origin.
    if key in _ENV and env is not None and (key not in CHOICES or env in CHOICES[key]):
        return f"${_ENV[key]}"
    if assistant is not None and key in assistant.origins and (key in assistant.settings or key == "model"):
        return f"{assistant.origins[key]} [assistants.{assistant.name}]"
    return config.origins.get(key, DEFAULT)


def _shown(key: str, value: Any) -> Any:
    # A base_url's user info or query may hold a password: shown as every message shows an endpoint.
    return display_url(value) if key == "base_url" and isinstance(value, str) else value


def shown_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """An assistant's own settings as `show` prints them: a base_url without user info or query, and
    any key-shaped text (`api_key_cmd = "echo sk-…"`) masked as config show masks it."""
    return {key: redact(_shown(key, value)) if isinstance(value, str) else value for key, value in settings.items()}


def _endpoint(settings: Settings, origin: str) -> Value:
    if settings.base_url:
        where = origin
    elif os.environ.get("OPENAI_BASE_URL"):
        where = "$OPENAI_BASE_URL"
    else:
        where = f"{DEFAULT} (OpenAI)"
    return Value(key="endpoint", value=display_url(base_url(settings)), origin=where)


def _key_source(settings: Settings) -> str:
    if os.environ.get(settings.api_key_env):
        return f"${settings.api_key_env}"
    if settings.api_key_cmd:
        return "api_key_cmd (not run here)"
    if not is_openai_host(base_url(settings)):
        return f"none (${settings.api_key_env} is unset; this endpoint needs no key)"
    return f"none: set ${settings.api_key_env} or api_key_cmd (a run would stop here)"


def _trust(config: Config) -> str:
    state = config.trust_state
    if config.project_file is None:
        return "no project config"
    if os.environ.get("GPT_TOOLS_CONFIG"):
        return "trusted ($GPT_TOOLS_CONFIG names it)"
    if state is None or state.trusted:
        return "trusted" if state and state.gated else "nothing trust-gated is set"
    if state.changed:
        return f"not trusted: changed since trusted ({', '.join(state.changed)})"
    return "not trusted" + (f": {', '.join(state.gated)} would be refused" if state.gated else "")


def _sampling(assistant: Assistant | None, given: Mapping[str, Any]) -> list[Value]:
    """The assistant's temperature and max_output_tokens (not sent when unset), -O or flags first."""
    found = []
    for key in ("temperature", "max_output_tokens"):
        if key in given:
            found.append(Value(key=key, value=given[key], origin=f"-O {key} / --{key.replace('_', '-')}"))
        elif assistant is not None and getattr(assistant, key) is not None:
            where = assistant.origins.get(key, DEFAULT)
            found.append(Value(key=key, value=getattr(assistant, key), origin=f"{where} [assistants.{assistant.name}]"))
        else:
            found.append(Value(key=key, value=None, origin=f"{DEFAULT} (not sent: the model's own)"))
    return found


def explain(
    config: Config,
    assistant: Assistant | None,
    *,
    model: str | None = None,
    backend: str | None = None,
    options: Mapping[str, Any] | None = None,
    sampling: Mapping[str, Any] | None = None,
) -> Explanation:
    """Every setting a run of assistant (or of an assistant with no settings of its own) would use.

    options: a run's `-O KEY VALUE` settings (checked), which win over everything; sampling: its
    temperature and max_output_tokens (--temperature, --max-output-tokens, -O).
    """
    stand_in = assistant or Assistant(name="", instructions="")
    given = dict(options or {})
    settings = apply_settings(resolve_settings(config, stand_in, model=model, backend=backend), given)
    flags = {"model": model, "backend": backend}
    values = [
        Value(
            key=key,
            value=_shown(key, getattr(settings, key)),
            origin=f"-O {key}" if key in given else _origin(key, config, assistant, flags),
        )
        for key in (f.name for f in fields(Settings))
    ]
    values += _sampling(assistant, sampling or {})
    origin_of = {value.key: value.origin for value in values}
    return Explanation(
        assistant=assistant.name if assistant else None,
        settings=settings,
        values=values,
        endpoint=_endpoint(settings, origin_of["base_url"]),
        key_source=_key_source(settings),
        files=[str(path) for path in config.files],
        trust=_trust(config),
        ignored=list(config.ignored),
    )
