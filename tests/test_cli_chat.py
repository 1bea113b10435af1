"""`gpt-tools chat`: messages of many lines, the slash commands, the spinner, and piped stdin."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gpt_tools.config.loader import load_config
from gpt_tools.config.resolve import resolve_settings
from tests.conftest import program, run_program, write_config
from tests.fake_openai import FakeOpenAI, Scripted
from tests.test_conversation import Terminal


def _model(assistant: str = "Summarizer") -> str:
    """The model a run of assistant uses here (the built-in default moves with OpenAI's line-up)."""
    config = load_config()
    return resolve_settings(config, config.assistant(assistant)).model


def _state() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "gpt-tools" / "conversations"


def _sent(api: FakeOpenAI) -> list[str]:
    """The user text of each model request (the last input item of each)."""
    texts = []
    for request in api.model_requests():
        last = request.body["input"][-1]["content"]
        texts.append(last if isinstance(last, str) else "".join(part.get("text", "") for part in last))
    return texts


def _chat(*args: str) -> Terminal:
    write_config(Path.cwd(), "max_retries = 0\n")
    chat = Terminal(program("gpt-tools"), "chat", *args)
    chat.prompt()
    return chat


def _say(chat: Terminal, typed: bytes, shown: bytes) -> None:
    """At the prompt, type a line and Enter, and wait until shown is on the screen."""
    chat.prompt()
    chat.send(typed + b"\r")
    chat.expect(shown)


def _leave(chat: Terminal) -> int:
    chat.prompt()
    chat.send(b"\x04")
    return chat.exit_code()


def test_a_bracketed_paste_of_many_lines_is_one_turn(api: FakeOpenAI) -> None:
    chat = _chat("Summarizer")
    assert b"\x1b[?2004h" in chat.seen  # readline asked the terminal to bracket pastes
    chat.send(b"\x1b[200~teh first line\nteh second line\nteh third line\x1b[201~")
    chat.send(b"\r")  # the paste waits in the line being edited; Enter sends it
    chat.expect(b"the third line")
    assert _leave(chat) == 0
    assert _sent(api) == ["teh first line\nteh second line\nteh third line"]


def test_an_unbracketed_paste_is_one_turn(api: FakeOpenAI) -> None:
    chat = _chat("Summarizer")
    chat.send(b"teh one\rteh two\rteh three\r")  # a terminal that does not bracket pastes: all at once
    chat.expect(b"the three")
    assert _leave(chat) == 0
    assert _sent(api) == ["teh one\nteh two\nteh three"]


def test_a_triple_quote_block_is_one_turn_on_a_terminal(api: FakeOpenAI) -> None:
    chat = _chat("Summarizer")
    chat.send(b'"""\r')
    chat.expect(b"...  ")
    for line in (b"teh alpha\r", b"\r", b'teh omega"""\r'):
        chat.expect(b"...  ")
        chat.send(line)
    chat.expect(b"the omega")
    assert _leave(chat) == 0
    assert _sent(api) == ["teh alpha\n\nteh omega"]


def test_the_header_names_the_model_and_model_switches_it(api: FakeOpenAI) -> None:
    chat = _chat("Summarizer")
    assert f"Summarizer · {_model()} · conv-".encode() in chat.seen
    chat.send(b"/model\r")
    chat.expect(f"model: {_model()}".encode())
    _say(chat, b"/model gpt-other", b"model: gpt-other from the next turn")
    _say(chat, b"teh question", b"the question")
    assert _leave(chat) == 0
    assert [r.body["model"] for r in api.model_requests()] == ["gpt-other"]


def test_clear_starts_a_new_conversation_and_save_writes_markdown(api: FakeOpenAI) -> None:
    chat = _chat("Summarizer")
    _say(chat, b"teh one", b"the one")
    _say(chat, b"/save talk.md", b"wrote talk.md (1 turns)")
    _say(chat, b"teh again", b"the again")
    _say(chat, b"/save talk.md", b"wrote talk.md (2 turns)")  # this conversation's own file: brought up to date
    _say(chat, b"/clear", b"new conversation conv-")
    _say(chat, b"teh two", b"the two")
    # the first conversation's file: not this one's to replace
    _say(chat, b"/save talk.md", b"talk.md exists and holds something else")
    chat.prompt()
    Path("other.md").write_text("mine\n")
    chat.send(b"/save other.md\r")
    chat.expect(b"other.md exists and holds something else")
    assert _leave(chat) == 0
    *_first, third = (r.body for r in api.model_requests())
    assert "previous_response_id" not in third  # a new conversation: nothing to chain on
    assert len(list(_state().glob("conv-*.json"))) == 2
    saved = Path("talk.md").read_text()
    assert saved.startswith("# Summarizer · conv-") and "## You\n\nteh one\n" in saved and "the again" in saved
    assert "the two" not in saved
    assert Path("other.md").read_text() == "mine\n"


def test_edit_sends_what_was_written_in_the_editor(
    api: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "teh written\\nin an editor\\n" > "$1"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(editor))
    chat = _chat("Summarizer")
    _say(chat, b"/edit", b"in an editor")
    assert _leave(chat) == 0
    assert _sent(api) == ["teh written\nin an editor"]


def test_unknown_commands_are_never_sent_and_a_double_slash_is(api: FakeOpenAI) -> None:
    chat = _chat("Summarizer")
    _say(chat, b"/nope", b"unknown command /nope; /help lists them")
    _say(chat, b"/help", b"/save [FILE]")
    _say(chat, b"//usr/bin teh", b"/usr/bin the")
    chat.prompt()
    chat.send(b"/exit\r")
    assert chat.exit_code() == 0
    assert _sent(api) == ["/usr/bin teh"]


def test_the_spinner_shows_on_a_terminal_and_is_erased_before_the_reply(api: FakeOpenAI) -> None:
    api.script(Scripted(text="the answer", delay=0.4))
    chat = _chat("Summarizer")
    _say(chat, b"teh question", b"the answer")
    assert _leave(chat) == 0
    after_prompt = chat.seen.split(b"teh question", 1)[1]
    spun = after_prompt.index(f"⠋ Summarizer · {_model()}".encode())
    erased = after_prompt.rindex(b"\r\x1b[K", 0, after_prompt.index(b"the answer"))
    assert spun < erased < after_prompt.index(b"the answer")


def _piped(stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    write_config(Path.cwd(), "max_retries = 0\n")
    return run_program("gpt-tools", "chat", *args, stdin=stdin)


def test_piped_stdin_gives_one_turn_per_line_or_block_and_stdout_the_replies_alone(api: FakeOpenAI) -> None:
    api.script(Scripted(delay=0.3))  # long enough for a spinner, if one were (wrongly) drawn
    done = _piped(b'teh one\n"""\nteh two\nteh three\n"""\n/help\nteh four\n', "Summarizer")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"the one\nthe two\nthe three\nthe four\n"  # no prompt, header or spinner
    assert _sent(api) == ["teh one", "teh two\nteh three", "teh four"]
    assert b"you> " not in done.stderr and "⠋".encode() not in done.stderr and b"\r" not in done.stderr
    assert b"/model [NAME]" in done.stderr  # /help is said on stderr
    [saved] = list(_state().glob("conv-*.json"))
    assert len(json.loads(saved.read_text())["messages"]) == 6


def test_an_unclosed_block_at_the_end_of_input_is_sent(api: FakeOpenAI) -> None:
    done = _piped(b'"""\nteh last\nwords', "Summarizer")
    assert done.returncode == 0 and done.stdout == b"the last\nwords\n"


def test_chat_continue_without_a_name_takes_the_last_conversations_assistant(api: FakeOpenAI) -> None:
    assert run_program("gpt-tools", "run", "DocWriter", "-c", "-t", "draft it").returncode == 0
    [saved] = list(_state().glob("conv-*.json"))
    done = _piped(b"more\n", "-c")
    assert done.returncode == 0, done.stderr
    assert f"DocWriter · {_model('DocWriter')} · {saved.stem} · continuing after 1 turns".encode() in done.stderr
    assert len(json.loads(saved.read_text())["messages"]) == 4
    done = _piped(b"more\n")
    assert done.returncode == 2 and b"give NAME, or -c" in done.stderr


def test_a_conversation_removed_while_chatting_is_not_brought_back(api: FakeOpenAI) -> None:
    chat = _chat("Summarizer")
    _say(chat, b"teh one", b"the one")
    chat.prompt()
    [saved] = list(_state().glob("conv-*.json"))
    assert run_program("gpt-tools", "conversations", "rm", saved.stem).returncode == 0
    chat.send(b"teh two\r")
    chat.expect(f"conversation {saved.stem} was removed; /clear starts a new one".encode())
    _say(chat, b"/clear", b"new conversation")
    _say(chat, b"teh three", b"the three")
    assert _leave(chat) == 0
    assert _sent(api) == ["teh one", "teh three"] and not saved.exists()


def test_a_piped_line_that_is_not_utf8_is_said_and_not_sent(api: FakeOpenAI) -> None:
    done = _piped(b"teh one\n\xff\xfe bad\nteh two\n", "Summarizer")
    assert done.returncode == 0 and done.stdout == b"the one\nthe two\n"
    assert b"not UTF-8 was not sent" in done.stderr and b"Traceback" not in done.stderr
    assert _sent(api) == ["teh one", "teh two"]


def test_a_bracketed_paste_starting_with_triple_quotes_is_sent_as_it_is(api: FakeOpenAI) -> None:
    chat = _chat("Summarizer")
    chat.send(b'\x1b[200~"""teh docstring\ndef f(): pass\x1b[201~\r')  # code, not a block to wait for
    chat.expect(b"the docstring")
    assert _leave(chat) == 0
    assert _sent(api) == ['"""teh docstring\ndef f(): pass']


def test_ctrl_c_in_the_editor_or_as_a_turn_starts_cancels_that_and_stays(
    api: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = tmp_path / "editor-started"
    editor = tmp_path / "editor.sh"
    # The process that says it started is the one Ctrl-C must stop, with Ctrl-C at its default. A shell
    # script's `touch; sleep` was not: a Ctrl-C between the two is held by sh until `sleep 30` ends.
    holds = (
        "import signal, pathlib; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        f"pathlib.Path({str(started)!r}).touch(); signal.pause()"
    )
    editor.write_text(f"#!/bin/sh\nexec {sys.executable} -c {shlex.quote(holds)}\n")
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(editor))
    chat = _chat("Summarizer")
    chat.send(b"/edit\r")
    deadline = time.monotonic() + 20
    while not started.exists():
        assert time.monotonic() < deadline, "the editor never started"
        time.sleep(0.01)
    chat.send(b"\x03")  # Ctrl-C while the editor runs is the editor's: it was a KeyboardInterrupt that ended the chat
    chat.expect(b"Editing failed; nothing was sent")
    chat.prompt()
    # Ctrl-C the moment Enter is pressed, while the first turn loads the run path and starts its thread:
    # it cancels that turn (or what it sent), never the chat. The server holds its reply, so on a slow
    # machine the Ctrl-C still lands before the turn is over, whichever phase it reaches.
    api.latency = 30
    chat.send(b"teh first\r")
    chat.expect(b"teh first\r\n\x1b[?2004l")  # readline has returned the line (and left the terminal)
    chat.send(b"\x03")
    chat.expect(b"cancel")
    chat.prompt()
    api.latency = 0
    chat.send(b"teh second\r")
    chat.expect(b"the second")
    assert _leave(chat) == 0
    assert b"interrupted" not in chat.seen
    assert _sent(api)[-1] == "teh second"


def test_a_failed_turn_on_a_pipe_stops_the_chat_with_status_1(api: FakeOpenAI) -> None:
    api.script(Scripted(text="the one"), Scripted(fault="500"))
    done = _piped(b"teh one\nteh two\nteh three, which builds on two\n", "Summarizer")
    assert done.returncode == 1  # it was 0: a script could not tell that a turn had failed
    assert done.stdout == b"the one\n"
    assert b"HTTP 500" in done.stderr and b"the rest of the input was not sent" in done.stderr
    assert _sent(api) == ["teh one", "teh two"]


def test_a_failed_turn_on_a_terminal_leaves_the_chat_open_and_its_status_0(api: FakeOpenAI) -> None:
    api.script(Scripted(fault="500"))
    chat = _chat("Summarizer")
    _say(chat, b"teh one", b"HTTP 500")
    _say(chat, b"teh two", b"the two")
    assert _leave(chat) == 0


def test_save_refuses_what_is_not_a_regular_file_and_symlinks_leading_out(api: FakeOpenAI, tmp_path: Path) -> None:
    os.mkfifo("pipe.md")  # it waited forever, reading the FIFO's first line
    Path("dangling.md").symlink_to(tmp_path / "outside.md")  # would be created outside the folder
    Path("folder").mkdir()
    done = _piped(b"teh one\n/save pipe.md\n/save dangling.md\n/save folder\n/save kept.md\n", "Summarizer")
    assert done.returncode == 0, done.stderr
    assert b"pipe.md exists and is not a regular file" in done.stderr
    assert b"folder exists and is not a regular file" in done.stderr
    assert b"dangling.md: not written: it is a symlink to" in done.stderr
    assert not (tmp_path / "outside.md").exists()
    assert Path("kept.md").read_text().startswith("# Summarizer · conv-")


def _editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\n" + script)
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{editor} --wait")  # an editor with arguments, as `code --wait`


def test_edit_keeps_what_cannot_be_sent_and_starts_from_a_failed_turns_message(
    api: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Latin-1 the first time (it crashed the chat, and the text was gone), then what it was given plus a line.
    _editor(
        tmp_path,
        monkeypatch,
        f'for f; do :; done\nif [ ! -e "{tmp_path}/once" ]; then touch "{tmp_path}/once"; printf "caf\\351\\n" > "$f"\n'
        f'else cp "$f" "{tmp_path}/given"; printf "teh added\\n" >> "$f"; fi\n',
    )
    api.script(Scripted(fault="500"))
    chat = _chat("Summarizer")
    _say(chat, b"/edit", b"what was written is not UTF-8")
    chat.expect(b"what was written is kept in ")
    kept = Path(chat.seen.split(b"kept in ", 1)[1].split(b"\r", 1)[0].decode())
    content, mode = kept.read_bytes(), stat.S_IMODE(kept.stat().st_mode)
    kept.unlink()  # before any assertion: a failing test must not leave it in /tmp
    assert content == b"caf\xe9\n" and mode == 0o600
    _say(chat, b"teh long message", b"HTTP 500")
    _say(chat, b"/edit", b"the added")  # starts from the message that was not answered
    assert _leave(chat) == 0
    assert (tmp_path / "given").read_text() == "teh long message\n"
    assert _sent(api)[-1] == "teh long message\nteh added"


def test_a_reply_holding_a_lone_surrogate_is_shown_and_saved_with_a_replacement_character(api: FakeOpenAI) -> None:
    # JSON may escape half a surrogate pair ("\ud800"): writing it as UTF-8 crashed the turn with a
    # traceback (stdout, the conversation file) after the reply was paid for.
    api.script(Scripted(text="bad \ud800 half"), Scripted(text="bad \udc00 half"))
    done = _piped(b"teh one\nteh two\n", "Summarizer")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "bad \ufffd half\nbad \ufffd half\n".encode()
    [saved] = list(_state().glob("conv-*.json"))
    assert [m["content"] for m in json.loads(saved.read_text())["messages"]][1::2] == ["bad \ufffd half"] * 2
    api.script(Scripted(text="x \ud800"))  # in a whole JSON body too
    done = run_program("gpt-tools", "run", "Summarizer", "--no-stream", "-t", "teh")
    assert done.returncode == 0 and done.stdout == "x \ufffd".encode(), done.stderr


def test_a_paste_of_many_lines_starting_with_a_slash_is_sent_not_taken_for_a_command(api: FakeOpenAI) -> None:
    chat = _chat("Summarizer")
    chat.send(b"\x1b[200~/usr/bin/tool fails with teh error:\nTraceback (most recent call last)\x1b[201~\r")
    chat.expect(b"the error")  # it was "unknown command /usr/bin/tool" and nothing was sent
    chat.prompt()
    chat.send(b"\x1b[200~/model gpt-other\nexplain teh model\x1b[201~\r")  # it set the model to both lines
    chat.expect(b"explain the model")
    assert _leave(chat) == 0
    assert _sent(api) == [
        "/usr/bin/tool fails with teh error:\nTraceback (most recent call last)",
        "/model gpt-other\nexplain teh model",
    ]
    assert {r.body["model"] for r in api.model_requests()} == {_model()}


def test_a_message_holding_a_secret_is_refused_and_allow_secrets_sends_it(api: FakeOpenAI) -> None:
    message = b"my key is sk-proj-" + b"a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8 teh\n"
    done = _piped(message, "Summarizer")
    assert done.returncode == 1 and b"refusing to send what looks like a secret" in done.stderr
    assert _sent(api) == []
    done = _piped(message, "Summarizer", "--allow-secrets")  # the flag the refusal names: chat refused it
    assert done.returncode == 0, done.stderr
    assert len(_sent(api)) == 1


def test_save_includes_the_turns_another_front_end_added_meanwhile(api: FakeOpenAI) -> None:
    chat = _chat("Summarizer")
    _say(chat, b"teh one", b"the one")
    chat.prompt()
    [saved] = list(_state().glob("conv-*.json"))
    done = run_program("gpt-tools", "run", "Summarizer", "--conversation", saved.stem, "-t", "teh elsewhere")
    assert done.returncode == 0, done.stderr
    chat.send(b"/save talk.md\r")
    chat.expect(b"wrote talk.md (2 turns)")  # it wrote the chat's own, older view: 1 turn
    assert _leave(chat) == 0
    assert "the elsewhere" in Path("talk.md").read_text()


def test_piped_crlf_lines_end_at_the_crlf(api: FakeOpenAI) -> None:
    done = _piped(b'teh one\r\n"""\r\nteh two\r\nteh three\r\n"""\r\n/exit\r\nteh never\r\n', "Summarizer")
    assert done.returncode == 0 and b"unknown command" not in done.stderr, done.stderr
    assert _sent(api) == ["teh one", "teh two\nteh three"]  # /exit left: "teh never" is not sent


def test_a_replys_escapes_are_shown_on_a_terminal_and_kept_on_a_pipe(api: FakeOpenAI) -> None:
    reply = "colour \x1b]0;owned\x07 \x1b[2J\u202e done"
    api.script(Scripted(text=reply), Scripted(text=reply))
    chat = _chat("Summarizer")
    _say(chat, b"hi", b"done")
    assert _leave(chat) == 0
    # They were written raw: the window retitled, the screen cleared ("run" escaped them already).
    shown = chat.seen.split(b"hi\r\n", 1)[1]
    assert b"\x1b]0" not in shown and b"\x1b[2J" not in shown and "\u202e".encode() not in shown
    assert b"colour \\x1b]0;owned\\x07 \\x1b[2J\\u202e done" in shown
    done = _piped(b"hi\n", "Summarizer")
    assert done.returncode == 0 and done.stdout == (reply + "\n").encode()


def test_a_message_refused_as_a_secret_stays_out_of_the_history_file(api: FakeOpenAI) -> None:
    chat = _chat("Summarizer")
    chat.send(b"my key is sk-proj-" + b"a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8\r")
    chat.expect(b"refusing to send what looks like a secret")
    _say(chat, b"teh fine", b"the fine")
    assert _leave(chat) == 0
    history = (_state().parent / "chat_history").read_bytes()
    assert b"teh fine" in history and b"a1B2c3D4e5F6g7H8" not in history  # it was kept there, in clear
