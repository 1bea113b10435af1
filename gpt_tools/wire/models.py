"""GET /v1/models: the models an endpoint offers (OpenAI, and every Chat Completions server that lists them)."""

from __future__ import annotations

from typing import Any

from gpt_tools.errors import RunFailed
from gpt_tools.wire import transport
from gpt_tools.wire.transport import Endpoint


def list_models(endpoint: Endpoint) -> list[dict[str, Any]]:
    """Every model object the server lists (`id`, and `owned_by`/`created` where given), by id."""
    reply = transport.call(endpoint, "GET", "/models")
    data = reply.get("data")
    if not isinstance(data, list) or not all(isinstance(m, dict) and isinstance(m.get("id"), str) for m in data):
        raise RunFailed("the server's model list is not a list of models with ids (GET /models)")
    return sorted(data, key=lambda item: str(item["id"]))
