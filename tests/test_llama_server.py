"""The chat backend against a real OpenAI-compatible server: llama-cpp-python's server running
SmolLM2-135M (tests/llama_server.py starts and stops it). Marked `llama`; .ci/run installs the server and
the model, and under CI a missing one fails these tests instead of skipping them.

A 135M model is weak on purpose: it proves the wire (plain text, grammar-constrained JSON) and that
whatever such a model proposes in edits mode never loses text, not that it writes good edits.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import gpt_tools
from gpt_tools.errors import ApiError
from gpt_tools.markdown.edits import EDITS_SCHEMA, SCHEMA_NAME, parse_edits
from gpt_tools.wire.backends import BackendRequest, chat
from gpt_tools.wire.backends.base import JsonSchema
from gpt_tools.wire.transport import Endpoint
from tests.conftest import run_program, write_config
from tests.llama_server import LlamaServer, alive_llama, llama_server

pytestmark = [pytest.mark.llama, pytest.mark.timeout(600)]
__all__ = ["alive_llama", "llama_server"]  # the fixtures, imported so pytest finds them here

TEXT = "Teh cat sat on teh mat. It was a sunny day and evrything was quiet.\n"


@pytest.fixture
def on_llama(alive_llama: LlamaServer, monkeypatch: pytest.MonkeyPatch) -> LlamaServer:
    """gpt_tools pointed at the server as a user would: backend "chat", the server's base_url and model."""
    monkeypatch.setenv("OPENAI_BASE_URL", alive_llama.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-not-checked")
    config = f"backend = 'chat'\nmodel = {json.dumps(alive_llama.model)}\nmax_retries = 0\n"
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(write_config(Path.cwd(), config)))
    return alive_llama


def _endpoint(server: LlamaServer) -> Endpoint:
    return Endpoint(server.base_url, "sk-local-not-checked", max_retries=0, read_timeout=300)


@pytest.mark.parametrize("stream", [True, False])
def test_a_plain_chat_request_returns_text(alive_llama: LlamaServer, stream: bool) -> None:
    request = BackendRequest(
        model=alive_llama.model, instructions="Answer in one short sentence.", text="What colour is the sky?",
        temperature=0.0, max_output_tokens=40, stream=stream,
    )  # fmt: skip
    deltas: list[str] = []
    reply = chat.ChatBackend().complete(request, _endpoint(alive_llama), on_delta=deltas.append)
    assert reply.status in ("completed", "incomplete"), reply.reason  # incomplete: the 40-token cap
    assert reply.text.strip()
    if stream:  # llama-cpp-python ignores stream_options.include_usage: a streamed reply has no usage
        assert "".join(deltas) == reply.text
    else:
        assert reply.usage.output_tokens > 0 and reply.usage.input_tokens > 0 and not deltas


def test_a_run_on_the_chat_backend_returns_text(on_llama: LlamaServer) -> None:
    result = gpt_tools.run("Summarizer", "The meeting moved to Tuesday at ten. Bring the budget figures.")
    assert result.backend == "chat" and result.requests == 1
    assert result.text.strip()


def _schema_request(server: LlamaServer, *, stream: bool = False, json_format: str = "json_object") -> BackendRequest:
    return BackendRequest(
        model=server.model,
        instructions="Fix the spelling. Reply with JSON only.",
        text=TEXT,
        temperature=0.0,
        max_output_tokens=300,
        stream=stream,
        json_schema=JsonSchema(name=SCHEMA_NAME, schema=EDITS_SCHEMA),
        json_format=json_format,
    )


def _valid_edits(text: str) -> None:
    # strict=False: llama-cpp-python's schema grammar (llama_grammar.py, `char ::= [^"\\] | ...`) lets raw
    # control characters such as a newline into strings, which JSON forbids; llama.cpp's own excludes them.
    value = json.loads(text, strict=False)
    jsonschema.validate(value, EDITS_SCHEMA)
    assert isinstance(value["edits"], list)
    parse_edits(text)  # and the engine takes it as it is


@pytest.mark.parametrize("stream", [False, True])
def test_the_chat_backends_json_object_request_is_grammar_constrained(alive_llama: LlamaServer, stream: bool) -> None:
    """json_format = "json_object": llama-cpp-python's own Structured Outputs shape, sent by the chat
    backend: the reply parses and validates against the edits schema, from a model too small to produce
    that shape unprompted (llama.cpp turns the schema into a grammar)."""
    reply = chat.ChatBackend().complete(_schema_request(alive_llama, stream=stream), _endpoint(alive_llama))
    assert reply.status == "completed", (reply.reason, reply.text[-300:])
    _valid_edits(reply.text)


def test_the_refused_json_schema_shape_names_the_setting(alive_llama: LlamaServer) -> None:
    """llama-cpp-python refuses OpenAI's json_schema shape with HTTP 500 and no error code or param: the
    error says which setting to change."""
    request = _schema_request(alive_llama, json_format="json_schema")
    with pytest.raises(ApiError) as raised:
        chat.ChatBackend().complete(request, _endpoint(alive_llama))
    assert raised.value.status == 500 and raised.value.param is None
    assert str(raised.value).endswith("\n" + chat.FORMAT_HINT)


CODE = "```python\n# teh code stays as it is, evrything in it\nprint('recieve')\n```\n"
DOCUMENT = (
    "# Notes on teh release\n\n"
    "We recieve many reports each week. Teh team reads evrything before the release.\n\n"
    + CODE
    + "\nSee `teh --help` for the options, and https://example.org/teh for the changelog.\n"
)


def _applied_again(original: str, edits: list[dict[str, Any]]) -> str:
    """The original with the reported (applied) edits applied by hand: an oracle independent of the engine."""
    pieces, at = [], 0
    for edit in sorted((e for e in edits if e["status"] == "applied"), key=lambda e: e["start"]):
        assert edit["start"] >= at, "applied edits overlap"
        if edit["match"] == "exact":  # located: the find is at that very place
            assert original[edit["start"] : edit["end"]] == edit["find"]
        pieces += [original[at : edit["start"]], edit["new_text"]]
        at = edit["end"]
    return "".join(pieces) + original[at:]


@pytest.fixture
def linter_on_llama(on_llama: LlamaServer, edits_mode: None) -> Path:
    """MarkdownLinter in its own (edits) mode, greedy, against the server with the schema shape it takes
    (json_format, set for this assistant); the document in a file."""
    linter = "[assistants.MarkdownLinter]\ntemperature = 0\nmax_output_tokens = 400\njson_format = 'json_object'\n"
    config = Path(os.environ["GPT_TOOLS_CONFIG"])
    config.write_text(config.read_text("utf-8") + linter, encoding="utf-8")
    path = Path.cwd() / "notes.md"
    path.write_bytes(DOCUMENT.encode("utf-8"))
    return path


def test_edits_mode_against_the_weak_model_applies_only_located_edits(linter_on_llama: Path) -> None:
    """`gpt-tools run --json`: whatever SmolLM2 proposes, the text is the document with only the reported,
    located edits applied (applied again here by hand), and the fenced code block is byte-identical."""
    done = run_program("gpt-tools", "run", "MarkdownLinter", "--json", stdin=DOCUMENT.encode(), timeout=300)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-2000:]
    result = json.loads(done.stdout)
    assert result["text"] == _applied_again(DOCUMENT, result["edits"])
    assert CODE in result["text"] and result["text"].count("```") == 2


def test_gpt_filter_and_the_hook_in_edits_mode_never_lose_text(linter_on_llama: Path) -> None:
    """Succeeding or failing against the weak model, gpt-filter prints and the hook leaves the document
    either unchanged, byte for byte, or with exactly the located edits `gpt-tools run --json` reports
    applied (greedy decoding: the same edits); the code block is untouched either way."""
    filtered = run_program("gpt-filter", "MarkdownLinter", stdin=DOCUMENT.encode(), timeout=300)
    run_program("gpt-tools-hook", "--fix", str(linter_on_llama), timeout=300)
    for name, text in (("gpt-filter", filtered.stdout.decode()), ("hook", linter_on_llama.read_text("utf-8"))):
        assert CODE in text and text.count("```") == 2, name
        if text == DOCUMENT:
            continue  # refused, failed or nothing to fix: the document back, byte for byte
        run = run_program("gpt-tools", "run", "MarkdownLinter", "--json", stdin=DOCUMENT.encode(), timeout=300)
        assert run.returncode == 0, (name, run.stderr.decode("utf-8", "replace")[-2000:])
        assert text == _applied_again(DOCUMENT, json.loads(run.stdout)["edits"]), name
