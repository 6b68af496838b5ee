"""A workflow run's process killed with kill -9 mid-run; a restart finishes the run, each step done once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app import create_app, services
from business_automation import IDEMPOTENCY_PREFIX, WorkflowEngine
from models import AuditLog, Task
from workflows.templates import step

from . import fixtures
from .conftest import ROOT, run_cli, stop_processes

pytestmark = pytest.mark.slow

LEASE_SECONDS = 5
"""Task lease in the runner processes: short, so a dead runner's task returns to the queue quickly."""

TASK_DELAY = 0.8
"""Seconds each task takes (tests.fixtures.record), so that a kill lands inside one."""

RUNNER = """
import sys, threading
sys.path.insert(0, {root!r})
from app import create_app, services
from business_automation import WorkflowEngine
from tests import fixtures

svc = services(create_app({{"EXECUTOR": fixtures.record}}))
svc.controller.queue.lease_seconds = {lease}
engine = WorkflowEngine(svc.engine, svc.controller)
if {mode!r} == "serve":  # what `serve` does: pool agents work the tasks, the loop drives the runs
    svc.controller.start_pools()
    engine.run_forever(threading.Event(), interval=0.1)
else:  # what the CLI does with no server: drive every unfinished run, working its tasks inline
    engine.resume()
"""

FLOW = {"version": 1, "name": "Crash test", "description": "kill -9 mid-run", "template": None, "schedule": None,
        "inputs": {}, "steps": [
            step("a", "A", "task", "ops", pool="general", input="step a"),
            step("tell_a", "Tell A", "notify", "ops", depends_on=["a"], to=["team"], message="a is done"),
            step("b", "B", "task", "ops", depends_on=["tell_a"], pool="business", input="step b"),
            step("c", "C", "task", "ops", depends_on=["tell_a"], pool="sports", input="step c"),
            step("d", "D", "task", "ops", depends_on=["b", "c"], pool="financial", input="step d"),
            step("tell_d", "Tell D", "notify", "ops", depends_on=["d"], to=["team"], message="all done"),
        ]}


@pytest.fixture
def world(home: Path, database_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    record = tmp_path / "executions.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPERATOROS_"))}
    env.update(OPERATOROS_HOME=str(home), DATABASE_URL=database_url, OPERATOROS_TEST_RECORD=str(record),
               OPERATOROS_TEST_DELAY=str(TASK_DELAY), PYTHONUNBUFFERED="1")
    env.pop("TASK_BACKEND", None)
    svc = services(create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": database_url,
                               "EXECUTOR": fixtures.record}))
    procs: list[subprocess.Popen[str]] = []

    def start(mode: str) -> subprocess.Popen[str]:
        code = RUNNER.format(root=str(ROOT), lease=LEASE_SECONDS, mode=mode)
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=str(ROOT),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        return proc

    yield {"svc": svc, "record": record, "start": start, "env": env}
    stop_processes(procs)
    svc.engine.dispose()


def _executions(record: Path) -> list[tuple[int, int]]:
    lines = record.read_text().splitlines() if record.exists() else []
    return [(int(task), int(pid)) for task, _, pid in (line.split() for line in lines)]


def _until(what: str, check: Callable[[], Any], proc: subprocess.Popen[str] | None = None,
           timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None and not check():
            raise AssertionError(f"the runner exited ({proc.returncode}) before {what}: {proc.communicate()[1]}")
        time.sleep(0.05)
    raise AssertionError(f"not reached in {timeout} s: {what}; last value {value!r}")


@pytest.mark.parametrize("mode", ["serve", "inline"])
def test_a_run_killed_mid_run_finishes_after_a_restart_with_every_step_done_once(
        world: dict[str, Any], mode: str) -> None:
    svc = world["svc"]
    alice = svc.conversations.local_caller("alice")
    workflows = WorkflowEngine(svc.engine, svc.controller)
    run = workflows.start_run(alice, workflows.create(alice, FLOW)["id"])

    def in_flight() -> list[int]:
        """Task ids of b, c or d that a runner has started executing (the kill must land inside one)."""
        steps = workflows.get_run(alice, run["id"])["steps"]
        started = {t for t, _ in _executions(world["record"])}
        return [s["task_id"] for s in steps if s["key"] in ("b", "c", "d") and s["task_id"] in started
                and s["status"] == "running"]

    victim = world["start"](mode)
    _until("step b, c or d executing", in_flight, victim)
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    before = workflows.get_run(alice, run["id"])
    state = {s["key"]: s["status"] for s in before["steps"]}
    assert before["status"] == "running" and state["a"] == "done" and state["tell_d"] == "pending", before
    done_before_kill = {s["task_id"] for s in before["steps"] if s["status"] == "done" and s["task_id"]}
    in_hand = {s["task_id"] for s in before["steps"] if s["status"] == "running" and s["task_id"]}
    assert in_hand, before

    survivor = world["start"](mode)
    try:
        finished = _until("the run succeeded", lambda: (r := workflows.get_run(alice, run["id"]))["status"]
                          == "succeeded" and r, survivor)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nrun: {workflows.get_run(alice, run['id'])}\n"
                             f"executions: {_executions(world['record'])}") from None

    # Every step done, each task step by exactly one task, each notification recorded once.
    assert {s["status"] for s in finished["steps"]} == {"done"}
    task_steps = [s for s in finished["steps"] if s["kind"] == "task"]
    with svc.engine.connect() as conn:
        tasks = {r.id: r for r in conn.execute(sa.select(Task).where(
            Task.idempotency_key.like(f"{IDEMPOTENCY_PREFIX}:{run['id']}:%")))}
        notices = conn.execute(sa.select(AuditLog.target).where(AuditLog.action == "workflow.notify")).scalars()
        assert Counter(notices) == {f"run {run['id']} step tell_a": 1, f"run {run['id']} step tell_d": 1}
    assert sorted(tasks) == sorted(s["task_id"] for s in task_steps)
    assert all(t.status.value == "succeeded" for t in tasks.values())
    # Steps finished before the kill never ran again; only the task in hand at the kill ran twice.
    executions = _executions(world["record"])
    per_task = Counter(t for t, _ in executions)
    assert set(per_task) == set(tasks)
    for task_id in done_before_kill:
        assert per_task[task_id] == 1, (task_id, executions)
        assert {p for t, p in executions if t == task_id} == {victim.pid}, (task_id, executions)
    repeated = {t for t, n in per_task.items() if n > 1}
    assert repeated <= in_hand, (in_hand, executions)
    assert max(per_task.values()) <= 2, executions
    # Each recorded result is from an execution that really happened.
    for task_id, task in tasks.items():
        assert task.result["pid"] in {p for t, p in executions if t == task_id}
    step_results = {s["task_id"]: s["result"]["text"] for s in task_steps}
    assert all(str(tasks[t].result["pid"]) in text for t, text in step_results.items())
    assert survivor.pid in {p for _, p in executions}


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_fire_schedules_and_finish_runs_left_unfinished(world: dict[str, Any], command: str) -> None:
    from datetime import timedelta

    from models import Workflow, utcnow

    svc = world["svc"]
    alice = svc.conversations.local_caller("alice")
    workflows = svc.controller.workflows
    left = workflows.start_run(alice, workflows.create(alice, FLOW)["id"])  # as a process that died left it
    ping = {**FLOW, "name": "Ping", "schedule": "0 0 1 1 *",  # yearly: the catch-up run is the only one
            "steps": [step("ping", "Ping", "notify", "ops", to=["ops"], message="tick")]}
    scheduled = workflows.create(alice, ping)
    due = utcnow() - timedelta(minutes=5)  # missed while nothing was serving: one catch-up run
    with svc.engine.begin() as conn:
        conn.execute(sa.update(Workflow).where(Workflow.id == scheduled["id"]).values(next_run_at=due))

    args = [sys.executable, str(ROOT / "main.py"), command, "--executor", "tests.fixtures:record"]
    if command == "serve":
        args += ["--port", "0"]
    proc = subprocess.Popen(args, env=world["env"], cwd=str(ROOT), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        finished = _until("the run left unfinished succeeded",
                          lambda: (r := workflows.get_run(alice, left["id"]))["status"] == "succeeded" and r, proc)
        fired = _until("the schedule fired", lambda: workflows.list_runs(alice, workflow_id=scheduled["id"]), proc)
        ran = _until("the scheduled run succeeded",
                     lambda: (r := workflows.get_run(alice, fired[0]["id"]))["status"] == "succeeded" and r, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert {s["status"] for s in finished["steps"]} == {"done"}
    assert len(fired) == 1 and ran["trigger"] == "schedule" and ran["scheduled_for"] == due.isoformat()
    assert workflows.get(alice, scheduled["id"])["next_run_at"] > utcnow().isoformat()


def test_a_workflow_driven_from_the_cli_with_inputs_schedules_duplicates_and_a_cancel(cli_env: dict[str, str]) -> None:
    """Issue 20, as a user types it: inputs given in words, required ones enforced, a schedule set and
    removed after creation, a repeated request offered the saved workflow, a cancelled run called cancelled."""
    def cli(*args: str, code: int = 0) -> str:
        done = run_cli(*args, env=cli_env)
        assert done.returncode == code, done.stdout + done.stderr
        return done.stdout

    assert cli("automate invoice approval").startswith("Saved workflow 1 'Invoice approval'")
    assert cli("automate invoice approval").startswith("You already have this workflow: workflow 1")
    refused = cli("run workflow 1", code=1)
    assert "Missing required input(s) vendor, invoice_number, amount, due_date, purchase_order" in refused
    run = json.loads(cli("--json", "run workflow 1 with vendor=Acme Ltd, invoice_number=INV-7, amount=1200, "
                                   "due_date=2026-10-01, purchase_order=PO-9"))["data"]["run"]
    assert run["status"] == "waiting" and run["inputs"]["vendor"] == "Acme Ltd" and run["missing_inputs"] == []
    cancelled = cli("cancel run 1")
    assert "cancelled, 3 of 6 steps done, 3 cancelled" in cancelled and "steps finished" not in cancelled

    assert "needs vendor, invoice_number" in cli("schedule workflow 1 every Monday at 9am", code=1)
    scheduled = cli("schedule workflow 1 every Monday at 9am with vendor=Acme Ltd, invoice_number=monthly, "
                    "amount=1200, due_date=2026-10-01, purchase_order=PO-9")
    assert scheduled.startswith("Scheduled workflow 1: '0 9 * * 1' (cron, UTC), next run ")
    assert json.loads(cli("--json", "show workflow 1"))["data"]["workflow"]["schedule"] == "0 9 * * 1"
    assert cli("unschedule workflow 1").startswith("Workflow 1 is no longer scheduled")
    assert json.loads(cli("--json", "show workflow 1"))["data"]["workflow"]["next_run_at"] is None
    assert len(json.loads(cli("--json", "list the workflows"))["data"]["workflows"]) == 1
