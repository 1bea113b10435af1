"""Per-run settings on `gpt-tools run` (cli/runsettings.py): --temperature, --max-output-tokens,
--no-stream, -O KEY VALUE (checked like the config), and --no-cache."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from gpt_tools.cli.main import main
from tests.conftest import run_program
from tests.fake_openai import FakeOpenAI


@pytest.fixture(autouse=True)
def stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO()))


def _bodies(api: FakeOpenAI) -> list[dict[str, Any]]:
    return [request.body for request in api.model_requests()]


def test_per_run_flags_reach_the_request(api: FakeOpenAI) -> None:
    args = ["run", "Summarizer", "-t", "Some text.", "--temperature", "0.3", "--max-output-tokens", "500"]
    assert main([*args, "--no-stream", "-O", "reasoning_effort", "high", "-O", "verbosity", "medium"]) == 0
    [body] = _bodies(api)
    assert (body["temperature"], body["max_output_tokens"], body["stream"]) == (0.3, 500, False)
    assert (body["reasoning"], body["text"]) == ({"effort": "high"}, {"verbosity": "medium"})


def test_dash_o_spelling_of_the_flags_and_the_last_one_wins(api: FakeOpenAI) -> None:
    args = ["run", "Summarizer", "-t", "x", "-O", "max-output-tokens", "10", "-O", "max_output_tokens", "20"]
    assert main([*args, "-O", "stream", "false", "-O", "model", "gpt-5"]) == 0
    [body] = _bodies(api)
    assert (body["max_output_tokens"], body["stream"], body["model"]) == (20, False, "gpt-5")


def test_dash_o_wins_over_the_environment(api: FakeOpenAI) -> None:
    """GPT_TOOLS_OUTPUT=document (set for every test) yields to `-O output edits` for this run."""
    assert main(["run", "MarkdownLinter", "-t", "teh text\n", "-O", "output", "edits"]) == 0
    [body] = _bodies(api)
    assert body["text"]["format"]["type"] == "json_schema"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["-O", "temprature", "1"], "-O temprature: unknown setting; did you mean 'temperature'?"),
        (["-O", "nonsense_key", "1"], "-O nonsense_key: unknown setting; known: "),
        (["-O", "stream", "maybe"], "-O stream: expected true or false, got 'maybe'"),
        (["-O", "jobs", "0"], "-O jobs: expected at least 1"),
        (["-O", "jobs", "two"], "-O jobs: expected a whole number, got 'two'"),
        (["-O", "output", "diff"], "-O output: expected one of 'edits', 'document', got 'diff'"),
        (["-O", "model", ""], "-O model: expected a model name, got ''"),
        (["-O", "backend", "chaat"], "-O backend: unknown backend 'chaat'; did you mean 'chat'?"),
        (["-O", "backend", "chaat", "--dry-run"], "-O backend: unknown backend 'chaat'; did you mean 'chat'?"),
        (["--temperature", "3"], "--temperature: expected at least 0 and at most 2, got 3.0"),
        (["--max-output-tokens", "0"], "--max-output-tokens: expected at least 1, got 0"),
        (["--temperature", "warm"], "--temperature: expected a number, got 'warm'"),
    ],
)
def test_bad_per_run_settings_are_usage_errors_before_anything_is_sent(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    Path("notes.md").write_text("Some notes.\n")
    assert main(["run", "Summarizer", "notes.md", *args]) == 2
    assert said in capfd.readouterr().err
    assert api.model_requests() == []


def test_a_rewrite_is_cached_and_no_cache_asks_again(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("doc.md").write_text("# Notes\n\nteh text\n")
    for _ in range(2):
        assert main(["run", "MarkdownLinter", "doc.md"]) == 0
        assert capfd.readouterr().out == "# Notes\n\nthe text\n"
    assert len(api.model_requests()) == 1  # the second run's document was answered from the cache
    assert main(["run", "MarkdownLinter", "doc.md", "--no-cache"]) == 0
    assert capfd.readouterr().out == "# Notes\n\nthe text\n"
    assert len(api.model_requests()) == 2


def test_per_run_settings_are_part_of_the_cache_key(api: FakeOpenAI) -> None:
    Path("doc.md").write_text("# Notes\n\nteh text\n")
    assert main(["run", "MarkdownLinter", "doc.md"]) == 0
    assert main(["run", "MarkdownLinter", "doc.md", "--temperature", "0.5"]) == 0
    assert len(api.model_requests()) == 2  # another temperature is another request


def test_gpt_filter_takes_the_per_run_settings(api: FakeOpenAI) -> None:
    done = run_program(
        "gpt-filter", "Summarizer", "--temperature", "0.4", "-O", "max_output_tokens", "50", stdin=b"Some text.\n"
    )
    assert done.returncode == 0, done.stderr
    [body] = _bodies(api)
    assert (body["temperature"], body["max_output_tokens"]) == (0.4, 50)


def test_gpt_filter_gives_the_text_back_on_a_bad_setting(api: FakeOpenAI) -> None:
    done = run_program("gpt-filter", "MarkdownLinter", "-O", "temprature", "1", stdin=b"teh text\n")
    assert (done.returncode, done.stdout) == (2, b"teh text\n")
    assert b"did you mean 'temperature'?" in done.stderr
    assert api.model_requests() == []


def test_chat_takes_a_system_prompt_and_the_per_run_settings_for_every_turn(api: FakeOpenAI) -> None:
    argv = ["chat", "-s", "Be brief.", "--temperature", "0.2", "-O", "max_output_tokens", "64"]
    done = run_program("gpt-tools", *argv, stdin=b"hello\nand again\n")
    assert done.returncode == 0, done.stderr
    bodies = _bodies(api)
    assert len(bodies) == 2
    for body in bodies:  # without NAME: the plain Assistant, with these instructions, every turn
        assert (body["instructions"], body["temperature"], body["max_output_tokens"]) == ("Be brief.", 0.2, 64)


def test_chat_refuses_a_bad_setting_before_the_first_turn(api: FakeOpenAI) -> None:
    done = run_program("gpt-tools", "chat", "DocWriter", "-O", "temprature", "1", stdin=b"hello\n")
    assert done.returncode == 2
    assert b"did you mean 'temperature'?" in done.stderr
    assert api.model_requests() == []


def test_an_option_key_or_value_in_the_wrong_case_gets_a_did_you_mean(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--dry-run", "Summarizer", "-t", "hi", "-O", "Read_Timeout", "5"]) == 2
    assert "did you mean 'read_timeout'?" in capfd.readouterr().err
    assert main(["run", "--dry-run", "Summarizer", "-t", "hi", "-O", "reasoning_effort", "HIGH"]) == 2
    assert "did you mean 'high'?" in capfd.readouterr().err
