"""Flask application factory: JSON only, configured from the environment, servable by gunicorn."""
from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from config import Settings
from services import EXTENSION_KEY, Services, build_services, from_app

if TYPE_CHECKING:
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

logger = logging.getLogger(__name__)

LIVENESS_PATH = "/api/health"
"""Path of the liveness check that HealthFastPath answers before Flask."""

_ENV_KEYS = (
    "OPERATOROS_HOME", "DATABASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPERATOROS_MODEL",
    "OPERATOROS_PROVIDER", "TASK_BACKEND", "REDIS_URL", "CELERY_BROKER_URL", "OPERATOROS_API_KEY",
    "OPERATOROS_USER", "OPERATOROS_MAX_CONTENT_LENGTH", "OPERATOROS_RATE_LIMIT", "OPERATOROS_RATE_LIMIT_STORAGE",
    "OPERATOROS_CELERY_NAMESPACE", "OPERATOROS_SWEEP_SECONDS", "OPERATOROS_STALE_QUEUED_SECONDS",
    "OPERATOROS_SIGN_IN_IDLE_SECONDS", "OPERATOROS_MAX_LONG_POLLS", "OPERATOROS_AUTH_FAILURE_LIMIT",
    "OPERATOROS_MIN_SCHEDULE_MINUTES", "OPERATOROS_MAX_ACTIVE_RUNS", "OPERATOROS_MAX_RUN_TASK_STEPS",
    "OPERATOROS_DRAFTS",
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, overridden by `config`.

    Args:
        config: environment names (DATABASE_URL...), Flask keys (TESTING...), `SETTINGS` (a Settings)
            or `EXECUTOR` (the function, or its `module:function` spec, that works tasks instead of the
            domain agents).
    """
    from flask import jsonify

    db = flask_sqlalchemy()
    config = dict(config or {})
    executor = config.pop("EXECUTOR", None)
    env = {**os.environ, **{k: str(v) for k, v in config.items() if k in _ENV_KEYS}}
    settings = config.pop("SETTINGS", None) or Settings.from_env(env)
    settings.home.mkdir(parents=True, exist_ok=True)

    app = app_class()(__name__, instance_path=str(settings.home))
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=settings.max_content_length,
        JSON_SORT_KEYS=False,
    )
    app.config.update({k: v for k, v in config.items() if k not in _ENV_KEYS})
    db.init_app(app)
    with app.app_context():
        engine = db.engine
    app.extensions[EXTENSION_KEY] = build_services(settings, env=env, engine=engine, executor=executor)

    import api_routes

    api_routes.init_app(app, rate_limit=settings.rate_limit, storage_uri=settings.rate_limit_storage)
    from telemetry import tracing

    if tracing.setup_from_env():  # OTEL_* variables ask for traces: one server span per request
        tracing.instrument_flask(app)
    with app.app_context():  # the bytes the view's {"status": "ok"} becomes, as Flask serialises it
        liveness = jsonify({"status": "ok"}).get_data()
    from mcp_server import McpMount

    app.wsgi_app = McpMount(app.wsgi_app, app)  # type: ignore[method-assign]  # MCP at /mcp, same port and keys
    app.wsgi_app = ChunkedBodyLimit(app.wsgi_app, settings.max_content_length)  # type: ignore[method-assign]
    app.wsgi_app = HealthFastPath(app.wsgi_app, liveness)  # type: ignore[method-assign]
    return app


class ChunkedBodyLimit:
    """WSGI middleware giving a chunked body (no Content-Length) the same limit, and 413, as a sized one.

    Werkzeug cuts such a stream at MAX_CONTENT_LENGTH without saying so, and the cut JSON then fails
    to parse as a 400; here the body is read up to the limit once, and passed on with its length.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Read a length-less body up to the limit: 413 past it, else hand it on with its Content-Length."""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()  # werkzeug then ignores the length
        if not environ.get("wsgi.input_terminated") or not (chunked or not environ.get("CONTENT_LENGTH")):
            return self.app(environ, start_response)
        import io
        import json

        body = environ["wsgi.input"].read(self.limit + 1)
        if len(body) > self.limit:
            payload = json.dumps({"error": {"code": "request_entity_too_large",
                                            "message": f"The request body is larger than {self.limit} bytes."}})
            start_response("413 REQUEST ENTITY TOO LARGE", [("Content-Type", "application/json"),
                                                            ("Content-Length", str(len(payload))),
                                                            ("Connection", "close")])
            return [payload.encode()]
        environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        for name in ("wsgi.input_terminated", "HTTP_TRANSFER_ENCODING"):
            environ.pop(name, None)
        return self.app(environ, start_response)


class HealthFastPath:
    """WSGI middleware answering GET /api/health itself, with the bytes and headers Flask's view gives.

    Liveness says only that the process answers, needs no key and is never rate limited, so the
    request context, before-request hooks and response validation that Flask would run for it do
    nothing useful; load balancers poll it often. Every other request (HEAD, other methods, other
    paths) goes to Flask untouched; the view stays for them and for the OpenAPI document.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], body: bytes) -> None:
        self.app = app
        self.body = body
        self.headers = [("Content-Type", "application/json"), ("Content-Length", str(len(self.body)))]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer liveness here; pass everything else to the wrapped app."""
        if environ.get("PATH_INFO") == LIVENESS_PATH and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", list(self.headers))
            return [self.body]
        return self.app(environ, start_response)


@functools.cache
def app_class() -> type[Flask]:
    """Flask, with an ensure_sync that answers plain functions at once (made on first use: the CLI never
    imports Flask)."""
    from inspect import CO_COROUTINE
    from types import FunctionType, MethodType

    from flask import Flask

    class OperatorOSFlask(Flask):
        """The app's class: Flask as it is, but for ensure_sync."""

        def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
            """`func` itself when it is a plain function or method, else Flask's answer (async views)."""
            # Flask asks this of every hook and view of every request; inspect.iscoroutinefunction
            # takes five calls to read the code flags read here (and the marker Python 3.12 adds).
            plain = func.__func__ if type(func) is MethodType else func
            if type(plain) is FunctionType and not plain.__code__.co_flags & CO_COROUTINE \
                    and getattr(plain, "_is_coroutine_marker", None) is None:
                return func
            return super().ensure_sync(func)

    return OperatorOSFlask


@functools.cache
def flask_sqlalchemy() -> SQLAlchemy:
    """The Flask-SQLAlchemy extension over models.Base, made on first use so the CLI never imports Flask."""
    from flask_sqlalchemy import SQLAlchemy

    from models import Base

    return SQLAlchemy(model_class=Base, disable_autonaming=True)


services = from_app
"""The Services of an app built by create_app (services.from_app, under the name the app's callers use)."""

__all__ = ["EXTENSION_KEY", "ChunkedBodyLimit", "HealthFastPath", "Services", "app_class", "build_services",
           "create_app", "flask_sqlalchemy", "services"]


def _engine_options(url: str) -> dict[str, Any]:
    from database import engine_options, ensure_sqlite_folder

    ensure_sqlite_folder(url)
    return engine_options(url)
