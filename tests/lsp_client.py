"""A small JSON-RPC-over-stdio client for driving a real `gpt-tools lsp` process in tests and benchmarks.

A reader thread parses every message into `messages` (in order); requests the server sends are
answered at once (workspace/configuration from `configuration`, workDoneProgress/create, applyEdit:
recorded in `applied` and answered `apply_answer`, showDocument: recorded in `shown`, diagnostic refresh).
Waiting is always on a message, with a deadline.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Message = dict[str, Any]
GPT_TOOLS = Path(sys.executable).parent / "gpt-tools"  # the console script next to the running interpreter

CAPABILITIES: dict[str, Any] = {
    "window": {"workDoneProgress": True},
    "workspace": {"configuration": True, "applyEdit": True, "workspaceEdit": {"documentChanges": True}},
    "textDocument": {
        "synchronization": {"didSave": True},
        "publishDiagnostics": {"versionSupport": True},
        "codeAction": {
            "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "refactor"]}},
            "dataSupport": True,
            "resolveSupport": {"properties": ["edit"]},
        },
    },
}


def uri_of(path: Path) -> str:
    return path.resolve().as_uri()


def wait_until(condition: Callable[[], bool], timeout: float = 20) -> None:
    """Poll condition (the fake server's state, not a message: for those, LspClient.wait_for) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class LspClient:
    def __init__(self, command: Sequence[str] | None = None, *, cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(
            list(command or [str(GPT_TOOLS), "lsp"]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
        )
        self.messages: list[Message] = []
        self.applied: list[Any] = []
        self.apply_answer = True  # what workspace/applyEdit answers: False plays a client that refused the edit
        self.shown: list[Any] = []  # window/showDocument requests, answered with success
        self.configuration: Any = None
        self._next_id = 0
        self._changed = threading.Condition()
        self._write_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stderr = bytearray()  # drained as it comes: a full pipe would block the server
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        while chunk := self.process.stderr.read1(65536):
            self.stderr += chunk

    # -- the wire

    def _send(self, message: Message) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.process.stdin is not None
        with self._write_lock:
            try:
                self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                self.process.stdin.flush()
            except (OSError, ValueError):  # the test closed stdin, or the server is gone: waits will say so
                return

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = 0
            while (line := stream.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line:
                break
            message = json.loads(stream.read(length))
            if "method" in message and "id" in message:
                self._answer(message)
            with self._changed:
                self.messages.append(message)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _answer(self, request: Message) -> None:
        method, result = request["method"], None
        if method == "workspace/configuration":
            result = [self.configuration for _ in request["params"]["items"]]
        elif method == "workspace/applyEdit":
            self.applied.append(request["params"]["edit"])
            result = {"applied": self.apply_answer}
        elif method == "window/showDocument":
            self.shown.append(request["params"])
            result = {"success": True}
        self._send({"id": request["id"], "result": result})

    # -- requests and notifications

    def notify(self, method: str, params: Any = None) -> None:
        self._send({"method": method, "params": params})

    def send_request(self, method: str, params: Any = None) -> int:
        self._next_id += 1
        self._send({"id": self._next_id, "method": method, "params": params})
        return self._next_id

    def response(self, request_id: int, timeout: float = 30) -> Message:
        return self.wait_for(lambda m: m.get("id") == request_id and "method" not in m, timeout)

    def request(self, method: str, params: Any = None, timeout: float = 30) -> Any:
        answer = self.response(self.send_request(method, params), timeout)
        assert "error" not in answer, answer
        return answer["result"]

    def wait_for(self, wanted: Callable[[Message], bool], timeout: float = 30, after: int = 0) -> Message:
        """The first message from index `after` on that is wanted, waiting up to timeout seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((m for m in self.messages[after:] if wanted(m)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or (not self._reader.is_alive() and self.process.poll() is not None):
                    raise AssertionError(f"no such message in {timeout} s; got {self.messages[after:]}")
                self._changed.wait(min(left, 0.5))

    def notifications(self, method: str) -> list[Any]:
        with self._changed:
            return [m["params"] for m in self.messages if m.get("method") == method and "id" not in m]

    # -- the usual steps

    def initialize(self, options: Any = None, capabilities: Any = None, root: Path | None = None, **extra: Any) -> Any:
        params = {
            "processId": None,
            "rootUri": uri_of(root) if root else None,
            "capabilities": CAPABILITIES if capabilities is None else capabilities,
            "initializationOptions": options,
            **extra,
        }
        result = self.request("initialize", params)
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str | None = None, language: str = "markdown", version: int = 1) -> str:
        uri = uri_of(path)
        text = path.read_text(encoding="utf-8") if text is None else text
        item = {"uri": uri, "languageId": language, "version": version, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": item})
        return uri

    def change(self, uri: str, text: str, version: int) -> None:
        params = {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}
        self.notify("textDocument/didChange", params)

    def save(self, uri: str) -> None:
        self.notify("textDocument/didSave", {"textDocument": {"uri": uri}})

    def diagnostics(self, uri: str, after: int = 0, timeout: float = 30) -> list[Any]:
        """The next diagnostics published for uri from message index `after` on."""
        message = self.wait_for(
            lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri,
            timeout,
            after,
        )
        return list(message["params"]["diagnostics"])

    def mark(self) -> int:
        with self._changed:
            return len(self.messages)

    def close(self, timeout: float = 20) -> int:
        """shutdown + exit; the process's exit status."""
        if self.process.poll() is None:
            self.request("shutdown")
            self.notify("exit")
        status = self.process.wait(timeout)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return status

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
