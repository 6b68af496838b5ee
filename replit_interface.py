"""Formats replies as short conversational text or the contract's JSON object; binds user and session."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import IO, Any

import command_processor
from agent_master_controller import AgentMasterController
from commands.resolver import ModelResolver
from commands.resolver import note as interpreted_note
from commands.vocabulary import STATUS_WORDS
from conversation_manager import SESSION_STATE_KEYS, WITHHELD, ConversationManager
from errors import OperatorOSError
from storage.requests import format_reply as format_database
from storage.requests import planned as database_plan
from storage.stats import format_summary
from values import Caller, Command
from workflows import templates as workflow_templates
from workflows.runs import step_note

logger = logging.getLogger(__name__)

HELP_TOPICS: dict[str, tuple[str, list[str]]] = {
    "status": ("See the whole system at a glance.", ["Show me the system status"]),
    "health": ("Machine and database health.", ["How healthy is the system?", "Show CPU and memory"]),
    "pools": ("Agent pools and their sizes.", ["Show the pools", "How is the financial pool doing?"]),
    "scaling": ("Change a pool's size.", ["Scale up the healthcare agent pool", "Scale financial to 4"]),
    "tasks": ("Domain work for the agents, and the queue.", ["Analyze AAPL stock performance", "List my tasks"]),
    "demos": ("Scripted demos through the real path.", [
        "Show me a healthcare demo", "Show me a financial demo", "Show me a sports demo", "Show me a business demo"]),
    "workflows": ("Business workflows: saved, run step by step, with approvals.", [
        "Help me automate my project management workflow", "list the workflows", "show workflow 1",
        "run workflow 1 with project_name=Website relaunch, goal=New site live, deadline=2026-09-30",
        "schedule workflow 1 every Monday at 9am", "unschedule workflow 1", "show run 1", "approve run 1 step 2",
        "reject run 1 step 2", "cancel run 1"]),
    "history": ("This conversation so far.", ["show my history"]),
    "account": ("Who you are, and signing in.", ["whoami", "log in as ann", "register bob", "log out"]),
    "database": ("The database: its figures, and backups (admins).", [
        "database status", "back up the database", "restore the database from PATH (tells you the command)"]),
}
"""What `help` explains, with examples."""

NEW_SESSION = "new"
"""The session id that asks for a fresh conversation (`--session new`, POST /api/command)."""

_DECLINED_WHY = {
    "question": "you asked a question, so I only looked",
    "negation": "you said not to",
    "hypothetical": "you described it as a possibility, so I only looked",
    "explain": "you asked how it works, so here is how",
    "read_only": "the request asked for no changes",
}
"""Why a changing command was not carried out (commands/mood.py), in the reply's words."""

CONVERSATION_INTENTS = ("help", "history", "whoami", "login", "logout")
"""Intents the conversation answers itself, without the controller."""


class Interface:
    """The conversational door shared by the CLI and POST /api/command."""

    def __init__(self, controller: AgentMasterController, conversations: ConversationManager) -> None:
        self.controller = controller
        self.conversations = conversations
        self.resolver = ModelResolver(controller.settings, getattr(controller.executor, "chain", None))
        """Offers what the rules cannot resolve to a function-calling model (commands/resolver.py)."""

    def handle(self, text: str, caller: Caller, session_id: str | None = None, *,
               dry_run: bool = False, background: bool = False,
               narrate_to: IO[str] | None = None, local_operator: bool = False) -> dict[str, Any]:
        """Understand `text`, carry it out (unless dry_run) and return the contract's JSON object.

        1. Open the session (the caller's latest unless one is named); a dry run opens nothing new.
        2. A message answering a sign-in question is an API key: checked, never recorded or parsed;
           any other message has its key-shaped strings withheld before anything reads it.
        3. Parse with the session's context, run each command as the user the session acts as.
        4. Record both turns and the updated context.
        """
        fresh = session_id == NEW_SESSION
        session_id = None if fresh else session_id
        try:
            if dry_run and not session_id:  # a dry run reads the latest conversation and creates none
                session_id = None if fresh else self.conversations.latest_session(caller)
            else:
                session_id = self.conversations.open_session(caller, session_id, new=fresh)
        except OperatorOSError as exc:
            return failure_reply(exc, caller.name, session_id)
        context = self.conversations.context(session_id) if session_id else {}
        if context.get("pending_auth") and session_id and not dry_run:
            return self._sign_in_answer(text, caller, session_id)
        text = self.conversations.redact(text)
        actor = self.conversations.acting_caller(caller, context, None if dry_run else session_id)
        parse_context = {k: v for k, v in context.items() if k not in SESSION_STATE_KEYS}
        commands = self.resolver.resolve(text, parse_context, command_processor.parse(text, parse_context),
                                         actor.user_id)
        if not dry_run and any(_starts_over(c) for c in commands):
            session_id = self.conversations.open_session(caller, None, new=True)
            parse_context = {}
        if not dry_run and any(c.intent in ("status", "health") for c in commands):
            import health_monitor

            health_monitor.start_cpu_sample()
        self._local_operator = local_operator and actor == caller
        steps = [self._run(c, actor, session_id, dry_run=dry_run, background=background, owner=caller,
                           narrate_to=narrate_to) for c in commands]
        reply: dict[str, Any] = steps[0] if len(steps) == 1 else {
            "ok": all(s["ok"] for s in steps), "intent": "multi", "args": {},
            "response": "\n\n".join(s["response"] for s in steps), "data": {}, "steps": steps,
        }
        reply["session_id"] = session_id
        reply["user"] = actor.name
        if not dry_run and session_id:
            task_id = next((s["data"]["task"]["id"] for s in reversed(steps) if s["data"].get("task")), None)
            # The sign-in state a step may have changed is kept as stored (record_turn reads it).
            self.conversations.record_turn(session_id, text, reply["response"], reply["intent"], task_id,
                                           command_processor.update_context(parse_context, commands, task_id))
        return reply

    def _sign_in_answer(self, key: str, caller: Caller, session_id: str) -> dict[str, Any]:
        reply: dict[str, Any] = {"ok": True, "intent": "login", "args": {}, "response": "", "data": {},
                                 "session_id": session_id, "user": caller.name}
        try:
            reply["response"] = self.conversations.complete_sign_in(caller, session_id, key)
        except OperatorOSError as exc:
            reply.update(ok=False, response=exc.message, error={"code": exc.code, "message": exc.message})
        actor = self.conversations.acting_caller(caller, self.conversations.context(session_id), session_id)
        reply["user"] = actor.name
        self.conversations.record_turn(session_id, WITHHELD, reply["response"], "login")
        return reply

    def _run(self, command: Command, caller: Caller, session_id: str | None, *, dry_run: bool,
             background: bool, owner: Caller, narrate_to: IO[str] | None = None) -> dict[str, Any]:
        reply: dict[str, Any] = {"ok": True, "intent": command.intent, "args": dict(command.args),
                                 "response": "", "data": {}}
        try:
            if command.intent == "clarify":
                return self._clarify(command, reply)
            if dry_run:
                shown = {k: v for k, v in command.args.items() if k not in ("declined", "interpreted")}
                what = (database_plan(self.controller.settings.home, str(shown.get("action"))) if
                        command.intent == "database" else f"run '{command.intent}'{_args_text(shown)}")
                reply["response"] = _declined_note(command) + f"Dry run: I would {what}. Nothing was changed."
                reply["data"] = {"dry_run": True}
                return reply
            if command.intent in CONVERSATION_INTENTS:
                reply["data"] = self._conversation(command, caller, owner, session_id)
                reply["response"] = _declined_note(command) + reply["data"].pop("text")
                return reply
            outcome = self.controller.execute(command, caller, background=background, session_id=session_id,
                                              narrate_to=narrate_to)
            reply["data"] = outcome.data
            reply["response"] = _declined_note(command) + FORMATTERS.get(command.intent, _format_generic)(
                command, outcome.data)
            task = outcome.data.get("task")
            if task and task.get("status") == "failed":
                reply.update(ok=False, error={"code": "task_failed", "message": task.get("error") or "failed"})
            demo = outcome.data.get("demo")
            if demo and not demo["ok"]:
                reply.update(ok=False, error={"code": "demo_failed", "message": reply["response"].split("\n")[0]})
        except OperatorOSError as exc:
            reply.update(ok=False, error={"code": exc.code, "message": exc.message}, response=exc.message)
        return reply

    @staticmethod
    def _clarify(command: Command, reply: dict[str, Any]) -> dict[str, Any]:
        question = command.args.get("question") or "What would you like to do?"
        choices = [str(c) for c in command.args.get("choices") or []]
        reason = command.args.get("reason")
        reply["data"] = {"question": question, "choices": choices, "reason": reason}
        how = ("" if not choices or reason == "not_available" else
               "\nAnswer with a number of agents, or 'option N' for a choice." if reason == "missing_amount" else
               "\nAnswer with a task number, or 'option N' for a choice." if reason == "missing_task" else
               "\nAnswer with the number or the name of a choice.")
        reply["response"] = question + ("\n" + "\n".join(f"  {i}. {c}" for i, c in enumerate(choices, 1))
                                        if choices else "") + how
        if reason in ("not_understood", "too_long", "not_available", "no_such_choice"):
            code = "not_understood" if reason == "too_long" else reason
            reply.update(ok=False, error={"code": code, "message": question})
        return reply

    def _conversation(self, command: Command, caller: Caller, owner: Caller,
                      session_id: str | None) -> dict[str, Any]:
        """help, history, whoami, login and logout: answered by the conversation itself.

        `caller` is who the session acts as; `owner` is who opened it (whose history it is).
        """
        intent, args = command.intent, command.args
        if intent == "help":
            return {"text": format_help(command, {}), "topic": args.get("topic")}
        if session_id is None:
            raise OperatorOSError("This needs a conversation session.")
        if intent == "history" and args.get("action") == "new":
            return {"text": f"Started a new conversation (session {session_id}); nothing from the earlier one "
                            "is carried over.", "session_id": session_id}
        if intent == "history":
            messages = self.conversations.history(owner, session_id, limit=20)
            return {"text": format_history(messages), "messages": messages}
        if intent == "whoami":
            role = "admin" if caller.is_admin else "user"
            if getattr(self, "_local_operator", False):  # the CLI on this machine: admin as its operator
                stored = self.conversations.stored_role(caller)
                return {"text": f"You are the local operator (admin), in the conversation of {caller.name} "
                                f"(whose stored role is {stored}), session {session_id}.",
                        "name": caller.name, "role": role, "local_operator": True, "stored_role": stored}
            return {"text": f"You are {caller.name} ({role}), in session {session_id}.", "name": caller.name,
                    "role": role}
        if intent == "login":
            name = str(args.get("name") or "")
            return {"text": self.conversations.begin_sign_in(owner, session_id, name, bool(args.get("register"))),
                    "awaiting": "api_key"}
        return {"text": self.conversations.sign_out(session_id)}


def failure_reply(exc: OperatorOSError, user: str | None, session_id: str | None) -> dict[str, Any]:
    """The contract's JSON object for a request that failed before any command ran."""
    return {"ok": False, "intent": "", "args": {}, "response": exc.message, "data": {},
            "session_id": session_id, "user": user, "error": {"code": exc.code, "message": exc.message}}


def format_status(command: Command, data: dict[str, Any]) -> str:
    """The status overview: one line first, then aligned tables."""
    tasks = data["tasks"]
    system = data.get("system")  # host figures and the database URL are for admins only
    pools = data["pools"]
    live = sum(p["live_agents"] for p in pools)
    desired = sum(p["desired_size"] for p in pools)
    head = (f"OperatorOS is up: {len(pools)} pools, {live} of {desired} agents live, "
            f"{tasks['queued']} queued and {tasks['running']} running tasks.")
    pool_table = table(
        ["pool", "desired", "live", "busy", "failed", "queued"],
        [[p["name"], p["desired_size"], p["live_agents"], p["busy_agents"], p["failed_agents"],
          p["queued_tasks"]] for p in pools],
    )
    task_line = "Tasks: " + ", ".join(f"{k} {v}" for k, v in tasks.items())
    system_line = (f"Machine: CPU {system['cpu_percent']:.0f}% of {system['cpu_count']} cores, "
                   f"memory {system['memory_percent']:.0f}% ({system['memory_used_mb']} of "
                   f"{system['memory_total_mb']} MB), disk {system['disk_percent']:.0f}% used, "
                   f"load {system['load_average'][0]}") if system else "Machine: shown to admins only"
    url = data["database"].get("url")
    db_line = f"Database: {data['database']['dialect']}" + (f" at {url}" if url else "")
    provider = data.get("provider", {})
    backend = (f"Task backend: {data['task_backend']}; AI provider: {provider.get('configured', 'local')}"
               + (" (built-in analyzers, offline)" if provider.get("configured") == "local" else
                  f" ({provider.get('model')})"))
    lines = [head, "", pool_table, "", task_line, system_line, db_line, backend]
    if data.get("storage"):  # admins only
        lines += format_summary(data["storage"])
    alerts = data.get("alerts") or []
    if alerts:
        lines += ["", f"Alerts ({len(alerts)}):"] + [f"  [{a['severity']}] {a['message']}" for a in alerts]
    return "\n".join(lines)


def format_health(command: Command, data: dict[str, Any]) -> str:
    """Machine and database health."""
    system, database = data.get("system"), data["database"]  # host figures and URL: admins only
    head = "Healthy." if data["ok"] else "Unhealthy: the database does not answer."
    rows = [
        ["cpu", f"{system['cpu_percent']:.0f}%", f"{system['cpu_count']} cores, load {system['load_average'][0]}"],
        ["memory", f"{system['memory_percent']:.0f}%", f"{system['memory_used_mb']} of {system['memory_total_mb']} MB"],
        ["disk", f"{system['disk_percent']:.0f}%", f"{system['disk_free_gb']} GB free"],
    ] if system else []
    rows.append(["database", "ok" if database["ok"] else "down",
                 f"{database['dialect']}, {database.get('latency_ms', '-')} ms"
                 + (f", {database['url']}" if database.get("url") else "")])
    provider = data.get("provider")
    if provider:
        states = ", ".join(f"{k} {v}" for k, v in provider["breakers"].items()) or "not called yet"
        rows.append(["provider", provider["configured"], f"circuits: {states}"])
    lines = [head, "", table(["check", "value", "detail"], rows)]
    alerts = data.get("alerts") or []
    if alerts:
        lines += ["", f"Alerts ({len(alerts)}):"] + [f"  [{a['severity']}] {a['message']}" for a in alerts]
    return "\n".join(lines)


def format_pools(command: Command, data: dict[str, Any]) -> str:
    """Pool sizes and load."""
    pools = data["pools"]
    window = next((p.get("window_seconds") for p in pools if p.get("window_seconds")), None)
    over = f", performance over the last {round(window / 60)} minutes" if window else ""
    head = f"{len(pools)} pool{'s' if len(pools) != 1 else ''}{over}:"
    return "\n".join([head, "", table(
        ["pool", "desired", "min", "max", "live", "busy", "failed", "queued", "tasks/min", "p50 ms", "p95 ms",
         "error rate"],
        [[p["name"], p["desired_size"], p["min_size"], p["max_size"], p["live_agents"], p["busy_agents"],
          p["failed_agents"], p["queued_tasks"], _figure(p.get("throughput_per_minute")),
          _figure(p.get("latency_p50_ms")), _figure(p.get("latency_p95_ms")), _rate(p.get("error_rate"))]
         for p in pools],
    ), "", "tasks/min: finished tasks per minute; p50/p95: task latency; error rate: failed share of finished "
           "tasks ('-': none finished in the window)."])


def _figure(value: Any) -> str:
    return "-" if value is None else f"{value:g}"


def _rate(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"


def format_task(command: Command, data: dict[str, Any]) -> str:
    """One task: where it stands, and its result or error."""
    task = data["task"]
    status = task["status"]
    head = {
        "queued": f"Task {task['id']} is queued for the {task['pool']} pool.",
        "running": f"Task {task['id']} is running in the {task['pool']} pool.",
        "succeeded": f"Task {task['id']} ({task['pool']}) succeeded.",
        "failed": f"Task {task['id']} ({task['pool']}) failed after {task['attempts']} attempt(s).",
        "cancelled": f"Task {task['id']} ({task['pool']}) was cancelled.",
    }[status]
    if task.get("cancel_requested") and status == "running":
        head += " Cancellation was requested; it stops at its next check."
    lines = [head]
    result = task.get("result") or {}
    if status == "succeeded":
        lines += ["", str(result.get("text") or result)]
        if result.get("provider"):
            lines += ["", f"(answered by {result['provider']})"]
    elif status == "failed" and task.get("error"):
        lines.append(f"Error: {task['error']}")
    elif status in ("queued", "running"):
        if data.get("notice"):
            lines.append(data["notice"])
        lines.append(f"Check on it with: python main.py \"show task {task['id']}\", or watch it live with "
                     f"python main.py \"follow task {task['id']}\"")
    return "\n".join(lines)


def format_tasks(command: Command, data: dict[str, Any]) -> str:
    """A list of tasks."""
    tasks = data["tasks"]
    status, pool = command.args.get("status"), command.args.get("pool")
    what = (f"{status} " if status else "") + "task{s}" + (f" in the {pool} pool" if pool else "")
    carried = ""
    if status and not any(STATUS_WORDS.get(w) == status for w in command.text.lower().replace("?", " ").split()):
        carried = f"\n(Still only {status} tasks, as in your last request; say 'all tasks' for every task.)"
    if not tasks:
        return f"No {what.format(s='s')}." + carried
    head = f"{len(tasks)} {what.format(s='s' if len(tasks) != 1 else '')}, newest first:" + carried
    return "\n".join([head, "", table(
        ["id", "pool", "status", "attempts", "created", "input"],
        [[t["id"], t["pool"], t["status"], t["attempts"], t["created_at"][:19].replace("T", " "),
          _short(t["input"], 40)] for t in tasks],
    )])


def format_scale(command: Command, data: dict[str, Any]) -> str:
    """A pool's new size."""
    pool = data["pool"]
    return (f"Scaled the {pool['name']} pool from {pool['previous_size']} to {pool['desired_size']} agents "
            f"per worker process; running workers apply it within 2 seconds.")


def format_restart(command: Command, data: dict[str, Any]) -> str:
    """How many failed agents were released."""
    where = f"the {data['pool']} pool" if data["pool"] else "all pools"
    count = data["restarted_agents"]
    if not count:
        return f"No failed agents in {where}; nothing to restart."
    return f"Restarting {count} failed agent{'s' if count != 1 else ''} in {where}; fresh ones start within 2 seconds."


def format_help(command: Command, data: dict[str, Any]) -> str:
    """What can be asked, with examples; `help scaling` explains one topic."""
    topic = command.args.get("topic")
    if topic in HELP_TOPICS:
        what, examples = HELP_TOPICS[topic]
        return "\n".join([f"{topic}: {what}", "Try:"] + [f'  python main.py "{e}"' for e in examples])
    lines = ["Ask in plain words. For example:", ""]
    for name, (what, examples) in HELP_TOPICS.items():
        lines.append(f"  {name:<10} {what}  e.g. \"{examples[0]}\"")
    lines += ["", "Say 'help <topic>' for more, e.g. 'help scaling'."]
    return "\n".join(lines)


def format_history(messages: list[dict[str, Any]]) -> str:
    """The conversation's last turns, oldest first."""
    if not messages:
        return "This conversation has no history yet."
    rows = [[m["created_at"][11:19], m["role"], m["intent"] or "", _short(m["content"], 60)] for m in messages]
    return "\n".join([f"The last {len(messages)} messages of this session:", "",
                      table(["time", "who", "intent", "text"], rows)])


def format_workflows(command: Command, data: dict[str, Any]) -> str:
    """The `workflows` intent's reply (see format_workflow_reply)."""
    return format_workflow_reply(data, command.args)


def format_workflow_reply(data: dict[str, Any], args: dict[str, Any] | None = None) -> str:
    """Text for the data WorkflowEngine.execute returned: a list, a workflow, a run, or a decision on one."""
    action = data.get("action")
    if action == "list":
        return format_workflow_list(data)
    if action == "create":
        return format_workflow_created(data)
    if action in ("schedule", "unschedule"):
        workflow = data["workflow"]
        head = (f"Scheduled workflow {workflow['id']}: '{workflow['schedule']}' (cron, UTC), next run "
                f"{workflow['next_run_at']} UTC." if action == "schedule" and workflow.get("schedule") else
                f"Workflow {workflow['id']} is no longer scheduled: it runs only when started.")
        return head + "\n" + format_workflow(workflow)
    if action == "delete":
        cancelled = data.get("runs_cancelled") or []
        return (f"Deleted workflow {data['workflow']['id']} ({data['workflow']['name']}) and its runs"
                + (f"; unfinished runs cancelled first: {', '.join(map(str, cancelled))}." if cancelled else "."))
    if action in _DECIDED and "run" in data:
        step = (args or {}).get("step")
        head = f"{_DECIDED[action]} run {data['run']['id']}" + (f" step {step}" if step is not None else "") + "."
        return head + "\n" + format_run(data["run"])
    if "run" in data:
        return format_run(data["run"])
    return format_workflow(data["workflow"])


def format_workflow_list(data: dict[str, Any]) -> str:
    """Saved workflows with their last run, then the approvals waiting for a decision."""
    workflows = data.get("workflows") or []
    pending = data.get("pending_approvals") or []
    if not workflows:
        lines = ["No saved workflows yet. Say 'help me automate my project management workflow' to create one."]
    else:
        waiting = f", {len(pending)} approval{'s' if len(pending) != 1 else ''} waiting" if pending else ""
        lines = [f"{len(workflows)} saved workflow{'s' if len(workflows) != 1 else ''}{waiting}:", "", table(
            ["id", "name", "steps", "schedule", "last run"],
            [[w["id"], _short(w["name"], 40), w["steps"], w["schedule"] or "-",
              f"run {w['last_run']['id']} {w['last_run']['status']}" if w.get("last_run") else "never run"]
             for w in workflows])]
    if pending:
        lines += ["", "Waiting for a decision:", table(
            ["run", "step", "workflow", "title", "approvers"],
            [[p["run_id"], p["step"], p["workflow_id"], p["title"], " or ".join(p["approvers"]) or "-"]
             for p in pending])]
        first = pending[0]
        lines.append(f"Say 'approve run {first['run_id']} step {first['step']}' or "
                     f"'reject run {first['run_id']} step {first['step']}'.")
    if workflows:
        lines.append("Say 'show workflow N' for its steps, 'run workflow N' to run it.")
    return "\n".join(lines)


def format_workflow(workflow: dict[str, Any]) -> str:
    """A workflow: its steps, approvals, inputs, schedule and recent runs."""
    when = (f"scheduled '{workflow['schedule']}', next run {workflow['next_run_at']} UTC" if workflow.get("schedule")
            else "runs when started")
    lines = [f"Workflow {workflow['id']}: {workflow['name']}, {workflow['steps']} steps, {when}."]
    if workflow.get("description"):
        lines.append(workflow["description"])
    lines += [""] + workflow_templates.summary_lines(workflow["definition"], workflow["id"])
    if workflow.get("schedule_needs"):
        needs = workflow["schedule_needs"]
        lines.append(f"Its scheduled runs will fail until {', '.join(needs)} have values: say 'schedule workflow "
                     f"{workflow['id']} {workflow['schedule']} with " + ", ".join(f"{n}=..." for n in needs) + "'.")
    runs = workflow.get("runs") or []
    if runs:
        lines += ["", "Recent runs:", table(["run", "status", "started", "secs"], [
            [r["id"], r["status"], (r["created_at"] or "")[:19].replace("T", " "),
             f"{r['duration_seconds']:.2f}" if r.get("duration_seconds") is not None else "-"] for r in runs[:5]])]
    declared = (workflow.get("definition") or {}).get("inputs") or {}
    needed = [n for n in workflow.get("required_inputs") or [] if "default" not in (declared.get(n) or {})]
    lines.append(f"Run it: 'run workflow {workflow['id']}" + (" with " + ", ".join(f"{n}=..." for n in needed)
                                                               if needed else "") + "'.")
    return "\n".join(lines)


def format_workflow_created(data: dict[str, Any]) -> str:
    """A workflow just saved from a process description, and where its definition came from."""
    workflow = data["workflow"]
    task = data.get("task") or {}
    from business_automation import AGENT_SOURCE  # the workflow modules load only for workflow replies

    if data.get("duplicate_of") is not None:
        wanted = data.get("wanted_schedule")
        change = (f" To change its schedule: 'schedule workflow {workflow['id']} {wanted}'."
                  if wanted and wanted != workflow.get("schedule") else "")
        return (f"You already have this workflow: workflow {workflow['id']} '{workflow['name']}' has the same steps "
                f"and inputs, so nothing new was saved.{change}\n" + format_workflow(workflow))
    if data.get("definition_source") == AGENT_SOURCE:
        origin = f"from the business agent's definition (task {task.get('id')})"
    else:
        origin = f"drafted by the {data.get('definition_source')} ({data.get('note')})"
    return f"Saved workflow {workflow['id']} '{workflow['name']}', {origin}.\n" + format_workflow(workflow)


def format_run(run: dict[str, Any]) -> str:
    """A run: its status, a table of its steps, and what to say next."""
    progress = run["progress"]
    took = f" in {run['duration_seconds']:.2f} s" if run.get("duration_seconds") is not None else ""
    if progress.get("cancelled"):  # a cancelled step did not finish its work: never count it as finished
        done = f"{progress['done']} of {progress['total']} steps done, {progress['cancelled']} cancelled"
    else:
        done = f"{progress['finished']} of {progress['total']} steps finished"
    lines = [f"Run {run['id']} of workflow {run['workflow_id']} ({run['workflow_name']}): {run['status']}, "
             f"{done}{took}."]
    if run.get("error"):
        lines.append(f"Reason: {run['error']}")
    if run.get("missing_inputs"):
        lines.append("Optional inputs not given (shown as [name not given]): " + ", ".join(run["missing_inputs"]))
    lines += ["", table(["#", "step", "kind", "status", "task", "secs", "note"], [
        [s["n"], s["key"], s["kind"], s["status"], s["task_id"] or "-",
         f"{s['seconds']:.2f}" if s["seconds"] is not None else "-", _short(step_note(s), 70)]
        for s in run["steps"]])]
    for w in run.get("waiting_for", []):
        lines.append(f"Waiting for {' or '.join(w['approvers']) or 'an approver'} to approve step {w['step']} "
                     f"({w['title']}): say 'approve run {run['id']} step {w['step']}' or "
                     f"'reject run {run['id']} step {w['step']}'.")
    if run["status"] == "running":
        lines.append(f"Still running; 'show run {run['id']}' shows its progress.")
    return "\n".join(lines)


def format_demo(command: Command, data: dict[str, Any]) -> str:
    """A demo: one line on how it went, then its narration and summary (unless they were shown live)."""
    demo = data["demo"]
    outcome = "all steps succeeded" if demo["ok"] else "some steps did not succeed"
    tasks = ", ".join(str(t) for t in demo["task_ids"]) or "none"
    head = (f"The {demo['domain']} demo ran {len(demo['steps'])} steps in {demo['total_seconds']:.2f} s: "
            f"{outcome} (tasks {tasks}).")
    return head if demo.get("live") else head + "\n\n" + demo["text"]


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain-text table with columns aligned."""
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


_DECIDED = {"approve": "Approved", "reject": "Rejected", "cancel": "Cancelled"}


def _starts_over(command: Command) -> bool:
    return command.intent == "history" and command.args.get("action") == "new"


def _declined_note(command: Command) -> str:
    """The model's reading (commands/resolver.py), then 'I did not scale the financial pool to 10: you asked a
    question, so I only looked.'; or ''."""
    declined = command.args.get("declined")
    if not isinstance(declined, dict):
        return interpreted_note(command)
    why = _DECLINED_WHY.get(str(declined.get("why")), "nothing was changed")
    return interpreted_note(command) + f"I did not {declined.get('what')}: {why}. Nothing was changed.\n\n"


def _format_generic(command: Command, data: dict[str, Any]) -> str:
    return f"Done: {command.intent}."


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _args_text(args: dict[str, Any]) -> str:
    shown = {k: v for k, v in args.items() if v is not None}
    return "" if not shown else " with " + ", ".join(f"{k}={v}" for k, v in shown.items())


FORMATTERS: dict[str, Callable[[Command, dict[str, Any]], str]] = {
    "status": format_status,
    "health": format_health,
    "pools": format_pools,
    "help": format_help,
    "task": format_task,
    "submit": format_task,
    "cancel": format_task,
    "tasks": format_tasks,
    "scale": format_scale,
    "restart": format_restart,
    "workflows": format_workflows,
    "demo": format_demo,
    "database": lambda command, data: format_database(data),
}
"""Text formatter of each intent's data."""
