"""The MCP front door: OperatorOS's operations as Model Context Protocol tools, over stdio and /mcp.

Two transports of the official SDK's MCPServer (the tools are in api/mcp_tools.py):

- stdio (`python main.py mcp`): the local operator, an admin, as the CLI is.
- streamable HTTP at /mcp on the API's own port, inside the WSGI app (McpMount), so `serve`, gunicorn
  and every other WSGI server carry it unchanged and the REST path pays one string comparison. The SDK's
  ASGI app runs through a2wsgi's ASGIMiddleware on one event loop per process, started on the first
  /mcp request (after any fork). Stateless mode: each POST stands alone, so any worker process may
  answer any request, and a tool call's progress notifications stream on its own response. Before the
  SDK sees a request the mount applies the REST API's rules: Bearer key (401), the per-key rate limit
  in the same windows (429) and the body size limit (413); the SDK then checks Host and Origin against
  OPERATOROS_MCP_ALLOWED_HOSTS (DNS-rebinding protection).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
"""Where streamable HTTP is served, beside /api."""

RATE_LIMIT_ENDPOINT = "mcp"
"""The endpoint name /mcp requests are counted under in the rate limiter's windows."""

ALLOWED_HOSTS_SETTING = "OPERATOROS_MCP_ALLOWED_HOSTS"
"""Comma-separated Host values /mcp accepts (app config, else environment); '*' accepts any."""

LOOP_START_SECONDS = 30.0
"""How long the first /mcp request waits for the event loop and the session manager to start."""

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def run_stdio(svc: Any, user: str) -> None:
    """Serve MCP on stdin/stdout until the client closes them, acting as `user`, the local operator (admin)."""
    from api.mcp_tools import build_server

    caller = svc.conversations.local_caller(user)
    build_server(svc, local_caller=caller).run("stdio")


class McpMount:
    """WSGI middleware serving MCP's streamable HTTP at /mcp and passing every other path to `app`."""

    def __init__(self, app: Callable[..., Iterable[bytes]], flask_app: Flask) -> None:
        self.app = app
        self.flask_app = flask_app
        self._asgi: Callable[..., Iterable[bytes]] | None = None
        self._lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Answer /mcp here; pass everything else to the wrapped app."""
        path = environ.get("PATH_INFO", "")
        if path != MCP_PATH and not path.startswith(MCP_PATH + "/"):
            return self.app(environ, start_response)
        refused = self._refusal(environ)
        if refused is not None:
            status, code, message, headers = refused
            return _json_error(start_response, status, code, message, headers)
        return self._asgi_app()(environ, start_response)

    def _refusal(self, environ: Environ) -> tuple[str, str, str, list[tuple[str, str]]] | None:
        """The REST API's checks in its order: failures per address, the key, the rate per user, the body size."""
        from werkzeug.exceptions import TooManyRequests

        from api_routes import RATE_LIMITER_KEY, authenticate_header
        from errors import Unauthorized
        from services import from_app as services

        svc = services(self.flask_app)
        header = environ.get("HTTP_AUTHORIZATION", "")
        limiter = self.flask_app.extensions[RATE_LIMITER_KEY]
        challenge = [("WWW-Authenticate", 'Bearer realm="operatoros"')]
        try:
            caller = authenticate_header(svc, limiter, header, environ.get("REMOTE_ADDR", "unknown"))
        except TooManyRequests as exc:
            return "429 Too Many Requests", "too_many_requests", str(exc.description), [("Retry-After", "60")]
        except Unauthorized as exc:
            return "401 UNAUTHORIZED", "unauthorized", exc.message, challenge
        (item, key, _), exceeded = limiter.count_user(caller, RATE_LIMIT_ENDPOINT)
        if exceeded:
            retry = str(max(0, int(limiter.storage.get_expiry(key) + 1 - time.time())))
            return ("429 Too Many Requests", "too_many_requests", f"Rate limit exceeded: {item}.",
                    [("Retry-After", retry)])
        length = environ.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > svc.settings.max_content_length:
            return ("413 REQUEST ENTITY TOO LARGE", "request_entity_too_large",
                    f"The request body is larger than {svc.settings.max_content_length} bytes.", [])
        return None

    def _asgi_app(self) -> Callable[..., Iterable[bytes]]:
        """The SDK's app behind a2wsgi, made once per process with its event loop and session manager."""
        if self._asgi is None:
            with self._lock:
                if self._asgi is None:
                    self._asgi = _start(self.flask_app)
        return self._asgi


def allowed_hosts(configured: str | None) -> list[str] | None:
    """Host header values /mcp accepts (a trailing ':*' allows any port); None turns the check off ('*')."""
    if configured is not None and configured.strip() == "*":
        return None
    names = [h.strip() for h in (configured or "").split(",") if h.strip()]
    return names or ["127.0.0.1", "127.0.0.1:*", "localhost", "localhost:*", "[::1]", "[::1]:*"]


def _start(flask_app: Flask) -> Callable[..., Iterable[bytes]]:
    """Start an event loop thread running the SDK's session manager; the ASGI app wrapped for WSGI."""
    import asyncio
    import os

    import anyio
    from a2wsgi import ASGIMiddleware
    from mcp.server.transport_security import TransportSecuritySettings

    from api.mcp_tools import build_server
    from api_routes import caller_for_token
    from services import from_app as services

    svc = services(flask_app)
    hosts = allowed_hosts(flask_app.config.get(ALLOWED_HOSTS_SETTING) or os.environ.get(ALLOWED_HOSTS_SETTING))
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False) if hosts is None else \
        TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                  allowed_origins=[f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")])
    server = build_server(svc, caller_for_token=lambda token: caller_for_token(svc, token))
    asgi = server.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True, json_response=False,
                                      transport_security=security,
                                      max_request_body_size=svc.settings.max_content_length)
    manager = server.session_manager
    loop = asyncio.new_event_loop()
    started = threading.Event()

    async def keep_running() -> None:
        async with manager.run():
            started.set()
            await anyio.sleep_forever()

    def run_loop() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(keep_running())

    threading.Thread(target=run_loop, name="mcp-loop", daemon=True).start()
    if not started.wait(LOOP_START_SECONDS):
        raise RuntimeError("the MCP session manager did not start")
    return ASGIMiddleware(asgi, loop=loop)  # type: ignore[arg-type]


def _json_error(start_response: StartResponse, status: str, code: str, message: str,
                headers: list[tuple[str, str]]) -> Iterable[bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers])
    return [body]
