"""Typed request and response schemas of the REST API (pydantic), from which /api/openapi.json is built."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr, model_validator
from spectree import SecurityScheme
from spectree.models import SecureType, SecuritySchemeData

from api.openapi import OpenAPISpec
from errors import BadRequest
from values import Pool

PoolName = Pool
"""The pool names, from the one Pool type."""
TaskState = Literal["queued", "running", "succeeded", "failed", "cancelled"]


def _json_integer(value: Any) -> Any:
    """JSON Schema's integer: 3 and 3.0, but not "3", true or 3.5."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_json_integer)]
"""An integer as JSON Schema means it."""


class _In(BaseModel):
    """Request bodies: unknown fields are refused (no mass assignment).

    Optional fields are typed without None and default to None: an explicit null is refused,
    as the schema says, while an absent field reads as None.
    """

    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    """Responses: documented fields, extra ones allowed."""

    model_config = ConfigDict(extra="allow")


class ErrorObject(BaseModel):
    """What went wrong, in words a caller can act on."""

    code: str = Field(description="Stable machine-readable code.", examples=["not_found"])
    message: str = Field(description="What went wrong and which thing it concerns.", examples=["No such task: 42"])
    details: dict[str, Any] | None = Field(
        default=None, description="More about it, such as the invalid fields of a 400.",
        examples=[{"errors": ["input: String should have at least 1 character"]}])


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer: {"error": {code, message}}."""

    error: ErrorObject


class Liveness(_Out):
    """The process answers."""

    status: Literal["ok"] = Field(examples=["ok"])


class DatabaseState(_Out):
    """The database: which engine, and, when it was checked, whether and how fast it answered."""

    dialect: str = Field(description="SQLAlchemy dialect name.", examples=["sqlite", "postgresql"])
    ok: bool | None = Field(default=None, description="It answered a trivial query (absent when not checked).")
    latency_ms: float | None = Field(default=None, description="Time that query took.", examples=[0.4])
    error: str | None = Field(default=None, description="Error class when it did not answer.",
                              examples=["OperationalError"])
    url: str | None = Field(default=None, description="Database URL without its password; admins only.",
                            examples=["sqlite:////srv/operatoros/instance/operatoros.db"])


class BackendState(_Out):
    """The queue backend and whether its transport answers (Celery: a PING of Redis)."""

    name: str = Field(description="'local' or 'celery'.", examples=["local"])
    ok: bool = Field(description="It answered.")
    detail: str | None = Field(default=None, description="What was checked, or why it failed.")


class Readiness(_Out):
    """Whether this server can take work: its database, and its queue backend's transport."""

    ready: bool = Field(description="Every check passed (the status is then 200, else 503).")
    database: DatabaseState
    backend: BackendState


VISIBLE = r"[^\s\x1c-\x1f\x85\ufeff]"
"""A text must hold a character of this class: not blank. Spelled out because '\\S' differs between
Python's, Rust's (pydantic) and JSON Schema's (ECMA) engines on U+001C-U+001F, U+0085 and U+FEFF."""


class CommandIn(_In):
    """One plain-language request, as typed at the CLI."""

    text: StrictStr = Field(min_length=1, max_length=4000, pattern=VISIBLE, description="The request.",
                            examples=["scale healthcare to 4 and show status"])
    session_id: StrictStr = Field(  # type: ignore[assignment]
        default=None, min_length=1, max_length=64,
        description="Conversation to continue (context for follow-ups); default: the caller's latest.")
    dry_run: StrictBool = Field(default=False, description="Say what would be done; change and run nothing.")


class CommandStep(_Out):
    """One command's reply within a compound request."""

    ok: bool
    intent: str = Field(examples=["scale"])
    args: dict[str, Any] = Field(examples=[{"pool": "healthcare", "size": 4}])
    response: str
    data: dict[str, Any]
    error: ErrorObject | None = None


class CommandOut(_Out):
    """The CLI's JSON reply: what was understood, done and said."""

    ok: bool = Field(description="False when the request failed (see error).")
    intent: str = Field(description="What the request was understood as; 'multi' for a compound request.",
                        examples=["status", "submit", "multi"])
    args: dict[str, Any] = Field(description="Its arguments.", examples=[{"pool": "healthcare"}])
    response: str = Field(description="The conversational reply.")
    data: dict[str, Any] = Field(description="The data behind the reply (a submission's task in data.task).")
    session_id: str | None = Field(description="The conversation it was recorded in.")
    user: str | None = Field(description="Who asked.", examples=["admin"])
    steps: list[CommandStep] | None = Field(default=None, description="One reply per command of a compound request.")
    error: ErrorObject | None = None


class TaskIn(_In):
    """Domain work for the pools."""

    input: StrictStr = Field(min_length=1, max_length=20_000, pattern=VISIBLE, description="The request to work.",
                             examples=["Summarise this week's sales figures for the board"])
    pool: PoolName = Field(default=None,  # type: ignore[assignment]
                           description="Pool to work it; default: chosen from the text.")
    priority: JsonInt = Field(default=0, ge=-100, le=100, description="Higher is claimed first.", examples=[0])
    idempotency_key: StrictStr = Field(  # type: ignore[assignment]
        default=None, min_length=1, max_length=128,
        description="The same key returns the task it made first (200) instead of queueing another.",
        examples=["board-report-2026-w49"])


TriageLevel = Literal["emergency", "urgent", "soon", "self_care", "undetermined"]


class TriageOut(_Out):
    """A healthcare task's triage as data (domains.triage.TriageResult.as_data)."""

    level: TriageLevel = Field(description="The level the built-in rules gave; a provider's reply never lowers it.")
    reasons: list[str] = Field(description="Why, one line per rule met at that level.")
    sources: list[str] = Field(description="The published guidance behind the level (NHS, NICE, AHA, RCUK).")


class TaskResultOut(_Out):
    """A task's result: `text` and `provider` for domain tasks, other keys as the executor writes them."""

    text: str | None = Field(default=None, description="The reply, safety policies applied.")
    provider: str | None = Field(default=None, description="Who answered: 'local' for the built-in analyzers, "
                                 "'safety-policy' for an emergency answered by the rules alone.")
    safety: list[str] | None = Field(default=None, description="The safety flags the request raised.")
    triage: TriageOut | None = Field(default=None, description="Healthcare tasks only: the symptom triage as "
                                     "data, alongside the reply text.")


class TaskOut(_Out):
    """A task and where it is in its life: queued -> running -> succeeded | failed | cancelled."""

    id: int = Field(examples=[42])
    pool: str = Field(examples=["general"])
    input: str
    status: TaskState
    priority: int
    attempts: int = Field(description="Times a worker claimed it.")
    max_attempts: int
    result: TaskResultOut | None = Field(
        description="The answer once it succeeded: `text`, and per pool more (a healthcare task's `triage`).",
        examples=[{"text": "Sales rose 4% on last week."}])
    error: str | None = Field(description="Why it failed, once it has.")
    created_at: str = Field(description="ISO 8601 time, UTC.", examples=["2026-12-07T09:00:00+00:00"])
    started_at: str | None
    finished_at: str | None
    user_id: int | None = Field(default=None, description="Who submitted it.")
    session_id: str | None = Field(default=None, description="The conversation it came from, if any.")
    idempotency_key: str | None = None
    cancel_requested: bool | None = Field(default=None, description="A cancel is pending for a running task.")
    provider: str | None = Field(default=None, description="Who answered: 'local' for the built-in analyzers.")
    tokens_in: int | None = None
    tokens_out: int | None = None
    timeout_seconds: float | None = None
    run_after: str | None = Field(default=None, description="Not claimed before this time (retry backoff).")
    idempotent_replay: bool | None = Field(default=None, description="True when an idempotency key returned it.")


class TaskList(_Out):
    """A page of tasks, newest first."""

    tasks: list[TaskOut]
    next_before_id: int | None = Field(description="Pass as before_id for the next page; null on the last.")


class TaskQuery(_In):
    status: TaskState | None = Field(default=None, description="Only tasks in this status.")
    pool: PoolName | None = Field(default=None, description="Only tasks of this pool.")
    limit: int = Field(default=50, ge=1, le=500, description="Most tasks returned.")
    before_id: int | None = Field(default=None, ge=1, le=2**63 - 1,  # a database integer
                                  description="Only tasks older than this id (paging).")


class WaitQuery(_In):
    wait: float = Field(default=0.0, ge=0.0, le=60.0, description="Seconds to wait for it to end (long poll).")


class ScaleIn(_In):
    """Exactly one of size or delta."""

    # "Exactly one" as JSON Schema says it of an object that takes only these two fields: one property.
    # (A oneOf of required-lists says the same, but client generators then lose the model for Any.)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1, "maxProperties": 1})

    size: JsonInt = Field(default=None, ge=0, le=1000,  # type: ignore[assignment]
                          description="The desired number of agents.", examples=[4])
    delta: JsonInt = Field(default=None, ge=-1000, le=1000,  # type: ignore[assignment]
                           description="Agents to add (negative: remove).", examples=[1])

    @model_validator(mode="after")
    def _one_of(self) -> ScaleIn:
        if (self.size is None) == (self.delta is None):
            raise ValueError("give exactly one of 'size' or 'delta'")
        return self


class PoolOut(_Out):
    """A pool: its desired size, its agents, its queue and recent metrics."""

    name: str = Field(examples=["healthcare"])
    desired_size: int = Field(description="Agents wanted (per worker process).", examples=[2])
    min_size: int
    max_size: int
    live_agents: int
    busy_agents: int
    failed_agents: int
    queued_tasks: int
    oldest_queued_age_seconds: float | None = Field(default=None, description="Wait of the oldest queued task.")
    utilisation: float | None = Field(default=None, description="Busy agents over live ones.", examples=[0.5])
    throughput_per_minute: float | None = Field(default=None, description="Tasks finished per minute, recently.")
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    error_rate: float | None = Field(default=None, description="Share of recent tasks that failed.")
    window_seconds: int | None = Field(default=None, description="The window the metrics cover.")
    previous_size: int | None = Field(default=None, description="After a scale: the desired size before it.")


class PoolList(_Out):
    pools: list[PoolOut]


class RestartOut(_Out):
    """What a restart released."""

    pool: str | None = Field(description="The pool restarted; null for all.")
    restarted_agents: int = Field(description="Failed agents released; workers start fresh ones.")
    pools: list[PoolOut] | None = None


class TaskCounts(_Out):
    """Number of tasks in each status."""

    queued: int
    running: int
    succeeded: int
    failed: int
    cancelled: int


class SystemMetrics(_Out):
    """This machine, read with psutil."""

    cpu_percent: float
    cpu_count: int
    load_average: list[float] = Field(description="1, 5 and 15 minutes.", examples=[[0.4, 0.5, 0.6]])
    memory_percent: float
    memory_used_mb: float
    memory_total_mb: float
    disk_percent: float = Field(description="Use of the instance folder's disk.")
    disk_free_gb: float
    process_rss_mb: float = Field(description="Resident memory of the server process.")


class ProviderState(_Out):
    """The AI provider configured, and each provider's circuit breaker once used."""

    configured: str = Field(examples=["local", "openai-chat"])
    model: str | None = Field(examples=["gpt-5-mini"])
    breakers: dict[str, Any]


class Alert(_Out):
    """A reading over a threshold."""

    severity: str = Field(examples=["warning"])
    check: str = Field(examples=["pool:healthcare:backlog"])
    message: str


class CeleryState(_Out):
    """With TASK_BACKEND=celery: the worker nodes seen."""

    namespace: str
    error: str | None
    nodes: list[dict[str, Any]]


class StorageSummary(_Out):
    """The database's size and history, as `db status` shows them but estimated so that reading stays cheap."""

    size_bytes: int = Field(description="Database size (file and WAL on SQLite).", examples=[52_428_800])
    tables: dict[str, Any] = Field(description="Per history table: rows (estimated by key span), oldest row.")
    last_backup: dict[str, Any] | None = Field(default=None, description="The newest backup's audit row.")
    last_purge: dict[str, Any] | None = Field(default=None, description="The newest purge's audit row.")
    revision: str | None = Field(description="Migration revision of the database.", examples=["0006"])
    revision_current: bool = Field(description="The revision is the one this code expects.")


class StatusOut(_Out):
    """System overview, the same data as the CLI's status."""

    pools: list[PoolOut]
    tasks: TaskCounts
    system: SystemMetrics | None = Field(default=None, description="Host figures; admins only.")
    database: DatabaseState
    storage: StorageSummary | None = Field(default=None, description="Size and history; admins only.")
    task_backend: Literal["local", "celery"]
    provider: ProviderState
    providers: dict[str, Any] = Field(description="Circuit state per provider.")
    alerts: list[Alert]
    celery: CeleryState | None = None


class HealthMetrics(_Out):
    """Machine, database (with latency), queue, pools and providers, and the alerts they raise."""

    ok: bool = Field(description="The database answers (and, with Celery, the broker).")
    system: SystemMetrics | None = Field(default=None, description="Host figures; admins only.")
    database: DatabaseState
    tasks: TaskCounts | None = Field(default=None, description="Absent when the database is down.")
    pools: list[PoolOut] | None = Field(default=None, description="Absent when the database is down.")
    provider: ProviderState | None = None
    providers: dict[str, Any] | None = None
    alerts: list[Alert]
    celery: CeleryState | None = None


class UserIn(_In):
    name: StrictStr = Field(pattern=r"^[A-Za-z0-9_.@\-]{1,64}$", examples=["alice"])
    role: Literal["admin", "user"] = Field(default="user", description="admin: scale, restart, users.")


class UserOut(_Out):
    name: str = Field(examples=["alice"])
    role: str = Field(examples=["user"])
    api_key: str = Field(description="Shown once; only its hash is stored.")


class KeyOut(_Out):
    """A user's key, by its prefix only (never the key or its hash)."""

    name: str = Field(examples=["alice"])
    role: str = Field(examples=["user"])
    key_prefix: str | None = Field(description="First 8 characters of the key, to recognise it.",
                                   examples=["oos_AbCd"])
    active: bool = Field(description="The user has a key (false once revoked).")


class KeyList(_Out):
    keys: list[KeyOut]


class RotatedKey(_Out):
    name: str = Field(examples=["alice"])
    api_key: str = Field(description="The new key, shown once; the old one stopped working.")
    key_prefix: str = Field(examples=["oos_AbCd"])


class RevokedKey(_Out):
    name: str = Field(examples=["alice"])
    active: Literal[False]


class SessionOut(_Out):
    """A conversation session."""

    id: str = Field(examples=["03d5609a8b6c42f19f69ebfbcf18e9a7"])
    title: str | None
    created_at: str
    updated_at: str


class SessionList(_Out):
    sessions: list[SessionOut]


class MessageOut(_Out):
    """One message of a conversation."""

    id: int
    role: str = Field(examples=["user", "assistant"])
    content: str
    intent: str | None
    task_id: int | None
    created_at: str


class MessageList(_Out):
    messages: list[MessageOut]


class MessagesQuery(_In):
    limit: int = Field(default=50, ge=1, le=500, description="Most messages returned (the latest).")


class OpenAPIDocument(_Out):
    """An OpenAPI 3.1 document."""

    openapi: str = Field(examples=["3.1.0"])
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any] | None = None


# -- the registry that validates requests and builds the OpenAPI document ----------------------------


def on_validation(req: Any, resp: Any, error: Any, instance: Any, *rest: Any) -> None:
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


spec = OpenAPISpec(
    "flask", title="OperatorOS API", path="apidoc", page_templates={},
    validation_error_status=400, validation_error_model=ErrorBody, before=on_validation, annotations=True,
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer"))],
    security={"bearer": []},
)
"""Schema registry: validates requests and responses and builds the OpenAPI document."""

ERRORS = {f"HTTP_{code}": ErrorBody for code in (400, 401, 403, 404, 409, 413, 422, 429, 500)}
"""The error answers every authenticated operation can give, each {"error": {code, message}}."""
