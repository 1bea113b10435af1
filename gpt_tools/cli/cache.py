"""`gpt-tools cache clear [FILE]...`: forget remembered results, so the next run asks again.

Without FILE every entry goes. With FILE, the entries of that file's current text go, for every
rewriting assistant (or those named with --assistant) under its model (or -m): answers and remembered
refusals alike. Locations come from state/paths.py, removal from state/cache.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.cli.safe_text import printable

if TYPE_CHECKING:  # the run path is imported when the cache is cleared, not for `gpt-tools --help`
    from gpt_tools.state.cache import ResultCache


@click.group("cache")
def cache_group() -> None:
    """The result cache: rewrites already fixed or known clean, which cost no request."""


@cache_group.command("clear")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--assistant", "assistants", multiple=True, metavar="NAME", help="Only this assistant's (repeatable).")
@click.option("-m", "--model", help="The model the entries were made with, instead of each assistant's.")
@click.option("--backend", help="The backend the entries were made with, instead of each assistant's.")
def clear_command(files: tuple[str, ...], assistants: tuple[str, ...], model: str | None, backend: str | None) -> int:
    """Forget every cached result, or only those of each FILE's current text."""
    from gpt_tools.state import paths
    from gpt_tools.state.cache import ResultCache

    console = Console(PROGRAM)
    cache = ResultCache()
    if not files:
        if assistants or model or backend:
            raise click.UsageError("--assistant, -m and --backend choose a FILE's entries: give FILE")
        cleared = cache.clear()
        console.message(f"removed {_results(cleared.entries)} ({cleared.size:,} bytes) from {paths.results_cache()}")
        return 0
    total = 0
    if assistants:
        _say_writers(console, assistants)
    for name in files:
        removed = _forget_file(cache, name, assistants, model, backend)
        total += removed
        console.message(f"{printable(name)}: removed {_results(removed)}")
    if len(files) > 1:
        console.message(f"removed {_results(total)} for {len(files)} files")
    return 0


def _say_writers(console: Console, names: tuple[str, ...]) -> None:
    """--assistant naming a writing assistant: its replies are never cached, so there is nothing to forget."""
    from gpt_tools.config.loader import load_config

    config = load_config()
    for name in names:
        if not config.assistant(name).rewrites:
            console.message(f"note: {printable(name)} writes (it does not rewrite): its replies are never cached")


def _results(count: int) -> str:
    return f"{count:,} cached result" + ("" if count == 1 else "s")


def _forget_file(
    cache: ResultCache, name: str, assistants: tuple[str, ...], model: str | None, backend: str | None
) -> int:
    from gpt_tools.config.loader import load_config
    from gpt_tools.core.cachekeys import document_keys
    from gpt_tools.core.plan import RunRequest
    from gpt_tools.errors import InputRefused, UsageError
    from gpt_tools.markdown.textio import decode_input
    from gpt_tools.state.localread import FileRefused, read_regular

    try:
        text = decode_input(read_regular(Path(name)), source=name)
    except FileRefused as exc:
        raise UsageError(f"{name} {exc.reason}") from None
    config = load_config()
    chosen = [config.assistant(a) for a in assistants] or [a for a in config.assistants.values() if a.rewrites]
    removed = 0
    for assistant in chosen:
        request = RunRequest(
            assistant=assistant, text=text, model=model, backend=backend, config=config, allow_secrets=True
        )
        try:
            keys = document_keys(request, cache)
        except InputRefused:  # an empty or oversized document was never sent, so never cached
            continue
        removed += sum(cache.forget(key) for key in dict.fromkeys(keys))
    return removed
