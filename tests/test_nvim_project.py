"""The buffer's project in a real headless Neovim: `:checkhealth gpt_tools` checks it (not Neovim's working
folder) and reports every check; an untrusted project's refusal keeps its fix in `:messages`, the fix
first; `:GptTrust` trusts it.

$GPT_TOOLS_CONFIG (which the `api` fixture sets) stops the search for project configs, so these tests
unset it before Neovim starts (the Python host inherits Neovim's environment).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gpt_tools.state.paths import user_config_file
from tests.fake_openai import FakeOpenAI
from tests.nvim_helpers import NVIM, pynvim, start_run, wait_done, wait_for

pytestmark = pytest.mark.skipif(
    (NVIM is None or pynvim is None) and not os.environ.get("CI"), reason="nvim or pynvim not installed"
)


@pytest.fixture
def untrusted(api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A project whose config sets base_url (refused until trusted); requested before `nvim`."""
    monkeypatch.delenv("GPT_TOOLS_CONFIG")
    user = user_config_file()
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text("max_retries = 0\n", encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    (project / "gpt-tools.toml").write_text(f'base_url = "{api.url}"\n', encoding="utf-8")
    (project / "notes.md").write_text("teh notes\n", encoding="utf-8")
    return project


def messages(nvim: Any) -> list[str]:
    return str(nvim.api.exec("messages", True)).splitlines()


def test_an_untrusted_projects_refusal_keeps_its_fix_first_and_in_full(untrusted: Path, nvim: Any) -> None:
    nvim.command(f"edit {untrusted / 'notes.md'}")
    nvim.command("unlet! g:gpt_tools_last")
    nvim.input(":GptRun MarkdownLinter\r")  # typed, as a user would: the message is displayed
    done = wait_done(nvim)
    assert done["status"] == "error"
    first, *rest = str(done["message"]).split("\n")
    assert first.startswith("GptRun MarkdownLinter on notes.md: the project")
    assert "is not trusted; if you trust it, run" in first
    history = messages(nvim)
    assert first in history  # the fix, whole, however wide the screen
    assert any("base_url" in line and "failed" in line for line in history), history  # then the full error
    assert rest and rest[0] in history
    assert history.index(first) < history.index(rest[0])
    assert not any(line.endswith("…") for line in history)


def test_checkhealth_checks_the_buffers_project_and_every_item(untrusted: Path, nvim: Any) -> None:
    nvim.command(f"edit {untrusted / 'notes.md'}")
    nvim.command("checkhealth gpt_tools")
    report = list(nvim.current.buffer[:])
    text = "\n".join(report)
    assert f"checking the project of `{untrusted}`" in text, text
    assert "ERROR" in text and ":GptTrust trusts it" in text  # Neovim's folder is fine; this project is not
    for expected in ("assistants loaded", "API key present", "is reachable"):  # the checks after the error
        assert expected in text, text
    line = next(n for n, row in enumerate(report, 1) if "gpt_tools/__init__.py" in row)
    assert "/__init__.py`" in report[line - 1]  # a code span: Markdown shows __init__ as it is
    column = report[line - 1].index("__init__") + 3
    assert nvim.funcs.synIDattr(nvim.funcs.synID(line, column, 1), "name") not in ("markdownBold", "markdownItalic")


def test_gpt_trust_asks_then_trusts_the_buffers_project(untrusted: Path, nvim: Any) -> None:
    nvim.command(f"edit {untrusted / 'notes.md'}")
    nvim.input(":GptTrust\r")  # no UI is attached: confirm() takes its default answer, Cancel
    wait_for("the answer", lambda: any("not trusted (cancelled)" in line for line in messages(nvim)) or None)
    assert str(untrusted) not in user_config_file().read_text(encoding="utf-8")
    nvim.command("GptTrust!")  # ! does not ask
    wait_for("the answer", lambda: any(": trusted" in line for line in messages(nvim)) or None)
    assert str(untrusted) in user_config_file().read_text(encoding="utf-8")
    start_run(nvim, "GptRun MarkdownLinter")
    assert wait_done(nvim)["status"] == "ok" and nvim.current.buffer[:] == ["the notes"]


def test_gpt_trust_says_what_it_trusts_before_asking(untrusted: Path) -> None:
    """The question names the folder and what trust lets its config do (a stand-in for Neovim's confirm())."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "editor" / "rplugin" / "python3"))
    from gpt_tools_nvim import trust

    asked: list[str] = []

    def confirm(question: str, *_: object) -> int:
        asked.append(question)
        return 2  # Cancel

    editor = SimpleNamespace(funcs=SimpleNamespace(confirm=confirm))
    message, level = trust.trust_project(editor, str(untrusted), ask=True)  # type: ignore[arg-type]
    assert level == "WARN" and "not trusted (cancelled)" in message
    assert asked[0].startswith(f"Trust the project {untrusted}?") and "Its config sets base_url." in asked[0]


def test_completion_and_the_list_work_in_an_untrusted_project(untrusted: Path, nvim: Any) -> None:
    """Nothing is sent: the project's assistants are listed without its trust-gated settings."""
    config = 'base_url = "http://127.0.0.1:9/v1"\n[assistants.HouseStyle]\ninstructions = "House style."\n'
    (untrusted / "gpt-tools.toml").write_text(config, encoding="utf-8")
    nvim.command(f"edit {untrusted / 'notes.md'}")
    assert nvim.funcs.getcompletion("GptRun Hou", "cmdline") == ["HouseStyle"]
    assert "HouseStyle" in nvim.api.exec("GptList", True)


def test_gpt_trust_outside_any_project_says_so(untrusted: Path, nvim: Any, tmp_path: Path) -> None:
    lone = tmp_path / "lone"
    lone.mkdir()
    nvim.command(f"edit {lone / 'x.md'}")
    nvim.command("GptTrust!")
    found = wait_for("the answer", lambda: [line for line in messages(nvim) if "GptTrust" in line] or None)
    assert "no project config" in found[-1] and "nothing to trust" in found[-1]


def test_the_list_shows_each_assistant_on_one_line_whatever_its_config_says(untrusted: Path, nvim: Any) -> None:
    (untrusted / "gpt-tools.toml").write_text(
        '[assistants.Spoof]\nmode = "write"\ninstructions = "x"\n'
        'description = "harmless\\rTrusted: yes\\nFake  write  a second row"\n',
        encoding="utf-8",
    )
    nvim.command(f"edit {untrusted / 'notes.md'}")
    shown = str(nvim.api.exec("GptList", True))
    (row,) = [line for line in shown.splitlines() if "Spoof" in line]  # was: a second, fake row
    assert "\r" not in shown and "harmless Trusted: yes Fake write a second row" in row, shown
