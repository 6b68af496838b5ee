"""Questions about the user's own earlier requests: a look at their tasks, not new work.

Part of command_processor (DESIGN.md: Intents). "what's the status of my AAPL analysis?", "did my
NFL betting strategy task finish?", "why did my business plan task fail?", "is the answer to my
diabetes question ready?" name a piece of work already asked for (my ... analysis, question,
request, task, report) and ask how it is going: the tasks of the pool its words point at (failed
ones when it asks why something failed) answer them. A question that names no such work ("what's
the status of my 401k?") stays domain work.
"""
from __future__ import annotations

import re

from values import Command

OWN_WORK_RE = re.compile(
    r"\b(?:my|our)\s+(?:[\w'$.&-]+\s+){0,5}?(?:analysis|analyses|question|questions|request|requests|task|tasks|"
    r"job|jobs|report|reports|submission|submissions|query|queries|ask)\b", re.I)
"""Work the user asked for earlier."""

PROGRESS_RE = re.compile(
    r"\b(?:status|progress|happened|finish(?:ed)?|done|ready|complete[d]?|fail(?:ed|ing)?|stuck|working on|sent|"
    r"where(?:'s| is| are)|still (?:running|going|queued)|come back|back yet|results?|answer(?:ed)?|output)\b", re.I)
"""How the work is going."""

_ASKS_RE = re.compile(r"\?\s*$|^(?:what|whats|what's|where|wheres|where's|did|has|have|is|are|was|were|why|how|when|"
                      r"any (?:news|update))\b", re.I)


def check(request: str, commands: list[Command]) -> list[Command]:
    """``commands``, or the look at the user's tasks when the request only asks how earlier work is going."""
    if len(commands) != 1 or commands[0].intent != "submit" or not _ASKS_RE.search(request.strip()):
        return commands
    if not (OWN_WORK_RE.search(request) and PROGRESS_RE.search(request)):
        return commands
    from commands.matcher import safety_concern

    if safety_concern(request):
        return commands  # a red flag always reaches the healthcare agents
    args: dict[str, str] = {}
    pool = commands[0].args.get("pool")
    if pool and pool != "general":
        args["pool"] = str(pool)
    if re.search(r"\bfail(?:ed|ing)?\b", request, re.I):
        args["status"] = "failed"
    return [Command("tasks", args, request)]
