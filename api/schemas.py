"""Typed request and response schemas of the REST API (pydantic), from which /api/openapi.json is built."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr, model_validator
from spectree import SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData

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
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    error: ErrorObject


class Liveness(_Out):
    status: Literal["ok"]


class Readiness(_Out):
    ready: bool
    database: dict[str, Any]
    backend: dict[str, Any] = Field(description="The queue backend: name, ok, detail (Celery: a PING of Redis).")


VISIBLE = r"[^\s\x1c-\x1f\x85\ufeff]"
"""A text must hold a character of this class: not blank. Spelled out because '\\S' differs between
Python's, Rust's (pydantic) and JSON Schema's (ECMA) engines on U+001C-U+001F, U+0085 and U+FEFF."""


class CommandIn(_In):
    text: StrictStr = Field(min_length=1, max_length=4000, pattern=VISIBLE)
    session_id: StrictStr = Field(default=None, min_length=1, max_length=64)  # type: ignore[assignment]
    dry_run: StrictBool = False


class CommandOut(_Out):
    ok: bool
    intent: str
    args: dict[str, Any]
    response: str
    data: dict[str, Any]
    session_id: str | None
    user: str | None
    steps: list[dict[str, Any]] | None = None
    error: ErrorObject | None = None


class TaskIn(_In):
    input: StrictStr = Field(min_length=1, max_length=20_000, pattern=VISIBLE)
    pool: PoolName = None  # type: ignore[assignment]
    priority: JsonInt = Field(default=0, ge=-100, le=100)
    idempotency_key: StrictStr = Field(default=None, min_length=1, max_length=128)  # type: ignore[assignment]


TriageLevel = Literal["emergency", "urgent", "soon", "self_care", "undetermined"]


class TriageOut(_Out):
    """A healthcare task's triage as data (domains.triage.TriageResult.as_data)."""

    level: TriageLevel = Field(description="The level the built-in rules gave; a provider's reply never lowers it.")
    reasons: list[str] = Field(description="Why, one line per rule met at that level.")
    sources: list[str] = Field(description="The published guidance behind the level (NHS, NICE, AHA, RCUK).")


class TaskResultOut(_Out):
    """A task's result: `text` and `provider` for domain tasks, other keys as the executor writes them."""

    triage: TriageOut | None = Field(default=None, description="Healthcare tasks only: the symptom triage as "
                                     "data, alongside the reply text.")


class TaskOut(_Out):
    id: int
    pool: str
    input: str
    status: TaskState
    priority: int
    attempts: int
    max_attempts: int
    result: TaskResultOut | None = Field(description="The recorded result once done; a healthcare task's "
                                         "carries `triage` ({level, reasons, sources}).")
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None


class TaskList(_Out):
    tasks: list[TaskOut]
    next_before_id: int | None


class TaskQuery(_In):
    status: TaskState | None = None
    pool: PoolName | None = None
    limit: int = Field(default=50, ge=1, le=500)
    before_id: int | None = Field(default=None, ge=1, le=2**63 - 1)  # a database integer


class WaitQuery(_In):
    wait: float = Field(default=0.0, ge=0.0, le=60.0)


class ScaleIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "oneOf": [{"required": ["size"], "not": {"required": ["delta"]}},
                  {"required": ["delta"], "not": {"required": ["size"]}}]})

    size: JsonInt = Field(default=None, ge=0, le=1000)  # type: ignore[assignment]
    delta: JsonInt = Field(default=None, ge=-1000, le=1000)  # type: ignore[assignment]

    @model_validator(mode="after")
    def _one_of(self) -> ScaleIn:
        if (self.size is None) == (self.delta is None):
            raise ValueError("give exactly one of 'size' or 'delta'")
        return self


class PoolOut(_Out):
    name: str
    desired_size: int
    min_size: int
    max_size: int
    live_agents: int
    busy_agents: int
    failed_agents: int
    queued_tasks: int


class PoolList(_Out):
    pools: list[PoolOut]


class RestartOut(_Out):
    pool: str | None
    restarted_agents: int


class UserIn(_In):
    name: StrictStr = Field(pattern=r"^[A-Za-z0-9_.@\-]{1,64}$")
    role: Literal["admin", "user"] = "user"


class UserOut(_Out):
    name: str
    role: str
    api_key: str = Field(description="Shown once; only its hash is stored.")


class SessionOut(_Out):
    id: str
    title: str | None
    created_at: str
    updated_at: str


class SessionList(_Out):
    sessions: list[SessionOut]


class MessageOut(_Out):
    id: int
    role: str
    content: str
    intent: str | None
    task_id: int | None
    created_at: str


class MessageList(_Out):
    messages: list[MessageOut]


class MessagesQuery(_In):
    limit: int = Field(default=50, ge=1, le=500)


class AnyObject(_Out):
    """A JSON object (status, metrics)."""


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


spec = SpecTree(
    "flask", title="OperatorOS API", version="1", path="apidoc", page_templates={},
    validation_error_status=400, before=on_validation, annotations=True,
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(type="http", scheme="bearer"))],
    security={"bearer": []},
)
"""Schema registry: validates requests and responses and builds the OpenAPI document."""

ERRORS = {f"HTTP_{code}": ErrorBody for code in (400, 401, 403, 404, 409, 413, 422, 429)}
"""The error responses every route documents."""
