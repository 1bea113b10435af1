"""The core `run()` against the fake server: both backends, streamed or not, and every guard."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import gpt_tools
from gpt_tools import InputFile, InputRefused, MissingKey, ReplyRejected, UsageError
from gpt_tools.wire.backends import BACKENDS, BackendRequest, Reply, register
from tests.conftest import trust_project, write_config
from tests.fake_openai import FakeOpenAI, Scripted

DOC = "# Title\n\nThis is teh document.\n\n```python\nteh = 1\n```\n"
FIXED = "# Title\n\nThis is the document.\n\n```python\nteh = 1\n```\n"  # code is protected
PROSE = "# Title\n\nThis is teh document.\n"


def _configure(folder: Path, extra: str = "") -> None:
    write_config(folder, "max_retries = 2\nmax_retry_wait = 5\n" + extra)


@pytest.mark.parametrize("backend", ["openai", "chat"])
@pytest.mark.parametrize("stream", [True, False])
def test_run_returns_the_fixed_document_and_usage(api: FakeOpenAI, backend: str, stream: bool) -> None:
    _configure(Path.cwd(), f"stream = {str(stream).lower()}\nbackend = '{backend}'\n")
    deltas: list[str] = []
    result = gpt_tools.run("MarkdownLinter", PROSE, on_delta=deltas.append, cwd=Path.cwd())
    assert result.text == PROSE.replace("teh", "the")
    assert result.status == "completed"
    assert result.backend == backend
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert ("".join(deltas) == result.text) if stream else deltas == []
    [request] = api.model_requests()
    assert request.path == ("/v1/responses" if backend == "openai" else "/v1/chat/completions")
    assert request.headers["Authorization"] == "Bearer sk-test-not-a-real-key"
    assert request.body["stream"] is stream


def test_responses_request_carries_the_definition(api: FakeOpenAI) -> None:
    assistant = gpt_tools.Assistant(
        name="Custom",
        instructions="Be terse.",
        mode="write",
        model="gpt-x",
        temperature=0.2,
        max_output_tokens=321,
        tools=("code_interpreter",),
    )
    gpt_tools.run(assistant, "hello", config=gpt_tools.load_config())
    body = api.model_requests()[0].body
    assert body["model"] == "gpt-x"
    assert body["instructions"] == "Be terse."
    assert body["input"] == [{"role": "user", "content": [{"type": "input_text", "text": "hello"}]}]
    assert body["temperature"] == 0.2 and body["max_output_tokens"] == 321
    assert body["tools"] == [{"type": "code_interpreter", "container": {"type": "auto"}}]
    assert body["store"] is False  # users' documents are not kept server-side by default


def test_model_precedence_flag_over_env_over_assistant(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(Path.cwd(), "model = 'from-config'\n[assistants.MarkdownLinter]\nmodel = 'from-assistant'\n")
    gpt_tools.run("MarkdownLinter", DOC)
    monkeypatch.setenv("GPT_TOOLS_MODEL", "from-env")
    gpt_tools.run("MarkdownLinter", DOC)
    gpt_tools.run("MarkdownLinter", DOC, model="from-flag")
    assert [r.body["model"] for r in api.model_requests()] == ["from-assistant", "from-env", "from-flag"]


def test_rewriter_gets_the_bare_document_and_extras_in_instructions(api: FakeOpenAI) -> None:
    notes = InputFile("style.md", "Use British spelling.")
    gpt_tools.run("MarkdownLinter", DOC, files=[notes], extra_instructions="Keep it short.")
    body = api.model_requests()[0].body
    # The bare document, with its code block out of the model's reach.
    assert body["input"][0]["content"][0]["text"] == "# Title\n\nThis is teh document.\n\n⟦B1⟧\n"
    assert "Keep it short." in body["instructions"]
    assert '<file path="style.md">\nUse British spelling.\n</file>' in body["instructions"]


def test_writer_gets_request_then_sources(api: FakeOpenAI) -> None:
    sources = [InputFile("a.py", "def a(): ...\n"), InputFile("b.md", "notes")]
    gpt_tools.run("DocWriter", "Document the API.", files=sources)
    text = api.model_requests()[0].body["input"][0]["content"][0]["text"]
    assert (
        text == 'Document the API.\n\n<file path="a.py">\ndef a(): ...\n</file>\n\n<file path="b.md">\nnotes\n</file>'
    )


@pytest.mark.parametrize("backend", ["openai", "chat"])
@pytest.mark.parametrize("fault", ["incomplete", "cut", "empty"])
def test_unusable_replies_are_errors_never_results(api: FakeOpenAI, backend: str, fault: str) -> None:
    api.script(Scripted(fault=fault))
    with pytest.raises(ReplyRejected) as caught:
        gpt_tools.run("MarkdownLinter", DOC, backend=backend)
    assert caught.value.exit_code == 1
    assert "nothing was applied" in str(caught.value)


def test_non_streamed_cut_body_is_an_error(api: FakeOpenAI) -> None:
    _configure(Path.cwd(), "stream = false\n")
    api.default_fault = "cut"  # every try: a cut non-streamed body is retried (nothing was shown yet)
    with pytest.raises(gpt_tools.RunFailed, match="cut short"):
        gpt_tools.run("MarkdownLinter", DOC)


def test_fenced_reply_is_unwrapped_and_citations_removed(api: FakeOpenAI) -> None:
    api.script(Scripted(fault="fenced"), Scripted(text="Fixed text.【4:0†notes.md】 More.\n"))
    assert gpt_tools.run("MarkdownLinter", DOC).text == FIXED
    assert gpt_tools.run("Summarizer", "some text\n").text == "Fixed text. More.\n"


def test_failed_run_raises_with_status_and_message(api: FakeOpenAI) -> None:
    api.script(Scripted(fault="401"))
    with pytest.raises(gpt_tools.ApiError) as caught:
        gpt_tools.run("MarkdownLinter", DOC)
    assert caught.value.status == 401
    assert "check the API key" in str(caught.value)
    assert "sk-test-not-a-real-key" not in str(caught.value)


def test_context_length_error_is_reported_clearly(api: FakeOpenAI) -> None:
    api.script(Scripted(fault="context_length"))
    with pytest.raises(gpt_tools.ApiError, match="HTTP 400") as caught:
        gpt_tools.run("MarkdownLinter", DOC)
    assert caught.value.code == "context_length_exceeded"
    assert len(api.model_requests()) == 1  # a 400 is never retried


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("  \n\n", "empty"),
        ("key = sk-proj-" + "a1B2c3D4" * 6 + "\n", "line 1: looks like an OpenAI"),
        ("x" * 400_000, "over (the limit|max_input_tokens)"),
    ],
)
def test_refused_input_sends_nothing(api: FakeOpenAI, text: str, message: str) -> None:
    with pytest.raises(InputRefused, match=message) as caught:
        gpt_tools.run("MarkdownLinter", text)
    assert caught.value.exit_code == 2
    assert api.model_requests() == []


def test_secret_in_a_file_is_refused_unless_allowed(api: FakeOpenAI) -> None:
    leaky = InputFile("deploy.md", "intro\n-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n")
    with pytest.raises(InputRefused, match=r"deploy\.md, line 2: looks like a private key block"):
        gpt_tools.run("DocWriter", "Write docs.", files=[leaky])
    gpt_tools.run("DocWriter", "Write docs.", files=[leaky], allow_secrets=True)
    assert len(api.model_requests()) == 1


def test_missing_key_for_openai_endpoint(fake: FakeOpenAI) -> None:
    with pytest.raises(MissingKey, match="OPENAI_API_KEY") as caught:
        gpt_tools.run("MarkdownLinter", DOC)
    assert caught.value.exit_code == 2


def test_local_server_needs_no_key(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    gpt_tools.run("MarkdownLinter", DOC)
    assert "Authorization" not in fake.model_requests()[0].headers


def test_api_key_cmd_supplies_the_key(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(Path.cwd(), f"base_url = '{fake.url}'\napi_key_cmd = 'echo sk-from-command-0001'\n")
    trust_project(Path.cwd())  # after the config: trust is for the values it has
    gpt_tools.run("MarkdownLinter", DOC)
    assert fake.model_requests()[0].headers["Authorization"] == "Bearer sk-from-command-0001"


def test_failing_api_key_cmd_is_a_clear_error(fake: FakeOpenAI) -> None:
    _configure(Path.cwd(), "api_key_cmd = 'echo nope >&2; exit 3'\n")
    trust_project(Path.cwd())  # after the config: trust is for the values it has
    with pytest.raises(MissingKey, match=r"api_key_cmd failed \(exit 3\); its output is not shown"):
        gpt_tools.run("MarkdownLinter", DOC)


def test_azure_style_key_header(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(Path.cwd(), f"base_url = '{fake.url}'\nauth_header = 'api-key'\n")
    trust_project(Path.cwd())  # after the config: trust is for the values it has
    monkeypatch.setenv("OPENAI_API_KEY", "azure-key")
    gpt_tools.run("MarkdownLinter", DOC)
    assert fake.model_requests()[0].headers["api-key"] == "azure-key"


def test_file_search_without_vector_store_is_a_usage_error(api: FakeOpenAI) -> None:
    assistant = gpt_tools.Assistant(name="Kb", instructions="x", tools=("file_search",))
    with pytest.raises(UsageError, match="vector_store_ids"):
        gpt_tools.run(assistant, "question", config=gpt_tools.load_config())
    assert api.model_requests() == []


def test_chat_backend_refuses_server_side_tools(api: FakeOpenAI) -> None:
    assistant = gpt_tools.Assistant(name="Calc", instructions="x", tools=("code_interpreter",))
    with pytest.raises(UsageError, match="chat backend cannot use"):
        gpt_tools.run(assistant, "2+2", backend="chat", config=gpt_tools.load_config())


class _EchoBackend:
    """A third-party backend, registered exactly as the built-ins are."""

    def complete(self, request: BackendRequest, endpoint: object, **_: object) -> Reply:
        return Reply(request.text.upper(), "completed", model="echo-1")


def test_third_party_backend_registers_like_builtins(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    register("echo", _EchoBackend())
    try:
        result = gpt_tools.run("Summarizer", "shout\n", backend="echo")
    finally:
        del BACKENDS["echo"]
    assert (result.text, result.model, result.backend) == ("SHOUT\n", "echo-1", "echo")
    assert {"openai", "chat"} <= set(BACKENDS)


def test_unknown_backend_lists_known(api: FakeOpenAI) -> None:
    with pytest.raises(UsageError, match=r"unknown backend .nope.; known backends: .*chat.*openai"):
        gpt_tools.run("MarkdownLinter", DOC, backend="nope")


def test_cancel_stops_a_slow_stream(api: FakeOpenAI) -> None:
    api.script(Scripted(chunk_delay=0.3))
    cancel = threading.Event()
    with pytest.raises(gpt_tools.Cancelled):
        gpt_tools.run("Summarizer", PROSE * 3, on_delta=lambda _: cancel.set(), cancel=cancel)


def test_library_text_with_nul_is_refused(api: FakeOpenAI) -> None:
    with pytest.raises(InputRefused, match="input holds a NUL byte \\(line 2\\)"):
        gpt_tools.run("Summarizer", "fine\nbad\0byte\n")
    with pytest.raises(InputRefused, match="input holds a NUL byte \\(line 3\\)"):  # CR-only lines count
        gpt_tools.run("Summarizer", "fine\rstill \f fine\rbad\0byte\r")
    assert api.model_requests() == []


# --- recovery matched by the error's code, never by its words -------------------------------------


def _reword_errors(monkeypatch: pytest.MonkeyPatch, words: str) -> None:
    """Every HTTP error keeps its status, code and param, but its message becomes `words`."""
    from gpt_tools.wire import transport

    original = transport._error_from

    def reworded(*args: object) -> gpt_tools.ApiError:
        error = original(*args)  # type: ignore[arg-type]
        error.args = (words,)
        return error

    monkeypatch.setattr(transport, "_error_from", reworded)


def test_an_expired_previous_response_is_known_by_its_code(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    from gpt_tools.state import conversation

    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh one", conversation=talk)
    _reword_errors(monkeypatch, "HTTP 400: gone")
    api.script(Scripted(fault="previous_not_found"))
    gpt_tools.run("Summarizer", "teh two", conversation=talk)
    refused, resent = (r.body for r in api.model_requests()[1:])
    assert "previous_response_id" in refused and "previous_response_id" not in resent


def test_an_error_that_mentions_previous_is_not_taken_for_expiry(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gpt_tools.state import conversation

    talk = conversation.new("Summarizer", Path.cwd())
    gpt_tools.run("Summarizer", "teh one", conversation=talk)
    _reword_errors(monkeypatch, "HTTP 400: the previous messages are too long")
    api.script(Scripted(fault="context_length"))
    with pytest.raises(gpt_tools.ApiError) as caught:
        gpt_tools.run("Summarizer", "teh two", conversation=talk)
    assert caught.value.code == "context_length_exceeded" and len(api.model_requests()) == 2
