"""A local OpenAI-compatible chat server for tests: answers /v1/chat/completions from a table.

``ChatServer(table)`` listens on 127.0.0.1 (a free port) in a thread. ``table`` maps a piece
of text to what to answer when the request's user messages contain it: a string (the
answer's content), a :class:`Scripted` reply (a status, a delay, a raw body), or a list of
either, given in turn (the last one repeats). ``answer`` (a function from the request body to
the same) decides when no entry matches. Every request body is kept in ``requests``.

    with ChatServer({"Pray": '{"traditional_secular": -0.8}'}) as server:
        ChatModel("judge", base_url=server.url, ...)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Scripted:
    """One scripted reply: ``status`` (200 sends ``content`` as a chat completion), ``delay``
    seconds before answering, or ``body`` sent as it is (a malformed reply)."""

    content: str | None = None
    status: int = 200
    delay: float = 0.0
    body: bytes | None = None
    headers: Mapping[str, str] | None = None
    logprobs: list[tuple[str, float]] | None = None


Answer = str | Scripted
Entry = Answer | list[Answer]


def _user_text(body: Mapping[str, Any]) -> str:
    """The user messages of a request, joined (a follow-up still matches its first message)."""
    messages = body.get("messages") or []
    return "\n".join(str(m.get("content")) for m in messages if m.get("role") == "user")


class ChatServer:
    """See the module docstring. ``reject_response_format``: answer 400 to any request that
    asks for structured output, as a server without it does."""

    def __init__(
        self,
        table: Mapping[str, Entry] | None = None,
        *,
        answer: Callable[[dict[str, Any]], Answer] | None = None,
        reject_response_format: bool = False,
    ) -> None:
        self.table = dict(table or {})
        self.answer = answer
        self.reject_response_format = reject_response_format
        self.requests: list[dict[str, Any]] = []
        self._turns: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def asked(self, text: str) -> int:
        """How many requests had ``text`` in their user messages."""
        return sum(text in _user_text(body) for body in self.requests)

    def _pick(self, body: dict[str, Any]) -> Answer:
        if self.reject_response_format and body.get("response_format") is not None:
            return Scripted(status=400, body=b'{"error": "response_format is not supported"}')
        text = _user_text(body)
        with self._lock:
            for needle, entry in self.table.items():
                if needle in text:
                    if isinstance(entry, list):
                        turn = self._turns.get(needle, 0)
                        self._turns[needle] = turn + 1
                        return entry[min(turn, len(entry) - 1)]
                    return entry
        if self.answer is not None:
            return self.answer(body)
        return Scripted(status=404, body=b'{"error": "no answer in the table"}')

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(body)
                if not self.path.endswith("/chat/completions"):
                    self._send(404, b'{"error": "not found"}', {})
                    return
                picked = server._pick(body)
                scripted = picked if isinstance(picked, Scripted) else Scripted(content=picked)
                if scripted.delay:
                    time.sleep(scripted.delay)
                payload = scripted.body
                if payload is None:
                    payload = json.dumps(_completion(body, scripted)).encode("utf-8")
                self._send(scripted.status, payload, scripted.headers or {})

            def _send(self, status: int, payload: bytes, headers: Mapping[str, str]) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _completion(body: Mapping[str, Any], scripted: Scripted) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "index": 0,
        "finish_reason": "stop",
        "message": {"role": "assistant", "content": scripted.content},
    }
    if body.get("logprobs") and scripted.logprobs is not None:
        choice["logprobs"] = {
            "content": [
                {
                    "token": token,
                    "logprob": logprob,
                    "top_logprobs": [{"token": token, "logprob": logprob}],
                }
                for token, logprob in scripted.logprobs
            ]
        }
    prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages") or []) // 4
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model"),
        "system_fingerprint": "test",
        "choices": [choice],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": len(scripted.content or "") // 4,
            "total_tokens": prompt + len(scripted.content or "") // 4,
        },
    }
