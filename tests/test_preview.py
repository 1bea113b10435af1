"""`--dry-run` on run, gpt-filter and the hook: a plan and a cost estimate, and nothing sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gpt_tools
from gpt_tools.cli.hook import main as hook_main
from gpt_tools.cli.main import main
from gpt_tools.config.definitions import DEFAULT_MODEL
from gpt_tools.core.preview import preview
from tests.conftest import run_program, trust_project, write_config
from tests.fake_openai import FakeOpenAI

DOC = "# Title\n\nSome teh prose.\n\n```python\nprint('kept')\n```\n"


def test_cli_dry_run_sends_nothing_and_reports_the_plan(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("doc.md").write_text(DOC)
    assert main(["run", "MarkdownLinter", "doc.md", "--dry-run", "--json"]) == 0
    plan = json.loads(capfd.readouterr().out)
    assert plan["assistant"] == "MarkdownLinter" and plan["mode"] == "rewrite" and plan["chunks"] == 1
    assert plan["endpoint"] == api.url and plan["model"] == DEFAULT_MODEL
    assert plan["input_tokens"] > 0 and plan["output_tokens"] > 0 and plan["cost"] > 0
    assert api.requests == []


def test_filter_dry_run_keeps_the_text_and_says_why_elsewhere(api: FakeOpenAI) -> None:
    done = run_program("gpt-filter", "MarkdownLinter", "--dry-run", stdin=DOC.encode())
    assert (done.returncode, done.stdout) == (0, DOC.encode())
    assert f"dry run: MarkdownLinter (rewrite) on {DEFAULT_MODEL}".encode() in done.stderr
    assert b"nothing was sent" in done.stderr
    assert api.requests == []


def test_hook_dry_run_writes_nothing(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("a.md").write_text(DOC)
    assert hook_main(["--dry-run", "a.md"]) == 0
    assert Path("a.md").read_text() == DOC
    assert "a.md: ~" in capfd.readouterr().out
    assert api.requests == []


def test_dry_run_needs_no_key_and_runs_no_key_command(fake: FakeOpenAI) -> None:
    write_config(Path.cwd(), "api_key_cmd = 'touch ran-key-command'\n")
    trust_project(Path.cwd())
    plan = preview("Summarizer", "text to summarise")
    assert plan.endpoint == "https://api.openai.com/v1"
    assert not Path("ran-key-command").exists()


def test_dry_run_still_refuses_secrets(api: FakeOpenAI) -> None:
    with pytest.raises(gpt_tools.InputRefused, match="looks like a GitHub token"):
        preview("Summarizer", "token ghp_" + "A1b2C3d4E5" * 4)


def test_dry_run_counts_knowledge_uploads_without_uploading(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("kb.md").write_text("facts\n")
    config = write_config(
        Path.cwd(), "[assistants.Kb]\ninstructions = 'Answer.'\nfiles = ['kb.md']\ntools = ['file_search']\n"
    )
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(config))
    plan = preview("Kb", "question?")
    assert (plan.knowledge_files, plan.knowledge_uploads) == (["kb.md"], 1)
    assert "  knowledge: 1 file, 1 would be uploaded" in plan.describe().splitlines()
    assert api.requests == []


def test_long_rewrite_reports_its_chunks(api: FakeOpenAI) -> None:
    write_config(Path.cwd(), "chunk_tokens = 200\n")
    sections = "".join(f"## Part {i}\n\n" + "Some prose here. " * 40 + "\n\n" for i in range(10))
    plan = preview("MarkdownLinter", sections)
    assert plan.chunks > 1


def test_dry_run_refuses_a_secret_in_a_knowledge_file(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("kb.md").write_text("deploy token: ghp_" + "A1b2C3d4E5" * 4 + "\n")
    config = write_config(Path.cwd(), "[assistants.Kb]\ninstructions = 'Answer.'\nfiles = ['kb.md']\n")
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(config))
    with pytest.raises(gpt_tools.InputRefused, match=r"kb\.md, line 1: looks like a GitHub token"):
        preview("Kb", "question?")


def test_dry_run_counts_the_conversation_so_far(api: FakeOpenAI) -> None:
    from gpt_tools.state import conversation

    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "word " * 3000, conversation=talk)
    alone = preview("Summarizer", "next question")
    with_history = preview("Summarizer", "next question", conversation=talk)
    assert with_history.input_tokens - alone.input_tokens > 1500


def test_dry_run_counts_inlined_knowledge_and_no_uploads(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("kb.md").write_text("fact " * 4000)
    config = write_config(Path.cwd(), "[assistants.Kb]\ninstructions = 'Answer.'\nfiles = ['kb.md']\n")
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(config))
    plan = preview("Kb", "question?")
    assert plan.input_tokens > 4000 and plan.knowledge_uploads == 0


def test_dry_run_refuses_what_a_run_refuses(api: FakeOpenAI) -> None:
    done = run_program("gpt-tools", "run", "Summarizer", "--conversation", "conv-nope", "--dry-run", "-t", "x")
    assert done.returncode == 2 and b"no conversation" in done.stderr
    done = run_program("gpt-tools", "run", "MarkdownLinter", "--continue", "--dry-run", "-t", "x")
    assert done.returncode == 2 and b"conversations are for writing assistants" in done.stderr


def test_dry_run_and_run_take_one_request_and_agree_on_its_chunks(api: FakeOpenAI) -> None:
    from gpt_tools.core.plan import RunRequest
    from gpt_tools.core.preview import preview_request
    from gpt_tools.core.runner import run_request

    write_config(Path.cwd(), "chunk_tokens = 200\n")
    sections = "".join(f"## Part {i}\n\n" + "Some teh prose here. " * 40 + "\n\n" for i in range(6))
    request = RunRequest(assistant="MarkdownLinter", text=sections)
    plan = preview_request(request)
    assert api.requests == []
    result = run_request(request)
    assert plan.chunks == result.chunks == len(api.model_requests()) > 1


def test_dry_run_refuses_file_search_with_nothing_to_search_as_the_run_does(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(Path.cwd(), "[assistants.Search]\ninstructions = 'Answer.'\ntools = ['file_search']\n")
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(config))
    for attempt in (preview, gpt_tools.run):
        with pytest.raises(gpt_tools.UsageError, match="uses file_search but has no knowledge files"):
            attempt("Search", "question?")
    assert api.requests == []


def test_dry_run_shows_the_endpoint_without_user_info_or_query(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """The dry run printed base_url raw: a proxy's password or an Azure-style `?api-key=` query with it."""
    monkeypatch.setenv("OPENAI_BASE_URL", "https://alice:hunter2pass@llm.example.com/v1?api-version=1&api-key=QUERYSECRET")
    plan = preview("Summarizer", "text to summarise")
    assert plan.endpoint == "https://llm.example.com/v1"
    Path("doc.md").write_text(DOC)
    assert main(["run", "MarkdownLinter", "doc.md", "--dry-run"]) == 0
    shown = capfd.readouterr()
    assert "at https://llm.example.com/v1" in shown.out + shown.err
    assert "hunter2pass" not in shown.out + shown.err and "QUERYSECRET" not in shown.out + shown.err
