"""Shell completion: the scripts `gpt-tools completion SHELL` prints, run by a real bash."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from gpt_tools.cli.main import main
from tests.conftest import BIN, program, write_config
from tests.fake_openai import FakeOpenAI

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


def _bash(script: str) -> str:
    """Run script in bash with `gpt-tools completion bash` sourced, as a user's ~/.bashrc would."""
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    done = subprocess.run(
        ["bash", "-c", f'eval "$(gpt-tools completion bash)"\n{script}'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _complete(words: str, function: str = "_gpt_tools_completion") -> list[str]:
    """What bash offers for the last word of words (COMP_WORDS/COMP_CWORD as bash sets them)."""
    count = len(words.split()) - 1
    call = f"COMP_WORDS=({words}); COMP_CWORD={count}; {function} {words.split()[0]}"
    return _bash(call + '; printf "%s\\n" "${COMPREPLY[@]}"').split()


@needs_bash
def test_bash_completes_commands_and_assistant_names() -> None:
    assert _complete("gpt-tools con") == ["config", "conversations"]
    assert _complete("gpt-tools show Mark") == ["MarkdownLinter"]
    assert _complete("gpt-tools run pro") == ["ProofReader"]  # any case
    assert _complete("gpt-tools config show Doc") == ["DocWriter"]


@needs_bash
def test_bash_completes_gpt_filters_assistant_but_not_its_files_or_option_values() -> None:
    assert _complete("gpt-filter Pro", "_gpt_filter_completion") == ["ProofReader"]
    assert _complete("gpt-filter -m Sum", "_gpt_filter_completion") == []  # a model name goes there
    assert _complete("gpt-filter -m x Sum", "_gpt_filter_completion") == ["Summarizer"]
    assert _complete("gpt-filter Summarizer Pro", "_gpt_filter_completion") == []


@needs_bash
def test_completion_in_an_untrusted_project_lists_its_assistants_and_sends_nothing(
    fake: FakeOpenAI, isolated_env: Path
) -> None:
    mine = "[assistants.MyStyle]\ninstructions = 'x'\n"
    write_config(isolated_env, f"base_url = '{fake.url}'\napi_key_cmd = 'touch pwned'\n{mine}")
    assert _complete("gpt-tools run My") == ["MyStyle"]
    assert _complete("gpt-filter My", "_gpt_filter_completion") == ["MyStyle"]
    assert fake.requests == [] and not Path("pwned").exists()


def test_a_broken_config_completes_nothing_rather_than_failing(isolated_env: Path) -> None:
    write_config(isolated_env, "this is not toml\n")
    done = subprocess.run(
        [program("gpt-tools")],
        env={**os.environ, "COMP_WORDS": "gpt-tools show M", "COMP_CWORD": "2", "_GPT_TOOLS_COMPLETE": "bash_complete"},
        capture_output=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, b"")


SCRIPTS = {
    "zsh": ["#compdef gpt-tools", "compdef _gpt_filter_completion gpt-filter"],
    "fish": ["complete --no-files --command gpt-tools", "complete -c gpt-filter"],
    "bash": ["-F _gpt_tools_completion gpt-tools", "complete -o default -F _gpt_filter_completion gpt-filter"],
}


@pytest.mark.parametrize(("shell", "marks"), SCRIPTS.items())
def test_each_shell_gets_click_s_script_and_gpt_filter_s(
    capfd: pytest.CaptureFixture[str], shell: str, marks: list[str]
) -> None:
    assert main(["completion", shell]) == 0
    out = capfd.readouterr().out
    for mark in marks:
        assert mark in out, out


def test_the_environment_variable_way_prints_click_s_script_too() -> None:
    done = subprocess.run(
        [program("gpt-tools")],
        env={**os.environ, "_GPT_TOOLS_COMPLETE": "bash_source"},
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0 and b"_gpt_tools_completion" in done.stdout


def test_completion_without_a_shell_is_a_usage_error(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["completion"]) == 2
    assert "name a shell" in capfd.readouterr().err


def _path_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"}


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_assistant_names_for_gpt_tools_and_gpt_filter() -> None:
    script = 'gpt-tools completion fish | source; complete -C "gpt-tools show Mark"; complete -C "gpt-filter Pro"'
    done = subprocess.run(["fish", "-c", script], env=_path_env(), capture_output=True, text=True, timeout=60)
    names = [line.split("\t")[0] for line in done.stdout.splitlines()]
    assert names == ["MarkdownLinter", "ProofReader"], done.stdout + done.stderr


# Typed ahead as at a terminal: the completion line waits in the pty until the prompt reads it, and
# `zpty -r z screen PATTERN` reads until the completed word shows (the test's timeout bounds it).
ZSH = r"""
zmodload zsh/zpty
zpty z 'TERM=dumb zsh -f -i'
zpty -w z 'PS1="> "; autoload -U compinit; compinit -u; eval "$(gpt-tools completion zsh)"'
zpty -w -n z $'WORDS\t'
zpty -r z screen '*COMPLETED*'
print -r -- "$screen"
zpty -d z
"""
ZSH_CASES = [("gpt-tools show Mark", "MarkdownLinter"), ("gpt-filter Pro", "ProofReader")]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
@pytest.mark.parametrize(("typed", "completed"), ZSH_CASES)
def test_zsh_completes_assistant_names_at_a_real_prompt(typed: str, completed: str) -> None:
    script = ZSH.replace("WORDS", typed).replace("COMPLETED", f"{typed.rsplit(' ', 1)[0]} {completed}")
    done = subprocess.run(["zsh", "-f", "-c", script], env=_path_env(), capture_output=True, timeout=60, check=False)
    screen = done.stdout.decode(errors="replace").replace("\r", "\n")
    assert f"{typed.rsplit(' ', 1)[0]} {completed}" in screen, screen[-2000:]


@needs_bash
def test_model_options_complete_the_models_the_price_table_knows() -> None:
    assert _complete("gpt-tools config show -m gpt-6.1-t") == ["gpt-6.1-terra"]
    assert _complete("gpt-tools run -m gpt-6-l") == ["gpt-6-luna"]
    assert _complete("gpt-tools chat --model gpt-5.6-t") == ["gpt-5.6-terra"]


HOSTILE = (
    '[assistants."$(touch pwned)"]\ninstructions = "x"\n'
    '[assistants."it\'s"]\ninstructions = "x"\n'
    '[assistants."My Reviewer"]\ninstructions = "x"\n'
)


def _replies(function: str, *words: str) -> list[str]:
    """COMPREPLY for words (each one bash word, as typed: `My\\ R`), one element a line."""
    quoted = " ".join(shlex.quote(word) for word in words)
    call = f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; {function} {words[0]}"
    return _bash(call + '; printf "%s\\n" "${COMPREPLY[@]}"').splitlines()


@needs_bash
def test_bash_inserts_names_quoted_and_never_runs_what_a_cloned_config_names(isolated_env: Path) -> None:
    write_config(isolated_env, HOSTILE)
    assert _replies("_gpt_filter_completion", "gpt-filter", "Pro") == ["ProofReader"]  # a quote breaks nothing
    assert _replies("_gpt_filter_completion", "gpt-filter", "My") == ["My\\ Reviewer"]
    assert _replies("_gpt_filter_completion", "gpt-filter", "My\\ R") == ["My\\ Reviewer"]
    assert _replies("_gpt_filter_completion", "gpt-filter", "$") == ["\\$\\(touch\\ pwned\\)"]
    assert _replies("_gpt_filter_completion", "gpt-filter", "-O", "jobs", "2", "Pro") == ["ProofReader"]
    assert _replies("_gpt_tools_completion", "gpt-tools", "show", "My\\ R") == ["My\\ Reviewer"]
    assert _replies("_gpt_tools_completion", "gpt-tools", "show", "it") == ["it\\'s"]
    assert not list(isolated_env.glob("pwned"))


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_a_name_with_a_space_quoted_and_runs_nothing_a_cloned_config_names(isolated_env: Path) -> None:
    write_config(isolated_env, HOSTILE)
    typed, completed = "gpt-filter My", "gpt-filter My\\ Reviewer"
    script = ZSH.replace("WORDS", typed).replace("COMPLETED", completed.replace("\\", "\\\\"))
    done = subprocess.run(["zsh", "-f", "-c", script], env=_path_env(), capture_output=True, timeout=60, check=False)
    assert completed in done.stdout.decode(errors="replace"), done.stdout[-2000:]
    assert not list(isolated_env.glob("pwned"))
