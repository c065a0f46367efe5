"""A fake OpenAI-compatible endpoint on 127.0.0.1 for the LLM path's tests and its benchmark:
one behaviour per request (answer, fail with a status, send a malformed body, hang, trickle).
Every loop is bounded in count and time, so the server stops by itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_TRICKLE = 100  # bytes a trickling answer sends at most, one every TRICKLE seconds
TRICKLE = 0.2
MAX_HANG = 30.0  # seconds a hanging answer waits at most


@dataclass
class Endpoint:
    """What the server answers: one behaviour per request (the last repeats)."""

    behaviours: list[Callable[[BaseHTTPRequestHandler], None]]
    requests: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, body: dict[str, Any]) -> Callable[[BaseHTTPRequestHandler], None]:
        with self.lock:
            self.requests += 1
            self.bodies.append(body)
            return self.behaviours[min(self.requests, len(self.behaviours)) - 1]


def serve(endpoint: Endpoint) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            endpoint.next(body)(self)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def completion(arguments: str, tool: str = "CodingAnswer") -> bytes:
    """A chat completion that calls the `tool` (the answer's schema) with `arguments` (a JSON string)."""
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": "test-model",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": tool, "arguments": arguments},
                            }
                        ],
                    },
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode()


def codes(*choices: tuple[str, str]) -> Callable[[BaseHTTPRequestHandler], None]:
    """An answer proposing each (code, quote)."""
    arguments = json.dumps(
        {
            "codes": [
                {"code": code, "quotes": [quote], "rationale": "documented", "confidence": 0.9}
                for code, quote in choices
            ],
            "rejected": [],
        }
    )
    return lambda h: send(h, 200, completion(arguments))


def procedures(*choices: tuple[str, str]) -> Callable[[BaseHTTPRequestHandler], None]:
    """A procedures answer giving each (ICD-10-PCS code, quote)."""
    arguments = json.dumps({"procedures": [{"code": c, "quotes": [q], "rationale": "documented"} for c, q in choices]})
    return lambda h: send(h, 200, completion(arguments, "ProcedureAnswer"))


def status(code: int, headers: dict[str, str] | None = None) -> Callable[[BaseHTTPRequestHandler], None]:
    return lambda h: send(h, code, json.dumps({"error": {"message": f"status {code}"}}).encode(), headers)


def raw(body: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    return lambda h: send(h, 200, body)


def hang(endpoint: Endpoint) -> Callable[[BaseHTTPRequestHandler], None]:
    return lambda h: endpoint.stop.wait(MAX_HANG)


def trickle(endpoint: Endpoint) -> Callable[[BaseHTTPRequestHandler], None]:
    def behave(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(MAX_TRICKLE + 10))
        h.end_headers()
        for _ in range(MAX_TRICKLE):
            if endpoint.stop.wait(TRICKLE):
                return
            try:
                h.wfile.write(b" ")
                h.wfile.flush()
            except OSError:  # the client gave up and closed the connection
                return

    return behave
