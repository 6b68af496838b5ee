"""The matchers: one segment of a request to one Command, first match wins (_MATCHERS).

Part of command_processor. Each matcher takes (segment, context, previous command) and returns a
Command or None; a segment no matcher takes is a domain request (submit) when its words point at a
pool or ask for work, and is otherwise not understood. The safety policies come first: a segment
with a medical red flag or a mention of self-harm is a submit to the healthcare pool (see
safety_concern), and so is any submit whose text has one, whatever pool its words name.
"""
from __future__ import annotations

import functools
import re
from typing import Any

from commands import database
from commands.context import referred
from commands.intent import DEMO_DOMAINS, POOLS, clarify, not_understood
from commands.segment import Segment, find_pool, segment
from commands.vocabulary import (
    ADD_TO_RE,
    APPROVALS_SHOWN,
    APPROVE_WORDS,
    ASK_RE,
    AUTOMATE_RE,
    BRING_BACK_RE,
    CANCEL_NUMBER_RE,
    CANCEL_VERBS,
    CHANGE_WORDS,
    COMMON_WORDS,
    CREATE_WORKFLOW_RE,
    DECISION_WORDS,
    DELTA_RES,
    DEMO_MORE_RE,
    DEMO_WORDS,
    DISPLAY,
    DOWN_WORDS,
    ELLIPSIS_WORDS,
    FOLLOWUP_RE,
    HASH_ID_RE,
    HEALTH_WORDS,
    HELP_FILLER,
    HELP_MORE_RE,
    HELP_RE,
    HELP_TOPIC_WORDS,
    HISTORY_MORE_RE,
    HISTORY_OWNERS,
    HISTORY_RE,
    HOW_DO_I_RE,
    ID_RE,
    LIMIT_RE,
    LOGIN_RE,
    LOGOUT_RE,
    MACHINE_RE,
    MAKE_IT_RE,
    MORE_RE,
    NEW_SESSION_RE,
    POOL_NOUN_AFTER_NAME,
    PRONOUNS,
    QUOTED_TO_RE,
    REQUEST_OPENERS,
    RESTART_VERBS,
    ROUTE_RE,
    RUN_NAMED_RE,
    RUN_SHOWN,
    RUN_VERBS,
    RUNNING_NOW_RE,
    RUNNING_RE,
    SCALE_VERBS,
    SET_SIZE_RE,
    SIZE_TO_RE,
    STATUS_NOUNS,
    STATUS_RE,
    STATUS_WORD_SET,
    STATUS_WORDS,
    SUBMIT_RE,
    SYSTEM_WORDS,
    TASK_ID_RE,
    TASK_NOUNS,
    TASK_STATUS_QUESTION_RE,
    TURN_UP_RE,
    UP_WORDS,
    USER_NAME_RE,
    VIEW_WORDS,
    WANT_N_RE,
    WHAT_CAN_THEY_DO_RE,
    WHOAMI_MORE_RE,
    WHOAMI_RE,
    word_set,
)
from domains.routing import best_pool
from safety import policies as safety
from values import Command

CONCERN_FIRST = "first"
"""safety_concern: an emergency red flag or a mention of self-harm; no command stands in its way."""
CONCERN_WARNING = "warning"
"""safety_concern: a lesser red flag (plain chest pain, a stroke named); a command aimed at a pool, a
task or a workflow stands ("show the healthcare tasks about chest pain")."""


@functools.lru_cache(maxsize=1024)
def safety_concern(text: str) -> str | None:
    """CONCERN_FIRST, CONCERN_WARNING or None: what the safety policies see in a request's text."""
    doc = safety.Doc(text)
    if safety.self_harm(doc)[0]:
        return CONCERN_FIRST
    flags = safety.red_flags(doc)
    if any(flag.level is safety.Urgency.EMERGENCY for flag in flags):
        return CONCERN_FIRST
    return CONCERN_WARNING if flags else None


def understand(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> tuple[str, Command]:
    """(kind, command) of one segment; kind is admin, submit, submit_part or unknown.

    A segment with a safety concern is a submit to the healthcare pool: a matcher's command stands
    only when it is a submit (submit_command sends it to healthcare) or, for a warning, a command
    aimed at a pool, a task or a workflow. "I want to kill myself" is no cancel.
    """
    concern = safety_concern(seg.raw)
    for matcher in _MATCHERS:
        command = matcher(seg, ctx, prev)
        if command is None:
            continue
        stands = command.intent == "submit" or (concern == CONCERN_WARNING and aimed(command, seg))
        if concern and not stands:
            break
        command.text = command.text or seg.raw
        create = command.intent == "workflows" and command.args.get("action") == "create"
        return ("submit" if command.intent == "submit" or create else "admin"), command
    command = submit_command(seg, seg.raw, pool="healthcare") if concern else submit(seg)
    if command is not None:
        return ("submit_part" if prev is not None and prev.intent == "submit" else "submit"), command
    return "unknown", _pool_only(seg) or not_understood(seg.raw)


def submit(seg: Segment) -> Command | None:
    """A domain request: content that points at a pool, or a request for work of any kind."""
    if seg.content_score > 0:
        return submit_command(seg, seg.raw)
    if len(seg.tokens) >= 3 and (seg.tokens[0] in REQUEST_OPENERS or seg.raw.rstrip().endswith("?")):
        return submit_command(seg, seg.raw)
    if seg.pools and len(seg.tokens) >= 3 and seg.tokens[0] in ("i", "im", "my", "need"):
        return submit_command(seg, seg.raw)
    return None


def submit_command(seg: Segment, text: str, pool: str | None = None) -> Command:
    """A submit of ``text`` to ``pool``, or to the pool the segment's words point at (general if none).

    Text with a safety concern goes to the healthcare pool, whatever pool was named or pointed at.
    """
    if safety_concern(text):
        pool = "healthcare"
    if pool is None:
        scores = dict(seg.content)
        for name in seg.pools:
            scores[name] = scores.get(name, 0) + 2
        if seg.has_any(word_set("health healthy healthier unhealthy")) and not _HEALTH_OF_RE.search(seg.text):
            scores["healthcare"] = scores.get("healthcare", 0) + 2
        pool = _routed_pool(scores)
    return Command("submit", {"pool": pool or "general", "input": text})


_HEALTH_OF_RE = re.compile(r" health of (?:the|a|an|our|this|that|their) (?!body|heart|skin|patient|baby|child|kid)")
"""'the health of the housing market' speaks of a market, not of medicine."""


# --- the matchers, in the order of _MATCHERS ----------------------------------------------------


def _pending_answer(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """A bare answer ("healthcare", "4", "bob") to the clarify question of the last request."""
    pending = ctx.get("pending")
    if prev is not None or pending is None or len(seg.tokens) > 5:
        return None
    intent, args = pending["intent"], dict(pending["args"])
    if intent == "login" and len(seg.tokens) == 1 and USER_NAME_RE.fullmatch(seg.core):
        return Command("login", {**args, "name": seg.core})
    command = _inherit(seg, intent, args, pending=True)
    return None if command is None or command.intent == "clarify" else command


def _ellipsis(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """'and the financial ones?', 'finance to 5', 'a sports one': the command before, again."""
    if prev is None and _SHOW_IT_RE.match(seg.text):  # "show it again": the last thing looked at
        return referred("it", ctx)
    rest = {t for i, t in enumerate(seg.tokens) if i not in seg.pool_tokens and not t.isdigit()
            and t not in ELLIPSIS_WORDS and t not in STATUS_WORDS}
    gives = seg.pools or seg.numbers or not STATUS_WORD_SET.isdisjoint(seg.tokens)
    if not gives or not rest <= VIEW_WORDS:
        return None
    intent: str | None  # None: no command before this one to repeat
    if prev is not None:
        intent, args = prev.intent, dict(prev.args)
        if intent == "clarify" and isinstance(args.get("pending"), dict):
            intent, args = args["pending"]["intent"], dict(args["pending"]["args"])
    else:
        intent, args = ctx.get("last_intent"), dict(ctx.get("last_args", {}))
        explicit = seg.joined or (intent == "scale" and seg.numbers) or seg.has_any(_SAME_WORDS)
        if intent in ("scale", "restart", "cancel") and not explicit:
            return None  # changing things again needs an "and ..." or a number
        if intent in ("scale", "restart", "pools", "demo") and ctx.get("last_pool"):
            args.setdefault("pool", ctx["last_pool"])
    if intent is None or (rest and intent not in ("pools", "tasks", "demo", "task")):
        return None
    if intent in ("pools", "restart", "scale", "demo") and seg.has_any(TASK_NOUNS):
        return None  # "list the sports tasks" after a look at a pool names its own object
    return _inherit(seg, intent, args, pending=False)


_SHOW_IT_RE = re.compile(r"^ (?:(?:show|display|view|open|give|get|pull up|bring up|let me see|see)(?: me| us)? "
                         r"(?:it|that|this|them|those|(?:the|that|this) (?:pool|task|job|run|workflow|same))"
                         r"(?: one| ones)?(?: again| once more| please)*|what ?s (?:its|their) (?:status|result|output|"
                         r"progress|state)(?: now)?) $")
"""A look at 'it' and nothing else."""


def _inherit(seg: Segment, intent: str, args: dict[str, Any], pending: bool) -> Command | None:
    """The command ``intent`` again, with what this segment gives (a pool, a number, a status)."""
    pool = seg.pools[0] if seg.pools else None
    if intent in ("pools", "restart"):
        return Command(intent, {"pool": pool}) if pool else None
    if intent == "demo":
        domain = pool or _routed_pool(seg.content)
        return Command("demo", {"domain": domain}) if domain in DEMO_DOMAINS else None
    if intent == "tasks":
        new = {k: v for k, v in args.items() if k in ("status", "pool", "limit")}
        status = _task_status(seg)
        new.update({"pool": pool} if pool else {}, **({"status": status} if status else {}))
        return Command("tasks", new) if pool or status else None
    if intent in ("task", "cancel"):
        return Command(intent, {"task_id": seg.numbers[0]}) if seg.numbers and not pool else None
    if intent == "scale":
        return _inherit_scale(seg, args, pool)
    return None


def _inherit_scale(seg: Segment, args: dict[str, Any], pool: str | None) -> Command:
    new: dict[str, Any] = {"pool": pool or args.get("pool")}
    amount: dict[str, Any] = _scale_amount(seg)
    if not amount and seg.numbers:
        number = seg.numbers[0]
        amount = {"delta": number if args["delta"] >= 0 else -number} if "delta" in args else {"size": number}
    new.update(amount or {k: args[k] for k in ("size", "delta") if k in args})
    if new["pool"] is None:
        return _scale_clarify_pool(new)
    if "size" not in new and "delta" not in new:
        return _scale_clarify_amount(new["pool"])
    return Command("scale", new)


def _account(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if WHOAMI_RE.search(seg.text) or WHOAMI_MORE_RE.search(seg.text):
        return Command("whoami", {})
    if LOGOUT_RE.match(seg.text):
        return Command("logout", {})
    match = LOGIN_RE.match(seg.core)
    if match is None or seg.core[match.end():].strip(" .!?"):
        return None
    register, name = bool(match.group("reg")), match.group("name")
    if name is not None and name.lower() in COMMON_WORDS and name.lower() != "me":
        return None
    if name is None or name.lower() == "me":
        args: dict[str, Any] = {"register": True} if register else {}
        return clarify("missing_name", "Which user name should I use?",
                       ["log in as alice", "register alice"], pending={"intent": "login", "args": args})
    return Command("login", {"name": name, "register": True} if register else {"name": name})


def _help(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if seg.tokens[0] == "help":
        rest = [t for t in seg.tokens[1:] if t not in HELP_FILLER]
        if seg.content_score or not REQUEST_OPENERS.isdisjoint(rest) or "automate" in rest:
            return None  # "help me write a letter" is work, not help
        return _help_command(rest)
    if HELP_RE.search(seg.text) or HELP_MORE_RE.search(seg.text):
        return _help_command([])
    if HOW_DO_I_RE.match(seg.text) and not seg.content_score:
        command = _help_command(seg.tokens)
        return command if command.args else None
    return None


def _help_command(words: list[str]) -> Command:
    for topic, topic_words in HELP_TOPIC_WORDS:
        if not topic_words.isdisjoint(words):
            return Command("help", {"topic": topic})
    return Command("help", {})


def explicit_submit(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """'ask the finance agents: ...', 'submit "..." to the general pool', 'submit a task: ...'."""
    for pattern in (QUOTED_TO_RE, ROUTE_RE, ASK_RE, SUBMIT_RE):
        match = pattern.match(seg.core)
        if match is None:
            continue
        rest = match.group("rest").strip().strip("\"\u201c\u201d").strip()
        if not rest:
            return None
        named = match.groupdict().get("pool") or match.groupdict().get("pool2")
        target = segment(rest, joined=False)
        pool = find_pool(named) if named else None
        return submit_command(target, rest, pool=pool or _routed_pool(target.content))
    return None


def _history(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    mine = len(seg.tokens) <= 3 or seg.has_any(HISTORY_OWNERS)
    if seg.has("history") and not seg.has("history of") and not seg.content_score and mine:
        return Command("history", {})
    if NEW_SESSION_RE.search(seg.text):
        return Command("history", {"action": "new"})
    return Command("history", {}) if HISTORY_RE.search(seg.text) or HISTORY_MORE_RE.search(seg.text) else None


_DELETE_WORKFLOW_RE = re.compile(r"\b(?:delete|remove|erase|destroy)\s+(?:(?:the|my)\s+)?"
                                 r"(?:workflow|wf)\s*(?:number\s*|no\.?\s*|#)?(\d{1,9})\b", re.I)
"""'delete workflow 2', 'remove workflow 2': the workflow and its runs go (unfinished runs cancelled first)."""


def _workflows(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if deleted := _DELETE_WORKFLOW_RE.search(seg.raw):
        return Command("workflows", {"action": "delete", "workflow_id": int(deleted.group(1))})
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
    workflow_id = _number_after(seg.text, ("workflow", "workflows", "wf"))
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
        run_id = _number_after(seg.text, ("run", "runs"))  # "is run 2 waiting for approval?": that run
        return Command("workflows", {"action": "show", "run_id": run_id} if run_id is not None else {"action": "list"})
    if seg.has_any(CANCEL_VERBS):
        run_id = _number_after(seg.text, ("run", "runs"))
        if run_id is None and ctx.get("last_run_id") and seg.has_any(word_set("run")) and seg.has_any(PRONOUNS):
            run_id = ctx["last_run_id"]  # 'cancel that run'
        return None if run_id is None else Command("workflows", {"action": "cancel", "run_id": run_id})
    if not seg.has_any(DECISION_WORDS):
        return None
    run_id = _number_after(seg.text, ("run", "runs"))
    step = _number_after(seg.text, ("step",))
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
    workflow_id = _number_after(seg.text, ("workflow", "workflows", "wf"))
    if workflow_id is not None:
        if seg.has(f"workflow run {workflow_id}"):
            return Command("workflows", {"action": "show", "run_id": workflow_id})
        action = "run" if run_verb and not seg.has(f"run {workflow_id}") else "show"
        return Command("workflows", {"action": action, "workflow_id": workflow_id})
    run_id = _number_after(seg.text, ("run", "runs"))
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


def _demo(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if not (seg.has_any(DEMO_WORDS) or WHAT_CAN_THEY_DO_RE.search(seg.text) or DEMO_MORE_RE.search(seg.text)):
        return None
    if seg.content_score > 2 and not seg.pools:
        return None
    if seg.has("demos") and seg.has_any(word_set("what which list available whats")):
        return Command("help", {"topic": "demos"})
    domain = next((p for p in seg.pools if p in DEMO_DOMAINS), None) or _routed_pool(seg.content)
    if domain in DEMO_DOMAINS:
        return Command("demo", {"domain": domain})
    return clarify("missing_domain", "Which demo would you like to see?",
                   [f"Show me a {d} demo" for d in DEMO_DOMAINS], pending={"intent": "demo", "args": {}})


def _cancel(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    task_words = seg.has_any(word_set("task tasks job jobs queued pending queue"))
    if not (seg.has_any(CANCEL_VERBS) or seg.has("call off")) or (seg.pool_noun and not task_words):
        return None  # "kill one finance agent" is scaling; "cancel the queued tasks in the business pool" is not
    task_id = _task_id(seg)
    if task_id is None:
        match = CANCEL_NUMBER_RE.search(seg.text)
        task_id = int(match.group(1)) if match else None
    if task_id is not None:
        return Command("cancel", {"task_id": task_id})
    status = _task_status(seg, ignore=("cancelled",))
    named_set = seg.has_any(word_set("tasks jobs")) and bool(status or seg.pools)  # "the queued tasks in business"
    if seg.has_any(word_set("them those these")) and seg.has_any(word_set("all every")) and ctx.get(
            "last_intent") == "tasks":  # "cancel them all" after a listing: the tasks it listed
        shown = {k: v for k, v in (ctx.get("last_args") or {}).items() if k in ("status", "pool")}
        return Command("cancel", {"all": True, **shown})
    if (seg.has_any(word_set("all every everything")) or named_set) and task_words:
        return Command("cancel", {"all": True, **({"status": status} if status else {}),
                                  **({"pool": seg.pools[0]} if seg.pools else {})})
    if seg.content_score and not task_words:
        return None  # "how do I stop smoking"
    if ctx.get("last_task_id") is not None:
        return Command("cancel", {"task_id": ctx["last_task_id"]})
    return clarify("missing_task", "Which task should I cancel? Give its number, e.g. \"cancel task 12\".",
                   ["list my queued tasks", "list my running tasks"],
                   pending={"intent": "cancel", "args": {}})


def _restart(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if not (seg.has_any(RESTART_VERBS) or BRING_BACK_RE.search(seg.text)):
        return None
    if seg.content_score and not (seg.pools or seg.pool_noun):
        return None
    pool = seg.pools[0] if seg.pools else None
    if pool is None and seg.has_any(PRONOUNS) and ctx.get("last_pool") and _it_refers_to(ctx) == "pool":
        pool = ctx["last_pool"]
    return Command("restart", {"pool": pool} if pool else {})


def _scale(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    verb = seg.has_any(SCALE_VERBS)
    set_it = bool(SET_SIZE_RE.search(seg.text) and seg.has_any(PRONOUNS) and _it_refers_to(ctx) == "pool")
    if not verb and not _changes_size(seg) and not set_it:
        return None
    if seg.content_score and not (seg.pools or seg.pool_noun):
        return None  # "how do I scale my startup's sales team"
    pronoun = seg.has_any(PRONOUNS)
    implicit = bool(ctx.get("last_intent") in ("scale", "pools") and ctx.get("last_pool"))
    more = seg.numbers or pronoun or MORE_RE.search(seg.text)
    if not verb and not (seg.pools or seg.pool_noun or (implicit and more)):
        return None
    pool = seg.pools[0] if seg.pools else None
    if pool is None and ((pronoun and _it_refers_to(ctx) == "pool") or (implicit and not verb)):
        pool = ctx.get("last_pool")
    factor = next((t for t in seg.tokens if t in ("double", "halve", "triple")), None)
    if factor and not seg.numbers:
        return _scale_clarify_amount(pool, factor=factor)
    amount = _scale_amount(seg)
    if pool is None:
        return _scale_clarify_pool(amount)
    return Command("scale", {"pool": pool, **amount}) if amount else _scale_clarify_amount(pool)


def _changes_size(seg: Segment) -> bool:
    if seg.has_any(CHANGE_WORDS) or seg.text.startswith(" up the "):
        return True
    if SET_SIZE_RE.search(seg.text) and (seg.pool_noun or seg.pools):
        return True
    return bool(TURN_UP_RE.search(seg.text) or MAKE_IT_RE.search(seg.text))


_BARE_SIZE_RE = re.compile(r"^ (?:scale|resize|rescale) (?:the )?[a-z]+(?: (?:pool|agents|team))? (\d+)(?: agents?)? $")
"""'scale healthcare 4', as a chat command line writes it: the size."""


def _scale_amount(seg: Segment) -> dict[str, int]:
    """{'size': n} or {'delta': n} from the words of a scale request, or {}."""
    text = seg.text
    bare = _BARE_SIZE_RE.match(text)
    if bare:
        return {"size": int(bare.group(1))}
    match = SIZE_TO_RE.search(text)
    if match and not ADD_TO_RE.search(text):
        return {"size": int(match.group(1))}
    match = WANT_N_RE.search(text)
    if match and not seg.has_any(word_set("more fewer less extra additional another")):
        return {"size": int(match.group(1))}
    sign = _direction(seg)
    if not sign:
        return {}
    for pattern in DELTA_RES:
        match = pattern.search(text)
        if match:
            return {"delta": sign * int(match.group(1))}
    return {"delta": sign}


def _direction(seg: Segment) -> int:
    for token in seg.tokens:
        if token in UP_WORDS:
            return 1
        if token in DOWN_WORDS:
            return -1
    return 0


def _scale_clarify_pool(args: dict[str, Any]) -> Command:
    partial = {k: v for k, v in args.items() if k in ("size", "delta")}
    how = _scale_words(partial)
    choices = [f"scale {p} {how}" if how else f"scale up the {p} pool" for p in POOLS]
    return clarify("missing_pool", "Which pool should I scale?" + (f" ({how})" if how else ""), choices,
                   pending={"intent": "scale", "args": partial})


def _scale_clarify_amount(pool: str | None, factor: str | None = None) -> Command:
    if pool is None:
        return _scale_clarify_pool({})
    question = (f"To how many agents should I scale the {pool} pool?" if factor is None else
                f"I can't {factor} it without its size: to how many agents should the {pool} pool go?")
    choices = [f"scale up the {pool} pool", f"scale down the {pool} pool", f"scale {pool} to 4",
               f"show the {pool} pool"]
    return clarify("missing_amount", question, choices, pending={"intent": "scale", "args": {"pool": pool}})


def _scale_words(args: dict[str, Any]) -> str:
    if "size" in args:
        return f"to {args['size']}"
    if "delta" in args:
        return f"up by {args['delta']}" if args["delta"] >= 0 else f"down by {-args['delta']}"
    return ""


FOLLOW_RE = re.compile(r"\b(follow|watch|tail|stream)\b", re.IGNORECASE)
"""'follow task 12', 'watch task 12': show the task's events live (args.follow)."""


def _task(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    task_id = _task_id(seg)
    if task_id is None:
        return None
    return Command("task", {"task_id": task_id, "follow": True} if FOLLOW_RE.search(seg.text) else
                   {"task_id": task_id})


def _task_followup(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """'what happened to it?', 'is it done yet?', 'show me the result' about the last task."""
    if seg.content_score or seg.pools or seg.has_any(word_set("queue backlog tasks jobs")):
        return None
    if not FOLLOWUP_RE.search(seg.text):
        return None
    if ctx.get("last_task_id") is not None:
        return Command("task", {"task_id": ctx["last_task_id"]})
    if prev is not None:
        return None  # "health check and return results" is not about a task
    return clarify("missing_task", "Which task do you mean? Give its number, e.g. \"show task 12\".",
                   ["list my tasks", "show my history"], pending={"intent": "task", "args": {}})


def _tasks(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if TASK_STATUS_QUESTION_RE.search(seg.text):
        return Command("tasks", {"status": _task_status(seg) or "running"})
    if not (seg.has_any(TASK_NOUNS) or RUNNING_RE.search(seg.text)):
        return None
    if seg.content_score and not seg.has_any(word_set("tasks jobs queue backlog")):
        return None
    args: dict[str, Any] = {}
    status = _task_status(seg) or ("running" if RUNNING_NOW_RE.search(seg.text) else None)
    if status:
        args["status"] = status
    if seg.pools:
        args["pool"] = seg.pools[0]
    elif seg.has_any(_ITS_WORDS) and _it_refers_to(ctx) == "pool":
        args["pool"] = ctx["last_pool"]  # "list its queued tasks" after a look at a pool
    match = LIMIT_RE.search(seg.text)
    if match:
        args["limit"] = int(match.group(1) or match.group(2))
    return Command("tasks", args)


def _pools(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    named = any(seg.tokens[i + 1:i + 2] and seg.tokens[i + 1] in POOL_NOUN_AFTER_NAME
                for i in seg.pool_tokens)
    if seg.pool_noun or named:
        if seg.content_score and not seg.pools:
            return None  # "write an email to my sales agents"
        pool = seg.pools[0] if seg.pools else None
        if pool is None and seg.has_any(_ITS_WORDS | word_set("that this")):
            pool = ctx.get("last_pool")
        return Command("pools", {"pool": pool} if pool else {})
    if seg.pools and seg.has_any(DISPLAY) and not seg.content_score:
        return Command("pools", {"pool": seg.pools[0]})
    if (seg.has_any(PRONOUNS) and seg.has_any(DISPLAY) and _it_refers_to(ctx) == "pool"
            and not seg.content_score and len(seg.tokens) <= 6):
        return Command("pools", {"pool": ctx["last_pool"]})
    return None


def _health(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if not (seg.has_any(HEALTH_WORDS) or MACHINE_RE.search(seg.text)) or seg.content_score:
        return None
    about_the_machine = seg.has_any(SYSTEM_WORDS) or seg.has_any(HEALTH_WORDS - {"health", "healthy"})
    if len(seg.tokens) > 4 and not about_the_machine:
        return None  # "what are the health benefits of green tea"
    return Command("pools", {"pool": seg.pools[0]}) if seg.pools else Command("health", {})


def _status(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    if not (seg.has_any(STATUS_NOUNS) or STATUS_RE.search(seg.text)) or seg.content_score:
        return None
    if seg.pools:
        return Command("pools", {"pool": seg.pools[0]})
    if seg.has_any(word_set("its their")) and ctx.get("last_pool"):
        return Command("pools", {"pool": ctx["last_pool"]})
    return Command("status", {})


_SAME_WORDS = word_set("too same")
"""'healthcare too', 'do the same for finance': the change before, again, on purpose."""
_ITS_WORDS = word_set("its their")

_MATCHERS = (_pending_answer, _ellipsis, _account, _help, explicit_submit, database.match, _history, _workflows, _demo,
             _cancel, _restart, _scale, _task, _task_followup, _tasks, _pools, _health, _status)
"""Matchers in order of precedence; the first that returns a command wins."""


def _routed_pool(scores: dict[str, int]) -> str | None:
    """The specialised pool the scores point at (domains.routing.best_pool), or None for the general pool."""
    return best_pool(scores)


def _pool_only(seg: Segment) -> Command | None:
    """A segment that only names a pool ("healthcare") asks what to do with it."""
    if not seg.pools:
        return None
    pool = seg.pools[0]
    choices = [f"show the {pool} pool", f"scale up the {pool} pool", f"list the {pool} tasks"]
    if pool in DEMO_DOMAINS:
        choices.append(f"show me a {pool} demo")
    return clarify("ambiguous", f"What would you like to do with the {pool} pool?", choices)


# --- small helpers -------------------------------------------------------------------------------


_AIMED_INTENTS = frozenset({"scale", "restart", "pools", "tasks", "task", "cancel", "demo", "workflows"})
_AIM_WORDS = TASK_NOUNS | DEMO_WORDS | word_set("workflow workflows automate automation")


def aimed(command: Command, seg: Segment | None = None) -> bool:
    """Whether a command names what it acts on: a pool, a task, a workflow or a demo (not only context).

    Args:
        command: a command of a segment.
        seg: that segment; by default the command's own text, segmented again.
    """
    if command.intent not in _AIMED_INTENTS:
        return False
    seg = seg or segment(command.text, joined=False)
    return bool(seg.pools or seg.pool_noun or seg.has_any(_AIM_WORDS) or _task_id(seg) is not None)


def _task_id(seg: Segment) -> int | None:
    match = TASK_ID_RE.search(seg.text)
    if match is None and seg.has_any(word_set("task job")):
        match = ID_RE.search(seg.text)
    if match is None:
        match = HASH_ID_RE.search(seg.core)
    return int(match.group(1)) if match else None


def _task_status(seg: Segment, ignore: tuple[str, ...] = ()) -> str | None:
    for token in seg.tokens:
        status = STATUS_WORDS.get(token)
        if status and status not in ignore:
            return status
    return "running" if seg.has("in progress") else None


def _number_after(text: str, words: tuple[str, ...]) -> int | None:
    match = re.search(r" (?:%s) (?:number |no |id |#)?(\d{1,9}) " % "|".join(words), text)
    return int(match.group(1)) if match else None


def _it_refers_to(ctx: dict[str, Any]) -> str | None:
    """What 'it' means in the context: the last task or the last pool."""
    if ctx.get("last_intent") in ("submit", "task", "cancel") and ctx.get("last_task_id") is not None:
        return "task"
    if ctx.get("last_pool"):
        return "pool"
    return "task" if ctx.get("last_task_id") is not None else None
