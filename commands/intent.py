"""The Command type and the fixed values it is made of: intents, pools and argument values.

Part of command_processor (import these names from there); its docstring lists each intent's
arguments.
"""
from __future__ import annotations

from typing import Any

from values import POOL_NAMES, Command

POOLS = POOL_NAMES
"""The fixed pool names, in display order (values.Pool)."""

DEMO_DOMAINS = ("healthcare", "financial", "sports", "business")
"""Pools that have a scripted demo."""

TASK_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
"""Values of ``args.status`` for ``tasks`` (models.TaskStatus)."""

WORKFLOW_ACTIONS = ("list", "show", "run", "create", "approve", "reject", "cancel", "schedule", "unschedule",
                    "delete")
"""Values of ``args.action`` for ``workflows``."""

HELP_TOPICS = ("scaling", "status", "health", "pools", "tasks", "demos", "workflows", "history", "account",
               "database")
"""Values of ``args.topic`` for ``help``."""

EXAMPLE_REQUESTS = (
    "Show me the system status", "Show the pools", "List my tasks", "Scale up the healthcare agent pool",
    "Analyze AAPL stock performance", "Show me a healthcare demo", "help",
)
"""Choices offered when a request is not understood."""


def clarify(reason: str, question: str, choices: list[str], pending: dict[str, Any] | None = None,
            text: str = "") -> Command:
    """A ``clarify`` command: a question, the requests the user can type, why, and what it completes."""
    args: dict[str, Any] = {"question": question, "choices": choices, "reason": reason}
    if pending is not None:
        args["pending"] = pending
    return Command("clarify", args, text)


def not_understood(text: str) -> Command:
    """The ``clarify`` of a request not understood at all, offering EXAMPLE_REQUESTS."""
    return clarify("not_understood", "I did not understand that. Try one of these:", list(EXAMPLE_REQUESTS),
                   text=text)


def is_not_understood(command: Command) -> bool:
    """Whether a command is a ``clarify`` that completes nothing (no ``pending``)."""
    return command.intent == "clarify" and "pending" not in command.args
