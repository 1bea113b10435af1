"""Per-run settings: `--temperature`, `--max-output-tokens`, `--no-stream` and `-O/--option KEY VALUE`.

`-O KEY VALUE` takes any config setting (`gpt-tools.toml`'s top-level keys) or an assistant's
`temperature`/`max_output_tokens`, checked as strictly as the config is (type, range, choices), so
a misspelt key is a usage error with a did-you-mean before anything is sent. They apply to this
run only and win over the config, the environment and `-m/--backend`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gpt_tools.config.backendnames import backend_problem
from gpt_tools.config.definitions import CHOICES, SETTING_TYPES, Assistant, close_match, out_of_range
from gpt_tools.errors import UsageError

ASSISTANT_FIELDS: dict[str, tuple[type, ...]] = {"temperature": (int, float), "max_output_tokens": (int,)}
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


@dataclass(frozen=True, kw_only=True)
class PerRun:
    """What one run changes: the assistant's sampling fields, and settings over every config layer."""

    assistant: Mapping[str, Any] = field(default_factory=dict)  # temperature, max_output_tokens
    settings: Mapping[str, Any] = field(default_factory=dict)


def known_keys() -> list[str]:
    return sorted({*SETTING_TYPES, *ASSISTANT_FIELDS})


def _convert(key: str, text: str, types: tuple[type, ...], where: str) -> Any:
    if types == (bool,):
        if text.lower() in (*_TRUE, *_FALSE):
            return text.lower() in _TRUE
        raise UsageError(f"{where}: expected true or false, got {text!r}")
    if str in types:
        allowed = CHOICES.get(key)
        if allowed is not None and text not in allowed:
            hint = f"; did you mean {close!r}?" if (close := close_match(text, allowed)) else ""
            raise UsageError(f"{where}: expected one of {', '.join(repr(c) for c in allowed)}, got {text!r}{hint}")
        if key in ("model", "backend") and not text.strip():
            raise UsageError(f"{where}: expected a {key} name, got {text!r}")
        if key == "backend" and (problem := backend_problem(text)):  # as --backend and the config say it
            raise UsageError(f"{where}: {problem}")
        return text
    try:
        value: float = int(text) if types == (int,) else float(text)
    except ValueError:
        kind = "a whole number" if types == (int,) else "a number"
        raise UsageError(f"{where}: expected {kind}, got {text!r}") from None
    problem = out_of_range(key, value)
    if problem:
        raise UsageError(f"{where}: {problem}")
    return value


def _known(key: str) -> tuple[type, ...]:
    types = ASSISTANT_FIELDS.get(key) or SETTING_TYPES.get(key)
    if types is None:
        close = close_match(key, known_keys())
        hint = f"; did you mean {close!r}?" if close else f"; known: {', '.join(known_keys())}"
        raise UsageError(f"-O {key}: unknown setting{hint}")
    return types


def per_run(
    options: Sequence[tuple[str, str]],
    *,
    temperature: str | None = None,
    max_output_tokens: str | None = None,
    stream: bool | None = None,
) -> PerRun:
    """The named flags and every `-O KEY VALUE` (later ones win), validated; raises UsageError."""
    fields_: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    for given, where in ((temperature, "--temperature"), (max_output_tokens, "--max-output-tokens")):
        if given is not None:
            key = where[2:].replace("-", "_")
            fields_[key] = _convert(key, given, ASSISTANT_FIELDS[key], where)
    if stream is not None:
        settings["stream"] = stream
    for key, text in options:
        key = key.replace("-", "_")  # `-O max-output-tokens 100` as the flag spells it
        value = _convert(key, text, _known(key), f"-O {key}")
        (fields_ if key in ASSISTANT_FIELDS else settings)[key] = value
    return PerRun(assistant=fields_, settings=settings)


@dataclass(frozen=True, kw_only=True)
class RunFlags:
    """`run`'s ad-hoc and per-run flags, as click read them (checked by `per_run()` and cli/adhoc.py)."""

    system: str | None = None
    prompt: str | None = None
    bare: bool = False  # the prompt is `gpt-tools WORD`'s first word: it may name an assistant
    temperature: str | None = None
    max_output_tokens: str | None = None
    stream: bool | None = None
    options: tuple[tuple[str, str], ...] = ()
    no_cache: bool = False

    @property
    def ad_hoc(self) -> bool:
        """No NAME needed: the plain assistant runs, and a first word that is no assistant's name is input."""
        return self.system is not None or self.prompt is not None

    def checked(self) -> PerRun:
        return per_run(
            self.options, temperature=self.temperature, max_output_tokens=self.max_output_tokens, stream=self.stream
        )


def applied(assistant: Assistant, flags: RunFlags, *, settings: bool = True) -> Assistant:
    """assistant as one run (or every chat turn) sends it: -s, --temperature, --max-output-tokens, -O.

    With `settings`, the -O settings go in as the assistant's own, below the environment and
    -m/--backend (`run` passes False and puts them over every layer through RunRequest.settings)."""
    per = flags.checked()
    if flags.system is not None:
        if not flags.system.strip():
            raise UsageError("-s/--system: the instructions are empty; nothing was sent")
        assistant = replace(assistant, instructions=flags.system)
    merged = {**assistant.settings, **per.settings} if settings else dict(assistant.settings)
    return replace(assistant, **per.assistant, settings=merged)
