"""The `workflows` intent: a command from either front door carried out on the WorkflowEngine.

Actions: list; show (workflow_id, run_id or name); run (workflow_id, name, or the caller's only
workflow; inputs as an object, or written in words as inputs_text: 'project_name=Website relaunch,
goal=...'); create (input: the process description; the caller's identical workflow is offered
instead of a duplicate); schedule (schedule: words or cron, optional inputs_text saved as the
scheduled runs' values) and unschedule; approve / reject (run_id, optional step, note); cancel (run_id);
delete (workflow_id: the workflow and its runs, unfinished ones cancelled first).
"""
from __future__ import annotations

import logging
from typing import Any, Protocol

from errors import BadRequest, NotFound
from values import Caller
from workflows.runs import parse_inputs

logger = logging.getLogger(__name__)

WORKFLOW_ACTIONS = ("list", "show", "run", "create", "approve", "reject", "cancel", "schedule", "unschedule",
                    "delete")
"""Actions of the `workflows` intent that execute() understands."""


class WorkflowEngine(Protocol):
    """What this module asks of business_automation.WorkflowEngine (its owner, which it must not import)."""

    def approve(self, caller: Caller, run_id: int, step: int | str | None = None, *, note: str | None = None,
                wait: bool = False) -> dict[str, Any]: ...
    def cancel_run(self, caller: Caller, run_id: int) -> dict[str, Any]: ...
    def create(self, caller: Caller, definition: Any, *, name: str | None = None) -> dict[str, Any]: ...
    def delete(self, caller: Caller, workflow_id: int) -> dict[str, Any]: ...
    def draft(self, caller: Caller, text: str, *, session_id: str | None = None) -> dict[str, Any]: ...
    def find(self, caller: Caller, name: str) -> dict[str, Any]: ...
    def find_same(self, caller: Caller, definition: dict[str, Any]) -> dict[str, Any] | None: ...
    def get(self, caller: Caller, workflow_id: int) -> dict[str, Any]: ...
    def get_run(self, caller: Caller, run_id: int) -> dict[str, Any]: ...
    def list_runs(self, caller: Caller, *, workflow_id: int | None = None, status: str | None = None,
                  limit: int = 20) -> list[dict[str, Any]]: ...
    def list_workflows(self, caller: Caller, *, limit: int = 50) -> list[dict[str, Any]]: ...
    def pending_approvals(self, caller: Caller) -> list[dict[str, Any]]: ...
    def reject(self, caller: Caller, run_id: int, step: int | str | None = None, *,
               reason: str | None = None) -> dict[str, Any]: ...
    def run(self, caller: Caller, workflow_id: int, inputs: dict[str, Any] | None = None, *, wait: bool = True,
            session_id: str | None = None) -> dict[str, Any]: ...
    def set_schedule(self, caller: Caller, workflow_id: int, schedule: str | None,
                     inputs: dict[str, Any] | None = None) -> dict[str, Any]: ...


def execute(engine: WorkflowEngine, caller: Caller, args: dict[str, Any], *, session_id: str | None = None,
            background: bool = False) -> dict[str, Any]:
    """Carry out a `workflows` command and return the reply's data (see the module docstring).

    Without `background` a run is driven through its tasks before answering.

    Raises:
        BadRequest: an unknown action, a missing number, required inputs not given, unreadable inputs
            or schedule. NotFound / Conflict: from the engine.
    """
    action = args.get("action") or "list"
    if action not in WORKFLOW_ACTIONS:
        raise BadRequest(f"Unknown workflows action {action!r}: use one of {', '.join(WORKFLOW_ACTIONS)}.")
    if action == "list":
        return {"action": action, "workflows": engine.list_workflows(caller),
                "runs": engine.list_runs(caller, limit=10), "pending_approvals": engine.pending_approvals(caller)}
    if action == "create":
        return {"action": action, **create_once(engine, caller, args.get("input") or "", session_id)}
    if action in ("approve", "reject", "cancel"):
        run_id = positive_int(args.get("run_id"), "Say which run, by its number (for example 'approve run 12').")
        if action == "approve":
            run = engine.approve(caller, run_id, args.get("step"), note=args.get("note"), wait=not background)
        elif action == "reject":
            run = engine.reject(caller, run_id, args.get("step"), reason=args.get("note") or args.get("reason"))
        else:
            run = engine.cancel_run(caller, run_id)
        return {"action": action, "run": run}
    if action == "show" and args.get("run_id") is not None:
        return {"action": action, "run": engine.get_run(caller, positive_int(args["run_id"], "Bad run number."))}
    workflow = resolve(engine, caller, args)
    if action == "show":
        return {"action": action, "workflow": workflow}
    if action == "delete":
        brief = {k: workflow[k] for k in ("id", "name")}
        return {"action": action, "workflow": brief, **engine.delete(caller, workflow["id"])}
    inputs = inputs_of(workflow, args)
    if action in ("schedule", "unschedule"):
        when = args.get("schedule") if action == "schedule" else None
        if action == "schedule" and not when:
            raise BadRequest(f"Say when, for example 'schedule workflow {workflow['id']} every Monday at 9am'.")
        return {"action": action, "workflow": engine.set_schedule(caller, workflow["id"], when, inputs)}
    run = engine.run(caller, workflow["id"], inputs, wait=not background, session_id=session_id)
    brief = {k: workflow[k] for k in ("id", "name", "schedule", "next_run_at", "steps")}
    return {"action": action, "workflow": brief, "run": run}


def create_once(engine: WorkflowEngine, caller: Caller, text: str, session_id: str | None) -> dict[str, Any]:
    """Save the workflow a description asks for, unless the caller has saved the same one: then offer that one.

    Returns:
        {"workflow", "task", "definition_source", "note"}, plus "duplicate_of" (the id offered) and
        "wanted_schedule" (the schedule the description asked for) when nothing new was saved.
    """
    draft = engine.draft(caller, text, session_id=session_id)
    same = engine.find_same(caller, draft["definition"])
    if same is not None:
        wanted = draft.pop("definition").get("schedule")
        logger.info("%s asked again for workflow %s; nothing new saved", caller.name, same["id"])
        return {"workflow": same, "duplicate_of": same["id"], "wanted_schedule": wanted, **draft}
    return {"workflow": engine.create(caller, draft.pop("definition")), **draft}


def resolve(engine: WorkflowEngine, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
    """The workflow a command names: by number, by name, or the caller's only one."""
    if args.get("workflow_id") is not None:
        return engine.get(caller, positive_int(args["workflow_id"], "Bad workflow number."))
    if args.get("name"):
        return engine.find(caller, str(args["name"]))
    mine = engine.list_workflows(caller, limit=2)
    if len(mine) == 1:
        return engine.get(caller, mine[0]["id"])
    if not mine:
        raise NotFound("You have no saved workflows yet; say 'help me automate my project management "
                       "workflow' to create one.")
    raise BadRequest("Say which workflow, by its number: 'list the workflows' shows them.")


def inputs_of(workflow: dict[str, Any], args: dict[str, Any]) -> dict[str, Any] | None:
    """The run inputs of a command: args['inputs'] (an object), plus those written in args['inputs_text']."""
    given = args.get("inputs")
    if given is not None and not isinstance(given, dict):
        raise BadRequest("'inputs' must be an object of input names to values.")
    text = args.get("inputs_text")
    if not text:
        return given
    return {**(given or {}), **parse_inputs(str(text), list(workflow["definition"].get("inputs") or {}))}


def positive_int(value: Any, message: str) -> int:
    """A positive whole number from an int or digits; BadRequest with `message` otherwise."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadRequest(message)
    return value
