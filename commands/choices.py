"""Answers to a clarifying question: by number ("2", "option 2", "the second one"), by name ("the
financial one", "sports please") or by a short phrase; an answer that matches no choice says so.

Part of command_processor. The question's choices are kept in the session context (``pending``,
see commands/context.py) for one request and at most PENDING_TTL_SECONDS. A bare number answers a
question that asks for a number ("To how many agents...?", "Which task...?") with that number; any
other question takes it as the number of a choice.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from commands import mood
from commands.intent import clarify
from commands.segment import segment
from values import Command

ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "last": -1}
_INDEX_RE = re.compile(
    r"^(?:(?:option|choice|number|no\.?|#|pick|take|go with|let'?s do|i'?ll take)\s*)?(\d{1,2})(?:\s*(?:please|pls))?$"
    r"|^(?:the\s+)?(first|second|third|fourth|fifth|sixth|seventh|last)(?:\s+(?:one|option|choice))?(?:\s+please)?$",
    re.I)
_NOT_AN_ANSWER_RE = re.compile(
    r"^(?:no|not|none|neither|don'?t|do not|never|nope|wait|stop|should|shall|ought|would|could|can|may|is|are|"
    r"do|does|what|why|how|which|"
    r"maybe|hmm|suppose|supposing|if|imagine|assuming|say|let'?s say|hypothetically|in theory|nah|skip|forget|"
    r"leave|later|explain|tell me)\b", re.I)
"""The opening of a reply that refuses or asks instead of choosing."""
_PUT_OFF_RE = re.compile(r"\b(?:not yet|not now|later|tomorrow|tonight|hold on|wait|let me think|think about it|"
                         r"decide|not sure|unsure|no idea|dunno|i don'?t know)\b", re.I)
"""A reply that puts the choice off: nothing is chosen, the question stands."""
_ABOUT_CHOICES_RE = re.compile(r"\b(?:recommend\w*|options?|choices?|difference|safest|safer|best|better|which|"
                               r"mean|means|explain|why|those|these|them|pick|choose|you)\b", re.I)
"""Words of a question about the choices themselves ("which would you recommend?", "what are my options?")."""
_NUMBER_QUESTIONS = ("missing_amount", "missing_task")
"""Questions whose bare-number answer is the number asked for, not a choice."""

_ONE_RE = re.compile(r"(?:the )?[a-z]+ one")
"""An answer shaped as a choice ("the lasagna one") that names none of them."""

_VERBS = frozenset("show list scale restart cancel run check display view get give demo stop kill".split())

Parser = Callable[[str, dict[str, Any]], list[Command]]


def answer(cleaned: str, ctx: dict[str, Any], parse_request: Parser) -> list[Command] | None:
    """The commands a short answer to the pending question stands for, or None when it is no answer."""
    pending = ctx.get("pending")
    choices = pending.get("choices") if isinstance(pending, dict) else None
    text = cleaned.strip(" .!?\"'").lower()
    if not choices or not isinstance(pending, dict) or not text or len(text.split()) > 8:
        return None
    if not _INDEX_RE.match(text) and (_PUT_OFF_RE.search(text) or _asks_about_the_choices(cleaned, ctx, parse_request)):
        return [_still_asking(cleaned, pending)]  # "I'll decide later", "which would you recommend?"
    if len(text.split()) > 6 or _NOT_AN_ANSWER_RE.match(text):
        return None  # "not finance", "should it be finance?": no choice is made
    rest = {k: v for k, v in ctx.items() if k != "pending"}
    match = _INDEX_RE.match(text)
    if match:
        if match.group(1) and text.isdigit() and pending.get("reason") in _NUMBER_QUESTIONS:
            return None  # "4" after "to how many agents?" is the size
        index = int(match.group(1)) if match.group(1) else ORDINALS[match.group(2).lower()]
        index = len(choices) if index == -1 else index
        if 1 <= index <= len(choices):
            return _chosen(choices[index - 1], rest, parse_request)
        return [_no_such_choice(cleaned, pending)]
    named = _by_name(cleaned, choices)
    if named is not None:
        chosen = _chosen(named, rest, parse_request)
        if cleaned.rstrip().endswith("?"):  # "the financial one?": asked, not chosen; the look at it
            chosen = [mood._read_only(c, cleaned, "question") or c for c in chosen]  # noqa: SLF001
        return chosen
    if _ONE_RE.fullmatch(text):
        return [_no_such_choice(cleaned, pending)]  # "the lasagna one": picks a choice that is not there
    commands = parse_request(cleaned, ctx)
    if len(commands) == 1 and commands[0].intent == "clarify" and commands[0].args.get("reason") in (
            "not_understood", "ambiguous"):
        return [_no_such_choice(cleaned, pending)]
    return None


def _chosen(choice: str, ctx: dict[str, Any], parse_request: Parser) -> list[Command]:
    commands = parse_request(choice, ctx)
    for command in commands:
        command.text = choice
    return commands


def _by_name(answer: str, choices: list[str]) -> str | None:
    """The one choice naming the pool the answer names, when the answer gives no amount of its own."""
    seg = segment(answer, joined=False)
    if seg.tokens and seg.tokens[0] in _VERBS:
        return None  # "show the healthcare pool" is a request of its own
    ones = re.search(r"\b(?:one|ones)\b", answer.lower()) is not None  # "the financial one" names, it counts nothing
    amounts = [n for n in seg.numbers if not (n == 1 and ones)]
    if not seg.pools or amounts:
        return None
    fitting = [c for c in choices if segment(c, joined=False).pools[:1] == seg.pools[:1]]
    return fitting[0] if len(fitting) == 1 else None


def _asks_about_the_choices(cleaned: str, ctx: dict[str, Any], parse_request: Parser) -> bool:
    """Whether a reply asks about the choices rather than making one: no domain work, no command of its own."""
    if not _ABOUT_CHOICES_RE.search(cleaned):
        return False
    seg = segment(cleaned, joined=False)
    if seg.content_score or seg.pools:
        return False
    commands = parse_request(cleaned, {k: v for k, v in ctx.items() if k != "pending"})
    return all(c.intent == "submit" or (c.intent == "clarify" and c.args.get("reason") == "not_understood")
               for c in commands)


def _still_asking(answer: str, pending: dict[str, Any]) -> Command:
    """The pending question again: the reply chose nothing, and nothing was done."""
    command = _no_such_choice(answer, pending)
    command.args["question"] = (f"Nothing was done; the question stands. Answer with a number from 1 to "
                                f"{len(pending['choices'])} or a choice's name:")
    return command


def _no_such_choice(answer: str, pending: dict[str, Any]) -> Command:
    choices = list(pending["choices"])
    question = (f"'{answer.strip()}' is none of the choices; nothing was done. "
                f"Answer with a number from 1 to {len(choices)} or a choice's name:")
    inner = {"intent": pending["intent"], "args": dict(pending.get("args") or {})}
    command = clarify("no_such_choice", question, choices, pending=inner, text=answer)
    command.args["asked"] = pending.get("reason") or "ambiguous"
    return command
