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

from agent_master_controller import AgentMasterController
from config import Settings
from errors import Forbidden, NotFound, Unprocessable
from models import Agent, AgentStatus, Role, Task, TaskStatus, utcnow
from services import Services, build_services
from values import Caller

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


def test_the_status_raises_an_alert_for_a_failing_pool(svc: Services) -> None:
    _finished(svc, "sports", TaskStatus.FAILED, [10.0] * 3)
    _finished(svc, "sports", TaskStatus.SUCCEEDED, [10.0] * 1)
    checks = {a["check"] for a in svc.controller.status()["alerts"]}
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
