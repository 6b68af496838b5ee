"""The matchers of workflows and demos: delete, schedule, approve or reject a run, run, show, list, create; demos.

Part of command_processor; commands.matcher runs them in its order of precedence. Each takes
(segment, context, previous command) and returns a Command or None.
"""
from __future__ import annotations

import re
from typing import Any

from commands.intent import DEMO_DOMAINS, clarify
from commands.segment import Segment, number_after
from commands.vocabulary import (
    APPROVALS_SHOWN,
    APPROVE_WORDS,
    AUTOMATE_RE,
    CANCEL_VERBS,
    CREATE_WORKFLOW_RE,
    DECISION_WORDS,
    DEMO_MORE_RE,
    DEMO_WORDS,
    PRONOUNS,
    RUN_NAMED_RE,
    RUN_SHOWN,
    RUN_VERBS,
    WHAT_CAN_THEY_DO_RE,
    word_set,
)
from domains.routing import best_pool
from values import Command

_DELETE_WORKFLOW_RE = re.compile(r"\b(?:delete|remove|erase|destroy)\s+(?:(?:the|my)\s+)?"
                                 r"(?:workflow|wf)\s*(?:number\s*|no\.?\s*|#)?(\d{1,9})\b", re.I)
"""'delete workflow 2', 'remove workflow 2': the workflow and its runs go (unfinished runs cancelled first)."""


def workflows(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """A workflow command: delete, schedule, approve or reject, run, show, list or create."""
    if deleted := _DELETE_WORKFLOW_RE.search(seg.raw):
        return Command("workflows", {"action": "delete", "workflow_id": int(deleted.group(1))})
    if ctx.get("last_workflow_id") and ctx.get("last_intent") == "workflows" and _ITS_PARTS_RE.match(seg.text):
        return Command("workflows", {"action": "show", "workflow_id": ctx["last_workflow_id"]})  # "and its runs?"
    run_verb = seg.has_any(RUN_VERBS)
    for command in (_workflow_schedule(seg, ctx), _workflow_decision(seg, ctx), _workflow_by_number(seg, run_verb)):
        if command is not None:
            return _with_inputs(seg, command)
    if AUTOMATE_RE.search(seg.text):
        return Command("workflows", {"action": "create", "input": seg.raw})
    if seg.has_any(word_set("workflow workflows")):
        command = _workflow_by_words(seg, run_verb, ctx)
        return None if command is None else _with_inputs(seg, command)
    inputs = _WITH_INPUTS_RE.search(seg.raw)
    if (ctx.get("last_workflow_id") and ctx.get("last_intent") == "workflows" and run_verb
            and seg.has_any(PRONOUNS) and (len(seg.tokens) <= 4 or (inputs and inputs.start() < 12))):
        return _with_inputs(seg, Command("workflows", {"action": "run", "workflow_id": ctx["last_workflow_id"]}))
    return None


_ITS_PARTS_RE = re.compile(r"^ (?:and |also |then )?(?:what about |how about |show (?:me |us )?|list |see )?"
                           r"(?:its|their) (?:runs|steps|schedule|definition|details|inputs|history|approvals) $")
"""A follow-up on the workflow just shown: 'and its runs?', 'show its steps' (the workflow's own view)."""


_WITH_INPUTS_RE = re.compile(r"\bwith\b\s*(?P<inputs>\S.*)$", re.I | re.S)
"""'run workflow 1 with project_name=Website relaunch, goal=...': the inputs a run (or a schedule) is given."""


_SCHEDULE_WORD_RE = re.compile(r"\b(?:un|re)?schedul(?:e|ed|ing)\b", re.I)


_UNSCHEDULE_RE = re.compile(r"\bunschedul|\b(?:remove|delete|clear|drop|stop|cancel|turn off|switch off|end|no)\b"
                            r"(?:\s+\w+){0,4}?\s+schedul|\bschedul\w*\s+off\b", re.I)


_WORKFLOW_REF_RE = re.compile(r"\b(?:workflow|wf)\s*(?:number\s*|no\.?\s*|#)?\d{1,9}\b|\b(?:un|re)?schedul\w*\b"
                              r"|\b(?:it|its|the|to|run|of|for)\b", re.I)


def _workflow_schedule(seg: Segment, ctx: dict[str, Any]) -> Command | None:
    """'schedule workflow 1 every Monday at 9am [with name=value, ...]', 'unschedule workflow 1',
    'remove the schedule of workflow 1'; 'it' is the last workflow."""
    if not _SCHEDULE_WORD_RE.search(seg.raw):
        return None
    workflow_id = number_after(seg.text, ("workflow", "workflows", "wf"))
    if workflow_id is None and ctx.get("last_workflow_id") and seg.has_any(PRONOUNS):
        workflow_id = ctx["last_workflow_id"]
    if workflow_id is None:
        return None
    if _UNSCHEDULE_RE.search(seg.raw):
        return Command("workflows", {"action": "unschedule", "workflow_id": workflow_id})
    head = seg.raw[:m.start()] if (m := _WITH_INPUTS_RE.search(seg.raw)) else seg.raw
    when = " ".join(_WORKFLOW_REF_RE.sub(" ", head).split()).strip(" ,.:;")
    return Command("workflows", {"action": "schedule", "workflow_id": workflow_id, "schedule": when or None})


def _with_inputs(seg: Segment, command: Command) -> Command:
    """A run or schedule command with the inputs its text gives after 'with' (args.inputs_text)."""
    if command.intent == "workflows" and command.args.get("action") in ("run", "schedule"):
        match = _WITH_INPUTS_RE.search(seg.raw)
        if match:
            command.args["inputs_text"] = match.group("inputs").strip()
    return command


def _workflow_decision(seg: Segment, ctx: dict[str, Any]) -> Command | None:
    """'approve run 12 step 3', 'reject step 2 of run 7', 'approve it', 'cancel run 4'; or the approvals waiting."""
    if seg.has_any(word_set("approval approvals")) and not seg.content_score and seg.has_any(APPROVALS_SHOWN):
        run_id = number_after(seg.text, ("run", "runs"))  # "is run 2 waiting for approval?": that run
        return Command("workflows", {"action": "show", "run_id": run_id} if run_id is not None else {"action": "list"})
    if seg.has_any(CANCEL_VERBS):
        run_id = number_after(seg.text, ("run", "runs"))
        if run_id is None and ctx.get("last_run_id") and seg.has_any(word_set("run")) and seg.has_any(PRONOUNS):
            run_id = ctx["last_run_id"]  # 'cancel that run'
        return None if run_id is None else Command("workflows", {"action": "cancel", "run_id": run_id})
    if not seg.has_any(DECISION_WORDS):
        return None
    run_id = number_after(seg.text, ("run", "runs"))
    step = number_after(seg.text, ("step",))
    if run_id is None and step is None and not (ctx.get("last_run_id") and seg.has_any(PRONOUNS)):
        return None
    action = "approve" if seg.has_any(APPROVE_WORDS) else "reject"
    run_id = run_id if run_id is not None else ctx.get("last_run_id")
    if run_id is None:
        return clarify("missing_task", f"Which workflow run should I {action}?", ["list the workflows"])
    args: dict[str, Any] = {"action": action, "run_id": run_id}
    if step is not None:
        args["step"] = step
    return Command("workflows", args)


def _workflow_by_number(seg: Segment, run_verb: bool) -> Command | None:
    workflow_id = number_after(seg.text, ("workflow", "workflows", "wf"))
    if workflow_id is not None:
        if seg.has(f"workflow run {workflow_id}"):
            return Command("workflows", {"action": "show", "run_id": workflow_id})
        action = "run" if run_verb and not seg.has(f"run {workflow_id}") else "show"
        return Command("workflows", {"action": action, "workflow_id": workflow_id})
    run_id = number_after(seg.text, ("run", "runs"))
    if run_id is not None and (seg.has("workflow run") or seg.has_any(RUN_SHOWN)):
        return Command("workflows", {"action": "show", "run_id": run_id})
    return None


def _workflow_by_words(seg: Segment, run_verb: bool, ctx: dict[str, Any]) -> Command | None:
    if CREATE_WORKFLOW_RE.search(seg.text):
        return Command("workflows", {"action": "create", "input": seg.raw})
    if run_verb:
        match = RUN_NAMED_RE.search(seg.text)
        if match and match.group(1) in ("that", "this", "it", "same") and ctx.get("last_workflow_id"):
            return Command("workflows", {"action": "run", "workflow_id": ctx["last_workflow_id"]})
        return Command("workflows", {"action": "run", "name": match.group(1)} if match else {"action": "run"})
    return None if seg.content_score else Command("workflows", {"action": "list"})


def demo(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """A demo of a domain the words name, the list of demos, or a question which demo."""
    if not (seg.has_any(DEMO_WORDS) or WHAT_CAN_THEY_DO_RE.search(seg.text) or DEMO_MORE_RE.search(seg.text)):
        return None
    if seg.content_score > 2 and not seg.pools:
        return None
    if seg.has("demos") and seg.has_any(word_set("what which list available whats")):
        return Command("help", {"topic": "demos"})
    domain = next((p for p in seg.pools if p in DEMO_DOMAINS), None) or best_pool(seg.content)
    if domain in DEMO_DOMAINS:
        return Command("demo", {"domain": domain})
    return clarify("missing_domain", "Which demo would you like to see?",
                   [f"Show me a {d} demo" for d in DEMO_DOMAINS], pending={"intent": "demo", "args": {}})
