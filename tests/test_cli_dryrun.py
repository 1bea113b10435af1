"""`gpt-tools run --dry-run` (cli/dryrun.py) shows what each request would send: bounded, escaped, nothing sent."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from gpt_tools.cli.main import main
from tests.conftest import varied_text
from tests.fake_openai import FakeOpenAI


@pytest.fixture(autouse=True)
def stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO()))


def test_dry_run_shows_each_chunk_as_sent_masked(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("doc.md").write_text("# Notes\n\nteh text with `code` in it\n")
    assert main(["run", "Simplifier", "doc.md", "--dry-run"]) == 0
    out = capfd.readouterr().out
    assert "request 1/1 (" in out
    assert "    teh text with ⟦" in out and "`code`" not in out  # what the model gets: the marker
    assert api.model_requests() == []


def test_dry_run_shows_every_chunk_of_a_long_document_cut_to_a_few_lines(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    Path("doc.md").write_text(varied_text(60_000))
    assert main(["run", "Simplifier", "doc.md", "--dry-run", "-O", "chunk_tokens", "2000"]) == 0
    out = capfd.readouterr().out
    count = int(out.split(" request(s)")[0].rsplit(" ", 1)[1])
    assert count > 3
    assert all(f"request {n}/{count} (" in out for n in range(1, count + 1))
    assert "more characters" in out and len(out) < count * 2500  # bounded per chunk, not the document
    assert api.model_requests() == []


def test_dry_run_escapes_control_characters(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "Summarizer", "-t", "evil \x1b]0;title\x07 text", "--dry-run"]) == 0
    out = capfd.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b" in out


def test_dry_run_shows_the_system_prompt_of_an_ad_hoc_run(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-s", "Reply in haiku.", "-p", "Describe rain", "--dry-run"]) == 0
    out = capfd.readouterr().out
    assert "dry run: Assistant (write)" in out
    assert "instructions (15 characters):\n    Reply in haiku.\n" in out
    assert "request 1/1 (13 characters):\n    Describe rain\n" in out


def test_dry_run_json_carries_the_texts_whole(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    text = "".join(f"line {n} teh\n" for n in range(40))
    assert main(["run", "Summarizer", "-t", text, "--dry-run", "--json"]) == 0
    plan = json.loads(capfd.readouterr().out)
    assert plan["requests"] == [text] and plan["chunks"] == 1
    assert plan["instructions"].startswith("You summarize")


def test_dry_run_json_on_a_terminal_escapes_what_json_leaves_raw(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.isatty
    monkeypatch.setattr(os, "isatty", lambda fd: fd == 1 or real(fd))
    hostile = "right\u202eleft \x9b31m café"  # a bidi override and a C1 CSI: JSON leaves both raw
    assert main(["run", "Summarizer", "-t", hostile, "--dry-run", "--json"]) == 0
    out = capfd.readouterr().out
    assert "\u202e" not in out and "\x9b" not in out and "right\\u202eleft \\u009b31m caf\\u00e9" in out
    assert json.loads(out)["requests"] == [hostile]


def test_dry_run_of_a_document_of_many_requests_shows_the_first_ones_and_counts_the_rest(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    Path("doc.md").write_text(varied_text(200_000))
    assert main(["run", "Simplifier", "doc.md", "--dry-run", "-O", "chunk_tokens", "300"]) == 0
    out = capfd.readouterr().out
    count = int(out.split(" request(s)")[0].rsplit(" ", 1)[1])
    assert count > 100
    assert f"request 20/{count} (" in out and f"request 21/{count} (" not in out
    assert f"… {count - 20:,} more requests (" in out and "--json has every one" in out
    assert len(out) < 25 * 2_500  # bounded by the requests shown, not by the document
    assert main(["run", "Simplifier", "doc.md", "--dry-run", "-O", "chunk_tokens", "300", "--json"]) == 0
    assert len(json.loads(capfd.readouterr().out)["requests"]) == count


def test_dry_run_shows_the_instructions_each_request_is_sent_with(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    """A rewriter's request adds what its chunk's markers stand for to the instructions: the dry run
    shows it too, and with --json the instructions plus a request's note are what the server gets."""
    config = '[assistants.Mine]\nmode = "rewrite"\ninstructions = "Fix typos."\n'
    Path("gpt-tools.toml").write_text("max_retries = 0\n" + config)
    Path("doc.md").write_text("# Notes\n\nteh text with `code` in it\n")
    assert main(["run", "Mine", "doc.md", "--dry-run"]) == 0
    out = capfd.readouterr().out
    assert "its instructions end with what its markers are (" in out and "inline code" in out
    assert main(["run", "Mine", "doc.md", "--dry-run", "--json"]) == 0
    plan = json.loads(capfd.readouterr().out)
    assert main(["run", "Mine", "doc.md"]) == 0
    [request] = api.model_requests()
    assert request.body["instructions"] == plan["instructions"] + plan["notes"][0]


def test_dry_run_summary_escapes_a_file_name_holding_control_characters(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    name = "evil\x1b]0;owned\x07.md"  # a file a cloned repository holds, reached by a glob
    Path(name).write_text("Some notes.\n")
    assert main(["run", "DocWriter", "-t", "Document it.", name, "--dry-run"]) == 0
    out = capfd.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "files: evil\\x1b]0;owned\\x07.md" in out
