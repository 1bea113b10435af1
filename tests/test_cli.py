"""`gpt-tools` in-process (main(argv) -> int) and as the installed program."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from gpt_tools.cli.main import main
from tests.conftest import run_program, write_config
from tests.fake_clock import FakeClock
from tests.fake_openai import FakeOpenAI, Scripted

DOC = "# Notes\n\nteh text\n"


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> io.BytesIO:
    """A non-terminal stdin the CLI may read (pytest's own is neither a file nor a tty)."""
    data = io.BytesIO()
    fake = io.TextIOWrapper(data)
    monkeypatch.setattr("sys.stdin", fake)
    return data


def test_run_file_prints_result(api: FakeOpenAI, capfd: pytest.CaptureFixture[str], stdin: io.BytesIO) -> None:
    Path("notes.md").write_text(DOC)
    assert main(["run", "MarkdownLinter", "notes.md"]) == 0
    assert capfd.readouterr().out == "# Notes\n\nthe text\n"


def test_run_reads_stdin_when_no_other_input(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], stdin: io.BytesIO
) -> None:
    stdin.write(DOC.encode())
    stdin.seek(0)
    assert main(["run", "MarkdownLinter"]) == 0
    assert capfd.readouterr().out == "# Notes\n\nthe text\n"


def test_input_text_is_a_rewriters_document(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "ProofReader", "--input-text", "teh cat"]) == 0
    assert capfd.readouterr().out == "the cat"


def test_writer_combines_request_files_and_stdin(api: FakeOpenAI, stdin: io.BytesIO) -> None:
    Path("a.py").write_text("print(1)\n")
    stdin.write(b"piped notes\n")
    stdin.seek(0)
    assert main(["run", "DocWriter", "-t", "Write a guide.", "a.py", "-"]) == 0
    sent = api.model_requests()[0].body["input"][0]["content"][0]["text"]
    assert sent == (
        'Write a guide.\n\n<file path="a.py">\nprint(1)\n</file>\n\n'
        '<file path="&lt;stdin&gt;">\npiped notes\n</file>'
    )


def test_rewriter_refuses_two_documents(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("a.md").write_text(DOC)
    Path("b.md").write_text(DOC)
    assert main(["run", "MarkdownLinter", "a.md", "b.md"]) == 2
    assert "rewrites one document and was given 2 inputs" in capfd.readouterr().err
    assert api.model_requests() == []


def test_instruct_reaches_the_instructions(api: FakeOpenAI) -> None:
    Path("a.md").write_text(DOC)
    assert main(["run", "MarkdownLinter", "a.md", "-i", "Use British spelling."]) == 0
    assert "Use British spelling." in api.model_requests()[0].body["instructions"]


def test_output_file_written_atomically_and_untouched_on_failure(api: FakeOpenAI) -> None:
    Path("in.md").write_text(DOC)
    out = Path("out.md")
    out.write_text("precious\n")
    out.chmod(0o640)
    api.script(Scripted(fault="incomplete"))
    assert main(["run", "MarkdownLinter", "in.md", "-o", "out.md"]) == 1
    assert out.read_text() == "precious\n"
    assert main(["run", "MarkdownLinter", "in.md", "-o", "out.md"]) == 0
    assert out.read_text() == "# Notes\n\nthe text\n"
    assert out.stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(".")) == ["gpt-tools.toml", "in.md", "out.md"]


def test_output_file_may_be_the_input(api: FakeOpenAI) -> None:
    Path("doc.md").write_text(DOC)
    assert main(["run", "MarkdownLinter", "doc.md", "-o", "doc.md"]) == 0
    assert Path("doc.md").read_text() == "# Notes\n\nthe text\n"


def test_json_output(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "Summarizer", "-t", "teh", "--json", "-m", "gpt-test"]) == 0
    data = json.loads(capfd.readouterr().out)
    assert data["text"] == "the"
    assert data["model"] == "gpt-test" and data["assistant"] == "Summarizer" and data["status"] == "completed"
    assert data["usage"]["input_tokens"] > 0 and data["elapsed"] >= 0


def test_run_failure_exit_1_with_message(api: FakeOpenAI, capfd: pytest.CaptureFixture[str], waits: FakeClock) -> None:
    api.default_fault = "500"
    assert main(["run", "MarkdownLinter", "-t", "teh"]) == 1
    assert len(waits.waits) == 2  # max_retries = 2: two backoffs asked for, none spent
    captured = capfd.readouterr()
    assert captured.out == ""
    assert "gpt-tools: error: HTTP 500" in captured.err


def test_no_input_is_a_usage_error(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    assert main(["run", "MarkdownLinter"]) == 2
    assert "no input" in capfd.readouterr().err


def test_missing_file_is_a_usage_error(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "MarkdownLinter", "nope.md"]) == 2
    assert "nope.md" in capfd.readouterr().err


def test_unknown_assistant_suggests(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "DocWritter", "-t", "x"]) == 2
    assert "Did you mean 'DocWriter'?" in capfd.readouterr().err


def test_list_shows_sources(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(Path.cwd(), "[assistants.House]\ninstructions = 'Our style.'\nmode = 'rewrite'\n")
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(config))
    assert main(["list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capfd.readouterr().out)}
    assert rows["House"]["source"] == str(config) and rows["House"]["mode"] == "rewrite"
    assert rows["MarkdownLinter"]["source"] == "built-in"
    assert main(["list"]) == 0
    assert "House" in capfd.readouterr().out


def test_show_prints_definition(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "markdownlinter"]) == 0
    out = capfd.readouterr().out
    assert "name: MarkdownLinter" in out and "mode: rewrite" in out and "Output contract" in out


def test_malformed_config_exit_2(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(Path.cwd(), "max_retries = 'many'\n", name="bad.toml")
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(config))
    assert main(["list"]) == 2
    assert f"{config}: max_retries: expected an integer" in capfd.readouterr().err


def test_installed_program_and_version(api: FakeOpenAI) -> None:
    done = run_program("gpt-tools", "--version")
    assert done.returncode == 0 and b"gpt-tools, version 0.2.0" in done.stdout
    done = run_program("gpt-tools", "run", "MarkdownLinter", stdin=DOC.encode())
    assert (done.returncode, done.stdout, done.stderr) == (0, b"# Notes\n\nthe text\n", b"")


def test_installed_program_bad_option_exit_2() -> None:
    done = run_program("gpt-tools", "run", "--nope")
    assert done.returncode == 2 and b"No such option" in done.stderr


def test_bare_gpt_tools_prints_the_help_and_succeeds() -> None:
    done = run_program("gpt-tools")
    assert (done.returncode, done.stderr) == (0, b"")
    assert b"Usage: gpt-tools" in done.stdout and b"Commands:" in done.stdout


@pytest.mark.parametrize("group", ["assistant", "files", "cache", "config", "conversations", "batch"])
def test_a_bare_command_group_prints_its_help_and_succeeds(group: str, capfd: pytest.CaptureFixture[str]) -> None:
    assert main([group]) == 0  # was exit 2 with the help on stderr for assistant, files, cache and config
    captured = capfd.readouterr()
    assert captured.err == ""
    assert f"Usage: gpt-tools {group}" in captured.out and "Commands:" in captured.out


def test_help_never_cuts_a_command_summary(capfd: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["assistant", "--help"], ["files", "--help"], ["batch", "--help"]):
        assert main(argv) == 0
        out = capfd.readouterr().out
        assert "..." not in out.partition("Commands:")[2], out
    assert main(["--help"]) == 0
    commands = " ".join(capfd.readouterr().out.partition("Commands:")[2].split())
    assert "Create, edit, delete and list assistants in the project's config." in commands
