"""Every table of OperatorOS: SQLAlchemy 2 typed models (Flask-SQLAlchemy binds them in app.py).

Nothing here imports Flask, so the CLI reaches the database without loading the web stack.

Each model maps a Core `sa.Table` given as `__table__` ("declarative with imperative table"), and
declares its attributes' `Mapped[...]` types for the type checker only (`if TYPE_CHECKING:`).
Declarative then has no annotation to scan and no `mapped_column` to turn into a Column: every
process that imports this module (each CLI command first) builds the fourteen tables and mappers in
about a third of the instructions the annotated form took. A column's NULL-ability is therefore
said twice, `nullable=False` here and a non-Optional `Mapped[...]` there; tests/test_models.py
checks that both, and the names, agree.
"""

import enum
import uuid
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

if TYPE_CHECKING:
    from sqlalchemy.orm import Mapped

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Stable constraint names, so migrations behave the same on SQLite and PostgreSQL."""


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A random, URL-safe identifier for sessions and agents."""
    return uuid.uuid4().hex


class UTCDateTime(sa.types.TypeDecorator):
    """A datetime stored as naive UTC and always read back timezone-aware (SQLite drops tz)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class TaskStatus(str, enum.Enum):
    """Task lifecycle: queued -> running -> succeeded | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True for the three end states."""
        return self in (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED)


class AgentStatus(str, enum.Enum):
    """An agent's state in its pool."""

    IDLE = "idle"
    BUSY = "busy"
    FAILED = "failed"
    STOPPED = "stopped"


class Role(str, enum.Enum):
    """What a user may do: admins scale, restart and manage users."""

    ADMIN = "admin"
    USER = "user"


class Base(DeclarativeBase):
    """Declarative base shared by every model and by Alembic."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # SQLAlchemy types __table__ as any FromClause (a model may map a join or a select); every model
        # here maps one Table, so the core insert/update/delete calls on Model.__table__ type-check.
        __table__: ClassVar[sa.Table]


_str_enum = {"native_enum": False, "validate_strings": True, "values_callable": lambda e: [m.value for m in e]}


class User(Base):
    """A person or agent using OperatorOS; API keys are stored only as hashes."""

    __table__ = sa.Table(
        "users", Base.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.Enum(Role, length=16, **_str_enum), nullable=False, default=Role.USER),
        sa.Column("api_key_hash", sa.String(128), unique=True),
        sa.Column("api_key_prefix", sa.String(16)),
        sa.Column("tokens_used", sa.Integer, nullable=False, default=0),
        sa.Column("cost_used_usd", sa.Float, nullable=False, default=0.0),
        sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    )

    if TYPE_CHECKING:
        id: Mapped[int]
        name: Mapped[str]
        role: Mapped[Role]
        api_key_hash: Mapped[str | None]
        api_key_prefix: Mapped[str | None]
        tokens_used: Mapped[int]
        cost_used_usd: Mapped[float]
        created_at: Mapped[datetime]


class ConversationSession(Base):
    """One conversation of one user; the provider's conversation id is kept for reuse."""

    __table__ = sa.Table(
        "sessions", Base.metadata,
        sa.Column("id", sa.String(32), primary_key=True, default=new_id),
        sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(200)),
        sa.Column("context", sa.JSON, nullable=False, default=dict),
        sa.Column("provider_conversation_id", sa.String(128)),
        sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
        sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
        sa.Index("ix_sessions_user_updated", "user_id", "updated_at"),
    )

    if TYPE_CHECKING:
        id: Mapped[str]
        user_id: Mapped[int]
        title: Mapped[str | None]
        context: Mapped[dict[str, Any]]
        provider_conversation_id: Mapped[str | None]
        created_at: Mapped[datetime]
        updated_at: Mapped[datetime]


class Message(Base):
    """One turn of a conversation, with the intent understood and the task it made."""

    __table__ = sa.Table(
        "messages", Base.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("intent", sa.String(32)),
        sa.Column("data", sa.JSON),
        sa.Column("task_id", sa.ForeignKey("tasks.id", ondelete="SET NULL")),
        sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
        sa.Index("ix_messages_session_id_id", "session_id", "id"),
        sa.Index("ix_messages_task_id", "task_id"),
    )

    if TYPE_CHECKING:
        id: Mapped[int]
        session_id: Mapped[str]
        role: Mapped[str]
        content: Mapped[str]
        intent: Mapped[str | None]
        data: Mapped[dict[str, Any] | None]
        task_id: Mapped[int | None]
        created_at: Mapped[datetime]


class AgentPool(Base):
    """A domain pool; desired_size is the desired state that workers reconcile to."""

    __table__ = sa.Table(
        "agent_pools", Base.metadata,
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("desired_size", sa.Integer, nullable=False, default=2),
        sa.Column("min_size", sa.Integer, nullable=False, default=0),
        sa.Column("max_size", sa.Integer, nullable=False, default=32),
        sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
        sa.CheckConstraint("min_size >= 0 AND min_size <= desired_size AND desired_size <= max_size",
                           name="size_within_limits"),
    )

    if TYPE_CHECKING:
        name: Mapped[str]
        desired_size: Mapped[int]
        min_size: Mapped[int]
        max_size: Mapped[int]
        updated_at: Mapped[datetime]


class Agent(Base):
    """One worker of a pool, with its heartbeat and counters."""

    __table__ = sa.Table(
        "agents", Base.metadata,
        sa.Column("id", sa.String(64), primary_key=True, default=new_id),
        sa.Column("pool", sa.ForeignKey("agent_pools.name"), nullable=False),
        sa.Column("process", sa.String(128), nullable=False),
        sa.Column("status", sa.Enum(AgentStatus, length=16, **_str_enum), nullable=False,
                  default=AgentStatus.IDLE),
        sa.Column("heartbeat_at", UTCDateTime, nullable=False, default=utcnow),
        sa.Column("started_at", UTCDateTime, nullable=False, default=utcnow),
        sa.Column("current_task_id", sa.Integer),
        sa.Column("tasks_done", sa.Integer, nullable=False, default=0),
        sa.Column("tasks_failed", sa.Integer, nullable=False, default=0),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, default=0),
        sa.Column("total_latency_ms", sa.Float, nullable=False, default=0.0),
        sa.Column("last_latency_ms", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.Index("ix_agents_pool_status", "pool", "status"),
    )

    if TYPE_CHECKING:
        id: Mapped[str]
        pool: Mapped[str]
        process: Mapped[str]
        status: Mapped[AgentStatus]
        heartbeat_at: Mapped[datetime]
        started_at: Mapped[datetime]
        current_task_id: Mapped[int | None]
        tasks_done: Mapped[int]
        tasks_failed: Mapped[int]
        consecutive_failures: Mapped[int]
        total_latency_ms: Mapped[float]
        last_latency_ms: Mapped[float | None]
        last_error: Mapped[str | None]


class Task(Base):
    """A unit of domain work in the durable queue."""

    __table__ = sa.Table(
        "tasks", Base.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pool", sa.ForeignKey("agent_pools.name"), nullable=False),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("status", sa.Enum(TaskStatus, length=16, **_str_enum), nullable=False,
                  default=TaskStatus.QUEUED),
        sa.Column("priority", sa.Integer, nullable=False, default=0),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("max_attempts", sa.Integer, nullable=False, default=3),
        sa.Column("timeout_seconds", sa.Float, nullable=False, default=120.0),
        sa.Column("run_after", UTCDateTime, nullable=False, default=utcnow),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_expires_at", UTCDateTime),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
        sa.Column("idempotency_key", sa.String(128)),
        sa.Column("user_id", sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("session_id", sa.ForeignKey("sessions.id", ondelete="SET NULL")),
        sa.Column("safety", sa.JSON),
        sa.Column("result", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("provider", sa.String(64)),
        sa.Column("tokens_in", sa.Integer, nullable=False, default=0),
        sa.Column("tokens_out", sa.Integer, nullable=False, default=0),
        sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
        sa.Column("started_at", UTCDateTime),
        sa.Column("finished_at", UTCDateTime),
        # Every claim and result rewrites a row's status, so each index here costs each of them an insert
        # (PostgreSQL cannot update in place, "HOT", when an indexed column changes): keep them few.
        # Statuses (the sweeps, queue statistics): status leads, and the lease is the sweep's range.
        sa.Index("ix_tasks_status_lease", "status", "lease_expires_at"),
        sa.Index("ix_tasks_user_created", "user_id", "created_at"),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_tasks_user_idempotency"),
        sa.CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="attempts_valid"),
    )

    if TYPE_CHECKING:
        id: Mapped[int]
        pool: Mapped[str]
        input: Mapped[str]
        status: Mapped[TaskStatus]
        priority: Mapped[int]
        attempts: Mapped[int]
        max_attempts: Mapped[int]
        timeout_seconds: Mapped[float]
        run_after: Mapped[datetime]
        lease_owner: Mapped[str | None]
        lease_expires_at: Mapped[datetime | None]
        cancel_requested: Mapped[bool]
        idempotency_key: Mapped[str | None]
        user_id: Mapped[int | None]
        session_id: Mapped[str | None]
        safety: Mapped[dict[str, Any] | None]
        """The pool's and the request's safety decision, made once at submission (SafetyDecision.to_json)."""
        result: Mapped[dict[str, Any] | None]
        error: Mapped[str | None]
        provider: Mapped[str | None]
        tokens_in: Mapped[int]
        tokens_out: Mapped[int]
        created_at: Mapped[datetime]
        started_at: Mapped[datetime | None]
        finished_at: Mapped[datetime | None]


# The claim: WHERE pool=? AND status='queued' AND run_after<=now ORDER BY priority DESC, id. Migration 0002
# makes it partial, WHERE status = 'queued', so that only queued rows have an entry and a claim or a
# result adds none (the claim statements name 'queued' literally, as a partial index needs). The
# predicate is not repeated here: postgresql_where would load SQLAlchemy's PostgreSQL dialect (30 ms)
# into every command, and the schema comes from the migrations, never from this metadata.
sa.Index("ix_tasks_claim", Task.pool, Task.priority.desc(), Task.id)
# Migration 0004, partial like the claim index (predicates in the migration only): the status counts, a pool's recent
# metrics and the retention purge (WHERE finished_at IS NOT NULL), a user's task list newest first,
# and the lookups of the foreign-key actions when a purge deletes a task or a session.
sa.Index("ix_tasks_pool_finished", Task.pool, Task.finished_at, Task.status)
sa.Index("ix_tasks_user_id", Task.user_id, Task.id)
sa.Index("ix_tasks_session_id", Task.session_id)


class Workflow(Base):
    """A saved definition of steps with dependencies, optionally on a cron schedule."""

    __table__ = sa.Table(
        "workflows", Base.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("schedule", sa.String(100)),
        sa.Column("next_run_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
        sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
        sa.Index("ix_workflows_user_id", "user_id", "id"),
    )

    if TYPE_CHECKING:
        id: Mapped[int]
        user_id: Mapped[int | None]
        name: Mapped[str]
        description: Mapped[str | None]
        definition: Mapped[dict[str, Any]]
        schedule: Mapped[str | None]
        next_run_at: Mapped[datetime | None]
        created_at: Mapped[datetime]
        updated_at: Mapped[datetime]


class WorkflowRun(Base):
    """One execution of a workflow."""

    __table__ = sa.Table(
        "workflow_runs", Base.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workflow_id", sa.ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("status", sa.String(16), nullable=False, default="running"),
        sa.Column("error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
        sa.Column("finished_at", UTCDateTime),
        sa.Index("ix_workflow_runs_status", "status", "id"),
    )

    if TYPE_CHECKING:
        id: Mapped[int]
        workflow_id: Mapped[int]
        user_id: Mapped[int | None]
        status: Mapped[str]
        error: Mapped[str | None]
        created_at: Mapped[datetime]
        finished_at: Mapped[datetime | None]


class WorkflowStep(Base):
    """One step of one run, persisted so a resumed run never repeats a done step."""

    __table__ = sa.Table(
        "workflow_steps", Base.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.ForeignKey("workflow_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, default="pending"),
        sa.Column("task_id", sa.ForeignKey("tasks.id", ondelete="SET NULL")),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("result", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("decided_by", sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("started_at", UTCDateTime),
        sa.Column("finished_at", UTCDateTime),
        sa.UniqueConstraint("run_id", "key", name="uq_workflow_steps_run_key"),
        sa.Index("ix_workflow_steps_task_id", "task_id"),
    )

    if TYPE_CHECKING:
        id: Mapped[int]
        run_id: Mapped[int]
        key: Mapped[str]
        kind: Mapped[str]
        status: Mapped[str]
        task_id: Mapped[int | None]
        attempts: Mapped[int]
        result: Mapped[dict[str, Any] | None]
        error: Mapped[str | None]
        decided_by: Mapped[int | None]
        started_at: Mapped[datetime | None]
        finished_at: Mapped[datetime | None]


class ProviderCall(Base):
    """One call to an AI provider: usage, latency, outcome and estimated cost."""

    __table__ = sa.Table(
        "provider_calls", Base.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("user_id", sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("task_id", sa.ForeignKey("tasks.id", ondelete="SET NULL")),
        sa.Column("request_id", sa.String(64)),
        sa.Column("tokens_in", sa.Integer, nullable=False, default=0),
        sa.Column("tokens_out", sa.Integer, nullable=False, default=0),
        sa.Column("latency_ms", sa.Float, nullable=False, default=0.0),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("cost_usd", sa.Float, nullable=False, default=0.0),
        sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
        sa.Index("ix_provider_calls_provider_created", "provider", "created_at"),
        sa.Index("ix_provider_calls_user_created", "user_id", "created_at"),
        sa.Index("ix_provider_calls_task_id", "task_id"),
    )

    if TYPE_CHECKING:
        id: Mapped[int]
        provider: Mapped[str]
        model: Mapped[str]
        user_id: Mapped[int | None]
        task_id: Mapped[int | None]
        request_id: Mapped[str | None]
        tokens_in: Mapped[int]
        tokens_out: Mapped[int]
        latency_ms: Mapped[float]
        outcome: Mapped[str]
        error: Mapped[str | None]
        cost_usd: Mapped[float]
        created_at: Mapped[datetime]


class HealthSnapshot(Base):
    """A periodic reading of system, queue and pool health, kept for a while."""

    __table__ = sa.Table(
        "health_snapshots", Base.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow, index=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("alerts", sa.JSON, nullable=False, default=list),
    )

    if TYPE_CHECKING:
        id: Mapped[int]
        created_at: Mapped[datetime]
        data: Mapped[dict[str, Any]]
        alerts: Mapped[list[Any]]


class AuditLog(Base):
    """Who did what administrative action, to what, and when."""

    __table__ = sa.Table(
        "audit_log", Base.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("actor_user_id", sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200)),
        sa.Column("details", sa.JSON),
        sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow, index=True),
        sa.Index("ix_audit_log_action_id", "action", "id"),
    )

    if TYPE_CHECKING:
        id: Mapped[int]
        actor_user_id: Mapped[int | None]
        actor: Mapped[str]
        action: Mapped[str]
        target: Mapped[str | None]
        details: Mapped[dict[str, Any] | None]
        created_at: Mapped[datetime]


class TaskEvent(Base):
    """One step of a task's life (queued, claimed, a provider or tool call, a retry, the result), in order."""

    __table__ = sa.Table(
        "task_events", Base.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("task_id", sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON),
        sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
        sa.Index("ix_task_events_task_id", "task_id", "id"),
    )

    if TYPE_CHECKING:
        id: Mapped[int]
        task_id: Mapped[int]
        kind: Mapped[str]
        data: Mapped[dict[str, Any] | None]
        created_at: Mapped[datetime]


class DailyTotal(Base):
    """What the metrics keep of finished tasks and provider calls that retention deleted, per day and name."""

    __table__ = sa.Table(
        "daily_totals", Base.metadata,
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("tokens_in", sa.BigInteger, nullable=False),
        sa.Column("tokens_out", sa.BigInteger, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
    )

    if TYPE_CHECKING:
        day: Mapped[date]
        kind: Mapped[str]
        """'tasks' (name: the pool) or 'provider_calls' (name: the provider)."""
        name: Mapped[str]
        rows: Mapped[int]
        failed: Mapped[int]
        tokens_in: Mapped[int]
        tokens_out: Mapped[int]
        cost_usd: Mapped[float]
        latency_ms: Mapped[float]
        """Sum of the latencies (tasks: finished - started), to divide by rows."""
