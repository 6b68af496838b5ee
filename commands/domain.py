"""Domain requests that hold system words: work for an agent, not a command ("scale a lasagna recipe").

Part of command_processor (DESIGN.md: Intents). A request that opens with a verb the system knows
(scale, restart, cancel, list, show) is a command only when the verb's object is a system object:
a pool, agents, a task or its id, a workflow, a demo, the system itself. "scale a lasagna recipe for
4 people up to 10", "restart my running routine", "list the tasks involved in onboarding a new
employee" and "show me a demo lesson plan" are domain requests; so is a request that opens with a
verb of work ("write", "compare", "estimate", "plan", "analyze") and names no system object ("write a
poem about a swimming pool", "compare the queue systems at Disneyland").
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from commands.vocabulary import ARTEFACT_RE, DEMO_MORE_RE, POOL_SYNONYMS
from values import Command

_OPENER_RE = re.compile(
    r"^(?:(?:hey|hi|ok|okay|so|please|pls|kindly|now|also|and)\b[\s,]*)*"
    r"(?:(?:how (?:do|can|should|would) (?:i|we|you)|should (?:i|we)|can (?:i|we)|is it (?:safe|ok|okay|wise|smart) to|"
    r"what'?s the best way to|best way to|how to) )?"
    r"(?:(?:can|could|would|will) (?:you|u) (?:please )?|i (?:want|need|would like|'d like) (?:you )?to |"
    r"help me (?:to )?|let'?s |go ahead and )?", re.I)

SYSTEM_VERB_RE = re.compile(
    r"^(scale|resize|restart|reboot|reset|cancel|kill|list|show(?: me| us)?|display|give me|demo)\b\s*", re.I)
"""Verbs of a command whose object decides whether the request is a command."""

WORK_VERB_RE = re.compile(
    r"^(?:write|draft|compose|estimate|compare|plan|brainstorm|outline|design|create|generate|suggest|recommend|"
    r"summari[sz]e|analy[sz]e|research|forecast|predict|calculate|prepare|evaluate|assess|translate|"
    r"make me|give me (?:a|an|some) (?:list|plan|checklist|summary|breakdown|overview) of)\b", re.I)
"""Verbs of work for an agent."""

_POOL_WORDS = frozenset(w for names in POOL_SYNONYMS.values() for w in names) | frozenset(POOL_SYNONYMS)
_POOL_NAMES = "|".join(sorted((re.escape(k) for k in _POOL_WORDS), key=lambda k: (-len(k), k)))
"""Every pool word, longest first, then alphabetical: the same pattern in every process (the set's order is
not), so that the start-up pattern cache (startup.py) finds it."""
SYSTEM_OBJECT_RE = re.compile(
    r"\b(?:task|job|run|workflow|ticket)s?\s*(?:number\s*|no\.?\s*|#)?\d|"
    rf"\b(?:{_POOL_NAMES})\b(?:\s+\w+)?\s+(?:pool|pools|agents?|team|tasks?|jobs?|queue|demo)\b|"
    r"\b(?:the|my|our|all|every|failed|queued|running|pending|recent|last|latest) (?:\w+ )?"
    r"(?:tasks|jobs|pools|agents)\b"
    r"(?! (?:involved|needed|required|to do|for each|for every|a |an |that a |that an ))|"
    r"\b(?:workflows?|operatoros|the system|the queue(?!\s+(?:systems?|lines?|times?|theory|management|at|outside)\b)|"
    r"my queue|the pools?|agent pools?|the agents)\b", re.I)
DOMAIN_TASKS_RE = re.compile(
    r"\b(?:tasks|jobs)\s+(?:involved|needed|required|to do|for each|for every|for (?:\w+ing|a|an|my|our|your|their)\b|"
    r"(?:a|an|each|every|the new|new) \w+ "
    r"(?:\w+ )?(?:should|must|needs?|has|have|can|will))", re.I)
"""'the tasks involved in onboarding', 'the tasks a new manager should do': tasks of the world."""
"""A system object named anywhere in a request."""

SYSTEM_HEADS = frozenset("""task tasks job jobs pool pools agent agents workflow workflows queue status health demo
    demos system operatoros run runs history approvals everything all it them that this those one ones mine everyone
    up down dashboard overview metrics performance result results output outputs answer answers command commands
    request requests backlog cpu ram disk memory account accounts user users picture summary report logs log
    session sessions previous past last latest big whole current size sizes update updates check checks info details
    numbers stats list lists count counts usage load tour example examples features capabilities walkthrough
    throughput latency latencies uptime
    """.split()) | _POOL_WORDS
"""Words that, as the object of a system verb, make the request a command."""

_STATE_OF_RE = re.compile(r"\b(?:status|state|progress)\s+(?:of|on)\s+(?:(?:the|my|our|a|an|this|that|his|her|"
                          r"their|your)\s+)?([a-z]+)", re.I)
_MACHINE_HEADS = frozenset("""database db server servers machine machines worker workers backend redis celery api
    provider providers model models cluster node nodes host box app service services instance deployment queues
    analysis analyses report reports question questions submission submissions work query queries things""".split())
"""Heads of 'the status of ...' that are OperatorOS's own (or the user's work in it), beside SYSTEM_HEADS."""

_STOP_RE = re.compile(r"\b(?:for|in|of|at|to|from|with|by|about|on|into|so|up|down|that|which|who|please|"
                      r"and|then|but|if|because|after|before)\b|[,.;:!?]", re.I)
_DETERMINERS = frozenset("a an the my our this that these those some his her their your its".split())


def fold(text: str, commands: list[Command], submit: Callable[[str], Command]) -> list[Command]:
    """``commands``, or one submit of the whole request (``submit(text)``) when every piece of it is domain work."""
    if not commands or all(c.intent == "submit" for c in commands):
        return commands
    after_work = False
    for command in commands:
        piece = command.text or text
        if command.intent == "submit":
            after_work = True
        elif command.intent in _NEVER_WORK or not (is_domain(piece) or (after_work and _continues(piece))):
            return commands
    return [submit(text)]


CREATIVE_RE = re.compile(
    r"^(?:write|compose|draft|tell|make up|invent|create)\s+(?:me\s+|us\s+)?(?:a|an|some|the)\s+(?:\w+\s+){0,2}?"
    r"(?:story|stories|poem|poems|haiku|song|lyrics|limerick|essay|joke|jokes|script|screenplay|rap|sonnet|fable|"
    r"tale|novel|parody|riddle|ode)\b", re.I)
"""A request for a piece of writing: whatever system words its subject holds, it is work for an agent."""


_NEVER_WORK = frozenset({"help", "history", "login", "logout", "whoami", "task", "workflows"})


def is_domain(text: str) -> bool:
    """Whether a piece that the matchers took for a command is a domain request holding system words."""
    body = _OPENER_RE.sub("", text.strip(), count=1)
    if DOMAIN_TASKS_RE.search(body) and not re.search(r"\b(?:pool|agents|queued|failed|running)\b", body, re.I):
        return True
    if CREATIVE_RE.match(body):
        return True  # "write a short story where an agent pool goes on strike": the pool is in the story
    if SYSTEM_OBJECT_RE.search(body):
        return False
    state_of = _STATE_OF_RE.search(body)
    if state_of and state_of.group(1).lower() not in SYSTEM_HEADS | _MACHINE_HEADS:
        return True  # "what's the status of the Brexit talks": the state of a thing of the world
    if DEMO_MORE_RE.search(" " + " ".join(re.findall(r"[a-z0-9]+", body.lower())) + " "):
        return False  # "show off the sports analytics": the brief's demo, not work
    verb = SYSTEM_VERB_RE.match(body)
    if verb is not None:
        rest = body[verb.end():]
        if verb.group(1).lower().startswith("show") and re.match(r"(?:what|how|which|who|when|where|if)\b", rest, re.I):
            said = {w.lower() for w in re.findall(r"[A-Za-z]+", rest)}
            how_to = re.match(r"how to \w+\s+(.+)", rest, re.I)  # "show me how to kill weeds": an object of the world
            named = {w.lower() for w in re.findall(r"[A-Za-z]+", how_to.group(1))} - _DETERMINERS if how_to else set()
            return bool(_ARTEFACT_RE.search(rest) or named) and not said & SYSTEM_HEADS  # "show me what it's doing"
        rest = re.sub(r"^(?:up|down)\s+", "", rest, flags=re.I)
        obj = _STOP_RE.split(rest, maxsplit=1)[0].split()
        from commands.segment import correct  # "scale healtcare to 5": the object is the pool, misspelt

        words = [correct(w.lower().strip("'\"")) for w in obj if w.lower() not in _DETERMINERS]
        looked_at = words[-1:] if verb.group(1).lower() not in ("scale", "resize", "restart", "reboot", "reset",
                                                                 "cancel", "kill") else words
        looked_at = [w for i, w in enumerate(looked_at) if w not in _POOL_WORDS or i == 0
                     or any(v in SYSTEM_HEADS - _POOL_WORDS for v in words[i + 1:])]  # "my bakery business"
        if not words or re.fullmatch(r"\d+", words[0]) or any(w in SYSTEM_HEADS for w in looked_at):
            return False
        if verb.group(1).lower() == "demo" and any(w in _POOL_WORDS for w in words):
            return False  # "demo fin analysis", "demo the sports stuff": the demo of a pool's domain
        return verb.group(1).lower() != "cancel" or bool(_ARTEFACT_RE.search(" ".join(words)))
    return bool(WORK_VERB_RE.match(body)) and not re.search(r"\b(?:account|user|session)\b", body, re.I)


WORLDLY_RES = tuple(re.compile(p, re.I) for p in (
    # an agent as a person of the world: "a sports agent", "real estate agents", "what agents do players hire"
    r"\b(?:an?|one)\s+(?:\w+\s+){0,2}?agent\b(?!\s+pool)",
    r"\b(?:real estate|realty|insurance|travel|talent|literary|booking|leasing|rental|secret|fbi|cia|free|nba|nfl|"
    r"mlb|nhl|fifa|football|baseball|basketball|soccer|hockey|tennis|golf|player'?s?|players'?)\s+agents?\b",
    r"\bagents?\s+(?:do|does|did)\s+"
    rf"(?!(?:you|i|we|the system|operatoros|(?:the\s+)?(?:{_POOL_NAMES}))\b)\w+(?:\s+\w+)?\s+(?:usually\s+)?"
    r"(?:hire|use|need|have|sign|want)\b",
    r"\bagents?\s+(?:should|would|does|do)\s+(?:an?|my|our|their|your)\s+(?:\w+\s+){0,4}?"
    r"(?:office|agency|brokerage|firm|company|business|team|club|player|athlete|cent(?:er|re)|desk|department|store|"
    r"shop|hotel|practice|dealership|helpdesk|restaurant|bank|branch)\b",
    r"\bagent\s+(?:contracts?|fees?|commissions?|licen[cs]\w*|agreements?)\b",
    r"\b(?:hire|hired|hiring|fire|fired|find|choose|pick|sign(?:ed)? with)\s+(?:an?\s+|the\s+|my\s+|our\s+)?"
    r"(?:\w+\s+)?agents?\b",
    # a business or a stock of the world: "grow my small cleaning business", "a stock split", "our family business"
    r"\b(?:my|our|your|their|his|her|a|an)\s+(?:(?!pool|agents?)[a-z]+\s+){0,2}?(?:business(?:es)?|stock|stocks)\b"
    r"(?!\s+(?:pools?|agents?|team|tasks?|jobs?|queue|demo|workers?)\b)",
    # a pool of the world: "my 401k pool of index funds", "the swimming pool"
    r"\bpool of (?!agents\b)\w+",
    r"\b(?:swimming|car|risk|talent|betting|office|gene|labou?r|liquidity|mining|insurance|investment|401k|retirement|"
    r"prize|dead|infinity|kiddie|plunge|pool)\s+pools?\b",
    # sports of the world: "home runs", "runs batted in", "an agent in the NFL", "betting pools"
    r"\b(?:home|homerun|batted|earned|winning|tying|go-ahead)\s+runs?\b|\bhow many runs\b(?![^.?!]*\bworkflows?\b)|"
    r"\bruns?\s+(?:batted|scored|allowed)\b",
    r"\bagents?\s+(?:in|of|for)\s+(?:the\s+)?(?:nba|nfl|mlb|nhl|mls|wnba|premier league|la liga|serie a|bundesliga|"
    r"free agency|draft)\b|\bfree agen(?:cy|ts?)\b",
    r"\bpools?\s+(?:work\s+|works\s+)?in\s+(?:sports\s+)?(?:betting|wagering|gambling)\b",
    # jobs of the world: "if I change jobs", "a job offer", "the job market"
    r"\b(?:change|changing|changed|switch|switching|switched|quit|quitting|between|part[- ]time|full[- ]time|side|"
    r"summer|dream|day)\s+jobs?\b",
    r"\bjobs?\s+(?:offers?|interviews?|market|hunt\w*|search\w*|applications?|titles?|descriptions?|security|loss|"
    r"losses|growth|openings?|postings?|change|switch|satisfaction|hopping|seekers?)\b",
    # a task or a culture of the world: "task scheduling in project management", "cancel culture"
    r"\bjobs?\s+(?:will|would|could|can|might|may)\s+(?:ai|robots?|chatgpt|llms?)\b|"
    r"\b(?:ai|robots?|chatgpt|llms?)\s+(?:\w+\s+){0,2}?(?:take|taking|replace|replacing|kill|killing|steal)\w*\s+"
    r"(?:\w+\s+)?jobs\b",
    r"\btasks?\s+(?:scheduling|management|prioriti[sz]ation|delegation|batching|switching|tracking|estimation)\b",
    r"\bcancel\s+culture\b",
    r"\bqueue\s+up\s+(?!(?:an?\s+|the\s+|my\s+|some\s+|more\s+)?(?:tasks?|jobs?|requests?|analys[ie]s)\b)",
    DOMAIN_TASKS_RE.pattern,  # "the tasks for planning a product launch"
    # a queue or tasks of the world: "the queue time at a typical ER", "what tasks should I do before a colonoscopy"
    r"\bqueues?\s+(?:times?|lines?|at|for|outside|in front|management|systems?|theory|etiquette|lengths?)\b",
    # a workflow of the world: "the best workflow for filing expense reports"
    r"\b(?:best|good|better|ideal|typical|standard|simple|efficient|usual|common)\s+workflows?\s+(?:for|to|of)\b",
    r"\btasks?\s+(?:should|must|do|does|did|can|could)\s+(?:i|we|you|they|he|she)\b",
    r"\btasks?\s+(?:does|do|did|should|must|can|will|would)\s+(?:an?|the|my|our|your|their|his|her)\s+"
    r"(?!(?:pool|agents?|system|operatoros|workflow|queue)\b)\w+",
))
"""System words used of the world: the request that holds them is domain work when nothing else in it is."""


def worldly(text: str, ctx: dict[str, Any], parse: Callable[[str, dict[str, Any]], list[Command]],
            refuses: Callable[[str], bool], submit: Callable[[str], Command]) -> list[Command] | None:
    """One submit of the whole request (``submit(text)``) when its system words are used of the world and, those
    set aside, the request is domain work; else None. `refuses` tells whether a text holds a negated clause
    (commands/mood.py)."""
    masked = mask_worldly(text)
    if masked == text:
        return None
    trial = parse(masked, ctx)
    if not trial or not all(c.intent == "submit" or _objectless(c) for c in trial):
        return None
    if not any(c.intent == "submit" for c in trial) and not _work_left(text, masked, refuses):
        return None
    return [submit(text)]


def _objectless(command: Command) -> bool:
    """A command left with no object once the worldly words are gone: a question about which pool, or general
    help ("scale up my business" is "scale up thing": the thing was the user's business, not a pool)."""
    if command.intent == "clarify":
        return command.args.get("reason") in ("missing_pool", "not_understood", "ambiguous")
    return command.intent == "help" and command.args.get("topic") in (None, "scaling", "pools", "tasks")


_VERB_ON_THING_RE = re.compile(r"\b(?:scal\w*|grow\w*|expand\w*|doubl\w*|tripl\w*|boost\w*|bump\w*|restart\w*|"
                               r"reboot\w*|relaunch\w*)\s+(?:it\s+)?(?:up\s+|down\s+|out\s+)?thing\b", re.I)
"""A change verb whose object was the thing of the world ("scale up my business": "scale up thing")."""


def _work_left(text: str, masked: str, refuses: Callable[[str], bool]) -> bool:
    """Whether the worldly words held all the system words of a request: the rest asks for nothing of the system
    (no pool, task, workflow or account named), so the request is about the thing of the world."""
    from commands.segment import segment

    seg = segment(masked, joined=False)
    if not _VERB_ON_THING_RE.search(masked) or refuses(text):
        return False  # "if I change jobs, should I scale down?": the scaling is not of the thing of the world
    return not seg.pools and not seg.pool_noun and task_number(masked) is None and not re.search(
        r"\b(?:workflows?|demos?|account|session|database|status|health|operatoros|system|queue|agents?|pools?|"
        r"tasks?|jobs?)\b", masked, re.I) and bool(
        re.search(r"\bthing\b", masked))


def mask_worldly(text: str) -> str:
    """``text`` with its system words used of the world replaced by a neutral word ("thing")."""
    for pattern in WORLDLY_RES:
        text = pattern.sub(" thing ", text)
    return text


def _continues(piece: str) -> bool:
    """'... and the status of their payouts', '... and a list of tasks for each manager': more of the work."""
    match = re.match(r"^(?:(?:and|also|then)\s+)?(?:a|an|the|their|its|some)\s+(?:\w+\s+)?(?:list|status|health|state|"
                     r"summary|overview)\s+of\s+(.+)$", piece.strip(), re.I)
    if match is None:
        return False
    return not SYSTEM_OBJECT_RE.search(match.group(1)) and not any(
        w.lower() in ("tasks", "jobs", "agents", "pools", "workflows", "system") and i == 0
        for i, w in enumerate(match.group(1).split()))


_ARTEFACT_RE = ARTEFACT_RE


def task_number(text: str) -> int | None:
    """The number of a task, job, run or workflow named in ``text``, if any."""
    match = re.search(r"\b(?:task|job|run|workflow)s?\s*(?:number\s*|no\.?\s*|#)?(\d{1,9})\b", text, re.I)
    return int(match.group(1)) if match else None

