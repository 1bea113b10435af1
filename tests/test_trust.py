"""A cloned repository's config must not decide where the user's key goes without consent."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

import gpt_tools
from gpt_tools.cli.main import main
from gpt_tools.state.paths import user_config_file
from tests.conftest import run_program, trust_project, write_config
from tests.fake_openai import FakeOpenAI

EVIL = "base_url = 'http://127.0.0.1:9/v1'\n"


@pytest.mark.parametrize(
    "config",
    [
        EVIL,
        "api_key_env = 'HOME'\n",
        "api_key_cmd = 'touch pwned; echo key'\n",
        "auth_header = 'X-Leak'\n",
        "[assistants.MarkdownLinter]\nbase_url = 'http://127.0.0.1:9/v1'\n",
        "log_texts = true\n",
        "run_log = false\n",
        "[prices.gpt-5-mini]\ninput = 0\noutput = 0\n",
        "store = true\n",
        "[assistants.MarkdownLinter]\nstore = true\n",
    ],
)
def test_untrusted_project_cannot_redirect_the_key(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, config: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-user-secret-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    write_config(Path.cwd(), config)
    done = run_program("gpt-filter", "MarkdownLinter", stdin=b"teh text\n")
    assert (done.returncode, done.stdout) == (2, b"teh text\n")
    why = b"decides whether the provider keeps" if b"store" in config.encode() else b"decides where your API key"
    assert why in done.stderr and b"and this project is not trusted" in done.stderr
    assert b"gpt-tools trust" in done.stderr
    assert fake.requests == [] and not Path("pwned").exists()


def test_trust_lets_the_project_choose_its_endpoint(fake: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    write_config(Path.cwd(), f"base_url = '{fake.url}'\n")
    assert main(["trust"]) == 0
    assert str(Path.cwd().resolve()) in user_config_file().read_text()
    assert gpt_tools.run("ProofReader", "teh\n").text == "the\n"
    assert main(["trust", "--list"]) == 0
    assert str(Path.cwd().resolve()) in capfd.readouterr().out
    assert main(["trust", "--remove"]) == 0
    with pytest.raises(gpt_tools.ConfigError, match="not trusted"):
        gpt_tools.run("ProofReader", "teh\n")


def test_trust_keeps_the_user_configs_comments(fake: FakeOpenAI) -> None:
    user = user_config_file()
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text("# my settings\nmodel = 'gpt-5'  # pinned\n")
    assert main(["trust"]) == 0
    text = user.read_text()
    assert text.startswith("# my settings\nmodel = 'gpt-5'  # pinned\n") and "trusted_projects" in text


def test_explicit_config_file_is_trusted(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = write_config(tmp_path, f"base_url = '{fake.url}'\n", name="mine.toml")
    monkeypatch.setenv("GPT_TOOLS_CONFIG", str(config))
    assert gpt_tools.run("ProofReader", "teh\n").text == "the\n"


def test_project_cannot_trust_itself(fake: FakeOpenAI) -> None:
    write_config(Path.cwd(), f"trusted_projects = ['{Path.cwd()}']\n{EVIL}")
    with pytest.raises(gpt_tools.ConfigError, match="trusted_projects: belongs in your user config"):
        gpt_tools.load_config()


def test_trusted_project_may_set_store(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(Path.cwd(), "store = true\n")
    trust_project(Path.cwd())
    assert gpt_tools.load_config().settings.store is True


@pytest.mark.parametrize(
    "value",
    [
        'trusted_projects = "/"\n',
        'trusted_projects = "/home/me/project"\n',
        "trusted_projects = [1, 2]\n",
        "trusted_projects = {a = '/'}\n",
    ],
)
def test_a_malformed_trusted_projects_is_a_config_error_never_a_grant(
    fake: FakeOpenAI, capfd: pytest.CaptureFixture[str], value: str
) -> None:
    user = user_config_file()
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(value)
    assert main(["trust"]) == 2
    err = capfd.readouterr().err
    assert f"{user}: trusted_projects: expected a list of folder paths" in err and "Traceback" not in err
    assert user.read_text() == value  # left as it was: no list of characters, no "/" trusted
    write_config(Path.cwd(), EVIL)
    with pytest.raises(gpt_tools.ConfigError) as caught:
        gpt_tools.load_config()
    assert caught.value.key == "trusted_projects"


@pytest.mark.parametrize("text", ["model = 'gpt-5\n", "[[[\n", "a = 1\na = 2\n"])
def test_trust_on_a_malformed_user_config_exits_2_without_a_traceback(
    fake: FakeOpenAI, capfd: pytest.CaptureFixture[str], text: str
) -> None:
    user = user_config_file()
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(text)
    done = run_program("gpt-tools", "trust")
    assert done.returncode == 2 and b"Traceback" not in done.stderr
    assert done.stderr.startswith(f"gpt-tools: error: {user}: invalid TOML".encode())
    assert user.read_text() == text


@pytest.mark.parametrize(
    ("text", "where"),
    [("trusted_projects = [\n", "at end of document"), ("a = 1\nb = [\nc\n", "at line 3, column 1")],
)
def test_trust_on_a_malformed_user_config_names_where_the_error_is(fake: FakeOpenAI, text: str, where: str) -> None:
    user = user_config_file()
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(text)
    done = run_program("gpt-tools", "trust")
    assert done.returncode == 2
    assert where.encode() in done.stderr and b"\\x00" not in done.stderr, done.stderr


def test_trust_keeps_crlf_line_endings_and_bom(fake: FakeOpenAI) -> None:
    user = user_config_file()
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_bytes(b"\xef\xbb\xbf# mine\r\nmodel = 'gpt-5'\r\n")
    assert main(["trust"]) == 0
    data = user.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf# mine\r\nmodel = 'gpt-5'\r\n") and data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert gpt_tools.load_config().trusted == [str(Path.cwd().resolve())]


def test_eight_concurrent_trusts_all_land(fake: FakeOpenAI, tmp_path: Path) -> None:
    import subprocess

    from tests.conftest import program

    folders = [tmp_path / f"p{i}" for i in range(8)]
    for folder in folders:
        folder.mkdir()
    procs = [
        subprocess.Popen([program("gpt-tools"), "trust", str(folder)], stderr=subprocess.PIPE) for folder in folders
    ]
    assert [proc.wait(timeout=120) for proc in procs] == [0] * 8
    assert sorted(gpt_tools.load_config().trusted) == sorted(str(folder.resolve()) for folder in folders)


# --- trust is for the values seen when it was given -------------------------------------------------


def _refusal(capfd: pytest.CaptureFixture[str]) -> str:
    assert main(["run", "--dry-run", "Summarizer", "-t", "hi"]) == 2
    return capfd.readouterr().err


@pytest.mark.parametrize(
    ("before", "after", "what"),
    [
        ("base_url = 'http://127.0.0.1:1/v1'\n", "base_url = 'http://127.0.0.1:9/v1'\n", "base_url changed"),
        ("base_url = 'http://127.0.0.1:1/v1'\n", "base_url = 'http://127.0.0.1:1/v1'\napi_key_cmd = 'x'\n",
         "api_key_cmd added"),
        ("base_url = 'http://127.0.0.1:1/v1'\napi_key_env = 'MINE'\n", "base_url = 'http://127.0.0.1:1/v1'\n",
         "api_key_env removed"),
        ("[prices.m]\ninput = 1\noutput = 2\n", "[prices.m]\ninput = 0\noutput = 0\n", "prices changed"),
        ("store = false\n", "store = false\n[assistants.Summarizer]\nstore = true\n",
         "assistants.Summarizer.store added"),
    ],
)  # fmt: skip
def test_a_pull_that_changes_a_trusted_value_makes_the_project_untrusted_and_says_what(
    capfd: pytest.CaptureFixture[str], before: str, after: str, what: str
) -> None:
    write_config(Path.cwd(), before)
    assert main(["trust"]) == 0
    capfd.readouterr()
    assert main(["run", "--dry-run", "Summarizer", "-t", "hi"]) == 0
    write_config(Path.cwd(), after)  # what a `git pull` brings
    err = _refusal(capfd)
    assert "changed since you trusted it" in err and what in err and "not trusted any more" in err
    assert main(["trust"]) == 0  # seen and accepted: trusted again, with the new values
    assert main(["run", "--dry-run", "Summarizer", "-t", "hi"]) == 0


def test_the_trusted_values_are_kept_as_digests_never_as_values() -> None:
    write_config(Path.cwd(), "base_url = 'https://user:hunter2@proxy.example/v1'\n")
    assert main(["trust"]) == 0
    text = user_config_file().read_text()
    assert "hunter2" not in text and "proxy.example" not in text
    assert "[trusted_values." in text and "base_url = " in text


def test_a_trust_recorded_without_values_is_asked_again(capfd: pytest.CaptureFixture[str]) -> None:
    write_config(Path.cwd(), EVIL)
    user = user_config_file()
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(f"trusted_projects = ['{Path.cwd().resolve()}']\n")  # as an older gpt-tools wrote it
    assert "its values were not recorded when it was trusted" in _refusal(capfd)


def test_a_knowledge_file_outside_the_project_added_after_trust_is_refused(
    isolated_env: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    outside = isolated_env.parent / "secret.md"
    outside.write_text("# Secret\n")
    write_config(isolated_env, "[assistants.Kb]\ninstructions = 'x'\n")
    assert main(["trust"]) == 0
    capfd.readouterr()
    write_config(isolated_env, f"[assistants.Kb]\ninstructions = 'x'\nfiles = ['{outside}']\n")
    assert main(["run", "--dry-run", "Kb", "-t", "hi"]) == 2
    assert "outside" in capfd.readouterr().err
    write_config(isolated_env, f"[assistants.Kb]\ninstructions_file = '{outside}'\n")
    with pytest.raises(gpt_tools.ConfigError, match="outside"):
        gpt_tools.load_config()


def test_the_users_own_edit_of_a_trusted_project_keeps_it_trusted(isolated_env: Path) -> None:
    outside = isolated_env.parent / "shared.md"
    outside.write_text("# Shared\n")
    write_config(isolated_env, "base_url = 'http://127.0.0.1:1/v1'\n[assistants.Kb]\ninstructions = 'x'\n")
    assert main(["trust"]) == 0
    from gpt_tools.config.manager import add_assistant_files

    add_assistant_files("Kb", [str(outside)])
    assert gpt_tools.load_config().assistant("Kb").files == (str(Path("..") / "shared.md"),)


def test_trust_from_a_subfolder_trusts_the_project(capfd: pytest.CaptureFixture[str]) -> None:
    write_config(Path.cwd(), EVIL)
    root = Path.cwd().resolve()
    (root / "docs").mkdir()
    os.chdir(root / "docs")
    assert main(["trust"]) == 0
    assert gpt_tools.load_config().trusted == [str(root)]


def test_list_and_show_work_in_an_untrusted_project_and_send_nothing(
    fake: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    mine = "[assistants.Mine]\ninstructions = 'x'\napi_key_cmd = 'touch pwned'\n"
    write_config(Path.cwd(), f"base_url = '{fake.url}'\n{mine}")
    assert main(["list"]) == 0
    out, err = capfd.readouterr()
    assert "Mine" in out and "base_url, assistants.Mine.api_key_cmd left out (the project is not trusted" in err
    assert main(["show", "Mine"]) == 0
    out, err = capfd.readouterr()
    assert "api_key_cmd" not in out and "left out" in err
    assert fake.requests == [] and not Path("pwned").exists()
    assert main(["run", "--dry-run", "Mine", "-t", "hi"]) == 2  # a run still refuses


def test_the_advice_names_a_trust_command_that_works_where_gpt_tools_is_not_on_path(
    isolated_env: Path,
) -> None:
    import subprocess

    from tests.conftest import BIN, program

    write_config(isolated_env, EVIL)
    Path("doc.md").write_text("# Doc\n\nteh text\n")
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # a hook-only user: gpt-tools lives in pre-commit's venv
    hook = subprocess.run([program("gpt-tools-hook"), "--check", "doc.md"], env=env, capture_output=True, check=False)
    assert hook.returncode == 2
    command = f"{BIN / 'gpt-tools'} trust {isolated_env}"
    assert command.encode() in hook.stdout + hook.stderr
    done = subprocess.run(command.split(), env=env, capture_output=True, check=False)  # exactly as advised
    assert done.returncode == 0, done.stderr
    assert gpt_tools.load_config().trusted == [str(isolated_env.resolve())]


def test_a_hook_only_user_is_told_a_trust_command_that_works_through_real_pre_commit(
    api: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pre-commit installs gpt-tools in its own virtualenv, on nobody's PATH: the advice must name it."""
    import re
    import shlex
    import shutil
    import subprocess

    from tests.conftest import BIN, ROOT

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    monkeypatch.delenv("GPT_TOOLS_CONFIG")
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no gpt-tools here: only pre-commit's own venv has one
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    repo = tmp_path / "docs-repo"
    repo.mkdir()
    write_config(repo, f"base_url = '{api.url}'\nmax_retries = 0\n")
    (repo / "guide.md").write_text("# Guide\n\nYou will recieve teh answer.\n")
    for args in (["init", "-q", "-b", "main"], ["add", "."]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    hook = "      - id: gpt-markdown-check\n"
    config = f"repos:\n  - repo: {ROOT}\n    rev: {head.stdout.strip()}\n    hooks:\n{hook}"
    (repo / ".pre-commit-config.yaml").write_text(config)  # installed as a user has it (try-repo's venv is temporary)

    def try_repo() -> subprocess.CompletedProcess[str]:
        command = [str(BIN / "pre-commit"), "run", "--all-files"]
        return subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=300, check=False)

    refused = try_repo()
    assert refused.returncode != 0 and "not trusted" in refused.stdout, refused.stdout + refused.stderr
    found = re.search(r"run `([^`]*/py_env-[^`]*/gpt-tools trust [^`]*)`", refused.stdout)
    assert found, refused.stdout  # the gpt-tools inside pre-commit's environment, by its full path
    done = subprocess.run(shlex.split(found.group(1)), cwd=repo, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr  # typed exactly as advised, with gpt-tools on no PATH
    checked = try_repo()
    assert "not trusted" not in checked.stdout and api.model_requests(), checked.stdout + checked.stderr


def test_the_ci_recipe_names_the_clones_own_config_and_needs_no_trust(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI: a fresh clone is never trusted; `GPT_TOOLS_CONFIG=gpt-tools.toml` (relative) is the way."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ci-key")
    write_config(Path.cwd(), f"base_url = '{fake.url}'\nmax_retries = 0\n")
    Path("doc.md").write_text("# Doc\n\nteh text\n")
    refused = run_program("gpt-tools-hook", "--fix", "doc.md")
    assert refused.returncode == 2 and b"$GPT_TOOLS_CONFIG" in refused.stdout + refused.stderr
    monkeypatch.setenv("GPT_TOOLS_CONFIG", "gpt-tools.toml")
    fixed = run_program("gpt-tools-hook", "--fix", "doc.md")
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr  # fixed: pre-commit's "files were modified"
    assert Path("doc.md").read_text() == "# Doc\n\nthe text\n" and fake.model_requests()


def test_a_project_cannot_record_its_own_trusted_values() -> None:
    write_config(Path.cwd(), f"{EVIL}[trusted_values.'{Path.cwd()}']\nbase_url = 'x'\n")
    with pytest.raises(gpt_tools.ConfigError, match="trusted_values: belongs in your user config"):
        gpt_tools.load_config()


def test_trusting_again_says_what_changed_since_the_last_trust(capfd: pytest.CaptureFixture[str]) -> None:
    write_config(Path.cwd(), "base_url = 'http://127.0.0.1:1/v1'\n")
    assert main(["trust"]) == 0
    write_config(Path.cwd(), "base_url = 'http://127.0.0.1:2/v1'\nstore = true\n")
    capfd.readouterr()
    assert main(["trust"]) == 0
    err = capfd.readouterr().err
    assert "trusted with base_url, store as they are now" in err
    assert "; since it was last trusted: base_url changed, store added" in err


def test_a_trusted_symlink_pointed_elsewhere_by_a_pull_is_a_change(
    isolated_env: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # The config's value stays 'link.md'; only where the link in the repository leads changes.
    outside = isolated_env.parent
    (outside / "style.md").write_text("house style\n")
    (outside / "id_rsa").write_text("PRIVATE KEY\n")
    (isolated_env / "link.md").symlink_to(outside / "style.md")
    write_config(isolated_env, "[assistants.Mine]\ninstructions_file = 'link.md'\n")
    assert main(["trust"]) == 0
    assert gpt_tools.load_config().assistant("Mine").instructions == "house style\n"
    (isolated_env / "link.md").unlink()
    (isolated_env / "link.md").symlink_to(outside / "id_rsa")  # what a `git pull` brings
    with pytest.raises(gpt_tools.ConfigError, match="outside the project"):
        gpt_tools.load_config()
    capfd.readouterr()
    assert main(["trust"]) == 0  # seen and accepted
    assert "since it was last trusted: assistants.Mine.instructions_file changed" in capfd.readouterr().err
    assert gpt_tools.load_config().assistant("Mine").instructions == "PRIVATE KEY\n"


@pytest.mark.parametrize(
    ("config", "command"),
    [
        (EVIL, ["run", "--dry-run", "Summarizer", "-t", "hi"]),  # trust.check's advice
        ("[assistants.Mine]\ninstructions_file = '../../style.md'\n", ["run", "--dry-run", "Mine", "-t", "hi"]),
        ("[assistants.Mine]\ninstructions = 'x'\n", ["assistant", "edit", "Mine", "--input-files", "../../style.md"]),
    ],
)
def test_the_trust_command_a_refusal_advises_is_shell_quoted(
    isolated_env: Path, capfd: pytest.CaptureFixture[str], config: str, command: list[str]
) -> None:
    # A cloned repository chooses its folder's name; the user is told to type the command as shown.
    (isolated_env.parent / "style.md").write_text("style\n")
    project = isolated_env / "a b;touch pwned;$(touch pwned2)"
    project.mkdir()
    write_config(project, config)
    os.chdir(project)
    assert main(command) == 2
    advised = capfd.readouterr().err.split("`")[1]
    assert advised.endswith(" trust " + shlex.quote(str(project.resolve())))
    done = subprocess.run(["bash", "-c", advised], cwd=isolated_env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert not list(isolated_env.glob("pwned*")) and not list(project.glob("pwned*"))
    assert gpt_tools.load_config(project).trusted == [str(project.resolve())]


@pytest.mark.parametrize(
    "argv", [["list"], ["show", "Mine"], ["config", "show", "Mine"], ["completion", "--names"], ["show", "Kb"]]
)
def test_what_sends_nothing_works_in_an_untrusted_project_naming_files_outside_it(
    isolated_env: Path, capfd: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    secret = isolated_env.parent / "secret.md"
    secret.write_text("SECRET CONTENT\n")
    kb = f"[assistants.Kb]\ninstructions = 'x'\nfiles = ['{secret}']\n"
    write_config(isolated_env, f"[assistants.Mine]\ninstructions_file = '{secret}'\n{kb}")
    assert main(argv) == 0
    out, err = capfd.readouterr()
    assert "Mine" in out or "Kb" in out
    assert "SECRET CONTENT" not in out + err
    assert main(["run", "--dry-run", "Mine", "-t", "hi"]) == 2  # a run still refuses
    assert "outside the project" in capfd.readouterr().err


def test_trust_of_a_subfolder_named_trusts_the_project_it_belongs_to(capfd: pytest.CaptureFixture[str]) -> None:
    write_config(Path.cwd(), EVIL)
    root = Path.cwd().resolve()
    (root / "docs").mkdir()
    os.chdir(root / "docs")
    assert main(["trust", "."]) == 0  # it trusted docs/, and the project stayed untrusted
    assert gpt_tools.load_config().trusted == [str(root)]
    assert main(["trust", "--remove", "."]) == 0
    assert gpt_tools.load_config(inspect=True).trusted == []


def test_trust_follows_the_file_in_effect_when_pyproject_and_gpt_tools_toml_are_both_there(
    capfd: pytest.CaptureFixture[str],
) -> None:
    write_config(Path.cwd(), "[tool.gpt-tools]\nbase_url = 'http://127.0.0.1:1/v1'\n", name="pyproject.toml")
    assert main(["trust"]) == 0
    assert main(["run", "--dry-run", "Summarizer", "-t", "hi"]) == 0
    write_config(Path.cwd(), "api_key_cmd = 'touch pwned; echo k'\n")  # a pull adds gpt-tools.toml: it wins
    err = _refusal(capfd)
    assert "api_key_cmd added" in err and "base_url removed" in err and not Path("pwned").exists()
    Path("gpt-tools.toml").unlink()
    assert main(["run", "--dry-run", "Summarizer", "-t", "hi"]) == 0  # the trusted file, as it was


def _home_and_decoy(project: Path) -> None:
    """~/style.md and ~/kb.md in the home folder, and decoys at ./~/… in the project."""
    for folder, words in ((Path(os.environ["HOME"]), "home"), (project / "~", "project")):
        folder.mkdir(exist_ok=True)
        (folder / "style.md").write_text(f"From the {words}.\n")
        (folder / "kb.md").write_text(f"Knowledge from the {words}.\n")


def test_a_tilde_name_is_the_home_file_for_the_trust_check_and_the_reader_alike(
    isolated_env: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """`instructions_file = '~/x'`: the trust check expanded the `~` and the reader did not (it read ./~/x,
    in the project): an untrusted run used the project's decoy, a trusted one never the file trusted."""
    _home_and_decoy(isolated_env)
    kb = "[assistants.Kb]\ninstructions = 'x'\nfiles = ['~/kb.md']\n"
    write_config(isolated_env, f"[assistants.Mine]\ninstructions_file = '~/style.md'\n{kb}")
    for name in ("Mine", "Kb"):  # untrusted: outside the project, refused like any path leading out
        assert main(["run", "--dry-run", name, "-t", "hi"]) == 2
        assert "outside the project" in capfd.readouterr().err
    assert main(["config", "show", "Mine"]) == 0
    out, _ = capfd.readouterr()
    assert "From the" not in out and "Knowledge from the" not in out
    assert main(["trust"]) == 0
    config = gpt_tools.load_config()
    assert config.assistant("Mine").instructions == "From the home.\n"
    from gpt_tools.core.knowledge import read_knowledge

    assert read_knowledge(config.assistant("Kb")).contents == (b"Knowledge from the home.\n",)
    (Path(os.environ["HOME"]) / "style.md").unlink()  # the trusted file is the home one: no fallback
    with pytest.raises(gpt_tools.ConfigError) as refused:
        gpt_tools.load_config()
    assert refused.value.key == "assistants.Mine.instructions_file"
