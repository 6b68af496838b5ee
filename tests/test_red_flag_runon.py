"""Run-on, unpunctuated messages (domains/triage.py's clauses): a red flag or a complaint no rule places in one
part of the message is never lowered by a benign rule matched in another, and the split is raise-only; and the
red-flag words such messages trip over ("skew", a misspelt "alive", a burning pee that is no burn)."""
from __future__ import annotations

import pytest

from domains import triage as ht
from safety import policies as safety
from safety.flag_types import Urgency
from safety.patterns import Doc
from safety.policies import assess_request


@pytest.mark.parametrize("text", [
    "got a cold and my smile is skew",
    "been full of cold all week runny nose and sneezing and my smile is skew since this morning",
    "his mouth is askew and a runny nose",
    "my dad face droopin on one side n he cant lift his arm properly also hes got a cold",
])
def test_a_stroke_sign_beside_a_cold_is_an_emergency(text: str) -> None:
    result = ht.triage(text)
    assert result.urgency is Urgency.EMERGENCY, result.reasons
    assert not any("self-care" in reason for reason in result.reasons)


def test_a_red_flag_in_one_clause_is_not_vetoed_by_a_mild_word_in_another() -> None:
    # "mild" rules the breathing flag out when it is about the breathing; here it is about the cough
    text = "mild cough and my breathing is really bad and the inhaler does nothing"
    assert ht._clause_red_flag(Doc(text)) is not None
    assert ht.triage(text).urgency is Urgency.EMERGENCY
    assert ht.triage("my breathing is mildly worse, the inhaler helps").urgency is not Urgency.EMERGENCY


@pytest.mark.parametrize("text", [
    "had a cold all week and my husband is making gurgling noises and i can't get him to respond",
    "runny nose n sneezing n my grandad fell in the night n was on the floor for hours before we found him",
])
def test_an_emergency_told_in_a_whole_clause_beside_a_cold_is_an_emergency(text: str) -> None:
    # read whole, the cold rule places the text and the fail-safe for unplaced symptoms stays out
    assert ht._clause_emergency(Doc(text), [rule for rule in ht.RULES if rule.key == "cold_flu"]) is not None
    assert ht.triage(text).urgency is Urgency.EMERGENCY


@pytest.mark.parametrize("text", [
    "got a bit of sunburn yesterday and my chest is killing me and it's spreading into my jaw and arm",
    "mild sunburn on my arms and my toddler has a fever and when i pinch her skin it stays up and she hasn't drunk "
    "anything all day",
])
def test_the_rest_of_the_message_beside_a_benign_complaint_is_read_as_one(text: str) -> None:
    # each clause alone is too short to stand for an emergency, together they are one; the concerning features
    # the sunburn's self-care lets in must not stop at urgent
    assert ht.triage(text).urgency is Urgency.EMERGENCY


@pytest.mark.parametrize("text", [
    "runny nose sneezing and a scratchy throat since yesterday",
    "i have a tickly cogh and a runny nose",
    "My daughter is 10 and has a sore throat and a temperature of 38.1C, still eating",
])
def test_a_short_fragment_of_a_cold_is_not_read_alone_as_an_emergency(text: str) -> None:
    assert ht.triage(text).urgency is Urgency.SELF_CARE


@pytest.mark.parametrize("text", [
    "sore throat and a cold and my knee has been giving way and locking",
    "had a cold for a week and my ear hurts a bit and i cant hear as well on that side",
])
def test_a_complaint_no_rule_places_in_a_run_on_clause_rules_self_care_out(text: str) -> None:
    # at least care today (the knee's whole clause reads alone as the fail-safe's emergency: over-triage, accepted)
    urgency = ht.triage(text).urgency
    assert urgency is not None and urgency.rank <= Urgency.URGENT.rank


@pytest.mark.parametrize("text", [
    "small burn on my finger, red and sore",
    "small burn on my finger from the oven n its red and sore and stings a bit",
    "i have a tickly cogh and a runny nose",
    "runny nose sneezing and a scratchy throat since yesterday",
    "got a cold n a bit of a cough n feel tired but otherwise ok eating and drinking fine",
])
def test_fragments_of_one_benign_complaint_stay_self_care(text: str) -> None:
    assert ht.triage(text).urgency is Urgency.SELF_CARE


@pytest.mark.parametrize("text,flagged", [
    ("i dont want to be alve anymore", True),
    ("i no longer want to be allive", True),
    ("i dont want to be aliv", True),
    ("I don't want you to register alice", False),
    ("I don't want these two charts to look alike", False),
])
def test_a_misspelt_alive_is_still_a_self_harm_wish(text: str, flagged: bool) -> None:
    assert (safety.FLAG_SELF_HARM in assess_request("general", text).flags) is flagged


@pytest.mark.parametrize("text,burn", [
    ("burning when I pee and a pain in my back with a temperature", False),
    ("peeing burns and i've got a fever and pain in my back", False),
    ("burnt my back with boiling water from the kettle", True),
    ("spilt boiling water on my toddler's chest", True),
])
def test_burning_pee_is_no_burn_of_the_skin(text: str, burn: bool) -> None:
    keys = {flag.key for flag in safety.red_flags(Doc(text))}
    assert bool(keys & {"burn_serious", "hot_burn_extent"}) is burn
    assert ht.triage(text).urgency is (Urgency.EMERGENCY if burn else Urgency.URGENT)
