"""Regressions for the failures a review demonstrated: each once lost or altered a user's text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gpt_tools
from gpt_tools.cli.hook import main as hook_main
from gpt_tools.cli.main import main
from gpt_tools.markdown.protect import mask, unmask
from gpt_tools.markdown.textio import conform_to_input
from tests.conftest import run_program
from tests.fake_openai import FakeOpenAI, Scripted

SHORT_DOC = "# Notes\n\n" + "A short paragraph with teh typo and a few more words to read. " * 4 + "\n"


def test_a_refusal_never_replaces_a_short_document(api: FakeOpenAI) -> None:
    Path("doc.md").write_text(SHORT_DOC)
    api.default_fault = None
    api.responder = lambda _: "I'm sorry, but I can't help with that."
    assert hook_main(["doc.md"]) == 1
    assert Path("doc.md").read_text() == SHORT_DOC


def test_chatter_around_a_tiny_input_is_refused(api: FakeOpenAI) -> None:
    api.responder = lambda text: "Sure! Here is the corrected document:\n\n" + text + "\n\nLet me know" + "!" * 200
    done = run_program("gpt-filter", "MarkdownLinter", stdin=b"teh small note\n")
    assert (done.returncode, done.stdout) == (1, b"teh small note\n")
    assert b"size" in done.stderr


def test_a_few_words_may_still_change_in_a_tiny_text(api: FakeOpenAI) -> None:
    api.responder = lambda _: "The cat sat on the mat."
    assert gpt_tools.run("ProofReader", "teh cat sat on teh mat").text == "The cat sat on the mat."


def test_inline_code_across_a_line_break_is_protected(api: FakeOpenAI) -> None:
    text = "Run `git commit\n--amend` to fix teh message.\n"
    masked = mask(text)
    assert "--amend" not in masked.text and unmask(masked.text, masked) == text
    api.responder = lambda sent: sent.replace("teh", "the")
    assert gpt_tools.run("MarkdownLinter", text).text == text.replace("teh", "the")
    assert "--amend" not in api.model_requests()[0].body["input"][0]["content"][0]["text"]


def test_a_large_file_is_chunked_not_refused_and_others_still_get_fixed(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    section = "## Part\n\n" + "Plain prose line for size. " * 30 + "\n\n"
    Path("big.md").write_text(section * 500)  # about 400 KB: over max_input_tokens as a whole
    Path("small.md").write_text("teh\n")
    assert hook_main(["--max-bytes", "1000000", "big.md", "small.md"]) == 1
    assert Path("small.md").read_text() == "the\n"
    out = capfd.readouterr().out
    assert "big.md:" not in out and "not checked" not in out  # checked, clean, untouched
    assert len(api.model_requests()) > 2  # big.md went out in chunks


def test_json_with_output_file_writes_the_file(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "ProofReader", "-t", "teh", "--json", "-o", "out.md"]) == 0
    assert Path("out.md").read_text() == "the"
    assert json.loads(capfd.readouterr().out)["text"] == "the"


def test_mixed_line_endings_survive_where_lines_are_unchanged() -> None:
    assert conform_to_input("a the\nb\nc\nd\n", "a teh\r\nb\nc\nd\n", rewrite=True) == "a the\r\nb\nc\nd\n"


def test_remembered_refusal_is_not_counted_as_a_request(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("doc.md").write_text("# T\n\n```sh\necho teh\n```\n")
    api.script(Scripted(text="# T\n\nno code here\n"))
    assert hook_main(["doc.md"]) == 1
    capfd.readouterr()
    assert hook_main(["doc.md"]) == 1
    assert "0 requests" in capfd.readouterr().out
