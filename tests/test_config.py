"""Config: built-ins < user config < project config, found the way a user expects, errors naming file and key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gpt_tools.cli import hook
from gpt_tools.config.definitions import DEFAULT_MODEL, Assistant, Settings
from gpt_tools.config.loader import Config, load_builtins, load_config
from gpt_tools.core.session import Session
from gpt_tools.errors import ConfigError, UnknownAssistant
from tests.conftest import trust_project, write_config

BUILTIN_NAMES = {"ChangelogWriter", "DocWriter", "MarkdownLinter", "ProofReader", "Simplifier", "Summarizer"}


def user_config(text: str) -> Path:
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "gpt-tools"
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(folder, text, name="config.toml")


def nested(root: Path, *parts: str) -> Path:
    folder = root.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- built-ins ---------------------------------------------------------------------------------------


def test_builtins_load_with_their_modes() -> None:
    builtins = load_builtins()
    assert set(builtins) >= BUILTIN_NAMES
    assert builtins["MarkdownLinter"].mode == "rewrite"
    assert builtins["MarkdownLinter"].rewrites
    assert builtins["DocWriter"].mode == "write"
    assert not builtins["DocWriter"].rewrites


def test_every_builtin_has_instructions_description_and_source() -> None:
    for name, assistant in load_builtins().items():
        assert assistant.name == name
        assert assistant.instructions.strip(), name
        assert "+++" not in assistant.instructions.splitlines()[0], name  # front matter is not sent
        assert assistant.description.strip(), name
        assert assistant.source == "built-in"
        assert assistant.mode in ("rewrite", "write")


def test_no_config_files_gives_builtins_and_default_settings(isolated_env: Path) -> None:
    config = load_config(cwd=isolated_env)
    assert config.files == []
    assert config.settings.model == DEFAULT_MODEL
    assert config.project_root is None
    assert set(config.assistants) == set(load_builtins())


# --- discovery ---------------------------------------------------------------------------------------


def test_project_config_found_walking_up_from_nested_subdirectory(isolated_env: Path) -> None:
    path = write_config(isolated_env, 'model = "from-project"\n')
    deep = nested(isolated_env, "a", "b", "c")
    config = load_config(cwd=deep)
    assert config.settings.model == "from-project"
    assert config.files == [path.resolve()]
    assert config.project_root == isolated_env.resolve()


def test_load_config_defaults_to_the_working_directory(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(isolated_env, 'model = "from-project"\n')
    monkeypatch.chdir(nested(isolated_env, "sub"))
    assert load_config().settings.model == "from-project"


def test_nearest_project_config_wins(isolated_env: Path) -> None:
    write_config(isolated_env, 'model = "outer"\n')
    inner = nested(isolated_env, "inner")
    write_config(inner, 'model = "inner"\n')
    config = load_config(cwd=nested(inner, "deeper"))
    assert config.settings.model == "inner"
    assert len(config.files) == 1  # only the nearest project file applies, they do not stack


def test_pyproject_with_tool_table_is_found(isolated_env: Path) -> None:
    path = write_config(
        isolated_env, '[project]\nname = "x"\n\n[tool.gpt-tools]\nmodel = "from-pyproject"\n', "pyproject.toml"
    )
    config = load_config(cwd=nested(isolated_env, "src"))
    assert config.settings.model == "from-pyproject"
    assert config.files == [path.resolve()]


def test_pyproject_assistants_table_is_read(isolated_env: Path) -> None:
    write_config(
        isolated_env,
        '[tool.gpt-tools.assistants.Mine]\ninstructions = "Do it."\nmode = "rewrite"\n',
        "pyproject.toml",
    )
    mine = load_config(cwd=isolated_env).assistant("Mine")
    assert (mine.instructions, mine.mode) == ("Do it.", "rewrite")


def test_pyproject_without_tool_table_is_skipped_and_walk_continues(isolated_env: Path) -> None:
    outer = write_config(isolated_env, 'model = "outer"\n')
    pkg = nested(isolated_env, "pkg")
    write_config(pkg, '[project]\nname = "pkg"\n\n[tool.ruff]\nline-length = 99\n', "pyproject.toml")
    config = load_config(cwd=nested(pkg, "src"))
    assert config.settings.model == "outer"
    assert config.files == [outer.resolve()]


def test_gpt_tools_toml_preferred_over_pyproject_in_same_folder(isolated_env: Path) -> None:
    write_config(isolated_env, '[tool.gpt-tools]\nmodel = "pyproject"\n', "pyproject.toml")
    write_config(isolated_env, 'model = "dedicated"\n')
    assert load_config(cwd=isolated_env).settings.model == "dedicated"


def test_env_config_wins_over_discovered_file(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(isolated_env, 'model = "discovered"\n')
    elsewhere = nested(isolated_env.parent, "elsewhere")
    chosen = write_config(elsewhere, 'model = "chosen"\n', "custom.toml")
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(chosen))
    config = load_config(cwd=isolated_env)
    assert config.settings.model == "chosen"
    assert config.files == [chosen]


def test_env_config_may_name_a_pyproject(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = write_config(nested(isolated_env, "other"), "[tool.gpt-tools]\nmax_retries = 9\n", "pyproject.toml")
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(chosen))
    assert load_config(cwd=isolated_env).settings.max_retries == 9


def test_env_config_missing_file_is_a_config_error(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = isolated_env / "nope.toml"
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(missing))
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=isolated_env)
    assert str(missing) in str(caught.value)
    assert caught.value.exit_code == 2


# --- layering ----------------------------------------------------------------------------------------


def test_user_config_applies(isolated_env: Path) -> None:
    path = user_config('model = "user-model"\n[assistants.Mine]\ninstructions = "From user."\n')
    config = load_config(cwd=isolated_env)
    assert config.settings.model == "user-model"
    assert config.assistant("Mine").instructions == "From user."
    assert config.assistant("Mine").source == str(path)
    assert config.files == [path]
    assert config.project_root is None  # the user config is not a project


def test_project_overrides_user_config(isolated_env: Path) -> None:
    user = user_config(
        'model = "user-model"\nmax_retries = 7\n'
        '[assistants.Mine]\ninstructions = "From user."\ndescription = "user description"\nmode = "rewrite"\n'
    )
    project = write_config(
        isolated_env, 'model = "project-model"\n[assistants.Mine]\ndescription = "project description"\n'
    )
    config = load_config(cwd=isolated_env)
    assert config.settings.model == "project-model"
    assert config.settings.max_retries == 7  # not overridden: the user's value stays
    mine = config.assistant("Mine")
    assert mine.description == "project description"
    assert mine.instructions == "From user."  # field-wise merge keeps what the project did not set
    assert mine.mode == "rewrite"
    assert mine.source == str(project.resolve())
    assert config.files == [user, project.resolve()]
    assert config.project_root == isolated_env.resolve()


def test_project_override_of_builtin_is_field_wise(isolated_env: Path) -> None:
    builtin = load_builtins()["MarkdownLinter"]
    path = write_config(isolated_env, '[assistants.MarkdownLinter]\nmodel = "x"\n')
    linter = load_config(cwd=isolated_env).assistant("MarkdownLinter")
    assert linter.model == "x"
    assert linter.instructions == builtin.instructions
    assert linter.mode == "rewrite"
    assert linter.description == builtin.description
    assert linter.source == str(path.resolve())
    assert "model" not in linter.settings  # the assistant's model is a field, not a settings override


def test_override_can_replace_instructions_of_builtin(isolated_env: Path) -> None:
    write_config(isolated_env, '[assistants.DocWriter]\ninstructions = "Be brief."\n')
    doc = load_config(cwd=isolated_env).assistant("DocWriter")
    assert doc.instructions == "Be brief."
    assert doc.mode == "write"


def test_instructions_file_is_relative_to_the_config_folder(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = nested(isolated_env, "proj")
    prompts = nested(project, "prompts")
    (prompts / "reviewer.md").write_text("Review carefully.\n", encoding="utf-8")
    write_config(project, '[assistants.Reviewer]\ninstructions_file = "prompts/reviewer.md"\ndescription = "r"\n')
    below = nested(project, "docs", "guide")
    monkeypatch.chdir(below)
    reviewer = load_config().assistant("Reviewer")
    assert reviewer.instructions == "Review carefully.\n"
    assert reviewer.mode == "write"  # default for a new assistant
    assert reviewer.description == "r"


def test_per_assistant_settings_land_in_settings(isolated_env: Path) -> None:
    write_config(
        isolated_env,
        '[assistants.Local]\ninstructions = "x"\nbackend = "chat"\nbase_url = "http://localhost:8080/v1"\n'
        'max_retries = 1\nstream = false\nmodel = "llama"\n',
    )
    trust_project(isolated_env)
    config = load_config(cwd=isolated_env)
    local = config.assistant("Local")
    assert dict(local.settings) == {
        "backend": "chat",
        "base_url": "http://localhost:8080/v1",
        "max_retries": 1,
        "stream": False,
    }
    assert local.model == "llama"
    # The global settings are untouched by one assistant's overrides.
    assert config.settings.backend == "openai"
    assert config.settings.base_url is None
    assert config.settings.stream is True


def test_per_assistant_settings_merge_across_layers(isolated_env: Path) -> None:
    user_config('[assistants.MarkdownLinter]\nbackend = "chat"\nbase_url = "http://user/v1"\n')
    write_config(isolated_env, '[assistants.MarkdownLinter]\nbase_url = "http://project/v1"\n')
    trust_project(isolated_env)
    linter = load_config(cwd=isolated_env).assistant("MarkdownLinter")
    own = {"output": "edits", "reasoning_effort": "low", "verbosity": "low"}  # the built-in's front matter
    assert dict(linter.settings) == {**own, "backend": "chat", "base_url": "http://project/v1"}


def test_top_level_settings_types_accepted(isolated_env: Path) -> None:
    write_config(
        isolated_env,
        'backend = "chat"\nconnect_timeout = 3\nread_timeout = 12.5\nstream = false\nstore = true\n'
        'max_input_tokens = 5000\napi_key_env = "MY_KEY"\n',
    )
    trust_project(isolated_env)
    settings = load_config(cwd=isolated_env).settings
    assert settings.backend == "chat"
    assert settings.connect_timeout == 3
    assert settings.read_timeout == 12.5
    assert settings.stream is False
    assert settings.store is True
    assert settings.max_input_tokens == 5000
    assert settings.api_key_env == "MY_KEY"


def test_new_assistant_lists_are_tuples(isolated_env: Path) -> None:
    write_config(
        isolated_env,
        '[assistants.Search]\ninstructions = "x"\ntools = ["file_search"]\nfiles = ["docs/a.md"]\n'
        'vector_store_ids = ["vs_1"]\ntemperature = 0\nmax_output_tokens = 100\n',
    )
    search = load_config(cwd=isolated_env).assistant("Search")
    assert search.tools == ("file_search",)
    assert search.files == ("docs/a.md",)
    assert search.vector_store_ids == ("vs_1",)
    assert search.temperature == 0
    assert search.max_output_tokens == 100


# --- errors ------------------------------------------------------------------------------------------


def assert_config_error(folder: Path, text: str, key: str | None, *fragments: str) -> ConfigError:
    path = write_config(folder, text)
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=folder)
    error = caught.value
    message = str(error)
    assert str(path.resolve()) in message
    assert error.path == str(path.resolve())
    assert error.key == key
    if key is not None:
        assert key in message
    for fragment in fragments:
        assert fragment in message
    assert error.exit_code == 2
    return error


def test_invalid_toml_names_the_file(isolated_env: Path) -> None:
    assert_config_error(isolated_env, 'model = "unterminated\n', None, "invalid TOML")


def test_invalid_toml_in_user_config_names_that_file(isolated_env: Path) -> None:
    path = user_config("this is = = not toml\n")
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=isolated_env)
    assert str(path) in str(caught.value)
    assert "invalid TOML" in str(caught.value)


def test_invalid_pyproject_names_the_file(isolated_env: Path) -> None:
    path = write_config(isolated_env, "[tool.gpt-tools\n", "pyproject.toml")
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=isolated_env)
    assert str(path.resolve()) in str(caught.value)


def test_unknown_top_level_key_suggests_close_match(isolated_env: Path) -> None:
    assert_config_error(isolated_env, 'modle = "gpt-5"\n', "modle", "unknown key", "did you mean 'model'")


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        ("BASE_URL = 'http://x/v1'\n", "BASE_URL", "did you mean 'base_url'?"),
        ("backend = 'OpenAI'\n", "backend", "did you mean 'openai'?"),
        ("reasoning_effort = 'HIGH'\n", "reasoning_effort", "did you mean 'high'?"),
    ],
)
def test_a_value_or_key_in_the_wrong_case_gets_a_did_you_mean(
    isolated_env: Path, text: str, key: str, hint: str
) -> None:
    assert_config_error(isolated_env, text, key, hint)


def test_unknown_top_level_key_without_close_match_has_no_suggestion(isolated_env: Path) -> None:
    error = assert_config_error(isolated_env, "zzzqqq = 1\n", "zzzqqq", "unknown key")
    assert "did you mean" not in str(error)


def test_unknown_assistant_key_suggests_close_match(isolated_env: Path) -> None:
    assert_config_error(
        isolated_env,
        '[assistants.Foo]\ninstructions = "x"\ntemprature = 0.2\n',
        "assistants.Foo.temprature",
        "unknown key",
        "did you mean 'temperature'",
    )


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ('[assistants.Foo]\ninstructions = "x"\ntemperature = "hot"\n', "assistants.Foo.temperature", "a number"),
        ("max_retries = true\n", "max_retries", "an integer"),
        ('[assistants.Foo]\ninstructions = "x"\nmax_retries = true\n', "assistants.Foo.max_retries", "an integer"),
        ("stream = 1\n", "stream", "true or false"),
        ("model = 5\n", "model", "a string"),
        ("connect_timeout = true\n", "connect_timeout", "a number"),
        ('[assistants.Foo]\ninstructions = "x"\ntools = "file_search"\n', "assistants.Foo.tools", "a list"),
        ('[assistants.Foo]\ninstructions = "x"\nfiles = [1]\n', "assistants.Foo.files", "list of strings"),
        (
            '[assistants.Foo]\ninstructions = "x"\nmax_output_tokens = 1.5\n',
            "assistants.Foo.max_output_tokens",
            "an integer",
        ),
    ],
)
def test_wrong_types_name_file_and_key(isolated_env: Path, text: str, key: str, fragment: str) -> None:
    assert_config_error(isolated_env, text, key, "expected", fragment)


def test_bad_mode(isolated_env: Path) -> None:
    assert_config_error(
        isolated_env,
        '[assistants.Foo]\ninstructions = "x"\nmode = "edit"\n',
        "assistants.Foo.mode",
        "'edit'",
        "rewrite",
    )


def test_bad_mode_on_builtin_override(isolated_env: Path) -> None:
    assert_config_error(
        isolated_env, '[assistants.MarkdownLinter]\nmode = "replace"\n', "assistants.MarkdownLinter.mode"
    )


def test_unknown_tool(isolated_env: Path) -> None:
    assert_config_error(
        isolated_env,
        '[assistants.Foo]\ninstructions = "x"\ntools = ["web_search"]\n',
        "assistants.Foo.tools",
        "unknown tool 'web_search'",
        "file_search",
    )


def test_both_instructions_and_instructions_file(isolated_env: Path) -> None:
    (isolated_env / "p.md").write_text("x", encoding="utf-8")
    assert_config_error(
        isolated_env,
        '[assistants.Foo]\ninstructions = "x"\ninstructions_file = "p.md"\n',
        "assistants.Foo",
        "give only one of 'instructions', 'instructions_file'",
    )


def test_instructions_from_takes_another_assistants_instructions_and_mode(isolated_env: Path) -> None:
    write_config(isolated_env, '[assistants.Strict]\ninstructions_from = "MarkdownLinter"\nmodel = "m"\n')
    config = load_config(cwd=isolated_env)
    strict, linter = config.assistant("Strict"), config.assistant("MarkdownLinter")
    assert (strict.instructions, strict.mode, strict.model) == (linter.instructions, "rewrite", "m")


def test_instructions_from_unknown_assistant(isolated_env: Path) -> None:
    assert_config_error(
        isolated_env,
        '[assistants.Foo]\ninstructions_from = "Nope"\n',
        "assistants.Foo.instructions_from",
        "no assistant named 'Nope'",
    )


def test_missing_instructions_file(isolated_env: Path) -> None:
    assert_config_error(
        isolated_env,
        '[assistants.Foo]\ninstructions_file = "prompts/missing.md"\n',
        "assistants.Foo.instructions_file",
        "missing.md",
    )


def test_new_assistant_without_instructions(isolated_env: Path) -> None:
    assert_config_error(isolated_env, '[assistants.Foo]\ndescription = "no prompt"\n', "assistants.Foo", "instructions")


def test_assistants_must_be_a_table(isolated_env: Path) -> None:
    assert_config_error(isolated_env, 'assistants = "MarkdownLinter"\n', "assistants")


def test_assistant_entry_must_be_a_table(isolated_env: Path) -> None:
    assert_config_error(isolated_env, '[assistants]\nFoo = "x"\n', "assistants.Foo", "expected a table")


def test_config_error_in_user_config_names_user_file(isolated_env: Path) -> None:
    path = user_config('[assistants.Foo]\ninstructions = "x"\ntemperature = "hot"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=isolated_env)
    assert str(path) in str(caught.value)
    assert "assistants.Foo.temperature" in str(caught.value)


# --- Config.assistant --------------------------------------------------------------------------------


def test_assistant_lookup_exact_and_case_insensitive() -> None:
    config = load_config()
    assert config.assistant("MarkdownLinter").name == "MarkdownLinter"
    assert config.assistant("markdownlinter").name == "MarkdownLinter"
    assert config.assistant("DOCWRITER").name == "DocWriter"


def test_exact_match_preferred_over_case_fold() -> None:
    config = Config(
        assistants={
            "writer": Assistant(name="writer", instructions="lower"),
            "Writer": Assistant(name="Writer", instructions="upper"),
        }
    )
    assert config.assistant("Writer").instructions == "upper"
    assert config.assistant("writer").instructions == "lower"


def test_unknown_assistant_suggests_and_lists_known_names() -> None:
    with pytest.raises(UnknownAssistant) as caught:
        load_config().assistant("MarkdownLinte")
    message = str(caught.value)
    assert "'MarkdownLinte'" in message
    assert "Did you mean 'MarkdownLinter'?" in message
    for name in BUILTIN_NAMES:
        assert name in message
    assert caught.value.exit_code == 2


def test_unknown_assistant_without_close_match() -> None:
    with pytest.raises(UnknownAssistant) as caught:
        load_config().assistant("Zebra")
    assert "Did you mean" not in str(caught.value)
    assert "DocWriter" in str(caught.value)


def test_unknown_assistant_with_no_assistants_says_none() -> None:
    with pytest.raises(UnknownAssistant, match="Known assistants: none"):
        Config().assistant("Anything")


def test_project_root_is_the_project_configs_folder_whatever_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "proj"
    folder.mkdir()
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(write_config(folder, "model = 'm'\n", name="config.toml")))
    assert load_config().project_root == folder


def test_pyproject_whose_tool_is_not_a_table_is_skipped(isolated_env: Path) -> None:
    (isolated_env / "pyproject.toml").write_text('tool = "gpt-tools"\n')
    config = load_config(cwd=isolated_env)
    assert config.project_file is None and config.project_root is None


# --- files an untrusted project may name ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink"])
def test_untrusted_project_instructions_file_stays_inside_the_project(isolated_env: Path, kind: str) -> None:
    secret = isolated_env.parent / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    name = {"absolute": str(secret), "dotdot": "../passwd", "symlink": "inside.md"}[kind]
    if kind == "symlink":
        (isolated_env / "inside.md").symlink_to(secret)
    config = write_config(isolated_env, f'[assistants.Leak]\ninstructions_file = "{name}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(isolated_env)
    assert (caught.value.path, caught.value.key) == (str(config), "assistants.Leak.instructions_file")
    assert f"gpt-tools trust {isolated_env}" in str(caught.value)
    trust_project(isolated_env)  # trusting the project lifts the confinement
    assert load_config(isolated_env).assistant("Leak").instructions.startswith("root:x:0:0")


def test_untrusted_project_may_use_a_symlink_that_stays_inside(isolated_env: Path) -> None:
    (isolated_env / "prompts").mkdir()
    (isolated_env / "prompts" / "real.md").write_text("Be brief.\n")
    (isolated_env / "link.md").symlink_to(isolated_env / "prompts" / "real.md")
    write_config(isolated_env, '[assistants.Brief]\ninstructions_file = "link.md"\n')
    assert load_config(isolated_env).assistant("Brief").instructions == "Be brief.\n"


def test_user_config_instructions_file_may_be_anywhere(isolated_env: Path) -> None:
    elsewhere = isolated_env.parent / "mine.md"
    elsewhere.write_text("My own prompt.\n")
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "gpt-tools"
    user.mkdir(parents=True)
    write_config(user, f'[assistants.Mine]\ninstructions_file = "{elsewhere}"\n', name="config.toml")
    assert load_config(isolated_env).assistant("Mine").instructions == "My own prompt.\n"


@pytest.mark.timeout(20)
@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "folder"])
def test_instructions_file_must_be_a_regular_file_even_when_trusted(isolated_env: Path, target: str) -> None:
    if target == "fifo":
        os.mkfifo(isolated_env / "pipe.md")
        target = "pipe.md"
    elif target == "folder":
        (isolated_env / "dir.md").mkdir()
        target = "dir.md"
    write_config(isolated_env, f'[assistants.Odd]\ninstructions_file = "{target}"\n')
    trust_project(isolated_env)
    with pytest.raises(ConfigError) as caught:
        load_config(isolated_env)
    assert caught.value.key == "assistants.Odd.instructions_file"


def test_instructions_file_larger_than_the_cap_is_refused(isolated_env: Path) -> None:
    from gpt_tools.state.localread import MAX_FILE_BYTES

    (isolated_env / "long.md").touch()
    os.truncate(isolated_env / "long.md", MAX_FILE_BYTES + 1)  # sparse: no disk used
    write_config(isolated_env, '[assistants.Long]\ninstructions_file = "long.md"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(isolated_env)
    assert caught.value.key == "assistants.Long.instructions_file"


# --- numbers out of range ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("max_retries = -1", "max_retries"),
        ("connect_timeout = -1", "connect_timeout"),
        ("read_timeout = 0", "read_timeout"),
        ("read_timeout = nan", "read_timeout"),
        ("max_retry_wait = -inf", "max_retry_wait"),
        ("jobs = 0", "jobs"),
        ("chunk_tokens = 0", "chunk_tokens"),
        ("max_input_tokens = -5", "max_input_tokens"),
        ("max_document_tokens = 0", "max_document_tokens"),
        ("knowledge_tokens = -1", "knowledge_tokens"),
        ("index_timeout = 0", "index_timeout"),
        ('[assistants.X]\ninstructions = "x"\ntemperature = 2.5', "assistants.X.temperature"),
        ('[assistants.X]\ninstructions = "x"\ntemperature = -0.1', "assistants.X.temperature"),
        ('[assistants.X]\ninstructions = "x"\nmax_output_tokens = 0', "assistants.X.max_output_tokens"),
        ('[assistants.X]\ninstructions = "x"\njobs = -3', "assistants.X.jobs"),
        ('[prices."m"]\ninput = -1.0\noutput = 1.0', "prices.m.input"),
    ],
)
def test_out_of_range_settings_are_config_errors_naming_the_key(isolated_env: Path, line: str, key: str) -> None:
    config = write_config(isolated_env, line + "\n")
    trust_project(isolated_env)  # [prices] needs trust; the range check holds either way
    with pytest.raises(ConfigError) as caught:
        load_config(isolated_env)
    assert (caught.value.path, caught.value.key) == (str(config), key)


def test_out_of_range_setting_from_the_cli_exits_2(isolated_env: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from gpt_tools.cli.main import main

    write_config(isolated_env, "max_retries = -1\n")
    assert main(["run", "MarkdownLinter", "-t", "text\n"]) == 2
    assert "max_retries" in capfd.readouterr().err


def test_edge_values_are_accepted(isolated_env: Path) -> None:
    write_config(
        isolated_env,
        "max_retries = 0\nmax_retry_wait = 0\nknowledge_tokens = 0\njobs = 1\n"
        '[assistants.X]\ninstructions = "x"\ntemperature = 0\n[assistants.Y]\ninstructions = "y"\ntemperature = 2\n',
    )
    config = load_config(isolated_env)
    assert config.settings.max_retries == 0 and config.assistant("Y").temperature == 2


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_hook_jobs_flag_out_of_range_is_a_usage_error(isolated_env: Path, value: str) -> None:
    from gpt_tools.cli import hook

    (isolated_env / "doc.md").write_text("# Doc\n")
    with pytest.raises(SystemExit) as caught:
        hook.main(["--jobs", value, "doc.md"])
    assert caught.value.code == 2


def test_jobs_has_one_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """The session, the hook and its --help take `jobs` from Settings: no second copy of the number."""
    assert Session().jobs == Settings().jobs
    monkeypatch.setattr(Settings, "jobs", 7)
    assert "config `jobs`, 7)" in " ".join(hook.hook_args.parser().format_help().split())


def test_output_and_reasoning_settings_take_only_their_values(isolated_env: Path) -> None:
    """`output`, `reasoning_effort` and `verbosity` are closed choices: a typo is a config error naming the key."""
    write_config(isolated_env, '[assistants.Mine]\ninstructions = "x"\nmode = "rewrite"\noutput = "edit"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=isolated_env)
    assert caught.value.key == "assistants.Mine.output" and "'edits'" in str(caught.value)
    write_config(isolated_env, 'reasoning_effort = "lowest"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=isolated_env)
    assert caught.value.key == "reasoning_effort"
    write_config(isolated_env, 'verbosity = ""\n[assistants.Mine]\ninstructions = "x"\nmode = "rewrite"\n')
    config = load_config(cwd=isolated_env)
    assert config.settings.verbosity == "" and config.assistant("Mine").settings == {}  # custom: document
    assert config.assistant("ProofReader").settings["output"] == "edits"
    assert config.assistant("Simplifier").settings["output"] == "document"


@pytest.mark.parametrize("text", ['backend = "chaat"\n', '[assistants.X]\ninstructions = "x"\nbackend = "chaat"\n'])
def test_a_misspelt_backend_is_a_config_error_with_a_did_you_mean(isolated_env: Path, text: str) -> None:
    config = write_config(isolated_env, text)
    with pytest.raises(ConfigError) as caught:
        load_config(isolated_env)
    assert caught.value.path == str(config) and caught.value.key.endswith("backend")
    assert "did you mean 'chat'?" in str(caught.value)


def test_a_misspelt_backend_in_the_environment_or_a_flag_says_where(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from gpt_tools.cli.main import main

    monkeypatch.setenv("GPT_TOOLS_BACKEND", "chaat")
    assert main(["run", "--dry-run", "Summarizer", "-t", "hi"]) == 2
    assert "GPT_TOOLS_BACKEND: unknown backend 'chaat'; did you mean 'chat'?" in capfd.readouterr().err
    monkeypatch.delenv("GPT_TOOLS_BACKEND")
    assert main(["run", "--dry-run", "--backend", "opnai", "Summarizer", "-t", "hi"]) == 2
    assert "--backend: unknown backend 'opnai'; did you mean 'openai'?" in capfd.readouterr().err


@pytest.mark.parametrize(
    ("body", "key", "hint"),
    [("mode = 'rewite'", "assistants.X.mode", "did you mean 'rewrite'?"),
     ("tools = ['file_serch']", "assistants.X.tools", "did you mean 'file_search'?")],
)  # fmt: skip
def test_a_misspelt_mode_or_tool_gets_a_did_you_mean(isolated_env: Path, body: str, key: str, hint: str) -> None:
    write_config(isolated_env, f"[assistants.X]\ninstructions = 'x'\n{body}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(isolated_env)
    assert caught.value.key == key and hint in str(caught.value)


def test_a_missing_file_named_by_gpt_tools_config_says_so_and_where_a_relative_name_was_looked_for(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(isolated_env, "jobs = 2\n")
    (isolated_env / "docs").mkdir()
    monkeypatch.chdir(isolated_env / "docs")  # CI running a step from a subfolder
    monkeypatch.setenv("GPT_TOOLS_CONFIG", "gpt-tools.toml")
    with pytest.raises(ConfigError, match=r"named by \$GPT_TOOLS_CONFIG \(relative to the working folder .*docs\)"):
        load_config()


def test_knowledge_files_named_with_a_tilde_are_the_home_files_and_outside_an_untrusted_project(
    isolated_env: Path,
) -> None:
    """`files add Kb '~/kb.md'` looked for ./~/kb.md, where the run (and trust) looks in the home folder."""
    from gpt_tools.config.manager import add_assistant_files
    from gpt_tools.errors import UsageError

    home = Path(os.environ["HOME"])
    (home / "kb.md").write_text("home\n")
    (isolated_env / "~").mkdir()
    (isolated_env / "~" / "kb.md").write_text("decoy\n")
    write_config(isolated_env, "[assistants.Kb]\ninstructions = 'x'\n")
    with pytest.raises(UsageError, match="outside the project"):
        add_assistant_files("Kb", ["~/kb.md"])
    trust_project(isolated_env)
    add_assistant_files("Kb", ["~/kb.md"])
    [name] = load_config().assistant("Kb").files
    assert (isolated_env / name).resolve() == (home / "kb.md").resolve()
