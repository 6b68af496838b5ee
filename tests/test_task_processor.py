"""The durable queue on SQLite and PostgreSQL: claims, leases, retries, priorities, cancellation."""
from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import database
import task_processor
from errors import BadRequest, Conflict, NotFound
from models import Task, TaskStatus, utcnow
from storage.group_commit import GroupCommit
from task_processor import Claim, RetryPolicy, TaskQueue
from telemetry import events as telemetry_events

from . import fixtures
from .conftest import run_in_threads


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("postgres-direct", marks=pytest.mark.postgres)])
def queue(request: pytest.FixtureRequest) -> Iterator[TaskQueue]:
    """The queue on SQLite and PostgreSQL; and, on PostgreSQL, the Celery worker's DirectTaskQueue, whose claim
    by id, result and renewal run their own statements on a kept connection (the same tests hold for them)."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    with fixtures.queue_on(url, direct=request.param == "postgres-direct") as made:
        yield made


_claim = fixtures.claim_one


def test_a_task_goes_from_queued_to_succeeded_with_its_result(queue: TaskQueue) -> None:
    task = queue.submit("financial", "Analyze AAPL")
    assert task["status"] == "queued"
    claim = _claim(queue, "financial")
    assert (claim.task_id, claim.attempt, claim.input) == (task["id"], 1, "Analyze AAPL")
    running = queue.get(task["id"])
    assert running["status"] == "running" and running["lease_owner"] == claim.owner
    assert queue.complete(claim, {"text": "done"}, tokens_in=3, tokens_out=4, provider="local")
    done = queue.get(task["id"])
    assert done["status"] == "succeeded" and done["result"] == {"text": "done"}
    assert (done["tokens_in"], done["tokens_out"], done["provider"]) == (3, 4, "local")
    assert done["finished_at"] and done["lease_owner"] is None


def test_a_result_is_recorded_once(queue: TaskQueue) -> None:
    queue.submit("general", "x")
    claim = _claim(queue)
    assert queue.complete(claim, {"n": 1})
    assert not queue.complete(claim, {"n": 2})
    assert queue.get(claim.task_id)["result"] == {"n": 1}


def test_a_worker_whose_lease_expired_cannot_record_its_result(queue: TaskQueue) -> None:
    queue.lease_seconds = 0.05
    queue.submit("general", "x")
    stale = _claim(queue, agent="slow")
    time.sleep(0.1)
    assert queue.requeue_expired()["requeued"] == 1
    fresh = _claim(queue, agent="fast")
    assert fresh.attempt == 2 and fresh.owner != stale.owner
    assert not queue.complete(stale, {"by": "slow"})
    assert queue.complete(fresh, {"by": "fast"})
    assert queue.get(fresh.task_id)["result"] == {"by": "fast"}


def test_nothing_to_claim_returns_none_and_pools_are_separate(queue: TaskQueue) -> None:
    assert queue.claim("general", "a") is None
    queue.submit("sports", "odds")
    assert queue.claim("general", "a") is None
    assert _claim(queue, "sports").pool == "sports"


def test_priorities_order_the_claims_then_age(queue: TaskQueue) -> None:
    ids = {p: queue.submit("general", f"p{p}", priority=p)["id"] for p in (0, 5, -3, 10)}
    later_same = queue.submit("general", "p5b", priority=5)["id"]
    order = [_claim(queue).task_id for _ in range(5)]
    assert order == [ids[10], ids[5], later_same, ids[0], ids[-3]]


def test_a_failed_attempt_is_retried_after_a_backoff(queue: TaskQueue) -> None:
    queue.retry = RetryPolicy(base_seconds=0.3, cap_seconds=1.0)
    queue.submit("general", "flaky")
    claim = _claim(queue)
    assert queue.fail(claim, "boom") == "queued"
    task = queue.get(claim.task_id)
    assert task["status"] == "queued" and task["error"] == "boom"
    assert queue.claim("general", "a2") is None  # not before the backoff
    time.sleep(0.35)
    assert _claim(queue, agent="a2").attempt == 2


def test_a_task_that_always_fails_ends_failed_after_max_attempts(queue: TaskQueue) -> None:
    queue.submit("general", "doomed", max_attempts=3)
    outcomes = []
    for attempt in range(1, 4):
        deadline = time.monotonic() + 2
        claim = None
        while claim is None and time.monotonic() < deadline:
            claim = queue.claim("general", "a")
        assert claim is not None and claim.attempt == attempt
        outcomes.append(queue.fail(claim, f"error on attempt {attempt}"))
    assert outcomes == ["queued", "queued", "failed"]
    assert claim is not None
    task = queue.get(claim.task_id)
    assert task["status"] == "failed" and task["attempts"] == 3
    assert task["error"] == "error on attempt 3" and task["finished_at"]


def test_a_permanent_failure_is_not_retried(queue: TaskQueue) -> None:
    queue.submit("general", "bad input")
    claim = _claim(queue)
    assert queue.fail(claim, "cannot parse", retryable=False) == "failed"


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    policy = RetryPolicy(base_seconds=1.0, cap_seconds=8.0, rng=random.Random(7))
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [policy.delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 40  # jittered


def test_cancelling_a_queued_task_stops_it_at_once(queue: TaskQueue) -> None:
    task = queue.submit("general", "x")
    assert queue.cancel(task["id"])["status"] == "cancelled"
    assert queue.claim("general", "a") is None


def test_cancelling_a_running_task_asks_it_to_stop_at_its_next_check(queue: TaskQueue) -> None:
    queue.submit("general", "x")
    claim = _claim(queue)
    other = queue.submit("general", "y")
    other_claim = _claim(queue, agent="b")
    task = queue.cancel(claim.task_id)
    assert task["status"] == "running" and task["cancel_requested"] is True
    assert queue.renew([claim.owner, other_claim.owner]) == {claim.owner}
    assert queue.mark_cancelled(claim)
    assert queue.get(claim.task_id)["status"] == "cancelled"
    assert queue.get(other["id"])["status"] == "running"


def test_cancelling_an_ended_or_unknown_task_is_refused(queue: TaskQueue) -> None:
    queue.submit("general", "x")
    claim = _claim(queue)
    queue.complete(claim, {})
    with pytest.raises(Conflict, match="already ended"):
        queue.cancel(claim.task_id)
    with pytest.raises(NotFound):
        queue.cancel(999_999)


def test_an_expired_lease_on_the_last_attempt_fails_the_task(queue: TaskQueue) -> None:
    queue.lease_seconds = 0.01
    queue.submit("general", "kills its worker", max_attempts=1)
    claim = _claim(queue)
    time.sleep(0.05)
    assert queue.requeue_expired() == {"requeued": 0, "failed": 1, "cancelled": 0}
    task = queue.get(claim.task_id)
    assert task["status"] == "failed" and "lease expired" in task["error"]


@pytest.mark.parametrize("max_attempts", [3, 1])
def test_a_task_asked_to_cancel_whose_lease_expired_is_cancelled_not_requeued(
        queue: TaskQueue, max_attempts: int) -> None:
    queue.lease_seconds = 0.01
    queue.submit("general", "its worker dies after the cancel", max_attempts=max_attempts)
    other = queue.submit("general", "its worker dies too")
    claim, dying = _claim(queue), _claim(queue, agent="a2")
    queue.cancel(claim.task_id)
    time.sleep(0.05)
    assert queue.requeue_expired() == {"requeued": 1, "failed": 0, "cancelled": 1}
    task = queue.get(claim.task_id)
    assert task["status"] == "cancelled" and task["lease_owner"] is None and task["finished_at"]
    assert queue.get(other["id"])["status"] == "queued" and dying.task_id == other["id"]
    assert queue.claim("general", "a3") is not None and queue.claim("general", "a4") is None  # only the other


def test_the_sweep_leaves_live_leases_alone_and_clears_the_expired_ones(queue: TaskQueue) -> None:
    queue.submit("general", "asked to cancel, its worker alive")
    live = _claim(queue)
    queue.cancel(live.task_id)
    queue.lease_seconds = 0.01
    queue.submit("general", "dead worker, attempts left")
    queue.submit("general", "dead worker, last attempt", max_attempts=1)
    queue.submit("general", "dead worker, asked to cancel")
    retried, last, cancelled = _claim(queue, agent="a2"), _claim(queue, agent="a3"), _claim(queue, agent="a4")
    queue.cancel(cancelled.task_id)
    time.sleep(0.05)
    assert queue.requeue_expired() == {"requeued": 1, "failed": 1, "cancelled": 1}
    still = queue.get(live.task_id)  # its lease holds: the cancel waits for its worker's next check
    assert still["status"] == "running" and still["lease_owner"] == live.owner and still["cancel_requested"]
    back, failed, stopped = (queue.get(c.task_id) for c in (retried, last, cancelled))
    assert (back["status"], back["lease_owner"], back["lease_expires_at"], back["finished_at"]) == \
        ("queued", None, None, None)
    assert back["error"] == "the worker stopped (lease expired); retrying"
    assert (failed["status"], failed["lease_owner"], failed["lease_expires_at"]) == ("failed", None, None)
    assert failed["finished_at"] and failed["error"] == "the worker stopped (lease expired) on the last allowed attempt"
    assert (stopped["status"], stopped["lease_owner"], stopped["lease_expires_at"]) == ("cancelled", None, None)
    assert stopped["finished_at"]


def test_renewing_keeps_a_lease_alive(queue: TaskQueue) -> None:
    queue.lease_seconds = 0.2
    queue.submit("general", "long")
    claim = _claim(queue)
    for _ in range(4):
        time.sleep(0.1)
        queue.renew([claim.owner])
        assert queue.requeue_expired()["requeued"] == 0
    assert queue.complete(claim, {})


def test_the_same_idempotency_key_returns_the_same_task(queue: TaskQueue) -> None:
    first = queue.submit("general", "once", idempotency_key="abc")
    again = queue.submit("general", "once", idempotency_key="abc")
    assert again["id"] == first["id"] and again["idempotent_replay"] is True
    assert queue.submit("general", "once", idempotency_key="abd")["id"] != first["id"]
    assert len(queue.list()) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"pool": "astrology"}, "Unknown pool"),
    ({"text": "  "}, "non-empty"),
    ({"text": "x" * 20_001}, "limited"),
    ({"priority": 1000}, "Priority"),
    ({"priority": True}, "Priority"),
    ({"max_attempts": 0}, "max_attempts"),
    ({"idempotency_key": "k" * 200}, "idempotency_key"),
])
def test_bad_submissions_are_refused_and_change_nothing(queue: TaskQueue, kwargs: dict, message: str) -> None:
    args: dict[str, Any] = {"pool": "general", "text": "ok"}
    args.update(kwargs)
    with pytest.raises(BadRequest, match=message):
        queue.submit(args.pop("pool"), args.pop("text"), **args)
    assert queue.list() == []


def test_list_filters_and_pages(queue: TaskQueue) -> None:
    for i in range(5):
        queue.submit("sports" if i % 2 else "general", f"t{i}")
    assert [t["input"] for t in queue.list(pool="sports")] == ["t3", "t1"]
    page = queue.list(limit=2)
    assert [t["input"] for t in page] == ["t4", "t3"]
    assert [t["input"] for t in queue.list(limit=2, before_id=page[-1]["id"])] == ["t2", "t1"]
    with pytest.raises(BadRequest):
        queue.list(status="exploded")


def test_queue_stats_give_depth_and_oldest_age(queue: TaskQueue) -> None:
    queue.submit("general", "a")
    time.sleep(0.05)
    queue.submit("general", "b")
    stats = queue.queue_stats()["general"]
    assert stats["queued"] == 2 and stats["oldest_age_seconds"] >= 0.05


def test_concurrent_claims_take_each_task_exactly_once(queue: TaskQueue) -> None:
    total = 300
    for i in range(total):
        queue.submit("general", f"t{i}")
    taken: list[int] = []
    lock = threading.Lock()

    def agent(name: str) -> None:
        while (claim := queue.claim("general", name)) is not None:
            assert queue.complete(claim, {"by": name})
            with lock:
                taken.append(claim.task_id)

    assert run_in_threads(agent, [(f"a{i}",) for i in range(6)]) == []
    assert len(taken) == total and Counter(taken).most_common(1)[0][1] == 1
    assert queue.counts()["succeeded"] == total


def test_the_claim_query_uses_the_claim_index(sqlite_url: str) -> None:
    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    with engine.connect() as conn:
        plan = " ".join(str(r) for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM tasks WHERE pool='general' AND status='queued' "
            "AND run_after <= '2030-01-01' ORDER BY priority DESC, id LIMIT 1"))
    engine.dispose()
    assert "ix_tasks_claim" in plan and "TEMP B-TREE" not in plan


def test_run_after_in_the_future_hides_a_task(queue: TaskQueue) -> None:
    task = queue.submit("general", "later")
    with queue.engine.begin() as conn:
        conn.execute(sa.update(Task).where(Task.id == task["id"]).values(run_after=utcnow() + timedelta(hours=1)))
    assert queue.claim("general", "a") is None
    assert queue.get(task["id"])["status"] == TaskStatus.QUEUED.value


def test_concurrent_submits_and_claims_lose_nothing_and_never_see_locked(queue: TaskQueue) -> None:
    """8 threads submit while 4 work the queue: every submission gets its own row, no 'database is locked'."""
    errors: list[BaseException] = []
    submitted: list[int] = []
    done = threading.Event()
    lock = threading.Lock()
    barrier = threading.Barrier(12)

    def submitter(n: int) -> None:
        try:
            barrier.wait()
            for i in range(40):
                task = queue.submit("general", f"client {n} task {i}")
                with lock:
                    submitted.append(task["id"])
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    def worker(name: str) -> None:
        try:
            barrier.wait()
            while not done.is_set() or queue.counts()["queued"]:
                claim = queue.claim("general", name)
                if claim is not None:
                    assert queue.complete(claim, {"by": name})
        except BaseException as exc:
            errors.append(exc)

    submitters = [threading.Thread(target=submitter, args=(n,)) for n in range(8)]
    workers = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for t in submitters + workers:
        t.start()
    for t in submitters:
        t.join()
    done.set()
    for t in workers:
        t.join()
    assert errors == [], errors[:3]
    assert len(set(submitted)) == len(submitted) == 320
    assert queue.counts()["succeeded"] == 320
    assert {t["input"] for t in queue.list(limit=500)} == {f"client {n} task {i}" for n in range(8) for i in range(40)}


def test_a_submission_answers_the_row_as_it_is_read_back(queue: TaskQueue) -> None:
    task = queue.submit("sports", "odds", priority=5, idempotency_key="once")
    stored = queue.get(task["id"])
    assert {k: task[k] for k in stored if k != "provider"} == {k: v for k, v in stored.items() if k != "provider"}


# -- the SQLite fast path: claims and results below SQLAlchemy's Connection ----------------------------

@pytest.fixture
def sqlite_queue(sqlite_url: str) -> Iterator[TaskQueue]:
    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    yield TaskQueue(engine)
    engine.dispose()


def _frozen_clock(monkeypatch: pytest.MonkeyPatch, at: datetime) -> list[datetime]:
    """The queue's clock stopped at `at` (microseconds and all); set clock[0] to move it."""
    clock = [at]
    monkeypatch.setattr(task_processor, "utcnow", lambda: clock[0])
    return clock


def _detached(engine: sa.Engine) -> list[Any]:
    """Every DBAPI connection detached from the engine's pool from now on (the kept ones)."""
    made: list[Any] = []
    sa.event.listen(engine, "detach", lambda dbapi_connection, _record: made.append(dbapi_connection))
    return made


def _closed(connection: Any) -> bool:
    try:
        connection.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def _writes_promptly(engine: sa.Engine) -> bool:
    """True when another thread's write transaction gets through at once (a held writer lock: 30 s)."""
    done = threading.Event()

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(sa.update(Task).where(Task.id == -1).values(error="x"))
        done.set()

    threading.Thread(target=write, daemon=True).start()
    return done.wait(5)


def test_on_sqlite_claims_and_results_run_below_sqlalchemys_connection(sqlite_queue: TaskQueue) -> None:
    last = [sqlite_queue.submit("general", text)["id"] for text in ("a", "b", "c")][-1]
    through_sqlalchemy: list[str] = []
    sa.event.listen(sqlite_queue.engine, "before_cursor_execute",
                    lambda *args: through_sqlalchemy.append(args[2]))
    first = _claim(sqlite_queue)
    recorded, second = sqlite_queue.complete_and_claim(first, {"n": 1}, next_for="a1")
    assert recorded and second is not None
    assert sqlite_queue.complete(second, {"n": 2})
    assert sqlite_queue.claim("general", "a1", task_id=last) is not None
    assert through_sqlalchemy == []


def test_the_sqlite_fast_path_stores_byte_for_byte_what_the_core_path_stores(
        sqlite_queue: TaskQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    core = TaskQueue(sqlite_queue.engine)
    monkeypatch.setattr(core, "_hot", None)  # the SQLAlchemy Core transactions the fast path stands in for
    now = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    _frozen_clock(monkeypatch, now)
    result = {"text": "héllo ✓ \"quoted\"", "n": [1, 2.5, None], "ok": True, "nested": {"z": 1, "a": 2}}
    decision = {"pool": "general", "flags": ["prompt_injection"], "urgency": None, "topic": "général"}
    claims = {}
    for name, queue in (("fast", sqlite_queue), ("core", core)):
        queue.submit("general", "low")
        queue.submit("general", "high", priority=5, safety=decision)
        first = _claim(queue)
        recorded, second = queue.complete_and_claim(first, result, tokens_in=3, tokens_out=4,
                                                    provider="local", next_for="a1")
        assert recorded and second is not None
        assert queue.complete(second, {})
        named = queue.claim("general", "a2", task_id=queue.submit("general", "named")["id"])
        assert named is not None
        claims[name] = [replace(c, task_id=0) for c in (first, second, named)]
    assert claims["fast"] == claims["core"]
    assert claims["fast"][0] == Claim(0, "general", "high", 1, 3, 120.0, "a1#1", safety=decision)
    assert claims["fast"][1].safety is None  # submitted without a decision: its worker makes one

    with sqlite_queue.engine.connect() as conn:  # the stored values themselves, with their SQLite types
        rows = [[(key, type(value), value) for key, value in row.items() if key != "id"]
                for row in conn.exec_driver_sql("SELECT * FROM tasks ORDER BY id").mappings()]
    assert rows[:3] == rows[3:]
    low, high, named_id = sorted(task["id"] for task in sqlite_queue.list())[:3]  # the fast path's
    with Session(sqlite_queue.engine) as session:
        task = session.get(Task, high)
        assert task is not None and task.status is TaskStatus.SUCCEEDED and task.result == result
        assert task.started_at == task.finished_at == now and task.lease_expires_at is None
        assert (task.tokens_in, task.tokens_out, task.provider, task.lease_owner) == (3, 4, "local", None)
    assert sqlite_queue.get(low)["finished_at"] == now.isoformat() and sqlite_queue.get(low)["result"] == {}
    running = sqlite_queue.get(named_id)
    assert running["status"] == "running" and running["lease_owner"] == "a2#1"
    assert running["lease_expires_at"] == (now + timedelta(seconds=sqlite_queue.lease_seconds)).isoformat()


def test_a_task_is_claimable_from_its_run_after_to_the_microsecond(
        sqlite_queue: TaskQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    due = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    ids = [sqlite_queue.submit("general", text)["id"] for text in ("by pool", "by name")]
    with Session(sqlite_queue.engine) as session, session.begin():
        for task_id in ids:
            session.get(Task, task_id).run_after = due  # type: ignore[union-attr]
    clock = _frozen_clock(monkeypatch, due - timedelta(microseconds=1))
    assert sqlite_queue.claim("general", "a") is None
    assert sqlite_queue.claim("general", "a", task_id=ids[1]) is None
    clock[0] = due
    assert _claim(sqlite_queue).task_id == ids[0]
    named = sqlite_queue.claim("general", "a", task_id=ids[1])
    assert named is not None and named.task_id == ids[1]


def test_a_result_after_a_lost_lease_is_discarded_and_the_next_task_still_claimed(
        sqlite_queue: TaskQueue, caplog: pytest.LogCaptureFixture) -> None:
    sqlite_queue.lease_seconds = 0.05
    task = sqlite_queue.submit("general", "slow")
    stale = _claim(sqlite_queue, agent="slow")
    time.sleep(0.1)
    assert sqlite_queue.requeue_expired()["requeued"] == 1
    fresh = _claim(sqlite_queue, agent="fast")
    following = sqlite_queue.submit("general", "next")
    recorded, next_claim = sqlite_queue.complete_and_claim(stale, {"by": "slow"}, next_for="slow")
    assert not recorded and "lease of slow#1 lost; result discarded" in caplog.text
    assert next_claim is not None and (next_claim.task_id, next_claim.owner) == (following["id"], "slow#1")
    held = sqlite_queue.get(task["id"])
    assert (held["status"], held["result"], held["attempts"]) == ("running", None, 2)
    assert held["lease_owner"] == fresh.owner
    assert sqlite_queue.complete(fresh, {"by": "fast"})


def test_a_failing_statement_rolls_back_releases_the_writer_lock_and_drops_its_connection(
        sqlite_queue: TaskQueue) -> None:
    engine, lock = sqlite_queue.engine, database.writer_lock(sqlite_queue.engine)
    assert lock is not None
    kept = _detached(engine)
    first = sqlite_queue.submit("general", "first")
    second = sqlite_queue.submit("general", "second")
    claim = _claim(sqlite_queue)
    assert not lock.locked() and len(kept) == 1  # one connection, reused by the submissions and the claim
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER no_claims BEFORE UPDATE OF status ON tasks "
                             "WHEN NEW.status = 'running' BEGIN SELECT RAISE(ABORT, 'claims refused'); END")
    with pytest.raises(sa.exc.DBAPIError, match="claims refused"):
        # The result is recorded, then the next claim fails: the whole transaction is rolled back.
        sqlite_queue.complete_and_claim(claim, {"lost": True}, next_for="a1")
    assert not lock.locked() and _writes_promptly(engine)
    assert _closed(kept[0])
    held = sqlite_queue.get(first["id"])
    assert (held["status"], held["result"], held["lease_owner"]) == ("running", None, claim.owner)
    assert sqlite_queue.get(second["id"])["status"] == "queued"

    with pytest.raises(sa.exc.StatementError, match="TypeError"):  # not JSON: as the Core path fails
        sqlite_queue.complete(claim, {"unserializable": object()})
    assert not lock.locked() and _writes_promptly(engine)
    assert len(kept) == 2 and _closed(kept[1])

    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER no_claims")
    recorded, following = sqlite_queue.complete_and_claim(claim, {"kept": True}, next_for="a1")
    assert recorded and following is not None and following.task_id == second["id"]
    assert sqlite_queue.get(first["id"])["result"] == {"kept": True}


def test_threads_claiming_by_pool_and_by_name_at_once_take_each_task_once(sqlite_queue: TaskQueue) -> None:
    ids = [sqlite_queue.submit("general", f"t{i}")["id"] for i in range(200)]
    taken: list[int] = []
    barrier = threading.Barrier(8)

    def agent(n: int) -> None:
        name, order = f"a{n}", random.Random(n).sample(ids, len(ids))
        barrier.wait()
        for task_id in order:  # races for the same rows by name, and takes the best by pool after each
            claim = sqlite_queue.claim("general", name, task_id=task_id)
            while claim is not None:
                taken.append(claim.task_id)
                recorded, claim = sqlite_queue.complete_and_claim(claim, {"by": name},
                                                                  next_for=name if task_id % 3 else None)
                assert recorded

    errors = run_in_threads(agent, [(n,) for n in range(8)])
    assert errors == [], errors[:3]
    assert sorted(taken) == ids
    assert sqlite_queue.counts()["succeeded"] == len(ids)
    assert not database.writer_lock(sqlite_queue.engine).locked()  # type: ignore[union-attr]


def test_disposing_the_engine_closes_the_queues_kept_connections(sqlite_queue: TaskQueue) -> None:
    kept = _detached(sqlite_queue.engine)
    sqlite_queue.submit("general", "x")
    claim = _claim(sqlite_queue)
    sqlite_queue.engine.dispose()
    assert len(kept) == 1 and _closed(kept[0])
    assert sqlite_queue.complete(claim, {"after": "dispose"})  # a new connection, made by the pool
    assert len(kept) == 2 and not _closed(kept[1])


@pytest.mark.postgres
def test_a_named_claim_and_a_result_find_their_row_by_primary_key_on_stale_statistics(postgres_url: str) -> None:
    """With statistics taken on an empty table, PostgreSQL once served a named claim from the claim index,
    reading every queued task of the pool per claim, and a result from the status index."""
    from storage.task_sql import driver_statements

    engine = database.make_engine(postgres_url)
    database.ensure_schema(engine)
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        driver.autocommit = True
        driver.execute("ANALYZE tasks")  # stale from here on: the table is empty
        driver.execute(
            "INSERT INTO tasks (pool, input, status, priority, attempts, max_attempts, timeout_seconds, run_after, "
            "cancel_requested, tokens_in, tokens_out, created_at) SELECT 'general', 'noop', 'queued', 0, 0, 3, 60, "
            "'2026-01-01', false, 0, 0, '2026-01-01' FROM generate_series(1, 5000)")
        statements = driver_statements("postgresql")
        params = {"id": 4000, "pool": "general", "prefix": "a#", "now": datetime(2026, 6, 1),
                  "expires": datetime(2026, 6, 1), "owner": "a#1", "result": "{}", "tokens_in": 0,
                  "tokens_out": 0, "provider": None, "process": "host:1"}
        for mode in ("force_generic_plan", "force_custom_plan"):
            driver.execute(f"SET plan_cache_mode = {mode}")
            for name in ("claim_one", "complete"):
                with driver.cursor() as cursor:
                    cursor.execute("BEGIN")
                    cursor.execute("EXPLAIN " + statements[name], params, prepare=True)
                    plan = " ".join(row[0] for row in cursor.fetchall())
                    cursor.execute("ROLLBACK")
                assert "Index Scan using pk_tasks" in plan and "Index Cond: (id = " in plan, (mode, name, plan)
    finally:
        raw.close()
        engine.dispose()


def test_a_named_task_is_claimed_only_while_it_is_queued_due_and_in_the_pool_named(queue: TaskQueue) -> None:
    """The claim a Celery message makes (by id); on PostgreSQL-direct, DirectTaskQueue's one-statement claim."""
    first, second = queue.submit("general", "a")["id"], queue.submit("general", "b")["id"]
    assert queue.claim("sports", "x", first) is None  # another pool's message cannot take it
    claim = queue.claim("general", "x", second)
    assert claim is not None and (claim.task_id, claim.attempt, claim.input, claim.pool) == (second, 1, "b", "general")
    running = queue.get(second)
    assert running["status"] == "running" and running["lease_owner"] == claim.owner
    assert claim.owner.startswith("x#") and running["lease_expires_at"] and running["started_at"]
    assert queue.claim("general", "y", second) is None  # already taken
    assert [e["kind"] for e in queue.events.after(second)][-1] == "claimed"
    queue.cancel(first)
    assert queue.claim("general", "x", first) is None  # cancelled
    later = queue.submit("general", "c")["id"]
    with queue.engine.begin() as conn:
        conn.execute(sa.update(Task).where(Task.id == later).values(run_after=utcnow() + timedelta(hours=1)))
    assert queue.claim("general", "x", later) is None  # not due yet
    assert queue.renew([claim.owner]) == set()
    queue.cancel(second)
    assert queue.renew([claim.owner, "nobody#1"]) == {claim.owner}
    assert queue.renew([]) == set()
    assert queue.complete(claim, {"text": "done"}, tokens_in=1, tokens_out=2, provider="p")
    done = queue.get(second)
    assert (done["status"], done["result"], done["tokens_in"], done["tokens_out"], done["provider"]) == (
        "succeeded", {"text": "done"}, 1, 2, "p")
    assert done["lease_owner"] is None and done["lease_expires_at"] is None and done["finished_at"]


def test_a_renewal_moves_the_lease_forward_by_the_lease_time(queue: TaskQueue) -> None:
    queue.submit("general", "x")
    claim = _claim(queue)
    queue.lease_seconds = 3600
    before = utcnow()
    assert queue.renew([claim.owner]) == set()
    expires = datetime.fromisoformat(queue.get(claim.task_id)["lease_expires_at"])
    assert before + timedelta(seconds=3590) < expires < utcnow() + timedelta(seconds=3610)
    other = queue.submit("general", "y")["id"]
    assert queue.get(other)["lease_expires_at"] is None  # a queued task has no lease to move


def test_stale_queued_lists_the_ready_tasks_waiting_longer_than_asked_oldest_first(queue: TaskQueue) -> None:
    """What a sweep re-sends when a broker lost a message: queued and ready for a while, not fresh, not ended."""
    old, sport, older_too, _fresh, ended = (queue.submit(pool, "x")["id"] for pool in
                                           ("general", "sports", "general", "general", "general"))
    queue.cancel(ended)
    with queue.engine.begin() as conn:
        conn.execute(sa.update(Task).where(Task.id.in_([old, sport, older_too, ended]))
                     .values(run_after=utcnow() - timedelta(seconds=60)))
    assert queue.stale_queued(30) == {"general": [old, older_too], "sports": [sport]}
    assert queue.stale_queued(30, limit=1) == {"general": [old]}
    assert queue.stale_queued(120) == {}


def test_expiring_a_dead_process_leases_touches_only_that_process(queue: TaskQueue) -> None:
    first, second = queue.submit("general", "a")["id"], queue.submit("general", "b")["id"]
    dead = _claim(queue, agent="proc1-agent")
    alive = _claim(queue, agent="proc2-agent")
    assert {dead.task_id, alive.task_id} == {first, second}
    assert queue.expire_leases_of("proc1") == 1
    assert queue.expire_leases_of("proc9") == 0
    assert queue.requeue_expired() == {"requeued": 1, "failed": 0, "cancelled": 0}
    assert queue.get(dead.task_id)["status"] == "queued" and queue.get(alive.task_id)["status"] == "running"


def _group_of(queue: TaskQueue) -> GroupCommit:
    group = queue._group
    assert group is not None  # a SQLite file: results go through the group commit
    return group


def _waiting(group: GroupCommit, count: int) -> None:
    """Wait until `count` pieces of work are queued behind the group's leader."""
    deadline = time.monotonic() + 10
    while len(group._waiting) < count:
        assert time.monotonic() < deadline, f"{len(group._waiting)} of {count} pieces queued"
        time.sleep(0.001)


def test_results_of_agents_finishing_together_share_one_transaction_and_each_is_recorded_once(
        sqlite_queue: TaskQueue) -> None:
    ids = [sqlite_queue.submit("general", f"t{i}")["id"] for i in range(8)]
    claims = [_claim(sqlite_queue, agent=f"a{n}") for n in range(4)]
    group, lock = _group_of(sqlite_queue), database.writer_lock(sqlite_queue.engine)
    assert lock is not None
    outcomes: dict[str, tuple[bool, Claim | None]] = {}
    held = object()
    lock.take(held)  # another writer's transaction: the first agent leads and waits for it, the others queue

    def agent(claim: Claim) -> None:
        name = claim.owner.split("#")[0]
        outcomes[name] = sqlite_queue.complete_and_claim(claim, {"by": name}, next_for=name)

    threads = [threading.Thread(target=agent, args=(c,)) for c in claims]
    for thread in threads:
        thread.start()
    _waiting(group, 3)
    before, pieces_before = group.transactions, group.pieces
    lock.release(held)
    for thread in threads:
        thread.join(10)
    assert group.transactions - before == 1  # the leader's transaction took the three that came while it waited
    assert group.pieces - pieces_before == 4
    assert sorted(outcomes) == ["a0", "a1", "a2", "a3"]
    assert all(recorded for recorded, _ in outcomes.values())
    following = sorted(c.task_id for _, c in outcomes.values() if c is not None)
    assert following == ids[4:]  # each next task claimed once, by one agent
    for name, (_, claim) in outcomes.items():
        assert claim is not None and claim.owner == f"{name}#1"
    for task_id, claim in zip(ids[:4], claims, strict=True):
        done = sqlite_queue.get(task_id)
        assert (done["status"], done["result"]) == ("succeeded", {"by": claim.owner.split("#")[0]})
    for _, claim in outcomes.values():  # each next claim's event, committed with it
        assert claim is not None
        events = sqlite_queue.events.after(claim.task_id)
        assert [(e["kind"], e["data"].get("worker")) for e in events] == [("queued", None), ("claimed", claim.owner)]
    assert not lock.locked()


def test_a_failing_piece_of_a_group_fails_alone_and_the_others_are_recorded(
        sqlite_queue: TaskQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        sqlite_queue.submit("general", f"t{i}")
    good, bad, other = (_claim(sqlite_queue, agent=name) for name in ("good", "bad", "other"))
    group, lock = _group_of(sqlite_queue), database.writer_lock(sqlite_queue.engine)
    assert lock is not None
    errors: dict[str, BaseException] = {}
    recorded: dict[str, bool] = {}
    held = object()
    lock.take(held)

    def agent(claim: Claim, result: dict[str, Any]) -> None:
        name = claim.owner.split("#")[0]
        try:
            recorded[name] = sqlite_queue.complete(claim, result)
        except Exception as exc:
            errors[name] = exc

    threads = [threading.Thread(target=agent, args=args) for args in (
        (good, {"ok": 1}), (bad, {"unserializable": object()}), (other, {"ok": 2}))]
    for thread in threads:
        thread.start()
    _waiting(group, 2)
    before = group.transactions, group.pieces
    lock.release(held)
    for thread in threads:
        thread.join(10)
    assert recorded == {"good": True, "other": True}
    # the group of three was rolled back; each piece ran again alone: two transactions committed
    assert (group.transactions - before[0], group.pieces - before[1]) == (2, 2)
    assert list(errors) == ["bad"] and isinstance(errors["bad"], sa.exc.StatementError)
    assert sqlite_queue.get(good.task_id)["result"] == {"ok": 1}
    assert sqlite_queue.get(other.task_id)["result"] == {"ok": 2}
    still = sqlite_queue.get(bad.task_id)
    assert (still["status"], still["result"], still["lease_owner"]) == ("running", None, bad.owner)
    assert not lock.locked() and _writes_promptly(sqlite_queue.engine)
    assert sqlite_queue.complete(bad, {"ok": 3})  # its lease still holds: the next try records it


def test_a_group_carries_at_most_its_limit_of_pieces_and_each_gets_its_own_value(sqlite_queue: TaskQueue) -> None:
    statements = sqlite_queue._hot
    lock = database.writer_lock(sqlite_queue.engine)
    assert statements is not None and lock is not None
    group = GroupCommit(statements, most=2)
    assert (group.transactions, group.pieces) == (0, 0)
    assert group.run(lambda run: "alone") == "alone"
    assert (group.transactions, group.pieces) == (1, 1)
    values: dict[int, Any] = {}

    def piece(n: int) -> None:
        values[n] = group.run(lambda run: n * 10)

    held = object()
    lock.take(held)  # the leader waits in its transaction for the lock; five more pieces queue behind it
    leader = threading.Thread(target=piece, args=(0,))
    leader.start()
    deadline = time.monotonic() + 10
    while not group._leading or group._waiting:  # until the leader has taken its own piece and waits for the lock
        assert time.monotonic() < deadline
        time.sleep(0.001)
    followers = [threading.Thread(target=piece, args=(n,)) for n in range(1, 6)]
    for thread in followers:
        thread.start()
    _waiting(group, 5)
    lock.release(held)
    for thread in (leader, *followers):
        thread.join(10)
    assert values == {n: n * 10 for n in range(6)}
    assert (group.transactions, group.pieces) == (1 + 3, 1 + 6)  # six pieces, two to a transaction
    assert not group._leading and not group._waiting


def test_a_piece_that_fails_alone_commits_nothing_and_the_next_runs(sqlite_queue: TaskQueue) -> None:
    statements = sqlite_queue._hot
    assert statements is not None
    group = GroupCommit(statements)

    def fails(run: Any) -> None:
        raise ValueError("bad piece")

    with pytest.raises(ValueError, match="bad piece"):
        group.run(fails)
    assert (group.transactions, group.pieces) == (0, 0) and not group._leading
    assert group.run(lambda run: 1) == 1 and (group.transactions, group.pieces) == (1, 1)


class _ThreadStops(BaseException):
    """Stands for what ends a thread in the middle of its work (not an error a piece can be given alone)."""


def _stop_in_a_group(queue: TaskQueue, lead: Any, follow: Any) -> dict[str, BaseException | None]:
    """Run `lead` in a thread that leads (waiting for a held writer lock) and `follow` in one that queues behind
    it; what each thread was told."""
    group, lock = _group_of(queue), database.writer_lock(queue.engine)
    assert lock is not None
    outcomes: dict[str, BaseException | None] = {}

    def piece(name: str, work: Any) -> None:
        try:
            group.run(work)
            outcomes[name] = None
        except BaseException as exc:  # noqa: B036  # what each thread was told is the point
            outcomes[name] = exc

    held = object()
    lock.take(held)
    leader = threading.Thread(target=piece, args=("leader", lead))
    leader.start()
    while not group._leading:
        time.sleep(0.001)
    follower = threading.Thread(target=piece, args=("follower", follow))
    follower.start()
    _waiting(group, 1)
    lock.release(held)
    leader.join(10)
    follower.join(10)
    assert not leader.is_alive() and not follower.is_alive()  # nobody sleeps on a stopped group
    assert not lock.locked() and not group._leading
    return outcomes


def test_a_thread_stopped_while_leading_leaves_no_thread_asleep_and_loses_only_its_group(
        sqlite_queue: TaskQueue) -> None:
    task = sqlite_queue.submit("general", "kept")

    def stops(run: database.RunStatement) -> None:
        raise _ThreadStops

    def writes(run: database.RunStatement) -> None:
        run("event", telemetry_events.event_row(task["id"], "retry", {"by": "follower"}))

    def kinds() -> list[str]:
        return [e["kind"] for e in sqlite_queue.events.after(task["id"])]

    # The leader's own piece stops it before the follower joined its group: the follower leads next, alone.
    outcomes = _stop_in_a_group(sqlite_queue, stops, writes)
    assert isinstance(outcomes["leader"], _ThreadStops) and outcomes["follower"] is None
    assert kinds() == ["queued", "retry"]
    # The follower's piece, run in the leader's group, stops the leader's thread: both pieces are rolled
    # back together and both threads are told.
    outcomes = _stop_in_a_group(sqlite_queue, writes, stops)
    assert isinstance(outcomes["leader"], _ThreadStops) and isinstance(outcomes["follower"], _ThreadStops)
    assert kinds() == ["queued", "retry"]
    _group_of(sqlite_queue).run(writes)  # the next writer leads at once
    assert kinds() == ["queued", "retry", "retry"]
