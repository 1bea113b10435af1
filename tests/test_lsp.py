"""`gpt-tools lsp` as a process, driven over stdio by tests/lsp_client.py against the fake server: the
lifecycle, diagnostics from check-mode edits (UTF-16 ranges, push and pull, cost), config and trust of
the document's own project, and errors told with window/showMessage while the server stays up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gpt_tools.state import runlog
from tests.conftest import trust_project, write_config
from tests.fake_openai import FakeOpenAI, Scripted
from tests.lsp_client import CAPABILITIES, LspClient, uri_of, wait_until

TYPO = "# Guide\n\nYou will recieve teh answer.\n"
SHOW = "window/showMessage"


def _doc(name: str, text: str, folder: Path | None = None) -> Path:
    path = (folder or Path.cwd()) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def _ranges(items: list[dict]) -> list[tuple[int, int, int, int]]:
    return [
        (
            d["range"]["start"]["line"],
            d["range"]["start"]["character"],
            d["range"]["end"]["line"],
            d["range"]["end"]["character"],
        )
        for d in items
    ]


# -- lifecycle


def test_shutdown_then_exit_ends_with_status_0(api: FakeOpenAI) -> None:
    client = LspClient()
    result = client.initialize()
    assert result["serverInfo"]["name"] == "gpt-tools"
    assert result["capabilities"]["codeActionProvider"]["resolveProvider"] is True
    assert client.close() == 0


def test_exit_without_shutdown_is_status_1_and_a_lost_client_ends_it(api: FakeOpenAI) -> None:
    client = LspClient()
    client.initialize()
    client.notify("exit")
    assert client.process.wait(20) == 1
    lost = LspClient()
    lost.initialize()
    assert lost.process.stdin is not None
    lost.process.stdin.close()  # the editor went away without a word
    assert lost.process.wait(20) == 0


def test_a_client_lost_during_a_check_ends_the_server_and_hangs_up_its_request(
    api: FakeOpenAI, edits_mode: None
) -> None:
    api.script(Scripted(delay=60))
    client = LspClient()
    client.initialize()
    client.open(_doc("a.md", TYPO))
    wait_until(lambda: api.held == 1)  # the check's request is in flight
    assert client.process.stdin is not None
    client.process.stdin.close()
    assert client.process.wait(20) == 0
    wait_until(lambda: api.hung_up == 1)  # the fake sees the closed connection on its next look


# -- diagnostics


@pytest.mark.usefixtures("edits_mode")
def test_open_publishes_one_diagnostic_per_edit_with_utf16_ranges_on_crlf(lsp: LspClient) -> None:
    text = "😀 teh start\r\n\U0001d49c x recieve\r\n"  # U+1D49C: astral too
    uri = lsp.open(_doc("astral.md", text), text)
    items = lsp.diagnostics(uri)
    assert _ranges(items) == [(0, 3, 0, 6), (1, 5, 1, 12)]  # an astral character is 2 UTF-16 units
    assert [d["message"] for d in items] == ['spelling: "teh" → "the"', 'spelling: "recieve" → "receive"']
    assert {d["source"] for d in items} == {"gpt-tools"}
    assert items[1]["data"] == {
        "find": "recieve",
        "replace": "receive",
        "reason": "spelling",
        "old": "recieve",
        "new": "receive",
        "version": 1,
    }


def test_a_file_whose_uri_is_percent_encoded_gets_its_diagnostics(lsp: LspClient) -> None:
    uri = lsp.open(_doc("my notes.md", TYPO))
    assert "%20" in uri and len(lsp.diagnostics(uri)) == 2


def test_utf32_client_gets_code_point_columns(api: FakeOpenAI, edits_mode: None) -> None:
    client = LspClient()
    capabilities = {**CAPABILITIES, "general": {"positionEncodings": ["utf-32", "utf-16"]}}
    assert client.initialize(capabilities=capabilities)["capabilities"]["positionEncoding"] == "utf-32"
    uri = client.open(_doc("a.md", "😀 teh x\n"))
    assert _ranges(client.diagnostics(uri)) == [(0, 2, 0, 5)]
    assert client.close() == 0


def test_an_unchanged_resave_sends_nothing_and_the_run_log_says_lsp(lsp: LspClient, api: FakeOpenAI) -> None:
    api.latency = 0.5  # long enough for the check to show progress
    uri = lsp.open(_doc("a.md", TYPO))
    first = lsp.diagnostics(uri)
    assert len(first) == 2 and len(api.model_requests()) == 1
    mark = lsp.mark()
    lsp.save(uri)
    assert lsp.diagnostics(uri, after=mark) == first
    assert len(api.model_requests()) == 1
    kinds = [p["value"]["kind"] for p in lsp.notifications("$/progress")]
    assert kinds == ["begin", "end"]  # workDoneProgress around the check; the cached one was over at once
    rows = runlog.recent(runlog.Filters(frontend="lsp"), 10)
    assert rows and {row["assistant"] for row in rows} == {"MarkdownLinter"}


def test_retries_are_reported_as_progress(lsp: LspClient, api: FakeOpenAI) -> None:
    api.script(Scripted(fault="429", retry_after=0.4), Scripted(fault="429", retry_after=0.4))
    uri = lsp.open(_doc("a.md", TYPO))
    assert len(lsp.diagnostics(uri)) == 2
    values = [p["value"] for p in lsp.notifications("$/progress")]
    assert [v["kind"] for v in values] == ["begin", "report", "end"]
    assert values[0]["message"].startswith("MarkdownLinter: a.md: retrying in 0.4 s")
    assert values[1]["message"].startswith("MarkdownLinter: a.md: retrying in 0.4 s")
    assert values[2]["message"] == "2 suggestions"


def test_an_unchanged_resave_shows_the_diagnostics_at_once_and_again_when_the_config_changed_them(
    lsp: LspClient, api: FakeOpenAI
) -> None:
    uri = lsp.open(_doc("a.md", TYPO))
    assert len(lsp.diagnostics(uri)) == 2
    config = Path(os.environ["GPT_TOOLS_CONFIG"])
    config.write_text(config.read_text() + 'model = "another-model"\n', encoding="utf-8")
    api.responder = lambda text: text.replace("recieve", "receive")  # the other model finds one
    mark = lsp.mark()
    lsp.save(uri)
    assert len(lsp.diagnostics(uri, after=mark)) == 2  # at once: what was found for this text
    mark = lsp.mark()
    assert [d["data"]["old"] for d in lsp.diagnostics(uri, after=mark)] == ["recieve"]  # then the new config's
    assert len(api.model_requests()) == 2


def test_changes_never_check_saves_do_and_close_clears(lsp: LspClient, api: FakeOpenAI) -> None:
    uri = lsp.open(_doc("a.md", "# Clean\n"))
    assert lsp.diagnostics(uri) == []
    lsp.change(uri, TYPO, 2)
    lsp.change(uri, TYPO + "teh end\n", 3)
    lsp.request("textDocument/codeAction", _action_params(uri, 0, 0))  # a round trip: the changes were read
    assert len(api.model_requests()) == 1
    mark = lsp.mark()
    lsp.save(uri)
    assert len(lsp.diagnostics(uri, after=mark)) == 3
    mark = lsp.mark()
    lsp.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert lsp.diagnostics(uri, after=mark) == []


def test_settings_choose_when_and_what_is_checked(api: FakeOpenAI, edits_mode: None) -> None:
    client = LspClient()
    client.initialize(options={"check": "open", "globs": ["*.txt"], "languageIds": []})
    checked = client.open(_doc("notes.txt", TYPO), language="plaintext")
    assert len(client.diagnostics(checked)) == 2
    client.open(_doc("skipped.md", TYPO))  # neither its languageId nor its name is wanted now
    mark = client.mark()
    client.save(checked)  # "open": saves do not check
    client.request("textDocument/codeAction", _action_params(checked, 0, 0))
    assert len(api.model_requests()) == 1
    assert client.notifications("textDocument/publishDiagnostics")[1:] == [] and client.mark() > mark
    assert client.close() == 0


def test_the_assistant_model_and_a_path_glob_are_the_settings_own(api: FakeOpenAI, edits_mode: None) -> None:
    client = LspClient()
    options = {"assistant": "ProofReader", "model": "lsp-model", "globs": ["*/docs/*.txt"], "languageIds": []}
    client.initialize(options=options)
    uri = client.open(_doc("docs/a.txt", TYPO), language="plaintext")
    assert len(client.diagnostics(uri)) == 2
    client.open(_doc("other/b.txt", TYPO), language="plaintext")  # not under docs/: not checked
    client.request("textDocument/codeAction", _action_params(uri, 0, 0))
    (sent,) = api.model_requests()
    assert sent.body["model"] == "lsp-model"
    rows = runlog.recent(runlog.Filters(frontend="lsp"), 10)
    assert [row["assistant"] for row in rows] == ["ProofReader"]
    assert client.close() == 0


def test_workspace_configuration_overrides_initialization_options(api: FakeOpenAI, edits_mode: None) -> None:
    client = LspClient()
    client.configuration = {"check": "off", "bogus": 1}
    client.initialize(options={"check": "save"})
    warning = client.wait_for(lambda m: m.get("method") == SHOW)
    assert "unknown setting 'bogus'" in warning["params"]["message"]
    uri = client.open(_doc("a.md", TYPO))
    client.save(uri)
    client.request("textDocument/codeAction", _action_params(uri, 0, 0))
    assert api.model_requests() == []
    assert client.close() == 0


def test_a_pulling_client_is_told_to_refresh_and_pulls_the_same_items(api: FakeOpenAI, edits_mode: None) -> None:
    client = LspClient()
    capabilities = {
        **CAPABILITIES,
        "textDocument": {**CAPABILITIES["textDocument"], "diagnostic": {}},
        "workspace": {**CAPABILITIES["workspace"], "diagnostics": {"refreshSupport": True}},
    }
    client.initialize(capabilities=capabilities)
    uri = client.open(_doc("a.md", TYPO))
    client.wait_for(lambda m: m.get("method") == "workspace/diagnostic/refresh")
    report = client.request("textDocument/diagnostic", {"textDocument": {"uri": uri}})
    assert report["kind"] == "full" and [d["data"]["old"] for d in report["items"]] == ["recieve", "teh"]
    assert client.notifications("textDocument/publishDiagnostics") == []
    assert client.close() == 0


def test_saves_within_the_debounce_start_one_check(api: FakeOpenAI, edits_mode: None) -> None:
    client = LspClient()
    client.initialize(options={"debounceMs": 400, "check": "save"})
    uri = client.open(_doc("a.md", "# Clean\n"))
    client.diagnostics(uri)
    for version in range(2, 6):
        client.change(uri, TYPO + "teh " * version + "\n", version)
        client.save(uri)
    client.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["version"] == 5)
    assert len(api.model_requests()) == 2  # the open and the last save
    assert client.close() == 0


def test_checks_in_flight_per_workspace_are_limited(api: FakeOpenAI, edits_mode: None) -> None:
    api.latency = 0.3
    client = LspClient()
    client.initialize(options={"jobs": 1}, root=Path.cwd())
    uris = [client.open(_doc(f"d{n}.md", TYPO + f"teh {n}\n")) for n in range(3)]
    for uri in uris:
        client.diagnostics(uri)
    assert api.peak_in_flight == 1 and len(api.model_requests()) == 3
    assert client.close() == 0


# -- the document's project, errors


def test_config_is_the_documents_projects_not_the_servers_cwd(
    api: FakeOpenAI, edits_mode: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG")  # an explicit config stands in for every project's
    project = tmp_path / "project"
    write_config(_doc("docs/a.md", TYPO, project).parent.parent, 'model = "project-model"\n')
    client = LspClient(cwd=tmp_path)
    client.initialize()
    uri = client.open(project / "docs" / "a.md")
    assert len(client.diagnostics(uri)) == 2
    assert api.model_requests()[0].body["model"] == "project-model"
    assert client.close() == 0


def test_an_untrusted_project_is_told_with_the_trust_command_and_the_server_stays_up(
    api: FakeOpenAI, edits_mode: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG")  # an explicit config would trust every project
    project = tmp_path / "untrusted"
    _doc("a.md", TYPO, project)
    write_config(project, 'base_url = "http://127.0.0.1:9/v1"\n')
    client = LspClient()
    client.initialize()
    uri = client.open(project / "a.md")
    shown = client.wait_for(lambda m: m.get("method") == SHOW)["params"]
    assert shown["type"] == 1 and f"gpt-tools trust {project.resolve()}" in shown["message"]
    assert api.model_requests() == []
    write_config(project, f'base_url = "{api.url}"\n')
    trust_project(project.resolve())
    mark = client.mark()
    client.save(uri)
    assert len(client.diagnostics(uri, after=mark)) == 2
    assert client.close() == 0


def test_a_missing_key_and_an_api_failure_are_shown_and_the_server_stays_up(
    api: FakeOpenAI, edits_mode: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")  # a loopback server needs no key
    client = LspClient()
    client.initialize()
    client.open(_doc("a.md", TYPO))
    shown = client.wait_for(lambda m: m.get("method") == SHOW)["params"]
    assert shown["type"] == 1 and "OPENAI_API_KEY" in shown["message"]
    assert client.close() == 0
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("OPENAI_BASE_URL", api.url)
    write_config(Path.cwd(), "max_retries = 0\n")
    api.script(Scripted(fault="500"))
    client = LspClient()
    client.initialize()
    uri = client.open(_doc("b.md", TYPO))
    shown = client.wait_for(lambda m: m.get("method") == SHOW)["params"]
    assert shown["type"] == 1 and "sk-test-not-a-real-key" not in shown["message"]
    mark = client.mark()
    client.save(uri)
    assert len(client.diagnostics(uri, after=mark)) == 2  # still serving: the next save is checked
    assert client.close() == 0


def _action_params(uri: str, line: int, character: int, end: tuple[int, int] | None = None, **context: object) -> dict:
    start = {"line": line, "character": character}
    stop = {"line": end[0], "character": end[1]} if end else start
    return {
        "textDocument": {"uri": uri},
        "range": {"start": start, "end": stop},
        "context": {"diagnostics": [], **context},
    }


def test_the_uri_helper_matches_what_the_server_reads(tmp_path: Path) -> None:
    assert uri_of(tmp_path / "a b.md").endswith("/a%20b.md")


# -- keeping the document in step


def _change(client: LspClient, uri: str, version: int, span: tuple[int, int, int, int], text: str) -> None:
    first, last = {"line": span[0], "character": span[1]}, {"line": span[2], "character": span[3]}
    change = {"range": {"start": first, "end": last}, "text": text}
    client.notify(
        "textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}
    )


def _sent_text(api: FakeOpenAI) -> str:
    """The document the last model request carried (a short one is sent whole, in one message)."""
    return str(api.model_requests()[-1].body["input"][0]["content"][0]["text"])


@pytest.mark.parametrize(
    ("text", "span", "new", "expected"),
    [
        # U+2028, U+0085 and a form feed end no line in the protocol (str.splitlines() ends one at each)
        ("x\u2028y teh\nline two\n", (1, 0, 1, 4), "LINE", "x\u2028y teh\nLINE two\n"),
        ("a\x0cb\x85c teh\nline two\n", (1, 5, 1, 8), "2", "a\x0cb\x85c teh\nline 2\n"),
        # UTF-16 columns after an astral character, on CRLF and lone-CR lines
        ("😀 teh\r\nline\rq 😀 x teh\n", (2, 5, 2, 6), "y", "😀 teh\r\nline\rq 😀 y teh\n"),
        # a column past the end of the last line is its end
        ("# teh x", (0, 7, 0, 99), "!", "# teh x!"),
    ],
)
def test_incremental_changes_are_placed_by_the_protocols_line_ends_and_columns(
    lsp: LspClient, api: FakeOpenAI, text: str, span: tuple[int, int, int, int], new: str, expected: str
) -> None:
    uri = lsp.open(_doc("sync.md", text), text)
    lsp.diagnostics(uri)
    _change(lsp, uri, 2, span, new)
    mark = lsp.mark()
    lsp.save(uri)
    items = lsp.diagnostics(uri, after=mark)
    assert _sent_text(api) == expected  # the server's text is the editor's
    teh = expected.index("teh")
    line = expected.count("\n", 0, teh) + expected.count("\r", 0, teh) - expected.count("\r\n", 0, teh)
    assert items[0]["range"]["start"]["line"] == line and items[0]["data"]["old"].startswith("teh")


def test_a_file_uri_naming_another_host_is_remote_never_checked_nor_offered_assistants(
    lsp: LspClient, api: FakeOpenAI
) -> None:
    path = _doc("a.md", TYPO)
    uri = "file://fileserver" + path.as_posix()  # the same path, on another machine
    lsp.notify(
        "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "markdown", "version": 1, "text": TYPO}}
    )
    actions = lsp.request("textDocument/codeAction", {"textDocument": {"uri": uri}, **_whole(TYPO)})
    assert actions == []
    local = lsp.open(path)
    lsp.diagnostics(local)  # the local file's check is over, and was the only one
    assert len(api.model_requests()) == 1


def _whole(text: str) -> dict:
    end = {"line": text.count("\n"), "character": 0}
    return {"range": {"start": {"line": 0, "character": 0}, "end": end}, "context": {"diagnostics": []}}


def test_a_document_that_is_a_symlink_leading_out_of_its_project_is_never_checked_by_itself(
    lsp: LspClient, api: FakeOpenAI, tmp_path: Path
) -> None:
    secret = _doc("credentials.md", "aws teh secret\n", tmp_path / "home")
    project = Path.cwd() / "cloned"
    (project / ".git").mkdir(parents=True)
    link = project / "notes.md"
    link.symlink_to(secret)
    uri = link.absolute().as_uri()  # the editor's name for it: the link's own
    lsp.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "markdown", "version": 1, "text": "aws teh secret\n"}},
    )
    lsp.save(uri)
    shown = lsp.wait_for(lambda m: m.get("method") == SHOW)["params"]["message"]
    assert "notes.md leads outside its project" in shown and str(secret.resolve()) in shown
    inside = lsp.open(_doc("cloned/guide.md", TYPO))
    lsp.diagnostics(inside)  # a file of the project itself is checked, and was the only one sent
    assert len(api.model_requests()) == 1 and "secret" not in str(api.model_requests()[0].body)
    assert len(lsp.notifications(SHOW)) == 1  # told once


class _Unanswering(LspClient):
    """A client that says it answers workspace/configuration and never does."""

    def _answer(self, request: dict) -> None:
        if request["method"] != "workspace/configuration":
            super()._answer(request)


def test_a_client_that_never_answers_workspace_configuration_still_gets_its_checks(
    api: FakeOpenAI, edits_mode: None
) -> None:
    client = _Unanswering()
    client.initialize(options={"debounceMs": 0})
    uri = client.open(_doc("a.md", TYPO))
    assert len(client.diagnostics(uri, timeout=20)) == 2  # by the initializationOptions, once the wait is over
    assert client.close() == 0
