"""Where the key comes from (keys.py): stripped once, refused when it cannot be sent, never shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gpt_tools import redact
from gpt_tools.config import keys
from gpt_tools.config.definitions import Settings
from gpt_tools.errors import MissingKey, UsageError
from gpt_tools.state.paths import run_log
from tests.conftest import log_file, run_program, trust_project, write_config
from tests.fake_openai import FakeOpenAI

KEY = "sk-proj-Abc123Def456Ghi789Jkl0"
DOC = b"I recieve teh mail.\n"


@pytest.fixture(autouse=True)
def _no_secrets() -> None:
    redact.forget_all()
    keys._key_from_command.cache_clear()


def _settings(**values: object) -> Settings:
    return Settings(base_url="http://127.0.0.1:9/v1", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [KEY + "\r", KEY + "\r\n", f"  {KEY}\n", "\t" + KEY])
def test_key_from_env_is_stripped_and_remembered(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", raw)
    endpoint = keys.resolve_endpoint(_settings())
    assert endpoint.api_key == KEY
    assert redact.redact(f"echo {KEY}!") == "echo ***!"


def test_key_from_a_crlf_command_is_stripped(tmp_path: Path) -> None:
    secret = tmp_path / "key.txt"
    secret.write_bytes(KEY.encode() + b"\r\n")
    endpoint = keys.resolve_endpoint(_settings(api_key_cmd=f"cat {secret}"))
    assert endpoint.api_key == KEY
    assert KEY not in redact.redact(KEY)


@pytest.mark.parametrize("bad", [KEY[:10] + " " + KEY[10:], KEY[:10] + "\r" + KEY[10:], KEY + "\x7f", KEY + "é"])
def test_key_that_cannot_be_sent_is_refused_without_showing_it(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", bad)
    with pytest.raises(MissingKey) as caught:
        keys.resolve_endpoint(_settings())
    assert "$OPENAI_API_KEY" in str(caught.value)
    assert KEY[:10] not in str(caught.value) and KEY[10:] not in str(caught.value)
    assert caught.value.exit_code == 2


def test_failing_key_command_never_echoes_the_key() -> None:
    with pytest.raises(MissingKey) as caught:
        keys.resolve_endpoint(_settings(api_key_cmd=f"echo {KEY}; echo 'bad key {KEY}' >&2; exit 3"))
    assert "exit 3" in str(caught.value) and KEY not in str(caught.value)


# A key in no shape redact() knows (hex, as some vaults store it), printed by a command that then fails.
HEX_KEY = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("stream", ["", ">&2"])
def test_failing_key_command_never_shows_what_it_printed(stream: str) -> None:
    with pytest.raises(MissingKey) as caught:
        keys.resolve_endpoint(_settings(api_key_cmd=f"echo {HEX_KEY} {stream}; exit 1"))
    message = str(caught.value)
    assert "exit 1" in message and "run the command yourself" in message
    assert HEX_KEY not in message and HEX_KEY[:8] not in message


def test_failing_key_command_output_reaches_neither_terminal_nor_logs(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    trust_project(Path.cwd())
    write_config(Path.cwd(), f"api_key_cmd = 'echo {HEX_KEY} >&2; echo {HEX_KEY}x; exit 1'\n")
    Path("doc.md").write_bytes(DOC)
    filtered = run_program("gpt-filter", "MarkdownLinter", stdin=DOC)
    assert (filtered.returncode, filtered.stdout) == (2, DOC)
    ran = run_program("gpt-tools", "run", "MarkdownLinter", "doc.md")
    assert ran.returncode == 2
    for done in (filtered, ran):
        assert b"api_key_cmd failed (exit 1)" in done.stderr, done.stderr
    written = filtered.stderr + ran.stderr + (log_file().read_bytes() if log_file().exists() else b"")
    # A missing key is a usage error (nothing sent), which adds no run log row (core/accounting.logged).
    written += run_log().read_bytes() if run_log().exists() else b""
    assert HEX_KEY[:16].encode() not in written
    assert api.model_requests() == []


def test_org_and_project_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (keys.resolve_endpoint(_settings()).organization, keys.resolve_endpoint(_settings()).project) == (None, None)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-abc\r\n")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_xyz")
    endpoint = keys.resolve_endpoint(_settings())
    assert (endpoint.organization, endpoint.project) == ("org-abc", "proj_xyz")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj xyz")
    with pytest.raises(UsageError, match="OPENAI_PROJECT_ID"):
        keys.resolve_endpoint(_settings())


def test_filter_with_a_crlf_key_sends_the_stripped_key(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY + "\r")
    done = run_program("gpt-filter", "MarkdownLinter", stdin=DOC)
    assert (done.returncode, done.stdout) == (0, b"I receive the mail.\n"), done.stderr
    assert api.model_requests()[0].headers["authorization"] == f"Bearer {KEY}"


def test_filter_with_a_broken_key_says_so_and_never_shows_it(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = KEY[:12] + "\r\n" + KEY[12:]
    monkeypatch.setenv("OPENAI_API_KEY", broken)
    write_config(Path.cwd(), "max_retries = 0\n")
    done = run_program("gpt-filter", "MarkdownLinter", stdin=DOC)
    assert (done.returncode, done.stdout) == (2, DOC)
    assert b"OPENAI_API_KEY" in done.stderr
    written = done.stderr + (log_file().read_bytes() if log_file().exists() else b"")
    for part in (KEY[:12], KEY[12:]):
        assert part.encode() not in written
    assert api.model_requests() == []
    assert os.environ["OPENAI_API_KEY"] == broken


def test_org_project_and_auth_headers_match_the_sdk(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    import openai

    from gpt_tools.wire import transport

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-abc")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_xyz")
    openai.OpenAI(base_url=fake.url, max_retries=0).responses.create(model="m", input="teh")
    endpoint = keys.resolve_endpoint(Settings(base_url=fake.url))
    transport.read_json(transport.post(endpoint, "/responses", {"model": "m", "input": "teh"}, stream=False))
    theirs, ours = (request.headers for request in fake.model_requests())
    for name in ("authorization", "openai-organization", "openai-project", "content-type"):
        assert ours.get(name) == theirs.get(name), name
    assert "idempotency-key" not in theirs and "idempotency-key" not in ours  # OpenAI's client sends none


@pytest.mark.parametrize("host", ["res.openai.azure.com", "res.cognitiveservices.azure.com", "p.services.ai.azure.com"])
def test_azure_openai_hosts_need_a_key(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MissingKey, match="no API key"):
        keys.resolve_endpoint(Settings(base_url=f"https://{host}/openai/v1"))
