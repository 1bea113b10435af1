"""The README's shell examples run as written, top to bottom, against the fake server.

Every ```sh block of README.md is run, one command at a time, in a fresh git project holding the
files the examples name, with the installed programs on PATH and the fake OpenAI server as the
endpoint. A command must exit 0 unless its comment says otherwise (`# exits 1`). A block that shows a
command's form rather than an example (placeholders such as `BATCH_ID`) is marked
`<!-- readme: synopsis -->` on the line before it; the install block is marked `<!-- readme: install
-->` and runs without its venv and pip steps (the venv under test is already installed). The test
command (`<!-- ci: test command -->`) is what CI runs, so it is not run again here. ```toml blocks
must parse, and load as a project's config.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

from tests.conftest import BIN, ROOT
from tests.fake_openai import FakeOpenAI

README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"^<!--\s*(readme|ci):\s*([\w -]+?)\s*-->\s*$")
EXPECTED_EXIT = re.compile(r"#.*\bexits? (\d)\b")
INSTALL_STEP = re.compile(r"^\s*(python3? -m venv|\.|source|pip3? install)(\s|$)")


@dataclass(frozen=True, kw_only=True)
class Block:
    language: str
    marker: str | None
    line: int
    text: str


def readme_blocks(text: str) -> list[Block]:
    """Fenced blocks with the marker comment that precedes each (blank lines between are allowed)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    marker: str | None = None
    index = 0
    while index < len(lines):
        found = MARKER.match(lines[index])
        fence = FENCE.match(lines[index])
        if found:
            marker = f"{found.group(1)}: {found.group(2)}"
        elif fence:
            end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
            body = "\n".join(lines[index + 1 : end])
            blocks.append(Block(language=fence.group(1), marker=marker, line=index + 1, text=body))
            marker, index = None, end
        elif lines[index].strip():
            marker = None
        index += 1
    return blocks


def commands(block: Block) -> list[str]:
    """The block's logical command lines: continuations joined, comment-only lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", block.text)
    found = [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if block.marker == "readme: install":
        found = [" && ".join(step for step in line.split(" && ") if not INSTALL_STEP.match(step)) for line in found]
    return [line for line in found if line.strip()]


def expected_exit(command: str) -> int:
    found = EXPECTED_EXIT.search(command)
    return int(found.group(1)) if found else 0


PROJECT_FILES = {
    "docs/guide.md": "# Guide\n\nThis is teh guide.\n",
    "docs/install.md": "# Install\n\nRun teh installer.\n",
    "docs/style.md": "# House style\n\nUse sentence case for headings.\n",
    "docs/glossary.md": "# Glossary\n\n- **assistant**: a named definition.\n",
    "notes.md": "# Notes\n\nteh first note\n",
    "report.md": "# Report\n\nThe quarter went well. Sales rose.\n",
    "src/cli.py": '"""The command line."""\n\n\ndef main() -> int:\n    return 0\n',
}


def make_project(folder: Path) -> None:
    """A git project with the files the examples name, and one commit for `git log`."""
    shutil.copy(README, folder / "README.md")
    for name, text in PROJECT_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    git = ["git", "-c", "user.name=Doc Writer", "-c", "user.email=doc@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=folder, check=True)
    subprocess.run([*git, "add", "."], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-qm", "Add the docs"], cwd=folder, check=True)


def example_env(fake: FakeOpenAI) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GPT_TOOLS_CONFIG", None)  # a user following the README has no such variable
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        OPENAI_BASE_URL=fake.url,
        OPENAI_API_KEY="sk-test-not-a-real-key",
        EDITOR="true",
        GIT_AUTHOR_NAME="Doc Writer",
        GIT_AUTHOR_EMAIL="doc@example.invalid",
        GIT_COMMITTER_NAME="Doc Writer",
        GIT_COMMITTER_EMAIL="doc@example.invalid",
    )
    return env


def run_example(command: str, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )


def test_readme_blocks_are_found_and_marked() -> None:
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    shells = [block for block in blocks if block.language == "sh"]
    assert len(shells) >= 5
    assert any(block.marker == "ci: test command" for block in shells)
    assert any(block.marker == "readme: install" for block in shells)
    unknown = {block.marker for block in blocks} - {None, "ci: test command", "readme: install", "readme: synopsis"}
    assert not unknown, f"unknown README markers: {unknown}"


def test_readme_toml_examples_parse() -> None:
    for block in readme_blocks(README.read_text(encoding="utf-8")):
        if block.language == "toml":
            try:
                tomllib.loads(block.text)
            except tomllib.TOMLDecodeError as error:
                pytest.fail(f"README.md:{block.line}: the TOML example does not parse: {error}")


def test_readme_config_examples_load(tmp_path: Path) -> None:
    """Each TOML example, saved as a project's gpt-tools.toml, is a config gpt-tools accepts."""
    for block in readme_blocks(README.read_text(encoding="utf-8")):
        if block.language != "toml":
            continue
        project = tmp_path / f"line{block.line}"
        (project / "docs").mkdir(parents=True)
        (project / "docs" / "style-prompt.md").write_text("Use our house style.\n", encoding="utf-8")
        (project / "gpt-tools.toml").write_text(block.text, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "GPT_TOOLS_CONFIG"}
        done = subprocess.run(
            [str(BIN / "gpt-tools"), "config", "show"], cwd=project, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"README.md:{block.line}: the config example is refused: {done.stderr}"


@pytest.mark.skipif(sys.platform == "win32", reason="the examples are POSIX shell")
def test_readme_shell_examples_run_as_written(fake: FakeOpenAI, tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    make_project(folder)
    env = example_env(fake)
    failures: list[str] = []
    ran = 0
    for block in readme_blocks(README.read_text(encoding="utf-8")):
        if block.language != "sh" or block.marker in ("ci: test command", "readme: synopsis"):
            continue
        for command in commands(block):
            done = run_example(command, folder, env)
            ran += 1
            if done.returncode != expected_exit(command):
                failures.append(
                    f"README.md:{block.line}: `{command}` exited {done.returncode}"
                    f" (expected {expected_exit(command)})\n{done.stdout[-800:]}{done.stderr[-1500:]}"
                )
    assert ran >= 20, f"only {ran} README commands ran"
    assert not failures, "\n\n".join(failures)
