"""The controller facade on a real SQLite file: restart scope, pool metric arithmetic, ownership, scale bounds,
and the in-process recovery of a dead process's lease."""
from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agent_master_controller import NO_WORKER_MESSAGE, AgentMasterController
from config import Settings
from errors import BadRequest, Forbidden, NotAvailableYet, NotFound, Unprocessable
from models import Agent, AgentStatus, AuditLog, Role, Task, TaskStatus, utcnow
from services import Services, build_services
from values import POOL_NAMES, Caller, Command

from . import fixtures


@pytest.fixture
def svc(home: Path, sqlite_url: str) -> Iterator[Services]:
    """The object graph on this test's SQLite file; tasks are worked inline by the echo executor."""
    services = build_services(Settings.from_env({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url}),
                              env={}, executor=fixtures.echo)
    yield services
    services.engine.dispose()


@pytest.fixture
def controller(svc: Services) -> AgentMasterController:
    return svc.controller


@pytest.fixture
def admin(svc: Services) -> Caller:
    return svc.conversations.local_caller("root")


def _user(svc: Services, admin: Caller, name: str) -> Caller:
    """A plain user created the way an admin does it."""
    svc.conversations.create_user(admin, name, Role.USER)
    with svc.engine.connect() as conn:
        user_id = conn.execute(sa.text("SELECT id FROM users WHERE name = :n"), {"n": name}).scalar_one()
    return Caller(int(user_id), name, False)


def _agents(svc: Services, pool: str, status: AgentStatus, count: int) -> None:
    with svc.engine.begin() as conn:
        for i in range(count):
            conn.execute(sa.insert(Agent).values(id=f"{pool}-{status.value}-{i}", pool=pool, process="gone@host",
                                                 status=status, heartbeat_at=utcnow(), started_at=utcnow()))


def _agent_statuses(svc: Services) -> dict[str, list[str]]:
    with svc.engine.connect() as conn:
        rows = conn.execute(sa.select(Agent.pool, Agent.status).order_by(Agent.id)).all()
    found: dict[str, list[str]] = {}
    for pool, status in rows:
        found.setdefault(pool, []).append(AgentStatus(status).value)
    return found


def _finished(svc: Services, pool: str, status: TaskStatus, latencies_ms: list[float]) -> None:
    """Finished tasks of `pool`, each `latency` ms between its start and its end, ended a moment ago."""
    end = utcnow() - timedelta(seconds=1)
    with svc.engine.begin() as conn:
        for latency in latencies_ms:
            conn.execute(sa.insert(Task).values(pool=pool, input="x", status=status, attempts=1,
                                                started_at=end - timedelta(milliseconds=latency), finished_at=end,
                                                created_at=end - timedelta(seconds=5), run_after=end))


def _pool(controller: AgentMasterController, name: str) -> dict[str, Any]:
    return controller.pool_status(name)[0]


# -- restart --------------------------------------------------------------------------------


def test_restarting_one_pool_releases_its_failed_agents_only(svc: Services, admin: Caller) -> None:
    _agents(svc, "general", AgentStatus.FAILED, 2)
    _agents(svc, "sports", AgentStatus.FAILED, 3)
    assert _pool(svc.controller, "sports")["failed_agents"] == 3
    report = svc.controller.restart(admin, "general")
    assert report["restarted_agents"] == 2 and report["pool"] == "general"
    assert _agent_statuses(svc) == {"general": ["stopped", "stopped"], "sports": ["failed"] * 3}
    assert _pool(svc.controller, "sports")["failed_agents"] == 3
    assert _pool(svc.controller, "general")["failed_agents"] == 0


def test_restarting_every_pool_releases_every_failed_agent(svc: Services, admin: Caller) -> None:
    _agents(svc, "general", AgentStatus.FAILED, 1)
    _agents(svc, "sports", AgentStatus.FAILED, 2)
    assert svc.controller.restart(admin)["restarted_agents"] == 3
    assert _agent_statuses(svc) == {"general": ["stopped"], "sports": ["stopped", "stopped"]}


def test_a_plain_user_may_not_restart_or_scale(svc: Services, admin: Caller) -> None:
    _agents(svc, "general", AgentStatus.FAILED, 1)
    ann = _user(svc, admin, "ann")
    with pytest.raises(Forbidden):
        svc.controller.restart(ann, "general")
    with pytest.raises(Forbidden):
        svc.controller.scale(ann, "general", size=2)
    assert _agent_statuses(svc) == {"general": ["failed"]}


# -- pool metrics ---------------------------------------------------------------------------


def test_error_rate_is_the_share_of_failed_tasks(svc: Services) -> None:
    _finished(svc, "financial", TaskStatus.SUCCEEDED, [10.0] * 6)
    _finished(svc, "financial", TaskStatus.FAILED, [10.0] * 2)
    _finished(svc, "sports", TaskStatus.SUCCEEDED, [10.0] * 3)
    financial = _pool(svc.controller, "financial")
    assert financial["error_rate"] == 0.25  # 2 of 8
    assert financial["throughput_per_minute"] == round(8 / 5, 2)  # 8 tasks over the 5-minute window
    assert _pool(svc.controller, "sports")["error_rate"] == 0.0


def test_latency_p50_and_p95_are_those_of_the_succeeded_tasks(svc: Services) -> None:
    latencies = [float(ms) for ms in range(10, 210, 10)]  # 20 tasks: 10 ms ... 200 ms
    _finished(svc, "general", TaskStatus.SUCCEEDED, latencies)
    _finished(svc, "general", TaskStatus.FAILED, [99_000.0])  # a failure's time is not a latency
    ordered = sorted(latencies)
    expected_p95 = ordered[round(0.95 * (len(ordered) - 1))]  # nearest rank: 190 ms
    expected_p50 = (ordered[9] + ordered[10]) / 2  # 105 ms
    general = _pool(svc.controller, "general")
    assert general["latency_p95_ms"] == pytest.approx(expected_p95, abs=0.2) == pytest.approx(190.0, abs=0.2)
    assert general["latency_p50_ms"] == pytest.approx(expected_p50, abs=0.2)
    assert not math.isclose(general["latency_p95_ms"], general["latency_p50_ms"])


def test_a_pool_without_finished_tasks_has_no_latency_and_no_errors(svc: Services) -> None:
    general = _pool(svc.controller, "general")
    assert (general["latency_p50_ms"], general["latency_p95_ms"], general["error_rate"]) == (None, None, 0.0)


def test_the_status_and_health_raise_an_alert_for_a_failing_pool(svc: Services) -> None:
    _finished(svc, "sports", TaskStatus.FAILED, [10.0] * 3)
    _finished(svc, "sports", TaskStatus.SUCCEEDED, [10.0] * 1)
    for reading in (svc.controller.status(), svc.controller.health()):
        checks = {a["check"] for a in reading["alerts"]}
        assert "pool:sports:errors" in checks and "pool:general:errors" not in checks


# -- ownership ------------------------------------------------------------------------------


def test_a_user_cannot_see_or_cancel_another_users_task(svc: Services, admin: Caller) -> None:
    ann, bob = _user(svc, admin, "ann"), _user(svc, admin, "bob")
    task = svc.controller.submit(ann, "What is 2 + 2?", pool="general")
    assert svc.controller.get_task(ann, task["id"])["id"] == task["id"]
    with pytest.raises(NotFound):
        svc.controller.get_task(bob, task["id"])
    with pytest.raises(NotFound):
        svc.controller.cancel_task(bob, task["id"])
    assert svc.controller.queue.get(task["id"])["status"] == "queued"  # bob's attempt changed nothing
    assert [t["id"] for t in svc.controller.list_tasks(ann)] == [task["id"]]
    assert svc.controller.list_tasks(bob) == []
    assert [t["id"] for t in svc.controller.list_tasks(admin)] == [task["id"]]
    assert svc.controller.cancel_task(ann, task["id"])["status"] == "cancelled"


# -- scaling --------------------------------------------------------------------------------


def test_scaling_stays_within_the_pools_limits(svc: Services, admin: Caller) -> None:
    limits = _pool(svc.controller, "general")
    low, high = limits["min_size"], limits["max_size"]
    assert svc.controller.scale(admin, "general", size=high)["desired_size"] == high
    assert svc.controller.scale(admin, "general", size=low)["desired_size"] == low
    for size in (low - 1, high + 1):
        with pytest.raises(Unprocessable, match="out of range"):
            svc.controller.scale(admin, "general", size=size)
    with pytest.raises(Unprocessable):
        svc.controller.scale(admin, "general", delta=-1)  # already at the minimum
    scaled = svc.controller.scale(admin, "general", delta=1)
    assert (scaled["previous_size"], scaled["desired_size"]) == (low, low + 1)
    assert _pool(svc.controller, "general")["desired_size"] == low + 1


# -- a dead process's lease -----------------------------------------------------------------


def test_waiting_on_a_task_whose_worker_died_requeues_and_works_it_here(svc: Services, admin: Caller) -> None:
    """The CLI's in-process wait: with no server, nothing else sweeps a dead process's expired lease."""
    queue = svc.controller.queue
    task = svc.controller.submit(admin, "hello", pool="general")
    queue.lease_seconds = 0.05
    dead = queue.claim("general", "agent-of-a-killed-process")
    assert dead is not None and dead.task_id == task["id"]
    time.sleep(0.1)  # the lease runs out; its holder never comes back
    done = svc.controller.see_through(admin, queue.get(task["id"]), timeout=3)
    assert done["status"] == "succeeded" and done["attempts"] == 2
    assert done["result"] == {"text": "echo: hello"}
    assert not queue.complete(dead, {"text": "too late"})  # the dead holder's result would be discarded


def test_the_cli_resumes_a_run_whose_task_a_dead_process_held(svc: Services, admin: Caller) -> None:
    """What `python main.py` does with no server (WorkflowEngine.resume): the fast twin of the kill -9 test of
    tests/test_workflows_e2e.py in its inline mode."""
    from workflows.templates import step

    flow = {"version": 1, "name": "One step", "description": "", "template": None, "schedule": None, "inputs": {},
            "steps": [step("a", "A", "task", "ops", pool="general", input="step a")]}
    workflows = svc.controller.workflows
    workflows.driver.task_wait_seconds = 5  # without the recovery the step would wait out its lease-less task
    run = workflows.start_run(admin, workflows.create(admin, flow)["id"])
    workflows.advance(run["id"])  # submits step a's task without working it
    task_id = workflows.get_run(admin, run["id"])["steps"][0]["task_id"]
    queue = svc.controller.queue
    queue.lease_seconds = 0.05
    dead = queue.claim("general", "agent-of-a-killed-cli")
    assert dead is not None and dead.task_id == task_id
    time.sleep(0.1)
    workflows.resume()
    finished = workflows.get_run(admin, run["id"])
    assert finished["status"] == "succeeded", finished
    task = queue.get(task_id)
    assert task["status"] == "succeeded" and task["attempts"] == 2 and task["result"] == {"text": "echo: step a"}


# -- the conversational door ----------------------------------------------------------------


def _live(svc: Services, pool: str, idle: int, busy: int = 0, process: str = "p1@host") -> None:
    """Agents of `pool` with a fresh heartbeat, as a running worker process leaves them."""
    with svc.engine.begin() as conn:
        for status, count in ((AgentStatus.IDLE, idle), (AgentStatus.BUSY, busy)):
            for i in range(count):
                conn.execute(sa.insert(Agent).values(id=f"{pool}-{process}-{status.value}-{i}", pool=pool,
                                                     process=process, status=status, heartbeat_at=utcnow(),
                                                     started_at=utcnow()))


def _audit(svc: Services) -> list[tuple[str, str | None, str | None, Any]]:
    with svc.engine.connect() as conn:
        rows = conn.execute(sa.select(AuditLog.actor, AuditLog.action, AuditLog.target, AuditLog.details)
                            .order_by(AuditLog.id)).all()
    return [tuple(r) for r in rows if r[1] in ("scale", "restart")]


def test_status_and_health_hide_host_figures_and_the_database_url_from_a_plain_user(
        svc: Services, admin: Caller) -> None:
    ann = _user(svc, admin, "ann")
    for intent in ("status", "health"):
        mine = svc.controller.execute(Command(intent), admin).data
        theirs = svc.controller.execute(Command(intent), ann).data
        assert "system" in mine and "url" in mine["database"]
        assert "system" not in theirs and "url" not in theirs["database"]
        assert set(theirs["database"]) == set(mine["database"]) - {"url"} != set()


def test_the_status_reading_counts_the_queue_and_names_the_backend(svc: Services, admin: Caller) -> None:
    svc.controller.submit(admin, "one", pool="general")
    svc.controller.submit(admin, "two", pool="sports")
    _live(svc, "sports", idle=1, busy=1, process="w9@host")
    reading = svc.controller.status()
    assert reading["tasks"]["queued"] == 2
    assert reading["database"]["dialect"] == "sqlite" and reading["task_backend"] == "local"
    assert reading["providers"] == reading["provider"]["breakers"]
    assert reading["backend"]["name"] == "local" and reading["backend"]["error"] is None
    assert [(n["node"], n["processes"], n["active"]) for n in reading["backend"]["nodes"]] == [("w9@host", 2, 1)]
    assert [p["name"] for p in reading["pools"]] == list(POOL_NAMES)


def test_health_reports_the_queue_and_pools_when_the_database_answers(svc: Services, admin: Caller) -> None:
    svc.controller.submit(admin, "one", pool="general")
    reading = svc.controller.health()
    assert reading["ok"] is True and reading["tasks"]["queued"] == 1
    assert [p["name"] for p in reading["pools"]] == list(POOL_NAMES)
    assert reading["providers"] == reading["provider"]["breakers"] and reading["backend"]["name"] == "local"
    ready = svc.controller.readiness()
    assert ready["ready"] is True and ready["backend"]["name"] == "local" and ready["backend"]["ok"] is True


def test_a_pools_live_and_busy_agents_and_queue_make_its_utilisation(svc: Services, admin: Caller) -> None:
    _live(svc, "general", idle=2, busy=1)
    _live(svc, "general", idle=0, busy=5, process="p2@host")  # busy beyond the live count is capped by it
    for text in ("a", "b"):
        svc.controller.submit(admin, text, pool="general")
    general = _pool(svc.controller, "general")
    assert (general["live_agents"], general["busy_agents"]) == (8, 6)
    assert general["utilisation"] == round(6 / 8, 3)
    assert general["queued_tasks"] == 2 and general["oldest_queued_age_seconds"] is not None
    assert sorted(w["node"] for w in general["workers"]) == ["p1@host", "p2@host"]
    sports = _pool(svc.controller, "sports")
    assert (sports["live_agents"], sports["busy_agents"], sports["utilisation"], sports["queued_tasks"],
            sports["oldest_queued_age_seconds"], sports["workers"]) == (0, 0, 0.0, 0, None, [])
    with pytest.raises(NotFound):
        svc.controller.pool_status("nonsense")


def test_execute_carries_out_each_intent_for_its_caller(svc: Services, admin: Caller) -> None:
    ann = _user(svc, admin, "ann")
    run = svc.controller.execute
    queued = run(Command("submit", {"input": "hello", "pool": "general"}, "say hello"), ann, background=True)
    task_id = queued.task_id
    assert task_id is not None and queued.data["task"]["status"] == "queued"
    assert queued.data["task"]["input"] == "hello" and queued.data["task"]["user_id"] == ann.user_id
    assert run(Command("submit", {"pool": "general"}, "the words typed"), ann, background=True
               ).data["task"]["input"] == "the words typed"
    shown = run(Command("task", {"task_id": task_id}), ann)
    assert shown.task_id == task_id and shown.data["task"]["id"] == task_id
    assert shown.data["notice"] == NO_WORKER_MESSAGE.format(id=task_id, pool="general")
    assert [t["id"] for t in run(Command("tasks", {"status": "queued", "pool": "general"}), ann).data["tasks"]] \
        == [task_id + 1, task_id]
    run(Command("cancel", {"task_id": task_id + 1}), ann)
    assert [t["id"] for t in run(Command("tasks", {"status": "queued"}), ann).data["tasks"]] == [task_id]
    assert run(Command("tasks", {"pool": "sports"}), ann).data["tasks"] == []
    assert [p["name"] for p in run(Command("pools", {"pool": "sports"}), ann).data["pools"]] == ["sports"]
    assert len(run(Command("pools"), ann).data["pools"]) == len(POOL_NAMES)
    cancelled = run(Command("cancel", {"task_id": task_id}), ann)
    assert cancelled.task_id == task_id and cancelled.data["task"]["status"] == "cancelled"
    done = run(Command("submit", {"input": "now", "pool": "general"}), ann)
    assert done.data["task"]["status"] == "succeeded" and done.data["task"]["result"] == {"text": "echo: now"}
    scaled = run(Command("scale", {"pool": "general", "delta": 1}), admin).data["pool"]
    assert scaled["desired_size"] == scaled["previous_size"] + 1
    assert run(Command("scale", {"pool": "general", "size": scaled["min_size"]}), admin
               ).data["pool"]["desired_size"] == scaled["min_size"]
    session = svc.conversations.open_session(ann)
    placed = run(Command("submit", {"input": "hello", "pool": "sports"}), ann, background=True, session_id=session)
    assert (placed.data["task"]["pool"], placed.data["task"]["session_id"]) == ("sports", session)
    assert svc.controller.queue.get(placed.task_id or 0)["session_id"] == session
    assert run(Command("restart", {"pool": "general"}), admin).data["pool"] == "general"
    for intent in ("help", "clarify"):
        assert (run(Command(intent), ann).data, run(Command(intent), ann).task_id) == ({}, None)
    with pytest.raises(NotAvailableYet, match="'whoami' is not available"):
        run(Command("whoami"), ann)


def test_a_queued_task_in_a_served_pool_has_no_notice(svc: Services, admin: Caller) -> None:
    _live(svc, "general", idle=1)
    task = svc.controller.submit(admin, "x", pool="general")
    shown = svc.controller.execute(Command("task", {"task_id": task["id"]}), admin)
    assert shown.data == {"task": svc.controller.queue.get(task["id"])} and shown.task_id == task["id"]


@pytest.mark.parametrize("args", [{}, {"task_id": 0}, {"task_id": -3}, {"task_id": True}, {"task_id": "1"}])
def test_a_task_is_named_by_a_positive_whole_number(svc: Services, admin: Caller, args: dict[str, Any]) -> None:
    svc.controller.submit(admin, "x", pool="general")
    for intent in ("task", "cancel"):
        with pytest.raises(BadRequest, match="Say which task"):
            svc.controller.execute(Command(intent, args), admin)
    assert svc.controller.queue.get(1)["status"] == "queued"


# -- scaling and restart: what is refused, and what the audit log keeps ----------------------


@pytest.mark.parametrize(("pool", "kwargs", "error", "message"), [
    (None, {"size": 2}, BadRequest, "Say which pool"),
    ("nonsense", {"size": 2}, NotFound, "No such pool"),
    ("general", {}, BadRequest, "either a size or a delta"),
    ("general", {"size": 2, "delta": 1}, BadRequest, "either a size or a delta"),
    ("general", {"size": True}, BadRequest, "size must be a whole number"),
    ("general", {"delta": 1.5}, BadRequest, "delta must be a whole number"),
])
def test_bad_scale_requests_are_refused_and_change_nothing(svc: Services, admin: Caller, pool: str | None,
                                                           kwargs: dict[str, Any], error: type[Exception],
                                                           message: str) -> None:
    before = _pool(svc.controller, "general")["desired_size"]
    with pytest.raises(error, match=message):
        svc.controller.scale(admin, pool, **kwargs)
    assert _pool(svc.controller, "general")["desired_size"] == before and _audit(svc) == []


def test_scaling_and_restarting_are_audited_with_who_what_and_how_much(svc: Services, admin: Caller) -> None:
    before = _pool(svc.controller, "general")["desired_size"]
    svc.controller.scale(admin, "general", delta=1)
    _agents(svc, "sports", AgentStatus.FAILED, 2)
    svc.controller.restart(admin, "sports")
    svc.controller.restart(admin)
    assert _audit(svc) == [
        ("root", "scale", "general", {"from": before, "to": before + 1}),
        ("root", "restart", "sports", {"failed_agents_released": 2, "workers_restarted": []}),
        ("root", "restart", "all", {"failed_agents_released": 0, "workers_restarted": []}),
    ]
    with pytest.raises(NotFound):
        svc.controller.restart(admin, "nonsense")
    report = svc.controller.restart(admin)
    assert report["pool"] is None and [p["name"] for p in report["pools"]] == list(POOL_NAMES)


# -- submitting and waiting -----------------------------------------------------------------


def test_a_submission_keeps_its_attempts_and_a_red_flag_goes_to_healthcare(svc: Services, admin: Caller) -> None:
    task = svc.controller.submit(admin, "plan a trip", pool="general", max_attempts=1, priority=3)
    assert (task["max_attempts"], task["priority"], task["pool"]) == (1, 3, "general")
    flagged = svc.controller.submit(admin, "I have crushing chest pain right now", pool="sports")
    assert flagged["pool"] == "healthcare"
    kept = svc.controller.submit(admin, "I have crushing chest pain right now", pool="business", keep_pool=True)
    assert kept["pool"] == "business"


def test_waiting_on_a_task_no_one_works_returns_it_queued_when_the_time_is_up(svc: Services,
                                                                           admin: Caller) -> None:
    _live(svc, "general", idle=1)  # a worker that never claims: nothing works the task here
    task = svc.controller.submit(admin, "x", pool="general")
    started = time.monotonic()
    assert svc.controller.wait_for(admin, task["id"], timeout=0)["status"] == "queued"
    assert time.monotonic() - started < 0.9  # no wait asked, none made
    started = time.monotonic()
    assert svc.controller.wait_for(admin, task["id"], timeout=0.3)["status"] == "queued"
    assert svc.controller.see_through(admin, task, timeout=0.3)["status"] == "queued"
    assert 0.5 <= time.monotonic() - started < 5
    svc.controller.cancel_task(admin, task["id"])
    assert svc.controller.wait_for(admin, task["id"], timeout=30)["status"] == "cancelled"
    assert time.monotonic() - started < 5  # an ended task is answered at once


def test_a_retry_due_later_is_waited_for_and_worked_here(svc: Services, admin: Caller) -> None:
    task = svc.controller.submit(admin, "again", pool="general")
    queue = svc.controller.queue
    claim = queue.claim("general", "a-flaky-agent")
    assert claim is not None
    queue.fail(claim, "transient")
    retried = queue.get(task["id"])
    assert retried["status"] == "queued" and retried["attempts"] == 1
    done = svc.controller.see_through(admin, retried, timeout=30)
    assert done["status"] == "succeeded" and done["attempts"] == 2


# -- events ---------------------------------------------------------------------------------


def test_a_follower_is_told_once_that_no_worker_serves_the_pool(svc: Services, admin: Caller) -> None:
    task = svc.controller.submit(admin, "x", pool="sports")
    events = list(svc.controller.follow_events(task["id"], seconds=2.5))  # more than two status checks
    waiting = [e for e in events if e["kind"] == "waiting"]
    assert len(waiting) == 1 and waiting[0]["id"] is None and waiting[0]["task_id"] == task["id"]
    assert waiting[0]["data"] == {"message": NO_WORKER_MESSAGE.format(id=task["id"], pool="sports"),
                                  "start": "python main.py serve"}
    assert waiting[0]["at"]
    assert [e["kind"] for e in events if e["kind"] != "waiting"] == ["queued"]
    started = time.monotonic()
    assert [e["kind"] for e in svc.controller.follow_events(task["id"], seconds=0)] == ["queued"]
    assert time.monotonic() - started < 0.9  # no wait asked, none made


def test_a_follower_of_a_task_a_live_worker_serves_is_not_warned(svc: Services, admin: Caller) -> None:
    _live(svc, "general", idle=1)  # a worker that never claims it: the task stays queued
    task = svc.controller.submit(admin, "x", pool="general")
    assert [e["kind"] for e in svc.controller.follow_events(task["id"], seconds=1.5)] == ["queued"]


def test_a_follower_of_an_ended_task_gets_its_events_up_to_the_end(svc: Services, admin: Caller) -> None:
    task = svc.controller.submit(admin, "x", pool="general", wait=True)
    started = time.monotonic()
    kinds = [e["kind"] for e in svc.controller.follow_events(task["id"], seconds=30)]
    assert kinds[0] == "queued" and kinds[-1] == "succeeded" and "waiting" not in kinds
    assert time.monotonic() - started < 5
    everything = svc.controller.task_events(admin, task["id"])
    assert [e["kind"] for e in everything] == kinds
    first = everything[0]["id"]
    assert [e["kind"] for e in svc.controller.task_events(admin, task["id"], after_id=first)] == kinds[1:]
    with pytest.raises(NotFound):
        svc.controller.task_events(_user(svc, admin, "bob"), task["id"])


def test_listing_filters_by_status_and_pool_and_pages_back(svc: Services, admin: Caller) -> None:
    ids = [svc.controller.submit(admin, f"t{i}", pool="general")["id"] for i in range(4)]
    svc.controller.cancel_task(admin, ids[0])
    listed = svc.controller.list_tasks
    assert [t["id"] for t in listed(admin, status="queued")] == ids[:0:-1]
    assert [t["id"] for t in listed(admin, status="cancelled", pool="general")] == [ids[0]]
    assert [t["id"] for t in listed(admin, limit=2)] == ids[:1:-1]
    assert [t["id"] for t in listed(admin, before_id=ids[2])] == ids[1::-1]


def test_the_median_of_an_odd_count_is_its_middle_value(svc: Services) -> None:
    _finished(svc, "general", TaskStatus.SUCCEEDED, [10.0, 20.0, 90.0])
    _finished(svc, "sports", TaskStatus.SUCCEEDED, [40.0])
    general = _pool(svc.controller, "general")
    assert general["latency_p50_ms"] == pytest.approx(20.0, abs=0.2)
    assert general["latency_p95_ms"] == pytest.approx(90.0, abs=0.2)
    sports = _pool(svc.controller, "sports")
    assert sports["latency_p50_ms"] == sports["latency_p95_ms"] == pytest.approx(40.0, abs=0.2)


def test_metrics_keep_a_tenth_of_a_millisecond_and_a_thousandth_of_the_error_rate(svc: Services) -> None:
    _finished(svc, "general", TaskStatus.SUCCEEDED, [12.345, 12.345])
    _finished(svc, "general", TaskStatus.FAILED, [1.0])
    general = _pool(svc.controller, "general")
    assert (general["latency_p50_ms"], general["latency_p95_ms"]) == (12.3, 12.3)
    assert general["error_rate"] == 0.333 and general["window_seconds"] == 300
    assert general["throughput_per_minute"] == 0.6


def test_metrics_count_only_the_tasks_that_ended_well_or_badly_within_the_window(svc: Services) -> None:
    _finished(svc, "general", TaskStatus.SUCCEEDED, [10.0])
    _finished(svc, "general", TaskStatus.CANCELLED, [5000.0] * 3)  # cancelled: neither a success nor an error
    old = utcnow() - timedelta(seconds=600)
    with svc.engine.begin() as conn:  # failed ten minutes ago, before the window
        conn.execute(sa.insert(Task).values(pool="general", input="x", status=TaskStatus.FAILED, attempts=1,
                                            started_at=old, finished_at=old, created_at=old, run_after=old))
    general = _pool(svc.controller, "general")
    assert (general["throughput_per_minute"], general["error_rate"]) == (0.2, 0.0)
    assert general["latency_p95_ms"] == 10.0


def test_metrics_read_the_latest_thousand_tasks_only(svc: Services) -> None:
    end = utcnow() - timedelta(seconds=30)
    with svc.engine.begin() as conn:  # the oldest of 1001 failed; the 1000 after it succeeded
        conn.execute(sa.insert(Task), [
            {"pool": "general", "input": "x", "status": TaskStatus.FAILED if i == 0 else TaskStatus.SUCCEEDED,
             "attempts": 1, "started_at": end + timedelta(milliseconds=i) - timedelta(milliseconds=10),
             "finished_at": end + timedelta(milliseconds=i), "created_at": end, "run_after": end}
            for i in range(1001)])
    general = _pool(svc.controller, "general")
    assert (general["throughput_per_minute"], general["error_rate"]) == (200.0, 0.0)


def test_unknown_pools_and_other_users_tasks_are_refused_by_name(svc: Services, admin: Caller) -> None:
    task = svc.controller.submit(admin, "x", pool="general")
    with pytest.raises(NotFound, match=f"No such task: {task['id']}"):
        svc.controller.get_task(_user(svc, admin, "bob"), task["id"])
    with pytest.raises(NotFound, match="No such pool: 'nonsense'. Pools are " + ", ".join(POOL_NAMES)):
        svc.controller.pool_status("nonsense")
    bob = Caller(99, "bob", False)
    with pytest.raises(Forbidden, match="Only an admin may restart agents; bob is not an admin"):
        svc.controller.restart(bob)
    with pytest.raises(Forbidden, match="Only an admin may scale pools; bob is not an admin"):
        svc.controller.scale(bob, "general", size=2)


def test_the_provider_status_names_the_configured_provider_and_model(svc: Services) -> None:
    provider = svc.controller.status()["provider"]
    assert (provider["configured"], provider["model"]) == (svc.settings.chosen_provider, svc.settings.model)
    assert provider["breakers"] == {}  # the echo executor has no provider chain


def test_health_and_readiness_fail_when_the_queue_backend_is_unreachable(home: Path, sqlite_url: str) -> None:
    """Celery over a Redis that does not answer (nothing listens on port 1): the database alone is not enough."""
    services = build_services(Settings.from_env({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url,
                                                 "TASK_BACKEND": "celery", "REDIS_URL": "redis://127.0.0.1:1/0"}),
                              env={}, executor=fixtures.echo)
    try:
        ready = services.controller.readiness()
        assert ready["ready"] is False and ready["database"]["ok"] is True
        assert ready["backend"]["name"] == "celery" and ready["backend"]["ok"] is False and ready["backend"]["detail"]
        health = services.controller.health()
        assert health["ok"] is False and health["database"]["ok"] is True and health["backend"]["error"]
        assert health["database"]["url"] == services.settings.safe_database_url
    finally:
        services.engine.dispose()
