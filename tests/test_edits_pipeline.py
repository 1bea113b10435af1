"""Edits mode end to end: the request asks for edits, the reply's edits are applied strictly, the
result is the whole document, refused edits are reported (never in the text), the cache pays once.

Through the real HTTP fake (which answers json_schema requests with its typo fixer's edits), the
real `gpt-filter` process and real `vim -Es`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gpt_tools.core import runner
from gpt_tools.core.preview import preview
from gpt_tools.core.session import Session
from gpt_tools.errors import ApiError, ReplyRejected
from gpt_tools.markdown.edits import EDIT_INSTRUCTIONS
from gpt_tools.state.cache import ResultCache
from tests.conftest import BIN, run_program, write_config
from tests.fake_openai import FakeOpenAI, Scripted
from tests.fake_openai_wire import edits_reply

pytestmark = pytest.mark.usefixtures("edits_mode")

DOC = "# Notes\n\nI recieve teh mail.\n\n```sh\necho teh\n```\n\nSee `teh` at https://example.com/teh.\n"
FIXED = "# Notes\n\nI receive the mail.\n\n```sh\necho teh\n```\n\nSee `teh` at https://example.com/teh.\n"


def _sent(api: FakeOpenAI) -> dict:  # type: ignore[type-arg]
    [request] = api.model_requests()
    body: dict = request.body  # type: ignore[type-arg]
    return body


def test_the_request_asks_for_edits_and_the_document_goes_out_raw(api: FakeOpenAI) -> None:
    # The fake's typo fixer would also "fix" the code, inline code and URL: those edits are refused.
    result = runner.run("MarkdownLinter", DOC)
    assert result.text == FIXED
    body = _sent(api)
    assert body["text"]["format"]["type"] == "json_schema" and body["text"]["format"]["strict"] is True
    assert body["text"]["verbosity"] == "low" and body["reasoning"] == {"effort": "low"}
    assert body["input"][-1]["content"][-1]["text"] == DOC  # raw: nothing masked
    assert body["instructions"].endswith(EDIT_INSTRUCTIONS)
    assert result.edits is not None
    assert [p.edit.replace for p in result.edits.applied] == ["receive", "the "]
    assert {r.reason for r in result.edits.refused} == {"protected"}
    entries = result.edits.to_json()
    assert entries[0]["status"] == "applied" and (entries[0]["line"], entries[0]["column"]) == (3, 3)


def test_the_chat_backend_asks_with_response_format(api: FakeOpenAI) -> None:
    result = runner.run("ProofReader", "I recieve mail.\n", backend="chat")
    assert result.text == "I receive mail.\n"
    fmt = _sent(api)["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "edits"


def test_an_ambiguous_edit_is_refused_and_the_rest_applied(api: FakeOpenAI) -> None:
    api.script(Scripted(text=edits_reply(
        {"find": "teh", "replace": "the", "reason": "spelling"},
        {"find": "recieve", "replace": "receive", "reason": "spelling"},
    )))  # fmt: skip
    result = runner.run("MarkdownLinter", "teh cat, teh dog; I recieve.\n")
    assert result.text == "teh cat, teh dog; I receive.\n"
    assert result.edits is not None and [r.reason for r in result.edits.refused] == ["ambiguous"]


@pytest.mark.parametrize("reply", ["I receive mail.\n", '{"edits": [{"find": "x"}]}', "[]"])
def test_a_reply_that_is_not_edits_json_is_refused(api: FakeOpenAI, reply: str) -> None:
    api.script(Scripted(text=reply))
    with pytest.raises(ReplyRejected):
        runner.run("MarkdownLinter", "I recieve mail.\n")


def test_the_cache_stores_the_edits_and_a_rerun_after_the_fix_sends_nothing(api: FakeOpenAI, tmp_path: Path) -> None:
    def session() -> Session:
        return Session(cache=ResultCache(tmp_path / "cache"))

    first = runner.run("MarkdownLinter", DOC, session=session())
    again = runner.run("MarkdownLinter", DOC, session=session())  # the same document: its edits replayed
    fixed = runner.run("MarkdownLinter", first.text, session=session())  # after `git add` of the fix
    assert (first.requests, again.requests, fixed.requests) == (1, 0, 0)
    assert again.text == fixed.text == first.text == FIXED
    assert len(api.model_requests()) == 1
    assert fixed.edits is not None and {r.reason for r in fixed.edits.refused} == {"protected"}  # reported again


def test_document_mode_is_unchanged(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.run("Simplifier", "I recieve teh mail today, as always.\n")
    assert result.text == "I receive the mail today, as always.\n" and result.edits is None
    assert not {"text", "reasoning"} & set(_sent(api))
    monkeypatch.setenv("GPT_TOOLS_OUTPUT", "document")  # a server without JSON-schema support
    api.reset()
    assert runner.run("MarkdownLinter", "I recieve mail.\n").edits is None
    assert "format" not in _sent(api)["text"]  # its low verbosity is a setting of its own


def test_dry_run_estimates_the_edits_output(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "I recieve mail every day of the week, and it is fine by me.\n" * 40
    edits = preview("MarkdownLinter", text)
    monkeypatch.setenv("GPT_TOOLS_OUTPUT", "document")
    document = preview("MarkdownLinter", text)
    assert edits.output_tokens is not None and document.output_tokens is not None
    assert edits.output_tokens <= 0.2 * document.output_tokens
    assert edits.input_tokens > document.input_tokens  # the protocol's instructions go out too
    assert (edits.mode, document.mode) == ("rewrite, edits", "rewrite")


def test_gpt_filter_prints_the_document_and_reports_refused_edits_on_stderr(api: FakeOpenAI) -> None:
    api.script(Scripted(text=edits_reply(
        {"find": "recieve", "replace": "receive", "reason": "spelling"},
        {"find": "nowhere", "replace": "here", "reason": "made up"},
    )))  # fmt: skip
    done = run_program("gpt-filter", "MarkdownLinter", stdin=b"# T\r\n\r\nI recieve mail.\r\n")
    assert (done.returncode, done.stdout) == (0, b"# T\r\n\r\nI receive mail.\r\n")
    assert b"not_found" in done.stderr and b'"nowhere"' in done.stderr


def test_gpt_tools_run_json_includes_the_edits(api: FakeOpenAI, tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text(DOC, encoding="utf-8")
    done = run_program("gpt-tools", "run", "MarkdownLinter", str(path), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["text"] == FIXED
    statuses = {(entry["status"], entry.get("refusal")) for entry in data["edits"]}
    assert statuses == {("applied", None), ("refused", "protected")}
    assert all("line" in entry and "column" in entry for entry in data["edits"])


@pytest.mark.skipif(shutil.which("vim") is None, reason="vim not installed")
def test_vim_filter_applies_the_edits_and_keeps_messages_out_of_the_buffer(api: FakeOpenAI, tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text(DOC, encoding="utf-8")
    subprocess.run(
        ["vim", "-Es", "-N", "-u", "NONE", "-i", "NONE", "-c", "%!gpt-filter MarkdownLinter", "-c", "wq", str(path)],
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        stdin=subprocess.DEVNULL, capture_output=True, timeout=60, start_new_session=True, check=False,
    )  # fmt: skip
    assert path.read_text(encoding="utf-8") == FIXED  # the refused (protected) edits' report is not in it
    assert "text" in _sent(api)


def test_the_fakes_edits_reproduce_its_typo_fixer_and_each_find_is_unique() -> None:
    from gpt_tools.markdown.edits import apply_edits, parse_edits
    from tests.fake_openai_wire import edits_between, fix_typos

    text = "teh cat and teh dog.\nteh\n\nWe recieve; seperate teh.\n"
    edits = edits_between(text, fix_typos(text))
    assert all(text.count(edit["find"]) == 1 for edit in edits)
    result = apply_edits(text, parse_edits(edits_reply(*edits)), protected=())
    assert (result.text, result.refused) == (fix_typos(text), ())


def test_the_fakes_edits_cover_lines_added_removed_and_changed_across_blank_runs() -> None:
    # The fake diffs lines first and words only inside changed lines: whitespace runs that straddle a
    # changed line, and lines added or dropped, still give edits that rebuild the responder's text.
    from gpt_tools.markdown.edits import apply_edits, parse_edits
    from tests.fake_openai_wire import edits_between

    text = "# Title\n\nteh one\n\n\n  two teh\nkept line\nthree\n\nlast teh"
    fixed = "# Title\n\nthe one\nnew line\n\n  two the\nkept line\n\nlast the\n"
    edits = edits_between(text, fixed)
    assert all(text.count(edit["find"]) == 1 for edit in edits)
    result = apply_edits(text, parse_edits(edits_reply(*edits)), protected=())
    assert (result.text, result.refused) == (fixed, ())


def test_a_long_document_goes_out_in_raw_chunks_and_positions_are_the_documents(api: FakeOpenAI) -> None:
    write_config(Path.cwd(), "max_retries = 0\nedit_chunk_tokens = 40\n")  # the file GPT_TOOLS_CONFIG names
    filler = "long enough to need a chunk of its own"
    parts = [f"## Part {i}\n\nThis is teh text of part {i}, {filler}.\n\n" for i in range(3)]
    text = "".join(parts)
    result = runner.run("MarkdownLinter", text)
    assert result.text == text.replace("teh", "the")
    assert (result.requests, result.chunks) == (3, 3)
    assert result.edits is not None
    lines = [entry["line"] for entry in result.edits.to_json()]
    assert lines == [3, 7, 11]  # each chunk's edit placed in the whole document
    sent = [r.body["input"][-1]["content"][-1]["text"] for r in api.model_requests()]
    assert sorted(sent) == parts  # raw chunks that join back to the document (sent concurrently: any order)


def test_gpt_tools_run_reports_refused_edits_on_stderr_only(api: FakeOpenAI, tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text(DOC, encoding="utf-8")
    done = run_program("gpt-tools", "run", "MarkdownLinter", str(path))
    assert (done.returncode, done.stdout.decode()) == (0, FIXED)
    assert done.stderr.count(b"edit not applied (protected)") == 3  # the code block, inline code, URL


def test_a_model_without_reasoning_is_asked_again_without_the_effort(api: FakeOpenAI) -> None:
    """gpt-4.1 and gpt-4o answer 400 (param reasoning.effort) to the built-ins' low effort: one retry
    without effort and verbosity, never a failed run; any other 400 is still a failure."""
    api.script(Scripted(fault="unsupported_reasoning"))
    result = runner.run("MarkdownLinter", "I recieve mail.\n", model="gpt-4.1")
    assert result.text == "I receive mail.\n"
    first, second = (request.body for request in api.model_requests())
    assert first["reasoning"] == {"effort": "low"} and first["text"]["verbosity"] == "low"
    assert "reasoning" not in second and "verbosity" not in second["text"] and "format" in second["text"]
    api.reset()
    api.script(Scripted(fault="context_length"))
    with pytest.raises(ApiError):
        runner.run("MarkdownLinter", "I recieve mail.\n")
    assert len(api.model_requests()) == 1


def test_edits_json_wrapped_in_a_code_fence_is_still_read(api: FakeOpenAI) -> None:
    """A server that ignores the schema (no grammar) and fences its JSON: the fence is the document
    guards' to strip, the JSON inside is parsed as strictly as ever."""
    api.script(Scripted(fault="fenced"))
    assert runner.run("MarkdownLinter", "I recieve mail.\n").text == "I receive mail.\n"


# --- opt-out regions: never sent in edits mode, offsets reported into the original ----------------

OPT_OUT_DOC = (
    "Fix teh first.\r\n\r\n<!-- gpt-tools: off -->\r\nteh private notes\r\n<!-- gpt-tools: on -->\r\n\r\n"
    "Fix teh last.\r\n<!-- gpt-tools: off -->\r\nteh tail\r\n"
)


def test_an_opt_out_region_goes_out_as_a_marker_and_edits_land_in_the_original(api: FakeOpenAI) -> None:
    edits = [
        {"find": "teh first", "replace": "the first", "reason": "spelling"},
        {"find": "⟦O1⟧", "replace": "notes", "reason": "invented"},
        {"find": "teh last", "replace": "the last", "reason": "spelling"},
        {"find": "last.\r\n⟦O2⟧", "replace": "last.\r\nx", "reason": "touches the second"},
    ]
    api.script(Scripted(text=json.dumps({"edits": edits})))
    result = runner.run("MarkdownLinter", OPT_OUT_DOC)
    assert result.text == OPT_OUT_DOC.replace("teh first", "the first").replace("teh last", "the last")
    body = _sent(api)
    sent = body["input"][-1]["content"][-1]["text"]
    assert sent == "Fix teh first.\r\n\r\n⟦O1⟧\r\n\r\nFix teh last.\r\n⟦O2⟧\r\n"  # the regions stay here
    assert "an edit that touches a marker is refused" in body["instructions"]
    assert "A marker's whole line is the author's text too" in body["instructions"]  # its lead is protected
    assert result.edits is not None
    assert [(p.start, p.end) for p in result.edits.applied] == [
        (OPT_OUT_DOC.index("teh first"), OPT_OUT_DOC.index("teh first") + 9),
        (OPT_OUT_DOC.index("teh last"), OPT_OUT_DOC.index("teh last") + 8),
    ]
    refused = {r.edit.reason: r for r in result.edits.refused}
    assert {r.reason for r in refused.values()} == {"protected"}
    first = OPT_OUT_DOC.index("<!-- gpt-tools: off -->")
    assert (refused["invented"].start, refused["invented"].end) == (first, OPT_OUT_DOC.index("on -->") + 6)
    assert (refused["touches the second"].start, refused["touches the second"].end) == (
        OPT_OUT_DOC.index("last."),
        len(OPT_OUT_DOC.rstrip("\r\n")),  # the region's end: the edit reached into it
    )


def test_the_hidden_regions_survive_a_document_of_many_chunks(api: FakeOpenAI) -> None:
    write_config(Path.cwd(), "max_retries = 0\nedit_chunk_tokens = 64\n")
    parts = [f"Paragraph {i} has teh typo {i} in it, long enough to fill a chunk of its own.\n\n" for i in range(12)]
    doc = "".join(parts[:6]) + "<!-- gpt-tools: off -->\nteh kept\n<!-- gpt-tools: on -->\n\n" + "".join(parts[6:])
    result = runner.run("MarkdownLinter", doc)
    assert result.text == doc.replace("has teh", "has the") and len(api.model_requests()) > 2
    assert result.edits is not None and len(result.edits.applied) == 12
    assert all("teh" in doc[p.start : p.end] for p in result.edits.applied)  # offsets into the original


def test_protect_false_still_hides_opt_out_regions_in_edits_mode(api: FakeOpenAI) -> None:
    write_config(Path.cwd(), "max_retries = 0\nprotect = false\n")
    doc = "Fix `teh` code.\n\n<!-- gpt-tools: off -->\nteh kept\n<!-- gpt-tools: on -->\n"
    result = runner.run("MarkdownLinter", doc)
    assert result.text == doc.replace("`teh`", "`the`")  # protection is off: code is edited, the region never
    assert "teh kept" not in str(_sent(api))


LISTED = "- one teh\n- <!-- gpt-tools: off -->\n  keep\n  <!-- gpt-tools: on -->\n- two\n"


@pytest.mark.parametrize("protect", ["true", "false"])
@pytest.mark.parametrize(
    ("find", "replace"),
    [
        ("- ⟦O1⟧", "* ⟦O1⟧"),  # the list marker before `off` is the region's first byte
        ("teh\n- ", "teh\n* "),  # the same, reached from the line before
        ("\n- two", " - two"),  # the line break after `on` is its last
        ("one teh\n", "one the "),  # joins the line before to `off`: no longer a marker
        ("one teh", "one the\n\n```"),  # opens code around the region
        ("one teh", "one the ⟦O1⟧"),  # writes a marker, which would be left in the text as it is
    ],
)
def test_an_edit_that_would_change_an_opt_out_regions_lines_is_refused(
    api: FakeOpenAI, find: str, replace: str, protect: str
) -> None:
    write_config(Path.cwd(), f"max_retries = 0\nprotect = {protect}\n")
    fix = {"find": "two", "replace": "Two", "reason": "capital"}
    api.script(Scripted(text=edits_reply({"find": find, "replace": replace, "reason": "damage"}, fix)))
    result = runner.run("MarkdownLinter", LISTED)
    assert result.text == LISTED.replace("- two", "- Two")
    assert result.edits is not None
    assert [(r.edit.reason, r.reason) for r in result.edits.refused] == [("damage", "protected")]


def test_refusals_name_the_documents_lines_and_the_opt_out_region_in_every_chunk(api: FakeOpenAI) -> None:
    write_config(Path.cwd(), "max_retries = 0\nedit_chunk_tokens = 64\n")
    region = "<!-- gpt-tools: off -->\nteh one\nteh two\n<!-- gpt-tools: on -->\n\n"  # 4 lines, 1 marker line
    parts = [f"Paragraph {i} has teh typo in it, long enough to fill a chunk of its own here.\n\n" for i in range(6)]
    doc = parts[0] + region + "".join(parts[1:]) + region.replace("one", "three")
    edits = [{"find": "⟦O2⟧", "replace": "x", "reason": "touch"}, {"find": "teh typo", "replace": "the", "reason": "r"}]
    api.script(*[Scripted(text=json.dumps({"edits": edits}))] * 8)
    result = runner.run("MarkdownLinter", doc)
    assert result.text == doc and len(api.model_requests()) > 2
    assert result.edits is not None
    lines = doc.splitlines()
    ambiguous = [lines.index(line) + 1 for line in lines if "teh typo" in line]
    details = {r.detail for r in result.edits.refused}
    second = len(lines) - lines[::-1].index("<!-- gpt-tools: off -->")  # the second region's `off` line
    assert f"it touches an opt-out region (<!-- gpt-tools: off -->) (line {second})" in details
    assert any(detail.startswith(f"matches 2 places (lines {ambiguous[-2]}, {ambiguous[-1]}") for detail in details)
