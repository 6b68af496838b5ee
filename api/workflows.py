"""REST endpoints of workflows, their runs and the demos (README: REST API), JSON only.

api_routes nests this blueprint under its /api blueprint, so these routes share its Bearer-key
authentication, rate limit, JSON errors and OpenAPI document; this module knows nothing of api_routes.
Ownership is the engine's: a user sees and acts on their own workflows and runs only (anything else
is 404); an admin sees and acts on all.
"""
from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from flask import Blueprint, current_app, g, request
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, model_validator
from pydantic.json_schema import SkipJsonSchema
from spectree import Response as Resp

import demo_runner
from agent_master_controller import AgentMasterController
from api.schemas import ERRORS, VISIBLE, JsonInt, WaitQuery, spec
from errors import BadRequest
from services import from_app

logger = logging.getLogger(__name__)

LIST_LIMIT = 200
"""Most workflows one GET /api/workflows returns."""

NOTE_CHARS = 1000
"""Longest note kept with a decision."""

WORKFLOW_PARAMETER = {"workflow_id": "The workflow's id."}
"""Description of the {workflow_id} path parameter."""

RUN_PARAMETER = {"run_id": "The run's id."}
"""Description of the {run_id} path parameter."""

bp = Blueprint("workflows", __name__)
"""Nested by api_routes under its bp: the '/api' prefix, its authentication and error handling."""

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
    limit: int = Field(default=50, ge=1, le=LIST_LIMIT, description="Most workflows returned.")


class RunSummary(_Out):
    """A run in brief."""

    id: int = Field(examples=[7])
    status: RunState
    created_at: str = Field(description="ISO 8601 time, UTC.", examples=["2026-12-07T09:00:00+00:00"])
    workflow_id: int | None = None
    workflow_name: str | None = None
    user_id: int | None = None
    error: str | None = None
    finished_at: str | None = None
    duration_seconds: float | None = None


class WorkflowOut(_Out):
    """A saved workflow."""

    id: int = Field(examples=[3])
    name: str = Field(examples=["Weekly sales report"])
    description: str | None
    user_id: int | None = Field(description="Its owner.")
    template: str | None = Field(description="The template it was made from, if any.")
    schedule: str | None = Field(description="Cron expression of its scheduled runs.", examples=["0 9 * * 1"])
    next_run_at: str | None = Field(description="When the schedule runs it next.")
    steps: int = Field(description="Number of steps.")
    inputs: list[str] = Field(description="Names of the inputs a run takes.", examples=[["week"]])
    required_inputs: list[str] = Field(description="Inputs a run must be given (or have a default).")
    schedule_needs: list[str] = Field(description="Required inputs a scheduled run would lack (no default).")
    created_at: str
    updated_at: str
    last_run: RunSummary | None = None


class WorkflowDetail(WorkflowOut):
    """A workflow with its definition and recent runs."""

    definition: dict[str, Any] = Field(description="The workflow definition (version, steps, inputs, schedule).")
    step_list: list[dict[str, Any]] = Field(description="Its steps in order: n, key, kind, title, owner, depends_on.")
    runs: list[RunSummary]
    last_run: RunSummary | None


class WorkflowDeleted(_Out):
    """A deleted workflow: its id, and its unfinished runs cancelled before it went."""

    id: int
    deleted: bool
    runs_cancelled: list[int]


class WorkflowDraft(_Out):
    """How the business agent drafted a workflow from a description."""

    definition_source: str = Field(examples=["business agent", "built-in workflow builder"])
    note: str | None = None
    task: dict[str, Any] | None = Field(default=None, description="The business task that drafted it.")


class WorkflowCreated(WorkflowDetail):
    draft: WorkflowDraft | None = Field(
        default=None, description="With 'description': the business task, definition_source and note.")


class ApprovalWaiting(_Out):
    """An approval step waiting for a decision."""

    run_id: int
    workflow_id: int
    step: int = Field(description="Step position from 1.")
    key: str = Field(examples=["manager_approval"])
    title: str | None
    approvers: list[str] = Field(examples=[["finance manager"]])


class WorkflowList(_Out):
    workflows: list[WorkflowOut]
    pending_approvals: list[ApprovalWaiting]


class RunIn(_In):
    inputs: dict[str, InputValue] = Field(default=None,  # type: ignore[assignment,arg-type]
                                          description="Values of the workflow's inputs, by name.",
                                          examples=[{"week": "2026-W49"}])


_SCHEDULE_INPUTS = "Values the scheduled runs use, saved as the inputs' defaults; every required input needs one."


class ScheduleIn(_In):
    """A schedule for a workflow's runs."""

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
    """One step of a run."""

    n: int = Field(description="Position from 1.")
    key: str = Field(examples=["summarise_sales"])
    title: str | None
    kind: Literal["task", "notify", "approval", "condition"]
    status: StepState
    task_id: int | None = Field(description="The task a task step queued.")
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    seconds: float | None
    depends_on: list[str] | None = None
    owner: str | None = None
    decided_by: int | None = Field(default=None, description="Id of the user who decided an approval step.")
    started_at: str | None = None
    finished_at: str | None = None


class RunOut(_Out):
    """A workflow run and its steps."""

    id: int = Field(examples=[7])
    workflow_id: int
    workflow_name: str
    user_id: int | None
    status: RunState
    error: str | None
    created_at: str
    finished_at: str | None
    duration_seconds: float | None
    inputs: dict[str, Any]
    progress: dict[str, int] = Field(examples=[{"done": 1, "finished": 1, "total": 3}])
    task_ids: list[int]
    waiting_for: list[dict[str, Any]] = Field(description="The approval steps waiting for a decision.")
    steps: list[StepOut]
    trigger: str | None = Field(default=None, examples=["manual", "schedule"])
    started_by: str | None = None
    scheduled_for: str | None = None
    missing_inputs: list[str] | None = None


class DemoInfo(_Out):
    """A demo on offer."""

    domain: str = Field(examples=["healthcare"])
    title: str
    description: str
    steps: list[str]


class DemoList(_Out):
    demos: list[DemoInfo]


class DemoStep(_Out):
    """What one step of a demo did."""

    n: int
    title: str
    kind: str = Field(description="'task', or the workflow step's kind.")
    task_id: int | None
    pool: str | None
    status: str
    provider: str | None = Field(description="Who answered: 'local' for the built-in analyzers.")
    seconds: float | None
    excerpt: str = Field(default="", description="The first lines of the reply.")


class DemoOut(_Out):
    """What a demo ran, and its narration."""

    domain: str
    title: str
    ok: bool = Field(description="Every step succeeded.")
    total_seconds: float
    steps: list[DemoStep]
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


def _controller() -> AgentMasterController:
    return from_app(current_app).controller


# -- workflows ------------------------------------------------------------------------------------


@bp.get("/workflows")
@spec.validate(query=WorkflowQuery, resp=Resp(HTTP_200=WorkflowList, **ERRORS), tags=["workflows"],
               operation_id="list_workflows")
def list_workflows(query: WorkflowQuery) -> tuple[dict[str, Any], int]:
    """The caller's workflows (all workflows for admins), newest first, and the approvals waiting."""
    workflows = _controller().workflows
    return {"workflows": workflows.list_workflows(g.caller, limit=query.limit),
            "pending_approvals": workflows.pending_approvals(g.caller)}, 200


@bp.post("/workflows")
@spec.validate(json=WorkflowIn, resp=Resp(HTTP_201=WorkflowCreated, **ERRORS), tags=["workflows"],
               operation_id="create_workflow")
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
@spec.validate(resp=Resp(HTTP_200=WorkflowDetail, **ERRORS), tags=["workflows"], operation_id="get_workflow",
               path_parameter_descriptions=WORKFLOW_PARAMETER)
def get_workflow(workflow_id: int) -> tuple[dict[str, Any], int]:
    """One workflow with its definition and recent runs."""
    return _controller().workflows.get(g.caller, workflow_id), 200


@bp.delete("/workflows/<int:workflow_id>")
@spec.validate(resp=Resp(HTTP_200=WorkflowDeleted, **ERRORS), tags=["workflows"], operation_id="delete_workflow",
               path_parameter_descriptions=WORKFLOW_PARAMETER)
def delete_workflow(workflow_id: int) -> tuple[dict[str, Any], int]:
    """Delete a workflow (its owner or an admin) and its runs; unfinished runs are cancelled first."""
    return _controller().workflows.delete(g.caller, workflow_id), 200


@bp.put("/workflows/<int:workflow_id>/schedule")
@spec.validate(json=ScheduleIn, resp=Resp(HTTP_200=WorkflowDetail, **ERRORS), tags=["workflows"],
               operation_id="set_workflow_schedule", path_parameter_descriptions=WORKFLOW_PARAMETER)
def set_schedule(workflow_id: int, json: ScheduleIn) -> tuple[dict[str, Any], int]:
    """Set or change a workflow's schedule (400 when it cannot be read, or a required input would lack a value)."""
    return _controller().workflows.set_schedule(g.caller, workflow_id, json.schedule, json.inputs), 200


@bp.delete("/workflows/<int:workflow_id>/schedule")
@spec.validate(resp=Resp(HTTP_200=WorkflowDetail, **ERRORS), tags=["workflows"],
               operation_id="remove_workflow_schedule", path_parameter_descriptions=WORKFLOW_PARAMETER)
def remove_schedule(workflow_id: int) -> tuple[dict[str, Any], int]:
    """Remove a workflow's schedule: it runs only when started."""
    return _controller().workflows.set_schedule(g.caller, workflow_id, None), 200


@bp.post("/workflows/<int:workflow_id>/runs")
@spec.validate(json=RunIn, resp=Resp(HTTP_202=RunOut, **ERRORS), tags=["workflows"],
               operation_id="start_workflow_run", path_parameter_descriptions=WORKFLOW_PARAMETER)
def start_run(workflow_id: int, json: RunIn) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Start a run and answer at once: its ready tasks are queued; the workflow loop drives the rest
    (400 naming the required inputs not given)."""
    run = _controller().workflows.run(g.caller, workflow_id, json.inputs, wait=False)
    return run, 202, {"Location": f"/api/workflow-runs/{run['id']}"}


# -- runs -----------------------------------------------------------------------------------------


@bp.get("/workflow-runs/<int:run_id>")
@spec.validate(query=WaitQuery, resp=Resp(HTTP_200=RunOut, **ERRORS), tags=["workflows"],
               operation_id="get_workflow_run", path_parameter_descriptions=RUN_PARAMETER)
def get_run(run_id: int, query: WaitQuery) -> tuple[dict[str, Any], int]:
    """One run with its steps; ?wait=seconds long-polls while it is running (not while it waits for approval)."""
    workflows = _controller().workflows
    if query.wait:
        return workflows.wait_run(g.caller, run_id, query.wait), 200
    return workflows.get_run(g.caller, run_id), 200


@bp.post("/workflow-runs/<int:run_id>/approve")
@spec.validate(json=DecisionIn, resp=Resp(HTTP_200=RunOut, **ERRORS), tags=["workflows"],
               operation_id="approve_workflow_run", path_parameter_descriptions=RUN_PARAMETER)
def approve_run(run_id: int, json: DecisionIn) -> tuple[dict[str, Any], int]:
    """Approve a waiting approval step; the run goes on (its next tasks are queued)."""
    return _controller().workflows.approve(g.caller, run_id, json.step, note=json.note), 200


@bp.post("/workflow-runs/<int:run_id>/reject")
@spec.validate(json=DecisionIn, resp=Resp(HTTP_200=RunOut, **ERRORS), tags=["workflows"],
               operation_id="reject_workflow_run", path_parameter_descriptions=RUN_PARAMETER)
def reject_run(run_id: int, json: DecisionIn) -> tuple[dict[str, Any], int]:
    """Reject a waiting approval step: the run ends rejected, its steps not yet run cancelled."""
    return _controller().workflows.reject(g.caller, run_id, json.step, reason=json.note), 200


@bp.post("/workflow-runs/<int:run_id>/cancel")
@spec.validate(resp=Resp(HTTP_200=RunOut, **ERRORS), tags=["workflows"], operation_id="cancel_workflow_run",
               path_parameter_descriptions=RUN_PARAMETER)
def cancel_run(run_id: int) -> tuple[dict[str, Any], int]:
    """End an unfinished run cancelled, with its open steps and their tasks."""
    return _controller().workflows.cancel_run(g.caller, run_id), 200


# -- demos ----------------------------------------------------------------------------------------


@bp.get("/demos")
@spec.validate(resp=Resp(HTTP_200=DemoList, **ERRORS), tags=["demos"], operation_id="list_demos")
def list_demos() -> tuple[dict[str, Any], int]:
    """The scripted demos on offer."""
    return {"demos": demo_runner.list_demos()}, 200


@bp.post("/demos/<domain>")
@spec.validate(resp=Resp(HTTP_200=DemoOut, **ERRORS), tags=["demos"], operation_id="run_demo",
               path_parameter_descriptions={"domain": "healthcare, financial, sports or business."})
def run_demo(domain: str) -> tuple[dict[str, Any], int]:
    """Run a demo (healthcare, financial, sports, business) as the caller; answers when it has run."""
    return _controller().demo(g.caller, domain).to_dict(), 200


