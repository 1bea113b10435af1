""":help gpt-tools: editor/doc/gpt-tools.txt ships with the doc/tags helptags makes, works on a plain
runtimepath install, and has a tag for every command and g: variable the plugins define."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gpt_tools.config import trust
from tests.vim_helpers import EDITOR, run_vim

pytestmark = pytest.mark.skipif(shutil.which("vim") is None and not os.environ.get("CI"), reason="vim not installed")

DOC = EDITOR / "doc"
SOURCES = [path for path in EDITOR.rglob("*") if path.suffix in (".vim", ".lua", ".py")]
COMMANDS = (
    r"command!?\s+(?:-\S+\s+|\\\s+)*(Gpt\w+)",  # Vim script, continuation lines too
    r"@pynvim\.command\(\s*\"(Gpt\w+)\"",  # the remote plugin
    r"nvim_create_user_command\(\s*['\"](Gpt\w+)",  # Lua
)
VARIABLES = r"(?:\bg:|vim\.g\.|vars\[\"|vars\.get\(\")(gpt_tools_\w+)"


def _found(pattern: str) -> set[str]:
    return {name for path in SOURCES for name in re.findall(pattern, path.read_text(encoding="utf-8"))}


def _tags() -> set[str]:
    return {line.split("\t", 1)[0] for line in (DOC / "tags").read_text(encoding="utf-8").splitlines()}


def test_the_committed_tags_are_what_helptags_makes(tmp_path: Path) -> None:
    shutil.copy(DOC / "gpt-tools.txt", tmp_path / "gpt-tools.txt")
    subprocess.run(
        ["vim", "-Es", "-N", "-u", "NONE", "-i", "NONE", "-c", f"helptags {tmp_path}", "-c", "q"], check=False
    )
    made = (tmp_path / "tags").read_bytes()
    assert made == (DOC / "tags").read_bytes(), "run: vim -Es -c 'helptags editor/doc' -c q, and commit doc/tags"


def test_every_command_and_variable_has_a_tag() -> None:
    commands = {f":{name}" for pattern in COMMANDS for name in _found(pattern)}
    variables = {f"g:{name}" for name in _found(VARIABLES)}
    assert {":GptFilter", ":GptFilterCancel", ":GptTrust", ":GptRun", "g:gpt_tools_filter"} <= commands | variables
    assert commands | variables <= _tags(), sorted((commands | variables) - _tags())


def test_help_works_with_only_the_runtimepath(tmp_path: Path) -> None:
    tags = sorted(_tags())
    out = tmp_path / "help.json"
    script = [
        "let g:help = {}",
        f"for s:tag in {json.dumps(tags)}",
        "  try | execute 'help' escape(s:tag, ' ') | let g:help[s:tag] = [expand('%:t'), getline('.')] | helpclose",
        "  catch | let g:help[s:tag] = [v:exception, ''] | endtry",
        "endfor",
        "help gpt-tools",
        "let g:help['gpt-tools'] = [expand('%:t'), getline('.')]",
        f"call writefile([json_encode(g:help)], {json.dumps(str(out))})",
    ]
    run_vim(None, *script)  # vim -u NONE, editor/ on 'runtimepath', no :helptags run
    found = json.loads(out.read_text(encoding="utf-8"))
    assert found.pop("gpt-tools") == ["gpt-tools.txt", found["gpt-tools-intro"][1]]
    assert "*gpt-tools*" in found["gpt-tools-intro"][1]
    wrong = {tag: where for tag, where in found.items() if where[0] != "gpt-tools.txt" or tag not in where[1]}
    assert wrong == {}


def test_the_trust_question_names_the_settings_trust_guards() -> None:
    vim_keys = (EDITOR / "autoload" / "gpt_tools" / "trust.vim").read_text(encoding="utf-8")
    listed = re.findall(r"let s:(?:sensitive|top_level) = \[(.*?)\]", vim_keys)
    names = [name for line in listed for name in re.findall(r"'(\w+)'", line)]
    assert names == [*trust.SENSITIVE, *trust.TOP_LEVEL_ONLY]


def test_no_help_line_is_wider_than_78_columns() -> None:
    text = (DOC / "gpt-tools.txt").read_text(encoding="utf-8")
    # Characters, as 'textwidth' counts them (help's own convention); a tab is one.
    wide = [(number, line) for number, line in enumerate(text.splitlines(), 1) if len(line) > 78]
    assert wide == []
