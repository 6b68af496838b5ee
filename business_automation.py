"""Business workflows: saved DAGs of steps, run step by step and durably, with approvals and cron schedules.

A workflow is a saved definition (the format of workflow_schema / workflow_templates: steps with
keys, kinds task | notify | approval | condition, pools, owners, inputs, depends_on, run_if,
optional cron schedule). WorkflowEngine is the facade: it saves and finds workflows, starts runs,
takes decisions, fires schedules and runs serve's loop. The parts behind it:

- workflow_runs: run and step states, how runs are stored and read, their JSON views;
- workflow_driver: drives a run exactly once per effect across processes and crashes;
- workflow_actions: the built-in steps (notify, condition, approval).

Schedules: the workflow's next_run_at is advanced and the run created in one transaction, so a due
time makes one run whichever process (or how many) fires it. Missed times while nothing was
serving give one catch-up run, not a burst. Cron is read in UTC.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from database import read_only
from errors import BadRequest, Conflict, NotFound
from models import utcnow
from values import Caller
from workflows import actions as workflow_actions
from workflows import templates as workflow_templates
from workflows.driver import IDEMPOTENCY_PREFIX, RunDriver, TaskController, result_text
from workflows.intent import WORKFLOW_ACTIONS
from workflows.limits import WorkflowLimits, check_approver, run_to_decide
from workflows.runs import (
    MAX_ID,
    R,
    RunState,
    RunStatus,
    S,
    StepError,
    StepListener,
    StepStatus,
    W,
    active_run_ids,
    insert_run,
    iso,
    load_run,
    missing_required,
    required_inputs,
    resolve_inputs,
    run_brief,
    run_dict,
    run_status,
    step_note,
    visible,
)

__all__ = ["AGENT_SOURCE", "BUILT_IN_SOURCE", "IDEMPOTENCY_PREFIX", "WORKFLOW_ACTIONS", "RunStatus", "StepError",
           "StepListener", "StepStatus", "TaskController", "TickReport", "WorkflowEngine", "next_fire_time",
           "result_text", "step_note"]

logger = logging.getLogger(__name__)

TICK_SECONDS = 1.0
"""How often serve's workflow loop fires due schedules and advances unfinished runs."""

TASK_WAIT_SECONDS = 300.0
"""Longest a driver that waits on tasks (the CLI with no server) waits for one task step."""

MAX_LIST = 200
"""Most workflows or runs one listing returns."""

ACTIVE_RUN_BATCH = 100
"""Most unfinished runs one tick advances (oldest first)."""

RUN_WAIT_POLL_SECONDS = 0.1
"""How often wait_run re-reads a run."""

MAX_RUN_WAIT_SECONDS = 300.0
"""Longest one wait_run call waits."""


BUILT_IN_SOURCE = "built-in workflow builder"
"""definition_source when the business agent's reply held no valid definition."""

AGENT_SOURCE = "business agent"
"""definition_source when the definition came from the business agent's task."""


@dataclass
class TickReport:
    """What one tick of the workflow loop did."""

    runs_started: list[int] = field(default_factory=list)
    """Runs created by due schedules."""
    runs_advanced: int = 0
    """Unfinished runs looked at."""
    runs_finished: list[int] = field(default_factory=list)
    """Runs that reached an end state during this tick."""
    errors: int = 0
    """Runs whose advance raised (logged; retried next tick)."""


class WorkflowEngine:
    """Saves workflows and drives their runs; safe to run in several processes at once.

    Args:
        engine: the database engine.
        controller: the facade tasks are submitted through (see workflow_driver.TaskController).
        task_wait_seconds: longest a waiting driver waits for one task step.
        limits: schedules, unfinished runs and task steps allowed (default: the controller's settings).
    """

    def __init__(self, engine: Engine, controller: TaskController, *,
                 task_wait_seconds: float = TASK_WAIT_SECONDS, limits: WorkflowLimits | None = None) -> None:
        self.engine = engine
        self.controller = controller
        self.limits = limits or WorkflowLimits.of(getattr(controller, "settings", None))
        self.driver = RunDriver(engine, controller, task_wait_seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def task_wait_seconds(self) -> float:
        """Longest a waiting driver waits for one task step."""
        return self.driver.task_wait_seconds

    # -- workflows ------------------------------------------------------------------------------

    def create(self, caller: Caller, definition: Any, *, name: str | None = None) -> dict[str, Any]:
        """Validate and save a definition as a workflow of the caller.

        Raises:
            BadRequest: the definition (or its cron schedule) is invalid; the message says where.
        """
        checked = workflow_templates.validate_workflow(definition)
        if name is not None:
            checked["name"] = _clean_name(name)
        schedule = checked.get("schedule")
        now = utcnow()
        self.limits.check_task_steps(checked)
        if schedule:
            self.limits.check_schedule(schedule, now)
        values = {"user_id": caller.user_id, "name": checked["name"], "description": checked.get("description"),
                  "definition": checked, "schedule": schedule, "created_at": now, "updated_at": now,
                  "next_run_at": next_fire_time(schedule, now) if schedule else None}
        with self.engine.begin() as conn:
            workflow_id = conn.execute(sa.insert(W).values(**values).returning(W.c.id)).scalar_one()
        logger.info("%s saved workflow %s (%s)", caller.name, workflow_id, checked["name"])
        return self.get(caller, workflow_id)

    def create_from_request(self, caller: Caller, text: str, *, session_id: str | None = None,
                            name: str | None = None) -> dict[str, Any]:
        """Ask the business agent for a definition (see draft()) and save it as the caller's workflow.

        Returns:
            {"workflow": ..., "task": the business task, "definition_source": str, "note": str | None}
        """
        draft = self.draft(caller, text, session_id=session_id)
        workflow = self.create(caller, draft.pop("definition"), name=name)
        return {"workflow": workflow, **draft}

    def draft(self, caller: Caller, text: str, *, session_id: str | None = None) -> dict[str, Any]:
        """The business agent's definition for a process description, not saved.

        The description goes to the business pool as a task, through the controller (inline when no
        agent of the pool is live); the definition is the first JSON object of its reply that
        validates. When none does (a model answered loosely, or the task failed), the built-in
        workflow builder drafts it from the same text, and `definition_source` says so.

        Returns:
            {"definition": ..., "task": the task in brief, "definition_source": str, "note": str | None}
        """
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("Describe the process to automate, for example 'automate invoice approval'.")
        task = self.controller.submit(caller, text, pool="business", session_id=session_id, keep_pool=True)
        task = self.controller.see_through(caller, task, self.task_wait_seconds)
        definition, note = None, None
        if task.get("status") == "succeeded":
            definition, note = workflow_templates.definition_from_reply(result_text(task.get("result")))
        else:
            note = f"the business agent's task {task['id']} ended {task.get('status')}: {task.get('error')}"
        source = AGENT_SOURCE
        if definition is None:
            source = BUILT_IN_SOURCE
            definition = workflow_templates.from_description(text, _route)
        return {"definition": definition, "task": _task_brief(task), "definition_source": source, "note": note}

    def list_workflows(self, caller: Caller, *, limit: int = 50) -> list[dict[str, Any]]:
        """The caller's workflows (an admin's: everyone's), newest first, each with its last run."""
        query = sa.select(W).order_by(W.c.id.desc()).limit(_limit(limit))
        if not caller.is_admin:
            query = query.where(W.c.user_id == caller.user_id)
        with read_only(self.engine) as conn:
            rows = conn.execute(query).mappings().all()
            last = _last_runs(conn, [r["id"] for r in rows])
        return [_workflow_dict(r, last.get(r["id"]), full=False) for r in rows]

    def get(self, caller: Caller, workflow_id: int) -> dict[str, Any]:
        """One workflow the caller may see, with its definition and recent runs."""
        row = self._workflow_row(caller, workflow_id)
        workflow = _workflow_dict(row, None, full=True)
        workflow["runs"] = self.list_runs(caller, workflow_id=workflow_id, limit=10)
        workflow["last_run"] = workflow["runs"][0] if workflow["runs"] else None
        return workflow

    def find(self, caller: Caller, name: str) -> dict[str, Any]:
        """The caller's most recent workflow named `name` (exactly, else containing it; case-insensitive)."""
        wanted = (name or "").strip().lower()
        if not wanted:
            raise BadRequest("Say which workflow, by its number or name.")
        mine = self.list_workflows(caller, limit=MAX_LIST)
        for match in ([w for w in mine if w["name"].lower() == wanted],
                      [w for w in mine if wanted in w["name"].lower()]):
            if match:
                return self.get(caller, match[0]["id"])
        raise NotFound(f"No workflow named {name!r}; say 'list the workflows' to see yours.")

    def set_schedule(self, caller: Caller, workflow_id: int, schedule: str | None,
                     inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        """Set or clear (None) a workflow's schedule, after its creation.

        Args:
            schedule: five-field cron (UTC) or words ('every Monday at 9am'); None removes it.
            inputs: values its scheduled runs use, saved as the inputs' defaults (a run started by hand
                may still give others).

        Raises:
            BadRequest: a schedule that cannot be read, or required inputs a scheduled run would lack.
            Conflict: an input the workflow does not declare.
        """
        row = self._workflow_row(caller, workflow_id)
        now = utcnow()
        expr = workflow_templates.cron_of(schedule) if schedule is not None else None
        if expr:
            self.limits.check_schedule(expr, now)
        definition = dict(row["definition"])
        if inputs:
            resolve_inputs({"inputs": {k: {} for k in definition.get("inputs") or {}}}, inputs)  # names, types
            definition["inputs"] = {name: ({**spec, "default": inputs[name]} if name in inputs else spec)
                                    for name, spec in (definition.get("inputs") or {}).items()}
        lacking = missing_required(definition, None) if expr else []
        if lacking:
            example = ", ".join(f"{name}=..." for name in lacking)
            raise BadRequest(f"Workflow {workflow_id} needs {', '.join(lacking)} on every run, and a scheduled run "
                             f"has no one to give them: say 'schedule workflow {workflow_id} <when> with "
                             f"{example}' (REST: \"inputs\" with the schedule).",
                             details={"missing_inputs": lacking})
        definition["schedule"] = expr
        with self.engine.begin() as conn:
            conn.execute(sa.update(W).where(W.c.id == workflow_id).values(
                schedule=expr, definition=definition, updated_at=now,
                next_run_at=next_fire_time(expr, now) if expr else None))
        return self.get(caller, workflow_id)

    def delete(self, caller: Caller, workflow_id: int) -> dict[str, Any]:
        """Delete a workflow (its owner or an admin) and its runs, the unfinished ones cancelled first."""
        self._workflow_row(caller, workflow_id)
        cancelled = []
        for run_id in active_run_ids(self.engine, MAX_LIST, workflow_id=workflow_id):
            run = load_run(self.engine, run_id)
            if run is not None and self.driver.finish(run, RunStatus.CANCELLED, f"workflow deleted by {caller.name}"):
                cancelled.append(run_id)
        with self.engine.begin() as conn:
            runs = sa.select(R.c.id).where(R.c.workflow_id == workflow_id)
            conn.execute(sa.delete(S).where(S.c.run_id.in_(runs)))
            conn.execute(sa.delete(R).where(R.c.workflow_id == workflow_id))
            conn.execute(sa.delete(W).where(W.c.id == workflow_id))
        logger.info("%s deleted workflow %s (runs cancelled: %s)", caller.name, workflow_id, cancelled)
        return {"id": workflow_id, "deleted": True, "runs_cancelled": cancelled}

    # -- runs -----------------------------------------------------------------------------------

    def start_run(self, caller: Caller, workflow_id: int, inputs: dict[str, Any] | None = None, *,
                  session_id: str | None = None) -> dict[str, Any]:
        """Create a run (all steps pending) without driving it; serve's loop or advance() drives it.

        Args:
            inputs: values of the workflow's inputs; missing ones take their default, else a
                visible '[name not given]' placeholder (listed in the run's missing_inputs).

        Raises:
            Conflict: an input the workflow does not declare.
            BadRequest: a value that is not text or a number.
        """
        row = self._workflow_row(caller, workflow_id)
        self.limits.check_task_steps(row["definition"], workflow_id)
        with self.engine.begin() as conn:
            self.limits.check_active_runs(conn, row["user_id"])
            run_id = insert_run(conn, row, inputs, trigger="manual", started_by=caller, session_id=session_id)
        logger.info("%s started run %s of workflow %s", caller.name, run_id, workflow_id)
        return self.get_run(caller, run_id)

    def run(self, caller: Caller, workflow_id: int, inputs: dict[str, Any] | None = None, *, wait: bool = True,
            session_id: str | None = None, on_step: StepListener | None = None) -> dict[str, Any]:
        """Start a run and drive it: with `wait`, through its tasks (inline when no agent serves the pool)
        until it ends or waits for an approval; without, only as far as submitting its ready tasks."""
        run = self.start_run(caller, workflow_id, inputs, session_id=session_id)
        self.advance(run["id"], wait_tasks=wait, on_step=on_step)
        return self.get_run(caller, run["id"])

    def get_run(self, caller: Caller, run_id: int) -> dict[str, Any]:
        """One run the caller may see, with every step's status, task, result and timings."""
        run = load_run(self.engine, run_id)
        if run is None or not visible(caller, run.user_id):
            raise NotFound(f"No such workflow run: {run_id}")
        return run_dict(run)

    def list_runs(self, caller: Caller, *, workflow_id: int | None = None, status: str | None = None,
                  limit: int = 20) -> list[dict[str, Any]]:
        """Runs the caller may see, newest first, without step details."""
        query = (sa.select(R, W.c.name.label("workflow_name")).join(W, W.c.id == R.c.workflow_id)
                 .order_by(R.c.id.desc()).limit(_limit(limit)))
        if not caller.is_admin:
            query = query.where(R.c.user_id == caller.user_id)
        if workflow_id is not None:
            query = query.where(R.c.workflow_id == workflow_id)
        if status is not None:
            query = query.where(R.c.status == run_status(status).value)
        with read_only(self.engine) as conn:
            return [run_brief(r) for r in conn.execute(query).mappings()]

    def pending_approvals(self, caller: Caller) -> list[dict[str, Any]]:
        """Approval steps waiting for a decision in runs the caller may see."""
        query = (sa.select(S.c.run_id, S.c.key, R.c.workflow_id, R.c.user_id, W.c.name, W.c.definition)
                 .join(R, R.c.id == S.c.run_id).join(W, W.c.id == R.c.workflow_id)
                 .where(S.c.status == StepStatus.WAITING.value).order_by(S.c.run_id).limit(MAX_LIST))
        if not caller.is_admin:
            query = query.where(R.c.user_id == caller.user_id)
        with read_only(self.engine) as conn:
            rows = conn.execute(query).mappings().all()
        pending = []
        for r in rows:
            n, spec = _spec_of(r["definition"], r["key"])
            pending.append({"run_id": r["run_id"], "workflow_id": r["workflow_id"], "workflow_name": r["name"],
                            "step": n, "key": r["key"], "title": spec.get("title"),
                            "approvers": spec.get("approvers", []), "user_id": r["user_id"]})
        return pending

    def wait_run(self, caller: Caller, run_id: int, timeout: float) -> dict[str, Any]:
        """The run once it has ended or waits for an approval, or as it is after `timeout` seconds."""
        deadline = time.monotonic() + min(max(timeout, 0.0), MAX_RUN_WAIT_SECONDS)
        while True:
            run = self.get_run(caller, run_id)
            if run["status"] != RunStatus.RUNNING.value or time.monotonic() >= deadline:
                return run
            time.sleep(RUN_WAIT_POLL_SECONDS)

    def approve(self, caller: Caller, run_id: int, step: int | str | None = None, *, note: str | None = None,
                wait: bool = False, on_step: StepListener | None = None) -> dict[str, Any]:
        """Approve a waiting approval step (by position from 1, by key, or the only one waiting), then
        drive the run on (`wait` as in run()).

        Raises:
            NotFound: no such run (or not the caller's) or step.
            Conflict: the step is not an approval or not waiting for a decision, several wait and none
                was named, or the run has ended.
        """
        return self._decide(caller, run_id, step, approved=True, note=note, wait=wait, on_step=on_step)

    def reject(self, caller: Caller, run_id: int, step: int | str | None = None, *, reason: str | None = None,
               ) -> dict[str, Any]:
        """Reject a waiting approval step: the run ends `rejected`, its steps not yet run `cancelled`."""
        return self._decide(caller, run_id, step, approved=False, note=reason, wait=False, on_step=None)

    def cancel_run(self, caller: Caller, run_id: int) -> dict[str, Any]:
        """End an unfinished run `cancelled`: steps not yet done are cancelled, and so are their tasks."""
        run = self._visible_run(caller, run_id)
        if run.status.finished:
            raise Conflict(f"Run {run_id} has already ended ({run.status.value}); nothing to cancel.")
        self.driver.finish(run, RunStatus.CANCELLED, f"cancelled by {caller.name}")
        return self.get_run(caller, run_id)

    # -- driving --------------------------------------------------------------------------------

    def advance(self, run_id: int, *, wait_tasks: bool = False, on_step: StepListener | None = None) -> RunStatus:
        """Drive one run as far as it can go now, and return its status (see RunDriver.advance)."""
        return self.driver.advance(run_id, wait_tasks=wait_tasks, on_step=on_step)

    def due_schedules(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Scheduled workflows whose next run time has come (read only)."""
        now = now or utcnow()
        with read_only(self.engine) as conn:
            rows = conn.execute(sa.select(W.c.id, W.c.name, W.c.user_id, W.c.schedule, W.c.next_run_at)
                                .where(W.c.schedule.is_not(None), W.c.next_run_at <= now)
                                .order_by(W.c.next_run_at)).mappings().all()
        return [{**r, "next_run_at": iso(r["next_run_at"])} for r in rows]

    def fire_schedules(self, now: datetime | None = None) -> list[int]:
        """Start one run of each due scheduled workflow; returns the new run ids.

        The next run time is moved past `now` and the run created in one transaction, guarded by
        the old next run time, so each due time starts exactly one run across processes.
        """
        now = now or utcnow()
        started = []
        for due in self.due_schedules(now):
            started += self._fire(due["id"], now)
        return started

    def tick(self, now: datetime | None = None) -> TickReport:
        """One round of serve's loop: fire due schedules, then advance every unfinished run without
        waiting on tasks (the pool agents work them). Errors are logged per run, never raised."""
        report = TickReport()
        try:
            report.runs_started = self.fire_schedules(now)
        except Exception:
            logger.exception("firing workflow schedules failed")
            report.errors += 1
        for run_id in active_run_ids(self.engine, ACTIVE_RUN_BATCH):
            report.runs_advanced += 1
            try:
                if self.advance(run_id).finished:
                    report.runs_finished.append(run_id)
            except Exception:
                logger.exception("advancing workflow run %s failed; retrying next tick", run_id)
                report.errors += 1
        return report

    def resume(self, *, wait_tasks: bool = True, on_step: StepListener | None = None) -> TickReport:
        """Crash-resume entry for a process without pool agents (CLI, scripts): fire due schedules and
        drive every unfinished run, seeing its tasks through inline."""
        report = TickReport(runs_started=self.fire_schedules())
        for run_id in active_run_ids(self.engine, ACTIVE_RUN_BATCH):
            report.runs_advanced += 1
            if self.advance(run_id, wait_tasks=wait_tasks, on_step=on_step).finished:
                report.runs_finished.append(run_id)
        return report

    def run_forever(self, stop: threading.Event | None = None, interval: float = TICK_SECONDS) -> None:
        """Tick every `interval` seconds until `stop` is set (serve's background thread runs this).

        Unfinished runs of a process that died are picked up by the first tick: nothing else is
        needed to resume them.
        """
        stop = stop or self._stop
        logger.info("workflow loop started (every %.2f s)", interval)
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception:  # a database outage must not end the loop; try again next round
                logger.exception("workflow tick failed")
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
        logger.info("workflow loop stopped")

    def start(self, interval: float = TICK_SECONDS) -> threading.Thread:
        """Run run_forever in a daemon thread (for `serve` and `worker`); stop() ends it."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run_forever, args=(self._stop, interval),
                                            name="workflow-loop", daemon=True)
            self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop thread started by start(), letting its current tick finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- the conversational door ----------------------------------------------------------------

    def execute(self, caller: Caller, args: dict[str, Any], *, session_id: str | None = None,
                background: bool = False) -> dict[str, Any]:
        """Carry out a `workflows` command (args from command_processor) and return the reply's data
        (see workflows.intent.execute)."""
        from workflows import intent

        return intent.execute(self, caller, args, session_id=session_id, background=background)

    def find_same(self, caller: Caller, definition: dict[str, Any]) -> dict[str, Any] | None:
        """The caller's saved workflow with the same name, template, inputs and steps as `definition`."""
        wanted = _shape(definition)
        for brief in self.list_workflows(caller, limit=MAX_LIST):
            if brief["name"] == definition.get("name") and brief["steps"] == len(definition.get("steps") or []):
                workflow = self.get(caller, brief["id"])
                if _shape(workflow["definition"]) == wanted:
                    return workflow
        return None

    # -- internals ------------------------------------------------------------------------------

    def _workflow_row(self, caller: Caller, workflow_id: int) -> dict[str, Any]:
        if not 0 < workflow_id <= MAX_ID:  # the database cannot even compare a larger number
            raise NotFound(f"No such workflow: {workflow_id}")
        with read_only(self.engine) as conn:
            row = conn.execute(sa.select(W).where(W.c.id == workflow_id)).mappings().first()
        if row is None or not visible(caller, row["user_id"]):
            raise NotFound(f"No such workflow: {workflow_id}")
        return dict(row)

    def _visible_run(self, caller: Caller, run_id: int) -> RunState:
        run = load_run(self.engine, run_id)
        if run is None or not visible(caller, run.user_id):
            raise NotFound(f"No such workflow run: {run_id}")
        return run

    def _decide(self, caller: Caller, run_id: int, step_ref: int | str | None, *, approved: bool,
                note: str | None, wait: bool, on_step: StepListener | None) -> dict[str, Any]:
        run = run_to_decide(self.engine, caller, run_id)
        if run.status.finished:
            raise Conflict(f"Run {run_id} has already ended ({run.status.value}); there is nothing to decide.")
        step = workflow_actions.approval_step(run, step_ref)
        check_approver(caller, run_id, step)
        self.driver.decide(caller, run, step.n, approved=approved, note=note, wait=wait, on_step=on_step)
        decided = load_run(self.engine, run_id)
        assert decided is not None  # runs are deleted only with their workflow
        return run_dict(decided)

    def _fire(self, workflow_id: int, now: datetime) -> list[int]:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(W).where(W.c.id == workflow_id)).mappings().first()
            if row is None or row["schedule"] is None or row["next_run_at"] is None or row["next_run_at"] > now:
                return []
            try:
                following = next_fire_time(row["schedule"], now)
            except BadRequest:
                logger.warning("workflow %s has an invalid schedule %r; unscheduling it", workflow_id, row["schedule"])
                conn.execute(sa.update(W).where(W.c.id == workflow_id).values(next_run_at=None))
                return []
            moved = conn.execute(sa.update(W).where(W.c.id == workflow_id, W.c.next_run_at == row["next_run_at"])
                                 .values(next_run_at=following)).rowcount
            if not moved:
                return []
            if self.limits.active_runs_left(conn, row["user_id"]) <= 0:
                logger.warning("schedule of workflow %s skipped at %s: its owner has %s runs unfinished",
                               workflow_id, row["next_run_at"], self.limits.max_active_runs)
                return []
            run_id = insert_run(conn, dict(row), None, trigger="schedule", scheduled_for=row["next_run_at"])
        logger.info("schedule %r of workflow %s started run %s", row["schedule"], workflow_id, run_id)
        return [run_id]


def next_fire_time(schedule: str, after: datetime) -> datetime:
    """The first time after `after` that a five-field cron expression (UTC) names, using croniter.

    Raises:
        BadRequest: the expression is not a valid five-field cron expression.
    """
    from croniter import croniter  # type: ignore[import-untyped]

    expr = workflow_templates.validate_cron(schedule)
    try:
        following: datetime = croniter(expr, after).get_next(datetime)
    except (ValueError, KeyError) as exc:
        raise BadRequest(f"Schedule {schedule!r} is not a valid cron expression: {exc}") from None
    return following


# -- private helpers ----------------------------------------------------------------------------

def _workflow_dict(row: Any, last_run: dict[str, Any] | None, *, full: bool) -> dict[str, Any]:
    definition = row["definition"] or {}
    data = {"id": row["id"], "name": row["name"], "description": row["description"], "user_id": row["user_id"],
            "template": definition.get("template"), "schedule": row["schedule"],
            "next_run_at": iso(row["next_run_at"]), "steps": len(definition.get("steps", [])),
            "inputs": list(definition.get("inputs") or {}), "required_inputs": required_inputs(definition),
            "schedule_needs": missing_required(definition, None) if row["schedule"] else [],
            "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"])}
    if full:
        data["definition"] = definition
        data["step_list"] = [{"n": n, "key": s["key"], "title": s["title"], "kind": s["kind"], "owner": s["owner"],
                              "depends_on": s["depends_on"], **({"pool": s["pool"]} if "pool" in s else {})}
                             for n, s in enumerate(definition.get("steps", []), start=1)]
    else:
        data["last_run"] = last_run
    return data


def _shape(definition: dict[str, Any]) -> str:
    """What makes two definitions the same workflow: name, template, input names and steps."""
    return json.dumps([definition.get("name"), definition.get("template"), sorted(definition.get("inputs") or {}),
                       definition.get("steps")], sort_keys=True, default=str)


def _last_runs(conn: sa.Connection, workflow_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not workflow_ids:
        return {}
    latest = (sa.select(sa.func.max(R.c.id)).where(R.c.workflow_id.in_(workflow_ids))
              .group_by(R.c.workflow_id).scalar_subquery())
    rows = conn.execute(sa.select(R.c.id, R.c.workflow_id, R.c.status, R.c.created_at)
                        .where(R.c.id.in_(latest))).mappings()
    return {r["workflow_id"]: {"id": r["id"], "status": r["status"], "created_at": iso(r["created_at"])}
            for r in rows}


def _spec_of(definition: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
    for n, spec in enumerate((definition or {}).get("steps", []), start=1):
        if spec.get("key") == key:
            return n, spec
    return 0, {}


def _route(phrase: str) -> str:
    """Pool of a phrase of a generic description (the business agent's routing)."""
    try:
        from domains import routing
    except ImportError:  # the domain agents are optional for the engine
        return "business"
    routed = routing.route_pool(phrase)
    return "business" if routed == "general" else routed


def _task_brief(task: dict[str, Any]) -> dict[str, Any]:
    return {k: task.get(k) for k in ("id", "pool", "status", "provider", "error")}


def _limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIST))


def _clean_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise BadRequest("A workflow's name must be 1 to 200 characters.")
    return name.strip()
