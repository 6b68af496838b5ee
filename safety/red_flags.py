"""Red flags: emergency signs, and warnings that say when to call emergency services, each from named
published guidance (NHS 111 / NHS conditions pages, NICE NG143 and NG51, AHA, BE FAST, Resuscitation
Council UK).

Part of safety (import from safety.policies). A flag holds when one phrase of every group is in the
text and its `check` on the readings (ages, temperatures, tablets: safety.readings), if any, holds.
The flags guard every pool: a request that raises one goes to the healthcare pool and gets the
emergency guidance first, whatever it asks for.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

from safety import readings
from safety import red_flag_terms as t
from safety.flag_types import RedFlag as RedFlag  # re-exported: callers ask this module for it
from safety.flag_types import Urgency as Urgency
from safety.patterns import Doc, first_words_mask, phrases
from safety.red_flag_failsafe import FAILSAFE_FLAGS
from safety.red_flag_families import CROUP_FLAG, FAMILY_FLAGS, JOINT_FLAG, THROAT_FLAG
from safety.red_flag_systems import SYSTEM_FLAGS

INFANT_RED_MONTHS = 3
"""NICE NG143 red: a baby under 3 months with a temperature of 38 C or more."""

INFANT_AMBER_MONTHS = 6
"""NICE NG143 amber: a baby of 3 to 6 months with a temperature of 39 C or more."""

FEVER_C = 38.0
"""NICE NG143: a temperature of 38 C or more is a fever."""

INFANT_AMBER_FEVER_C = 39.0
"""NICE NG143 amber threshold for babies of 3 to 6 months."""

HYPOTHERMIA_C = 35.0
"""NHS hypothermia: a body temperature below 35 C."""

HYPO_MMOL = 4.0
"""NHS hypoglycaemia: blood sugar below 4 mmol/L."""

MAX_DAILY_TABLETS = 8
"""NHS paracetamol: an adult's most in 24 hours is 8 tablets of 500 mg; more at once is an overdose."""


_PERSON = ("he|she|i|someone|somebody|friend|dad|mom|mum|father|mother|wife|husband|son|daughter|child|kid|"
           "baby|toddler|person|man|woman|boy|girl|grandma|grandpa|grandad|partner|brother|sister|flatmate|"
           "neighbour")
_CHEST = phrases("chest pain*|pian|hurt*|ach*|discomfort|pressure|tight*|heav*", "pain* chest",
                 "hurt* chest", "pressure chest", "tight* chest", "heavy chest", "crush* chest")
_CHEST_SEVERE = phrases("chest pressure|tight*|heav*|crush*|squeez*|=tite", "tight* chest", "pressure chest",
                        "heavy chest", "crush* chest|pain", "squeez* chest",
                        "pressure|tight*|heav*|crush* centre|center|middle chest",
                        "something heavy sitting|on chest|me", "elephant chest",
                        "sitting on chest")
_CHEST_FEATURES = phrases("breathless*", "short* breath", "cannot breath*", "hard breath*",
                          "difficult* breath*", "struggl* breath*", "sweat*", "clammy", "nause*", "vomit*",
                          "throw* up", "sick", "spread*", "radiat*", "left arm",
                          "arm|jaw|neck|back hurt*|pain*", "pain* arm|jaw|neck|shoulder", "faint*",
                          "dizzy|lightheaded", "grey|gray", "=odd", "strange", "funny",
                          "15|20|30 minutes|mins", "at rest")
_HEART_ATTACK_NOW = phrases("having|think|thinks heart attack", "having|think|thinks =stroke",
                            "heart attack now|happening", "cardiac arrest")
_STROKE = phrases("face droop*|drop*|dropped|lopsided|fallen", "droop* face|mouth|smile|eyelid",
                  "lopsided smile|face", "smile lopsided|wonky", "arm weak*", "weak* arm", "sudden* weak*|numb*",
                  "weak*|numb* one side", "one side body|face droop*|weak*|numb*", "slur* speech|words|talk*|speak*",
                  "speech slur*|garbled|jumbled|funny|strange|wrong", "words jumbled|garbled|wrong|funny",
                  "words coming out wrong|funny", "cannot find +my|+her|+his|+the words", "sudden* confus*",
                  "sudden* vision|blind*", "cannot lift|raise|move +my|+her|+his|+one arm|leg",
                  "cannot lift|raise arm|leg", "slurring", "mini stroke", "=tia")
_SPEECH = phrases("trouble|difficult*|problem* speak*|speech", "cannot speak|talk properly|clearly")
_STROKE_CONTEXT = phrases("sudden*", "face", "arm", "numb*", "confus*", "dizz*", "vision", "=stroke",
                          "headache")
_BLEEDING = phrases("sever*|major|uncontrol* bleed*", "bleed* heavily|badly|profusely", "lot blood",
                    "blood everywhere", "cannot|not stop bleed*", "bleed* not stop*", "bleed* will not stop",
                    "blood spurt*|gush*|pump*|pour*", "spurt*|gush*|pump*|pour* blood", "pool blood",
                    "soak* through bandage*|towel*|pad*|dressing*", "soak* pad*|towel*|bandage*|dressing*")
_POISON = phrases("=poisoned", "=poisoning", "poisonous", "poison control|help",
                  "swallow*|drank|drink*|ate|eaten|chew*|mix* bleach|chemical*|detergent|cleaner|"
                  "antifreeze|battery|batteries|pesticide*|weedkiller|poison|screenwash|laundry|capsule*|"
                  "magnet*|ammonia|=berries|mushroom*|dishwasher|pod|pods|polish|"
                  "remover|vape|paraffin|petrol|pellets|plant|perfume",
                  "swallowed|ate|eaten|chewed tablets|pills|medicine*|iron",
                  "overdos*", "=od", "=oded", "too many pills|tablets|painkillers|paracetamol|sleeping|his|her|my",
                  "handful pills|tablets|antidepressant*|painkillers|paracetamol|sleeping",
                  "whole bottle|pack*|box pills|tablets|paracetamol|antidepressant*|painkillers",
                  "all +her|+his|+my|+the pills|tablets", "carbon monoxide", "button batter*",
                  "got into cupboard|medicine*|tablets|pills", "fumes", "liquid laundry|washing capsule|pod*")
_FOOD_POISONING = phrases("food poisoning")
_ANAPHYLAXIS = phrases("anaphyla*", "throat swell*|closing|clos*|tight*", "tongue|lips|face swell*",
                       "swollen tongue|throat|lips|face", "epipen|epi pen",
                       "allergic reaction breath*|wheez*|swell*", "swelling mouth|throat|tongue|lips")
_BREATHING = phrases("cannot breath*", "not breathing", "stopp* breathing", "struggl* breath*",
                     "gasping air|breath", "choking on", f"{_PERSON}|is|am choking",
                     "blue|bluish|grey lips|face|tongue",
                     "lips|face|tongue blue|bluish|grey|gray", "severe* short* breath", "cannot finish sentence*",
                     "too breathless talk|speak", "paus* breath*", "breathing pause*|stop*", "=grunting",
                     "grunt* breath*",
                     "ribs suck*", "suck* in ribs", "suck* under ribs", "chest indraw*",
                     "lips|face|baby went|turned|going blue",
                     "breathing very|really|super fast", "fast breathing drows*|confus*",
                     "difficult* breath*", "breathing difficult*", "hard breathe", "cannot catch breath",
                     "not breathing properly|normally", "fighting breath", "too breathless", "wheez* cannot talk")
_CONSCIOUS = phrases("is|was|went|knocked|found|lying|became|been unconscious",
                     f"{_PERSON} unresponsive|collapsed|fainted|unconscious", "passed out", "seizure*",
                     "convuls*", "fitting seizure*|shaking", "will not wake up", "cannot wake*",
                     "not waking up", "had|having|=has +a +fit", "is|was|started|keeps fitting",
                     "hard|difficult wake|rouse",
                     "unresponsive", "not responding me|us|normally|normal|voice|anyone|name", "not responsive",
                     "less responsive", "floppy",
                     "=limp", "will not wake", "high pitched cry", "very drowsy|sleepy", "really sleepy|drowsy",
                     "unusually sleepy|drowsy", "sleepier")
_NOT_MEDICAL_SEIZURE = phrases("seizure* asset*|property|goods|funds|drugs|cash|vehicle*|bank*",
                               "asset*|property|drug*|cash|bank seizure*", "not respond* email*|messages|texts",
                               "server|app|website|api|system not respond*|responsive")
_CONFUSED = phrases("is|am|was|seems|seem|getting|became|become|gone|acting|feel*|feeling|very|really|more|"
                    "now|and|suddenly confused|confusion", "confused and", "not making sense", "delirious",
                    "delirium")
_CONFUSION_CONTEXT = phrases(
    "sudden*", "sweat*", "fever*", "temp*", "breath*", "fell", "fall*", "drows*", "sleepy", "skin", "infection",
    "sugar", "diabet*", "hypo", "sick", "vomit*", "hot", "cold", "shiver*", "slurr*", "dizzy", "head", "unwell",
    "pills", "drink*", "drunk", f"{_PERSON.replace('|i|', '|')}")
_NOT_MEDICAL_CONFUSION = phrases("confus* about|by|which|what|how|whether|with")
_STIFF_NECK = phrases("stiff neck", "neck stiff*")
_FEVER = phrases("fever*|feverish|temperature|=temp", "high temp*")
_MENINGITIS_WITH = phrases("fever*|feverish|temperature|=temp", "high temp*", "headache", "vomit*",
                           "light hurt*", "bright light*", "rash")
_RASH_NONBLANCH = phrases("rash not fade*|fading|disappear*", "rash not go away", "non blanch*", "glass test",
                          "purple rash|spots")
_SEPSIS_SKIN = phrases("mottled", "blotchy skin|legs|arms|looks", "skin|legs|arms blotchy", "ashen",
                       "blue grey skin", "skin blue|grey")
_HEADACHE_SEVERE = phrases("=worst headache", "thunderclap", "sudden* severe headache",
                           "sudden* extremely painful headache")
_HEAD_INJURY = phrases("head|hed injur*", "hit|bang*|bump*|knock*|hurt head",
                       "fell head", "head hit", "head on", "cannot remember crash|accident|fall")
_HEAD_INJURY_SIGNS = phrases("vomit*", "confus*", "drows*", "passed out", "unconscious*", "seizure*",
                             "blood ear", "sick", "sleepy", "blood thinner*|thinning", "warfarin",
                             "anticoagula*", "apixaban", "rivaroxaban", "cannot remember", "memory",
                             "asking same", "clear fluid", "hard wake", "seeing double", "double vision",
                             "problems seeing", "knocked out")
_BLOOD_OUT = phrases("cough* blood", "vomit* blood", "throw* blood", "black tarry|sticky")
_PREGNANT = phrases("pregnan*", "midwife")
_PREGNANT_SIGNS = phrases("bleed*", "severe pain", "severe* cramp*", "waters broke", "a +fit", "seizure*",
                          "baby not|hardly|stopped mov*|kick*", "not felt|feel baby|kick*|movement*",
                          "baby movement* less|fewer|reduced|stopped", "reduced|fewer movement*",
                          "cord", "baby coming", "urge push")
_MOVEMENTS = phrases("havnt|havent|hasnt|hadnt|not felt|feel baby|kick*|movement*",
                     "baby not|hardly|stopped mov*|kick*",
                     "baby mov* less|fewer|reduced|stopped", "reduced|fewer|less movement*", "baby has not moved",
                     "no kick*|movement*")
_BURN = phrases("sever*|large|deep|chemical|electric* burn|burns|burned|burnt",
                "burn|burned|burnt face|eyes", "face|eyes burn*|burnt|scald*", "bigger than hand",
                "white|charred skin", "smoke", "blister* face", "face blister*")
_ELECTRIC = phrases("electric* shock", "electrocut*", "mains socket")
_FROSTBITE = phrases("frostbit*", "frost bite")
_HYPO = phrases("hypo", "hypoglyc*", "low blood sugar|glucose", "blood sugar|glucose low", "sugar low",
                "diabetic", "diabetes", "insulin")
_HYPO_SEVERE = phrases("confus*", "drows*", "not making sense", "unconscious", "fit", "seizure*",
                       "not coming up", "still low", "not improv*", "woozy", "cannot swallow")
_HOT = phrases("heat*", "sun", "hot", "overheat*")
_HEATSTROKE = phrases("heatstroke", "heat stroke", "not sweating", "stopped sweating")
_COLD_EXPOSURE = phrases("cold", "freezing", "overnight", "ice")
_COLD_SIGNS = phrases("confus*", "slurr*", "drows*", "not shivering", "stopped shivering")
_FRACTURE_SEVERE = phrases("bone stick*|poking", "leg|arm shorter", "turned out", "looks bent|deformed",
                           "deformed", "wrong|odd|funny angle", "=bent", "hip fractur*",
                           "cannot get up")
_FALL = phrases("fell", "fall*", "slipped", "tripped", "trampoline", "crash*", "accident", "came off",
                "motorbike|motorcycle|horse")
_SPINE = phrases("neck", "back", "spine")
_SPINE_SIGNS = phrases("tingl*", "numb*", "pins needles", "cannot move legs|arms", "weak* legs|arms",
                       "high speed", "car crash", "motorbike")
_EYE_HAZARD = phrases("bleach|cleaner|chemical*|acid|cement|lime|spray* eye*", "splash* eye*",
                      "flew|shot|went into eye*", "metal|glass eye", "grinding", "eye hit high speed")
_EYE = phrases("eye*")
_URINE_RETENTION = phrases("cannot pee|urinate|wee", "cannot pass urine|water", "unable pee|urinate|wee",
                           "unable pass urine",
                           "cannot go at all", "not able pee|wee")
_TESTIS = phrases("testic*|testicle*|testes|scrotum")
_SUDDEN_SEVERE = phrases("sudden*", "sever*", "agony", "really bad", "excruciat*", "=worst")
_LEG_CLOT = phrases("calf|leg swell*|swollen|pain*|red|warm", "swollen|painful calf|leg", "dvt")
_CLOT_SIGNS = phrases("breathless*", "short* breath", "chest pain*", "cough* blood", "hard breath*")
_VOICES_HARM = phrases("voices tell*|telling hurt|kill", "knife|weapon hurt|kill|threat*",
                       "threaten* kill|hurt|stab")
_GREEN_VOMIT = phrases("green vomit|bile|sick", "vomit* green|bile", "sick green")
_FONTANELLE = phrases("soft spot", "fontanel*")
_BULGING = phrases("bulg*", "swollen", "raised", "tense")
_ASTHMA = phrases("inhaler*", "asthma*", "wheez*", "breathless*", "puffer")
_CANNOT_SPEAK = phrases("cannot talk|speak|finish", "not able talk|speak", "unable talk|speak", "too breathless")
_BITE_SEVERE = phrases("bit|bite*|bitten face", "face bit|bitten", "snake bit*|bite*")
_DEEP = phrases("deep", "puncture*", "snake", "adder")
_SWALLOW_SEVERE = phrases("drool*", "cannot swallow", "unable swallow")
_CHEMO = phrases("chemo*", "neutropen*")
_HEAVY_PERIOD_FAINT = phrases("faint*", "dizzy", "lightheaded")
_NHS_999 = phrases(
    # NHS: when to call 999 / go to A&E (adults and children), in the words people use
    "cannot get words out", "gasping", "spraying|spurting blood", "puddle blood", "serious accident",
    "hit by car|van|bus|lorry", "fell from height|roof|ladder|balcony", "=stabbed", "stab wound", "gunshot",
    "impaled", "amputat*", "cut off finger|toe|hand", "crush* injur*", "nearly =drowned", "=drown*",
    "pulled out +of +the +water|sea|river", "sudden* severe|extreme pain*", "sudden* agony", "rapid* swell*",
    "swell* rapid*", "lips|face|skin|fingers turning|went|gone|going blue|grey", "feel* like dying",
    "feel* going +to +die",
    "cannot stay awake", "will not stay awake", "rigid belly|tummy|abdomen", "belly|tummy hard rigid",
    "coffee grounds", "pain spread* across tummy|belly", "cannot control bladder|bowel*", "numb bum|bottom|groin",
    "numb* around bottom|genitals", "saddle numb*", "stridor", "harsh noise breath*", "curtain|shadow vision|eye",
    "sudden* lost|loss vision|sight", "sudden* blind*", "talking|speaking gibberish", "fruity breath",
    "ketones high", "high ketones", "cannot hold arm* up", "cannot smile", "one side face numb*|droop*|weak*",
    "mouth droop*", "pinprick*", "petechia*", "rash glass|tumbler", "press* rash not fade*",
    "attempted suicide", "strangulat*", "hernia cannot push", "ectopic", "shoulder tip pain",
    "contractions every 2|3 minutes", "head crowning", "baby head coming", "cold touch", "very pale", "grey skin")
_NOSEBLEED = phrases("nosebleed*", "nose bleed*")
_NOSEBLEED_LONG = phrases("not stop*", "will not stop", "hour*", "30 minutes", "20 minutes")


def _infant_fever(doc: Doc) -> bool:
    """NICE NG143 red: under 3 months with a temperature of 38 C or more (or a fever, unmeasured)."""
    temp = readings.temperature_c(doc.text)
    if not ((temp is not None and temp >= FEVER_C) or (temp is None and doc.has(_FEVER))):
        return False  # no fever: the age (the dearer reading) need not be read
    months = readings.infant_age_months(doc.text)
    return months is not None and months < INFANT_RED_MONTHS


def _infant_amber_fever(doc: Doc) -> bool:
    """NICE NG143 amber: 3 to 6 months with a temperature of 39 C or more."""
    temp = readings.temperature_c(doc.text)
    if temp is None or temp < INFANT_AMBER_FEVER_C:
        return False
    months = readings.infant_age_months(doc.text)
    return months is not None and INFANT_RED_MONTHS <= months < INFANT_AMBER_MONTHS


def _hypothermia(doc: Doc) -> bool:
    temp = readings.temperature_c(doc.text)
    return temp is not None and temp < HYPOTHERMIA_C


def _overdose_count(doc: Doc) -> bool:
    count = readings.tablets_taken(doc.text)
    return count is not None and count > MAX_DAILY_TABLETS


def _chemo_fever(doc: Doc) -> bool:
    temp = readings.temperature_c(doc.text)
    return (temp is not None and temp >= FEVER_C) or doc.has(_FEVER)


def _two_alarms(doc: Doc) -> bool:
    """Alarm signs of two systems, or one with a minor sign of another (t.ALARMS, t.ALARM_MINOR)."""
    major = {name for name, group in t.ALARMS if doc.has(group)}
    if not major:
        return False
    minor = {name for name, group in t.ALARM_MINOR if doc.has(group)}
    return len(major) >= 2 or bool(minor)


def _low_sugar(doc: Doc) -> bool:
    sugar = readings.blood_sugar_mmol(doc.text)
    return sugar is not None and sugar < HYPO_MMOL


_E, _U = Urgency.EMERGENCY, Urgency.URGENT
_ADVICE_CPR = "If the person stops breathing normally, start CPR; the call handler will guide you."
_STROKE_ACTIONS = ("Note the time the signs started.", "Do not give food or drink.")
_POISON_ACTIONS = ("In the US, Poison Help is 1-800-222-1222; in the UK, NHS 111.", "Do not make the person vomit.",
                   "Keep the container or packet to show the responders.")
RED_FLAGS: tuple[RedFlag, ...] = (
    RedFlag("chest_pain_red_flags", "chest pain or pressure with breathlessness, sweating, nausea or pain "
            "spreading to the arm, jaw, neck or back can be a heart attack", _E,
            (_CHEST, _CHEST_FEATURES), ("Stop and sit down; do not drive yourself.",
            "Unlock the door and keep your phone near you.", "If the person collapses and is not breathing "
            "normally, start CPR; the call handler will guide you."), supersedes=("chest_pain",),
            source="AHA warning signs of a heart attack; NHS: chest pain"),
    RedFlag("chest_pressure", "chest pressure, tightness, heaviness or crushing pain can be a heart attack",
            _E, (_CHEST_SEVERE,), ("Stop and sit down; do not drive yourself.",
            "Unlock the door and keep your phone near you."), supersedes=("chest_pain",),
            source="AHA warning signs of a heart attack"),
    RedFlag("heart_attack_now", "someone may be having a heart attack or stroke now", _E, (_HEART_ATTACK_NOW,),
            ("Stop and sit down; do not drive yourself.", "Unlock the door and keep your phone near you.",
             _ADVICE_CPR), supersedes=("named_emergency",),
            source="AHA: call 911 if you think you are having a heart attack; BE FAST stroke"),
    RedFlag("stroke", "face drooping, arm weakness or speech trouble are stroke signs (BE FAST: every minute "
            "counts), even if they pass", _E, (_STROKE,), _STROKE_ACTIONS,
            source="AHA / BE FAST stroke; NHS: stroke and TIA (call 999 even if symptoms pass)"),
    RedFlag("stroke_speech", "sudden speech trouble with other stroke signs (BE FAST: every minute counts)",
            _E, (_SPEECH, _STROKE_CONTEXT), _STROKE_ACTIONS, supersedes=("stroke",),
            source="AHA / BE FAST stroke"),
    RedFlag("severe_bleeding", "bleeding that is heavy or will not stop can become life-threatening within "
            "minutes", _E, (_BLEEDING,), ("Press firmly on the wound with a clean cloth and keep pressing.",
            "Do not remove anything stuck in the wound; press around it."),
            source="NHS: cuts and grazes, heavy bleeding (call 999)"),
    RedFlag("poisoning", "poisoning, an overdose or swallowed chemicals, medicines, batteries or magnets need "
            "help at once, even without symptoms yet", _E, (_POISON,), _POISON_ACTIONS,
            none_of=_FOOD_POISONING,
            source="NHS: poisoning, overdose, paracetamol overdose (A&E even if you feel well), "
                   "swallowed button batteries and magnets"),
    RedFlag("overdose_count", "more tablets at once than the most allowed in a day is an overdose, even if the "
            "person feels well", _E, (), _POISON_ACTIONS, supersedes=("poisoning",), check=_overdose_count,
            source="NHS: paracetamol overdose (A&E immediately even if you feel well)"),
    RedFlag("anaphylaxis", "swelling of the throat, tongue or lips, or breathing trouble after an allergen, "
            "can be anaphylaxis", _E, (_ANAPHYLAXIS,), ("Use an adrenaline auto-injector "
            "now if one has been prescribed.", "Lie down with legs raised, or sit up if breathing is hard."),
            source="Resuscitation Council UK: anaphylaxis"),
    RedFlag("breathing", "severe difficulty breathing (too breathless to speak, pauses, grunting, ribs sucking "
            "in), choking, or blue or grey lips", _E, (_BREATHING,),
            ("Sit upright; loosen tight clothing.", _ADVICE_CPR),
            source="NHS: shortness of breath, asthma attack (999); NICE NG143 red (grunting, chest "
                   "indrawing); Resuscitation Council UK: choking"),
    RedFlag("asthma_severe", "an asthma attack with the inhaler not helping or too breathless to talk", _E,
            (_ASTHMA, _CANNOT_SPEAK), ("Sit upright and use the reliever inhaler as the asthma plan says.",),
            source="NHS: asthma attack (999 if too breathless to speak or the inhaler does not help)"),
    RedFlag("unconscious_or_seizure", "collapse, unconsciousness, a fit, or being floppy, unresponsive or very "
            "hard to wake", _E, (_CONSCIOUS,), ("During a seizure, do not hold the person down or put anything "
            "in their mouth; time it.", "If breathing, turn the person on their side."),
            none_of=_NOT_MEDICAL_SEIZURE,
            source="NHS: when to call 999 (unconscious, first fit); NICE NG143 red (floppy, not responding, "
                   "does not wake, weak high-pitched cry)"),
    RedFlag("confusion", "sudden confusion or not making sense can be sepsis, a stroke, low blood sugar or "
            "another emergency", _E, (_CONFUSED, _CONFUSION_CONTEXT),
            ("Stay with the person; do not give food or drink unless they have diabetes and can swallow.",),
            none_of=_NOT_MEDICAL_CONFUSION,
            source="NHS: sudden confusion (delirium), sepsis (999)"),
    RedFlag("sepsis_skin", "mottled, blotchy, ashen, blue or grey skin can be sepsis", _E, (_SEPSIS_SKIN,),
            ("Do not wait for more signs.",), source="NICE NG51 sepsis high risk; NHS: sepsis (999)"),
    RedFlag("neutropenic_sepsis", "a fever during chemotherapy can be life-threatening sepsis", _E, (_CHEMO,),
            ("Call your cancer care 24-hour line or emergency services now.",), check=_chemo_fever,
            source="NICE NG151 neutropenic sepsis"),
    RedFlag("meningitis", "a stiff neck with fever, headache, vomiting or dislike of light (with or without a "
            "rash), or a rash that does not fade under a pressed glass, can be meningitis or sepsis", _E,
            (_STIFF_NECK, _MENINGITIS_WITH), ("Do not wait for a rash to appear.",), source="NHS: meningitis"),
    RedFlag("nonblanching_rash", "a rash that does not fade under a pressed glass can be meningitis or sepsis",
            _E, (_RASH_NONBLANCH,), ("Do not wait for other signs.",),
            source="NHS: meningitis; NICE NG143 red"),
    RedFlag("infant_fever", f"a baby under {INFANT_RED_MONTHS} months with a temperature of 38 C (100.4 F) or "
            "more needs to be seen at once", _E, (), ("Keep the baby lightly dressed; do not wait for other "
            "signs.",), check=_infant_fever, source="NICE NG143 traffic-light: red (age 0-3 months, 38 C or more)"),
    RedFlag("infant_amber_fever", f"a baby of {INFANT_RED_MONTHS} to {INFANT_AMBER_MONTHS} months with a "
            "temperature of 39 C (102.2 F) or more needs a clinician today", _U, (), check=_infant_amber_fever,
            emergency_if="the baby is floppy, hard to wake, breathing fast or with grunting, or has a rash that "
            "does not fade", source="NICE NG143 traffic-light: amber (3-6 months, 39 C or more)"),
    RedFlag("hypothermia", "a body temperature below 35 C, or cold with confusion, slurring or drowsiness, is "
            "hypothermia", _E, (), ("Move the person somewhere warm and wrap them in blankets; do not use a hot "
            "bath.",), check=_hypothermia, source="NHS: hypothermia (999)"),
    RedFlag("hypothermia_signs", "cold exposure with confusion, slurring or drowsiness is hypothermia", _E,
            (_COLD_EXPOSURE, _COLD_SIGNS), ("Move the person somewhere warm and wrap them in blankets.",),
            source="NHS: hypothermia (999)"),
    RedFlag("thunderclap_headache", "a sudden, severe headache ('the worst ever') can be bleeding in the brain",
            _E, (_HEADACHE_SEVERE,), ("Lie still and do not drive.",),
            source="NHS: headaches (999 for a sudden, extremely painful headache)"),
    RedFlag("head_injury", "a head injury with vomiting, confusion, drowsiness, memory loss, fluid from the nose "
            "or ears, vision trouble, passing out, or on blood thinners", _E, (_HEAD_INJURY, _HEAD_INJURY_SIGNS),
            ("Keep still; do not drive.",), source="NHS: head injury and concussion (A&E)"),
    RedFlag("blood_loss", "coughing or vomiting blood, or black tarry stools", _E, (_BLOOD_OUT,),
            source="NHS: coughing up blood, vomiting blood (999 / A&E)"),
    RedFlag("pregnancy", "bleeding, severe pain, a fit, or the baby moving less or not at all in pregnancy", _E,
            (_PREGNANT, _PREGNANT_SIGNS), ("Lie on your left side while you wait.",
            "For fewer movements: call your maternity unit now; do not wait until the next day."),
            source="NHS: vaginal bleeding in pregnancy, eclampsia (999); NHS: baby movements in pregnancy "
                   "(contact the maternity unit immediately)"),
    RedFlag("fetal_movements", "a baby moving less than usual, or not at all, in pregnancy", _E, (_MOVEMENTS,),
            ("Call your maternity unit now; do not wait until the next day.",),
            source="NHS: baby movements in pregnancy (contact the maternity unit immediately)"),
    RedFlag("severe_burn", "a large, deep, chemical or electrical burn, one on the face, or smoke breathed in",
            _E, (_BURN,), ("Cool the burn under cool running water for 20 minutes; cover loosely with cling "
            "film.",), source="NHS: burns and scalds (A&E)"),
    RedFlag("electric_shock", "an electric shock can damage the heart and deep tissues", _E, (_ELECTRIC,),
            ("Do not touch the person until the power is off.",),
            source="NHS: burns and scalds (electrical injuries: A&E)"),
    RedFlag("frostbite", "frostbite needs hospital care", _E, (_FROSTBITE,), ("Do not rub the area; warm it "
            "gently.",), source="NHS: frostbite (A&E)"),
    RedFlag("hypoglycaemia", "low blood sugar with confusion, drowsiness or a fit, or that does not come up "
            "after treatment", _E, (_HYPO, _HYPO_SEVERE), ("If the person can swallow safely, give a sugary "
            "drink; never give food or drink to someone drowsy or unconscious.",),
            source="NHS: low blood sugar (hypoglycaemia): call 999"),
    RedFlag("low_sugar_reading", "a blood sugar below 4 mmol/L is a hypo and needs treating now", _U, (),
            ("Have a sugary drink or snack now, then recheck after 15 minutes.",), check=_low_sugar,
            emergency_if="it does not come up after treatment, or there is confusion, drowsiness or a fit",
            source="NHS: low blood sugar (hypoglycaemia)"),
    RedFlag("heatstroke", "heatstroke (hot skin, no sweating, confusion) is an emergency", _E, (_HOT, _HEATSTROKE),
            ("Move to a cool place, cool the skin with water and fan it.",),
            source="NHS: heat exhaustion and heatstroke (999)"),
    RedFlag("serious_fracture", "a limb that looks bent or deformed, a bone showing, or someone who cannot get "
            "up after a fall", _E, (_FALL, _FRACTURE_SEVERE), ("Keep the limb still; do not try to straighten "
            "it.",), source="NHS: broken arm or leg, hip fracture (999 / A&E)"),
    RedFlag("spinal_injury", "neck or back pain after a fall or crash with tingling, numbness or weakness, or "
            "after a high-speed crash", _E, (_FALL, _SPINE, _SPINE_SIGNS), ("Do not move the person unless they "
            "are in danger.",), source="NHS: neck and spinal injury (999)"),
    RedFlag("eye_injury", "a chemical in the eye or an object hitting it at speed", _E, (_EYE, _EYE_HAZARD),
            ("Rinse a chemical out with clean running water for 20 minutes.",),
            source="NHS: eye injuries (A&E)"),
    RedFlag("urinary_retention", "being unable to pass urine at all needs hospital care", _E,
            (_URINE_RETENTION,), source="NHS: urinary retention (A&E)"),
    RedFlag("testicular_torsion", "sudden or severe testicle pain can be torsion: hours count", _E,
            (_TESTIS, _SUDDEN_SEVERE), source="NHS: testicular torsion (A&E / 999)"),
    RedFlag("clot_lung", "a swollen or painful leg with breathlessness or chest pain can be a clot in the lung",
            _E, (_LEG_CLOT, _CLOT_SIGNS), source="NHS: DVT (999 if breathless or chest pain); pulmonary embolism"),
    RedFlag("danger_to_others", "hearing voices telling them to hurt someone, or threatening others with a "
            "weapon", _E, (_VOICES_HARM,), ("Keep yourself and others safe; do not try to take a weapon.",),
            source="NHS: mental health emergency (999)"),
    RedFlag("green_vomit", "green vomit (bile) can be a blocked bowel", _E, (_GREEN_VOMIT,),
            source="NHS: vomiting in babies and children (999 for green vomit)"),
    RedFlag("bulging_fontanelle", "a bulging soft spot on a baby's head", _E, (_FONTANELLE, _BULGING),
            source="NICE NG143 traffic-light: red (bulging fontanelle)"),
    RedFlag("serious_bite", "a deep bite to the face, or any snake bite", _E, (_BITE_SEVERE, _DEEP),
            ("Wash the wound under running water and cover it.",),
            source="NHS: animal and human bites (A&E), snake bites (999)"),
    RedFlag("swallowing", "drooling or being unable to swallow with a sore throat or swelling", _E,
            (_SWALLOW_SEVERE,), source="NHS: sore throat, dental abscess (999 / A&E if unable to swallow)"),
    RedFlag("heavy_period_faint", "heavy bleeding (soaking a pad an hour) with feeling faint", _E,
            (_BLEEDING, _HEAVY_PERIOD_FAINT), supersedes=("severe_bleeding",),
            source="NHS: heavy periods; heavy bleeding (999)"),
    RedFlag("long_nosebleed", "a nosebleed that will not stop after 10 to 15 minutes of pressure", _E,
            (_NOSEBLEED, _NOSEBLEED_LONG), ("Sit up, lean forward and pinch the soft part of the nose.",),
            source="NHS: nosebleeds (A&E if longer than 10 to 15 minutes)"),
    RedFlag("nhs_999", "a sign on the NHS list of when to call 999 or go to A&E", _E, (_NHS_999,),
            ("Stay with the person until help arrives.",), source="NHS: when to call 999; when to go to A&E"),
    RedFlag("chest_pain", "chest pain can be an emergency and needs a medical check today", _U, (_CHEST,),
            emergency_if="it is sudden, crushing, tight or heavy, spreads to your arm, jaw, neck or back, or "
            "comes with breathlessness, sweating, nausea or fainting", source="NHS: chest pain"),
    RedFlag("named_emergency", "a heart attack or stroke is an emergency", _U,
            (phrases("heart attack", "cardiac arrest", "=stroke", "angina"),),
            emergency_if="someone has signs of one now: chest pain or pressure, a drooping face, arm "
            "weakness or speech trouble", source="AHA warning signs of heart attack and stroke"),
)
"""Emergency-level rules, and warnings that say when to call emergency services."""

COMBINED: tuple[RedFlag, ...] = (
    RedFlag("breathing_hard", "breathing that is hard work, with ribs pulling in, or blue or grey lips, skin or "
            "fingers", _E, (t.BREATH_TROUBLE,), ("Sit upright; loosen tight clothing.", _ADVICE_CPR),
            source="NHS: when to call 999 (severe difficulty breathing, blue lips); NICE NG143 red (chest "
                   "indrawing)"),
    RedFlag("breathless_severe", "breathlessness too bad to talk, lie down or sleep, or getting worse fast", _E,
            (t.BREATHLESS, t.BREATHLESS_SEVERE), ("Sit upright; use a reliever inhaler if prescribed.",),
            source="NHS: shortness of breath, asthma attack (999)"),
    RedFlag("fits_or_not_waking", "repeated fits, or someone who will not wake or come round", _E, (t.FITS,),
            ("If breathing, turn the person on their side.",), none_of=_NOT_MEDICAL_SEIZURE,
            source="NHS: when to call 999 (fits, unconscious)"),
    RedFlag("unresponsive", "someone who collapsed or is not responding", _E, (t.UNRESPONSIVE, t.PERSON_OR_BODY),
            ("If breathing, turn the person on their side.", _ADVICE_CPR), none_of=t.NOT_MEDICAL_RESPONSE,
            source="NHS: when to call 999 (collapse, unconscious); NICE NG143 red (not responding)"),
    RedFlag("stroke_words", "slurred or strange speech, or one side numb, weak or drooping, are stroke signs", _E,
            (t.STROKE_MORE,), _STROKE_ACTIONS, none_of=_NOT_MEDICAL_CONFUSION,
            source="AHA / BE FAST stroke; NHS: stroke"),
    RedFlag("sudden_neuro", "sudden numbness, weakness, loss of balance or vision, or speech trouble can be a "
            "stroke", _E, (t.SUDDEN, t.NEURO), _STROKE_ACTIONS, none_of=_NOT_MEDICAL_CONFUSION,
            source="AHA / BE FAST stroke (sudden balance, eyes, face, arm, speech)"),
    RedFlag("sudden_severe_pain", "sudden, severe pain anywhere needs emergency care", _E,
            (t.SUDDEN, t.SEVERE, t.PAIN), ("Do not eat or drink until you have been seen.",),
            source="NHS: when to call 999 (sudden, severe pain); headaches (sudden, extremely painful)"),
    RedFlag("worst_ever_pain", "the worst headache or pain ever can be bleeding in the brain or another emergency",
            _E, (t.WORST_EVER, t.PAIN), ("Lie still and do not drive.",),
            source="NHS: headaches (999 for a sudden, extremely painful headache)"),
    RedFlag("anaphylaxis_signs", "breathing, throat, swallowing or fainting problems after an allergen can be "
            "anaphylaxis", _E, (t.ALLERGEN, t.ALLERGY_SYSTEMIC), ("Use an adrenaline auto-injector now if one "
            "has been prescribed.", "Lie down with legs raised, or sit up if breathing is hard."),
            source="Resuscitation Council UK: anaphylaxis (airway, breathing or circulation problems)"),
    RedFlag("sepsis_signs", "an infection or fever with confusion, fast breathing, mottled skin or no urine can "
            "be sepsis", _E, (t.INFECTION, t.SEPSIS_SIGN), ("Do not wait for more signs.",),
            none_of=_NOT_MEDICAL_CONFUSION, source="NICE NG51 sepsis high-risk criteria; NHS: sepsis (999)"),
    RedFlag("skin_colour", "blotchy, mottled, ashen or blue skin with an illness can be sepsis", _E,
            (t.SKIN_SEPSIS, t.INFECTION), ("Do not wait for more signs.",),
            source="NICE NG51 high risk; NICE NG143 red (pale, mottled, ashen, blue)"),
    RedFlag("overdose_amount", "more medicine than a dose, on purpose or by accident, is an overdose even if the "
            "person feels well", _E, (t.INGEST, t.MEDICINE, t.AMOUNT), _POISON_ACTIONS,
            source="NHS: overdose; paracetamol overdose (A&E even if you feel well)"),
    RedFlag("medicine_alcohol", "pills taken with alcohol can be an overdose", _E,
            (t.INGEST, t.MEDICINE, t.WITH_ALCOHOL), _POISON_ACTIONS, source="NHS: overdose"),
    RedFlag("paracetamol_extra", "more paracetamol than the dose, even spread over days, needs A&E", _E,
            (t.PARACETAMOL_EXTRA,), _POISON_ACTIONS,
            source="NHS: paracetamol overdose (staggered overdose: A&E even if you feel well)"),
    RedFlag("child_swallowed", "a child who swallowed a medicine or a chemical needs help at once", _E,
            (t.CHILD, t.INGEST, t.MEDICINE + t.CHEMICAL), _POISON_ACTIONS, none_of=_FOOD_POISONING,
            source="NHS: poisoning (children: A&E or 999), swallowed button batteries and magnets"),
    RedFlag("burn_serious", "a large burn, one on the face, body or genitals, a white or charred burn, or any "
            "chemical or electrical burn", _E, (t.BURN, t.BURN_EXTENT + t.ELECTRIC_OR_CHEMICAL),
            ("Cool the burn under cool running water for 20 minutes; cover loosely with cling film.",),
            none_of=t.BURNING_PEE, source="NHS: burns and scalds (A&E)"),
    RedFlag("chemical_burn", "a chemical on the skin that burns, stings or turns it white or blistered", _E,
            (t.CHEMICAL_SPLASH, t.SKIN_HARM), ("Rinse with cool running water for 20 minutes; take off "
            "soaked clothing.",), source="NHS: burns and scalds (chemical burns: A&E)"),
    RedFlag("head_injury_signs", "a head injury with vomiting, confusion, drowsiness, memory loss or fluid from "
            "the nose or ears", _E, (t.HEAD, t.MECHANISM, _HEAD_INJURY_SIGNS), ("Keep still; do not drive.",),
            source="NHS: head injury and concussion (A&E)"),
    RedFlag("knocked_out", "being knocked out by a blow needs A&E", _E, (t.KNOCKED_OUT,),
            ("Keep still; do not drive.",), source="NHS: head injury and concussion (A&E)"),
    RedFlag("clot_signs", "a swollen or painful leg with breathlessness or chest pain can be a clot in the lung",
            _E, (_LEG_CLOT, t.CLOT_MORE), source="NHS: DVT (999 if breathless or chest pain)"),
    RedFlag("pregnancy_severe", "severe pain or headache, vision changes, bleeding, a fit or a change in the "
            "baby's movements in pregnancy", _E, (t.PREGNANT, t.PREGNANCY_SEVERE),
            ("For fewer movements: call your maternity unit now; do not wait until the next day.",),
            source="NHS: pre-eclampsia, ectopic pregnancy, bleeding in pregnancy (999); baby movements"),
    RedFlag("movements_changed", "a change in the baby's movements in pregnancy", _E, (t.MOVEMENTS_MORE,),
            ("Call your maternity unit now; do not wait until the next day.",),
            source="NHS: baby movements in pregnancy (contact the maternity unit immediately)"),
    RedFlag("paralysis_after_injury", "numbness or being unable to move the limbs after an injury can be a "
            "spinal injury", _E, (_FALL, t.PARALYSIS), ("Do not move the person unless they are in danger.",),
            source="NHS: neck and spinal injury (999)"),
    RedFlag("alarm_signs", "alarm signs in two body systems at once (for example chest pain with fainting, "
            "bleeding with dizziness, swelling lips with a cough)", _E, (), (_ADVICE_CPR,), check=_two_alarms,
            none_of=_NOT_MEDICAL_CONFUSION + t.NOT_MEDICAL_RESPONSE,
            source="NHS: when to call 999 (several serious signs together)"),
    RedFlag("rash_glass", "a rash checked with a glass (the glass test) that does not fade can be meningitis or "
            "sepsis", _E, (t.RASH, t.GLASS), ("Do not wait for other signs.",), source="NHS: meningitis (glass test)"),
    RedFlag("scald_child", "a hot drink or water spilt over a child", _E, (t.CHILD, t.HOT_DRINK, t.SPILT),
            ("Cool the burn under cool running water for 20 minutes; cover loosely with cling film.",),
            source="NHS: burns and scalds (A&E for children's scalds beyond a small area)"),
    RedFlag("head_injury_more", "a head injury with vomiting, double vision, a bad headache or slurring", _E,
            (t.HEAD, t.MECHANISM, t.HEAD_SIGNS_MORE), ("Keep still; do not drive.",),
            source="NHS: head injury and concussion (A&E)"),
    RedFlag("testicle_sudden", "sudden or severe testicle pain can be torsion: hours count", _E,
            (t.TESTIS_MORE, t.SUDDEN + t.SEVERE + phrases("loads +of +pain")),
            source="NHS: testicular torsion (A&E / 999)"),
    RedFlag("cold_exposure", "cold exposure with mumbling, confusion, drowsiness or shivering that will not stop",
            _E, (t.COLD_WATER, t.COLD_SIGNS_MORE), ("Move the person somewhere warm and wrap them in blankets.",),
            source="NHS: hypothermia (999)"),
    RedFlag("waters_green", "waters that are green, brown, smelly or bloody", _E, (t.WATERS, t.WATERS_SIGN),
            ("Call your maternity unit now.",), source="NHS: signs of labour (waters breaking: call the maternity "
                                                        "unit now if green, brown or smelly)"),
    RedFlag("snake_bite", "a snake bite needs emergency care", _E, (t.SNAKE, t.BITTEN),
            ("Keep still and keep the bitten limb still.",), source="NHS: snake bites (999)"),
)
"""Rules that combine a sign with a qualifier (severity, onset, cause, who), for wordings no list holds."""


def red_flags(doc: Doc) -> list[RedFlag]:
    """The red-flag rules a text meets, most specific first, superseded ones dropped."""
    present = doc.present
    hits = [f for f, masks in _RULES.candidates(present) if all(m & present for m in masks) and _holds(f, doc)]
    if not any(f.level is Urgency.EMERGENCY for f in hits):  # the combined rules add nothing to an emergency
        hits += [f for f, masks in _COMBINED_RULES.candidates(present)
                 if all(m & present for m in masks) and _holds(f, doc)]
    if not any(f.level is Urgency.EMERGENCY for f in hits):  # fail safe: alarm signs no specific rule placed
        hits += [f for f, masks in _FAILSAFE_RULES.candidates(present)
                 if all(m & present for m in masks) and _holds(f, doc)][:1]
    dropped = {key for f in hits for key in f.supersedes}
    if any(f.level is Urgency.EMERGENCY for f in hits):  # an emergency replaces the warnings it makes moot
        dropped |= {f.key for f in hits if f.level is not Urgency.EMERGENCY and f.emergency_if}
    return [f for f in hits if f.key not in dropped]


def _holds(flag: RedFlag, doc: Doc) -> bool:
    return (all(doc.has(group) for group in flag.all_of) and not (flag.none_of and doc.has(flag.none_of))
            and (flag.check is None or flag.check(doc)))



class _RuleIndex:
    """Rules with the first-word bits of each of their groups, found from the bits a text holds.

    A text lacking every first word of one of a rule's groups cannot meet the rule, so most rules
    are ruled out by integer ANDs before any phrase is matched; and rather than testing each of
    the ~100 rules, the index looks up the rules whose first group shares a bit with the text
    (a request holds a handful of the words the rules know, often none).
    """

    def __init__(self, flags: Sequence[RedFlag]) -> None:
        self.rules = [(flag, tuple(first_words_mask(group) for group in flag.all_of)) for flag in flags]
        self._always = frozenset(i for i, (_, masks) in enumerate(self.rules) if not masks)
        self._by_bit: dict[int, list[int]] = {}
        for i, (_, masks) in enumerate(self.rules):
            for bit in _bits(masks[0] if masks else 0):
                self._by_bit.setdefault(bit, []).append(i)
        self._keys = sum(self._by_bit)
        """Every first-word bit of the rules: a text's other bits need no look-up."""

    def candidates(self, present: int) -> list[tuple[RedFlag, tuple[int, ...]]]:
        """The rules whose first group may be in a text with these bits, in the rules' order."""
        found = set(self._always)
        for bit in _bits(present & self._keys):
            found.update(self._by_bit.get(bit, ()))
        return [self.rules[i] for i in sorted(found)]


def _bits(mask: int) -> Iterator[int]:
    """The single bits set in `mask`, lowest first."""
    while mask:
        low = mask & -mask
        yield low
        mask ^= low


_RULES = _RuleIndex(RED_FLAGS)
"""The rules of RED_FLAGS, indexed."""

_COMBINED_RULES = _RuleIndex((*COMBINED, *FAMILY_FLAGS, THROAT_FLAG, CROUP_FLAG, JOINT_FLAG))
"""COMBINED and the word-family rules (red_flag_families.py), indexed the same way."""

_FAILSAFE_RULES = _RuleIndex((*FAILSAFE_FLAGS, *SYSTEM_FLAGS))
"""The fail-safe rules (red_flag_failsafe.py, red_flag_systems.py): consulted only when no rule above found an
emergency."""
