"""Actions OperatorOS does not have, on objects it knows ("rename workflow 2", "delete session 1").

Part of command_processor. When a request asks for such an action and no command carries it out,
the reply says plainly that it is not available and that nothing was changed, instead of doing
something else (showing the workflow and reporting success). A matcher that one day understands the
action (a command whose ``action`` is the verb) makes this check stand aside.
"""
from __future__ import annotations

import re

from commands.intent import clarify
from values import Command

UNAVAILABLE_RE = re.compile(
    r"\b(delete|remove|erase|destroy|unschedule|deschedule|rename|edit|modify|duplicate|clone|export|pause|resume)"
    r"\s+(?:(?:the|my|our|this|that|a)\s+)?(?:\w+\s+){0,2}?(workflows?|schedules?|runs?|users?|sessions?|pools?)\b",
    re.I)
"""A verb of no intent, aimed at an object of the system."""

REMOVE_TASK_RE = re.compile(
    r"^(?:please\s+)?(?:drop|remove|delete|pull|take)\s+(?:task|job)\s+#?(\d{1,9})(?:\s+(?:from|off|out of)\s+"
    r"(?:the\s+)?(?:queue|backlog|list))?\s*[.!]?$", re.I)
"""'drop task 40 from the queue' is a cancel."""

_VERB_NOUNS = {"delete": "Deleting", "remove": "Removing", "erase": "Erasing", "destroy": "Destroying",
               "unschedule": "Unscheduling", "deschedule": "Unscheduling", "rename": "Renaming",
               "edit": "Editing", "modify": "Modifying", "duplicate": "Duplicating", "clone": "Cloning",
               "export": "Exporting", "pause": "Pausing", "resume": "Resuming"}


_DELETE_VERBS = {"delete", "remove", "erase", "destroy"}
"""Verbs that delete a workflow ('delete workflow N' is a workflows action)."""


def check(text: str, commands: list[Command]) -> list[Command]:
    """``commands``, or one ``clarify`` saying the action asked for is not available."""
    task = REMOVE_TASK_RE.match(text.strip())
    if task:
        return [Command("cancel", {"task_id": int(task.group(1))}, text)]
    match = UNAVAILABLE_RE.search(text)
    if match is None:
        return commands
    verb, noun = match.group(1).lower(), match.group(2).lower().rstrip("s")
    done_by = {verb, "unschedule"} if noun == "schedule" else {verb}  # "remove the schedule" is unschedule
    if noun == "workflow" and verb in _DELETE_VERBS:
        if re.search(r"\bworkflows?\s*#?\d", text, re.I):
            return commands  # 'delete workflow 2' is a workflows action; "don't delete workflow 2" a look at it
        if not any(c.args.get("action") == "delete" for c in commands):
            return [clarify("which_workflow", "Say which workflow to delete, by its number: 'delete workflow N' "
                            "(its unfinished runs are cancelled first).", ["list the workflows"], text=text)]
    if any(c.args.get("action") in done_by for c in commands) or any(c.intent == "submit" for c in commands):
        return commands
    if verb in ("remove", "delete") and noun == "pool":
        return commands  # "remove 2 agents from the finance pool" is scaling
    question = (f"{_VERB_NOUNS[verb]} a {noun} is not available in OperatorOS, so nothing was changed. "
                "You can:")
    choices = {"workflow": ["list the workflows", "show workflow 1", "help workflows"],
               "schedule": ["list the workflows", "help workflows"], "run": ["list the workflows", "help workflows"],
               "user": ["whoami", "help account"], "session": ["new session", "show my history"],
               "pool": ["show the pools", "help scaling"]}[noun]
    return [clarify("not_available", question, choices, text=text)]
