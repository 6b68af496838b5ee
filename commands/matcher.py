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

from commands import database, domain, pools_tasks, workflows_demos
from commands.context import referred
from commands.intent import DEMO_DOMAINS, clarify, not_understood
from commands.segment import Segment, find_pool, segment, task_id_of, task_status_of
from commands.vocabulary import (
    ASK_RE,
    COMMON_WORDS,
    DEMO_WORDS,
    ELLIPSIS_WORDS,
    HELP_FILLER,
    HELP_MORE_RE,
    HELP_RE,
    HELP_TOPIC_WORDS,
    HISTORY_MORE_RE,
    HISTORY_OWNERS,
    HISTORY_RE,
    HOW_DO_I_RE,
    LIMIT_RE,
    LOGIN_RE,
    LOGOUT_RE,
    NEW_SESSION_RE,
    QUOTED_TO_RE,
    REQUEST_OPENERS,
    ROUTE_RE,
    STATUS_WORD_SET,
    STATUS_WORDS,
    SUBMIT_RE,
    TASK_NOUNS,
    USER_NAME_RE,
    VIEW_WORDS,
    WHOAMI_MORE_RE,
    WHOAMI_RE,
    WORLD_THING_RE,
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


# --- the matchers kept here (the others: commands.pools_tasks, commands.workflows_demos) ------------


def _pending_answer(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """A bare answer ("healthcare", "4", "bob") to the clarify question of the last request."""
    pending = ctx.get("pending")
    if prev is not None or pending is None or len(seg.tokens) > 5:
        return None
    intent, args = pending["intent"], dict(pending["args"])
    if intent == "login" and len(seg.tokens) == 1 and USER_NAME_RE.fullmatch(seg.core) and (
            seg.core.lower() not in COMMON_WORDS | _NOT_NAMES):
        return Command("login", {**args, "name": seg.core})
    command = _inherit(seg, intent, args, pending=True)
    return None if command is None or command.intent == "clarify" else command


def _ellipsis(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """'and the financial ones?', 'finance to 5', 'a sports one': the command before, again."""
    if prev is None and _SHOW_IT_RE.match(seg.text):  # "show it again": the last thing looked at
        if seg.has("pool") and ctx.get("last_pool"):  # "show me that pool again", whatever came between
            return Command("pools", {"pool": ctx["last_pool"]})
        return referred("it", ctx)
    rest = {t for i, t in enumerate(seg.tokens) if i not in seg.pool_tokens and not t.isdigit()
            and t not in ELLIPSIS_WORDS and t not in STATUS_WORDS}
    gives = seg.pools or seg.numbers or not STATUS_WORD_SET.isdisjoint(seg.tokens)
    if not gives or not rest - _LIMIT_WORDS <= VIEW_WORDS:
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
    if intent is None or (rest and intent not in ("pools", "tasks", "demo", "task")) or (
            rest & _LIMIT_WORDS and intent != "tasks"):
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
        status = task_status_of(seg)
        limit = LIMIT_RE.search(seg.text)  # "only the last 3"
        new.update({"pool": pool} if pool else {}, **({"status": status} if status else {}))
        if limit:
            new["limit"] = int(limit.group(1) or limit.group(2))
        return Command("tasks", new) if pool or status or limit else None
    if intent in ("task", "cancel"):
        return Command(intent, {"task_id": seg.numbers[0]}) if seg.numbers and not pool else None
    if intent == "scale":
        return _inherit_scale(seg, args, pool)
    return None


def _inherit_scale(seg: Segment, args: dict[str, Any], pool: str | None) -> Command:
    new: dict[str, Any] = {"pool": pool or args.get("pool")}
    amount: dict[str, Any] = pools_tasks.scale_amount(seg)
    if not amount and seg.numbers:
        number = seg.numbers[0]
        amount = {"delta": number if args["delta"] >= 0 else -number} if "delta" in args else {"size": number}
    new.update(amount or {k: args[k] for k in ("size", "delta") if k in args})
    if new["pool"] is None:
        return pools_tasks.scale_clarify_pool(new)
    if "size" not in new and "delta" not in new:
        return pools_tasks.scale_clarify_amount(new["pool"])
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
    if HOW_DO_I_RE.match(seg.text) and not seg.content_score and not WORLD_THING_RE.search(seg.text) and not (
            domain.is_domain(seg.raw)):  # "how can I restart my metabolism": the verb's object is of the world
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


_SAME_WORDS = word_set("too same again")
_LIMIT_WORDS = word_set("last latest first top recent newest most")
"""'only the last 3': a limit, for a follow-up to a listing of tasks only."""
_NOT_NAMES = word_set("neither none nope nah hmm hm stop skip cancel never nevermind later wait no yes ok okay idk")
"""Replies to 'Which user name?' that refuse or hesitate: no one is called that."""
"""'healthcare too', 'do the same for finance': the change before, again, on purpose."""


_MATCHERS = (_pending_answer, _ellipsis, _account, _help, explicit_submit, database.match, _history,
             workflows_demos.workflows, workflows_demos.demo, pools_tasks.cancel, pools_tasks.restart,
             pools_tasks.scale, pools_tasks.task, pools_tasks.task_followup, pools_tasks.tasks, pools_tasks.pools,
             pools_tasks.health, pools_tasks.status)
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
    return bool(seg.pools or seg.pool_noun or seg.has_any(_AIM_WORDS) or task_id_of(seg) is not None)
