"""Conversations: continued across processes, on both backends, and the interactive chat."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import subprocess
import termios
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import gpt_tools
from gpt_tools.state import conversation, paths
from tests.conftest import program, run_program, write_config
from tests.fake_openai import FakeOpenAI, Scripted


def _state() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "gpt-tools" / "conversations"


def test_continue_chains_turns_across_processes(api: FakeOpenAI) -> None:
    first = run_program("gpt-tools", "run", "Summarizer", "--continue", "-t", "teh first")
    assert first.returncode == 0, first.stderr
    [saved] = [p for p in _state().glob("conv-*.json")]
    after_first = json.loads(saved.read_text())
    second = run_program("gpt-tools", "run", "Summarizer", "--continue", "-t", "teh second")
    assert second.returncode == 0, second.stderr
    one, two = (r.body for r in api.model_requests())
    assert "previous_response_id" not in one and one["store"] is True
    assert two["previous_response_id"] == after_first["last_response_id"] and two["store"] is True
    assert two["instructions"] == one["instructions"]  # re-sent every turn: the API does not keep them
    assert [m["content"] for m in json.loads(saved.read_text())["messages"]] == [
        "teh first",
        "the first",
        "teh second",
        "the second",
    ]


def test_runs_without_a_conversation_stay_unstored(api: FakeOpenAI) -> None:
    gpt_tools.run("Summarizer", "teh")
    assert api.model_requests()[0].body["store"] is False


def test_chat_backend_resends_the_local_history(api: FakeOpenAI) -> None:
    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh one", backend="chat", conversation=talk)
    gpt_tools.run("Summarizer", "teh two", backend="chat", conversation=talk)
    messages = api.model_requests()[1].body["messages"]
    assert [(m["role"], m["content"]) for m in messages[1:]] == [
        ("user", "teh one"),
        ("assistant", "the one"),
        ("user", "teh two"),
    ]


def test_explicit_conversation_id(api: FakeOpenAI) -> None:
    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh", conversation=talk)
    done = run_program("gpt-tools", "run", "Summarizer", "--conversation", talk.id, "-t", "more")
    assert done.returncode == 0
    second = api.model_requests()[1].body
    assert second["previous_response_id"] is not None
    assert second["previous_response_id"] != conversation.load(talk.id).last_response_id  # it advanced


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--conversation", "conv-nope"], b"no conversation 'conv-nope'"),
        (["--conversation", "../x"], b"not a conversation ID"),
    ],
)
def test_bad_conversation_ids_are_usage_errors(api: FakeOpenAI, args: list[str], message: bytes) -> None:
    done = run_program("gpt-tools", "run", "Summarizer", *args, "-t", "x")
    assert done.returncode == 2 and message in done.stderr
    assert api.model_requests() == []


def test_conversation_belongs_to_its_assistant(api: FakeOpenAI) -> None:
    talk = conversation.new("Summarizer", Path.cwd())
    conversation.save(talk)
    done = run_program("gpt-tools", "run", "DocWriter", "--conversation", talk.id, "-t", "x")
    assert done.returncode == 2 and b"belongs to Summarizer" in done.stderr


def test_rewriters_do_not_converse(api: FakeOpenAI) -> None:
    with pytest.raises(gpt_tools.UsageError, match="conversations are for writing assistants"):
        gpt_tools.run("MarkdownLinter", "teh", conversation=conversation.new("MarkdownLinter", Path.cwd()))


def test_failed_turn_does_not_advance_the_conversation(api: FakeOpenAI) -> None:
    talk = conversation.new("Summarizer", Path.cwd())
    api.script(Scripted(fault="incomplete"))
    with pytest.raises(gpt_tools.ReplyRejected):
        gpt_tools.run("Summarizer", "teh", conversation=talk)
    assert talk.messages == [] and talk.last_response_id is None


class Terminal:
    """A program on a pseudo-terminal, read with deadlines (no fixed sleeps)."""

    def __init__(self, *argv: str, file_size_limit: int | None = None) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            if file_size_limit is not None:  # a full disk, for this program only
                import resource

                resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
            os.execv(argv[0], list(argv))
        self.seen = b""

    def expect(self, needle: bytes, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"{needle!r} not seen; got {self.seen[-400:]!r}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:
                    break
        assert needle in self.seen, f"{needle!r} not seen; got {self.seen[-400:]!r}"

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def prompt(self, timeout: float = 20) -> None:
        """Wait for `you> ` and for readline to be reading (terminal out of canonical mode).

        Readline re-configures the terminal when it starts reading a line and may drop what was typed
        before that; a person never types that fast, a test does.
        """
        self.expect(b"you> ", timeout)
        deadline = time.monotonic() + timeout
        while termios.tcgetattr(self.fd)[3] & termios.ICANON:
            assert time.monotonic() < deadline, "readline never started reading"
            time.sleep(0.01)

    def exit_code(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                os.kill(self.pid, 9)
                raise AssertionError(f"did not exit; last output {self.seen[-300:]!r}")
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                with contextlib.suppress(OSError):
                    self.seen += os.read(self.fd, 4096)


def test_chat_ctrl_c_cancels_the_reply_and_stays(api: FakeOpenAI) -> None:
    write_config(Path.cwd(), "max_retries = 0\n")
    long_reply = " ".join(f"word{i}" for i in range(400))
    api.script(Scripted(text=long_reply, chunk_delay=0.2), Scripted(text="quick answer"))
    chat = Terminal(program("gpt-tools"), "chat", "Summarizer")
    chat.prompt()
    chat.send(b"tell me a long story\r")
    chat.expect(b"word0")
    chat.send(b"\x03")  # Ctrl-C while the reply streams
    chat.expect(b"reply cancelled")
    chat.prompt()
    chat.send(b"and now?\r")
    chat.expect(b"quick answer")
    chat.prompt()
    chat.send(b"\x04")  # Ctrl-D leaves
    assert chat.exit_code() == 0
    assert b"word399" not in chat.seen
    talk = json.loads(next(_state().glob("conv-*.json")).read_text())
    assert [m["content"] for m in talk["messages"]] == ["and now?", "quick answer"]  # the cancelled turn is not kept


def test_expired_previous_response_falls_back_to_the_local_history(api: FakeOpenAI) -> None:
    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh one", conversation=talk)
    api.script(Scripted(fault="previous_not_found"))
    result = gpt_tools.run("Summarizer", "teh two", conversation=talk)
    refused, resent = (r.body for r in api.model_requests()[1:])
    assert "previous_response_id" in refused
    assert "previous_response_id" not in resent
    # Earlier turns as EasyInputMessage items with string content (an assistant turn may not hold input parts).
    assert [item["content"] for item in resent["input"][:2]] == ["teh one", "the one"]
    assert resent["input"][2]["content"][0]["text"] == "teh two"
    assert [m["content"] for m in talk.messages] == ["teh one", "the one", "teh two", result.text]


def test_context_length_errors_are_not_mistaken_for_expiry(api: FakeOpenAI) -> None:
    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh one", conversation=talk)
    api.script(Scripted(fault="context_length"))
    with pytest.raises(gpt_tools.ApiError, match="context window"):
        gpt_tools.run("Summarizer", "teh two", conversation=talk)
    assert len(api.model_requests()) == 2


def test_a_reply_completing_as_it_is_cancelled_is_not_kept(api: FakeOpenAI) -> None:
    import threading

    talk = conversation.new("Summarizer", Path.cwd())
    cancel = threading.Event()

    def answer_and_cancel(text: str) -> str:
        cancel.set()  # the user cancels while the server is answering
        return text

    api.responder = answer_and_cancel
    write_config(Path.cwd(), "stream = false\nmax_retries = 0\n")
    with pytest.raises(gpt_tools.RunFailed):  # Cancelled, or the reply cut by the cancel: either way no turn
        gpt_tools.run("Summarizer", "teh", conversation=talk, cancel=cancel)
    assert talk.messages == [] and not list(_state().glob("conv-*.json"))


def test_two_front_ends_on_one_conversation_keep_every_turn(api: FakeOpenAI) -> None:
    """A chat holding the conversation in memory must not drop a turn another process added."""
    chat_side = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh chat one", conversation=chat_side)
    other_side = conversation.load(chat_side.id)  # e.g. `gpt-tools run --conversation ID` meanwhile
    gpt_tools.run("Summarizer", "teh cli turn", conversation=other_side)
    cli_turn = other_side.last_response_id
    gpt_tools.run("Summarizer", "teh chat two", conversation=chat_side)
    users = [m["content"] for m in conversation.load(chat_side.id).messages if m["role"] == "user"]
    assert users == ["teh chat one", "teh cli turn", "teh chat two"]
    third = api.model_requests()[2].body
    assert third["previous_response_id"] == cli_turn  # chained on the CLI's turn, not forked before it


def test_a_chat_backend_turn_is_never_chained_by_id(api: FakeOpenAI) -> None:
    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh one", backend="chat", conversation=talk)
    assert talk.last_response_id is None
    gpt_tools.run("Summarizer", "teh two", conversation=talk)  # back on the Responses API
    second = api.model_requests()[1].body
    assert "previous_response_id" not in second
    assert [item["content"] for item in second["input"][:2]] == ["teh one", "the one"]


def test_conversation_files_are_private(api: FakeOpenAI) -> None:
    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh secret plans", conversation=talk)
    path = _state() / f"{talk.id}.json"
    assert path.stat().st_mode & 0o077 == 0
    assert _state().stat().st_mode & 0o077 == 0


def test_continue_finds_the_git_root_without_a_config(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG")
    (Path.cwd() / ".git").mkdir()
    (Path.cwd() / "sub").mkdir()
    assert run_program("gpt-tools", "run", "Summarizer", "--continue", "-t", "at root").returncode == 0
    monkeypatch.chdir("sub")
    assert run_program("gpt-tools", "run", "Summarizer", "--continue", "-t", "in sub").returncode == 0
    [saved] = list(_state().glob("conv-*.json"))
    assert len(json.loads(saved.read_text())["messages"]) == 4


# --------------------------------------------------------------- concurrent turns, unsaved turns


def _read_available(stream: Any) -> bytes:
    try:
        return stream.read() or b""
    except BlockingIOError:
        return b""


def _two_turns_at_once(api: FakeOpenAI) -> tuple[str, str, bytes]:
    """`run DocWriter --continue` twice, the second started while the first is being answered:
    (the first's response ID, the second's, what the second said on stderr)."""
    gate = threading.Event()

    def slow(text: str) -> str:
        gate.wait(30)  # the first turn is still being answered while the second starts
        return "reply to " + text

    api.responder = slow
    sent_before = len(api.model_requests())
    argv = [program("gpt-tools"), "run", "DocWriter", "--continue", "--json", "-t"]
    pipes: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "start_new_session": True}
    first = subprocess.Popen([*argv, "turn A"], **pipes)
    try:
        _until(lambda: len(api.model_requests()) == sent_before + 1, "the first turn's request")
        second = subprocess.Popen([*argv, "turn B"], **pipes)
        os.set_blocking(second.stderr.fileno(), False)
        said = b""

        def second_waits_or_sends() -> bool:
            nonlocal said
            said += _read_available(second.stderr)
            return b"waiting" in said or len(api.model_requests()) > sent_before + 1

        _until(second_waits_or_sends, "the second turn to wait (or to send)")
    finally:
        gate.set()
    out_a, _ = first.communicate(timeout=30)
    out_b, rest = second.communicate(timeout=30)
    assert first.returncode == 0 and second.returncode == 0, said + rest
    api.responder = lambda text: "reply to " + text
    return json.loads(out_a)["response_id"], json.loads(out_b)["response_id"], said + rest


def test_concurrent_turns_of_one_conversation_never_fork(api: FakeOpenAI) -> None:
    """Two `run --continue` processes at once: the second waits, then chains on the first."""
    assert run_program("gpt-tools", "run", "DocWriter", "--continue", "-t", "turn zero").returncode == 0
    id_a, id_b, said = _two_turns_at_once(api)
    assert run_program("gpt-tools", "run", "DocWriter", "--continue", "-t", "turn C").returncode == 0
    _zero, a, b, c = (r.body for r in api.model_requests())
    assert b["previous_response_id"] == id_a  # B chained on A: no fork
    assert c["previous_response_id"] == id_b  # so the third turn's chain holds both
    assert a["previous_response_id"] not in (None, id_a, id_b)
    [saved] = list(_state().glob("conv-*.json"))
    users = [m["content"] for m in json.loads(saved.read_text())["messages"] if m["role"] == "user"]
    assert users == ["turn zero", "turn A", "turn B", "turn C"]
    assert b"turn in progress elsewhere; waiting" in said  # the wait is said, not silent


def test_concurrent_first_turns_in_a_new_project_join_one_conversation(api: FakeOpenAI) -> None:
    id_a, id_b, _said = _two_turns_at_once(api)
    a, b = (r.body for r in api.model_requests())
    assert "previous_response_id" not in a and b["previous_response_id"] == id_a
    [saved] = list(_state().glob("conv-*.json"))  # one conversation, not two
    assert json.loads(saved.read_text())["last_response_id"] == id_b


def test_a_dry_run_continue_leaves_no_conversation(api: FakeOpenAI) -> None:
    assert run_program("gpt-tools", "run", "DocWriter", "--continue", "--dry-run", "-t", "x").returncode == 0
    assert not list(_state().glob("conv-*.json"))


def _until(condition: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_turn_waiting_for_another_can_be_cancelled(api: FakeOpenAI) -> None:
    talk = conversation.new("Summarizer", Path.cwd())
    cancel, heard, failures = threading.Event(), [], []

    def turn() -> None:
        try:
            gpt_tools.run("Summarizer", "teh", conversation=talk, cancel=cancel, on_wait=heard.append)
        except BaseException as exc:
            failures.append(exc)

    with conversation.turn(conversation.new("Summarizer", Path.cwd())):
        pass  # an unrelated conversation's lock does not hold this one
    with conversation.turn(talk):  # another turn holds this conversation
        worker = threading.Thread(target=turn)
        worker.start()
        _until(lambda: bool(heard), "the wait to be reported")
        cancel.set()
        worker.join(10)
    assert isinstance(failures[0], gpt_tools.errors.Cancelled)
    assert api.model_requests() == [] and talk.id in heard[0]


def test_a_turn_that_cannot_be_saved_prints_the_reply_and_says_so(api: FakeOpenAI) -> None:
    """A full disk (RLIMIT_FSIZE: writes past it fail with EFBIG) after the reply was paid for."""
    import resource

    assert run_program("gpt-tools", "run", "DocWriter", "--continue", "-t", "turn zero").returncode == 0
    [saved] = list(_state().glob("conv-*.json"))
    before = saved.read_bytes()
    long_reply = "word " * 2000  # the conversation file would grow past the limit

    def tiny_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 100, len(before) + 100))

    api.script(Scripted(text=long_reply))
    done = subprocess.run(
        [program("gpt-tools"), "run", "DocWriter", "--continue", "-t", "turn one"],
        capture_output=True,
        preexec_fn=tiny_disk,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout.decode().strip() == long_reply.strip()  # the paid-for reply is delivered
    assert b"was not saved in conversation" in done.stderr and b"Traceback" not in done.stderr
    assert saved.read_bytes() == before  # the conversation is as it was, not truncated


def test_an_unsaved_turn_leaves_the_conversation_as_saved(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh one", conversation=talk)
    saved = list(talk.messages), talk.last_response_id

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(conversation, "write_atomic", full_disk)
    with pytest.raises(gpt_tools.errors.TurnNotSaved, match="No space left") as caught:
        gpt_tools.run("Summarizer", "teh two", conversation=talk)
    assert caught.value.result.text == "the two"
    assert (talk.messages, talk.last_response_id) == saved
    assert caught.value.exit_code == 1


def test_conversation_last_is_this_projects_last_conversation(api: FakeOpenAI) -> None:
    done = run_program("gpt-tools", "run", "Summarizer", "--conversation", "last", "-t", "x")
    assert done.returncode == 2 and b"no conversation with Summarizer" in done.stderr
    assert b"Traceback" not in done.stderr and api.model_requests() == []
    assert run_program("gpt-tools", "run", "Summarizer", "--continue", "-t", "teh one").returncode == 0
    assert run_program("gpt-tools", "run", "Summarizer", "--conversation", "last", "-t", "teh two").returncode == 0
    [saved] = list(_state().glob("conv-*.json"))
    assert len(json.loads(saved.read_text())["messages"]) == 4


def test_looser_conversation_files_of_older_versions_are_made_private(api: FakeOpenAI) -> None:
    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh one", conversation=talk)
    app = _state().parent
    for path, mode in ((app, 0o755), (_state(), 0o755), (_state() / f"{talk.id}.json", 0o644)):
        path.chmod(mode)
    (_state() / "last.json").chmod(0o644)
    gpt_tools.run("Summarizer", "teh two", conversation=talk)
    for path in (app, _state(), _state() / f"{talk.id}.json", _state() / "last.json"):
        assert path.stat().st_mode & 0o077 == 0, path


def test_a_turn_saved_but_not_remembered_says_how_to_continue(api: FakeOpenAI) -> None:
    talk = conversation.new("Summarizer", Path.cwd())
    _state().mkdir(parents=True)
    (_state() / "last.json").mkdir()  # the index cannot be replaced
    with pytest.raises(gpt_tools.errors.TurnNotSaved, match=f"saved in conversation {talk.id}.*--conversation"):
        gpt_tools.run("Summarizer", "teh one", conversation=talk)
    assert len(conversation.load(talk.id).messages) == 2  # the turn itself is kept


def test_a_chat_turn_that_cannot_be_saved_is_shown_and_said(api: FakeOpenAI) -> None:
    write_config(Path.cwd(), "max_retries = 0\n")
    long_reply = "word " * 2000
    api.script(Scripted(text=long_reply), Scripted(text="short"))
    chat = Terminal(program("gpt-tools"), "chat", "Summarizer", file_size_limit=4000)
    chat.prompt()
    chat.send(b"a long one\r")
    chat.expect(b"was not saved in conversation")
    chat.prompt()  # the chat goes on
    chat.send(b"\x04")
    assert chat.exit_code() == 1  # a lost turn is a failure, though the chat went on
    assert chat.seen.count(b"word") >= 2000 and b"Traceback" not in chat.seen


def test_the_chat_history_file_is_private_even_when_it_was_not() -> None:
    import readline

    from gpt_tools.cli import chat

    path = paths.chat_history()
    path.parent.mkdir(parents=True)
    path.write_text("what I typed\n")
    path.chmod(0o644)
    readline.add_history("more I typed")
    chat._save_history(readline, path)
    assert path.stat().st_mode & 0o777 == 0o600 and "more I typed" in path.read_text()


def test_a_damaged_conversation_file_is_a_clear_error(api: FakeOpenAI) -> None:
    _state().mkdir(parents=True)
    (_state() / "conv-damaged.json").write_text('{"id": "conv-damaged", "unexpected": 1}')
    done = run_program("gpt-tools", "run", "Summarizer", "--conversation", "conv-damaged", "-t", "x")
    assert done.returncode == 2 and b"cannot be read" in done.stderr and b"Traceback" not in done.stderr


def test_a_front_end_holding_a_removed_conversation_does_not_bring_it_back(api: FakeOpenAI) -> None:
    """A chat keeps its conversation in memory; `conversations rm` meanwhile must stay removed."""
    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh one", conversation=talk)
    conversation.remove(talk.id)
    with pytest.raises(conversation.Removed, match=f"{talk.id} was removed") as caught:
        gpt_tools.run("Summarizer", "teh two", conversation=talk)
    assert caught.value.exit_code == 2 and len(api.model_requests()) == 1  # nothing sent
    assert not (_state() / f"{talk.id}.json").exists()


def test_continue_finds_the_projects_last_conversation_whatever_the_assistant(api: FakeOpenAI) -> None:
    first = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh one", conversation=first)
    second = conversation.new("DocWriter", Path.cwd())
    gpt_tools.run("DocWriter", "draft", conversation=second)
    assert conversation.latest(Path.cwd()).id == second.id  # type: ignore[union-attr]
    gpt_tools.run("Summarizer", "teh two", conversation=first)
    assert conversation.latest(Path.cwd()).id == first.id  # type: ignore[union-attr]
    conversation.remove(first.id)
    assert conversation.latest(Path.cwd()).id == second.id  # type: ignore[union-attr]
    assert conversation.latest(Path.cwd() / "elsewhere") is None


def test_listing_reads_only_the_conversations_changed_since_the_last_listing(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    talks = [conversation.new("Summarizer", Path.cwd()) for _ in range(3)]
    for talk in talks:
        gpt_tools.run("Summarizer", "teh first", conversation=talk)
    loads: list[str] = []
    real_load = conversation.load
    monkeypatch.setattr(conversation, "load", lambda cid: loads.append(cid) or real_load(cid))
    found, _ = conversation.saved()
    assert sorted(loads) == sorted(t.id for t in talks) and {s.turns for s in found} == {1}
    loads.clear()
    assert [s.id for s in conversation.saved()[0]] == [s.id for s in found] and loads == []  # none read again
    gpt_tools.run("Summarizer", "teh second", conversation=talks[0])  # a turn: a new file
    path = _state() / f"{talks[1].id}.json"
    record = json.loads(path.read_text())
    record["messages"][0]["content"] = "edited in place"
    with path.open("r+") as file:  # same inode, same size class: its size and mtime tell
        file.write(json.dumps(record))
        file.truncate()
    loads.clear()  # the turn read its conversation too
    found, _ = conversation.saved()
    assert sorted(loads) == sorted([talks[0].id, talks[1].id])
    by_id = {s.id: s for s in found}
    assert by_id[talks[0].id].turns == 2 and by_id[talks[1].id].first == "edited in place"
    conversation.remove(talks[2].id)  # its first words must not stay behind in the cache
    assert talks[2].id not in (_state() / "summaries.json").read_text()
    (_state() / "summaries.json").write_text(json.dumps({"version": 1, "files": {"x": 1, talks[0].id: {"key": 5}}}))
    assert {s.id for s in conversation.saved()[0]} == {talks[0].id, talks[1].id}  # a damaged cache is rebuilt


def test_a_conversations_folder_that_is_a_file_is_said_before_anything_is_sent(api: FakeOpenAI) -> None:
    _state().parent.mkdir(parents=True, exist_ok=True)
    _state().write_text("not a folder")
    done = run_program("gpt-tools", "run", "Summarizer", "-c", "-t", "teh")
    assert done.returncode == 1 and b"Traceback" not in done.stderr, done.stderr  # it was filelock's traceback
    assert b"conversations cannot be kept in" in done.stderr and api.model_requests() == []
    done = run_program("gpt-tools", "conversations", "list")
    assert done.returncode == 2 and b"Not a directory" in done.stderr and b"Traceback" not in done.stderr


def test_a_conversation_removed_while_listing_leaves_no_summary_behind(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = sorted((conversation.new("Summarizer", Path.cwd()) for _ in range(2)), key=lambda t: t.id)
    gpt_tools.run("Summarizer", "teh private words", conversation=first)
    gpt_tools.run("Summarizer", "teh other", conversation=second)
    real_load = conversation.load

    def load(cid: str) -> conversation.Conversation:
        if cid == second.id:  # `conversations rm` in another process, after the listing read the first
            conversation.remove(first.id)
        return real_load(cid)

    monkeypatch.setattr(conversation, "load", load)
    conversation.saved()
    assert "private words" not in (_state() / "summaries.json").read_text()
