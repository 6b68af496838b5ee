"""The REST API under /api: JSON only, thin views over the controller (README: REST API).

Requests and responses are validated by pydantic schemas (api_schemas.py) through spectree, chosen
because it decorates plain Flask views (our blueprint and app factory stay as they are), speaks
pydantic v2 (already installed with the openai SDK) and generates OpenAPI 3.1 (/api/openapi.json).
The hot path, POST /api/tasks, is documented through spectree but validates its body itself, with
the same model and 400s. Rate limits: api/rate_limits.py.
"""
from __future__ import annotations

import contextlib
import hashlib
import json as json_module
import logging
import math
from typing import Any, TypeVar

from flask import Blueprint, Flask, Request, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError
from spectree import Response as Resp
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, TooManyRequests

from api.database import bp as database_bp
from api.rate_limits import RateLimiter
from api.schemas import (
    ERRORS,
    CommandIn,
    CommandOut,
    HealthMetrics,
    KeyList,
    Liveness,
    MessageList,
    MessagesQuery,
    OpenAPIDocument,
    PoolList,
    PoolOut,
    Readiness,
    RestartOut,
    RevokedKey,
    RotatedKey,
    ScaleIn,
    SessionList,
    SessionOut,
    StatusOut,
    TaskIn,
    TaskList,
    TaskOut,
    TaskQuery,
    UserIn,
    UserOut,
    WaitQuery,
    on_validation,
    spec,
)
from api.workflows import bp as workflows_bp
from errors import BadRequest, OperatorOSError, Unauthorized
from health_monitor import for_role
from models import Role
from services import Services, from_app
from values import Caller

logger = logging.getLogger(__name__)

PUBLIC_ENDPOINTS = frozenset({"api.health"})
"""Endpoints that need no API key."""

DEFAULT_RATE_LIMIT = "3000 per minute;200 per second"
"""Requests allowed per API key (or per address without one); OPERATOROS_RATE_LIMIT overrides."""

RATE_LIMITER_KEY = "operatoros_rate_limiter"
"""Key of the app's RateLimiter in app.extensions."""

_Body = TypeVar("_Body", bound=BaseModel)


POOL_PARAMETER = {"name": "A pool: healthcare, financial, sports, business or general."}
"""Description of the {name} path parameter of the pool operations."""

USER_PARAMETER = {"name": "A user's name."}
"""Description of the {name} path parameter of the key operations."""

TASK_PARAMETER = {"task_id": "The task's id."}
"""Description of the {task_id} path parameter of the task operations."""

bp = Blueprint("api", __name__, url_prefix="/api")
bp.register_blueprint(workflows_bp)  # nested: the '/api' prefix, its authentication, errors and OpenAPI document
bp.register_blueprint(database_bp)  # backups and purges (admins), a user's own data
metrics_bp = Blueprint("metrics", __name__)


def _services() -> Services:
    return from_app(current_app)


def _request() -> Request:
    """The request itself rather than its proxy: each attribute read through `request` looks up the context."""
    return request._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _app() -> Flask:
    """The app itself rather than its proxy (see _request)."""
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


# -- authentication ------------------------------------------------------------------------


BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
"""Methods whose body, when sent, must be JSON."""


@metrics_bp.before_request
def authenticate() -> None:
    """Require a Bearer API key on everything but liveness, then count the request against its user."""
    req = _request()  # one context lookup for the reads below, not one per attribute
    endpoint = req.endpoint
    if endpoint in PUBLIC_ENDPOINTS:
        return
    if req.method in BODY_METHODS and (req.content_length or req.content_type) and not req.is_json:
        raise BadRequest("Send the body as JSON with 'Content-Type: application/json'.")
    if req.query_string and "api_key" in req.args:
        raise BadRequest("Send the API key as 'Authorization: Bearer <key>', never in the URL.")
    app = _app()
    limiter: RateLimiter = app.extensions[RATE_LIMITER_KEY]
    caller = authenticate_header(from_app(app), limiter, req.headers.get("Authorization", ""),
                                 req.remote_addr or "unknown")
    g.caller = caller
    limiter.hit(caller, endpoint)


@bp.before_request
def guard_api() -> None:
    """The hooks of every /api request, in order: authenticate, then single_valued_query (one hook, not two)."""
    authenticate()
    single_valued_query()


def authenticate_header(svc: Any, limiter: RateLimiter, header: str, address: str) -> Caller:
    """The caller an Authorization header authenticates; each failure counts against the client address.

    Raises:
        TooManyRequests: the address has failed too often lately (checked before the key costs a database read).
        Unauthorized: no Bearer key, or not a valid one.
    """
    if limiter.failures_exceeded(address):
        raise TooManyRequests(description="Too many failed authentications from this address; try again later.")
    token = bearer_token(header)
    caller = caller_for_token(svc, token) if token else None
    if caller is None:
        limiter.fail(address)
        raise Unauthorized("Invalid API key." if token else "Send an API key as 'Authorization: Bearer <key>'.")
    return caller


def bearer_token(header: str) -> str | None:
    """The key of an 'Authorization: Bearer <key>' header (scheme in any case, any spacing), else None."""
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1]


def single_valued_query() -> None:
    """Refuse a query parameter given twice: every one is a single value, and Flask would read the first."""
    req = _request()
    if not req.query_string:
        return
    args = req.args
    repeated = sorted(key for key in args if len(args.getlist(key)) > 1)
    if repeated:
        raise BadRequest(f"Query parameter {repeated[0]!r} is given more than once; give it once.")


def caller_for_token(svc: Any, token: str) -> Caller | None:
    """The user an API key belongs to (OPERATOROS_API_KEY is the admin's, set at start-up), else None."""
    return svc.conversations.caller_for_key(token)


def _body(model: type[_Body]) -> _Body:
    """The JSON body validated against `model` as spectree validates it; a violation is our 400."""
    req = _request()
    if req.is_json and (data := req.get_data(cache=True)):
        # pydantic reads the JSON itself in one call, and where it accepts the body it gives what
        # reading it with json.loads first gives; anything it refuses (also UTF-16 or a BOM, which
        # json.loads reads) takes the path below, so the answers and their 400s stay as they were.
        with contextlib.suppress(ValidationError):
            return model.model_validate_json(data)
    try:
        return model.model_validate(req.get_json(silent=True) or {})
    except ValidationError as error:
        on_validation(req, None, error, None)
        raise  # on_validation always raises; this keeps type checkers sure of it


# -- health, status, metrics ----------------------------------------------------------------


@bp.get("/health")
@spec.validate(resp=Resp(HTTP_200=Liveness), security={}, tags=["health"],
               operation_id="get_health")
def health() -> tuple[dict[str, Any], int]:
    """Liveness: the process answers (no key needed)."""
    return {"status": "ok"}, 200


@bp.get("/health/ready")
@spec.validate(resp=Resp(HTTP_200=Readiness, HTTP_503=Readiness, **ERRORS), tags=["health"],
               operation_id="get_readiness")
def ready() -> tuple[dict[str, Any], int]:
    """Readiness: the database answers, and so does the queue backend's transport (Celery's Redis broker)."""
    reply = _services().controller.readiness()
    return reply, 200 if reply["ready"] else 503


@bp.get("/status")
@spec.validate(resp=Resp(HTTP_200=StatusOut, **ERRORS), tags=["health"], operation_id="get_status")
def status() -> tuple[dict[str, Any], int]:
    """System overview, the same data as the CLI's status (host figures and database URL for admins only)."""
    return for_role(_services().controller.status(), g.caller), 200


@bp.get("/metrics")
@spec.validate(resp=Resp(HTTP_200=HealthMetrics, **ERRORS), tags=["health"], operation_id="get_metrics")
def metrics_json() -> tuple[dict[str, Any], int]:
    """Health metrics as JSON: machine (admins only), database, queue, pools, alerts."""
    return for_role(_services().controller.health(), g.caller), 200


@metrics_bp.get("/metrics")
@spec.validate(resp=Resp(HTTP_200=None, **ERRORS), tags=["health"],
               operation_id="get_prometheus_metrics")
def metrics_prometheus() -> Response:
    """Health metrics in Prometheus text format (host figures for admins only)."""
    from health_monitor import prometheus_text

    body, content_type = prometheus_text(for_role(_services().controller.health(), g.caller))
    return Response(body, content_type=content_type)


@bp.get("/openapi.json")
@spec.validate(resp=Resp(HTTP_200=OpenAPIDocument, **ERRORS), tags=["meta"], operation_id="get_openapi_document",
               skip_validation=True)
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
@spec.validate(json=CommandIn, resp=Resp(HTTP_200=CommandOut, **ERRORS), tags=["command"],
               operation_id="run_command")
def command(json: CommandIn) -> tuple[dict[str, Any], int]:
    """One conversational request; answers exactly the CLI's JSON object."""
    return _services().interface.handle(json.text, g.caller, json.session_id, dry_run=json.dry_run), 200


@bp.get("/sessions")
@spec.validate(resp=Resp(HTTP_200=SessionList, **ERRORS), tags=["sessions"],
               operation_id="list_sessions")
def list_sessions() -> tuple[dict[str, Any], int]:
    """The caller's conversation sessions, newest first."""
    return {"sessions": _services().conversations.list_sessions(g.caller)}, 200


@bp.post("/sessions")
@spec.validate(resp=Resp(HTTP_201=SessionOut, **ERRORS), tags=["sessions"],
               operation_id="create_session")
def new_session() -> tuple[dict[str, Any], int]:
    """Start a new conversation session."""
    conversations = _services().conversations
    session_id = conversations.open_session(g.caller, new=True)
    return next(s for s in conversations.list_sessions(g.caller) if s["id"] == session_id), 201


@bp.get("/sessions/<session_id>/messages")
@spec.validate(query=MessagesQuery, resp=Resp(HTTP_200=MessageList, **ERRORS), tags=["sessions"],
               operation_id="list_session_messages", path_parameter_descriptions={"session_id": "The session's id."})
def session_messages(session_id: str, query: MessagesQuery) -> tuple[dict[str, Any], int]:
    """The last messages of one of the caller's sessions, oldest first."""
    return {"messages": _services().conversations.history(g.caller, session_id, limit=query.limit)}, 200


@bp.post("/users")
@spec.validate(json=UserIn, resp=Resp(HTTP_201=UserOut, **ERRORS), tags=["users"],
               operation_id="create_user")
def create_user(json: UserIn) -> tuple[dict[str, Any], int]:
    """Create a user and its API key, shown once; admins only."""
    return _services().conversations.create_user(g.caller, json.name, Role(json.role)), 201


@bp.get("/keys")
@spec.validate(resp=Resp(HTTP_200=KeyList, **ERRORS), tags=["users"], operation_id="list_keys")
def list_keys() -> tuple[dict[str, Any], int]:
    """Every user's key by its prefix, never the key or its hash; admins only."""
    return {"keys": _services().conversations.list_keys(g.caller)}, 200


@bp.post("/users/<name>/key")
@spec.validate(resp=Resp(HTTP_200=RotatedKey, **ERRORS), tags=["users"], operation_id="rotate_key",
               path_parameter_descriptions=USER_PARAMETER)
def rotate_key(name: str) -> tuple[dict[str, Any], int]:
    """Give the user a new key, shown once; the old key and its sign-ins end now (own key, or an admin)."""
    return _services().conversations.rotate_key(g.caller, name), 200


@bp.delete("/users/<name>/key")
@spec.validate(resp=Resp(HTTP_200=RevokedKey, **ERRORS), tags=["users"], operation_id="revoke_key",
               path_parameter_descriptions=USER_PARAMETER)
def revoke_key(name: str) -> tuple[dict[str, Any], int]:
    """Revoke the user's key: it and its sign-ins end now (own key, or an admin)."""
    return _services().conversations.revoke_key(g.caller, name), 200


# -- pools ----------------------------------------------------------------------------------


@bp.get("/pools")
@spec.validate(resp=Resp(HTTP_200=PoolList, **ERRORS), tags=["pools"], operation_id="list_pools")
def list_pools() -> tuple[dict[str, Any], int]:
    """Every pool with its size, agents and metrics."""
    return {"pools": _services().controller.pool_status()}, 200


@bp.get("/pools/<name>")
@spec.validate(resp=Resp(HTTP_200=PoolOut, **ERRORS), tags=["pools"], operation_id="get_pool",
               path_parameter_descriptions=POOL_PARAMETER)
def get_pool(name: str) -> tuple[dict[str, Any], int]:
    """One pool."""
    return _services().controller.pool_status(name)[0], 200


@bp.post("/pools/<name>/scale")
@spec.validate(json=ScaleIn, resp=Resp(HTTP_200=PoolOut, **ERRORS), tags=["pools"], operation_id="scale_pool",
               path_parameter_descriptions=POOL_PARAMETER)
def scale_pool(name: str, json: ScaleIn) -> tuple[dict[str, Any], int]:
    """Set a pool's desired size: {"size": n} or {"delta": n}; admins only."""
    return _services().controller.scale(g.caller, name, size=json.size, delta=json.delta), 200


@bp.post("/pools/<name>/restart")
@spec.validate(resp=Resp(HTTP_200=RestartOut, **ERRORS), tags=["pools"], operation_id="restart_pool",
               path_parameter_descriptions=POOL_PARAMETER)
def restart_pool(name: str) -> tuple[dict[str, Any], int]:
    """Release the pool's failed agents so fresh ones start; admins only."""
    return _services().controller.restart(g.caller, name), 200


# -- tasks ----------------------------------------------------------------------------------


@bp.post("/tasks")
@spec.validate(json=TaskIn, resp=Resp(HTTP_200=TaskOut, HTTP_201=TaskOut, **ERRORS), tags=["tasks"],
               operation_id="submit_task", skip_validation=True)
def submit_task() -> Response:
    """Queue domain work; the same idempotency key returns the task it made first (200)."""
    # The hot path of the API: spectree documents it, but the body is validated here, by the same
    # model and with the same 400s, without spectree's per-request work (every header and cookie
    # copied, the response re-validated against TaskOut and walked for model instances, then copied
    # into a new Response); init_app serves this function without spectree's wrapper.
    json = _body(TaskIn)
    task = _services().controller.submit(g.caller, json.input, pool=json.pool, priority=json.priority,
                                         idempotency_key=json.idempotency_key)
    response = jsonify(task)  # current_app.json.response, typed as Flask's Response
    response.status_code = 200 if task.get("idempotent_replay") else 201
    return response


@bp.get("/tasks")
@spec.validate(query=TaskQuery, resp=Resp(HTTP_200=TaskList, **ERRORS), tags=["tasks"], operation_id="list_tasks")
def list_tasks(query: TaskQuery) -> tuple[dict[str, Any], int]:
    """The caller's tasks (all tasks for admins), newest first; page with before_id."""
    tasks = _services().controller.list_tasks(g.caller, status=query.status, pool=query.pool,
                                              limit=query.limit, before_id=query.before_id)
    return {"tasks": tasks, "next_before_id": tasks[-1]["id"] if len(tasks) == query.limit else None}, 200


@bp.get("/tasks/<int:task_id>")
@spec.validate(query=WaitQuery, resp=Resp(HTTP_200=TaskOut, **ERRORS), tags=["tasks"], operation_id="get_task",
               path_parameter_descriptions=TASK_PARAMETER)
def get_task(task_id: int, query: WaitQuery) -> tuple[dict[str, Any], int]:
    """One task; ?wait=seconds long-polls until it has ended."""
    controller = _services().controller
    if query.wait:
        with current_app.extensions[RATE_LIMITER_KEY].long_poll(g.caller):
            return controller.wait_for(g.caller, task_id, query.wait), 200
    return controller.get_task(g.caller, task_id), 200


@bp.post("/tasks/<int:task_id>/cancel")
@spec.validate(resp=Resp(HTTP_200=TaskOut, **ERRORS), tags=["tasks"], operation_id="cancel_task",
               path_parameter_descriptions=TASK_PARAMETER)
def cancel_task(task_id: int) -> tuple[dict[str, Any], int]:
    """Cancel a queued task at once, or a running one at its next check."""
    return _services().controller.cancel_task(g.caller, task_id), 200


EVENT_STREAM_SECONDS = 60.0
"""How long an event stream stays open by default (?seconds= changes it, up to MAX_EVENT_STREAM_SECONDS)."""

MAX_EVENT_STREAM_SECONDS = 300.0
"""Longest an event stream stays open: a client reconnects with Last-Event-ID to go on."""


@bp.get("/tasks/<int:task_id>/events")
@spec.validate(resp=Resp(HTTP_200=None, **ERRORS), tags=["tasks"], operation_id="stream_task_events",
               path_parameter_descriptions=TASK_PARAMETER, skip_validation=True)
def task_events(task_id: int) -> Response | tuple[dict[str, Any], int]:
    """A task's events as server-sent events, oldest first, until its final event or ?seconds= (default 60,
    at most 300); resumes after the Last-Event-ID header (or ?last_event_id=). With Accept:
    application/json, the events recorded so far as one JSON object instead."""
    controller = _services().controller
    after = _event_query_number("last_event_id", request.headers.get("Last-Event-ID"), -1)  # -1: from the start
    seconds = _event_query_number("seconds", None, EVENT_STREAM_SECONDS)
    if not 0 < seconds <= MAX_EVENT_STREAM_SECONDS:
        raise BadRequest(f"seconds must be more than 0 and at most {MAX_EVENT_STREAM_SECONDS:g}.")
    events = controller.task_events(g.caller, task_id, int(after))  # 404 for another user's task, before any stream
    if request.accept_mimetypes.best_match(["text/event-stream", "application/json"]) == "application/json":
        return {"task_id": task_id, "events": events}, 200

    def stream() -> Any:
        yield "retry: 2000\n\n"
        for event in controller.follow_events(task_id, after_id=int(after), seconds=seconds):
            lines = [] if event["id"] is None else [f"id: {event['id']}"]
            lines += [f"event: {event['kind']}", f"data: {json_module.dumps(event, default=str)}"]
            yield "\n".join(lines) + "\n\n"

    return Response(stream(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _event_query_number(name: str, fallback: str | None, default: float) -> float:
    """A non-negative number from the query (or the fallback header); BadRequest when it is not one."""
    raw = request.args.get(name, fallback)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a number, not {raw[:40]!r}.") from None
    if not math.isfinite(value) or value < 0:
        raise BadRequest(f"{name} must be a finite number, not negative.")
    return value


# -- wiring ---------------------------------------------------------------------------------


def init_app(app: Flask, rate_limit: str | None = None, storage_uri: str = "memory://") -> None:
    """Register the blueprints, the rate limiter and the JSON error handlers on `app`."""
    app.register_blueprint(bp)
    app.register_blueprint(metrics_bp)
    # POST /api/tasks validates its own body; spectree's wrapper stays on the blueprint, where the
    # OpenAPI document is built from (openapi_document), and is not run per request.
    app.view_functions["api.submit_task"] = submit_task.__wrapped__  # type: ignore[attr-defined]
    settings = from_app(app).settings
    limiter = RateLimiter(rate_limit or DEFAULT_RATE_LIMIT, storage_uri, exempt=PUBLIC_ENDPOINTS,
                          failure_limit=settings.auth_failure_limit, max_long_polls=settings.max_long_polls,
                          scope=hashlib.sha256(settings.database_url.encode()).hexdigest()[:12] + ":")
    limiter.init_app(app)
    app.extensions[RATE_LIMITER_KEY] = limiter  # the MCP door (mcp_server) counts in the same windows
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

    @app.errorhandler(RecursionError)
    def _too_deep(exc: RecursionError):  # type: ignore[no-untyped-def]
        # json.loads recurses once per nesting level: '[[[[...' is bad input, not a server fault.
        return jsonify(error={"code": "bad_request", "message": "The JSON body is nested too deeply."}), 400

    @app.errorhandler(DBAPIError)
    def _database_down(exc: DBAPIError):  # type: ignore[no-untyped-def]
        if not exc.connection_invalidated and not isinstance(exc, (OperationalError, InterfaceError)):
            return _unexpected(exc)
        logger.error("database error on %s %s: %s", request.method, request.path, exc.__class__.__name__)
        return jsonify(error={"code": "unavailable", "message": "The database is not answering; try again "
                              "shortly (operators: check DATABASE_URL and the database server)."}), 503

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify(error={"code": "internal_error", "message": "Internal error; it has been logged."}), 500
