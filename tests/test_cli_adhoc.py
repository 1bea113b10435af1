"""Ad-hoc prompts (cli/adhoc.py): `gpt-tools "question"`, `run -s/-p` without NAME, and what a first word means."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from gpt_tools.cli.main import main
from gpt_tools.config.definitions import DEFAULT_MODEL
from gpt_tools.config.loader import load_builtins
from tests.conftest import write_config
from tests.fake_openai import FakeOpenAI
from tests.fake_openai_wire import user_text

PLAIN = load_builtins()["Assistant"].instructions.strip()  # as sent
NOTES = "Line one of the notes.\nLine two of the notes.\n"


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes = b"") -> None:
    """A non-terminal stdin holding data (pytest's own is neither a file nor a tty)."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))


@pytest.fixture(autouse=True)
def empty_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch)


def _only_request(api: FakeOpenAI) -> dict[str, Any]:
    requests = api.model_requests()
    assert len(requests) == 1
    body: dict[str, Any] = requests[0].body
    return body


def test_a_bare_prompt_runs_the_plain_assistant_on_the_default_model(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    api.responder = lambda text: "Four."
    assert main(["What is two plus two?"]) == 0
    body = _only_request(api)
    assert body["model"] == DEFAULT_MODEL
    assert body["instructions"] == PLAIN
    assert user_text("responses", body) == "What is two plus two?"
    assert capfd.readouterr().out == "Four."


def test_a_bare_prompt_takes_piped_stdin_as_its_material(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, NOTES.encode())
    assert main(["summarize", "-m", "gpt-5"]) == 0
    body = _only_request(api)
    sent = user_text("responses", body)
    assert sent.startswith("summarize\n\n") and NOTES.strip() in sent and '<file path="&lt;stdin&gt;">' in sent
    assert body["model"] == "gpt-5"


def test_a_bare_prompt_with_files_leaves_stdin_unread(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("notes.md").write_text(NOTES)
    _stdin(monkeypatch, b"NOT TO BE SENT\n")
    assert main(["Shorten this", "notes.md"]) == 0
    sent = user_text("responses", _only_request(api))
    assert '<file path="notes.md">' in sent and "NOT TO BE SENT" not in sent


def test_a_first_word_naming_an_assistant_runs_it(api: FakeOpenAI) -> None:
    Path("notes.md").write_text(NOTES)
    assert main(["summarizer", "notes.md"]) == 0  # any case, as `run NAME` reads it
    assert _only_request(api)["instructions"] == load_builtins()["Summarizer"].instructions.strip()


@pytest.mark.parametrize(
    ("argv", "close"),
    [(["lst"], "list"), (["Summarizr", "notes.md"], "Summarizer"), (["chta", "DocWriter"], "chat")],
)
def test_a_word_close_to_a_command_or_assistant_is_refused_not_sent(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], argv: list[str], close: str
) -> None:
    Path("notes.md").write_text(NOTES)
    assert main(argv) == 2
    err = capfd.readouterr().err
    assert f"did you mean {close!r}?" in err and f"gpt-tools run -p {argv[0]!r}" in err
    assert api.model_requests() == []


def test_a_file_name_as_first_word_is_refused_not_sent(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("README.md").write_text(NOTES)
    assert main(["README.md", "-o", "README.md"]) == 2
    assert "'README.md' is a file, not a prompt" in capfd.readouterr().err
    assert Path("README.md").read_text() == NOTES
    assert api.model_requests() == []


def test_help_as_first_word_is_the_help(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["help"]) == 0
    assert "Usage: gpt-tools" in capfd.readouterr().out
    assert api.model_requests() == []


def test_run_p_sends_any_word_even_a_command_or_assistant_name(api: FakeOpenAI) -> None:
    assert main(["run", "-p", "list"]) == 0
    assert main(["run", "-p", "Summarizer"]) == 0
    sent = [user_text("responses", request.body) for request in api.model_requests()]
    assert sent == ["list", "Summarizer"]
    assert {request.body["instructions"] for request in api.model_requests()} == {PLAIN}


def test_run_s_without_name_reads_the_first_word_as_a_file(api: FakeOpenAI) -> None:
    Path("notes.md").write_text(NOTES)
    assert main(["run", "-s", "Answer in French.", "notes.md"]) == 0
    body = _only_request(api)
    assert body["instructions"] == "Answer in French."
    assert user_text("responses", body) == NOTES


def test_run_s_with_an_assistant_name_replaces_only_its_instructions(api: FakeOpenAI) -> None:
    write_config(Path.cwd(), 'max_retries = 0\n[assistants.Summarizer]\nmodel = "gpt-5"\n')
    Path("notes.md").write_text(NOTES)
    assert main(["run", "-s", "Two words only.", "Summarizer", "notes.md"]) == 0
    body = _only_request(api)
    assert (body["instructions"], body["model"]) == ("Two words only.", "gpt-5")


def test_an_assistant_named_like_the_prompt_is_reached_both_ways(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(Path.cwd(), 'max_retries = 0\n[assistants.hello]\ninstructions = "Greet back."\n')
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(config))
    assert main(["hello", "-t", "hi"]) == 0  # the assistant
    assert main(["run", "-p", "hello"]) == 0  # the prompt, to the plain Assistant
    first, second = (request.body for request in api.model_requests())
    assert (first["instructions"], user_text("responses", first)) == ("Greet back.", "hi")
    assert (second["instructions"], user_text("responses", second)) == (
        PLAIN,
        "hello",
    )


def test_the_plain_assistant_is_configured_like_any_other(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(Path.cwd(), 'max_retries = 0\n[assistants.Assistant]\nmodel = "gpt-5"\n')
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(config))
    assert main(["Say hi"]) == 0
    assert _only_request(api)["model"] == "gpt-5"


@pytest.mark.parametrize(
    "argv",
    [["run", "-p", " "], ["run", "-s", "", "-t", "x"], ["run", "-p", "q", "-t", "x"], ["run", "-t", "x"]],
    ids=["blank-prompt", "blank-system", "prompt-and-text", "no-name"],
)
def test_ad_hoc_usage_errors_send_nothing(api: FakeOpenAI, argv: list[str]) -> None:
    assert main(argv) == 2
    assert api.model_requests() == []


def test_continue_after_a_prompt_continues_the_plain_assistants_conversation(api: FakeOpenAI) -> None:
    assert main(["run", "Summarizer", "-t", "other text", "-c"]) == 0  # another assistant's conversation
    assert main(["Name a colour", "-c"]) == 0  # starts the plain Assistant's
    assert main(["Another one", "-c"]) == 0  # and continues it, not Summarizer's
    first, second, third = (request.body for request in api.model_requests())
    assert second["instructions"] == third["instructions"] == PLAIN
    assert "previous_response_id" not in second and third["previous_response_id"]
    assert first["instructions"] != PLAIN


def test_run_options_may_come_before_the_prompt(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    """As llm and mods take them: `gpt-tools -m MODEL "question"` (was "No such option '-m'")."""
    assert main(["-m", "gpt-5", "--temperature", "0.5", "-O", "max_retries", "0", "What is two plus two?"]) == 0
    body = _only_request(api)
    assert (body["model"], body["temperature"], body["instructions"]) == ("gpt-5", 0.5, PLAIN)
    assert user_text("responses", body) == "What is two plus two?"
    capfd.readouterr()
    assert main(["--json", "--no-stream", "Name a colour"]) == 0
    assert json.loads(capfd.readouterr().out)["assistant"] == "Assistant"


def test_system_before_a_file_runs_the_plain_assistant_on_it(api: FakeOpenAI) -> None:
    Path("notes.md").write_text(NOTES)
    assert main(["-s", "Answer in French.", "notes.md"]) == 0  # `run -s TEXT notes.md`: a FILE, not a prompt
    body = _only_request(api)
    assert (body["instructions"], user_text("responses", body)) == ("Answer in French.", NOTES)


def test_double_dash_makes_any_word_the_prompt(api: FakeOpenAI) -> None:
    Path("notes.md").write_text(NOTES)
    assert main(["--", "list"]) == 0
    assert main(["-m", "gpt-5", "--", "notes.md"]) == 0  # a file's name, sent as the words
    assert main(["-5 °C in °F?"]) == 0  # a dash but a space: no option (was "No such option '-5'")
    sent = [(user_text("responses", r.body), r.body["instructions"]) for r in api.model_requests()]
    assert sent == [("list", PLAIN), ("notes.md", PLAIN), ("-5 °C in °F?", PLAIN)]


@pytest.mark.parametrize("argv", [["-"], ["-m", "gpt-5", "-"], ["-m"], ["-O", "temperature"], ["-m", "gpt-5"]])
def test_odd_first_words_are_usage_errors_not_prompts(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 2
    err = capfd.readouterr().err
    assert "Traceback" not in err and ("Error:" in err or "error:" in err)
    assert api.model_requests() == []


def test_a_word_that_is_both_a_file_and_an_assistant_is_the_assistant(api: FakeOpenAI) -> None:
    Path("notes.md").write_text(NOTES)
    Path("Summarizer").write_text("a file named like the assistant\n")
    assert main(["Summarizer", "notes.md"]) == 0  # `run Summarizer notes.md`, as the help says
    assert _only_request(api)["instructions"] == load_builtins()["Summarizer"].instructions.strip()


@pytest.mark.parametrize("argv", [["lst", "--json"], ["", "--json"], ["-m", "gpt-5", "-", "--json"]])
def test_a_refused_first_word_with_json_is_a_json_error_object(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 2
    error = json.loads(capfd.readouterr().out)  # was only the error line: --json promises the object
    assert (error["status"], error["code"], error["error"]) == ("error", 2, "UsageError")
    assert api.model_requests() == []


def test_system_before_a_question_sends_the_question(api: FakeOpenAI) -> None:
    """llm's `llm -s "Be terse." "question"` (was "'What is a monad?' cannot be read: no such file")."""
    assert main(["-s", "Be terse.", "What is a monad?"]) == 0
    body = _only_request(api)
    assert (body["instructions"], user_text("responses", body)) == ("Be terse.", "What is a monad?")


def test_an_attachment_before_the_prompt_takes_one_file(api: FakeOpenAI) -> None:
    """`gpt-tools --input-files notes.txt "question"` (llm's -a): the seed's list spreading took the
    question for a second attachment ("missing the assistant"); after the prompt, lists still spread."""
    Path("notes.txt").write_text("The launch is on Friday.\n")
    Path("more.txt").write_text("The venue is the harbour.\n")
    assert main(["--input-files", "notes.txt", "When is the launch?"]) == 0
    assert main(["Where is it?", "--input-files", "notes.txt", "more.txt"]) == 0
    first, second = (user_text("responses", request.body) for request in api.model_requests())
    assert first.startswith("When is the launch?") and "The launch is on Friday." in first
    assert "The launch is on Friday." in second and "The venue is the harbour." in second
