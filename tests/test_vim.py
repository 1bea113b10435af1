"""`:%!gpt-filter` and `:2,4!gpt-filter` through a real, headless Vim."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, log_file
from tests.conftest import SAMPLE_LINES as LINES
from tests.fake_openai import FakeOpenAI

pytestmark = pytest.mark.skipif(shutil.which("vim") is None and not os.environ.get("CI"), reason="vim not installed")


def _vim(path: Path, command: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["vim", "-Es", "-N", "-u", "NONE", "-i", "NONE", "-c", command, "-c", "wq", str(path)],
        env=env,
        capture_output=True,
        timeout=60,
        start_new_session=True,  # no controlling terminal: messages can only go to the log
        check=False,
    )


def test_whole_buffer_is_fixed(api: FakeOpenAI, document: Path) -> None:
    _vim(document, "%!gpt-filter MarkdownLinter")
    assert document.read_text().splitlines() == [line.replace("teh", "the") for line in LINES]


def test_range_fixes_only_its_lines(api: FakeOpenAI, document: Path) -> None:
    _vim(document, "3,4!gpt-filter MarkdownLinter")
    expected = [*LINES[:2], "the first line", "the second line", *LINES[4:]]
    assert document.read_text().splitlines() == expected
    assert api.model_requests()[0].body["input"][0]["content"][0]["text"] == "teh first line\nteh second line\n"


@pytest.mark.parametrize("command", ["%!gpt-filter MarkdownLinter", "2,4!gpt-filter MarkdownLinter"])
def test_failing_server_leaves_buffer_unchanged_and_free_of_errors(
    api: FakeOpenAI, document: Path, command: str
) -> None:
    api.default_fault = "500"
    before = document.read_bytes()
    _vim(document, command)
    assert document.read_bytes() == before
    assert "HTTP 500" in log_file().read_text(encoding="utf-8")


def test_unknown_assistant_leaves_buffer_unchanged(api: FakeOpenAI, document: Path) -> None:
    before = document.read_bytes()
    _vim(document, "%!gpt-filter NoSuchAssistant")
    assert document.read_bytes() == before
    assert api.model_requests() == []
