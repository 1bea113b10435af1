"""Create, edit and delete assistants in the project's config, keeping its comments and layout.

Definitions live in `gpt-tools.toml` (or `[tool.gpt-tools]` in pyproject.toml) so they are reviewed
and shared through git. Every change is validated by loading the edited text as config before the
file is (atomically) replaced: a failed command leaves the config byte-identical.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpt_tools.config import trust
from gpt_tools.config.filenames import named_file
from gpt_tools.config.loader import (
    Config,
    apply_project_layer,
    confinement,
    find_project_config,
    load_base_config,
    load_config,
    parse_toml,
    trust_state,
)
from gpt_tools.config.tomledit import Layout, dumps, edit_lock, read_document, write_document
from gpt_tools.errors import ConfigError, UsageError
from gpt_tools.state import paths
from gpt_tools.state.localread import inside

INSTRUCTIONS_DIR = "instructions"


@dataclass(frozen=True)
class Changes:
    """What a create/edit sets; None leaves a field as it is."""

    model: str | None = None
    instruction_name: str | None = None
    input_files: Sequence[str] | None = None
    retrieval: bool | None = None
    code: bool | None = None
    mode: str | None = None
    description: str | None = None
    instructions: str | None = None  # the text itself (`--instructions`)
    instructions_file: str | None = None  # a file, named from the working folder (`--instructions-file`)
    temperature: float | None = None
    settings: Mapping[str, Any] | None = None  # per-assistant settings (backend, base_url)


def _target(cwd: Path) -> Path:
    found = find_project_config(cwd)
    return found[0] if found else cwd / paths.PROJECT_FILE


def _document(path: Path) -> tuple[Any, Any, Layout]:
    """(whole tomlkit document, the gpt-tools table in it, layout), creating the table if needed."""
    import tomlkit  # start-up: tomlkit takes tens of ms to import; only an edit pays for it

    doc, layout = read_document(path)
    table: Any = doc
    if path.name == paths.PYPROJECT_FILE:
        tool = doc.setdefault("tool", tomlkit.table(is_super_table=True))
        table = tool.setdefault("gpt-tools", tomlkit.table())
    if "assistants" not in table:
        table["assistants"] = tomlkit.table(is_super_table=True)
    return doc, table, layout


def _relative(path: Path, folder: Path) -> str:
    return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()


def _instruction_entry(name: str, config: Config, folder: Path) -> tuple[str, str]:
    """`--instruction-name I`: a file instructions/I(.md) in the project, or an assistant named I."""
    for candidate in (folder / INSTRUCTIONS_DIR / f"{name}.md", folder / INSTRUCTIONS_DIR / name):
        if candidate.is_file():
            return "instructions_file", _relative(candidate, folder)
    if name in config.assistants:
        return "instructions_from", name
    files = sorted(p.stem for p in (folder / INSTRUCTIONS_DIR).glob("*.md"))
    known = ", ".join(files + sorted(config.assistants))
    raise UsageError(f"no instructions named {name!r} (looked in {folder / INSTRUCTIONS_DIR}/ and assistants): {known}")


def _instruction_source(changes: Changes, config: Config, folder: Path, cwd: Path) -> tuple[str, str] | None:
    """The one instructions entry a change sets (--instruction-name, --instructions, --instructions-file)."""
    given = [changes.instruction_name, changes.instructions, changes.instructions_file]
    if sum(value is not None for value in given) > 1:
        raise UsageError("give the instructions once: --instruction-name, --instructions or --instructions-file")
    if changes.instruction_name is not None:
        return _instruction_entry(changes.instruction_name, config, folder)
    if changes.instructions is not None:
        if not changes.instructions.strip():
            raise UsageError("--instructions: the text is empty; nothing was written")
        return "instructions", changes.instructions
    if changes.instructions_file is not None:
        named = named_file(cwd, changes.instructions_file)
        if not named.is_file():
            why = _not_a_file(named)
            raise UsageError(f"--instructions-file: {changes.instructions_file}: {why}; nothing was written")
        return "instructions_file", _relative(named, folder)
    return None


def _apply(entry: Any, changes: Changes, config: Config, folder: Path, cwd: Path) -> None:
    source = _instruction_source(changes, config, folder, cwd)
    if source is not None:
        for key in ("instructions", "instructions_file", "instructions_from"):
            entry.pop(key, None)
        entry[source[0]] = source[1]
    for field_name, value in (
        ("model", changes.model),
        ("mode", changes.mode),
        ("description", changes.description),
        ("temperature", changes.temperature),
        *(changes.settings or {}).items(),
    ):
        if value is not None:
            entry[field_name] = value
    if changes.input_files is not None:
        _check_files(changes.input_files, config, folder, cwd)
        entry["files"] = [_relative(named_file(cwd, name), folder) for name in changes.input_files]
    tools = list(entry.get("tools", []))
    for tool, wanted in (("file_search", changes.retrieval), ("code_interpreter", changes.code)):
        if wanted is True and tool not in tools:
            tools.append(tool)
        elif wanted is False and tool in tools:
            tools.remove(tool)
    if tools or "tools" in entry:
        entry["tools"] = tools


def _not_a_file(path: Path) -> str:
    """Why path, which is no regular file, cannot be read as one: a folder or a FIFO is no missing file."""
    if not os.path.lexists(path):
        return "no such file"
    return "a folder, not a file" if path.is_dir() else "not a regular file (a FIFO, a device or a broken link)"


def _check_files(names: Sequence[str], config: Config, folder: Path, cwd: Path) -> None:
    """Knowledge files must exist as regular files, and lie in the project until it is trusted."""
    given = {name: named_file(cwd, name) for name in names}
    missing = [name for name in names if not given[name].is_file()]
    if missing:
        odd = [f"{name} ({_not_a_file(given[name])})" for name in missing if os.path.lexists(given[name])]
        if odd:
            raise UsageError(f"input files must be regular files: {', '.join(odd)}")
        raise UsageError(f"input file not found: {', '.join(missing)}")
    path = _target(cwd)
    root = confinement(config, path)
    outside = [name for name in names if root is not None and not inside(given[name], root)]
    if outside and root is not None:
        raise UsageError(
            f"{', '.join(outside)}: outside the project {root}; an untrusted project's knowledge files "
            f"must lie inside it (`{trust.command_for(root)}` lifts that); nothing was written"
        )


def _save(path: Path, doc: Any, layout: Layout, within: Path | None) -> None:
    """Validate the edited text as config, then replace the file atomically."""
    text = dumps(doc, layout)
    try:
        apply_project_layer(load_base_config(), parse_toml(text, path), path)
    except ConfigError as exc:
        raise UsageError(f"the change would make the config invalid ({exc}); nothing was written") from None
    write_document(path, text, within=within)


@dataclass(frozen=True, kw_only=True)
class _Edit:
    """One edit's view of the config, read under the edit lock."""

    base: Path
    path: Path
    config: Config
    doc: Any
    table: Any
    layout: Layout
    within: Path | None  # the folder the config must resolve into when written; None once trusted
    repin: bool  # the project was trusted with its values: the user's own edit keeps it trusted

    def save(self) -> Path:
        _save(self.path, self.doc, self.layout, self.within)
        if self.repin:  # a knowledge file outside the project is a trust-gated value (config/trust.py)
            trust.trust(self.path.parent, paths.user_config_file())
        return self.path


@contextmanager
def _editing(cwd: Path | str | None) -> Iterator[_Edit]:
    """Lock the project config, then read it: what another process changed meanwhile is kept."""
    base = Path(cwd or os.getcwd()).resolve()
    path = _target(base)
    with edit_lock(path):
        config = load_config(base, inspect=True)  # an edit sends nothing: an untrusted base_url is no reason to refuse
        within = _refuse_outside_link(path, config)
        repin = paths.explicit_config_file() is None and trust_state(config, path).trusted
        doc, table, layout = _document(path)
        yield _Edit(
            base=base, path=path, config=config, doc=doc, table=table, layout=layout, within=within, repin=repin
        )


def _refuse_outside_link(path: Path, config: Config) -> Path | None:
    """The folder the config may be written in: a symlink inside the project is fine, one leading out of
    an untrusted project is refused (a cloned repository must not make an edit write the user's files)."""
    root = confinement(config, path)
    if root is not None and not inside(path, root):
        raise ConfigError(
            str(path),
            None,
            f"is a symlink to {os.path.realpath(path)}, outside the project {root}; "
            f"nothing was written (`{trust.command_for(root)}` allows it)",
        )
    return root


def create_assistant(name: str, changes: Changes, *, cwd: Path | str | None = None) -> Path:
    """Add a new assistant to the project config; its name must be new."""
    import tomlkit  # start-up: as in _document

    with _editing(cwd) as edit:
        if name in edit.config.assistants:
            where = edit.config.assistants[name].source
            raise UsageError(f"an assistant named {name!r} exists already ({where}); use `assistant edit`")
        if changes.instruction_name is None and changes.instructions is None and changes.instructions_file is None:
            raise UsageError("a new assistant needs --instruction-name, --instructions or --instructions-file")
        entry = tomlkit.table()
        _apply(entry, changes, edit.config, edit.path.parent, edit.base)
        edit.table["assistants"][name] = entry
        return edit.save()


def edit_assistant(name: str, changes: Changes, *, new_name: str | None = None, cwd: Path | str | None = None) -> Path:
    """Change an assistant; editing a built-in adds a project entry that overrides its fields."""
    with _editing(cwd) as edit:
        return _edit_entry(edit, name, changes, new_name)


def _edit_entry(edit: _Edit, name: str, changes: Changes, new_name: str | None) -> Path:
    import tomlkit  # start-up: as in _document

    config = edit.config
    name = config.assistant(name).name  # unknown names fail here, listing the known ones
    assistants = edit.table["assistants"]
    entry = assistants[name] if name in assistants else tomlkit.table()
    _apply(entry, changes, config, edit.path.parent, edit.base)
    if new_name and new_name != name:
        if new_name in config.assistants:
            raise UsageError(f"an assistant named {new_name!r} exists already ({config.assistants[new_name].source})")
        if name not in assistants:
            raise UsageError(f"{name} is built in and cannot be renamed; create a new assistant instead")
        del assistants[name]
        name = new_name
    assistants[name] = entry
    return edit.save()


def delete_assistant(name: str, *, cwd: Path | str | None = None) -> Path:
    """Remove an assistant from the project config (built-ins cannot be deleted)."""
    with _editing(cwd) as edit:
        found = edit.config.assistant(name)
        if found.name not in edit.table["assistants"]:
            raise UsageError(f"{found.name} is defined in {found.source}, not in {edit.path}; nothing to delete here")
        del edit.table["assistants"][found.name]
        return edit.save()


def set_assistant_files(name: str, files: Sequence[str], *, cwd: Path | str | None = None) -> Path:
    """Make files the assistant's whole set of knowledge files."""
    return edit_assistant(name, Changes(input_files=list(files)), cwd=cwd)


def add_assistant_files(name: str, files: Sequence[str], *, cwd: Path | str | None = None) -> Path:
    with _editing(cwd) as edit:
        current = [_relative(named_file(edit.path.parent, f), edit.base) for f in edit.config.assistant(name).files]
        wanted = list(dict.fromkeys([*current, *files]))
        return _edit_entry(edit, name, Changes(input_files=wanted), None)


def remove_assistant_files(name: str, files: Sequence[str], *, cwd: Path | str | None = None) -> Path:
    with _editing(cwd) as edit:
        folder, base = edit.path.parent, edit.base
        drop = {named_file(base, f).resolve() for f in files}
        assistant = edit.config.assistant(name)
        named = [named_file(folder, f) for f in assistant.files]
        kept = [_relative(path, base) for path in named if path.resolve() not in drop]
        return _edit_entry(edit, name, Changes(input_files=kept), None)
