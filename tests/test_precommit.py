"""The hook through real git and real pre-commit (`try-repo` on this repository, and a real commit)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BIN, ROOT
from tests.fake_openai import FakeOpenAI

pytestmark = pytest.mark.skipif(shutil.which("git") is None and not os.environ.get("CI"), reason="git not installed")

TYPO = "# Guide\n\nYou will recieve teh answer.\n\n```sh\necho teh\n```\n"
FIXED = "# Guide\n\nYou will receive the answer.\n\n```sh\necho teh\n```\n"


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit cache for the module: the hook's environment is built once per revision."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def repo(api: FakeOpenAI, pre_commit_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(pre_commit_home))
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    monkeypatch.delenv("GPT_TOOLS_CONFIG")  # the hook runs in the repo; no project config there
    path = Path.cwd() / "docs-repo"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    (path / "guide.md").write_text(TYPO)
    (path / "clean.md").write_text("# Clean\n\nAll good.\n")
    (path / "script.py").write_text("teh = 1\n")  # not Markdown: never sent
    _git(path, "add", ".")
    yield path


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=60)


def _try_repo(repo: Path, hook: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "pre-commit"), "try-repo", str(ROOT), hook, "--all-files"]
    return subprocess.run(command, cwd=repo, capture_output=True, encoding="utf-8", timeout=300, check=False)


def test_try_repo_fixes_then_converges_with_zero_requests(repo: Path, api: FakeOpenAI) -> None:
    first = _try_repo(repo, "gpt-markdown-lint")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    assert (repo / "guide.md").read_text() == FIXED
    assert (repo / "script.py").read_text() == "teh = 1\n"
    sent = len(api.model_requests())
    assert sent == 2  # guide.md and clean.md; script.py is not Markdown
    _git(repo, "add", ".")
    second = _try_repo(repo, "gpt-markdown-lint")
    assert second.returncode == 0, second.stdout + second.stderr
    assert len(api.model_requests()) == sent


def test_check_hook_reports_and_never_writes(repo: Path) -> None:
    done = _try_repo(repo, "gpt-markdown-check")
    assert done.returncode == 1
    assert "-You will recieve teh answer." in done.stdout
    assert (repo / "guide.md").read_text() == TYPO


@pytest.mark.usefixtures("edits_mode")
def test_check_hook_in_edits_mode_prints_path_line_col_for_each_edit(repo: Path, api: FakeOpenAI) -> None:
    done = _try_repo(repo, "gpt-markdown-check")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert 'guide.md:3:10: spelling: "recieve" → "receive"' in lines
    assert "    You will receive the answer." in lines
    assert any(line.startswith("guide.md:6:6: not applicable (protected): ") for line in lines)
    summary = "gpt-tools-hook: 2 files checked, 1 would change, 1 unchanged, 0 skipped, 0 failed; 2 requests sent"
    assert summary in lines and "gpt-tools-hook: 2 edits in 1 file; 1 not applicable" in lines
    assert "--- a/guide.md" not in done.stdout  # edits, not a diff
    assert (repo / "guide.md").read_text() == TYPO


@pytest.mark.usefixtures("edits_mode")
def test_try_repo_in_edits_mode_fixes_then_converges_with_zero_requests(repo: Path, api: FakeOpenAI) -> None:
    first = _try_repo(repo, "gpt-markdown-lint")
    assert first.returncode == 1, first.stdout + first.stderr
    assert (repo / "guide.md").read_text() == FIXED
    assert "guide.md:6:6: not applicable (protected): " in first.stdout  # the code block's "teh" is kept
    sent = len(api.model_requests())
    assert sent == 2
    _git(repo, "add", ".")
    second = _try_repo(repo, "gpt-markdown-lint")
    assert second.returncode == 0, second.stdout + second.stderr
    assert len(api.model_requests()) == sent  # pre-commit shows a passing hook's output only with -v


def test_server_down_leaves_files_byte_identical(repo: Path, api: FakeOpenAI) -> None:
    api.default_fault = "500"
    done = _try_repo(repo, "gpt-markdown-lint")
    assert done.returncode == 1
    assert "not checked" in done.stdout and "guide.md" in done.stdout
    assert (repo / "guide.md").read_text() == TYPO


def test_reply_altering_a_code_block_leaves_the_file_untouched(repo: Path, api: FakeOpenAI) -> None:
    api.responder = lambda text: text.replace("teh", "the").replace("⟦B1⟧", "```sh\necho the\n```")
    done = _try_repo(repo, "gpt-markdown-lint")
    assert done.returncode == 1
    assert "left untouched: the reply removed a protected code block" in done.stdout
    assert (repo / "guide.md").read_text() == TYPO


def test_real_commit_with_the_hook_installed(repo: Path, api: FakeOpenAI) -> None:
    revision = _git(ROOT, "rev-parse", "HEAD").stdout.strip()
    config = f"repos:\n  - repo: {ROOT}\n    rev: {revision}\n    hooks:\n      - id: gpt-markdown-lint\n"
    (repo / ".pre-commit-config.yaml").write_text(config)
    _git(repo, "add", ".")
    subprocess.run([str(BIN / "pre-commit"), "install"], cwd=repo, check=True, capture_output=True, timeout=60)
    refused = subprocess.run(["git", "commit", "-qm", "docs"], cwd=repo, capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0  # the hook fixed a file: pre-commit fails the commit by design
    assert (repo / "guide.md").read_text() == FIXED
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "docs")
    assert _git(repo, "show", "HEAD:guide.md").stdout == FIXED


def test_a_file_named_like_an_option_is_fixed_as_a_file(repo: Path, api: FakeOpenAI) -> None:
    (repo / "-mx.md").write_text(TYPO)
    (repo / "--model=y.md").write_text(TYPO)
    _git(repo, "add", "--", "-mx.md", "--model=y.md")
    done = _try_repo(repo, "gpt-markdown-lint")
    assert done.returncode == 1, done.stdout + done.stderr
    assert (repo / "-mx.md").read_text() == FIXED and (repo / "--model=y.md").read_text() == FIXED
    assert not {request.body["model"] for request in api.model_requests()} & {"x.md", "y.md"}


def test_user_args_still_apply_before_files_that_look_like_options(repo: Path, api: FakeOpenAI) -> None:
    revision = _git(ROOT, "rev-parse", "HEAD").stdout.strip()
    hook = '      - id: gpt-markdown-lint\n        args: [--jobs, "2", -m, gpt-chosen]\n'
    (repo / ".pre-commit-config.yaml").write_text(f"repos:\n  - repo: {ROOT}\n    rev: {revision}\n    hooks:\n{hook}")
    (repo / "-mx.md").write_text(TYPO)
    _git(repo, "add", ".")
    command = [str(BIN / "pre-commit"), "run", "--all-files"]
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (repo / "-mx.md").read_text() == FIXED and (repo / "guide.md").read_text() == FIXED
    assert {request.body["model"] for request in api.model_requests()} == {"gpt-chosen"}


@pytest.mark.parametrize(("options", "name"), [("", "--check"), (" --no-cache", "--no-cache"), (" -m gpt-x", "-m")])
def test_a_file_named_like_an_entry_option_never_drops_it(repo: Path, api: FakeOpenAI, options: str, name: str) -> None:
    """A local hook (no `types`), as a repository would write it: the entry's own words exist as files.
    Before, `--check` ended the options there (an existing file): the check hook fixed doc files."""
    hook = f"      - id: check\n        name: check\n        entry: gpt-tools-hook --check{options}\n"
    config = f"repos:\n  - repo: local\n    hooks:\n{hook}        language: system\n"
    (repo / ".pre-commit-config.yaml").write_text(config)
    (repo / name).write_text(TYPO)
    _git(repo, "add", ".")
    command = [str(BIN / "pre-commit"), "run", "--all-files"]
    done = subprocess.run(command, cwd=repo, capture_output=True, encoding="utf-8", timeout=300, check=False)
    assert done.returncode != 0, done.stdout + done.stderr
    assert f"{name}: a file is named like an option" in done.stdout and "rename it" in done.stdout
    assert (repo / "guide.md").read_text() == TYPO and (repo / name).read_text() == TYPO
    assert api.model_requests() == []


@pytest.mark.usefixtures("edits_mode")
def test_check_hook_with_output_format_github_prints_annotations(repo: Path, api: FakeOpenAI) -> None:
    revision = _git(ROOT, "rev-parse", "HEAD").stdout.strip()
    hook = "      - id: gpt-markdown-check\n        args: [--output-format, github]\n"
    (repo / ".pre-commit-config.yaml").write_text(f"repos:\n  - repo: {ROOT}\n    rev: {revision}\n    hooks:\n{hook}")
    _git(repo, "add", ".")
    command = [str(BIN / "pre-commit"), "run", "--all-files"]
    done = subprocess.run(command, cwd=repo, capture_output=True, encoding="utf-8", timeout=300, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    edit = '::warning file=guide.md,line=3,col=10::spelling: "recieve" → "receive"%0AYou will receive the answer.'
    assert edit in lines
    assert any(line.startswith("::notice file=guide.md,line=6,col=6::not applicable (protected)") for line in lines)
    assert (repo / "guide.md").read_text() == TYPO
