"""The price a cost estimate uses, when it was checked, and when a cost is only an estimate.

The built-in table (state/runlog.PRICES, with PRICES_CHECKED) holds OpenAI's published prices as checked
on a date; `[prices.MODEL]` in config overrides or extends it, optionally with `checked = 2026-12-01`.
A cost from a price checked more than MAX_AGE_DAYS ago, or for a model without a price, is labelled
an estimate wherever it is shown (`usage`, `logs`, dry runs, `config show`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from typing import Any

from gpt_tools.config.loader import Config
from gpt_tools.state import runlog

# A dated snapshot of a model (gpt-5-2025-08-07, gpt-4-0613) bills as the model itself.
_SNAPSHOT = re.compile(r"\d{4}(-\d{2}-\d{2})?")
MAX_AGE_DAYS = 90  # OpenAI changes prices a few times a year; an older check may be out of date


@dataclass(frozen=True, kw_only=True)
class PriceInfo:
    model: str  # the table's entry (a dated snapshot uses its family's)
    input: float  # USD per million tokens
    cached_input: float
    output: float
    checked: date | None  # None: set in config without a date (taken as the user gives it)
    origin: str  # "built-in" or the config file that set it


def table(config: Config) -> dict[str, tuple[float, float, float]]:
    """Every price a cost is computed with: the built-in table under the configs' [prices]."""
    return {**runlog.PRICES, **config.prices}


def price_info(model: str, config: Config) -> PriceInfo | None:
    prices = table(config)
    found = runlog.price_for(model, prices)
    if found is None:
        return None
    # price_for's own choice: the model itself, else the longest family name it starts with
    entry = model if model in prices else max((n for n in prices if model.startswith(n + "-")), key=len)
    origin = config.origins.get(f"prices.{entry}")
    checked = config.price_checked.get(entry) if origin else runlog.PRICES_CHECKED.get(entry)
    fresh, cached, output = found
    return PriceInfo(
        model=entry, input=fresh, cached_input=cached, output=output, checked=checked, origin=origin or "built-in"
    )


def estimate_note(model: str, config: Config, *, today: date | None = None) -> str | None:
    """Why a cost for model is only an estimate ("price checked 2026-01-05, over 90 days ago"), or None."""
    info = price_info(model, config)
    if info is None:
        return f"no price for {model}"
    if info.model != model and not _SNAPSHOT.fullmatch(model.removeprefix(info.model + "-")):
        # gpt-5-pro is not gpt-5 (it bills twelve times as much): a variant's cost is its family's guess
        return f"priced as {info.model} (no price of its own)"
    if info.checked is None:
        return None
    age = ((today or datetime.now(timezone.utc).date()) - info.checked).days
    return f"price checked {info.checked.isoformat()}, over {MAX_AGE_DAYS} days ago" if age > MAX_AGE_DAYS else None


def describe_price(model: str, config: Config) -> tuple[str, dict[str, Any] | None]:
    """(a line for `config show`, the same as JSON) for the price a run of model is costed with."""
    info = price_info(model, config)
    note = estimate_note(model, config)
    if info is None:
        return f"none for {model}: its costs are unknown (-); add [prices.\"{model}\"] to price it", None
    when = f"checked {info.checked.isoformat()}" if info.checked else "no date given"
    line = (
        f"{info.model}: ${info.input:g} in, ${info.cached_input:g} cached, ${info.output:g} out per 1M tokens "
        f"({info.origin}, {when})" + (f"; an estimate: {note}" if note else "")
    )
    data = {**asdict(info), "checked": info.checked.isoformat() if info.checked else None, "estimate": note}
    return line, data
