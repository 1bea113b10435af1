"""The Neovim remote plugin (editor/rplugin/python3/gpt_tools_nvim) in a real, headless Neovim.

Each test starts Neovim with the plugin registered in a temporary manifest and the fake OpenAI server
wired in through the environment, which Neovim's Python host inherits. Waits are on the plugin's own
signals (g:gpt_tools_last, g:gpt_tools_pending) and on the fake server's request log, never on sleeps.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_config
from tests.fake_openai import FakeOpenAI
from tests.nvim_helpers import (
    NVIM,
    gate,
    pynvim,
    start_run,
    wait_done,
    wait_for,
    wait_idle,
    wait_requests,
)

pytestmark = pytest.mark.skipif(
    (NVIM is None or pynvim is None) and not os.environ.get("CI"), reason="nvim or pynvim not installed"
)

LINES = ["# Notes", "", "teh first line", "teh second line", "teh third line", "last teh line  ", "\tteh tab"]
FIXED = [line.replace("teh", "the") for line in LINES]


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "notes.md"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def edit(nvim: Any, path: Path) -> Any:
    nvim.command(f"edit {path}")
    return nvim.current.buffer


def test_whole_buffer_is_fixed_and_one_undo_restores_it(nvim: Any, document: Path) -> None:
    buffer = edit(nvim, document)
    start_run(nvim, "GptRun MarkdownLinter")
    done = wait_done(nvim)
    assert done["status"] == "ok", done
    assert done["buffer"] == buffer.number and done["output_tokens"] > 0
    assert buffer[:] == FIXED
    nvim.command("normal! u")
    assert buffer[:] == LINES
    nvim.command("normal! u")  # nothing older to undo: the run was one step on top of the file
    assert buffer[:] == LINES and nvim.funcs.undotree()["seq_cur"] == 0


def test_range_fixes_only_its_lines(api: FakeOpenAI, nvim: Any, document: Path) -> None:
    buffer = edit(nvim, document)
    start_run(nvim, "3,4GptRun MarkdownLinter")
    assert wait_done(nvim)["status"] == "ok"
    assert buffer[:] == [*LINES[:2], "the first line", "the second line", *LINES[4:]]
    assert api.model_requests()[0].body["input"][0]["content"][0]["text"] == "teh first line\nteh second line\n"
    nvim.command("normal! u")
    assert buffer[:] == LINES


def test_crlf_file_keeps_its_line_endings(nvim: Any, tmp_path: Path) -> None:
    path = tmp_path / "dos.md"
    path.write_bytes(b"keep teh\r\nteh middle\r\nend\r\n")
    buffer = edit(nvim, path)
    assert nvim.eval("&fileformat") == "dos"
    start_run(nvim, "2GptRun MarkdownLinter")
    assert wait_done(nvim)["status"] == "ok"
    assert buffer[:] == ["keep teh", "the middle", "end"]
    nvim.command("write")
    assert path.read_bytes() == b"keep teh\r\nthe middle\r\nend\r\n"


def test_failing_server_leaves_buffer_unchanged_and_shows_the_error(api: FakeOpenAI, nvim: Any, document: Path) -> None:
    api.default_fault = "500"
    buffer = edit(nvim, document)
    tick = buffer.api.get_changedtick()
    start_run(nvim, "GptRun MarkdownLinter")
    done = wait_done(nvim)
    assert done["status"] == "error" and "HTTP 500" in done["message"]
    assert buffer[:] == LINES and buffer.api.get_changedtick() == tick
    assert "HTTP 500" in nvim.api.exec("messages", True)


def test_unknown_assistant_sends_nothing_and_names_the_known_ones(api: FakeOpenAI, nvim: Any, document: Path) -> None:
    buffer = edit(nvim, document)
    start_run(nvim, "GptRun MarkdwonLinter")
    done = wait_done(nvim)
    assert done["status"] == "error" and "Did you mean 'MarkdownLinter'" in done["message"]
    assert buffer[:] == LINES and api.model_requests() == []


def test_command_returns_while_the_server_is_still_sleeping(api: FakeOpenAI, nvim: Any, document: Path) -> None:
    opened = gate(api)
    buffer = edit(nvim, document)
    started = time.monotonic()
    start_run(nvim, "GptRun MarkdownLinter")
    returned = time.monotonic() - started
    wait_requests(api)
    assert not opened.is_set() and returned < 10  # the gate holds the reply for 20 s
    assert nvim.vars.get("gpt_tools_last") is None and nvim.vars["gpt_tools_pending"] == 1
    nvim.command("normal! Gotyped meanwhile")  # the editor takes input while the request is out
    nvim.command("normal! u")
    opened.set()
    assert wait_done(nvim)["status"] == "ok"
    assert buffer[:] == FIXED


def test_edit_during_the_run_is_kept_and_the_result_offered(api: FakeOpenAI, nvim: Any, document: Path) -> None:
    opened = gate(api)
    buffer = edit(nvim, document)
    start_run(nvim, "GptRun MarkdownLinter")
    wait_requests(api)
    nvim.command("normal! ggOmy own edit")
    mine = buffer[:]
    opened.set()
    done = wait_done(nvim)
    assert done["status"] == "conflict" and "nothing was overwritten" in done["message"]
    assert buffer[:] == mine == ["my own edit", *LINES]
    scratch = [b for b in nvim.buffers if b.name.startswith("gpt-tools://")]
    assert len(scratch) == 1 and scratch[0][:] == ["my own edit", *FIXED]  # the user's edit is no hunk of it
    assert nvim.current.buffer.number == buffer.number  # the cursor stays where the user was
    assert nvim.funcs.getwinvar(nvim.funcs.bufwinid(scratch[0].number), "&diff") == 1


def test_cancel_stops_a_slow_run_and_leaves_the_buffer_alone(api: FakeOpenAI, nvim: Any, document: Path) -> None:
    opened = gate(api)
    buffer = edit(nvim, document)
    tick = buffer.api.get_changedtick()
    start_run(nvim, "GptRun MarkdownLinter")
    wait_requests(api)
    nvim.command("GptCancel")
    done = wait_done(nvim, timeout=5)
    assert done["status"] == "cancelled" and not opened.is_set()  # at once, while the server sleeps
    opened.set()
    wait_idle(nvim)  # the worker has seen the reply (or the cancel) and ended
    assert buffer[:] == LINES and buffer.api.get_changedtick() == tick
    assert nvim.vars["gpt_tools_last"]["status"] == "cancelled"


def test_result_goes_to_its_buffer_after_the_user_moved_on(api: FakeOpenAI, nvim: Any, document: Path) -> None:
    opened = gate(api)
    original = edit(nvim, document)
    start_run(nvim, "3GptRun MarkdownLinter")
    wait_requests(api)
    other_path = document.with_name("other.md")
    other_path.write_text("teh other file\n", encoding="utf-8")
    nvim.command(f"split {other_path}")
    other = nvim.current.buffer
    opened.set()
    assert wait_done(nvim)["buffer"] == original.number
    assert original[:] == [*LINES[:2], "the first line", *LINES[3:]]
    assert other[:] == ["teh other file"] and nvim.current.buffer.number == other.number
    nvim.command("wincmd p")
    nvim.command("normal! u")
    assert original[:] == LINES


def test_bang_previews_the_result_in_a_diff(nvim: Any, document: Path) -> None:
    buffer = edit(nvim, document)
    tick = buffer.api.get_changedtick()
    start_run(nvim, "2,3GptRun! MarkdownLinter")
    assert wait_done(nvim)["status"] == "preview"
    assert buffer[:] == LINES and buffer.api.get_changedtick() == tick
    scratch = next(b for b in nvim.buffers if b.name.startswith("gpt-tools://"))
    assert scratch[:] == [*LINES[:2], "the first line", *LINES[3:]]
    assert nvim.current.window.options["diff"] is True


def test_assistant_names_complete_from_the_project_config(nvim: Any) -> None:
    write_config(Path.cwd(), 'max_retries = 0\n[assistants.StyleGuide]\ninstructions = "House style."\n')
    assert nvim.funcs.getcompletion("GptRun Mark", "cmdline") == ["MarkdownLinter"]
    assert nvim.funcs.getcompletion("GptRun st", "cmdline") == ["StyleGuide"]
    listing = nvim.api.exec("GptList", True)
    assert "StyleGuide" in listing and "MarkdownLinter" in listing


def test_checkhealth_reports_everything_and_never_the_key(nvim: Any) -> None:
    nvim.command("checkhealth gpt_tools")
    report = "\n".join(nvim.current.buffer[:])
    for expected in ("remote plugin registered", "assistants loaded", "API key present", "is reachable"):
        assert expected in report, report
    assert "ERROR" not in report and os.environ["OPENAI_API_KEY"] not in report


def test_cancel_without_a_run_only_says_so(nvim: Any, document: Path) -> None:
    edit(nvim, document)
    nvim.command("GptCancel")
    assert "no GptRun in flight" in nvim.api.exec("messages", True)


def test_binary_range_is_refused_before_anything_is_sent(api: FakeOpenAI, nvim: Any, tmp_path: Path) -> None:
    path = tmp_path / "binary.md"
    path.write_bytes(b"teh text\nnul \x00 here\n")
    buffer = edit(nvim, path)
    before = buffer[:]
    nvim.command("unlet! g:gpt_tools_last")
    nvim.input(":GptRun MarkdownLinter\r")  # typed, as a user would: the message is displayed
    done = wait_done(nvim)
    assert done["status"] == "error" and "line 2 holds a NUL byte" in done["message"]
    assert "line 2 holds a NUL byte" in nvim.api.exec("messages", True)
    assert buffer[:] == before and api.model_requests() == [] and nvim.vars.get("gpt_tools_pending", 0) == 0


def test_result_for_a_wiped_buffer_opens_in_a_scratch_split(api: FakeOpenAI, nvim: Any, document: Path) -> None:
    opened = gate(api)
    edit(nvim, document)
    start_run(nvim, "GptRun MarkdownLinter")
    wait_requests(api)
    nvim.command("enew | bwipeout! #")
    opened.set()
    assert wait_done(nvim)["status"] == "conflict"
    scratch = [b for b in nvim.buffers if b.name.startswith("gpt-tools://")]
    assert len(scratch) == 1 and scratch[0][:] == FIXED
    assert document.read_text(encoding="utf-8").splitlines() == LINES


def test_progress_names_the_assistant_and_the_elapsed_seconds(api: FakeOpenAI, nvim: Any, document: Path) -> None:
    opened = gate(api)
    edit(nvim, document)
    start_run(nvim, "GptRun MarkdownLinter")

    def ticked() -> str | None:
        status = str(nvim.vars.get("gpt_tools_status", ""))
        return status if status.endswith(": 1 s") else None

    assert wait_for("a progress tick", ticked) == "GptRun MarkdownLinter on notes.md: 1 s"
    opened.set()
    assert wait_done(nvim)["status"] == "ok"
    assert nvim.vars["gpt_tools_status"] == ""


def test_unmodifiable_buffer_is_refused_but_can_be_previewed(api: FakeOpenAI, nvim: Any, document: Path) -> None:
    buffer = edit(nvim, document)
    nvim.command("setlocal nomodifiable")
    start_run(nvim, "GptRun MarkdownLinter")
    assert "not 'modifiable'" in wait_done(nvim)["message"] and api.model_requests() == []
    start_run(nvim, "GptRun! MarkdownLinter")
    assert wait_done(nvim)["status"] == "preview" and buffer[:] == LINES


def enter_insert_mode(nvim: Any, keys: str) -> None:
    """Type keys that leave the user in Insert mode, as a user would, and wait until Neovim is there."""
    nvim.input(keys)
    wait_for("Insert mode", lambda: nvim.api.get_mode()["mode"] == "i" or None)


def wait_held_back(nvim: Any) -> str:
    """Until the result has arrived and waits for the end of Insert mode (g:gpt_tools_status says so)."""

    def held() -> str | None:
        status = str(nvim.vars.get("gpt_tools_status", ""))
        return status if status.endswith("result ready; applies when you leave insert mode") else None

    return wait_for("the result to be held back", held)


def held_back(nvim: Any) -> int:
    """How many results wait for InsertLeave (the plugin's one-shot autocommands)."""
    return len(nvim.api.get_autocmds({"group": "gpt_tools_deferred", "event": "InsertLeave"}))


def arrive_in_insert_mode(api: FakeOpenAI, nvim: Any, document: Path, before: str = "") -> Any:
    """A run whose result arrives while the user is in Insert mode at the end of the buffer."""
    opened = gate(api)
    buffer = edit(nvim, document)
    if before:
        nvim.command(before)
    start_run(nvim, "GptRun MarkdownLinter")
    wait_requests(api)
    enter_insert_mode(nvim, "GA")
    opened.set()
    wait_held_back(nvim)
    wait_idle(nvim)
    return buffer


def test_result_arriving_in_insert_mode_applies_on_leaving_as_its_own_undo_step(
    api: FakeOpenAI, nvim: Any, document: Path
) -> None:
    buffer = arrive_in_insert_mode(api, nvim, document, before="normal! ggOmine")  # an edit of the user's
    assert buffer[:] == ["mine", *LINES] and nvim.vars.get("gpt_tools_last") is None  # not applied yet
    assert held_back(nvim) == 1
    nvim.input("<Esc>")
    done = wait_done(nvim)
    assert done["status"] == "ok" and "5 line(s) changed," in done["message"], done
    assert buffer[:] == ["mine", *FIXED] and nvim.vars["gpt_tools_status"] == ""
    assert nvim.api.get_mode()["mode"] == "n" and held_back(nvim) == 0
    nvim.command("undo")  # the result alone
    assert buffer[:] == ["mine", *LINES]
    nvim.command("undo")  # then the user's own edit, still one step of its own
    assert buffer[:] == LINES and nvim.funcs.undotree()["seq_cur"] == 0


def test_typing_while_the_result_is_held_back_wins_and_the_result_is_offered(
    api: FakeOpenAI, nvim: Any, document: Path
) -> None:
    buffer = arrive_in_insert_mode(api, nvim, document)
    nvim.input("typed<Esc>")
    done = wait_done(nvim)
    assert done["status"] == "conflict" and "nothing was overwritten" in done["message"], done
    assert buffer[:] == [*LINES[:-1], LINES[-1] + "typed"]
    scratch = [b for b in nvim.buffers if b.name.startswith("gpt-tools://")]
    assert len(scratch) == 1 and scratch[0][:] == FIXED
    assert nvim.current.buffer.number == buffer.number
    nvim.command("undo")  # the typing alone
    assert buffer[:] == LINES and nvim.funcs.undotree()["seq_cur"] == 0


def test_cancel_drops_a_result_held_back_for_insert_mode(api: FakeOpenAI, nvim: Any, document: Path) -> None:
    buffer = arrive_in_insert_mode(api, nvim, document)
    tick = buffer.api.get_changedtick()
    nvim.command("GptCancel")  # as from an Insert-mode mapping: <Cmd>GptCancel<CR>
    done = wait_done(nvim)
    assert done["status"] == "cancelled" and nvim.vars["gpt_tools_status"] == ""
    assert held_back(nvim) == 0  # nothing left to fire
    nvim.input("<Esc>")
    wait_for("Normal mode", lambda: nvim.api.get_mode()["mode"] == "n" or None)
    assert buffer[:] == LINES and buffer.api.get_changedtick() == tick
    start_run(nvim, "GptRun MarkdownLinter")  # the buffer is free, and the next run's result is the one applied
    done = wait_done(nvim)
    assert done["status"] == "ok" and "5 line(s) changed," in done["message"], done
    assert buffer[:] == FIXED
    nvim.command("undo")
    assert buffer[:] == LINES and nvim.funcs.undotree()["seq_cur"] == 0
