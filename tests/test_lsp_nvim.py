"""Real Neovim 0.7's built-in LSP client with `gpt-tools lsp` (vim.lsp.start_client, as editor/LSP.md sets it
up): after `:write` the check's diagnostics are in the buffer (vim.diagnostic.get), and a quick fix chosen
through vim.lsp.buf.code_action (vim.ui.select picking it) changes exactly its text; an assistant chosen on a
selection (range_code_action, then codeAction/resolve) rewrites that selection only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import program
from tests.fake_openai import FakeOpenAI
from tests.nvim_helpers import NVIM, pynvim, start_nvim, stop_nvim, wait_for

pytestmark = pytest.mark.skipif(
    (NVIM is None or pynvim is None) and not os.environ.get("CI"), reason="nvim or pynvim not installed"
)

SETUP = """
local cmd, root = ...
local id = vim.lsp.start_client({
  name = 'gpt-tools',
  cmd = cmd,
  root_dir = root,
  init_options = { check = 'save', debounceMs = 0 },
})
vim.g.gpt_tools_lsp = id
vim.api.nvim_create_autocmd('FileType', {
  pattern = 'markdown',
  callback = function(args) vim.lsp.buf_attach_client(args.buf, id) end,
})
"""

# Neovim 0.7's code_action(context) has no `filter`/`apply` options (0.8 added them): it offers the actions
# through vim.ui.select, which picks the one titled as the chunk's first argument, as a user would.
PICK = """
local wanted = ...
vim.ui.select = function(items, _, on_choice)
  for index, item in ipairs(items) do
    if item[2].title == wanted then return on_choice(item, index) end
  end
  on_choice(nil, nil)
end
"""

FIX = PICK + "vim.lsp.buf.code_action({ only = { 'quickfix' } })\n"

# An assistant on a selection: the action is listed without its edit, and Neovim asks codeAction/resolve.
RANGE = (
    PICK
    + """
local _, first, last = ...
vim.lsp.buf.range_code_action({ only = { 'refactor.rewrite' } }, { first, 0 }, { last, 0 })
"""
)


@pytest.fixture
def editor(api: FakeOpenAI, edits_mode: None, tmp_path: Path) -> Iterator[Any]:
    init = tmp_path / "init.vim"
    init.write_text("set runtimepath=$VIMRUNTIME\nset packpath=\nfiletype on\nset shortmess+=I\n", encoding="utf-8")
    nvim = start_nvim(init)
    try:
        nvim.exec_lua(SETUP, [program("gpt-tools"), "lsp"], str(Path.cwd()))
        yield nvim
    finally:
        stop_nvim(nvim)


def _diagnostics(nvim: Any) -> list[dict[str, Any]]:
    return list(nvim.exec_lua("return vim.diagnostic.get(0)"))


def test_diagnostics_after_write_and_a_quick_fix_changes_exactly_its_text(editor: Any, api: FakeOpenAI) -> None:
    path = Path.cwd() / "notes.md"
    path.write_text("# Notes\n\nNothing yet.\n", encoding="utf-8")
    editor.command(f"edit {path}")
    wait_for("the client to attach", lambda: editor.exec_lua("return #vim.lsp.buf_get_clients(0)") == 1)
    lines = ["# Notes", "", "😀 You will recieve it.", "Second teh line."]
    editor.current.buffer[:] = lines
    editor.command("write")
    found = wait_for(
        "diagnostics after :write", lambda: _diagnostics(editor) if len(_diagnostics(editor)) == 2 else None
    )
    # Neovim's columns are bytes: the server's UTF-16 columns (12, after a 2-unit emoji) came through right.
    assert [(d["lnum"], d["col"], d["end_col"], d["source"]) for d in found] == [
        (2, 14, 21, "gpt-tools"),
        (3, 7, 10, "gpt-tools"),
    ]
    assert found[1]["message"] == 'spelling: "teh" → "the"'
    editor.current.window.cursor = (4, 8)  # on the second line's "teh" (row 1-based, column 0-based bytes)
    editor.exec_lua(FIX, 'gpt-tools: spelling: "teh" → "the"')
    changed = wait_for(
        "the quick fix", lambda: editor.current.buffer[:] if editor.current.buffer[3] != lines[3] else None
    )
    assert changed == [*lines[:3], "Second the line."]
    assert len(api.model_requests()) == 1


def test_an_assistant_chosen_on_a_selection_rewrites_only_that_selection(editor: Any, api: FakeOpenAI) -> None:
    path = Path.cwd() / "notes.md"
    lines = ["# Notes", "", "teh first line", "teh second line", "teh third line"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    editor.command(f"edit {path}")
    wait_for("the client to attach", lambda: editor.exec_lua("return #vim.lsp.buf_get_clients(0)") == 1)
    wait_for("the check on open", lambda: len(_diagnostics(editor)) == 3)
    sent = len(api.model_requests())
    editor.exec_lua(RANGE, "gpt-tools: ProofReader: rewrite the selection", 4, 5)  # lines 4 up to 5: the second
    changed = wait_for(
        "the rewrite", lambda: editor.current.buffer[:] if editor.current.buffer[3] != lines[3] else None
    )
    assert changed == [*lines[:3], "the second line", lines[4]]
    assert len(api.model_requests()) == sent + 1


def test_a_line_after_a_line_separator_edited_then_written_is_checked_and_fixed_where_it_is(
    editor: Any, api: FakeOpenAI
) -> None:
    path = Path.cwd() / "notes.md"
    lines = ["x\u2028y recieve", "", "Old line."]  # U+2028 is a character inside a line to Neovim and the protocol
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    editor.command(f"edit {path}")
    wait_for("the client to attach", lambda: editor.exec_lua("return #vim.lsp.buf_get_clients(0)") == 1)
    wait_for("the check on open", lambda: len(_diagnostics(editor)) == 1)
    editor.current.buffer[2] = "New teh line."  # sent as an incremental change of line 2
    editor.command("write")
    found = wait_for(
        "diagnostics after :write", lambda: _diagnostics(editor) if len(_diagnostics(editor)) == 2 else None
    )
    assert [(d["lnum"], d["col"], d["end_col"]) for d in found] == [(0, 6, 13), (2, 4, 7)]  # columns in bytes
    editor.current.window.cursor = (3, 5)
    editor.exec_lua(FIX, 'gpt-tools: spelling: "teh" → "the"')
    changed = wait_for(
        "the quick fix", lambda: editor.current.buffer[:] if editor.current.buffer[2] != "New teh line." else None
    )
    assert changed == [lines[0], "", "New the line."]
