"""A task's life as events: each step recorded once (one insert), read back in order, and the hook workers use.

The worker binds a sink for the task it works (`recording`); the providers and the executor below it
call `emit`, which reaches that sink in the same thread (a context variable) or does nothing when no
task is being worked. Recording never fails the work: a lost event is logged, the task goes on.
"""
from __future__ import annotations

import enum
import logging
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from database import direct_insert, read_only
from models import Task, TaskEvent, UTCDateTime, utcnow

logger = logging.getLogger(__name__)

MAX_EVENTS_PER_READ = 500
"""Most events one read returns; a reader pages on with the last id."""

MAX_TEXT_CHARS = 4000
"""Longest error or text kept in an event (the task row keeps the whole result)."""

DRAFT_FLUSH_SECONDS = 0.1
"""Streamed model text becomes at most one text event per this many seconds (one row, not one per token)."""

DRAFT_FLUSH_CHARS = 2000
"""...or sooner, once this much text waits after the first event (events stay under MAX_TEXT_CHARS)."""

_SENTENCE_END = re.compile(r"[.!?]\s+|\n")


class EventKind(str, enum.Enum):
    """What happened to a task."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    SAFETY = "safety"
    PROVIDER_CALL = "provider_call"
    TOOL_CALL = "tool_call"
    RETRY = "retry"
    TEXT = "text"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_KINDS = frozenset({EventKind.SUCCEEDED.value, EventKind.FAILED.value, EventKind.CANCELLED.value})
"""Kinds after which a task has no more events."""

Sink = Callable[[str, dict[str, Any]], None]
"""Records one event (kind, data) of the task being worked."""

_E: sa.Table = TaskEvent.__table__  # type: ignore[assignment]  # a declarative class's table is a Table
_T: sa.Table = Task.__table__  # type: ignore[assignment]
_COLUMNS = ("task_id", "kind", "data", "created_at")
_HOST = socket.gethostname()

INSERT_SQL = "INSERT INTO task_events (task_id, kind, data, created_at) VALUES (:task_id, :kind, :data, :created_at)"
"""One event, as the queue's own transactions insert it beside a claim or a result (no commit of its own)."""
_sink: ContextVar[Sink | None] = ContextVar("operatoros_task_event_sink", default=None)


def emit(kind: EventKind | str, data: dict[str, Any]) -> None:
    """Record an event of the task this thread is working; nothing when none is."""
    sink = _sink.get()
    if sink is not None:
        sink(EventKind(kind).value, data)


def active() -> bool:
    """True while this thread works a task whose events are recorded."""
    return _sink.get() is not None


@contextmanager
def recording(sink: Sink) -> Iterator[None]:
    """Send this thread's `emit` calls to `sink` while the block runs."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


class DraftStream:
    """Streamed model text as `text` events of the task being worked: a draft, coalesced and screened.

    Each event is `{"text": ..., "chars": n, "draft": true}` (`text` absent when `screen` is None: the
    request's drafts are withheld and only the count of characters written so far is shown). Only text
    up to the last sentence end goes through `screen` (the reply guard's sentence rules), so a sentence
    is judged whole. Events come at most every DRAFT_FLUSH_SECONDS, the first one that long after the
    first text, so an answer that arrives at once (offline, or not streamed) makes no event; the part
    still waiting when the answer is complete is never sent, since the succeeded event follows with the
    answer itself, guarded. A draft is never the answer: the succeeded event's text is.
    """

    def __init__(self, screen: Callable[[str], str] | None, *, interval: float = DRAFT_FLUSH_SECONDS,
                 max_chars: int = DRAFT_FLUSH_CHARS, clock: Callable[[], float] = time.monotonic) -> None:
        self.screen, self.interval, self.max_chars, self.clock = screen, interval, max_chars, clock
        self.chars = 0
        """Characters streamed so far (all of them, shown or not)."""
        self.events = 0
        """Text events recorded so far."""
        self._waiting: list[str] = []
        self._waiting_chars = 0
        self._due: float | None = None

    def __call__(self, delta: str) -> None:
        """Take one piece of streamed text; record an event when one is due."""
        if not delta:
            return
        now = self.clock()
        if self._due is None:
            self._due = now + self.interval
        self.chars += len(delta)
        self._waiting.append(delta)
        self._waiting_chars += len(delta)
        # Size counts only once streaming has shown itself: one delta with a whole answer is no stream.
        if now >= self._due or (self.events and self._waiting_chars >= self.max_chars):
            self._flush(now)

    def _flush(self, now: float) -> None:
        data: dict[str, Any] = {"chars": self.chars, "draft": True}
        if self.screen is not None:
            waiting = "".join(self._waiting)
            cut = max((m.end() for m in _SENTENCE_END.finditer(waiting)), default=0)
            if not cut:  # no sentence has ended yet: nothing to judge, nothing to show
                return
            done, rest = waiting[:cut], waiting[cut:]
            shown = self.screen(done)
            # The screen may drop the whitespace after the last sentence; keep the draft readable.
            data["text"] = clip(shown + (done[len(done.rstrip()):] if not shown[-1:].isspace() else ""))
            self._waiting, self._waiting_chars = [rest], len(rest)
        else:
            self._waiting, self._waiting_chars = [], 0
        self._due = now + self.interval
        self.events += 1
        emit(EventKind.TEXT, data)


def insert_statement() -> sa.TextClause:
    """INSERT_SQL with its typed binds, for the queue's named statements; parameters from `event_row`."""
    return sa.text(INSERT_SQL).bindparams(sa.bindparam("data", type_=sa.JSON),
                                          sa.bindparam("created_at", type_=UTCDateTime))


def event_row(task_id: int, kind: EventKind | str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The values of one event row, stamped now."""
    return {"task_id": task_id, "kind": EventKind(kind).value, "data": data or {}, "created_at": utcnow()}


def process_name() -> str:
    """host:pid of this process, as claimed events name it."""
    return f"{_HOST}:{os.getpid()}"


def claimed_data(owner: str, attempt: int, max_attempts: int) -> dict[str, Any]:
    """The claimed event: which worker (lease owner), which process (host:pid), which attempt."""
    return {"worker": owner, "process": process_name(), "attempt": attempt, "max_attempts": max_attempts}


def result_data(result: dict[str, Any], tokens_in: int, tokens_out: int, provider: str | None) -> dict[str, Any]:
    """The succeeded event: the answer (clipped), who gave it, and the triage level when there is one."""
    text, triage = result.get("text"), result.get("triage")
    return {"text": clip(text) if isinstance(text, str) else None, "provider": provider or result.get("provider"),
            "model": result.get("model"), "tokens_in": tokens_in, "tokens_out": tokens_out,
            "triage": triage.get("level") if isinstance(triage, dict) else None}


class EventLog:
    """The task_events table: one insert per event (autocommit on SQLite), reads by task in id order."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = direct_insert(engine, _E, _COLUMNS)

    def record(self, task_id: int, kind: EventKind | str, data: dict[str, Any] | None = None) -> None:
        """Store one event; a failure is logged, never raised (events must not fail the task)."""
        values = event_row(task_id, kind, data)
        try:
            if self._insert is not None:
                self._insert(values)
            else:
                with self.engine.begin() as conn:
                    conn.execute(sa.insert(_E), values)
        except Exception:
            logger.warning("task %s: event %s not recorded", task_id, values["kind"], exc_info=True)

    def sink(self, task_id: int) -> Sink:
        """A sink recording the events of `task_id`."""
        return lambda kind, data: self.record(task_id, kind, data)

    def after(self, task_id: int, after_id: int = -1, limit: int = MAX_EVENTS_PER_READ) -> list[dict[str, Any]]:
        """The task's events with an id above `after_id` (-1: all), oldest first.

        Two events come from the task's row, not from event rows, so that neither a submission nor a
        result pays an insert: the queued event (id 0) of a task submitted with tracing off (traced
        ones store theirs, with the trace context), and the end (succeeded, failed or cancelled; no id,
        so that a stream resumed after the last stored event gives it again).
        """
        query = (sa.select(_E).where(_E.c.task_id == task_id, _E.c.id > after_id).order_by(_E.c.id)
                 .limit(max(1, min(limit, MAX_EVENTS_PER_READ))))
        columns = (_T.c.pool, _T.c.priority, _T.c.created_at, _T.c.status, _T.c.result, _T.c.error,
                   _T.c.provider, _T.c.tokens_in, _T.c.tokens_out, _T.c.attempts, _T.c.finished_at)
        with read_only(self.engine) as conn:
            events = [event_dict(row) for row in conn.execute(query).mappings()]
            task = conn.execute(sa.select(*columns).where(_T.c.id == task_id)).first()
        if task is None:
            return events
        if after_id < 0 and not (events and events[0]["kind"] == EventKind.QUEUED.value):
            events.insert(0, event_dict({"id": 0, "task_id": task_id, "kind": EventKind.QUEUED.value,
                                         "data": {"pool": task.pool, "priority": task.priority},
                                         "created_at": task.created_at}))
        status = getattr(task.status, "value", task.status)
        if status in FINAL_KINDS and len(events) < limit:
            events.append(event_dict({"id": None, "task_id": task_id, "kind": status, "data": _end_data(task),
                                      "created_at": task.finished_at}))
        return events

    def trace_context(self, task_id: int) -> dict[str, str] | None:
        """The trace context the task was submitted under (kept in its queued event), if any."""
        query = (sa.select(_E.c.data).where(_E.c.task_id == task_id, _E.c.kind == EventKind.QUEUED.value)
                 .order_by(_E.c.id).limit(1))
        with read_only(self.engine) as conn:
            data = conn.execute(query).scalar()
        trace = (data or {}).get("trace") if isinstance(data, dict) else None
        return trace if isinstance(trace, dict) else None


def event_dict(row: Any) -> dict[str, Any]:
    """An event row as the JSON-ready dict of the API: id, task_id, kind, data, at."""
    created = row["created_at"]
    return {"id": row["id"], "task_id": row["task_id"], "kind": row["kind"], "data": row["data"] or {},
            "at": created.isoformat() if isinstance(created, datetime) else created}


def _end_data(task: Any) -> dict[str, Any]:
    """The end event's data, from the task's row: the answer (clipped) and who gave it, or the error."""
    if getattr(task.status, "value", task.status) == EventKind.SUCCEEDED.value:
        return result_data(task.result if isinstance(task.result, dict) else {}, task.tokens_in, task.tokens_out,
                           task.provider)
    return {"error": clip(task.error), "attempts": task.attempts}


def clip(text: str | None) -> str | None:
    """A text cut to what an event keeps."""
    return None if text is None else text[:MAX_TEXT_CHARS]
