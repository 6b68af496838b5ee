"""Retention: old finished tasks, messages, provider calls and audit rows deleted in short batches.

Every batch is its own write transaction, kept short so that on SQLite the writer lock (one writer
at a time for the whole file) is never held for long: candidates are found first in a read-only
transaction, which takes no write lock, then deleted by id. A batch that held the lock longer than
LOCK_TARGET_MS halves the next batch. What the metrics and usage reports need of a deleted task or
provider call is added to daily_totals in the same transaction, from the rows the DELETE returned,
so two processes purging at once never count a row twice.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from database import read_only
from errors import BadRequest
from models import AuditLog, ConversationSession, DailyTotal, Message, ProviderCall, Task, TaskStatus, utcnow

logger = logging.getLogger(__name__)

KINDS = ("tasks", "messages", "provider_calls", "audit")
"""What retention deletes: finished tasks (with their results), conversation messages, provider calls, audit rows."""

DEFAULT_DAYS: Mapping[str, int] = {"tasks": 90, "messages": 180, "provider_calls": 90, "audit": 365}
"""Days each kind is kept by default; an environment variable per kind changes it (0: keep forever)."""

ENV_DAYS = "OPERATOROS_RETENTION_{}_DAYS"
"""Environment variable of a kind's days, e.g. OPERATOROS_RETENTION_TASKS_DAYS."""

DEFAULT_BATCH_SIZE = 200
"""Rows deleted per write transaction at most."""

MIN_BATCH_SIZE = 20
"""Smallest batch the adaptive halving goes down to."""

LOCK_TARGET_MS = 25.0
"""A batch that held the write transaction open longer than this halves the next one."""

RETENTION_INTERVAL_SECONDS = 3600.0
"""How often `serve` and `worker` apply the retention policy."""

FIRST_RUN_DELAY_SECONDS = 60.0
"""Wait after start-up before the first purge, leaving the start to the server."""

PURGE_ACTION = "db.purge"
"""audit_log.action of every purge that deleted rows (or was asked for by a person)."""

_FINISHED = (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED)
_T, _M, _P, _A, _S, _D = (m.__table__ for m in (Task, Message, ProviderCall, AuditLog, ConversationSession,
                                                 DailyTotal))


@dataclass
class RetentionPolicy:
    """Days kept per kind (None: forever) and the batch size."""

    days: dict[str, int | None] = field(default_factory=lambda: dict(DEFAULT_DAYS))
    """Per kind of KINDS."""
    batch_size: int = DEFAULT_BATCH_SIZE
    """Rows per write transaction at most."""

    def __post_init__(self) -> None:
        unknown = set(self.days) - set(KINDS)
        if unknown:
            raise BadRequest(f"Unknown retention kind {', '.join(sorted(unknown))}; kinds are {', '.join(KINDS)}.")
        for kind, days in self.days.items():
            if days is not None and days < 1:
                raise BadRequest(f"Retention of {kind} must be at least one day (or kept forever).")
        if self.batch_size < 1:
            raise BadRequest("The retention batch size must be at least 1.")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetentionPolicy:
        """The defaults, with OPERATOROS_RETENTION_<KIND>_DAYS applied (0 keeps that kind forever)."""
        env = os.environ if env is None else env
        days: dict[str, int | None] = dict(DEFAULT_DAYS)
        for kind in KINDS:
            name = ENV_DAYS.format(kind.upper())
            raw = env.get(name)
            if not raw:
                continue
            try:
                value = int(raw)
            except ValueError as exc:
                raise BadRequest(f"{name}={raw!r} is not a whole number of days") from exc
            if value < 0:
                raise BadRequest(f"{name}={raw!r}: give 0 (keep forever) or a number of days")
            days[kind] = value or None
        return cls(days=days)

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        """Per kind kept for a limited time, the time before which its rows go."""
        return {kind: now - timedelta(days=d) for kind, d in self.days.items() if d is not None}


@dataclass
class PurgeReport:
    """What one purge deleted, and how long its longest write transaction was."""

    deleted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS + ("sessions",), 0))
    """Rows deleted per kind."""
    batches: int = 0
    """Write transactions run."""
    longest_hold_ms: float = 0.0
    """Longest write transaction, from its BEGIN to its COMMIT (on SQLite: the writer lock's hold)."""
    holds_ms: list[float] = field(default_factory=list)
    """Every write transaction's length."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the list of holds)."""
        return {"deleted": dict(self.deleted), "batches": self.batches,
                "longest_hold_ms": round(self.longest_hold_ms, 2)}


class Purger:
    """Deletes rows in batches of short write transactions, keeping their aggregates first."""

    def __init__(self, engine: Engine, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.report = PurgeReport()

    # -- the kinds -------------------------------------------------------------------------

    def tasks_before(self, cutoff: datetime) -> None:
        """Finished tasks that ended before `cutoff`, pool by pool through ix_tasks_pool_finished."""
        with read_only(self.engine) as conn:
            pools = list(conn.execute(sa.text("SELECT name FROM agent_pools")).scalars())
        for pool in pools:
            query = (sa.select(_T.c.id).where(_T.c.pool == pool, _T.c.finished_at < cutoff,
                                              _T.c.status.in_(_FINISHED))
                     .order_by(_T.c.finished_at))
            self._drain("tasks", query, self._delete_tasks)

    def messages_before(self, cutoff: datetime) -> None:
        """Messages written before `cutoff`."""
        self._walk_by_id("messages", _M, cutoff, lambda ids: self._delete_plain(_M, ids))

    def provider_calls_before(self, cutoff: datetime) -> None:
        """Provider calls made before `cutoff`, their totals kept in daily_totals."""
        self._walk_by_id("provider_calls", _P, cutoff, self._delete_provider_calls)

    def audit_before(self, cutoff: datetime) -> None:
        """Audit rows written before `cutoff` (through their created_at index)."""
        query = sa.select(_A.c.id).where(_A.c.created_at < cutoff).order_by(_A.c.created_at)
        self._drain("audit", query, lambda ids: self._delete_plain(_A, ids))

    def user_data(self, user_id: int) -> None:
        """A user's sessions (with their messages) and tasks, except tasks running now."""
        tasks = (sa.select(_T.c.id).where(_T.c.user_id == user_id, _T.c.status != TaskStatus.RUNNING)
                 .order_by(_T.c.id))
        self._drain("tasks", tasks, self._delete_tasks)
        with read_only(self.engine) as conn:
            sessions = list(conn.execute(sa.select(_S.c.id).where(_S.c.user_id == user_id)).scalars())
        for session_id in sessions:
            # The session's messages first, in batches: deleting the session would cascade to all at once.
            messages = sa.select(_M.c.id).where(_M.c.session_id == session_id).order_by(_M.c.id)
            self._drain("messages", messages, lambda ids: self._delete_plain(_M, ids))
        for start in range(0, len(sessions), self.batch_size):
            self._write("sessions", self._delete_sessions(sessions[start:start + self.batch_size]))

    # -- batching --------------------------------------------------------------------------

    def _drain(self, kind: str, query: sa.Select[Any], delete: Callable[[list[int]], Callable[..., int]]) -> None:
        """Read up to a batch of ids (no write lock), delete them in one short transaction; until none are left."""
        while True:
            with read_only(self.engine) as conn:
                ids = list(conn.execute(query.limit(self.batch_size)).scalars())
            if not ids:
                return
            if self._write(kind, delete(ids)) == 0:  # what is left is not deletable (a task started running)
                return

    def _walk_by_id(self, kind: str, table: sa.Table, cutoff: datetime,
                    delete: Callable[[list[int]], Callable[..., int]]) -> None:
        """Rows in id order (their created_at rises with it), stopping at the first one inside the period.

        Reading by primary key needs no index on created_at, whose upkeep every insert would pay.
        """
        after = 0
        while True:
            with read_only(self.engine) as conn:
                rows = conn.execute(sa.select(table.c.id, table.c.created_at).where(table.c.id > after)
                                    .order_by(table.c.id).limit(self.batch_size)).all()
            old = [row_id for row_id, created in rows if created < cutoff]
            if old:
                self._write(kind, delete(old))
            if len(old) < len(rows) or len(rows) < self.batch_size:
                return
            after = rows[-1][0]

    def _write(self, kind: str, work: Callable[[sa.Connection], int]) -> int:
        """One write transaction; its length measured, the batch halved when it was long."""
        with self.engine.begin() as conn:
            started = time.perf_counter()  # the transaction (and on SQLite the writer lock) is held from here
            deleted = work(conn)
        held = (time.perf_counter() - started) * 1000
        self.report.holds_ms.append(held)
        self.report.longest_hold_ms = max(self.report.longest_hold_ms, held)
        self.report.batches += 1
        self.report.deleted[kind] += deleted
        if held > LOCK_TARGET_MS and self.batch_size > MIN_BATCH_SIZE:
            self.batch_size = max(MIN_BATCH_SIZE, self.batch_size // 2)
            logger.info("a purge batch held the write transaction %.1f ms: batches of %d now", held, self.batch_size)
        return deleted

    # -- deletes ---------------------------------------------------------------------------

    @staticmethod
    def _delete_plain(table: sa.Table, ids: list[int]) -> Callable[[sa.Connection], int]:
        return lambda conn: conn.execute(sa.delete(table).where(table.c.id.in_(ids))).rowcount

    @staticmethod
    def _delete_sessions(ids: list[str]) -> Callable[[sa.Connection], int]:
        return lambda conn: conn.execute(sa.delete(_S).where(_S.c.id.in_(ids))).rowcount

    def _delete_tasks(self, ids: list[int]) -> Callable[[sa.Connection], int]:
        def work(conn: sa.Connection) -> int:
            gone = conn.execute(sa.delete(_T).where(_T.c.id.in_(ids), _T.c.status != TaskStatus.RUNNING).returning(
                _T.c.pool, _T.c.status, _T.c.started_at, _T.c.finished_at, _T.c.tokens_in, _T.c.tokens_out)).all()
            totals: dict[tuple[Any, str, str], list[float]] = {}
            for pool, status, started, finished, tokens_in, tokens_out in gone:
                if finished is None:  # a queued task of a user whose data goes: no work to count
                    continue
                latency = (finished - started).total_seconds() * 1000 if started else 0.0
                _add(totals, (finished.date(), "tasks", pool),
                     (1, status == TaskStatus.FAILED, tokens_in, tokens_out, 0.0, latency))
            _upsert_totals(conn, totals)
            return len(gone)
        return work

    def _delete_provider_calls(self, ids: list[int]) -> Callable[[sa.Connection], int]:
        def work(conn: sa.Connection) -> int:
            gone = conn.execute(sa.delete(_P).where(_P.c.id.in_(ids)).returning(
                _P.c.provider, _P.c.outcome, _P.c.created_at, _P.c.tokens_in, _P.c.tokens_out, _P.c.cost_usd,
                _P.c.latency_ms)).all()
            totals: dict[tuple[Any, str, str], list[float]] = {}
            for provider, outcome, created, tokens_in, tokens_out, cost, latency in gone:
                failed = outcome not in ("ok", "tool_calls", "conversation")
                _add(totals, (created.date(), "provider_calls", provider),
                     (1, failed, tokens_in, tokens_out, cost, latency))
            _upsert_totals(conn, totals)
            return len(gone)
        return work


def apply_policy(engine: Engine, policy: RetentionPolicy, now: datetime | None = None,
                 actor: str = "retention", actor_user_id: int | None = None,
                 target: str = "retention policy") -> PurgeReport:
    """Delete what the policy says has expired, kind by kind; audit the purge when it deleted rows."""
    cutoffs = policy.cutoffs(now or utcnow())
    purger = Purger(engine, policy.batch_size)
    steps: dict[str, Callable[[datetime], None]] = {
        "tasks": purger.tasks_before, "messages": purger.messages_before,
        "provider_calls": purger.provider_calls_before, "audit": purger.audit_before}
    for kind, cutoff in cutoffs.items():
        steps[kind](cutoff)
    if any(purger.report.deleted.values()):
        audit_purge(engine, actor, actor_user_id, target,
                    {**purger.report.to_dict(), "cutoffs": {k: v.isoformat() for k, v in cutoffs.items()}})
    return purger.report


def purge_older_than(engine: Engine, days: int, kinds: Iterable[str] = KINDS, *, actor: str = "local",
                     actor_user_id: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> PurgeReport:
    """An admin's purge: every row of `kinds` older than `days` days, audited."""
    if days < 1:
        raise BadRequest("Purge rows older than at least one day.")
    kinds = tuple(kinds)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise BadRequest(f"Unknown kind {', '.join(unknown)}; kinds are {', '.join(KINDS)}.")
    policy = RetentionPolicy(days={k: (days if k in kinds else None) for k in KINDS}, batch_size=batch_size)
    target = f"older than {days} days: {', '.join(kinds)}"
    report = apply_policy(engine, policy, actor=actor, actor_user_id=actor_user_id, target=target)
    if not any(report.deleted.values()):  # apply_policy audits only purges that deleted rows; a person's, always
        audit_purge(engine, actor, actor_user_id, target, report.to_dict())
    return report


def delete_user_data(engine: Engine, user_id: int, *, actor: str, actor_user_id: int | None = None,
                     batch_size: int = DEFAULT_BATCH_SIZE) -> PurgeReport:
    """Delete a user's sessions, messages and tasks on request (running tasks stay until they end), audited."""
    purger = Purger(engine, batch_size)
    purger.user_data(user_id)
    audit_purge(engine, actor, actor_user_id, f"user:{user_id}", purger.report.to_dict())
    return purger.report


def audit_purge(engine: Engine, actor: str, actor_user_id: int | None, target: str, details: dict[str, Any]) -> None:
    """One audit row for one purge."""
    with engine.begin() as conn:
        conn.execute(sa.insert(_A).values(actor=actor, actor_user_id=actor_user_id, action=PURGE_ACTION,
                                          target=target[:200], details=details, created_at=utcnow()))


class RetentionLoop:
    """In `serve` and `worker`: apply the policy every interval in a background thread."""

    def __init__(self, engine: Engine, policy: RetentionPolicy, interval: float = RETENTION_INTERVAL_SECONDS,
                 first_delay: float = FIRST_RUN_DELAY_SECONDS) -> None:
        self.engine = engine
        self.policy = policy
        self.interval = interval
        self.first_delay = first_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="retention-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current batch."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        wait = self.first_delay
        while not self._stop.wait(wait):
            wait = self.interval
            try:
                report = apply_policy(self.engine, self.policy)
                if any(report.deleted.values()):
                    logger.info("retention purge: %s", report.to_dict())
            except Exception:  # retention must outlive a database hiccup
                logger.exception("retention purge failed")


def _add(totals: dict[tuple[Any, str, str], list[float]], key: tuple[Any, str, str], values: Sequence[float]) -> None:
    current = totals.setdefault(key, [0, 0, 0, 0, 0.0, 0.0])
    for i, value in enumerate(values):
        current[i] += value or 0


def _upsert_totals(conn: sa.Connection, totals: dict[tuple[Any, str, str], list[float]]) -> None:
    """Add to daily_totals (insert, or add to the row of that day, kind and name)."""
    if not totals:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    rows = [{"day": day, "kind": kind, "name": name, "rows": int(v[0]), "failed": int(v[1]),
             "tokens_in": int(v[2]), "tokens_out": int(v[3]), "cost_usd": float(v[4]), "latency_ms": float(v[5])}
            for (day, kind, name), v in totals.items()]
    statement = insert(_D)
    summed = {c: _D.c[c] + statement.excluded[c]
              for c in ("rows", "failed", "tokens_in", "tokens_out", "cost_usd", "latency_ms")}
    conn.execute(statement.on_conflict_do_update(index_elements=["day", "kind", "name"], set_=summed), rows)
