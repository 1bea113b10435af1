"""`:[range]GptFilter NAME` from editor/plugin/gpt_tools.vim, through a real, headless Vim."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, ROOT, write_config
from tests.conftest import SAMPLE_LINES as LINES
from tests.fake_openai import FakeOpenAI

pytestmark = pytest.mark.skipif(shutil.which("vim") is None and not os.environ.get("CI"), reason="vim not installed")

PLUGIN = ROOT / "editor" / "plugin" / "gpt_tools.vim"


def _vim(path: Path, *commands: str) -> str:
    """Run commands on path in Vim with only our plugin loaded, write and quit; return v:errmsg."""
    errmsg = path.with_name("errmsg.txt")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    argv = ["vim", "-Es", "-N", "-u", "NONE", "-i", "NONE", "--cmd", f"set rtp^={ROOT / 'editor'}"]
    argv += ["-c", f"source {PLUGIN}"]
    for command in commands:
        argv += ["-c", command]
    argv += ["-c", f"call writefile([v:errmsg], '{errmsg}')", "-c", "wq", str(path)]
    subprocess.run(argv, env=env, capture_output=True, timeout=60, start_new_session=True, check=False)
    return errmsg.read_text(encoding="utf-8").strip()


def test_whole_buffer_is_fixed(api: FakeOpenAI, document: Path) -> None:
    assert _vim(document, "GptFilter MarkdownLinter") == ""
    assert document.read_text().splitlines() == [line.replace("teh", "the") for line in LINES]


def test_range_fixes_only_its_lines_in_one_undo_step(api: FakeOpenAI, document: Path) -> None:
    assert _vim(document, "3,4GptFilter MarkdownLinter") == ""
    assert document.read_text().splitlines() == [*LINES[:2], "the first line", "the second line", *LINES[4:]]
    assert api.model_requests()[0].body["input"][0]["content"][0]["text"] == "teh first line\nteh second line\n"
    before = document.read_bytes()
    _vim(document, "3,4GptFilter MarkdownLinter", "undo")
    assert document.read_bytes() == before


def test_failing_server_leaves_the_text_and_shows_the_error(api: FakeOpenAI, document: Path) -> None:
    write_config(Path.cwd(), "max_retries = 0\n")
    api.default_fault = "500"
    before = document.read_bytes()
    message = _vim(document, "2,4GptFilter MarkdownLinter")
    assert "GptFilter:" in message and "HTTP 500" in message
    assert document.read_bytes() == before


def test_unknown_assistant_leaves_the_text_and_names_the_close_match(api: FakeOpenAI, document: Path) -> None:
    before = document.read_bytes()
    message = _vim(document, "GptFilter MarkdwonLinter")
    assert "Did you mean 'MarkdownLinter'" in message
    assert document.read_bytes() == before and api.model_requests() == []


def test_missing_program_is_reported(api: FakeOpenAI, document: Path) -> None:
    before = document.read_bytes()
    message = _vim(document, "let g:gpt_tools_filter = '/nonexistent/gpt-filter'", "GptFilter MarkdownLinter")
    assert "not found" in message and document.read_bytes() == before
