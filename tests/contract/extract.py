"""Extract the schemas gpt-tools speaks from OpenAI's OpenAPI document into openapi-subset.json.

Run from the repository root, with a clone of https://github.com/openai/openai-openapi::

    git -C OPENAI_OPENAPI show HEAD:openapi.json > /tmp/openapi.json
    python tests/contract/extract.py /tmp/openapi.json "$(git -C OPENAI_OPENAPI rev-parse HEAD)"

What it keeps, and why the subset is still a fair judge:
- the transitive closure of ROOTS (the request and reply shapes of the endpoints we call), with
  descriptions, examples and `x-` extensions dropped (they do not constrain anything);
- unions (`oneOf`/`anyOf`) cut to the branches in KEEP: a value matching none of the kept branches
  fails, so cutting can only refuse more, never accept what the whole spec refuses;
- `nullable: true` (OpenAPI 3.0, left in about a hundred places of this 3.1 document) read as "or null";
- `oneOf` read as `anyOf`: the document's unions overlap (a user message without `type` is both an
  EasyInputMessage and an InputMessage) and rely on `discriminator`, which JSON Schema ignores; the SDK
  (generated from the same document) treats them as plain unions too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOTS = (
    "CreateResponse", "Response", "ResponseStreamEvent",
    "CreateChatCompletionRequest", "CreateChatCompletionResponse", "CreateChatCompletionStreamResponse",
    "OpenAIFile", "ListFilesResponse", "DeleteFileResponse",
    "VectorStoreObject", "VectorStoreFileObject", "VectorStoreFileBatchObject", "ListVectorStoreFilesResponse",
    "Batch", "ListBatchesResponse", "ErrorResponse", "ListModelsResponse",
)  # fmt: skip
KEEP = {
    "Tool": {"FunctionTool", "FileSearchTool", "CodeInterpreterTool"},
    "OutputItem": {
        "OutputMessage", "FileSearchToolCall", "FunctionToolCall", "ReasoningItem", "CodeInterpreterToolCall",
    },
    "Item": {
        "InputMessage", "OutputMessage", "FileSearchToolCall", "FunctionToolCall", "FunctionCallOutputItemParam",
        "ReasoningItem", "CodeInterpreterToolCall",
    },
    "InputItem": {"EasyInputMessage", "Item", "ItemReferenceParam"},
    "ToolChoiceParam": {"ToolChoiceOptions", "ToolChoiceTypes", "ToolChoiceFunction"},
    "ResponseStreamEvent": {
        "ResponseCreatedEvent", "ResponseInProgressEvent", "ResponseQueuedEvent", "ResponseCompletedEvent",
        "ResponseIncompleteEvent", "ResponseFailedEvent", "ResponseErrorEvent",
        "ResponseOutputItemAddedEvent", "ResponseOutputItemDoneEvent",
        "ResponseContentPartAddedEvent", "ResponseContentPartDoneEvent",
        "ResponseTextDeltaEvent", "ResponseTextDoneEvent", "ResponseOutputTextAnnotationAddedEvent",
        "ResponseRefusalDeltaEvent", "ResponseRefusalDoneEvent",
        "ResponseFileSearchCallInProgressEvent", "ResponseFileSearchCallSearchingEvent",
        "ResponseFileSearchCallCompletedEvent",
        "ResponseReasoningSummaryTextDeltaEvent", "ResponseReasoningSummaryTextDoneEvent",
    },
    "ChatCompletionRequestMessage": {
        "ChatCompletionRequestDeveloperMessage", "ChatCompletionRequestSystemMessage",
        "ChatCompletionRequestUserMessage", "ChatCompletionRequestAssistantMessage",
    },
}  # fmt: skip
DROP = ("description", "title", "example", "examples", "deprecated", "discriminator")
PREFIX = "#/components/schemas/"


def _name(ref: str) -> str:
    return ref.removeprefix(PREFIX)


def _clean(node: Any, owner: str) -> Any:
    if isinstance(node, list):
        return [_clean(item, owner) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("nullable") is True:  # OpenAPI 3.0's spelling, still in places: JSON Schema ignores it
        rest = {key: value for key, value in node.items() if key != "nullable"}
        return {"anyOf": [_clean(rest, owner), {"type": "null"}]}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROP or key.startswith("x-"):
            continue
        if key in ("oneOf", "anyOf"):
            keep = KEEP.get(owner)
            branches = [b for b in value if keep is None or _name(b.get("$ref", "")) in keep]
            out["anyOf"] = _clean(branches, owner)
        else:
            out[key] = _clean(value, owner)
    return out


def _refs(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {_name(node["$ref"])} if isinstance(node.get("$ref"), str) else set()
    return found.union(*(_refs(value) for value in node.values()))


def extract(schemas: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name not in kept:
            kept[name] = _clean(schemas[name], name)
            todo += sorted(_refs(kept[name]) - set(kept))
    return dict(sorted(kept.items()))


def main(argv: list[str]) -> int:
    document = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    subset = {
        "source": {
            "repository": "https://github.com/openai/openai-openapi",
            "file": "openapi.json",
            "commit": argv[2],
            "openapi": document["openapi"],
            "version": document["info"]["version"],
            "extracted_by": "tests/contract/extract.py",
        },
        "schemas": extract(document["components"]["schemas"]),
    }
    out = Path(__file__).with_name("openapi-subset.json")
    out.write_text(json.dumps(subset, indent=None, separators=(",", ":"), sort_keys=False) + "\n", encoding="utf-8")
    print(f"{out}: {len(subset['schemas'])} schemas, {out.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
