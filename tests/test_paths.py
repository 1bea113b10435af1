"""paths.py: every on-disk location, moved by the environment at call time, and the one project-root rule."""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import gpt_tools
from gpt_tools.cli.main import main
from gpt_tools.state import paths
from tests.conftest import ROOT
from tests.fake_openai import FakeOpenAI

# (location, XDG variable that moves it, path below gpt-tools' folder there)
LOCATIONS: list[tuple[Callable[[], Path], str, str]] = [
    (paths.user_config_file, "XDG_CONFIG_HOME", "config.toml"),
    (paths.log_file, "XDG_STATE_HOME", "gpt-tools.log"),
    (paths.conversations_dir, "XDG_STATE_HOME", "conversations"),
    (paths.batches_dir, "XDG_STATE_HOME", "batches"),
    (paths.locks_dir, "XDG_STATE_HOME", "locks"),
    (paths.chat_history, "XDG_STATE_HOME", "chat_history"),
    (paths.run_log, "XDG_DATA_HOME", "runs.sqlite3"),
    (paths.results_cache, "XDG_CACHE_HOME", "results"),
]


@pytest.mark.parametrize(("location", "variable", "below"), LOCATIONS, ids=lambda v: getattr(v, "__name__", v))
def test_each_location_follows_its_xdg_variable_when_asked(
    location: Callable[[], Path], variable: str, below: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    monkeypatch.setenv(variable, str(first))
    assert location() == first / "gpt-tools" / below
    monkeypatch.setenv(variable, str(second))  # computed at call time, never cached at import
    assert location() == second / "gpt-tools" / below


def test_the_run_log_override_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPT_TOOLS_RUN_LOG", str(tmp_path / "elsewhere.db"))
    assert paths.run_log() == tmp_path / "elsewhere.db"
    monkeypatch.delenv("GPT_TOOLS_RUN_LOG")
    assert paths.run_log() == paths.app_dir("data") / "runs.sqlite3"


def test_the_explicit_project_config_comes_from_gpt_tools_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPT_TOOLS_CONFIG", raising=False)
    assert paths.explicit_config_file() is None
    monkeypatch.setenv("GPT_TOOLS_CONFIG", "~/team.toml")
    assert paths.explicit_config_file() == Path.home() / "team.toml"


def test_config_locks_are_per_real_path_and_outside_the_project(tmp_path: Path) -> None:
    (tmp_path / "real.toml").write_text("")
    (tmp_path / "link.toml").symlink_to(tmp_path / "real.toml")
    lock = paths.config_lock(tmp_path / "real.toml")
    assert lock.parent == paths.locks_dir() and lock.suffix == ".lock"
    assert paths.config_lock(tmp_path / "link.toml") == lock  # one file, one lock, whatever its name
    assert paths.config_lock(tmp_path / "other.toml") != lock


def test_the_knowledge_state_file_sits_at_the_root_it_is_given(tmp_path: Path) -> None:
    assert paths.state_file(tmp_path) == tmp_path / ".gpt-tools-state.json"
    lock = paths.state_lock(tmp_path)
    assert lock.parent == paths.locks_dir() and lock.suffix == ".lock"  # never in the project
    assert paths.state_lock(tmp_path / "other") != lock


# --- the project root ---------------------------------------------------------------------------------


def test_the_project_root_is_the_config_folder_first(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    config_root, cwd = tmp_path / "docs", tmp_path / "docs" / "guide"
    cwd.mkdir(parents=True)
    assert paths.project_root(config_root, cwd) == config_root


def test_without_a_config_the_project_root_is_the_git_root(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    cwd = tmp_path / "a" / "b"
    cwd.mkdir(parents=True)
    assert paths.project_root(None, cwd) == tmp_path
    (tmp_path / "a" / ".git").write_text("gitdir: elsewhere\n")  # a worktree or submodule: a file
    assert paths.project_root(None, cwd) == tmp_path / "a"


def test_outside_any_project_the_root_is_the_working_directory(tmp_path: Path) -> None:
    assert not any((folder / ".git").exists() for folder in (tmp_path, *tmp_path.parents))
    assert paths.project_root(None, tmp_path) == tmp_path


def test_uploads_and_files_list_share_the_root_of_a_git_project_without_config(
    fake: FakeOpenAI, isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """From a subfolder, a script's upload records at the git root, where `files list` (and
    conversations) look: the same rule everywhere, not the working directory for some."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    (isolated_env / ".git").mkdir()
    sub = isolated_env / "docs"
    sub.mkdir()
    (sub / "notes.md").write_text("# Notes\n")
    file_id = gpt_tools.upload_file("notes.md", cwd=sub)
    assert paths.state_file(isolated_env).is_file() and not paths.state_file(sub).exists()
    monkeypatch.chdir(sub)
    capfd.readouterr()
    assert main(["files", "list"]) == 0
    assert file_id in capfd.readouterr().out


def test_platformdirs_is_imported_by_paths_only() -> None:
    importers = []
    for module in (ROOT / "gpt_tools").rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(name.split(".")[0] == "platformdirs" for name in names):
                importers.append(module.relative_to(ROOT).as_posix())
    assert importers == ["gpt_tools/state/paths.py"]
