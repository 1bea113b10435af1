"""`gpt-tools lsp`'s code actions against the fake server: quick fixes and "apply all" change exactly their
text, re-anchored onto a changed document or dropped; assistants run only when chosen (resolve, or the
command + workspace/applyEdit); $/cancelRequest hangs up the model request; anchor.py and positions.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from gpt_tools.lsp.anchor import Fix, reanchor
from gpt_tools.lsp.positions import Positions, positions_of
from tests.fake_openai import FakeOpenAI, Scripted
from tests.fake_openai_wire import edits_reply
from tests.lsp_client import CAPABILITIES, LspClient, wait_until

TYPO = "# Guide\n\nYou will recieve teh answer.\n"
SHOW = "window/showMessage"


def _params(
    uri: str, start: tuple[int, int], end: tuple[int, int] | None = None, only: list[str] | None = None
) -> dict:
    first = {"line": start[0], "character": start[1]}
    last = {"line": end[0], "character": end[1]} if end else first
    context: dict[str, Any] = {"diagnostics": [], **({"only": only} if only else {})}
    return {"textDocument": {"uri": uri}, "range": {"start": first, "end": last}, "context": context}


def _apply(text: str, edit: dict) -> str:
    """A workspace edit's one document's edits applied to text (as a client does: from the end)."""
    change = edit["documentChanges"][0] if "documentChanges" in edit else None
    edits = change["edits"] if change else next(iter(edit["changes"].values()))
    where = Positions(text)
    spans = []
    for item in edits:
        start = where.offset(types.Position(**item["range"]["start"]))
        end = where.offset(types.Position(**item["range"]["end"]))
        spans.append((start, end, item["newText"]))
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _open_checked(client: LspClient, name: str, text: str) -> str:
    path = Path.cwd() / name
    path.write_text(text, encoding="utf-8")
    uri = client.open(path, text)
    client.diagnostics(uri)
    return uri


def _no_resolve_client(options: dict[str, Any] | None = None) -> LspClient:
    client = LspClient()
    capabilities = {**CAPABILITIES, "textDocument": {**CAPABILITIES["textDocument"], "codeAction": {}}}
    client.initialize(capabilities=capabilities, options=options or {"check": "off"})
    return client


def _open_typo(client: LspClient) -> str:
    """a.md holding TYPO, written and opened (not waiting for a check: the client may have them off)."""
    path = Path.cwd() / "a.md"
    path.write_text(TYPO, encoding="utf-8")
    return client.open(path)


def _rewrite_action(client: LspClient, uri: str, assistant: str) -> dict[str, Any]:
    """The action offered to run assistant on the selection of lines 2 to 3 (TYPO's paragraph)."""
    actions = client.request("textDocument/codeAction", _params(uri, (2, 0), (3, 0), only=["refactor.rewrite"]))
    return next(a for a in actions if a["title"] == f"gpt-tools: {assistant}: rewrite the selection")


def _held_command(api: FakeOpenAI) -> tuple[LspClient, str, int]:
    """A client without resolve that has sent the Simplifier command on TYPO's paragraph, a run whose reply the
    fake holds for 60 s: the client, the document's uri and the request's id."""
    client = _no_resolve_client()
    uri = _open_typo(client)
    action = _rewrite_action(client, uri, "Simplifier")
    api.script(Scripted(delay=60))
    return client, uri, client.send_request("workspace/executeCommand", action["command"])


def test_a_quick_fix_changes_exactly_its_text_and_apply_all_every_one(lsp: LspClient) -> None:
    uri = _open_checked(lsp, "a.md", TYPO)
    actions = lsp.request("textDocument/codeAction", _params(uri, (2, 18), only=["quickfix"]))
    titles = [a["title"] for a in actions]
    assert titles == ['gpt-tools: spelling: "teh" → "the"', "gpt-tools: apply all 2 fixes in this document"]
    one = actions[0]["edit"]
    assert one["documentChanges"][0]["textDocument"]["version"] == 1
    assert _apply(TYPO, one) == "# Guide\n\nYou will recieve the answer.\n"
    assert _apply(TYPO, actions[1]["edit"]) == "# Guide\n\nYou will receive the answer.\n"
    assert actions[0]["diagnostics"][0]["source"] == "gpt-tools"


def test_fixes_follow_a_changed_document_or_are_dropped(lsp: LspClient) -> None:
    uri = _open_checked(lsp, "a.md", TYPO)
    moved = "Intro 😀\n\n" + TYPO.replace("teh answer", "an answer")  # one fix's text is gone, the other moved
    lsp.change(uri, moved, 2)
    actions = lsp.request("textDocument/codeAction", _params(uri, (0, 0), only=["quickfix"]))
    assert [a["title"] for a in actions] == ["gpt-tools: apply all 1 fix in this document"]
    edit = actions[0]["edit"]
    assert edit["documentChanges"][0]["textDocument"]["version"] == 2
    assert _apply(moved, edit) == moved.replace("recieve", "receive")
    pulled = lsp.request("textDocument/diagnostic", {"textDocument": {"uri": uri}})
    assert [(d["range"]["start"]["line"], d["data"]["old"]) for d in pulled["items"]] == [(4, "recieve")]


def test_assistants_are_listed_free_and_run_when_resolved(lsp: LspClient, api: FakeOpenAI) -> None:
    uri = _open_checked(lsp, "a.md", TYPO)
    sent = len(api.model_requests())
    actions = lsp.request("textDocument/codeAction", _params(uri, (2, 0), (3, 0), only=["refactor"]))
    titles = {a["title"]: a for a in actions}
    assert "gpt-tools: ProofReader: rewrite the selection" in titles
    assert titles["gpt-tools: Summarizer: write below the selection"]["kind"] == "refactor.write"
    assert len(api.model_requests()) == sent and all("edit" not in a for a in actions)
    resolved = lsp.request("codeAction/resolve", titles["gpt-tools: ProofReader: rewrite the selection"])
    assert _apply(TYPO, resolved["edit"]) == "# Guide\n\nYou will receive the answer.\n"
    api.responder = lambda text: "A summary."
    written = lsp.request("codeAction/resolve", titles["gpt-tools: Summarizer: write below the selection"])
    assert _apply(TYPO, written["edit"]) == TYPO + "A summary.\n"
    assert len(api.model_requests()) == sent + 2


def test_a_client_without_resolve_gets_a_command_that_applies_the_edit(api: FakeOpenAI, edits_mode: None) -> None:
    client = _no_resolve_client()
    uri = _open_typo(client)
    action = _rewrite_action(client, uri, "ProofReader")
    assert action["command"]["command"] == "gpt-tools.run"
    client.request("workspace/executeCommand", action["command"])
    assert [_apply(TYPO, edit) for edit in client.applied] == ["# Guide\n\nYou will receive the answer.\n"]
    assert client.close() == 0


def test_edits_of_a_run_are_re_anchored_onto_the_document_changed_meanwhile(lsp: LspClient, api: FakeOpenAI) -> None:
    uri = _open_checked(lsp, "a.md", TYPO)
    action = _rewrite_action(lsp, uri, "ProofReader")
    api.script(Scripted(delay=1.0))
    request = lsp.send_request("codeAction/resolve", action)
    wait_until(lambda: api.held == 1)  # the run is in flight: the fake holds its reply for a second
    changed = "New first line.\n" + TYPO
    lsp.change(uri, changed, 2)
    edit = lsp.response(request)["result"]["edit"]
    assert edit["documentChanges"][0]["textDocument"]["version"] == 2
    assert _apply(changed, edit) == "New first line.\n# Guide\n\nYou will receive the answer.\n"


def test_cancel_request_hangs_up_the_model_request_and_the_server_stays_up(lsp: LspClient, api: FakeOpenAI) -> None:
    uri = _open_checked(lsp, "a.md", TYPO)
    action = _rewrite_action(lsp, uri, "Simplifier")
    api.script(Scripted(delay=60))
    request = lsp.send_request("codeAction/resolve", action)
    wait_until(lambda: api.held == 1)
    lsp.notify("$/cancelRequest", {"id": request})
    assert lsp.response(request)["error"]["code"] == -32800  # RequestCancelled
    wait_until(lambda: api.hung_up == 1)  # the socket was closed: the server stopped writing the reply
    assert lsp.request("textDocument/codeAction", _params(uri, (0, 0), only=["quickfix"]))


def test_cancelling_a_commands_progress_hangs_up_its_request_and_applies_nothing(
    api: FakeOpenAI, edits_mode: None
) -> None:
    client, _, request = _held_command(api)
    begun = client.wait_for(lambda m: m.get("method") == "$/progress" and m["params"]["value"]["kind"] == "begin")
    assert begun["params"]["value"]["cancellable"] is True
    client.notify("window/workDoneProgress/cancel", {"token": begun["params"]["token"]})
    wait_until(lambda: api.hung_up == 1)
    assert "error" not in client.response(request) and client.applied == []
    assert client.close() == 0


def test_a_project_refused_meanwhile_still_gets_its_quick_fixes_and_one_message(
    api: FakeOpenAI, edits_mode: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG")  # an explicit config would trust every project
    client = LspClient()
    client.initialize(options={"debounceMs": 0})
    uri = _open_checked(client, "a.md", TYPO)
    (Path.cwd() / "gpt-tools.toml").write_text('base_url = "http://127.0.0.1:9/v1"\n', encoding="utf-8")
    for _ in range(2):
        actions = client.request("textDocument/codeAction", _params(uri, (2, 10)))
        assert [a["kind"] for a in actions] == ["quickfix", "quickfix"]  # no assistants: the config is refused
    shown = client.notifications("window/showMessage")
    assert len(shown) == 1 and "gpt-tools trust" in shown[0]["message"]
    assert client.close() == 0


# -- re-anchoring and positions, in-process


def _fix(text: str, old: str, new: str) -> Fix:
    start = text.index(old)
    return Fix(start=start, end=start + len(old), old=old, new=new)


def test_reanchor_keeps_shifts_finds_again_or_drops() -> None:
    before = "alpha teh beta\ngamma teh delta\nomega wrod\n"
    fixes = [
        _fix(before, "alpha teh", "alpha the"),
        _fix(before, "gamma teh", "gamma the"),
        _fix(before, "wrod", "word"),
    ]
    after = "alpha teh beta\nINSERTED gamma teh delta\nomega wrod\n"
    moved = reanchor(fixes, before, after)
    assert [after[f.start : f.end] for f in moved] == ["alpha teh", "gamma teh", "wrod"]
    gone = "alpha teh beta\ngamma the delta\nomega wrod\n"
    assert [f.old for f in reanchor(fixes, before, gone)] == ["alpha teh", "wrod"]
    twice = "alpha teh beta\nteh teh\nomega wrod\n"  # the changed part holds the find twice: never guessed
    fix = Fix(start=before.index("teh delta"), end=before.index("teh delta") + 3, old="teh", new="the")
    assert reanchor([fix], before, twice) == []


def test_positions_count_utf16_units_and_never_point_inside_crlf() -> None:
    text = "a😀b\r\nc"
    where = Positions(text)
    assert where.position(2) == types.Position(line=0, character=3)  # after "a😀"
    assert where.position(6) == types.Position(line=1, character=1)
    assert where.offset(types.Position(line=0, character=99)) == 3  # the line's end, before \r\n
    assert where.offset(types.Position(line=0, character=3)) == 2
    assert Positions(text, "utf-8").position(2) == types.Position(line=0, character=5)


# -- cancelling, and documents that are not open


def test_cancel_request_of_the_command_hangs_up_its_model_request_and_applies_nothing(
    api: FakeOpenAI, edits_mode: None
) -> None:
    client, uri, request = _held_command(api)
    wait_until(lambda: api.held == 1)
    for _ in range(2):  # twice, as an impatient editor may
        client.notify("$/cancelRequest", {"id": request})
    assert client.response(request)["error"]["code"] == -32800  # RequestCancelled
    wait_until(lambda: api.hung_up == 1)  # its socket was closed: no more tokens billed
    client.notify("$/cancelRequest", {"id": request})  # after it ended, and for an id never sent
    client.notify("$/cancelRequest", {"id": 4242})
    assert client.request("textDocument/codeAction", _params(uri, (0, 0), only=["quickfix"])) == []
    assert client.applied == [] and client.close() == 0


def test_a_document_not_open_is_never_read_from_disk_nor_sent(lsp: LspClient, api: FakeOpenAI) -> None:
    secret = Path.cwd() / "never-opened.md"
    secret.write_text(TYPO, encoding="utf-8")
    uri = secret.resolve().as_uri()
    assert lsp.request("textDocument/codeAction", _params(uri, (0, 0), (3, 0))) == []
    assert lsp.request("textDocument/diagnostic", {"textDocument": {"uri": uri}})["items"] == []
    data = {"uri": uri, "version": None, "assistant": "ProofReader", "start": 0, "end": 0}
    action = {"title": "gpt-tools: ProofReader: rewrite the document", "kind": "refactor.rewrite", "data": data}
    assert "edit" not in lsp.request("codeAction/resolve", action)
    assert api.model_requests() == []


def test_a_request_before_initialize_is_refused_as_not_initialized(api: FakeOpenAI) -> None:
    client = LspClient()
    answer = client.response(client.send_request("textDocument/codeAction", _params("file:///a.md", (0, 0))))
    assert answer["error"]["code"] == -32002  # ServerNotInitialized
    client.open(Path.cwd() / "early.md", TYPO)  # a notification before initialize: dropped, nothing shown
    client.initialize()
    client.request("textDocument/codeAction", _params("file:///a.md", (0, 0)))  # a round trip after it
    assert client.notifications(SHOW) == [] and client.close() == 0


def test_a_quick_fix_whose_text_was_edited_away_is_never_moved_onto_another_occurrence(
    lsp: LspClient, api: FakeOpenAI
) -> None:
    text = "Well, its raining.\n\nThe dog wagged a tail.\n"
    api.script(
        Scripted(text=edits_reply({"find": "its", "replace": "it's", "reason": "grammar"}))
    )  # unique in the text checked
    uri = _open_checked(lsp, "its.md", text)
    # the wrong "its" fixed by hand, and a right one typed further down, in one change
    changed = "Well, it is raining.\n\nThe dog wagged its tail.\n"
    lsp.change(uri, changed, 2)
    assert lsp.request("textDocument/codeAction", _params(uri, (2, 16), only=["quickfix"])) == []
    assert lsp.request("textDocument/diagnostic", {"textDocument": {"uri": uri}})["items"] == []
    # an edit elsewhere, before and after it, keeps the fix where its text still is
    lsp.change(uri, "Intro.\n\n" + text + "Outro.\n", 3)
    actions = lsp.request("textDocument/codeAction", _params(uri, (2, 7), only=["quickfix"]))
    assert (
        _apply("Intro.\n\n" + text + "Outro.\n", actions[0]["edit"])
        == "Intro.\n\n" + text.replace("its", "it's") + "Outro.\n"
    )


def test_an_action_offered_before_the_document_was_closed_and_reopened_runs_nothing(
    lsp: LspClient, api: FakeOpenAI
) -> None:
    uri = _open_checked(lsp, "a.md", TYPO)
    lsp.change(uri, TYPO + "More.\n", 2)
    action = _rewrite_action(lsp, uri, "ProofReader")
    lsp.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    other = "Another text entirely, which teh selection's offsets know nothing of.\n"
    mark = lsp.mark()
    lsp.open(Path.cwd() / "a.md", other, version=2)  # versions start anew: the same number, another text
    lsp.wait_for(  # its own check is over (and found its teh)
        lambda m: m.get("method") == "textDocument/publishDiagnostics" and bool(m["params"]["diagnostics"]),
        after=mark,
    )
    sent = len(api.model_requests())
    assert "edit" not in lsp.request("codeAction/resolve", action)
    assert len(api.model_requests()) == sent
    assert "changed since the action was offered" in lsp.notifications(SHOW)[-1]["message"]


def test_line_starts_follow_the_protocols_line_ends_and_a_texts_positions_are_kept() -> None:
    for text in ("a\r\nb\rc\n\nd", "", "\n", "x\r", "\r\n\r\n", "a\u2028b\x0cc\x85d\ne", "😀\r\r\n"):
        breaks = [
            i + 1 for i, char in enumerate(text) if char == "\n" or (char == "\r" and text[i + 1 : i + 2] != "\n")
        ]
        assert Positions(text).starts == (0, *breaks), text
    text = "teh word line\n" * 1000
    assert positions_of(text) is positions_of(text)  # a code action at every cursor move: built once
    assert positions_of(text).position(len(text) - 1) == types.Position(line=999, character=13)


def _creating_client(show: bool = True) -> LspClient:
    """A client whose workspace edits create files (and, with show, that opens documents it is asked to)."""
    client = LspClient()
    edit = {"documentChanges": True, "resourceOperations": ["create"]}
    window = {**CAPABILITIES["window"], **({"showDocument": {"support": True}} if show else {})}
    workspace = {**CAPABILITIES["workspace"], "workspaceEdit": edit}
    client.initialize(capabilities={**CAPABILITIES, "window": window, "workspace": workspace}, options={"check": "off"})
    return client


def _writer_titles(client: LspClient, uri: str) -> dict[str, dict[str, Any]]:
    actions = client.request("textDocument/codeAction", _params(uri, (2, 0), (3, 0), only=["refactor.write"]))
    return {a["title"]: a for a in actions if "Summarizer" in a["title"]}


def test_a_writer_puts_its_output_in_a_new_file_beside_the_document_never_over_one(
    api: FakeOpenAI, edits_mode: None
) -> None:
    client = _creating_client()
    uri = _open_typo(client)
    taken = Path.cwd() / "a.Summarizer.md"
    taken.write_text("mine\n", encoding="utf-8")
    actions = _writer_titles(client, uri)
    new = "gpt-tools: Summarizer: write a new document from the selection"
    assert set(actions) == {"gpt-tools: Summarizer: write below the selection", new}
    api.responder = lambda text: "A summary."
    client.request("workspace/executeCommand", actions[new]["command"])  # a command even where the client resolves
    target = (Path.cwd() / "a.Summarizer-2.md").as_uri()
    create, fill = client.applied[0]["documentChanges"]
    assert create == {"kind": "create", "uri": target, "options": {"overwrite": False, "ignoreIfExists": True}}
    assert fill["textDocument"] == {"uri": target, "version": None}
    assert _apply("", {"documentChanges": [fill]}) == "A summary.\n"
    assert len(client.applied) == 1 and client.shown == [{"uri": target, "takeFocus": True}]
    assert taken.read_text(encoding="utf-8") == "mine\n" and (Path.cwd() / "a.md").read_text(encoding="utf-8") == TYPO
    client.apply_answer = False  # the client refuses the edit: told, nothing shown
    mark = client.mark()
    client.request("workspace/executeCommand", actions[new]["command"])
    told = client.wait_for(lambda m: m.get("method") == SHOW, after=mark)
    assert told["params"]["type"] == types.MessageType.Warning and len(client.shown) == 1
    assert client.close() == 0


def test_a_client_that_cannot_create_files_is_offered_only_the_insert(api: FakeOpenAI, edits_mode: None) -> None:
    plain = _no_resolve_client()
    assert list(_writer_titles(plain, _open_typo(plain))) == ["gpt-tools: Summarizer: write below the selection"]
    assert plain.close() == 0
    unshown = _creating_client(show=False)  # creates files but cannot be asked to show one: created, not shown
    actions = _writer_titles(unshown, _open_typo(unshown))
    command = actions["gpt-tools: Summarizer: write a new document from the selection"]["command"]
    unshown.request("workspace/executeCommand", command)
    assert unshown.applied[0]["documentChanges"][0]["uri"] == (Path.cwd() / "a.Summarizer.md").as_uri()
    assert unshown.shown == [] and unshown.close() == 0
