"""Batches (/v1/batches) for the fake OpenAI server: the Batch API over the same reply logic.

A batch is created "validating" from an uploaded JSONL file (purpose "batch"). Every retrieval moves
it on; the `batch_polls`-th (default 1) completes it. Completing runs each line, in file order,
through the logic of POST /v1/responses: the responder, and one scripted reply or fault per line
from the same queue live requests use. Lines answered 200 go to the output file, the others to the
error file (purpose "batch_output"), in the real service's line format:
`{"id": "batch_req_…", "custom_id": …, "response": {"status_code": …, "request_id": …, "body": …},
"error": null}`. Standard library only; fake_openai.py mixes `BatchStore` into `FakeOpenAI`.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests import fake_openai_wire as wire
from tests.fake_openai_files import JSON, FileStore, Reply, StoredFile, _error, _missing, _no_file, _page
from tests.fake_openai_wire import FormPart

ENDPOINTS = {"/v1/responses": "responses", "/v1/chat/completions": "chat"}  # what the fake can answer
OPEN = ("validating", "in_progress")


@dataclass
class StoredJob:
    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: JSON | None
    created_at: int
    polls_left: int
    status: str = "validating"
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: JSON = field(default_factory=lambda: {"total": 0, "completed": 0, "failed": 0})
    errors: JSON | None = None
    times: dict[str, int] = field(default_factory=dict)  # in_progress_at, completed_at, ...
    lines: list[JSON] = field(default_factory=list)  # the validated input lines

    def to_json(self) -> JSON:
        stamps = ("in_progress", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled")
        # What has not happened (yet) is left out: the spec types these fields as integers/strings/objects, never null.
        return {key: value for key, value in self._fields(stamps).items() if value is not None}

    def _fields(self, stamps: tuple[str, ...]) -> JSON:
        return {
            "id": self.id, "object": "batch", "endpoint": self.endpoint, "errors": self.errors,
            "input_file_id": self.input_file_id, "completion_window": self.completion_window,
            "status": self.status, "output_file_id": self.output_file_id, "error_file_id": self.error_file_id,
            "created_at": self.created_at, "expires_at": self.created_at + 86400,
            **{f"{name}_at": self.times.get(name) for name in stamps},
            "request_counts": dict(self.counts), "metadata": self.metadata,
        }  # fmt: skip


def _line_error(number: int, code: str, message: str, param: str | None = None) -> JSON:
    return {"code": code, "message": message, "param": param, "line": number}


def _validate(content: bytes, endpoint: str) -> tuple[list[JSON], list[JSON]]:
    """(lines, errors) of a batch input file, checked the way the service checks before running."""
    lines: list[JSON] = []
    errors: list[JSON] = []
    seen: set[str] = set()
    for number, raw in enumerate(content.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            errors.append(_line_error(number, "invalid_json_line", "This line is not parseable as valid JSON."))
            continue
        custom_id = line.get("custom_id") if isinstance(line, dict) else None
        if not isinstance(custom_id, str) or custom_id in seen:
            errors.append(
                _line_error(number, "duplicate_custom_id", "custom_id is missing or not unique.", "custom_id")
            )
        elif line.get("method") != "POST":
            errors.append(_line_error(number, "invalid_method", "Only POST is supported.", "method"))
        elif line.get("url") != endpoint:
            message = f"The url {line.get('url')!r} does not match the batch's endpoint {endpoint!r}."
            errors.append(_line_error(number, "mismatched_endpoint", message, "url"))
        elif not isinstance(line.get("body"), dict):
            errors.append(_line_error(number, "invalid_body", "body must be a JSON object.", "body"))
        else:
            seen.add(custom_id)
            lines.append(line)
    if not lines and not errors:
        errors.append(_line_error(1, "empty_file", "The batch input file is empty."))
    return lines, errors


class BatchStore(FileStore):
    """Batch jobs on top of the file store; thread-safe (the file store's lock), mixed into FakeOpenAI."""

    responder: Callable[[str], str]  # FakeOpenAI's

    def __init__(self, indexing_polls: int = 1, batch_polls: int = 1) -> None:
        super().__init__(indexing_polls)
        self._initial_batch_polls = batch_polls
        self.batch_polls = batch_polls  # retrievals until a batch completes (the last one completes it)
        self.batches: dict[str, StoredJob] = {}

    def next_reply(self) -> Any:  # FakeOpenAI's scripted queue
        raise NotImplementedError

    def reset_files(self) -> None:
        with self._files_lock:
            super().reset_files()
            self.batches.clear()
            self.batch_polls = self._initial_batch_polls

    def files_control(self, method: str, path: str, body: Any) -> tuple[int, Any] | None:
        """Also POST /_fake/batches {"batch_polls": n}, for a server in another process."""
        if method == "POST" and path == "/_fake/batches":
            polls = body.get("batch_polls") if isinstance(body, dict) else None
            if not isinstance(polls, int):
                return 400, wire.error_body('expected {"batch_polls": n}', "invalid_request_error")
            self.batch_polls = polls
            return 200, {"ok": True}
        return super().files_control(method, path, body)

    def files_request(
        self, method: str, path: str, query: str, body: Any, form: dict[str, FormPart] | None
    ) -> Reply | None:
        from urllib.parse import parse_qsl

        for route_method, pattern, handler in _ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                with self._files_lock:
                    return handler(
                        self, dict(parse_qsl(query)), body if isinstance(body, dict) else {}, *match.groups()
                    )
        return super().files_request(method, path, query, body, form)

    # --- handlers --------------------------------------------------------------------------

    def _create_job(self, query: JSON, body: JSON) -> Reply:
        for name in ("input_file_id", "endpoint", "completion_window"):
            if not isinstance(body.get(name), str):
                return _missing(name)
        if body["endpoint"] not in ENDPOINTS:
            return _error(400, f"Invalid value for 'endpoint': {body['endpoint']!r}.", "endpoint", "invalid_value")
        if body["completion_window"] != "24h":
            message = f"Invalid value for 'completion_window': {body['completion_window']!r}; only '24h' is supported."
            return _error(400, message, "completion_window", "invalid_value")
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            return _error(400, "Invalid 'metadata': expected an object.", "metadata")
        stored = self.files.get(body["input_file_id"])
        if stored is None:
            return _no_file(body["input_file_id"], "input_file_id")
        if stored.purpose != "batch":
            message = f"The input file must have purpose 'batch', not '{stored.purpose}'."
            return _error(400, message, "input_file_id", "invalid_file_purpose")
        job_id = "batch_" + uuid.uuid4().hex
        job = StoredJob(job_id, stored.id, body["endpoint"], "24h", metadata, int(time.time()), self.batch_polls)
        self.batches[job.id] = job
        return 200, job.to_json(), {}

    def _job(self, batch_id: str) -> StoredJob | Reply:
        return self.batches.get(batch_id) or _error(404, f"No batch found with id '{batch_id}'.", "batch_id")

    def _get_job(self, query: JSON, body: JSON, batch_id: str) -> Reply:
        job = self._job(batch_id)
        if isinstance(job, tuple):
            return job
        self._advance(job)
        return 200, job.to_json(), {}

    def _list_jobs(self, query: JSON, body: JSON) -> Reply:
        return _page([job.to_json() for job in self.batches.values()], query, 20)

    def _cancel_job(self, query: JSON, body: JSON, batch_id: str) -> Reply:
        job = self._job(batch_id)
        if isinstance(job, tuple):
            return job
        if job.status in OPEN:
            job.status, job.times["cancelling"] = "cancelling", int(time.time())
        elif job.status not in ("cancelling", "cancelled"):
            return _error(400, f"Cannot cancel a batch with status '{job.status}'.", None, "batch_not_cancellable")
        return 200, job.to_json(), {}

    # --- running ---------------------------------------------------------------------------

    def _advance(self, job: StoredJob) -> None:
        now = int(time.time())
        if job.status == "cancelling":
            job.status, job.times["cancelled"] = "cancelled", now
            return
        if job.status not in OPEN:
            return
        if job.status == "validating":
            stored = self.files.get(job.input_file_id)
            job.lines, errors = _validate(stored.content if stored else b"", job.endpoint)
            if errors:
                job.status, job.errors, job.times["failed"] = "failed", {"object": "list", "data": errors}, now
                return
            job.counts["total"] = len(job.lines)
            job.status, job.times["in_progress"] = "in_progress", now
        if job.polls_left > 1:
            job.polls_left -= 1
            return
        self._run(job)

    def _run(self, job: StoredJob) -> None:
        outputs: list[JSON] = []
        failures: list[JSON] = []
        for line in job.lines:
            status, payload = self._answer(ENDPOINTS[job.endpoint], line["body"])
            response = {"status_code": status, "request_id": "req_" + uuid.uuid4().hex, "body": payload}
            entry = {"id": "batch_req_" + uuid.uuid4().hex, "custom_id": line["custom_id"], "response": response}
            (outputs if status == 200 else failures).append({**entry, "error": None})
        job.output_file_id = self._output_file(job, "output", outputs)
        job.error_file_id = self._output_file(job, "error", failures)
        job.counts.update(completed=len(outputs), failed=len(failures))
        now = int(time.time())
        job.status, job.times["finalizing"], job.times["completed"] = "completed", now, now

    def _output_file(self, job: StoredJob, kind: str, entries: list[JSON]) -> str | None:
        if not entries:
            return None
        content = b"".join(wire.dumps(entry) + b"\n" for entry in entries)
        name = f"{job.id}_{kind}.jsonl"
        stored = StoredFile("file-" + uuid.uuid4().hex[:22], name, "batch_output", content, int(time.time()))
        self.files[stored.id] = stored
        return stored.id

    def _answer(self, kind: str, body: JSON) -> tuple[int, JSON]:
        """What POST /v1/responses (or chat) would have answered, as (status, body); never streamed."""
        if not isinstance(body.get("model"), str):
            return 400, wire.error_body("Missing required parameter: 'model'.", "invalid_request_error", None, "model")
        if body.get("stream") is True:
            return 400, wire.error_body(
                "Streaming is not supported in batches.", "invalid_request_error", None, "stream"
            )
        if (missing := self.check_references(kind, body)) is not None:
            return missing
        reply = self.next_reply()
        if reply.fault in wire.ERROR_FAULTS:
            return wire.fault_error(reply.fault, body["model"], reply.retry_after or 1.0, "")
        try:
            text = reply.text if reply.text is not None else self.responder(wire.user_text(kind, body))
            if reply.text is None and wire.wants_json_schema(kind, body):  # edits mode, as live
                text = wire.edits_reply(*wire.edits_between(wire.user_text(kind, body), text))
        except Exception as err:  # as live: a broken responder answers 500
            return 500, wire.error_body(f"fake_openai responder failed: {err!r}", "server_error")
        plan = wire.make_plan(kind, body, text, reply.fault)
        if kind == "chat":
            return 200, wire.chat_completion(plan)
        return 200, wire.response_object(plan, "incomplete" if plan.incomplete else "completed")


_TABLE: list[tuple[str, str, Callable[..., Reply]]] = [
    ("POST", "/v1/batches", BatchStore._create_job),
    ("GET", "/v1/batches", BatchStore._list_jobs),
    ("GET", "/v1/batches/{}", BatchStore._get_job),
    ("POST", "/v1/batches/{}/cancel", BatchStore._cancel_job),
]
_ROUTES = [(method, re.compile(pattern.replace("{}", "([^/]+)")), handler) for method, pattern, handler in _TABLE]
