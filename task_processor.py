"""The durable task queue: atomic claims under leases, retries with backoff, cancellation."""
from __future__ import annotations

import builtins  # TaskQueue.list shadows the builtin in the class body's annotations
import json
import logging
import random
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from database import RunStatement, direct_insert, direct_statements, read_only
from errors import BadRequest, Conflict, NotFound
from models import Task, TaskStatus, utcnow
from storage.group_commit import GroupCommit
from storage.task_sql import (
    MULTI_EVENT_NAMES,
    SUBMIT_COLUMNS,
    driver_statements,
    hot_statements,
    insert_events,
    naive_utc,
)
from telemetry import tracing
from telemetry.events import EventKind, EventLog, claimed_data, event_row, process_name
from values import POOL_NAMES, parse_pool

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 10.0
"""How long a claim holds a task without renewal; a dead worker's tasks return after this."""

DEFAULT_MAX_ATTEMPTS = 3
"""Tries before a task ends failed."""

DEFAULT_TIMEOUT_SECONDS = 120.0
"""Longest a single attempt may run."""

BACKOFF_BASE_SECONDS = 1.0
"""First retry delay; doubles each attempt, with jitter."""

BACKOFF_CAP_SECONDS = 60.0
"""Longest retry delay."""

MAX_INPUT_CHARS = 20_000
"""Longest task input accepted."""

COUNTS_WINDOW_SECONDS = 24 * 3600
"""counts() counts finished tasks over this window (queued and running ones: all), so that the status
overview reads what the day added, not the whole history: its cost stays flat as history grows."""

MAX_LIST_LIMIT = 500
"""Most tasks one listing returns."""

MAX_TASK_ID = 2**63 - 1
"""Largest id a task can have (64-bit signed); larger numbers name no task."""

PRIORITY_RANGE = (-100, 100)
"""Allowed priorities; higher is claimed first."""

_T = Task.__table__


@dataclass(frozen=True)
class Claim:
    """A task this worker holds under a lease; `owner` is unique per attempt."""

    task_id: int
    pool: str
    input: str
    attempt: int
    max_attempts: int
    timeout_seconds: float
    owner: str
    session_id: str | None = None
    user_id: int | None = None
    safety: dict[str, Any] | None = None
    """The safety decision made at submission (SafetyDecision.to_json); None for a task queued without one."""


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter between attempts."""

    base_seconds: float = BACKOFF_BASE_SECONDS
    """Delay before the second attempt (before jitter)."""
    cap_seconds: float = BACKOFF_CAP_SECONDS
    """Upper bound of any delay."""
    rng: random.Random = field(default_factory=random.Random)
    """Source of jitter (seedable in tests)."""

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): half fixed, half jitter."""
        ceiling = min(self.cap_seconds, self.base_seconds * (2 ** max(attempt - 1, 0)))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


class Dispatcher(Protocol):
    """How a newly queued task reaches a worker: local threads poll; Celery sends a message."""

    def dispatch(self, task_id: int, pool: str, delay: float = 0.0) -> None:
        """Announce that task `task_id` of `pool` is ready to be claimed (or will be, `delay` seconds from now)."""


class LocalDispatcher:
    """Wakes this process's idle agents of a pool; other processes find the task by polling."""

    def __init__(self) -> None:
        self._events = {pool: threading.Event() for pool in POOL_NAMES}

    def dispatch(self, task_id: int, pool: str, delay: float = 0.0) -> None:
        """Wake the pool's idle agents (a delayed task is found by their polling once it is due)."""
        if delay <= 0:
            self._events[pool].set()

    def wait(self, pool: str, timeout: float) -> None:
        """Block until a task of `pool` is announced or `timeout` passes."""
        event = self._events[pool]
        if event.wait(timeout):
            event.clear()


class TaskQueue:
    """Task rows in the database are the source of truth; this class owns every change to them."""

    def __init__(self, engine: Engine, dispatcher: Dispatcher | None = None, *,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS, retry: RetryPolicy | None = None) -> None:
        self.engine = engine
        self.dispatcher: Dispatcher = dispatcher or LocalDispatcher()
        self.lease_seconds = lease_seconds
        self.retry = retry or RetryPolicy()
        self._sql = hot_statements(engine.dialect.name)
        self._insert = direct_insert(engine, _T, SUBMIT_COLUMNS)
        # On SQLite, claims and results skip SQLAlchemy's Connection, which cost twice what their SQL did.
        self._hot = direct_statements(engine, {n: self._sql[n] for n in ("claim", "claim_one", "complete", "event",
                                                                         *MULTI_EVENT_NAMES)})
        # Results (with the next claim) of agents finishing together share one SQLite transaction.
        self._group = GroupCommit(self._hot) if self._hot is not None else None
        self.events = EventLog(engine)
        """The tasks' events (queued here; claimed, calls and outcomes by whoever works them)."""

    # -- submitting and reading -------------------------------------------------------------

    def submit(self, pool: str, text: str, *, priority: int = 0, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
               timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS, idempotency_key: str | None = None,
               user_id: int | None = None, session_id: str | None = None,
               safety: dict[str, Any] | None = None) -> dict[str, Any]:
        """Queue a task; the same idempotency key (per user) returns the task it made first.

        `safety` is the request's safety decision (SafetyDecision.to_json), kept with the task for its worker.
        """
        _validate_submission(pool, text, priority, max_attempts, timeout_seconds, idempotency_key)
        if idempotency_key:
            existing = self._by_idempotency_key(user_id, idempotency_key)
            if existing is not None:
                return {**existing, "idempotent_replay": True}
        now = utcnow()
        values = dict(pool=pool, input=text, status=TaskStatus.QUEUED.value, priority=priority, attempts=0,
                      max_attempts=max_attempts, timeout_seconds=timeout_seconds, run_after=now,
                      cancel_requested=False, idempotency_key=idempotency_key, user_id=user_id,
                      session_id=session_id, tokens_in=0, tokens_out=0, created_at=now, safety=safety)
        try:
            task_id = self._insert(values) if self._insert else self._insert_with_core(values)
        except IntegrityError:
            existing = self._by_idempotency_key(user_id, idempotency_key) if idempotency_key else None
            if existing is None:
                raise
            return {**existing, "idempotent_replay": True}
        # With tracing on, the trace context travels in a stored queued event: the process that works the
        # task joins the trace. Off, the queued event is read from the task's row (submission: one insert).
        trace = tracing.carrier()
        if trace is not None:
            self.events.record(task_id, EventKind.QUEUED, {"pool": pool, "priority": priority, "trace": trace})
        self.dispatcher.dispatch(task_id, pool)
        stamp = now.isoformat()
        return {**values, "id": task_id, "result": None, "error": None, "started_at": None,
                "finished_at": None, "created_at": stamp, "run_after": stamp, "lease_owner": None,
                "lease_expires_at": None}

    def _insert_with_core(self, values: dict[str, Any]) -> int:
        with self.engine.begin() as conn:
            return conn.execute(self._sql["insert"], values).scalar_one()  # type: ignore[no-any-return]

    def get(self, task_id: int) -> dict[str, Any]:
        """One task as a dict; NotFound if absent."""
        _check_id(task_id)
        with read_only(self.engine) as conn:
            row = conn.execute(sa.select(_T).where(_T.c.id == task_id)).mappings().first()
        if row is None:
            raise NotFound(f"No such task: {task_id}")
        return task_dict(row)

    def list(self, *, status: str | None = None, pool: str | None = None, user_id: int | None = None,
             limit: int = 50, before_id: int | None = None) -> list[dict[str, Any]]:
        """Tasks newest first, filtered; `before_id` pages backwards."""
        query = sa.select(_T).order_by(_T.c.id.desc()).limit(max(1, min(limit, MAX_LIST_LIMIT)))
        if status is not None:
            query = query.where(_T.c.status == _status(status))
        if pool is not None:
            query = query.where(_T.c.pool == _pool(pool))
        if user_id is not None:
            query = query.where(_T.c.user_id == user_id)
        if before_id is not None:
            query = query.where(_T.c.id < before_id)
        with read_only(self.engine) as conn:
            return [task_dict(r) for r in conn.execute(query).mappings()]

    def counts(self) -> dict[str, int]:
        """Tasks queued and running now, and those that finished in the last COUNTS_WINDOW_SECONDS, by status."""
        since = utcnow() - timedelta(seconds=COUNTS_WINDOW_SECONDS)
        with read_only(self.engine) as conn:  # two index ranges, not a scan of every task ever kept
            rows: dict[str, int] = {str(status): count for status, count in conn.execute(self._sql["active_counts"])}
            rows.update((str(status), count) for status, count in conn.execute(self._sql["finished_counts"],
                                                                                  {"since": since}))
        return {s.value: int(rows.get(s.value, 0)) for s in TaskStatus}

    # -- the worker's side ------------------------------------------------------------------

    def claim(self, pool: str, agent_id: str, task_id: int | None = None) -> Claim | None:
        """Atomically take the best ready task of `pool` (or the one named) under a fresh lease."""
        with self._write() as run:
            return self._claim_in(run, pool, agent_id, task_id)

    def has_ready(self, pool: str) -> bool:
        """True when a task of `pool` is queued and due: a read, which takes no write lock (idle agents ask
        it before a claim, so that polling an empty queue does not queue them behind the busy agents' writes)."""
        with read_only(self.engine) as conn:
            return conn.execute(self._sql["ready"], {"pool": pool, "now": utcnow()}).first() is not None

    def complete(self, claim: Claim, result: dict[str, Any], *, tokens_in: int = 0, tokens_out: int = 0,
                 provider: str | None = None) -> bool:
        """Record the result once; False if the lease was lost (the result is then discarded)."""
        recorded, _ = self.complete_and_claim(claim, result, tokens_in=tokens_in, tokens_out=tokens_out,
                                              provider=provider)
        return recorded

    def complete_and_claim(self, claim: Claim, result: dict[str, Any], *, tokens_in: int = 0,
                           tokens_out: int = 0, provider: str | None = None, next_for: str | None = None,
                           events: Sequence[dict[str, Any]] = ()) -> tuple[bool, Claim | None]:
        """Record a result and, in the same transaction, claim the agent's next task (one commit, not two).

        `events` (rows made by telemetry.events.event_row) are stored in that transaction too, before the result.
        """
        params = {"id": claim.task_id, "owner": claim.owner, "result": result, "now": utcnow(),
                  "tokens_in": tokens_in, "tokens_out": tokens_out, "provider": provider}

        def write(run: RunStatement) -> tuple[bool, Claim | None]:
            insert_events(run, events)
            recorded = bool(run("complete", params).rowcount)
            return recorded, self._claim_in(run, claim.pool, next_for) if next_for else None

        if self._hot is not None and self._group is not None:
            recorded, following = self._group.run(write)
        else:
            with self._write() as run:
                recorded, following = write(run)
        if not recorded:
            logger.warning("task %s: lease of %s lost; result discarded", claim.task_id, claim.owner)
        return recorded, following

    def record_events(self, rows: Sequence[dict[str, Any]]) -> None:
        """Store event rows (telemetry.events.event_row) in one transaction; a failure is logged, never raised."""
        if not rows:
            return
        try:
            with self._write() as run:
                insert_events(run, rows)
        except Exception:
            logger.warning("task %s: %d event(s) not recorded", rows[0]["task_id"], len(rows), exc_info=True)

    def renew(self, owners: builtins.list[str]) -> set[str]:
        """Extend the leases held by `owners`; returns the owners whose task asks to be cancelled."""
        if not owners:
            return set()
        expires = utcnow() + timedelta(seconds=self.lease_seconds)
        with self.engine.begin() as conn:
            conn.execute(sa.update(_T).where(_T.c.lease_owner.in_(owners), _T.c.status == TaskStatus.RUNNING)
                         .values(lease_expires_at=expires))
            cancelled = conn.execute(sa.select(_T.c.lease_owner).where(
                _T.c.lease_owner.in_(owners), _T.c.cancel_requested.is_(True))).scalars()
            return set(cancelled)

    def _write(self) -> AbstractContextManager[RunStatement]:
        """A write transaction running the hot statements by name: on SQLite below SQLAlchemy's Connection."""
        return self._hot.begin() if self._hot is not None else self._core_write()

    @contextmanager
    def _core_write(self) -> Iterator[RunStatement]:
        with self.engine.begin() as conn:
            yield lambda name, params: conn.execute(self._sql[name], params)

    def _claim_in(self, run: RunStatement, pool: str, agent_id: str, task_id: int | None = None
                  ) -> Claim | None:
        now = utcnow()
        params = {"pool": pool, "now": now, "prefix": f"{agent_id}#",
                  "expires": now + timedelta(seconds=self.lease_seconds)}
        if task_id is None:
            rows = run("claim", params).fetchall()  # all: SQLite cannot commit while RETURNING has rows left
        else:
            rows = run("claim_one", {**params, "id": task_id}).fetchall()
        if not rows:
            return None
        claim = _claim_of(rows[0], pool)
        run("event", event_row(claim.task_id, EventKind.CLAIMED,
                               claimed_data(claim.owner, claim.attempt, claim.max_attempts)))
        return claim

    def fail(self, claim: Claim, error: str, *, retryable: bool = True) -> str | None:
        """Record a failed attempt: back to queued after a backoff, or failed for good."""
        final = not retryable or claim.attempt >= claim.max_attempts
        values: dict[str, Any] = {"error": error[:4000], "lease_owner": None, "lease_expires_at": None}
        delay = 0.0 if final else self.retry.delay(claim.attempt)
        if final:
            values.update(status=TaskStatus.FAILED, finished_at=utcnow())
        else:
            values.update(status=TaskStatus.QUEUED, run_after=utcnow() + timedelta(seconds=delay))
        with self.engine.begin() as conn:
            changed = conn.execute(sa.update(_T).where(*self._held(claim)).values(**values)).rowcount
            if changed and not final:  # a final failure is read from the row, as every task's end is
                conn.execute(self._sql["event"], event_row(claim.task_id, EventKind.RETRY, {
                    "error": values["error"], "attempt": claim.attempt, "delay_seconds": round(delay, 3)}))
        if not changed:
            return None
        if not final:
            self.dispatcher.dispatch(claim.task_id, claim.pool, delay)
        return values["status"].value

    def mark_cancelled(self, claim: Claim) -> bool:
        """End a running task whose cancellation was requested."""
        with self.engine.begin() as conn:
            return bool(conn.execute(
                sa.update(_T).where(*self._held(claim))
                .values(status=TaskStatus.CANCELLED, finished_at=utcnow(), lease_owner=None,
                        lease_expires_at=None, error="cancelled while running")
            ).rowcount)

    def cancel(self, task_id: int) -> dict[str, Any]:
        """Cancel a queued task at once, or ask a running one to stop at its next check."""
        _check_id(task_id)
        with self.engine.begin() as conn:
            stopped = conn.execute(
                sa.update(_T).where(_T.c.id == task_id, _T.c.status == TaskStatus.QUEUED)
                .values(status=TaskStatus.CANCELLED, finished_at=utcnow(), error="cancelled before it ran")
            ).rowcount
            if not stopped:
                asked = conn.execute(
                    sa.update(_T).where(_T.c.id == task_id, _T.c.status == TaskStatus.RUNNING)
                    .values(cancel_requested=True)
                ).rowcount
                if not asked:
                    status = conn.execute(sa.select(_T.c.status).where(_T.c.id == task_id)).scalar()
                    if status is None:
                        raise NotFound(f"No such task: {task_id}")
                    raise Conflict(f"Task {task_id} has already ended ({status.value}); nothing to cancel.")
        return self.get(task_id)

    def requeue_expired(self) -> dict[str, int]:
        """Return tasks whose lease expired (dead worker) to the queue, or fail them when out of attempts.

        Each requeued task is announced to the dispatcher again (a Celery message of a dead worker would
        otherwise come back only after the broker's visibility timeout).
        """
        now = utcnow()
        expired = (_T.c.status == TaskStatus.RUNNING, _T.c.lease_expires_at < now)
        with self.engine.begin() as conn:
            # A cancel asked of a running task is honoured first, whatever attempt it was on.
            cancelled = conn.execute(
                sa.update(_T).where(*expired, _T.c.cancel_requested.is_(True))
                .values(status=TaskStatus.CANCELLED, finished_at=now, lease_owner=None, lease_expires_at=None)
            ).rowcount
            failed = conn.execute(
                sa.update(_T).where(*expired, _T.c.attempts >= _T.c.max_attempts)
                .values(status=TaskStatus.FAILED, finished_at=now, lease_owner=None, lease_expires_at=None,
                        error="the worker stopped (lease expired) on the last allowed attempt")
            ).rowcount
            back = conn.execute(
                sa.update(_T).where(*expired)
                .values(status=TaskStatus.QUEUED, lease_owner=None, lease_expires_at=None, run_after=now,
                        error="the worker stopped (lease expired); retrying")
                .returning(_T.c.id, _T.c.pool)
            ).all()
        requeued = len(back)
        for task_id, pool in back:
            self.dispatcher.dispatch(task_id, pool)
        if failed or requeued or cancelled:
            logger.warning("lease sweep: %d requeued, %d failed, %d cancelled", requeued, failed, cancelled)
        return {"requeued": requeued, "failed": failed, "cancelled": cancelled}

    def stale_queued(self, older_than: float, limit: int = MAX_LIST_LIMIT) -> dict[str, builtins.list[int]]:
        """Per pool, the ids of queued tasks that have been ready for more than `older_than` seconds.

        Oldest first, at most `limit` in all: the candidates for a re-dispatch when a broker lost their message.
        """
        cutoff = utcnow() - timedelta(seconds=older_than)
        query = (sa.select(_T.c.pool, _T.c.id).where(_T.c.status == TaskStatus.QUEUED, _T.c.run_after < cutoff)
                 .order_by(_T.c.id).limit(limit))
        stale: dict[str, list[int]] = {}
        with read_only(self.engine) as conn:
            for pool, task_id in conn.execute(query):
                stale.setdefault(pool, []).append(task_id)
        return stale

    def expire_leases_of(self, owner_prefix: str) -> int:
        """Expire at once the leases held by a process known to be dead (owner ids start with its id)."""
        with self.engine.begin() as conn:
            return conn.execute(
                sa.update(_T).where(_T.c.status == TaskStatus.RUNNING, _T.c.lease_owner.like(f"{owner_prefix}%"))
                .values(lease_expires_at=utcnow() - timedelta(seconds=1))
            ).rowcount

    def queue_stats(self) -> dict[str, dict[str, Any]]:
        """Per pool: queued count and the age in seconds of the oldest queued task."""
        now = utcnow()
        with read_only(self.engine) as conn:
            rows = conn.execute(
                sa.select(_T.c.pool, sa.func.count(), sa.func.min(_T.c.created_at))
                .where(_T.c.status == TaskStatus.QUEUED).group_by(_T.c.pool)
            ).all()
        return {pool: {"queued": int(count), "oldest_age_seconds": _age(now, oldest)}
                for pool, count, oldest in rows}

    def _held(self, claim: Claim) -> tuple[Any, ...]:
        return (_T.c.id == claim.task_id, _T.c.lease_owner == claim.owner, _T.c.status == TaskStatus.RUNNING)

    def _by_idempotency_key(self, user_id: int | None, key: str) -> dict[str, Any] | None:
        owner = _T.c.user_id.is_(None) if user_id is None else _T.c.user_id == user_id
        with read_only(self.engine) as conn:
            row = conn.execute(sa.select(_T).where(owner, _T.c.idempotency_key == key)).mappings().first()
        return None if row is None else task_dict(row)


def _claim_of(row: Any, pool: str) -> Claim:
    """The Claim of a row a claim statement returned."""
    task, text, attempts, max_attempts, timeout, session_id, user_id, owner, safety = row
    if isinstance(safety, str):  # a plain SQL statement returns the JSON text on SQLite
        safety = json.loads(safety)
    return Claim(task, pool, text, attempts, max_attempts, timeout, owner, session_id, user_id, safety)


def task_dict(row: Any) -> dict[str, Any]:
    """A task row as the JSON-ready dict of the contract."""
    data = dict(row)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
        elif isinstance(value, TaskStatus):
            data[key] = value.value
    return data


def _age(now: datetime, then: datetime | None) -> float | None:
    if then is None:
        return None
    if then.tzinfo is None:  # aggregated values bypass the column type on some dialects
        then = then.replace(tzinfo=now.tzinfo)
    return round((now - then).total_seconds(), 3)


def _check_id(task_id: int) -> None:
    if not 0 < task_id <= MAX_TASK_ID:
        raise NotFound(f"No such task: {task_id}")


def _status(value: str) -> TaskStatus:
    try:
        return TaskStatus(value)
    except ValueError:
        raise BadRequest(f"Unknown task status {value!r}: use one of "
                         f"{', '.join(s.value for s in TaskStatus)}.") from None


def _pool(value: str) -> str:
    return parse_pool(value)


def _validate_submission(pool: str, text: str, priority: int, max_attempts: int, timeout: float,
                         idempotency_key: str | None) -> None:
    _pool(pool)
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("A task needs a non-empty input text.")
    if len(text) > MAX_INPUT_CHARS:
        raise BadRequest(f"A task's input is limited to {MAX_INPUT_CHARS} characters (got {len(text)}).")
    low, high = PRIORITY_RANGE
    if not isinstance(priority, int) or isinstance(priority, bool) or not low <= priority <= high:
        raise BadRequest(f"Priority must be a whole number from {low} to {high}.")
    if not 1 <= max_attempts <= 20:
        raise BadRequest("max_attempts must be from 1 to 20.")
    if not 0 < timeout <= 3600:
        raise BadRequest("timeout_seconds must be more than 0 and at most 3600.")
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 128):
        raise BadRequest("idempotency_key must be 1 to 128 characters.")


# == Direct claim, result and renewal for Celery worker processes (issue #9) =============================
# Additions only: nothing above is changed by this block. A Celery worker process claims the task its
# message names, runs it and records the result. Through TaskQueue each of those two statements also
# pays for a pool checkout, a transaction object and a result object: 0.6 ms of CPU per task on
# PostgreSQL where the statements alone, through psycopg, take 0.2 ms. DirectTaskQueue runs TaskQueue's
# own claim_one and complete SQL (taken from storage.task_sql.hot_statements, so the two cannot drift apart) on a
# psycopg connection that it keeps, with SQLAlchemy's own conversion of the result to JSON; and renews
# leases in one statement that does not read the whole table.

DIRECT_DRIVERS = frozenset({("postgresql", "psycopg")})
"""(dialect, driver) pairs whose connections DirectTaskQueue drives itself; others get TaskQueue's path."""


class DirectTaskQueue(TaskQueue):
    """A TaskQueue that claims a named task, records a result and renews leases in one round trip each.

    Each thread keeps one connection of the engine's pool, in autocommit: each statement is atomic by
    itself, so each is its own transaction (no BEGIN, no COMMIT). The guards are TaskQueue's: the claim
    takes the row only while it is queued and due; the result is recorded only under the claim's lease.
    Every other operation, a claim without a task id, and a result with a next claim go through
    TaskQueue unchanged, as does everything on a database or driver not in DIRECT_DRIVERS.
    """

    def __init__(self, engine: Engine, dispatcher: Dispatcher | None = None, *,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS, retry: RetryPolicy | None = None) -> None:
        super().__init__(engine, dispatcher, lease_seconds=lease_seconds, retry=retry)
        direct = (engine.dialect.name, engine.dialect.driver) in DIRECT_DRIVERS
        self._direct = driver_statements(engine.dialect.name) if direct else None
        json_bind = sa.JSON().dialect_impl(engine.dialect).bind_processor(engine.dialect)
        self._json = json_bind or (lambda value: value)
        self._local = threading.local()

    def claim(self, pool: str, agent_id: str, task_id: int | None = None) -> Claim | None:
        """As TaskQueue.claim; a named task is claimed in one round trip."""
        if task_id is None or self._direct is None:
            return super().claim(pool, agent_id, task_id)
        now = utcnow()
        row = self._execute(self._direct["claim_one"], {
            "id": task_id, "pool": pool, "prefix": f"{agent_id}#", "now": naive_utc(now), "process": process_name(),
            "expires": naive_utc(now + timedelta(seconds=self.lease_seconds))}).fetchone()
        return None if row is None else _claim_of(row, pool)

    def complete_and_claim(self, claim: Claim, result: dict[str, Any], *, tokens_in: int = 0,
                           tokens_out: int = 0, provider: str | None = None, next_for: str | None = None,
                           events: Sequence[dict[str, Any]] = ()) -> tuple[bool, Claim | None]:
        """As TaskQueue.complete_and_claim; without a next claim or events, the result is recorded in one round trip."""
        if next_for is not None or events or self._direct is None:
            return super().complete_and_claim(claim, result, tokens_in=tokens_in, tokens_out=tokens_out,
                                              provider=provider, next_for=next_for, events=events)
        recorded = bool(self._execute(self._direct["complete"], {
            "id": claim.task_id, "owner": claim.owner, "result": self._json(result),
            "now": naive_utc(utcnow()), "tokens_in": tokens_in, "tokens_out": tokens_out,
            "provider": provider}).rowcount)
        if not recorded:
            logger.warning("task %s: lease of %s lost; result discarded", claim.task_id, claim.owner)
        return recorded, None

    def renew(self, owners: list[str]) -> set[str]:
        """As TaskQueue.renew, in one statement that finds the rows through the status index.

        A task has a lease owner only while it runs, so the owners' rows are running ones; TaskQueue's
        second statement (which of them asks to be cancelled) reads the whole table, once a second.
        """
        if not owners or self._direct is None:
            return super().renew(owners)
        expires = utcnow() + timedelta(seconds=self.lease_seconds)
        cursor = self._execute(self._direct["renew"], {"owners": owners, "expires": naive_utc(expires)})
        return {owner for owner, cancel_requested in cursor.fetchall() if cancel_requested}

    def close(self) -> None:
        """Close this thread's kept connection (the next direct statement opens another)."""
        kept = getattr(self._local, "kept", None)
        self._local.kept = None
        if kept is not None:
            kept[0].invalidate()  # closed for good, not returned to the pool in autocommit

    def _execute(self, sql: str, params: dict[str, Any]) -> Any:
        """Run one statement on this thread's kept connection; returns the cursor holding its outcome.

        A connection found dead (the database restarted) is replaced and the statement run once more:
        both statements are guarded, so a repeat of one that did commit changes nothing.
        """
        raw, cursor = self._kept()
        try:
            cursor.execute(sql, params)
        except Exception:
            if not (raw.driver_connection.closed or raw.driver_connection.broken):
                raise
            logger.warning("the worker's database connection was lost; retrying on a new one")
            self.close()
            raw, cursor = self._kept()
            cursor.execute(sql, params)
        return cursor

    def _kept(self) -> tuple[Any, Any]:
        kept = getattr(self._local, "kept", None)
        if kept is None:
            raw = self.engine.raw_connection()
            driver = raw.driver_connection
            assert driver is not None  # None only once the pooled connection is invalidated; this one is new
            driver.autocommit = True
            kept = self._local.kept = (raw, driver.cursor())
        return kept
# == end of the direct claim, result and renewal block ===================================================
