"""Where the API key and endpoint come from. The key is returned, never logged, printed or stored."""

from __future__ import annotations

import functools
import os
import re

from gpt_tools import redact
from gpt_tools.config.definitions import OPENAI_BASE_URL, Settings
from gpt_tools.errors import MissingKey, UsageError
from gpt_tools.wire.backends.chat import is_openai_host
from gpt_tools.wire.transport import Endpoint

# What can travel in a header value as it is: printable ASCII without spaces. A key read from a CRLF
# file (`$(cat key.txt)`) keeps its CR, and http.client's "Invalid header value" error quotes the
# whole value - into the terminal, the log file and the run log.
_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")


@functools.lru_cache(maxsize=8)
def _key_from_command(command: str) -> str:
    """Run api_key_cmd once per process (an editor runs many requests; `pass` may prompt)."""
    import subprocess  # start-up: a filter run never needs it otherwise; only api_key_cmd users pay for it

    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MissingKey(redact.redact(f"api_key_cmd could not run: {exc}")) from None
    key = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
    redact.remember(key)
    if done.returncode != 0:
        # Nothing the command printed is quoted, on either stream: a failing `pass`/`op`/script may
        # still print the key (to stderr, or in a shape redact() does not know), and this message
        # reaches the terminal, the log file and the run log. The user can rerun it to see why.
        raise MissingKey(
            f"api_key_cmd failed (exit {done.returncode}); its output is not shown because it may hold "
            "the key: run the command yourself to see why"
        )
    if not key:
        raise MissingKey("api_key_cmd printed no key")
    return key


def clean_key(key: str, source: str) -> str:
    """The key without surrounding whitespace, remembered as a secret; refused if it cannot be sent.

    The message names where the key came from and what is wrong, never the key itself.
    """
    redact.remember(key)
    key = key.strip()
    redact.remember(key)
    if not key:
        raise MissingKey(f"the API key from {source} is empty")
    if not _HEADER_TOKEN.fullmatch(key):
        position = next(i for i, char in enumerate(key) if not _HEADER_TOKEN.fullmatch(char))
        raise MissingKey(
            f"the API key from {source} contains a space or control character (at position {position + 1}); "
            "it cannot be sent as it is"
        )
    return key


def _header_value(name: str) -> str | None:
    """An optional header value from the environment ($OPENAI_ORG_ID, $OPENAI_PROJECT_ID)."""
    value = (os.environ.get(name) or "").strip()
    if value and not _HEADER_TOKEN.fullmatch(value):
        raise UsageError(f"${name} contains a space or control character; it cannot be sent as a header")
    return value or None


def _needs_key(base_url: str) -> bool:
    # Local servers (Ollama, llama.cpp, ...) take no key; OpenAI's own endpoint always does.
    return is_openai_host(base_url)


def base_url(settings: Settings) -> str:
    """Where requests go: the setting, else $OPENAI_BASE_URL, else OpenAI's own endpoint."""
    return settings.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL


def resolve_endpoint(settings: Settings) -> Endpoint:
    """The endpoint for these settings: base_url(), the key from env or api_key_cmd, org and project."""
    url = base_url(settings)
    key: str | None = None
    if os.environ.get(settings.api_key_env):
        key = clean_key(os.environ[settings.api_key_env], f"${settings.api_key_env}")
    elif settings.api_key_cmd:
        key = clean_key(_key_from_command(settings.api_key_cmd), "api_key_cmd")
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
        # Sent whenever set, as the SDK does: they choose who is billed, and come from the user's own env.
        organization=_header_value("OPENAI_ORG_ID"),
        project=_header_value("OPENAI_PROJECT_ID"),
    )
