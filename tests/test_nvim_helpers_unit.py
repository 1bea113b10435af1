"""The Neovim plugin's pure helpers, without a running Neovim: buffer text, replacements, edits as buffer
changes (byte columns), the chat buffer's layout, command arguments (the table Vim's :GptFilter shares),
where a result goes, messages and how a failure is described.

tests/test_nvim.py and test_nvim_chat.py drive a real Neovim; these pin the helpers' edge cases.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("pynvim")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "editor" / "rplugin" / "python3"))

from gpt_tools_nvim import args, chat, chatview, core, edits, health, jobs, session, text, ui

import gpt_tools

# ------------------------------------------------------------------------------------ text.py


def test_lines_to_text_ends_every_line_and_text_to_lines_adds_none() -> None:
    assert text.lines_to_text(["# T", "", "body"], 1) == "# T\n\nbody\n"
    assert text.text_to_lines("# T\n\nbody\n") == ["# T", "", "body"]
    assert text.text_to_lines("no final newline") == ["no final newline"]
    assert text.text_to_lines("") == [""]


@pytest.mark.parametrize("lines", [["a"], ["a\r", "b\r"], ["", ""], ["x", "", "", "y"], ["é ✓ \u2028 mid"]])
def test_lines_round_trip(lines: list[str]) -> None:
    assert text.text_to_lines(text.lines_to_text(lines, 1)) == lines


def test_a_crlf_line_keeps_its_cr() -> None:
    assert text.lines_to_text(["a\r", "b\r"], 1) == "a\r\nb\r\n"


@pytest.mark.parametrize(
    ("lines", "first", "where"),
    [(["ok", "bin\0ary"], 10, "line 11 holds a NUL"), (["a\nb"], 3, "line 3 holds a NUL"), (["\udcff"], 7, "line 7")],
)
def test_unsendable_lines_are_refused_naming_the_line(lines: list[str], first: int, where: str) -> None:
    with pytest.raises(text.RangeRefused, match=where):
        text.lines_to_text(lines, first)


def test_replacement_none_when_equal() -> None:
    assert text.replacement(["a", "b"], ["a", "b"]) is None
    assert text.replacement([], []) is None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (["a", "b", "c"], ["a", "B", "c"], (1, 2, ["B"])),
        (["a", "b", "c"], ["a", "c"], (1, 2, [])),
        (["a", "c"], ["a", "b", "c"], (1, 1, ["b"])),
        (["a"], ["x", "y"], (0, 1, ["x", "y"])),
        (["x", "x"], ["x", "x", "x"], (2, 2, ["x"])),  # repeated lines: the shared ends never overlap
        ([], ["new"], (0, 0, ["new"])),
        (["gone"], [], (0, 1, [])),
    ],
)
def test_replacement_is_the_smallest_middle(
    old: list[str], new: list[str], expected: tuple[int, int, list[str]]
) -> None:
    assert text.replacement(old, new) == expected
    start, end, lines = expected
    assert old[:start] + lines + old[end:] == new


# ------------------------------------------------------------------------------------ edits.py


def _engine_result(lines: list[str], *pairs: tuple[str, str]) -> SimpleNamespace:
    """What gpt_tools.run gives back in edits mode: the engine's own placed and refused edits."""
    from gpt_tools.markdown.edits import Edit, apply_edits

    sent = text.lines_to_text(lines, 1)
    done = apply_edits(sent, [Edit(find=f, replace=r, reason="spelling") for f, r in pairs], protected=())
    report = SimpleNamespace(original=sent, applied=done.applied, refused=done.refused)
    return SimpleNamespace(text=done.text, edits=report)


@pytest.mark.parametrize(
    ("line", "offset", "expected"),
    [
        ("plain teh", 6, (0, 6)),
        ("café teh", 5, (0, 6)),  # é: 1 character, 2 bytes
        ("✓ teh", 2, (0, 4)),  # ✓: 3 bytes
        ("🎉 teh", 2, (0, 5)),  # an emoji: 1 code point, 2 UTF-16 units, 4 bytes
    ],
)
def test_position_columns_are_utf8_bytes(line: str, offset: int, expected: tuple[int, int]) -> None:
    from gpt_tools.markdown.edits import utf16_position

    assert edits.position(line + "\n", offset) == expected
    if "🎉" in line:  # the engine's UTF-16 position (LSP) is not what nvim_buf_set_text takes
        assert utf16_position(line + "\n", offset) == (0, 3)


def test_position_counts_rows_and_restarts_columns_on_each_line() -> None:
    sent = "é\nab🎉c\n"
    assert edits.position(sent, sent.index("c")) == (1, 6)
    assert edits.position(sent, len(sent) - 1) == (1, 7)  # the end of the last line


@pytest.mark.parametrize(
    ("lines", "pairs"),
    [
        (
            ["# Café", "naïve teh 🎉 recieve", "teh end"],
            [("teh 🎉", "the 🎉"), ("recieve", "receive"), ("teh end", "the end")],
        ),
        (["a\r", "teh\r", "b\r"], [("teh\r\nb", "the\r\nx\r\nb")]),  # CRLF lines of a unix buffer keep their CR
        (["one", "two"], [("two\n", "two\nthree\n")]),  # an edit reaching the text's final newline
        (["one", "two"], [("one\ntwo", "only")]),  # lines joined
        (["x 🎉🎉 y"], [("🎉🎉 y", "🎉 z")]),
    ],
)
def test_plan_replays_to_exactly_the_engine_result(lines: list[str], pairs: list[tuple[str, str]]) -> None:
    result = _engine_result(lines, *pairs)
    planned = edits.plan(result.edits.original, lines, result)
    assert planned is not None and len(planned) == len(pairs) == len(result.edits.applied)
    assert edits.replay(lines, planned) == text.text_to_lines(result.text)


def test_a_subset_of_the_changes_applies_just_those_edits() -> None:
    lines = ["naïve teh", "keep", "recieve 🎉 it"]
    planned = edits.plan(
        text.lines_to_text(lines, 1), lines, _engine_result(lines, ("teh", "the"), ("recieve", "receive"))
    )
    assert planned is not None
    assert edits.replay(lines, planned[1:]) == ["naïve teh", "keep", "receive 🎉 it"]
    assert edits.replay(lines, planned[:1]) == ["naïve the", "keep", "recieve 🎉 it"]
    assert planned[0].as_dict() == {
        "start_row": 0, "start_col": 7, "end_row": 0, "end_col": 10, "lines": ["the"],
        "label": '1:7 spelling: "teh" → "the"',
    }  # fmt: skip


def test_plan_is_none_for_document_mode_or_other_text() -> None:
    lines = ["teh"]
    assert edits.plan("teh\n", lines, SimpleNamespace(text="the\n", edits=None)) is None
    result = _engine_result(lines, ("teh", "the"))
    assert edits.plan("\ufeffteh\n", lines, result) is None  # offsets into another text: replace whole


def test_refusals_give_each_refused_edit_in_full_with_its_buffer_line() -> None:
    long = "teh " + "x" * 100
    result = _engine_result(["a", long, "a"], ("a", "b"), (long, "the"), ("teh x", "the y"), ("missing", "m"))
    lines = edits.refusals(result, 10)
    assert lines[0].startswith('edit not applied (ambiguous): "a" → "b": ')
    assert lines[1].startswith("11:1: edit not applied (overlap): ") and long in lines[1]  # never cut
    assert "(not_found)" in lines[3]
    assert edits.refusals(SimpleNamespace(edits=None), 1) == []


# ------------------------------------------------------------------------------------ chatview.py


def test_reply_lines_drop_the_final_newlines_only() -> None:
    assert chatview.reply_lines("one\n\ntwo\n\n\n") == ["one", "", "two"]
    assert chatview.reply_lines("") == [""]


def test_header_counts_turns() -> None:
    assert "continuing" not in chatview.header("DocWriter", "conv-1", 0)
    assert "continuing after 1 turn ·" in chatview.header("DocWriter", "conv-1", 1)
    assert "continuing after 2 turns ·" in chatview.header("DocWriter", "conv-1", 2)


def test_transcript_lays_out_turns_and_ends_with_the_prompt_line() -> None:
    messages = [{"role": "user", "content": "Hi\n"}, {"role": "assistant", "content": "Hello\nthere\n"}]
    lines = chatview.transcript("DocWriter", "conv-1", messages)
    assert lines[0].startswith("# DocWriter · conv-1 · continuing after 1 turn")
    assert lines[1:] == ["", "## You", "", "Hi", "", "## DocWriter", "", "Hello", "there", "", ""]


# ------------------------------------------------------------------------------------ chat.py


@pytest.mark.parametrize(
    ("args", "bang", "parsed"),
    [
        (["DocWriter"], False, ("DocWriter", False, None)),
        (["DocWriter"], True, ("DocWriter", True, None)),
        (["DocWriter", "--continue"], False, ("DocWriter", True, None)),
        (["DocWriter", "--conversation", "conv-1a2b"], False, ("DocWriter", False, "conv-1a2b")),
    ],
)
def test_chat_arguments(args: list[str], bang: bool, parsed: tuple[str, bool, str | None]) -> None:
    assert chat.parse(args, bang) == parsed


@pytest.mark.parametrize("args", [["DocWriter", "--conversation"], ["DocWriter", "extra"]])
def test_chat_arguments_refused_with_the_usage(args: list[str]) -> None:
    with pytest.raises(session.UserError, match=r"usage: :\[range\]GptChat"):
        chat.parse(args, False)


def test_reply_buffers_deltas_and_takes_back_what_could_not_be_written() -> None:
    reply = chat.Reply(["hi"])
    reply.add("Hel")
    reply.add("lo")
    assert reply.received == 5
    taken = reply.take()
    assert taken == "Hello" and reply.take() == ""
    reply.add(" there")
    reply.give_back(taken)  # a refused write goes back in front of what came meanwhile
    assert reply.take() == "Hello there"


# ------------------------------------------------------------------------------------ session.py, ui.py


def _job(**fields: object) -> jobs.Job:
    base: dict[str, object] = {
        "id": 1,
        "bufnr": 1,
        "label": "a.md",
        "args": args.parse("ProofReader"),
        "first": 2,
        "last": 4,
        "snapshot": ["0", "1", "2", "3", "4"],
        "tick": 1,
        "preview": False,
        "cwd": ".",
        "files_cwd": ".",
        "whole": False,
    }
    return jobs.Job(**{**base, **fields})  # type: ignore[arg-type]


def test_job_title_and_original_range() -> None:
    job = _job()
    assert job.original == ["2", "3"]
    assert job.title == "GptRun ProofReader on a.md lines 3-4"
    assert _job(whole=True, first=0, last=5).title == "GptRun ProofReader on a.md"


@pytest.mark.parametrize(
    ("line", "rewrites", "default", "target"),
    [
        ("ProofReader", True, "append", "replace"),  # a rewriter replaces
        ("Summarizer", False, "append", "append"),  # a writer never does by default
        ("Summarizer", False, "popup", "popup"),  # g:gpt_tools_writer_target
        ("Summarizer --target replace", False, "append", "replace"),  # asked for
        ("ProofReader --target split", True, "append", "split"),
    ],
)
def test_where_the_result_goes(line: str, rewrites: bool, default: str, target: str) -> None:
    assert _job(args=args.parse(line), writer_target=default).choose_target(rewrites) == target


def test_append_keeps_the_range_and_adds_the_result_after_an_empty_line() -> None:
    job = _job(args=args.parse("Summarizer"), snapshot=["a", "b", "c"], first=0, last=2)
    job.choose_target(rewrites=False)
    assert job.new_range(["summary"]) == ["a", "b", "", "summary"]
    ended = _job(args=args.parse("Summarizer"), snapshot=["a", ""], first=0, last=2)
    ended.choose_target(rewrites=False)
    assert ended.new_range(["summary"]) == ["a", "", "summary"]  # no second empty line


def test_attachments_are_read_only_from_regular_files(loaded: None, tmp_path: Path) -> None:
    import os

    (tmp_path / "a.md").write_text("text\n", encoding="utf-8")
    (tmp_path / "b.bin").write_bytes(b"\xff\xfe\x00")
    os.mkfifo(tmp_path / "pipe")  # reading it would hang the worker until someone writes
    assert jobs.read_attachment(gpt_tools, "a.md", str(tmp_path)) == gpt_tools.InputFile("a.md", "text\n")
    assert jobs.read_attachment(gpt_tools, "b.bin", str(tmp_path)).data == b"\xff\xfe\x00"
    for name in ("pipe", "missing.md"):
        with pytest.raises(gpt_tools.InputRefused, match=f"--input-files {name}"):
            jobs.read_attachment(gpt_tools, name, str(tmp_path))


def test_the_install_command_names_this_python_and_the_checkout() -> None:
    assert health.install_command() == f"{sys.executable} -m pip install '{core.CHECKOUT}[nvim]'"
    assert health.code("gpt_tools/__init__.py") == "`gpt_tools/__init__.py`" and health.code("a`b") == "`a'b`"


def test_writer_target_is_checked() -> None:
    assert jobs.writer_target(None) == "append" and jobs.writer_target("enew") == "enew"
    with pytest.raises(ValueError, match="expected one of replace, append, enew, split, popup"):
        jobs.writer_target("below")


# ------------------------------------------------------------------------------------ args.py

TABLE = json.loads((Path(__file__).parent / "fixtures" / "editor_args.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", TABLE["cases"], ids=lambda case: repr(case["input"]))
def test_argument_lines_split_as_the_shared_table_says(case: dict[str, object]) -> None:
    """The same table Vim's :GptFilter is held to: one argument syntax for both editors."""
    if "error" in case:
        with pytest.raises(args.ArgsError):
            args.split(str(case["input"]))
    else:
        assert args.split(str(case["input"])) == case["argv"]


def test_run_arguments_are_gpt_filters() -> None:
    line = 'Summarizer -m gpt-4o-mini -i "Use British spelling" --input-files a.md "b c.md" --target popup'
    parsed = args.parse(line)
    assert parsed == args.RunArgs(
        assistant="Summarizer",
        model="gpt-4o-mini",
        instruct="Use British spelling",
        input_files=("a.md", "b c.md"),
        target="popup",
    )
    assert args.parse("--backend chat --allow-secrets DocWriter") == args.RunArgs(
        assistant="DocWriter", backend="chat", allow_secrets=True
    )


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("MarkdownLinter Use British spelling", "extra instructions go after -i"),  # bare words: not instructions
        ("", "no assistant named"),
        ("--input-files a.md MarkdownLinter", "--input-files took a.md MarkdownLinter"),
        ("MarkdownLinter -i", "expected one argument"),
        ("MarkdownLinter --target below", "invalid choice"),
        ("MarkdownLinter --bogus", "unexpected '--bogus'"),
        ('MarkdownLinter -i "open', "No closing quotation"),
        ("MarkdownLinter --dry-run", "--dry-run is gpt-filter's only"),
    ],
)
def test_run_arguments_refused_with_the_usage(line: str, says: str) -> None:
    with pytest.raises(args.ArgsError, match=re.escape(says)) as caught:
        args.parse(line)
    assert "GptRun" in str(caught.value)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", ("", None)),
        ("Mark", ("Mark", None)),
        ("MarkdownLinter ", ("", None)),
        ("MarkdownLinter --ta", ("--ta", None)),
        ("MarkdownLinter --target ", ("", "--target")),
        ("MarkdownLinter --target sp", ("sp", "--target")),
        ('Summarizer -i "two wor', ("", "-i")),
    ],
)
def test_completion_sees_the_word_and_the_option(line: str, expected: tuple[str, str | None]) -> None:
    assert args.completing(line) == expected


# ------------------------------------------------------------------------------------ text.changed_lines


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (["a"] * 13, ["A", *["a"] * 11, "A"], "2 line(s) changed"),  # not "13 line(s) replaced"
        (["a", "b"], ["a", "x", "b"], "1 line(s) added"),
        (["a", "b", "c"], ["a"], "2 line(s) removed"),
        (["a", "b", "c"], ["A", "B", "C", "D"], "3 line(s) changed, 1 added"),
        (["a", "b", "c"], ["X", "c"], "1 line(s) changed, 1 removed"),
    ],
)
def test_changed_lines_counts_what_changed(old: list[str], new: list[str], said: str) -> None:
    assert text.changed_lines(old, new) == said


# ------------------------------------------------------------------------------------ chatview.block


def test_a_block_for_a_chat_fences_the_text_longer_than_its_own_fences() -> None:
    block = chatview.block("a.md lines 2-3", "markdown", ["x", "y"])
    assert block == ["a.md lines 2-3:", "", "```markdown", "x", "y", "```"]
    inner = chatview.block("a.md", "markdown", ["```python", "code", "```"])
    assert inner[2] == "````markdown" and inner[-1] == "````"
    assert chatview.file_block("d.v1/notes.md", "a\n\n") == ["d.v1/notes.md:", "", "```markdown", "a", "```"]
    assert chatview.file_block("d.v1/Makefile", "all:\n")[2] == "```"  # no suffix: no type


def test_an_error_with_advice_shows_the_advice_first(loaded: None) -> None:
    error = gpt_tools.ConfigError("/p/gpt-tools.toml", "base_url", "long story; fix", advice="run the fix")
    assert core.advice(error) == "run the fix" and core.advice(ValueError("x")) is None
    assert core.advice_first("GptRun X", "run the fix", "GptRun X failed: all of it") == (
        "GptRun X: run the fix\nGptRun X failed: all of it"
    )
    assert core.advice_first("GptRun X", None, "whole") == "whole"


def test_completion_and_usage_line() -> None:
    result = SimpleNamespace(usage=SimpleNamespace(input_tokens=1234, output_tokens=56))
    assert ui.usage_line(result, 1.25) == "1,234 in + 56 out tokens, 1.2 s"
    info = ui.completion("ok", 1.23456, result, assistant="X")
    assert info == {"status": "ok", "assistant": "X", "seconds": 1.235, "input_tokens": 1234, "output_tokens": 56}
    assert ui.completion("error", 0.5, None) == {"status": "error", "seconds": 0.5}


@pytest.mark.parametrize(
    ("status", "level"),
    [(200, "ok"), (404, "ok"), (401, "warn"), (403, "warn"), ("connection refused", "error")],
)
def test_reachability_levels(status: int | str, level: str) -> None:
    assert health._reachability("http://h/v1", status)[0] == level


# ------------------------------------------------------------------------------------ core.py


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "_module", gpt_tools)


def test_describe_uses_the_public_exit_status(loaded: None) -> None:
    assert core.describe(gpt_tools.Cancelled("stopped")) == ("cancelled", True)
    assert core.describe(KeyboardInterrupt()) == ("cancelled", True)  # 130, as the CLI says
    assert core.describe(gpt_tools.ApiError("HTTP 500:\n  server\terror", status=500)) == (
        "HTTP 500: server error",
        False,
    )
    assert core.describe(ValueError("bad\nvalue")) == ("internal error (ValueError: bad value)", False)


def test_the_plugin_names_only_the_public_api() -> None:
    plugin = Path(core.__file__).parent
    named = {
        (path.name, name)
        for path in plugin.glob("*.py")
        for name in re.findall(r"(?<![\w'])gpt_tools\.(\w+)", path.read_text(encoding="utf-8"))
    }
    assert {(file, name) for file, name in named if name not in gpt_tools.__all__} == set()
    assert ("core.py", "run") in named  # the check sees what it should


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ('"My Assistant" -i x', "My Assistant"),
        ("'Two Words'", "Two Words"),
        ('"unclosed name -i', '"unclosed'),
        ("", ""),
    ],
)
def test_the_name_in_messages_is_the_first_word_by_shell_rules(line: str, name: str) -> None:
    assert args.first_word(line) == name  # was '"My' for a quoted name with a space
