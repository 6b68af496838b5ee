"""The rule above the matchers: only an imperative, affirmative request may change anything.

Part of command_processor (README: Use). A request is read clause by clause. A negated clause
("don't cancel task 4", "no need to restart"), a hypothetical one ("if I scaled business to 10") and
a question about an action ("should I scale up finance?", "is it safe to cancel task 41?") keep what
they name but lose their effect: scale and restart become a look at the pool, cancel a look at the
task, run/approve/reject a look at the workflow or run, and a question about the machine a health
check. A question about how something works ("how do I scale a pool?", "what happens if I cancel a
running task?") is help on its topic. Each command turned read-only carries ``declined``: what was not
done and why, for the reply to say. An imagined change with a question about what would follow ("if
we restarted the finance pool, would tasks be lost?") is answered once, by the look at what it names;
a later "no, don't" / "not yet" takes back the order before it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from commands import domain
from commands.context import update_context
from commands.intent import is_not_understood
from commands.vocabulary import ASK_RE, QUOTED_TO_RE, ROUTE_RE, STATUS_WORDS, SUBMIT_RE
from values import Command

NEGATION_RE = re.compile(
    r"^(?:(?:no|nope|ok|okay|please|pls|well|so|stop|wait|actually|hey)\b[\s,!.]*)*"
    r"(?:don'?t|dont|do not|never\s*mind|nevermind|no need|not asking|i'?m not asking|im not asking|"
    r"i'?m not trying|im not trying|i (?:do not|don'?t|dont) want (?:you )?to|hold off|"
    r"no (?:\w+ing|restarts?|changes?|scale|cancel\w*)\b|without|rather than|instead of|not (?:the|now|yet)\b|skip|"
    r"forget (?:about )?|the user is not asking|they (?:do not|don'?t) want|scratch that|just kidding|"
    r"(?:on )?second thought|wait no|actually no|no wait|no,? don'?t|refrain from|avoid|let'?s not|lets not|"
    r"(?:we|you|i) (?:must|should|shall|will|would|need|do|did|can|could)(?: not|n'?t)\b|(?:we|you|i) won'?t\b|"
    r"there'?s no (?:need|reason)|there is no (?:need|reason)|it'?s not (?:necessary|needed)|"
    r"it is not (?:necessary|needed)|i'?d rather (?:you )?(?:not|didn'?t)|nobody asked|no one asked|"
    r"i said (?:don'?t|do not|no)|leave (?:\w+ ){0,4}?(?:alone|as (?:is|it is|they are)|untouched|be)\b|"
    r"keep (?:\w+ ){0,4}?(?:as (?:is|it is|they are)|running|untouched)\b|not (?:looking|trying|planning) to)", re.I)
"""A clause that says what is not wanted."""

HYPOTHETICAL_RE = re.compile(
    r"^(?:just\s+)?(?:hypothetically|in theory|theoretically)?[\s,]*"
    r"(?:if\b|suppose|supposing|imagine|picture|pretend|envision|in the event|in a scenario|theoretically|"
    r"(?:let'?s |lets )?say (?:i|we)\b|what if|assuming|"
    r"what (?:would|will|could) happen|"
    r"(?:were|was) (?:i|we) to|in a world where|hypothetically|in theory|(?:before|after|once|when) (?:i|we)\b|"
    r"in case|assume|let'?s say|say we\b|on the off chance|provided (?:that )?(?:i|we)\b|in a scenario where)", re.I)
"""A clause that imagines an action."""

ADVICE_RE = re.compile(
    r"^(?:should|shall|ought|would|is|are|does|do|did|can|could|will|may|might|was|were|has|have|any chance)\b"
    r"(?!\s+(?:you|u|ya)\b(?!\s+(?:think|recommend|advise|say|suggest)))", re.I)
"""A yes/no question (not a polite "can you ..."): it asks, it does not order."""

EXPLAIN_RE = re.compile(
    r"^(?:how (?:do|does|would|can|could|should|is|are|will) |what happens|what would it take|"
    r"when (?:is it|would it be) (?:appropriate|a good (?:time|idea)|the right time|wise|safe)|"
    r"(?:can|could|would) you (?:please )?(?:explain|describe)\b|"
    r"(?:(?:does|do|will|would|can|could) (?:scaling|restarting|cancell?ing|approving|rejecting|logging (?:out|in)|"
    r"rebooting|deleting|running a workflow)\b|(?:do|will) (?:i|we) (?:have|need) to )"
    r"(?!.*\b(?:task|job|run|workflow) #?\d)(?!.*\b(?:healthcare|financial|finance|sports|business|general|medical|"
    r"stock|it|them|that|anything|everything|all|memory|server|cpu|ram|disk|machine)\b)|"
    r"(?:explain|describe) (?:how|what|why|when)\b|tell me (?:how (?:to|do|does|i|we|you)|why)\b|"
    r"what (?:does|do|would) .+ "
    r"(?:do|show|mean)\b|why (?:would|should|do|does|is|are)|what'?s the (?:difference|biggest|max|largest|"
    r"limit|point)|what is the (?:difference|biggest|max|largest|limit|point)|how many agents can)", re.I)
"""A question about how something works: it gets help on its topic."""

GENERIC_QUESTION_RE = re.compile(
    r"^(?:can (?:i|we)\b(?!.*\b(?:task|job|run|workflow) #?\d)(?!.*\b(?:healthcare|financial|finance|sports|business|"
    r"general|medical|betting|stock|automation)\b)|(?:does|do) (?:logging|tasks?(?!\s*#?\d)|agents?|pools?|workflows?|"
    r"cancelled|failed|queued|the system|operatoros)\b|are (?:failed |cancelled |queued )?(?:agents|tasks|pools) "
    r"\w+ed\b|can (?:cancelled |failed |queued )?(?:tasks|agents|pools|workflows) be\b|is it safe to log ?out|"
    r"(?:am i|are we|is it|would i be) (?:able|allowed|possible) to\b(?!.*\b(?:task|job|run|workflow) #?\d)"
    r"(?!.*\b(?:healthcare|financial|finance|sports|business|general|medical)\b)|"
    r"is there (?:a|any) way to\b(?!.*\b(?:task|job|run|workflow) #?\d)"
    r"(?!.*\b(?:healthcare|financial|finance|sports|business|general|medical)\b)|"
    r"who (?:can|may|is allowed to)\b(?!.*\b(?:task|job|run|workflow) #?\d))", re.I)
"""A question about how the system behaves in general, not about one pool or task: help answers it."""

FILLER_CLAUSE_RE = re.compile(
    r"^(?:i (?:was|am|'m|m) (?:just )?(?:wondering|curious|asking)|i wonder|(?:just )?(?:wondering|curious)|"
    r"(?:a |one )?(?:quick )?question|honestly|seriously|well|um+|uh+|hmm+|so|okay so|ok so|out of curiosity|"
    r"just asking|genuine question|real quick)$", re.I)
"""A clause that only opens a question ("I was wondering, ..."): it asks for nothing itself."""
_FILLER_CLAUSES = frozenset({"stop", "wait", "no", "nope", "hold on", "ok", "okay", "hmm", "actually", "not now"})

_HOW_VIEW_RE = re.compile(r"^how (?:is|are) (?!.*\b(?:handled|decided|chosen|done|made|work)\b)", re.I)
"""'how are the agent pools performing?' asks for figures, not for help."""

CLAUSE_RE = re.compile(
    r"\s*(?:[.;!?]+(?=\s|$)|,|:(?=\s)|\s[-\u2013\u2014]+\s|[\u2013\u2014]|\s(?=but\s)|\s(?=instead\b)|"
    r"\s(?=(?:without|rather than)\s)|\s(?=and (?:then |just |only )?(?:show|list|tell|give|check|display)\b)|"
    r"\s(?=or (?:actually|wait|no|not)\b)|"
    r"\s(?=(?:i )?just (?:want|show|tell|list|check|give|need|a |the |status|how|what))|"
    r"\s(?=(?:i )?only (?:want|show|tell|list|check|give|need|status|how|what))|"
    r"\s(?=i (?:just |only )?want to (?:see|know|look|check)))\s*", re.I)
"""Where one clause of a request ends."""

MACHINE_WORDS = frozenset(
    "cpu memory ram disk server machine box database db resources hardware healthy overload cope".split())
"""A question about an action that names these asks about the machine: a health check answers it."""

PRONOUN_WORDS = frozenset("it its they them their that this those".split())

TOPIC_WORDS: tuple[tuple[str, str], ...] = (
    ("scal", "scaling"), ("size", "scaling"), ("maximum", "scaling"), ("max ", "scaling"), ("minimum", "scaling"),
    ("how big can", "scaling"), ("how large can", "scaling"), ("resiz", "scaling"), ("add agent", "scaling"),
    ("more agent", "scaling"), ("fewer agent", "scaling"), ("remove agent", "scaling"),
    ("cancel", "tasks"), ("task", "tasks"), ("queue", "tasks"), ("retr", "tasks"), ("job", "tasks"),
    ("restart", "pools"), ("agent", "pools"), ("pool", "pools"),
    ("log out", "account"), ("logging out", "account"), ("logout", "account"), ("log in", "account"),
    ("login", "account"), ("sign", "account"), ("user", "account"), ("account", "account"),
    ("register", "account"),
    ("workflow", "workflows"), ("approv", "workflows"), ("reject", "workflows"),
    ("demo", "demos"), ("status", "status"), ("health", "health"), ("memory", "health"),
    ("cpu", "health"), ("monitor", "health"), ("disk", "health"),
    ("history", "history"), ("past request", "history"), ("previous", "history"),
)
"""Stems of each help topic; the first one in a question's text names its topic."""

_CHANGING = frozenset({"scale", "restart", "cancel", "logout", "login"})
_CHANGING_ACTIONS = frozenset({"run", "create", "approve", "reject", "cancel", "delete", "schedule", "unschedule"})

Parser = Callable[[str, dict[str, Any]], list[Command]]


def changes(command: Command) -> bool:
    """Whether a command would change something (a submit is work, judged apart)."""
    if command.intent == "workflows":
        return command.args.get("action") in _CHANGING_ACTIONS
    if command.intent == "database":
        return command.args.get("action") != "status"
    pending = command.args.get("pending") if command.intent == "clarify" else None
    if isinstance(pending, dict):
        return pending.get("intent") in _CHANGING
    return command.intent in _CHANGING


def split_clauses(text: str) -> list[str]:
    """The clauses of a request, without their punctuation."""
    return [c.strip(" ,.;:!?\"'") for c in CLAUSE_RE.split(text) if c and c.strip(" ,.;:!?\"'")]


def refuses(text: str) -> bool:
    """Whether any clause of `text` is a negation ("if I change jobs, don't scale down")."""
    return any(mood_of(clause) == "negation" for clause in split_clauses(text))


def mood_of(clause: str) -> str:
    """imperative, negation, hypothetical, explain or question."""
    plain = _unprefixed(clause)
    if NEGATION_RE.match(plain) or NEGATION_RE.match(clause.strip()):  # "just kidding" opens with "just"
        return "negation"
    if HYPOTHETICAL_RE.match(plain):
        return "hypothetical"
    if re.match(r"^do (?:the same|that|this|it|so)\b", plain, re.I):
        return "imperative"
    if (EXPLAIN_RE.match(plain) or GENERIC_QUESTION_RE.match(plain)) and not _HOW_VIEW_RE.match(plain):
        return "explain"
    if re.match(r"^do\s+(?!(?:i|we|you|u|they|it|he|she|the|my|our|any|all|these|those|this|that|"
                r"tasks?|agents?|pools?|workflows?|cancelled|failed|queued|running|pending|active|existing|"
                r"succeeded|completed|finished|other|any|some|both|people|users?)\b)\w", plain, re.I) and (
                    "?" not in clause):
        return "imperative"  # "now do healthcare": an order that repeats the last one
    if ADVICE_RE.match(plain) or re.match(r"^(?:would you(?! please| kindly)(?!.*\bplease\b)|do you think)\b", plain,
                                          re.I):
        return "question"
    return "imperative"


def _negated(clause: str) -> str:
    """A negated clause from where its negation opens ("just kidding" keeps its "just")."""
    plain = _unprefixed(clause)
    return plain if NEGATION_RE.match(plain) else clause.strip()


def _unprefixed(clause: str) -> str:
    """A clause without the small words that open it ("but", "ok so", "and then")."""
    return re.sub(r"^(?:(?:ok|okay|so|and|or|also|hey|please|but|actually|now|then|just)\b[\s,]*)+", "",
                  clause.strip(), flags=re.I)


def imperative(text: str) -> bool:
    """Whether every clause of a request is an order (no question, negation, condition or explanation)."""
    return all(mood_of(c) == "imperative" for c in split_clauses(text)) and not text.rstrip().endswith("?")


def apply(cleaned: str, ctx: dict[str, Any], parse_clause: Parser, read_only: bool = False) -> list[Command] | None:
    """The commands of a request that is not all imperative and affirmative, or None when it is.

    Args:
        cleaned: The request (control characters removed, agent framing reduced).
        ctx: The session context.
        parse_clause: Parses one clause with a context (the ordinary path, without this rule).
        read_only: The request as a whole asked for no change ("please don't change anything").
    """
    clauses = split_clauses(cleaned)
    moods = [mood_of(c) for c in clauses]
    for i in range(1, len(clauses)):  # "not now: scale sports to 5": a bare "not now" negates what follows
        if moods[i - 1] == "negation" and moods[i] == "imperative" and _bare_negation(clauses[i - 1]):
            moods[i] = "negation"
            clauses[i - 1] = "not now"  # _FILLER_CLAUSES: it says nothing more itself
            if _INTERJECTION_RE.fullmatch(clauses[i].strip(" ,.!-").lower()):
                clauses[i] = "don't"  # "do not, under any circumstances, cancel it": the negation reaches the verb
        elif moods[i - 1] == "hypothetical" and moods[i] == "imperative" and _BARE_IMAGINING_RE.fullmatch(
                clauses[i - 1].strip()):  # "theoretically, scale up finance": the adverb imagines what follows
            moods[i] = "hypothetical"
            clauses[i - 1] = "hmm"
    if len(clauses) > 1 and clauses[-1].strip(" .!").lower() in _LAST_NO:
        moods[-1] = "negation"  # "scale up finance... no.": the order is taken back
    if not read_only and all(m == "imperative" for m in moods):
        return None
    if _SAFE_WITHOUT_RE.match(cleaned) and not _SPECIFIC_RE.search(cleaned) and _topic(clauses[0]):
        # "can I restart the general pool without losing queued tasks?" asks how the action behaves
        return [_declined(Command("help", {"topic": _topic(clauses[0])}, cleaned), parse_clause(clauses[0], ctx),
                          "question")]
    if not read_only and any(p.match(cleaned) for p in (QUOTED_TO_RE, ROUTE_RE, ASK_RE, SUBMIT_RE)):
        if len(clauses) > 1 and _takes_back(clauses[-1]):
            return [_nothing_done(cleaned)]  # 'submit "..." to general. actually no, don't'
        return None  # explicit routing: everything after it is the request's input
    whole = parse_clause(cleaned, ctx)
    if (not read_only and "negation" not in moods
            and all(c.intent == "submit" and not _idle(c, cleaned) for c in whole)):
        return None  # a domain request, question or not, goes to its agents whole
    local = dict(ctx)
    kept: list[Command] = []
    declined: list[Command] = []
    imagined: list[tuple[str, str, list[Command]]] = []  # (mood, commands) of each clause, for _imagined_answer
    for clause, mood in zip(clauses, moods, strict=True):
        taken_back = mood == "negation" and clause.strip(" .!").lower() in _LAST_NO
        if (clause.lower() in _FILLER_CLAUSES and not taken_back) or FILLER_CLAUSE_RE.match(clause):
            continue
        plain = (NEGATION_RE.sub("", _negated(clause)).strip(" ,") if mood == "negation" else
                 unconditional(clause) if mood == "hypothetical" else clause)
        if mood == "negation" and retracts(plain) and any(changes(c) or c.intent == "submit" for c in kept):
            kept = [r for c in kept for r in [_read_only(c, c.text or clause, "negation")] if r is not None]
            if not kept:  # "submit X. actually no, don't": the work is taken back, nothing is left to do
                return [_nothing_done(cleaned)]
            continue  # "cancel task 9. no, don't": the look at what was named
        commands = parse_clause(plain or clause, local)
        if mood != "imperative" or read_only or "negation" in moods:  # "don't cancel 44, what did it return?"
            commands = [c for c in commands if not (c.intent == "submit" and _idle(c, clause, strict=True))]
        local = update_context(local, commands)
        if mood == "imperative" and not read_only:
            kept += [c for c in commands if not _idle(c, clause)]
            imagined.append((mood, clause, [c for c in commands if not _idle(c, clause)]))
            continue
        reason = mood if mood != "imperative" else "read_only"
        if mood == "explain":
            topic = _topic(clause)
            specific = _SPECIFIC_RE.search(clause) and any(changes(c) for c in commands)
            if topic and not specific and all(c.intent != "submit" or _idle(c, clause) for c in commands) and not (
                    domain.is_domain(clause)):  # "how do I scale a consulting business": work for an agent
                declined.append(_declined(Command("help", {"topic": topic}, clause), commands, reason))
                imagined.append((mood, clause, [declined[-1]]))
                continue
        converted = [_read_only(c, clause, reason) for c in commands]
        if set(re.findall(r"[a-z]+", clause.lower())) & HARDWARE_WORDS:  # "can the server handle 12 finance agents?"
            converted = [Command("health", {k: v for k, v in c.args.items() if k == "declined"}, clause)
                         if c and c.intent == "pools" else c for c in converted]
        imagined.append((mood, clause, [c for c in converted if c is not None and not _idle(c, clause)]))
        target = declined if mood in ("negation", "hypothetical") else kept
        target += [c for c in converted if c is not None]
    if "hypothetical" in moods and not read_only:
        answer = _imagined_answer(cleaned, clauses, moods, imagined)
        if answer:
            return answer
    kept = [_resolve_pronoun(c, declined) for c in kept]
    left = [c for c in declined if _LEAVE_RE.match(c.text or "") and c.intent in ("pools", "task")
            and ({"pool", "task_id"} & set(c.args)) and c not in kept]  # "leave task 15 alone and show the queue"
    result = left + kept if kept else declined
    result = [c for c in result if not is_not_understood(c)] or result  # "..., or should I wait?" adds nothing
    if any(m in ("question", "hypothetical", "explain") for m in moods) or read_only:
        result = [_read_only(c, c.text, "question" if not read_only else "read_only") or c for c in result]
    if not result and "negation" in moods and not any(m == "imperative" for m in moods):
        return [_nothing_done(cleaned)]
    named = set(re.findall(r"[a-z]+", cleaned.lower())) & (MACHINE_WORDS | SYSTEM_NOUNS)
    if not result and (named or ACCOUNT_ACTION_RE.search(cleaned)):  # a question about the system is no task
        topic = _topic(cleaned)
        return [Command("help", {"topic": topic}, cleaned) if topic else Command("status", {}, cleaned)]
    return _dedupe(result) or None


def _nothing_done(text: str) -> Command:
    return Command("clarify", {"reason": "not_understood", "question": (
        "Understood: nothing was done. What would you like instead?"), "choices": [
        "show the system status", "list my tasks", "show the pools"]}, text)


_LEAVE_RE = re.compile(r"^(?:please\s+)?(?:leave|keep)\b", re.I)
"""A clause that names something to leave as it is: its look is kept beside what else was asked."""
_SPECIFIC_RE = re.compile(r"\b(?:task|job|run|workflow)\s*#?\d", re.I)
HARDWARE_WORDS = frozenset("cpu memory ram disk server servers machine box database db resources hardware".split())
"""A question about the consequence of an imagined change that names these asks about the machine."""

_CONDITION_RE = re.compile(
    r"^(?:just\s+)?(?:(?:hypothetically|in theory|theoretically)\b[\s,]*)?"
    r"(?:what (?:would|will|could) happen (?:if|when)|what if|if|suppose|supposing|imagine|assuming|assume|"
    r"(?:let'?s |lets )?say|in case|in the event|in a scenario where|on the off chance|provided|in a world where|"
    r"before|after|once|when|were|was)?\s*(?:that\s+)?"
    r"(?:i|we|you|they|the user|someone)?\s*"
    r"(?:(?:were|was|had|did|do|went ahead and|decided? to|wanted to|want to|ever|just|now|actually)\s+)*"
    r"(?:to\s+)?", re.I)
_PAST_FORMS = {
    "restarted": "restart", "rebooted": "reboot", "cancelled": "cancel", "canceled": "cancel", "scaled": "scale",
    "ran": "run", "approved": "approve", "rejected": "reject", "doubled": "double", "halved": "halve",
    "added": "add", "removed": "remove", "killed": "kill", "aborted": "abort", "deleted": "delete",
    "triggered": "trigger", "registered": "register", "launched": "launch", "bumped": "bump", "logged": "log",
    "signed": "sign",
    "restarting": "restart", "cancelling": "cancel", "canceling": "cancel", "scaling": "scale", "running": "run",
    "approving": "approve", "rejecting": "reject", "logging": "log", "killing": "kill", "deleting": "delete",
}
_PAST_RE = re.compile(r"\b(" + "|".join(_PAST_FORMS) + r")\b(?!\s+(?:tasks?|jobs?|ones?)\b)", re.I)


_RETRACT_WORDS = frozenset("""do doing it that this so yet now anything ahead go proceed proceeding with bother after
    all actually please then today either the same one mind about thing that's thats but and or wait no just ok okay
    hold on thanks thank you advise not""".split())


_SAFE_WITHOUT_RE = re.compile(
    r"^(?:can|could|may|is it (?:possible|safe|ok|okay) to|how (?:do|can|could) (?:i|we))\b.*\bwithout "
    r"(?:losing|dropping|affecting|breaking|interrupting|killing|cancell?ing|disrupting|hurting|any downtime|"
    r"downtime)\b", re.I)
"""A question whether an action can be done without a side effect: how the action behaves, help on it."""
_LAST_NO = frozenset({"no", "nope", "nah", "no no", "not really", "no thanks", "or not", "never mind", "not"})
"""A last clause that takes back the order before it."""
_BARE_IMAGINING_RE = re.compile(r"(?:just\s+)?(?:hypothetically|theoretically|in theory|hypothetically speaking|"
                                r"in principle|say|suppose|imagine)", re.I)


def _takes_back(clause: str) -> bool:
    """A last clause that only takes back what came before ("just kidding", "actually no, don't", "no")."""
    return clause.strip(" ,.!").lower() in ("no", "nope") or (
        mood_of(clause) == "negation" and retracts(NEGATION_RE.sub("", _negated(clause))))


def _bare_negation(clause: str) -> bool:
    """A clause that is only a "not now", "don't" or "no need", naming nothing it refuses."""
    return bool(_BARE_NEGATION_RE.fullmatch(clause.strip(" ,.!-").lower()))


_BARE_NEGATION_RE = re.compile(r"(?:(?:no|ok|okay|please|wait|actually|and),? )*(?:not (?:now|yet|today)|don'?t|dont|"
                               r"do not|no need|not needed|never ?mind|hold off|never(?:,? ever)?|please don'?t)"
                               r"(?: please| thanks| for now| ever)?")
_INTERJECTION_RE = re.compile(
    r"(?:and )?(?:(?:under|in) (?:any|no) (?:circumstances?|case)|whatever (?:happens|you do)|no matter what|"
    r"i (?:repeat|mean (?:it|this|that))|(?:and )?i mean (?:it|this|that)|seriously|really|please|repeat|"
    r"for (?:now|the (?:time being|moment))|at all|ever|again|this time|i beg you|just to be clear|to be clear|"
    r"for real)")
"""A clause said between a bare negation and its verb: the negation goes on to the verb."""


def retracts(rest: str) -> bool:
    """Whether what follows a negation names nothing of its own ("don't", "no, don't do that", "not yet",
    "never mind"): it takes back the order before it."""
    return set(re.findall(r"[a-z']+", rest.lower())) <= _RETRACT_WORDS


def unconditional(clause: str) -> str:
    """The action an imagined clause names, as an order ('if we restarted the finance pool' is 'restart the
    finance pool'): it is only ever read, never done, so it is read the way an order is."""
    body = _CONDITION_RE.sub("", clause.strip(), count=1).strip(" ,")
    body = _PAST_RE.sub(lambda m: _PAST_FORMS[m.group(1).lower()], body, count=1)
    return body or clause


def _imagined_answer(cleaned: str, clauses: list[str], moods: list[str],
                     imagined: list[tuple[str, str, list[Command]]]) -> list[Command] | None:
    """One answer to 'if I <change X>, <what would follow>?': the look at X, whatever the consequence asks.

    The consequence names the machine ("would the RAM be ok?"): a health check. The change names one task,
    run, workflow or pool: the look at it (help on the action when "what happens" asks about a whole
    pool). It names nothing specific ("if I restart everything, ..."): help on the action. An order or a
    question about the present beside it ("..., show me its tasks", "..., how many are queued now?") is
    answered instead, 'it' being the thing imagined.
    """
    looks = [c for mood, _, commands in imagined if mood == "hypothetical" for c in commands]
    present = [c for mood, clause, commands in imagined if mood != "hypothetical"
               and not (CONSEQUENCE_RE.search(clause) and (mood != "imperative" or _WH_RE.match(clause)))
               for c in commands]
    words = set(re.findall(r"[a-z]+", cleaned.lower()))
    undone = next((c.args["declined"] for c in looks if "declined" in c.args), None)
    hypothetical_text = " ".join(c for c, m in zip(clauses, moods, strict=True) if m == "hypothetical")

    def noted(view: Command) -> Command:
        if undone and "declined" not in view.args:
            view.args["declined"] = dict(undone)
        return view

    asked = [c for mood, clause, commands in imagined if mood != "hypothetical" and CONSEQUENCE_RE.search(clause)
             for c in commands if c.intent in ("task", "workflows") and _is_specific(c)]
    if words & HARDWARE_WORDS and (looks or undone):
        answer = noted(Command("health", {}, cleaned))
    elif asked and not any(c.intent in ("task", "workflows") for c in looks):
        answer = noted(asked[0])  # "if we restarted healthcare, what would happen to task 40?": task 40 is asked about
    else:
        specific = next((c for c in looks if _is_specific(c) and c.intent != "pools"), None) or next(
            (c for c in looks if _is_specific(c)), None)  # "what would happen to task 40?" beside a pool imagined
        if specific is not None and not (specific.intent == "pools" and "explain" in moods):
            answer = noted(specific)
        else:
            topic = _topic(unconditional(hypothetical_text)) or _topic(cleaned)
            if topic is None or not (looks or undone):
                return None
            answer = noted(Command("help", {"topic": topic}, cleaned))
    if present:
        return _dedupe([_resolve_pronoun(c, [answer]) for c in present])
    return [answer]


_WH_RE = re.compile(r"^(?:what|which|who|how|when|where|why)\b", re.I)
CONSEQUENCE_RE = re.compile(
    r"\b(?:would|will|could|might|going to|gonna|happens?|afterwards?|after|then|next|kept|keep|lost|lose|losing|"
    r"finish\w*|surviv\w*|fail|break|broken|dropped|continue|resume|affected|impacted|persist|carry on|"
    r"still (?:run|work|finish|complete)\w*)\b|\w'(?:ll|d)\b", re.I)
"""Words of a question about what an imagined change would bring (not about the present)."""


def _is_specific(command: Command) -> bool:
    """Whether a look names one pool, task, run or workflow."""
    args = command.args
    return (command.intent == "task" or (command.intent == "pools" and bool(args.get("pool")))
            or (command.intent == "workflows" and ("run_id" in args or "workflow_id" in args)))


def _idle(command: Command, clause: str, strict: bool = False) -> bool:
    """A piece that adds nothing: not understood, or a 'submit' of a question about the system.

    ``strict``: the clause is not an order, so a submit about 'it' (the thing just named) is idle whatever
    pool its words point at ("if I cancelled task 3, would I lose its result?").
    """
    if command.intent == "clarify" and command.args.get("reason") == "not_understood":
        return True
    if command.intent != "submit":
        return False
    if strict and set(re.findall(r"[a-z]+", clause.lower())) & PRONOUN_WORDS:
        return True
    return command.args.get("pool") == "general" and _about_system(clause)


def _about_system(clause: str) -> bool:
    words = set(re.findall(r"[a-z]+", clause.lower()))
    return bool(words & (PRONOUN_WORDS | MACHINE_WORDS | SYSTEM_NOUNS) or ACCOUNT_ACTION_RE.search(clause))


ACCOUNT_ACTION_RE = re.compile(r"\b(?:log(?:s|ged|ging)?\s*(?:me\s+)?(?:in|out|off)|sign(?:s|ed|ing)?\s*(?:me\s+)?"
                               r"(?:up|in|out)|regist(?:er|ered|ering)\b)", re.I)
"""Logging in or out, signing up: the account, not work for an agent."""


SYSTEM_NOUNS = frozenset("""many agent agents pool pools task tasks job jobs busy now workflow workflows queue queued
    demo demos operatoros system approvals approval logout login user users account session""".split())
"""Nouns of the system itself: a question that names one is about OperatorOS, not work for an agent."""


def _read_only(command: Command, clause: str, reason: str) -> Command | None:
    """The look that a changing command becomes; None for work that was declined outright."""
    if not changes(command) and command.intent != "submit":
        return command
    if command.intent == "submit":
        return None if reason in ("negation", "hypothetical") else command
    if command.intent == "database":  # a question gets the figures, a negation or "how do I" the way to do it
        view = Command("database", {"action": "status"}, clause) if reason in ("question", "hypothetical") else (
            Command("help", {"topic": "database"}, clause))
        return _declined(view, [command], reason)
    words = set(re.findall(r"[a-z]+", clause.lower()))
    if reason != "negation" and words & MACHINE_WORDS:
        return _declined(Command("health", {}, clause), [command], reason)
    args = command.args
    if command.intent == "clarify":
        pending = args["pending"]
        intent, args = pending["intent"], pending.get("args", {})
    else:
        intent = command.intent
    if intent in ("scale", "restart"):
        view = Command("pools", {"pool": args["pool"]} if args.get("pool") else {}, clause)
    elif intent == "cancel":
        status = next((STATUS_WORDS[w] for w in re.findall(r"[a-z]+", clause.lower()) if w in STATUS_WORDS), None)
        view = (Command("task", {"task_id": args["task_id"]}, clause) if "task_id" in args else
                Command("tasks", {k: v for k, v in (("status", args.get("status", status)), ("pool", args.get("pool")))
                                  if v}, clause))
    elif intent == "workflows":
        view = _workflow_view(args, clause)
    elif intent in ("logout", "login"):
        view = Command("whoami", {}, clause) if reason == "negation" else Command("help", {"topic": "account"}, clause)
    else:
        view = Command("help", {}, clause)
    return _declined(view, [command], reason)


def _workflow_view(args: dict[str, Any], clause: str) -> Command:
    if "run_id" in args:
        return Command("workflows", {"action": "show", "run_id": args["run_id"]}, clause)
    if "workflow_id" in args:
        return Command("workflows", {"action": "show", "workflow_id": args["workflow_id"]}, clause)
    if args.get("action") == "create":
        return Command("help", {"topic": "workflows"}, clause)
    return Command("workflows", {"action": "list"}, clause)


def _declined(view: Command, originals: list[Command], reason: str) -> Command:
    """``view`` noting the changing commands it stands for."""
    undone = [describe(c) for c in originals if changes(c)]
    if undone:
        view.args["declined"] = {"what": "; ".join(undone), "why": reason}
    return view


def _resolve_pronoun(command: Command, declined: list[Command]) -> Command:
    """'don't cancel task 4, just show it': 'it' is what the declined clause named."""
    said = command.text or str(command.args.get("input") or "")
    words = set(re.findall(r"[a-z]+", said.lower()))
    definite = re.search(r"\bthe (?:run|task|job|workflow|pool)\b(?!\s*#?\d)", said, re.I)
    if not declined or not (words & (PRONOUN_WORDS | {"there"}) or definite):
        return command
    target = declined[-1]
    if command.intent == target.intent and all(target.args.get(k) == v for k, v in command.args.items()):
        return target
    if definite and ((command.intent == "submit" and command.args.get("pool") == "general") or (
            command.intent in ("help", "workflows", "task", "pools")
            and not {"run_id", "workflow_id", "task_id", "pool"} & set(command.args))):
        return target  # "I'm not asking to approve run 2, just show me the run"
    if command.intent in ("status", "clarify") or (command.intent == "pools" and not command.args.get("pool")
                                                   and target.intent == "pools"):
        return target
    if command.intent == "health" and target.intent == "pools" and target.args.get("pool") and words & PRONOUN_WORDS:
        return target  # "don't restart the business pool; is it healthy?": the pool, not the machine
    if command.intent == "tasks" and "pool" not in command.args and target.args.get("pool"):
        command.args["pool"] = target.args["pool"]
    if command.intent == "tasks" == target.intent and "status" not in command.args and target.args.get("status"):
        command.args["status"] = target.args["status"]
    return command


def _topic(clause: str) -> str | None:
    lowered = clause.lower()
    condition = re.search(r"\b(?:if|once|when|after|before)\b(.+)", lowered)
    if condition and condition.start() > 0:  # "what happens to my tasks if I log out?": the action imagined
        imagined = _topic(condition.group(1))
        if imagined:
            return imagined
    found = [(lowered.find(stem), topic) for stem, topic in TOPIC_WORDS if stem in lowered]
    return min(found)[1] if found else None


def describe(command: Command) -> str:
    """A changing command in words: 'scale the financial pool to 10', 'cancel task 4'."""
    args = command.args
    if command.intent == "clarify" and isinstance(args.get("pending"), dict):
        return describe(Command(args["pending"]["intent"], dict(args["pending"].get("args") or {})))
    pool = f"the {args['pool']} pool" if args.get("pool") else "a pool"
    if command.intent == "scale":
        amount = (f" to {args['size']}" if "size" in args else
                  f" {'up' if args['delta'] >= 0 else 'down'} by {abs(args['delta'])}" if "delta" in args else "")
        return f"scale {pool}{amount}"
    if command.intent == "restart":
        return f"restart the failed agents of {pool if args.get('pool') else 'every pool'}"
    if command.intent == "cancel":
        return f"cancel task {args['task_id']}" if "task_id" in args else "cancel tasks"
    if command.intent == "workflows":
        what = (f" run {args['run_id']}" if "run_id" in args else
                f" workflow {args['workflow_id']}" if "workflow_id" in args else " a workflow")
        return f"{args.get('action', 'run')}{what}"
    if command.intent == "database":
        return ("back up the database" if args.get("action") == "backup" else
                f"restore the database{' from ' + str(args['path']) if args.get('path') else ''}")
    return {"logout": "log out", "login": "log in"}.get(command.intent, command.intent)


def _dedupe(commands: list[Command]) -> list[Command]:
    result: list[Command] = []
    for command in commands:
        plain = {k: v for k, v in command.args.items() if k != "declined"}
        if any(c.intent == command.intent and {k: v for k, v in c.args.items() if k != "declined"} == plain
               for c in result):
            continue
        result.append(command)
    return result
