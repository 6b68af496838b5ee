"""Symptom triage against corpora written from published guidance (NHS, NICE, AHA, RCUK), not from the code.

The cases (tests/data/triage_corpus.jsonl, triage_corpus_extra.jsonl written before any tuning,
triage_corpus_guidance.jsonl: further cases written from NHS / NICE / AHA / RCUK pages in new wordings,
triage_corpus_fresh2.jsonl and triage_corpus_fresh3.jsonl: batches written before the rules were changed for
them, fresh3 for emergencies the others held few of: older people, rarer conditions, poisoning, pregnancy,
injuries, mental health; triage_corpus_fresh5.jsonl, written before the rules were changed for it, weighted to
emergency and urgent cases in everyday wordings: third person, readings, rambling, the symptom after unrelated
context) are split once by a hash of their text: half 0 is the half the rules were tuned on, half 1 is
held out and only measured. Both halves must meet the targets; the figures are printed
(`pytest -s tests/test_triage_corpus.py`).

tests/data/triage_corpus_tuning.jsonl holds further cases written from the guidance pages (every NHS
"call 999" item, NICE NG143 red and amber, NICE NG51, BE FAST, RCUK anaphylaxis, poisoning, burns,
head injury...) to tune on: they always join the tune side, never the held-out half, so the held-out
half stays cases the rules were never fitted to.

How a level is counted (strict):
- under-triage: the level given is less urgent than the expected one;
- over-triage: more urgent than expected (reported, no target);
- undetermined counts as "contact a clinician or 111 today" (urgent) only when its reply leads
  with when to call emergency services and with contacting a clinician or 111 today; otherwise
  it is below self-care. An emergency case is met only by an emergency answer.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from domains import triage as ht

DATA = Path(__file__).parent / "data"
CORPORA = ("triage_corpus.jsonl", "triage_corpus_extra.jsonl", "triage_corpus_guidance.jsonl",
           "triage_corpus_fresh2.jsonl", "triage_corpus_fresh3.jsonl", "triage_corpus_fresh4.jsonl",
           "triage_corpus_fresh5.jsonl")
TUNING = "triage_corpus_tuning.jsonl"
"""Cases written from the guidance to tune on: always on the tune side (never split into the held-out half)."""
LEVELS = ("emergency", "urgent", "soon", "self_care")
"""Most urgent first; undetermined without its safety net ranks after self_care."""
MAX_UNDER_TRIAGE = 0.02
"""Highest share of cases answered less urgently than the guidance says."""
HELD_OUT_GAP = pytest.mark.xfail(strict=True, reason=(
    "issue 16 open: the held-out half misses its targets (rules tuned on half 0 do not yet generalise); "
    "strict, so this marker must go once it passes"))
"""The held-out targets are not met yet: see the figures printed by the `halves` fixture."""
HEAD_LINES = 3
"""How many lines of an undetermined reply its safety net must come within (the level's line first)."""


@dataclass
class Figures:
    """Counts of one half of the corpus."""

    cases: int = 0
    correct: int = 0
    under: int = 0
    over: int = 0
    emergency_below: int = 0

    def line(self, name: str) -> str:
        """One printable line of figures."""
        n = max(self.cases, 1)
        return (f"{name}: {self.cases} cases, accuracy {self.correct / n:.1%}, under-triage "
                f"{self.under / n:.1%} ({self.under}), over-triage {self.over / n:.1%} ({self.over}), "
                f"emergency below emergency {self.emergency_below}")


def read_jsonl(name: str) -> list[dict[str, str]]:
    """The cases of one corpus file (none when it is missing)."""
    path = DATA / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_cases() -> list[dict[str, str]]:
    """Every case of the split corpora (the tuning cases are apart: load_tuning)."""
    return [row for name in CORPORA for row in read_jsonl(name)]


def load_tuning() -> list[dict[str, str]]:
    """The cases written to tune on; they join the tune half only."""
    return read_jsonl(TUNING)


def half(text: str) -> int:
    """0 (tune) or 1 (held out), from a hash of the text; fixed once."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16) % 2


def given_level(text: str) -> str:
    """The level the rules give, undetermined read as described in the module docstring."""
    result = ht.triage(text)
    if result.urgency is not None:
        return result.urgency.value
    head = "\n".join(ht.format_reply(result).splitlines()[:HEAD_LINES]).lower()
    safety_net = "call your local emergency number" in head and "111" in head and "today" in head
    return "urgent" if safety_net else "undetermined"


def rank(level: str) -> int:
    """0 for emergency ... 4 for undetermined without a safety net."""
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def measure(cases: list[dict[str, str]]) -> tuple[Figures, list[tuple[dict[str, str], str]]]:
    """The figures of some cases, and the cases missed with the level given."""
    figures, misses = Figures(), []
    for case in cases:
        got = given_level(case["text"])
        figures.cases += 1
        if got == case["level"]:
            figures.correct += 1
            continue
        misses.append((case, got))
        if rank(got) > rank(case["level"]):
            figures.under += 1
            figures.emergency_below += case["level"] == "emergency"
        else:
            figures.over += 1
    return figures, misses


@pytest.fixture(scope="module")
def halves() -> dict[int, Figures]:
    """The figures of both halves, printed once."""
    cases = load_cases()
    out = {h: measure([c for c in cases if half(c["text"]) == h] + (load_tuning() if h == 0 else []))[0]
           for h in (0, 1)}
    print()
    print(out[0].line("tune half (with the tuning cases)"))
    print(out[1].line("held-out half"))
    return out


def test_corpora_are_well_formed() -> None:
    cases = load_cases()
    assert len(cases) >= 400
    assert len(load_tuning()) >= 200
    for case in cases + load_tuning():
        assert case["level"] in LEVELS and case["text"].strip() and case["source"].strip(), case


@pytest.mark.parametrize("which", [0, pytest.param(1, marks=HELD_OUT_GAP)], ids=["tune", "held-out"])
def test_no_emergency_is_answered_below_emergency(halves: dict[int, Figures], which: int) -> None:
    assert halves[which].emergency_below == 0


@pytest.mark.parametrize("which", [0, pytest.param(1, marks=HELD_OUT_GAP)], ids=["tune", "held-out"])
def test_under_triage_is_rare(halves: dict[int, Figures], which: int) -> None:
    figures = halves[which]
    assert figures.under <= MAX_UNDER_TRIAGE * figures.cases, figures.line("half")
