"""The matchers of pools and tasks: cancel, restart, scale, a task, the tasks, pools, health, status.

Part of command_processor; commands.matcher runs them in its order of precedence. Each takes
(segment, context, previous command) and returns a Command or None.
"""
from __future__ import annotations

import re
from typing import Any

from commands.context import it_refers_to
from commands.intent import POOLS, clarify
from commands.segment import Segment, task_id_of, task_status_of
from commands.vocabulary import (
    ADD_TO_RE,
    BRING_BACK_RE,
    CANCEL_NUMBER_RE,
    CANCEL_VERBS,
    CHANGE_WORDS,
    DELTA_RES,
    DISPLAY,
    DOWN_WORDS,
    FOLLOWUP_RE,
    HEALTH_WORDS,
    LIMIT_RE,
    MACHINE_RE,
    MAKE_IT_RE,
    MORE_RE,
    POOL_NOUN_AFTER_NAME,
    PRONOUNS,
    RESTART_VERBS,
    RUNNING_NOW_RE,
    RUNNING_RE,
    SCALE_VERBS,
    SET_SIZE_RE,
    SIZE_TO_RE,
    STATUS_NOUNS,
    STATUS_RE,
    SYSTEM_WORDS,
    TASK_NOUNS,
    TASK_STATUS_QUESTION_RE,
    TURN_UP_RE,
    UP_WORDS,
    WANT_N_RE,
    WORLD_THING_RE,
    word_set,
)
from values import Command


def cancel(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """A cancel of a task (by number or 'it'), of the tasks named by status or pool, or a question which task."""
    task_words = seg.has_any(word_set("task tasks job jobs queued pending queue"))
    if not (seg.has_any(CANCEL_VERBS) or seg.has("call off")) or (seg.pool_noun and not task_words):
        return None  # "kill one finance agent" is scaling; "cancel the queued tasks in the business pool" is not
    task_id = task_id_of(seg)
    if task_id is None:
        match = CANCEL_NUMBER_RE.search(seg.text)
        task_id = int(match.group(1)) if match else None
    if task_id is not None:
        return Command("cancel", {"task_id": task_id})
    status = task_status_of(seg, ignore=("cancelled",))
    named_set = seg.has_any(word_set("tasks jobs")) and bool(status or seg.pools)  # "the queued tasks in business"
    if seg.has_any(word_set("them those these")) and seg.has_any(word_set("all every")) and ctx.get(
            "last_intent") == "tasks":  # "cancel them all" after a listing: the tasks it listed
        shown = {k: v for k, v in (ctx.get("last_args") or {}).items() if k in ("status", "pool")}
        return Command("cancel", {"all": True, **shown})
    if (seg.has_any(word_set("all every everything")) or named_set) and task_words:
        return Command("cancel", {"all": True, **({"status": status} if status else {}),
                                  **({"pool": seg.pools[0]} if seg.pools else {})})
    if (seg.content_score or WORLD_THING_RE.search(seg.text)) and not task_words:
        return None  # "how do I stop smoking", "cancel my gym membership"
    if ctx.get("last_task_id") is not None:
        return Command("cancel", {"task_id": ctx["last_task_id"]})
    return clarify("missing_task", "Which task should I cancel? Give its number, e.g. \"cancel task 12\".",
                   ["list my queued tasks", "list my running tasks"],
                   pending={"intent": "cancel", "args": {}})


def restart(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """A restart of a pool's agents (named, or 'it' after a look at a pool), or of every pool."""
    if not (seg.has_any(RESTART_VERBS) or BRING_BACK_RE.search(seg.text)):
        return None
    if seg.content_score and not (seg.pools or seg.pool_noun):
        return None
    pool = seg.pools[0] if seg.pools else None
    if pool is None and (seg.has_any(PRONOUNS) or _THE_POOL_RE.search(seg.text)) and ctx.get("last_pool") and (
            it_refers_to(ctx) == "pool"):
        pool = ctx["last_pool"]
    if pool is None and (_ONE_POOL_RE.search(seg.text) or _THE_POOL_RE.search(seg.text)):
        # "restart a pool" names no pool: a restart of every pool would be a guess
        return clarify("missing_pool", "Which pool should I restart?", [f"restart the {p} pool" for p in POOLS],
                       pending={"intent": "restart", "args": {}})
    return Command("restart", {"pool": pool} if pool else {})


_ONE_POOL_RE = re.compile(r" (?:a|one|1|some|single|specific|particular|certain|given) (?:of the |of my |of our )?"
                          r"(?:agent )?(?:pool|pools|team) ")
"""'restart a pool', 'restart one of the pools': one pool, not named."""


def scale(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """A change of a pool's size (to N, by N, up or down), or a question for the pool or the amount."""
    verb = seg.has_any(SCALE_VERBS)
    set_it = bool(SET_SIZE_RE.search(seg.text) and seg.has_any(PRONOUNS) and it_refers_to(ctx) == "pool")
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
    if pool is None and ((pronoun and it_refers_to(ctx) == "pool") or (implicit and not verb)):
        pool = ctx.get("last_pool")
    factor = next((t for t in seg.tokens if t in ("double", "halve", "triple")), None)
    if factor and not seg.numbers:
        return scale_clarify_amount(pool, factor=factor)
    amount = scale_amount(seg)
    if pool is None:
        return scale_clarify_pool(amount)
    return Command("scale", {"pool": pool, **amount}) if amount else scale_clarify_amount(pool)


def _changes_size(seg: Segment) -> bool:
    if seg.has_any(CHANGE_WORDS) or seg.text.startswith(" up the ") or (
            seg.pools and (_POOL_BY_RE.match(seg.text) or _POOL_TO_RE.match(seg.text))):
        return True
    if SET_SIZE_RE.search(seg.text) and (seg.pool_noun or seg.pools):
        return True
    return bool(TURN_UP_RE.search(seg.text) or MAKE_IT_RE.search(seg.text))


_POOL_BY_RE = re.compile(r"^ (?:the )?[a-z]+(?: pool| agents| team)? (?:up|down) by \d+(?: agents?)? $")
"""'business down by 1', as an agent's summary of a scaling writes it."""
_POOL_TO_RE = re.compile(r"^ (?:the )?[a-z]+(?: pool| agents| team)? to \d+(?: agents?)?(?: please| now)? $")
"""'healthcare pool -> 4 agents' (the arrow reads as "to"), as a chat command or a note writes a size."""
_BARE_SIZE_RE = re.compile(r"^ (?:scale|resize|rescale) (?:the )?[a-z]+(?: (?:pool|agents|team))? (\d+)(?: agents?)? $")
"""'scale healthcare 4', as a chat command line writes it: the size."""


_SIGNED_RE = re.compile(r"(?<!\bto)(?<!\bby)\s([+\-\u2212])(\d{1,4})(?:\s+agents?)?\s*[.!]?\s*$", re.I)
"""A signed number right after the pool, closing a scale request: the change ("scale sports +2"); after "to" or
"by" a negative number is no count, and is asked about."""


def scale_amount(seg: Segment) -> dict[str, int]:
    """{'size': n} or {'delta': n} from the words of a scale request, or {}."""
    text = seg.text
    signed = _SIGNED_RE.search(seg.core)
    if signed and seg.pools:  # "scale sports +2", "finance -1": a change by that many, as a command line writes it
        return {"delta": int(signed.group(2)) * (-1 if signed.group(1) in "-\u2212" else 1)}
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


def scale_clarify_pool(args: dict[str, Any]) -> Command:
    partial = {k: v for k, v in args.items() if k in ("size", "delta")}
    how = _scale_words(partial)
    choices = [f"scale {p} {how}" if how else f"scale up the {p} pool" for p in POOLS]
    return clarify("missing_pool", "Which pool should I scale?" + (f" ({how})" if how else ""), choices,
                   pending={"intent": "scale", "args": partial})


def scale_clarify_amount(pool: str | None, factor: str | None = None) -> Command:
    if pool is None:
        return scale_clarify_pool({})
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


def task(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """A look at one task by its number ('follow task 12' streams its events)."""
    task_id = task_id_of(seg)
    if task_id is None:
        return None
    return Command("task", {"task_id": task_id, "follow": True} if FOLLOW_RE.search(seg.text) else
                   {"task_id": task_id})


def task_followup(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
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


def tasks(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """A listing of tasks, filtered by status, pool and a limit the words give."""
    if TASK_STATUS_QUESTION_RE.search(seg.text):
        return Command("tasks", {"status": task_status_of(seg) or "running"})
    if not (seg.has_any(TASK_NOUNS) or RUNNING_RE.search(seg.text)):
        return None
    if seg.content_score and not seg.has_any(word_set("tasks jobs queue backlog")):
        return None
    args: dict[str, Any] = {}
    status = task_status_of(seg) or ("running" if RUNNING_NOW_RE.search(seg.text) else None)
    if status:
        args["status"] = status
    if seg.pools:
        args["pool"] = seg.pools[0]
    elif seg.has_any(ITS_WORDS) and it_refers_to(ctx) == "pool":
        args["pool"] = ctx["last_pool"]  # "list its queued tasks" after a look at a pool
    match = LIMIT_RE.search(seg.text)
    if match:
        args["limit"] = int(match.group(1) or match.group(2))
    return Command("tasks", args)


def pools(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """A look at the pools, or at one pool named or referred to."""
    if _FIGURES_RE.match(seg.text):
        return Command("pools", {})  # "show performance metrics": the pools' figures are the system's
    named = any(seg.tokens[i + 1:i + 2] and seg.tokens[i + 1] in POOL_NOUN_AFTER_NAME
                for i in seg.pool_tokens)
    if seg.pool_noun or named:
        if seg.content_score and not seg.pools:
            return None  # "write an email to my sales agents"
        pool = seg.pools[0] if seg.pools else None
        if pool is None and (seg.has_any(ITS_WORDS | word_set("that this")) or _THE_POOL_RE.search(seg.text)):
            pool = ctx.get("last_pool")
        return Command("pools", {"pool": pool} if pool else {})
    if seg.pools and seg.has_any(DISPLAY) and not seg.content_score:
        return Command("pools", {"pool": seg.pools[0]})
    if (seg.has_any(PRONOUNS) and seg.has_any(DISPLAY) and it_refers_to(ctx) == "pool"
            and not seg.content_score and len(seg.tokens) <= 6):
        return Command("pools", {"pool": ctx["last_pool"]})
    return None


_FIGURES_RE = re.compile(
    r"^ (?:(?:please|pls|can you|could you|now|ok) )*(?:show|display|list|get|give|see|check|pull up|whats|what is|"
    r"what are)?(?: me| us)?(?: the| all| your| our| current)?(?: (?:agent|agents|pool|pools|agent pools?|each pools?|"
    r"every pools?))? ?(?:perf|performance|throughput|latency|latencies|error rates?)"
    r"(?:(?: and)? (?:throughput|latency|latencies|error rates?|performance))*"
    r"(?: metrics| stats| figures| numbers| data)?"
    r"(?: (?:per|for|of|across|by) (?:each |every |all )?(?:the )?(?:pool|pools|agent|agents|agent pools))?"
    r"(?: please| pls)? $")
"""A request for performance figures that names nothing else: the pools' throughput, latency, error rate."""
_THE_POOL_RE = re.compile(r" the pool (?!of )|(?<! all) the pool $")
"""'show me the pool' after a look at one: that pool (not 'the pools')."""


def health(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """The system's health, or a pool's when one is named (never 'the health benefits of tea')."""
    if not (seg.has_any(HEALTH_WORDS) or MACHINE_RE.search(seg.text)) or seg.content_score:
        return None
    about_the_machine = seg.has_any(SYSTEM_WORDS) or seg.has_any(HEALTH_WORDS - {"health", "healthy"})
    if len(seg.tokens) > 4 and not about_the_machine:
        return None  # "what are the health benefits of green tea"
    return Command("pools", {"pool": seg.pools[0]}) if seg.pools else Command("health", {})


def status(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """The system's status, or a pool's when one is named or referred to."""
    if not (seg.has_any(STATUS_NOUNS) or STATUS_RE.search(seg.text)) or seg.content_score:
        return None
    if seg.pools:
        return Command("pools", {"pool": seg.pools[0]})
    if seg.has_any(word_set("its their")) and ctx.get("last_pool"):
        return Command("pools", {"pool": ctx["last_pool"]})
    return Command("status", {})


ITS_WORDS = word_set("its their")
