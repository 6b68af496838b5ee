"""Every table of OperatorOS: SQLAlchemy 2 typed models (Flask-SQLAlchemy binds them in app.py).

Nothing here imports Flask, so the CLI reaches the database without loading the web stack.
"""
# No `from __future__ import annotations` here: SQLAlchemy would then eval every Mapped[...] string
# at import, which costs the CLI's start about 20 ms.

import enum
import uuid
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[Role] = mapped_column(sa.Enum(Role, length=16, **_str_enum), default=Role.USER)
    api_key_hash: Mapped[str | None] = mapped_column(sa.String(128), unique=True)
    api_key_prefix: Mapped[str | None] = mapped_column(sa.String(16))
    tokens_used: Mapped[int] = mapped_column(default=0)
    cost_used_usd: Mapped[float] = mapped_column(sa.Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationSession(Base):
    """One conversation of one user; the provider's conversation id is kept for reuse."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str | None] = mapped_column(sa.String(200))
    context: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    provider_conversation_id: Mapped[str | None] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.Index("ix_sessions_user_updated", "user_id", "updated_at"),)


class Message(Base):
    """One turn of a conversation, with the intent understood and the task it made."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(sa.ForeignKey("sessions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(16))
    content: Mapped[str] = mapped_column(sa.Text)
    intent: Mapped[str | None] = mapped_column(sa.String(32))
    data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    task_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tasks.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_messages_session_id_id", "session_id", "id"),
                      sa.Index("ix_messages_task_id", "task_id"))


class AgentPool(Base):
    """A domain pool; desired_size is the desired state that workers reconcile to."""

    __tablename__ = "agent_pools"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    desired_size: Mapped[int] = mapped_column(default=2)
    min_size: Mapped[int] = mapped_column(default=0)
    max_size: Mapped[int] = mapped_column(default=32)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("min_size >= 0 AND min_size <= desired_size AND desired_size <= max_size",
                           name="size_within_limits"),
    )


class Agent(Base):
    """One worker of a pool, with its heartbeat and counters."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True, default=new_id)
    pool: Mapped[str] = mapped_column(sa.ForeignKey("agent_pools.name"))
    process: Mapped[str] = mapped_column(sa.String(128))
    status: Mapped[AgentStatus] = mapped_column(sa.Enum(AgentStatus, length=16, **_str_enum),
                                                default=AgentStatus.IDLE)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    current_task_id: Mapped[int | None] = mapped_column()
    tasks_done: Mapped[int] = mapped_column(default=0)
    tasks_failed: Mapped[int] = mapped_column(default=0)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    total_latency_ms: Mapped[float] = mapped_column(sa.Float, default=0.0)
    last_latency_ms: Mapped[float | None] = mapped_column(sa.Float)
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_agents_pool_status", "pool", "status"),)


class Task(Base):
    """A unit of domain work in the durable queue."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    pool: Mapped[str] = mapped_column(sa.ForeignKey("agent_pools.name"))
    input: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[TaskStatus] = mapped_column(sa.Enum(TaskStatus, length=16, **_str_enum),
                                               default=TaskStatus.QUEUED)
    priority: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    timeout_seconds: Mapped[float] = mapped_column(sa.Float, default=120.0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(128))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    session_id: Mapped[str | None] = mapped_column(sa.ForeignKey("sessions.id", ondelete="SET NULL"))
    safety: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    """The pool's and the request's safety decision, made once at submission (SafetyDecision.to_json)."""
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    provider: Mapped[str | None] = mapped_column(sa.String(64))
    tokens_in: Mapped[int] = mapped_column(default=0)
    tokens_out: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Every claim and result rewrites a row's status, so each index here costs each of them an insert
        # (PostgreSQL cannot update in place, "HOT", when an indexed column changes): keep them few.
        # Statuses (the sweeps, queue statistics): status leads, and the lease is the sweep's range.
        sa.Index("ix_tasks_status_lease", "status", "lease_expires_at"),
        sa.Index("ix_tasks_user_created", "user_id", "created_at"),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_tasks_user_idempotency"),
        sa.CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="attempts_valid"),
    )


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

    __tablename__ = "workflows"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    definition: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    schedule: Mapped[str | None] = mapped_column(sa.String(100))
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.Index("ix_workflows_user_id", "user_id", "id"),)


class WorkflowRun(Base):
    """One execution of a workflow."""

    __tablename__ = "workflow_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(sa.ForeignKey("workflows.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(sa.String(16), default="running")
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.Index("ix_workflow_runs_status", "status", "id"),)


class WorkflowStep(Base):
    """One step of one run, persisted so a resumed run never repeats a done step."""

    __tablename__ = "workflow_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    task_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tasks.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.UniqueConstraint("run_id", "key", name="uq_workflow_steps_run_key"),
                      sa.Index("ix_workflow_steps_task_id", "task_id"))


class ProviderCall(Base):
    """One call to an AI provider: usage, latency, outcome and estimated cost."""

    __tablename__ = "provider_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(32))
    model: Mapped[str] = mapped_column(sa.String(100))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    task_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tasks.id", ondelete="SET NULL"))
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    tokens_in: Mapped[int] = mapped_column(default=0)
    tokens_out: Mapped[int] = mapped_column(default=0)
    latency_ms: Mapped[float] = mapped_column(sa.Float, default=0.0)
    outcome: Mapped[str] = mapped_column(sa.String(32))
    error: Mapped[str | None] = mapped_column(sa.Text)
    cost_usd: Mapped[float] = mapped_column(sa.Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.Index("ix_provider_calls_provider_created", "provider", "created_at"),
        sa.Index("ix_provider_calls_user_created", "user_id", "created_at"),
        sa.Index("ix_provider_calls_task_id", "task_id"),
    )


class HealthSnapshot(Base):
    """A periodic reading of system, queue and pool health, kept for a while."""

    __tablename__ = "health_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    alerts: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)


class AuditLog(Base):
    """Who did what administrative action, to what, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64))
    target: Mapped[str | None] = mapped_column(sa.String(200))
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    __table_args__ = (sa.Index("ix_audit_log_action_id", "action", "id"),)


class TaskEvent(Base):
    """One step of a task's life (queued, claimed, a provider or tool call, a retry, the result), in order."""

    __tablename__ = "task_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_task_events_task_id", "task_id", "id"),)


class DailyTotal(Base):
    """What the metrics keep of finished tasks and provider calls that retention deleted, per day and name."""

    __tablename__ = "daily_totals"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    """'tasks' (name: the pool) or 'provider_calls' (name: the provider)."""
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    rows: Mapped[int] = mapped_column()
    failed: Mapped[int] = mapped_column()
    tokens_in: Mapped[int] = mapped_column(sa.BigInteger)
    tokens_out: Mapped[int] = mapped_column(sa.BigInteger)
    cost_usd: Mapped[float] = mapped_column(sa.Float)
    latency_ms: Mapped[float] = mapped_column(sa.Float)
    """Sum of the latencies (tasks: finished - started), to divide by rows."""
