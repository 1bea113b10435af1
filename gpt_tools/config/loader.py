"""Finding, reading and validating config: built-ins < user config < project config.

A project config is `gpt-tools.toml` or the `[tool.gpt-tools]` table of `pyproject.toml`, the first
found walking up from the working directory (or the file named by $GPT_TOOLS_CONFIG). The user config
is `config.toml` under the platform's config dir. Every problem names the file and the key.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from gpt_tools.config import trust
from gpt_tools.config.backendnames import backend_problem
from gpt_tools.config.definitions import (
    ASSISTANT_TYPES,
    CHOICES,
    SETTING_TYPES,
    TOOLS,
    Assistant,
    Settings,
    apply_settings,
    close_match,
    out_of_range,
)
from gpt_tools.config.filenames import named_file
from gpt_tools.errors import ConfigError, UnknownAssistant, UsageError
from gpt_tools.state import paths
from gpt_tools.state.localread import FileRefused, read_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

BUILTIN_DIR = Path(__file__).parent.parent / "assistants"  # package data: gpt_tools/assistants/


@dataclass
class Config:
    """Merged configuration: settings plus every assistant by name."""

    settings: Settings = field(default_factory=Settings)
    assistants: dict[str, Assistant] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)  # config files read, lowest precedence first
    prices: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # USD per 1M tokens
    price_checked: dict[str, date | None] = field(default_factory=dict)  # [prices.M] checked = DATE (prices.py)
    trusted: list[str] = field(default_factory=list)  # projects allowed to set base_url & co (trust.py)
    trusted_values: dict[str, dict[str, str]] = field(default_factory=dict)  # their values' digests (trust.py)
    project_file: Path | None = None
    trust_state: trust.TrustState | None = None  # the project config's standing, once loaded
    ignored: list[str] = field(default_factory=list)  # an untrusted project's keys left out (inspect=True)
    origins: dict[str, str] = field(default_factory=dict)  # top-level setting or price -> the file that set it

    def assistant(self, name: str) -> Assistant:
        """The assistant called name, or an error listing the known names and a close match."""
        if name in self.assistants:
            return self.assistants[name]
        folded = {known.lower(): known for known in self.assistants}
        if name.lower() in folded:
            return self.assistants[folded[name.lower()]]
        close = difflib.get_close_matches(name, list(self.assistants), n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(self.assistants)) or "none"
        raise UnknownAssistant(f"unknown assistant {name!r}.{hint} Known assistants: {known}")

    @property
    def project_root(self) -> Path | None:
        return self.project_file.parent if self.project_file else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = read_regular(path).decode("utf-8-sig")  # a BOM (Windows editors) is not TOML, nor an error
    except FileRefused as exc:
        raise ConfigError(str(path), None, exc.reason) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), None, f"cannot read: {exc}") from None
    return parse_toml(text, path)


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), None, f"invalid TOML: {exc}") from None
    return data


def _split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "+++" or "+++" not in (line.strip() for line in lines[1:]):
        raise ConfigError(str(path), None, "expected TOML front matter between '+++' lines")
    end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "+++")
    try:
        meta = tomllib.loads("\n".join(lines[1:end]))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), None, f"invalid TOML front matter: {exc}") from None
    return meta, "\n".join(lines[end + 1 :]).strip() + "\n"


def load_builtins() -> dict[str, Assistant]:
    """The assistants shipped with the package, one Markdown file each."""
    assistants: dict[str, Assistant] = {}
    for path in sorted(BUILTIN_DIR.glob("*.md")):
        meta, body = _split_front_matter(path.read_text(encoding="utf-8"), path)
        table = dict(meta, instructions=body)
        assistants[path.stem] = _parse_assistant(path.stem, table, None, path, "built-in")
    return assistants


def _did_you_mean(value: str, choices: Collection[str]) -> str:
    close = close_match(value, choices)
    return f"; did you mean {close!r}?" if close else ""


def _unknown_key(path: Path, key: str, allowed: Mapping[str, object]) -> ConfigError:
    return ConfigError(str(path), key, f"unknown key{_did_you_mean(key.rsplit('.', 1)[-1], allowed)}")


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list"}


def _check_type(path: Path, key: str, value: Any, types: tuple[type, ...]) -> None:
    # TOML booleans are ints to Python; `timeout = true` must not pass as a number.
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if not ok:
        wanted = "a number" if float in types else _TYPE_NAMES[types[0]]
        raise ConfigError(str(path), key, f"expected {wanted}, got {type(value).__name__} {value!r}")
    name = "price" if key.startswith("prices.") else key.rsplit(".", 1)[-1]
    if name == "model" and isinstance(value, str) and not value.strip():  # else sent as "model": ""
        raise ConfigError(str(path), key, f"expected a model name, got {value!r}")
    problem = out_of_range(name, value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if problem:
        raise ConfigError(str(path), key, problem)


def _parse_settings(table: Mapping[str, Any], path: Path, prefix: str) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for key, value in table.items():
        _check_type(path, prefix + key, value, SETTING_TYPES[key])
        if key == "backend" and (problem := backend_problem(value)):
            raise ConfigError(str(path), prefix + key, problem)
        if key in CHOICES and value not in CHOICES[key]:
            hint = _did_you_mean(value, CHOICES[key])
            wanted = ", ".join(repr(choice) for choice in CHOICES[key])
            raise ConfigError(str(path), prefix + key, f"expected one of {wanted}, got {value!r}{hint}")
        parsed[key] = value
    return parsed


def _string_list(path: Path, key: str, value: list[Any], allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(str(path), key, f"expected a list of strings, found {item!r}")
        if allowed is not None and item not in allowed:
            hint = _did_you_mean(item, allowed)
            raise ConfigError(str(path), key, f"unknown tool {item!r}{hint}; known tools: {', '.join(allowed)}")
    return tuple(value)


def refused(path: Path, key: str, name: str, exc: FileRefused, root: Path | None) -> ConfigError:
    """The ConfigError for a file a config names and may not (or cannot) be read."""
    hint = ""
    if exc.outside and root is not None:
        hint = f"; until you trust this project its files must lie inside it (`{trust.command_for(root)}`)"
    return ConfigError(str(path), key, f"{name!r} {exc.reason}{hint}")


def _instructions(table: Mapping[str, Any], base: Assistant | None, path: Path, key: str, root: Path | None) -> str:
    given = [k for k in ("instructions", "instructions_file", "instructions_from") if k in table]
    if len(given) > 1:
        raise ConfigError(str(path), key, f"give only one of {', '.join(repr(k) for k in given)}")
    if "instructions_file" in table:
        name = str(table["instructions_file"])
        try:
            return read_regular(named_file(path.parent, name), root=root).decode("utf-8")
        except FileRefused as exc:
            raise refused(path, key + ".instructions_file", name, exc, root) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(str(path), key + ".instructions_file", f"{name!r} is not UTF-8: {exc}") from None
    if "instructions" in table:
        return str(table["instructions"])
    if base is not None:
        return base.instructions
    raise ConfigError(str(path), key, "an assistant needs 'instructions' or 'instructions_file'")


def _parse_assistant(
    name: str, table: Mapping[str, Any], base: Assistant | None, path: Path, source: str, root: Path | None = None
) -> Assistant:
    """One assistant table, merged field by field over the definition it overrides (if any).

    root: the folder an untrusted project's files must stay inside (None: the config is trusted).
    """
    key = f"assistants.{name}"
    settings = dict(base.settings) if base else {}
    values: dict[str, Any] = {}
    for item, value in table.items():
        if item in SETTING_TYPES and item != "model":
            settings.update(_parse_settings({item: value}, path, key + "."))
        elif item not in ASSISTANT_TYPES:
            raise _unknown_key(path, f"{key}.{item}", {**ASSISTANT_TYPES, **SETTING_TYPES})
        else:
            _check_type(path, f"{key}.{item}", value, ASSISTANT_TYPES[item])
            values[item] = value
    if values.get("mode", "write") not in ("rewrite", "write"):
        hint = _did_you_mean(values["mode"], ("rewrite", "write"))
        raise ConfigError(str(path), key + ".mode", f"expected 'rewrite' or 'write', got {values['mode']!r}{hint}")
    start = base or Assistant(name=name, instructions="")
    return Assistant(
        name=name,
        instructions=_instructions(table, base, path, key, root),
        description=values.get("description", start.description),
        mode=values.get("mode", start.mode),
        model=values.get("model", start.model),
        temperature=values.get("temperature", start.temperature),
        max_output_tokens=values.get("max_output_tokens", start.max_output_tokens),
        tools=_string_list(path, key + ".tools", values["tools"], TOOLS) if "tools" in values else start.tools,
        files=_string_list(path, key + ".files", values["files"]) if "files" in values else start.files,
        vector_store_ids=_string_list(path, key + ".vector_store_ids", values["vector_store_ids"])
        if "vector_store_ids" in values
        else start.vector_store_ids,
        source=source,
        settings=settings,
        confined_to=str(root) if root is not None else None,
        origins={**(base.origins if base else {}), **dict.fromkeys(table, _label(path, source))},
    )


def _label(path: Path, source: str) -> str:
    return f"built-in ({path.name})" if source == "built-in" else str(path)


def _origin(config: Config, name: str, body: Mapping[str, Any], path: Path) -> Assistant | None:
    """`instructions_from = "Other"`: start from Other's instructions and mode."""
    origin = body.get("instructions_from")
    if origin is None:
        return None
    key = f"assistants.{name}.instructions_from"
    if not isinstance(origin, str) or origin not in config.assistants:
        known = ", ".join(sorted(config.assistants))
        raise ConfigError(str(path), key, f"no assistant named {origin!r}; known: {known}")
    source = config.assistants[origin]
    own = config.assistants.get(name)
    start = own or Assistant(name=name, instructions="", mode=source.mode, description=source.description)
    return replace(start, instructions=source.instructions)


def _price_dates(table: Any) -> dict[str, date | None]:
    """Each [prices.MODEL]'s `checked` date (a TOML date, validated by _parse_prices), None without one."""
    return {model: entry.get("checked") for model, entry in table.items()} if isinstance(table, dict) else {}


def _parse_prices(table: Any, path: Path) -> dict[str, tuple[float, float, float]]:
    """`[prices."gpt-5-mini"] input = 0.25, cached_input = 0.025, output = 2.0` (USD per 1M tokens), and
    optionally `checked = 2026-12-01`: when the price was last checked (older ones make costs estimates)."""
    if not isinstance(table, dict):
        raise ConfigError(str(path), "prices", "expected a table of models ([prices.MODEL])")
    prices: dict[str, tuple[float, float, float]] = {}
    for model, entry in table.items():
        key = f"prices.{model}"
        if not isinstance(entry, dict):
            raise ConfigError(str(path), key, "expected a table with input, cached_input, output")
        for name, value in entry.items():
            if name == "checked":
                if not isinstance(value, date) or isinstance(value, datetime):
                    raise ConfigError(str(path), f"{key}.checked", f"expected a date (2026-12-01), got {value!r}")
                continue
            if name not in ("input", "cached_input", "output"):
                raise _unknown_key(path, f"{key}.{name}", {"input": 0, "cached_input": 0, "output": 0, "checked": 0})
            _check_type(path, f"{key}.{name}", value, (int, float))
        if "input" not in entry or "output" not in entry:
            raise ConfigError(str(path), key, "needs input and output (USD per million tokens)")
        fresh, output = float(entry["input"]), float(entry["output"])
        prices[model] = (
            fresh,
            float(entry["cached_input"]) if "cached_input" in entry else fresh,
            output,
        )
    return prices


def _apply_layer(config: Config, table: Mapping[str, Any], path: Path, root: Path | None = None) -> None:
    assistants = table.get("assistants", {})
    if not isinstance(assistants, dict):
        raise ConfigError(str(path), "assistants", "expected a table of assistants ([assistants.NAME])")
    config.prices.update(_parse_prices(table.get("prices", {}), path))
    config.price_checked.update(_price_dates(table.get("prices", {})))
    config.origins.update({f"prices.{model}": str(path) for model in table.get("prices", {})})
    settings = {key: value for key, value in table.items() if key not in ("assistants", "prices")}
    for key in settings:
        if key not in SETTING_TYPES:
            raise _unknown_key(path, key, {**SETTING_TYPES, "assistants": None, "prices": None})
    config.settings = apply_settings(config.settings, _parse_settings(settings, path, ""))
    config.origins.update(dict.fromkeys(settings, str(path)))
    for name, body in assistants.items():
        if not isinstance(body, dict):
            raise ConfigError(str(path), f"assistants.{name}", "expected a table")
        base = _origin(config, name, body, path) or config.assistants.get(name)
        config.assistants[name] = _parse_assistant(name, body, base, path, str(path), root)
    config.files.append(path)


def find_project_config(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest gpt-tools.toml, or pyproject.toml with [tool.gpt-tools], at or above start."""
    explicit = paths.explicit_config_file()
    if explicit is not None:
        if not explicit.exists():  # a relative name is taken from the working folder: say which one
            where = "" if explicit.is_absolute() else f" (relative to the working folder {_working_folder()})"
            raise ConfigError(str(explicit), None, f"named by $GPT_TOOLS_CONFIG{where}, does not exist")
        return explicit, _table_of(explicit, _read_toml(explicit))
    for folder in (start, *start.parents):
        candidate = folder / paths.PROJECT_FILE
        if candidate.is_file():
            return candidate, _read_toml(candidate)
        pyproject = folder / paths.PYPROJECT_FILE
        if pyproject.is_file():
            data = _read_toml(pyproject)
            tool = data.get("tool")
            if isinstance(tool, dict) and "gpt-tools" in tool:
                return pyproject, _table_of(pyproject, data)
    return None


def _table_of(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    if path.name != paths.PYPROJECT_FILE:
        return data
    table = data.get("tool", {}).get("gpt-tools", {})
    if not isinstance(table, dict):
        raise ConfigError(str(path), "tool.gpt-tools", "expected a table")
    return table


def load_base_config() -> Config:
    """Built-in assistants and the user config: what a project config is layered on."""
    config = Config(assistants=load_builtins())
    user = paths.user_config_file()
    if user.is_file():
        table = _read_toml(user)
        config.trusted = trust.trusted_list(table, user)
        config.trusted_values = trust.trusted_values(table, user)
        _apply_layer(config, {key: value for key, value in table.items() if key not in trust.USER_ONLY}, user)
    return config


def trust_state(config: Config, path: Path, table: Mapping[str, Any] | None = None) -> trust.TrustState:
    """The standing of the project config at path (read from disk unless its table is given)."""
    if table is None:
        if config.trust_state is not None and config.trust_state.path == path:
            return config.trust_state
        found = trust.config_in(path.parent) if path.is_file() else None
        table = found[1] if found and found[0] == path else {}
    return trust.state(path, table, config.trusted, config.trusted_values)


def confinement(config: Config, path: Path) -> Path | None:
    """The folder a project config's files must stay inside: None once trusted with its present
    values (or named by $GPT_TOOLS_CONFIG)."""
    if paths.explicit_config_file() is not None or trust_state(config, path).trusted:
        return None
    return Path(os.path.realpath(path.parent))


def apply_project_layer(config: Config, table: Mapping[str, Any], path: Path) -> None:
    """Layer a project config's table over config (validating every key)."""
    _apply_layer(config, _table_of(path, dict(table)), path, confinement(config, path))
    config.project_file = path


def _working_folder() -> str:
    try:
        return os.getcwd()
    except FileNotFoundError:  # `rm -r` of the folder a shell (or Vim) still sits in
        raise UsageError("the working folder no longer exists (deleted or moved); cd to an existing folder") from None


def load_config(cwd: Path | str | None = None, *, inspect: bool = False) -> Config:
    """Built-in assistants, then the user config, then the nearest project config.

    inspect: for what sends nothing (`list`, `show`, `config show`, completion): an untrusted
    project's trust-gated keys are left out (named in Config.ignored) instead of refused.
    """
    config = load_base_config()
    project = find_project_config(Path(cwd or _working_folder()).resolve())
    if project is not None:
        path, table = project
        config.trust_state = trust_state(config, path, table)
        explicit = paths.explicit_config_file() is not None
        try:
            trust.check(path, table, config.trust_state, explicit=explicit)
        except ConfigError:
            if not inspect:
                raise
            config.ignored = trust.sensitive_keys(table)
            table = trust.without(table, config.ignored)
        root = confinement(config, path)
        if inspect and root is not None:  # its files outside it are not read either: named, not refused
            outside = [key for key in config.trust_state.gated if key.rsplit(".", 1)[-1] in trust.FILE_KEYS]
            config.ignored += outside
            table = trust.unread(table, outside)
        _apply_layer(config, table, path, root)
        config.project_file = path
    return config
