"""The REST API under /api: JSON only, thin views over the controller (DESIGN.md: REST contract).

Requests and responses are validated by pydantic schemas (api_schemas.py) through spectree, chosen
because it decorates plain Flask views (our blueprint and app factory stay as they are), speaks
pydantic v2 (already installed with the openai SDK) and generates OpenAPI 3.1 (/api/openapi.json).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from spectree import Response as Resp
from spectree import SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData
from werkzeug.exceptions import HTTPException

from api_schemas import (
    AnyObject, CommandIn, CommandOut, ErrorBody, Liveness, MessageList, MessagesQuery, PoolList, PoolOut,
    Readiness, RestartOut, ScaleIn, SessionList, SessionOut, TaskIn, TaskList, TaskOut, TaskQuery, UserIn,
    UserOut, WaitQuery,
)
from conversation_manager import Caller
from errors import BadRequest, OperatorOSError, Unauthorized
from models import Role

logger = logging.getLogger(__name__)

ADMIN_USER_NAME = "admin"
"""User that OPERATOROS_API_KEY authenticates as."""

PUBLIC_ENDPOINTS = frozenset({"api.health"})
"""Endpoints that need no API key."""

DEFAULT_RATE_LIMIT = "3000 per minute;200 per second"
"""Requests allowed per API key (or per address without one); OPERATOROS_RATE_LIMIT overrides."""


def _on_validation(req: Any, resp: Any, error: Any, instance: Any, *rest: Any) -> None:
    """Turn a schema violation into our 400 with a message that says which field and why."""
    if error is None:
        return
    if req.mimetype == "application/json" and req.get_data() and req.get_json(silent=True) is None:
        raise BadRequest("The request body is not valid JSON.")
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "__root__") or "body"
        problems.append(f"{where}: {item.get('msg', 'invalid')}")
    raise BadRequest("Invalid request: " + "; ".join(problems), details={"errors": problems})


spec = SpecTree(
    "flask", title="OperatorOS API", version="1", path="apidoc", page_templates={},
    validation_error_status=400, before=_on_validation, annotations=True,
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(type="http", scheme="bearer"))],
    security={"bearer": []},
)
"""Schema registry: validates requests and responses and builds the OpenAPI document."""

ERRORS = {f"HTTP_{code}": ErrorBody for code in (400, 401, 403, 404, 409, 413, 422, 429)}

bp = Blueprint("api", __name__, url_prefix="/api")
metrics_bp = Blueprint("metrics", __name__)


def _services():  # type: ignore[no-untyped-def]
    from app import services

    return services(current_app)


# -- authentication ------------------------------------------------------------------------


@bp.before_request
@metrics_bp.before_request
def authenticate() -> None:
    """Require a Bearer API key on everything but liveness."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    if request.method in ("POST", "PUT", "PATCH") and (request.content_length or request.content_type) \
            and not request.is_json:
        raise BadRequest("Send the body as JSON with 'Content-Type: application/json'.")
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


def rate_limit_key() -> str:
    """Rate limits count per API key (hashed; never kept in clear), else per client address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "key:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return "addr:" + (request.remote_addr or "unknown")


# -- health, status, metrics ----------------------------------------------------------------


@bp.get("/health")
@spec.validate(resp=Resp(HTTP_200=Liveness), security={}, tags=["health"])
def health() -> tuple[dict[str, Any], int]:
    """Liveness: the process answers (no key needed)."""
    return {"status": "ok"}, 200


@bp.get("/health/ready")
@spec.validate(resp=Resp(HTTP_200=Readiness, HTTP_503=Readiness, **ERRORS), tags=["health"])
def ready() -> tuple[dict[str, Any], int]:
    """Readiness: the database answers."""
    import health_monitor

    database = health_monitor.database_check(_services().engine)
    return {"ready": database["ok"], "database": database}, 200 if database["ok"] else 503


@bp.get("/status")
@spec.validate(resp=Resp(HTTP_200=AnyObject, **ERRORS), tags=["health"])
def status() -> tuple[dict[str, Any], int]:
    """System overview, the same data as the CLI's status."""
    return _services().controller.status(), 200


@bp.get("/metrics")
@spec.validate(resp=Resp(HTTP_200=AnyObject, **ERRORS), tags=["health"])
def metrics_json() -> tuple[dict[str, Any], int]:
    """Health metrics as JSON: machine, database, queue, pools, alerts."""
    return _services().controller.health(), 200


@metrics_bp.get("/metrics")
@spec.validate(resp=Resp(HTTP_200=None, **ERRORS), tags=["health"])
def metrics_prometheus() -> Response:
    """Health metrics in Prometheus text format."""
    import health_monitor

    body, content_type = health_monitor.prometheus_text(_services().controller.health())
    return Response(body, content_type=content_type)


@bp.get("/openapi.json")
def openapi() -> tuple[dict[str, Any], int]:
    """The OpenAPI 3.1 document of this API."""
    return openapi_document(), 200


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document, built once from the routes and their schemas (no app state needed)."""
    if not hasattr(spec, "_spec"):
        bare = Flask(__name__)
        bare.register_blueprint(bp)
        bare.register_blueprint(metrics_bp)
        spec.app = bare
        with bare.app_context():
            spec.spec  # noqa: B018  (spectree builds and caches the document on first access)
    return spec.spec


# -- the conversational door ----------------------------------------------------------------


@bp.post("/command")
@spec.validate(json=CommandIn, resp=Resp(HTTP_200=CommandOut, **ERRORS), tags=["command"])
def command(json: CommandIn) -> tuple[dict[str, Any], int]:
    """One conversational request; answers exactly the CLI's JSON object."""
    return _services().interface.handle(json.text, g.caller, json.session_id, dry_run=json.dry_run), 200


@bp.get("/sessions")
@spec.validate(resp=Resp(HTTP_200=SessionList, **ERRORS), tags=["sessions"])
def list_sessions() -> tuple[dict[str, Any], int]:
    """The caller's conversation sessions, newest first."""
    return {"sessions": _services().conversations.list_sessions(g.caller)}, 200


@bp.post("/sessions")
@spec.validate(resp=Resp(HTTP_201=SessionOut, **ERRORS), tags=["sessions"])
def new_session() -> tuple[dict[str, Any], int]:
    """Start a new conversation session."""
    conversations = _services().conversations
    session_id = conversations.open_session(g.caller, new=True)
    return next(s for s in conversations.list_sessions(g.caller) if s["id"] == session_id), 201


@bp.get("/sessions/<session_id>/messages")
@spec.validate(query=MessagesQuery, resp=Resp(HTTP_200=MessageList, **ERRORS), tags=["sessions"])
def session_messages(session_id: str, query: MessagesQuery) -> tuple[dict[str, Any], int]:
    """The last messages of one of the caller's sessions, oldest first."""
    return {"messages": _services().conversations.history(g.caller, session_id, limit=query.limit)}, 200


@bp.post("/users")
@spec.validate(json=UserIn, resp=Resp(HTTP_201=UserOut, **ERRORS), tags=["users"])
def create_user(json: UserIn) -> tuple[dict[str, Any], int]:
    """Create a user and its API key, shown once; admins only."""
    return _services().conversations.create_user(g.caller, json.name, Role(json.role)), 201


# -- pools ----------------------------------------------------------------------------------


@bp.get("/pools")
@spec.validate(resp=Resp(HTTP_200=PoolList, **ERRORS), tags=["pools"])
def list_pools() -> tuple[dict[str, Any], int]:
    """Every pool with its size, agents and metrics."""
    return {"pools": _services().controller.pool_status()}, 200


@bp.get("/pools/<name>")
@spec.validate(resp=Resp(HTTP_200=PoolOut, **ERRORS), tags=["pools"])
def get_pool(name: str) -> tuple[dict[str, Any], int]:
    """One pool."""
    return _services().controller.pool_status(name)[0], 200


@bp.post("/pools/<name>/scale")
@spec.validate(json=ScaleIn, resp=Resp(HTTP_200=PoolOut, **ERRORS), tags=["pools"])
def scale_pool(name: str, json: ScaleIn) -> tuple[dict[str, Any], int]:
    """Set a pool's desired size: {"size": n} or {"delta": n}; admins only."""
    return _services().controller.scale(g.caller, name, size=json.size, delta=json.delta), 200


@bp.post("/pools/<name>/restart")
@spec.validate(resp=Resp(HTTP_200=RestartOut, **ERRORS), tags=["pools"])
def restart_pool(name: str) -> tuple[dict[str, Any], int]:
    """Release the pool's failed agents so fresh ones start; admins only."""
    return _services().controller.restart(g.caller, name), 200


# -- tasks ----------------------------------------------------------------------------------


@bp.post("/tasks")
@spec.validate(json=TaskIn, resp=Resp(HTTP_200=TaskOut, HTTP_201=TaskOut, **ERRORS), tags=["tasks"])
def submit_task(json: TaskIn) -> tuple[dict[str, Any], int]:
    """Queue domain work; the same idempotency key returns the task it made first (200)."""
    task = _services().controller.submit(g.caller, json.input, pool=json.pool, priority=json.priority,
                                         idempotency_key=json.idempotency_key)
    return task, 200 if task.get("idempotent_replay") else 201


@bp.get("/tasks")
@spec.validate(query=TaskQuery, resp=Resp(HTTP_200=TaskList, **ERRORS), tags=["tasks"])
def list_tasks(query: TaskQuery) -> tuple[dict[str, Any], int]:
    """The caller's tasks (all tasks for admins), newest first; page with before_id."""
    tasks = _services().controller.list_tasks(g.caller, status=query.status, pool=query.pool,
                                              limit=query.limit, before_id=query.before_id)
    return {"tasks": tasks, "next_before_id": tasks[-1]["id"] if len(tasks) == query.limit else None}, 200


@bp.get("/tasks/<int:task_id>")
@spec.validate(query=WaitQuery, resp=Resp(HTTP_200=TaskOut, **ERRORS), tags=["tasks"])
def get_task(task_id: int, query: WaitQuery) -> tuple[dict[str, Any], int]:
    """One task; ?wait=seconds long-polls until it has ended."""
    controller = _services().controller
    if query.wait:
        return controller.wait_for(g.caller, task_id, query.wait), 200
    return controller.get_task(g.caller, task_id), 200


@bp.post("/tasks/<int:task_id>/cancel")
@spec.validate(resp=Resp(HTTP_200=TaskOut, **ERRORS), tags=["tasks"])
def cancel_task(task_id: int) -> tuple[dict[str, Any], int]:
    """Cancel a queued task at once, or a running one at its next check."""
    return _services().controller.cancel_task(g.caller, task_id), 200


# -- wiring ---------------------------------------------------------------------------------


def init_app(app: Flask, rate_limit: str | None = None, storage_uri: str = "memory://") -> None:
    """Register the blueprints, the rate limiter and the JSON error handlers on `app`."""
    import api_workflows  # noqa: F401  (nests the workflow and demo routes under bp; before bp is registered)
    from flask_limiter import Limiter

    app.register_blueprint(bp)
    app.register_blueprint(metrics_bp)
    limiter = Limiter(rate_limit_key, app=app, default_limits=[rate_limit or DEFAULT_RATE_LIMIT],
                      storage_uri=storage_uri, headers_enabled=True)
    limiter.exempt(health)
    register_error_handlers(app)


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
