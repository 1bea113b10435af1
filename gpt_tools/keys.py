"""Where the API key and endpoint come from. The key is returned, never logged, printed or stored."""

from __future__ import annotations

import functools
import os
from urllib.parse import urlsplit

from .definitions import OPENAI_BASE_URL, Settings
from .errors import MissingKey
from .transport import Endpoint


@functools.lru_cache(maxsize=8)
def _key_from_command(command: str) -> str:
    """Run api_key_cmd once per process (an editor runs many requests; `pass` may prompt)."""
    import subprocess

    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MissingKey(f"api_key_cmd could not run: {exc}") from None
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[0][:200]
        raise MissingKey(f"api_key_cmd failed (exit {done.returncode}): {why}")
    key = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
    if not key:
        raise MissingKey("api_key_cmd printed no key")
    return key


def _needs_key(base_url: str) -> bool:
    # Local servers (Ollama, llama.cpp, ...) take no key; OpenAI's own endpoint always does.
    host = urlsplit(base_url).hostname or ""
    return host == "api.openai.com" or host.endswith(".openai.azure.com")


def base_url(settings: Settings) -> str:
    """Where requests go: the setting, else $OPENAI_BASE_URL, else OpenAI's own endpoint."""
    return settings.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL


def resolve_endpoint(settings: Settings) -> Endpoint:
    """The endpoint for these settings: base_url() and the key from env or api_key_cmd."""
    url = base_url(settings)
    key = os.environ.get(settings.api_key_env) or None
    if key is None and settings.api_key_cmd:
        key = _key_from_command(settings.api_key_cmd)
    if key is None and _needs_key(url):
        raise MissingKey(
            f'no API key: set {settings.api_key_env}, or api_key_cmd in the config (e.g. "pass show openai")'
        )
    return Endpoint(
        base_url=url,
        api_key=key,
        auth_header=settings.auth_header,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        max_retries=settings.max_retries,
        max_retry_wait=settings.max_retry_wait,
    )
