"""`:GptFilter` as a job (Vim with +job), through a real, headless Vim: Vim stays usable while it runs,
the result lands only on success and only on the text it was run on, in one undo step, and
`:GptFilterCancel` stops it cleanly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_LINES as LINES
from tests.conftest import log_file, write_config
from tests.fake_openai import FakeOpenAI, Scripted
from tests.vim_helpers import run_vim


def _has_job() -> bool:
    check = ["vim", "-Es", "-u", "NONE", "-c", "if !has('job') | cquit | endif", "-c", "qa!"]
    return subprocess.run(check, check=False).returncode == 0


pytestmark = [
    pytest.mark.skipif(shutil.which("vim") is None and not os.environ.get("CI"), reason="vim not installed"),
    pytest.mark.skipif(shutil.which("vim") is not None and not _has_job(), reason="this Vim has no +job"),
]

FIXED = [line.replace("teh", "the") for line in LINES]


def _until_in_vim(condition: str, seconds: int = 30) -> str:
    """Vim script that sleeps (callbacks run meanwhile) until condition holds or seconds pass."""
    return f"let s:n = 0 | while !({condition}) && s:n < {seconds * 50} | sleep 20m | let s:n += 1 | endwhile"


def test_the_result_replaces_the_range_after_vim_went_on(api: FakeOpenAI, document: Path) -> None:
    done = run_vim(
        document,
        "3,4GptFilter MarkdownLinter",
        # The command returned at once: these run before the result is in.
        "let g:seen = [getline(3), g:gpt_tools_status, gpt_tools#job#state(bufnr('%'))]",
        wait=True,
    )
    assert done.last["status"] == "ok" and done.errmsg == ""
    assert document.read_text().splitlines() == [*LINES[:2], "the first line", "the second line", *LINES[4:]]
    assert "2 line(s) changed" in done.last["message"] and "GptFilter MarkdownLinter: 2 line(s)" in done.messages
    whole = run_vim(document, "GptFilter MarkdownLinter", wait=True)  # 6 lines sent, 2 of them still 'teh'
    assert "2 line(s) changed" in whole.last["message"]
    assert done.status == ""  # the progress is gone once the run is


def test_vim_is_free_and_shows_progress_while_it_waits(api: FakeOpenAI, document: Path) -> None:
    out = document.with_name("seen.json")
    done = run_vim(
        document,
        "GptFilter MarkdownLinter",
        "let g:seen = [getline(3), g:gpt_tools_status, gpt_tools#job#state(bufnr('%'))]",
        f"call writefile([json_encode(g:seen)], {json.dumps(str(out))})",
        wait=True,
    )
    line, status, state = json.loads(out.read_text())
    assert line == LINES[2] and state == "running"  # the buffer untouched while the job works
    assert status == "GptFilter MarkdownLinter on notes.md: 0 s"
    assert done.last["status"] == "ok" and done.lines == FIXED


def test_a_retry_is_shown_in_the_progress(api: FakeOpenAI, document: Path) -> None:
    api.script(Scripted(fault="500"), Scripted(delay=4))
    out = document.with_name("seen.json")
    done = run_vim(
        document,
        "GptFilter MarkdownLinter",
        _until_in_vim("g:gpt_tools_status =~# 'retrying' || !empty(g:gpt_tools_last)"),
        f"call writefile([g:gpt_tools_status], {json.dumps(str(out))})",
        wait=True,
    )
    assert "HTTP 500" in out.read_text() and "retrying in" in out.read_text()
    assert done.last["status"] == "ok" and done.lines == FIXED


def test_one_undo_brings_the_text_back_and_keeps_the_edit_made_before(api: FakeOpenAI, document: Path) -> None:
    done = run_vim(document, "normal! Goadded", "GptFilter MarkdownLinter", wait=True)
    assert done.last["status"] == "ok" and done.lines == [*FIXED, "added"]
    document.write_text("\n".join(LINES) + "\n")
    undone = run_vim(document, "normal! Goadded", "GptFilter MarkdownLinter", *_wait_then("undo"))
    assert undone.lines == [*LINES, "added"]


def _wait_then(*commands: str) -> list[str]:
    return [_until_in_vim("!empty(g:gpt_tools_last)"), *commands]


def test_an_edit_made_while_waiting_is_never_overwritten(api: FakeOpenAI, document: Path) -> None:
    done = run_vim(document, "GptFilter MarkdownLinter", "1s/Notes/My notes/", *_wait_then())
    assert done.last["status"] == "conflict" and "changed meanwhile" in done.last["message"]
    assert document.read_text().splitlines() == ["# My notes", *LINES[1:]]  # the user's edit, nothing else
    # The result, made on the buffer as it is (the user's edit in it), diffed in a split; the cursor stays.
    assert done.windows == 2 and done.other == ["# My notes", *FIXED[1:]]


def test_an_edit_undone_before_the_result_counts_as_no_edit(api: FakeOpenAI, document: Path) -> None:
    done = run_vim(document, "GptFilter MarkdownLinter", "1s/Notes/My notes/", "undo", *_wait_then())
    assert done.last["status"] == "ok" and done.windows == 1
    assert document.read_text().splitlines() == FIXED


def test_a_buffer_left_meanwhile_still_gets_its_result_in_one_undo_step(api: FakeOpenAI, document: Path) -> None:
    other = document.with_name("other.md")
    done = run_vim(document, "set hidden", "GptFilter MarkdownLinter", f"edit {other}", *_wait_then())
    assert done.last["status"] == "ok" and done.last["buffer"] == 1
    assert document.read_text().splitlines() == FIXED and not other.exists()
    document.write_text("\n".join(LINES) + "\n")
    commands = ["set hidden", "normal! Goadded", "GptFilter MarkdownLinter", f"edit {other}"]
    undone = run_vim(document, *commands, *_wait_then("buffer 1", "undo"))
    assert undone.lines == [*LINES, "added"]


def test_a_buffer_wiped_meanwhile_gets_its_result_in_a_split(api: FakeOpenAI, document: Path) -> None:
    done = run_vim(document, "GptFilter MarkdownLinter", "enew", "bwipeout! 1", *_wait_then())
    assert done.last["status"] == "conflict" and "closed meanwhile" in done.last["message"]
    assert done.lines == [""] and done.windows == 2 and done.other == FIXED  # the cursor stays where it was


def test_a_failure_leaves_the_text_and_says_why(api: FakeOpenAI, document: Path) -> None:
    write_config(Path.cwd(), "max_retries = 0\n")
    api.default_fault = "500"
    before = document.read_bytes()
    done = run_vim(document, "GptFilter MarkdownLinter", wait=True)
    assert done.last["status"] == "error" and "HTTP 500" in done.last["message"]
    assert done.last["message"].startswith("GptFilter MarkdownLinter: HTTP 500")
    assert "HTTP 500" in done.messages and document.read_bytes() == before


def _until(condition: Callable[[], object], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_cancel_stops_the_filter_and_keeps_the_text(api: FakeOpenAI, document: Path) -> None:
    api.script(Scripted(delay=30))
    before = document.read_bytes()
    flag, log = document.with_name("request-arrived"), json.dumps(str(log_file()))
    # Vim cancels once the request is at the server: the filter is then waiting on it, as a user sees it.

    def arrived() -> None:
        _until(api.model_requests)
        flag.touch()

    threading.Thread(target=arrived, daemon=True).start()
    stopped = f"filereadable({log}) && match(readfile({log}), 'stopped by SIGTERM') >= 0"
    done = run_vim(
        document,
        "GptFilter MarkdownLinter",
        _until_in_vim(f"filereadable({json.dumps(str(flag))})"),
        "GptFilterCancel",
        _until_in_vim(stopped),  # the filter itself got SIGTERM and ended, while Vim still ran
        f"let g:gpt_tools_last.stopped = {stopped}",
    )
    assert done.last["status"] == "cancelled" and done.last["stopped"] == 1
    assert "GptFilter MarkdownLinter: cancelled; the text was left as it was" in done.messages
    assert done.status == "" and document.read_bytes() == before


def test_cancel_with_nothing_running_says_so(api: FakeOpenAI, document: Path) -> None:
    done = run_vim(document, "GptFilterCancel")
    assert "nothing is running" in done.messages and done.errmsg == ""


def test_a_second_run_in_the_same_buffer_is_refused(api: FakeOpenAI, document: Path) -> None:
    done = run_vim(document, "GptFilter MarkdownLinter", "GptFilter MarkdownLinter", wait=True)
    assert "already running" in done.errmsg
    assert done.last["status"] == "ok" and done.lines == FIXED and len(api.model_requests()) == 1


# --- The keys of the split a result that could not be applied opens in. ---

EDITED = ["# My notes", *LINES[1:]]


def _conflict(*keys: str) -> list[str]:
    return ["GptFilter MarkdownLinter", "1s/Notes/My notes/", *_wait_then("wincmd j", *keys)]


def test_a_in_the_split_keeps_the_edit_made_while_it_ran(api: FakeOpenAI, document: Path) -> None:
    api.script(Scripted(delay=1))  # the edit is in before the result arrives
    done = run_vim(document, *_conflict("let g:gpt_tools_last.split = getline(1, '$')", "normal a"))
    # The split shows the result on the buffer as it is: only the result's own changes differ.
    assert done.last["split"] == ["# My notes", *FIXED[1:]]
    assert done.windows == 1 and done.lines == ["# My notes", *FIXED[1:]]  # a took 'teh' fixes, not '# Notes'
    assert "the result was taken, your other edits kept; u undoes it" in done.messages
    document.write_text("\n".join(LINES) + "\n")
    undone = run_vim(document, *_conflict("normal a", "undo"))
    assert undone.lines == EDITED  # one undo step, back to the user's edit


def test_a_keeps_edits_above_and_below_made_while_it_ran_and_after_the_split_opened(
    api: FakeOpenAI, document: Path
) -> None:
    done = run_vim(
        document,
        "GptFilter MarkdownLinter",
        "1s/Notes/My notes/",
        "normal! Goadded while it ran",
        *_wait_then("2s/^/typed after it opened/", "wincmd j", "normal a"),
    )
    assert done.last["status"] == "conflict" and done.windows == 1
    assert done.lines == ["# My notes", "typed after it opened", *FIXED[2:], "added while it ran"]


def test_a_takes_nothing_when_the_result_s_own_lines_were_edited(api: FakeOpenAI, document: Path) -> None:
    done = run_vim(document, "GptFilter MarkdownLinter", "3s/first/1st/", *_wait_then("wincmd j", "normal a"))
    assert "you edited the lines the result changes; nothing was taken" in done.messages
    assert done.windows == 2 and done.other == ["# Notes", "", "teh 1st line", *LINES[3:]]  # the buffer as edited
    document.write_text("\n".join(LINES) + "\n")
    hunk = run_vim(document, "GptFilter MarkdownLinter", "3s/first/1st/", *_wait_then("wincmd j", "3", "normal x"))
    assert hunk.other == FIXED  # x still takes the hunk under the cursor (the user chose to)


def test_a_takes_nothing_when_edits_are_too_many_to_tell_apart(api: FakeOpenAI, document: Path) -> None:
    # 51 lines changed above the result's: 102 lines removed and added, past the 100 the help names.
    document.write_text("".join(f"line {n}\n" for n in range(60)) + "\n".join(LINES) + "\n")
    edit = "1,51s/^/edited /"
    done = run_vim(document, "GptFilter MarkdownLinter", edit, *_wait_then("wincmd j", "normal a"))
    assert "you edited too many lines to tell them from the result's; nothing was taken" in done.messages
    assert done.windows == 2 and done.other[0] == "edited line 0" and done.other[-1] == LINES[-1]
    fewer = run_vim(document, "GptFilter MarkdownLinter", "1,50s/^/again /", *_wait_then("wincmd j", "normal a"))
    assert fewer.windows == 1 and fewer.lines[0] == "again edited line 0" and fewer.lines[-1] == FIXED[-1]


def test_a_after_x_takes_the_rest_of_the_result(api: FakeOpenAI, document: Path) -> None:
    apart = ["# Notes", "teh first line", "plain", "plain too", "also plain", "last teh line"]
    document.write_text("\n".join(apart) + "\n")
    fixed = [line.replace("teh", "the") for line in apart]
    done = run_vim(
        document, "GptFilter MarkdownLinter", "1s/Notes/My notes/", *_wait_then("wincmd j", "2", "normal x", "normal a")
    )
    # The hunk x put is not taken for an edit of the user's: a takes the other one.
    assert done.windows == 1 and done.lines == ["# My notes", *fixed[1:]]
    document.write_text("\n".join(apart) + "\n")
    taken = run_vim(document, "GptFilter MarkdownLinter", "1s/Notes/My notes/", *_wait_then("wincmd j", "normal a"))
    assert taken.lines == ["# My notes", *fixed[1:]]


@pytest.mark.parametrize("key", ["d", "q"])
def test_d_or_q_in_the_split_drops_the_result(api: FakeOpenAI, document: Path, key: str) -> None:
    done = run_vim(document, *_conflict(f"normal {key}", "let g:gpt_tools_last.diff = &diff"))
    assert done.windows == 1 and done.lines == EDITED and done.last["diff"] == 0
    assert "the result was dropped" in done.messages


def test_x_in_the_split_takes_the_hunk_under_the_cursor(api: FakeOpenAI, document: Path) -> None:
    done = run_vim(document, *_conflict("3", "normal x", "wincmd k"))
    assert done.lines == ["# My notes", *FIXED[1:]]  # the user's edit stays; the fixes below are taken


def test_a_in_the_split_of_a_closed_buffer_says_it_is_gone(api: FakeOpenAI, document: Path) -> None:
    done = run_vim(document, "GptFilter MarkdownLinter", "enew", "bwipeout! 1", *_wait_then("wincmd j", "normal a"))
    assert "the buffer is gone; nothing was taken" in done.messages and done.windows == 2


# --- Temp files, and results that cannot go in where they belong. ---


def test_the_temp_files_are_private_and_gone_afterwards(api: FakeOpenAI, document: Path) -> None:
    api.script(Scripted(delay=2))
    out = document.with_name("seen.json")
    listing = "map(glob(s:dir . '/*', 0, 1), 'getfperm(v:val)')"
    run_vim(
        document,
        "let s:dir = fnamemodify(tempname(), ':h')",
        "GptFilter MarkdownLinter",
        "let g:seen = {'dir': getfperm(s:dir), 'during': " + listing + "}",
        _until_in_vim("!empty(g:gpt_tools_last)"),
        "let g:seen.after = " + listing,
        f"call writefile([json_encode(g:seen)], {json.dumps(str(out))})",
    )
    seen = json.loads(out.read_text())
    # the text, the result and the messages: none readable by others, even if the folder were
    assert seen == {"dir": "rwx------", "during": ["rw-------"] * 3, "after": []}


def test_a_temp_file_that_cannot_be_made_runs_nothing(api: FakeOpenAI, document: Path) -> None:
    # The next tempname() taken by a folder: writefile() fails, and :silent! lets a failure go on.
    before = document.read_bytes()
    block = "let s:t = tempname() | call mkdir(fnamemodify(s:t, ':h') . '/' . (str2nr(fnamemodify(s:t, ':t')) + 1))"
    done = run_vim(
        document, block, "silent! GptFilter MarkdownLinter", "let g:gpt_tools_last.state = gpt_tools#job#state(1)"
    )
    assert "private temp file" in done.errmsg and "nothing was run" in done.errmsg
    assert done.last == {"state": ""} and document.read_bytes() == before and api.model_requests() == []


def test_a_buffer_made_unmodifiable_meanwhile_gets_its_result_in_a_split(api: FakeOpenAI, document: Path) -> None:
    done = run_vim(document, "GptFilter MarkdownLinter", "setlocal nomodifiable", *_wait_then())
    assert done.last["status"] == "conflict" and "'modifiable' is off" in done.last["message"]
    assert done.errmsg == "" and done.lines == LINES and done.windows == 2 and done.other == FIXED
    taken = run_vim(document, "GptFilter MarkdownLinter", "setlocal nomodifiable", *_wait_then("wincmd j", "normal a"))
    assert "'modifiable' is off); nothing was taken" in taken.messages and taken.windows == 2
    hunk = run_vim(
        document, "GptFilter MarkdownLinter", "setlocal nomodifiable", *_wait_then("wincmd j", "3", "normal x")
    )
    assert "'modifiable' is off); nothing was taken" in hunk.messages and "E793" not in hunk.messages


def test_a_result_with_no_room_for_a_split_opens_in_a_tab(api: FakeOpenAI, document: Path) -> None:
    fill = "set lines=10 | while 1 | try | new | catch | break | endtry | endwhile | wincmd b"
    done = run_vim(
        document, "GptFilter MarkdownLinter", "1s/Notes/My notes/", fill,
        *_wait_then("let g:gpt_tools_last.tab = [tabpagenr('$'), getbufline(tabpagebuflist(2)[0], 1, '$')]"),
    )  # fmt: skip
    assert done.last["status"] == "conflict" and done.last["tab"] == [2, ["# My notes", *FIXED[1:]]]
    assert done.errmsg == ""


def test_the_status_holds_no_control_character(api: FakeOpenAI, tmp_path: Path) -> None:
    # A file name is anyone's (a cloned repository's): in a 'titlestring' it reached the terminal raw.
    named = tmp_path / "a\x1b]2;title\x07.md"
    named.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    out = tmp_path / "status.json"
    run_vim(
        named, "GptFilter MarkdownLinter", f"call writefile([json_encode(g:gpt_tools_status)], {json.dumps(str(out))})"
    )
    status = json.loads(out.read_text())
    assert status.startswith("GptFilter MarkdownLinter on a^[]2;title^G.md: ") and "\x1b" not in status
