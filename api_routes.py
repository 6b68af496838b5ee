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
    body = json_body()
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


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong."""
    if not request.is_json:
        raise BadRequest("Send a JSON body with 'Content-Type: application/json'.")
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("The request body is not valid JSON.")
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
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
