"""Formats replies as short conversational text or the contract's JSON object; binds user and session."""
from __future__ import annotations

import logging
from typing import Any, Callable

import command_processor
from agent_master_controller import AgentMasterController
from command_processor import Command
from conversation_manager import Caller, ConversationManager
from errors import NotUnderstood, OperatorOSError

logger = logging.getLogger(__name__)

HELP_TOPICS: dict[str, tuple[str, list[str]]] = {
    "status": ("See the whole system at a glance.", ["Show me the system status"]),
    "health": ("Machine and database health.", ["How healthy is the system?", "Show CPU and memory"]),
    "pools": ("Agent pools and their sizes.", ["Show the pools", "How is the financial pool doing?"]),
    "scaling": ("Change a pool's size.", ["Scale up the healthcare agent pool", "Scale financial to 4"]),
    "tasks": ("Domain work for the agents, and the queue.", ["Analyze AAPL stock performance", "List my tasks"]),
    "demos": ("Scripted demos through the real path.", ["Show me a healthcare demo"]),
    "workflows": ("Business workflows.", ["Help me automate my project management workflow"]),
}
"""What `help` explains, with examples."""


class Interface:
    """The conversational door shared by the CLI and POST /api/command."""

    def __init__(self, controller: AgentMasterController, conversations: ConversationManager) -> None:
        self.controller = controller
        self.conversations = conversations

    def handle(self, text: str, caller: Caller, session_id: str | None = None, *,
               dry_run: bool = False, background: bool = False) -> dict[str, Any]:
        """Understand `text`, carry it out (unless dry_run) and return the contract's JSON object."""
        try:
            if not dry_run:
                session_id = self.conversations.open_session(caller, session_id)
        except OperatorOSError as exc:
            return failure_reply(exc, caller.name, session_id)
        commands = command_processor.parse(text)
        steps = [self._run(c, caller, session_id, dry_run=dry_run, background=background) for c in commands]
        reply = steps[0] if len(steps) == 1 else {
            "ok": all(s["ok"] for s in steps), "intent": "multi", "args": {},
            "response": "\n\n".join(s["response"] for s in steps), "data": {}, "steps": steps,
        }
        reply["session_id"] = session_id
        reply["user"] = caller.name
        if not dry_run and session_id:
            self.conversations.record(session_id, "user", text, intent=reply["intent"])
            self.conversations.record(session_id, "assistant", reply["response"], intent=reply["intent"],
                                      task_id=reply["data"].get("task", {}).get("id"))
        return reply

    def _run(self, command: Command, caller: Caller, session_id: str | None, *, dry_run: bool,
             background: bool) -> dict[str, Any]:
        reply: dict[str, Any] = {"ok": True, "intent": command.intent, "args": dict(command.args),
                                 "response": "", "data": {}}
        try:
            if command.intent == "clarify":
                raise NotUnderstood(
                    "I did not understand that yet. Try one of: "
                    + "; ".join(f'"{ex[0]}"' for _, ex in HELP_TOPICS.values())
                )
            if dry_run:
                reply["response"] = f"Dry run: I would run '{command.intent}'{_args_text(command.args)}. Nothing was changed."
                reply["data"] = {"dry_run": True}
                return reply
            outcome = self.controller.execute(command, caller, background=background, session_id=session_id)
            reply["data"] = outcome.data
            reply["response"] = FORMATTERS.get(command.intent, _format_generic)(command, outcome.data)
            task = outcome.data.get("task")
            if task and task.get("status") == "failed":
                reply.update(ok=False, error={"code": "task_failed", "message": task.get("error") or "failed"})
        except OperatorOSError as exc:
            reply.update(ok=False, error={"code": exc.code, "message": exc.message}, response=exc.message)
        return reply


def failure_reply(exc: OperatorOSError, user: str | None, session_id: str | None) -> dict[str, Any]:
    """The contract's JSON object for a request that failed before any command ran."""
    return {"ok": False, "intent": "", "args": {}, "response": exc.message, "data": {},
            "session_id": session_id, "user": user, "error": {"code": exc.code, "message": exc.message}}


def format_status(command: Command, data: dict[str, Any]) -> str:
    """The status overview: one line first, then aligned tables."""
    tasks = data["tasks"]
    system = data["system"]
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
                   f"load {system['load_average'][0]}")
    db_line = f"Database: {data['database']['dialect']} at {data['database']['url']}"
    provider = data.get("provider", {})
    backend = (f"Task backend: {data['task_backend']}; AI provider: {provider.get('configured', 'local')}"
               + (" (built-in analyzers, offline)" if provider.get("configured") == "local" else
                  f" ({provider.get('model')})"))
    lines = [head, "", pool_table, "", task_line, system_line, db_line, backend]
    alerts = data.get("alerts") or []
    if alerts:
        lines += ["", f"Alerts ({len(alerts)}):"] + [f"  [{a['severity']}] {a['message']}" for a in alerts]
    return "\n".join(lines)


def format_health(command: Command, data: dict[str, Any]) -> str:
    """Machine and database health."""
    system, database = data["system"], data["database"]
    head = "Healthy." if data["ok"] else "Unhealthy: the database does not answer."
    rows = [
        ["cpu", f"{system['cpu_percent']:.0f}%", f"{system['cpu_count']} cores, load {system['load_average'][0]}"],
        ["memory", f"{system['memory_percent']:.0f}%", f"{system['memory_used_mb']} of {system['memory_total_mb']} MB"],
        ["disk", f"{system['disk_percent']:.0f}%", f"{system['disk_free_gb']} GB free"],
        ["database", "ok" if database["ok"] else "down",
         f"{database['dialect']}, {database.get('latency_ms', '-')} ms, {database['url']}"],
    ]
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
    head = f"{len(pools)} pool{'s' if len(pools) != 1 else ''}:"
    return "\n".join([head, "", table(
        ["pool", "desired", "min", "max", "live", "busy", "failed", "queued"],
        [[p["name"], p["desired_size"], p["min_size"], p["max_size"], p["live_agents"], p["busy_agents"],
          p["failed_agents"], p["queued_tasks"]] for p in pools],
    )])


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
        lines.append(f"Check on it with: python main.py \"show task {task['id']}\"")
    return "\n".join(lines)


def format_tasks(command: Command, data: dict[str, Any]) -> str:
    """A list of tasks."""
    tasks = data["tasks"]
    if not tasks:
        return "No tasks match."
    head = f"{len(tasks)} task{'s' if len(tasks) != 1 else ''}, newest first:"
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
    """What can be asked, with examples."""
    lines = ["Ask in plain words. For example:", ""]
    for topic, (what, examples) in HELP_TOPICS.items():
        lines.append(f"  {topic:<10} {what}  e.g. \"{examples[0]}\"")
    return "\n".join(lines)


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain-text table with columns aligned."""
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


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
}
"""Text formatter of each intent's data."""
