"""`gpt-tools lsp`: a language server over stdio (pygls), a front end like the CLI and the Neovim plugin.

Diagnostics from the check assistant's edits on open and save, a quick fix per diagnostic, every
assistant as a code action; see editor/LSP.md for editor set-ups and the settings it reads.
"""

from __future__ import annotations


def main() -> int:
    """Serve one client over stdin/stdout; the exit status (0 after shutdown + exit, or a lost client)."""
    from gpt_tools.lsp.features import serve

    return serve()
