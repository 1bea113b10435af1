"""`gpt-tools models`: what the endpoint in effect offers (GET /v1/models), the model in use marked."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import click

from gpt_tools.cli.assistants import json_failures
from gpt_tools.cli.completion import assistant_names
from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.cli.safe_text import printable


@click.command("models")
@click.option("--assistant", "assistant", shell_complete=assistant_names, help="Ask the endpoint this assistant uses.")
@click.option("--json", "as_json", is_flag=True, help="Print the server's model objects as JSON.")
def models_command(assistant: str | None, as_json: bool) -> int:
    """List the models the endpoint offers (GET /v1/models); `*` marks the model a run would use."""
    return json_failures(as_json, lambda: _models(assistant, as_json))


def _models(assistant: str | None, as_json: bool) -> int:
    # Imported here: `gpt-tools --help` must not pay for the wire and the config.
    from gpt_tools.config.definitions import Assistant
    from gpt_tools.config.loader import load_config
    from gpt_tools.config.resolve import resolve
    from gpt_tools.wire.models import list_models

    config = load_config()
    chosen = config.assistant(assistant) if assistant else Assistant(name="", instructions="")
    settings, endpoint = resolve(config, chosen)
    models = list_models(endpoint)
    console = Console(PROGRAM)
    if as_json:
        console.result(json.dumps(models, indent=2) + "\n")
        return 0
    lines = []
    for model in models:
        mark = "*" if model["id"] == settings.model else " "
        created = model.get("created")
        day = datetime.fromtimestamp(created, timezone.utc).date().isoformat() if isinstance(created, int) else ""
        lines.append(f"{mark} {model['id']:<32} {day:<10}  {model.get('owned_by') or ''}".rstrip())
    if all(model["id"] != settings.model for model in models):
        lines.append(f"(the model in use, {settings.model}, is not in this list)")
    console.result(printable("\n".join(lines), keep_newlines=True) + "\n")  # ids come from a server
    return 0
