"""Business workflows: saved DAGs of steps, run step by step and durably, with approvals and cron schedules.

A workflow is a saved definition (the format of workflow_templates: steps with keys, kinds
task | notify | approval | condition, pools, owners, inputs, depends_on, run_if, optional cron
schedule). A run is one execution: a workflow_runs row plus one workflow_steps row per step, and
one reserved row (key `_run`) that keeps the run's inputs and the definition it started with.

How a run is kept exactly-once across crashes (any process may drive any run at any time):

1. Every step change is a compare-and-set on its row (`UPDATE ... WHERE status = <expected>`), so
   two drivers (serve's loop, a CLI approving, a restarted process) never both make one change.
2. A task step submits its task with the idempotency key `workflow-run:<run>:<step>`: a driver
   that died between submitting and recording the task id finds the same task again, never a
   second one. The task's own retries (queue backoff, leases) are the step's retries.
3. A notify step's effect (its audit-log record) is written in the same transaction as the
   step's completion; a condition's outcome is written with its completion.
4. An approval step waits (`waiting`) until a user decides; a rejection ends the run `rejected`
   and cancels the steps that had not run.
5. Schedules: the workflow's next_run_at is advanced and the run created in one transaction, so a
   due time makes one run whichever process (or how many) fires it. Missed times while nothing
   was serving give one catch-up run, not a burst. Cron is read in UTC.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

import workflow_templates
from conversation_manager import Caller
from database import read_only
from errors import BadRequest, Conflict, NotFound, OperatorOSError
from models import AuditLog, Role, User, Workflow, WorkflowRun, WorkflowStep, utcnow

logger = logging.getLogger(__name__)

TICK_SECONDS = 1.0
"""How often serve's workflow loop fires due schedules and advances unfinished runs."""

TASK_WAIT_SECONDS = 300.0
"""Longest a driver that waits on tasks (the CLI with no server) waits for one task step."""

TASK_POLL_SECONDS = 0.05
"""How often a waiting driver re-reads a task step's task."""

TASK_MAX_ATTEMPTS = 3
"""Attempts of a task step's task (the queue retries it with backoff): the step's own retries."""

RESULT_CHARS = 8000
"""Most characters of a task's reply kept on its step."""

PLACEHOLDER_CHARS = 3000
"""Most characters one '{step.result}' placeholder puts into a later step's text."""

MAX_TASK_TEXT = 20_000
"""Longest rendered task input (the queue's limit)."""

MAX_INPUT_VALUE_CHARS = 2000
"""Longest value of one run input."""

MAX_LIST = 200
"""Most workflows or runs one listing returns."""

ACTIVE_RUN_BATCH = 100
"""Most unfinished runs one tick advances (oldest first)."""

RUN_WAIT_POLL_SECONDS = 0.1
"""How often wait_run re-reads a run."""

MAX_RUN_WAIT_SECONDS = 300.0
"""Longest one wait_run call waits."""

META_KEY = "_run"
"""Key of the reserved workflow_steps row holding a run's inputs and definition (step keys cannot start with '_')."""

IDEMPOTENCY_PREFIX = "workflow-run"
"""Prefix of the idempotency key of a task step's task: '<prefix>:<run id>:<step key>'."""

WORKFLOW_ACTIONS = ("list", "show", "run", "create", "approve", "reject", "cancel")
"""Actions of the `workflows` intent that execute() understands."""

BUILT_IN_SOURCE = "built-in workflow builder"
"""definition_source when the business agent's reply held no valid definition."""

AGENT_SOURCE = "business agent"
"""definition_source when the definition came from the business agent's task."""


class RunStatus(str, Enum):
    """A run: running -> waiting (for an approval) -> running ... -> succeeded | failed | rejected | cancelled."""

    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True for the end states."""
        return self not in (RunStatus.RUNNING, RunStatus.WAITING)


class StepStatus(str, Enum):
    """A step: pending -> running (task) | waiting (approval) -> done | skipped | failed | rejected | cancelled."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @property
    def settled(self) -> bool:
        """Done or skipped: the steps after it may start."""
        return self in (StepStatus.DONE, StepStatus.SKIPPED)


class TaskController(Protocol):
    """What the engine needs of the controller (agent_master_controller.AgentMasterController)."""

    queue: Any
    """The TaskQueue: a waiting driver returns a dead process's expired leases with requeue_expired()."""
    executor: Any
    """The executor: a waiting driver works a task inline when no agent of its pool is live."""

    def submit(self, caller: Caller, text: str, *, pool: str | None = None, priority: int = 0,
               idempotency_key: str | None = None, session_id: str | None = None, wait: bool = False,
               max_attempts: int | None = None) -> dict[str, Any]: ...

    def get_task(self, caller: Caller, task_id: int) -> dict[str, Any]: ...

    def cancel_task(self, caller: Caller, task_id: int) -> dict[str, Any]: ...

    def pool_is_served(self, pool: str) -> bool: ...


StepListener = Callable[[dict[str, Any]], None]
"""Called with a step's dict (as in get_run) each time a driver changes the step."""


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


class StepError(Exception):
    """A built-in step cannot succeed (a condition on a non-number...): the step fails at once."""


@dataclass
class _Step:
    id: int
    n: int
    spec: dict[str, Any]
    status: StepStatus
    task_id: int | None
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    decided_by: int | None
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def key(self) -> str:
        return str(self.spec["key"])

    @property
    def kind(self) -> str:
        return str(self.spec["kind"])


@dataclass
class _Run:
    id: int
    workflow_id: int
    workflow_name: str
    user_id: int | None
    status: RunStatus
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    meta: dict[str, Any]
    steps: dict[str, _Step]

    @property
    def inputs(self) -> dict[str, Any]:
        return dict(self.meta.get("inputs") or {})

    def ordered(self) -> list[_Step]:
        return sorted(self.steps.values(), key=lambda s: s.n)


_W = Workflow.__table__
_R = WorkflowRun.__table__
_S = WorkflowStep.__table__
_U = User.__table__
_AUDIT = AuditLog.__table__


class WorkflowEngine:
    """Saves workflows and drives their runs; safe to run in several processes at once.

    Args:
        engine: the database engine.
        controller: the facade tasks are submitted through (see TaskController).
        task_wait_seconds: longest a waiting driver waits for one task step.
    """

    def __init__(self, engine: Engine, controller: TaskController, *,
                 task_wait_seconds: float = TASK_WAIT_SECONDS) -> None:
        self.engine = engine
        self.controller = controller
        self.task_wait_seconds = task_wait_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        values = {"user_id": caller.user_id, "name": checked["name"], "description": checked.get("description"),
                  "definition": checked, "schedule": schedule, "created_at": now, "updated_at": now,
                  "next_run_at": next_fire_time(schedule, now) if schedule else None}
        with self.engine.begin() as conn:
            workflow_id = conn.execute(sa.insert(_W).values(**values).returning(_W.c.id)).scalar_one()
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
        task = self.controller.submit(caller, text, pool="business", session_id=session_id)
        task = self._see_through(caller, task)
        definition, note = None, None
        if task.get("status") == "succeeded":
            definition, note = _definition_from_reply(result_text(task.get("result")))
        else:
            note = f"the business agent's task {task['id']} ended {task.get('status')}: {task.get('error')}"
        source = AGENT_SOURCE
        if definition is None:
            source = BUILT_IN_SOURCE
            definition = workflow_templates.from_description(text, _route)
        return {"definition": definition, "task": _task_brief(task), "definition_source": source, "note": note}

    def list_workflows(self, caller: Caller, *, limit: int = 50) -> list[dict[str, Any]]:
        """The caller's workflows (an admin's: everyone's), newest first, each with its last run."""
        query = sa.select(_W).order_by(_W.c.id.desc()).limit(_limit(limit))
        if not caller.is_admin:
            query = query.where(_W.c.user_id == caller.user_id)
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

    def set_schedule(self, caller: Caller, workflow_id: int, schedule: str | None) -> dict[str, Any]:
        """Set (cron, UTC) or clear (None) a workflow's schedule."""
        row = self._workflow_row(caller, workflow_id)
        now = utcnow()
        expr = workflow_templates.validate_cron(schedule) if schedule is not None else None
        definition = {**row["definition"], "schedule": expr}
        with self.engine.begin() as conn:
            conn.execute(sa.update(_W).where(_W.c.id == workflow_id).values(
                schedule=expr, definition=definition, updated_at=now,
                next_run_at=next_fire_time(expr, now) if expr else None))
        return self.get(caller, workflow_id)

    def delete(self, caller: Caller, workflow_id: int) -> dict[str, Any]:
        """Delete a workflow and its runs."""
        self._workflow_row(caller, workflow_id)
        with self.engine.begin() as conn:
            runs = sa.select(_R.c.id).where(_R.c.workflow_id == workflow_id)
            conn.execute(sa.delete(_S).where(_S.c.run_id.in_(runs)))
            conn.execute(sa.delete(_R).where(_R.c.workflow_id == workflow_id))
            conn.execute(sa.delete(_W).where(_W.c.id == workflow_id))
        return {"id": workflow_id, "deleted": True}

    # -- runs -----------------------------------------------------------------------------------

    def start_run(self, caller: Caller, workflow_id: int, inputs: dict[str, Any] | None = None, *,
                  session_id: str | None = None) -> dict[str, Any]:
        """Create a run (all steps pending) without driving it; serve's loop or advance() drives it.

        Args:
            inputs: values of the workflow's inputs; missing ones take their default, else a
                visible '[name not given]' placeholder (listed in the run's missing_inputs).

        Raises:
            BadRequest: an input the workflow does not declare, or a value that is not text or a number.
        """
        row = self._workflow_row(caller, workflow_id)
        with self.engine.begin() as conn:
            run_id = _insert_run(conn, row, inputs, trigger="manual", started_by=caller, session_id=session_id)
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
        run = self._load(run_id)
        if run is None or not _visible(caller, run.user_id):
            raise NotFound(f"No such workflow run: {run_id}")
        return _run_dict(run)

    def list_runs(self, caller: Caller, *, workflow_id: int | None = None, status: str | None = None,
                  limit: int = 20) -> list[dict[str, Any]]:
        """Runs the caller may see, newest first, without step details."""
        query = (sa.select(_R, _W.c.name.label("workflow_name")).join(_W, _W.c.id == _R.c.workflow_id)
                 .order_by(_R.c.id.desc()).limit(_limit(limit)))
        if not caller.is_admin:
            query = query.where(_R.c.user_id == caller.user_id)
        if workflow_id is not None:
            query = query.where(_R.c.workflow_id == workflow_id)
        if status is not None:
            query = query.where(_R.c.status == _run_status(status).value)
        with read_only(self.engine) as conn:
            return [_run_brief(r) for r in conn.execute(query).mappings()]

    def pending_approvals(self, caller: Caller) -> list[dict[str, Any]]:
        """Approval steps waiting for a decision in runs the caller may see."""
        query = (sa.select(_S.c.run_id, _S.c.key, _R.c.workflow_id, _R.c.user_id, _W.c.name, _W.c.definition)
                 .join(_R, _R.c.id == _S.c.run_id).join(_W, _W.c.id == _R.c.workflow_id)
                 .where(_S.c.status == StepStatus.WAITING.value).order_by(_S.c.run_id).limit(MAX_LIST))
        if not caller.is_admin:
            query = query.where(_R.c.user_id == caller.user_id)
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
            BadRequest: the step is not an approval, or several wait and none was named.
            Conflict: the step is not waiting for a decision, or the run has ended.
        """
        return self._decide(caller, run_id, step, approved=True, note=note, wait=wait, on_step=on_step)

    def reject(self, caller: Caller, run_id: int, step: int | str | None = None, *, reason: str | None = None,
               ) -> dict[str, Any]:
        """Reject a waiting approval step: the run ends `rejected`, its steps not yet run `cancelled`."""
        return self._decide(caller, run_id, step, approved=False, note=reason, wait=False, on_step=None)

    def cancel_run(self, caller: Caller, run_id: int) -> dict[str, Any]:
        """End an unfinished run `cancelled`: steps not yet done are cancelled, and so are their tasks."""
        run = self._load(run_id)
        if run is None or not _visible(caller, run.user_id):
            raise NotFound(f"No such workflow run: {run_id}")
        if run.status.finished:
            raise Conflict(f"Run {run_id} has already ended ({run.status.value}); nothing to cancel.")
        self._finish(run, RunStatus.CANCELLED, f"cancelled by {caller.name}")
        return self.get_run(caller, run_id)

    # -- driving --------------------------------------------------------------------------------

    def advance(self, run_id: int, *, wait_tasks: bool = False, on_step: StepListener | None = None) -> RunStatus:
        """Drive one run as far as it can go now, and return its status.

        1. Start every pending step whose dependencies are done or skipped: skip it when its
           run_if does not hold; evaluate a condition; record a notification; open an approval;
           submit a task (idempotently) and record its id.
        2. Record the outcome of each task step whose task has ended; with `wait_tasks`, first see
           the task through (inline when no agent of its pool is live, at most task_wait_seconds).
        3. Settle the run: succeeded when every step is done or skipped, rejected or failed when a
           step is (the rest cancelled), waiting when only approvals are open, else running.
        Repeat until nothing changes.
        """
        run = self._load(run_id)
        if run is None:
            raise NotFound(f"No such workflow run: {run_id}")
        for _ in range(2 * len(run.steps) + 2):
            if run.status.finished:
                break
            changed = self._pass(run, wait_tasks, on_step)
            settled = self._settle(run)
            reloaded = self._load(run_id)
            assert reloaded is not None
            run = reloaded
            if not changed and not settled:
                break
        return run.status

    def due_schedules(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Scheduled workflows whose next run time has come (read only)."""
        now = now or utcnow()
        with read_only(self.engine) as conn:
            rows = conn.execute(sa.select(_W.c.id, _W.c.name, _W.c.user_id, _W.c.schedule, _W.c.next_run_at)
                                .where(_W.c.schedule.is_not(None), _W.c.next_run_at <= now)
                                .order_by(_W.c.next_run_at)).mappings().all()
        return [{**r, "next_run_at": _iso(r["next_run_at"])} for r in rows]

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
        for run_id in self._active_run_ids():
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
        for run_id in self._active_run_ids():
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
        """Run run_forever in a daemon thread (for `serve`); stop() ends it."""
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
        """Carry out a `workflows` command (args from command_processor) and return the reply's data.

        Actions: list; show (workflow_id, run_id or name); run (workflow_id, name, or the caller's only
        workflow; optional inputs); create (input: the process description); approve / reject
        (run_id, optional step, note); cancel (run_id). Without `background` a run is driven
        through its tasks before answering.
        """
        action = args.get("action") or "list"
        if action not in WORKFLOW_ACTIONS:
            raise BadRequest(f"Unknown workflows action {action!r}: use one of {', '.join(WORKFLOW_ACTIONS)}.")
        if action == "list":
            return {"action": action, "workflows": self.list_workflows(caller), "runs": self.list_runs(caller, limit=10),
                    "pending_approvals": self.pending_approvals(caller)}
        if action == "create":
            return {"action": action, **self.create_from_request(caller, args.get("input") or "",
                                                                 session_id=session_id)}
        if action in ("approve", "reject", "cancel"):
            run_id = _positive_int(args.get("run_id"), "Say which run, by its number (for example 'approve run 12').")
            if action == "approve":
                run = self.approve(caller, run_id, args.get("step"), note=args.get("note"), wait=not background)
            elif action == "reject":
                run = self.reject(caller, run_id, args.get("step"), reason=args.get("note") or args.get("reason"))
            else:
                run = self.cancel_run(caller, run_id)
            return {"action": action, "run": run}
        if action == "show" and args.get("run_id") is not None:
            return {"action": action, "run": self.get_run(caller, _positive_int(args["run_id"], "Bad run number."))}
        workflow = self._resolve(caller, args)
        if action == "show":
            return {"action": action, "workflow": workflow}
        run = self.run(caller, workflow["id"], args.get("inputs"), wait=not background, session_id=session_id)
        return {"action": action, "workflow": _workflow_brief(workflow), "run": run}

    # -- internals: reading ---------------------------------------------------------------------

    def _workflow_row(self, caller: Caller, workflow_id: int) -> dict[str, Any]:
        with read_only(self.engine) as conn:
            row = conn.execute(sa.select(_W).where(_W.c.id == workflow_id)).mappings().first()
        if row is None or not _visible(caller, row["user_id"]):
            raise NotFound(f"No such workflow: {workflow_id}")
        return dict(row)

    def _resolve(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("workflow_id") is not None:
            return self.get(caller, _positive_int(args["workflow_id"], "Bad workflow number."))
        if args.get("name"):
            return self.find(caller, str(args["name"]))
        mine = self.list_workflows(caller, limit=2)
        if len(mine) == 1:
            return self.get(caller, mine[0]["id"])
        if not mine:
            raise NotFound("You have no saved workflows yet; say 'help me automate my project management "
                           "workflow' to create one.")
        raise BadRequest("Say which workflow, by its number: 'list the workflows' shows them.")

    def _load(self, run_id: int) -> _Run | None:
        with read_only(self.engine) as conn:
            row = conn.execute(sa.select(_R, _W.c.name.label("workflow_name"))
                               .join(_W, _W.c.id == _R.c.workflow_id).where(_R.c.id == run_id)).mappings().first()
            if row is None:
                return None
            step_rows = conn.execute(sa.select(_S).where(_S.c.run_id == run_id)).mappings().all()
        meta = next((dict(r["result"] or {}) for r in step_rows if r["key"] == META_KEY), {})
        definition = meta.get("definition") or {"steps": []}
        specs = {s["key"]: (n, s) for n, s in enumerate(definition["steps"], start=1)}
        steps = {}
        for r in step_rows:
            if r["key"] == META_KEY or r["key"] not in specs:
                continue
            n, spec = specs[r["key"]]
            steps[r["key"]] = _Step(r["id"], n, spec, StepStatus(r["status"]), r["task_id"], r["attempts"],
                                    r["result"], r["error"], r["decided_by"], r["started_at"], r["finished_at"])
        return _Run(row["id"], row["workflow_id"], row["workflow_name"], row["user_id"], _run_status(row["status"]),
                    row["error"], row["created_at"], row["finished_at"], meta, steps)

    def _active_run_ids(self) -> list[int]:
        with read_only(self.engine) as conn:
            return list(conn.execute(sa.select(_R.c.id).where(
                _R.c.status.in_([RunStatus.RUNNING.value, RunStatus.WAITING.value]))
                .order_by(_R.c.id).limit(ACTIVE_RUN_BATCH)).scalars())

    def _owner(self, run: _Run) -> Caller:
        with read_only(self.engine) as conn:
            user = conn.execute(sa.select(_U.c.id, _U.c.name, _U.c.role).where(_U.c.id == run.user_id)).first()
        if user is None:
            raise StepError(f"the owner of run {run.id} no longer exists")
        return Caller(user.id, user.name, Role(user.role) == Role.ADMIN)

    def _pool_served(self, pool: str) -> bool:
        return self.controller.pool_is_served(pool)

    # -- internals: one pass over a run ---------------------------------------------------------

    def _pass(self, run: _Run, wait_tasks: bool, on_step: StepListener | None) -> bool:
        changed = False
        for step in run.ordered():
            try:
                if step.status is StepStatus.PENDING and _ready(run, step):
                    changed |= self._start(run, step, wait_tasks, on_step)
                elif step.status is StepStatus.RUNNING and step.kind == "task":
                    changed |= self._follow_task(run, step, wait_tasks, on_step)
            except StepError as exc:
                changed |= self._change(run, step, on_step, [step.status], StepStatus.FAILED, error=str(exc))
        return changed

    def _start(self, run: _Run, step: _Step, wait_tasks: bool, on_step: StepListener | None) -> bool:
        run_if = step.spec.get("run_if")
        if run_if:
            condition = run.steps[run_if["step"]]
            holds = condition.status is StepStatus.DONE and (condition.result or {}).get("value") is run_if["is"]
            if not holds:
                why = f"runs only if {run_if['step']} is {str(run_if['is']).lower()}"
                return self._change(run, step, on_step, [StepStatus.PENDING], StepStatus.SKIPPED,
                                    result={"skipped": why}, attempts=0)
        if step.kind == "condition":
            return self._change(run, step, on_step, [StepStatus.PENDING], StepStatus.DONE,
                                result=_evaluate(step.spec["condition"], run), attempts=1)
        if step.kind == "notify":
            return self._notify(run, step, on_step)
        if step.kind == "approval":
            return self._change(run, step, on_step, [StepStatus.PENDING], StepStatus.WAITING, finished=False)
        if not self._change(run, step, on_step, [StepStatus.PENDING], StepStatus.RUNNING, finished=False,
                            notify_listener=False):
            return False
        self._follow_task(run, step, wait_tasks, on_step)
        return True

    def _notify(self, run: _Run, step: _Step, on_step: StepListener | None) -> bool:
        names = step.spec["inputs"]
        to = [_render(t, names, run) for t in step.spec["to"]]
        message = _render(step.spec["message"], names, run, limit=workflow_templates.MAX_TEXT)
        now = utcnow()
        result = {"to": to, "message": message, "notified_at": now.isoformat()}
        with self.engine.begin() as conn:
            done = conn.execute(sa.update(_S).where(_S.c.id == step.id, _S.c.status == StepStatus.PENDING.value)
                                .values(status=StepStatus.DONE.value, result=result, attempts=1, error=None,
                                        started_at=now, finished_at=now)).rowcount
            if done:  # the effect, recorded in the transaction that completes the step
                conn.execute(sa.insert(_AUDIT).values(
                    actor_user_id=run.user_id, actor="workflow", action="workflow.notify",
                    target=f"run {run.id} step {step.key}", created_at=now,
                    details={"workflow_id": run.workflow_id, "run_id": run.id, "step": step.key, **result}))
        if not done:
            return False
        logger.info("run %s step %s notified %s", run.id, step.key, ", ".join(to))
        step.status, step.result, step.attempts, step.started_at, step.finished_at = (
            StepStatus.DONE, result, 1, now, now)
        _emit(on_step, run, step)
        return True

    def _follow_task(self, run: _Run, step: _Step, wait_tasks: bool, on_step: StepListener | None) -> bool:
        owner = self._owner(run)
        text = _render(step.spec["input"], step.spec["inputs"], run, limit=MAX_TASK_TEXT)
        key = f"{IDEMPOTENCY_PREFIX}:{run.id}:{step.key}"
        if step.task_id is None:
            # Idempotent: a driver that died after submitting finds the same task here.
            try:
                task = self.controller.submit(owner, text, pool=step.spec["pool"], idempotency_key=key,
                                              session_id=run.meta.get("session_id"),
                                              max_attempts=TASK_MAX_ATTEMPTS)
            except (BadRequest, NotFound) as exc:  # the queue refused the task: retrying cannot help
                raise StepError(f"the task could not be submitted: {exc.message}") from None
            with self.engine.begin() as conn:
                conn.execute(sa.update(_S).where(_S.c.id == step.id, _S.c.task_id.is_(None))
                             .values(task_id=task["id"]))
            step.task_id = task["id"]
            _emit(on_step, run, step)
        else:
            task = self.controller.get_task(owner, step.task_id)
        if wait_tasks and task["status"] in ("queued", "running"):
            task = self._see_through(owner, task)
        return self._record_task(run, step, task, on_step)

    def _see_through(self, owner: Caller, task: dict[str, Any]) -> dict[str, Any]:
        """Wait for a task to end; work it here when no agent of its pool is live, and return a dead
        process's expired lease to the queue (no supervisor sweeps when nothing is serving)."""
        from agent_pools import run_inline

        deadline = time.monotonic() + self.task_wait_seconds
        while task["status"] in ("queued", "running") and time.monotonic() < deadline:
            now = utcnow()
            if task["status"] == "queued" and _when(task["run_after"]) <= now and not self._pool_served(task["pool"]):
                # Not controller.submit(wait=True): after a failed inline attempt it waits out the whole
                # timeout; here each retry is worked inline as soon as its backoff has passed.
                run_inline(self.controller.queue, self.controller.executor, task["id"], task["pool"])
            elif task["status"] == "running" and task["lease_expires_at"] and _when(task["lease_expires_at"]) < now:
                self.controller.queue.requeue_expired()
            else:
                time.sleep(TASK_POLL_SECONDS)
            task = self.controller.get_task(owner, task["id"])
        return task

    def _record_task(self, run: _Run, step: _Step, task: dict[str, Any], on_step: StepListener | None) -> bool:
        status = task["status"]
        if status == "succeeded":
            text = result_text(task.get("result"))
            result = {"task_id": task["id"], "text": text[:RESULT_CHARS], "provider": task.get("provider"),
                      "truncated": len(text) > RESULT_CHARS}
            return self._change(run, step, on_step, [StepStatus.RUNNING], StepStatus.DONE, result=result,
                                attempts=task["attempts"])
        if status in ("failed", "cancelled"):
            error = f"task {task['id']} {status} after {task['attempts']} attempt(s): {task.get('error')}"
            return self._change(run, step, on_step, [StepStatus.RUNNING], StepStatus.FAILED, error=error,
                                attempts=task["attempts"])
        return False

    def _change(self, run: _Run, step: _Step, on_step: StepListener | None, expected: list[StepStatus],
                status: StepStatus, *, result: dict[str, Any] | None = None, error: str | None = None,
                attempts: int | None = None, finished: bool = True, notify_listener: bool = True) -> bool:
        """Compare-and-set one step's status; False when another driver changed it first."""
        now = utcnow()
        values: dict[str, Any] = {"status": status.value}
        if result is not None:
            values["result"] = result
        if error is not None:
            values["error"] = error[:4000]
        if attempts is not None:
            values["attempts"] = attempts
        if step.started_at is None:
            values["started_at"] = now
        if finished:
            values["finished_at"] = now
        with self.engine.begin() as conn:
            changed = conn.execute(sa.update(_S).where(
                _S.c.id == step.id, _S.c.status.in_([s.value for s in expected])).values(**values)).rowcount
        if not changed:
            return False
        step.status = status
        step.result = result if result is not None else step.result
        step.error = values.get("error", step.error)
        step.attempts = attempts if attempts is not None else step.attempts
        step.started_at = values.get("started_at", step.started_at)
        step.finished_at = values.get("finished_at", step.finished_at)
        if notify_listener:
            _emit(on_step, run, step)
        return True

    def _settle(self, run: _Run) -> bool:
        """Move the run to the status its steps call for; True if it changed."""
        steps = run.ordered()
        rejected = next((s for s in steps if s.status is StepStatus.REJECTED), None)
        failed = next((s for s in steps if s.status is StepStatus.FAILED), None)
        if rejected is not None:
            by = (rejected.result or {}).get("by", "someone")
            note = (rejected.result or {}).get("note")
            error = f"step {rejected.n} ({rejected.key}) was rejected by {by}" + (f": {note}" if note else "")
            return self._finish(run, RunStatus.REJECTED, error)
        if failed is not None:
            return self._finish(run, RunStatus.FAILED, f"step {failed.n} ({failed.key}) failed: {failed.error}")
        if all(s.status.settled for s in steps):
            return self._finish(run, RunStatus.SUCCEEDED, None)
        busy = any(s.status is StepStatus.RUNNING or (s.status is StepStatus.PENDING and _ready(run, s))
                   for s in steps)
        waiting = any(s.status is StepStatus.WAITING for s in steps)
        target = RunStatus.WAITING if waiting and not busy else RunStatus.RUNNING
        if target is run.status:
            return False
        with self.engine.begin() as conn:
            changed = conn.execute(sa.update(_R).where(_R.c.id == run.id, _R.c.status == run.status.value)
                                   .values(status=target.value)).rowcount
        return bool(changed)

    def _finish(self, run: _Run, status: RunStatus, error: str | None) -> bool:
        now = utcnow()
        open_steps = [StepStatus.PENDING.value, StepStatus.WAITING.value, StepStatus.RUNNING.value]
        with self.engine.begin() as conn:
            changed = conn.execute(sa.update(_R).where(
                _R.c.id == run.id, _R.c.status.in_([RunStatus.RUNNING.value, RunStatus.WAITING.value]))
                .values(status=status.value, error=error, finished_at=now)).rowcount
            if changed and status is not RunStatus.SUCCEEDED:
                conn.execute(sa.update(_S).where(_S.c.run_id == run.id, _S.c.key != META_KEY,
                                                 _S.c.status.in_(open_steps))
                             .values(status=StepStatus.CANCELLED.value, finished_at=now,
                                     error=f"the run ended {status.value}"))
        if not changed:
            return False
        logger.info("workflow run %s %s%s", run.id, status.value, f": {error}" if error else "")
        if status is not RunStatus.SUCCEEDED:
            self._cancel_tasks(run)
        return True

    def _cancel_tasks(self, run: _Run) -> None:
        for step in run.steps.values():
            if step.status is StepStatus.RUNNING and step.task_id is not None:
                try:
                    self.controller.cancel_task(self._owner(run), step.task_id)
                except (OperatorOSError, StepError) as exc:  # already ended, or gone: nothing left to stop
                    logger.debug("run %s: task %s not cancelled: %s", run.id, step.task_id, exc)

    def _decide(self, caller: Caller, run_id: int, step_ref: int | str | None, *, approved: bool,
                note: str | None, wait: bool, on_step: StepListener | None) -> dict[str, Any]:
        run = self._load(run_id)
        if run is None or not _visible(caller, run.user_id):
            raise NotFound(f"No such workflow run: {run_id}")
        if run.status.finished:
            raise Conflict(f"Run {run_id} has already ended ({run.status.value}); there is nothing to decide.")
        step = _approval_step(run, step_ref)
        verdict = "approved" if approved else "rejected"
        result = {"decision": verdict, "by": caller.name, "note": (note or "")[:1000] or None,
                  "decided_at": utcnow().isoformat()}
        now = utcnow()
        with self.engine.begin() as conn:
            changed = conn.execute(sa.update(_S).where(_S.c.id == step.id, _S.c.status == StepStatus.WAITING.value)
                                   .values(status=(StepStatus.DONE if approved else StepStatus.REJECTED).value,
                                           result=result, decided_by=caller.user_id, finished_at=now,
                                           attempts=1)).rowcount
        if not changed:
            raise Conflict(f"Step {step.n} ({step.key}) of run {run_id} was decided a moment ago by someone else.")
        logger.info("%s %s run %s step %s", caller.name, verdict, run_id, step.key)
        self.advance(run_id, wait_tasks=wait and approved, on_step=on_step)
        return self.get_run(caller, run_id)

    def _fire(self, workflow_id: int, now: datetime) -> list[int]:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(_W).where(_W.c.id == workflow_id)).mappings().first()
            if row is None or row["schedule"] is None or row["next_run_at"] is None or row["next_run_at"] > now:
                return []
            try:
                following = next_fire_time(row["schedule"], now)
            except BadRequest:
                logger.warning("workflow %s has an invalid schedule %r; unscheduling it", workflow_id, row["schedule"])
                conn.execute(sa.update(_W).where(_W.c.id == workflow_id).values(next_run_at=None))
                return []
            moved = conn.execute(sa.update(_W).where(_W.c.id == workflow_id, _W.c.next_run_at == row["next_run_at"])
                                 .values(next_run_at=following)).rowcount
            if not moved:
                return []
            run_id = _insert_run(conn, dict(row), None, trigger="schedule", scheduled_for=row["next_run_at"])
        logger.info("schedule %r of workflow %s started run %s", row["schedule"], workflow_id, run_id)
        return [run_id]


# -- module functions ---------------------------------------------------------------------------

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


def result_text(result: Any) -> str:
    """A task's result as text: its reply ('text', 'response', 'reply', 'answer' or 'output'), else JSON."""
    if result is None:
        return ""
    if isinstance(result, str):
        return result
    if isinstance(result, dict):
        for key in ("text", "response", "reply", "answer", "output"):
            if isinstance(result.get(key), str):
                return str(result[key])
    return json.dumps(result, sort_keys=True, default=str)


def format_reply(data: dict[str, Any]) -> str:
    """Plain-text reply for the data execute() returned."""
    action = data.get("action")
    if action == "list":
        return _format_list(data)
    if action == "create":
        return _format_created(data)
    if "run" in data:
        return format_run(data["run"])
    if "workflow" in data:
        return format_workflow(data["workflow"])
    return "Done."


def format_workflow(workflow: dict[str, Any]) -> str:
    """A workflow as text: its steps, approvals, inputs, schedule and recent runs."""
    lines = [f"Workflow {workflow['id']}: {workflow['name']}"]
    if workflow.get("description"):
        lines.append(workflow["description"])
    if workflow.get("next_run_at"):
        lines.append(f"Next scheduled run: {workflow['next_run_at']} (UTC)")
    lines += workflow_templates.summary_lines(workflow["definition"])
    runs = workflow.get("runs") or []
    if runs:
        lines.append("Recent runs: " + "; ".join(f"run {r['id']} {r['status']}" for r in runs[:5]))
    lines.append(f"Run it: 'run workflow {workflow['id']}'.")
    return "\n".join(lines)


def format_run(run: dict[str, Any]) -> str:
    """A run as text: status, a table of its steps, and what to say next."""
    progress = run["progress"]
    head = (f"Run {run['id']} of workflow {run['workflow_id']} ({run['workflow_name']}): {run['status']}, "
            f"{progress['finished']} of {progress['total']} steps finished")
    lines = [head + (f" in {run['duration_seconds']:.2f} s" if run.get("duration_seconds") is not None else "")]
    if run.get("error"):
        lines.append(f"Reason: {run['error']}")
    if run.get("missing_inputs"):
        lines.append("Inputs not given (placeholders used): " + ", ".join(run["missing_inputs"]))
    rows = [["#", "step", "kind", "status", "task", "secs", "note"]]
    for s in run["steps"]:
        rows.append([str(s["n"]), s["key"], s["kind"], s["status"], str(s["task_id"] or "-"),
                     f"{s['seconds']:.2f}" if s["seconds"] is not None else "-", step_note(s)])
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r[:6], widths)) + "  " + r[6] for r in rows]
    for w in run.get("waiting_for", []):
        lines.append(f"Waiting for {' or '.join(w['approvers'])} to approve step {w['step']} ({w['title']}): "
                     f"say 'approve run {run['id']} step {w['step']}' or 'reject run {run['id']} step {w['step']}'.")
    if run["status"] == RunStatus.RUNNING.value:
        lines.append(f"Still running; 'show run {run['id']}' shows its progress.")
    return "\n".join(lines)


# -- private helpers ----------------------------------------------------------------------------

def _insert_run(conn: sa.Connection, workflow: dict[str, Any], inputs: dict[str, Any] | None, *, trigger: str,
                started_by: Caller | None = None, scheduled_for: datetime | None = None,
                session_id: str | None = None) -> int:
    definition = workflow["definition"]
    values, missing = _resolve_inputs(definition, inputs)
    now = utcnow()
    run_id = conn.execute(sa.insert(_R).values(
        workflow_id=workflow["id"], user_id=workflow["user_id"], status=RunStatus.RUNNING.value, created_at=now,
    ).returning(_R.c.id)).scalar_one()
    meta = {"inputs": values, "missing_inputs": missing, "definition": definition, "trigger": trigger,
            "scheduled_for": _iso(scheduled_for), "session_id": session_id,
            "started_by": started_by.name if started_by else None}
    rows = [{"run_id": run_id, "key": META_KEY, "kind": "run", "status": StepStatus.DONE.value, "attempts": 0,
             "result": meta, "started_at": now, "finished_at": now}]
    rows += [{"run_id": run_id, "key": s["key"], "kind": s["kind"], "status": StepStatus.PENDING.value,
              "attempts": 0, "result": None, "started_at": None, "finished_at": None}
             for s in definition["steps"]]
    conn.execute(sa.insert(_S), rows)
    return int(run_id)


def _resolve_inputs(definition: dict[str, Any], given: Any) -> tuple[dict[str, Any], list[str]]:
    declared = definition.get("inputs") or {}
    given = given or {}
    if not isinstance(given, dict):
        raise BadRequest("'inputs' must be an object of input names to values.")
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise BadRequest(f"Unknown input(s) {', '.join(unknown)}: this workflow takes "
                         f"{', '.join(declared) or 'no inputs'}.")
    values: dict[str, Any] = {}
    missing = []
    for name, spec in declared.items():
        value = given.get(name, (spec or {}).get("default") if isinstance(spec, dict) else None)
        if value is None or value == "":
            missing.append(name)
            value = f"[{name} not given]"
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise BadRequest(f"Input {name!r} must be text or a number.")
        if isinstance(value, str) and len(value) > MAX_INPUT_VALUE_CHARS:
            raise BadRequest(f"Input {name!r} is limited to {MAX_INPUT_VALUE_CHARS} characters.")
        values[name] = value
    return values, missing


def _ready(run: _Run, step: _Step) -> bool:
    return all(run.steps[d].status.settled for d in step.spec.get("depends_on", []) if d in run.steps)


def _value(name: str, run: _Run) -> Any:
    if name.endswith(".result"):
        return _step_text(run.steps[name[:-len(".result")]])
    return run.inputs.get(name, f"[{name} not given]")


def _step_text(step: _Step) -> str:
    result = step.result or {}
    if step.status is StepStatus.SKIPPED:
        return f"(step {step.key} was skipped)"
    if step.kind == "task":
        return str(result.get("text", ""))
    if step.kind == "condition":
        return "true" if result.get("value") else "false"
    if step.kind == "approval":
        return f"{result.get('decision', 'pending')} by {result.get('by', '-')}"
    return str(result.get("message", ""))


def _render(template: str, names: list[str], run: _Run, limit: int = 1000) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(_value(name, run))[:PLACEHOLDER_CHARS] if name in names else match.group(0)

    return re.sub(r"\{([^{}]+)\}", replace, template)[:limit]


def _evaluate(condition: dict[str, Any], run: _Run) -> dict[str, Any]:
    name, op, expected = condition["input"], condition["op"], condition["value"]
    actual = _value(name, run)
    if op in ("gt", "ge", "lt", "le"):
        left, right = _number(actual, name), _number(expected, "the condition's value")
        outcome = {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
    elif op == "contains":
        outcome = str(expected) in str(actual)
    else:
        try:
            same = _number(actual, name) == _number(expected, "value")
        except StepError:
            same = str(actual).strip() == str(expected).strip()
        outcome = same if op == "eq" else not same
    return {"value": outcome, "input": name, "op": op, "compared_with": expected, "actual": str(actual)[:200]}


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise StepError(f"{what} is true/false, not a number")
    if isinstance(value, (int, float)):
        return float(value)
    cleaned = re.sub(r"[\s,$\u20ac\u00a3]", "", str(value))
    if not re.fullmatch(r"[-+]?\d+(\.\d+)?", cleaned):
        raise StepError(f"{what} is {str(value)[:80]!r}, which is not a number")
    return float(cleaned)


def _approval_step(run: _Run, ref: int | str | None) -> _Step:
    steps = run.ordered()
    if ref is None:
        waiting = [s for s in steps if s.status is StepStatus.WAITING]
        if not waiting:
            raise Conflict(f"Run {run.id} has no step waiting for approval (it is {run.status.value}).")
        if len(waiting) > 1:
            raise BadRequest(f"Run {run.id} has several steps waiting for approval "
                             f"({', '.join(str(s.n) for s in waiting)}): say which step.")
        return waiting[0]
    if isinstance(ref, str) and ref.isdigit():
        ref = int(ref)
    match = [s for s in steps if (s.n == ref if isinstance(ref, int) else s.key == ref)]
    if not match:
        raise NotFound(f"Run {run.id} has no step {ref} (its steps are 1 to {len(steps)}).")
    step = match[0]
    if step.kind != "approval":
        raise BadRequest(f"Step {step.n} ({step.key}) of run {run.id} is a {step.kind} step, not an approval.")
    if step.status is not StepStatus.WAITING:
        state = "has not been reached yet" if step.status is StepStatus.PENDING else f"is {step.status.value}"
        raise Conflict(f"Step {step.n} ({step.key}) of run {run.id} is not waiting for a decision: it {state}.")
    return step


def _emit(on_step: StepListener | None, run: _Run, step: _Step) -> None:
    if on_step is None:
        return
    try:
        on_step({"run_id": run.id, **_step_dict(step)})
    except Exception:  # a listener (narration, progress) must never break a run
        logger.exception("workflow step listener failed")


def _step_dict(step: _Step) -> dict[str, Any]:
    spec = step.spec
    seconds = None
    if step.started_at is not None and step.finished_at is not None:
        seconds = round((step.finished_at - step.started_at).total_seconds(), 3)
    data = {"n": step.n, "key": step.key, "title": spec.get("title"), "kind": step.kind, "owner": spec.get("owner"),
            "depends_on": spec.get("depends_on", []), "status": step.status.value, "task_id": step.task_id,
            "attempts": step.attempts, "result": step.result, "error": step.error, "decided_by": step.decided_by,
            "started_at": _iso(step.started_at), "finished_at": _iso(step.finished_at), "seconds": seconds}
    for extra in ("pool", "approvers", "run_if"):
        if extra in spec:
            data[extra] = spec[extra]
    return data


def _run_dict(run: _Run) -> dict[str, Any]:
    steps = [_step_dict(s) for s in run.ordered()]
    finished = sum(1 for s in run.steps.values() if s.status not in
                   (StepStatus.PENDING, StepStatus.RUNNING, StepStatus.WAITING))
    duration = None
    if run.finished_at is not None:
        duration = round((run.finished_at - run.created_at).total_seconds(), 3)
    return {"id": run.id, "workflow_id": run.workflow_id, "workflow_name": run.workflow_name, "user_id": run.user_id,
            "status": run.status.value, "error": run.error, "created_at": _iso(run.created_at),
            "finished_at": _iso(run.finished_at), "duration_seconds": duration,
            "trigger": run.meta.get("trigger"), "scheduled_for": run.meta.get("scheduled_for"),
            "started_by": run.meta.get("started_by"), "inputs": run.inputs,
            "missing_inputs": run.meta.get("missing_inputs", []),
            "progress": {"finished": finished, "total": len(steps),
                         "done": sum(1 for s in run.steps.values() if s.status.settled)},
            "task_ids": [s["task_id"] for s in steps if s["task_id"] is not None],
            "waiting_for": [{"step": s["n"], "key": s["key"], "title": s["title"], "approvers": s.get("approvers", [])}
                            for s in steps if s["status"] == StepStatus.WAITING.value],
            "steps": steps}


def _run_brief(row: Any) -> dict[str, Any]:
    duration = None
    if row["finished_at"] is not None:
        duration = round((row["finished_at"] - row["created_at"]).total_seconds(), 3)
    return {"id": row["id"], "workflow_id": row["workflow_id"], "workflow_name": row["workflow_name"],
            "user_id": row["user_id"], "status": row["status"], "error": row["error"],
            "created_at": _iso(row["created_at"]), "finished_at": _iso(row["finished_at"]),
            "duration_seconds": duration}


def _workflow_dict(row: Any, last_run: dict[str, Any] | None, *, full: bool) -> dict[str, Any]:
    definition = row["definition"] or {}
    data = {"id": row["id"], "name": row["name"], "description": row["description"], "user_id": row["user_id"],
            "template": definition.get("template"), "schedule": row["schedule"],
            "next_run_at": _iso(row["next_run_at"]), "steps": len(definition.get("steps", [])),
            "inputs": list(definition.get("inputs") or {}),
            "created_at": _iso(row["created_at"]), "updated_at": _iso(row["updated_at"])}
    if full:
        data["definition"] = definition
        data["step_list"] = [{"n": n, "key": s["key"], "title": s["title"], "kind": s["kind"], "owner": s["owner"],
                              "depends_on": s["depends_on"], **({"pool": s["pool"]} if "pool" in s else {})}
                             for n, s in enumerate(definition.get("steps", []), start=1)]
    else:
        data["last_run"] = last_run
    return data


def _workflow_brief(workflow: dict[str, Any]) -> dict[str, Any]:
    return {k: workflow[k] for k in ("id", "name", "schedule", "next_run_at", "steps")}


def _last_runs(conn: sa.Connection, workflow_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not workflow_ids:
        return {}
    latest = (sa.select(sa.func.max(_R.c.id)).where(_R.c.workflow_id.in_(workflow_ids))
              .group_by(_R.c.workflow_id).scalar_subquery())
    rows = conn.execute(sa.select(_R.c.id, _R.c.workflow_id, _R.c.status, _R.c.created_at)
                        .where(_R.c.id.in_(latest))).mappings()
    return {r["workflow_id"]: {"id": r["id"], "status": r["status"], "created_at": _iso(r["created_at"])}
            for r in rows}


def _spec_of(definition: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
    for n, spec in enumerate((definition or {}).get("steps", []), start=1):
        if spec.get("key") == key:
            return n, spec
    return 0, {}


def _definition_from_reply(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The first JSON object in a reply that validates as a workflow definition, and why none did."""
    decoder = json.JSONDecoder()
    reason = "the business agent's reply held no workflow definition"
    for match in re.finditer(r"\{", text):
        try:
            candidate, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(candidate, dict) and isinstance(candidate.get("steps"), list):
            try:
                return workflow_templates.validate_workflow(candidate), None
            except BadRequest as exc:
                reason = f"the business agent's definition did not validate: {exc.message}"
    return None, reason


def _route(phrase: str) -> str:
    """Pool of a phrase of a generic description (the business agent's routing)."""
    try:
        import domain_agents
    except ImportError:  # the domain agents are optional for the engine
        return "business"
    routed = domain_agents.route_pool(phrase)
    return "business" if routed == "general" else routed


def _task_brief(task: dict[str, Any]) -> dict[str, Any]:
    return {k: task.get(k) for k in ("id", "pool", "status", "provider", "error")}


def _format_list(data: dict[str, Any]) -> str:
    workflows = data.get("workflows") or []
    if not workflows:
        lines = ["No saved workflows yet. Say 'help me automate my project management workflow' to create one."]
    else:
        rows = [["id", "name", "steps", "schedule", "last run"]]
        for w in workflows:
            last = w.get("last_run")
            rows.append([str(w["id"]), w["name"], str(w["steps"]), w["schedule"] or "-",
                         f"run {last['id']} {last['status']}" if last else "never run"])
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = [f"{len(workflows)} saved workflow(s):"]
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.append("Say 'show workflow N' for its steps, 'run workflow N' to run it.")
    for p in data.get("pending_approvals") or []:
        lines.append(f"Waiting for {' or '.join(p['approvers']) or 'approval'}: run {p['run_id']} step {p['step']} "
                     f"({p['title']}, workflow {p['workflow_id']}); say 'approve run {p['run_id']} step {p['step']}'.")
    return "\n".join(lines)


def _format_created(data: dict[str, Any]) -> str:
    workflow = data["workflow"]
    task = data.get("task") or {}
    source = data.get("definition_source")
    origin = (f"from the business agent's definition (task {task.get('id')})" if source == AGENT_SOURCE
              else f"drafted by the {BUILT_IN_SOURCE} ({data.get('note')})")
    return f"Saved workflow {workflow['id']}, {origin}.\n" + format_workflow(workflow)


def step_note(step: dict[str, Any]) -> str:
    """A short note on a step of a run dict: its outcome, decision, recipients or reply."""
    result = step.get("result") or {}
    if step["status"] == StepStatus.SKIPPED.value:
        return str(result.get("skipped", "skipped"))
    if step.get("error") and step["status"] in (StepStatus.FAILED.value, StepStatus.CANCELLED.value):
        return str(step["error"])[:80]
    if step["kind"] == "condition" and "value" in result:
        return f"{result['input']} {result['op']} {result['compared_with']!r}: {str(result['value']).lower()}"
    if step["kind"] == "notify" and result:
        return "notified " + ", ".join(result.get("to", []))
    if step["kind"] == "approval":
        if result:
            return f"{result.get('decision')} by {result.get('by')}"
        return "approvers: " + ", ".join(step.get("approvers", []))
    if step["kind"] == "task":
        text = " ".join(str(result.get("text", "")).split())
        return f"{step.get('pool')} pool" + (f": {text[:60]}" if text else "")
    return ""


def _visible(caller: Caller, owner_id: int | None) -> bool:
    return caller.is_admin or (owner_id is not None and owner_id == caller.user_id)


def _run_status(value: str) -> RunStatus:
    try:
        return RunStatus(value)
    except ValueError:
        raise BadRequest(f"Unknown run status {value!r}: use one of {', '.join(s.value for s in RunStatus)}.") from None


def _positive_int(value: Any, message: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadRequest(message)
    return value


def _limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIST))


def _clean_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise BadRequest("A workflow's name must be 1 to 200 characters.")
    return name.strip()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _when(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
