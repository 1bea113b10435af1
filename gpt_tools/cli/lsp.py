"""`gpt-tools lsp`: the language server over stdio (gpt_tools/lsp/; editor set-ups in editor/LSP.md)."""

from __future__ import annotations

import click


@click.command("lsp")
@click.option("--stdio", is_flag=True, help="Talk over stdin/stdout (the default and only transport).")
def lsp_command(stdio: bool) -> int:
    """Serve the Language Server Protocol over stdio: diagnostics, quick fixes, assistants as code actions."""
    from gpt_tools.lsp import main  # imported here: the other commands never pay for pygls

    return main()
