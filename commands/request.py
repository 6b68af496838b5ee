"""A request: its text split into segments, and the segments gathered into commands.

Part of command_processor (MAX_SEGMENTS is importable from there). Splitting is at "and", "then",
"also", ";", "&&" and sentence ends; a piece that is no command of its own joins its neighbour,
and a domain request with a colon keeps everything after it (see _groups).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commands.context import update_context
from commands.intent import not_understood
from commands.matcher import explicit_submit, submit, submit_command, understand
from commands.segment import Segment, segment
from commands.vocabulary import QUOTED_RE, SEPARATOR_RE, WORK_VERBS
from values import Command

MAX_SEGMENTS = 20
"""Most pieces a request is split into; a text with more is understood as one piece (a pasted
text full of "and"s is not a list of commands, and the work stays bounded)."""


@dataclass
class _Group:
    """Adjacent segments understood as one command."""

    kind: str
    """admin, submit or unknown."""
    start: int
    end: int
    command: Command
    merged: bool = False
    """Whether the group holds more than its first segment (it is then understood again whole)."""
    swallow: bool = False
    """A domain request with a colon: everything after it belongs to its input."""


def parse_request(cleaned: str, ctx: dict[str, Any]) -> list[Command]:
    """The commands of a request (its text without control characters; ``ctx`` already cleaned)."""
    groups = _groups(cleaned, ctx)
    commands = _dedupe([_finish(group, cleaned, ctx) for group in groups])
    return commands or [not_understood(cleaned)]


def _groups(cleaned: str, ctx: dict[str, Any]) -> list[_Group]:
    """The segments of a request gathered into commands.

    1. A segment after a domain request with a colon belongs to it.
    2. A segment that is no command of its own (unknown, or more of a domain request) joins the
       group before it; before the first group it waits and joins a domain request that follows.
    3. Any other segment starts a group, and the local context follows it ("... and show its status").
    """
    groups: list[_Group] = []
    lead: tuple[int, int] | None = None
    local = dict(ctx)
    for start, end, separator in _split(cleaned):
        if groups and groups[-1].swallow:
            _extend(groups[-1], end)
            continue
        raw = cleaned[start:end].strip(" \t\n,")
        kind, command = _understand_piece(raw, local, groups[-1].command if groups else None,
                                          joined=bool(separator or groups or lead))
        if kind == "filler":
            continue
        if groups and (kind in ("unknown", "submit_part") or kind == groups[-1].kind == "submit"):
            _extend(groups[-1], end)
            continue
        if kind == "unknown":
            lead = (lead[0] if lead else start, end)
            continue
        if groups:
            _backfill(groups[-1], command)
        first = lead[0] if lead and kind == "submit" else start
        lead = None
        groups.append(_Group(kind, first, end, command, merged=first != start,
                             swallow=kind == "submit" and ":" in raw))
        local = update_context(local, [command])
    if lead and not groups:
        groups.append(_Group("unknown", lead[0], lead[1], not_understood(""), merged=True))
    return groups


def _understand_piece(raw: str, ctx: dict[str, Any], prev: Command | None, joined: bool
                      ) -> tuple[str, Command]:
    seg = segment(raw, joined)
    if not seg.tokens:
        return ("filler" if not seg.core.strip(" .,!?;:-") else "unknown"), not_understood(raw)
    kind, command = understand(seg, ctx, prev)
    if kind not in ("submit", "submit_part") and ":" in raw:
        return _colon_request(seg, ctx, prev) or (kind, command)
    return kind, command


def _colon_request(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> tuple[str, Command] | None:
    """'summarize this: <text>' is a domain request whatever the text after the colon says."""
    head = segment(seg.raw.split(":", 1)[0], joined=seg.joined)
    if not head.tokens:
        return None
    kind, command = understand(head, ctx, prev)
    if kind not in ("submit", "submit_part") and head.tokens[0] not in WORK_VERBS:
        return None
    kind = kind if kind in ("submit", "submit_part") else "submit"
    if command.intent == "workflows":
        return kind, Command("workflows", {"action": "create", "input": seg.raw}, seg.raw)
    return kind, submit(seg) or submit_command(seg, seg.raw)


def _backfill(group: _Group, command: Command) -> None:
    """'scale healthcare and finance to 3': the amount of the second scale goes to the first too."""
    question = group.command.args
    if (group.command.intent == "clarify" and question.get("reason") == "missing_amount"
            and command.intent == "scale" and not group.merged):
        amount = {k: v for k, v in command.args.items() if k in ("size", "delta")}
        group.command = Command("scale", {**question["pending"]["args"], **amount}, group.command.text)


def _extend(group: _Group, end: int) -> None:
    group.end = max(group.end, end)
    group.merged = True


def _finish(group: _Group, cleaned: str, ctx: dict[str, Any]) -> Command:
    """The command of a group; a merged group is understood again as a whole."""
    if not group.merged:
        return group.command
    seg = segment(cleaned[group.start:group.end].strip(" \t\n,"), joined=False)
    if group.kind == "submit":
        if group.command.intent == "workflows":
            return Command("workflows", {"action": "create", "input": seg.raw}, seg.raw)
        return explicit_submit(seg, ctx, None) or submit(seg) or submit_command(seg, seg.raw)
    if not seg.tokens:
        return not_understood(seg.raw)
    kind, command = understand(seg, ctx, None)
    if group.kind == "unknown":
        return command
    if kind in ("unknown", "submit", "submit_part") or command.intent != group.command.intent:
        return group.command
    return command


def _dedupe(commands: list[Command]) -> list[Command]:
    result: list[Command] = []
    for command in commands:
        if result and result[-1].intent == command.intent and result[-1].args == command.args:
            continue
        result.append(command)
    return result


def _split(text: str) -> list[tuple[int, int, str]]:
    """Spans (start, end, separator before) of the segments of a request; quotes are not split."""
    quoted = [m.span() for m in QUOTED_RE.finditer(text)]
    spans: list[tuple[int, int, str]] = []
    start, separator = 0, ""
    for match in SEPARATOR_RE.finditer(text):
        if match.end() == match.start() or any(a <= match.start() < b for a, b in quoted):
            continue
        if match.start() > start or not spans:
            spans.append((start, match.start(), separator))
        start, separator = match.end(), match.group().strip() or "."
    spans.append((start, len(text), separator))
    spans = [(a, b, s) for a, b, s in spans if b > a]
    return spans if 0 < len(spans) <= MAX_SEGMENTS else [(0, len(text), "")]
