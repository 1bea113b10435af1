"""What an assistant and the run settings are, and how layers of config merge into them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

Mode = Literal["rewrite", "write"]
TOOLS = ("file_search", "code_interpreter")
DEFAULT_MODEL = "gpt-5-mini"
OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Settings:
    """How to reach a model: set at the top of a config file, per assistant, by env or by flag."""

    backend: str = "openai"
    model: str = DEFAULT_MODEL
    base_url: str | None = None  # None: $OPENAI_BASE_URL, else OpenAI's own endpoint
    api_key_env: str = "OPENAI_API_KEY"
    api_key_cmd: str | None = None
    auth_header: str = "Authorization"  # "api-key" for Azure-style key auth
    connect_timeout: float = 10.0
    read_timeout: float = 300.0  # longest silence between two bytes of a reply
    max_retries: int = 4
    max_retry_wait: float = 60.0  # a Retry-After longer than this fails instead of hanging the editor
    stream: bool = True
    store: bool = False  # do not keep users' documents on the provider's side unless asked
    max_input_tokens: int = 120_000  # estimated, per request; larger inputs are refused, never silently cut
    max_document_tokens: int = 400_000  # estimated, a rewriter's whole document (sent in chunks)
    protect: bool = True  # rewriters never see front matter, code or URLs (protect.py)
    chunk_tokens: int = 4_000  # rewriters get long documents in chunks of about this size
    jobs: int = 10  # requests in flight at once (chunks, hook files); gentle on rate limits, 429s are shared
    knowledge_tokens: int = 50_000  # knowledge files put into the context (chat backend) up to this
    run_log: bool = True  # one row per run in the user's run log (runs.sqlite3): tokens, cost, status
    log_texts: bool = False  # also keep the input and output texts in the run log


SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "backend": (str,),
    "model": (str,),
    "base_url": (str,),
    "api_key_env": (str,),
    "api_key_cmd": (str,),
    "auth_header": (str,),
    "connect_timeout": (int, float),
    "read_timeout": (int, float),
    "max_retries": (int,),
    "max_retry_wait": (int, float),
    "stream": (bool,),
    "store": (bool,),
    "max_input_tokens": (int,),
    "max_document_tokens": (int,),
    "protect": (bool,),
    "chunk_tokens": (int,),
    "jobs": (int,),
    "knowledge_tokens": (int,),
    "run_log": (bool,),
    "log_texts": (bool,),
}
assert set(SETTING_TYPES) == {f.name for f in fields(Settings)}


@dataclass(frozen=True)
class Assistant:
    """A named assistant: our own definition, sent with every request (the server keeps none)."""

    name: str
    instructions: str
    description: str = ""
    mode: Mode = "write"
    model: str | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None
    tools: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # knowledge files, relative to the config that names them
    vector_store_ids: tuple[str, ...] = ()
    source: str = "built-in"  # where the definition came from, for `gpt-tools list`
    settings: Mapping[str, Any] = field(default_factory=dict)  # per-assistant overrides of Settings

    @property
    def rewrites(self) -> bool:
        """The reply replaces the input document, so the rewrite guards apply."""
        return self.mode == "rewrite"


ASSISTANT_TYPES: dict[str, tuple[type, ...]] = {
    "description": (str,),
    "instructions": (str,),
    "instructions_file": (str,),
    "instructions_from": (str,),
    "mode": (str,),
    "model": (str,),
    "temperature": (int, float),
    "max_output_tokens": (int,),
    "tools": (list,),
    "files": (list,),
    "vector_store_ids": (list,),
}


def apply_settings(base: Settings, overrides: Mapping[str, Any]) -> Settings:
    """Settings with the given keys replaced; None values mean 'not set here'."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return replace(base, **given) if given else base
