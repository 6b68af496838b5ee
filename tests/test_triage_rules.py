"""domains/triage.py beyond the guidance and fail-safe tests: the age and duration bands of NICE NG143 and the
NHS pages, which rule gives way to which, and the shape of the reply and of the tool's answer.

Written against the survivors of `bench/mutation.py domains/triage.py tests/test_healthcare_triage.py
tests/test_triage_failsafe.py tests/test_triage_guidance.py` (TESTING.md). The rules are tuned while these
tests stand, so they assert levels and which guidance applies, not the wording of a reason.
"""
from __future__ import annotations

import pytest

from domains import triage as tri
from domains.triage import RULES, TriageResult, format_reply, pin_level, triage, triage_tool
from domains.triage_topics import TOPICS
from safety import policies as safety
from safety.policies import Doc, Urgency, red_flags

PUBLISHERS = ("NHS", "NICE", "AHA", "RCUK", "BE FAST", "Resuscitation Council", "UK ", "Samaritans")


def _rule(key: str) -> tri.Rule:
    return next(r for r in RULES if r.key == key)


def _cites(result: TriageResult, words: str) -> bool:
    return any(words in source for source in result.sources)


# -- age and duration bands ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["my 2 year old has had a fever for 5 days",
                                  "my 10 year old has had a fever for 5 days"])
def test_a_child_with_a_fever_for_five_days_is_seen_today(text: str) -> None:
    """NICE NG143 amber: a fever for 5 days or more."""
    result = triage(text)
    assert result.urgency is Urgency.URGENT and _cites(result, "fever for 5 days or more")


@pytest.mark.parametrize("text", ["my 2 year old has had a fever for 4 days",
                                  "my 16 year old has had a fever for 6 days"])
def test_a_shorter_fever_or_an_older_teenager_does_not_meet_the_child_fever_duration_sign(text: str) -> None:
    result = triage(text)
    assert not _cites(result, "fever for 5 days or more")


def test_a_baby_under_28_days_with_any_symptom_is_seen_today() -> None:
    result = triage("my 2 week old baby has a runny nose")
    assert result.urgency is Urgency.URGENT and _cites(result, "under 28 days")


@pytest.mark.parametrize("text", ["my 4 week old baby has a runny nose", "my 2 month old baby has a runny nose"])
def test_a_baby_under_3_months_with_any_symptom_is_seen_today(text: str) -> None:
    """NICE NG143: a lower threshold for care under 3 months (28 days or more: not the newborn rule)."""
    result = triage(text)
    assert result.urgency is Urgency.URGENT and _cites(result, "under 3 months")
    assert not _cites(result, "under 28 days")


def test_from_3_months_a_cold_is_not_lifted_by_the_infant_rule() -> None:
    result = triage("my 3 month old baby has a runny nose")
    assert not _cites(result, "under 3 months") and not _cites(result, "under 28 days")


@pytest.mark.parametrize("text", ["I am 65 and have a fever", "I am 70 and have a fever",
                                  "I am 70 and my temperature is 38.0", "I am 70 and I measured 38.0 C"])
def test_a_fever_over_65_is_checked_today(text: str) -> None:
    """NHS: a chest infection or fever in someone 65 or over needs a check today; 38.0 C is a fever."""
    result = triage(text)
    assert result.urgency is Urgency.URGENT and _cites(result, "over 65")


@pytest.mark.parametrize("text", ["I am 64 and have a fever", "I am 70 and have a cough",
                                  "I am 70 and I measured 37.5 C"])
def test_no_fever_or_under_65_is_not_lifted_by_the_age_rule(text: str) -> None:
    assert not _cites(triage(text), "over 65")


def test_a_cough_is_given_three_weeks_and_other_symptoms_two_before_a_gp() -> None:
    """NHS: see a GP for a cough lasting more than 3 weeks; other symptoms after 2 to 3 weeks."""
    assert triage("I have had a cough for 15 days").urgency is Urgency.SELF_CARE
    assert triage("I have had a cough for 22 days").urgency is Urgency.SOON
    assert triage("I have had a mild rash for 15 days").urgency is Urgency.SOON
    assert triage("I have had a mild headache for 15 days").urgency is Urgency.SOON


# -- crisis and emergencies ----------------------------------------------------------------------------


def test_thoughts_of_suicide_with_a_plan_and_a_time_are_an_emergency() -> None:
    """NHS: help for suicidal thoughts: call 999 when you have a plan or have decided when."""
    result = triage("I want to end my life tonight, I have a plan")
    assert result.urgency is Urgency.EMERGENCY and result.crisis
    assert triage("I want to kill myself").urgency is Urgency.URGENT


@pytest.mark.parametrize("text", ["crushing chest pain and sweating", "crushing chest pain and I am confused",
                                  "crushing chest pain and I am breathless"])
def test_a_red_flag_emergency_is_answered_by_its_red_flags_alone(text: str) -> None:
    """Uncertainty never lowers a level; with an emergency found, the fail-safes add nothing."""
    result = triage(text)
    assert result.urgency is Urgency.EMERGENCY
    assert result.reasons == list(dict.fromkeys(f"{f.reason} (red flag)" for f in red_flags(Doc(text))
                                                if f.level is Urgency.EMERGENCY))


def test_an_urgent_rule_alone_is_not_lifted_by_a_concerning_feature_it_already_answers() -> None:
    """Concerning features rule self-care and soon out; they add nothing to a level already urgent."""
    for text in ("I think I broke my wrist and I feel very unwell",
                 "I think I broke my wrist and I have a cold and feel very unwell"):
        result = triage(text)
        assert result.urgency is Urgency.URGENT
        assert result.reasons == [_rule("fracture").reason]


def test_a_concerning_feature_lifts_self_care_to_urgent() -> None:
    """NICE NG51 / NHS sepsis: feeling very unwell rules self-care out."""
    result = triage("I have a cold and I feel very unwell")
    assert result.urgency is Urgency.URGENT and _rule("cold_flu").reason not in result.reasons


def test_a_dosing_question_is_declined_however_it_is_put() -> None:
    for text in ("how much paracetamol can I take for a headache",
                 "I don't know how much ibuprofen to take for my sore knee"):
        result = triage(text)
        assert result.asks_for_dosing
        assert "Medicines: OperatorOS does not say which medicine or how much to take" in format_reply(result)
    assert not triage("I have a headache").asks_for_dosing


# -- which rule gives way to which ---------------------------------------------------------------------


@pytest.mark.parametrize(("shadowed", "by"), [("urinary", "kidney"), ("fever", "headache_fever"),
                                              ("stomach_upset", "headache_fever"), ("cold_flu", "persistent_cough")])
def test_a_general_rule_gives_way_to_the_specific_one(shadowed: str, by: str) -> None:
    general, specific = _rule(shadowed), _rule(by)
    assert tri._shadowed(general, [general, specific])
    assert not tri._shadowed(general, [general])
    assert not tri._shadowed(specific, [general, specific])


def test_no_other_rule_gives_way() -> None:
    shadowing = {"urinary", "fever", "stomach_upset", "cold_flu"}
    for rule in RULES:
        if rule.key not in shadowing:
            assert not tri._shadowed(rule, list(RULES)), rule.key


# -- what every result holds ---------------------------------------------------------------------------


TEXTS = ["my 2 week old baby has a runny nose", "I am 70 and have a fever", "I have had a mild rash for 15 days",
         "I want to kill myself", "I want to end my life tonight, I have a plan", "crushing chest pain and sweating",
         "burning when I pee and pain in my back with a fever", "my 10 year old has had a fever for 5 days",
         "I have a cold", "I feel fine", "I fainted", "I have a fever and a headache", "my knee hurts a bit",
         "I feel terrible", "I have had a cough for 22 days", "I think I broke my wrist",
         "I have a cold and I feel very unwell", "I have a temperature of 40.5", "my 2 month old baby has a runny nose",
         "my 4 week old baby has a runny nose"]


@pytest.mark.parametrize("text", TEXTS)
def test_every_topic_has_its_clinician_questions_and_every_source_names_its_publisher(text: str) -> None:
    result = triage(text)
    assert result.topics and set(result.topics) <= set(TOPICS)
    assert result.sources and all(s.startswith(PUBLISHERS) and not s.isupper() for s in result.sources)
    assert all(r[0].islower() and not r.isupper() for r in result.reasons)
    for question in tri._ALWAYS_ASK:
        assert question in result.questions
    assert result.watch_for


def test_an_undetermined_triage_says_when_to_call_and_to_contact_someone_today() -> None:
    result = triage("I feel fine")
    assert result.urgency is None and result.level == "undetermined" and result.topics == ["general"]
    assert result.actions[:2] == [tri._SAFETY_NET, tri._CONTACT_TODAY]
    assert result.sources == [tri._SAFETY_NET_SOURCE]


SOONER = "Get help sooner if any sign under 'What to watch for' appears."


@pytest.mark.parametrize(("text", "level"), [("I have a cold", Urgency.SELF_CARE),
                                             ("I have had a cough for 22 days", Urgency.SOON)])
def test_a_self_care_or_soon_level_ends_with_when_to_get_help_sooner(text: str, level: Urgency) -> None:
    result = triage(text)
    assert result.urgency is level and result.actions[0] == tri._LEVEL_ACTIONS[level]
    assert result.actions[-1] == SOONER


@pytest.mark.parametrize("text", ["I think I broke my wrist", "crushing chest pain and sweating"])
def test_an_urgent_or_emergency_level_never_says_to_wait(text: str) -> None:
    result = triage(text)
    assert result.urgency in (Urgency.URGENT, Urgency.EMERGENCY) and SOONER not in result.actions


def test_an_emergency_says_to_call_now_and_not_to_drive() -> None:
    result = triage("crushing chest pain and sweating")
    assert (f"Call your local emergency number now ({safety.EMERGENCY_NUMBERS}); do not drive yourself."
            in result.actions)


def test_a_crisis_says_to_contact_a_crisis_line_now() -> None:
    result = triage("I want to kill myself")
    assert result.topics == ["mental health"]
    assert ("Contact a crisis line above, or someone you trust, now; put away anything you could use to hurt "
            "yourself, and stay with someone if you can.") in result.actions


# -- the reply and the tool ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["I think I broke my wrist", "how much paracetamol can I take for a headache",
                                  "I want to kill myself"])
def test_the_tools_answer_carries_every_part_of_the_triage(text: str) -> None:
    result = triage(text)
    assert result.urgency is not None
    assert triage_tool(text) == {
        "urgency": result.urgency.value, "level": result.level, "sources": result.sources,
        "urgency_label": result.urgency.label, "reasons": result.reasons, "topics": result.topics,
        "what_to_do_now": result.actions, "questions_a_clinician_would_ask": result.questions,
        "what_to_watch_for": result.watch_for,
        "crisis_resources": safety.CRISIS_RESOURCES if result.crisis else None,
        "not_a_diagnosis": safety.NOT_A_DIAGNOSIS}


def test_the_tools_answer_for_an_undetermined_triage() -> None:
    answer = triage_tool("I feel fine")
    assert (answer["urgency"], answer["level"], answer["urgency_label"], answer["crisis_resources"]) == \
        (None, "undetermined", "not determined", None)


def _sections(result: TriageResult) -> list[str]:
    lines: list[str] = []
    for title, items in (("Why", result.reasons), ("What to do now", result.actions),
                         ("Questions a clinician would ask", result.questions),
                         ("What to watch for", result.watch_for), ("Guidance", result.sources)):
        if items:
            lines += [f"{title}:", *(f"  - {item}" for item in items)]
    return lines


def test_a_reply_gives_the_level_then_each_section_in_order() -> None:
    result = triage("I think I broke my wrist")
    assert result.urgency is not None
    expected = [f"Symptom triage: {result.urgency.label.upper()}", tri.BUILT_IN_NOTE, "",
                f"Urgency: {result.urgency.label}", *_sections(result)]
    assert format_reply(result).split("\n") == expected


def test_an_undetermined_reply_leads_with_when_to_get_help_and_asks_for_more() -> None:
    result = triage("I feel fine")
    expected = ["Symptom triage: NOT DETERMINED", tri._SAFETY_NET, tri._CONTACT_TODAY, tri.BUILT_IN_NOTE, "",
                "I could not match specific symptoms to a rule. Describe what you feel, where, since when, "
                "and how bad (0 to 10), and I will triage it.", "", "Urgency: not determined", *_sections(result)]
    assert format_reply(result).split("\n") == expected


def test_a_dosing_reply_ends_with_the_pharmacist_line() -> None:
    result = triage("how much paracetamol can I take for a headache")
    assert format_reply(result).split("\n")[-1] == (
        "Medicines: OperatorOS does not say which medicine or how much to take; a pharmacist can advise what is "
        "safe for you, and the leaflet in the pack gives the amounts.")


PINNED = " (OperatorOS's built-in rules; this level stands whatever else this reply says)"


def test_a_provider_reply_to_an_undetermined_triage_is_pinned_with_when_to_get_help() -> None:
    result = triage("I feel fine")
    pinned = pin_level(result, "It's probably nothing. Rest.")
    header = "\n".join(("Symptom triage: NOT DETERMINED", tri._SAFETY_NET, tri._CONTACT_TODAY))
    assert pinned == f"{header}{PINNED}\n\n{safety.REMOVED_DOWNPLAY} Rest."
    assert pin_level(result, pinned) == pinned


def test_a_self_care_reply_keeps_its_reassurance_and_an_urgent_one_loses_it() -> None:
    calm = triage("I have a cold")
    assert pin_level(calm, "It's probably nothing. Rest.") == (
        f"Symptom triage: {Urgency.SELF_CARE.label.upper()}{PINNED}\n\nIt's probably nothing. Rest.")
    urgent = triage("I think I broke my wrist")
    assert pin_level(urgent, "It's probably nothing. Rest.") == (
        f"Symptom triage: {Urgency.URGENT.label.upper()}{PINNED}\n\n{safety.REMOVED_DOWNPLAY} Rest.")


AMBER_INFANT = "NICE NG143 traffic-light: amber (age 3 to 6 months, temperature 39C or higher)"


@pytest.mark.parametrize(("text", "amber"), [
    ("my baby is 6 months old and has a temperature of 39C", True),   # the age alone is no complaint of its own
    ("my 4 month old baby has a fever of 39.0", True),
    ("my 5 month old has a temperature of 38.9C", False),
    ("my baby is 7 months old and has a temperature of 39C", False),
])
def test_a_baby_of_3_to_6_months_at_39c_is_amber_not_an_emergency(text: str, amber: bool) -> None:
    result = triage(text)
    assert (AMBER_INFANT in result.sources) is amber, result.sources
    if amber:
        assert result.urgency is Urgency.URGENT
        assert "a baby of 3 to 6 months with a temperature of 39 C or more needs a clinician today" in result.reasons


def test_a_baby_under_3_months_is_seen_today_by_the_reason_and_guidance_of_nice_ng143() -> None:
    result = triage("my 6 week old has a runny nose")
    assert result.urgency is Urgency.URGENT
    assert result.reasons == ["a baby under 3 months with a symptom needs a clinician today"]
    assert result.sources == ["NICE NG143 (under 3 months: a lower threshold for care); NHS 111"]


def test_a_long_stomach_upset_names_its_guidance() -> None:
    result = triage("I have had diarrhoea for 8 days")
    assert result.urgency is Urgency.URGENT
    assert result.sources == ["NHS: diarrhoea and vomiting (111 or GP if it lasts longer)"]


@pytest.mark.parametrize(("years", "amber"), [(14, True), (15, False)])
def test_a_childs_five_day_fever_is_amber_up_to_15(years: int, amber: bool) -> None:
    result = triage(f"my {years} year old has had a fever for 5 days")
    assert ("NICE NG143 traffic-light: amber (fever for 5 days or more)" in result.sources) is amber
