"""Where :GptRun's result goes, in a real headless Neovim against the fake server: a writer's below the
range (or in a new buffer, a split, a popup), a rewriter's over it; the argument line (gpt-filter's, split
by shell rules); what the success message says changed; the keys of the diff split.

The fake answers with the text it was sent, typos fixed ("teh" -> "the"), so a writer's "summary" is
known in advance.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.fake_openai import FakeOpenAI
from tests.nvim_helpers import NVIM, gate, pynvim, start_run, wait_done, wait_for, wait_requests

pytestmark = pytest.mark.skipif(
    (NVIM is None or pynvim is None) and not os.environ.get("CI"), reason="nvim or pynvim not installed"
)

LINES = ["# Notes", "", "teh first line", "teh second line", "", "the end"]


@pytest.fixture
def editor(nvim: Any, tmp_path: Path) -> Any:
    path = tmp_path / "notes.md"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    nvim.command(f"edit {path}")
    return nvim


def results(nvim: Any) -> list[Any]:
    return [b for b in nvim.buffers if b.name.startswith("gpt-tools://")]


def test_a_writer_appends_below_the_range_in_one_undo_step(editor: Any, api: FakeOpenAI) -> None:
    buffer = editor.current.buffer
    start_run(editor, "3,4GptRun Summarizer")
    done = wait_done(editor)
    assert done["status"] == "ok" and "3 line(s) added below line 4" in done["message"], done
    assert buffer[:] == [*LINES[:4], "", "the first line", "the second line", *LINES[4:]]  # the range kept
    assert api.model_requests()[0].body["input"][0]["content"][0]["text"] == "teh first line\nteh second line\n"
    editor.command("undo")
    assert buffer[:] == LINES and editor.funcs.undotree()["seq_cur"] == 0


def test_a_rewriter_still_replaces_and_a_writer_replaces_only_when_asked(editor: Any) -> None:
    buffer = editor.current.buffer
    start_run(editor, "3,4GptRun MarkdownLinter")
    assert wait_done(editor)["status"] == "ok"
    assert buffer[:] == [*LINES[:2], "the first line", "the second line", *LINES[4:]]
    editor.command("undo")
    start_run(editor, "3GptRun Summarizer --target replace")
    assert wait_done(editor)["status"] == "ok"
    assert buffer[:] == [*LINES[:2], "the first line", *LINES[3:]]


@pytest.mark.parametrize("how", ["--target split", "--target popup", "--target enew", "g:gpt_tools_writer_target"])
def test_a_writers_result_can_open_elsewhere_leaving_the_buffer_alone(editor: Any, how: str) -> None:
    buffer = editor.current.buffer
    tick = buffer.api.get_changedtick()
    target = how.split()[-1]
    if how.startswith("g:"):
        editor.command("let g:gpt_tools_writer_target = 'split'")
        target, how = "split", ""
    start_run(editor, f"3,4GptRun Summarizer {how}")
    done = wait_done(editor)
    assert done["status"] == "ok", done
    assert buffer[:] == LINES and buffer.api.get_changedtick() == tick
    shown = editor.current.buffer
    assert shown.number != buffer.number and shown[:] == ["the first line", "the second line"]
    assert shown.options["filetype"] == "markdown"
    window = editor.current.window
    floating = editor.api.win_get_config(window)["relative"] != ""
    assert floating is (target == "popup")
    if target == "enew":  # a real buffer, in the window the user was in: :w NAME keeps it
        assert shown.options["buftype"] == "" and len(editor.windows) == 1
        assert shown.options["modified"]  # was unmodified: :q threw the unsaved result away, unwarned
        with pytest.raises(pynvim.NvimError, match="E37"):
            editor.command("quit")
    else:
        assert shown.options["buftype"] == "nofile" and len(editor.windows) == 2
        editor.input("q")  # q closes a split or popup result
        editor.command("echo")  # the key has been handled once a request after it is
        assert len(editor.windows) == 1 and editor.current.buffer.number == buffer.number


def test_the_argument_line_is_gpt_filters(editor: Any, api: FakeOpenAI) -> None:
    (Path(editor.current.buffer.name).parent / "facts.md").write_text("a fact\n", encoding="utf-8")  # beside it
    line = r'GptRun MarkdownLinter -i "Use British spelling | say \"hi\"" -m gpt-4o-mini --input-files facts.md'
    start_run(editor, line)
    assert wait_done(editor)["status"] == "ok"
    body = api.model_requests()[0].body
    assert body["model"] == "gpt-4o-mini"  # | and " are the command's own: no other Ex command, no comment
    assert 'Use British spelling | say "hi"' in body["instructions"] and "a fact" in body["instructions"]


def test_bare_words_are_refused_and_nothing_is_sent(editor: Any, api: FakeOpenAI) -> None:
    buffer = editor.current.buffer
    start_run(editor, "GptRun MarkdownLinter Use British spelling")
    done = wait_done(editor)
    assert done["status"] == "error" and "extra instructions go after -i" in done["message"], done
    start_run(editor, 'GptRun MarkdownLinter -i "unclosed')
    assert wait_done(editor)["status"] == "error"
    assert buffer[:] == LINES and api.model_requests() == []


def test_completion_gives_names_options_and_targets(editor: Any) -> None:
    assert editor.funcs.getcompletion("GptRun Mark", "cmdline") == ["MarkdownLinter"]
    assert editor.funcs.getcompletion("GptRun MarkdownLinter --ta", "cmdline") == ["--target"]
    assert editor.funcs.getcompletion("GptRun Summarizer --target p", "cmdline") == ["popup"]
    assert editor.funcs.getcompletion("GptRun MarkdownLinter Mark", "cmdline") == []  # the name is given
    (Path(editor.current.buffer.name).parent / "facts.md").write_text("a fact\n", encoding="utf-8")
    assert editor.funcs.getcompletion("GptRun Summarizer --input-files fa", "cmdline") == ["facts.md"]


def test_the_message_counts_the_lines_that_changed_not_the_span(nvim: Any, tmp_path: Path) -> None:
    path = tmp_path / "long.md"
    lines = ["teh top", *[f"line {n}" for n in range(11)], "teh bottom"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    nvim.command(f"edit {path}")
    start_run(nvim, "GptRun MarkdownLinter")
    done = wait_done(nvim)
    assert "done, 2 line(s) changed, u undoes" in done["message"], done  # was "13 line(s) replaced"


def diff_split(nvim: Any, api: FakeOpenAI) -> tuple[Any, Any]:
    """A conflict: the user edits during the run, so the result opens in the diff split."""
    opened = gate(api)
    buffer = nvim.current.buffer
    start_run(nvim, "GptRun MarkdownLinter")
    wait_requests(api)
    nvim.command("normal! Gomine")
    opened.set()
    assert wait_done(nvim)["status"] == "conflict"
    (scratch,) = results(nvim)
    return buffer, scratch


def test_the_diff_split_shows_its_keys_and_a_takes_everything(editor: Any, api: FakeOpenAI) -> None:
    buffer, scratch = diff_split(editor, api)
    window = editor.funcs.bufwinid(scratch.number)
    assert "a take all" in editor.api.win_get_option(window, "statusline")
    namespace = editor.api.get_namespaces()["gpt_tools_keys"]
    ((_, row, _, details),) = editor.api.buf_get_extmarks(scratch.number, namespace, 0, -1, {"details": True})
    assert row == 0 and "d/q drop" in details["virt_text"][0][0]  # in the window: no line added to the diff
    assert scratch[:] == [*(line.replace("teh", "the") for line in LINES), "mine"]  # the user's edit is no hunk
    editor.api.set_current_win(window)
    editor.input("a")
    editor.command("echo")
    assert buffer[:] == [*(line.replace("teh", "the") for line in LINES), "mine"] and results(editor) == []
    assert editor.funcs.getwinvar(editor.funcs.bufwinid(buffer.number), "&diff") == 0
    editor.command("undo")  # the take is one step, and it took only the result
    assert buffer[:] == [*LINES, "mine"]


def take_all(nvim: Any, scratch: Any) -> None:
    nvim.api.set_current_win(nvim.funcs.bufwinid(scratch.number))
    nvim.input("a")
    nvim.command("echo")  # the key has been handled once a request after it is


def test_a_keeps_edits_made_after_the_preview_opened(editor: Any) -> None:
    buffer = editor.current.buffer
    start_run(editor, "3,4GptRun! MarkdownLinter")
    assert wait_done(editor)["status"] == "preview"
    (scratch,) = results(editor)
    buffer.api.set_lines(0, 1, True, ["# Edited above"])  # above the result's lines and below them
    buffer.append("added below")
    take_all(editor, scratch)
    assert buffer[:] == ["# Edited above", "", "the first line", "the second line", *LINES[4:], "added below"]


def test_a_takes_nothing_once_the_result_lines_were_edited_and_x_still_works(editor: Any) -> None:
    buffer = editor.current.buffer
    start_run(editor, "3,4GptRun! MarkdownLinter")
    assert wait_done(editor)["status"] == "preview"
    (scratch,) = results(editor)
    buffer.api.set_lines(2, 3, True, ["my own first line"])
    take_all(editor, scratch)
    assert buffer[:] == [*LINES[:2], "my own first line", *LINES[3:]] and results(editor) == [scratch]
    assert "you edited the lines the result changes; nothing taken" in editor.api.exec("messages", True)
    editor.command("normal! gg]c")
    editor.input("x")  # hunk by hunk, as the diff shows it now
    editor.command("echo")
    assert buffer[2:4] == ["the first line", "the second line"]
    take_all(editor, scratch)  # what x took is no edit of the user's: nothing left to refuse
    assert results(editor) == [] and buffer[:] == [*LINES[:2], "the first line", "the second line", *LINES[4:]]


def test_the_diff_keys_on_a_buffer_not_modifiable_say_so(editor: Any) -> None:
    buffer = editor.current.buffer
    editor.command("setlocal nomodifiable")
    start_run(editor, "3,4GptRun! MarkdownLinter")
    assert wait_done(editor)["status"] == "preview"
    (scratch,) = results(editor)
    take_all(editor, scratch)  # was: E5108 Lua error, "Buffer is not 'modifiable'" with a traceback
    editor.input("x")
    editor.command("echo")
    said = editor.api.exec("messages", True)
    assert "the buffer is not 'modifiable'; nothing taken" in said and "E5108" not in said, said
    assert buffer[:] == LINES and results(editor) == [scratch]


def test_a_writer_opening_elsewhere_runs_on_a_buffer_not_modifiable(editor: Any) -> None:
    buffer = editor.current.buffer
    editor.command("let g:gpt_tools_writer_target = 'popup' | setlocal nomodifiable")
    start_run(editor, "3,4GptRun Summarizer")  # was refused: only --target popup was looked at
    done = wait_done(editor)
    assert done["status"] == "ok" and "in a popup" in done["message"], done
    assert editor.current.buffer[:] == ["the first line", "the second line"] and buffer[:] == LINES


def test_the_diff_split_drops_with_d_and_takes_a_hunk_with_x(editor: Any, api: FakeOpenAI) -> None:
    buffer, scratch = diff_split(editor, api)
    editor.api.set_current_win(editor.funcs.bufwinid(scratch.number))
    editor.command("normal! gg")
    editor.command("normal! ]c")  # the first hunk: the two fixed lines
    editor.input("x")
    editor.command("echo")
    assert buffer[2:4] == ["the first line", "the second line"] and buffer[-1] == "mine"
    editor.api.set_current_win(editor.funcs.bufwinid(scratch.number))
    editor.input("d")
    editor.command("echo")
    assert results(editor) == [] and buffer[-1] == "mine"


def test_the_preview_of_a_writer_shows_the_append_in_the_diff(editor: Any) -> None:
    buffer = editor.current.buffer
    start_run(editor, "3GptRun! Summarizer")
    assert wait_done(editor)["status"] == "preview"
    (scratch,) = results(editor)
    assert scratch[:] == [*LINES[:3], "", "the first line", *LINES[3:]] and buffer[:] == LINES


def test_a_popup_waits_until_insert_mode_ends_so_it_takes_no_keys(editor: Any, api: FakeOpenAI) -> None:
    opened = gate(api)
    buffer = editor.current.buffer
    start_run(editor, "3,4GptRun Summarizer --target popup")
    wait_requests(api)
    editor.input("GA")
    wait_for("Insert mode", lambda: editor.api.get_mode()["mode"] == "i" or None)
    opened.set()
    wait_for("the result held back", lambda: "leave insert mode" in str(editor.vars.get("gpt_tools_status")) or None)
    assert len(editor.windows) == 1
    editor.input(" typed<Esc>")
    assert wait_done(editor)["status"] == "ok"
    assert buffer[-1] == "the end typed"  # the typing went where the user typed it
    assert editor.current.buffer[:] == ["the first line", "the second line"] and len(editor.windows) == 2


def test_a_result_that_cannot_be_shown_ends_the_run_and_frees_the_buffer(editor: Any) -> None:
    buffer = editor.current.buffer
    editor.command("autocmd WinNew * ++once throw 'a broken autocommand of the user'")
    start_run(editor, "3,4GptRun! MarkdownLinter")  # the diff split cannot open
    done = wait_done(editor)  # was: no end at all, and every later :GptRun "is still running"
    assert done["status"] == "error" and "the buffer was left unchanged" in done["message"], done
    start_run(editor, "3,4GptRun MarkdownLinter")
    assert wait_done(editor)["status"] == "ok" and buffer[2:4] == ["the first line", "the second line"]


@pytest.mark.parametrize(("command", "status"), [(" Summarizer --target split", "ok"), ("! MarkdownLinter", "preview")])
def test_a_window_result_waits_for_the_command_line_window_to_close(
    editor: Any, api: FakeOpenAI, command: str, status: str
) -> None:
    buffer = editor.current.buffer
    opened = gate(api)
    start_run(editor, f"3,4GptRun{command}")
    wait_requests(api)
    editor.input("q:")  # no other window may open (E11) while it is open
    wait_for("the command-line window", lambda: editor.funcs.getcmdwintype() == ":" or None)
    opened.set()
    wait_for("the result held back", lambda: editor.vars["gpt_tools_pending"] == 0 or None)
    assert editor.vars.get("gpt_tools_last") is None  # was: an E11 error, the result lost
    editor.input("<C-c><C-c>")
    done = wait_done(editor)
    assert done["status"] == status, done
    (shown,) = results(editor)
    assert "the first line" in shown[:] and buffer[:] == LINES
