"""Limits on what one user's workflows may cost, and who may decide an approval (issue 19).

Part of business_automation. A schedule fires at most once per `min_schedule_minutes`; a user has at
most `max_active_runs` unfinished runs; a run starts at most `max_run_task_steps` task steps (each a
model call). An approval step is decided by a user its `approvers` name (case-insensitive) or an
admin, never merely by the workflow's owner.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from config import DEFAULT_MAX_ACTIVE_RUNS, DEFAULT_MAX_RUN_TASK_STEPS, DEFAULT_MIN_SCHEDULE_MINUTES
from errors import BadRequest, Conflict, Forbidden, NotFound
from values import Caller
from workflows.runs import R, RunState, RunStatus, StepState, load_run, visible

SCHEDULE_SAMPLES = 200
"""Successive fire times looked at to find a schedule's shortest interval (covers a day of hourly lists)."""


@dataclass(frozen=True)
class WorkflowLimits:
    """The limits, from Settings (OPERATOROS_MIN_SCHEDULE_MINUTES, _MAX_ACTIVE_RUNS, _MAX_RUN_TASK_STEPS)."""

    min_schedule_minutes: int = DEFAULT_MIN_SCHEDULE_MINUTES
    """Shortest interval between two scheduled runs."""
    max_active_runs: int = DEFAULT_MAX_ACTIVE_RUNS
    """Unfinished runs per user."""
    max_run_task_steps: int = DEFAULT_MAX_RUN_TASK_STEPS
    """Task steps one run may start."""

    @classmethod
    def of(cls, settings: Any) -> WorkflowLimits:
        """The limits a Settings (or anything without them: the defaults) gives."""
        defaults = cls()
        return cls(*(int(getattr(settings, name, getattr(defaults, name)))
                     for name in ("min_schedule_minutes", "max_active_runs", "max_run_task_steps")))

    def check_schedule(self, expr: str, now: datetime) -> None:
        """Refuse a cron expression that fires more often than once per `min_schedule_minutes`.

        Raises:
            BadRequest: it does, with its shortest interval and the limit.
        """
        from croniter import croniter  # type: ignore[import-untyped]

        if self.min_schedule_minutes <= 1:
            return  # cron cannot fire more often than once a minute
        it = croniter(expr, now)
        times = [it.get_next(datetime) for _ in range(SCHEDULE_SAMPLES)]
        shortest = min(b - a for a, b in zip(times, times[1:], strict=False))
        if shortest < timedelta(minutes=self.min_schedule_minutes):
            minutes = int(shortest.total_seconds() // 60)
            raise BadRequest(f"Schedule {expr!r} would run every {minutes} minute{'s' if minutes != 1 else ''}; "
                             f"a schedule may run at most once every {self.min_schedule_minutes} minutes "
                             "(OPERATOROS_MIN_SCHEDULE_MINUTES).",
                             details={"min_schedule_minutes": self.min_schedule_minutes})

    def check_task_steps(self, definition: dict[str, Any], workflow_id: int | None = None) -> None:
        """Refuse a definition whose runs would start more task steps than `max_run_task_steps`.

        Raises:
            BadRequest: it would.
        """
        tasks = sum(1 for s in definition.get("steps") or [] if isinstance(s, dict) and s.get("kind") == "task")
        if tasks > self.max_run_task_steps:
            which = f"Workflow {workflow_id}" if workflow_id else "The workflow"
            raise BadRequest(f"{which} has {tasks} task steps; a run may start at most "
                             f"{self.max_run_task_steps} (OPERATOROS_MAX_RUN_TASK_STEPS).",
                             details={"max_run_task_steps": self.max_run_task_steps})

    def active_runs_left(self, conn: sa.Connection, user_id: int | None) -> int:
        """How many more unfinished runs `user_id` may have now."""
        active = conn.execute(sa.select(sa.func.count()).select_from(R).where(
            R.c.user_id == user_id, R.c.status.in_([RunStatus.RUNNING.value, RunStatus.WAITING.value]))).scalar_one()
        return self.max_active_runs - int(active)

    def check_active_runs(self, conn: sa.Connection, user_id: int | None) -> None:
        """Refuse one more run to a user at `max_active_runs`.

        Raises:
            Conflict: the user has that many unfinished runs (409).
        """
        if self.active_runs_left(conn, user_id) <= 0:
            raise Conflict(f"You already have {self.max_active_runs} workflow runs unfinished, the most allowed "
                           "(OPERATOROS_MAX_ACTIVE_RUNS): wait for one to end or cancel one "
                           "('cancel run N').", details={"max_active_runs": self.max_active_runs})


def is_approver(caller: Caller, step: StepState) -> bool:
    """Whether the step's approvers name the caller (case-insensitive)."""
    wanted = caller.name.strip().casefold()
    return any(str(name).strip().casefold() == wanted for name in step.spec.get("approvers") or [])


def run_to_decide(engine: Engine, caller: Caller, run_id: int) -> RunState:
    """A run the caller owns (or, as an admin, sees) or is an approver of.

    Raises:
        NotFound: no such run, or neither (404: another user's run is not revealed).
    """
    run = load_run(engine, run_id)
    approver = run is not None and any(is_approver(caller, s) for s in run.ordered() if s.kind == "approval")
    if run is None or not (visible(caller, run.user_id) or approver):
        raise NotFound(f"No such workflow run: {run_id}")
    return run


def check_approver(caller: Caller, run_id: int, step: StepState) -> None:
    """Let only a listed approver or an admin decide `step`.

    Raises:
        Forbidden: anyone else, the owner included (403), naming who may.
    """
    if caller.is_admin or is_approver(caller, step):
        return
    approvers = ", ".join(str(a) for a in step.spec.get("approvers") or [])
    raise Forbidden(f"Step {step.n} ({step.key}) of run {run_id} may be approved or rejected only by "
                    f"{approvers} or an admin; you are {caller.name}.")
