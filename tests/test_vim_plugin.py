"""`:[range]GptFilter NAME` from editor/plugin/gpt_tools.vim through a real, headless Vim: what both
paths share (arguments, the buffer's project) and the waiting path (Vim without +job, or
g:gpt_tools_filter_wait); the job path is in test_vim_job.py."""

from __future__ import annotations

import json
import os
import random
import shlex
import shutil
from pathlib import Path

import pytest

from tests.conftest import BIN, ROOT, write_config
from tests.conftest import SAMPLE_LINES as LINES
from tests.fake_openai import FakeOpenAI, Scripted
from tests.vim_helpers import run_vim

pytestmark = pytest.mark.skipif(shutil.which("vim") is None and not os.environ.get("CI"), reason="vim not installed")

WAIT = "let g:gpt_tools_filter_wait = 1"
CASES = json.loads((ROOT / "tests" / "fixtures" / "editor_args.json").read_text(encoding="utf-8"))["cases"]
FIXED = [line.replace("teh", "the") for line in LINES]


def _sent(api: FakeOpenAI) -> str:
    return json.dumps([request.body for request in api.model_requests()])


def test_whole_buffer_is_fixed(api: FakeOpenAI, document: Path) -> None:
    assert run_vim(document, WAIT, "GptFilter MarkdownLinter").errmsg == ""
    assert document.read_text().splitlines() == FIXED


def test_range_fixes_only_its_lines_in_one_undo_step(api: FakeOpenAI, document: Path) -> None:
    assert run_vim(document, WAIT, "3,4GptFilter MarkdownLinter").errmsg == ""
    assert document.read_text().splitlines() == [*LINES[:2], "the first line", "the second line", *LINES[4:]]
    assert api.model_requests()[0].body["input"][0]["content"][0]["text"] == "teh first line\nteh second line\n"
    before = document.read_bytes()
    run_vim(document, WAIT, "3,4GptFilter MarkdownLinter", "undo")
    assert document.read_bytes() == before


def test_failing_server_leaves_the_text_and_shows_the_error(api: FakeOpenAI, document: Path) -> None:
    write_config(Path.cwd(), "max_retries = 0\n")
    api.default_fault = "500"
    before = document.read_bytes()
    message = run_vim(document, WAIT, "2,4GptFilter MarkdownLinter").errmsg
    assert "GptFilter:" in message and "HTTP 500" in message
    assert document.read_bytes() == before


def test_unknown_assistant_leaves_the_text_and_names_the_close_match(api: FakeOpenAI, document: Path) -> None:
    before = document.read_bytes()
    message = run_vim(document, WAIT, "GptFilter MarkdwonLinter").errmsg
    assert "Did you mean 'MarkdownLinter'" in message
    assert document.read_bytes() == before and api.model_requests() == []


@pytest.mark.parametrize("mode", ["wait", "job"])
def test_missing_program_is_reported(api: FakeOpenAI, document: Path, mode: str) -> None:
    before = document.read_bytes()
    setting = WAIT if mode == "wait" else ""
    done = run_vim(document, setting, "let g:gpt_tools_filter = '/nonexistent/gpt-filter'", "GptFilter MarkdownLinter")
    assert "not found" in done.errmsg and document.read_bytes() == before


# --- One argument syntax: shell words, no expansion (tests/fixtures/editor_args.json). ---


def test_the_split_follows_the_shared_table(tmp_path: Path) -> None:
    # ensure_ascii=False: Vim reads \uD83C as a lone surrogate, not half of a pair
    calls = [f"call add(g:got, gpt_tools#split({json.dumps(case['input'], ensure_ascii=False)}))" for case in CASES]
    out = tmp_path / "split.json"
    run_vim(None, "let g:got = []", *calls, f"call writefile([json_encode(g:got)], {json.dumps(str(out))})")
    got = json.loads(out.read_text(encoding="utf-8"))
    for case, result in zip(CASES, got, strict=True):
        if "error" in case:
            assert "error" in result and "argv" not in result, case
        else:
            assert result == {"argv": case["argv"]}, case


def test_the_split_agrees_with_shlex_on_generated_lines(tmp_path: Path) -> None:
    """Thousands of lines built from the characters that matter (quotes, backslash, blanks) and the
    ones that must not (combining marks, other Unicode spaces, controls): Vim splits each as shlex."""
    pieces = ["a", " ", "\t", "\n", "\r", "'", '"', "\\", "\u0301", "é", "\u00a0", "\u3000", "\x0b", "\x1b", "🎉", "$"]
    rng = random.Random(14)
    lines = sorted({"".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(3000)})
    source, out = tmp_path / "lines.json", tmp_path / "split.json"
    source.write_text(json.dumps(lines, ensure_ascii=False), encoding="utf-8")
    run_vim(
        None,
        f"let g:got = map(json_decode(join(readfile({json.dumps(str(source))}), \"\\n\")), 'gpt_tools#split(v:val)')",
        f"call writefile([json_encode(g:got)], {json.dumps(str(out))})",
    )
    for line, result in zip(lines, json.loads(out.read_text(encoding="utf-8")), strict=True):
        try:
            expected: dict[str, object] = {"argv": shlex.split(line)}
        except ValueError:
            assert "error" in result, repr(line)
        else:
            assert result == expected, repr(line)


@pytest.mark.parametrize("mode", ["wait", "job"])
def test_quoted_instructions_reach_the_request(api: FakeOpenAI, document: Path, mode: str) -> None:
    setting = WAIT if mode == "wait" else ""
    done = run_vim(document, setting, 'GptFilter MarkdownLinter -i "Use British spelling"', wait=mode == "job")
    assert done.errmsg == "" and document.read_text().splitlines() == FIXED
    assert "Use British spelling" in _sent(api)


@pytest.mark.parametrize("mode", ["wait", "job"])
def test_an_unclosed_quote_runs_nothing(api: FakeOpenAI, document: Path, mode: str) -> None:
    before = document.read_bytes()
    setting = WAIT if mode == "wait" else ""
    done = run_vim(document, setting, 'GptFilter MarkdownLinter -i "Use British')
    assert "not closed" in done.errmsg and "nothing was run" in done.errmsg
    assert document.read_bytes() == before and api.model_requests() == []


# --- The buffer's project decides, not Vim's working folder. ---


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with an assistant of its own; Vim starts elsewhere; no $GPT_TOOLS_CONFIG overrides it."""
    monkeypatch.delenv("GPT_TOOLS_CONFIG")
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    write_config(project, 'max_retries = 0\n[assistants.House]\ninstructions = "Our house style."\nmode = "rewrite"\n')
    (project / "docs" / "notes.md").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return project / "docs" / "notes.md"


@pytest.mark.parametrize("mode", ["wait", "job"])
def test_the_buffers_project_config_is_used(
    api: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    notes = _project(tmp_path, monkeypatch)
    setting = WAIT if mode == "wait" else ""
    done = run_vim(notes, setting, "GptFilter House", wait=mode == "job")
    assert done.errmsg == "" and done.last.get("status", "ok") == "ok", done
    assert "Our house style." in _sent(api)
    assert notes.read_text().splitlines() == FIXED


def test_completion_lists_the_buffers_project_assistants(
    api: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = _project(tmp_path, monkeypatch)
    out = tmp_path / "names.json"
    complete = "gpt_tools#complete('Ho', 'GptFilter Ho', 12)"
    options = "gpt_tools#complete('--inp', 'GptFilter House --inp', 21)"
    run_vim(notes, f"call writefile([json_encode([{complete}, {options}])], {json.dumps(str(out))})")
    names, flags = json.loads(out.read_text(encoding="utf-8"))
    assert names == ["House"] and flags == ["--input-files"]


# --- :GptTrust: what trusting the buffer's project lets it do, then `gpt-tools trust`. ---


def _untrusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: FakeOpenAI, file: str, text: str) -> Path:
    notes = _project(tmp_path, monkeypatch)
    (notes.parent.parent / "gpt-tools.toml").unlink()
    write_config(notes.parent.parent, text.replace("URL", api.url), file)
    return notes


def test_trust_lets_the_buffers_project_choose_its_endpoint(
    api: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    house = '[assistants.House]\ninstructions = "Our house style."\nmode = "rewrite"\n'
    text = 'base_url = "URL"\nmax_retries = 0\n' + house
    notes = _untrusted(tmp_path, monkeypatch, api, "gpt-tools.toml", text)
    refused = run_vim(notes, WAIT, "GptFilter House")
    assert "not trusted" in refused.errmsg and "gpt-tools trust" in refused.errmsg
    trusted = run_vim(notes, "GptTrust!")
    assert trusted.errmsg == "" and f"GptTrust: gpt-tools: {notes.parent.parent}: trusted" in trusted.messages
    assert run_vim(notes, WAIT, "GptFilter House").errmsg == "" and notes.read_text().splitlines() == FIXED


def test_trust_asks_first_and_names_what_the_config_sets(
    api: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = '[project]\nname = "x"\nbase_url = "not ours"\n[tool.gpt-tools]\napi_key_cmd = "pass show k"\n'
    notes = _untrusted(tmp_path, monkeypatch, api, "pyproject.toml", text + "[tool.gpt-tools.prices]\n")
    out = tmp_path / "question.txt"
    done = run_vim(
        notes,
        f"call writefile([gpt_tools#trust#question(gpt_tools#trust#config(expand('%:p:h')))], '{out}')",
        "GptTrust",  # no terminal to answer: the default, Cancel
    )
    question = out.read_text(encoding="utf-8")
    assert question.startswith(f"Trust the project {notes.parent.parent}?")
    assert question.rstrip().endswith("Its pyproject.toml sets: [prices], api_key_cmd.")  # not [project]'s base_url
    assert f"GptTrust: {notes.parent.parent} not trusted (cancelled)" in done.messages


def test_trust_outside_any_project_says_there_is_nothing_to_trust(api: FakeOpenAI, document: Path) -> None:
    done = run_vim(document, "GptTrust!")
    assert "nothing to trust" in done.messages and done.errmsg == ""


@pytest.mark.parametrize("mode", ["wait", "job"])
def test_an_unmodifiable_buffer_sends_nothing(api: FakeOpenAI, document: Path, mode: str) -> None:
    # The result could go nowhere: the waiting path lost it to E21 after the request was paid for.
    setting = WAIT if mode == "wait" else ""
    done = run_vim(document, setting, "setlocal nomodifiable", "GptFilter MarkdownLinter")
    assert "'modifiable' is off); nothing was sent" in done.errmsg and api.model_requests() == []
    assert done.lines == LINES and done.last == {}


@pytest.mark.parametrize("mode", ["wait", "job"])
def test_a_filter_path_relative_to_vims_folder_still_runs(api: FakeOpenAI, tmp_path: Path, mode: str) -> None:
    # The run goes in the buffer's folder: bin/gpt-filter, found from Vim's, named nothing there.
    (tmp_path / "vim" / "bin").mkdir(parents=True)
    (tmp_path / "vim" / "bin" / "gpt-filter").symlink_to(BIN / "gpt-filter")
    (tmp_path / "docs").mkdir()
    notes = tmp_path / "docs" / "notes.md"
    notes.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    setting = WAIT if mode == "wait" else ""
    done = run_vim(
        notes, setting, "let g:gpt_tools_filter = 'bin/gpt-filter'", "GptFilter MarkdownLinter",
        wait=mode == "job", cwd=tmp_path / "vim",
    )  # fmt: skip
    assert done.errmsg == "" and notes.read_text().splitlines() == FIXED


@pytest.mark.parametrize("mode", ["wait", "job"])
def test_a_nul_byte_in_the_result_stays_a_nul_byte(api: FakeOpenAI, document: Path, mode: str) -> None:
    # As :%! puts it in; the waiting path's system() turned it into ^A (0x01).
    reply = "\n".join([*FIXED[:-1], FIXED[-1] + "\x00"]) + "\n"
    api.script(Scripted(text=reply))
    setting = WAIT if mode == "wait" else ""
    done = run_vim(document, setting, "GptFilter ProofReader", wait=mode == "job")
    assert done.errmsg == "" and document.read_bytes() == reply.encode()
