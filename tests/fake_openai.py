"""An OpenAI-compatible HTTP server for tests: scripted replies, fault modes, a log of every request.

It speaks enough of /v1/chat/completions and /v1/responses (plain and streamed), /v1/conversations and
/v1/conversations/{id}/items for the real `openai` SDK, on 127.0.0.1 and a free port, in a
background thread. A test scripts what the next model calls get (`script`), or turns on random
faults (`chaos`), and reads back every request received (`requests`). Any other path answers 404
and is logged too, so a test can assert that nothing called /v1/assistants or /v1/threads.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

MODEL_PATHS = ("/v1/chat/completions", "/v1/responses")
"""Paths of the model calls: scripted replies and chaos apply to these by default."""

HANDLER_SOCKET_TIMEOUT = 10.0
"""A connection idle this long is closed by the server (keeps a forgotten client from hanging it)."""


@dataclass
class Reply:
    """What the server does with one request: answer, call tools, fail, stall or break the connection."""

    kind: str = "text"
    """text | tool_calls | status | slow | malformed | disconnect | stall."""
    text: str | None = None
    """Answer text; None means the default echo of the request."""
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    """(name, arguments) of each function call asked for; a str is sent as it is (malformed JSON, say)."""
    status: int = 200
    """HTTP status of a `status` reply."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers (Retry-After...)."""
    delay: float = 0.0
    """Seconds to wait before answering (slow) or in the middle of a stream (stall)."""
    on: str = "model"
    """Which requests this reply may answer: 'model' (chat and responses) or a path prefix."""
    pace: float = 0.0
    """Seconds between the words of a streamed answer (a model writing at a human-visible speed)."""

    @classmethod
    def answer(cls, text: str, on: str = "model", pace: float = 0.0) -> Reply:
        return cls("text", text=text, on=on, pace=pace)

    @classmethod
    def tool_call(cls, name: str, arguments: dict[str, Any] | str, *more: tuple[str, dict[str, Any] | str]) -> Reply:
        return cls("tool_calls", tool_calls=[(name, arguments), *more])

    @classmethod
    def error(cls, status: int, retry_after: str | None = None, message: str | None = None,
              on: str = "model") -> Reply:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return cls("status", text=message, status=status, headers=headers, on=on)

    @classmethod
    def slow(cls, seconds: float, on: str = "model") -> Reply:
        return cls("slow", delay=seconds, on=on)

    @classmethod
    def malformed(cls, on: str = "model") -> Reply:
        return cls("malformed", on=on)

    @classmethod
    def disconnect(cls, on: str = "model") -> Reply:
        return cls("disconnect", on=on)

    @classmethod
    def stall(cls, seconds: float) -> Reply:
        """A stream that sends its first chunks, then goes quiet for `seconds`."""
        return cls("stall", delay=seconds)

    def matches(self, path: str) -> bool:
        return path in MODEL_PATHS if self.on == "model" else path.startswith(self.on)


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class Chaos:
    """Random faults on model calls: each call fails with these probabilities."""

    rate_limited: float = 0.0
    server_error: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 2.0
    retry_after_ms: str = "10"


class FakeOpenAI:
    """The server. Use as a context manager, or start() and stop()."""

    def __init__(self, *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._log: list[Received] = []
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self.chaos_mode: Chaos | None = None
        self.conversations: dict[str, list[dict[str, Any]]] = {}
        self.stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.app = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        assert self._thread is not None
        self._thread.join(5)
        self._httpd = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @staticmethod
    def refused_base_url() -> str:
        """A base URL on a port where nothing listens: every call gets 'connection refused'."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    # -- scripting and inspection ---------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        """Queue replies; each answers the first later request it matches, in order."""
        with self._lock:
            self._script.extend(replies)

    def unscript(self) -> None:
        """Drop the queued replies that no request has used."""
        with self._lock:
            self._script.clear()

    def chaos(self, **probabilities: Any) -> None:
        """Fail model calls at random (see Chaos); chaos() with no arguments turns it off."""
        self.chaos_mode = Chaos(**probabilities) if probabilities else None

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._log)

    def model_requests(self) -> list[Received]:
        return [r for r in self.requests if r.path in MODEL_PATHS]

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]

    # -- request handling (server threads) ------------------------------------------------------
    def handle(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        received = Received(handler.command, parts.path, parse_qs(parts.query),
                            {k.lower(): v for k, v in handler.headers.items()}, body, time.monotonic())
        with self._lock:
            self._log.append(received)
            reply = self._next_reply(parts.path)
        _Exchange(self, handler, received, reply).run()

    def _next_reply(self, path: str) -> Reply | None:
        for reply in self._script:
            if reply.matches(path):
                self._script.remove(reply)
                return reply
        chaos = self.chaos_mode
        if chaos is None or path not in MODEL_PATHS:
            return None
        roll = self._rng.random()
        if roll < chaos.rate_limited:
            return Reply("status", status=429, headers={"retry-after-ms": chaos.retry_after_ms})
        if roll < chaos.rate_limited + chaos.server_error:
            return Reply("status", status=500)
        if roll < chaos.rate_limited + chaos.server_error + chaos.slow:
            return Reply("slow", delay=chaos.slow_seconds)
        return None

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"


@pytest.fixture(name="fake_openai")
def fake_openai_fixture() -> Iterator[FakeOpenAI]:
    """A running FakeOpenAI for one test, stopped (sockets closed, threads joined) afterwards."""
    with FakeOpenAI() as server:
        yield server


class _Exchange:
    """Turns one request and its reply into bytes on the wire."""

    def __init__(self, app: FakeOpenAI, handler: _Handler, received: Received, reply: Reply | None) -> None:
        self.app, self.handler, self.received, self.reply = app, handler, received, reply
        self.body = received.body if isinstance(received.body, dict) else {}

    def run(self) -> None:
        reply = self.reply
        if reply is not None and reply.kind == "disconnect":
            self.handler.close_connection = True
            self.handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply is not None and reply.kind == "slow" and self.app.stopping.wait(reply.delay):
            return
        if reply is not None and reply.kind == "status":
            message = reply.text or {429: "Rate limit reached", 500: "Server error"}.get(reply.status, "Oops")
            self.send_json(reply.status, {"error": {"message": message, "type": "fake_error", "code": None}},
                           reply.headers)
            return
        if reply is not None and reply.kind == "malformed":
            self.send_raw(200, b'{"id": "chatcmpl-broken", "choices": [', "application/json")
            return
        self.route()

    def route(self) -> None:
        method, path = self.received.method, self.received.path
        if method == "POST" and path == "/v1/chat/completions":
            self.chat()
        elif method == "POST" and path == "/v1/responses":
            self.responses()
        elif method == "POST" and path == "/v1/conversations":
            self.create_conversation()
        elif path.startswith("/v1/conversations/"):
            self.conversation_path(method, path.split("/")[3:])
        else:
            self.not_found(f"Unknown path {path}")

    # -- chat completions ----------------------------------------------------------------------
    def chat(self) -> None:
        messages = self.body.get("messages") or []
        text, calls = self.answer_for_chat(messages)
        tokens_in = _tokens(json.dumps(messages))
        tokens_out = _tokens(text or json.dumps(calls))
        usage = {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                 "total_tokens": tokens_in + tokens_out}
        tool_calls = [{"id": self.app.new_id("call"), "type": "function",
                       "function": {"name": name, "arguments": _arguments(args)}} for name, args in calls]
        if self.body.get("stream"):
            self.stream_chat(text or "", tool_calls, usage)
            return
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if tool_calls:
            message["tool_calls"] = tool_calls
        self.send_json(200, {
            "id": self.app.new_id("chatcmpl"), "object": "chat.completion", "created": int(time.time()),
            "model": self.body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if tool_calls else "stop"}],
            "usage": usage})

    def answer_for_chat(self, messages: list[dict[str, Any]]) -> tuple[str | None, list[Any]]:
        if self.reply is not None and self.reply.kind == "tool_calls":
            return None, self.reply.tool_calls
        if self.reply is not None and self.reply.text is not None:
            return self.reply.text, []
        last = messages[-1] if messages else {}
        if last.get("role") == "tool":
            return f"Tool result: {last.get('content')}", []
        return f"Echo: {_text_of(last.get('content'))}", []

    def stream_chat(self, text: str, tool_calls: list[dict[str, Any]], usage: dict[str, Any]) -> None:
        base = {"id": self.app.new_id("chatcmpl"), "object": "chat.completion.chunk",
                "created": int(time.time()), "model": self.body.get("model", "fake")}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        events: list[dict[str, Any]] = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in _pieces(text)]
        for index, call in enumerate(tool_calls):
            arguments = call["function"]["arguments"]
            half = len(arguments) // 2
            events.append(chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                                 "function": {"name": call["function"]["name"],
                                                              "arguments": arguments[:half]}}]}))
            rest = {"index": index, "function": {"arguments": arguments[half:]}}
            events.append(chunk({"tool_calls": [rest]}))
        events.append(chunk({}, "tool_calls" if tool_calls else "stop"))
        if (self.body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": usage})
        stall_at = 2 if self.reply is not None and self.reply.kind == "stall" else -1
        self.handler.send_response(200)
        self.handler.send_header("Content-Type", "text/event-stream")
        self.handler.send_header("Transfer-Encoding", "chunked")
        self.handler.end_headers()
        pace = self.reply.pace if self.reply is not None else 0.0
        for number, event in enumerate(events):
            if number == stall_at and self.app.stopping.wait(self.reply.delay if self.reply else 0):
                return
            if pace and 1 < number <= len(text.split(" ")) and self.app.stopping.wait(pace):
                return
            self.write_chunk(f"data: {json.dumps(event)}\n\n".encode())
        self.write_chunk(b"data: [DONE]\n\n")
        self.write_chunk(b"")

    def write_chunk(self, data: bytes) -> None:
        self.handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.handler.wfile.flush()

    # -- responses and conversations -----------------------------------------------------------
    def responses(self) -> None:
        conversation = self.body.get("conversation")
        conv_id = conversation.get("id") if isinstance(conversation, dict) else conversation
        if conv_id is not None and conv_id not in self.app.conversations:
            self.not_found(f"Conversation with id '{conv_id}' not found.")
            return
        items = _input_items(self.body.get("input"))
        output = self.response_output(items)
        tokens_in = _tokens(json.dumps(items)) + (_tokens(json.dumps(self.app.conversations[conv_id]))
                                                  if conv_id else 0)
        tokens_out = _tokens(json.dumps(output))
        if conv_id is not None:
            with self.app._lock:
                self.app.conversations[conv_id].extend(self.stored(items) + output)
        body = {
            "id": self.app.new_id("resp"), "object": "response", "created_at": time.time(),
            "status": "completed", "model": self.body.get("model", "fake"), "output": output,
            "parallel_tool_calls": True, "tool_choice": self.body.get("tool_choice", "auto"),
            "tools": self.body.get("tools", []), "max_output_tokens": self.body.get("max_output_tokens"),
            "conversation": {"id": conv_id} if conv_id else None,
            "previous_response_id": self.body.get("previous_response_id"),
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out,
                      "total_tokens": tokens_in + tokens_out, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}}}
        if self.body.get("stream"):
            self.stream_response(body)
        else:
            self.send_json(200, body)

    def stream_response(self, body: dict[str, Any]) -> None:
        """The Responses API's server-sent events: created, a text delta per word, completed."""
        events: list[dict[str, Any]] = [{"type": "response.created",
                                         "response": {**body, "status": "in_progress", "output": []}}]
        for index, item in enumerate(body["output"]):
            for part in item.get("content") or []:
                events += [{"type": "response.output_text.delta", "item_id": item["id"], "output_index": index,
                            "content_index": 0, "delta": piece, "logprobs": []} for piece in _pieces(part["text"])]
        events.append({"type": "response.completed", "response": body})
        self.handler.send_response(200)
        self.handler.send_header("Content-Type", "text/event-stream")
        self.handler.send_header("Transfer-Encoding", "chunked")
        self.handler.end_headers()
        pace = self.reply.pace if self.reply is not None else 0.0
        for number, event in enumerate(events):
            if pace and event["type"].endswith(".delta") and self.app.stopping.wait(pace):
                return
            data = json.dumps({**event, "sequence_number": number})
            self.write_chunk(f"event: {event['type']}\ndata: {data}\n\n".encode())
        self.write_chunk(b"")

    def response_output(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.reply is not None and self.reply.kind == "tool_calls":
            return [{"type": "function_call", "id": self.app.new_id("fc"), "call_id": self.app.new_id("call"),
                     "name": name, "arguments": _arguments(args), "status": "completed"}
                    for name, args in self.reply.tool_calls]
        if self.reply is not None and self.reply.text is not None:
            text = self.reply.text
        elif items and items[-1].get("type") == "function_call_output":
            text = f"Tool result: {items[-1].get('output')}"
        else:
            text = f"Echo: {_text_of(items[-1].get('content')) if items else ''}"
        return [{"type": "message", "id": self.app.new_id("msg"), "status": "completed", "role": "assistant",
                 "content": [{"type": "output_text", "text": text, "annotations": []}]}]

    def stored(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": self.app.new_id("item"), "status": "completed", **item} for item in items]

    def create_conversation(self) -> None:
        conv_id = self.app.new_id("conv")
        with self.app._lock:
            self.app.conversations[conv_id] = self.stored(_input_items(self.body.get("items")))
        self.send_json(200, _conversation(conv_id))

    def conversation_path(self, method: str, parts: list[str]) -> None:
        conv_id = parts[0]
        items = self.app.conversations.get(conv_id)
        if items is None:
            self.not_found(f"Conversation with id '{conv_id}' not found.")
        elif len(parts) == 1 and method == "GET":
            self.send_json(200, _conversation(conv_id))
        elif len(parts) == 1 and method == "DELETE":
            with self.app._lock:
                del self.app.conversations[conv_id]
            self.send_json(200, {"id": conv_id, "object": "conversation.deleted", "deleted": True})
        elif parts[1:] == ["items"] and method == "POST":
            added = self.stored(_input_items(self.body.get("items")))
            with self.app._lock:
                items.extend(added)
            self.send_json(200, _item_list(added, has_more=False))
        elif parts[1:] == ["items"] and method == "GET":
            self.list_items(items)
        else:
            self.not_found(f"Unknown path {self.received.path}")

    def list_items(self, items: list[dict[str, Any]]) -> None:
        query = self.received.query
        ordered = list(items) if query.get("order", ["desc"])[0] == "asc" else list(reversed(items))
        after = query.get("after", [None])[0]
        if after is not None:
            ids = [item["id"] for item in ordered]
            ordered = ordered[ids.index(after) + 1:] if after in ids else []
        limit = int(query.get("limit", ["20"])[0])
        self.send_json(200, _item_list(ordered[:limit], has_more=len(ordered) > limit))

    # -- wire helpers ----------------------------------------------------------------------------
    def not_found(self, message: str) -> None:
        self.send_json(404, {"error": {"message": message, "type": "invalid_request_error", "code": None}})

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_raw(status, json.dumps(payload).encode(), "application/json", headers)

    def send_raw(self, status: int, data: bytes, content_type: str,
                 headers: dict[str, str] | None = None) -> None:
        self.handler.send_response(status)
        self.handler.send_header("Content-Type", content_type)
        self.handler.send_header("Content-Length", str(len(data)))
        self.handler.send_header("x-request-id", self.app.new_id("req"))
        for name, value in (headers or {}).items():
            self.handler.send_header(name, value)
        self.handler.end_headers()
        self.handler.wfile.write(data)
        self.handler.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    app: FakeOpenAI

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._conns_lock:
            (self._conns.add if alive else self._conns.discard)(conn)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out or went away is part of the tests, not an error of the server.
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = HANDLER_SOCKET_TIMEOUT
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.track(self.connection, False)

    def do_GET(self) -> None:  # http.server's names
        self.server.app.handle(self)

    def do_POST(self) -> None:
        self.server.app.handle(self)

    def do_DELETE(self) -> None:
        self.server.app.handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _conversation(conv_id: str) -> dict[str, Any]:
    return {"id": conv_id, "object": "conversation", "created_at": int(time.time()), "metadata": {}}


def _item_list(items: list[dict[str, Any]], *, has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": items, "has_more": has_more,
            "first_id": items[0]["id"] if items else "", "last_id": items[-1]["id"] if items else ""}


def _input_items(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    return [item if "type" in item else {"type": "message", **item} for item in value]


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [word + (" " if i < len(words) - 1 else "") for i, word in enumerate(words)] if text else []


def _arguments(args: dict[str, Any] | str) -> str:
    return args if isinstance(args, str) else json.dumps(args)


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)
