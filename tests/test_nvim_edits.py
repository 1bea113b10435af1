"""The Neovim plugin in edits mode (issue 11), in a real headless Neovim against the fake server:
:GptRun applies each edit as its own buffer change in one undo step; :GptRun! reviews them.

The fake answers a json_schema request with its typo fixer's edits (`find` grown until unique).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.fake_openai import FakeOpenAI, Scripted
from tests.fake_openai_wire import edits_reply
from tests.nvim_helpers import NVIM, gate, pynvim, start_run, wait_done, wait_for, wait_requests

pytestmark = pytest.mark.skipif(
    (NVIM is None or pynvim is None) and not os.environ.get("CI"), reason="nvim or pynvim not installed"
)

LINES = ["# Café notes", "", "naïve teh 🎉 plan", "untouched line", "I recieve 🎉 mail", "the end"]
FIXED = ["# Café notes", "", "naïve the 🎉 plan", "untouched line", "I receive 🎉 mail", "the end"]


@pytest.fixture
def editor(edits_mode: None, nvim: Any, tmp_path: Path) -> Any:
    """Neovim started in edits mode (edits_mode first: the Python host inherits the environment)."""
    path = tmp_path / "notes.md"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    nvim.command(f"edit {path}")
    return nvim


def test_edits_apply_as_changes_in_one_undo_step_leaving_cursor_and_marks(editor: Any, api: FakeOpenAI) -> None:
    buffer = editor.current.buffer
    editor.command("normal! 4G3lma")  # mark a on an untouched line, between the edited ones
    editor.api.buf_set_mark(buffer.number, "b", 6, 4, {})
    editor.command("setlocal foldmethod=manual | 1,2fold")  # a closed fold on untouched lines
    editor.command("normal! 1G06l")  # the cursor on another untouched line, after the é
    cursor = editor.api.win_get_cursor(0)
    assert cursor == [1, 7]  # bytes: the é is two
    start_run(editor, "GptRun MarkdownLinter")
    done = wait_done(editor)
    assert done["status"] == "ok" and "2 edit(s) applied" in done["message"], done
    assert buffer[:] == FIXED  # byte columns: é, ï and the emoji before each edit
    assert "json_schema" in str(api.model_requests()[0].body["text"]["format"])
    assert editor.api.win_get_cursor(0) == cursor
    assert editor.api.buf_get_mark(buffer.number, "a") == [4, 3]
    assert editor.api.buf_get_mark(buffer.number, "b") == [6, 4]
    assert (editor.funcs.foldclosed(1), editor.funcs.foldclosedend(1)) == (1, 2)
    editor.command("undo")
    assert buffer[:] == LINES and editor.funcs.undotree()["seq_cur"] == 0  # one step, nothing older


def test_edits_arriving_in_insert_mode_apply_on_leaving_as_one_undo_step(editor: Any, api: FakeOpenAI) -> None:
    opened = gate(api)
    start_run(editor, "GptRun MarkdownLinter")
    wait_requests(api)
    editor.input("4GA")  # Insert mode, nothing typed
    wait_for("Insert mode", lambda: editor.api.get_mode()["mode"] == "i" or None)
    opened.set()
    wait_for(
        "the result held back", lambda: str(editor.vars.get("gpt_tools_status", "")).endswith("insert mode") or None
    )
    assert editor.current.buffer[:] == LINES
    editor.input("<Esc>")
    assert "2 edit(s) applied" in wait_done(editor)["message"]
    assert editor.current.buffer[:] == FIXED
    editor.command("undo")
    assert editor.current.buffer[:] == LINES


def test_refused_edits_are_in_the_message_history_in_full(editor: Any, api: FakeOpenAI) -> None:
    api.script(Scripted(text=edits_reply(
        {"find": "recieve", "replace": "receive", "reason": "spelling"},
        {"find": "🎉", "replace": "!", "reason": "tone"},
    )))  # fmt: skip
    start_run(editor, "GptRun MarkdownLinter")
    done = wait_done(editor)
    assert done["status"] == "ok" and "1 edit(s) not applied (:messages)" in done["message"], done
    assert editor.current.buffer[4] == "I receive 🎉 mail"
    [refused] = done["refused"]
    assert refused.startswith('edit not applied (ambiguous): "🎉" → "!"')
    wait_for("the refusal in :messages", lambda: refused in editor.api.exec("messages", True))


def test_a_long_refusal_goes_to_the_history_without_a_hit_enter_prompt(editor: Any, api: FakeOpenAI) -> None:
    long = "🎉 " + "x" * 300  # wider than the screen: echoed, it would stop the user at a hit-enter prompt
    api.script(Scripted(text=edits_reply({"find": "🎉", "replace": long, "reason": "tone"})))
    editor.ui_attach(80, 24, rgb=True)  # a real screen: headless without a UI never prompts
    try:
        start_run(editor, "GptRun MarkdownLinter")
        [refused] = wait_done(editor)["refused"]
        assert long in refused and refused in editor.api.exec("messages", True)
        assert editor.api.get_mode() == {"mode": "n", "blocking": False}
    finally:
        editor.ui_detach()


def test_a_range_run_applies_its_edits_at_the_range_lines(editor: Any, api: FakeOpenAI) -> None:
    buffer = editor.current.buffer
    start_run(editor, "4,5GptRun MarkdownLinter")
    done = wait_done(editor)
    assert done["status"] == "ok" and "1 edit(s) applied" in done["message"], done
    assert api.model_requests()[0].body["input"][-1]["content"][-1]["text"] == "untouched line\nI recieve 🎉 mail\n"
    assert buffer[:] == [*LINES[:4], *FIXED[4:]]


@pytest.mark.parametrize("crlf_lines", [False, True])
def test_crlf_buffers_get_their_edits_and_keep_their_line_endings(
    editor: Any, tmp_path: Path, crlf_lines: bool
) -> None:
    path = tmp_path / "dos.md"
    path.write_bytes("keep teh\r\nI recieve 🎉\r\nend\r\n".encode())
    editor.command(f"edit ++ff={'unix' if crlf_lines else 'dos'} {path}")
    buffer = editor.current.buffer
    cr = "\r" if crlf_lines else ""
    assert buffer[:] == [f"keep teh{cr}", f"I recieve 🎉{cr}", f"end{cr}"]
    start_run(editor, "2,3GptRun MarkdownLinter")
    done = wait_done(editor)
    assert done["status"] == "ok" and "1 edit(s) applied" in done["message"], done
    assert buffer[:] == [f"keep teh{cr}", f"I receive 🎉{cr}", f"end{cr}"]
    editor.command("write")
    assert path.read_bytes() == "keep teh\r\nI receive 🎉\r\nend\r\n".encode()


def review(editor: Any) -> Any:
    start_run(editor, "GptRun! MarkdownLinter")
    done = wait_done(editor)
    assert done["status"] == "preview" and "2 edit(s) to review" in done["message"], done
    listing = editor.current.buffer
    assert listing[:] == ['[x] 3:7 spelling: "teh" → "the"', '[x] 5:3 spelling: "recieve" → "receive"']
    namespace = editor.api.get_namespaces()["gpt_tools_keys"]  # the keys, shown in the list's window
    ((_, row, _, details),) = editor.api.buf_get_extmarks(listing.number, namespace, 0, -1, {"details": True})
    assert row == 0 and "a all  d none  :w apply  q close" in details["virt_text"][0][0]
    assert "x/<CR> take/drop" in editor.current.window.options["statusline"]
    return listing


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("x", [*LINES[:4], *FIXED[4:]]),  # drop the first, take the second
        ("jx", [*FIXED[:4], *LINES[4:]]),  # take the first, drop the second
        ("dggx", [*FIXED[:4], *LINES[4:]]),  # drop all, then take the first
        ("dax", [*LINES[:4], *FIXED[4:]]),  # take all, then drop the first
    ],
)
def test_review_applies_exactly_the_taken_edits_in_one_undo_step(editor: Any, keys: str, expected: list[str]) -> None:
    target = editor.current.buffer
    listing = review(editor)
    assert target[:] == LINES  # nothing applied before :w
    editor.feedkeys(keys, "x", False)
    start_run(editor, "write")
    done = wait_done(editor)
    assert done["status"] == "ok" and "1 of 2 edit(s) applied" in done["message"], done
    assert target[:] == expected
    wait_for("the review list closed", lambda: not editor.api.buf_is_valid(listing.number) or None)
    editor.command(f"buffer {target.number}")
    editor.command("undo")
    assert target[:] == LINES


def test_review_refuses_to_apply_once_the_buffer_changed(editor: Any) -> None:
    target = editor.current.buffer
    listing = review(editor)
    target.api.set_lines(0, 1, True, ["# edited meanwhile"])
    start_run(editor, "write")
    assert wait_done(editor)["status"] == "conflict"
    assert target[:] == ["# edited meanwhile", *LINES[1:]]
    assert editor.api.buf_is_valid(listing.number)  # still open: nothing was applied


def test_review_on_a_buffer_made_not_modifiable_says_so_and_stays_open(editor: Any) -> None:
    target = editor.current.buffer
    listing = review(editor)
    target.options["modifiable"] = False
    start_run(editor, "write")  # was: a Lua error from inside the list's BufWriteCmd
    done = wait_done(editor)
    assert done["status"] == "error" and "not 'modifiable'; nothing applied" in done["message"], done
    assert target[:] == LINES and editor.api.buf_is_valid(listing.number)


def test_review_without_edits_opens_nothing(editor: Any, api: FakeOpenAI) -> None:
    api.script(Scripted(text=edits_reply()))
    windows = len(editor.api.list_wins())
    start_run(editor, "GptRun! MarkdownLinter")
    done = wait_done(editor)
    assert done["status"] == "preview" and "no edits to review" in done["message"], done
    assert len(editor.api.list_wins()) == windows and editor.current.buffer[:] == LINES


def test_edits_on_one_line_that_change_its_length_all_land(editor: Any, api: FakeOpenAI) -> None:
    api.script(Scripted(text=edits_reply(
        {"find": "recieve", "replace": "do receive", "reason": "spelling"},
        {"find": "🎉 mail", "replace": "letters", "reason": "tone"},
        {"find": "naïve teh", "replace": "naive the", "reason": "spelling"},
    )))  # fmt: skip
    start_run(editor, "GptRun MarkdownLinter")
    assert "3 edit(s) applied" in wait_done(editor)["message"]
    assert editor.current.buffer[2:5] == ["naive the 🎉 plan", "untouched line", "I do receive letters"]


def test_an_edits_mode_result_asked_to_go_below_the_range_goes_there(editor: Any) -> None:
    buffer = editor.current.buffer
    start_run(editor, "3GptRun MarkdownLinter --target append")
    done = wait_done(editor)
    assert done["status"] == "ok" and "2 line(s) added below line 3" in done["message"], done
    assert buffer[:] == [*LINES[:3], "", FIXED[2], *LINES[3:]]  # the range itself untouched
