"""The settings and the endpoint of one run, resolved in one place for every front end and command."""

from __future__ import annotations

import os

from gpt_tools.config.backendnames import backend_problem
from gpt_tools.config.definitions import CHOICES, Assistant, Settings, apply_settings
from gpt_tools.config.keys import resolve_endpoint
from gpt_tools.config.loader import Config
from gpt_tools.errors import UsageError
from gpt_tools.wire.transport import Endpoint


def resolve_settings(
    config: Config, assistant: Assistant | None, *, model: str | None = None, backend: str | None = None
) -> Settings:
    """Precedence: flag > environment (GPT_TOOLS_MODEL, _BACKEND, _OUTPUT) > assistant > project config >
    user config > defaults.

    Without an assistant (files, batches of an unknown assistant) the configs' own settings hold.
    """
    if assistant is None:
        return config.settings
    settings = apply_settings(config.settings, {"model": assistant.model, **assistant.settings})
    env = {"model": os.environ.get("GPT_TOOLS_MODEL"), "backend": os.environ.get("GPT_TOOLS_BACKEND")}
    # An empty model would be sent as "model": "" (a 400 at best, a server's default at worst).
    given, where = (model, "-m/--model") if model is not None else (env["model"], "GPT_TOOLS_MODEL")
    if given is not None and not given.strip():
        raise UsageError(f"{where}: expected a model name, got {given!r}")
    # GPT_TOOLS_OUTPUT=document: every rewriter replies with its whole document (a server without
    # JSON-schema support); anything but the two values is ignored rather than failing a run.
    chosen, where = (backend, "--backend") if backend is not None else (env["backend"], "GPT_TOOLS_BACKEND")
    if chosen is not None and (problem := backend_problem(chosen)):
        raise UsageError(f"{where}: {problem}")
    output = os.environ.get("GPT_TOOLS_OUTPUT")
    env["output"] = output if output in CHOICES["output"] else None
    return apply_settings(apply_settings(settings, env), {"model": model, "backend": backend})


def resolve(
    config: Config, assistant: Assistant | None, *, model: str | None = None, backend: str | None = None
) -> tuple[Settings, Endpoint]:
    """The settings and the endpoint (key included: this may run api_key_cmd) for a run of assistant."""
    settings = resolve_settings(config, assistant, model=model, backend=backend)
    return settings, resolve_endpoint(settings)
