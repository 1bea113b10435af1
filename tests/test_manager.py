"""gpt_tools.config.manager: create/edit/delete assistants in the project config, comments and layout kept.

Every test works on a project config in the (isolated) working directory; GPT_TOOLS_CONFIG is unset
by the autouse `isolated_env` fixture, so the config is found the way a user's would be.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import gpt_tools
from gpt_tools import (
    Changes,
    UnknownAssistant,
    UsageError,
    add_assistant_files,
    create_assistant,
    delete_assistant,
    edit_assistant,
    load_config,
    remove_assistant_files,
    set_assistant_files,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

HEAD = '# Project config for gpt-tools\nmodel = "gpt-5-mini"   # default model\n\n# --- assistants ---\n\n'
HOUSE = '[assistants.House]\n# our house style\ninstructions = "Our style."\nmode = "rewrite"  # replaces the input\n'
OTHER = '[assistants.Other]\ndescription = "Another one"   # keep me\ninstructions = "Other."\n'
CONFIG = HEAD + HOUSE + "\n" + OTHER


@pytest.fixture
def project(isolated_env: Path) -> Path:
    """gpt-tools.toml with comments and blank lines, an instructions/ folder and two knowledge files."""
    (isolated_env / "gpt-tools.toml").write_text(CONFIG, encoding="utf-8")
    (isolated_env / "instructions").mkdir()
    (isolated_env / "instructions" / "Style.md").write_text("Write in our house style.\n", encoding="utf-8")
    (isolated_env / "instructions" / "plain.txt").write_text("Plain text prompt.\n", encoding="utf-8")
    (isolated_env / "docs").mkdir()
    (isolated_env / "docs" / "a.md").write_text("# A\n", encoding="utf-8")
    (isolated_env / "docs" / "b.md").write_text("# B\n", encoding="utf-8")
    return isolated_env / "gpt-tools.toml"


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def table(path: Path, name: str) -> dict[str, object]:
    data = tomllib.loads(text(path))
    if path.name == "pyproject.toml":
        data = data["tool"]["gpt-tools"]
    return dict(data["assistants"][name])


def no_temp_files(folder: Path) -> bool:
    return not [name for name in os.listdir(folder) if name.endswith(".tmp")]


# --- round trips: the untouched parts stay byte for byte -----------------------------------------


def test_create_appends_a_table_and_keeps_everything_else(project: Path) -> None:
    path = create_assistant("New", Changes(model="m1", instruction_name="Style", description="Fresh"))
    assert path == project
    added = '\n[assistants.New]\ninstructions_file = "instructions/Style.md"\nmodel = "m1"\ndescription = "Fresh"\n'
    assert text(project) == CONFIG + added
    new = load_config().assistant("New")
    assert new.instructions == "Write in our house style.\n"
    assert (new.model, new.description, new.source) == ("m1", "Fresh", str(project))


def test_edit_changes_only_its_own_table(project: Path) -> None:
    edit_assistant("House", Changes(model="gpt-5", description="Ours"))
    assert text(project) == HEAD + HOUSE + 'model = "gpt-5"\ndescription = "Ours"\n\n' + OTHER
    house = load_config().assistant("House")
    assert (house.model, house.description, house.mode, house.instructions) == (
        "gpt-5",
        "Ours",
        "rewrite",
        "Our style.",
    )


def test_edit_is_case_insensitive_like_run(project: Path) -> None:
    edit_assistant("house", Changes(model="gpt-5"))
    assert table(project, "House")["model"] == "gpt-5"
    assert "house" not in tomllib.loads(text(project))["assistants"]


def test_delete_removes_exactly_its_table(project: Path) -> None:
    assert delete_assistant("House") == project
    assert text(project) == HEAD + OTHER
    assert "House" not in load_config().assistants


def test_create_edit_delete_round_trip_restores_the_file(project: Path) -> None:
    create_assistant("Tmp", Changes(instruction_name="Style", model="m"))
    edit_assistant("Tmp", Changes(model="m2", retrieval=True))
    assert table(project, "Tmp") == {
        "instructions_file": "instructions/Style.md",
        "model": "m2",
        "tools": ["file_search"],
    }
    delete_assistant("Tmp")
    assert text(project).rstrip("\n") == CONFIG.rstrip("\n")
    assert text(project).startswith(CONFIG)


def test_new_name_renames_and_keeps_the_tables_comments(project: Path) -> None:
    edit_assistant("House", Changes(), new_name="Home")
    after = text(project)
    assert after.startswith(HEAD)
    assert OTHER in after and HOUSE.replace("House", "Home") in after
    config = load_config()
    assert "House" not in config.assistants
    home = config.assistant("Home")
    assert (home.instructions, home.mode) == ("Our style.", "rewrite")


def test_new_name_together_with_changes(project: Path) -> None:
    edit_assistant("Other", Changes(model="m3"), new_name="Renamed")
    assert table(project, "Renamed") == {"description": "Another one", "instructions": "Other.", "model": "m3"}
    assert "Other" not in load_config().assistants


def test_editing_a_builtin_adds_an_override_table(project: Path) -> None:
    builtin = load_config().assistant("MarkdownLinter")
    edit_assistant("MarkdownLinter", Changes(model="gpt-5"))
    assert text(project) == CONFIG + '\n[assistants.MarkdownLinter]\nmodel = "gpt-5"\n'
    overridden = load_config().assistant("MarkdownLinter")
    assert overridden.model == "gpt-5" and overridden.source == str(project)
    assert (overridden.instructions, overridden.mode) == (builtin.instructions, "rewrite")  # the rest inherited
    # and deleting the override brings the built-in back
    delete_assistant("MarkdownLinter")
    assert load_config().assistant("MarkdownLinter") == builtin


# --- instruction names ---------------------------------------------------------------------------


def test_instruction_name_of_an_assistant_gives_instructions_from(project: Path) -> None:
    create_assistant("Proof2", Changes(instruction_name="ProofReader"))
    assert table(project, "Proof2") == {"instructions_from": "ProofReader"}
    derived = load_config().assistant("Proof2")
    base = load_config().assistant("ProofReader")
    assert (derived.instructions, derived.mode) == (base.instructions, base.mode)


def test_instruction_name_of_a_project_assistant(project: Path) -> None:
    create_assistant("House2", Changes(instruction_name="House"))
    assert table(project, "House2") == {"instructions_from": "House"}
    assert load_config().assistant("House2").instructions == "Our style."


def test_instruction_file_without_md_suffix(project: Path) -> None:
    create_assistant("P", Changes(instruction_name="plain.txt"))
    assert table(project, "P") == {"instructions_file": "instructions/plain.txt"}
    assert load_config().assistant("P").instructions == "Plain text prompt.\n"


def test_instruction_file_wins_over_an_assistant_of_the_same_name(project: Path) -> None:
    (project.parent / "instructions" / "ProofReader.md").write_text("Local proofreading rules.\n")
    create_assistant("P", Changes(instruction_name="ProofReader"))
    assert table(project, "P") == {"instructions_file": "instructions/ProofReader.md"}


def test_new_instruction_name_replaces_the_old_source(project: Path) -> None:
    edit_assistant("House", Changes(instruction_name="Style"))
    house = table(project, "House")
    assert "instructions" not in house and house["instructions_file"] == "instructions/Style.md"
    edit_assistant("House", Changes(instruction_name="Summarizer"))
    house = table(project, "House")
    assert "instructions_file" not in house and house["instructions_from"] == "Summarizer"
    assert "# our house style" in text(project)


# --- tools and files -----------------------------------------------------------------------------


def test_tool_toggles(project: Path) -> None:
    create_assistant("T", Changes(instruction_name="Style", retrieval=True, code=True))
    assert table(project, "T")["tools"] == ["file_search", "code_interpreter"]
    edit_assistant("T", Changes(model="m"))  # no tool flag: tools untouched
    assert table(project, "T")["tools"] == ["file_search", "code_interpreter"]
    edit_assistant("T", Changes(code=False))
    assert table(project, "T")["tools"] == ["file_search"]
    edit_assistant("T", Changes(retrieval=True))  # already on: not doubled
    assert table(project, "T")["tools"] == ["file_search"]
    edit_assistant("T", Changes(retrieval=False, code=True))
    assert table(project, "T")["tools"] == ["code_interpreter"]
    edit_assistant("T", Changes(code=False))
    assert table(project, "T")["tools"] == []
    assert load_config().assistant("T").tools == ()


def test_no_tools_key_unless_asked(project: Path) -> None:
    create_assistant("T", Changes(instruction_name="Style", retrieval=False, code=False))
    assert "tools" not in table(project, "T")


def test_input_files_are_stored_relative_to_the_config(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.parent / "docs")  # the config is found one folder up
    create_assistant("Kb", Changes(instruction_name="Style", input_files=["a.md", "b.md"], retrieval=True))
    assert table(project, "Kb")["files"] == ["docs/a.md", "docs/b.md"]
    assert load_config().assistant("Kb").files == ("docs/a.md", "docs/b.md")
    assert not (project.parent / "docs" / "gpt-tools.toml").exists()


def test_set_add_remove_assistant_files(project: Path) -> None:
    create_assistant("Kb", Changes(instruction_name="Style"))
    set_assistant_files("Kb", ["docs/a.md"])
    assert table(project, "Kb")["files"] == ["docs/a.md"]
    add_assistant_files("Kb", ["docs/b.md", "docs/a.md"])  # a.md is not added twice
    assert table(project, "Kb")["files"] == ["docs/a.md", "docs/b.md"]
    remove_assistant_files("Kb", ["docs/a.md"])
    assert table(project, "Kb")["files"] == ["docs/b.md"]
    remove_assistant_files("Kb", ["docs/b.md"])
    assert table(project, "Kb")["files"] == []
    assert gpt_tools.set_assistant_files is set_assistant_files  # the public names


def test_add_assistant_files_from_a_subfolder(project: Path) -> None:
    create_assistant("Kb", Changes(instruction_name="Style", input_files=["docs/a.md"]))
    (project.parent / "docs" / "sub").mkdir()
    (project.parent / "docs" / "sub" / "c.md").write_text("# C\n")
    add_assistant_files("Kb", ["c.md"], cwd=project.parent / "docs" / "sub")
    assert table(project, "Kb")["files"] == ["docs/a.md", "docs/sub/c.md"]
    remove_assistant_files("Kb", ["../a.md"], cwd=project.parent / "docs" / "sub")
    assert table(project, "Kb")["files"] == ["docs/sub/c.md"]


def test_add_missing_file_changes_nothing(project: Path) -> None:
    create_assistant("Kb", Changes(instruction_name="Style", input_files=["docs/a.md"]))
    before = project.read_bytes()
    with pytest.raises(UsageError, match=r"input file not found: docs/nope\.md"):
        add_assistant_files("Kb", ["docs/nope.md"])
    assert project.read_bytes() == before


# --- where the config goes -----------------------------------------------------------------------


def test_new_config_file_when_the_project_has_none(isolated_env: Path) -> None:
    (isolated_env / "instructions").mkdir()
    (isolated_env / "instructions" / "review.md").write_text("Review.\n")
    assert not (isolated_env / "gpt-tools.toml").exists()
    path = create_assistant("Reviewer", Changes(instruction_name="review", model="gpt-5"))
    assert path == isolated_env / "gpt-tools.toml"
    assert text(path) == '[assistants.Reviewer]\ninstructions_file = "instructions/review.md"\nmodel = "gpt-5"\n'
    assert load_config().assistant("Reviewer").source == str(path)


PYPROJECT_HEAD = '[project]\nname = "demo"  # the package\nversion = "1.0"\n\n'
PYPROJECT_TOOL = '[tool.gpt-tools]\n# gpt-tools settings\nmodel = "gpt-5-mini"\n\n'
PYPROJECT_RUFF = "[tool.ruff]\nline-length = 100\n"


@pytest.fixture
def pyproject(isolated_env: Path) -> Path:
    path = isolated_env / "pyproject.toml"
    path.write_text(PYPROJECT_HEAD + PYPROJECT_TOOL + PYPROJECT_RUFF, encoding="utf-8")
    (isolated_env / "instructions").mkdir()
    (isolated_env / "instructions" / "Style.md").write_text("House style.\n")
    return path


def test_pyproject_tool_table_is_the_target(pyproject: Path) -> None:
    before = tomllib.loads(text(pyproject))
    assert create_assistant("New", Changes(instruction_name="Style", code=True)) == pyproject
    after = text(pyproject)
    assert after.startswith(PYPROJECT_HEAD + PYPROJECT_TOOL)
    assert after.endswith(PYPROJECT_RUFF)
    data = tomllib.loads(after)
    assert data["project"] == before["project"] and data["tool"]["ruff"] == before["tool"]["ruff"]
    assert data["tool"]["gpt-tools"]["model"] == "gpt-5-mini"
    assert table(pyproject, "New") == {"instructions_file": "instructions/Style.md", "tools": ["code_interpreter"]}
    assert not (pyproject.parent / "gpt-tools.toml").exists()
    new = load_config().assistant("New")
    assert (new.instructions, new.source) == ("House style.\n", str(pyproject))

    edit_assistant("New", Changes(model="m"), new_name="Newer")
    assert table(pyproject, "Newer")["model"] == "m"
    delete_assistant("Newer")
    data = tomllib.loads(text(pyproject))
    assert data["tool"]["gpt-tools"] == {"model": "gpt-5-mini"}
    assert data["project"] == before["project"] and data["tool"]["ruff"] == before["tool"]["ruff"]
    assert text(pyproject).startswith(PYPROJECT_HEAD + PYPROJECT_TOOL)


def test_pyproject_without_tool_table_is_left_alone(isolated_env: Path) -> None:
    pyproject = isolated_env / "pyproject.toml"
    pyproject.write_text(PYPROJECT_HEAD + PYPROJECT_RUFF)
    (isolated_env / "instructions").mkdir()
    (isolated_env / "instructions" / "Style.md").write_text("House style.\n")
    create_assistant("New", Changes(instruction_name="Style"))
    assert text(pyproject) == PYPROJECT_HEAD + PYPROJECT_RUFF
    assert table(isolated_env / "gpt-tools.toml", "New") == {"instructions_file": "instructions/Style.md"}


# --- errors leave the file byte-identical --------------------------------------------------------


def _create_existing(p: Path) -> None:
    create_assistant("House", Changes(instruction_name="Style"))


def _create_builtin(p: Path) -> None:
    create_assistant("MarkdownLinter", Changes(instruction_name="Style"))


def _create_without_instructions(p: Path) -> None:
    create_assistant("Bare", Changes(model="m"))


def _edit_unknown(p: Path) -> None:
    edit_assistant("Nobody", Changes(model="m"))


def _delete_unknown(p: Path) -> None:
    delete_assistant("Nobody")


def _delete_builtin(p: Path) -> None:
    delete_assistant("MarkdownLinter")


def _unknown_instruction(p: Path) -> None:
    create_assistant("X", Changes(instruction_name="NoSuchPrompt"))


def _missing_input_file(p: Path) -> None:
    create_assistant("X", Changes(instruction_name="Style", input_files=["docs/a.md", "docs/missing.md"]))


def _rename_to_existing(p: Path) -> None:
    edit_assistant("House", Changes(model="m"), new_name="Other")


def _rename_to_builtin(p: Path) -> None:
    edit_assistant("House", Changes(), new_name="ProofReader")


def _rename_builtin(p: Path) -> None:
    edit_assistant("MarkdownLinter", Changes(model="m"), new_name="Linter")


def _invalid_mode(p: Path) -> None:
    edit_assistant("House", Changes(mode="sideways"))


ERRORS = [
    (
        _create_existing,
        UsageError,
        r"an assistant named 'House' exists already \(.*gpt-tools\.toml\); use `assistant edit`",
    ),
    (_create_builtin, UsageError, r"an assistant named 'MarkdownLinter' exists already \(built-in\)"),
    (_create_without_instructions, UsageError, "a new assistant needs --instruction-name"),
    (_edit_unknown, UnknownAssistant, "unknown assistant 'Nobody'.*Known assistants: .*House"),
    (_delete_unknown, UnknownAssistant, "unknown assistant 'Nobody'"),
    (_delete_builtin, UsageError, r"MarkdownLinter is defined in built-in, not in .*; nothing to delete here"),
    (_unknown_instruction, UsageError, r"no instructions named 'NoSuchPrompt' .*: Style, .*House, .*ProofReader"),
    (_missing_input_file, UsageError, r"input file not found: docs/missing.md$"),
    (_rename_to_existing, UsageError, "an assistant named 'Other' exists already"),
    (_rename_to_builtin, UsageError, r"an assistant named 'ProofReader' exists already \(built-in\)"),
    (_rename_builtin, UsageError, "MarkdownLinter is built in and cannot be renamed"),
    (_invalid_mode, UsageError, r"would make the config invalid .*assistants.House.mode.*nothing was written"),
]


@pytest.mark.parametrize(("action", "error", "message"), ERRORS, ids=[e[0].__name__.lstrip("_") for e in ERRORS])
def test_errors_leave_the_config_byte_identical(
    project: Path, action: object, error: type[Exception], message: str
) -> None:
    before = project.read_bytes()
    stat = project.stat()
    with pytest.raises(error, match=message):
        action(project)  # type: ignore[operator]
    assert project.read_bytes() == before
    assert project.stat().st_ino == stat.st_ino  # not even replaced by an identical copy
    assert no_temp_files(project.parent)
    assert [p.name for p in project.parent.glob("*.toml")] == ["gpt-tools.toml"]


def test_renaming_a_base_assistant_is_refused(project: Path) -> None:
    create_assistant("Child", Changes(instruction_name="House"))
    before = project.read_bytes()
    with pytest.raises(
        UsageError, match=r"would make the config invalid .*instructions_from: no assistant named 'House'"
    ):
        edit_assistant("House", Changes(), new_name="Home")
    assert project.read_bytes() == before


def test_unknown_instruction_message_lists_files_and_assistants(project: Path) -> None:
    with pytest.raises(UsageError) as info:
        create_assistant("X", Changes(instruction_name="Nope"))
    message = str(info.value)
    assert f"looked in {project.parent / 'instructions'}/ and assistants" in message
    known = message.rsplit(": ", 1)[1].split(", ")
    assert known[0] == "Style"  # files first
    assert {"House", "Other", "MarkdownLinter", "ProofReader"} <= set(known)


def test_error_in_a_new_project_creates_no_file(isolated_env: Path) -> None:
    with pytest.raises(UsageError, match="no instructions named 'Nope'"):
        create_assistant("X", Changes(instruction_name="Nope"))
    assert os.listdir(isolated_env) == []


def test_malformed_config_is_reported_not_overwritten(project: Path) -> None:
    project.write_text(CONFIG + "[assistants.Broken\n")
    before = project.read_bytes()
    with pytest.raises(gpt_tools.ConfigError, match="invalid TOML"):
        create_assistant("New", Changes(instruction_name="Style"))
    assert project.read_bytes() == before


def test_deleting_a_base_assistant_is_refused(project: Path) -> None:
    create_assistant("Child", Changes(instruction_name="Other"))
    before = project.read_bytes()
    with pytest.raises(UsageError, match=r"would make the config invalid .*Child.instructions_from"):
        delete_assistant("Other")
    assert project.read_bytes() == before


def test_names_that_need_quoting(project: Path) -> None:
    for name in ("My Helper", "v1.2", "Ünï"):
        create_assistant(name, Changes(instruction_name="ProofReader"))
    assert '[assistants."My Helper"]' in text(project) and '[assistants."v1.2"]' in text(project)
    assert {"My Helper", "v1.2", "Ünï"} <= set(load_config().assistants)
    edit_assistant("v1.2", Changes(model="m"), new_name="v2.0")
    delete_assistant("My Helper")
    names = set(tomllib.loads(text(project))["assistants"])
    assert names == {"House", "Other", "Ünï", "v2.0"}
    assert text(project).startswith(CONFIG)


# --- concurrent edits, line endings --------------------------------------------------------------


def test_eight_concurrent_creates_all_survive(project: Path) -> None:
    """8 real processes at once: each re-reads the config under the edit lock, so none is lost."""
    import subprocess

    from tests.conftest import program

    names = [f"Par{i}" for i in range(8)]
    procs = [
        subprocess.Popen(
            [program("gpt-tools"), "assistant", "create", name, "--instruction-name", "Style"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in names
    ]
    codes = [proc.wait(timeout=120) for proc in procs]
    assert codes == [0] * 8, [proc.stderr.read() for proc in procs if proc.stderr]
    assert set(names) <= set(tomllib.loads(text(project))["assistants"])
    assert text(project).startswith(CONFIG) and no_temp_files(project.parent)
    edits = [
        subprocess.Popen([program("gpt-tools"), "assistant", verb, name, *extra])
        for verb, name, extra in [("delete", n, []) for n in names[:4]]
        + [("edit", n, ["--description", f"d{n}"]) for n in names[4:]]
    ]
    assert [proc.wait(timeout=120) for proc in edits] == [0] * 8
    assistants = tomllib.loads(text(project))["assistants"]
    assert not set(names[:4]) & set(assistants)
    assert [assistants[n]["description"] for n in names[4:]] == [f"d{n}" for n in names[4:]]


def test_edits_keep_crlf_line_endings_bom_and_final_newline(project: Path) -> None:
    crlf = ("\ufeff" + CONFIG).replace("\n", "\r\n").encode("utf-8")
    project.write_bytes(crlf)
    create_assistant("New", Changes(instruction_name="Style"))
    data = project.read_bytes()
    assert data.startswith(crlf) and data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")  # every added line is CRLF too
    assert load_config().assistant("New").instructions == "Write in our house style.\n"
    edit_assistant("House", Changes(description="d"))
    delete_assistant("Other")
    data = project.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf# Project config") and b"\n" not in data.replace(b"\r\n", b"")


def test_edits_keep_a_missing_final_newline(project: Path) -> None:
    project.write_text(CONFIG.rstrip("\n"), encoding="utf-8")
    edit_assistant("Other", Changes(description="d"))
    assert not text(project).endswith("\n") and table(project, "Other")["description"] == "d"


# --- knowledge files of an untrusted project -----------------------------------------------------


def test_input_files_outside_an_untrusted_project_are_refused(project: Path) -> None:
    outside = project.parent.parent / "elsewhere.md"
    outside.write_text("# Elsewhere\n")
    before = project.read_bytes()
    with pytest.raises(UsageError, match="gpt-tools trust"):
        create_assistant("New", Changes(instruction_name="Style", input_files=[str(outside)]))
    with pytest.raises(UsageError):
        set_assistant_files("House", ["docs/a.md", "../elsewhere.md"])
    assert project.read_bytes() == before
    from tests.conftest import trust_project

    trust_project(project.parent)
    set_assistant_files("House", ["docs/a.md", "../elsewhere.md"])
    assert table(project, "House")["files"] == ["docs/a.md", "../elsewhere.md"]


def test_instructions_symlink_out_of_an_untrusted_project_is_refused(project: Path) -> None:
    outside = project.parent.parent / "secret.md"
    outside.write_text("secret\n")
    (project.parent / "instructions" / "Leak.md").symlink_to(outside)
    before = project.read_bytes()
    with pytest.raises(UsageError, match="gpt-tools trust"):
        create_assistant("New", Changes(instruction_name="Leak"))
    assert project.read_bytes() == before


def test_an_edit_waiting_too_long_for_the_lock_is_a_clear_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from gpt_tools.config import tomledit

    monkeypatch.setattr(tomledit, "LOCK_TIMEOUT", 0.2)
    holder = subprocess.Popen(  # another process in the middle of an edit of the same config
        [sys.executable, "-c", "import sys; from pathlib import Path; from gpt_tools.config.tomledit import edit_lock\n"
         "with edit_lock(Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.read()", str(project)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        before = project.read_bytes()
        with pytest.raises(UsageError):
            create_assistant("New", Changes(instruction_name="Style"))
        assert project.read_bytes() == before
    finally:
        holder.communicate("", timeout=30)
    create_assistant("New", Changes(instruction_name="Style"))  # free again


# --- a symlinked project config ------------------------------------------------------------------


def test_config_symlinked_out_of_an_untrusted_project_is_never_written(project: Path) -> None:
    from gpt_tools.cli.main import main

    victim = project.parent.parent / "victim_other.toml"
    victim.write_text("# someone else's\n", encoding="utf-8")
    project.unlink()
    project.symlink_to(victim)
    assert main(["assistant", "create", "Q", "--instruction-name", "Style"]) == 2
    assert text(victim) == "# someone else's\n"
    project.unlink()
    project.symlink_to(project.parent.parent / "created_by_repo.toml")  # dangling: would be created
    with pytest.raises(UsageError, match=r"symlink to .*created_by_repo\.toml, outside the project"):
        create_assistant("Q", Changes(instruction_name="Style"))
    assert not (project.parent.parent / "created_by_repo.toml").exists()


def test_config_symlinked_inside_the_project_or_trusted_is_edited(project: Path) -> None:
    from tests.conftest import trust_project

    real = project.parent / "conf" / "gpt-tools.toml"
    real.parent.mkdir()
    project.rename(real)
    project.symlink_to(Path("conf") / "gpt-tools.toml")
    create_assistant("Q", Changes(instruction_name="Style"))
    assert project.is_symlink() and "Q" in tomllib.loads(text(real))["assistants"]
    outside = project.parent.parent / "shared.toml"
    real.rename(outside)
    project.unlink()
    project.symlink_to(outside)
    trust_project(project.parent)
    edit_assistant("Q", Changes(description="kept"))
    assert project.is_symlink() and table(outside, "Q")["description"] == "kept"
