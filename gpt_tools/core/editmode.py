"""Edits mode in a sentence each: who gets it, what the model is told, how it is asked, what it costs.

A rewriter with `output = "edits"` is sent its document raw and answers with find/replace edits
(markdown/edits.py), which the client applies strictly; everyone else is unchanged.
"""

from __future__ import annotations

import math

from gpt_tools.config.definitions import Assistant, Settings
from gpt_tools.markdown.edits import EDIT_INSTRUCTIONS, EDITS_SCHEMA, SCHEMA_NAME
from gpt_tools.wire.backends.base import JsonSchema

FORMAT = JsonSchema(name=SCHEMA_NAME, schema=EDITS_SCHEMA, strict=True)
# A rewriter's own instructions usually say "reply with the whole document" (the built-ins do, for
# document mode): the protocol comes last and says that it wins.
HEADER = "# Reply format\n\nThis replaces anything above about what your reply is.\n\n"
# What an edits reply weighs against its document, for --dry-run: the target (15 %) is a
# ceiling measured on prose with a handful of errors per page, plus the JSON wrapper per request.
OUTPUT_SHARE = 0.15
OUTPUT_PER_REQUEST = 16
GUARD = "edits:1"  # in the cache key: what accepted a cached reply (the edits engine's strict checks)


def uses_edits(assistant: Assistant, settings: Settings) -> bool:
    """Only a rewriter's reply can be edits; a writer's reply is its text."""
    return assistant.rewrites and settings.output == "edits"


def instructions_for(instructions: str) -> str:
    """The assistant's instructions with the edit protocol appended."""
    return instructions.rstrip("\n") + "\n\n" + HEADER + EDIT_INSTRUCTIONS


def output_estimate(document_tokens: int, requests: int) -> int:
    """The output tokens an edits run is expected to cost at most (reasoning at low effort not included)."""
    return math.ceil(document_tokens * OUTPUT_SHARE) + OUTPUT_PER_REQUEST * requests
