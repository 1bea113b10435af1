"""`gpt-tools cache clear [FILE]...` (cli/cache.py): the next run asks again, for everything or only FILE."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from gpt_tools.cli.hook import main as hook_main
from gpt_tools.cli.main import main
from gpt_tools.state import paths
from tests.fake_openai import FakeOpenAI, Scripted

DOC = "# Notes\n\nYou will recieve teh answer.\n\n```sh\necho teh\n```\n"
OTHER = "# Other\n\nteh other text\n"


@pytest.fixture(autouse=True)
def stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO()))


@pytest.fixture
def docs(api: FakeOpenAI) -> tuple[Path, Path]:
    first, second = Path("doc.md"), Path("other.md")
    first.write_text(DOC)
    second.write_text(OTHER)
    return first, second


def _entries() -> list[Path]:
    return sorted(paths.results_cache().rglob("*.json"))


def _run(*names: str) -> None:
    for name in names:
        assert main(["run", "MarkdownLinter", name]) == 0


def test_clear_forgets_everything_and_keeps_what_is_not_an_entry(
    api: FakeOpenAI, docs: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    _run("doc.md", "other.md")
    assert len(api.model_requests()) == 2 and _entries()
    foreign = paths.results_cache() / "README"
    foreign.write_text("mine\n")
    capfd.readouterr()
    assert main(["cache", "clear"]) == 0
    assert f"removed {4} cached results" in capfd.readouterr().err  # an input and a result entry per file
    assert _entries() == [] and foreign.read_text() == "mine\n"
    _run("doc.md", "other.md")
    assert len(api.model_requests()) == 4


def test_clear_file_forgets_only_that_files_entries(
    api: FakeOpenAI, docs: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    _run("doc.md", "other.md")
    _run("doc.md", "other.md")
    assert len(api.model_requests()) == 2  # both cached
    capfd.readouterr()
    assert main(["cache", "clear", "doc.md"]) == 0
    assert "doc.md: removed 1 cached result\n" in capfd.readouterr().err
    _run("doc.md", "other.md")
    assert len(api.model_requests()) == 3  # doc.md asked again, other.md still from the cache


@pytest.mark.usefixtures("edits_mode")
def test_clear_file_in_edits_mode_and_for_the_hook(api: FakeOpenAI, docs: tuple[Path, Path]) -> None:
    assert hook_main(["--check", "doc.md"]) == 1
    assert hook_main(["--check", "doc.md"]) == 1
    assert len(api.model_requests()) == 1  # the hook's second look came from the cache
    assert main(["cache", "clear", "doc.md", "--assistant", "MarkdownLinter"]) == 0
    assert hook_main(["--check", "doc.md"]) == 1
    assert len(api.model_requests()) == 2


def test_clear_file_forgets_a_remembered_refusal(
    api: FakeOpenAI, docs: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    api.script(Scripted(text="Completely unrelated words about gardening and the weather today."))
    assert main(["run", "MarkdownLinter", "other.md"]) == 1
    assert main(["run", "MarkdownLinter", "other.md"]) == 1
    assert "remembered from an earlier run" in capfd.readouterr().err
    assert len(api.model_requests()) == 1
    assert main(["cache", "clear", "other.md"]) == 0
    assert main(["run", "MarkdownLinter", "other.md"]) == 0  # asked again, and this time fixed
    assert len(api.model_requests()) == 2


def test_clear_file_with_another_model_leaves_the_entries(api: FakeOpenAI, docs: tuple[Path, Path]) -> None:
    _run("doc.md")
    assert main(["cache", "clear", "doc.md", "-m", "gpt-5"]) == 0  # made with the default model, not gpt-5
    _run("doc.md")
    assert len(api.model_requests()) == 1


@pytest.mark.parametrize(
    ("argv", "code"),
    [(["cache", "clear", "gone.md"], 2), (["cache", "clear", "--assistant", "MarkdownLinter"], 2)],
    ids=["missing-file", "assistant-without-file"],
)
def test_clear_usage_errors(api: FakeOpenAI, argv: list[str], code: int) -> None:
    assert main(argv) == code


def test_clear_with_no_cache_yet(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["cache", "clear"]) == 0
    assert "removed 0 cached results" in capfd.readouterr().err
    assert not os.path.exists(paths.results_cache())


def test_clear_file_for_a_writing_assistant_says_nothing_of_its_is_cached(
    api: FakeOpenAI, docs: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["cache", "clear", "--assistant", "Summarizer", "doc.md"]) == 0
    err = capfd.readouterr().err  # "removed 0" alone read as if the cache had missed an entry
    assert "note: Summarizer writes (it does not rewrite): its replies are never cached" in err
