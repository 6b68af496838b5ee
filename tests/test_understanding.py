"""Request understanding on requests no one here wrote: a tuned half and a held-out half (issue 17).

The external corpus (tests/data/utterances_external.jsonl) and those added before tuning
(tests/data/utterances_agentic.jsonl, utterances_fresh.jsonl, utterances_fresh2.jsonl, utterances_outside.jsonl,
utterances_fresh3.jsonl)
are split once by a hash of each text: half 0 is tuned on,
half 1 is only measured. Rows with ``turns`` run the earlier requests of the conversation through the
same parse + update_context the interface runs. Two figures per half: accuracy, and the number of
questions, negations and hypotheticals that produced a changing command (must be zero).

Two frame tests put every changing action inside questions, refusals, imagined cases and agents' relays, and
ask follow-up questions after a change: none may change anything.

Run ``python -m tests.test_understanding`` to print the figures of both halves and the misses of half 0 only.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from command_processor import parse, update_context
from values import Command

DATA = Path(__file__).parent / "data"
CORPORA = (DATA / "utterances_external.jsonl", DATA / "utterances_agentic.jsonl", DATA / "utterances_fresh.jsonl",
           DATA / "utterances_fresh2.jsonl", DATA / "utterances_outside.jsonl", DATA / "utterances_fresh3.jsonl")
"""Requests written from how people and coding agents phrase things: {text, expect, category, changes, turns?}."""
TUNING = DATA / "utterances_tuning.jsonl"
"""More requests written (before tuning on them) from how people and agents phrase things: tune side only."""

MIN_ACCURACY = 0.95
"""Share of each half understood exactly as expected."""

READ_ONLY_CATEGORIES = ("question", "negation", "hypothetical")
"""Categories in which no command may change anything (but an affirmative order beside the "don't":
"don't cancel task 4, cancel task 5 instead", marked ``changes: true``)."""

_CHANGING_WORKFLOW_ACTIONS = frozenset({"run", "create", "approve", "reject", "cancel", "delete", "schedule",
                                        "unschedule"})


def half(text: str) -> int:
    """0: tuned on; 1: held out (fixed by the text's SHA-256)."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16) % 2


def split(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """The rows of each half; the tuning file's rows are all on the tuned side."""
    return {part: [r for r in rows if (0 if r["where"].startswith(TUNING.name) else half(r["text"])) == part]
            for part in (0, 1)}


def load_rows(tuning: bool = False) -> list[dict[str, Any]]:
    """Every row of both corpora (and of the tuning file, which joins half 0 only), with its file and line."""
    rows = []
    for path in (*CORPORA, TUNING) if tuning else CORPORA:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                rows.append({**json.loads(line), "where": f"{path.name}:{number}"})
    return rows


def changes(command: Command) -> bool:
    """Whether a command changes something (the rule lets only an imperative, affirmative request do so)."""
    if command.intent == "workflows":
        return command.args.get("action") in _CHANGING_WORKFLOW_ACTIONS
    if command.intent == "database":
        return command.args.get("action") in ("backup", "restore")
    return command.intent in ("scale", "restart", "cancel", "submit", "login", "logout")


def understood(row: dict[str, Any]) -> list[Command]:
    """The commands of a row's text, after its earlier turns went through parse and update_context."""
    context: dict[str, Any] = {}
    for turn in row.get("turns") or []:
        context = update_context(context, parse(turn, context))
    return parse(row["text"], context)


def matches(expected: list[dict[str, Any]], got: list[Command]) -> bool:
    """Same intents in order, every expected argument equal (others may exist)."""
    return len(expected) == len(got) and all(
        want["intent"] == c.intent and all(c.args.get(k) == v for k, v in want.get("args", {}).items())
        for want, c in zip(expected, got, strict=True))


def measure(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy, unwanted changes and the misses of some rows."""
    misses, unwanted = [], []
    for row in rows:
        got = understood(row)
        if not matches(row["expect"], got):
            misses.append((row, got))
        if row["category"] in READ_ONLY_CATEGORIES and not row["changes"] and any(changes(c) for c in got):
            unwanted.append((row, got))
    return {"rows": len(rows), "right": len(rows) - len(misses), "misses": misses, "unwanted": unwanted}


def _shown(commands: list[Command]) -> str:
    return json.dumps([{"intent": c.intent, "args": {k: v for k, v in c.args.items()
                                                      if k not in ("choices", "question", "input")}}
                       for c in commands])


def report(part: int, result: dict[str, Any]) -> str:
    """One line of figures for a half."""
    name = "tuned" if part == 0 else "held-out"
    return (f"half {part} ({name}): {result['right']}/{result['rows']} = {result['right'] / result['rows']:.1%}; "
            f"questions/negations/hypotheticals that changed something: {len(result['unwanted'])}")


@pytest.fixture(scope="module")
def halves() -> dict[int, dict[str, Any]]:
    return {part: measure(rows) for part, rows in split(load_rows(tuning=True)).items()}


def test_corpus_is_well_formed() -> None:
    rows = load_rows()
    assert len(rows) >= 800  # issue 17: at least 800 in the categories below
    categories = {r["category"] for r in rows}
    assert {"negation", "question", "hypothetical", "agent_phrased", "domain_with_system_words", "follow_up",
            "clarify_answer", "brief"} <= categories
    expected: dict[str, Any] = {}
    for row in rows:  # the brief's requests are in both files, verbatim: they must agree
        key = row["text"] + json.dumps(row.get("turns"))
        assert expected.setdefault(key, row["expect"]) == row["expect"], row


def test_the_tuned_half_never_changes_anything_on_a_question_negation_or_hypothetical(
        halves: dict[int, dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    result = halves[0]
    with capsys.disabled():
        print("\n" + report(0, result))
    assert not result["unwanted"], [(r["text"], _shown(got)) for r, got in result["unwanted"]]


@pytest.mark.parametrize("part", [0, pytest.param(1, marks=pytest.mark.xfail(
    reason="issue 17's targets on the held-out half (>= 95%, zero unwanted changes) are not reached yet; "
           "the figures are printed", strict=True))])
def test_half_reaches_the_targets(part: int, halves: dict[int, dict[str, Any]],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    result = halves[part]
    with capsys.disabled():
        print("\n" + report(part, result))
    assert not result["unwanted"], [(r["text"], _shown(got)) for r, got in result["unwanted"]] if part == 0 else len(
        result["unwanted"])  # the held-out rows are not shown, so that no one tunes on them
    assert result["right"] / result["rows"] >= MIN_ACCURACY, [
        (r["text"], r.get("turns"), r["expect"], _shown(got)) for r, got in result["misses"][:40]] if part == 0 else (
        result["right"])


CHANGING_ACTIONS = (
    ("scale up the finance pool", "scaling up the finance pool"), ("scale healthcare to 5", "scaling healthcare to 5"),
    ("restart the sports agents", "restarting the sports agents"), ("restart everything", "restarting everything"),
    ("cancel task 12", "cancelling task 12"), ("cancel all queued tasks", "cancelling all queued tasks"),
    ("run workflow 3", "running workflow 3"), ("approve run 4", "approving run 4"), ("reject run 4", "rejecting run 4"),
    ("log out", "logging out"), ("add 2 agents to business", "adding 2 agents to business"),
    ("kill job 7", "killing job 7"), ("back up the database", "backing up the database"),
    ("delete workflow 2", "deleting workflow 2"), ("shrink sports by 2", "shrinking sports by 2"),
    ("log in as bob", "logging in as bob"), ("automate my invoicing", "automating my invoicing"),
    ("start a new session", "starting a new session"), ("cancel it", "cancelling it"))
"""Changes in the imperative and as a gerund, for the frames below."""
READ_ONLY_FRAMES = (
    "should I {a}?", "is it safe to {a}?", "do you think I should {a}?", "what happens if I {a}?", "{A}?",
    "I wonder if I should {a}", "thinking of {g}, thoughts?", "{A}. Good idea?", "would {g} help?",
    "how risky is {g}?", "Tell me if {g} is safe", "don't {a}", "no need to {a}", "please refrain from {g}",
    "{A} -- just kidding", "{A}. Actually no, don't.", "we shouldn't {a}", "avoid {g}", "stop {g}",
    "if I {a}, what happens?", "suppose I {a}", "Theoretically, {a}", "in case we {a}, what should I expect?",
    "The user asks: 'should I {a}?'", "My user asked whether it's safe to {a}.",
    "The user wants to know if they should {a}.", "User says: \"don't {a}\"",
    "Do not, under any circumstances, {a}.", "I changed my mind about {g}", "someone suggested we {a}. agree?",
    "I'd {a} but I'm not sure", "it's pointless to {a}", "I'd hate to {a} by accident", "{A}, or should I wait?",
    "never mind, don't {a}", "were I to {a}, what would happen?", "on the off chance I {a}, what happens?",
    "let's discuss {g}", "I need advice on {g}", "I doubt we need to {a}", "one option is to {a}", "Simulate {g}",
    "dry run: {a}", "{A} only after I confirm", "Only {a} if I say so.", "Get ready to {a}, I'll confirm",
    "The user is not asking you to {a}. Show them the status.", "My user typed '{a}?' - it's a question.",
    "The user asked me NOT to {a}.", "The user was going to {a} but changed their mind.",
    "{A} /s", "{A}? jk", "{A} in theory", "shld we {a}", "{A}? y/n", "Hmm, {a}... no.", "Proposal: {a}",
    "Note to self: {a}", "disregard: {a}", "{A} if needed", "{A} at some point",
    "I accidentally asked to {a}, ignore that", "The user wants an explanation of {g}.",
    "{A}? thanks", "hey, {a}?", "{A}... maybe?", "{A} (?)", "{A}, maybe", "Remind me to {a}",
    "Schedule a reminder to {a}", "{A} when the queue is empty", "Teach me to {a}", "Give me the steps to {a}",
    "{A}? :)", "{A}? asking for a friend", "Write a runbook to {a}", "{A} at 5pm", "{A} in an hour",
    "{A} next Monday", "{A} is scheduled for Friday", "{A}?!", "{A}?!!", "{A} /s!!",
    "({A}?)", "\"{A}?\"", "{A}?.", "{A}\uff1f", "{A} \u2014 NOT")
"""Questions, refusals and imagined changes around an action: none may change anything (issue 17)."""


def test_no_question_negation_or_hypothetical_frame_changes_anything() -> None:
    leaks = []
    for frame in READ_ONLY_FRAMES:
        for action, gerund in CHANGING_ACTIONS:
            text = frame.format(a=action, A=action[0].upper() + action[1:], g=gerund)
            got = parse(text, {})
            if any(changes(c) for c in got):
                leaks.append((text, _shown(got)))
    assert not leaks, leaks


@pytest.mark.parametrize("relay", ["On behalf of the user: ", "User request: ", "The user says: ", "hey, "])
def test_the_frames_hold_inside_an_agents_relay(relay: str) -> None:
    leaks = []
    for frame in READ_ONLY_FRAMES:
        for action, gerund in CHANGING_ACTIONS[::3]:
            text = relay + frame.format(a=action, A=action[0].upper() + action[1:], g=gerund)
            got = parse(text, {})
            if any(changes(c) for c in got):
                leaks.append((text, _shown(got)))
    assert not leaks, leaks


@pytest.mark.parametrize("text", [
    "On behalf of the user: scale sports to 8. actually no, leave it",
    "On behalf of the user: Hmm, cancel task 12... no.",
    "The user is NOT asking to canecl anything. They want to see task 3.",
    "The user says 'nah don't rsetart it, just show me the sports pool'",
    "The user requests that you NOT canecl task 3 but show its result.", "don't scael finance, just show it",
    "shuold I rsetart the sports agents?", "never mind, dont apporve run 4", "scale sports to 6? thanks"])
def test_a_misspelt_or_thanked_refusal_or_question_changes_nothing(text: str) -> None:
    got = parse(text, {})
    assert not any(changes(c) for c in got), _shown(got)


@pytest.mark.parametrize(("text", "intent", "args"), [
    ("scale healtcare to 5", "scale", {"pool": "healthcare", "size": 5}),
    ("rsetart the fniance agents", "restart", {"pool": "financial"}),
    ("healthcare pool -> 4 agents", "scale", {"pool": "healthcare", "size": 4}),
    ("scale sports +2", "scale", {"pool": "sports", "delta": 2}),
    ("hey, list failed tasks thanks", "tasks", {"status": "failed"})])
def test_typos_arrows_signs_and_courtesies_keep_an_order(text: str, intent: str, args: dict[str, Any]) -> None:
    assert matches([{"intent": intent, "args": args}], parse(text, {}))


def test_a_relayed_answer_answers_the_question() -> None:
    context = update_context({}, parse("show me a demo", {}))
    assert matches([{"intent": "demo", "args": {"domain": "sports"}}], parse('The user says: "3"', context))
    assert matches([{"intent": "demo", "args": {"domain": "financial"}}], parse("number 2 thanks", context))


def test_follow_up_questions_never_repeat_a_change() -> None:
    leaks = []
    for turn in ("scale finance to 5", "restart the sports agents", "show task 12", "show run 4", "analyze AAPL stock"):
        context = update_context({}, parse(turn, {}))
        for text in ("same for sports?", "and business too?", "is that wise?", "why would I do that?",
                     "what would that do?", "how about 3?", "do it again?", "should I cancel it?",
                     "what if I pick 2?", "would the same work for healthcare?"):
            got = parse(text, context)
            if any(changes(c) for c in got):
                leaks.append((turn, text, _shown(got)))
    assert not leaks, leaks



def test_an_answer_that_asks_or_puts_off_never_chooses_a_change() -> None:
    leaks = []
    for turn in ("scale up", "scale", "scale down", "cancel", "log in", "double the healthcare pool"):
        context = update_context({}, parse(turn, {}))
        for text in ("the financial one?", "suppose I choose finance", "healthcare, but not yet", "which is safest?",
                     "which would you recommend?", "what's the difference between 1 and 2?", "I'll decide later",
                     "neither", "nope", "what are my options?", "explain option 1", "not sure, maybe 2"):
            got = parse(text, context)
            if any(changes(c) for c in got):
                leaks.append((turn, text, _shown(got)))
    assert not leaks, leaks

if __name__ == "__main__":
    import sys

    halves_of = split(load_rows(tuning=True))
    only = sys.argv[1] if len(sys.argv) > 1 else None
    for part in (0, 1):
        result = measure(halves_of[part])
        print(report(part, result))
        for path in (*CORPORA, TUNING):  # figures per file: aggregates only, for both halves
            some = measure([r for r in halves_of[part] if r["where"].startswith(path.name + ":")])
            if some["rows"]:
                print(f"  {path.name}: {some['right']}/{some['rows']}, unwanted changes {len(some['unwanted'])}")
        if part == 0:  # the held-out half is measured only, never read
            for row, got in result["misses"]:
                if only in (None, row["category"]):
                    print(f"  MISS {row['category']:<12} {row['text'][:90]!r} turns={row.get('turns')}\n"
                          f"       want {json.dumps(row['expect'])}\n       got  {_shown(got)}")
