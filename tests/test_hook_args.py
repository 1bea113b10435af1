"""`gpt-tools-hook`'s command line and the files it touches: a file named like an option never changes
what the hook does, out-of-range values and an empty model are usage errors, report lines never carry a
repository's raw escapes, and a symbolic link is never followed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gpt_tools.cli.hook import main
from tests.conftest import write_config
from tests.fake_openai import FakeOpenAI, Scripted

TYPO = "# Guide\n\nYou will recieve teh answer.\n"
FIXED = "# Guide\n\nYou will receive the answer.\n"


@pytest.mark.parametrize(
    "word", ["--check", "--fix", "--no-cache", "--dry-run", "-m", "--jobs", "--allow-secrets", "--output-format"]
)
def test_a_file_named_exactly_like_an_option_refuses_the_run(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str], word: str
) -> None:
    Path(word).write_text(TYPO)
    Path("doc.md").write_text(TYPO)
    entry = ["--check", "--jobs", "2", "-m", "gpt-chosen"]
    assert main([*entry, word, "doc.md"]) == 2
    assert Path("doc.md").read_text() == TYPO and Path(word).read_text() == TYPO
    assert api.model_requests() == []
    err = capfd.readouterr().err
    assert f"{word}: a file is named like an option" in err and "rename it" in err


def test_the_entry_option_is_never_read_as_the_file_of_its_name(api: FakeOpenAI) -> None:
    """pre-commit may or may not pass the file: the hook cannot tell, so it refuses either way (never fixes)."""
    Path("--check").write_text(TYPO)
    Path("doc.md").write_text(TYPO)
    assert main(["--check", "doc.md"]) == 2
    assert main(["--check", "--", "doc.md", "--check"]) == 2
    assert Path("doc.md").read_text() == TYPO and Path("--check").read_text() == TYPO
    Path("--check").rename("check.md")
    assert main(["--check", "doc.md", "check.md"]) == 1
    assert Path("doc.md").read_text() == TYPO and len(api.model_requests()) == 2


def test_attached_forms_naming_files_are_files(api: FakeOpenAI) -> None:
    for name in ("-mx.md", "--model=y.md"):
        Path(name).write_text(TYPO)
    assert main(["-m", "gpt-chosen", "-mx.md", "--model=y.md"]) == 1
    assert Path("-mx.md").read_text() == FIXED and Path("--model=y.md").read_text() == FIXED
    assert {request.body["model"] for request in api.model_requests()} == {"gpt-chosen"}


def _assert_usage_error(api: FakeOpenAI, args: list[str]) -> None:
    """The hook given args and a typo file exits 2 (usage) and neither sends nor writes anything."""
    Path("doc.md").write_text(TYPO)
    with pytest.raises(SystemExit) as caught:
        main([*args, "doc.md"])
    assert caught.value.code == 2
    assert Path("doc.md").read_text() == TYPO and api.model_requests() == []


@pytest.mark.parametrize("args", [["--max-bytes", "-1"], ["--max-bytes", "0"], ["--jobs", "0"], ["--jobs", "-2"]])
def test_values_that_would_check_nothing_are_usage_errors(api: FakeOpenAI, args: list[str]) -> None:
    _assert_usage_error(api, args)


def test_an_empty_model_flag_is_a_usage_error(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("doc.md").write_text(TYPO)
    assert main(["-m", "", "doc.md"]) == 2
    assert "-m/--model: expected a model name" in capfd.readouterr().err
    assert api.model_requests() == [] and Path("doc.md").read_text() == TYPO


def test_an_empty_model_in_the_environment_is_a_usage_error(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    Path("doc.md").write_text(TYPO)
    monkeypatch.setenv("GPT_TOOLS_MODEL", " ")
    assert main(["doc.md"]) == 2
    assert "GPT_TOOLS_MODEL: expected a model name" in capfd.readouterr().err
    assert main(["-m", "gpt-chosen", "doc.md"]) == 1  # the flag wins over the environment
    assert {request.body["model"] for request in api.model_requests()} == {"gpt-chosen"}


def test_an_empty_model_in_a_config_names_the_file_and_key(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("doc.md").write_text(TYPO)
    config = write_config(Path.cwd(), 'max_retries = 0\nmodel = ""\n')
    os.environ["GPT_TOOLS_CONFIG"] = str(config)  # the api fixture's monkeypatch restores it
    assert main(["doc.md"]) == 2
    assert f"{config}: model: expected a model name" in capfd.readouterr().err
    assert api.model_requests() == []


def test_file_names_in_fix_lines_are_escaped(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    name = "x\x1b[2J\x1b]0;T\a\rfixed ok.md"
    Path(name).write_text(TYPO)
    assert main([name]) == 1
    out = capfd.readouterr().out
    assert "\x1b" not in out and "\a" not in out and "\r" not in out
    assert "fixed x\\x1b[2J\\x1b]0;T\\x07\\x0dfixed ok.md" in out


def test_check_diffs_escape_the_documents_controls(api: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    Path("doc.md").write_text("# Guide\n\nteh \x1b[31mred\x1b[0m \u202eword\n")
    api.script(Scripted(text="# Guide\n\nthe \x1b[31mred\x1b[0m \u202eword\n"))
    assert main(["--check", "doc.md"]) == 1
    out = capfd.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert "+the \\x1b[31mred\\x1b[0m \\u202eword" in out


def test_a_symlink_out_of_the_repository_is_never_read_or_written(
    tmp_path: Path, api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside_notes.md"
    outside.write_text(TYPO)
    (Path.cwd() / ".git").mkdir()  # the repository's root is here
    Path("sl.md").symlink_to(outside)
    Path("linked").symlink_to(tmp_path)  # a folder on the way that leads out
    assert main(["sl.md", "linked/outside_notes.md"]) == 0
    assert outside.read_text() == TYPO and api.model_requests() == []
    out = capfd.readouterr().out
    assert "sl.md: skipped: a symbolic link" in out
    assert "linked/outside_notes.md: skipped: reached through a symbolic link that leads out" in out
    assert "2 skipped" in out


def test_a_symlink_inside_the_repository_is_skipped_and_its_target_checked_by_name(api: FakeOpenAI) -> None:
    Path("real.md").write_text(TYPO)
    Path("alias.md").symlink_to("real.md")
    assert main(["--dry-run", "alias.md"]) == 0
    assert main(["alias.md", "real.md"]) == 1
    assert Path("alias.md").is_symlink() and Path("real.md").read_text() == FIXED
    assert len(api.model_requests()) == 1


def test_a_newline_in_a_file_name_never_starts_a_line_of_its_own(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    name = "a\nfixed ok.md"
    Path(name).write_text(TYPO)
    assert main(["--dry-run", name]) == 0
    assert main(["--check", name]) == 1
    assert main([name]) == 1
    lines = capfd.readouterr().out.splitlines()
    assert not [line for line in lines if line.startswith("fixed ok.md")]
    assert "fixed a\\x0afixed ok.md (from cache)" in lines and "--- a/a\\x0afixed ok.md" in lines
    assert any(line.startswith("a\\x0afixed ok.md: ~") for line in lines)


@pytest.mark.parametrize("args", [["--output-format", "json"], ["--output-format"], ["--diff", "doc.md"]])
def test_a_bad_output_format_or_a_diff_without_check_is_a_usage_error(api: FakeOpenAI, args: list[str]) -> None:
    _assert_usage_error(api, args)


def test_help_names_allow_secrets_and_the_github_format(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capfd.readouterr().out.split())
    assert "--allow-secrets send files even if they look like they hold a secret" in text
    assert "--output-format {text,github}" in text and "GitHub Actions annotations" in text


def test_a_linked_folder_in_a_clone_named_from_outside_it_is_never_followed_out(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    # The working folder is no repository (the home folder); the clone's linked folder leads into it.
    private = Path("private.md")
    private.write_text(TYPO)
    (Path("clone") / ".git").mkdir(parents=True)
    (Path("clone") / "docs").mkdir()
    (Path("clone") / "docs" / "sub").symlink_to(Path.cwd())
    assert main(["clone/docs/sub/private.md"]) == 0
    assert private.read_text() == TYPO and api.model_requests() == []
    out = capfd.readouterr().out
    assert "clone/docs/sub/private.md: skipped: reached through a symbolic link that leads out" in out


def test_one_file_named_by_two_paths_is_checked_and_counted_once(
    api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    Path("docs").mkdir()
    Path("docs/a.md").write_text(TYPO)
    Path("alias").symlink_to("docs")  # a linked folder inside the repository: the same file again
    assert main(["docs/a.md", "alias/a.md", "./docs/a.md"]) == 1
    assert Path("docs/a.md").read_text() == FIXED
    out = capfd.readouterr().out.splitlines()
    assert out == [
        "fixed docs/a.md",
        "gpt-tools-hook: 1 file checked, 1 changed, 0 unchanged, 0 skipped, 0 failed; 1 request sent",
    ]


def test_a_file_replaced_by_a_link_while_its_request_is_in_flight_is_never_written_through(
    tmp_path: Path, api: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside_notes.md"
    outside.write_text(TYPO)  # the same bytes: "still holds what was read" cannot tell them apart
    (Path.cwd() / ".git").mkdir()
    Path("doc.md").write_text(TYPO)

    def link_then_reply(text: str) -> str:
        Path("doc.md").unlink()
        Path("doc.md").symlink_to(outside)
        return text.replace("teh", "the").replace("recieve", "receive")

    api.responder = link_then_reply
    assert main(["doc.md"]) == 1
    assert outside.read_text() == TYPO and Path("doc.md").is_symlink()
    assert "doc.md: not written: it became a symbolic link since it was read" in capfd.readouterr().out
