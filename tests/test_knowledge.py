"""Knowledge files against the fake server: content-hash uploads, one vector store per assistant,
the state file, self-healing 404s, prune, per-run attachments, inlining for the chat backend."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import types
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import gpt_tools
from gpt_tools.cli.main import main
from gpt_tools.core import knowledge
from gpt_tools.core.guards import estimate_tokens
from gpt_tools.core.knowledge import STATE_FILE
from gpt_tools.wire import indexing
from gpt_tools.wire.transport import Endpoint
from tests.fake_openai import FakeOpenAI, Scripted

API_KEY = "sk-test-not-a-real-key"  # what the `api` fixture sets
FILES = {f"kb/k{i}.md": f"# Topic {i}\n\nKnowledge number {i}: " + "facts " * (20 + i) + "\n" for i in range(3)}


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batch polling waits 0.2 s between polls; keep its pacing logic but not the wall time."""
    fast = types.SimpleNamespace(monotonic=time.monotonic, sleep=lambda seconds: time.sleep(min(seconds, 0.005)))
    monkeypatch.setattr(indexing, "time", fast)


def write_project(root: Path, assistants: str, files: dict[str, str] | None = None) -> Path:
    for name, content in (FILES if files is None else files).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content, encoding="utf-8")
    config = root / "gpt-tools.toml"
    config.write_text("max_retries = 2\nmax_retry_wait = 5\n\n" + assistants, encoding="utf-8")
    return config


def kb_table(name: str = "Kb", tools: str = '["file_search"]', files: list[str] | None = None, extra: str = "") -> str:
    listed = json.dumps(list(FILES) if files is None else files)
    head = f'[assistants.{name}]\ninstructions = "Answer from the knowledge files."\n'
    return f"{head}tools = {tools}\nfiles = {listed}\n{extra}\n"


@pytest.fixture
def kb(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> FakeOpenAI:
    """A project (found from the working directory) whose assistant Kb uses file_search over FILES."""
    monkeypatch.delenv("GPT_TOOLS_CONFIG")
    write_project(isolated_env, kb_table())
    return api


def state() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(STATE_FILE).read_text(encoding="utf-8"))
    return data


def label_of(url: str) -> str:
    return knowledge.endpoint_label(Endpoint(base_url=url, api_key=None))


def sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def store_files(api: FakeOpenAI, store_id: str) -> set[str]:
    return set(api.vector_stores[store_id].file_ids)


def server_call(api: FakeOpenAI, method: str, path: str) -> Any:
    """A request to the fake as someone else (the dashboard, another tool) would make it."""
    request = urllib.request.Request(api.url + path, method=method, headers={"Authorization": f"Bearer {API_KEY}"})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=5) as reply:
        return json.loads(reply.read())


# --- sync: each content uploaded once ------------------------------------------------------------


def test_first_sync_uploads_each_file_second_makes_no_request(kb: FakeOpenAI) -> None:
    report = gpt_tools.sync_knowledge("Kb")
    assert kb.uploads == 3 == report.uploaded == report.attached and report.detached == 0
    assert report.vector_store_id is not None and list(kb.vector_stores) == [report.vector_store_id]
    assert store_files(kb, report.vector_store_id) == set(report.file_ids) == set(kb.files)
    assert [kb.files[i].content.decode() for i in report.file_ids] == list(FILES.values())
    assert [kb.files[i].filename for i in report.file_ids] == ["k0.md", "k1.md", "k2.md"]
    assert {f.purpose for f in kb.files.values()} == {"assistants"}

    seen = len(kb.requests)
    again = gpt_tools.sync_knowledge("Kb")
    assert len(kb.requests) == seen  # no HTTP request at all
    assert kb.uploads == 3 and (again.uploaded, again.attached, again.detached) == (0, 0, 0)
    assert (again.vector_store_id, again.file_ids) == (report.vector_store_id, report.file_ids)


def test_run_with_unchanged_knowledge_sends_only_the_model_request(kb: FakeOpenAI) -> None:
    gpt_tools.sync_knowledge("Kb")
    seen = len(kb.requests)
    assert gpt_tools.run("Kb", "What is teh topic?").text == "What is the topic?"
    assert [r.path for r in kb.requests[seen:]] == ["/v1/responses"]


def test_edited_file_is_uploaded_once_and_replaces_the_old_one(kb: FakeOpenAI) -> None:
    first = gpt_tools.sync_knowledge("Kb")
    assert first.vector_store_id is not None
    old_id = first.file_ids[1]
    Path("kb/k1.md").write_text("# Topic 1\n\nRevised.\n")
    report = gpt_tools.sync_knowledge("Kb")
    assert kb.uploads == 4 and (report.uploaded, report.attached, report.detached) == (1, 1, 1)
    new_id = report.file_ids[1]
    assert new_id != old_id and kb.files[new_id].content == b"# Topic 1\n\nRevised.\n"
    assert report.vector_store_id == first.vector_store_id and len(kb.vector_stores) == 1
    assert store_files(kb, first.vector_store_id) == {first.file_ids[0], new_id, first.file_ids[2]}
    assert old_id in kb.files  # detached, not deleted: `files prune` does that
    assert state()["assistants"]["Kb"]["files"] == [
        sha(FILES["kb/k0.md"]),
        sha("# Topic 1\n\nRevised.\n"),
        sha(FILES["kb/k2.md"]),
    ]


def test_renamed_file_is_not_uploaded_again(kb: FakeOpenAI) -> None:
    first = gpt_tools.sync_knowledge("Kb")
    Path("kb/k2.md").rename("kb/renamed.md")
    gpt_tools.set_assistant_files("Kb", ["kb/k0.md", "kb/k1.md", "kb/renamed.md"])
    seen = len(kb.requests)
    report = gpt_tools.sync_knowledge("Kb")
    assert kb.uploads == 3 and report.uploaded == 0
    assert report.file_ids == first.file_ids and len(kb.requests) == seen


def test_same_content_in_two_assistants_is_uploaded_once(kb: FakeOpenAI) -> None:
    Path("gpt-tools.toml").write_text(Path("gpt-tools.toml").read_text() + kb_table("Kb2", files=["kb/k0.md"]))
    one, two = gpt_tools.sync_knowledge("Kb"), gpt_tools.sync_knowledge("Kb2")
    assert kb.uploads == 3 and two.uploaded == 0 and two.file_ids == one.file_ids[:1]
    assert one.vector_store_id != two.vector_store_id and len(kb.vector_stores) == 2


def test_state_file_holds_only_hashes_names_and_ids(kb: FakeOpenAI) -> None:
    report = gpt_tools.sync_knowledge("Kb")
    raw = Path(STATE_FILE).read_text(encoding="utf-8")
    data = json.loads(raw)
    assert set(data) == {"version", "files", "assistants"} and data["version"] == 1
    assert set(data["files"]) == {sha(text) for text in FILES.values()}
    for digest, record in data["files"].items():
        assert set(record) == {"id", "name", "bytes"}
        assert kb.files[record["id"]].content == next(t.encode() for t in FILES.values() if sha(t) == digest)
        assert record["bytes"] == len(kb.files[record["id"]].content)
    assert sorted(r["name"] for r in data["files"].values()) == ["k0.md", "k1.md", "k2.md"]
    assert data["assistants"] == {
        "Kb": {"vector_store_id": report.vector_store_id, "files": [sha(text) for text in FILES.values()]}
    }
    assert "Knowledge number" not in raw and API_KEY not in raw and "facts" not in raw
    assert sorted(p.name for p in Path.cwd().glob(".gpt-tools-state*")) == [STATE_FILE]  # its lock: state dir


def test_files_sync_list_and_prune_commands(kb: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["files", "sync"]) == 0
    out, err = capfd.readouterr()
    store = next(iter(kb.vector_stores))
    assert out == "" and err.endswith(f"Kb: 3 files, 3 uploaded, 3 attached, 0 detached ({store})\n")
    assert main(["files", "sync", "Kb"]) == 0
    assert "Kb: 3 files, 0 uploaded, 0 attached, 0 detached" in capfd.readouterr().err

    old = state()["files"][sha(FILES["kb/k0.md"])]["id"]
    Path("kb/k0.md").write_text("changed\n")
    assert main(["files", "sync"]) == 0
    assert "1 uploaded, 1 attached, 1 detached" in capfd.readouterr().err

    assert main(["files", "list", "--json"]) == 0
    rows = json.loads(capfd.readouterr().out)
    assert sorted((r["name"], r["assistants"]) for r in rows) == [
        ("k0.md", []),
        ("k0.md", ["Kb"]),
        ("k1.md", ["Kb"]),
        ("k2.md", ["Kb"]),
    ]
    unused = next(r for r in rows if not r["assistants"])
    assert unused == {
        "sha256": sha(FILES["kb/k0.md"]),
        "id": old,
        "name": "k0.md",
        "bytes": len(FILES["kb/k0.md"]),
        "assistants": [],
    }
    assert main(["files", "list"]) == 0
    listing = capfd.readouterr().out
    assert f"{old}  " in listing and "k0.md  [unused]" in listing and "k1.md  [Kb]" in listing

    assert main(["files", "prune", "--dry-run"]) == 0
    out, err = capfd.readouterr()
    assert out == f"would delete {old} k0.md\n" and "1 unused file to delete" in err
    assert old in kb.files and len(state()["files"]) == 4

    assert main(["files", "prune"]) == 0
    out, err = capfd.readouterr()
    assert out == f"deleted {old} k0.md\n" and "1 unused file deleted" in err
    assert old not in kb.files and len(kb.files) == 3
    assert sha(FILES["kb/k0.md"]) not in state()["files"] and len(state()["files"]) == 3
    assert main(["files", "prune"]) == 0
    assert capfd.readouterr().out == ""

    seen = len(kb.requests)
    assert main(["files", "sync"]) == 0  # pruning never touches what is in use
    assert len(kb.requests) == seen


def test_prune_forgets_a_file_the_server_already_lost(kb: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    gpt_tools.sync_knowledge("Kb")
    old = state()["files"][sha(FILES["kb/k2.md"])]["id"]
    gpt_tools.set_assistant_files("Kb", ["kb/k0.md", "kb/k1.md"])
    gpt_tools.sync_knowledge("Kb")
    kb.forget_file(old)
    assert main(["files", "prune"]) == 0
    assert capfd.readouterr().out == f"deleted {old} k2.md\n"
    assert sha(FILES["kb/k2.md"]) not in state()["files"]


# --- self-healing --------------------------------------------------------------------------------


def test_verify_reuploads_a_file_the_server_lost(kb: FakeOpenAI) -> None:
    first = gpt_tools.sync_knowledge("Kb")
    assert first.vector_store_id is not None
    lost = first.file_ids[0]
    assert kb.forget_file(lost)
    seen = len(kb.requests)
    assert gpt_tools.sync_knowledge("Kb").file_ids == first.file_ids  # without --verify: trusts the state
    assert len(kb.requests) == seen
    report = gpt_tools.sync_knowledge("Kb", verify=True)
    assert kb.uploads == 4 and (report.uploaded, report.attached, report.detached) == (1, 1, 0)
    fresh = report.file_ids[0]
    assert fresh != lost and kb.files[fresh].content.decode() == FILES["kb/k0.md"]
    assert store_files(kb, first.vector_store_id) == {fresh, *first.file_ids[1:]}
    assert state()["files"][sha(FILES["kb/k0.md"])]["id"] == fresh
    # and verified again: nothing more to do
    assert gpt_tools.sync_knowledge("Kb", verify=True).uploaded == 0 and kb.uploads == 4


def test_verify_recreates_a_deleted_vector_store(kb: FakeOpenAI) -> None:
    first = gpt_tools.sync_knowledge("Kb")
    server_call(kb, "DELETE", f"/vector_stores/{first.vector_store_id}")
    report = gpt_tools.sync_knowledge("Kb", verify=True)
    assert report.vector_store_id not in (None, first.vector_store_id)
    assert kb.uploads == 3 and report.attached == 3 and report.uploaded == 0
    assert store_files(kb, report.vector_store_id or "") == set(first.file_ids)


def test_sync_heals_a_lost_file_when_attaching_it(kb: FakeOpenAI) -> None:
    first = gpt_tools.sync_knowledge("Kb")
    kb.forget_file(first.file_ids[0])
    Path("gpt-tools.toml").write_text(Path("gpt-tools.toml").read_text() + kb_table("Kb2", files=["kb/k0.md"]))
    report = gpt_tools.sync_knowledge("Kb2")  # the batch names a dead file: 404, forget it, upload again
    assert kb.uploads == 4 and report.uploaded == 1
    assert report.file_ids[0] != first.file_ids[0] and report.file_ids[0] in kb.files
    assert store_files(kb, report.vector_store_id or "") == {report.file_ids[0]}


@pytest.mark.parametrize("mode", ["write", "rewrite"])
def test_run_recovers_when_the_vector_store_was_deleted(kb: FakeOpenAI, mode: str) -> None:
    Path("gpt-tools.toml").write_text(Path("gpt-tools.toml").read_text() + f'mode = "{mode}"\n')
    first = gpt_tools.sync_knowledge("Kb")
    server_call(kb, "DELETE", f"/vector_stores/{first.vector_store_id}")
    result = gpt_tools.run("Kb", "teh question\n")
    assert result.text == "the question\n"
    sent = kb.model_requests()
    assert len(sent) == 2  # the first was refused with a 404, the retry went through
    assert sent[0].body["tools"] == [{"type": "file_search", "vector_store_ids": [first.vector_store_id]}]
    (store,) = kb.vector_stores
    assert sent[1].body["tools"] == [{"type": "file_search", "vector_store_ids": [store]}]
    assert store_files(kb, store) == set(first.file_ids) and kb.uploads == 3
    assert state()["assistants"]["Kb"]["vector_store_id"] == store


def _wordless_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every HTTP error keeps its status, code and param but says nothing: recovery must not read it."""
    from gpt_tools.wire import transport

    original = transport._error_from

    def wordless(*args: Any) -> Any:
        error = original(*args)
        error.args = (f"HTTP {error.status}: gone",)
        return error

    monkeypatch.setattr(transport, "_error_from", wordless)


def test_a_lost_file_is_healed_whatever_the_error_message_says(kb: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    first = gpt_tools.sync_knowledge("Kb")
    kb.forget_file(first.file_ids[0])
    Path("gpt-tools.toml").write_text(Path("gpt-tools.toml").read_text() + kb_table("Kb2", files=["kb/k0.md"]))
    _wordless_errors(monkeypatch)
    report = gpt_tools.sync_knowledge("Kb2")  # the 404 names no file: the server is asked which is gone
    assert kb.uploads == 4 and report.uploaded == 1
    assert report.file_ids[0] != first.file_ids[0] and report.file_ids[0] in kb.files


def test_a_lost_store_during_a_run_is_found_by_the_param(kb: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    first = gpt_tools.sync_knowledge("Kb")
    server_call(kb, "DELETE", f"/vector_stores/{first.vector_store_id}")
    _wordless_errors(monkeypatch)
    assert gpt_tools.run("Kb", "teh question\n").text == "the question\n"
    assert len(kb.model_requests()) == 2 and first.vector_store_id not in kb.vector_stores


def test_a_404_about_the_model_never_resyncs_knowledge(kb: FakeOpenAI) -> None:
    gpt_tools.sync_knowledge("Kb")
    seen = len(kb.requests)
    kb.script(Scripted(fault="model_not_found"))
    with pytest.raises(gpt_tools.ApiError) as caught:
        gpt_tools.run("Kb", "teh question\n")
    assert caught.value.status == 404 and caught.value.code == "model_not_found"
    assert [r.path for r in kb.requests[seen:]] == ["/v1/responses"]  # no verify listing, no second try


def test_run_of_a_lost_store_through_the_cli(kb: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    first = gpt_tools.sync_knowledge("Kb")
    server_call(kb, "DELETE", f"/vector_stores/{first.vector_store_id}")
    assert main(["run", "Kb", "-t", "teh question"]) == 0
    assert capfd.readouterr().out == "the question"


# --- what the model request carries --------------------------------------------------------------


def test_file_search_request_names_the_vector_store(kb: FakeOpenAI) -> None:
    gpt_tools.run("Kb", "question")
    (store,) = kb.vector_stores
    body = kb.model_requests()[0].body
    assert body["tools"] == [{"type": "file_search", "vector_store_ids": [store]}]
    assert "Knowledge number" not in body["instructions"]  # searched, not inlined


def test_extra_vector_store_ids_come_after_our_own(kb: FakeOpenAI) -> None:
    team = server_call(kb, "POST", "/vector_stores")["id"]
    Path("gpt-tools.toml").write_text(Path("gpt-tools.toml").read_text() + f'vector_store_ids = ["{team}"]\n')
    gpt_tools.run("Kb", "question")
    own = state()["assistants"]["Kb"]["vector_store_id"]
    assert own != team
    assert kb.model_requests()[0].body["tools"] == [{"type": "file_search", "vector_store_ids": [own, team]}]


def test_code_interpreter_gets_the_files_in_its_container(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG")
    write_project(Path.cwd(), kb_table("Calc", tools='["code_interpreter"]'))
    gpt_tools.run("Calc", "Sum teh numbers.")
    ids = state()["assistants"]["Calc"]
    assert ids["vector_store_id"] is None and api.vector_stores == {}
    file_ids = [state()["files"][digest]["id"] for digest in ids["files"]]
    assert api.model_requests()[0].body["tools"] == [
        {"type": "code_interpreter", "container": {"type": "auto", "file_ids": file_ids}}
    ]
    assert sorted(file_ids) == sorted(api.files) and api.uploads == 3
    seen = len(api.requests)
    gpt_tools.run("Calc", "Again.")
    assert [r.path for r in api.requests[seen:]] == ["/v1/responses"]


def test_both_tools(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG")
    write_project(Path.cwd(), kb_table("Both", tools='["file_search", "code_interpreter"]'))
    gpt_tools.run("Both", "question")
    (store,) = api.vector_stores
    tools = api.model_requests()[0].body["tools"]
    assert tools[0] == {"type": "file_search", "vector_store_ids": [store]}
    assert tools[1]["container"] == {"type": "auto", "file_ids": api.vector_stores[store].file_ids}


# --- inlined knowledge ---------------------------------------------------------------------------


def _inlined(files: dict[str, str]) -> str:
    blocks = [f'<file path="{Path(name).name}">\n{text.rstrip()}\n</file>' for name, text in files.items()]
    return "\n\n# Knowledge files (reference material)\n\n" + "\n\n".join(blocks)


def test_chat_backend_inlines_knowledge(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG")
    write_project(Path.cwd(), kb_table("Ref", tools="[]"))
    result = gpt_tools.run("Ref", "teh question", backend="chat")
    assert result.text == "the question" and result.backend == "chat"
    system = api.model_requests()[0].body["messages"][0]
    assert system == {"role": "system", "content": "Answer from the knowledge files." + _inlined(FILES)}
    assert api.uploads == 0 and [r.path for r in api.requests] == ["/v1/chat/completions"]
    assert not Path(STATE_FILE).exists()


def test_assistant_without_server_tools_inlines_on_openai_too(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG")
    write_project(Path.cwd(), kb_table("Ref", tools="[]"))
    gpt_tools.run("Ref", "question")
    body = api.model_requests()[0].body
    assert body["instructions"].endswith(_inlined(FILES)) and "tools" not in body
    assert api.uploads == 0


def test_knowledge_over_the_token_budget_names_files_and_sizes(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG")
    files = {"ref/big.md": "word " * 300, "ref/small.md": "tiny\n"}
    write_project(Path.cwd(), kb_table("Ref", tools="[]", files=list(files), extra="knowledge_tokens = 100"), files)
    big, small = estimate_tokens(files["ref/big.md"]), estimate_tokens(files["ref/small.md"])
    with pytest.raises(gpt_tools.UsageError) as info:
        gpt_tools.run("Ref", "question", backend="chat")
    message = str(info.value)
    assert message.startswith(f"Ref: knowledge files are about {big + small:,} tokens, over knowledge_tokens (100): ")
    assert f"big.md ~{big:,}, small.md ~{small:,}" in message
    assert api.requests == []


def test_over_budget_from_the_cli_exits_2(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG")
    files = {"ref/big.md": "word " * 300}
    write_project(Path.cwd(), kb_table("Ref", tools="[]", files=list(files), extra="knowledge_tokens = 100"), files)
    assert main(["run", "Ref", "-t", "question", "--backend", "chat"]) == 2
    assert "big.md ~500" in capfd.readouterr().err and api.requests == []


# --- per-run files -------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n\x00\xff trailer\n"


def test_per_run_files_text_inlined_binary_uploaded_once(api: FakeOpenAI) -> None:
    Path("notes.txt").write_text("meeting notes\n")
    Path("report.pdf").write_bytes(PDF)
    argv = ["run", "DocWriter", "-t", "Write a summary.", "--input-files", "notes.txt", "report.pdf"]
    assert main(argv) == 0
    assert api.uploads == 1
    (file_id,) = api.files
    stored = api.files[file_id]
    assert (stored.purpose, stored.filename, stored.content) == ("user_data", "report.pdf", PDF)
    content = api.model_requests()[0].body["input"][0]["content"]
    assert content == [
        {"type": "input_file", "file_id": file_id},
        {"type": "input_text", "text": 'Write a summary.\n\n<file path="notes.txt">\nmeeting notes\n</file>'},
    ]
    assert main(argv) == 0  # the same content again: no second upload
    assert api.uploads == 1
    assert api.model_requests()[1].body["input"][0]["content"][0] == {"type": "input_file", "file_id": file_id}
    assert state()["uploads"] == {
        label_of(api.url): {sha(PDF): {"id": file_id, "name": "report.pdf", "bytes": len(PDF)}}
    }
    assert state()["files"] == {}


def test_per_run_attachment_is_pruned(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("report.pdf").write_bytes(PDF)
    assert main(["run", "DocWriter", "-t", "Summarize.", "--input-files", "report.pdf"]) == 0
    (file_id,) = api.files
    capfd.readouterr()
    assert main(["files", "prune"]) == 0
    assert capfd.readouterr().out == f"deleted {file_id} report.pdf\n"
    assert api.files == {} and state()["files"] == {}


def test_rewriter_gets_text_files_as_reference_in_its_instructions(api: FakeOpenAI) -> None:
    Path("glossary.md").write_text("teh: never\n")
    assert main(["run", "MarkdownLinter", "-t", "teh doc\n", "--input-files", "glossary.md"]) == 0
    body = api.model_requests()[0].body
    assert body["instructions"].endswith(
        '\n\n# Reference files (not to be edited or output)\n\n<file path="glossary.md">\nteh: never\n</file>'
    )
    assert api.uploads == 0


def test_upload_file_and_find_file(kb: FakeOpenAI) -> None:
    Path("doc.pdf").write_bytes(PDF)
    file_id = gpt_tools.upload_file("doc.pdf")
    assert gpt_tools.upload_file("doc.pdf") == file_id and kb.uploads == 1
    Path("copy.pdf").write_bytes(PDF)
    assert gpt_tools.upload_file("copy.pdf") == file_id and kb.uploads == 1  # same content
    found = gpt_tools.find_file("copy.pdf")
    record = {"sha256": sha(PDF), "id": file_id, "name": "doc.pdf", "bytes": len(PDF)}
    assert found == {**record, "endpoint": kb.url.removeprefix("http://")}
    assert gpt_tools.find_file(file_id) == found
    assert gpt_tools.find_file("nope.pdf") is None and gpt_tools.find_file("file-unknown") is None


# --- indexing progress ---------------------------------------------------------------------------


def test_indexing_progress_is_reported_while_the_batch_runs(kb: FakeOpenAI) -> None:
    kb.indexing_polls = 3
    lines: list[str] = []
    result = gpt_tools.run("Kb", "question", on_progress=lines.append)
    assert result.text == "question"
    assert len(lines) >= 3
    assert all(line.startswith("indexing knowledge files: ") and "/3 (" in line for line in lines)
    batch_gets = [r for r in kb.requests if r.method == "GET" and "/file_batches/" in r.path]
    assert len(batch_gets) == 4  # three "in_progress" answers, then "completed"
    assert list(kb.vector_stores[state()["assistants"]["Kb"]["vector_store_id"]].statuses.values()) == ["completed"] * 3


def test_no_progress_when_nothing_needs_indexing(kb: FakeOpenAI) -> None:
    gpt_tools.sync_knowledge("Kb")
    kb.indexing_polls = 3
    lines: list[str] = []
    gpt_tools.run("Kb", "question", on_progress=lines.append)
    assert lines == []


# --- 16 processes at once ------------------------------------------------------------------------


def test_sixteen_processes_sync_at_once(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG")
    files = {f"kb/f{i}.md": f"# File {i}\n\n" + f"content {i} " * 50 + "\n" for i in range(5)}
    write_project(Path.cwd(), kb_table("Kb", files=list(files)), files)
    code = "import gpt_tools; gpt_tools.sync_knowledge('Kb')"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=Path.cwd(), env=dict(os.environ), stderr=subprocess.PIPE)
        for _ in range(16)
    ]
    errors = [proc.communicate(timeout=60)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 16, errors
    assert api.uploads == 5
    assert sorted(f.content.decode() for f in api.files.values()) == sorted(files.values())
    (store,) = api.vector_stores
    data = state()
    assert data["assistants"] == {"Kb": {"vector_store_id": store, "files": [sha(t) for t in files.values()]}}
    assert {r["id"] for r in data["files"].values()} == set(api.files) == store_files(api, store)
    assert len([r for r in api.requests if r.path.endswith("/file_batches")]) == 1
    assert not [p for p in Path.cwd().iterdir() if p.name.endswith(".tmp")]


# --- bugs ----------------------------------------------------------------------------------------


def test_file_search_assistant_on_chat_backend_inlines_its_knowledge(kb: FakeOpenAI) -> None:
    result = gpt_tools.run("Kb", "teh question", backend="chat")
    assert result.text == "the question"
    body = kb.model_requests()[0].body
    assert body["messages"][0]["content"].endswith(_inlined(FILES)) and "tools" not in body
    assert kb.uploads == 0


def test_attachment_from_a_subfolder_is_recorded_at_the_project_root(
    kb: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    root = Path.cwd()
    (root / "docs").mkdir()
    (root / "docs" / "report.pdf").write_bytes(PDF)
    monkeypatch.chdir(root / "docs")
    assert main(["run", "DocWriter", "-t", "Summarize.", "--input-files", "report.pdf"]) == 0
    (file_id,) = kb.files
    assert not (root / "docs" / STATE_FILE).exists()
    monkeypatch.chdir(root)
    capfd.readouterr()
    assert main(["files", "prune", "--dry-run"]) == 0
    assert capfd.readouterr().out == f"would delete {file_id} report.pdf\n"


def test_verify_reads_every_page_of_a_large_vector_store(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG")
    api.indexing_polls = 0
    files = {f"kb/f{i:03}.md": f"file {i}\n" for i in range(101)}
    write_project(Path.cwd(), kb_table("Big", files=list(files)), files)
    assert gpt_tools.sync_knowledge("Big").uploaded == 101
    report = gpt_tools.sync_knowledge("Big", verify=True)
    assert (report.uploaded, report.attached, api.uploads) == (0, 0, 101)


def test_prune_deletes_the_files_of_a_deleted_assistant(kb: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    report = gpt_tools.sync_knowledge("Kb")
    gpt_tools.delete_assistant("Kb")
    capfd.readouterr()
    assert main(["files", "prune"]) == 0
    assert "3 unused files deleted" in capfd.readouterr().err
    assert not set(report.file_ids) & set(kb.files)


# --- files an untrusted project may name ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink"])
def test_untrusted_project_cannot_upload_a_file_outside_itself(kb: FakeOpenAI, isolated_env: Path, kind: str) -> None:
    secret = isolated_env.parent / "home" / ".netrc"
    secret.write_text("machine example.com login me password hunter2\n")
    name = {"absolute": str(secret), "dotdot": "../home/.netrc", "symlink": "kb/link.md"}[kind]
    if kind == "symlink":
        (isolated_env / "kb" / "link.md").symlink_to(secret)
    write_project(isolated_env, kb_table(files=["kb/k0.md", name]))
    with pytest.raises(gpt_tools.ConfigError) as caught:
        gpt_tools.sync_knowledge("Kb")
    assert caught.value.key == "assistants.Kb.files" and caught.value.path == str(isolated_env / "gpt-tools.toml")
    assert "gpt-tools trust" in str(caught.value)
    assert kb.uploads == 0 and kb.requests == []
    # `files sync` is the same refusal, exit 2
    assert main(["files", "sync"]) == 2 and kb.uploads == 0


def test_trusted_project_may_name_files_outside_itself(kb: FakeOpenAI, isolated_env: Path) -> None:
    from tests.conftest import trust_project

    outside = isolated_env.parent / "shared.md"
    outside.write_text("# Shared knowledge\n")
    write_project(isolated_env, kb_table(files=[str(outside)]))
    trust_project(isolated_env)
    gpt_tools.sync_knowledge("Kb")
    assert [f.content for f in kb.files.values()] == [b"# Shared knowledge\n"]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_a_device_or_fifo_as_knowledge_file_is_refused_without_reading_it(
    kb: FakeOpenAI, isolated_env: Path, target: str
) -> None:
    from tests.conftest import trust_project

    if target == "fifo":
        os.mkfifo(isolated_env / "kb" / "pipe.md")
        target = "kb/pipe.md"
    write_project(isolated_env, kb_table(files=[target]))
    trust_project(isolated_env)  # even a trusted project gets regular files only
    with pytest.raises(gpt_tools.ConfigError) as caught:
        gpt_tools.sync_knowledge("Kb")
    assert caught.value.key == "assistants.Kb.files" and kb.uploads == 0


def test_a_knowledge_file_over_the_size_cap_is_refused(kb: FakeOpenAI, isolated_env: Path) -> None:
    from gpt_tools.state.localread import MAX_FILE_BYTES

    write_project(isolated_env, kb_table(files=["kb/big.md"]), {"kb/big.md": ""})
    os.truncate(isolated_env / "kb" / "big.md", MAX_FILE_BYTES + 1)  # sparse: no disk used
    with pytest.raises(gpt_tools.ConfigError) as caught:
        gpt_tools.sync_knowledge("Kb")
    assert caught.value.key == "assistants.Kb.files" and kb.uploads == 0


# --- the secret guard reads every byte -----------------------------------------------------------

KEY_IN_FILE = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.mark.parametrize("noise", [b"\xff", b"\x00", "é".encode("latin-1")])
def test_knowledge_file_with_a_key_and_a_non_utf8_byte_is_refused(
    kb: FakeOpenAI, isolated_env: Path, noise: bytes
) -> None:
    (isolated_env / "kb" / "k1.md").write_bytes(b"notes " + noise + b"\napi_key = " + KEY_IN_FILE.encode() + b"\n")
    with pytest.raises(gpt_tools.InputRefused):
        gpt_tools.run("Kb", "question")
    assert kb.uploads == 0 and kb.model_requests() == []
    assert gpt_tools.run("Kb", "question", allow_secrets=True).text == "question"  # as for text


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_knowledge_file_in_utf16_with_a_key_is_refused(kb: FakeOpenAI, isolated_env: Path, encoding: str) -> None:
    (isolated_env / "kb" / "k1.md").write_bytes(f"notes\napi_key = {KEY_IN_FILE}\n".encode(encoding))
    with pytest.raises(gpt_tools.InputRefused):
        gpt_tools.run("Kb", "question")
    assert kb.uploads == 0


def test_binary_attachment_with_a_key_is_refused_before_upload(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    Path("report.pdf").write_bytes(PDF + b"\x00\xff " + KEY_IN_FILE.encode() + b"\n")
    assert main(["run", "DocWriter", "-t", "Summarize.", "--input-files", "report.pdf"]) == 2
    assert api.uploads == 0 and api.model_requests() == []
    assert "report.pdf" in capfd.readouterr().err
    assert main(["run", "DocWriter", "-t", "Summarize.", "--input-files", "report.pdf", "--allow-secrets"]) == 0
    assert api.uploads == 1


def test_upload_file_scans_the_bytes(kb: FakeOpenAI) -> None:
    Path("doc.bin").write_bytes(b"\x80\x00 " + KEY_IN_FILE.encode())
    with pytest.raises(gpt_tools.InputRefused):
        gpt_tools.upload_file("doc.bin")
    assert kb.uploads == 0
    assert gpt_tools.upload_file("doc.bin", allow_secrets=True)


# --- indexing that fails or never ends -----------------------------------------------------------


def test_a_file_whose_indexing_fails_once_is_retried(kb: FakeOpenAI) -> None:
    kb.index_failures["k1.md"] = 1
    report = gpt_tools.sync_knowledge("Kb")
    assert report.vector_store_id is not None
    assert set(kb.vector_stores[report.vector_store_id].statuses.values()) == {"completed"}
    assert len(state()["assistants"]["Kb"]["files"]) == 3


def test_a_file_whose_indexing_fails_twice_is_an_error_naming_it(
    kb: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    kb.index_failures["k1.md"] = 2
    with pytest.raises(gpt_tools.RunFailed) as caught:
        gpt_tools.sync_knowledge("Kb")
    assert "k1.md" in str(caught.value) and "cannot parse" in str(caught.value)  # the server's last_error
    recorded = state()["assistants"]["Kb"]
    assert sha(FILES["kb/k1.md"]) not in recorded["files"] and len(recorded["files"]) == 2
    # Never reported as attached: the next sync attaches it again (and the server manages this time).
    report = gpt_tools.sync_knowledge("Kb")
    assert report.attached == 1 and report.vector_store_id == recorded["vector_store_id"]
    assert set(kb.vector_stores[report.vector_store_id].statuses.values()) == {"completed"}
    kb.index_failures["k2.md"] = 2
    (Path("kb") / "k2.md").write_text("changed\n")
    capfd.readouterr()
    assert main(["files", "sync"]) == 1
    assert "k2.md" in capfd.readouterr().err


def test_indexing_past_the_deadline_is_an_error_and_a_later_sync_finishes(kb: FakeOpenAI, isolated_env: Path) -> None:
    write_project(isolated_env, "index_timeout = 0.05\n" + kb_table())
    kb.indexing_polls = 10**9
    with pytest.raises(indexing.IndexingUnfinished):
        gpt_tools.sync_knowledge("Kb")
    with pytest.raises(gpt_tools.RunFailed):
        gpt_tools.run("Kb", "question")  # gpt-filter, the hook: an error, never a hang
    kb.indexing_polls = 0
    for batch in kb.file_batches.values():
        batch.polls_left = 0
    report = gpt_tools.sync_knowledge("Kb")
    assert report.attached == 3 and len(state()["assistants"]["Kb"]["files"]) == 3


def test_cancel_stops_the_wait_for_indexing(kb: FakeOpenAI) -> None:
    import threading

    from gpt_tools.config.keys import resolve_endpoint
    from gpt_tools.config.loader import load_config

    kb.indexing_polls = 10**9
    cancel = threading.Event()
    cancel.set()
    config = load_config()
    with pytest.raises(gpt_tools.Cancelled):
        knowledge.sync(resolve_endpoint(config.settings), config.assistant("Kb"), cancel=cancel)


@pytest.mark.timeout(20)
def test_find_file_on_a_fifo_does_not_hang(kb: FakeOpenAI) -> None:
    os.mkfifo("pipe")
    assert gpt_tools.find_file("pipe") is None


def test_files_sync_scans_every_file_before_the_first_upload(
    kb: FakeOpenAI, isolated_env: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (isolated_env / "kb" / "k2.md").write_bytes(b"\x80 " + KEY_IN_FILE.encode())
    assert main(["files", "sync"]) == 2
    assert "k2.md" in capfd.readouterr().err and kb.uploads == 0
    with pytest.raises(gpt_tools.InputRefused):
        gpt_tools.sync_knowledge("Kb")
    assert kb.uploads == 0
    assert main(["files", "sync", "--allow-secrets"]) == 0 and kb.uploads == 3


# --- per-run files the user names: anything readable, bounded, never a hang -----------------------


@pytest.mark.timeout(30)
def test_input_files_from_process_substitution_are_read(api: FakeOpenAI) -> None:
    from tests.conftest import program

    script = f'{program("gpt-tools")} run DocWriter -t "Summarize." --input-files <(printf "pipe notes\\n")'
    done = subprocess.run(["bash", "-c", script], capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert "pipe notes" in json.dumps(api.model_requests()[0].body)


@pytest.mark.timeout(30)
def test_input_files_dev_zero_is_refused_at_the_cap(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "DocWriter", "-t", "Summarize.", "--input-files", "/dev/zero"]) == 2
    assert "/dev/zero is larger than" in capfd.readouterr().err and api.requests == []


@pytest.mark.timeout(30)
def test_input_files_fifo_without_a_writer_does_not_hang(api: FakeOpenAI) -> None:
    os.mkfifo("pipe")
    main(["run", "DocWriter", "-t", "Summarize.", "--input-files", "pipe"])  # whatever it says: it returns
    assert api.uploads == 0


# --- a symlinked state file ------------------------------------------------------------------------


@pytest.mark.parametrize("which", [STATE_FILE])
def test_a_symlinked_state_file_or_lock_is_refused_and_nothing_is_written_through_it(
    api: FakeOpenAI, isolated_env: Path, capfd: pytest.CaptureFixture[str], which: str
) -> None:
    (isolated_env / ".git").mkdir()
    Path("report.pdf").write_bytes(PDF)
    outside = isolated_env.parent / "outside_created.json"
    Path(which).symlink_to(outside)
    capfd.readouterr()
    assert main(["run", "DocWriter", "-t", "Summarize.", "--input-files", "report.pdf"]) == 2
    assert not outside.exists() and api.uploads == 0 and not api.model_requests()
    err = capfd.readouterr().err
    assert which in err and "symlink" in err and "outside_created.json" in err


def test_a_symlinked_state_file_holding_another_projects_state_is_neither_read_nor_replaced(
    kb: FakeOpenAI, isolated_env: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    other = isolated_env.parent / "other_project_state.json"
    before = b'{"version": 1, "files": {"ab": {"id": "file-theirs", "name": "x", "bytes": 1}}, "assistants": {}}\n'
    other.write_bytes(before)
    Path(STATE_FILE).symlink_to(other)
    assert main(["files", "list"]) == 2
    assert "file-theirs" not in capfd.readouterr().out
    assert main(["files", "sync"]) == 2
    assert other.read_bytes() == before and kb.uploads == 0


# --- attachments recorded for another endpoint, or lost ---------------------------------------------


def test_an_attachment_is_uploaded_again_to_another_endpoint_and_both_are_kept(
    api: FakeOpenAI, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("img.png").write_bytes(PNG)
    argv = ["run", "DocWriter", "-t", "Describe.", "--input-files", "img.png"]
    assert main(argv) == 0
    (first,) = api.files
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    assert main(argv) == 0  # recorded for the first server only: uploaded to this one
    (second,) = server.files
    assert server.model_requests()[0].body["input"][0]["content"][0]["file_id"] == second
    monkeypatch.setenv("OPENAI_BASE_URL", api.url)
    assert main(argv) == 0 and main(argv) == 0  # both records kept: no upload on either side again
    assert (api.uploads, server.uploads, len(state()["uploads"])) == (1, 1, 2)
    assert api.model_requests()[-1].body["input"][0]["content"][0]["file_id"] == first


def test_an_attachment_the_server_lost_is_uploaded_again_once(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    Path("img.png").write_bytes(PNG)
    argv = ["run", "DocWriter", "-t", "Describe.", "--input-files", "img.png"]
    assert main(argv) == 0
    (lost,) = api.files
    server_call(api, "DELETE", f"/files/{lost}")
    assert main(argv) == 0
    (again,) = api.files
    assert again != lost and api.uploads == 2
    assert [r.body["input"][0]["content"][0]["file_id"] for r in api.model_requests()] == [lost, lost, again]
    assert main(argv) == 0 and api.uploads == 2  # the new record is used from now on


def test_a_404_for_an_input_file_gives_no_model_hint_and_no_endless_retry(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("img.png").write_bytes(PNG)
    monkeypatch.setattr(knowledge, "_gone", lambda endpoint, record: False)  # the server insists it has it
    assert main(["run", "DocWriter", "-t", "Describe.", "--input-files", "img.png"]) == 0
    (file_id,) = api.files
    server_call(api, "DELETE", f"/files/{file_id}")
    capfd.readouterr()
    assert main(["run", "DocWriter", "-t", "Describe.", "--input-files", "img.png"]) == 1
    err = capfd.readouterr().err
    assert "HTTP 404" in err and "check the model name" not in err
    assert api.uploads == 1 and len(api.model_requests()) == 2  # nothing forgotten: not retried


def test_a_404_for_the_model_with_an_attachment_forgets_nothing(api: FakeOpenAI) -> None:
    Path("img.png").write_bytes(PNG)
    assert main(["run", "DocWriter", "-t", "Describe.", "--input-files", "img.png"]) == 0
    seen = len(api.requests)
    api.script(Scripted(fault="model_not_found"))
    assert main(["run", "DocWriter", "-t", "Describe.", "--input-files", "img.png"]) == 1
    assert [r.path for r in api.requests[seen:]] == ["/v1/responses"]  # no file check, no second try
    assert api.uploads == 1 and len(state()["uploads"]) == 1


def test_prune_deletes_only_the_current_endpoints_attachments(
    api: FakeOpenAI, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    Path("img.png").write_bytes(PNG)
    assert main(["run", "DocWriter", "-t", "Describe.", "--input-files", "img.png"]) == 0
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    assert main(["run", "DocWriter", "-t", "Describe.", "--input-files", "img.png"]) == 0
    (theirs,) = server.files
    capfd.readouterr()
    monkeypatch.setenv("OPENAI_BASE_URL", api.url)
    assert main(["files", "prune"]) == 0
    assert api.files == {} and set(server.files) == {theirs}
    assert list(state()["uploads"]) == [label_of(server.url)]


def test_endpoint_label_names_host_path_organization_and_project_never_the_key() -> None:
    endpoint = Endpoint(base_url="https://user:pw@API.example.com:8443/v1/?k=1", api_key="sk-secret-1234")
    assert knowledge.endpoint_label(endpoint) == "api.example.com:8443/v1"
    assert knowledge.endpoint_label(replace(endpoint, organization="org-1", project="proj-2")).endswith(
        "/v1 org-1 proj-2"
    )


def test_files_sync_uploads_a_knowledge_file_whose_key_line_is_marked(kb: FakeOpenAI, isolated_env: Path) -> None:
    (isolated_env / "kb" / "k2.md").write_text(f"token: {KEY_IN_FILE}  <!-- pragma: allowlist secret -->\n")
    assert main(["files", "sync"]) == 0 and kb.uploads == 3


def test_a_renamed_assistant_keeps_its_uploads(kb: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    """What uses a file is the current config's content: list names the new name, prune keeps the files
    (the old name's vector store goes), and the next sync uploads nothing."""
    assert main(["files", "sync"]) == 0
    old_store = next(iter(kb.vector_stores))
    ids = {record["id"] for record in state()["files"].values()}
    assert main(["assistant", "edit", "Kb", "--new-name", "Kb2"]) == 0
    capfd.readouterr()
    assert main(["files", "list", "--json"]) == 0
    assert {(r["name"], tuple(r["assistants"])) for r in json.loads(capfd.readouterr().out)} == {
        (name, ("Kb2",)) for name in ("k0.md", "k1.md", "k2.md")
    }
    assert main(["files", "prune"]) == 0
    out, err = capfd.readouterr()
    assert out == "" and "0 unused files deleted" in err
    assert ids <= set(kb.files) and old_store not in kb.vector_stores and "Kb" not in state()["assistants"]
    assert main(["files", "sync", "Kb2", "--json"]) == 0
    [report] = json.loads(capfd.readouterr().out)
    assert (report["assistant"], report["uploaded"], report["attached"]) == ("Kb2", 0, 3)
    assert set(report["file_ids"]) == ids and report["vector_store_id"] in kb.vector_stores
    assert kb.uploads == 3


def test_prune_fails_closed_when_a_knowledge_file_cannot_be_read(
    kb: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["files", "sync"]) == 0
    Path("kb/k1.md").unlink()
    assert main(["files", "prune"]) == 2
    assert "k1.md" in capfd.readouterr().err and len(kb.files) == 3
