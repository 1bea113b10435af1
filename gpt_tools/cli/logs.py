"""`gpt-tools logs` and `gpt-tools usage`: what ran, and what it cost (estimates)."""

from __future__ import annotations

import json
from dataclasses import replace

import click

from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.cli.safe_text import printable
from gpt_tools.config.loader import Config, load_config
from gpt_tools.config.prices import estimate_note
from gpt_tools.errors import ConfigError
from gpt_tools.state.runlog import PRICES, Filters, parse_time, recent, usage

WHEN = "DATE"


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A date for --since/--until, checked: a typo must be a usage error, not an empty answer."""
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not a date ({exc}); use 2026-12-01, 2026-12-01T14:30, today, yesterday, 12h, 7d or 2w",
            ctx,
            param,
        ) from None


def _filters(assistant: str | None, frontend: str | None, since: str | None, until: str | None) -> Filters:
    if since and until and since >= until:  # both in the log's time format: the strings compare as times
        raise click.BadParameter(f"--since ({since}) is not before --until ({until}): no run can match")
    return Filters(assistant, frontend, since, until)


def _filter_options(command: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(
        [
            click.option("--assistant", help="Only runs of this assistant."),
            click.option(
                "--frontend", type=click.Choice(["cli", "filter", "hook", "nvim", "chat", "batch", "lsp", "library"])
            ),
            click.option(
                "--since",
                callback=_when,
                metavar=WHEN,
                help="From this ISO date or time (UTC), today, yesterday or 12h/7d/2w ago; inclusive.",
            ),
            click.option(
                "--until", callback=_when, metavar=WHEN, help="Up to this date or time (as --since), exclusive."
            ),
            click.option("--json", "as_json", is_flag=True, help="Print as JSON."),
        ]
    ):
        command = option(command)
    return command


def _money(value: object) -> str:
    return "-" if value is None else f"${float(value):.4f}"  # type: ignore[arg-type]


def _tokens(value: object) -> str:
    return "-" if value is None else f"{value:,}"  # None: the server never said


def _estimates(models: object, config: Config) -> dict[str, str]:
    """model -> why its costs are only estimates (an old price: config/prices.py), for the models priced."""
    names = models if isinstance(models, list) else [models]
    notes = {str(model): estimate_note(str(model), config) for model in names}
    return {model: f"{model}: {note}" for model, note in notes.items() if note and not note.startswith("no price")}


def _prices_config() -> Config:
    """The config whose [prices] label `logs`' costs; `logs` worked before any config did, so a broken
    one leaves the built-in table (the error is `gpt-tools config show`'s and every run's to report)."""
    try:
        return load_config(inspect=True)
    except ConfigError:
        return Config()


def _footnote(notes: dict[str, str]) -> str:
    """The line under the rows for the costs marked `*` (printable: model names come from configs)."""
    return printable(f"* an estimate: {'; '.join(sorted(set(notes.values())))}") + "\n" if notes else ""


def _line(row: dict[str, object], mark: str = "") -> str:
    hit = " cache" if row["cache_hit"] else ""
    money = _money(row["cost"]) + (mark if row["cost"] is not None else "")
    return (
        f"{row['time']}  {row['frontend']:<7} {row['assistant']:<16} {row['model']:<14} "
        f"{_tokens(row['input_tokens']):>7} in {_tokens(row['output_tokens']):>7} out  "
        f"{float(row['duration']):6.1f}s  {money:>9}  {row['status']}{hit}"  # type: ignore[arg-type]
        + (f"  {row['request_id']}" if row.get("request_id") else "")  # what the provider's support asks for
    )


def _rejected(row: dict[str, object]) -> str:
    """A refused reply's reason, and the reply itself when log_texts kept it, indented under its run."""
    reply = row.get("output_text")
    shown = "".join(f"    {line}\n" for line in str(reply).splitlines()) if isinstance(reply, str) else ""
    kept = "  reply:\n" + shown if shown else "  reply: not kept (log_texts = true keeps it)\n"
    return f"  why: {row['error']}\n" + kept


@click.command("logs")
@_filter_options
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs.")
@click.option(
    "--show-rejected",
    is_flag=True,
    help="Only runs whose reply the guards refused, each with why and, with log_texts = true, the reply.",
)
def logs_command(
    assistant: str | None,
    frontend: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
    limit: int,
    show_rejected: bool,
) -> int:
    """The last runs from every front end, newest first. Tokens a server never reported show as -."""
    filters = _filters(assistant, frontend, since, until)
    if show_rejected:
        filters = replace(filters, status="rejected")
    rows = recent(filters, limit, replies=show_rejected)
    console = Console(PROGRAM)
    priced = sorted({str(row["model"]) for row in rows if row["cost"] is not None})
    notes = _estimates(priced, _prices_config())
    if as_json:
        rows = [{**row, "cost_estimate": notes.get(str(row["model"]))} for row in rows]
        console.result(json.dumps(rows, indent=2) + "\n")
        return 0
    for row in rows:
        mark = "*" if str(row["model"]) in notes else ""
        # Names came from a config (a cloned repository's), replies from a model: made printable.
        why = printable(_rejected(row), keep_newlines=True) if show_rejected else ""
        console.result(printable(_line(row, mark)) + "\n" + why)
    console.result(_footnote(notes))
    return 0


@click.command("usage")
@_filter_options
@click.option("--by", type=click.Choice(["day", "assistant", "model", "frontend"]), default="day", show_default=True)
def usage_command(
    assistant: str | None, frontend: str | None, since: str | None, until: str | None, as_json: bool, by: str
) -> int:
    """Tokens and estimated cost per day, assistant, model or front end."""
    config = load_config(inspect=True)  # reads the log, sends nothing
    rows = usage(_filters(assistant, frontend, since, until), by, {**PRICES, **config.prices})
    console = Console(PROGRAM)
    notes = {model: note for row in rows for model, note in _estimates(row["models"], config).items()}
    if as_json:
        rows = [{**row, "cost_estimate": "; ".join(_estimates(row["models"], config).values()) or None} for row in rows]
        console.result(json.dumps(rows, indent=2) + "\n")
        return 0
    total = 0.0
    for row in rows:
        total += float(row["cost"])  # type: ignore[arg-type]
        unpriced = f"  ({row['unpriced_runs']} runs of unpriced models)" if row["unpriced_runs"] else ""
        unpriced += f"  ({row['unknown_runs']} runs of unknown usage)" if row["unknown_runs"] else ""
        # Not one run of the row priced: its cost is unknown (-), not a false $0.0000.
        cost = None if row["unpriced_runs"] + row["unknown_runs"] >= row["runs"] else row["cost"]  # type: ignore[operator]
        line = (
            f"{row[by]!s:<20} {row['runs']:>6} runs {row['input_tokens']:>11,} in {row['output_tokens']:>11,} out  "
            f"{_money(cost) + ('*' if _estimates(row['models'], config) else ''):>10}{unpriced}"
        )
        console.result(printable(line) + "\n")
    console.result(f"{'total':<20} {_money(total) + ('*' if notes else ''):>62}\n" if rows else "no runs logged yet\n")
    console.result(_footnote(notes))
    return 0
