"""Symptom triage to an urgency level, from red-flag rules grounded in public triage guidance.

Emergency-level rules live in safety/red_flags.py (they guard every pool); this module adds the urgent,
soon and self-care rules, reads temperatures, durations and infant ages, and writes the reply:
the urgency and why, what to do now, questions a clinician would ask, what to watch for. It
never names a diagnosis or a dose.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from domains.triage_rules import CONCERNING, LONG_COUGH_DAYS, RULES, Rule
from domains.triage_topics import TOPICS
from providers.tools import ToolSpec
from safety import policies as safety
from safety import red_flag_terms as terms
from safety.policies import Doc, Urgency, phrases

# re-exported ("as"): the readings were read here first, and callers still ask this module
from safety.readings import age_months
from safety.readings import duration_days as duration_days
from safety.readings import infant_age_months as infant_age_months
from safety.readings import temperature_c as temperature_c
from safety.red_flag_failsafe import FAILSAFE_FLAGS, SYMPTOM_WORDS, UNPLACED_ALARM
from safety.red_flag_reassurance import reassures, unreassured_emergency
from safety.red_flag_systems import SYSTEM_FLAGS

logger = logging.getLogger(__name__)

HIGH_FEVER_C = 40.0
"""Temperature (Celsius) from which a fever needs care today."""

FEVER_C = 38.0
"""Temperature (Celsius) from which a reading counts as a fever."""

LOW_TEMPERATURE_C = 35.0
"""Temperature (Celsius) below which a reading needs care today."""

INFANT_MONTHS = 3
"""Babies younger than this with any fever need care today."""

AMBER_INFANT_MONTHS = 6
"""NICE NG143 amber: babies of 3 to 6 months with a temperature of AMBER_INFANT_C or more."""

AMBER_INFANT_C = 39.0
"""Temperature (Celsius) that is an amber sign at 3 to 6 months (NICE NG143)."""

LONG_SYMPTOMS_DAYS = 14
"""Symptoms lasting this long move self-care up to 'see a doctor soon'."""

UNDETERMINED = "undetermined"
"""The level when no rule matched (the reply then leads with when to get help)."""

BUILT_IN_NOTE = ("From OperatorOS's built-in triage rules (offline and rule-based; not a language model, "
                 "not a clinician).")
"""Says where an offline healthcare reply came from."""


@dataclass
class TriageResult:
    """The outcome of one triage."""

    urgency: Urgency | None
    """Most urgent level found; None when no symptom was recognised."""
    reasons: list[str] = field(default_factory=list)
    """Why, one line per rule met."""
    topics: list[str] = field(default_factory=list)
    """Body areas or themes recognised (chest, fever, mental health...)."""
    actions: list[str] = field(default_factory=list)
    """What to do now."""
    questions: list[str] = field(default_factory=list)
    """Questions a clinician would ask."""
    watch_for: list[str] = field(default_factory=list)
    """Signs that mean getting help sooner."""
    crisis: bool = False
    """Suicide or self-harm was mentioned: crisis resources come first."""
    asks_for_dosing: bool = False
    """The request asked which medicine or how much: declined."""
    sources: list[str] = field(default_factory=list)
    """The published guidance behind the level."""

    @property
    def level(self) -> str:
        """The level as data: emergency, urgent, soon, self_care or undetermined."""
        return self.urgency.value if self.urgency else UNDETERMINED

    def as_data(self) -> dict[str, Any]:
        """The triage as a task result carries it: level, reasons and sources."""
        return {"level": self.level, "reasons": list(self.reasons), "sources": list(self.sources)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for the tool."""
        return {"urgency": self.urgency.value if self.urgency else None, "level": self.level,
                "sources": self.sources,
                "urgency_label": self.urgency.label if self.urgency else "not determined",
                "reasons": self.reasons, "topics": self.topics, "what_to_do_now": self.actions,
                "questions_a_clinician_would_ask": self.questions, "what_to_watch_for": self.watch_for,
                "crisis_resources": safety.CRISIS_RESOURCES if self.crisis else None,
                "not_a_diagnosis": safety.NOT_A_DIAGNOSIS}



_TOPIC_FOR_FLAG = {"chest_pain_red_flags": "chest", "chest_pressure": "chest", "chest_pain": "chest",
                   "named_emergency": "chest", "stroke": "stroke", "stroke_speech": "stroke",
                   "severe_bleeding": "injury", "poisoning": "poisoning", "anaphylaxis": "allergy",
                   "breathing": "breathing", "unconscious_or_seizure": "head", "meningitis": "fever",
                   "nonblanching_rash": "fever", "thunderclap_headache": "head", "head_injury": "head",
                   "blood_loss": "abdomen", "pregnancy": "pregnancy", "severe_burn": "skin"}


_WATCH_DEFAULT = "Any new or worsening symptom, or feeling much more unwell."
_ALWAYS_ASK = ("How old are you (or the person), and could you be pregnant?",
               "What medicines do you take, and any allergies or long-term conditions?",
               "Is it getting better, worse, or staying the same?")
_DOSING_REQUEST = phrases("how much|many|often take|give", "dose*|dosage", "=mg", "maximum|max amount",
                          "what medicine|medication|pill|drug take|give",
                          "can take|give ibuprofen|paracetamol|acetaminophen|aspirin|antibiotic*|painkiller*")
_LEVEL_ACTIONS = {
    Urgency.URGENT: "Get seen today: a same-day appointment, an urgent care centre, or a nurse advice line "
                    "(NHS 111 in England).",
    Urgency.SOON: "Book an appointment with a doctor within the next days to two weeks; sooner if it gets "
                  "worse.",
    Urgency.SELF_CARE: "Self-care at home is usually enough; a pharmacist can advise on remedies that suit "
                       "you.",
}
_SAFETY_NET = (f"Call your local emergency number now ({safety.EMERGENCY_NUMBERS}) if there is chest pain, "
               "trouble breathing, collapse, a fit, sudden confusion, a drooping face or weak arm, heavy "
               "bleeding, or a rash that does not fade under a glass.")
"""First line of an undetermined reply (NHS 111: when to call 999)."""
_CONTACT_TODAY = ("Otherwise contact a doctor or nurse today (NHS 111 in England), and sooner if anything "
                  "gets worse.")
"""Second line of an undetermined reply: when the rules cannot tell, get a clinician's view today."""
_SAFETY_NET_SOURCE = "NHS 111: when to call 999 and when to get help today"
_CHILD_FEVER_AMBER_DAYS = 5
"""NICE NG143 amber: a fever lasting 5 days or more in a child."""
CHILD_YEARS = 5
"""NICE NG143 covers children under 5; its fever duration sign is used for all children here."""
NEWBORN_DAYS_MONTHS = 28 / 30.44
"""NHS: a baby under 28 days with any symptom needs a check today."""
DIARRHOEA_DAYS = 7
"""NHS: diarrhoea for more than 7 days needs 111 or a GP."""
VOMITING_DAYS = 2
"""NHS: vomiting for more than 2 days needs 111 or a GP."""
_DIARRHOEA = phrases("diarrh*", "diarea", "the runs", "=runny poo*")
_VOMITING = phrases("vomit*", "being sick", "throw* up", "threw up", "puking", "sick every")
OLDER_ADULT_YEARS = 65
"""NHS: a chest infection or fever in someone over 65 needs a check today."""


def triage(text: str) -> TriageResult:
    """Triage a free-text description of symptoms.

    1. Red flags (safety.red_flags) and self-harm give emergency or urgent levels.
    2. The guidance rules (RULES) and the readings (age, temperature, duration) add theirs.
    3. Concerning features (CONCERNING) rule self-care out: they raise the level to urgent.
    4. Each sentence, and each clause of a run-on text ("... and ...", "... n ...", "plus"), is read alone,
       raise-only: an emergency red flag, a whole clause that is an emergency read alone, or a complaint no
       rule places there is not lowered by a benign rule matched elsewhere; benign rules are never applied
       per clause.
    The most urgent level wins; nothing matched leaves the level undetermined.

    Args:
        text: what the person wrote.

    Returns:
        The urgency, reasons, sources, actions, questions and signs to watch.
    """
    doc = Doc(text)
    flags = safety.red_flags(doc)
    harm, imminent = safety.self_harm(doc)
    rules = [r for r in RULES if all(doc.has(group) for group in r.all_of)]
    rules = [r for r in rules if not _shadowed(r, rules)]
    result = TriageResult(None, crisis=harm, asks_for_dosing=doc.has(_DOSING_REQUEST, negatable=False))
    found: list[tuple[Urgency, str, str]] = []
    for flag in flags:
        found.append((flag.level, f"{flag.reason} (red flag)", flag.source))
        result.topics.append(_TOPIC_FOR_FLAG.get(flag.key, "general"))
        if flag.emergency_if:
            result.actions.append(f"Call your local emergency number now if {flag.emergency_if}.")
        result.actions.extend(flag.actions)
    if harm:
        found.append((Urgency.EMERGENCY if imminent else Urgency.URGENT,
                      "thoughts of suicide or self-harm: talk to someone today, with the crisis lines above",
                      "NHS: help for suicidal thoughts; Samaritans"))
        result.topics.append("mental health")
    for rule in rules:
        found.append((rule.level, rule.reason, rule.source))
        result.topics.append(rule.topic)
        result.actions.extend(rule.advice)
    benign_only = bool(found) and all(level is Urgency.SELF_CARE for level, _, _ in found)
    _measured(text, found, result)
    if found and _least_urgent_only(found):
        for rule in CONCERNING:
            if all(doc.has(group) for group in rule.all_of):
                found.append((rule.level, rule.reason, rule.source))
                result.topics.append(rule.topic)
    if not found and (doc.has(UNPLACED_ALARM) or any(doc.has(group) for _, group in terms.ALARMS)):
        # fail safe: an alarm sign in a text no rule could place is treated as the emergency it may be
        found.append((Urgency.EMERGENCY, "an alarm sign that the rules could not place: treated as an emergency "
                      "to be safe", "NHS: when to call 999 (fail safe for unplaced alarm signs)"))
        result.actions.append(_SAFETY_NET)
    unreassured = None if _has_emergency(found) else unreassured_emergency(
        doc, placed=bool(found), urgent=any(level is Urgency.URGENT for level, _, _ in found))
    if not unreassured and not _has_emergency(found):
        unreassured = _sentence_emergency(doc) or _clause_red_flag(doc)
    if not unreassured and benign_only and not _has_emergency(found):
        # only a benign self-care match (with the readings and the concerning features it lets in raising it to
        # urgent) can hide an emergency told in another clause (measured: beside a soon or urgent rule the
        # clauses read alone raised nothing more than over-triage)
        unreassured = _clause_emergency(doc, rules)
    if found and not unreassured and _least_urgent_only(found) and _unplaced_symptom_sentence(doc, rules):
        found.append((Urgency.URGENT, "part of the message describes a symptom the rules could not place: a "
                      "clinician should hear it today", "NHS 111: when the rules cannot tell, get help today "
                      "(fail safe: uncertainty never lowers a level)"))
    if unreassured:  # fail safe: uncertainty never lowers a level
        found.append((Urgency.EMERGENCY, *unreassured))
        result.actions.append(_SAFETY_NET)
    if found:
        result.urgency = min((level for level, _, _ in found), key=lambda u: u.rank)
        top = [(reason, source) for level, reason, source in found if level is result.urgency]
        result.reasons = list(dict.fromkeys(reason for reason, _ in top))
        result.sources = list(dict.fromkeys(source for _, source in top if source))
    else:
        result.sources = [_SAFETY_NET_SOURCE]
    _finish(result)
    return result


def format_reply(result: TriageResult) -> str:
    """The plain-text body of a healthcare reply (the safety preamble and closing lines are added by
    domain_agents.guard_reply)."""
    label = result.urgency.label.upper() if result.urgency else "NOT DETERMINED"
    lines = [f"Symptom triage: {label}"]
    if result.urgency is None:
        lines += [_SAFETY_NET, _CONTACT_TODAY]
    lines += [BUILT_IN_NOTE, ""]
    if result.urgency is None:
        lines += ["I could not match specific symptoms to a rule. Describe what you feel, where, since when, "
                  "and how bad (0 to 10), and I will triage it.", ""]
    lines.append(f"Urgency: {result.urgency.label if result.urgency else 'not determined'}")
    for title, items in (("Why", result.reasons), ("What to do now", result.actions),
                         ("Questions a clinician would ask", result.questions),
                         ("What to watch for", result.watch_for), ("Guidance", result.sources)):
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  - {item}" for item in items)
    if result.asks_for_dosing:
        lines.append("Medicines: OperatorOS does not say which medicine or how much to take; a pharmacist "
                     "can advise what is safe for you, and the leaflet in the pack gives the amounts.")
    return "\n".join(lines)


def pin_level(result: TriageResult, reply: str) -> str:
    """A reply that keeps the level the rules gave: a provider's reply can never lower it.

    Opens the reply with the rules' level unless it already says it, and for an urgent or emergency
    level removes the sentences that play the warning down. Idempotent.
    """
    label = result.urgency.label.upper() if result.urgency else "NOT DETERMINED"
    header = f"Symptom triage: {label}"
    if result.urgency is None:
        header = "\n".join((header, _SAFETY_NET, _CONTACT_TODAY))
    pinned = f"{header} (OperatorOS's built-in rules; this level stands whatever else this reply says)"
    body = reply.replace(pinned, "").strip()
    if result.urgency in (Urgency.EMERGENCY, Urgency.URGENT, None):
        body = safety.remove_downplay(body)
    if header in body:  # the rules' own reply, or one already pinned and guarded (the preamble first)
        return body
    return f"{pinned}\n\n{body}".strip()


def triage_tool(description: str) -> dict[str, Any]:
    """Tool handler: triage a description of symptoms."""
    if not isinstance(description, str) or not description.strip():
        raise ValueError("description must be a non-empty string")
    return triage(description).to_dict()


TOOLS: list[ToolSpec] = [ToolSpec(
    "triage_symptoms",
    "Rule-based symptom triage from public guidance: urgency (emergency / urgent today / soon / self-care), "
    "reasons, what to do now, questions a clinician would ask, what to watch for. No diagnosis, no dosing.",
    {"type": "object", "properties": {"description": {"type": "string",
     "description": "The symptoms in the person's words, with age, duration and temperature if known."}},
     "required": ["description"], "additionalProperties": False},
    triage_tool)]
"""The healthcare agent's function tools."""


_SENTENCE_END = re.compile(r"(?<=[.!?;\n])\s+|\s+(?:but|anyway|also|oh and|and also)\s+", re.I)
"""Where one thought ends and another begins, for reading each sentence of a long message alone."""

_CLAUSE_END = re.compile(r"(?<=[.!?;\n])\s+|\s+(?:but|anyway|also|and also|oh and|and now|and|n|&|plus|as well as"
                         r")\s+", re.I)
"""Finer than _SENTENCE_END: also the "and", "n", "plus" of run-on, unpunctuated texts. Used only to find an
emergency (raise-only): a red flag in one clause must not be vetoed by an exclusion or a benign complaint in
another ("hay fever and sneezing and my throat is closing"); benign rules are never applied per clause."""

_CLAUSE_OR_COMMA = re.compile(f"{_CLAUSE_END.pattern}|,\\s*", re.I)
"""_CLAUSE_END and commas: the parts of a run-on text looked at for a symptom no rule places."""

_OWN_BODY_PART = phrases("my|his|her|their|your|=ur|=hes|=shes head|chest|arm|arms|leg|legs|hand|hands|foot|feet|"
                         "knee|knees|ankle|ankles|hip|hips|back|neck|ear|ears|eye|eyes|shoulder|wrist|elbow|jaw|"
                         "tummy|stomach|belly|skin|calf|toe|toes|finger|fingers|mouth|tongue|face|groin|testicle*")
"""Someone's own body part: a run-on clause about one is a complaint of its own, not a fragment of another."""

MIN_CLAUSE_WORDS = 4
"""Fewest words of a run-on clause read alone for an unplaced symptom ("my ear hurts a bit"); shorter ones are
fragments of one complaint ("red and sore", "sore and a bit swollen")."""

WHOLE_CLAUSE_WORDS = 6
"""Fewest words of a run-on clause that is read alone as a possible emergency beside a benign complaint ("my
husband is making gurgling noises"); shorter ones are too often a fragment of that complaint ("a scratchy throat
since yesterday") that the rules, read alone, send to the fail-safe."""

_FAILSAFE_KEYS = frozenset(flag.key for flag in (*FAILSAFE_FLAGS, *SYSTEM_FLAGS))
"""The fail-safe flags: alarm words in a text no specific rule placed, which a clause alone does not stand for."""

_SHADOWED_BY = {"urinary": "kidney", "fever": "headache_fever", "stomach_upset": "headache_fever",
                "cold_flu": "persistent_cough"}
"""A rule a more specific one makes moot when both match."""


def _shadowed(rule: Rule, rules: list[Rule]) -> bool:
    return _SHADOWED_BY.get(rule.key) in {r.key for r in rules}


def _sentence_emergency(doc: Doc) -> tuple[str, str] | None:
    """(reason, source) when one sentence, read alone, is an emergency and no other sentence that no rule placed
    reassures about it: a complaint mentioned beside it ("she had a cold last week", "a cough for weeks, nothing
    new") must not lower it (fail safe: uncertainty never lowers a level)."""
    sentences = [Doc(part) for part in _SENTENCE_END.split(doc.text) if part.strip()]
    if len(sentences) < 2 or (doc.has(terms.NOT_MEDICAL_SENSE) and not doc.has(terms.BODY_CONTEXT)):
        return None
    placed = [any(all(alone.has(group) for group in rule.all_of) for rule in RULES) for alone in sentences]
    for i, alone in enumerate(sentences):
        if triage(alone.text).urgency is not Urgency.EMERGENCY:
            continue
        # a placed sentence's own words reassure about its own complaint only
        rest = " . ".join(other.text for j, other in enumerate(sentences) if j != i and not placed[j])
        if not rest or not reassures(Doc(rest)):
            return ("a sign that is an emergency read on its own, with nothing else in the message that says it is "
                    "mild: treated as an emergency to be safe",
                    "NHS 111: rule out the emergency first (fail safe: uncertainty never lowers a level)")
    return None


def _clause_red_flag(doc: Doc) -> tuple[str, str] | None:
    """(reason, source) of an emergency red flag that one clause of a run-on text meets by its own phrases, when
    the whole text did not: an exclusion or a benign complaint in another clause ("hay fever and sneezing and my
    throat is closing") must not veto it. Raise-only; the fail-safe flags are left out, since a clause torn from
    its context ("it's swollen") is no alarm by itself, and a clause that reassures about the others' sign
    (unplaced, like _sentence_emergency's) keeps the lower level."""
    clauses = [Doc(part) for part in _CLAUSE_END.split(doc.text) if part.strip()]
    if len(clauses) < 2 or (doc.has(terms.NOT_MEDICAL_SENSE) and not doc.has(terms.BODY_CONTEXT)):
        return None
    placed = [any(all(alone.has(group) for group in rule.all_of) for rule in RULES) for alone in clauses]
    for i, alone in enumerate(clauses):
        flag = next((f for f in safety.red_flags(alone) if f.level is Urgency.EMERGENCY
                     and f.key not in _FAILSAFE_KEYS), None)
        if flag is None:
            continue
        rest = " . ".join(other.text for j, other in enumerate(clauses) if j != i and not placed[j])
        if not rest or not reassures(Doc(rest)):
            return (f"{flag.reason} (red flag, in one part of the message)", flag.source)
    return None


def _clause_emergency(doc: Doc, matched: list[Rule]) -> tuple[str, str] | None:
    """(reason, source) when a whole clause of a run-on text, read alone, is an emergency, the words of the rules
    the whole text `matched` are not in it, and no other clause reassures about it: "had a cold all week and she
    can only say two or three words" must not be the cold's self-care. Then the clauses no rule placed are read
    together, the benign complaint set aside ("got a bit of sunburn yesterday and my chest is killing me and it's
    going into my back"). Raise-only; fragments of one complaint (fewer than WHOLE_CLAUSE_WORDS words, or holding
    a matched rule's words) are not read alone, nor is a part that only gives an age ("my baby is 6 months old": it
    belongs to the complaint a rule placed)."""
    parts = [part for part in _CLAUSE_OR_COMMA.split(doc.text) if part.strip()]
    if len(parts) < 2 or (doc.has(terms.NOT_MEDICAL_SENSE) and not doc.has(terms.BODY_CONTEXT)):
        return None
    clauses = [Doc(part) for part in parts]
    placed = [any(all(alone.has(group) for group in rule.all_of) for rule in RULES) for alone in clauses]
    for i, alone in enumerate(clauses):
        if (len(parts[i].split()) < WHOLE_CLAUSE_WORDS or placed[i]
                or any(alone.has(group) for rule in matched for group in rule.all_of)
                or not _emergency_of_its_own(alone)):
            continue
        rest = " . ".join(other.text for j, other in enumerate(clauses) if j != i and not placed[j])
        if not rest or not reassures(Doc(rest)):
            return _CLAUSE_EMERGENCY
    unplaced = [part for part, alone, is_placed in zip(parts, clauses, placed, strict=True) if not is_placed
                and not any(alone.has(group) for rule in matched for group in rule.all_of)]
    if (len(unplaced) < len(parts) and sum(len(part.split()) for part in unplaced) >= WHOLE_CLAUSE_WORDS
            and _emergency_of_its_own(Doc(" and ".join(unplaced)))):
        return _CLAUSE_EMERGENCY
    return None


def _emergency_of_its_own(part: Doc) -> bool:
    """Whether a part of a message, read alone, is an emergency; a part that only says who and how old ("my baby
    is 6 months old": an age and no symptom word) is not a complaint of its own."""
    if age_months(part.text) is not None and not part.has(SYMPTOM_WORDS):
        return False
    return triage(part.text).urgency is Urgency.EMERGENCY


_CLAUSE_EMERGENCY = ("a part of the message that is an emergency read on its own, beside a complaint a rule placed: "
                     "treated as an emergency to be safe",
                     "NHS 111: rule out the emergency first (fail safe: uncertainty never lowers a level)")
"""The reason and source of _clause_emergency."""


def _unplaced_symptom_sentence(doc: Doc, matched: list[Rule]) -> bool:
    """Whether a sentence or a run-on clause names a symptom that no rule places and that, read alone, would get
    care today or an undetermined reply: a benign rule matched elsewhere must not send it to self-care. A clause
    holding words of a rule the whole text `matched` is part of that complaint ("a cough and a runny nose"), not
    one of its own; one that says itself it is mild ("a mildly scratchy throat") asks nothing more, unless it is
    about someone's own body part ("my ear hurts a bit"): mild is not placed."""
    sentences = [Doc(part) for part in _SENTENCE_END.split(doc.text) if part.strip()]
    parts = [part for part in _CLAUSE_OR_COMMA.split(doc.text) if part.strip()]
    clauses = [alone for part in parts if len(part.split()) >= MIN_CLAUSE_WORDS for alone in [Doc(part)]
               if (alone.has(_OWN_BODY_PART) or not reassures(alone))
               and not any(alone.has(group) for rule in matched for group in rule.all_of)]
    if len(sentences) >= 2 and any(_unplaced(alone, fail_safe_counts=True) for alone in sentences):
        return True
    # a clause torn from its run-on text lacks the words that place it ("a scratchy throat since yesterday"
    # beside "runny nose"), so there the fail-safe's emergency counts only for a clause of its own about
    # someone's body part ("my knee has been giving way"); a specific rule's care today or an undetermined
    # reply always counts
    return len(parts) >= 2 and any(_unplaced(alone, fail_safe_counts=alone.has(_OWN_BODY_PART))
                                     for alone in clauses)


def _unplaced(alone: Doc, *, fail_safe_counts: bool) -> bool:
    """Whether a part of a message names a symptom no rule places that, read alone, needs care today or is
    undetermined (the fail-safe's emergency counted only when `fail_safe_counts`)."""
    if not alone.has(SYMPTOM_WORDS) or any(all(alone.has(group) for group in rule.all_of) for rule in RULES):
        return False
    level = triage(alone.text).urgency
    if level is Urgency.EMERGENCY and not fail_safe_counts:
        return False
    return level is None or level.rank <= Urgency.URGENT.rank


def _has_emergency(found: list[tuple[Urgency, str, str]]) -> bool:
    """Whether a level found so far is an emergency."""
    return any(level is Urgency.EMERGENCY for level, _, _ in found)


def _least_urgent_only(found: list[tuple[Urgency, str, str]]) -> bool:
    """Whether the level found so far is below urgent (concerning features then raise it)."""
    return min((level for level, _, _ in found), key=lambda u: u.rank).rank > Urgency.URGENT.rank


def _measured(text: str, found: list[tuple[Urgency, str, str]], result: TriageResult) -> None:
    """Levels from the readings: temperature, age bands (NICE NG143), durations."""
    temp = temperature_c(text)
    months = age_months(text)
    if temp is not None and temp >= HIGH_FEVER_C:
        found.append((Urgency.URGENT, f"a temperature of {temp:.1f} C needs care today",
                      "NHS: high temperature (fever) in adults and children"))
        result.topics.append("fever")
    has_fever = any(topic == "fever" for topic in result.topics) or (temp or 0) >= FEVER_C
    days = duration_days(text)
    if months is not None and has_fever and months < CHILD_YEARS * 12 * 3 and (days or 0) >= _CHILD_FEVER_AMBER_DAYS:
        found.append((Urgency.URGENT, f"a fever for {days} days or more in a child needs a clinician today",
                      "NICE NG143 traffic-light: amber (fever for 5 days or more)"))
    if months is not None and months < NEWBORN_DAYS_MONTHS and found:
        found.append((Urgency.URGENT, "a baby under 28 days with any symptom needs a check today",
                      "NHS: your newborn baby (urgent if under 28 days); NICE NG143"))
    elif months is not None and months < INFANT_MONTHS and found:
        # an infant's age is a concerning feature by itself: never self-care or soon (NICE NG143)
        found.append((Urgency.URGENT, f"a baby under {INFANT_MONTHS} months with a symptom needs a clinician "
                      "today", "NICE NG143 (under 3 months: a lower threshold for care); NHS 111"))
    if months is not None and INFANT_MONTHS <= months <= AMBER_INFANT_MONTHS and (temp or 0) >= AMBER_INFANT_C:
        found.append((Urgency.URGENT, f"a baby of {INFANT_MONTHS} to {AMBER_INFANT_MONTHS} months with a temperature "
                      f"of {AMBER_INFANT_C:.0f} C or more needs a clinician today",
                      "NICE NG143 traffic-light: amber (age 3 to 6 months, temperature 39C or higher)"))
    if months is not None and months >= OLDER_ADULT_YEARS * 12 and has_fever:
        found.append((Urgency.URGENT, f"a fever in someone over {OLDER_ADULT_YEARS} needs a check today",
                      "NHS: chest infection (urgent if over 65)"))
    if days is not None and _long_stomach_upset(text, days):
        found.append((Urgency.URGENT, f"diarrhoea for {DIARRHOEA_DAYS} days or more, or vomiting for "
                      f"{VOMITING_DAYS} days or more, needs a clinician today",
                      "NHS: diarrhoea and vomiting (111 or GP if it lasts longer)"))
    if days is not None and found and _least_urgent_only(found):
        limit = LONG_COUGH_DAYS if "breathing" in result.topics else LONG_SYMPTOMS_DAYS
        if days >= limit:
            found.append((Urgency.SOON, f"symptoms for about {days} days: longer than self-care should take",
                          "NHS: see a GP if symptoms last more than 2 to 3 weeks"))


def _long_stomach_upset(text: str, days: int) -> bool:
    """Diarrhoea lasting DIARRHOEA_DAYS or vomiting lasting VOMITING_DAYS (NHS: diarrhoea and vomiting)."""
    doc = Doc(text)
    return ((days >= DIARRHOEA_DAYS and doc.has(_DIARRHOEA))
            or (days >= VOMITING_DAYS and doc.has(_VOMITING)))


def _finish(result: TriageResult) -> None:
    result.topics = list(dict.fromkeys(result.topics or ["general"]))
    urgency = result.urgency
    first: list[str] = []
    if urgency is Urgency.EMERGENCY:
        first.append(f"Call your local emergency number now ({safety.EMERGENCY_NUMBERS}); do not drive "
                     "yourself.")
    elif urgency is not None:
        first.append(_LEVEL_ACTIONS[urgency])
    if result.crisis:
        first.append("Contact a crisis line above, or someone you trust, now; put away anything you could "
                     "use to hurt yourself, and stay with someone if you can.")
    calls = [a for a in result.actions if a.startswith("Call your local emergency number")]
    result.actions = list(dict.fromkeys(calls + first + result.actions))
    if urgency is None:
        result.actions = [_SAFETY_NET, _CONTACT_TODAY, *result.actions]
    if urgency in (Urgency.SOON, Urgency.SELF_CARE):
        result.actions.append("Get help sooner if any sign under 'What to watch for' appears.")
    questions: list[str] = []
    watch: list[str] = []
    for topic in result.topics:
        asks, signs = TOPICS.get(topic, TOPICS["general"])
        questions.extend(asks)
        watch.extend(signs)
    result.questions = list(dict.fromkeys(questions + list(_ALWAYS_ASK)))
    result.watch_for = list(dict.fromkeys(watch or [_WATCH_DEFAULT]))
