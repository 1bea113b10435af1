"""`gpt-tools assistant ...` and the seed scripts' spellings of `gpt-tools run`, in-process and installed."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gpt_tools.cli.main import main
from gpt_tools.config.definitions import DEFAULT_MODEL
from tests.conftest import run_program
from tests.fake_openai import FakeOpenAI

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

DOC = "# Notes\n\nteh text\n"
FIXED = "# Notes\n\nthe text\n"


@pytest.fixture
def project(isolated_env: Path) -> Path:
    """A project with a commented config, an instructions/ folder and two knowledge files."""
    config = isolated_env / "gpt-tools.toml"
    config.write_text("# team config\n\n[assistants.House]  # ours\ninstructions = 'Our style.'\n", encoding="utf-8")
    (isolated_env / "instructions").mkdir()
    (isolated_env / "instructions" / "review.md").write_text("Review the text.\n")
    (isolated_env / "style.md").write_text("# Style\n")
    (isolated_env / "glossary.md").write_text("# Glossary\n")
    return config


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[[bytes], None]]:
    """Feed bytes to this process's real stdin (fd 0): gpt-filter reads the descriptor, not sys.stdin."""
    saved = os.dup(0)

    def feed(data: bytes) -> None:
        path = tmp_path / "stdin"
        path.write_bytes(data)
        with path.open("rb") as file:
            os.dup2(file.fileno(), 0)
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))

    try:
        yield feed
    finally:
        os.dup2(saved, 0)
        os.close(saved)


def assistants(config: Path) -> dict[str, dict[str, object]]:
    return dict(tomllib.loads(config.read_text(encoding="utf-8"))["assistants"])


# --- assistant create/edit/delete/list -----------------------------------------------------------


def test_create_with_dashed_options(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    argv = ["assistant", "create", "Reviewer", "--model", "gpt-5", "--instruction-name", "review"]
    argv += ["--input-files", "style.md", "glossary.md", "--retrieval-tool", "--code-tool"]
    assert main(argv) == 0
    out, err = capfd.readouterr()
    assert out == "" and err == f"gpt-tools: created Reviewer in {project}\n"
    assert assistants(project)["Reviewer"] == {
        "instructions_file": "instructions/review.md",
        "model": "gpt-5",
        "files": ["style.md", "glossary.md"],
        "tools": ["file_search", "code_interpreter"],
    }
    assert project.read_text().startswith("# team config\n\n[assistants.House]  # ours\ninstructions = 'Our style.'\n")


def test_seed_underscore_spellings(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    argv = ["assistant", "create", "Reviewer", "--model", "gpt-5", "--instruction_name", "review"]
    argv += ["--input_files", "style.md", "glossary.md", "--retrieval_tool", "--code_tool"]
    assert main(argv) == 0
    assert assistants(project)["Reviewer"]["files"] == ["style.md", "glossary.md"]
    assert assistants(project)["Reviewer"]["tools"] == ["file_search", "code_interpreter"]
    assert main(["assistant", "edit", "Reviewer", "--new_name", "StyleReviewer", "--no_code_tool"]) == 0
    assert "gpt-tools: updated StyleReviewer in" in capfd.readouterr().err
    table = assistants(project)
    assert "Reviewer" not in table
    assert table["StyleReviewer"]["tools"] == ["file_search"]
    assert main(["assistant", "edit", "StyleReviewer", "--no_retrieval_tool", "--instruction_name", "ProofReader"]) == 0
    reviewer = assistants(project)["StyleReviewer"]
    assert reviewer["tools"] == [] and reviewer["instructions_from"] == "ProofReader"
    assert "instructions_file" not in reviewer


def test_repeated_input_files_option(project: Path) -> None:
    argv = ["assistant", "create", "K", "--instruction-name", "review", "--input-files", "style.md"]
    assert main([*argv, "--input-files", "glossary.md"]) == 0
    assert assistants(project)["K"]["files"] == ["style.md", "glossary.md"]


def test_edit_builtin_mode_description_and_delete(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["assistant", "edit", "MarkdownLinter", "--model", "gpt-5", "--description", "Ours now"]) == 0
    assert assistants(project)["MarkdownLinter"] == {"model": "gpt-5", "description": "Ours now"}
    assert main(["assistant", "create", "W", "--instruction-name", "House", "--mode", "write"]) == 0
    assert assistants(project)["W"] == {"instructions_from": "House", "mode": "write"}
    capfd.readouterr()
    assert main(["assistant", "delete", "W"]) == 0
    assert capfd.readouterr().err == f"gpt-tools: deleted W from {project}\n"
    assert "W" not in assistants(project)


ERRORS = [
    (["assistant", "create", "House", "--instruction-name", "review"], "an assistant named 'House' exists already"),
    (["assistant", "create", "ProofReader", "--instruction-name", "review"], "exists already (built-in)"),
    (["assistant", "create", "X", "--model", "m"], "a new assistant needs --instruction-name"),
    (["assistant", "edit", "Nobody", "--model", "m"], "unknown assistant 'Nobody'"),
    (["assistant", "delete", "Nobody"], "unknown assistant 'Nobody'"),
    (["assistant", "delete", "MarkdownLinter"], "MarkdownLinter is defined in built-in"),
    (["assistant", "create", "X", "--instruction-name", "nope"], "no instructions named 'nope'"),
    (["assistant", "create", "X", "--instruction-name", "review", "--input-files", "gone.md"], "not found: gone.md"),
    (["assistant", "edit", "House", "--new-name", "DocWriter"], "an assistant named 'DocWriter' exists already"),
    (["assistant", "create", "X", "--instruction-name", "review", "--mode", "sideways"], "Invalid value for '--mode'"),
    (["assistant", "create", "X", "--bogus"], "No such option '--bogus'"),
    (["assistant", "create"], "missing the assistant: give NAME or --assistant-name"),
    (["assistant", "create", "X", "--assistant_name", "Y", "--instructions", "z"], "two names given"),
    (["assistant", "create", "X", "--instructions", "a", "--instruction-name", "review"], "give the instructions once"),
    (["assistant", "create", "X", "--instructions", " "], "--instructions: the text is empty"),
    (["assistant", "create", "X", "--instructions-file", "gone.md"], "--instructions-file: gone.md: no such file"),
    (["assistant", "create", "X", "--instructions-file", "instructions"], "instructions: a folder, not a file"),
    (["assistant", "create", " ", "--instructions", "a"], "NAME ' ': a name must not be blank"),
    (["assistant", "create", "X ", "--instructions", "a"], "start or end with a space"),
    (["assistant", "create", "e\x1b[2J", "--instructions", "a"], "NAME 'e\\x1b[2J': a name must not"),
    (["assistant", "edit", "House", "--new-name", "\tHouse"], "--new-name '\\x09House': a name must not"),
    (["assistant", "create", "X", "--instructions", "a", "--input-files", "instructions"], "must be regular files"),
    (["assistant", "create", "X", "--instructions", "a", "--temperature", "3"], "temperature: expected at least 0"),
]


@pytest.mark.parametrize(
    ("argv", "message"), ERRORS, ids=[" ".join(a[1:3]) + f" {i}" for i, (a, _) in enumerate(ERRORS)]
)
def test_errors_exit_2_and_leave_the_config_alone(
    project: Path, capfd: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = project.read_bytes()
    assert main(argv) == 2
    out, err = capfd.readouterr()
    assert out == ""
    assert message in err
    assert err.startswith(("gpt-tools: error: ", "Usage: gpt-tools", "Error: "))
    assert project.read_bytes() == before


def test_assistant_list(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["assistant", "create", "Reviewer", "--instruction-name", "review", "--description", "Reviews"]) == 0
    capfd.readouterr()
    assert main(["assistant", "list"]) == 0
    lines = capfd.readouterr().out.splitlines()
    reviewer = next(line for line in lines if line.startswith("Reviewer "))
    assert "Reviews" in reviewer and reviewer.endswith(f"[{project}]")
    assert any(line.startswith("MarkdownLinter ") and line.endswith("[built-in]") for line in lines)
    assert main(["assistant", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capfd.readouterr().out)}
    assert rows["Reviewer"]["source"] == str(project) and rows["Reviewer"]["description"] == "Reviews"
    assert rows["House"]["source"] == str(project) and rows["ProofReader"]["source"] == "built-in"


def test_installed_program_manages_assistants(project: Path) -> None:
    done = run_program(
        "gpt-tools", "assistant", "create", "Reviewer", "--instruction_name", "review",
        "--input_files", "style.md", "glossary.md", "--retrieval_tool",
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, b"")
    assert done.stderr == f"gpt-tools: created Reviewer in {project}\n".encode()
    done = run_program("gpt-tools", "assistant", "list")
    assert done.returncode == 0 and b"Reviewer" in done.stdout
    before = project.read_bytes()
    done = run_program("gpt-tools", "assistant", "delete", "ProofReader")
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.startswith(b"gpt-tools: error: ProofReader is defined in built-in")
    assert project.read_bytes() == before


# --- run: the seed runner's spellings ------------------------------------------------------------


def test_run_assistant_name_and_input_text(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--assistant_name", "MarkdownLinter", "--input_text", "teh"]) == 0
    assert capfd.readouterr().out == "the"
    assert main(["run", "--assistant-name", "MarkdownLinter", "--input-text", "teh", "--no-cache"]) == 0
    assert capfd.readouterr().out == "the"
    assert len(api.model_requests()) == 2  # --no-cache: the first run's result is not reused


def test_run_output_file(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--assistant_name", "MarkdownLinter", "--input_text", DOC, "--output_file", "out.md"]) == 0
    assert capfd.readouterr().out == ""
    assert Path("out.md").read_text() == FIXED


def test_run_input_files_nargs(api: FakeOpenAI) -> None:
    Path("a.py").write_text("print(1)\n")
    Path("b.md").write_text("# B\n")
    argv = ["run", "--assistant_name", "DocWriter", "--input_text", "Write a guide.", "--input_files", "a.py", "b.md"]
    assert main(argv) == 0
    sent = api.model_requests()[0].body["input"][0]["content"]
    assert sent == [
        {
            "type": "input_text",
            "text": 'Write a guide.\n\n<file path="a.py">\nprint(1)\n</file>\n\n<file path="b.md">\n# B\n</file>',
        }
    ]


def test_run_list(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--list"]) == 0
    listed = capfd.readouterr().out
    assert main(["list"]) == 0
    assert capfd.readouterr().out == listed
    assert "MarkdownLinter" in listed and "[built-in]" in listed
    assert api.requests == []


def test_run_vim_is_the_filter(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], stdin: Callable[[bytes], None]
) -> None:
    stdin(DOC.encode())
    assert main(["run", "MarkdownLinter", "--vim"]) == 0
    assert capfd.readouterr().out == FIXED


def test_run_vim_with_assistant_name(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], stdin: Callable[[bytes], None]
) -> None:
    stdin(DOC.encode())
    assert main(["run", "--assistant_name", "MarkdownLinter", "--vim"]) == 0
    assert capfd.readouterr().out == FIXED


def test_run_vim_failure_prints_the_input_byte_for_byte(
    api: FakeOpenAI, capfdbinary: pytest.CaptureFixture[bytes], stdin: Callable[[bytes], None]
) -> None:
    data = "# Notes\r\n\r\nteh text with ünïcode\r\nno final newline".encode()
    stdin(data)
    api.default_fault = "401"
    assert main(["run", "MarkdownLinter", "--vim"]) == 1
    captured = capfdbinary.readouterr()
    assert captured.out == data
    assert b"HTTP 401" in captured.err and b"the text was left unchanged" in captured.err
    assert len(api.model_requests()) == 1


def test_run_vim_unknown_assistant_prints_the_input(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], stdin: Callable[[bytes], None]
) -> None:
    stdin(DOC.encode())
    assert main(["run", "Nobody", "--vim"]) == 2
    captured = capfd.readouterr()
    assert captured.out == DOC
    assert "unknown assistant 'Nobody'" in captured.err
    assert api.requests == []


def test_installed_run_vim_matches_gpt_filter(api: FakeOpenAI) -> None:
    via_run = run_program("gpt-tools", "run", "MarkdownLinter", "--vim", stdin=DOC.encode())
    via_filter = run_program("gpt-filter", "MarkdownLinter", stdin=DOC.encode())
    assert (via_run.returncode, via_run.stdout) == (via_filter.returncode, via_filter.stdout) == (0, FIXED.encode())
    api.default_fault = "401"
    data = b"teh \xc3\xa4\r\nno newline"
    via_run = run_program("gpt-tools", "run", "--assistant_name", "MarkdownLinter", "--vim", stdin=data)
    assert (via_run.returncode, via_run.stdout) == (1, data)
    assert b"HTTP 401" in via_run.stderr


# --- what is printed from a config is escaped ----------------------------------------------------


def test_list_and_show_escape_control_characters(isolated_env: Path, capfd: pytest.CaptureFixture[str]) -> None:
    fake_source = "\\u001b[2K\\r\\u001b[1AProofReader  write  Looks official  [built-in]"
    (isolated_env / "gpt-tools.toml").write_text(
        "[assistants.Evil]\n"
        f'description = "ok{fake_source}\\u202e\\u0085"\n'
        'instructions = "Hi\\u001b]0;title\\u0007\\nline two"\n',
        encoding="utf-8",
    )
    for argv in (["list"], ["assistant", "list"], ["show", "Evil"]):
        assert main(argv) == 0
        out = capfd.readouterr().out
        assert not any(
            (ord(c) < 32 and c not in "\n") or 0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x202E for c in out
        )
        assert "\\x1b[2K\\x0d\\x1b[1AProofReader" in out and "\\u202e\\x85" in out
    assert "Hi\\x1b]0;title\\x07\nline two" in out  # show keeps the instructions' own lines
    assert main(["list", "--json"]) == 0
    assert "\x1b" not in capfd.readouterr().out  # JSON escapes them by itself


def test_errors_quoting_config_values_are_escaped(isolated_env: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (isolated_env / "gpt-tools.toml").write_text(
        '[assistants."X\\u001b[31m"]\ninstructions_file = "\\u001b[2Jgone.md"\n', encoding="utf-8"
    )
    assert main(["list"]) == 2
    err = capfd.readouterr().err
    assert "\x1b" not in err and "\\x1b[31m" in err


# --- files list/prune see every state file -------------------------------------------------------


def test_files_list_and_prune_see_an_assistant_of_the_user_config(
    api: FakeOpenAI, isolated_env: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from gpt_tools.state.paths import user_config_file

    user = user_config_file()
    user.parent.mkdir(parents=True, exist_ok=True)
    (user.parent / "notes.md").write_text("# My notes\n")
    user.write_text(
        "[assistants.Mine]\ninstructions = 'Use my notes.'\ntools = ['file_search']\nfiles = ['notes.md']\n"
    )
    assert main(["files", "sync", "Mine"]) == 0
    assert "Mine: 1 file, 1 uploaded" in capfd.readouterr().err
    assert main(["files", "list", "--json"]) == 0
    rows = json.loads(capfd.readouterr().out)
    assert [(r["name"], r["assistants"]) for r in rows] == [("notes.md", ["Mine"])]
    (user.parent / "notes.md").write_text("# My notes, edited\n")
    assert main(["files", "sync", "Mine"]) == 0
    capfd.readouterr()
    assert main(["files", "prune"]) == 0
    out, err = capfd.readouterr()
    assert out.startswith("deleted ") and out.endswith(" notes.md\n") and "1 unused file deleted" in err
    assert len(api.files) == 1


def test_progress_labels_naming_an_assistant_are_escaped() -> None:
    from gpt_tools.cli.console import Spinner

    stream = io.StringIO()
    with Spinner("Evil\x1b[2J\u202e: syncing", stream).running():
        pass
    shown = stream.getvalue()
    assert "Evil\\x1b[2J\\u202e: syncing" in shown and "\x1b[2J" not in shown and "\u202e" not in shown


def test_create_takes_the_instructions_and_settings_inline(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """llm's `-s "..." --save NAME`: no instructions file needed."""
    argv = ["assistant", "create", "Terse", "--instructions", "Answer in one line.", "--temperature", "0.2"]
    assert main([*argv, "--backend", "chat", "--model", "llama3.1"]) == 0
    assert assistants(project)["Terse"] == {
        "instructions": "Answer in one line.",
        "model": "llama3.1",
        "temperature": 0.2,
        "backend": "chat",
    }
    assert main(["assistant", "edit", "Terse", "--instructions-file", "instructions/review.md"]) == 0
    entry = assistants(project)["Terse"]
    assert entry["instructions_file"] == "instructions/review.md" and "instructions" not in entry
    capfd.readouterr()
    assert main(["show", "Terse", "--json"]) == 0
    shown = json.loads(capfd.readouterr().out)
    assert (shown["instructions"], shown["temperature"], shown["settings"]) == (
        "Review the text.\n",
        0.2,
        {"backend": "chat"},
    )
    assert (shown["model"], shown["default_model"]) == ("llama3.1", False)


def test_create_with_a_base_url_says_the_project_needs_trust(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    argv = ["assistant", "create", "Local", "--instructions", "Fix typos.", "--base-url", "http://localhost:11434/v1"]
    assert main(argv) == 0
    assert assistants(project)["Local"]["base_url"] == "http://localhost:11434/v1"
    err = capfd.readouterr().err
    assert "note: runs refuse this config until that is done" in err and "trust" in err


def test_show_json_of_a_built_in_names_the_default_model(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "Summarizer", "--json"]) == 0
    shown = json.loads(capfd.readouterr().out)
    assert (shown["name"], shown["mode"], shown["source"], shown["default_model"]) == (
        "Summarizer",
        "write",
        "built-in",
        True,
    )
    assert shown["model"] == DEFAULT_MODEL and shown["instructions"].startswith("You summarize")


def test_seed_spellings_of_create_edit_delete(project: Path) -> None:
    """manage_chatgpt_assistant.py's `create --assistant_name N ... --input_files F...` as the README promises."""
    create = ["assistant", "create", "--assistant_name", "Seed", "--model", "gpt-5", "--instruction_name", "review"]
    assert main([*create, "--input_files", "style.md", "glossary.md", "--retrieval_tool", "--code_tool"]) == 0
    entry = assistants(project)["Seed"]
    assert entry["files"] == ["style.md", "glossary.md"] and entry["tools"] == ["file_search", "code_interpreter"]
    assert main(["assistant", "edit", "--assistant_name", "Seed", "--new_name", "Grown", "--no_code_tool"]) == 0
    assert assistants(project)["Grown"]["tools"] == ["file_search"] and "Seed" not in assistants(project)
    assert main(["assistant", "delete", "--assistant_name", "Grown"]) == 0
    assert "Grown" not in assistants(project)


def test_show_json_failure_is_a_json_error_object(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "Nobody", "--json"]) == 2
    out, err = capfd.readouterr()
    error = json.loads(out)
    assert (error["status"], error["code"], error["error"]) == ("error", 2, "UnknownAssistant")
    assert "unknown assistant 'Nobody'" in error["message"] and error["message"] in err


def test_list_json_failure_is_a_json_error_object(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    project.write_text("[assistants.Broken]\ntemprature = 1\n")
    for argv in (["list", "--json"], ["run", "--list", "--json"]):
        assert main(argv) == 2
        error = json.loads(capfd.readouterr().out)
        assert (error["status"], error["code"], error["error"]) == ("error", 2, "ConfigError")


def test_an_untrusted_projects_base_url_does_not_lock_its_config_against_edits(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """An edit sends nothing: after `create --base-url` (needing trust to run), the user can still edit
    and delete with the tool (both were refused with the trust error)."""
    argv = ["assistant", "create", "Local", "--instructions", "Fix typos.", "--base-url", "http://localhost:11434/v1"]
    assert main(argv) == 0
    assert main(["assistant", "edit", "Local", "--description", "Local typo fixer"]) == 0
    assert main(["assistant", "create", "Other", "--instructions", "Be brief."]) == 0
    assert main(["assistant", "delete", "Local"]) == 0
    assert set(assistants(project)) == {"House", "Other"}


def test_an_assistant_named_like_a_command_is_told_how_to_run_it(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["assistant", "create", "list", "--instructions", "List the points."]) == 0
    assert "note: `gpt-tools list` is the command; run this assistant as `gpt-tools run list`" in capfd.readouterr().err
    assert main(["assistant", "edit", "House", "--new-name", "chat"]) == 0
    assert "run this assistant as `gpt-tools run chat`" in capfd.readouterr().err
