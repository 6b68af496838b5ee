"""The task queue's SQL: the submit, claim, result and event statements as plain text, built once per engine.

task_processor.TaskQueue runs them by name (on SQLite below SQLAlchemy's Connection, through
database.DirectStatements); DirectTaskQueue runs the same claim and result in psycopg's parameter style,
so the two paths cannot drift apart.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from database import RunStatement
from models import UTCDateTime
from telemetry.events import insert_statement
from values import POOL_NAMES

SUBMIT_COLUMNS = ("pool", "input", "status", "priority", "attempts", "max_attempts", "timeout_seconds",
                  "run_after", "cancel_requested", "idempotency_key", "user_id", "session_id", "tokens_in",
                  "tokens_out", "created_at", "safety")
"""Every column a submission sets: nothing is left to ORM defaults on the hot path."""

MAX_EVENTS_PER_STATEMENT = 4
"""Most event rows one INSERT of a task's waiting events carries (a task's quick attempt makes 2 or 3)."""

EVENT_COLUMNS = ("task_id", "kind", "data", "created_at")
"""The columns of an event row (telemetry.events.event_row) that the multi-row INSERTs bind."""

MULTI_EVENT_NAMES = tuple(f"events{n}" for n in range(2, MAX_EVENTS_PER_STATEMENT + 1))
"""The names of the INSERTs of 2 to MAX_EVENTS_PER_STATEMENT event rows in hot_statements."""

_UTC_BIND = UTCDateTime()
"""Converts an aware time to what the tasks table's time columns hold, as SQLAlchemy's binding does."""


def hot_statements(dialect: str) -> dict[str, sa.TextClause]:
    """The submit, claim and complete statements as plain SQL: built once, cheap to execute many times."""
    lock = " FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    returning = ("RETURNING id, input, attempts, max_attempts, timeout_seconds, session_id, user_id, lease_owner, "
                 "safety")
    claim_sets = ("SET status = 'running', attempts = attempts + 1, "
                  "lease_owner = :prefix || CAST(attempts + 1 AS VARCHAR(12)), "
                  "lease_expires_at = :expires, started_at = :now")
    pick = ("SELECT id FROM tasks WHERE pool = :pool AND status = 'queued' AND run_after <= :now "
            "{extra}ORDER BY priority DESC, id LIMIT 1" + lock)
    claim = f"UPDATE tasks {claim_sets} WHERE id = ({pick.format(extra='')}) AND status = 'queued' {returning}"
    # One named task (a Celery message names it): a plain conditional UPDATE of that row. A concurrent
    # claimer waits for the row lock, then finds it no longer queued: nothing to skip, no subquery. The
    # pool is compared as "pool || ''", which no index can serve: a plain "pool = :pool" let PostgreSQL
    # take the claim index (pool, priority, id) over the primary key on stale statistics, and read every
    # queued task of the pool for each claim (1.15 ms a claim with 15,000 queued, 0.17 ms by the key).
    claim_one = (f"UPDATE tasks {claim_sets} WHERE id = :id AND pool || '' = :pool AND status = 'queued' "
                 f"AND run_after <= :now {returning}")
    # Only a running row has a lease owner (every way out of 'running' clears it, and an owner names one
    # claim), so the owner alone guards the result. A "status = 'running'" here let PostgreSQL pick the
    # status index over the primary key on stale statistics, whose 'running' range keeps an entry for
    # every task run since the last vacuum.
    complete = ("UPDATE tasks SET status = 'succeeded', result = :result, error = NULL, finished_at = :now, "
                "lease_owner = NULL, lease_expires_at = NULL, tokens_in = :tokens_in, tokens_out = :tokens_out, "
                "provider = :provider WHERE id = :id AND lease_owner = :owner")
    # Submission (where direct_insert does not apply): no ORM defaults or statement building per request.
    insert = (f"INSERT INTO tasks ({', '.join(SUBMIT_COLUMNS)}) "
              f"VALUES ({', '.join(':' + c for c in SUBMIT_COLUMNS)}) RETURNING id")
    times = [sa.bindparam("now", type_=UTCDateTime), sa.bindparam("expires", type_=UTCDateTime)]
    return {
        "insert": sa.text(insert).bindparams(sa.bindparam("run_after", type_=UTCDateTime),
                                             sa.bindparam("created_at", type_=UTCDateTime),
                                             sa.bindparam("cancel_requested", type_=sa.Boolean),
                                             sa.bindparam("safety", type_=sa.JSON)),
        "claim": sa.text(claim).bindparams(*times),
        "ready": sa.text(pick.format(extra="").replace(lock, "")).bindparams(times[0]),
        "claim_one": sa.text(claim_one).bindparams(*times),
        "complete": sa.text(complete).bindparams(sa.bindparam("result", type_=sa.JSON),
                                                 sa.bindparam("now", type_=UTCDateTime)),
        "event": insert_statement(),
        **{name: events_statement(int(name.removeprefix("events"))) for name in MULTI_EVENT_NAMES},
        **counts_statements(),
    }


def counts_statements() -> dict[str, sa.TextClause]:
    """TaskQueue.counts' two reads: tasks queued and running, and those finished since `:since`, by status.

    Each reads one index range (ix_tasks_status_lease; ix_tasks_pool_finished, which covers the second).
    As text, with the lists written out, they skip the statement building, cache key and expanding IN
    parameters that SQLAlchemy's select() pays on every call (about 0.9 ms a call against the SQL's 0.6).
    """
    pools = ", ".join(f"'{pool}'" for pool in POOL_NAMES)
    return {
        "active_counts": sa.text("SELECT status, count(*) FROM tasks WHERE status IN ('queued', 'running') "
                                 "GROUP BY status"),
        "finished_counts": sa.text(f"SELECT status, count(*) FROM tasks WHERE pool IN ({pools}) "
                                   "AND finished_at >= :since GROUP BY status").bindparams(
                                       sa.bindparam("since", type_=UTCDateTime)),
    }


def events_statement(rows: int) -> sa.TextClause:
    """One INSERT of `rows` event rows (parameters `<column>_<i>`): in a write transaction each statement
    waits for the interpreter's lock again after SQLite ran it, while every other writer waits for it."""
    values = ", ".join("(" + ", ".join(f":{c}_{i}" for c in EVENT_COLUMNS) + ")" for i in range(rows))
    return sa.text(f"INSERT INTO task_events ({', '.join(EVENT_COLUMNS)}) VALUES {values}").bindparams(
        *(sa.bindparam(f"data_{i}", type_=sa.JSON) for i in range(rows)),
        *(sa.bindparam(f"created_at_{i}", type_=UTCDateTime) for i in range(rows)))


def insert_events(run: RunStatement, rows: Sequence[dict[str, Any]]) -> None:
    """Insert event rows (event_row) in the transaction of `run`: up to MAX_EVENTS_PER_STATEMENT per statement."""
    for start in range(0, len(rows), MAX_EVENTS_PER_STATEMENT):
        chunk = rows[start:start + MAX_EVENTS_PER_STATEMENT]
        if len(chunk) == 1:
            run("event", chunk[0])
        else:
            run(f"events{len(chunk)}", {f"{c}_{i}": row[c] for i, row in enumerate(chunk) for c in EVENT_COLUMNS})


def driver_statements(dialect: str) -> dict[str, str]:
    """TaskQueue's claim_one and complete statements, and the renewal, in psycopg's parameter style."""
    sql = hot_statements(dialect)
    bind = re.compile(r"(?<![:\w]):(\w+)")  # :name, not a ::cast
    statements = {name: bind.sub(r"%(\1)s", sql[name].text.replace("%", "%%"))
                  for name in ("claim_one", "complete")}
    # The claimed event in the claim's own statement: still one round trip, one autocommit.
    statements["claim_one"] = (
        f"WITH claimed AS ({statements['claim_one']}), event AS (INSERT INTO task_events (task_id, kind, data, "
        "created_at) SELECT id, 'claimed', json_build_object('worker', lease_owner, 'process', "
        "CAST(%(process)s AS TEXT), 'attempt', attempts, 'max_attempts', max_attempts), %(now)s FROM claimed) "
        "SELECT * FROM claimed")
    statements["renew"] = ("UPDATE tasks SET lease_expires_at = %(expires)s WHERE status = 'running' "
                           "AND lease_owner = ANY(%(owners)s) RETURNING lease_owner, cancel_requested")
    return statements


def naive_utc(value: datetime) -> datetime:
    """A UTC time as the tasks table's columns hold it (what UTCDateTime binds)."""
    return _UTC_BIND.process_bind_param(value, None)  # type: ignore[return-value]
