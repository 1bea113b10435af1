"""The built-in prices: current models, the date each was checked, and costs labelled as estimates."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from gpt_tools.cli.hook import main as hook_main
from gpt_tools.cli.main import main
from gpt_tools.config.definitions import DEFAULT_MODEL
from gpt_tools.config.loader import load_config
from gpt_tools.config.prices import MAX_AGE_DAYS, estimate_note, price_info
from gpt_tools.errors import ConfigError
from gpt_tools.state import paths, runlog
from tests.conftest import trust_project, write_config

TODAY = date(2026, 12, 2)


def test_the_default_model_is_current_priced_and_freshly_checked() -> None:
    assert DEFAULT_MODEL in runlog.PRICES and not DEFAULT_MODEL.startswith(("gpt-5-", "gpt-4"))
    assert DEFAULT_MODEL != "gpt-5-nano"  # deprecated (shut down 2026-12-11)
    assert estimate_note(DEFAULT_MODEL, load_config(), today=TODAY) is None


def test_every_built_in_price_carries_the_date_it_was_checked() -> None:
    assert set(runlog.PRICES_CHECKED) == set(runlog.PRICES)
    for model, (fresh, cached, output) in runlog.PRICES.items():
        assert 0 < cached <= fresh < output, model  # a cached rate never exceeds the fresh one


def test_a_price_checked_too_long_ago_or_missing_makes_the_cost_an_estimate() -> None:
    config = load_config()
    checked = runlog.PRICES_CHECKED[DEFAULT_MODEL]
    assert estimate_note(DEFAULT_MODEL, config, today=checked + timedelta(days=MAX_AGE_DAYS)) is None
    late = estimate_note(DEFAULT_MODEL, config, today=checked + timedelta(days=MAX_AGE_DAYS + 1))
    assert late == f"price checked {checked.isoformat()}, over {MAX_AGE_DAYS} days ago"
    assert estimate_note("house-model-7b", config) == "no price for house-model-7b"
    assert price_info(f"{DEFAULT_MODEL}-2026-10-26", config).model == DEFAULT_MODEL  # type: ignore[union-attr]


def test_a_configured_price_may_say_when_it_was_checked(isolated_env: Path) -> None:
    old = "[prices.old]\ninput = 1\noutput = 2\nchecked = 2025-01-01\n"
    write_config(isolated_env, f"[prices.house]\ninput = 1\noutput = 2\n{old}")
    trust_project(isolated_env)
    config = load_config()
    assert estimate_note("house", config, today=TODAY) is None  # the user's own, undated: as given
    assert estimate_note("old", config, today=TODAY) == f"price checked 2025-01-01, over {MAX_AGE_DAYS} days ago"
    info = price_info("old", config)
    assert info is not None and info.origin == str(isolated_env / "gpt-tools.toml")


def test_checked_must_be_a_date(isolated_env: Path) -> None:
    write_config(isolated_env, "[prices.house]\ninput = 1\noutput = 2\nchecked = 'last week'\n")
    trust_project(isolated_env)
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert caught.value.key == "prices.house.checked" and "expected a date" in str(caught.value)


@pytest.fixture
def stale(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default model's price as if checked a year ago."""
    monkeypatch.setitem(runlog.PRICES_CHECKED, DEFAULT_MODEL, date(2025, 11, 1))


def test_the_dry_run_labels_an_old_price_and_never_shows_a_false_zero(
    stale: None, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--dry-run", "Summarizer", "-t", "hello there"]) == 0
    assert "(an estimate: price checked 2025-11-01, over 90 days ago)" in capfd.readouterr().out
    assert main(["run", "--dry-run", "-m", "house-model-7b", "Summarizer", "-t", "hello there"]) == 0
    assert "no price for this model (cost unknown)" in capfd.readouterr().out
    Path("a.md").write_text("# A\n\nteh text\n")
    assert hook_main(["--dry-run", "-m", "house-model-7b", "a.md"]) == 0
    out = capfd.readouterr()
    shown = out.out + out.err
    assert "a.md: ~" in shown and "no price for this model (cost unknown)" in shown
    assert "the cost of 1 file unknown (no price)" in shown


def _seed(model: str) -> None:
    record = runlog.Record("cli", "Summarizer", model, "openai", 1000, 100, 0, 1.0, "ok")
    assert runlog.append(record, prices=runlog.PRICES, path=paths.run_log())


def test_logs_and_usage_label_costs_from_an_old_price(stale: None, capfd: pytest.CaptureFixture[str]) -> None:
    _seed(DEFAULT_MODEL)
    _seed("gpt-6-luna")
    assert main(["logs"]) == 0
    out = capfd.readouterr().out
    [old] = [line for line in out.splitlines() if f" {DEFAULT_MODEL} " in line]
    [fresh] = [line for line in out.splitlines() if " gpt-6-luna " in line]
    assert "*" in old and "*" not in fresh
    assert out.endswith(f"* an estimate: {DEFAULT_MODEL}: price checked 2025-11-01, over 90 days ago\n")
    assert main(["logs", "--json"]) == 0
    notes = {row["model"]: row["cost_estimate"] for row in json.loads(capfd.readouterr().out)}
    assert notes == {DEFAULT_MODEL: f"{DEFAULT_MODEL}: price checked 2025-11-01, over 90 days ago", "gpt-6-luna": None}
    assert main(["usage", "--by", "model"]) == 0
    out = capfd.readouterr().out
    assert "* an estimate:" in out and out.splitlines()[-2].startswith("total") and "*" in out.splitlines()[-2]
    assert main(["usage", "--json"]) == 0  # by day: the day's costs include an old price
    [day] = json.loads(capfd.readouterr().out)
    assert day["cost_estimate"] == f"{DEFAULT_MODEL}: price checked 2025-11-01, over 90 days ago"


def test_logs_still_work_with_a_broken_config(isolated_env: Path, capfd: pytest.CaptureFixture[str]) -> None:
    _seed(DEFAULT_MODEL)
    write_config(isolated_env, "not toml at all\n")
    assert main(["logs"]) == 0 and f" {DEFAULT_MODEL} " in capfd.readouterr().out


def test_a_variant_priced_by_its_familys_entry_is_an_estimate_a_dated_snapshot_is_not() -> None:
    config = load_config()
    assert estimate_note("gpt-5-pro", config, today=TODAY) == "priced as gpt-5 (no price of its own)"
    assert estimate_note("gpt-5-2025-08-07", config, today=TODAY) is None
    assert estimate_note("gpt-4o-mini-2024-07-18", config, today=TODAY) is None


def test_logs_and_usage_mark_a_variants_cost_and_show_an_unpriced_models_as_unknown(
    capfd: pytest.CaptureFixture[str],
) -> None:
    _seed("gpt-5-pro")
    _seed("house-model-7b")
    assert main(["logs"]) == 0
    out = capfd.readouterr().out
    [variant] = [line for line in out.splitlines() if " gpt-5-pro " in line]
    [unknown] = [line for line in out.splitlines() if " house-model-7b " in line]
    assert "*" in variant and "   -  ok" in unknown
    assert out.endswith("* an estimate: gpt-5-pro: priced as gpt-5 (no price of its own)\n")
    assert main(["usage", "--by", "model"]) == 0
    [row] = [line for line in capfd.readouterr().out.splitlines() if line.startswith("house-model-7b")]
    assert "$0.0000" not in row and " -  (1 runs of unpriced models)" in row
