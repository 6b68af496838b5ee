"""The REST API under /api: JSON only, thin views over the controller (DESIGN.md: REST contract)."""
from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from conversation_manager import Caller
from errors import BadRequest, OperatorOSError, Unauthorized
from models import Role

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api")

PUBLIC_ENDPOINTS = frozenset({"api.health"})
"""Endpoints that need no API key."""

ADMIN_USER_NAME = "admin"
"""User that OPERATOROS_API_KEY authenticates as."""


def _services():  # type: ignore[no-untyped-def]
    from app import services

    return services(current_app)


@bp.before_request
def authenticate() -> None:
    """Require a Bearer API key on everything but liveness."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
    g.caller = _caller_for(token.strip())


def _caller_for(token: str) -> Caller:
    svc = _services()
    caller = svc.conversations.caller_for_key(token)
    if caller is not None:
        return caller
    admin_key = svc.settings.api_key
    if admin_key and hmac.compare_digest(token.encode(), admin_key.encode()):
        return svc.conversations.ensure_user_with_key(ADMIN_USER_NAME, token, Role.ADMIN)
    raise Unauthorized("Invalid API key.")


@bp.get("/health")
def health() -> tuple[dict[str, Any], int]:
    """Liveness: the process answers."""
    return {"status": "ok"}, 200


@bp.get("/health/ready")
def ready() -> tuple[dict[str, Any], int]:
    """Readiness: the database answers."""
    import health_monitor

    database = health_monitor.database_check(_services().engine)
    return {"ready": database["ok"], "database": database}, 200 if database["ok"] else 503


@bp.get("/status")
def status() -> tuple[dict[str, Any], int]:
    """System overview, the same data as the CLI's status."""
    return _services().controller.status(), 200


@bp.post("/command")
def command() -> tuple[dict[str, Any], int]:
    """One conversational request; answers exactly the CLI's JSON object."""
    body = json_body(allowed={"text", "session_id", "dry_run"})
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("Field 'text' is required and must be a non-empty string.")
    session_id = body.get("session_id")
    if session_id is not None and not isinstance(session_id, str):
        raise BadRequest("Field 'session_id' must be a string.")
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise BadRequest("Field 'dry_run' must be true or false.")
    reply = _services().interface.handle(text, g.caller, session_id, dry_run=dry_run)
    return reply, 200


@bp.get("/pools")
def list_pools() -> tuple[dict[str, Any], int]:
    """Every pool with its size, agents and metrics."""
    return {"pools": _services().controller.pool_status()}, 200


@bp.get("/pools/<name>")
def get_pool(name: str) -> tuple[dict[str, Any], int]:
    """One pool."""
    return _services().controller.pool_status(name)[0], 200


@bp.post("/pools/<name>/scale")
def scale_pool(name: str) -> tuple[dict[str, Any], int]:
    """Set a pool's desired size: {"size": n} or {"delta": n}; admins only."""
    body = json_body(allowed={"size", "delta"})
    size = optional_int(body, "size")
    delta = optional_int(body, "delta")
    return _services().controller.scale(g.caller, name, size=size, delta=delta), 200


@bp.post("/pools/<name>/restart")
def restart_pool(name: str) -> tuple[dict[str, Any], int]:
    """Release the pool's failed agents so fresh ones start; admins only."""
    return _services().controller.restart(g.caller, name), 200


@bp.post("/tasks")
def submit_task() -> tuple[dict[str, Any], int]:
    """Queue domain work: {"input", "pool"?, "priority"?, "idempotency_key"?}."""
    body = json_body(allowed={"input", "pool", "priority", "idempotency_key"})
    text = body.get("input")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("Field 'input' is required and must be a non-empty string.")
    pool = optional_str(body, "pool")
    key = optional_str(body, "idempotency_key")
    priority = optional_int(body, "priority") or 0
    controller = _services().controller
    task = controller.submit(g.caller, text, pool=pool, priority=priority, idempotency_key=key)
    return task, 200 if task.get("idempotent_replay") else 201


@bp.get("/tasks")
def list_tasks() -> tuple[dict[str, Any], int]:
    """The caller's tasks (all tasks for admins), newest first: ?status=&pool=&limit=&before_id=."""
    limit = query_int("limit", 50, 1, 500)
    before_id = query_int("before_id", None, 1, None)
    tasks = _services().controller.list_tasks(g.caller, status=request.args.get("status") or None,
                                              pool=request.args.get("pool") or None, limit=limit,
                                              before_id=before_id)
    next_before = tasks[-1]["id"] if len(tasks) == limit else None
    return {"tasks": tasks, "next_before_id": next_before}, 200


@bp.get("/tasks/<int:task_id>")
def get_task(task_id: int) -> tuple[dict[str, Any], int]:
    """One task; ?wait=seconds long-polls until it has ended."""
    controller = _services().controller
    wait = query_float("wait", 0.0, 0.0, 60.0)
    if wait:
        return controller.wait_for(g.caller, task_id, wait), 200
    return controller.get_task(g.caller, task_id), 200


@bp.post("/tasks/<int:task_id>/cancel")
def cancel_task(task_id: int) -> tuple[dict[str, Any], int]:
    """Cancel a queued task at once, or a running one at its next check."""
    return _services().controller.cancel_task(g.caller, task_id), 200


def optional_str(body: dict[str, Any], name: str) -> str | None:
    """A string field, or None when absent; 400 for any other type."""
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"Field '{name}' must be a string.")
    return value


def optional_int(body: dict[str, Any], name: str) -> int | None:
    """A whole-number field, or None when absent; 400 for any other type."""
    value = body.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise BadRequest(f"Field '{name}' must be a whole number.")
    return value


def query_int(name: str, default: int | None, low: int, high: int | None) -> int | None:
    """A whole-number query parameter within bounds."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Query parameter '{name}' must be a whole number.") from None
    if value < low or (high is not None and value > high):
        raise BadRequest(f"Query parameter '{name}' must be from {low}" + (f" to {high}." if high else " up."))
    return value


def query_float(name: str, default: float, low: float, high: float) -> float:
    """A number query parameter within bounds."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"Query parameter '{name}' must be a number.") from None
    if not low <= value <= high:
        raise BadRequest(f"Query parameter '{name}' must be from {low:g} to {high:g}.")
    return value


def json_body(allowed: set[str] | None = None) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong."""
    if not request.is_json:
        raise BadRequest("Send a JSON body with 'Content-Type: application/json'.")
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("The request body is not valid JSON.")
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    unknown = set(body) - allowed if allowed is not None else set()
    if unknown:
        raise BadRequest(f"Unknown field(s): {', '.join(sorted(unknown))}. Allowed: {', '.join(sorted(allowed or ()))}.")
    return body


def register_error_handlers(app: Flask) -> None:
    """Every error becomes {"error": {code, message}} with its status; never HTML."""

    @app.errorhandler(OperatorOSError)
    def _operatoros_error(exc: OperatorOSError):  # type: ignore[no-untyped-def]
        return jsonify(error=exc.to_dict()), exc.http_status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = (exc.name or "error").lower().replace(" ", "_")
        response = jsonify(error={"code": code, "message": exc.description or exc.name})
        response.status_code = exc.code or 500
        valid_methods = getattr(exc, "valid_methods", None)
        if valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify(error={"code": "internal_error", "message": "Internal error; it has been logged."}), 500
