"""`gpt-tools config show` (every setting and what set it) and `gpt-tools models` (GET /v1/models)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gpt_tools.cli.main import main
from gpt_tools.config.definitions import DEFAULT_MODEL
from gpt_tools.state.paths import user_config_file
from tests.conftest import trust_project, write_config
from tests.fake_openai import FakeOpenAI


def _show(capfd: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["config", "show", *argv, "--json"]) == 0
    data: dict[str, Any] = json.loads(capfd.readouterr().out)
    return data


def _user(text: str) -> Path:
    user = user_config_file()
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(text)
    return user


def test_each_setting_names_the_file_variable_flag_or_default_that_set_it(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    user = _user("model = 'gpt-6-luna'\nread_timeout = 99\n")
    project = write_config(isolated_env, "jobs = 3\n[assistants.Mine]\ninstructions = 'x'\nchunk_tokens = 500\n")
    values = _show(capfd, "Mine")["values"]
    assert values["model"] == {"value": "gpt-6-luna", "origin": str(user)}
    assert values["read_timeout"] == {"value": 99, "origin": str(user)}
    assert values["jobs"] == {"value": 3, "origin": str(project)}
    assert values["chunk_tokens"] == {"value": 500, "origin": f"{project} [assistants.Mine]"}
    assert values["connect_timeout"] == {"value": 10.0, "origin": "built-in default"}
    monkeypatch.setenv("GPT_TOOLS_MODEL", "gpt-6-sol")
    assert _show(capfd, "Mine")["values"]["model"] == {"value": "gpt-6-sol", "origin": "$GPT_TOOLS_MODEL"}
    assert _show(capfd, "Mine", "-m", "x-1")["values"]["model"] == {"value": "x-1", "origin": "-m/--model"}
    builtin = _show(capfd, "MarkdownLinter")["values"]["reasoning_effort"]
    assert builtin == {"value": "low", "origin": "built-in (MarkdownLinter.md) [assistants.MarkdownLinter]"}


def test_the_text_form_lists_every_setting_like_show_settings(
    isolated_env: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = write_config(isolated_env, "jobs = 3\n")
    assert main(["config", "show"]) == 0
    out = capfd.readouterr().out
    assert f"jobs = 3  # {project}" in out and f'model = "{DEFAULT_MODEL}"  # built-in default' in out
    assert "endpoint      https://api.openai.com/v1  (built-in default (OpenAI))" in out
    assert "key           none: set $OPENAI_API_KEY" in out


def test_the_key_is_named_by_its_source_never_shown_and_no_key_command_runs(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789")
    assert _show(capfd)["key_source"] == "$OPENAI_API_KEY"
    assert main(["config", "show"]) == 0
    assert "abcdefghij" not in capfd.readouterr().out
    monkeypatch.delenv("OPENAI_API_KEY")
    write_config(
        isolated_env, "api_key_cmd = 'touch ran; echo sk-x'\nbase_url = 'https://u:hunter2@h.example/v1?k=s'\n"
    )
    trust_project(isolated_env)
    data = _show(capfd)
    assert data["key_source"] == "api_key_cmd (not run here)" and not Path("ran").exists()
    assert data["endpoint"]["value"] == "https://h.example/v1" and "hunter2" not in json.dumps(data)


def test_an_untrusted_project_is_shown_with_its_gated_keys_left_out(
    isolated_env: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    write_config(isolated_env, "base_url = 'http://127.0.0.1:9/v1'\njobs = 2\n")
    data = _show(capfd)
    assert data["ignored"] == ["base_url"] and data["values"]["jobs"]["value"] == 2
    assert data["trust"] == "not trusted: base_url would be refused"
    assert data["endpoint"]["value"] == "https://api.openai.com/v1"


def test_the_price_in_use_is_shown_with_the_date_it_was_checked(capfd: pytest.CaptureFixture[str]) -> None:
    price = _show(capfd)["price"]
    assert price["model"] == DEFAULT_MODEL and price["origin"] == "built-in" and price["checked"]


def test_config_show_of_an_unknown_assistant_exits_2(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", "Nope"]) == 2
    assert "unknown assistant 'Nope'" in capfd.readouterr().err


# --- gpt-tools models -----------------------------------------------------------------------------


def test_models_lists_the_servers_models_and_marks_the_one_in_use(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["models"]) == 0
    lines = capfd.readouterr().out.splitlines()
    assert any(line.startswith(f"* {DEFAULT_MODEL} ") for line in lines)
    assert any(line.startswith("  gpt-5-nano ") for line in lines)
    assert [r for r in api.requests if r.method == "GET" and r.path == "/v1/models"], api.requests
    assert main(["models", "--json"]) == 0
    ids = [model["id"] for model in json.loads(capfd.readouterr().out)]
    assert ids == sorted(ids) and DEFAULT_MODEL in ids


def test_models_needs_a_key_for_openai_and_sends_nothing_without_one(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    os.environ.pop("OPENAI_API_KEY", None)
    assert main(["models"]) == 2
    assert "no API key" in capfd.readouterr().err and fake.requests == []


def test_with_json_a_failure_is_a_json_object_with_the_exit_status(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", "Nope", "--json"]) == 2
    shown = json.loads(capfd.readouterr().out)
    assert (shown["status"], shown["code"], shown["error"]) == ("error", 2, "UnknownAssistant")
    assert main(["models", "--json"]) == 2  # no key: nothing sent
    shown = json.loads(capfd.readouterr().out)
    assert (shown["status"], shown["code"], shown["error"]) == ("error", 2, "MissingKey")


@pytest.mark.parametrize(
    "argv",
    [["show", "Mine"], ["show", "Mine", "--json"], ["config", "show", "Mine"], ["config", "show", "Mine", "--json"]],
)
def test_a_password_in_a_base_url_is_never_shown(
    isolated_env: Path, capfd: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    # User info and query are where proxies take a password (https://u:PW@host/v1, ?api-key=PW).
    mine = "[assistants.Mine]\ninstructions = 'x'\nbase_url = 'https://u:hunter2@proxy.example/v1?api-key=sk-q1'\n"
    key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"
    write_config(isolated_env, f"{mine}api_key_cmd = 'echo {key}'\n")
    trust_project(isolated_env)
    assert main(argv) == 0
    out = capfd.readouterr().out
    assert "https://proxy.example/v1" in out and "hunter2" not in out and "sk-q1" not in out
    assert "api_key_cmd" in out and key not in out


def test_a_runs_per_run_options_are_shown_as_what_set_them(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    project = write_config(isolated_env, "[assistants.Mine]\ninstructions = 'x'\ntemperature = 0.3\n")
    values = _show(capfd, "Mine", "-O", "read_timeout", "600", "-O", "model", "gpt-6-sol", "-m", "ignored")["values"]
    assert values["read_timeout"] == {"value": 600.0, "origin": "-O read_timeout"}
    assert values["model"] == {"value": "gpt-6-sol", "origin": "-O model"}  # -O wins over -m, as in a run
    assert values["temperature"] == {"value": 0.3, "origin": f"{project} [assistants.Mine]"}
    assert _show(capfd, "Mine", "--temperature", "1")["values"]["temperature"]["value"] == 1.0
    assert _show(capfd)["values"]["max_output_tokens"]["value"] is None
    monkeypatch.setenv("GPT_TOOLS_OUTPUT", "bogus")  # ignored by a run: not what set output
    assert _show(capfd)["values"]["output"]["origin"] != "$GPT_TOOLS_OUTPUT"
    assert main(["config", "show", "-O", "read_timout", "6", "--json"]) == 2
    assert "did you mean 'read_timeout'" in json.loads(capfd.readouterr().out)["message"]
