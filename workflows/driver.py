"""Drives workflow runs step by step, exactly once per effect, from any process at any time.

1. Every step change is a compare-and-set on its row (`UPDATE ... WHERE status = <expected>`), so
   two drivers (serve's loop, a CLI approving, a restarted process) never both make one change.
2. A task step submits its task with the idempotency key `workflow-run:<run>:<step>`: a driver
   that died between submitting and recording the task id finds the same task again, never a
   second one. The task's own retries (queue backoff, leases) are the step's retries.
3. Built-in steps (workflow_actions) write their effect with their completion.
4. A run settles from its steps: a rejected or failed step ends it (the open steps cancelled, and
   their tasks), only approvals open makes it wait, every step done or skipped makes it succeed.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from database import read_only
from errors import BadRequest, NotFound, OperatorOSError
from models import Role, User, utcnow
from values import Caller
from workflows import actions as workflow_actions
from workflows.runs import (
    META_KEY,
    OPEN_STEPS,
    R,
    RunState,
    RunStatus,
    S,
    StepError,
    StepListener,
    StepState,
    StepStatus,
    emit,
    load_run,
    ready,
)

logger = logging.getLogger(__name__)

TASK_MAX_ATTEMPTS = 3
"""Attempts of a task step's task (the queue retries it with backoff): the step's own retries."""

RESULT_CHARS = 8000
"""Most characters of a task's reply kept on its step."""

MAX_TASK_TEXT = 20_000
"""Longest rendered task input (the queue's limit)."""

ERROR_CHARS = 4000
"""Longest error kept on a step."""

IDEMPOTENCY_PREFIX = "workflow-run"
"""Prefix of the idempotency key of a task step's task: '<prefix>:<run id>:<step key>'."""

_U = User.__table__


class TaskController(Protocol):
    """What the driver needs of the controller (agent_master_controller.AgentMasterController)."""

    def submit(self, caller: Caller, text: str, *, pool: str | None = None, priority: int = 0,
               idempotency_key: str | None = None, session_id: str | None = None, wait: bool = False,
               max_attempts: int | None = None, keep_pool: bool = False) -> dict[str, Any]: ...

    def get_task(self, caller: Caller, task_id: int) -> dict[str, Any]: ...

    def cancel_task(self, caller: Caller, task_id: int) -> dict[str, Any]: ...

    def see_through(self, caller: Caller, task: dict[str, Any], timeout: float) -> dict[str, Any]: ...


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


class RunDriver:
    """Moves runs forward; holds no state of its own beyond its collaborators, so any number may run.

    Args:
        engine: the database engine.
        controller: the facade tasks are submitted through (see TaskController).
        task_wait_seconds: longest a waiting driver waits for one task step.
    """

    def __init__(self, engine: Engine, controller: TaskController, task_wait_seconds: float) -> None:
        self.engine = engine
        self.controller = controller
        self.task_wait_seconds = task_wait_seconds

    def advance(self, run_id: int, *, wait_tasks: bool = False, on_step: StepListener | None = None) -> RunStatus:
        """Drive one run as far as it can go now, and return its status.

        1. Start every pending step whose dependencies are done or skipped: skip it when its
           run_if does not hold; evaluate a condition; record a notification; open an approval;
           submit a task (idempotently) and record its id.
        2. Record the outcome of each task step whose task has ended; with `wait_tasks`, first see
           the task through (inline when no agent of its pool is live, at most task_wait_seconds).
        3. Settle the run (see the module docstring).
        Repeat until nothing changes (bounded by the number of steps).
        """
        run = load_run(self.engine, run_id)
        if run is None:
            raise NotFound(f"No such workflow run: {run_id}")
        for _ in range(2 * len(run.steps) + 2):
            if run.status.finished:
                break
            changed = self._pass(run, wait_tasks, on_step)
            settled = self._settle(run)
            reloaded = load_run(self.engine, run_id)
            assert reloaded is not None  # runs are deleted only with their workflow, never mid-drive
            run = reloaded
            if not changed and not settled:
                break
        return run.status

    def decide(self, caller: Caller, run: RunState, step_ref: int | str | None, *, approved: bool,
               note: str | None, wait: bool, on_step: StepListener | None) -> None:
        """Decide an approval step of `run` (see workflow_actions.approval_step), then drive the run on."""
        step = workflow_actions.approval_step(run, step_ref)
        workflow_actions.decide(self.engine, run, step, caller, approved=approved, note=note)
        self.advance(run.id, wait_tasks=wait and approved, on_step=on_step)

    def finish(self, run: RunState, status: RunStatus, error: str | None) -> bool:
        """End an unfinished run; other than succeeded, its open steps are cancelled, and their tasks."""
        now = utcnow()
        with self.engine.begin() as conn:
            changed = conn.execute(sa.update(R).where(
                R.c.id == run.id, R.c.status.in_([RunStatus.RUNNING.value, RunStatus.WAITING.value]))
                .values(status=status.value, error=error, finished_at=now)).rowcount
            if changed and status is not RunStatus.SUCCEEDED:
                conn.execute(sa.update(S).where(S.c.run_id == run.id, S.c.key != META_KEY,
                                                S.c.status.in_([s.value for s in OPEN_STEPS]))
                             .values(status=StepStatus.CANCELLED.value, finished_at=now,
                                     error=f"the run ended {status.value}"))
        if not changed:
            return False
        logger.info("workflow run %s %s%s", run.id, status.value, f": {error}" if error else "")
        if status is not RunStatus.SUCCEEDED:
            self._cancel_tasks(run)
        return True

    def owner(self, run: RunState) -> Caller:
        """The run's owner as a caller: whose tasks its steps submit and read."""
        with read_only(self.engine) as conn:
            user = conn.execute(sa.select(_U.c.id, _U.c.name, _U.c.role).where(_U.c.id == run.user_id)).first()
        if user is None:
            raise StepError(f"the owner of run {run.id} no longer exists")
        return Caller(user.id, user.name, Role(user.role) == Role.ADMIN)

    # -- one pass over a run ------------------------------------------------------------------------

    def _pass(self, run: RunState, wait_tasks: bool, on_step: StepListener | None) -> bool:
        changed = False
        for step in run.ordered():
            try:
                if step.status is StepStatus.PENDING and ready(run, step):
                    changed |= self._start(run, step, wait_tasks, on_step)
                elif step.status is StepStatus.RUNNING and step.kind == "task":
                    changed |= self._follow_task(run, step, wait_tasks, on_step)
            except StepError as exc:
                changed |= self._change(run, step, on_step, [step.status], StepStatus.FAILED, error=str(exc))
        return changed

    def _start(self, run: RunState, step: StepState, wait_tasks: bool, on_step: StepListener | None) -> bool:
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
                                result=workflow_actions.evaluate(step.spec["condition"], run), attempts=1)
        if step.kind == "notify":
            if workflow_actions.notify(self.engine, run, step) is None:
                return False
            emit(on_step, run, step)
            return True
        if step.kind == "approval":
            return self._change(run, step, on_step, [StepStatus.PENDING], StepStatus.WAITING, finished=False)
        if not self._change(run, step, on_step, [StepStatus.PENDING], StepStatus.RUNNING, finished=False,
                            notify_listener=False):
            # Another driver of this run (a workflow tick) started the step first. A waiting driver sees its
            # task through all the same (the same task, by its idempotency key); otherwise its pass would
            # change nothing and the wait would end with the run still running.
            return wait_tasks and self._follow_task(run, step, wait_tasks, on_step)
        self._follow_task(run, step, wait_tasks, on_step)
        return True

    def _follow_task(self, run: RunState, step: StepState, wait_tasks: bool, on_step: StepListener | None) -> bool:
        owner = self.owner(run)
        text = workflow_actions.render(step.spec["input"], step.spec["inputs"], run, limit=MAX_TASK_TEXT)
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
                conn.execute(sa.update(S).where(S.c.id == step.id, S.c.task_id.is_(None))
                             .values(task_id=task["id"]))
            step.task_id = task["id"]
            emit(on_step, run, step)
        else:
            task = self.controller.get_task(owner, step.task_id)
        if wait_tasks and task["status"] in ("queued", "running"):
            # Each retry is worked inline as soon as its backoff has passed when nothing serves the pool.
            task = self.controller.see_through(owner, task, self.task_wait_seconds)
        return self._record_task(run, step, task, on_step)

    def _record_task(self, run: RunState, step: StepState, task: dict[str, Any],
                     on_step: StepListener | None) -> bool:
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

    def _change(self, run: RunState, step: StepState, on_step: StepListener | None, expected: list[StepStatus],
                status: StepStatus, *, result: dict[str, Any] | None = None, error: str | None = None,
                attempts: int | None = None, finished: bool = True, notify_listener: bool = True) -> bool:
        """Compare-and-set one step's status; False when another driver changed it first."""
        now = utcnow()
        values: dict[str, Any] = {"status": status.value}
        if result is not None:
            values["result"] = result
        if error is not None:
            values["error"] = error[:ERROR_CHARS]
        if attempts is not None:
            values["attempts"] = attempts
        if step.started_at is None:
            values["started_at"] = now
        if finished:
            values["finished_at"] = now
        with self.engine.begin() as conn:
            changed = conn.execute(sa.update(S).where(
                S.c.id == step.id, S.c.status.in_([s.value for s in expected])).values(**values)).rowcount
        if not changed:
            return False
        step.status = status
        step.result = result if result is not None else step.result
        step.error = values.get("error", step.error)
        step.attempts = attempts if attempts is not None else step.attempts
        step.started_at = values.get("started_at", step.started_at)
        step.finished_at = values.get("finished_at", step.finished_at)
        if notify_listener:
            emit(on_step, run, step)
        return True

    def _settle(self, run: RunState) -> bool:
        """Move the run to the status its steps call for; True if it changed."""
        steps = run.ordered()
        rejected = next((s for s in steps if s.status is StepStatus.REJECTED), None)
        failed = next((s for s in steps if s.status is StepStatus.FAILED), None)
        if rejected is not None:
            by = (rejected.result or {}).get("by", "someone")
            note = (rejected.result or {}).get("note")
            error = f"step {rejected.n} ({rejected.key}) was rejected by {by}" + (f": {note}" if note else "")
            return self.finish(run, RunStatus.REJECTED, error)
        if failed is not None:
            return self.finish(run, RunStatus.FAILED, f"step {failed.n} ({failed.key}) failed: {failed.error}")
        if all(s.status.settled for s in steps):
            return self.finish(run, RunStatus.SUCCEEDED, None)
        busy = any(s.status is StepStatus.RUNNING or (s.status is StepStatus.PENDING and ready(run, s))
                   for s in steps)
        waiting = any(s.status is StepStatus.WAITING for s in steps)
        target = RunStatus.WAITING if waiting and not busy else RunStatus.RUNNING
        if target is run.status:
            return False
        with self.engine.begin() as conn:
            changed = conn.execute(sa.update(R).where(R.c.id == run.id, R.c.status == run.status.value)
                                   .values(status=target.value)).rowcount
        return bool(changed)

    def _cancel_tasks(self, run: RunState) -> None:
        for step in run.steps.values():
            if step.status is StepStatus.RUNNING and step.task_id is not None:
                try:
                    self.controller.cancel_task(self.owner(run), step.task_id)
                except (OperatorOSError, StepError) as exc:  # already ended, or gone: nothing left to stop
                    logger.debug("run %s: task %s not cancelled: %s", run.id, step.task_id, exc)
