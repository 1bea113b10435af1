"""The rewrite pipeline end to end on the scripted backend: what it sends, which replies it takes, how it
reassembles chunks, what the cache remembers, and how a cancel stops it. No HTTP here (the wire's own
tests use the `api` fake); the tests drive the pipeline through the public `gpt_tools.run`, and the hook once.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import gpt_tools
from gpt_tools.backends import BackendRequest, Usage
from gpt_tools.cli.hook import main as hook_main
from gpt_tools.core.inputs import prepare
from gpt_tools.core.session import Session
from gpt_tools.errors import Cancelled, InputRefused, ReplyRejected, RunFailed
from gpt_tools.state.cache import ResultCache
from tests.conftest import write_config
from tests.scripted_backend import Say, ScriptedBackend, fix_typos

DOC = "# Notes\n\nA paragraph with teh typo.\n\n```sh\necho teh\n```\n\nSee <https://example.com/teh>.\n"
FIXED = DOC.replace("A paragraph with teh", "A paragraph with the")
SECTIONS = "".join(
    f"# Part {n}\n\n" + f"Prose of part {n} with teh typo, and words to fill it. " * 6 + "\n\n" for n in range(6)
)


def small_chunks() -> None:
    """Chunks of about one section: the scripted fixture's config, with a small chunk budget."""
    write_config(Path.cwd(), "max_retries = 0\nchunk_tokens = 120\n")


def cached_session(tmp_path: Path) -> Session:
    return Session(cache=ResultCache(tmp_path / "cache"))


# Guards, end to end


def test_a_clean_fix_is_applied_and_protected_regions_never_leave(scripted: ScriptedBackend) -> None:
    result = gpt_tools.run("MarkdownLinter", DOC)
    assert result.text == FIXED
    (sent,) = scripted.texts
    assert "echo teh" not in sent and "https://example.com" not in sent  # masked before sending
    assert result.requests == 1 and result.backend == "scripted"


def test_a_refusal_is_refused(scripted: ScriptedBackend) -> None:
    scripted.script(Say(text="", status="refused", reason="I can't help with that."))
    with pytest.raises(ReplyRejected):
        gpt_tools.run("MarkdownLinter", DOC)


def test_a_reply_that_drops_a_protected_block_is_refused(scripted: ScriptedBackend) -> None:
    scripted.responder = lambda request: request.text.split("\n\n")[0] + "\n"
    with pytest.raises(ReplyRejected):
        gpt_tools.run("MarkdownLinter", DOC)


def test_a_reply_that_loses_paragraphs_is_refused(scripted: ScriptedBackend) -> None:
    doc = "".join(f"Paragraph {n} tells its own story about item {n} with teh detail.\n\n" for n in range(10))
    kept = "".join(doc.split("\n\n", 6)[:6]) + "\n"  # four paragraphs gone: well within the size ratio
    scripted.script(Say(text=kept.replace("teh", "the")))
    with pytest.raises(ReplyRejected):
        gpt_tools.run("MarkdownLinter", doc)


def test_chatter_around_the_document_is_refused(scripted: ScriptedBackend) -> None:
    scripted.responder = lambda request: "Sure! Here is the fixed document:\n\n" + fix_typos(request.text)
    with pytest.raises(ReplyRejected):
        gpt_tools.run("MarkdownLinter", "teh small note\n")


def test_an_incomplete_reply_is_refused(scripted: ScriptedBackend) -> None:
    scripted.script(Say(text=FIXED[:20], status="incomplete", reason="max_output_tokens"))
    with pytest.raises(ReplyRejected):
        gpt_tools.run("MarkdownLinter", DOC)


def test_a_secret_in_the_input_is_never_sent(scripted: ScriptedBackend) -> None:
    key = "sk-" + "proj-" + "Q7wErT9yUi2oPa4sDf6gHj8kLz1xCv3bNm5"
    with pytest.raises(InputRefused):
        gpt_tools.run("MarkdownLinter", f"# Notes\n\nkey = {key}\n")
    assert scripted.requests == []


def test_a_backend_fault_reaches_the_caller_as_raised(scripted: ScriptedBackend) -> None:
    scripted.script(RunFailed("cannot reach the server"))
    with pytest.raises(RunFailed, match="cannot reach"):
        gpt_tools.run("MarkdownLinter", DOC)


def test_a_writer_gets_the_reply_as_is(scripted: ScriptedBackend) -> None:
    scripted.script("**TL;DR:** a note.\n")
    assert gpt_tools.run("Summarizer", "A long note.\n").text == "**TL;DR:** a note.\n"
    assert scripted.requests[0].text == "A long note.\n"


# Chunks


def test_chunks_are_sent_separately_and_reassembled_in_order(scripted: ScriptedBackend) -> None:
    small_chunks()
    count = len(prepare(SECTIONS, protect_regions=True, chunk_tokens=120).chunks)
    first_answered_last = threading.Event()
    answered: list[str] = []

    def answer(request: BackendRequest) -> str:
        # The first chunk answers after all the others: the document is still put together in order.
        if request.text.startswith("# Part 0"):
            first_answered_last.wait(timeout=30)
        answered.append(request.text)
        if len(answered) == count - 1:
            first_answered_last.set()
        return fix_typos(request.text)

    scripted.responder = answer
    result = gpt_tools.run("MarkdownLinter", SECTIONS)
    assert result.text == fix_typos(SECTIONS)
    assert result.chunks == result.requests == len(scripted.requests) == count > 2
    assert "".join(sorted(scripted.texts, key=SECTIONS.index)) == SECTIONS  # the chunks tile the document
    assert answered[-1].startswith("# Part 0")


def test_one_refused_chunk_refuses_the_whole_document(scripted: ScriptedBackend) -> None:
    small_chunks()
    scripted.responder = lambda request: "" if "Part 3" in request.text else fix_typos(request.text)
    with pytest.raises(ReplyRejected):
        gpt_tools.run("MarkdownLinter", SECTIONS)


def test_the_usage_of_every_chunk_is_added_up(scripted: ScriptedBackend) -> None:
    small_chunks()
    result = gpt_tools.run("MarkdownLinter", SECTIONS)
    assert result.usage.input_tokens == result.usage.output_tokens == 10 * result.requests


# The cache


def test_a_repeated_run_is_answered_from_the_cache(scripted: ScriptedBackend, tmp_path: Path) -> None:
    session = cached_session(tmp_path)
    assert gpt_tools.run("MarkdownLinter", DOC, session=session).text == FIXED
    again = gpt_tools.run("MarkdownLinter", DOC, session=session)
    assert (again.text, again.requests, len(scripted.requests)) == (FIXED, 0, 1)


def test_a_fixed_document_costs_no_request(scripted: ScriptedBackend, tmp_path: Path) -> None:
    session = cached_session(tmp_path)
    gpt_tools.run("MarkdownLinter", DOC, session=session)
    assert gpt_tools.run("MarkdownLinter", FIXED, session=session).text == FIXED
    assert len(scripted.requests) == 1


def test_only_the_changed_chunk_is_sent_again(scripted: ScriptedBackend, tmp_path: Path) -> None:
    small_chunks()
    session = cached_session(tmp_path)
    first = gpt_tools.run("MarkdownLinter", SECTIONS, session=session)
    edited = SECTIONS.replace("Prose of part 4 with", "Prose of part 4, edited, with", 1)
    second = gpt_tools.run("MarkdownLinter", edited, session=session)
    assert second.text == fix_typos(edited)
    assert second.requests == 1 and len(scripted.requests) == first.requests + 1


def test_a_refusal_is_remembered_and_never_cached_as_a_result(scripted: ScriptedBackend, tmp_path: Path) -> None:
    session = cached_session(tmp_path)
    scripted.script(Say(text="# Notes\n\nno code here\n"))  # drops the protected block
    with pytest.raises(ReplyRejected):
        gpt_tools.run("MarkdownLinter", DOC, session=session)
    with pytest.raises(ReplyRejected) as remembered:
        gpt_tools.run("MarkdownLinter", DOC, session=session)
    assert remembered.value.remembered and len(scripted.requests) == 1
    assert gpt_tools.run("MarkdownLinter", DOC + "\nMore.\n", session=session).text == FIXED + "\nMore.\n"


def test_a_transient_failure_is_not_remembered(scripted: ScriptedBackend, tmp_path: Path) -> None:
    session = cached_session(tmp_path)
    scripted.script(Say(text="", status="cut"))
    with pytest.raises(ReplyRejected):
        gpt_tools.run("MarkdownLinter", DOC, session=session)
    assert gpt_tools.run("MarkdownLinter", DOC, session=session).text == FIXED
    assert len(scripted.requests) == 2


# Cancel


def test_cancel_stops_every_chunk_in_flight(scripted: ScriptedBackend) -> None:
    small_chunks()
    scripted.responder = lambda request: Say(hold=True)
    cancel = threading.Event()
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            gpt_tools.run("MarkdownLinter", SECTIONS, cancel=cancel)
        except BaseException as error:  # what the run ended with is the assertion
            outcome.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    assert scripted.arrived.acquire(timeout=30)  # a chunk is in flight
    cancel.set()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert [type(error) for error in outcome] == [Cancelled]
    assert scripted.release.is_set() is False  # no reply was let through: the cancel alone ended it


def test_a_cancel_set_before_the_run_sends_nothing(scripted: ScriptedBackend) -> None:
    small_chunks()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        gpt_tools.run("MarkdownLinter", SECTIONS, cancel=cancel)
    assert scripted.requests == []


# Streaming, billing, the hook


def test_a_plain_one_chunk_document_streams_and_a_masked_one_does_not(scripted: ScriptedBackend) -> None:
    deltas: list[str] = []
    gpt_tools.run("MarkdownLinter", "teh plain note\n", on_delta=deltas.append)
    assert deltas == ["the plain note\n"]
    deltas.clear()
    gpt_tools.run("MarkdownLinter", DOC, on_delta=deltas.append)
    assert deltas == []  # the reply holds placeholders, not the text the user will get


def test_a_refused_reply_is_billed_all_the_same(scripted: ScriptedBackend) -> None:
    scripted.script(Say(text="# Notes\n\nno code here\n", usage=Usage(input_tokens=7, output_tokens=5)))
    with pytest.raises(ReplyRejected) as refused:
        gpt_tools.run("MarkdownLinter", DOC)
    assert refused.value.usage == Usage(input_tokens=7, output_tokens=5)


def test_a_damaged_cache_entry_is_never_replayed(scripted: ScriptedBackend, tmp_path: Path) -> None:
    session = cached_session(tmp_path)
    gpt_tools.run("MarkdownLinter", DOC, session=session)
    for entry in (tmp_path / "cache").rglob("*.json"):
        entry.write_text(json.dumps({"text": "# Notes\n\nsomething else entirely\n"}), encoding="utf-8")
    assert gpt_tools.run("MarkdownLinter", DOC, session=session).text == FIXED
    assert len(scripted.requests) == 2  # asked again: the tampered entry fails today's guards


def test_the_hook_writes_the_fixes_and_leaves_a_refused_file_alone(
    scripted: ScriptedBackend, capfd: pytest.CaptureFixture[str]
) -> None:
    Path("good.md").write_text("# Good\n\nteh good file\n")
    Path("bad.md").write_text(DOC)
    scripted.responder = lambda request: "no code here\n" if "⟦" in request.text else fix_typos(request.text)
    assert hook_main(["good.md", "bad.md"]) == 1
    assert Path("good.md").read_text() == "# Good\n\nthe good file\n"
    assert Path("bad.md").read_text() == DOC
    assert "bad.md" in capfd.readouterr().out
