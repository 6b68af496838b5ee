"""What must not lower an emergency: a question about waiting, a courtesy, another complaint in another sentence,
a typo in an age; and what must not raise business text to one (issue 16: fail safe, uncertainty never lowers a
level; offline business text is no medical emergency)."""
from __future__ import annotations

import pytest

from domains import triage as ht
from safety import policies, readings
from safety.flag_types import Urgency

ONLY_THE_FAIL_SAFE = (
    "the rite side of my face feels dead and my smile is skew",
    "My son got a shock from an exposed cable, he was thrown off and now his heartbeat feels irregular",
    "on the pill and just flew back from australia, now sharp pain in my side when i breathe and coughing up pink "
    "stuff",
)
"""Emergencies that no specific red flag names: the fail safe alone gives their level (NHS: when to call 999)."""

ASIDES = (
    ("", " Should I wait and see if it settles?"),
    ("", " Is it ok to wait till the morning?"),
    ("Sorry to bother you, is this normal? ", ""),
    ("", " Thanks, hope you're well."),
    ("", " Everything else is normal."),
    ("", " Normally I never get ill."),
    ("", " It started a bit ago."),
    ("", " Going to work in a bit."),
    ("", " She had a cold last week."),
    ("", " I've had a cough for weeks too but that's nothing new."),
    ("Long day at work, the quarterly report is finally done and the team is doing well. Anyway, ", ""),
)
"""Words around a sign that ask, greet, or speak of something else: none says the sign is mild."""


@pytest.mark.parametrize("text", ONLY_THE_FAIL_SAFE)
@pytest.mark.parametrize(("before", "after"), ASIDES)
def test_an_aside_never_lowers_an_emergency(text: str, before: str, after: str) -> None:
    assert ht.triage(text).urgency is Urgency.EMERGENCY  # the premise: the fail safe gives it alone
    assert ht.triage(f"{before}{text}.{after}").urgency is Urgency.EMERGENCY


@pytest.mark.parametrize("text", [
    "runny nose for two days, otherwise fine",
    "a bit of a sore throat since yesterday, eating and drinking fine",
    "mild headache after a long day, it eased with rest",
])
def test_plain_reassurance_still_places_below_emergency(text: str) -> None:
    assert ht.triage(text).urgency not in (Urgency.EMERGENCY, None)


@pytest.mark.parametrize(("text", "months_below"), [
    ("my sons only 10 wks and hes got a temp of 38.2", 3),
    ("hes just 6 weeks and very hot", 3),
    ("Baby (8 weks) temp 38.6", 3),
    ("my baby's 7 wees and her temp is 38.1", 3),
])
def test_a_childs_age_is_read_whatever_the_words_around_it(text: str, months_below: float) -> None:
    months = readings.age_months(text)
    assert months is not None and months < months_below
    assert readings.duration_days(text) is None
    assert ht.triage(text).urgency is Urgency.EMERGENCY  # NICE NG143 red: under 3 months with 38C or more


@pytest.mark.parametrize("text", [
    "my son has been talking about killing himself and I found a noose",
    "my dad says he's going to end it and has taken his shotgun out",
    "I can't keep myself safe tonight",
    "I am going to kill myself, I have a rope",
    "my husband has locked himself in the garage with the car running",
    "he's been cutting and the wound is really deep and won't close",
])
def test_suicidal_words_with_the_means_at_hand_are_an_emergency(text: str) -> None:
    assert ht.triage(text).urgency is Urgency.EMERGENCY
    assert policies.assess_request("general", text).urgency is Urgency.EMERGENCY


@pytest.mark.parametrize(("text", "level"), [
    ("5 year old with diarrhoea for 8 days now", Urgency.URGENT),
    ("my 6 month old has a fever of 39.2", Urgency.URGENT),
    ("got back from Nigeria 10 days ago and now have a fever and chills", Urgency.URGENT),
    ("I think I have a dental abscess, pain when I bite and a bad taste", Urgency.URGENT),
    ("my baby has a temperature of 39 and is making a moaning noise", Urgency.EMERGENCY),
    ("son has type 1, reading HI on his meter, vomiting and breathing strangely", Urgency.EMERGENCY),
    ("27 wks pregnant and lost a load of blood just now", Urgency.EMERGENCY),
    ("my son pushed a battery up his nose", Urgency.EMERGENCY),
    ("really bad pain in my upper tummy that goes to my back, vomiting", Urgency.EMERGENCY),
])
def test_guidance_levels_reached_in_everyday_words(text: str, level: Urgency) -> None:
    urgency = ht.triage(text).urgency
    assert urgency is not None and urgency.rank <= level.rank


@pytest.mark.parametrize("text", [
    "Status report: all services are fine. Thanks, hope you're well.",
    "Draft a status update: the team can't keep the servers safe without more budget",
    "Our pipeline is really bad, terrible pain for the team. Please draft a fix plan.",
    "The weekly report: sales up 10 weeks in a row. Is it ok to wait until Monday to send it?",
    "We are cutting deep into the marketing budget this quarter",
    "Draft the report on cutting-edge deep learning models",
    "Leave the car running in the garage while I load the boxes",
    # an agent's relay: "asked" is no "askew", "check" no "cheek" (a face drooping, BE FAST)
    "The user asked me to check on the pools. They don't want any changes.",
    "The user asked me to check whether task 12 finished.",
])
def test_business_text_is_no_emergency(text: str) -> None:
    assert policies.assess_request("business", text).urgency is not Urgency.EMERGENCY


@pytest.mark.parametrize(("unplaced", "benign"), [
    ("my ear feels blocked and I can hear ringing", "I have a runny nose too."),
    ("Regular tightenings every 10 minutes and I'm only 32 weeks", "She had a cold last week."),
])
def test_a_benign_rule_in_one_sentence_never_sends_another_to_self_care(unplaced: str, benign: str) -> None:
    assert ht.triage(benign).urgency is Urgency.SELF_CARE  # the premise: the benign sentence alone is self-care
    alone = ht.triage(unplaced).urgency
    together = ht.triage(f"{unplaced}. {benign}").urgency
    assert together is not None and together.rank <= Urgency.URGENT.rank
    assert alone is None or together.rank <= alone.rank
