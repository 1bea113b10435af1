"""Which projects may decide where your API key goes, and with which values.

A repository's config that sets `base_url`, `api_key_env`, `api_key_cmd` or `auth_header` could send
your key (or any environment variable) to another host, or run a command, the moment you run a filter
or commit in a clone; one that sets `log_texts`, `run_log` or `[prices]` could make your run log keep
your texts, hide runs, or misprice what you spend; one that sets `store` would keep every document you
run on the provider's side; one whose assistants name files outside it (instructions_file, knowledge
files) could send those files. Those are honoured only for projects you trusted with `gpt-tools trust`,
or for a file you named in $GPT_TOOLS_CONFIG. Until then the files an untrusted project names must lie
inside it (config.confinement).

Trust is for the values seen when it was given, as direnv's: `trusted_projects` lists the folders and
`trusted_values` keeps, per folder, a SHA-256 of each trust-gated value (never the value: a base_url
may carry a password). A `git pull` that adds, changes or removes one makes the project untrusted
again, and the refusal names what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpt_tools.config.filenames import named_file
from gpt_tools.config.tomledit import dumps, edit_lock, read_document, write_document
from gpt_tools.errors import ConfigError
from gpt_tools.state import paths

SENSITIVE = ("base_url", "api_key_env", "api_key_cmd", "auth_header", "log_texts", "run_log", "store")
TOP_LEVEL_ONLY = ("prices",)
FILE_KEYS = ("instructions_file", "files")  # gated only where they reach outside the project
KEY = "trusted_projects"
VALUES_KEY = "trusted_values"
USER_ONLY = (KEY, VALUES_KEY)
_WHY = {"store": "decides whether the provider keeps every document you run (store)"}


@dataclass(frozen=True, kw_only=True)
class TrustState:
    """A project config's standing: trusted with exactly these values, or not (and what changed)."""

    path: Path
    trusted: bool
    changed: tuple[str, ...] = ()  # "base_url changed", "api_key_cmd added", ...: why trust lapsed
    gated: tuple[str, ...] = field(default=())  # the trust-gated keys the config sets


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _targets(root: str, value: Any) -> list[str]:
    """The real paths a file key's value names, symlinks followed (names relative to the config's folder)."""
    names = value if isinstance(value, list) else [value]
    return [os.path.realpath(named_file(root, name)) for name in names if isinstance(name, str)]


def _outside(root: str, value: Any) -> bool:
    return any(os.path.commonpath([real, root]) != root for real in _targets(root, value))


def gated_values(path: Path, table: Mapping[str, Any]) -> dict[str, str]:
    """Dotted key -> digest of every trust-gated value a project config's table sets."""
    root = os.path.realpath(path.parent)
    found = {key: table[key] for key in (*SENSITIVE, *TOP_LEVEL_ONLY) if key in table}
    assistants = table.get("assistants")
    for name, body in assistants.items() if isinstance(assistants, Mapping) else ():
        if isinstance(body, Mapping):
            found |= {f"assistants.{name}.{key}": body[key] for key in SENSITIVE if key in body}
            # The value and where it leads: a symlink in the repository kept by name but pointed
            # elsewhere by a pull (link.md -> ~/.ssh/id_rsa) is a change, as a new name would be.
            found |= {
                f"assistants.{name}.{k}": [body[k], _targets(root, body[k])]
                for k in FILE_KEYS
                if k in body and _outside(root, body[k])
            }
    return {key: _digest(value) for key, value in sorted(found.items())}


def sensitive_keys(table: Mapping[str, Any]) -> list[str]:
    """Dotted names of the sensitive settings a config table sets (top level and per assistant)."""
    found = [key for key in (*SENSITIVE, *TOP_LEVEL_ONLY) if key in table]
    assistants = table.get("assistants")
    for name, body in assistants.items() if isinstance(assistants, Mapping) else ():
        if isinstance(body, Mapping):
            found += [f"assistants.{name}.{key}" for key in SENSITIVE if key in body]
    return found


def trusted_list(user_table: Mapping[str, Any], path: Path) -> list[str]:
    value = user_table.get(KEY, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(str(path), KEY, "expected a list of folder paths")
    return [os.path.realpath(os.path.expanduser(item)) for item in value]


def trusted_values(user_table: Mapping[str, Any], path: Path) -> dict[str, dict[str, str]]:
    """The digests recorded per trusted folder (real path -> dotted key -> digest)."""
    value = user_table.get(VALUES_KEY, {})
    ok = isinstance(value, Mapping) and all(
        isinstance(entry, Mapping) and all(isinstance(d, str) for d in entry.values()) for entry in value.values()
    )
    if not ok:
        raise ConfigError(str(path), VALUES_KEY, "expected a table of folders, each a table of digests")
    return {os.path.realpath(os.path.expanduser(folder)): dict(entry) for folder, entry in value.items()}


def is_trusted(path: Path, trusted: list[str]) -> bool:
    """Whether the folder of the config at path is in the trusted list (values aside: see state())."""
    return os.path.realpath(path.parent) in trusted


def _changes(recorded: Mapping[str, str], current: Mapping[str, str]) -> tuple[str, ...]:
    words = []
    for key in sorted({*recorded, *current}):
        if key not in recorded:
            words.append(f"{key} added")
        elif key not in current:
            words.append(f"{key} removed")
        elif recorded[key] != current[key]:
            words.append(f"{key} changed")
    return tuple(words)


def state(
    path: Path, table: Mapping[str, Any], trusted: list[str], records: Mapping[str, Mapping[str, str]]
) -> TrustState:
    """Whether the project config at path, holding table, is trusted with the values it has now."""
    current = gated_values(path, table)
    gated = tuple(current)
    folder = os.path.realpath(path.parent)
    if folder not in trusted:
        return TrustState(path=path, trusted=False, gated=gated)
    recorded = records.get(folder)
    if recorded is None:  # trusted by a version that kept no values: fine only while nothing is gated
        why = ("its values were not recorded when it was trusted",) if current else ()
        return TrustState(path=path, trusted=not current, changed=why, gated=gated)
    changed = _changes(recorded, current)
    return TrustState(path=path, trusted=not changed, changed=changed, gated=gated)


def trust_command() -> str:
    """The command that trusts a project, as it can be typed here.

    The hook runs from pre-commit's own virtualenv, whose `gpt-tools` is on nobody's PATH: the advice
    names the one beside the running interpreter whenever PATH would not find that same program. Under
    pre-commit ($PRE_COMMIT, set by `pre-commit run`) PATH is the hook's, with that virtualenv first,
    not the user's shell's: the full path is named then too.
    """
    import shlex  # the advice is the refusal's path only
    import shutil

    beside = Path(sys.executable).parent / "gpt-tools"
    if not beside.exists():
        return "gpt-tools trust"
    found = None if os.environ.get("PRE_COMMIT") else shutil.which("gpt-tools")
    if found and os.path.realpath(found) == os.path.realpath(beside):
        return "gpt-tools trust"
    return f"{shlex.quote(str(beside))} trust"


def command_for(folder: Path) -> str:
    """The command that trusts folder, shell-quoted: a cloned repository's folder name may hold `;`,
    `$(...)` or spaces, and the user is told to type this."""
    import shlex  # as in trust_command

    return f"{trust_command()} {shlex.quote(str(folder))}"


def advice(folder: Path) -> str:
    """What to run to trust folder, and the way for CI, where a fresh clone is never trusted."""
    return (
        f"if you trust it, run `{command_for(folder)}` (or move the setting to your "
        "user config; in CI, name the file in $GPT_TOOLS_CONFIG)"
    )


def check(path: Path, table: Mapping[str, Any], standing: TrustState, *, explicit: bool) -> None:
    """Refuse a project config's sensitive settings unless the project is trusted with these values."""
    for key in USER_ONLY:
        if key in table:
            raise ConfigError(str(path), key, "belongs in your user config, not in a project's")
    keys = sensitive_keys(table)
    if not keys or explicit or standing.trusted:
        return
    if standing.changed:
        raise ConfigError(
            str(path),
            None,
            f"changed since you trusted it ({', '.join(standing.changed)}), so it is not trusted any more; "
            f"review the change, then {advice(path.parent)}",
            advice=f"the project {path.parent} changed since you trusted it: review it, then {advice(path.parent)}",
        )
    what = _WHY.get(keys[0].rsplit(".", 1)[-1], "decides where your API key is sent or what your run log keeps")
    raise ConfigError(
        str(path),
        keys[0],
        f"{what}, and this project is not trusted; {advice(path.parent)}",
        advice=f"the project {path.parent} is not trusted; {advice(path.parent)}",
    )


def trust(folder: Path, user_config: Path, *, remove: bool = False) -> bool:
    """Add (or remove) folder in the user config's trusted_projects, recording the digests of the
    trust-gated values its config has now; True if anything changed.

    A malformed user config (bad TOML, trusted_projects not a list of strings) is a ConfigError and
    is left as it is: it must never turn into a trust grant (a string is not a list of its characters).
    """
    values = {} if remove else _values_at(folder)
    with edit_lock(user_config):
        doc, layout = read_document(user_config)
        entries = trusted_list(doc.unwrap(), user_config)
        records = trusted_values(doc.unwrap(), user_config)
        raw = [str(item) for item in doc.get(KEY, [])]
        target = os.path.realpath(folder)
        present = target in entries
        kept = [item for item, real in zip(raw, entries, strict=True) if real != target]
        if remove:
            if not present and target not in records:
                return False
            doc[KEY] = kept
            _record(doc, target, None)
        else:
            if present and records.get(target) == values:
                return False
            if not present:
                doc[KEY] = [*raw, target]
            _record(doc, target, values)
        write_document(user_config, dumps(doc, layout))
    return True


def _record(doc: Any, target: str, values: Mapping[str, str] | None) -> None:
    import tomlkit  # start-up: as in tomledit.read_document

    table = doc.get(VALUES_KEY)
    if table is None:
        table = doc[VALUES_KEY] = tomlkit.table(is_super_table=True)
    names = [name for name in table if os.path.realpath(os.path.expanduser(name)) == target]
    if values is not None and names:  # in place: the file keeps its layout
        entry = table[names[0]]
        for key in list(entry):
            del entry[key]
        entry.update(values)
        names = names[1:]
    elif values is not None:
        entry = tomlkit.table()
        entry.update(values)
        table[target] = entry
    for name in names:
        del table[name]


def config_in(folder: Path) -> tuple[Path, dict[str, Any]] | None:
    """The project config kept in folder itself (gpt-tools.toml, else pyproject.toml's [tool.gpt-tools]),
    with its gpt-tools table; what trust records and `gpt-tools trust` names."""
    candidate = folder / paths.PROJECT_FILE
    if candidate.is_file():
        return candidate, dict(read_document(candidate)[0].unwrap())
    pyproject = folder / paths.PYPROJECT_FILE
    if pyproject.is_file():
        tool = read_document(pyproject)[0].unwrap().get("tool")
        if isinstance(tool, dict) and isinstance(tool.get("gpt-tools"), dict):
            return pyproject, tool["gpt-tools"]
    return None


def _values_at(folder: Path) -> dict[str, str]:
    """The gated values of the project config in folder (none: a project without one)."""
    found = config_in(Path(os.path.realpath(folder)))
    return gated_values(found[0], found[1]) if found else {}


def without(table: Mapping[str, Any], dotted: list[str]) -> dict[str, Any]:
    """table without the dotted keys (top level, or `assistants.NAME.key`)."""
    kept = {key: value for key, value in table.items() if key not in dotted}
    assistants = kept.get("assistants")
    if isinstance(assistants, dict):
        kept["assistants"] = {
            name: {k: v for k, v in body.items() if f"assistants.{name}.{k}" not in dotted}
            if isinstance(body, dict)
            else body
            for name, body in assistants.items()
        }
    return kept


def unread(table: Mapping[str, Any], dotted: list[str]) -> dict[str, Any]:
    """table without the outside files named by dotted (`assistants.NAME.instructions_file` or `.files`),
    for what sends nothing: an instructions_file is replaced by a note saying it was not read."""
    kept = without(table, dotted)
    for key in dotted:
        name, item = key.removeprefix("assistants.").rsplit(".", 1)
        body = kept["assistants"][name]
        if item == "instructions_file":
            body["instructions"] = f"(not read: {table['assistants'][name][item]!r} lies outside the untrusted project)"
    return kept
