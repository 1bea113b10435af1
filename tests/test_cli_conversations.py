"""`gpt-tools conversations list|show|rm|export`, and `--continue` without naming the assistant."""

from __future__ import annotations

import json
import os
from pathlib import Path

import gpt_tools
from gpt_tools.state import conversation
from tests.conftest import run_program
from tests.fake_openai import FakeOpenAI


def _state() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "gpt-tools" / "conversations"


def _talk(assistant: str, *turns: str) -> conversation.Conversation:
    talk = conversation.new(assistant, Path.cwd())
    for text in turns:
        gpt_tools.run(assistant, text, conversation=talk)
    return talk


def _cli(*args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    done = run_program("gpt-tools", *args, stdin=stdin)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test_list_shows_id_assistant_turns_last_used_and_first_words(api: FakeOpenAI) -> None:
    older = _talk("Summarizer", "teh first\nquestion  of\tmany words", "teh more")
    newer = _talk("DocWriter", "Write a guide to \x1b[31mred\x1b[0m things")
    code, out, _ = _cli("conversations", "list")
    assert code == 0
    first, second = out.splitlines()
    assert first.startswith(newer.id) and second.startswith(older.id)  # last used first
    assert "DocWriter" in first and "1 turns" in first
    assert "\x1b" not in out and "\\x1b[31mred" in first  # a message's escapes are shown, not obeyed
    assert "Summarizer" in second and "2 turns" in second and "teh first question of many words" in second
    code, out, _ = _cli("conversations", "list", "--json")
    rows = json.loads(out)
    assert [row["id"] for row in rows] == [newer.id, older.id]
    assert rows[1] | {"created": "", "updated": ""} == {
        "id": older.id,
        "assistant": "Summarizer",
        "project": str(Path.cwd()),
        "turns": 2,
        "created": "",
        "updated": "",
        "first_words": "teh first question of many words",
    }


def test_list_with_none_says_a_plain_run_is_not_a_conversation(api: FakeOpenAI) -> None:
    assert run_program("gpt-tools", "run", "Summarizer", "-t", "teh").returncode == 0
    code, out, err = _cli("conversations", "list")
    assert code == 0 and out == ""
    assert "no conversations yet" in err and "plain `gpt-tools run` is not part of any conversation" in err


def test_show_and_export_by_unique_prefix(api: FakeOpenAI) -> None:
    talk = _talk("Summarizer", "teh one", "teh two")
    for given in (talk.id[:9], talk.id[5:10]):  # with or without `conv-`
        code, out, _ = _cli("conversations", "show", given)
        assert code == 0 and out.startswith(f"{talk.id} · Summarizer · 2 turns\n")
        assert "you>\nteh one\n" in out and "Summarizer>\nthe two" in out
    code, out, _ = _cli("conversations", "show", talk.id, "--json")
    shown = json.loads(out)
    assert shown["messages"][1] == {"role": "assistant", "content": "the one"} and shown["turns"] == 2
    code, out, _ = _cli("conversations", "export", talk.id[:8])
    assert code == 0
    assert out.startswith(f"# Summarizer · {talk.id}\n")
    assert "## You\n\nteh one\n\n## Summarizer\n\nthe one\n\n## You\n\nteh two\n" in out
    code, out, _ = _cli("conversations", "export", talk.id, "--json")
    assert json.loads(out) == json.loads((_state() / f"{talk.id}.json").read_text())


def test_export_writes_the_text_as_it_is_when_piped(api: FakeOpenAI) -> None:
    api.responder = lambda text: "colour \x1b[1mbold\x1b[0m"
    talk = _talk("Summarizer", "teh")
    code, out, _ = _cli("conversations", "export", talk.id)
    assert code == 0 and "colour \x1b[1mbold\x1b[0m" in out  # a file gets the reply byte for byte


def test_unknown_and_ambiguous_ids_are_clear_errors(api: FakeOpenAI) -> None:
    _state().mkdir(parents=True)
    for suffix in ("abc111", "abc222"):
        (_state() / f"conv-{suffix}.json").write_text(
            json.dumps({"id": f"conv-{suffix}", "assistant": "Summarizer", "project": str(Path.cwd())})
        )
    code, _, err = _cli("conversations", "show", "abc")
    assert code == 2 and "is the start of 2 conversations (conv-abc111, conv-abc222)" in err
    code, _, err = _cli("conversations", "show", "conv-abc112")
    assert code == 2 and "no conversation 'conv-abc112'; did you mean conv-abc111?" in err
    assert "`gpt-tools conversations list` shows them" in err
    code, _, err = _cli("conversations", "rm", "conv-abc111", "zzz")
    assert code == 2 and "no conversation 'zzz'" in err
    assert (_state() / "conv-abc111.json").exists()  # one bad ID: nothing removed
    code, _, err = _cli("conversations", "export", "../../etc/passwd")
    assert code == 2 and "not a conversation ID" in err and "Traceback" not in err


def test_rm_removes_the_conversation_and_continue_starts_anew(api: FakeOpenAI) -> None:
    assert run_program("gpt-tools", "run", "Summarizer", "--continue", "-t", "teh one").returncode == 0
    [saved] = list(_state().glob("conv-*.json"))
    code, _, err = _cli("conversations", "rm", saved.stem[:8])
    assert code == 0 and f"removed {saved.stem}" in err
    assert not saved.exists() and not Path(f"{saved}.lock").exists()
    assert saved.stem not in (_state() / "last.json").read_text()
    assert run_program("gpt-tools", "run", "Summarizer", "--continue", "-t", "teh two").returncode == 0
    [fresh] = list(_state().glob("conv-*.json"))
    assert fresh != saved and len(json.loads(fresh.read_text())["messages"]) == 2


def test_rm_never_removes_a_conversation_whose_turn_is_in_progress(api: FakeOpenAI) -> None:
    talk = _talk("Summarizer", "teh one")
    with conversation.turn(talk):  # another front end is in the middle of a turn
        code, _, err = _cli("conversations", "rm", talk.id)
    assert code == 1 and "has a turn in progress" in err
    assert (_state() / f"{talk.id}.json").exists()
    assert _cli("conversations", "rm", talk.id)[0] == 0  # once the turn is done


def test_continue_without_a_name_continues_the_last_conversation_with_its_assistant(api: FakeOpenAI) -> None:
    assert run_program("gpt-tools", "run", "Summarizer", "-c", "-t", "teh old").returncode == 0
    assert run_program("gpt-tools", "run", "DocWriter", "--continue", "-t", "draft it").returncode == 0
    [docwriter] = [p for p in _state().glob("conv-*.json") if json.loads(p.read_text())["assistant"] == "DocWriter"]
    chained_on = json.loads(docwriter.read_text())["last_response_id"]
    done = run_program("gpt-tools", "run", "-c", "-t", "and shorter")
    assert done.returncode == 0, done.stderr
    third = api.model_requests()[2].body
    assert third["previous_response_id"] == chained_on
    assert third["instructions"] == api.model_requests()[1].body["instructions"]  # DocWriter's, not Summarizer's
    users = [m["content"] for m in json.loads(docwriter.read_text())["messages"] if m["role"] == "user"]
    assert users == ["draft it", "and shorter"]


def test_continue_without_a_name_takes_a_first_word_that_is_a_file_as_a_file(api: FakeOpenAI) -> None:
    assert run_program("gpt-tools", "run", "DocWriter", "-c", "-t", "draft it").returncode == 0
    Path("notes.md").write_text("teh notes\n")
    done = run_program("gpt-tools", "run", "-c", "notes.md")
    assert done.returncode == 0, done.stderr
    assert "teh notes" in json.dumps(api.model_requests()[1].body["input"])


def test_conversation_id_prefix_without_a_name(api: FakeOpenAI) -> None:
    talk = _talk("Summarizer", "teh one")
    done = run_program("gpt-tools", "run", "--conversation", talk.id[5:11], "-t", "teh two")
    assert done.returncode == 0, done.stderr
    assert [m["content"] for m in conversation.load(talk.id).messages][2:] == ["teh two", "the two"]


def test_continue_without_a_name_and_no_conversation_is_a_usage_error(api: FakeOpenAI) -> None:
    assert run_program("gpt-tools", "run", "Summarizer", "-t", "teh").returncode == 0  # a plain run: none
    code, _, err = _cli("run", "-c", "-t", "more")
    assert code == 2 and "no conversation in" in err and "a plain run is not part of any conversation" in err
    assert len(api.model_requests()) == 1


def test_the_help_says_a_plain_run_is_not_part_of_a_conversation() -> None:
    code, out, _ = _cli("run", "--help")
    assert code == 0 and "-c, --continue" in out
    assert "not part of any conversation" in " ".join(out.split())
    code, out, _ = _cli("conversations", "--help")
    assert "not part of any conversation" in " ".join(out.split())


def test_an_unreadable_conversation_is_listed_with_how_to_remove_it_and_rm_removes_it(api: FakeOpenAI) -> None:
    _talk("Summarizer", "teh one")
    (_state() / "conv-damaged1.json").write_text("{not json")
    code, out, err = _cli("conversations", "list")
    assert code == 0 and "Summarizer" in out and "conv-damaged1" not in out
    assert "conv-damaged1: cannot be read; `gpt-tools conversations rm conv-damaged1` removes it" in err
    code, _, err = _cli("conversations", "show", "damaged")
    assert code == 2 and "cannot be read" in err and "Traceback" not in err
    code, _, err = _cli("conversations", "rm", "damaged")
    assert code == 0 and "removed conv-damaged1 (unreadable)" in err
    assert not (_state() / "conv-damaged1.json").exists()


def test_conversation_last_without_a_name(api: FakeOpenAI) -> None:
    assert run_program("gpt-tools", "run", "DocWriter", "-c", "-t", "draft it").returncode == 0
    done = run_program("gpt-tools", "run", "--conversation", "last", "-t", "shorter")
    assert done.returncode == 0, done.stderr
    [saved] = list(_state().glob("conv-*.json"))
    assert len(json.loads(saved.read_text())["messages"]) == 4


def test_list_here_shows_only_this_projects_conversations(api: FakeOpenAI) -> None:
    here = _talk("Summarizer", "teh here")
    elsewhere = conversation.new("Summarizer", Path.cwd().parent)
    gpt_tools.run("Summarizer", "teh elsewhere", conversation=elsewhere)
    _, everywhere, _ = _cli("conversations", "list")
    assert here.id in everywhere and elsewhere.id in everywhere
    code, out, _ = _cli("conversations", "list", "--here")
    assert code == 0 and here.id in out and elsewhere.id not in out


DAMAGED = {  # valid JSON of the wrong shape: each crashed `list` (or `show`, or a turn) with a traceback
    "conv-bad1": {"messages": [1]},
    "conv-bad2": {"updated": 5},
    "conv-bad3": {"messages": None},
    "conv-bad4": {"assistant": ["x"]},
    "conv-bad5": {"messages": [{"role": "user", "content": 7}]},
    "conv-bad6": {"last_response_id": {"id": "resp_1"}},
    "conv-bad7": {"id": "conv-other"},  # a record under another's name would be saved into that other file
}


def test_damaged_records_are_unreadable_never_a_crash(api: FakeOpenAI) -> None:
    good = _talk("Summarizer", "teh one")
    for name, damage in DAMAGED.items():
        record = {"id": name, "assistant": "Summarizer", "project": str(Path.cwd()), "messages": []} | damage
        (_state() / f"{name}.json").write_text(json.dumps(record))
    (_state() / "conv-bad8.json").write_text("[1, 2]")
    for args in (["list"], ["list", "--json"]):
        code, out, err = _cli("conversations", *args)
        assert code == 0 and good.id in out and "Traceback" not in err, err
        assert "conv-bad" not in out and "conv-other" not in out
        assert all(f"conv-bad{n}: cannot be read" in err for n in range(1, 9)), err
    for name in (*DAMAGED, "conv-bad8"):
        code, _, err = _cli("conversations", "show", name)
        assert code == 2 and "cannot be read" in err and "Traceback" not in err, err
    code, _, err = _cli("run", "Summarizer", "--conversation", "conv-bad1", "-t", "more")
    assert code == 2 and "cannot be read" in err and "Traceback" not in err
    code, _, err = _cli("conversations", "rm", *DAMAGED, "conv-bad8")
    assert code == 0 and err.count("(unreadable)") == 8
    assert not (_state() / "conv-other.json").exists() and [p.stem for p in _state().glob("conv-*.json")] == [good.id]


def test_json_failures_print_the_error_object_with_the_exit_status(api: FakeOpenAI) -> None:
    for args in (["show", "nope", "--json"], ["export", "../../etc/passwd", "--json"]):
        code, out, err = _cli("conversations", *args)
        assert code == 2 and "error:" in err  # stdout was empty
        error = json.loads(out)
        assert error["status"] == "error" and error["code"] == 2 and error["error"] == "UsageError"


def test_last_names_this_projects_last_conversation_in_show_export_and_rm(api: FakeOpenAI) -> None:
    code, _, err = _cli("conversations", "show", "last")
    assert code == 2 and "no conversation in" in err
    older = _talk("Summarizer", "teh older")
    assert run_program("gpt-tools", "run", "DocWriter", "-c", "-t", "draft it").returncode == 0
    [newer] = [p.stem for p in _state().glob("conv-*.json") if p.stem != older.id]
    code, out, _ = _cli("conversations", "show", "last")  # it was "no conversation 'last'"
    assert code == 0 and out.startswith(f"{newer} · DocWriter")
    code, out, _ = _cli("conversations", "export", "last", "--json")
    assert code == 0 and json.loads(out)["id"] == newer
    code, _, err = _cli("conversations", "rm", "last")
    assert code == 0 and f"removed {newer}" in err and (_state() / f"{older.id}.json").exists()


def test_continue_with_an_assistant_the_config_no_longer_defines_says_which_conversation(api: FakeOpenAI) -> None:
    config = Path(os.environ["GPT_TOOLS_CONFIG"])
    defined = config.read_text()
    config.write_text(defined + '\n[assistants.Mine]\ninstructions = "Be brief."\n')
    assert run_program("gpt-tools", "run", "Mine", "-c", "-t", "teh one").returncode == 0
    config.write_text(defined)  # Mine is gone
    talk = conversation.latest(Path.cwd())
    assert talk is not None
    for args in (["run", "-c", "-t", "more"], ["chat", "-c"]):
        code, _, err = _cli(*args)
        assert code == 2 and f"conversation {talk.id} is with 'Mine', which this project's config no longer" in err
    assert len(api.model_requests()) == 1


def test_json_output_onto_a_full_disk_is_one_error_line_never_a_traceback(api: FakeOpenAI) -> None:
    import subprocess

    from tests.conftest import program

    _talk("Summarizer", "teh one")
    for args in (["conversations", "list", "--json"], ["conversations", "show", "last", "--json"], ["list", "--json"]):
        with open("/dev/full", "wb") as full:
            done = subprocess.run([program("gpt-tools"), *args], stdout=full, stderr=subprocess.PIPE, timeout=60)
        # The --json failure object was written to the same full stdout, which raised again.
        assert done.returncode == 1 and b"Traceback" not in done.stderr, (args, done.stderr)
        assert done.stderr.count(b"cannot write to stdout: No space left on device") == 1, done.stderr


def test_bare_conversations_and_batch_print_their_help_and_succeed_as_bare_gpt_tools_does() -> None:
    for group in ("conversations", "batch"):
        done = run_program("gpt-tools", group)
        assert done.returncode == 0, (group, done.stderr)  # it was 2, the help on stderr
        assert done.stdout.startswith(f"Usage: gpt-tools {group} ".encode()) and b"Commands:" in done.stdout


def test_export_keeps_a_messages_leading_indent(api: FakeOpenAI) -> None:
    api.responder = lambda text: "    indented code\n    second line\n\n"
    talk = _talk("Summarizer", "  two spaces first")
    code, out, _ = _cli("conversations", "export", talk.id)
    # strip() took the indent of the first line: the code block became a paragraph.
    assert code == 0 and "## Summarizer\n\n    indented code\n    second line\n" in out
    assert "## You\n\n  two spaces first\n" in out
    code, out, _ = _cli("conversations", "show", talk.id)
    assert code == 0 and "Summarizer>\n    indented code\n" in out


def test_a_stamp_at_the_ends_of_time_is_shown_as_stored(api: FakeOpenAI) -> None:
    _state().mkdir(parents=True, exist_ok=True)
    for n, stamp in enumerate(("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00")):
        record = {"id": f"conv-edge{n}", "assistant": "Summarizer", "project": str(Path.cwd()), "updated": stamp}
        (_state() / f"conv-edge{n}.json").write_text(json.dumps(record))
    code, out, err = _cli("conversations", "list")  # an OverflowError in local time: a traceback
    assert code == 0 and "Traceback" not in err and "0001-01-01T00:00:00+05:00" in out
    code, out, err = _cli("conversations", "show", "conv-edge1")
    assert code == 0 and "last used 9999-12-31T23:59:59-05:00" in out, err
