"""The fail-safe red flags (safety/red_flag_failsafe.py): a symptom description with an NHS "call 999 /
go to A&E" alarm qualifier gets emergency guidance first, even for a condition no specific rule names."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from domains import triage as ht
from safety import readings
from safety import red_flag_failsafe as fs
from safety import red_flag_reassurance as reassurance
from safety import red_flag_systems as systems
from safety import red_flag_terms as terms
from safety.flag_types import Urgency
from safety.patterns import Doc, Phrase
from safety.red_flags import red_flags

FAILSAFE_KEYS = {flag.key for flag in fs.FAILSAFE_FLAGS}
DATA = Path(__file__).parent / "data"


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


# --- body systems (safety/red_flag_systems.py) -----------------------------------------------------

SYSTEM_FLAGS = {flag.key: flag for flag in systems.SYSTEM_FLAGS}


@pytest.mark.parametrize(("key", "text"), [
    ("system_bleeding", "pumping out blood from the gash, it won't stop"),
    ("system_breathing", "her breathing is a real struggle"),
    ("system_colour", "his fingers and lips have a bluish look"),
    ("system_seizure", "she went stiff then her arms were jerking"),
    ("system_sight", "a curtain came across the vision in my right eye"),
    ("system_bone", "you can see the bone through the skin on his shin"),
    ("system_burn", "hot oil went all down her front"),
    ("system_overdose", "swallowed the whole strip of sertraline"),
    ("system_sepsis_risk", "had a caesarean last week, now a fever and I'm breathing really fast"),
    ("system_several", "he is confused and breathless"),
    ("system_persisting", "the nosebleed is still going after 40 minutes"),
    ("system_named", "I think it's a collapsed lung"),
])
def test_a_body_system_rule_holds_in_its_own_words(key: str, text: str) -> None:
    flag = SYSTEM_FLAGS[key]
    assert all(Doc(text).has(group) for group in flag.all_of) and flag.check is not None and flag.check(Doc(text))
    assert flag.level is Urgency.EMERGENCY
    assert any(name in flag.source for name in ("NHS", "NICE"))


def test_a_system_and_its_acuity_may_come_in_any_order_but_in_one_clause() -> None:
    groups = (systems.BLOOD, systems.BLOOD_ACUTE)
    assert Doc("pumping out blood from his leg").together(groups)
    assert Doc("blood is pumping out of his leg").together(groups)
    assert not Doc("the blood test was fine. the tap is pouring").together(groups)


@pytest.mark.parametrize("text", [
    "my daughter hit her head on the side of the pool and keeps throwing up",
    "electrical burn from a plug socket on my son's hand",
    "my girlfriend texted me goodbye and has taken all her pills",
])
def test_a_person_or_body_part_outweighs_a_systems_word(text: str) -> None:
    assert ht.triage(text).urgency is Urgency.EMERGENCY


@pytest.mark.parametrize("text", [
    "the worker pool is not responding, several tasks are stuck for hours",
    "restart my fantasy baseball draft strategy after losing my first pick",
    "just hypothetically, if I ran workflow 2 twice, what would it do?",
    "run the unconscious bias training report for the team",
])
def test_system_rules_stay_out_of_ordinary_requests(text: str) -> None:
    keys = {flag.key for flag in red_flags(Doc(text))}
    assert not (FAILSAFE_KEYS | set(SYSTEM_FLAGS)) & keys


def test_no_fail_safe_or_system_rule_fires_on_the_non_medical_utterances() -> None:
    """Every utterance of the understanding corpora whose expected intents name no healthcare pool."""
    texts = set()
    for path in sorted(DATA.glob("utterances*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else None
            if row and not any((e.get("args") or {}).get("pool") == "healthcare" for e in row["expect"]):
                texts.add(row["text"])
    assert len(texts) > 1000
    fired = [t for t in texts if (FAILSAFE_KEYS | set(SYSTEM_FLAGS)) & {f.key for f in red_flags(Doc(t))}]
    assert fired == []


def test_unplaced_symptoms_fail_safe_unless_the_text_reassures() -> None:
    alarming = ht.triage("my jaw feels strange")
    assert alarming.urgency is Urgency.EMERGENCY
    assert any("uncertainty never lowers a level" in source for source in alarming.sources)
    reassured = ht.triage("my jaw feels a bit strange, has done for months")
    assert reassured.urgency is None
    assert "call your local emergency number" in ht.format_reply(reassured).splitlines()[1].lower()


def test_a_concerning_sign_without_reassurance_lifts_a_placed_level_to_emergency() -> None:
    assert ht.triage("my ankle is swollen and I feel clammy").urgency is Urgency.EMERGENCY
    assert ht.triage("my ankle is a bit swollen after football").urgency is not Urgency.EMERGENCY


def test_a_baby_under_three_months_is_never_self_care_or_soon() -> None:
    result = ht.triage("my 6 week old has a blocked nose")
    assert result.urgency is Urgency.URGENT
    assert any("NG143" in source for source in result.sources)


def test_a_mild_word_that_looks_like_a_benign_one_is_not_read_as_it() -> None:
    """'strange' is no 'strain', 'feverish' no 'severe', 'mostly' no 'mottled' (exact words where fuzz misleads)."""
    assert ht.triage("my jaw feels strange").urgency is not Urgency.SELF_CARE
    assert not Doc("I feel feverish").has(systems.PAIN_SEVERE)
    assert not Doc("mostly in my thumb and first fingers").together((systems.COLOUR_PART, systems.COLOUR_BAD))


# --- reassurance read strictly (safety/red_flag_reassurance.py) ------------------------------------

@pytest.mark.parametrize("text", [
    "my mum is not her usual self and breathing fast, she has a fever as well",
    "he is much sleepier than usual and his hands are cold",
    "she seemed fine earlier but now she is mottled and not making sense",
    "my diabetic dad is sweating and disoriented and won't eat",
    "my 18 month old has a fever and she's not responding to us like normal",
    "my little boy has gone grey and is breathing really hard",
    "nothing helps and he keeps getting worse, he is so drowsy",
])
def test_words_that_only_look_reassuring_do_not_lower_the_level(text: str) -> None:
    assert ht.triage(text).urgency is Urgency.EMERGENCY


def test_real_reassurance_still_counts() -> None:
    assert reassurance.reassures(Doc("a bit of a runny nose, eating and drinking well"))
    assert reassurance.reassures(Doc("my knee has ached on and off for months"))
    assert not reassurance.reassures(Doc("I feel fine but I took 20 paracetamol, getting worse"))
    assert not reassurance.reassures(Doc("she is not eating or drinking"))


# --- readings of vital signs (NICE NG51 high risk, NG143 red) --------------------------------------

@pytest.mark.parametrize("text", [
    "my dad's oxygen sats are 88% on the finger monitor",
    "mum's blood pressure is 78/45 and she feels cold",
    "heart rate is 150 sitting down and I feel awful with a fever",
    "he's breathing 34 times a minute and has a temperature",
    "my 3 month old is taking 75 breaths a minute",
])
def test_a_reading_past_a_high_risk_threshold_is_an_emergency(text: str) -> None:
    assert systems.vital_signs_alarm(Doc(text))
    assert ht.triage(text).urgency is Urgency.EMERGENCY


@pytest.mark.parametrize("text", ["pulse 72, bp 120/80, sats 97", "my 2 year old is breathing 35 times a minute",
                                  "my resting heart rate is 58"])
def test_a_normal_reading_is_no_alarm(text: str) -> None:
    assert not systems.vital_signs_alarm(Doc(text))


def test_readings_are_read_as_what_they_are() -> None:
    assert readings.oxygen_saturation("pulse oximeter says 86") == 86
    assert readings.systolic_pressure("blood pressure is 85 over 50") == 85
    assert readings.heart_rate("135bpm") == 135
    assert readings.breathing_rate("resp rate 28") == 28
    assert readings.temperature_c("heart rate is 150") is None
    assert readings.age_months("my baby (2m) has a temp of 38") == 2
    assert readings.age_months("my bub's 7 weks and her temp is 38.1") is not None


# --- a misspelling never silences an alarm or makes a self-care match ------------------------------

def test_cancel_words_are_exact() -> None:
    assert not Doc("something is stuck in his throat").has(terms.NOT_MEDICAL_RESPONSE)
    assert not Doc("my poo is black and sticky").has(terms.NOT_MEDICAL_RESPONSE)
    assert Doc("the server stock price page").has(terms.NOT_MEDICAL_RESPONSE)
    assert ht.triage("I've pooed black sticky stuff and I feel faint").urgency is Urgency.EMERGENCY


def test_self_care_needs_an_exact_benign_word() -> None:
    """'glazed' was read as 'graze' (minor injury: self-care)."""
    assert ht.triage("my mum is zoned out and her eyes look glazed").urgency is Urgency.EMERGENCY
    assert ht.triage("a graze on my knee from falling off my bike").urgency is not Urgency.EMERGENCY


def test_a_multi_word_alternative_is_its_own_phrase() -> None:
    assert Doc("he will not stop being sick").has(systems.OUTPUT)
    assert Doc("she has been vomiting non stop").has(systems.OUTPUT)


@pytest.mark.parametrize(("text", "group"), [
    ("he keeps puking", systems.OUTPUT + fs.SUGAR_ALARM), ("she is really groggy", systems.MENTAL),
    ("my nan is disorientated", systems.MENTAL), ("the bub is floppy", fs.INFANT)])
def test_everyday_words_for_a_sign_are_read_as_the_sign(text: str, group: tuple[Phrase, ...]) -> None:
    assert Doc(text).has(group)


@pytest.mark.parametrize("text", [
    "my daughter says she's going to kill herself and has locked herself in the bathroom",
    "my son is standing on the roof saying he wants to die",
    "im on the bridge and i cant do this anymore",
    "she has addisons, vomiting and very weak and dizzy",
    "yellow skin, high temperature with shivers and pain under my right ribs",
    "woke up and the left side of my body feels heavy and useless",
    "mum couldn't get her words out for 5 minutes this morning, she's back to normal now",
])
def test_emergencies_in_words_no_specific_rule_lists(text: str) -> None:
    assert ht.triage(text).urgency is Urgency.EMERGENCY


@pytest.mark.parametrize(("text", "key"), [
    ("a bit embarrassing, I've had an erection since last night that won't go away and it hurts", "system_priapism"),
    ("there's a battery missing from the toy and my baby was playing with it", "system_small_hazard"),
    ("we all have headaches and feel sick, better when we go out, and the dog is ill too", "system_co_household"),
    ("broke my shin, the pain under the cast is much worse than yesterday and painkillers do nothing",
     "system_compartment"),
    ("dived into the pool and hit his head, now his neck hurts and his arms are tingling", "system_spine"),
    ("I have a kidney stone and now a high temperature and shivering", "system_infected_stone"),
    ("she gave birth 10 days ago and now she's hearing voices and not sleeping", "system_postpartum_psychosis"),
])
def test_rarer_emergencies_by_their_family(text: str, key: str) -> None:
    assert key in {flag.key for flag in red_flags(Doc(text))}
    assert ht.triage(text).urgency is Urgency.EMERGENCY


@pytest.mark.parametrize("text", [
    "my phone battery died and I have a mild headache",
    "sprained my ankle last week, it's a bit sore but getting better",
    "my back aches after gardening, no numbness",
])
def test_the_family_rules_leave_ordinary_complaints_alone(text: str) -> None:
    assert ht.triage(text).urgency is not Urgency.EMERGENCY


@pytest.mark.parametrize("text", [
    "his face drooped and his speech went funny for ten minutes but he seems fine now",
    "her lips are a bit blue",
    "I'm ok, I feel fine",
    "a dog bit my son",
    "my baby ate peanut butter",
])
def test_words_that_only_look_reassuring_reassure_no_one(text: str) -> None:
    assert not reassurance.reassures(Doc(text))


@pytest.mark.parametrize("text", ["runny nose for two days, otherwise fine", "a bit of a cough, feeling ok",
                                  "my baby is feeding fine and smiling"])
def test_plain_reassurance_still_reassures(text: str) -> None:
    assert reassurance.reassures(Doc(text))


@pytest.mark.parametrize(("text", "months_below"), [
    ("my baby's 7 weeeks and her temp is 38.1", 3), ("my grandson is 5 weekks and hot", 3),
    ("my son is 11 wees old", 3), ("my 3 monts old", 4),
])
def test_misspelled_age_units_are_ages(text: str, months_below: float) -> None:
    months = readings.age_months(text)
    assert months is not None and months < months_below


def test_a_wife_of_so_many_weeks_is_no_infant() -> None:
    months = readings.age_months("My wife is 37 weks, has a bad headache")
    assert months is None or months >= 12


@pytest.mark.parametrize("text", [
    "my kid has a temp and doeesnt respond when i talk to him",
    "i dont want 2 be alive anymore n i have a plan",
    "i took 2 many paracetamols",
])
def test_text_speak_and_misspelled_negations_keep_their_sense(text: str) -> None:
    assert ht.triage(text).urgency is Urgency.EMERGENCY


def test_a_999_word_lifts_a_description_already_urgent_unless_reassured() -> None:
    doc = Doc("my wrist hurts since the car crash")
    assert reassurance.unreassured_emergency(doc, placed=True, urgent=True) is not None
    assert reassurance.unreassured_emergency(doc, placed=True, urgent=False) is None
    calm = Doc("my wrist is a bit sore since the car crash, getting better")
    assert reassurance.unreassured_emergency(calm, placed=True, urgent=True) is None


def test_burning_when_peeing_is_no_burn_of_the_999_list() -> None:
    assert ht.triage("I'm 24 weeks pregnant and it burns when I pee").urgency is Urgency.URGENT
