"""Workflows: saved DAGs run step by step, approvals, retries, exactly-once effects, schedules, the intent."""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import business_automation
from agent_pools import CancelToken, ExecutionResult
from app import create_app, services
from business_automation import IDEMPOTENCY_PREFIX, RunStatus, WorkflowEngine, next_fire_time
from errors import BadRequest, Conflict, NotFound
from models import AuditLog, Role, Task, WorkflowStep
from replit_interface import format_workflow_reply
from task_processor import Claim, RetryPolicy
from workflows.templates import step

from . import fixtures


def definition(*steps: dict[str, Any], inputs: tuple[str, ...] = (), schedule: str | None = None,
               name: str = "Test flow") -> dict[str, Any]:
    return {"version": 1, "name": name, "description": "a test workflow", "template": None, "schedule": schedule,
            "inputs": {k: {"description": k, "required": True} for k in inputs}, "steps": list(steps)}


def approval_flow() -> dict[str, Any]:
    return definition(
        step("draft", "Draft", "task", "writer", pool="business", input="Draft the memo"),
        step("sign_off", "Sign off", "approval", "boss", depends_on=["draft"], approvers=["boss", "Alice"]),
        step("announce", "Announce", "notify", "writer", depends_on=["sign_off"], to=["team"], message="Memo out"),
        step("archive", "Archive", "task", "writer", depends_on=["announce"], pool="general", input="Archive it"),
    )


class Env:
    """An app on this test's database, its engine of workflows, and three callers."""

    def __init__(self, home: Path, database_url: str, executor: Callable[..., Any]) -> None:
        self.app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": database_url, "EXECUTOR": executor})
        self.svc = services(self.app)
        self.svc.controller.queue.retry = RetryPolicy(base_seconds=0.01, cap_seconds=0.02)
        self.workflows = WorkflowEngine(self.svc.engine, self.svc.controller, task_wait_seconds=30)
        self.admin = self.svc.conversations.local_caller("tester")
        self.alice = self.svc.conversations.ensure_user_with_key("alice", "oos_alice_key_0123456789", Role.USER)
        self.bob = self.svc.conversations.ensure_user_with_key("bob", "oos_bob_key_0123456789", Role.USER)

    def count(self, model: Any, *where: Any) -> int:
        with self.svc.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one())

    def tasks(self) -> list[dict[str, Any]]:
        with self.svc.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(Task.__table__).order_by(Task.id)).mappings()]


@pytest.fixture
def make_env(home: Path, database_url: str) -> Iterator[Callable[..., Env]]:
    built: list[Env] = []

    def build(executor: Callable[..., Any] = fixtures.echo) -> Env:
        env = Env(home, database_url, executor)
        built.append(env)
        return env

    yield build
    for env in built:
        env.workflows.stop(timeout=5)
        env.svc.controller.stop_pools(timeout=5)
        env.svc.engine.dispose()


@pytest.fixture
def env(make_env: Callable[..., Env]) -> Env:
    return make_env()


def statuses(run: dict[str, Any]) -> dict[str, str]:
    return {s["key"]: s["status"] for s in run["steps"]}


# -- definitions ----------------------------------------------------------------------------------

def test_workflows_are_validated_saved_and_seen_only_by_their_owner_and_admins(env: Env) -> None:
    mine = env.workflows.create(env.alice, approval_flow())
    assert mine["name"] == "Test flow" and mine["steps"] == 4 and mine["user_id"] == env.alice.user_id
    assert [s["key"] for s in mine["step_list"]] == ["draft", "sign_off", "announce", "archive"]
    assert [w["id"] for w in env.workflows.list_workflows(env.alice)] == [mine["id"]]
    assert env.workflows.list_workflows(env.bob) == []
    with pytest.raises(NotFound):
        env.workflows.get(env.bob, mine["id"])
    assert env.workflows.get(env.admin, mine["id"])["id"] == mine["id"]
    assert [w["id"] for w in env.workflows.list_workflows(env.admin)] == [mine["id"]]

    broken = approval_flow()
    broken["steps"][1]["depends_on"] = ["nowhere"]
    with pytest.raises(BadRequest, match="nowhere"):
        env.workflows.create(env.alice, broken)
    with pytest.raises(BadRequest, match="minute"):
        env.workflows.create(env.alice, {**approval_flow(), "schedule": "61 * * * *"})
    assert len(env.workflows.list_workflows(env.admin)) == 1


# -- running --------------------------------------------------------------------------------------

def test_a_run_follows_the_dag_with_inputs_results_and_conditions(env: Env) -> None:
    flow = definition(
        step("research", "Research", "task", "analyst", inputs=["topic"], pool="business",
             input="Research {topic} and say BLOCKED if stuck"),
        step("stuck", "Stuck?", "condition", "analyst", depends_on=["research"], inputs=["research.result"],
             condition={"input": "research.result", "op": "contains", "value": "BLOCKED"}),
        step("escalate", "Escalate", "notify", "analyst", depends_on=["stuck"], inputs=["topic"],
             run_if={"step": "stuck", "is": True}, to=["lead"], message="{topic} is stuck"),
        step("celebrate", "Celebrate", "notify", "analyst", depends_on=["stuck"],
             run_if={"step": "stuck", "is": False}, to=["team"], message="All clear"),
        step("report", "Report", "task", "analyst", depends_on=["escalate", "celebrate"],
             inputs=["research.result"], pool="general", input="Summarise: {research.result}"),
        inputs=("topic",))
    workflow = env.workflows.create(env.alice, flow)
    run = env.workflows.run(env.alice, workflow["id"], {"topic": "pricing"})

    assert run["status"] == "succeeded", run
    assert statuses(run) == {"research": "done", "stuck": "done", "escalate": "done", "celebrate": "skipped",
                             "report": "done"}
    by_key = {s["key"]: s for s in run["steps"]}
    assert by_key["stuck"]["result"]["value"] is True
    assert by_key["escalate"]["result"]["message"] == "pricing is stuck"
    assert by_key["report"]["result"]["text"] == "echo: Summarise: echo: Research pricing and say BLOCKED if stuck"
    assert run["task_ids"] == [by_key["research"]["task_id"], by_key["report"]["task_id"]]
    assert [t["pool"] for t in env.tasks()] == ["business", "general"]
    assert all(t["user_id"] == env.alice.user_id for t in env.tasks())
    assert env.count(AuditLog, AuditLog.action == "workflow.notify") == 1
    assert run["progress"] == {"finished": 5, "total": 5, "done": 5, "cancelled": 0}
    assert run["duration_seconds"] is not None and run["finished_at"] is not None


def test_an_approval_step_blocks_the_run_until_approved(env: Env) -> None:
    workflow = env.workflows.create(env.alice, approval_flow())
    run = env.workflows.run(env.alice, workflow["id"])
    assert run["status"] == "waiting"
    assert statuses(run) == {"draft": "done", "sign_off": "waiting", "announce": "pending", "archive": "pending"}
    assert run["waiting_for"] == [{"step": 2, "key": "sign_off", "title": "Sign off", "approvers": ["boss", "Alice"]}]
    assert len(env.tasks()) == 1
    # Driving a waiting run again changes nothing: it stays blocked on the decision.
    assert env.workflows.advance(run["id"], wait_tasks=True) is RunStatus.WAITING
    assert env.workflows.tick().errors == 0
    assert len(env.tasks()) == 1 and env.count(AuditLog, AuditLog.action == "workflow.notify") == 0
    assert env.workflows.pending_approvals(env.alice)[0]["run_id"] == run["id"]
    assert env.workflows.pending_approvals(env.bob) == []

    with pytest.raises(Conflict, match="not an approval"):
        env.workflows.approve(env.alice, run["id"], 1)
    with pytest.raises(NotFound):
        env.workflows.approve(env.bob, run["id"], 2)
    done = env.workflows.approve(env.alice, run["id"], 2, note="looks good", wait=True)
    assert done["status"] == "succeeded", done
    sign_off = next(s for s in done["steps"] if s["key"] == "sign_off")
    assert sign_off["result"]["decision"] == "approved" and sign_off["result"]["by"] == "alice"
    assert sign_off["decided_by"] == env.alice.user_id
    assert len(env.tasks()) == 2 and env.count(AuditLog, AuditLog.action == "workflow.notify") == 1
    with pytest.raises(Conflict, match="ended"):
        env.workflows.approve(env.alice, run["id"], 2)


def test_a_rejected_approval_ends_the_run_cleanly(env: Env) -> None:
    workflow = env.workflows.create(env.alice, approval_flow())
    run = env.workflows.run(env.alice, workflow["id"])
    with pytest.raises(Conflict, match="not been reached"):
        env.workflows.approve(env.alice, env.workflows.start_run(env.alice, workflow["id"])["id"], "sign_off")
    ended = env.workflows.reject(env.admin, run["id"], "sign_off", reason="budget is frozen")
    assert ended["status"] == "rejected"
    assert ended["error"] == "step 2 (sign_off) was rejected by tester: budget is frozen"
    assert statuses(ended) == {"draft": "done", "sign_off": "rejected", "announce": "cancelled",
                               "archive": "cancelled"}
    assert ended["finished_at"] is not None and ended["waiting_for"] == []
    env.workflows.tick()
    assert len([t for t in env.tasks() if t["idempotency_key"].startswith(f"{IDEMPOTENCY_PREFIX}:{run['id']}:")]) == 1
    assert env.count(AuditLog, AuditLog.action == "workflow.notify") == 0
    with pytest.raises(Conflict):
        env.workflows.approve(env.alice, run["id"])


def test_each_step_retries_on_its_own_and_a_failed_step_fails_the_run(make_env: Callable[..., Env]) -> None:
    attempts: Counter[str] = Counter()

    def flaky(claim: Claim, token: CancelToken) -> dict[str, Any]:
        attempts[claim.input] += 1
        if claim.input == "always broken" or (claim.input == "flaky" and attempts["flaky"] < 2):
            raise RuntimeError(f"{claim.input} attempt {attempts[claim.input]}")
        return {"text": f"ok: {claim.input}"}

    env = make_env(flaky)
    flow = definition(step("first", "First", "task", "x", pool="general", input="steady"),
                      step("second", "Second", "task", "x", depends_on=["first"], pool="general", input="flaky"),
                      step("third", "Third", "task", "x", depends_on=["second"], pool="general", input="always broken"),
                      step("fourth", "Fourth", "notify", "x", depends_on=["third"], to=["team"], message="never"))
    run = env.workflows.run(env.alice, env.workflows.create(env.alice, flow)["id"])
    assert run["status"] == "failed"
    by_key = {s["key"]: s for s in run["steps"]}
    assert (by_key["first"]["attempts"], by_key["second"]["attempts"], by_key["third"]["attempts"]) == (1, 2, 3)
    assert attempts == {"steady": 1, "flaky": 2, "always broken": 3}
    assert by_key["third"]["status"] == "failed" and "always broken attempt 3" in by_key["third"]["error"]
    assert by_key["fourth"]["status"] == "cancelled"
    assert run["error"].startswith("step 3 (third) failed: task")
    assert env.workflows.resume().runs_advanced == 0
    assert attempts == {"steady": 1, "flaky": 2, "always broken": 3}


def test_a_driver_that_died_after_submitting_finds_the_same_task(env: Env) -> None:
    workflow = env.workflows.create(env.alice, approval_flow())
    run = env.workflows.start_run(env.alice, workflow["id"])
    # The previous driver claimed the step and submitted its task, then died before recording the id.
    with env.svc.engine.begin() as conn:
        conn.execute(sa.update(WorkflowStep.__table__).where(
            WorkflowStep.run_id == run["id"], WorkflowStep.key == "draft").values(status="running"))
    orphan = env.svc.controller.submit(env.alice, "Draft the memo", pool="business",
                                       idempotency_key=f"{IDEMPOTENCY_PREFIX}:{run['id']}:draft")
    report = env.workflows.resume()
    assert report.runs_advanced == 1
    resumed = env.workflows.get_run(env.alice, run["id"])
    assert resumed["status"] == "waiting"
    draft = next(s for s in resumed["steps"] if s["key"] == "draft")
    assert draft["task_id"] == orphan["id"] and draft["status"] == "done"
    assert [t["id"] for t in env.tasks()] == [orphan["id"]]


def test_concurrent_drivers_run_each_effect_once(env: Env) -> None:
    flow = definition(*[step(f"n{i}", f"Notify {i}", "notify", "x", to=["team"], message=f"note {i}")
                        for i in range(4)],
                      *[step(f"t{i}", f"Task {i}", "task", "x", depends_on=[f"n{i}"], pool="general",
                             input=f"task {i}") for i in range(4)])
    runs = [env.workflows.start_run(env.alice, env.workflows.create(env.alice, flow)["id"]) for _ in range(2)]
    others = [WorkflowEngine(env.svc.engine, env.svc.controller) for _ in range(3)]
    barrier = threading.Barrier(len(others))

    def drive(engine: WorkflowEngine) -> None:
        barrier.wait(5)
        for _ in range(3):
            engine.resume()

    with ThreadPoolExecutor(len(others)) as pool:
        for future in [pool.submit(drive, e) for e in others]:
            future.result(timeout=60)
    for run in runs:
        assert env.workflows.get_run(env.alice, run["id"])["status"] == "succeeded"
    assert env.count(AuditLog, AuditLog.action == "workflow.notify") == 8
    keys = Counter(t["idempotency_key"] for t in env.tasks())
    assert len(keys) == 8 and set(keys.values()) == {1}
    assert all(t["attempts"] == 1 and t["status"] == "succeeded" for t in env.tasks())


def test_serve_loop_drives_runs_with_the_pool_agents(env: Env) -> None:
    env.svc.controller.start_pools()
    workflow = env.workflows.create(env.alice, approval_flow())
    run = env.workflows.run(env.alice, workflow["id"], wait=False)
    assert run["status"] in ("running", "waiting") and run["steps"][0]["task_id"] is not None
    env.workflows.start(interval=0.05)
    waiting = env.workflows.wait_run(env.alice, run["id"], timeout=30)
    assert waiting["status"] == "waiting", waiting
    env.workflows.approve(env.alice, run["id"])  # not waiting: the loop and the agents finish it
    finished = _until(lambda: env.workflows.get_run(env.alice, run["id"]), lambda r: r["status"] == "succeeded")
    assert all(s["task_id"] for s in finished["steps"] if s["kind"] == "task")
    assert Counter(t["idempotency_key"] for t in env.tasks()).most_common(1)[0][1] == 1


def test_cancelling_a_run_cancels_its_queued_tasks(env: Env) -> None:
    workflow = env.workflows.create(env.alice, approval_flow())
    run = env.workflows.run(env.alice, workflow["id"], wait=False)  # nothing serves: the task stays queued
    assert env.tasks()[0]["status"] == "queued"
    cancelled = env.workflows.cancel_run(env.alice, run["id"])
    assert cancelled["status"] == "cancelled" and set(statuses(cancelled).values()) == {"cancelled"}
    assert env.tasks()[0]["status"] == "cancelled"
    with pytest.raises(Conflict):
        env.workflows.cancel_run(env.alice, run["id"])


# -- schedules ------------------------------------------------------------------------------------

def test_a_due_schedule_starts_exactly_one_run_across_processes(env: Env) -> None:
    flow = definition(step("ping", "Ping", "notify", "ops", to=["ops"], message="tick"), schedule="*/15 * * * *")
    workflow = env.workflows.create(env.alice, flow)
    due = datetime.fromisoformat(workflow["next_run_at"])
    assert due > datetime.now(UTC) - timedelta(seconds=1) and due.minute % 15 == 0 and due.second == 0
    assert env.workflows.due_schedules(due - timedelta(seconds=1)) == []
    assert [d["id"] for d in env.workflows.due_schedules(due)] == [workflow["id"]]

    engines = [WorkflowEngine(env.svc.engine, env.svc.controller) for _ in range(3)]
    started: list[int] = []
    barrier = threading.Barrier(len(engines))

    def fire(engine: WorkflowEngine) -> None:
        barrier.wait(5)
        started.extend(engine.fire_schedules(due + timedelta(seconds=2)))

    threads = [threading.Thread(target=fire, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(started) == 1
    run = env.workflows.get_run(env.alice, started[0])
    assert run["trigger"] == "schedule" and run["scheduled_for"] == due.isoformat()
    assert env.workflows.get(env.alice, workflow["id"])["next_run_at"] == (due + timedelta(minutes=15)).isoformat()
    assert env.workflows.fire_schedules(due + timedelta(seconds=3)) == []
    # A day with nothing serving gives one catch-up run, then the next time after now.
    late = due + timedelta(days=1, seconds=30)
    assert len(env.workflows.tick(late).runs_started) == 1
    assert env.workflows.get(env.alice, workflow["id"])["next_run_at"] == (
        due + timedelta(days=1, minutes=15)).isoformat()
    assert env.workflows.get_run(env.alice, started[0])["status"] == "succeeded"  # the tick drove it


def test_next_fire_time_reads_cron_in_utc() -> None:
    monday_8 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert next_fire_time("0 9 * * 1", monday_8) == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert next_fire_time("30 9 * * mon-fri", datetime(2026, 1, 9, 10, 0, tzinfo=UTC)) == datetime(
        2026, 1, 12, 9, 30, tzinfo=UTC)
    for bad in ("0 9 * *", "0 25 * * *", "every monday", "0 9 * * 1 2026"):
        with pytest.raises(BadRequest):
            next_fire_time(bad, monday_8)


def test_schedules_can_be_set_and_cleared(env: Env) -> None:
    workflow = env.workflows.create(env.alice, approval_flow())
    assert workflow["schedule"] is None and workflow["next_run_at"] is None
    scheduled = env.workflows.set_schedule(env.alice, workflow["id"], "0 9 * * 1")
    assert scheduled["schedule"] == "0 9 * * 1" and scheduled["definition"]["schedule"] == "0 9 * * 1"
    assert datetime.fromisoformat(scheduled["next_run_at"]).weekday() == 0
    with pytest.raises(NotFound):
        env.workflows.set_schedule(env.bob, workflow["id"], None)
    assert env.workflows.set_schedule(env.alice, workflow["id"], None)["next_run_at"] is None


# -- the conversational door ----------------------------------------------------------------------

def test_the_workflows_intent_creates_lists_shows_runs_and_decides(env: Env) -> None:
    created = env.workflows.execute(env.alice, {"action": "create",
                                                "input": "Help me automate my project management workflow"})
    workflow = created["workflow"]
    assert workflow["template"] == "project_management" and workflow["steps"] == 6
    assert created["task"]["pool"] == "business" and created["task"]["status"] == "succeeded"
    assert created["definition_source"] == business_automation.BUILT_IN_SOURCE  # echo replies hold no JSON
    assert f"Saved workflow {workflow['id']}" in format_workflow_reply(created)

    listed = env.workflows.execute(env.alice, {"action": "list"})
    assert [w["id"] for w in listed["workflows"]] == [workflow["id"]]
    assert "Project management" in format_workflow_reply(listed)
    shown = env.workflows.execute(env.alice, {"action": "show", "workflow_id": workflow["id"]})
    assert "approve_plan" in format_workflow_reply(shown)

    with pytest.raises(BadRequest, match="Missing required input"):
        env.workflows.execute(env.alice, {"action": "run", "name": "project management"})
    ran = env.workflows.execute(env.alice, {"action": "run", "name": "project management", "inputs_text":
                                            "project_name=Website relaunch, goal=New site live, deadline=2026-09-30"})
    run = ran["run"]
    assert run["status"] == "waiting" and run["missing_inputs"] == []
    assert run["inputs"] == {"project_name": "Website relaunch", "goal": "New site live", "deadline": "2026-09-30"}
    text = format_workflow_reply(ran)
    assert f"approve run {run['id']} step 2" in text and "not given" not in text
    assert "project sponsor" in format_workflow_reply(env.workflows.execute(env.alice, {"action": "list"}))
    approved = env.workflows.execute(env.admin, {"action": "approve", "run_id": run["id"], "step": 2})  # the sponsor
    assert approved["run"]["status"] == "succeeded"
    shown_run = env.workflows.execute(env.alice, {"action": "show", "run_id": run["id"]})
    assert "succeeded, 6 of 6 steps finished" in format_workflow_reply(shown_run)
    with pytest.raises(NotFound):
        env.workflows.execute(env.bob, {"action": "show", "run_id": run["id"]})
    with pytest.raises(NotFound):
        env.workflows.execute(env.bob, {"action": "run"})
    with pytest.raises(BadRequest):
        env.workflows.execute(env.alice, {"action": "approve"})
    json.dumps([created, listed, shown, ran, approved, shown_run])  # JSON-ready data for the contract


def test_the_business_agents_json_definition_is_saved(make_env: Callable[..., Env]) -> None:
    drafted = definition(step("only", "Only step", "task", "ops", pool="business", input="Do it"),
                         name="Agent's own flow")

    def model_like(claim: Claim, token: CancelToken) -> ExecutionResult:
        reply = f"Here is your workflow:\n```json\n{json.dumps(drafted)}\n```\nEdit it as you like."
        return ExecutionResult({"text": reply}, provider="openai-chat")

    env = make_env(model_like)
    created = env.workflows.create_from_request(env.alice, "automate our weekly ops check")
    assert created["definition_source"] == business_automation.AGENT_SOURCE and created["note"] is None
    assert created["workflow"]["name"] == "Agent's own flow"
    assert created["task"]["provider"] == "openai-chat"


def test_inputs_are_checked(env: Env) -> None:
    flow = definition(step("a", "A", "task", "x", inputs=["who"], pool="general", input="Hi {who}"), inputs=("who",))
    workflow = env.workflows.create(env.alice, flow)
    with pytest.raises(Conflict, match="Unknown input"):
        env.workflows.start_run(env.alice, workflow["id"], {"whom": "x"})
    with pytest.raises(BadRequest, match="text or a number"):
        env.workflows.start_run(env.alice, workflow["id"], {"who": ["x"]})
    run = env.workflows.run(env.alice, workflow["id"], {"who": "Ada"})
    assert run["steps"][0]["result"]["text"] == "echo: Hi Ada" and run["missing_inputs"] == []


def _until(read: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    value = read()
    while not ok(value):
        assert time.monotonic() < deadline, value
        time.sleep(0.05)
        value = read()
    return value


def test_an_unknown_run_or_workflow_is_not_found(env: Env) -> None:
    for call in (lambda: env.workflows.get_run(env.admin, 999), lambda: env.workflows.get(env.admin, 999),
                 lambda: env.workflows.advance(999), lambda: env.workflows.reject(env.admin, 999)):
        with pytest.raises(NotFound):
            call()


# -- the controller -------------------------------------------------------------------------------

def test_an_inline_task_that_fails_once_is_retried_inline_and_answers_with_the_success(
        make_env: Callable[..., Env]) -> None:
    calls: Counter[int] = Counter()

    def fails_once(claim: Claim, token: CancelToken) -> dict[str, Any]:
        calls[claim.task_id] += 1
        if calls[claim.task_id] == 1:
            raise RuntimeError("the first attempt fails")
        return {"text": f"attempt {calls[claim.task_id]} worked"}

    env = make_env(fails_once)
    env.svc.controller.queue.retry = RetryPolicy(base_seconds=0.4, cap_seconds=0.4)
    started = time.monotonic()
    task = env.svc.controller.submit(env.alice, "try me", pool="general", wait=True)  # nothing serves the pool
    elapsed = time.monotonic() - started
    assert task["status"] == "succeeded" and task["attempts"] == 2, task
    assert task["result"]["text"] == "attempt 2 worked"
    assert 0.2 <= elapsed < 5, elapsed  # waited out the backoff (0.2 to 0.4 s), then worked the retry inline

    env_failing = make_env(fixtures.always_raise)
    env_failing.svc.controller.queue.retry = RetryPolicy(base_seconds=0.01, cap_seconds=0.02)
    started = time.monotonic()
    failed = env_failing.svc.controller.submit(env_failing.alice, "never", pool="general", wait=True)
    assert failed["status"] == "failed" and failed["attempts"] == failed["max_attempts"] == 3
    assert "always fails" in failed["error"] and time.monotonic() - started < 5


def test_the_controller_wires_the_workflows_intent_with_ownership(env: Env) -> None:
    from values import Command

    controller = env.svc.controller
    assert isinstance(controller.workflows, WorkflowEngine)
    created = controller.execute(Command("workflows", {"action": "create", "input": "automate employee onboarding"}),
                                 env.alice).data
    workflow_id = created["workflow"]["id"]
    assert created["workflow"]["template"] == "employee_onboarding"
    listed = controller.execute(Command("workflows", {"action": "list"}), env.alice).data
    assert [w["id"] for w in listed["workflows"]] == [workflow_id]
    assert controller.execute(Command("workflows", {"action": "list"}), env.bob).data["workflows"] == []
    with pytest.raises(NotFound):
        controller.execute(Command("workflows", {"action": "show", "workflow_id": workflow_id}), env.bob)
    with pytest.raises(NotFound):
        controller.execute(Command("workflows", {"action": "run", "workflow_id": workflow_id}), env.bob)
    hire = {"employee_name": "Ada", "role": "engineer", "start_date": "2026-09-01"}
    run = controller.execute(Command("workflows", {"action": "run", "workflow_id": workflow_id, "inputs": hire}),
                             env.alice).data["run"]
    assert run["status"] == "waiting" and run["user_id"] == env.alice.user_id
    with pytest.raises(NotFound):
        controller.execute(Command("workflows", {"action": "approve", "run_id": run["id"]}), env.bob)
    cancelled = controller.execute(Command("workflows", {"action": "cancel", "run_id": run["id"]}), env.alice)
    assert cancelled.data["run"]["status"] == "cancelled"


# -- issue 20: workflows driven from the CLI --------------------------------------------------------

def memo_flow(schedule: str | None = None) -> dict[str, Any]:
    """A required input (who) and an optional one (note)."""
    flow = definition(
        step("write", "Write", "task", "writer", inputs=["who", "note"], pool="general",
             input="Memo for {who}: {note}"),
        inputs=("who",), schedule=schedule, name="Memo")
    flow["inputs"]["note"] = {"description": "anything to add", "required": False}
    return flow


def test_required_inputs_are_enforced_and_optional_ones_use_one_placeholder(env: Env) -> None:
    workflow = env.workflows.create(env.alice, memo_flow())
    assert workflow["required_inputs"] == ["who"]
    with pytest.raises(BadRequest, match=r"Missing required input\(s\) who") as missing:
        env.workflows.run(env.alice, workflow["id"], {"note": "hi"})
    assert missing.value.details["missing_inputs"] == ["who"]
    with pytest.raises(BadRequest, match="Missing required input"):
        env.workflows.run(env.alice, workflow["id"], {"who": "   "})
    assert env.workflows.list_runs(env.alice) == [] and env.tasks() == []   # nothing started on placeholders
    run = env.workflows.run(env.alice, workflow["id"], {"who": "Ada"})
    assert run["inputs"] == {"who": "Ada", "note": "[note not given]"} and run["missing_inputs"] == ["note"]
    assert run["steps"][0]["result"]["text"] == "echo: Memo for Ada: [note not given]"
    assert "Optional inputs not given (shown as [name not given]): note" in format_workflow_reply({"run": run})


def test_run_inputs_written_in_words(env: Env) -> None:
    workflow = env.workflows.create(env.alice, memo_flow())
    for text in ("who=Ada Lovelace, note=see you at 9", "who Ada Lovelace and note see you at 9",
                 "who: 'Ada Lovelace'; note: see you at 9"):
        ran = env.workflows.execute(env.alice, {"action": "run", "workflow_id": workflow["id"], "inputs_text": text})
        assert ran["run"]["inputs"] == {"who": "Ada Lovelace", "note": "see you at 9"}, text
    with pytest.raises(Conflict, match="Unknown input"):
        env.workflows.execute(env.alice, {"action": "run", "workflow_id": workflow["id"], "inputs_text": "whom=x"})
    with pytest.raises(BadRequest, match="name=value"):
        env.workflows.execute(env.alice, {"action": "run", "workflow_id": workflow["id"], "inputs_text": "Ada"})


def test_a_schedule_is_set_and_removed_after_creation(env: Env) -> None:
    workflow = env.workflows.create(env.alice, memo_flow())
    with pytest.raises(BadRequest, match="needs who on every run") as refused:
        env.workflows.execute(env.alice, {"action": "schedule", "workflow_id": workflow["id"],
                                          "schedule": "every Monday at 9am"})
    assert refused.value.details["missing_inputs"] == ["who"]
    scheduled = env.workflows.execute(env.alice, {"action": "schedule", "workflow_id": workflow["id"],
                                                  "schedule": "every Monday at 9am", "inputs_text": "who=the team"})
    shown = scheduled["workflow"]
    assert shown["schedule"] == "0 9 * * 1" and shown["schedule_needs"] == []
    assert shown["definition"]["inputs"]["who"]["default"] == "the team"
    due = datetime.fromisoformat(shown["next_run_at"])
    assert due.weekday() == 0 and (due.hour, due.minute) == (9, 0)
    assert "Scheduled workflow" in format_workflow_reply(scheduled) and "unschedule workflow" in \
        format_workflow_reply(scheduled)
    [run_id] = env.workflows.fire_schedules(due + timedelta(seconds=1))
    env.workflows.advance(run_id, wait_tasks=True)
    run = env.workflows.get_run(env.alice, run_id)
    assert run["status"] == "succeeded" and run["inputs"]["who"] == "the team"

    removed = env.workflows.execute(env.alice, {"action": "unschedule", "workflow_id": workflow["id"]})
    assert removed["workflow"]["schedule"] is None and removed["workflow"]["next_run_at"] is None
    assert "no longer scheduled" in format_workflow_reply(removed)
    with pytest.raises(BadRequest, match="Cannot read the schedule"):
        env.workflows.set_schedule(env.alice, workflow["id"], "whenever you like")


def test_a_scheduled_run_without_its_required_inputs_fails_saying_why(env: Env) -> None:
    workflow = env.workflows.create(env.alice, memo_flow(schedule="*/15 * * * *"))
    assert workflow["schedule_needs"] == ["who"]
    assert "scheduled runs will fail until who" in format_workflow_reply({"workflow": workflow})
    [run_id] = env.workflows.fire_schedules(datetime.fromisoformat(workflow["next_run_at"]) + timedelta(seconds=1))
    run = env.workflows.get_run(env.alice, run_id)
    assert run["status"] == "failed" and "required input(s) who have no value" in run["error"]
    assert statuses(run) == {"write": "cancelled"} and env.tasks() == []


def test_asking_to_automate_the_same_process_twice_offers_the_existing_workflow(env: Env) -> None:
    first = env.workflows.execute(env.alice, {"action": "create", "input": "automate invoice approval"})
    again = env.workflows.execute(env.alice, {"action": "create", "input": "automate invoice approval"})
    assert again["duplicate_of"] == first["workflow"]["id"] == again["workflow"]["id"]
    assert [w["id"] for w in env.workflows.list_workflows(env.alice)] == [first["workflow"]["id"]]
    text = format_workflow_reply(again)
    assert text.startswith(f"You already have this workflow: workflow {first['workflow']['id']}")
    weekly = env.workflows.execute(env.alice, {"action": "create", "input": "automate invoice approval every Friday"})
    assert weekly["duplicate_of"] == first["workflow"]["id"]
    assert f"'schedule workflow {first['workflow']['id']} 0 9 * * 5'" in format_workflow_reply(weekly)
    other = env.workflows.execute(env.bob, {"action": "create", "input": "automate invoice approval"})
    assert "duplicate_of" not in other                                # another user's workflow is theirs


def test_a_cancelled_run_is_reported_as_cancelled(env: Env) -> None:
    workflow = env.workflows.create(env.alice, approval_flow())
    run = env.workflows.run(env.alice, workflow["id"])
    cancelled = env.workflows.execute(env.alice, {"action": "cancel", "run_id": run["id"]})
    text = format_workflow_reply(cancelled, {"action": "cancel"})
    assert cancelled["run"]["progress"] == {"finished": 4, "total": 4, "done": 1, "cancelled": 3}
    assert "cancelled, 1 of 4 steps done, 3 cancelled" in text and "4 of 4 steps finished" not in text


def test_contains_conditions_ignore_case(env: Env) -> None:
    flow = definition(
        step("report", "Report", "task", "analyst", pool="business", input="Status: Blocked: waiting on legal"),
        step("stuck", "Stuck?", "condition", "analyst", depends_on=["report"], inputs=["report.result"],
             condition={"input": "report.result", "op": "contains", "value": "BLOCKED:"}))
    run = env.workflows.run(env.alice, env.workflows.create(env.alice, flow)["id"])
    assert run["steps"][1]["result"]["value"] is True


def test_a_waiting_driver_that_lost_a_step_to_another_driver_sees_its_task_through(env: Env) -> None:
    from workflows.runs import load_run

    workflow = env.workflows.create(env.alice, approval_flow())
    run = env.workflows.start_run(env.alice, workflow["id"])
    state = load_run(env.svc.engine, run["id"])  # this driver's view: the step is pending
    assert state is not None and state.steps["draft"].status.value == "pending"
    with env.svc.engine.begin() as conn:  # a workflow tick starts the step first
        conn.execute(sa.update(WorkflowStep.__table__).where(
            WorkflowStep.run_id == run["id"], WorkflowStep.key == "draft").values(status="running"))
    assert env.workflows.driver._start(state, state.steps["draft"], True, None) is True
    draft = next(s for s in env.workflows.get_run(env.alice, run["id"])["steps"] if s["key"] == "draft")
    assert draft["status"] == "done" and draft["task_id"] is not None  # not left "running" with no task
