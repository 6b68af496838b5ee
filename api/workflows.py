"""REST endpoints of workflows, their runs and the demos (DESIGN.md: REST contract), JSON only.

The blueprint nests under api_routes' /api blueprint when this module is imported (api_routes.init_app
imports it before registering that blueprint), so these routes share its Bearer-key authentication,
rate limit, JSON errors and OpenAPI document. Ownership is the engine's: a user sees and acts on their
own workflows and runs only (anything else is 404); an admin sees and acts on all.
"""
from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from flask import Blueprint, current_app, g, request
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, model_validator
from pydantic.json_schema import SkipJsonSchema
from spectree import Response as Resp

import demo_runner
from api.schemas import VISIBLE, JsonInt, WaitQuery
from api_routes import ERRORS, spec
from api_routes import bp as api_bp
from errors import BadRequest

logger = logging.getLogger(__name__)

LIST_LIMIT = 200
"""Most workflows one GET /api/workflows returns."""

NOTE_CHARS = 1000
"""Longest note kept with a decision."""

bp = Blueprint("workflows", __name__)
"""Nested under api_routes.bp: '/api' prefix, its authentication and error handling."""

RunState = Literal["running", "waiting", "succeeded", "failed", "rejected", "cancelled"]
StepState = Literal["pending", "running", "waiting", "done", "skipped", "failed", "rejected", "cancelled"]
InputValue = Annotated[StrictStr, Field(max_length=2000)] | StrictInt | StrictFloat
StepKey = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class _In(BaseModel):
    """Request bodies refuse unknown fields; optional fields refuse an explicit null (as api_schemas)."""

    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    """Responses: documented fields, extra ones allowed."""

    model_config = ConfigDict(extra="allow")


class WorkflowIn(_In):
    """A description for the business agent to draft the workflow from, or a ready definition.

    `definition` is validated by workflow_schema, whose cross-step rules (dependencies that exist and
    form no cycle, placeholders among a step's inputs, run_if on a condition) JSON Schema cannot state;
    it is left out of the OpenAPI document so that the document promises only what it can keep.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"required": ["description"]})

    description: StrictStr = Field(  # type: ignore[assignment]
        default=None, min_length=1, max_length=4000, pattern=VISIBLE,
        description="The process in plain words; the business agent drafts the definition.")
    name: StrictStr = Field(default=None, min_length=1, max_length=200, pattern=VISIBLE)  # type: ignore[assignment]
    definition: SkipJsonSchema[dict[str, Any]] = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _one_of(self) -> WorkflowIn:
        if (self.definition is None) == (self.description is None):
            raise ValueError("give exactly one of 'description' or 'definition' (a workflow definition object)")
        return self


class WorkflowQuery(_In):
    limit: int = Field(default=50, ge=1, le=LIST_LIMIT)


class LastRun(_Out):
    id: int
    status: RunState
    created_at: str


class WorkflowOut(_Out):
    id: int
    name: str
    description: str | None
    user_id: int | None
    template: str | None
    schedule: str | None
    next_run_at: str | None
    steps: int = Field(description="Number of steps.")
    inputs: list[str]
    required_inputs: list[str] = Field(description="Inputs a run must be given (or have a default).")
    schedule_needs: list[str] = Field(description="Required inputs a scheduled run would lack (no default).")
    created_at: str
    updated_at: str


class WorkflowDetail(WorkflowOut):
    definition: dict[str, Any]
    step_list: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    last_run: dict[str, Any] | None


class WorkflowCreated(WorkflowDetail):
    draft: dict[str, Any] | None = Field(
        default=None, description="With 'description': the business task, definition_source and note.")


class ApprovalWaiting(_Out):
    run_id: int
    workflow_id: int
    step: int
    key: str
    title: str | None
    approvers: list[str]


class WorkflowList(_Out):
    workflows: list[WorkflowOut]
    pending_approvals: list[ApprovalWaiting]


class RunIn(_In):
    inputs: dict[str, InputValue] = Field(default=None)  # type: ignore[assignment]


_SCHEDULE_INPUTS = "Values the scheduled runs use, saved as the inputs' defaults; every required input needs one."


class ScheduleIn(_In):
    schedule: StrictStr = Field(min_length=1, max_length=200, pattern=VISIBLE,
                                description="Five-field cron (UTC), such as '0 9 * * 1', or words such as "
                                            "'every Monday at 9am'.")
    inputs: dict[str, InputValue] = Field(default=None, description=_SCHEDULE_INPUTS)  # type: ignore[assignment,arg-type]


class DecisionIn(_In):
    step: JsonInt | StepKey = Field(  # type: ignore[assignment]
        default=None, description="Step position from 1, or its key; default: the only step waiting.")
    note: StrictStr = Field(default=None, max_length=NOTE_CHARS,  # type: ignore[assignment]
                            description="Why; kept with the decision (a rejection's reason).")


class StepOut(_Out):
    n: int
    key: str
    title: str | None
    kind: Literal["task", "notify", "approval", "condition"]
    status: StepState
    task_id: int | None
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    seconds: float | None


class RunOut(_Out):
    id: int
    workflow_id: int
    workflow_name: str
    user_id: int | None
    status: RunState
    error: str | None
    created_at: str
    finished_at: str | None
    duration_seconds: float | None
    inputs: dict[str, Any]
    progress: dict[str, int]
    task_ids: list[int]
    waiting_for: list[dict[str, Any]]
    steps: list[StepOut]


class DemoInfo(_Out):
    domain: str
    title: str
    description: str
    steps: list[str]


class DemoList(_Out):
    demos: list[DemoInfo]


class DemoOut(_Out):
    domain: str
    title: str
    ok: bool
    total_seconds: float
    steps: list[dict[str, Any]]
    task_ids: list[int]
    providers: list[str]
    workflow_id: int | None
    run_id: int | None
    text: str
    summary: str


@bp.before_request
def require_object_body() -> None:
    """A body, when sent, must be a JSON object: spectree reads invalid JSON, null or a list as {},
    which the optional-field bodies here (runs, decisions) would accept."""
    if request.get_data(cache=True) and not isinstance(request.get_json(silent=True), dict):
        raise BadRequest("The request body must be a JSON object.")


def _controller():  # type: ignore[no-untyped-def]
    from app import services

    return services(current_app).controller


# -- workflows ------------------------------------------------------------------------------------


@bp.get("/workflows")
@spec.validate(query=WorkflowQuery, resp=Resp(HTTP_200=WorkflowList, **ERRORS), tags=["workflows"])
def list_workflows(query: WorkflowQuery) -> tuple[dict[str, Any], int]:
    """The caller's workflows (all workflows for admins), newest first, and the approvals waiting."""
    workflows = _controller().workflows
    return {"workflows": workflows.list_workflows(g.caller, limit=query.limit),
            "pending_approvals": workflows.pending_approvals(g.caller)}, 200


@bp.post("/workflows")
@spec.validate(json=WorkflowIn, resp=Resp(HTTP_201=WorkflowCreated, **ERRORS), tags=["workflows"])
def create_workflow(json: WorkflowIn) -> tuple[dict[str, Any], int]:
    """Save a workflow: {"description": "..."} has the business agent draft it (answered once drafted);
    {"definition": {...}} saves a definition as given (workflow_schema.py; 400 with its path when invalid)."""
    workflows = _controller().workflows
    if json.definition is not None:
        return workflows.create(g.caller, json.definition, name=json.name), 201
    created = workflows.create_from_request(g.caller, json.description, name=json.name)
    workflow = created.pop("workflow")
    return {**workflow, "draft": created}, 201


@bp.get("/workflows/<int:workflow_id>")
@spec.validate(resp=Resp(HTTP_200=WorkflowDetail, **ERRORS), tags=["workflows"])
def get_workflow(workflow_id: int) -> tuple[dict[str, Any], int]:
    """One workflow with its definition and recent runs."""
    return _controller().workflows.get(g.caller, workflow_id), 200


@bp.put("/workflows/<int:workflow_id>/schedule")
@spec.validate(json=ScheduleIn, resp=Resp(HTTP_200=WorkflowDetail, **ERRORS), tags=["workflows"])
def set_schedule(workflow_id: int, json: ScheduleIn) -> tuple[dict[str, Any], int]:
    """Set or change a workflow's schedule (400 when it cannot be read, or a required input would lack a value)."""
    return _controller().workflows.set_schedule(g.caller, workflow_id, json.schedule, json.inputs), 200


@bp.delete("/workflows/<int:workflow_id>/schedule")
@spec.validate(resp=Resp(HTTP_200=WorkflowDetail, **ERRORS), tags=["workflows"])
def remove_schedule(workflow_id: int) -> tuple[dict[str, Any], int]:
    """Remove a workflow's schedule: it runs only when started."""
    return _controller().workflows.set_schedule(g.caller, workflow_id, None), 200


@bp.post("/workflows/<int:workflow_id>/runs")
@spec.validate(json=RunIn, resp=Resp(HTTP_202=RunOut, **ERRORS), tags=["workflows"])
def start_run(workflow_id: int, json: RunIn) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Start a run and answer at once: its ready tasks are queued; the workflow loop drives the rest
    (400 naming the required inputs not given)."""
    run = _controller().workflows.run(g.caller, workflow_id, json.inputs, wait=False)
    return run, 202, {"Location": f"/api/workflow-runs/{run['id']}"}


# -- runs -----------------------------------------------------------------------------------------


@bp.get("/workflow-runs/<int:run_id>")
@spec.validate(query=WaitQuery, resp=Resp(HTTP_200=RunOut, **ERRORS), tags=["workflows"])
def get_run(run_id: int, query: WaitQuery) -> tuple[dict[str, Any], int]:
    """One run with its steps; ?wait=seconds long-polls while it is running (not while it waits for approval)."""
    workflows = _controller().workflows
    if query.wait:
        return workflows.wait_run(g.caller, run_id, query.wait), 200
    return workflows.get_run(g.caller, run_id), 200


@bp.post("/workflow-runs/<int:run_id>/approve")
@spec.validate(json=DecisionIn, resp=Resp(HTTP_200=RunOut, **ERRORS), tags=["workflows"])
def approve_run(run_id: int, json: DecisionIn) -> tuple[dict[str, Any], int]:
    """Approve a waiting approval step; the run goes on (its next tasks are queued)."""
    return _controller().workflows.approve(g.caller, run_id, json.step, note=json.note), 200


@bp.post("/workflow-runs/<int:run_id>/reject")
@spec.validate(json=DecisionIn, resp=Resp(HTTP_200=RunOut, **ERRORS), tags=["workflows"])
def reject_run(run_id: int, json: DecisionIn) -> tuple[dict[str, Any], int]:
    """Reject a waiting approval step: the run ends rejected, its steps not yet run cancelled."""
    return _controller().workflows.reject(g.caller, run_id, json.step, reason=json.note), 200


@bp.post("/workflow-runs/<int:run_id>/cancel")
@spec.validate(resp=Resp(HTTP_200=RunOut, **ERRORS), tags=["workflows"])
def cancel_run(run_id: int) -> tuple[dict[str, Any], int]:
    """End an unfinished run cancelled, with its open steps and their tasks."""
    return _controller().workflows.cancel_run(g.caller, run_id), 200


# -- demos ----------------------------------------------------------------------------------------


@bp.get("/demos")
@spec.validate(resp=Resp(HTTP_200=DemoList, **ERRORS), tags=["demos"])
def list_demos() -> tuple[dict[str, Any], int]:
    """The scripted demos on offer."""
    return {"demos": demo_runner.list_demos()}, 200


@bp.post("/demos/<domain>")
@spec.validate(resp=Resp(HTTP_200=DemoOut, **ERRORS), tags=["demos"])
def run_demo(domain: str) -> tuple[dict[str, Any], int]:
    """Run a demo (healthcare, financial, sports, business) as the caller; answers when it has run."""
    return _controller().demo(g.caller, domain).to_dict(), 200


api_bp.register_blueprint(bp)  # see the module docstring: before api_routes.bp is first registered

