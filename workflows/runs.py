"""Workflow runs: their states, the run and step records, how they are stored and read, and their JSON views.

A run is a workflow_runs row plus one workflow_steps row per step of its definition, and one
reserved step row (key META_KEY) that keeps the run's inputs and the definition it started with,
so a definition edited later never changes a run already under way. workflow_driver changes these
rows; business_automation (the WorkflowEngine facade) reads them through this module.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from database import read_only
from errors import BadRequest, Conflict
from models import Workflow, WorkflowRun, WorkflowStep, utcnow
from values import Caller
from workflows.schema import placeholder

logger = logging.getLogger(__name__)

META_KEY = "_run"
"""Key of the reserved workflow_steps row holding a run's inputs and definition (step keys cannot start with '_')."""

MAX_ID = 2**63 - 1
"""Largest id a workflow or run can have (64-bit signed); larger numbers name nothing."""

MAX_INPUT_VALUE_CHARS = 2000
"""Longest value of one run input."""


W = Workflow.__table__
"""The workflows table."""
R = WorkflowRun.__table__
"""The workflow_runs table."""
S = WorkflowStep.__table__
"""The workflow_steps table."""


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


OPEN_STEPS = (StepStatus.PENDING, StepStatus.RUNNING, StepStatus.WAITING)
"""Step states that have not ended."""

StepListener = Callable[[dict[str, Any]], None]
"""Called with a step's dict (as in get_run) each time a driver changes the step."""


class StepError(Exception):
    """A built-in step cannot succeed (a condition on a non-number...): the step fails at once."""


@dataclass
class StepState:
    """One step of a run as stored, with its definition."""

    id: int
    """Row id in workflow_steps."""
    n: int
    """Position in the definition, from 1."""
    spec: dict[str, Any]
    """The step's definition (key, kind, inputs, depends_on...)."""
    status: StepStatus
    """Where it stands."""
    task_id: int | None
    """The task of a task step, once submitted."""
    attempts: int
    """Attempts made (a task step: its task's attempts)."""
    result: dict[str, Any] | None
    """What it produced: a task's reply, a condition's value, a decision, a notification."""
    error: str | None
    """Why it failed or was cancelled."""
    decided_by: int | None
    """User who decided an approval."""
    started_at: datetime | None
    """When it started."""
    finished_at: datetime | None
    """When it ended."""

    @property
    def key(self) -> str:
        """The step's key in its definition."""
        return str(self.spec["key"])

    @property
    def kind(self) -> str:
        """task, notify, approval or condition."""
        return str(self.spec["kind"])


@dataclass
class RunState:
    """One run as stored: its row, its meta record and its steps by key."""

    id: int
    """Run id."""
    workflow_id: int
    """The workflow it runs."""
    workflow_name: str
    """That workflow's name."""
    user_id: int | None
    """Owner (the workflow's owner): whose tasks the steps submit."""
    status: RunStatus
    """Where it stands."""
    error: str | None
    """Why it ended other than succeeded."""
    created_at: datetime
    """When it started."""
    finished_at: datetime | None
    """When it ended."""
    meta: dict[str, Any]
    """Inputs, definition, trigger and session, fixed when the run started."""
    steps: dict[str, StepState]
    """Its steps by key."""

    @property
    def inputs(self) -> dict[str, Any]:
        """The values of the workflow's inputs for this run."""
        return dict(self.meta.get("inputs") or {})

    def ordered(self) -> list[StepState]:
        """Steps in definition order."""
        return sorted(self.steps.values(), key=lambda s: s.n)


# -- storing and reading -------------------------------------------------------------------------

def load_run(engine: Engine, run_id: int) -> RunState | None:
    """A run with its steps, or None when there is no such run."""
    if not 0 < run_id <= MAX_ID:  # the database cannot even compare a larger number
        return None
    with read_only(engine) as conn:
        row = conn.execute(sa.select(R, W.c.name.label("workflow_name"))
                           .join(W, W.c.id == R.c.workflow_id).where(R.c.id == run_id)).mappings().first()
        if row is None:
            return None
        step_rows = conn.execute(sa.select(S).where(S.c.run_id == run_id)).mappings().all()
    meta = next((dict(r["result"] or {}) for r in step_rows if r["key"] == META_KEY), {})
    definition = meta.get("definition") or {"steps": []}
    specs = {s["key"]: (n, s) for n, s in enumerate(definition["steps"], start=1)}
    steps = {}
    for r in step_rows:
        if r["key"] == META_KEY or r["key"] not in specs:
            continue
        n, spec = specs[r["key"]]
        steps[r["key"]] = StepState(r["id"], n, spec, StepStatus(r["status"]), r["task_id"], r["attempts"],
                                    r["result"], r["error"], r["decided_by"], r["started_at"], r["finished_at"])
    return RunState(row["id"], row["workflow_id"], row["workflow_name"], row["user_id"], run_status(row["status"]),
                    row["error"], row["created_at"], row["finished_at"], meta, steps)


def insert_run(conn: sa.Connection, workflow: dict[str, Any], inputs: dict[str, Any] | None, *, trigger: str,
               started_by: Caller | None = None, scheduled_for: datetime | None = None,
               session_id: str | None = None) -> int:
    """Create a run of `workflow` (a workflows row) with all its steps pending, in the caller's transaction.

    A scheduled run whose required inputs have no value (no default) is recorded failed, saying
    which inputs and how to give them, instead of running on placeholders.

    Raises:
        Conflict: an input the workflow does not declare.
        BadRequest: a required input without a value (not for a schedule), a value that is not text
            or a number, or too long.
    """
    definition = workflow["definition"]
    now = utcnow()
    status, error, finished = RunStatus.RUNNING, None, None
    try:
        values, missing = resolve_inputs(definition, inputs, workflow_id=workflow["id"])
    except BadRequest as exc:
        if trigger != "schedule" or "missing_inputs" not in exc.details:
            raise
        values, missing = {}, list(exc.details["missing_inputs"])
        example = ", ".join(f"{name}=..." for name in missing)
        status, finished = RunStatus.FAILED, now
        error = (f"the scheduled run could not start: required input(s) {', '.join(missing)} have no value; "
                 f"give them with the schedule: 'schedule workflow {workflow['id']} <when> with {example}'")
    run_id = conn.execute(sa.insert(R).values(
        workflow_id=workflow["id"], user_id=workflow["user_id"], status=status.value, created_at=now,
        error=error, finished_at=finished,
    ).returning(R.c.id)).scalar_one()
    meta = {"inputs": values, "missing_inputs": missing, "definition": definition, "trigger": trigger,
            "scheduled_for": iso(scheduled_for), "session_id": session_id,
            "started_by": started_by.name if started_by else None}
    rows = [{"run_id": run_id, "key": META_KEY, "kind": "run", "status": StepStatus.DONE.value, "attempts": 0,
             "result": meta, "started_at": now, "finished_at": now, "error": None}]
    step_status = StepStatus.PENDING if finished is None else StepStatus.CANCELLED
    rows += [{"run_id": run_id, "key": s["key"], "kind": s["kind"], "status": step_status.value,
              "attempts": 0, "result": None, "started_at": None, "finished_at": finished,
              "error": "the run could not start" if finished else None}
             for s in definition["steps"]]
    conn.execute(sa.insert(S), rows)
    return int(run_id)


def required_inputs(definition: dict[str, Any]) -> list[str]:
    """Names of the inputs a definition marks required ({"required": true}), in declared order."""
    return [name for name, spec in (definition.get("inputs") or {}).items()
            if isinstance(spec, dict) and spec.get("required") is True]


def missing_required(definition: dict[str, Any], given: dict[str, Any] | None) -> list[str]:
    """Required inputs with neither a value in `given` nor a default."""
    declared = definition.get("inputs") or {}
    return [name for name in required_inputs(definition)
            if _blank((given or {}).get(name, declared[name].get("default")))]


def missing_inputs_error(definition: dict[str, Any], missing: list[str], workflow_id: int | None = None) -> BadRequest:
    """The 400 for a run started without its required inputs: which ones, and how to give them."""
    which = f"workflow {workflow_id}" if workflow_id is not None else "the workflow"
    example = ", ".join(f"{name}=..." for name in missing)
    return BadRequest(f"Missing required input(s) {', '.join(missing)}: {which} needs them to run. Give them "
                      f"as 'run {which} with {example}' (REST: \"inputs\": {{...}}).",
                      details={"missing_inputs": missing, "inputs": list(definition.get("inputs") or {})})


def resolve_inputs(definition: dict[str, Any], given: Any, *, workflow_id: int | None = None
                   ) -> tuple[dict[str, Any], list[str]]:
    """The run's input values (given, else the default, else a placeholder) and the optional names missing.

    Raises:
        BadRequest: a required input has no value (missing_inputs_error), or a value is not text or a number.
        Conflict: an input the workflow does not declare.
    """
    declared = definition.get("inputs") or {}
    given = given or {}
    if not isinstance(given, dict):
        raise BadRequest("'inputs' must be an object of input names to values.")
    unknown = sorted(set(given) - set(declared))
    if unknown:
        # 409, not 400: the same inputs suit another workflow; they conflict with this one's definition.
        raise Conflict(f"Unknown input(s) {', '.join(unknown)}: this workflow takes "
                         f"{', '.join(declared) or 'no inputs'}.")
    lacking = missing_required(definition, given)
    if lacking:
        raise missing_inputs_error(definition, lacking, workflow_id)
    values: dict[str, Any] = {}
    missing = []
    for name, spec in declared.items():
        value = given.get(name, (spec or {}).get("default") if isinstance(spec, dict) else None)
        if _blank(value):
            missing.append(name)
            value = placeholder(name)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise BadRequest(f"Input {name!r} must be text or a number.")
        if isinstance(value, str) and len(value) > MAX_INPUT_VALUE_CHARS:
            raise BadRequest(f"Input {name!r} is limited to {MAX_INPUT_VALUE_CHARS} characters.")
        values[name] = value
    return values, missing


def parse_inputs(text: str, declared: list[str]) -> dict[str, str]:
    """Run inputs written in a request, against the names a workflow declares.

    Two styles: 'project_name=Website relaunch, goal=New site live' (any name before '=' or ':'
    counts, so an unknown one is reported), or 'project_name Website relaunch and goal New site
    live' (a declared name, written with '_' or spaces, opening the text or after ',', ';' or 'and').
    A value runs to the next name; quotes around it are dropped.

    Raises:
        BadRequest: text that names no input.
    """
    text = text.strip()
    if not text:
        return {}
    spelled = "|".join(re.escape(n).replace("_", "[_ ]") for n in sorted(declared, key=len, reverse=True))
    lead = r"(?:^|[,;]\s*|\s+and\s+)"
    if re.search(r"^\s*[A-Za-z][\w ]{0,63}?\s*[=:]", text) or re.search(lead + r"[A-Za-z]\w*\s*=", text):
        keys = re.compile(lead + rf"(?P<key>{spelled + '|' if spelled else ''}[A-Za-z]\w*)\s*[=:]\s*", re.I)
    elif spelled:
        keys = re.compile(lead + rf"(?P<key>{spelled})(?:\s*[=:]|\s+(?:is|as)\b|\s)\s*", re.I)
    else:
        keys = None
    found = list(keys.finditer(text)) if keys else []
    if not found or found[0].start() != 0:
        raise BadRequest(f"Give the inputs as name=value, for example 'with {_example(declared)}'"
                         + (f": this workflow takes {', '.join(declared)}." if declared else
                            ": this workflow takes no inputs."))
    values = {}
    for match, after in zip(found, [*found[1:], None], strict=True):
        raw = text[match.end():after.start() if after else len(text)].strip().rstrip(",;").strip()
        values[re.sub(r"[ ]+", "_", match.group("key").strip().lower())] = raw.strip("'\"“”")
    return values


def _example(declared: list[str]) -> str:
    return ", ".join(f"{n}=..." for n in declared[:3]) or "name=value"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def active_run_ids(engine: Engine, limit: int, *, workflow_id: int | None = None) -> list[int]:
    """Unfinished runs (running or waiting), oldest first; of one workflow when given."""
    query = sa.select(R.c.id).where(R.c.status.in_([RunStatus.RUNNING.value, RunStatus.WAITING.value]))
    if workflow_id is not None:
        query = query.where(R.c.workflow_id == workflow_id)
    with read_only(engine) as conn:
        return list(conn.execute(query.order_by(R.c.id).limit(limit)).scalars())


def ready(run: RunState, step: StepState) -> bool:
    """True when every step `step` depends on is done or skipped."""
    return all(run.steps[d].status.settled for d in step.spec.get("depends_on", []) if d in run.steps)


def visible(caller: Caller, owner_id: int | None) -> bool:
    """Whether `caller` may see an object owned by `owner_id` (their own; admins see all)."""
    return caller.is_admin or (owner_id is not None and owner_id == caller.user_id)


def run_status(value: str) -> RunStatus:
    """A RunStatus from its value; BadRequest naming the valid ones otherwise."""
    try:
        return RunStatus(value)
    except ValueError:
        raise BadRequest(f"Unknown run status {value!r}: use one of {', '.join(s.value for s in RunStatus)}.") from None


# -- JSON views -----------------------------------------------------------------------------------

def emit(on_step: StepListener | None, run: RunState, step: StepState) -> None:
    """Tell a listener that a step changed; a failing listener is logged, never raised."""
    if on_step is None:
        return
    try:
        on_step({"run_id": run.id, **step_dict(step)})
    except Exception:  # a listener (narration, progress) must never break a run
        logger.exception("workflow step listener failed")


def step_dict(step: StepState) -> dict[str, Any]:
    """A step as JSON-ready data: definition fields, status, task, result and timings."""
    spec = step.spec
    seconds = None
    if step.started_at is not None and step.finished_at is not None:
        seconds = round((step.finished_at - step.started_at).total_seconds(), 3)
    data = {"n": step.n, "key": step.key, "title": spec.get("title"), "kind": step.kind, "owner": spec.get("owner"),
            "depends_on": spec.get("depends_on", []), "status": step.status.value, "task_id": step.task_id,
            "attempts": step.attempts, "result": step.result, "error": step.error, "decided_by": step.decided_by,
            "started_at": iso(step.started_at), "finished_at": iso(step.finished_at), "seconds": seconds}
    for extra in ("pool", "approvers", "run_if"):
        if extra in spec:
            data[extra] = spec[extra]
    return data


def run_dict(run: RunState) -> dict[str, Any]:
    """A run as JSON-ready data: status, inputs, progress, task ids, approvals waiting, and every step."""
    steps = [step_dict(s) for s in run.ordered()]
    finished = sum(1 for s in run.steps.values() if s.status not in OPEN_STEPS)
    duration = None
    if run.finished_at is not None:
        duration = round((run.finished_at - run.created_at).total_seconds(), 3)
    return {"id": run.id, "workflow_id": run.workflow_id, "workflow_name": run.workflow_name, "user_id": run.user_id,
            "status": run.status.value, "error": run.error, "created_at": iso(run.created_at),
            "finished_at": iso(run.finished_at), "duration_seconds": duration,
            "trigger": run.meta.get("trigger"), "scheduled_for": run.meta.get("scheduled_for"),
            "started_by": run.meta.get("started_by"), "inputs": run.inputs,
            "missing_inputs": run.meta.get("missing_inputs", []),
            "progress": {"finished": finished, "total": len(steps),
                         "done": sum(1 for s in run.steps.values() if s.status.settled),
                         "cancelled": sum(1 for s in run.steps.values() if s.status is StepStatus.CANCELLED)},
            "task_ids": [s["task_id"] for s in steps if s["task_id"] is not None],
            "waiting_for": [{"step": s["n"], "key": s["key"], "title": s["title"], "approvers": s.get("approvers", [])}
                            for s in steps if s["status"] == StepStatus.WAITING.value],
            "steps": steps}


def run_brief(row: Any) -> dict[str, Any]:
    """A run row (joined with its workflow's name) without its steps, for listings."""
    duration = None
    if row["finished_at"] is not None:
        duration = round((row["finished_at"] - row["created_at"]).total_seconds(), 3)
    return {"id": row["id"], "workflow_id": row["workflow_id"], "workflow_name": row["workflow_name"],
            "user_id": row["user_id"], "status": row["status"], "error": row["error"],
            "created_at": iso(row["created_at"]), "finished_at": iso(row["finished_at"]),
            "duration_seconds": duration}


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


def iso(value: datetime | None) -> str | None:
    """A datetime as ISO 8601 text, None as None."""
    return None if value is None else value.isoformat()
