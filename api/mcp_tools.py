"""The MCP tools: one per operation of the controller, typed, plus `ask` for plain language.

Each tool calls the controller (or the workflow engine, or the conversational Interface) exactly as
the REST views do, as the caller the transport authenticated: the local operator over stdio, the
Bearer key's user over HTTP. Errors of the controller become tool errors (`is_error` results with
"code: message"), never protocol failures. Results are the REST API's response models, so a tool's
output schema and the endpoint's OpenAPI schema say the same thing.
"""
from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

import health_monitor
from api.schemas import (
    VISIBLE,
    CommandOut,
    KeyList,
    MessageOut,
    PoolList,
    PoolOut,
    RestartOut,
    RevokedKey,
    RotatedKey,
    TaskList,
    TaskOut,
    TaskState,
    _Out,
)
from api.workflows import DemoOut, RunOut, WorkflowCreated, WorkflowDetail, WorkflowList
from errors import OperatorOSError
from models import TaskStatus
from telemetry import tracing
from values import Caller, Pool

logger = logging.getLogger(__name__)

USER_NAME = r"^[A-Za-z0-9_.@\-]{1,64}$"
"""A user name, as POST /api/users takes it."""

SERVER_NAME = "operatoros"
"""Name the server gives itself in the MCP handshake."""

INSTRUCTIONS = (
    "OperatorOS orchestrates AI agent pools (healthcare, financial, sports, business, general) over a "
    "durable task queue. Read the system with status, health and list_pools; queue domain work with "
    "submit_task (set wait_seconds to get the answer in the same call) and follow it with get_task; "
    "automate multi-step processes with the workflow tools. Use ask only for what no typed tool covers."
)
"""What the server tells a client's model about itself."""

MAX_WAIT_SECONDS = 60.0
"""Longest a tool waits for a task or run in one call (the REST API's ?wait limit)."""

PROGRESS_SECONDS = 1.0
"""How often a waiting tool sends a progress notification (when the client asked for progress)."""

DEMO_DOMAINS = Literal["healthcare", "financial", "sports", "business"]

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
"""Reads only."""
ADD = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
"""Creates something new each call (a task, a workflow, a run)."""


def _changes(*, destructive: bool, idempotent: bool) -> ToolAnnotations:
    return ToolAnnotations(read_only_hint=False, destructive_hint=destructive, idempotent_hint=idempotent,
                           open_world_hint=False)


TaskId = Annotated[int, Field(ge=1, le=2**63 - 1, description="The task's id (from submit_task or list_tasks).")]
RunId = Annotated[int, Field(ge=1, le=2**63 - 1, description="The workflow run's id (from run_workflow).")]
WorkflowId = Annotated[int, Field(ge=1, le=2**63 - 1, description="The workflow's id (from list_workflows).")]
WaitSeconds = Annotated[float, Field(ge=0.0, le=MAX_WAIT_SECONDS,
                                     description="Seconds to wait for the end before answering; 0 answers at once.")]
StepRef = Annotated[int | str | None, Field(
    description="Step position from 1, or its key; omit when only one step is waiting.")]
Note = Annotated[str | None, Field(max_length=1000, description="Why; kept with the decision.")]


class HistoryOut(_Out):
    """The last messages of one of the caller's conversation sessions, oldest first."""

    session_id: str | None
    messages: list[MessageOut]


class OperatorTools:
    """The tools over one Services object, acting as `local_caller` (stdio) or as each request's key (HTTP)."""

    def __init__(self, svc: Any, local_caller: Caller | None = None,
                 caller_for_token: Callable[[str], Caller | None] | None = None) -> None:
        self.svc = svc
        self.controller = svc.controller
        self.local_caller = local_caller
        self.caller_for_token = caller_for_token

    def caller(self, ctx: Context) -> Caller:
        """Who calls: the local operator over stdio; over HTTP the user of the request's Bearer key.

        When tracing is on, the SDK's `tools/call {tool}` span (current here) gains the transport and
        the user; a task the tool submits keeps that span's context, so its worker joins the trace.
        """
        if self.local_caller is not None:
            tracing.annotate(None, {"network.transport": "pipe", "operatoros.user.id": self.local_caller.user_id})
            return self.local_caller
        headers = ctx.headers or {}
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        caller = self.caller_for_token(token.strip()) if self.caller_for_token and scheme.lower() == "bearer" \
            else None
        if caller is None:  # the HTTP mount refuses such requests first; this is the second lock
            raise ToolError("unauthorized: send an API key as 'Authorization: Bearer <key>'.")
        tracing.annotate(None, {"network.transport": "tcp", "operatoros.user.id": caller.user_id})
        return caller

    # -- system ---------------------------------------------------------------------------------

    def status(self, ctx: Context) -> dict[str, Any]:
        """System overview: every pool with its size and live agents, tasks by status, machine (CPU,
        memory, disk), database, task backend, AI provider and any alerts. Start here."""
        caller = self.caller(ctx)
        with _tool_errors():
            return health_monitor.for_role(self.controller.status(), caller)

    def health(self, ctx: Context) -> dict[str, Any]:
        """Health check with detail: ok flag, machine metrics, database reachability and latency, queue,
        pools, provider circuit breakers and alerts. Use when something seems wrong."""
        caller = self.caller(ctx)
        with _tool_errors():
            return health_monitor.for_role(self.controller.health(), caller)

    def list_pools(self, ctx: Context, pool: Pool | None = None) -> PoolList:
        """Agent pools with desired size, limits, live/busy/failed agents, queued tasks, throughput,
        latency and error rate; one pool when `pool` is given."""
        self.caller(ctx)
        with _tool_errors():
            return PoolList(pools=self.controller.pool_status(_name(pool)))

    def scale_pool(self, ctx: Context, pool: Pool,
                   size: Annotated[int | None, Field(ge=0, le=1000, description="New desired size.")] = None,
                   delta: Annotated[int | None, Field(ge=-1000, le=1000,
                                                      description="Agents to add (or remove, negative).")] = None,
                   ) -> PoolOut:
        """Change how many agents a pool runs: give exactly one of `size` (absolute) or `delta`
        (relative). Scaling down drains agents. Admin only."""
        caller = self.caller(ctx)
        with _tool_errors():
            return PoolOut.model_validate(self.controller.scale(caller, _name(pool), size=size, delta=delta))

    def restart_pool(self, ctx: Context, pool: Pool | None = None) -> RestartOut:
        """Release the failed agents of one pool (or of all pools when `pool` is omitted) so fresh ones
        start; busy agents are not touched. Admin only."""
        caller = self.caller(ctx)
        with _tool_errors():
            return RestartOut.model_validate(self.controller.restart(caller, _name(pool)))

    # -- keys (admins) ----------------------------------------------------------------------------

    def list_keys(self, ctx: Context) -> KeyList:
        """Every user's API key by name, role and 8-character prefix, and whether it is active; never a
        key or its hash. Admin only."""
        caller = self._admin(ctx, "list keys")
        with _tool_errors():
            return KeyList.model_validate({"keys": self.svc.conversations.list_keys(caller)})

    def rotate_key(self, ctx: Context, name: Annotated[str, Field(pattern=USER_NAME, description="The user.")],
                   ) -> RotatedKey:
        """Give a user a fresh API key, returned once; the old key and every sign-in made with it stop
        working at once. Admin only."""
        caller = self._admin(ctx, "rotate keys")
        with _tool_errors():
            return RotatedKey.model_validate(self.svc.conversations.rotate_key(caller, name))

    def revoke_key(self, ctx: Context, name: Annotated[str, Field(pattern=USER_NAME, description="The user.")],
                   ) -> RevokedKey:
        """Remove a user's API key: it and every sign-in made with it stop working at once. Admin only."""
        caller = self._admin(ctx, "revoke keys")
        with _tool_errors():
            return RevokedKey.model_validate(self.svc.conversations.revoke_key(caller, name))

    def _admin(self, ctx: Context, what: str) -> Caller:
        caller = self.caller(ctx)
        if not caller.is_admin:
            raise ToolError(f"forbidden: only an admin may {what}; {caller.name} is not an admin.")
        return caller

    # -- tasks ----------------------------------------------------------------------------------

    async def submit_task(
        self, ctx: Context,
        text: Annotated[str, Field(min_length=1, max_length=20_000, pattern=VISIBLE,
                                   description="The work, in plain words (e.g. 'Analyze AAPL stock performance').")],
        pool: Annotated[Pool | None, Field(description="Pool to work it; omitted: chosen from the text.")] = None,
        priority: Annotated[int, Field(ge=-100, le=100, description="Higher runs first.")] = 0,
        wait_seconds: WaitSeconds = 0.0,
        idempotency_key: Annotated[str | None, Field(min_length=1, max_length=128, description=(
            "Same key, same task: a retry returns the task made first."))] = None,
    ) -> TaskOut:
        """Queue domain work for an agent pool (medical triage, market analysis, sports odds, business
        processes, general questions). Answers at once with the task (id, status) unless wait_seconds > 0;
        then it answers when the task ends or the wait runs out, with progress notifications meanwhile.
        Safety policies apply to every answer: a medical emergency gets emergency guidance first."""
        caller = self.caller(ctx)
        with _tool_errors():
            task = await anyio.to_thread.run_sync(lambda: self.controller.submit(
                caller, text, pool=_name(pool), priority=priority, idempotency_key=idempotency_key))
            if wait_seconds > 0:
                task = await self._waiting(ctx, caller, task["id"], wait_seconds,
                                           lambda: self.controller.see_through(caller, task, wait_seconds))
        return TaskOut.model_validate(task)

    async def get_task(self, ctx: Context, task_id: TaskId, wait_seconds: WaitSeconds = 0.0) -> TaskOut:
        """One task with its status, result (the agent's answer, with safety notes and, for healthcare,
        the triage level) or error; with wait_seconds, waits for it to end first."""
        caller = self.caller(ctx)
        with _tool_errors():
            if wait_seconds > 0:
                task = await self._waiting(ctx, caller, task_id, wait_seconds,
                                           lambda: self.controller.wait_for(caller, task_id, wait_seconds))
            else:
                task = await anyio.to_thread.run_sync(self.controller.get_task, caller, task_id)
        return TaskOut.model_validate(task)

    def list_tasks(
        self, ctx: Context, status: TaskState | None = None, pool: Pool | None = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
        before_id: Annotated[int | None, Field(ge=1, le=2**63 - 1,
                                               description="Page: tasks older than this id.")] = None,
    ) -> TaskList:
        """The caller's tasks (every task for an admin), newest first, filtered by status and pool."""
        caller = self.caller(ctx)
        with _tool_errors():
            tasks = self.controller.list_tasks(caller, status=status, pool=_name(pool), limit=limit,
                                               before_id=before_id)
        return TaskList.model_validate({"tasks": tasks,
                                        "next_before_id": tasks[-1]["id"] if len(tasks) == limit else None})

    def cancel_task(self, ctx: Context, task_id: TaskId) -> TaskOut:
        """Cancel a task: a queued one stops at once, a running one at its next check. A task that has
        already ended cannot be cancelled (a conflict error)."""
        caller = self.caller(ctx)
        with _tool_errors():
            return TaskOut.model_validate(self.controller.cancel_task(caller, task_id))

    def run_demo(self, ctx: Context, domain: DEMO_DOMAINS) -> DemoOut:
        """Run a scripted demo of one domain through the real path (its tasks and workflow are the
        caller's) and answer with its narrated report once it has run; takes seconds."""
        caller = self.caller(ctx)
        with _tool_errors():
            return DemoOut.model_validate(self.controller.demo(caller, domain).to_dict())

    # -- workflows ------------------------------------------------------------------------------

    def list_workflows(self, ctx: Context, limit: Annotated[int, Field(ge=1, le=200)] = 50) -> WorkflowList:
        """The caller's saved workflows (all for an admin), newest first, and the approvals waiting."""
        caller = self.caller(ctx)
        with _tool_errors():
            engine = self.controller.workflows
            return WorkflowList.model_validate({"workflows": engine.list_workflows(caller, limit=limit),
                                                "pending_approvals": engine.pending_approvals(caller)})

    def show_workflow(self, ctx: Context, workflow_id: WorkflowId) -> WorkflowDetail:
        """One workflow with its definition, steps and recent runs."""
        caller = self.caller(ctx)
        with _tool_errors():
            return WorkflowDetail.model_validate(self.controller.workflows.get(caller, workflow_id))

    def create_workflow(
        self, ctx: Context,
        description: Annotated[str | None, Field(min_length=1, max_length=4000, pattern=VISIBLE, description=(
            "The process in plain words; the business agent drafts the steps."))] = None,
        definition: Annotated[dict[str, Any] | None, Field(description=(
            "A ready workflow definition ({name, steps: [...]}) saved as given; instead of description."))] = None,
        name: Annotated[str | None, Field(min_length=1, max_length=200, pattern=VISIBLE)] = None,
    ) -> WorkflowCreated:
        """Save a workflow from a description (drafted by the business agent) or from a definition;
        give exactly one of the two. Run it with run_workflow."""
        caller = self.caller(ctx)
        if (description is None) == (definition is None):
            raise ToolError("bad_request: give exactly one of 'description' or 'definition'.")
        with _tool_errors():
            engine = self.controller.workflows
            if definition is not None:
                return WorkflowCreated.model_validate(engine.create(caller, definition, name=name))
            created = engine.create_from_request(caller, description, name=name)
            return WorkflowCreated.model_validate({**created.pop("workflow"), "draft": created})

    def run_workflow(
        self, ctx: Context, workflow_id: WorkflowId,
        inputs: Annotated[dict[str, Annotated[str, Field(max_length=2000)] | int | float] | None, Field(
            description="Values of the workflow's inputs, by name.")] = None,
    ) -> RunOut:
        """Start a run of a saved workflow with inputs. Over HTTP it answers at once (the server drives
        the run; follow it with show_run); over stdio it runs until it ends or waits for an approval."""
        caller = self.caller(ctx)
        with _tool_errors():
            return RunOut.model_validate(self.controller.workflows.run(
                caller, workflow_id, inputs, wait=self.local_caller is not None))

    def show_run(self, ctx: Context, run_id: RunId, wait_seconds: WaitSeconds = 0.0) -> RunOut:
        """One workflow run with its steps, their tasks and results, and any approval it waits for;
        with wait_seconds, waits while it is running (not while it waits for an approval)."""
        caller = self.caller(ctx)
        with _tool_errors():
            engine = self.controller.workflows
            run = engine.wait_run(caller, run_id, wait_seconds) if wait_seconds else engine.get_run(caller, run_id)
            return RunOut.model_validate(run)

    def approve_step(self, ctx: Context, run_id: RunId, step: StepRef = None, note: Note = None) -> RunOut:
        """Approve a run's waiting approval step; the run goes on with its next steps."""
        caller = self.caller(ctx)
        with _tool_errors():
            return RunOut.model_validate(self.controller.workflows.approve(caller, run_id, step, note=note))

    def reject_step(self, ctx: Context, run_id: RunId, step: StepRef = None, note: Note = None) -> RunOut:
        """Reject a run's waiting approval step: the run ends rejected and its remaining steps are cancelled."""
        caller = self.caller(ctx)
        with _tool_errors():
            return RunOut.model_validate(self.controller.workflows.reject(caller, run_id, step, reason=note))

    def cancel_run(self, ctx: Context, run_id: RunId) -> RunOut:
        """Cancel an unfinished workflow run with its open steps and their tasks."""
        caller = self.caller(ctx)
        with _tool_errors():
            return RunOut.model_validate(self.controller.workflows.cancel_run(caller, run_id))

    # -- conversation ---------------------------------------------------------------------------

    def history(self, ctx: Context,
                session_id: Annotated[str | None, Field(min_length=1, max_length=64, description=(
                    "A session of the caller's; omitted: the latest."))] = None,
                limit: Annotated[int, Field(ge=1, le=500)] = 50) -> HistoryOut:
        """The conversation history (requests made with `ask`, and the replies) of one of the caller's
        sessions, oldest first."""
        caller = self.caller(ctx)
        conversations = self.svc.conversations
        with _tool_errors():
            if session_id is None:
                sessions = conversations.list_sessions(caller)
                if not sessions:
                    return HistoryOut(session_id=None, messages=[])
                session_id = sessions[0]["id"]
            messages = conversations.history(caller, session_id, limit=limit)
        return HistoryOut.model_validate({"session_id": session_id, "messages": messages})

    def ask(self, ctx: Context,
            text: Annotated[str, Field(min_length=1, max_length=4000, pattern=VISIBLE, description=(
                "A request in plain words, e.g. 'scale healthcare to 4 and show status'."))],
            session_id: Annotated[str | None, Field(min_length=1, max_length=64)] = None,
            dry_run: Annotated[bool, Field(description="Say what would be done; change nothing.")] = False,
            ) -> CommandOut:
        """Plain-language request, answered with the CLI's JSON reply (ok, intent, args, response, data).
        For anything the typed tools do not cover (help, whoami, compound requests, follow-ups in a
        session); prefer a typed tool when one fits. It can change things, as the CLI can."""
        caller = self.caller(ctx)
        return CommandOut.model_validate(self.svc.interface.handle(text, caller, session_id, dry_run=dry_run))

    # -- helpers --------------------------------------------------------------------------------

    async def _waiting(self, ctx: Context, caller: Caller, task_id: int, timeout: float,
                       wait: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run the blocking `wait` in a worker thread; meanwhile, every PROGRESS_SECONDS, tell a client
        that asked for progress how long it has waited and what the task's status is."""
        started = time.monotonic()

        async def progress() -> None:
            while True:
                await anyio.sleep(PROGRESS_SECONDS)
                task = await anyio.to_thread.run_sync(self.controller.get_task, caller, task_id)
                if TaskStatus(task["status"]).finished:
                    return
                waited = min(time.monotonic() - started, timeout)
                await ctx.report_progress(waited, timeout, f"task {task_id} is {task['status']}")

        async with anyio.create_task_group() as group:
            group.start_soon(progress)  # report_progress sends nothing unless the client gave a progress token
            result = await anyio.to_thread.run_sync(wait)
            group.cancel_scope.cancel()
        return result

    def register(self, server: MCPServer) -> None:
        """Add every tool to `server` with its annotations."""
        table: list[tuple[Callable[..., Any], ToolAnnotations]] = [
            (self.status, READ), (self.health, READ), (self.list_pools, READ),
            (self.scale_pool, _changes(destructive=True, idempotent=False)),
            (self.restart_pool, _changes(destructive=True, idempotent=True)),
            (self.submit_task, ADD), (self.get_task, READ), (self.list_tasks, READ),
            (self.cancel_task, _changes(destructive=True, idempotent=True)),
            (self.run_demo, ADD), (self.list_workflows, READ), (self.show_workflow, READ),
            (self.create_workflow, ADD), (self.run_workflow, ADD), (self.show_run, READ),
            (self.approve_step, _changes(destructive=False, idempotent=False)),
            (self.reject_step, _changes(destructive=True, idempotent=False)),
            (self.cancel_run, _changes(destructive=True, idempotent=True)),
            (self.history, READ), (self.ask, _changes(destructive=True, idempotent=False)),
            (self.list_keys, READ), (self.rotate_key, _changes(destructive=True, idempotent=False)),
            (self.revoke_key, _changes(destructive=True, idempotent=True)),
        ]
        for function, hints in table:
            server.add_tool(function, annotations=hints, structured_output=True)


def build_server(svc: Any, *, local_caller: Caller | None = None,
                 caller_for_token: Callable[[str], Caller | None] | None = None) -> MCPServer:
    """An MCPServer with every OperatorOS tool, acting as `local_caller` or as each request's key."""
    server: MCPServer = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS, log_level="WARNING")
    OperatorTools(svc, local_caller, caller_for_token).register(server)
    return server


@contextlib.contextmanager
def _tool_errors() -> Iterator[None]:
    """OperatorOS's errors become tool errors reading 'code: message'."""
    try:
        yield
    except OperatorOSError as exc:
        raise ToolError(f"{exc.code}: {exc.message}") from exc


def _name(pool: Pool | None) -> str | None:
    return None if pool is None else Pool(pool).value
