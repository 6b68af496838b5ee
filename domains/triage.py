"""Symptom triage to an urgency level, from red-flag rules grounded in public triage guidance.

Emergency-level rules live in safety.py (they guard every pool); this module adds the urgent,
soon and self-care rules, reads temperatures, durations and infant ages, and writes the reply:
the urgency and why, what to do now, questions a clinician would ask, what to watch for. It
never names a diagnosis or a dose.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from providers.tools import ToolSpec
from safety import policies as safety
from safety.policies import Doc, Phrase, Urgency, phrases

logger = logging.getLogger(__name__)

HIGH_FEVER_C = 40.0
"""Temperature (Celsius) from which a fever needs care today."""

FEVER_C = 38.0
"""Temperature (Celsius) from which a reading counts as a fever."""

LOW_TEMPERATURE_C = 35.0
"""Temperature (Celsius) below which a reading needs care today."""

INFANT_MONTHS = 3
"""Babies younger than this with any fever need care today."""

LONG_SYMPTOMS_DAYS = 14
"""Symptoms lasting this long move self-care up to 'see a doctor soon'."""

LONG_COUGH_DAYS = 21
"""A cough lasting this long needs a doctor's check."""

BUILT_IN_NOTE = ("From OperatorOS's built-in triage rules (offline and rule-based; not a language model, "
                 "not a clinician).")
"""Says where an offline healthcare reply came from."""


@dataclass(frozen=True)
class Rule:
    """A non-emergency triage rule: when every group matches, the level applies."""

    key: str
    topic: str
    level: Urgency
    reason: str
    all_of: tuple[tuple[Phrase, ...], ...]
    advice: tuple[str, ...] = ()


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for the tool."""
        return {"urgency": self.urgency.value if self.urgency else None,
                "urgency_label": self.urgency.label if self.urgency else "not determined",
                "reasons": self.reasons, "topics": self.topics, "what_to_do_now": self.actions,
                "questions_a_clinician_would_ask": self.questions, "what_to_watch_for": self.watch_for,
                "crisis_resources": safety.CRISIS_RESOURCES if self.crisis else None,
                "not_a_diagnosis": safety.NOT_A_DIAGNOSIS}


_U, _S, _C = Urgency.URGENT, Urgency.SOON, Urgency.SELF_CARE
_FEVER = phrases("fever*|feverish|temperature", "high temp*", "=temp")
_INFANT = phrases("baby", "babies", "infant*", "newborn*")
_URINE = phrases("painful|burning urinat*|pee*|wee*", "pain*|burn*|sting* when|while pee*|urinat*|wee*")
RULES: tuple[Rule, ...] = (
    Rule("infant_fever", "fever", _U, f"a fever in a baby under {INFANT_MONTHS} months needs checking today",
         (_INFANT, _FEVER), ("Keep the baby lightly dressed and offer feeds often.",)),
    Rule("severe_abdominal_pain", "abdomen", _U, "severe or sharp belly pain needs an examination today",
         (phrases("sever*|sharp|intense|worst stomach|abdominal|belly|tummy pain*|ache*", "appendix",
                  "pain* lower right"),), ("Do not eat until you have been seen.",)),
    Rule("fracture", "injury", _U, "a possible broken bone or dislocation needs an X-ray today",
         (phrases("broken|broke|fractur*|dislocat*", "cannot put weight", "bone stick*"),),
         ("Keep the limb still and supported; a cold pack wrapped in cloth can ease swelling.",)),
    Rule("deep_cut", "injury", _U, "a deep or gaping cut may need closing within hours",
         (phrases("deep cut|wound|gash", "gash", "gaping", "need* stitches"),),
         ("Press on it with a clean cloth, then cover it.",)),
    Rule("dehydration", "fluids", _U, "signs of dehydration need care today",
         (phrases("not peed|urinated|weed", "no urine|pee", "cannot keep fluids|water|anything down",
                  "sunken eyes", "very dizzy"),), ("Sip small amounts of water or oral rehydration fluid.",)),
    Rule("fainting", "heart", _U, "fainting needs a check today", (phrases("faint*", "blacked out"),)),
    Rule("black_stool", "abdomen", _U, "black, tarry stools can mean bleeding in the gut",
         (phrases("black|tarry stool*|poo*|poop"),)),
    Rule("eye", "eye", _U, "an eye injury, chemical in the eye or sudden eye pain needs care today",
         (phrases("eye injur*", "chemical* eye*", "sudden* eye pain", "something in eye", "eye hit|hurt*"),),
         ("For chemicals, rinse the eye with clean running water for 20 minutes.",)),
    Rule("asthma", "breathing", _U, "an asthma attack or wheezing that the usual inhaler does not ease",
         (phrases("asthma attack", "inhaler not help*|working", "wheez*"),),
         ("Sit upright and use your own reliever inhaler as your asthma plan says.",)),
    Rule("allergy", "allergy", _U, "an allergic reaction needs checking today (an emergency if breathing or "
         "swallowing is affected)", (phrases("allergic reaction", "hives"),)),
    Rule("kidney", "urinary", _U, "painful urination with fever or back pain can be a kidney infection",
         (_URINE, phrases("fever*|temperature", "back pain", "side pain")),),
    Rule("testicular", "urinary", _U, "sudden testicle pain must be checked within hours",
         (phrases("testic*|testicle*|scrotum pain*|swell*|hurt*"),)),
    Rule("headache_fever", "head", _U, "headache with fever and vomiting needs a check today",
         (phrases("headache"), _FEVER, phrases("vomit*", "throw* up"))),
    Rule("persistent_cough", "breathing", _S, f"a cough for {LONG_COUGH_DAYS} days or more needs a check",
         (phrases("persistent|chronic cough*", "cough* weeks|months"),)),
    Rule("lump", "general", _S, "a new lump or swelling should be examined", (phrases("lump*"),)),
    Rule("weight_loss", "general", _S, "unexplained weight loss should be looked into",
         (phrases("unexplained|unintentional weight loss", "losing weight without"),)),
    Rule("mole", "skin", _S, "a mole that changes, bleeds or itches should be examined",
         (phrases("mole chang*|bleed*|itch*|grow*|new", "changing mole"),)),
    Rule("blood_in_urine_or_stool", "abdomen", _S, "blood in urine or stool should be looked into",
         (phrases("blood urine|pee|stool*|poo*|poop", "bloody urine|stool*"),)),
    Rule("urinary", "urinary", _S, "painful or burning urination may need a urine test", (_URINE,)),
    Rule("rash", "skin", _S, "a rash that persists or spreads should be seen (at once if it does not fade "
         "under a pressed glass)", (phrases("rash*"),)),
    Rule("palpitations", "heart", _S, "palpitations should be checked",
         (phrases("palpitat*", "heart racing|pound*", "skipp* beat*", "irregular heartbeat"),)),
    Rule("dizziness", "head", _S, "repeated dizziness should be checked", (phrases("dizz*", "vertigo"),)),
    Rule("low_mood", "mental health", _S, "low mood or anxiety that lasts deserves support from a doctor or "
         "therapist",
         (phrases("depress*", "anxiety", "anxious", "low mood", "panic attack*", "cannot sleep"),)),
    Rule("pregnancy", "pregnancy", _S, "pregnancy questions go to a midwife or doctor",
         (phrases("pregnan*"),)),
    Rule("cold_flu", "breathing", _C, "cold and flu symptoms usually get better with self-care",
         (phrases("cold", "flu", "runny nose", "blocked|stuffy nose", "congest*", "sneez*", "sore throat",
                  "cough*"),), ("Rest, drink fluids, and ask a pharmacist about remedies that suit you.",)),
    Rule("headache", "head", _C, "most headaches settle with rest and fluids", (phrases("headache*",
                                                                                        "migraine*"),),
         ("Rest in a quiet, dark room and drink water.",)),
    Rule("fever", "fever", _C, "a mild fever in an adult usually settles in a few days", (_FEVER,),
         ("Rest, drink plenty of fluids, and dress in light layers.",)),
    Rule("minor_injury", "injury", _C, "sprains, strains and bruises usually heal with self-care",
         (phrases("sprain*", "strain*", "bruise*", "graze*", "twist* ankle|knee|wrist", "minor cut",
                  "cut finger"),),
         ("Rest, ice wrapped in cloth for 20 minutes at a time, support, and raise the limb.",)),
    Rule("stomach_upset", "abdomen", _C, "diarrhoea and vomiting usually pass within a few days",
         (phrases("diarrh*", "vomit*", "stomach bug|upset", "upset stomach", "food poisoning", "nause*"),),
         ("Sip fluids often; eat plain food when you feel able.",)),
    Rule("minor_skin", "skin", _C, "minor burns, bites and sunburn usually heal with self-care",
         (phrases("burn|burns|burned|burnt", "insect|bug bite*", "sting", "sunburn*"),),
         ("Cool a burn under cool running water for 20 minutes.",)),
)
"""Urgent, soon and self-care rules, from public guidance such as NHS 111 and CDC pages."""

_TOPIC_FOR_FLAG = {"chest_pain_red_flags": "chest", "chest_pressure": "chest", "chest_pain": "chest",
                   "named_emergency": "chest", "stroke": "stroke", "stroke_speech": "stroke",
                   "severe_bleeding": "injury", "poisoning": "poisoning", "anaphylaxis": "allergy",
                   "breathing": "breathing", "unconscious_or_seizure": "head", "meningitis": "fever",
                   "nonblanching_rash": "fever", "thunderclap_headache": "head", "head_injury": "head",
                   "blood_loss": "abdomen", "pregnancy": "pregnancy", "severe_burn": "skin"}

TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "chest": ((
        "When did it start, and is it constant or does it come and go?",
        "What does it feel like: pressure, tightness, burning, sharp or stabbing?",
        "Does it spread to your arm, jaw, neck or back?",
        "Are you short of breath, sweating, sick or dizzy?",
        "Does it come on with effort and ease with rest, or change when you breathe or press on it?",
        "Any heart disease, high blood pressure, diabetes, high cholesterol, smoking, or heart disease in "
        "the family?",
        "Any recent long journey, operation, or a swollen, painful leg?"), (
        "Pain that becomes crushing, tight or heavy, or lasts more than 15 minutes.",
        "Breathlessness, sweating, nausea, fainting or a grey, clammy look.",
        "Pain spreading to the arm, jaw, neck or back.")),
    "stroke": ((
        "When was the person last seen well, to the minute?", "Which side of the body is affected?",
        "Any earlier episodes that passed, or atrial fibrillation, high blood pressure or diabetes?"), (
        "Any new weakness, numbness, face droop, speech or vision trouble, even if it passes.",)),
    "breathing": ((
        "How long has breathing been a problem, and is it worse lying flat or on effort?",
        "Any wheeze, cough, phlegm, fever or chest pain?", "Any asthma, COPD or heart condition?"), (
        "Breathlessness at rest, being unable to finish a sentence, or blue lips.",
        "A cough lasting three weeks or more, or coughing blood.")),
    "fever": ((
        "What was the highest temperature, and how was it measured?", "How long has the fever lasted?",
        "Any rash, stiff neck, dislike of bright light, drowsiness, or pain passing urine?",
        "For a child: age, feeding, wet nappies, and how alert they are?"), (
        "A rash that does not fade under a pressed glass, a stiff neck, or confusion.",
        "A fever of 40 C (104 F) or more, or one lasting more than five days.",
        "A baby under three months with any fever.")),
    "head": ((
        "Where is the pain, and how fast did it reach its worst?",
        "Any injury, fever, stiff neck, vomiting, vision change or weakness?",
        "Is this different from your usual headaches?"), (
        "A sudden, severe headache; headache with fever and stiff neck; confusion or drowsiness.",)),
    "abdomen": ((
        "Where exactly is the pain, and has it moved?",
        "Any vomiting, diarrhoea, fever, blood or black stools?",
        "When did you last eat, pass urine and open your bowels?", "Could you be pregnant?"), (
        "Severe or worsening pain, a rigid belly, vomiting blood, black stools, or no urine for 8 hours.",)),
    "injury": ((
        "How did it happen, and when?", "Can you move it and bear weight?",
        "Any numbness, tingling or a cold, pale limb?"), (
        "Numbness, a cold or pale limb, bleeding that will not stop, or a visible deformity.",)),
    "poisoning": ((
        "What was taken, how much and when?", "Was it on purpose or an accident?",
        "Any drowsiness, vomiting, burns around the mouth or breathing trouble?"), (
        "Drowsiness, fits, breathing trouble, or burns in the mouth.",)),
    "allergy": ((
        "What might have caused it, and when?",
        "Any swelling of lips, tongue or throat, wheeze or dizziness?",
        "Any earlier severe reactions or a prescribed auto-injector?"), (
        "Swelling of the lips, tongue or throat, wheeze, or feeling faint.",)),
    "urinary": ((
        "How long, and any fever, back or side pain, blood in urine or discharge?",
        "Could you be pregnant?"), (
        "Fever, shivering, back or side pain, or blood in the urine.",)),
    "skin": ((
        "When did it appear, and is it spreading?", "Does it fade when a glass is pressed on it?",
        "Any fever, new medicines, foods or products?"), (
        "A rash that does not fade under a pressed glass, spreading redness, or fever.",)),
    "mental health": ((
        "How long have you felt this way, and how is it affecting sleep, eating and work?",
        "Any thoughts of harming yourself, now or before?", "Who can you talk to?"), (
        "Thoughts of suicide or self-harm: use the crisis lines at once.",)),
    "heart": ((
        "Does it happen at rest or on effort, and how long does it last?",
        "Any chest pain, breathlessness or fainting with it?"), (
        "Chest pain, fainting or breathlessness with it.",)),
    "eye": (("What happened, and is your vision affected?",), (
        "Loss of vision, or worsening pain or redness.",)),
    "fluids": (("How much have you drunk and passed in the last day?",), (
        "No urine for 8 hours, confusion, or a very fast heartbeat.",)),
    "pregnancy": ((
        "How many weeks pregnant are you?",
        "Any bleeding, pain, fluid loss or change in the baby's movements?"), (
        "Bleeding, severe pain, fluid loss, headache with vision change, or fewer movements.",)),
    "general": (("What are the symptoms, where, since when, and how bad from 0 to 10?",), ()),
}
"""For each topic: questions a clinician would ask, and what to watch for."""

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
_TEMPERATURE = re.compile(r"(\d{2,3}(?:[.,]\d)?)\s*(?:°|º|deg(?:rees?)?\.?)?\s*(c|f|celsius|fahrenheit)?\b")
_WORDS_TO_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                     "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


def triage(text: str) -> TriageResult:
    """Triage a free-text description of symptoms.

    Args:
        text: what the person wrote.

    Returns:
        The urgency (most urgent rule met), reasons, actions, questions and signs to watch.
    """
    doc = Doc(text)
    flags = safety.red_flags(doc)
    harm, imminent = safety.self_harm(doc)
    rules = [r for r in RULES if all(doc.has(group) for group in r.all_of)]
    rules = [r for r in rules if not _shadowed(r, rules, doc)]
    result = TriageResult(None, crisis=harm, asks_for_dosing=doc.has(_DOSING_REQUEST, negatable=False))
    found: list[tuple[Urgency, str]] = []
    for flag in flags:
        found.append((flag.level, f"{flag.reason} (red flag)"))
        result.topics.append(_TOPIC_FOR_FLAG.get(flag.key, "general"))
        if flag.emergency_if:
            result.actions.append(f"Call your local emergency number now if {flag.emergency_if}.")
        result.actions.extend(flag.actions)
    if harm:
        found.append((Urgency.EMERGENCY if imminent else Urgency.URGENT,
                      "thoughts of suicide or self-harm: talk to someone today, with the crisis lines above"))
        result.topics.append("mental health")
    for rule in rules:
        found.append((rule.level, rule.reason))
        result.topics.append(rule.topic)
        result.actions.extend(rule.advice)
    _measured(text, doc, found, result)
    if found:
        result.urgency = min((level for level, _ in found), key=lambda u: u.rank)
        result.reasons = [reason for level, reason in found if level is result.urgency]
    _finish(result)
    return result


def format_reply(result: TriageResult) -> str:
    """The plain-text body of a healthcare reply (the safety preamble and closing lines are added by
    domain_agents.guard_reply)."""
    label = result.urgency.label.upper() if result.urgency else "NOT DETERMINED"
    lines = [f"Symptom triage: {label}", BUILT_IN_NOTE, ""]
    if result.urgency is None:
        lines += ["I could not match specific symptoms. Describe what you feel, where, since when, and how "
                  "bad (0 to 10), and I will triage it.", ""]
    lines.append(f"Urgency: {result.urgency.label if result.urgency else 'not determined'}")
    for title, items in (("Why", result.reasons), ("What to do now", result.actions),
                         ("Questions a clinician would ask", result.questions),
                         ("What to watch for", result.watch_for)):
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  - {item}" for item in items)
    if result.asks_for_dosing:
        lines.append("Medicines: OperatorOS does not say which medicine or how much to take; a pharmacist "
                     "can advise what is safe for you, and the leaflet in the pack gives the amounts.")
    return "\n".join(lines)


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


def temperature_c(text: str) -> float | None:
    """The highest temperature written in a text, in Celsius ('38.5C', '102 F', '39 degrees')."""
    readings = []
    for number, unit in _TEMPERATURE.findall(text.lower()):
        value = float(number.replace(",", "."))
        if unit.startswith("f") or (not unit and 93 <= value <= 110):
            value = (value - 32) * 5 / 9
        elif not unit and not 34 <= value <= 43:
            continue
        if 30 <= value <= 45:
            readings.append(round(value, 1))
    return max(readings) if readings else None


def duration_days(text: str) -> int | None:
    """The longest duration written in a text ('for 3 weeks', 'two days'), in days."""
    found = []
    for count, unit in re.findall(r"\b(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten)\s+"
                                  r"(day|week|month|year)s?\b", text.lower()):
        n = int(count) if count.isdigit() else _WORDS_TO_NUMBERS[count]
        found.append(n * _UNIT_DAYS[unit])
    return max(found) if found else None


def infant_age_months(text: str) -> float | None:
    """Age of a baby written as '6 weeks old' or '2 month old', in months."""
    match = re.search(r"\b(\d+)[ -]?(week|month)s?[ -]old\b", text.lower())
    if not match:
        return None
    n = int(match.group(1))
    return n / 4.345 if match.group(2) == "week" else float(n)


def _shadowed(rule: Rule, rules: list[Rule], doc: Doc) -> bool:
    keys = {r.key for r in rules}
    if rule.key in ("urinary",) and "kidney" in keys:
        return True
    if rule.key == "fever" and ("infant_fever" in keys or "headache_fever" in keys):
        return True
    if rule.key == "stomach_upset" and "headache_fever" in keys:
        return True
    return rule.key == "cold_flu" and "persistent_cough" in keys


def _measured(text: str, doc: Doc, found: list[tuple[Urgency, str]], result: TriageResult) -> None:
    temp = temperature_c(text)
    if temp is not None and (temp >= HIGH_FEVER_C or temp < LOW_TEMPERATURE_C):
        found.append((Urgency.URGENT, f"a temperature of {temp:.1f} C needs care today"))
        result.topics.append("fever")
    months = infant_age_months(text)
    if months is not None and months < INFANT_MONTHS and (doc.has(_FEVER) or (temp or 0) >= FEVER_C):
        if not any("baby under" in reason for _, reason in found):
            found.append((Urgency.URGENT,
                          f"a fever in a baby under {INFANT_MONTHS} months needs checking today"))
            result.topics.append("fever")
    days = duration_days(text)
    if days is not None and found and min((lv for lv, _ in found), key=lambda u: u.rank) is Urgency.SELF_CARE:
        limit = LONG_COUGH_DAYS if "breathing" in result.topics else LONG_SYMPTOMS_DAYS
        if days >= limit:
            found.append((Urgency.SOON, f"symptoms for about {days} days: longer than self-care should take"))


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
