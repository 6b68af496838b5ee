"""The session context of follow-ups: what parse() reads and update_context() writes.

Part of command_processor (import these names from there). The context is a small,
JSON-serialisable dict kept in the session row; its keys are CONTEXT_KEYS.
"""
from __future__ import annotations

import re
import time
from typing import Any, TypeGuard

from commands.intent import POOLS, is_not_understood
from values import INTENTS, Command

CHOOSE = "choose"
"""``pending.intent`` of a question that only its choices answer (not a missing piece of one command)."""

CONTEXT_KEYS: dict[str, str] = {
    "last_intent": "intent of the last command understood (a not-understood request leaves it)",
    "last_args": "that command's arguments without free text (pool, size, delta, status, ...)",
    "last_pool": "pool most recently named or acted on: 'it' in 'scale it to 5'",
    "last_task_id": "task most recently submitted, shown or cancelled: 'cancel that task'",
    "last_workflow_id": "workflow most recently shown or run: 'run it'",
    "last_run_id": "workflow run most recently shown or decided: 'approve step 2'",
    "pending": "{'intent', 'args', 'choices', 'reason', 'asked_at'} of the clarify question just asked: "
               "answered by number or name on the next request, within PENDING_TTL_SECONDS",
}
"""Keys of the session context that parse() reads and update_context() writes."""

_REMEMBERED_ARGS: dict[str, type] = {
    "pool": str, "size": int, "delta": int, "status": str, "limit": int, "domain": str, "task_id": int,
    "action": str, "workflow_id": int, "run_id": int, "step": int, "topic": str, "all": bool,
}
"""Arguments kept in ``last_args`` and pending questions, with their types (never free text)."""

_PENDING_INTENTS = ("scale", "demo", "cancel", "task", "login", "pools", "restart", "tasks", CHOOSE)
"""Intents whose clarify question a bare answer can complete (CHOOSE: only a choice can)."""

PENDING_TTL_SECONDS = 600
"""A clarifying question not answered within this time is forgotten (and so is any after one request)."""

MAX_CHOICES = 12


def update_context(context: dict[str, Any] | None, commands: list[Command],
                   outcome_task_id: int | None = None) -> dict[str, Any]:
    """The session context after a request (a new dict; the given one is not changed).

    Args:
        context: The context before the request, or None.
        commands: The commands the request was understood as (parse's result).
        outcome_task_id: The task the request created or touched, when the controller says so.

    Returns:
        The new context, JSON-serialisable, with the keys of CONTEXT_KEYS.
    """
    new = clean_context(context)
    new.pop("pending", None)
    for command in commands:
        _remember(new, command)
    last = next((c for c in reversed(commands) if not is_not_understood(c)), None)
    if last is not None:
        new["last_intent"] = last.intent
        new["last_args"] = _clean_args(last.args)
    asked = commands[-1] if commands and commands[-1].intent == "clarify" else None
    if asked is not None:
        pending = asked.args.get("pending")
        choices = [str(c)[:200] for c in asked.args.get("choices") or []][:MAX_CHOICES]
        if isinstance(pending, dict) or choices:
            new["pending"] = {"intent": pending["intent"] if isinstance(pending, dict) else CHOOSE,
                              "args": _clean_args(pending.get("args")) if isinstance(pending, dict) else {},
                              "choices": choices, "reason": str(asked.args.get("asked") or asked.args.get("reason")),
                              "asked_at": int(time.time())}
    if _is_int(outcome_task_id):
        new["last_task_id"] = outcome_task_id
    return new


def clean_context(context: dict[str, Any] | None) -> dict[str, Any]:
    """Only the known keys, with values of the right types (the context comes from storage)."""
    if not isinstance(context, dict):
        return {}
    clean: dict[str, Any] = {k: context[k] for k in ("last_task_id", "last_workflow_id", "last_run_id")
                             if _is_int(context.get(k))}
    if context.get("last_pool") in POOLS:
        clean["last_pool"] = context["last_pool"]
    if context.get("last_intent") in INTENTS:
        clean["last_intent"] = context["last_intent"]
    if isinstance(context.get("last_args"), dict):
        clean["last_args"] = _clean_args(context["last_args"])
    pending = context.get("pending")
    if isinstance(pending, dict) and pending.get("intent") in _PENDING_INTENTS and _fresh(pending):
        clean["pending"] = {"intent": pending["intent"], "args": _clean_args(pending.get("args"))}
        choices = pending.get("choices")
        if isinstance(choices, list) and all(isinstance(c, str) for c in choices):
            clean["pending"]["choices"] = choices[:MAX_CHOICES]
        for key in ("reason", "asked_at"):
            if isinstance(pending.get(key), str if key == "reason" else int):
                clean["pending"][key] = pending[key]
    return clean


def _fresh(pending: dict[str, Any]) -> bool:
    """Whether a question is young enough to answer (one without a time is from before times were kept)."""
    asked_at = pending.get("asked_at")
    return not _is_int(asked_at) or time.time() - asked_at <= PENDING_TTL_SECONDS


def _remember(new: dict[str, Any], command: Command) -> None:
    args = command.args
    pool = args.get("pool") or args.get("domain")
    if pool in POOLS:
        new["last_pool"] = pool
    if command.intent in ("task", "cancel") and _is_int(args.get("task_id")):
        new["last_task_id"] = args["task_id"]
    if command.intent == "workflows":
        if _is_int(args.get("workflow_id")):
            new["last_workflow_id"] = args["workflow_id"]
        if _is_int(args.get("run_id")):
            new["last_run_id"] = args["run_id"]


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _clean_args(args: Any) -> dict[str, Any]:
    """The remembered arguments of a command, each of the type parse gives it."""
    if not isinstance(args, dict):
        return {}
    clean: dict[str, Any] = {}
    for key, value in args.items():
        kind = _REMEMBERED_ARGS.get(key)
        if kind is int and _is_int(value) or kind is str and isinstance(value, str) or kind is bool and (
                value is True):
            clean[key] = value
    if clean.get("pool") not in POOLS:
        clean.pop("pool", None)
    return clean


_PRONOUN_RE = re.compile(r"\b(?:it|its|them|they|their|that|this|those|the same)\b", re.I)
"""Words that point back at what the conversation was about."""


def referred(text: str, ctx: dict[str, Any]) -> Command | None:
    """A question about 'it' after a look at a pool, a task or a workflow: that thing again, read-only."""
    if not _PRONOUN_RE.search(text) or re.search(r"\b(?:analy[sz]\w*|stock|price|market)\b", text, re.I):
        return None
    last = ctx.get("last_intent")
    if last in ("task", "cancel") and ctx.get("last_task_id") is not None:
        return Command("task", {"task_id": ctx["last_task_id"]}, text)
    if last == "workflows" and ctx.get("last_workflow_id"):
        return Command("workflows", {"action": "show", "workflow_id": ctx["last_workflow_id"]}, text)
    if last == "tasks":
        args = ctx.get("last_args") or {}
        return Command("tasks", {k: v for k, v in args.items() if k in ("status", "pool")}, text)
    if last in ("pools", "scale", "restart") and ctx.get("last_pool"):
        return Command("pools", {"pool": ctx["last_pool"]}, text)
    return None


def it_refers_to(ctx: dict[str, Any]) -> str | None:
    """What 'it' means in the context: the last task or the last pool."""
    if ctx.get("last_intent") in ("submit", "task", "cancel") and ctx.get("last_task_id") is not None:
        return "task"
    if ctx.get("last_pool"):
        return "pool"
    return "task" if ctx.get("last_task_id") is not None else None
