"""`gpt-tools logs` and `gpt-tools usage`: what ran, and what it cost (estimates)."""

from __future__ import annotations

import json

import click

from .console import Console

PROGRAM = "gpt-tools"


def _filters(assistant: str | None, frontend: str | None, since: str | None, until: str | None) -> object:
    from ..runlog import Filters

    return Filters(assistant, frontend, since, until)


def _filter_options(command: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(
        [
            click.option("--assistant", help="Only runs of this assistant."),
            click.option(
                "--frontend", type=click.Choice(["cli", "filter", "hook", "nvim", "chat", "batch", "library"])
            ),
            click.option("--since", metavar="DATE", help="From this ISO date or time (UTC), inclusive."),
            click.option("--until", metavar="DATE", help="Up to this ISO date or time (UTC), exclusive."),
            click.option("--json", "as_json", is_flag=True, help="Print as JSON."),
        ]
    ):
        command = option(command)
    return command


def _money(value: object) -> str:
    return "-" if value is None else f"${float(value):.4f}"  # type: ignore[arg-type]


@click.command("logs")
@_filter_options
@click.option("-n", "--limit", type=int, default=20, show_default=True, help="How many runs.")
def logs_command(
    assistant: str | None, frontend: str | None, since: str | None, until: str | None, as_json: bool, limit: int
) -> int:
    """The last runs from every front end, newest first."""
    from ..runlog import recent

    rows = recent(_filters(assistant, frontend, since, until), limit)  # type: ignore[arg-type]
    console = Console(PROGRAM)
    if as_json:
        console.result(json.dumps(rows, indent=2) + "\n")
        return 0
    for row in rows:
        hit = " cache" if row["cache_hit"] else ""
        console.result(
            f"{row['time']}  {row['frontend']:<7} {row['assistant']:<16} {row['model']:<14} "
            f"{row['input_tokens']:>7,} in {row['output_tokens']:>7,} out  {float(row['duration']):6.1f}s  "  # type: ignore[arg-type]
            f"{_money(row['cost']):>9}  {row['status']}{hit}\n"
        )
    return 0


@click.command("usage")
@_filter_options
@click.option("--by", type=click.Choice(["day", "assistant", "model", "frontend"]), default="day", show_default=True)
def usage_command(
    assistant: str | None, frontend: str | None, since: str | None, until: str | None, as_json: bool, by: str
) -> int:
    """Tokens and estimated cost per day, assistant, model or front end."""
    from ..config import load_config
    from ..runlog import PRICES, usage

    prices = {**PRICES, **load_config().prices}
    rows = usage(_filters(assistant, frontend, since, until), by, prices)  # type: ignore[arg-type]
    console = Console(PROGRAM)
    if as_json:
        console.result(json.dumps(rows, indent=2) + "\n")
        return 0
    total = 0.0
    for row in rows:
        total += float(row["cost"])  # type: ignore[arg-type]
        unpriced = f"  ({row['unpriced_runs']} runs of unpriced models)" if row["unpriced_runs"] else ""
        console.result(
            f"{row[by]!s:<20} {row['runs']:>6} runs {row['input_tokens']:>11,} in {row['output_tokens']:>11,} out  "
            f"{_money(row['cost']):>10}{unpriced}\n"
        )
    console.result(f"{'total':<20} {_money(total):>62}\n" if rows else "no runs logged yet\n")
    return 0
