"""Batch runs: submit builds the JSONL a live run would send, collect applies it with the live guards."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gpt_tools import load_config
from gpt_tools.cli.batch import batch_group
from gpt_tools.config.definitions import DEFAULT_MODEL
from gpt_tools.core.batch import records_dir
from gpt_tools.core.inputs import prepare
from gpt_tools.errors import GptToolsError
from tests.conftest import program, write_config
from tests.fake_openai import FakeOpenAI, Scripted

TYPO = "# Guide\n\nYou will recieve teh answer.\n\n```sh\necho teh\n```\n"
FIXED = "# Guide\n\nYou will receive the answer.\n\n```sh\necho teh\n```\n"
CLEAN = "# Clean\n\nNothing to fix here.\n"
CHUNK_TOKENS = 60


def _long() -> str:
    filler = "long enough to fill a chunk of its own, with some more words for good measure."
    sections = [f"## Part {i}\n\nThis is teh text of part {i}, {filler}\n\n" for i in range(3)]
    return "# Long\n\n" + "".join(sections)


@pytest.fixture
def files(api: FakeOpenAI) -> dict[str, Path]:
    write_config(Path.cwd(), f"max_retries = 2\nmax_retry_wait = 5\nchunk_tokens = {CHUNK_TOKENS}\n")
    docs = Path("docs")
    (docs / "sub").mkdir(parents=True)
    paths = {"crlf": docs / "crlf.md", "long": docs / "long.md", "clean": docs / "sub" / "clean.md"}
    paths["typo"] = docs / "typo.md"
    paths["typo"].write_text(TYPO)
    paths["crlf"].write_bytes(b"teh line\r\nsecond\r\n")
    paths["crlf"].chmod(0o640)
    paths["long"].write_text(_long())
    paths["clean"].write_text(CLEAN)
    return paths  # sorted as a DIR expands: crlf, long, sub/clean, typo


def _batch(*args: str) -> int:
    """The group as `gpt-tools batch` runs it: a GptToolsError is its exit status."""
    try:
        status = batch_group.main(list(args), prog_name="gpt-tools batch", standalone_mode=False)
    except GptToolsError as exc:
        return exc.exit_code
    return int(status or 0)


def _submit(capfd: pytest.CaptureFixture[str], *args: str) -> str:
    assert _batch("submit", "MarkdownLinter", *args) == 0
    return capfd.readouterr().out.splitlines()[0]


def _chunks(text: str) -> int:
    return len(prepare(text, protect_regions=True, chunk_tokens=CHUNK_TOKENS).chunks)


def _lines(api: FakeOpenAI, batch_id: str) -> list[dict[str, Any]]:
    stored = api.files[api.batches[batch_id].input_file_id]
    assert stored.purpose == "batch"
    return [json.loads(line) for line in stored.content.decode().splitlines()]


def _snapshot(files: dict[str, Path]) -> dict[str, tuple[bytes, int]]:
    return {name: (path.read_bytes(), path.stat().st_mtime_ns) for name, path in files.items()}


def test_submit_builds_one_request_per_chunk(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    assert _chunks(_long()) == 3  # the long file really is chunked
    batch_id = _submit(capfd, "docs")
    lines = _lines(api, batch_id)
    order = ["crlf", "long", "clean", "typo"]
    expected = [f"{i}-{n}" for i, name in enumerate(order) for n in range(_chunks(files[name].read_text()))]
    assert [line["custom_id"] for line in lines] == expected
    instructions = load_config().assistant("MarkdownLinter").instructions.rstrip("\n")
    for line in lines:
        assert line["method"] == "POST" and line["url"] == "/v1/responses"
        body = line["body"]
        assert body["stream"] is False and body["store"] is False
        assert body["model"] == DEFAULT_MODEL and body["instructions"].startswith(instructions)
        masked = "⟦" in body["input"][0]["content"][0]["text"]  # as live: a chunk's markers are explained
        assert body["instructions"][len(instructions) :].startswith("\n\n# Protected regions") == masked
    typo_text = lines[-1]["body"]["input"][0]["content"][0]["text"]
    assert "recieve teh" in typo_text and "echo teh" not in typo_text and "⟦B1⟧" in typo_text  # code is masked
    assert "- ⟦B…⟧ a code block" in lines[-1]["body"]["instructions"]
    assert api.model_requests() == []  # nothing ran live
    job = api.batches[batch_id]
    assert job.endpoint == "/v1/responses" and job.completion_window == "24h"
    assert job.metadata == {"tool": "gpt-tools", "assistant": "MarkdownLinter"}


def test_submit_saves_the_record(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    batch_id = _submit(capfd, str(files["typo"]), str(files["long"]))
    record = json.loads((records_dir() / f"{batch_id}.json").read_text())
    assert record["id"] == batch_id and record["assistant"] == "MarkdownLinter" and record["model"] == DEFAULT_MODEL
    assert record["root"] == str(Path.cwd().resolve()) and record["created"]
    typo, long = record["files"]
    assert typo["path"] == str(files["typo"].resolve()) and typo["chunks"] == 1 and typo["custom_ids"] == ["0-0"]
    assert typo["sha256"] == hashlib.sha256(TYPO.encode()).hexdigest()
    assert long["chunks"] == 3 and long["custom_ids"] == ["1-0", "1-1", "1-2"]
    assert "recieve" not in json.dumps(record)  # no content in the record


def test_dry_run_of_one_file_says_1_request_for_1_file(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    assert _batch("submit", "MarkdownLinter", str(files["typo"]), "--dry-run") == 0
    assert "dry run: 1 request for 1 file (" in capfd.readouterr().out
    batch_id = _submit(capfd, str(files["typo"]))
    assert _batch("status", batch_id) == 0
    assert "  MarkdownLinter, 1 file, submitted " in capfd.readouterr().out
    assert _batch("status") == 0
    assert f"{batch_id}  MarkdownLinter  1 file  " in capfd.readouterr().out


def test_a_file_empty_but_for_a_bom_is_skipped(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    Path("docs/bom.md").write_bytes(b"\xef\xbb\xbf\n")
    assert _batch("submit", "MarkdownLinter", "docs/bom.md", str(files["typo"]), "--dry-run") == 0
    out, err = capfd.readouterr()
    assert "docs/bom.md: skipped: empty" in err and "dry run: 1 request for 1 file (" in out


def test_dry_run_sends_nothing(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    assert _batch("submit", "MarkdownLinter", "docs", "--dry-run") == 0
    assert "dry run: 6 requests for 4 files" in capfd.readouterr().out
    assert api.uploads == 0 and api.batches == {} and not records_dir().exists()


def test_skips_hidden_binary_and_secret_files(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    Path("docs/.drafts").mkdir()
    Path("docs/.drafts/hidden.md").write_text("teh zebrafish\n")
    Path("docs/binary.md").write_bytes(b"teh\0bin\n")
    Path("docs/latin1.md").write_bytes("caf\xe9 teh\n".encode("latin-1"))
    Path("docs/secret.md").write_text("key AKIAABCDEFGHIJKLMNOP here\n")
    assert _batch("submit", "MarkdownLinter", "docs") == 0
    out, err = capfd.readouterr()
    batch_id = out.splitlines()[0]
    assert "binary.md: skipped" in err and "latin1.md: skipped" in err and "not valid UTF-8" in err
    assert "secret.md: skipped" in err and "--allow-secrets" in err and "AKIAABCDEFGHIJKLMNOP" not in err
    sent = json.dumps(_lines(api, batch_id))
    assert "zebrafish" not in sent and "AKIA" not in sent and len(api.batches[batch_id].input_file_id) > 0


def test_writing_assistant_and_unknown_batch_are_usage_errors(files: dict[str, Path], api: FakeOpenAI) -> None:
    assert _batch("submit", "Summarizer", "docs") == 2
    assert _batch("collect", "batch_nope") == 2
    assert _batch("collect", "../escape") == 2
    assert api.uploads == 0


def test_status_before_completion_and_collect_writes_nothing(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    api.batch_polls = 5
    batch_id = _submit(capfd, "docs")
    before = _snapshot(files)
    assert _batch("status", batch_id) == 0
    out = capfd.readouterr().out
    assert f"{batch_id}: in_progress, 0/6 requests done, 0 failed" in out and "MarkdownLinter, 4 files" in out
    assert _batch("status") == 0
    listed = capfd.readouterr().out
    assert batch_id in listed and "MarkdownLinter  4 files  submitted  in_progress" in listed
    assert _batch("collect", batch_id, "--write") == 1
    assert "is in_progress" in capfd.readouterr().err
    assert _snapshot(files) == before


def test_collect_diff_shows_and_writes_nothing(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    batch_id = _submit(capfd, "docs")
    before = _snapshot(files)
    assert _batch("collect", batch_id) == 0
    out = capfd.readouterr().out
    assert "would fix docs/typo.md:" in out and "-You will recieve teh answer." in out
    assert "+You will receive the answer." in out and "unchanged docs/sub/clean.md" in out
    assert _snapshot(files) == before


def test_collect_write_applies_fixes_and_keeps_conventions(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    batch_id = _submit(capfd, "docs")
    clean_mtime = files["clean"].stat().st_mtime_ns
    assert _batch("collect", batch_id, "--write") == 0
    out = capfd.readouterr().out
    assert files["typo"].read_text() == FIXED  # the code block's "echo teh" is untouched
    assert files["crlf"].read_bytes() == b"the line\r\nsecond\r\n"
    assert files["crlf"].stat().st_mode & 0o777 == 0o640
    assert files["long"].read_text() == _long().replace("teh", "the")
    assert files["clean"].stat().st_mtime_ns == clean_mtime
    assert "fixed docs/typo.md" in out and "fixed docs/long.md" in out and "unchanged docs/sub/clean.md" in out
    assert json.loads((records_dir() / f"{batch_id}.json").read_text())["state"] == "collected"
    assert api.model_requests() == []


def test_collecting_twice_is_harmless(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    batch_id = _submit(capfd, "docs")
    assert _batch("collect", batch_id, "--write") == 0
    after = _snapshot(files)
    capfd.readouterr()
    assert _batch("collect", batch_id, "--write") == 0
    out = capfd.readouterr().out
    assert "already applied docs/typo.md" in out and "already applied docs/long.md" in out
    assert _snapshot(files) == after
    assert _batch("collect", batch_id) == 0  # and --diff after --write shows no diff
    assert "would fix" not in capfd.readouterr().out


def test_collect_from_another_folder(
    files: dict[str, Path], api: FakeOpenAI, capfd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch_id = _submit(capfd, "docs")
    typo = files["typo"].resolve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the record keeps absolute paths and the project root
    assert _batch("collect", batch_id, "--write") == 0
    assert typo.read_text() == FIXED
    assert f"fixed {typo}" in capfd.readouterr().out


def test_file_edited_after_submit_is_skipped(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    batch_id = _submit(capfd, "docs")
    files["typo"].write_text(TYPO + "\nA new paragraph.\n")
    assert _batch("collect", batch_id, "--write") == 1
    out = capfd.readouterr().out
    assert "skipped docs/typo.md: changed since submit" in out
    assert files["typo"].read_text() == TYPO + "\nA new paragraph.\n"
    assert files["crlf"].read_bytes() == b"the line\r\nsecond\r\n"  # the others are applied
    assert json.loads((records_dir() / f"{batch_id}.json").read_text())["state"] == "partly collected"


def test_a_batch_that_partly_fails(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    batch_id = _submit(capfd, "docs")
    # One reply per line in file order: crlf, long x3, clean, typo; the long file's second chunk fails.
    api.script(Scripted(), Scripted(), Scripted(fault="500"))
    long_before = files["long"].read_bytes()
    assert _batch("collect", batch_id, "--write") == 1
    out = capfd.readouterr().out
    assert "left untouched docs/long.md: chunk 2/3: HTTP 500: The server had an error" in out
    assert files["long"].read_bytes() == long_before
    assert files["typo"].read_text() == FIXED and files["crlf"].read_bytes() == b"the line\r\nsecond\r\n"
    job = api.batches[batch_id]
    assert job.counts == {"total": 6, "completed": 5, "failed": 1} and job.error_file_id is not None
    error_line = json.loads(api.files[job.error_file_id].content)
    assert error_line["custom_id"] == "1-1" and error_line["response"]["status_code"] == 500
    # Collecting again: the fixed files are already applied, the failed one is still reported.
    assert _batch("collect", batch_id, "--write") == 1
    out = capfd.readouterr().out
    assert "already applied docs/typo.md" in out and "left untouched docs/long.md" in out


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Scripted(fault="incomplete"), "not complete: status incomplete"),
        (Scripted(fault="empty"), "empty reply"),
        (Scripted(text="# Guide\n\nYou will receive the answer.\n"), "removed a protected code block"),
        (
            Scripted(text="Sure, here it is:\n\n# Guide\n\nYou will receive the answer.\n\n⟦B1⟧\n"),
            "adds 1 block at the start",
        ),
    ],
)
def test_replies_the_guards_refuse_leave_the_file_untouched(
    files: dict[str, Path], api: FakeOpenAI, capfd, reply: Scripted, reason: str
) -> None:
    batch_id = _submit(capfd, str(files["typo"]), str(files["crlf"]))
    api.script(reply)
    assert _batch("collect", batch_id, "--write") == 1
    out = capfd.readouterr().out
    assert "left untouched docs/typo.md" in out and reason in out
    assert files["typo"].read_text() == TYPO and files["crlf"].read_bytes() == b"the line\r\nsecond\r\n"


def test_fenced_reply_is_unwrapped(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    batch_id = _submit(capfd, str(files["crlf"]))
    api.script(Scripted(fault="fenced"))
    assert _batch("collect", batch_id, "--write") == 0
    assert files["crlf"].read_bytes() == b"the line\r\nsecond\r\n"


def test_cancel(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    api.batch_polls = 5
    batch_id = _submit(capfd, "docs")
    assert _batch("cancel", batch_id) == 0
    assert f"{batch_id}: cancelling" in capfd.readouterr().out
    assert _batch("collect", batch_id, "--write") == 1
    assert "is cancelled" in capfd.readouterr().err


# --- the fake's Batch API, held to the real SDK --------------------------------------------------


def _jsonl(*lines: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def _request(custom_id: str, text: str, **extra: Any) -> dict[str, Any]:
    body = {"model": "gpt-5-mini", "input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}]}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/responses", "body": {**body, **extra}}


def test_sdk_creates_retrieves_and_downloads(client: Any, server: FakeOpenAI) -> None:
    from openai.types.responses import Response

    data = _jsonl(_request("a", "teh one"), _request("b", "teh two"), _request("c", "streamed", stream=True))
    uploaded = client.files.create(file=("in.jsonl", data), purpose="batch")
    server.script(Scripted(), Scripted(fault="500"))
    created = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/responses", completion_window="24h", metadata={"k": "v"}
    )
    assert created.status == "validating" and created.output_file_id is None and created.metadata == {"k": "v"}
    done = client.batches.retrieve(created.id)
    assert done.status == "completed" and done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (3, 1, 2)
    output = [json.loads(line) for line in client.files.content(done.output_file_id).content.splitlines()]
    assert [line["custom_id"] for line in output] == ["a"] and output[0]["id"].startswith("batch_req_")
    assert Response.model_validate(output[0]["response"]["body"]).output_text == "the one"
    errors = [json.loads(line) for line in client.files.content(done.error_file_id).content.splitlines()]
    assert {line["custom_id"]: line["response"]["status_code"] for line in errors} == {"b": 500, "c": 400}
    assert client.files.retrieve(done.output_file_id).purpose == "batch_output"
    assert [batch.id for batch in client.batches.list()] == [created.id]


def test_sdk_polls_and_cancels(client: Any, server: FakeOpenAI) -> None:
    import openai

    server.batch_polls = 2
    uploaded = client.files.create(file=("in.jsonl", _jsonl(_request("a", "teh"))), purpose="batch")
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/responses", completion_window="24h")
    assert client.batches.retrieve(batch.id).status == "in_progress"
    assert client.batches.retrieve(batch.id).status == "completed"
    other = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/responses", completion_window="24h")
    assert client.batches.cancel(other.id).status == "cancelling"
    assert client.batches.retrieve(other.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="Cannot cancel"):
        client.batches.cancel(batch.id)
    wrong = client.files.create(file=("notes.md", b"teh"), purpose="assistants")
    with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
        client.batches.create(input_file_id=wrong.id, endpoint="/v1/responses", completion_window="24h")
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_missing")


def test_invalid_input_file_fails_the_batch(client: Any, server: FakeOpenAI) -> None:
    bad = _jsonl(_request("a", "x"), _request("a", "dup"), {**_request("b", "x"), "url": "/v1/chat/completions"})
    uploaded = client.files.create(file=("in.jsonl", bad), purpose="batch")
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/responses", completion_window="24h")
    failed = client.batches.retrieve(batch.id)
    assert failed.status == "failed" and failed.errors is not None and failed.errors.data is not None
    assert [(error.code, error.line) for error in failed.errors.data] == [
        ("duplicate_custom_id", 2),
        ("mismatched_endpoint", 3),
    ]


def test_a_collected_batch_is_logged_once_at_the_batch_price(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    from gpt_tools.state import runlog

    batch_id = _submit(capfd, "docs")
    assert _batch("collect", batch_id) == 0
    assert _batch("collect", batch_id, "--write") == 0
    rows = [row for row in runlog.recent(runlog.Filters(frontend="batch"), 10)]
    assert len(rows) == 1
    [row] = rows
    assert (
        row["assistant"] == "MarkdownLinter" and row["status"] == "ok" and row["requests"] == len(_lines(api, batch_id))
    )
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0
    full = runlog.cost(row["model"], row["input_tokens"], row["cached_tokens"], row["output_tokens"], runlog.PRICES)
    assert full is not None and row["cost"] == pytest.approx(full / 2)


# ------------------------------------------------------------------- symlinks and private records


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Files outside the project that a cloned repository's symlinks point at."""
    folder = tmp_path / "outside"
    (folder / "notes").mkdir(parents=True)
    (folder / "secret.md").write_text(TYPO)
    (folder / "notes" / "private.md").write_text(TYPO)
    return folder


def test_a_walk_never_follows_symlinks(files: dict[str, Path], api: FakeOpenAI, capfd, outside: Path) -> None:
    Path("docs/netrc.md").symlink_to(outside / "secret.md")  # committed in the repository
    Path("docs/notes").symlink_to(outside / "notes", target_is_directory=True)
    assert _batch("submit", "MarkdownLinter", "docs") == 0
    out, err = capfd.readouterr()
    batch_id = out.splitlines()[0]
    assert "docs/netrc.md: skipped: a symlink" in err
    record = json.loads((records_dir() / f"{batch_id}.json").read_text())
    assert [Path(entry["path"]).name for entry in record["files"]] == ["crlf.md", "long.md", "clean.md", "typo.md"]
    assert _batch("collect", batch_id, "--write") == 0
    assert (outside / "secret.md").read_text() == TYPO and (outside / "notes" / "private.md").read_text() == TYPO


def test_an_explicit_symlink_must_stay_inside_the_project(
    files: dict[str, Path], api: FakeOpenAI, capfd, outside: Path
) -> None:
    Path("docs/netrc.md").symlink_to(outside / "secret.md")
    Path("away").symlink_to(outside, target_is_directory=True)
    with pytest.raises(GptToolsError, match="every file was left out") as refused:
        batch_group.main(["submit", "MarkdownLinter", "docs/netrc.md", "away", "away/secret.md"], standalone_mode=False)
    assert str(refused.value).count("outside the project") == 3 and api.uploads == 0
    Path("docs/alias.md").symlink_to(files["typo"].resolve())  # inside: taken, as its target
    batch_id = _submit(capfd, "docs/alias.md")
    [entry] = json.loads((records_dir() / f"{batch_id}.json").read_text())["files"]
    assert entry["path"] == str(files["typo"].resolve())


def test_collect_never_writes_through_a_symlink_swapped_in(
    files: dict[str, Path], api: FakeOpenAI, capfd, outside: Path
) -> None:
    batch_id = _submit(capfd, str(files["typo"]))
    files["typo"].unlink()
    files["typo"].symlink_to(outside / "secret.md")  # same content, so it still looks unchanged
    assert _batch("collect", batch_id, "--write") == 1
    assert "skipped docs/typo.md: no longer a regular file" in capfd.readouterr().out
    assert (outside / "secret.md").read_text() == TYPO and files["typo"].is_symlink()


def test_batch_records_are_private(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    batch_id = _submit(capfd, str(files["typo"]))
    path = records_dir() / f"{batch_id}.json"
    for item, mode in ((path, 0o600), (records_dir(), 0o700), (records_dir().parent, 0o700)):
        assert item.stat().st_mode & 0o777 == mode, item
    path.chmod(0o644)  # a record from an older version
    records_dir().chmod(0o755)
    assert _batch("collect", batch_id) == 0
    assert path.stat().st_mode & 0o777 == 0o600 and records_dir().stat().st_mode & 0o777 == 0o700


def test_file_names_reach_the_terminal_escaped(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    evil = Path("docs") / "\x1b[2Jevil.md"
    evil.write_text(TYPO)
    batch_id = _submit(capfd, str(evil))
    assert _batch("collect", batch_id) == 0
    out = capfd.readouterr().out
    assert "\x1b" not in out and "would fix docs/\\x1b[2Jevil.md" in out


def test_a_symlink_swapped_in_while_collecting_is_not_written_through(
    files: dict[str, Path], api: FakeOpenAI, capfd, outside: Path
) -> None:
    from gpt_tools.core import batch, batch_collect

    batch_id = _submit(capfd, str(files["typo"]))
    with batch.locked(batch_id) as record:
        _, outcomes = batch_collect.collect(record, batch.endpoint_for(record))
        assert [outcome.status for outcome in outcomes] == ["fixed"]
        files["typo"].unlink()  # between reading the file and writing the fix
        files["typo"].symlink_to(outside / "secret.md")
        [written] = batch_collect.apply(record, outcomes)
    assert written.status == "skipped" and "no longer a regular file" in written.reason
    assert (outside / "secret.md").read_text() == TYPO


def test_a_fifo_swapped_in_is_never_read(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    import os

    batch_id = _submit(capfd, str(files["typo"]))
    files["typo"].unlink()
    os.mkfifo(files["typo"])  # reading it would block forever
    assert _batch("collect", batch_id, "--write") == 1
    assert "skipped docs/typo.md: no longer a regular file" in capfd.readouterr().out


def _limited_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # an unbounded read dies here, not the machine


@pytest.mark.timeout(90)
def test_submit_skips_a_named_device_or_fifo_without_reading_it(files: dict[str, Path], api: FakeOpenAI) -> None:
    """`batch submit X /dev/zero` read the device whole (all memory); a named FIFO blocked forever."""
    os.mkfifo("pipe.md")
    done = subprocess.run(
        [program("gpt-tools"), "batch", "submit", "MarkdownLinter", "/dev/zero", "pipe.md", str(files["typo"])],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        preexec_fn=_limited_memory,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"/dev/zero: skipped: it is not a regular file" in done.stderr
    assert b"pipe.md: skipped: it is not a regular file" in done.stderr
    assert len(api.batches) == 1


def test_submit_skips_a_file_over_max_bytes_saying_so(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    Path("docs/big.md").write_text("teh words " * 100)
    assert _batch("submit", "MarkdownLinter", "--max-bytes", "500", "docs") == 0
    assert "big.md: skipped: it is larger than 500 bytes (--max-bytes)" in capfd.readouterr().err


@pytest.mark.parametrize("value", ["0", "-1"])
def test_submit_max_bytes_below_1_is_a_usage_error(files: dict[str, Path], api: FakeOpenAI, value: str) -> None:
    """--max-bytes -1 would skip every file and pass."""
    import click

    with pytest.raises(click.BadParameter) as caught:
        _batch("submit", "MarkdownLinter", "--max-bytes", value, "docs")
    assert caught.value.exit_code == 2 and not api.batches


@pytest.mark.usefixtures("edits_mode")
def test_an_edits_batch_asks_for_edits_and_collect_applies_them_with_the_same_checks(
    files: dict[str, Path], api: FakeOpenAI, capfd
) -> None:
    batch_id = _submit(capfd, "docs/typo.md", "docs/crlf.md")
    lines = _lines(api, batch_id)
    assert len(lines) == 2  # raw, in edit_chunk_tokens chunks: one request per file here
    assert all(line["body"]["text"]["format"]["name"] == "edits" for line in lines)
    assert lines[0]["body"]["input"][0]["content"][-1]["text"] == TYPO  # sent raw: the code block too
    assert _batch("collect", batch_id, "--write") == 0
    # The fake "fixes" `echo teh` in the code block as well: that edit is refused, as in a live run.
    assert files["typo"].read_text() == FIXED
    assert "fixed docs/typo.md (1 edit(s) not applied (line 6: protected))" in capfd.readouterr().out
    assert files["crlf"].read_bytes() == b"the line\r\nsecond\r\n"
    assert json.loads((records_dir() / f"{batch_id}.json").read_text())["output"] == "edits"


def test_status_json_for_one_batch_and_for_the_list(files: dict[str, Path], api: FakeOpenAI, capfd) -> None:
    api.batch_polls = 5
    batch_id = _submit(capfd, "docs")
    assert _batch("status", batch_id, "--json") == 0
    shown = json.loads(capfd.readouterr().out)
    assert shown == {
        "id": batch_id,
        "status": "in_progress",
        "request_counts": {"completed": 0, "failed": 0, "total": 6},
        "errors": [],
        "assistant": "MarkdownLinter",
        "model": shown["model"],
        "files": 4,
        "submitted": shown["submitted"],
        "state": "submitted",
    }
    assert shown["model"] and shown["submitted"]
    # A record whose batch the server does not know: listed with why, the others still shown.
    record = json.loads((records_dir() / f"{batch_id}.json").read_text())
    (records_dir() / "batch_gone.json").write_text(json.dumps({**record, "id": "batch_gone", "created": "0"}))
    assert _batch("status", "--json") == 0
    gone, listed = json.loads(capfd.readouterr().out)  # oldest first
    assert gone["id"] == "batch_gone" and gone["status"] is None and gone["request_counts"] is None
    assert "server_error" in gone and gone["assistant"] == "MarkdownLinter"
    assert listed["id"] == batch_id and listed["status"] == "in_progress" and "server_error" not in listed
    records_dir().joinpath("batch_gone.json").unlink()
    records_dir().joinpath(f"{batch_id}.json").unlink()
    assert _batch("status", "--json") == 0
    assert json.loads(capfd.readouterr().out) == []  # none: an empty array, not a message on stdout


@pytest.mark.parametrize("mode", ["document", "edits"])
def test_a_batch_never_sends_an_opt_out_region_and_collect_keeps_it(
    files: dict[str, Path], api: FakeOpenAI, capfd, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("GPT_TOOLS_OUTPUT", mode)
    region = "<!-- gpt-tools: off -->\r\nteh private\r\n<!-- gpt-tools: on -->\r\n"
    doc = f"Fix teh start.\r\n\r\n{region}\r\nAnd teh end.\r\n"
    path = Path("docs/opt.md")
    path.write_bytes(doc.encode())
    batch_id = _submit(capfd, str(path))
    [line] = _lines(api, batch_id)
    assert "teh private" not in json.dumps(line) and "⟦O1⟧" in line["body"]["input"][0]["content"][-1]["text"]
    assert "- ⟦O…⟧ a part the author marked" in line["body"]["instructions"]
    assert _batch("collect", batch_id, "--write") == 0
    assert path.read_bytes() == doc.replace("Fix teh", "Fix the").replace("And teh", "And the").encode()


def test_status_json_failure_is_the_error_object_and_odd_shapes_are_missing(api: FakeOpenAI) -> None:
    from gpt_tools.cli.batch import _status_json
    from tests.conftest import run_program

    done = run_program("gpt-tools", "batch", "status", "batch_unknown", "--json")
    assert done.returncode == 1 and b"HTTP 404" in done.stderr  # stdout was empty
    error = json.loads(done.stdout)
    assert error["status"] == "error" and error["code"] == 1 and error["error"] == "ApiError"
    # A server's odd shapes are shown as missing: they crashed status with an AttributeError.
    odd = {"status": "failed", "errors": ["not an object"], "request_counts": [1, 2]}
    assert _status_json("batch_x", odd, None)["errors"] == []
    odd = {"status": "failed", "errors": {"data": ["x", {"code": "c", "message": "m", "line": 2}]}}
    shown = _status_json("batch_x", odd, None)
    assert shown["errors"] == [{"code": "c", "message": "m", "line": 2}] and shown["request_counts"]["total"] == 0
