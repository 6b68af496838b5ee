"""Built-in workflow steps, done by the engine itself rather than by a pool: notify, condition, approval.

Each effect is written in the same transaction as the step's completion, guarded by the step's
expected status (compare-and-set), so two drivers of one run never both record it.
"""
from __future__ import annotations

import logging
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from errors import Conflict, NotFound
from models import AuditLog, utcnow
from values import Caller
from workflows import templates as workflow_templates
from workflows.runs import RunState, S, StepError, StepState, StepStatus
from workflows.schema import placeholder

logger = logging.getLogger(__name__)

PLACEHOLDER_CHARS = 3000
"""Most characters one '{step.result}' placeholder puts into a later step's text."""

RENDER_CHARS = 1000
"""Longest rendered recipient or other short text, unless the caller gives a limit."""

NOTE_CHARS = 1000
"""Longest note kept with an approval decision."""

_AUDIT = AuditLog.__table__


# -- placeholders ---------------------------------------------------------------------------------

def render(template: str, names: list[str], run: RunState, limit: int = RENDER_CHARS) -> str:
    """Fill the '{name}' placeholders of `template` that are among the step's inputs `names`."""
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(value(name, run))[:PLACEHOLDER_CHARS] if name in names else match.group(0)

    return re.sub(r"\{([^{}]+)\}", replace, template)[:limit]


def value(name: str, run: RunState) -> Any:
    """A run input's value, or an earlier step's result as text for '<step>.result'."""
    if name.endswith(".result"):
        return step_text(run.steps[name[:-len(".result")]])
    return run.inputs.get(name, placeholder(name))


def step_text(step: StepState) -> str:
    """What a step produced, as the text a later step's placeholder receives."""
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


# -- condition ------------------------------------------------------------------------------------

def evaluate(condition: dict[str, Any], run: RunState) -> dict[str, Any]:
    """A condition step's outcome: {value, input, op, compared_with, actual}.

    Raises:
        StepError: a numeric comparison of something that is not a number.
    """
    name, op, expected = condition["input"], condition["op"], condition["value"]
    actual = value(name, run)
    if op in ("gt", "ge", "lt", "le"):
        left, right = _number(actual, name), _number(expected, "the condition's value")
        outcome = {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
    elif op == "contains":  # case-insensitive: 'blocked' in a report is 'BLOCKED' to whoever reads it
        outcome = str(expected).casefold() in str(actual).casefold()
    else:
        try:
            same = _number(actual, name) == _number(expected, "value")
        except StepError:
            same = str(actual).strip() == str(expected).strip()
        outcome = same if op == "eq" else not same
    return {"value": outcome, "input": name, "op": op, "compared_with": expected, "actual": str(actual)[:200]}


# -- notify ---------------------------------------------------------------------------------------

def notify(engine: Engine, run: RunState, step: StepState) -> dict[str, Any] | None:
    """Complete a pending notify step and record its notification (an audit-log entry) in one transaction.

    Returns:
        The step's result, or None when another driver completed it first.
    """
    names = step.spec["inputs"]
    to = [render(t, names, run) for t in step.spec["to"]]
    message = render(step.spec["message"], names, run, limit=workflow_templates.MAX_TEXT)
    now = utcnow()
    result = {"to": to, "message": message, "notified_at": now.isoformat()}
    with engine.begin() as conn:
        done = conn.execute(sa.update(S).where(S.c.id == step.id, S.c.status == StepStatus.PENDING.value)
                            .values(status=StepStatus.DONE.value, result=result, attempts=1, error=None,
                                    started_at=now, finished_at=now)).rowcount
        if done:  # the effect, recorded in the transaction that completes the step
            conn.execute(sa.insert(_AUDIT).values(
                actor_user_id=run.user_id, actor="workflow", action="workflow.notify",
                target=f"run {run.id} step {step.key}", created_at=now,
                details={"workflow_id": run.workflow_id, "run_id": run.id, "step": step.key, **result}))
    if not done:
        return None
    logger.info("run %s step %s notified %s", run.id, step.key, ", ".join(to))
    step.status, step.result, step.attempts, step.started_at, step.finished_at = (
        StepStatus.DONE, result, 1, now, now)
    return result


# -- approval -------------------------------------------------------------------------------------

def approval_step(run: RunState, ref: int | str | None) -> StepState:
    """The approval step to decide: by position from 1, by key, or the only one waiting.

    Raises:
        NotFound: no such step.
        Conflict: the step is not an approval or not waiting for a decision, or several wait and none
            was named (409: whether a request can be decided depends on the run's state, not its form).
    """
    steps = run.ordered()
    if ref is None:
        waiting = [s for s in steps if s.status is StepStatus.WAITING]
        if not waiting:
            raise Conflict(f"Run {run.id} has no step waiting for approval (it is {run.status.value}).")
        if len(waiting) > 1:
            raise Conflict(f"Run {run.id} has several steps waiting for approval "
                             f"({', '.join(str(s.n) for s in waiting)}): say which step.")
        return waiting[0]
    if isinstance(ref, str) and ref.isdigit():
        ref = int(ref)
    match = [s for s in steps if (s.n == ref if isinstance(ref, int) else s.key == ref)]
    if not match:
        raise NotFound(f"Run {run.id} has no step {ref} (its steps are 1 to {len(steps)}).")
    step = match[0]
    if step.kind != "approval":
        raise Conflict(f"Step {step.n} ({step.key}) of run {run.id} is a {step.kind} step, not an approval.")
    if step.status is not StepStatus.WAITING:
        state = "has not been reached yet" if step.status is StepStatus.PENDING else f"is {step.status.value}"
        raise Conflict(f"Step {step.n} ({step.key}) of run {run.id} is not waiting for a decision: it {state}.")
    return step


def decide(engine: Engine, run: RunState, step: StepState, caller: Caller, *, approved: bool,
           note: str | None) -> None:
    """Record a decision on a waiting approval step: done when approved, rejected otherwise.

    Raises:
        Conflict: someone else decided the step first.
    """
    verdict = "approved" if approved else "rejected"
    now = utcnow()
    result = {"decision": verdict, "by": caller.name, "note": (note or "")[:NOTE_CHARS] or None,
              "decided_at": now.isoformat()}
    with engine.begin() as conn:
        changed = conn.execute(sa.update(S).where(S.c.id == step.id, S.c.status == StepStatus.WAITING.value)
                               .values(status=(StepStatus.DONE if approved else StepStatus.REJECTED).value,
                                       result=result, decided_by=caller.user_id, finished_at=now,
                                       attempts=1)).rowcount
    if not changed:
        raise Conflict(f"Step {step.n} ({step.key}) of run {run.id} was decided a moment ago by someone else.")
    logger.info("%s %s run %s step %s", caller.name, verdict, run.id, step.key)


def _number(raw: Any, what: str) -> float:
    if isinstance(raw, bool):
        raise StepError(f"{what} is true/false, not a number")
    if isinstance(raw, (int, float)):
        return float(raw)
    cleaned = re.sub(r"[\s,$\u20ac\u00a3]", "", str(raw))
    if not re.fullmatch(r"[-+]?\d+(\.\d+)?", cleaned):
        raise StepError(f"{what} is {str(raw)[:80]!r}, which is not a number")
    return float(cleaned)
