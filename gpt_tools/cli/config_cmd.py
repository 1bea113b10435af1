"""`gpt-tools config show [ASSISTANT]`: every setting in effect and what set it; nothing is sent."""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import partial
from typing import TYPE_CHECKING, Any

import click

from gpt_tools.cli.assistants import json_failures
from gpt_tools.cli.completion import assistant_names, model_names
from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.cli.runsettings import PerRun, per_run
from gpt_tools.cli.safe_text import printable
from gpt_tools.config.loader import load_config
from gpt_tools.redact import redact

if TYPE_CHECKING:  # imported by the command (below): explain brings the wire, prices the run log
    from gpt_tools.config.explain import Explanation


@click.group("config")
def config_group() -> None:
    """See the configuration in effect (`config show`)."""


def _toml(value: Any) -> str:
    return "(unset)" if value is None else json.dumps(value, ensure_ascii=False)


def _text(found: Explanation, price: str) -> str:
    by_key = {value.key: value for value in found.values}
    head = [
        ("assistant", found.assistant or "(none: the settings every assistant starts from)"),
        ("model", f"{_toml(by_key['model'].value)}  ({by_key['model'].origin})"),
        ("backend", f"{_toml(by_key['backend'].value)}  ({by_key['backend'].origin})"),
        ("endpoint", f"{found.endpoint.value}  ({found.endpoint.origin})"),
        ("key", found.key_source),
        ("trust", found.trust),
        ("config files", ", ".join(found.files) or "none (built-in defaults only)"),
        ("price", price),
    ]
    if found.ignored:
        head.append(("ignored", f"{', '.join(found.ignored)} (the project is not trusted; a run refuses)"))
    width = max(len(name) for name, _ in head)
    lines = [f"{name:<{width}}  {value}" for name, value in head]
    lines += ["", "# every setting, and what set it"]
    lines += [f"{value.key} = {_toml(value.value)}  # {value.origin}" for value in found.values]
    return "\n".join(lines) + "\n"


@config_group.command("show")
@click.argument("assistant", required=False, shell_complete=assistant_names)
@click.option("-m", "--model", shell_complete=model_names, help="As a run with --model would.")
@click.option("--backend", help="As a run with --backend would.")
@click.option("--temperature", metavar="T", help="As a run with --temperature would.")
@click.option("--max-output-tokens", metavar="N", help="As a run with --max-output-tokens would.")
@click.option("-O", "--option", "options", nargs=2, multiple=True, metavar="KEY VALUE", help="As a run with -O would.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def show(
    assistant: str | None,
    model: str | None,
    backend: str | None,
    temperature: str | None,
    max_output_tokens: str | None,
    options: tuple[tuple[str, str], ...],
    as_json: bool,
) -> int:
    """Every setting in effect (for ASSISTANT, if given) and which file, variable or default set it.

    Shows the model, backend, endpoint, where the key would come from (never the key; api_key_cmd is
    not run), the project's trust, and the price used for cost estimates. Nothing is sent, and an
    untrusted project is shown with its trust-gated keys left out instead of refused.
    """
    per = partial(per_run, options, temperature=temperature, max_output_tokens=max_output_tokens)
    return json_failures(as_json, lambda: _show(assistant, model, backend, per(), as_json))


def _show(assistant: str | None, model: str | None, backend: str | None, per: PerRun, as_json: bool) -> int:
    # Here, not at the top: `gpt-tools --help` must not pay ~40 ms for http.client and sqlite3.
    from gpt_tools.config.explain import explain
    from gpt_tools.config.prices import describe_price

    config = load_config(inspect=True)
    chosen = config.assistant(assistant) if assistant else None
    found = explain(config, chosen, model=model, backend=backend, options=per.settings, sampling=per.assistant)
    price_text, price = describe_price(found.settings.model, config)
    console = Console(PROGRAM)
    if as_json:
        data = asdict(found)
        data.pop("settings")
        data["values"] = {item["key"]: {"value": item["value"], "origin": item["origin"]} for item in data["values"]}
        data["price"] = price
        console.result(redact(json.dumps(data, indent=2, default=str)) + "\n")
        return 0
    console.result(printable(redact(_text(found, price_text)), keep_newlines=True))
    return 0
