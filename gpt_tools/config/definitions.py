"""What an assistant and the run settings are, and how layers of config merge into them."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

Mode = Literal["rewrite", "write"]
TOOLS = ("file_search", "code_interpreter")
# OpenAI's balanced tier as of 2026-12 (checked 2026-12-02): gpt-6.1-terra succeeds the mini tier; gpt-5-mini
# and gpt-5-nano are deprecated (shut down 2026-12-11). Its price is in state/runlog.PRICES.
DEFAULT_MODEL = "gpt-6.1-terra"
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
    rewords: bool = False  # a rewriter that rewords freely (Simplifier): the content guard allows it (fidelity.py)
    chunk_tokens: int = 4_000  # rewriters get long documents in chunks of about this size
    jobs: int = 10  # requests in flight at once (chunks, hook files); gentle on rate limits, 429s are shared
    knowledge_tokens: int = 50_000  # knowledge files put into the context (chat backend) up to this
    run_log: bool = True  # one row per run in the user's run log (runs.sqlite3): tokens, cost, status
    log_texts: bool = False  # also keep the input and output texts in the run log
    index_timeout: float = 300.0  # longest wait for the server to index knowledge files
    # A rewriter's reply: "edits" (find/replace pairs, Structured Outputs; markdown/edits.py) or "document"
    # (the whole document back, guarded by fidelity.py). Writers always reply with their text.
    output: str = "document"
    # An edits reply is small, but it still grows with the fixes, and one reply is written at the model's
    # pace: measured (bench/edit_chunks.py, a 49 KB document at 80 tokens/s) 2k-token chunks took 5.7 s,
    # 4k 11.1 s, 16k 40.7 s, for about 20 % more input tokens (the cheap side). A page is one request.
    edit_chunk_tokens: int = 2_000
    # How the chat backend asks for an edits reply's JSON schema: "json_schema" (OpenAI's Structured Outputs
    # shape, which OpenAI, Ollama, vLLM, LM Studio and llama.cpp's llama-server take) or "json_object"
    # (`{"type": "json_object", "schema": ...}`, the only constrained shape llama-cpp-python's server takes:
    # it refuses json_schema with HTTP 500). The openai backend (Responses API) ignores it.
    json_format: str = "json_schema"
    reasoning_effort: str | None = None  # reasoning models only; None or "": not sent (the model's default)
    verbosity: str | None = None  # gpt-5 family; None or "": not sent


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
    "rewords": (bool,),
    "chunk_tokens": (int,),
    "jobs": (int,),
    "knowledge_tokens": (int,),
    "run_log": (bool,),
    "log_texts": (bool,),
    "index_timeout": (int, float),
    "output": (str,),
    "edit_chunk_tokens": (int,),
    "json_format": (str,),
    "reasoning_effort": (str,),
    "verbosity": (str,),
}
# The values a string setting may take (the spec's enums for the last two; "" means: not sent).
CHOICES: dict[str, tuple[str, ...]] = {
    "output": ("edits", "document"),
    "json_format": ("json_schema", "json_object"),
    "reasoning_effort": ("", "none", "minimal", "low", "medium", "high", "xhigh", "max"),  # max: gpt-6
    "verbosity": ("", "low", "medium", "high"),
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
    # The project folder its files must stay inside (an untrusted project's assistant); None: anywhere.
    confined_to: str | None = None
    # Which file set each field or setting ("built-in (NAME.md)" or a config's path): `gpt-tools config show`.
    origins: Mapping[str, str] = field(default_factory=dict)

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


# (lowest, highest, whether the lowest itself is allowed); NaN and infinities never are. Checked at load
# time so `read_timeout = 0` is a config error naming the key, not a traceback in the middle of a run.
RANGES: dict[str, tuple[float, float | None, bool]] = {
    "connect_timeout": (0, None, False),
    "read_timeout": (0, None, False),
    "max_retries": (0, 100, True),
    "max_retry_wait": (0, None, True),
    "max_input_tokens": (1, None, True),
    "max_document_tokens": (1, None, True),
    "chunk_tokens": (1, None, True),
    "edit_chunk_tokens": (1, None, True),
    "jobs": (1, 1000, True),
    "knowledge_tokens": (0, None, True),
    "index_timeout": (0, None, False),
    "temperature": (0, 2, True),
    "max_output_tokens": (1, None, True),
    "price": (0, None, True),
}


def out_of_range(key: str, value: float) -> str | None:
    """Why value is not allowed for key (a RANGES name), or None if it is."""
    if key not in RANGES:
        return None
    low, high, low_ok = RANGES[key]
    if math.isnan(value) or math.isinf(value):
        return f"expected a finite number, got {value!r}"
    if value < low or (value == low and not low_ok) or (high is not None and value > high):
        above = f"at least {low}" if low_ok else f"more than {low}"
        return f"expected {above}" + (f" and at most {high}" if high is not None else "") + f", got {value!r}"
    return None


def flag_value(key: str) -> Callable[[str], float]:
    """An argparse `type=` for a flag that sets numeric setting key: out of range is a usage error (2)."""
    number = int if SETTING_TYPES[key] == (int,) else float

    def convert(text: str) -> float:
        value = number(text)
        problem = out_of_range(key, value)
        if problem:
            raise ValueError(problem)
        return value

    convert.__name__ = key  # argparse names it in "invalid jobs value: '0'"
    return convert


def apply_settings(base: Settings, overrides: Mapping[str, Any]) -> Settings:
    """Settings with the given keys replaced; None values mean 'not set here'."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return replace(base, **given) if given else base


def close_match(value: str, choices: Collection[str], cutoff: float = 0.6) -> str | None:
    """The choice value is most likely a typo of, in any case (BASE_URL, 'OpenAI', 'HIGH'), or None."""
    folded = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(value.lower(), list(folded), n=1, cutoff=cutoff)
    return folded[close[0]] if close else None
