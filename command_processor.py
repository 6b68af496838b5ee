"""Turns a request's text into Commands of the fixed intent vocabulary (README: Use).

Rules, not a model: standard library only, cheap to import, about a tenth of a millisecond per
typical request. How a request is understood:

1. Cleaning: control characters go, and so do a greeting set off before the request ("hey, 3")
   and a thank-you after it ("number 2 thanks"; a question mark before it stays); each piece is
   matched in lower case after Unicode NFKC, with polite filler ("hey, could you please ...")
   removed, number words made digits ("ten", "a couple") and typos of command words corrected
   ("scael", "helthcare", "stauts").
2. Splitting: at "and", "then", "also", ";", "&&" and sentence ends (at most MAX_SEGMENTS
   pieces). A piece that is no command of its own joins its neighbour, so a domain request keeps
   its "and"s ("analyze AAPL and MSFT" is one submit). A domain request with a colon ("summarize
   this: ...", "Submit a healthcare task: ...") keeps everything after the colon as its input,
   whatever that text says. A piece that only names a pool or a number repeats the command
   before it ("restart healthcare and sports", "scale healthcare to 3 and finance to 5").
3. Matching: each piece goes through the matchers in order (a pending question,
   follow-up ellipsis, account, help, explicit submit, history, workflows, demo, cancel,
   restart, scale, task, task follow-ups, tasks, pools, health, status), then domain routing
   (submit), and otherwise becomes ``clarify``.
4. Safety first (README: Safety): a piece with a medical red flag or a mention of self-harm
   (the detectors of safety/) is a submit to the healthcare pool before the matchers have a say;
   only a command aimed at a pool, a task or a workflow stands over a lesser warning ("show the
   healthcare tasks about chest pain"), and nothing over an emergency or self-harm ("I want to
   kill myself" is no cancel). A submit whose text has one goes to healthcare whatever pool its
   words name, and a request whose whole text is an emergency that no piece showed ("scale
   healthcare to 4, my dad has chest pain and is sweating") opens with a healthcare submit of it.

Arguments of each intent (only those that apply are present):

=========  ===================================================================================
status     {}
health     {}
pools      pool?
tasks      status? (TASK_STATUSES), pool?, limit?
task       task_id
scale      pool and exactly one of size (int >= 0) or delta (int, signed)
restart    pool? (none means every pool)
submit     pool, input (the request as typed; explicit routing words removed)
cancel     task_id, or all=True with status? and pool?
demo       domain (DEMO_DOMAINS)
workflows  action (WORKFLOW_ACTIONS); workflow_id, run_id, step, name or input as given
history    {}
help       topic? (HELP_TOPICS)
login      name, register=True for "register NAME" / "sign up as NAME"
logout     {}
whoami     {}
clarify    question, choices (requests the user can type), reason, pending?
=========  ===================================================================================

Decisions worth knowing (the vocabulary is fixed by the CLI contract in README.md; these are its edges):

* A domain request that names no command is ``submit`` to the pool its words point at
  (``general`` when none does), prompt-injection text and all. Explicit routing ("ask the
  finance agents: ...", 'submit "..." to the general pool') keeps only the request in ``input``.
* "automate X", "help me automate X", "create a workflow for X" are
  ``workflows {'action': 'create', 'input': text}``, not a submit.
* "scale up X" is delta +1, "scale down X" -1, "add 3 agents to X" +3, "scale X to 4" size 4.
  "double/halve the X pool" asks for a number (the parser does not know the current size).
* "restart" alone means every pool; a bare "scale", "cancel" or "demo" asks.
* Empty text and greetings are ``help``; text longer than MAX_TEXT_LENGTH is ``clarify`` with
  reason ``too_long`` (never silently truncated).
* ``clarify`` reasons: ``not_understood``, ``missing_pool``, ``missing_amount``,
  ``missing_task``, ``missing_domain``, ``missing_name``, ``ambiguous``, ``too_long``. A question
  about one missing piece carries ``pending`` ({'intent', 'args'}): update_context keeps it, and
  a bare answer on the next request ("healthcare", "4", "bob") completes the command.

Session context: see CONTEXT_KEYS. The interface passes it to parse() and calls update_context()
after each request (with the task id the controller created or touched); the dict is
JSON-serialisable and small, for the session row's JSON column.

This module is the public face; import every name from here. The work is done in:

=====================  =============================================================================
commands/intent        the intents and the values of their arguments (POOLS, TASK_STATUSES...);
                       Command itself is in values.py
commands/vocabulary    the words and patterns: pool synonyms, typo tables, regexes (the domain words
                       are domains/routing.py's, shared with the controller)
commands/segment       one piece of a request: cleaning, tokens, typo correction, pools, domain scores
commands/matcher       the entry point and the order of the matchers (a pending answer, follow-ups,
                       account, help, explicit submits, history); safety first
commands/pools_tasks   the matchers of pools and tasks: cancel, restart, scale, task(s), health, status
commands/workflows_demos  the matchers of workflows (delete, schedule, decide, run, show) and demos
commands/request       splitting a request into pieces and gathering the pieces into commands
commands/context       the session context: CONTEXT_KEYS, update_context, the pending question
commands/agent_text    a request relayed by an agent ("The user wants ...") reduced to the request
commands/mood, guard   only an imperative, affirmative request changes anything; questions,
                       negations and hypotheticals get the read-only answer and say so
commands/choices       answers to a clarifying question, by number or by name
commands/domain        domain work holding system words ("scale a lasagna recipe") goes to the agents
commands/unavailable   actions OperatorOS does not have, said plainly
commands/own_work      a question about the user's own earlier request is a look at their tasks
=====================  =============================================================================
"""
from __future__ import annotations

import logging
import re
from typing import Any

from commands import agent_text, choices, domain, guard, mood, own_work, unavailable
from commands.context import CONTEXT_KEYS, clean_context, update_context
from commands.intent import (
    DEMO_DOMAINS,
    EXAMPLE_REQUESTS,
    HELP_TOPICS,
    POOLS,
    TASK_STATUSES,
    WORKFLOW_ACTIONS,
    clarify,
    not_understood,
)
from commands.matcher import CONCERN_FIRST, aimed, safety_concern, submit_command
from commands.request import MAX_SEGMENTS, parse_request
from commands.segment import correct as _correct  # noqa: F401 - tests clear its cache
from commands.segment import find_pool, normalise, segment
from commands.vocabulary import CONTROL_RE, GREETINGS, POOL_SYNONYMS, TOKEN_RE
from values import INTENTS, Command

__all__ = [
    "CONTEXT_KEYS", "DEMO_DOMAINS", "EXAMPLE_REQUESTS", "HELP_TOPICS", "INTENTS", "MAX_SEGMENTS",
    "MAX_TEXT_LENGTH", "POOLS", "POOL_SYNONYMS", "TASK_STATUSES", "WORKFLOW_ACTIONS", "Command",
    "find_pool", "normalise", "parse", "update_context",
]

logger = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 4000
"""Longest request text understood; a longer one gets a ``clarify`` with reason ``too_long``."""
SAFETY_SCAN_LIMIT = 100_000
"""Characters of an over-long request that the safety policies still read."""

_CHANGING = frozenset({"scale", "restart", "cancel", "workflows"})
"""Intents that change something: next to an emergency they stand only when they name their target."""


def parse(text: str, context: dict[str, Any] | None = None) -> list[Command]:
    """Understand a request: one Command, or several for a compound request.

    Args:
        text: The request as typed.
        context: The session context (CONTEXT_KEYS) for follow-ups, or None.

    Returns:
        At least one Command; an unknown or ambiguous request yields one ``clarify``.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if len(text) > MAX_TEXT_LENGTH:
        question = (f"That request is {len(text)} characters long; the limit is {MAX_TEXT_LENGTH}. "
                    "Could you shorten it?")
        return [clarify("too_long", _safety_preface(text) + question, list(EXAMPLE_REQUESTS[:3]), text=text[:200])]
    cleaned = CONTROL_RE.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    words = TOKEN_RE.findall(cleaned.lower())
    if not cleaned.strip("?") or (words and GREETINGS.issuperset(words)):
        return [Command("help", {}, cleaned)]
    ctx = clean_context(context)
    try:
        return _safety_first(cleaned, _understand(cleaned, ctx))
    except Exception:  # noqa: BLE001 - a parser bug must not reach the user as a traceback
        logger.exception("could not parse %r", cleaned[:200])
        return [not_understood(cleaned)]


def _submit_whole(text: str) -> Command:
    """One submit of the whole request, to the pool its words point at."""
    return submit_command(segment(text, joined=False), text)


def _understand(cleaned: str, ctx: dict[str, Any]) -> list[Command]:
    """The commands of a request: an agent's framing reduced, and the rule that only an imperative,
    affirmative request changes anything (commands/mood.py)."""
    cleaned = _with_verbs_spelled(_without_courtesies(cleaned))
    request, read_only = agent_text.reduce(cleaned)
    relayed = request != cleaned and not read_only  # 'The user says: "3"' answers the question as "3" does
    answered = choices.answer(request if relayed else cleaned, ctx, parse_request)
    if answered is not None:
        return guard.check(request if relayed else cleaned, answered, ctx)
    worldly = None if read_only else domain.worldly(request, ctx, parse_request, mood.refuses, _submit_whole)
    if worldly is not None:  # system words used of the world: "what does a sports agent do?"
        return guard.check(request, worldly, ctx)
    commands = mood.apply(request, ctx, parse_request, read_only) or parse_request(request, ctx)
    if not read_only and not any(mood.mood_of(c) == "negation" and guard.ACTION_VERB_RE.search(c)
                                 for c in mood.split_clauses(request)):  # "... without harming pets" refuses no action
        commands = domain.fold(request, commands, _submit_whole)
    # the guard has the last word, after every step that may turn a piece into a change
    return guard.check(request, unavailable.check(request, own_work.check(request, commands)), ctx)


_OPENING_RE = re.compile(r"^(?:(?:hey|hi|hello|yo|ok|okay|so|well|um+|uh+|alright|right|good (?:morning|afternoon|"
                         r"evening))(?:\s+there)?(?:\s+operator\s*os)?\s*[,!.:;\u2013\u2014-]+\s*)+", re.I)
"""A greeting or interjection set off by punctuation before the request ("hey, 3", "ok - cancel it")."""
_THANKS_RE = re.compile(r"(?P<before>[^\s,.;:!?\u2013\u2014-]*)(?P<sep>[\s,.;:!?\u2013\u2014-]+)"
                        r"(?:thanks|thank you|thx|ty|cheers|many thanks|much appreciated|appreciate it|"
                        r"thanks in advance)(?:\s+(?:so much|a lot|a bunch|again|in advance))?[\s.!]*$", re.I)
"""A thank-you closing the request ("number 2 thanks"); not the words of a note ("write a card saying thank you")."""
_CLOSING_MARKS_RE = re.compile(r"(?<=\S)[\s!?.)\]\"'\u203d\uff1f\u201d\u2019\u00bb]*"
                               r"[!?\u203d\uff1f)\]\"'\u201d\u2019\u00bb][\s.]*$")
"""Marks closing a request: any run holding a question mark is one ("the financial one?!!", "(restart sports?)");
exclamation marks alone add nothing ("cancel task 12 /s!!" is still said in jest)."""


def _closing(marks: re.Match[str]) -> str:
    tail = marks.group(0)
    if any(q in tail for q in "?\u203d\uff1f"):
        return "?"
    return tail.replace("!", "").rstrip()
_THANKS_KEPT = frozenset("saying say says said a an the to for of with note card message letter email word words "
                         "big my our".split())


_CHANGE_VERBS = frozenset("scale restart reboot cancel approve reject delete abort terminate shrink".split())
"""Verbs of a change whose misspellings are set right in the whole text, so that the rule above the matchers reads
"NOT canecl task 3" as the refusal it is (the matchers already read each word corrected)."""
_SYSTEM_WORDS = _CHANGE_VERBS | frozenset("""tasks task agents agent pools status health healthcare finance financial
    sports business general workflow workflows failed queued running history""".split())
"""System words set right in the whole text too: the rule's own patterns name them ("restart the fniance agents")."""
_WORD_RE = re.compile(r"[A-Za-z]{5,}")


def _with_verbs_spelled(text: str) -> str:
    """``text`` with misspelt change verbs spelt right ("rsetart" -> "restart"); inflections stay ("scaled")."""
    def spelt(match: re.Match[str]) -> str:
        word = match.group(0).lower()
        right = _correct(word)
        return right if right in _SYSTEM_WORDS and right != word and not word.startswith(right) else match.group(0)

    return _WORD_RE.sub(spelt, text)


def _without_courtesies(text: str) -> str:
    """``text`` without a greeting before it or a thank-you after it, which say nothing of the request."""
    stripped = _OPENING_RE.sub("", text, count=1).strip() or text
    stripped = _CLOSING_MARKS_RE.sub(_closing, re.sub(r"\s*\(\s*[?\u203d\uff1f]+\s*\)\s*$", "?", stripped))
    thanks = _THANKS_RE.search(stripped)
    if thanks and thanks.start("sep") > 0 and (thanks.group("sep").strip() or thanks.group("before").lower()
                                          not in _THANKS_KEPT):
        mark = "?" if "?" in thanks.group("sep") else ""  # "scale sports to 6? thanks" stays a question
        stripped = (stripped[:thanks.start("sep")].strip() + mark) or stripped
    return stripped


def _safety_preface(text: str) -> str:
    """Crisis resources or emergency guidance to put before any answer to a text we will not work.

    A request refused for its length is still read by the safety policies (up to a bound, so a huge
    body costs little): someone in crisis gets the help lines, whatever else the reply says.
    """
    from safety import policies as safety

    doc = safety.Doc(text[:SAFETY_SCAN_LIMIT])
    if safety.self_harm(doc)[0]:
        return safety.CRISIS_RESOURCES + "\n\n"
    if any(flag.level is safety.Urgency.EMERGENCY for flag in safety.red_flags(doc)):
        return f"If this is an emergency, call your local emergency number now ({safety.EMERGENCY_NUMBERS}).\n\n"
    return ""


def _safety_first(cleaned: str, commands: list[Command]) -> list[Command]:
    """The commands of a request whose whole text is an emergency or mentions self-harm.

    The signs may be split across pieces ("scale healthcare to 4, my dad has chest pain and is
    sweating"), or a piece may have been read as a command from the context alone ("my 3 year old
    cut his leg" after a scale). Questions go, and so does a command that changes something without
    naming what; the request then opens with a healthcare submit of its whole text.
    """
    if safety_concern(cleaned) != CONCERN_FIRST:
        return commands
    # a symptom read as help ("I'm confused and sweaty") is a symptom: the description stays whole
    kept = [c for c in commands if c.intent not in ("clarify", "help") and (c.intent not in _CHANGING or aimed(c))]
    to_healthcare = [c for c in kept if c.intent == "submit" and c.args.get("pool") == "healthcare"]
    if len(to_healthcare) == 1 and len(kept) == len(commands):
        return commands
    whole = Command("submit", {"pool": "healthcare", "input": cleaned}, cleaned)
    return [whole, *(c for c in kept if c not in to_healthcare)]
