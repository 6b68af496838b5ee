"""The fail-safe red flags (safety/red_flag_failsafe.py): a symptom description with an NHS "call 999 /
go to A&E" alarm qualifier gets emergency guidance first, even for a condition no specific rule names."""
from __future__ import annotations

import pytest

from domains import triage as ht
from safety import red_flag_failsafe as fs
from safety.flag_types import Urgency
from safety.patterns import Doc
from safety.red_flags import red_flags

FAILSAFE_KEYS = {flag.key for flag in fs.FAILSAFE_FLAGS}


@pytest.mark.parametrize("text", [
    "my uncle has a sudden tearing feeling going through to his back",
    "her fingers have gone blue and she is really drowsy",
    "my nephew had a fit and his lips went grey",
    "the baby is floppy and won't take her bottle",
    "my grandma's skin looks mottled and she is shivering",
])
def test_an_alarm_sign_in_a_symptom_description_is_an_emergency(text: str) -> None:
    result = ht.triage(text)
    assert result.urgency is Urgency.EMERGENCY
    assert result.sources and result.reasons
    assert "CALL EMERGENCY SERVICES NOW" in ht.format_reply(result).splitlines()[0]


def test_the_fail_safe_stays_out_when_a_specific_rule_found_the_emergency() -> None:
    hits = red_flags(Doc("crushing chest pain going into my left arm and I'm sweating"))
    assert any(flag.level is Urgency.EMERGENCY for flag in hits)
    assert not FAILSAFE_KEYS & {flag.key for flag in hits}


def test_a_fail_safe_reason_names_its_source() -> None:
    result = ht.triage("my uncle has a sudden tearing feeling going through to his back")
    failsafe = [flag for flag in fs.FAILSAFE_FLAGS if flag.reason in result.reasons[0]]
    assert failsafe and result.urgency is Urgency.EMERGENCY
    assert any("When to call 999" in source for source in result.sources)
    assert all(any(name in flag.source for name in ("NHS", "NICE", "RCUK", "BE FAST")) for flag in fs.FAILSAFE_FLAGS)


@pytest.mark.parametrize("text", [
    "the server collapsed suddenly after the deploy",
    "sudden spike in severe errors on the api",
    "run the unconscious bias training report",
    "the board adopted a poison pill",
    "kill the worker process that is choking the queue",
    "what a stroke of luck that the backup worked",
    "I have a plan for the migration, no point waiting",
])
def test_ordinary_requests_raise_no_fail_safe(text: str) -> None:
    assert not FAILSAFE_KEYS & {flag.key for flag in red_flags(Doc(text))}


@pytest.mark.parametrize("text", ["I have a runny nose and a sore throat", "sore muscles after the gym"])
def test_benign_symptoms_stay_below_emergency(text: str) -> None:
    assert ht.triage(text).urgency is not Urgency.EMERGENCY
