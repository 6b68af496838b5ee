"""task_processor.py beyond tests/test_task_processor.py: what each operation leaves in the task's row, its
events and its announcements, on SQLite (fast path and Core path) and PostgreSQL.

Written against the survivors of `bench/mutation.py task_processor.py tests/test_task_processor.py`
(TESTING.md, "Mutation testing").
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import database
import task_processor
from errors import BadRequest, NotFound
from models import ConversationSession, Task, TaskStatus, User, utcnow
from task_processor import LocalDispatcher, RetryPolicy, TaskQueue
from telemetry.events import EventKind, event_row, process_name

from . import fixtures


class RecordingDispatcher(LocalDispatcher):
    """The local dispatcher, which also keeps every announcement it was given (task id, pool, delay)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[int, str, float]] = []

    def dispatch(self, task_id: int, pool: str, delay: float = 0.0) -> None:
        self.sent.append((task_id, pool, delay))
        super().dispatch(task_id, pool, delay)


@pytest.fixture(params=["sqlite", "sqlite-core", pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("postgres-direct", marks=pytest.mark.postgres)])
def queue(request: pytest.FixtureRequest) -> Iterator[TaskQueue]:
    """The queue on a SQLite file (statements below SQLAlchemy's Connection), on in-memory SQLite (Core
    statements, as on any database without the fast path), on PostgreSQL, and the Celery worker's
    DirectTaskQueue on PostgreSQL."""
    if request.param == "sqlite-core":
        url = "sqlite://"
    else:
        url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    with fixtures.queue_on(url, request.param == "postgres-direct", RecordingDispatcher()) as made:
        if request.param == "sqlite-core":
            assert made._insert is None and made._hot is None  # the Core path is the one under test
        yield made


_claim = fixtures.claim_one


def _sent(queue: TaskQueue) -> list[tuple[int, str, float]]:
    dispatcher = queue.dispatcher
    assert isinstance(dispatcher, RecordingDispatcher)
    return dispatcher.sent


def _events(queue: TaskQueue, task_id: int, kind: EventKind) -> list[dict[str, Any]]:
    return [e for e in queue.events.after(task_id) if e["kind"] == kind.value]


def _users(queue: TaskQueue, *names: str) -> list[int]:
    with Session(queue.engine) as db:
        users = [User(name=name) for name in names]
        db.add_all(users)
        db.commit()
        return [u.id for u in users]


# -- retries ------------------------------------------------------------------------------------------


def test_the_jitter_reaches_up_to_the_ceiling() -> None:
    """Half the delay is fixed, half jitter: delays spread over the whole upper half, to the ceiling."""
    policy = RetryPolicy(base_seconds=1.0, cap_seconds=8.0, rng=random.Random(3))
    delays = [policy.delay(3) for _ in range(400)]
    assert min(delays) >= 2.0 and max(delays) <= 4.0
    assert max(delays) > 3.9 and min(delays) < 2.1


def test_a_retry_is_announced_after_its_backoff_and_recorded_as_an_event(queue: TaskQueue) -> None:
    queue.retry = RetryPolicy(base_seconds=0.4, cap_seconds=1.0, rng=random.Random(5))
    expected = RetryPolicy(base_seconds=0.4, cap_seconds=1.0, rng=random.Random(5)).delay(1)
    task = queue.submit("sports", "flaky")
    claim = _claim(queue, "sports")
    assert queue.fail(claim, "timeout talking to the provider") == "queued"
    assert _sent(queue)[-1] == (task["id"], "sports", expected)
    retries = _events(queue, task["id"], EventKind.RETRY)
    assert [e["data"] for e in retries] == [{"error": "timeout talking to the provider", "attempt": 1,
                                             "delay_seconds": round(expected, 3)}]
    row = queue.get(task["id"])
    assert (row["status"], row["lease_owner"], row["lease_expires_at"]) == ("queued", None, None)
    run_after = datetime.fromisoformat(row["run_after"])
    assert run_after > utcnow() + timedelta(seconds=expected - 0.3)


def test_a_final_failure_is_neither_announced_nor_recorded_as_a_retry(queue: TaskQueue) -> None:
    task = queue.submit("general", "bad input")
    claim = _claim(queue)
    sent = len(_sent(queue))
    assert queue.fail(claim, "cannot parse", retryable=False) == "failed"
    assert len(_sent(queue)) == sent
    assert _events(queue, task["id"], EventKind.RETRY) == []
    row = queue.get(task["id"])
    assert (row["status"], row["error"], row["lease_owner"], row["lease_expires_at"]) == \
        ("failed", "cannot parse", None, None)
    assert row["finished_at"]


def test_a_failure_reported_after_the_lease_was_lost_changes_nothing(queue: TaskQueue) -> None:
    queue.lease_seconds = 0.01
    task = queue.submit("general", "slow worker")
    stale = _claim(queue, agent="slow")
    time.sleep(0.05)
    queue.requeue_expired()
    fresh = _claim(queue, agent="fast")
    sent = len(_sent(queue))
    assert queue.fail(stale, "too late") is None
    assert len(_sent(queue)) == sent and _events(queue, task["id"], EventKind.RETRY) == []
    row = queue.get(task["id"])
    assert row["status"] == "running" and row["lease_owner"] == fresh.owner and row["error"] != "too late"


def test_a_long_error_is_kept_to_its_first_4000_characters(queue: TaskQueue) -> None:
    queue.submit("general", "x")
    claim = _claim(queue)
    error = "".join(random.Random(2).choice("abcdefgh") for _ in range(5000))
    queue.fail(claim, error, retryable=False)
    assert queue.get(claim.task_id)["error"] == error[:4000]


# -- cancellation --------------------------------------------------------------------------------------


def test_a_cancelled_queued_task_ends_with_its_time_and_reason(queue: TaskQueue) -> None:
    task = queue.submit("general", "x")
    before = utcnow()
    row = queue.cancel(task["id"])
    assert (row["status"], row["error"]) == ("cancelled", "cancelled before it ran")
    assert before <= datetime.fromisoformat(row["finished_at"]) <= utcnow()


def test_a_running_task_marked_cancelled_ends_with_its_time_reason_and_no_lease(queue: TaskQueue) -> None:
    queue.submit("general", "x")
    claim = _claim(queue)
    queue.cancel(claim.task_id)
    before = utcnow()
    assert queue.mark_cancelled(claim)
    row = queue.get(claim.task_id)
    assert (row["status"], row["error"], row["lease_owner"], row["lease_expires_at"]) == \
        ("cancelled", "cancelled while running", None, None)
    assert before <= datetime.fromisoformat(row["finished_at"]) <= utcnow()
    assert not queue.mark_cancelled(claim)  # its lease is gone with it


def test_cancelling_an_unknown_task_names_it(queue: TaskQueue) -> None:
    with pytest.raises(NotFound, match="^No such task: 987654$"):
        queue.cancel(987_654)


# -- renewals ------------------------------------------------------------------------------------------


def test_a_renewal_moves_only_the_named_leases_and_reports_only_their_cancels(queue: TaskQueue) -> None:
    queue.submit("general", "mine")
    queue.submit("general", "theirs")
    mine, theirs = _claim(queue, agent="me"), _claim(queue, agent="them")
    queue.cancel(theirs.task_id)  # their task asks to stop; mine does not
    theirs_lease = queue.get(theirs.task_id)["lease_expires_at"]
    queue.lease_seconds = 3600
    assert queue.renew([mine.owner]) == set()
    assert queue.get(theirs.task_id)["lease_expires_at"] == theirs_lease
    assert datetime.fromisoformat(queue.get(mine.task_id)["lease_expires_at"]) > utcnow() + timedelta(seconds=3000)
    assert queue.renew([mine.owner, theirs.owner]) == {theirs.owner}
    assert queue.renew([]) == set()


# -- the lease sweep -----------------------------------------------------------------------------------


def test_a_requeued_task_is_announced_by_its_id_and_pool(queue: TaskQueue) -> None:
    queue.lease_seconds = 0.01
    task = queue.submit("financial", "its worker died")
    _claim(queue, "financial")
    time.sleep(0.05)
    sent = len(_sent(queue))
    assert queue.requeue_expired() == {"requeued": 1, "failed": 0, "cancelled": 0}
    assert _sent(queue)[sent:] == [(task["id"], "financial", 0.0)]


# -- reading -------------------------------------------------------------------------------------------


def test_a_listing_gives_fifty_tasks_unless_asked_and_at_least_one(queue: TaskQueue) -> None:
    ids = [queue.submit("general", f"t{i}")["id"] for i in range(52)]
    assert [t["id"] for t in queue.list()] == ids[::-1][:50]
    assert [t["id"] for t in queue.list(limit=0)] == [ids[-1]]
    assert [t["id"] for t in queue.list(limit=-5)] == [ids[-1]]


def test_a_listing_filters_by_status_and_by_user(queue: TaskQueue) -> None:
    ann, bob = _users(queue, "ann", "bob")
    a1 = queue.submit("general", "a1", user_id=ann)["id"]
    b1 = queue.submit("general", "b1", user_id=bob)["id"]
    a2 = queue.submit("general", "a2", user_id=ann)["id"]
    anon = queue.submit("general", "nobody's")["id"]
    claim = _claim(queue)
    assert claim.task_id == a1 and claim.user_id == ann
    assert [t["id"] for t in queue.list(user_id=ann)] == [a2, a1]
    assert [t["id"] for t in queue.list(user_id=bob)] == [b1]
    assert [t["id"] for t in queue.list(status="running")] == [a1]
    assert [t["id"] for t in queue.list(status="queued")] == [anon, a2, b1]
    assert [t["id"] for t in queue.list(status="queued", user_id=ann)] == [a2]
    assert [t["id"] for t in queue.list()] == [anon, a2, b1, a1]


def test_an_unknown_status_is_refused_with_the_known_ones_named(queue: TaskQueue) -> None:
    known = ", ".join(s.value for s in TaskStatus)
    with pytest.raises(BadRequest) as refused:
        queue.list(status="exploded")
    assert str(refused.value) == f"Unknown task status 'exploded': use one of {known}."


def test_the_same_idempotency_key_is_per_user(queue: TaskQueue) -> None:
    ann, bob = _users(queue, "ann", "bob")
    anon = queue.submit("general", "x", idempotency_key="k")
    for_ann = queue.submit("general", "x", idempotency_key="k", user_id=ann)
    for_bob = queue.submit("general", "x", idempotency_key="k", user_id=bob)
    assert len({anon["id"], for_ann["id"], for_bob["id"]}) == 3
    assert "idempotent_replay" not in for_ann and "idempotent_replay" not in for_bob
    again = queue.submit("general", "x", idempotency_key="k", user_id=bob)
    assert (again["id"], again["idempotent_replay"]) == (for_bob["id"], True)
    assert queue.submit("general", "x", idempotency_key="k")["id"] == anon["id"]
    assert queue.submit("general", "x", idempotency_key="k", user_id=ann)["id"] == for_ann["id"]


def test_has_ready_sees_only_due_queued_tasks_of_its_pool(queue: TaskQueue) -> None:
    assert not queue.has_ready("general")
    later = queue.submit("general", "later")["id"]
    with queue.engine.begin() as conn:
        conn.execute(sa.update(Task).where(Task.id == later).values(run_after=utcnow() + timedelta(hours=1)))
    queue.submit("sports", "other pool")
    assert not queue.has_ready("general") and queue.has_ready("sports")
    queue.submit("general", "due")
    assert queue.has_ready("general")
    _claim(queue)
    assert not queue.has_ready("general")


def test_queue_stats_count_each_pool_and_age_to_the_millisecond(queue: TaskQueue,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    start = utcnow().replace(microsecond=0)
    clock = [start]
    monkeypatch.setattr(task_processor, "utcnow", lambda: clock[0])
    queue.submit("general", "a")
    queue.submit("sports", "b")
    clock[0] = start + timedelta(seconds=0.25)
    queue.submit("general", "c")
    clock[0] = start + timedelta(seconds=1, microseconds=234_567)
    stats = queue.queue_stats()
    assert stats == {"general": {"queued": 2, "oldest_age_seconds": 1.235},
                     "sports": {"queued": 1, "oldest_age_seconds": 1.235}}


def test_stale_queued_lists_by_id_whatever_their_ready_times(queue: TaskQueue) -> None:
    first, second, third = (queue.submit("general", t)["id"] for t in ("a", "b", "c"))
    now = utcnow()
    with queue.engine.begin() as conn:
        for task_id, age in ((first, 60), (second, 600), (third, 300)):
            conn.execute(sa.update(Task).where(Task.id == task_id).values(run_after=now - timedelta(seconds=age)))
    assert queue.stale_queued(30) == {"general": [first, second, third]}
    assert queue.stale_queued(30, limit=2) == {"general": [first, second]}


# -- events --------------------------------------------------------------------------------------------


def test_recorded_events_are_stored_in_order(queue: TaskQueue) -> None:
    task = queue.submit("general", "x")["id"]
    rows = [event_row(task, EventKind.PROVIDER_CALL, {"n": n}) for n in range(6)]
    queue.record_events(rows)
    queue.record_events([])
    calls = _events(queue, task, EventKind.PROVIDER_CALL)
    assert [e["data"] for e in calls] == [{"n": n} for n in range(6)]


def test_events_that_cannot_be_stored_are_logged_not_raised(queue: TaskQueue,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    missing = 2_000_000_000  # no such task: the foreign key refuses the rows
    rows = [event_row(missing + n, EventKind.PROVIDER_CALL, {"n": n}) for n in range(2)]
    with caplog.at_level(logging.WARNING, logger="task_processor"):
        queue.record_events(rows)
    warned = [r for r in caplog.records if r.name == "task_processor"]
    assert [r.getMessage() for r in warned] == [f"task {missing}: 2 event(s) not recorded"]
    assert warned[0].exc_info and warned[0].exc_info[0] is not None  # the traceback (exc_info=False: no tuple)
    assert queue.events.after(missing) == []


# -- the local dispatcher ------------------------------------------------------------------------------


def test_the_local_dispatcher_wakes_a_waiting_agent_once_and_not_for_a_delayed_task() -> None:
    dispatcher = LocalDispatcher()
    woke = threading.Event()

    def agent() -> None:
        dispatcher.wait("general", 5.0)
        woke.set()

    waiting = threading.Thread(target=agent, daemon=True)
    waiting.start()
    time.sleep(0.05)
    dispatcher.dispatch(1, "sports")
    dispatcher.dispatch(2, "general", delay=0.5)  # due later: found by polling, no wake-up now
    assert not woke.wait(0.2)
    dispatcher.dispatch(3, "general")
    assert woke.wait(2.0)
    started = time.monotonic()
    finished = threading.Event()

    def idle_agent() -> None:
        dispatcher.wait("general", 0.1)
        finished.set()

    threading.Thread(target=idle_agent, daemon=True).start()
    assert finished.wait(2.0)  # the wake-up was used up: the next wait runs to its timeout
    assert time.monotonic() - started >= 0.09


# -- results -------------------------------------------------------------------------------------------


def test_a_result_without_token_counts_records_none_used(queue: TaskQueue) -> None:
    queue.submit("general", "x")
    queue.submit("general", "y")
    first = _claim(queue)
    assert queue.complete(first, {"text": "a"})
    second = _claim(queue)
    assert queue.complete_and_claim(second, {"text": "b"}) == (True, None)
    for claim in (first, second):
        row = queue.get(claim.task_id)
        assert (row["tokens_in"], row["tokens_out"], row["provider"]) == (0, 0, None)


def test_a_result_after_a_lost_lease_is_logged_with_the_task_and_its_owner(
        queue: TaskQueue, caplog: pytest.LogCaptureFixture) -> None:
    queue.submit("general", "x")
    claim = _claim(queue, agent="late")
    assert queue.complete(claim, {"text": "first"})
    with caplog.at_level(logging.WARNING, logger="task_processor"):
        assert not queue.complete(claim, {"text": "again"})
    warned = [r.getMessage() for r in caplog.records if r.name == "task_processor"]
    assert warned == [f"task {claim.task_id}: lease of {claim.owner} lost; result discarded"]


@pytest.mark.parametrize("count", [1, 4, 5, 9])
def test_a_results_events_are_stored_with_it_in_order(queue: TaskQueue, count: int) -> None:
    queue.submit("general", "x")
    queue.submit("general", "next")
    claim = _claim(queue)
    rows = [event_row(claim.task_id, EventKind.TOOL_CALL, {"n": n}) for n in range(count)]
    recorded, following = queue.complete_and_claim(claim, {"text": "done"}, next_for="a1", events=rows)
    assert recorded and following is not None and following.task_id != claim.task_id
    assert [e["data"] for e in _events(queue, claim.task_id, EventKind.TOOL_CALL)] == [{"n": n} for n in range(count)]


def test_a_claim_carries_the_tasks_session_and_user(queue: TaskQueue) -> None:
    (ann,) = _users(queue, "ann")
    with Session(queue.engine) as db:
        db.add(ConversationSession(id="s" * 32, user_id=ann))
        db.commit()
    task = queue.submit("general", "x", user_id=ann, session_id="s" * 32)
    claim = _claim(queue)
    assert (claim.task_id, claim.session_id, claim.user_id) == (task["id"], "s" * 32, ann)


# -- the sweep's log line ------------------------------------------------------------------------------


@pytest.mark.parametrize(("max_attempts", "cancel", "line"), [
    (3, False, "lease sweep: 1 requeued, 0 failed, 0 cancelled"),
    (1, False, "lease sweep: 0 requeued, 1 failed, 0 cancelled"),
    (1, True, "lease sweep: 0 requeued, 0 failed, 1 cancelled"),
])
def test_the_sweep_logs_what_it_did_whenever_it_did_anything(
        queue: TaskQueue, caplog: pytest.LogCaptureFixture, max_attempts: int, cancel: bool, line: str) -> None:
    queue.lease_seconds = 0.01
    with caplog.at_level(logging.WARNING, logger="task_processor"):
        assert queue.requeue_expired() == {"requeued": 0, "failed": 0, "cancelled": 0}
        queue.submit("general", "x", max_attempts=max_attempts)
        claim = _claim(queue)
        if cancel:
            queue.cancel(claim.task_id)
        time.sleep(0.05)
        queue.requeue_expired()
    assert [r.getMessage() for r in caplog.records if r.name == "task_processor"] == [line]


# -- counts and ids ------------------------------------------------------------------------------------


def test_counts_give_every_status_with_the_finished_ones_of_the_last_day(queue: TaskQueue) -> None:
    ids = [queue.submit("general", f"t{i}")["id"] for i in range(6)]
    queue.submit("sports", "waiting")
    done, old, failed = _claim(queue), _claim(queue), _claim(queue)
    _claim(queue)  # stays running
    queue.complete(done, {})
    queue.complete(old, {})
    queue.fail(failed, "x", retryable=False)
    queue.cancel(ids[-1])
    with queue.engine.begin() as conn:  # finished two days ago: outside the window
        conn.execute(sa.update(Task).where(Task.id == old.task_id).values(finished_at=utcnow() - timedelta(days=2)))
    assert queue.counts() == {"queued": 2, "running": 1, "succeeded": 1, "failed": 1, "cancelled": 1}


@pytest.mark.parametrize("task_id", [-1, 0, 424_242, task_processor.MAX_TASK_ID + 1])
def test_an_absent_or_impossible_task_id_is_not_found_by_name(queue: TaskQueue, task_id: int) -> None:
    with pytest.raises(NotFound, match=f"^No such task: {task_id}$"):
        queue.get(task_id)


# -- submissions and claims ----------------------------------------------------------------------------


def test_a_submission_has_used_no_tokens(queue: TaskQueue) -> None:
    task = queue.submit("general", "x")
    assert (task["tokens_in"], task["tokens_out"]) == (0, 0)
    row = queue.get(task["id"])
    assert (row["tokens_in"], row["tokens_out"]) == (0, 0)


def test_a_claim_is_recorded_as_an_event_naming_the_worker_process_and_attempt(queue: TaskQueue) -> None:
    task = queue.submit("general", "x", max_attempts=4)
    claim = _claim(queue, agent="agent-7")
    claimed = _events(queue, task["id"], EventKind.CLAIMED)
    assert [e["data"] for e in claimed] == [{"worker": claim.owner, "process": process_name(), "attempt": 1,
                                             "max_attempts": 4}]


def test_a_queue_without_a_retry_policy_backs_off_by_the_default_one(sqlite_url: str) -> None:
    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    try:
        queue = TaskQueue(engine, RecordingDispatcher())
        task = queue.submit("general", "x")
        sent = len(_sent(queue))
        assert queue.fail(_claim(queue), "boom") == "queued"
        ((task_id, pool, delay),) = _sent(queue)[sent:]
        base = task_processor.BACKOFF_BASE_SECONDS
        assert (task_id, pool) == (task["id"], "general") and base / 2 <= delay <= base
    finally:
        engine.dispose()


def test_on_a_sqlite_file_a_submission_runs_below_sqlalchemys_connection(sqlite_url: str) -> None:
    """The fast path of submissions (database.direct_insert): no statement goes through a Connection."""
    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    try:
        queue = TaskQueue(engine)
        through_sqlalchemy: list[str] = []
        sa.event.listen(engine, "before_cursor_execute",
                        lambda _c, _cur, statement, *_: through_sqlalchemy.append(statement))
        task = queue.submit("general", "fast")
        assert through_sqlalchemy == []
        assert queue.get(task["id"])["input"] == "fast"
    finally:
        engine.dispose()


def test_with_tracing_off_a_submission_stores_no_queued_event_and_one_is_read_from_its_row(queue: TaskQueue) -> None:
    task = queue.submit("sports", "odds", priority=7)
    with queue.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM task_events WHERE task_id = :id"), {"id": task["id"]})
        assert stored.scalar() == 0
    queued = _events(queue, task["id"], EventKind.QUEUED)
    assert [(e["id"], e["data"]) for e in queued] == [(0, {"pool": "sports", "priority": 7})]


def test_counts_of_an_empty_queue_are_all_zero(queue: TaskQueue) -> None:
    assert queue.counts() == {s.value: 0 for s in TaskStatus}


# -- the submission's limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{"text": "x" * task_processor.MAX_INPUT_CHARS}, {"priority": -100},
                                    {"priority": 100}, {"max_attempts": 1}, {"max_attempts": 20},
                                    {"timeout_seconds": 0.5}, {"timeout_seconds": 3600},
                                    {"idempotency_key": "k"}, {"idempotency_key": "k" * 128}])
def test_a_submission_at_each_limit_is_accepted(queue: TaskQueue, kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"text": "ok", **kwargs}
    task = queue.submit("general", args.pop("text"), **args)
    assert queue.get(task["id"])["status"] == "queued"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"text": ""}, "A task needs a non-empty input text."),
    ({"text": "x" * 20_001}, "A task's input is limited to 20000 characters (got 20001)."),
    ({"priority": -101}, "Priority must be a whole number from -100 to 100."),
    ({"priority": 101}, "Priority must be a whole number from -100 to 100."),
    ({"max_attempts": 21}, "max_attempts must be from 1 to 20."),
    ({"timeout_seconds": 0}, "timeout_seconds must be more than 0 and at most 3600."),
    ({"timeout_seconds": 3600.5}, "timeout_seconds must be more than 0 and at most 3600."),
    ({"idempotency_key": ""}, "idempotency_key must be 1 to 128 characters."),
    ({"idempotency_key": "k" * 129}, "idempotency_key must be 1 to 128 characters."),
])
def test_a_submission_past_a_limit_is_refused_with_the_limit_named(queue: TaskQueue, kwargs: dict[str, Any],
                                                                   message: str) -> None:
    args: dict[str, Any] = {"text": "ok", **kwargs}
    with pytest.raises(BadRequest) as refused:
        queue.submit("general", args.pop("text"), **args)
    assert str(refused.value) == message
    assert queue.list() == []
