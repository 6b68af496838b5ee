"""Symptom triage: urgency levels, measured values, reply sections, the tool."""
from __future__ import annotations

import json
import re

import pytest

from domains import triage as ht
from providers.tools import run_tool
from safety.patterns import Doc
from safety.policies import Urgency
from safety.red_flags import red_flags


@pytest.mark.parametrize("text,level", [
    ("crushing chest pain and sweating", Urgency.EMERGENCY),
    ("face drooping on one side and slurred speech", Urgency.EMERGENCY),
    ("my child drank bleach", Urgency.EMERGENCY),
    ("I need medical advice about chest pain symptoms", Urgency.URGENT),
    ("my 6 week old baby has a temperature of 38.2", Urgency.EMERGENCY),  # NICE NG143 red
    ("temperature 104F and chills", Urgency.URGENT),
    ("I think I broke my wrist", Urgency.URGENT),
    ("painful urination and fever", Urgency.URGENT),
    ("I feel suicidal", Urgency.URGENT),
    ("I found a lump in my armpit", Urgency.SOON),
    ("cough for 4 weeks", Urgency.SOON),
    ("runny nose for 3 weeks", Urgency.SOON),
    ("burning when I pee", Urgency.SOON),
    ("runny nose and a sore throat", Urgency.SELF_CARE),
    ("I sprained my ankle", Urgency.SELF_CARE),
    ("mild headache since this morning", Urgency.SELF_CARE),
])
def test_triage_levels(text: str, level: Urgency) -> None:
    assert ht.triage(text).urgency is level


def test_only_reasons_at_the_final_level_are_given() -> None:
    result = ht.triage("temperature 104F and chills")  # both signs are urgent (NHS: fever with shivering)
    assert result.urgency == ht.Urgency.URGENT
    assert result.reasons == ["a fever with shivering, shaking or feeling very unwell needs a clinician today",
                              "a temperature of 40.0 C needs care today"]
    result = ht.triage("runny nose and a temperature of 104F")  # the cold's self-care reason is not given
    assert result.urgency is not None and result.urgency.rank < ht.Urgency.SELF_CARE.rank
    assert not any("self-care" in reason for reason in result.reasons)
    result = ht.triage("runny nose for 3 weeks")
    assert result.reasons == ["symptoms for about 21 days: longer than self-care should take"]


def test_nothing_recognised_is_not_determined() -> None:
    result = ht.triage("blah blah")
    assert result.urgency is None and result.reasons == []
    reply = ht.format_reply(result)
    assert reply.startswith("Symptom triage: NOT DETERMINED")
    assert "Describe what you feel" in reply


@pytest.mark.parametrize("text,expected", [
    ("fever of 38.5C", 38.5), ("102 F since yesterday", 38.9), ("it was 104F", 40.0), ("39 degrees", 39.0),
    ("39,5 °C", 39.5), ("temperature 101.3", 38.5), ("I am 45 years old", None), ("no reading", None),
])
def test_temperature_is_read_in_celsius(text: str, expected: float | None) -> None:
    assert ht.temperature_c(text) == expected


@pytest.mark.parametrize("text,days", [
    ("for 3 weeks", 21), ("two days now", 2), ("about a month", 30), ("1 day, maybe 2 weeks", 14),
    ("today", None),
])
def test_duration_in_days(text: str, days: int | None) -> None:
    assert ht.duration_days(text) == days


def test_infant_age() -> None:
    assert ht.infant_age_months("my 2 month old") == 2.0
    assert ht.infant_age_months("a 6-week-old baby") == pytest.approx(6 * 7 / 30.44)
    assert ht.infant_age_months("my baby") is None


def test_reply_sections_for_chest_pain() -> None:
    result = ht.triage("I need medical advice about chest pain symptoms")
    reply = ht.format_reply(result)
    lines = reply.split("\n")
    assert lines[0] == "Symptom triage: URGENT CARE TODAY"
    assert lines[1] == ht.BUILT_IN_NOTE
    for section in ("Urgency: urgent care today", "Why:", "What to do now:",
                    "Questions a clinician would ask:", "What to watch for:"):
        assert section in lines
    assert result.actions[0].startswith("Call your local emergency number now if it is sudden")
    assert "Does it spread to your arm, jaw, neck or back?" in result.questions
    assert "Pain spreading to the arm, jaw, neck or back." in result.watch_for


def test_emergency_reply_says_call_now_first() -> None:
    result = ht.triage("my dad's face is drooping")
    assert result.actions[0].startswith("Call your local emergency number now")
    assert "Note the time the signs started." in result.actions
    assert "stroke" in result.topics


def test_no_diagnosis_no_dosing() -> None:
    result = ht.triage("how much ibuprofen can I take for a headache")
    assert result.asks_for_dosing
    reply = ht.format_reply(result)
    assert "does not say which medicine or how much to take" in reply
    assert not re.search(r"\d+\s?(mg|ml|tablets?)\b", reply)
    assert not re.search(r"\byou have (a|an)\b", reply, re.I)


def test_crisis_result() -> None:
    result = ht.triage("I keep thinking about ending it all, end it all")
    assert result.crisis and result.urgency is Urgency.URGENT
    assert any("crisis line" in a for a in result.actions)
    assert result.to_dict()["crisis_resources"].startswith("If you are thinking about suicide")


def test_tool_through_run_tool() -> None:
    call = run_tool(ht.TOOLS, "c1", "triage_symptoms", '{"description": "chest pain and short of breath"}')
    assert call.error is None
    out = json.loads(call.output)
    assert out["urgency"] == "emergency" and out["urgency_label"] == "call emergency services now"
    assert out["not_a_diagnosis"].startswith("This is not a diagnosis")
    bad = run_tool(ht.TOOLS, "c2", "triage_symptoms", '{"description": "  "}')
    assert bad.error == "ValueError: description must be a non-empty string"


@pytest.mark.parametrize("text, not_reason", [
    ("my 6 month old is teething and dribbling, otherwise happy and feeding well", "stroke"),
    ("my teething baby is dribbling a lot", "stroke"),
    ("he dived into a shallow pool and hurt his hand, can move everything fine", "swallowed"),
])
def test_everyday_words_near_alarm_words_are_not_read_as_them(text: str, not_reason: str) -> None:
    result = ht.triage(text)  # "month" is no "mouth", "shallow" no "swallow", a teething baby's dribble no stroke
    assert result.level != "emergency" and not any(not_reason in r for r in result.reasons), result


def test_an_offline_project_plan_is_not_read_as_something_snorted() -> None:
    text = "tasks: work in short iterations; at 30% of the time hand over something; items in <angle brackets>"
    # "short" was read as "snort" and, with "something" and a number, made a poisoning emergency
    assert "failsafe_swallowed" not in {flag.key for flag in red_flags(Doc(text))}


def test_bright_red_blood_from_the_bottom_is_not_read_as_bringing_up_blood() -> None:
    result = ht.triage("a little bright red blood on the toilet paper after a hard poo")
    # "bright" was read as "bring"; blood with no rule for it still falls to the fail-safe (more care, not less)
    assert not any("bringing up blood" in r for r in result.reasons), result
