"""`:GptChat` (editor/rplugin/python3/gpt_tools_nvim/chat.py) in a real, headless Neovim.

The fake server answers with the user's text, typos fixed ("teh" -> "the"), so each reply is known in
advance. Waits are on the plugin's signals (g:gpt_tools_last, g:gpt_tools_pending), on the buffer's
contents and on the fake server's request log, always with a deadline; never on sleeps.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_program
from tests.fake_openai import FakeOpenAI, Scripted
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

CANCELLED = "> **cancelled**. This reply is not part of the conversation."


def conversation_file(conversation_id: str) -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "gpt-tools" / "conversations" / f"{conversation_id}.json"


def saved(conversation_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(conversation_file(conversation_id).read_text(encoding="utf-8"))
    return data


def open_chat(nvim: Any, command: str = "GptChat Summarizer") -> Any:
    nvim.command(command)
    buffer = nvim.current.buffer
    assert buffer.name.startswith("gpt-chat://Summarizer/conv-"), buffer.name
    return buffer


def conversation_id(buffer: Any) -> str:
    return str(buffer.name).rsplit("/", 1)[1]


def write_message(nvim: Any, text: str) -> None:
    """Type text on the prompt line (the last line) and go back to Normal mode, as a user would."""
    nvim.input(f"GA{text}<Esc>")
    wait_for("Normal mode", lambda: nvim.api.get_mode()["mode"] == "n" or None)


def send(nvim: Any) -> None:
    """<CR> in Normal mode, through the chat buffer's own mapping; returns when the mapping has."""
    nvim.command("unlet! g:gpt_tools_last")
    nvim.command('execute "normal \\<CR>"')


def chat_turn(nvim: Any, text: str) -> dict[str, Any]:
    write_message(nvim, text)
    send(nvim)
    return wait_done(nvim)


def text(buffer: Any) -> str:
    return "\n".join(buffer[:])


def messages(nvim: Any) -> str:
    return str(nvim.api.exec("messages", True))


def test_message_gets_a_reply_and_the_conversation_is_saved(nvim: Any) -> None:
    buffer = open_chat(nvim)
    assert nvim.eval("&buftype") == "nofile" and nvim.eval("&filetype") == "markdown"
    assert buffer[0].startswith("# Summarizer · conv-") and buffer[-1] == ""
    done = chat_turn(nvim, "teh first question")
    assert done["status"] == "ok" and done["output_tokens"] > 0, done
    assert done["buffer"] == buffer.number and "reply done" in done["message"]
    assert buffer[2:] == ["## You", "", "teh first question", "", "## Summarizer", "", "the first question", "", ""]
    assert tuple(nvim.current.window.cursor) == (len(buffer), 0)  # on the fresh prompt line
    talk = saved(conversation_id(buffer))
    assert [(m["role"], m["content"]) for m in talk["messages"]] == [
        ("user", "teh first question"),
        ("assistant", "the first question"),
    ]


def test_second_message_chains_on_the_first(api: FakeOpenAI, nvim: Any) -> None:
    buffer = open_chat(nvim)
    assert chat_turn(nvim, "teh one")["status"] == "ok"
    first = saved(conversation_id(buffer))["last_response_id"]
    assert chat_turn(nvim, "teh two")["status"] == "ok"
    one, two = (request.body for request in api.model_requests())
    assert "previous_response_id" not in one and two["previous_response_id"] == first
    assert len(saved(conversation_id(buffer))["messages"]) == 4
    assert text(buffer).endswith("## You\n\nteh two\n\n## Summarizer\n\nthe two\n\n")


def test_reply_streams_in_and_the_whole_turn_is_one_undo_step(api: FakeOpenAI, nvim: Any) -> None:
    api.script(Scripted(chunk_delay=0.2))  # the reply arrives in 5 deltas over a second or so
    buffer = open_chat(nvim)
    write_message(nvim, "teh alpha bravo charlie delta echo foxtrot golf hotel")
    send(nvim)
    full = "the alpha bravo charlie delta echo foxtrot golf hotel"

    def partly() -> str | None:
        shown = buffer[-3]  # the reply line, above the blank line and the prompt line
        return shown if shown.startswith("the alpha") and shown != full else None

    assert wait_for("part of the reply", partly) and nvim.vars.get("gpt_tools_last") is None
    assert wait_done(nvim)["status"] == "ok"
    assert buffer[-3:] == [full, "", ""]
    nvim.command("undo")  # the turn (headings, every streamed write, the new prompt) in one step
    assert buffer[1:] == ["", "teh alpha bravo charlie delta echo foxtrot golf hotel"]
    nvim.command("undo")  # then the user's typing
    assert buffer[1:] == ["", ""] and nvim.funcs.undotree()["seq_cur"] == 0


def test_command_returns_at_once_and_the_buffer_stays_editable(api: FakeOpenAI, nvim: Any) -> None:
    opened = gate(api)
    buffer = open_chat(nvim)
    write_message(nvim, "teh question")
    started = time.monotonic()
    send(nvim)
    returned = time.monotonic() - started
    wait_requests(api)
    assert not opened.is_set() and returned < 10  # the gate holds the reply for 20 s
    assert nvim.vars.get("gpt_tools_last") is None and nvim.vars["gpt_tools_pending"] == 1
    write_message(nvim, "teh next draft")  # the editor takes input while the reply is out
    send(nvim)  # a second <CR> while the reply is in flight only says so
    wait_for("the refusal", lambda: "a reply is still streaming" in messages(nvim) or None)
    assert api.model_requests()[1:] == []
    opened.set()
    assert wait_done(nvim)["status"] == "ok"
    assert buffer[-5:] == ["## Summarizer", "", "the question", "", "teh next draft"]  # the draft kept below
    assert len(saved(conversation_id(buffer))["messages"]) == 2


def test_cancel_stops_a_held_reply_and_does_not_advance_the_conversation(api: FakeOpenAI, nvim: Any) -> None:
    buffer = open_chat(nvim)
    assert chat_turn(nvim, "teh first")["status"] == "ok"
    before = saved(conversation_id(buffer))
    opened = gate(api)
    write_message(nvim, "teh second")
    send(nvim)
    wait_requests(api, 2)
    nvim.command("GptCancel")
    done = wait_done(nvim, timeout=5)
    assert done["status"] == "cancelled" and "not advanced" in done["message"] and not opened.is_set()
    assert CANCELLED in text(buffer)
    assert buffer[-1] == "teh second"  # the message is back on the prompt line, ready to send again
    opened.set()
    wait_idle(nvim)  # the worker has seen the reply (or the cancel) and ended
    assert saved(conversation_id(buffer)) == before and nvim.vars["gpt_tools_last"]["status"] == "cancelled"
    send(nvim)  # <CR> sends the restored message, chained on the last turn that counted
    assert wait_done(nvim)["status"] == "ok"
    assert api.model_requests()[2].body["previous_response_id"] == before["last_response_id"]
    assert [m["content"] for m in saved(conversation_id(buffer))["messages"]][2:] == ["teh second", "the second"]


def test_cancel_keeps_the_partial_reply_marked_as_cancelled(api: FakeOpenAI, nvim: Any) -> None:
    api.script(Scripted(text="alpha bravo charlie delta echo", chunk_delay=0.5))
    buffer = open_chat(nvim)
    write_message(nvim, "tell me")
    send(nvim)
    wait_for("part of the reply", lambda: buffer[-3].startswith("alpha") or None)
    nvim.command("GptCancel")
    assert wait_done(nvim, timeout=5)["status"] == "cancelled"
    note = buffer[:].index(CANCELLED + " Your message is back below: <CR> sends it again.")
    assert buffer[note - 2].startswith("alpha") and buffer[note - 2] != "alpha bravo charlie delta echo"
    assert buffer[note + 1 :] == ["", "tell me"]
    wait_idle(nvim)
    assert not conversation_file(conversation_id(buffer)).exists()


def test_multiline_reply_keeps_the_layout(api: FakeOpenAI, nvim: Any) -> None:
    api.script(Scripted(text="line one\n\nline two\n", chunk_delay=0.1))
    buffer = open_chat(nvim)
    assert chat_turn(nvim, "two lines please")["status"] == "ok"
    assert buffer[-7:] == ["## Summarizer", "", "line one", "", "line two", "", ""]
    assert tuple(nvim.current.window.cursor) == (len(buffer), 0)


def test_server_error_is_shown_and_the_message_kept(api: FakeOpenAI, nvim: Any) -> None:
    api.default_fault = "500"
    buffer = open_chat(nvim)
    done = chat_turn(nvim, "teh question")
    assert done["status"] == "error" and "HTTP 500" in done["message"], done
    assert "> **error: " in text(buffer) and "HTTP 500" in text(buffer)
    assert buffer[2:5] == ["## You", "", "teh question"] and buffer[-1] == "teh question"
    wait_for("the error message", lambda: "HTTP 500" in messages(nvim) or None)
    assert not conversation_file(conversation_id(buffer)).exists()


def test_continue_shows_the_last_conversation_of_the_project(api: FakeOpenAI, nvim: Any) -> None:
    first = run_program("gpt-tools", "run", "Summarizer", "--continue", "-t", "teh terminal question")
    assert first.returncode == 0, first.stderr
    buffer = open_chat(nvim, "GptChat! Summarizer")
    assert "continuing after 1 turn" in buffer[0]
    history = ["## You", "", "teh terminal question", "", "## Summarizer", "", "the terminal question"]
    assert buffer[2:] == [*history, "", ""]
    earlier = saved(conversation_id(buffer))["last_response_id"]
    assert chat_turn(nvim, "teh follow-up")["status"] == "ok"
    assert api.model_requests()[1].body["previous_response_id"] == earlier
    nvim.command("GptChat Summarizer")  # without ! (or --continue): a new conversation
    assert conversation_id(nvim.current.buffer) != conversation_id(buffer) and nvim.current.buffer[-1] == ""
    nvim.command(f"GptChat Summarizer --conversation {conversation_id(buffer)}")  # open already: go there
    assert nvim.current.buffer.number == buffer.number


def test_rewriting_assistants_and_bad_arguments_are_refused(api: FakeOpenAI, nvim: Any) -> None:
    start_run(nvim, "GptChat MarkdownLinter")
    done = wait_done(nvim)
    assert done["status"] == "error" and "rewrites documents" in done["message"], done
    assert not nvim.current.buffer.name and api.model_requests() == []
    start_run(nvim, "GptChat Summarizer --bogus")
    assert "unexpected '--bogus'" in wait_done(nvim)["message"]
    names = nvim.funcs.getcompletion("GptChat ", "cmdline")
    assert "Summarizer" in names and "DocWriter" in names and "MarkdownLinter" not in names


def test_reply_arriving_in_insert_mode_waits_and_stays_its_own_undo_step(api: FakeOpenAI, nvim: Any) -> None:
    opened = gate(api)
    buffer = open_chat(nvim)
    write_message(nvim, "teh question")
    send(nvim)
    wait_requests(api)
    nvim.input("Adraft")  # typing the next message on the prompt line when the reply arrives
    wait_for("Insert mode", lambda: nvim.api.get_mode()["mode"] == "i" or None)
    opened.set()
    wait_idle(nvim)
    assert "the question" not in buffer[:] and nvim.vars.get("gpt_tools_last") is None  # held back
    nvim.input("<Esc>")
    assert wait_done(nvim)["status"] == "ok"
    assert buffer[-3:] == ["the question", "", "draft"]
    nvim.command("undo")  # the reply, written after the typing, alone
    assert "the question" not in buffer[:] and buffer[-1] == "draft"
    nvim.command("undo")  # the typing alone
    assert buffer[-1] == "" and buffer[-2] == "" and "## Summarizer" in buffer[:]


def test_empty_message_sends_nothing(api: FakeOpenAI, nvim: Any) -> None:
    open_chat(nvim)
    send(nvim)
    wait_for("the notice", lambda: "nothing to send" in messages(nvim) or None)
    assert api.model_requests() == [] and nvim.vars.get("gpt_tools_pending", 0) == 0


def test_a_range_starts_a_chat_with_the_selection_in_the_message(api: FakeOpenAI, nvim: Any, tmp_path: Path) -> None:
    source = tmp_path / "notes.md"
    source.write_text("# Notes\nteh first\nteh second\nlast\n", encoding="utf-8")
    nvim.command(f"edit {source}")
    nvim.command("2,3GptChat Summarizer")  # was E481: No range allowed
    buffer = nvim.current.buffer
    assert buffer.name.startswith("gpt-chat://Summarizer/")
    block = [f"{source} lines 2-3:", "", "```markdown", "teh first", "teh second", "```"]
    assert buffer[2:] == [*block, "", ""] and tuple(nvim.current.window.cursor) == (len(buffer), 0)
    done = chat_turn(nvim, "Summarize teh above.")
    assert done["status"] == "ok", done
    sent = api.model_requests()[0].body["input"][0]["content"][0]["text"]
    assert sent == "\n".join([*block, "", "Summarize teh above."])


def test_chat_add_puts_the_buffer_or_a_file_into_the_next_message(api: FakeOpenAI, nvim: Any, tmp_path: Path) -> None:
    start_run(nvim, "GptChatAdd")
    assert "no chat is open" in wait_done(nvim)["message"]
    source = tmp_path / "draft.md"
    source.write_text("teh draft\n", encoding="utf-8")
    (Path(nvim.funcs.getcwd()) / "facts.md").write_text("a fact\n", encoding="utf-8")
    chat = open_chat(nvim)
    nvim.command(f"split {source}")
    nvim.command("GptChatAdd")  # the whole buffer, into the chat last opened; the chat is shown
    assert nvim.current.buffer.number == chat.number
    nvim.command("GptChatAdd facts.md")  # a file, relative to Neovim's folder
    assert chat[2:] == [
        f"{source}:", "", "```markdown", "teh draft", "```", "",
        "facts.md:", "", "```markdown", "a fact", "```", "", "",
    ]  # fmt: skip
    assert chat_turn(nvim, "Compare.")["status"] == "ok"
    sent = api.model_requests()[0].body["input"][0]["content"][0]["text"]
    assert "teh draft" in sent and "a fact" in sent and sent.endswith("Compare.")


def test_chat_add_refuses_what_is_not_a_text_file_and_says_why(nvim: Any, tmp_path: Path) -> None:
    folder = Path(nvim.funcs.getcwd())
    (folder / "nul.txt").write_bytes(b"a\x00b\n")
    os.mkfifo(folder / "pipe")
    (folder / "link").symlink_to(folder / "pipe")
    (folder / "dos.txt").write_bytes(b"one\r\ntwo\r\n")
    chat = open_chat(nvim)
    refused = {
        "/dev/zero": "GptChatAdd: /dev/zero: not a regular file",  # was "internal error (InputRefused: --input-files
        "link": "GptChatAdd: link: not a regular file",
        "nul.txt": "GptChatAdd: nul.txt is not UTF-8 text",  # was put in as text, NUL bytes and all
    }
    for name, said in refused.items():
        start_run(nvim, f"GptChatAdd {name}")
        message = wait_done(nvim)["message"]
        assert message.startswith(said) and "internal error" not in message, message
    assert chat[2:] == [""]  # nothing added
    nvim.command("GptChatAdd dos.txt")
    assert chat[2:6] == ["dos.txt:", "", "```txt", "one"] and chat[6] == "two"  # no ^M on each line


def test_a_selection_holding_nul_bytes_goes_into_no_chat(nvim: Any) -> None:
    chat = open_chat(nvim)
    nvim.command("new")
    nvim.current.buffer[:] = ["text", "bin\0ary"]  # a NUL byte, as a binary file gives one
    start_run(nvim, "2GptChatAdd")
    message = wait_done(nvim)["message"]
    assert message.startswith("GptChatAdd: line 2 holds a NUL byte"), message  # was added, NUL and all
    start_run(nvim, "%GptChat Summarizer")
    assert "line 2 holds a NUL byte" in wait_done(nvim)["message"]
    assert chat[2:] == [""]


def test_the_range_of_each_call_counts_not_the_first_ones(nvim: Any, tmp_path: Path) -> None:
    source = tmp_path / "notes.md"
    source.write_text("one\ntwo\nthree\n", encoding="utf-8")
    first = open_chat(nvim)  # no range: nothing added
    assert first[2:] == [""]
    nvim.command(f"split {source}")
    nvim.command("2,3GptChat Summarizer")  # was: no selection, the first call's "no range" kept for good
    second = nvim.current.buffer
    assert second[2:5] == [f"{source} lines 2-3:", "", "```markdown"], second[:]
    nvim.command(f"split {source}")
    nvim.command("1GptChatAdd")
    nvim.command(f"split {source}")
    nvim.command("GptChatAdd")  # the whole buffer (was: one line, the count of the call before)
    assert second[-9:] == [f"{source}:", "", "```markdown", "one", "two", "three", "```", "", ""], second[:]
