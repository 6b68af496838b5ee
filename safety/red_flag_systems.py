"""Body-system fail-safe: a body system's words with an acuity word in one clause, in any order.

Part of safety (safety.red_flags consults SYSTEM_FLAGS with the fail-safe flags, only when no
specific rule found an emergency). The specific rules and the fail-safe qualifiers are phrases,
so word order matters to them: "blood pumping out" is found, "pumping out blood" is not. Here each
NHS "When to call 999 / go to A&E" item is a family of subject words (a body system, a body part)
and a family of acuity words, found together in one clause in any order (Doc.together).

Two rules count features instead of naming them (NICE NG51, sepsis risk stratification):
- a person in a sepsis risk group (NICE NG51 1.1.3: under 1 or over 75, pregnant or given birth
  within 6 weeks, recent surgery, chemotherapy or weak immunity, diabetes) with signs of
  infection and one more concerning feature;
- concerning features of two body systems or more at once (NG51: two or more moderate-to-high
  risk criteria call for emergency assessment).
Fail safe: both err towards an emergency, accepting over-triage.
"""
from __future__ import annotations

from collections.abc import Callable

from safety import readings
from safety import red_flag_terms as t
from safety.flag_types import RedFlag, Urgency
from safety.patterns import Doc, Phrase, phrases
from safety.red_flag_families import CO_SIGN
from safety.red_flag_terms import BODY_CONTEXT, NOT_MEDICAL_SENSE

_E = Urgency.EMERGENCY

NOT_MEDICAL_EXACT = phrases(
    "=server|=app|=website|=api|=system|=page|=site|=service|=endpoint|=database|=worker|=pool|=queue|=agent|"
    "=task|=email*|=browser|=computer|=laptop|=printer|=market|=stock|=stocks|=price|=prices|=deal|=project|"
    "=company|=economy|=menu|=sidebar|=bot|=model|=provider|=redis|=postgres|=celery|=deploy*|=build|"
    "=pipeline|=cluster|=node|=container|=portfolio|=shares|=bet|=odds|=team|=match|=game")
"""Things said of systems, markets, games or work, matched without misspelling tolerance ("socket" is no
"stock"); they cancel a system rule only in a text with no person or body part (BODY_CONTEXT)."""

def _about_a_body(doc: Doc) -> bool:
    """Not a request about systems or markets, unless a person or a body part is named too."""
    if doc.has(NOT_MEDICAL_SENSE) and not doc.has(BODY_CONTEXT):  # "the worst part is she's not breathing"
        return False
    return not doc.has(NOT_MEDICAL_EXACT) or doc.has(BODY_CONTEXT)


def _together(*groups: tuple[Phrase, ...]) -> Callable[[Doc], bool]:
    """A check: one word of every group in one clause, in a text about a body."""
    def check(doc: Doc) -> bool:
        return doc.together(groups) and _about_a_body(doc)
    return check


# --- body systems x acuity (NHS: When to call 999; NHS 111: Go to A&E) -------------------------

BLOOD = phrases("bleed*", "bleeding", "bleding", "bleedin", "blood", "nosebleed*", "haemorrhag*|hemorrhag*")
BLOOD_ACUTE = phrases("pumping", "pumps", "spurt*", "squirt*", "spray*", "pouring", "pours", "gush*", "puddle",
                      "=pool", "everywhere", "soak*", "drench*", "not stop*", "will not stop", "cannot stop",
                      "keeps coming", "still going|coming|pouring|bleeding", "20|30|40|45 minutes|mins",
                      "faint*", "dizz*", "lightheaded", "light headed", "collaps*", "passed out", "pass out")
"""NHS 999: heavy bleeding (spraying, pouring, enough to make a puddle); NHS A&E: bleeding that will not stop
(nosebleeds over 10 to 15 minutes); bleeding with faintness (blood loss)."""

AIR = phrases("breath*", "breathe", "breathing", "breth*", "breathin", "enough|any|get air", "oxygen")
AIR_ACUTE = phrases("cannot get|catch|take|breath*|breathe|talk|speak", "unable", "struggl*", "gasp*", "fighting",
                    "chok*", "drown*", "suffocat*", "grunt*", "=blue", "bluish", "grey|gray", "stopped|stops|stopping",
                    "pause*|pausing", "few words", "word +at +a +time", "sentence*", "laboured|labored",
                    "rattl*", "very|really|super|so fast|hard|shallow", "barely|hardly")
"""NHS 999: severe difficulty breathing (cannot get words out, choking, gasping), stopped breathing, blue lips;
NICE NG143 red: grunting."""

COLOUR_PART = phrases("skin", "lips", "lip", "tongue", "face", "fingers", "fingertips", "toes", "hands", "feet",
                      "legs", "knees", "arms", "nails", "mouth", "gums", "body", "tummy", "chest")
COLOUR_BAD = phrases("=blue", "bluish|blueish", "grey|gray|greyish", "ashen", "=mottl*", "blotchy", "blotches",
                     "marbled", "waxy")
"""NHS 999 (children and adults): blue, grey, pale or blotchy skin, lips or tongue; NICE NG51 high risk:
mottled or ashen skin, cyanosis."""

SEIZURE_MOVE = phrases("jerk*", "twitch*", "spasm*", "convuls*", "shaking|shook uncontroll*|violent*")
SEIZURE_WITH = phrases("stiff*", "rigid", "all over", "whole body", "arms +and +legs", "eyes roll*|rolled",
                       "froth*", "foam*", "=fit", "seizure*", "not respond*", "unrespons*", "blank", "minutes",
                       "mins", "floor", "bit +his|+her|+my tongue", "wet +himself|+herself")
"""NHS 999: a seizure (fit): shaking or jerking, stiffening, not responding; a first fit or one over 5 minutes."""

SIGHT = phrases("sight", "vision", "eye", "eyes", "blind*")
SIGHT_LOST = phrases("lost|lose|losing|gone|went|going dark|black|blank", "=lost", "=loss", "losing", "curtain",
                     "shadow", "cannot see",
                     "sudden*", "out +of +nowhere", "completely", "=halo*", "rainbow*")
"""NHS 999 / A&E: sudden loss of sight or a sudden change in vision; NHS: acute glaucoma, retinal detachment
(a curtain or shadow)."""

BONE = phrases("bone", "bones")
BONE_OUT = phrases("sticking|poking|stuck|coming out", "through +the|+his|+her|+my skin", "showing", "visible",
                   "can see")
"""NHS broken bones: 999 when a bone is sticking out through the skin."""

HOT_THING = phrases("hot oil|fat|water|tea|coffee|soup|milk|liquid|drink|pan", "boiling", "kettle",
                    "acid", "caustic", "bleach", "oven cleaner", "drain cleaner", "chemical*", "live wire",
                    "electric*", "mains", "socket", "lightning")
HOT_HARM = phrases("face", "eye*", "chest", "neck", "genital*", "groin", "down +her|+his|+my|+the front",
                   "all over", "=skin", "white", "charred", "peel*", "heart", "thrown|threw", "shock*",
                   "baby", "toddler")
"""NHS burns and scalds: A&E for chemical and electrical burns, and burns to the face, chest or genitals, or
on a child; NHS electric shock (999)."""

PILLS = tuple(p for p in t.MEDICINE if p.source not in ("inhaler*", "drugs")) + phrases(
    "ibuprufen|ibuprophen|paracetemol|paracetamols|parcetamol|tabs|pils")
PILLS_AMOUNT = phrases("whole|entire|full|hole pack*|box*|bottle*|strip*|tub*|packet*|tube", "handful*",
                       "too|to many|much", "=all +her|+his|+my|+their|+of", "rest +of +the", "dozen*",
                       "load*", "bunch", "more +than +it +says|+the +label|+allowed",
                       "on purpose", "deliberately", "=od", "overdo*", "overdose*")
"""NHS: overdose, paracetamol overdose (A&E even if you feel well; a staggered overdose too)."""

INFECTION_SIGN = phrases("fever*", "feverish", "temperature", "temprature", "=temp", "high temp*", "burning up",
                         "shiver*", "rigors", "chills", "shaking", "infect*", "=uti", "sepsis", "flu",
                         "hot +to +touch", "=38*", "=39*", "=40*", "smelly discharge", "pus")
"""Signs of infection (NICE NG51: suspect sepsis when someone with a possible infection is unwell)."""

RISK_GROUP = phrases("newborn", "new born", "pregnan*", "pregnent", "gave birth",
                     "giving birth", "had +my|+her|+the|+our baby", "after +the +birth", "c section", "caesarean",
                     "miscarr*", "termination", "operation", "surgery", "=op", "had +my|+his|+her appendix|gallbladder|"
                     "knee|hip|womb|bowel", "chemo*", "cancer", "leukaemia|leukemia", "immun*", "steroids",
                     "transplant", "diabet*", "type 1", "insulin", "elderly", "care home", "sickle", "dialysis",
                     "injects|injecting", "catheter",
    # NG51 1.1.3: any breach of skin integrity (cuts, burns, blisters, skin infections)
    "=cut", "wound*", "=burn|=burns|=burnt|=burned", "blister*", "=bite|=bitten", "graze*", "cellulitis")
"""NICE NG51 1.1.3: people at higher risk of sepsis."""

VERY_UNWELL = phrases("really|very|so|extremely ill|unwell", "feel* awful|terrible|dreadful", "rigors",
                      "shak*|shiver* uncontroll*|violent*", "uncontroll* shak*|shiver*")
"""Feeling very unwell or rigors: with an infection in someone at higher risk, enough to think of sepsis
(NICE NG51 1.1.3 and 1.1.1; NHS: sepsis)."""

MENTAL = phrases("confus*", "confussed", "muddled", "disorientat*", "delirious", "drows*", "=sleepy", "sleepier",
                 "lethargic", "listless", "floppy", "=limp", "hard|difficult|cannot wake|rouse", "barely conscious",
                 "not making sense", "talking nonsense|rubbish|gibberish",
                 "acting|behaving strange|weird|drunk|odd|oddly|strangely|weirdly",
                 "out +of +character",
                 "agitated", "out +of +it", "not know* +who|+where", "seeing|hearing things", "not responding",
                 "unresponsive", "dazed", "slow +to answer|respond", "mumbl*",
                 # NICE NG143 amber / NG51: not responding normally, in everyday words
                 "hallucinat*", "zoned|spaced|passed out", "glazed", "vacant", "staring", "not with +it",
                 "away +with +the +fairies", "not|cannot|does not recogni* +me|+us|+anyone|+her|+his", "unrous*",
                 "=not herself|himself|themselves", "not +her|+his|+their usual self", "very|really|unusually quiet",
                 "all +over +the +place", "funny turn*",
                 # NICE NG143 amber and red: not responding normally to social cues, no smile, does not stay awake
                 "less|barely responsive|alert|reactive|interactive", "not as responsive|alert|active", "not smiling",
                 "no smile*", "will not smile", "not interested +in", "not stay* awake", "nodding|drifting off",
                 "cannot stay|keep awake", "=quiet +and|+today|+all")
BREATHING = phrases("breathless*", "short* breath", "out +of +breath", "breath* fast|quick*|hard|rapid*|shallow|"
                    "noisy|deep|heavy|laboured|labored",
                    "fast|rapid|hard|shallow|noisy|deep|heavy|laboured|labored breath*", "wheez*",
                    "gasp*", "grunt*", "struggl* breath*", "cannot breath*", "difficult* breath*",
                    # NHS: chest pain when breathing, coughing up blood (pulmonary embolism, pneumothorax: 999)
                    "pain*|hurts|hurt* +when|+to +i|+you breath*", "breath* +in hurts|pain*",
                    "cough*|bring*|brought +up blood|pink|red|rusty|bloody")
CIRCULATION = phrases("pale", "grey|gray", "ashen", "turned|gone|going|went|looks|look* blue",
                      "blue lips|skin|face|tongue|fingers", "bluish", "=mottl*", "blotchy", "clammy",
                      "cold hands|feet|skin|touch", "hands|feet|skin cold|icy|freezing", "ice|icy|freezing cold",
                      "heart racing|pounding", "racing heart", "heart +going|+is|+beating crazy|mad|wild|nuts",
                      "faint*", "lightheaded", "light headed",
                      "passed|passing|pass out", "blacked out", "collaps*", "cold sweat",
                      # NICE NG51 / NG143: pale or ashen, in everyday words
                      "white +as +a", "deathly|ghostly|ghastly|deadly pale|white", "pasty", "sweating buckets",
                      "pouring +with +sweat", "drenched +in +sweat")
# a multi-word alternative is a phrase of its own ("a|b c" is the slot "a|b" then the slot "c")
OUTPUT = phrases("vomit* repeated*|constant*|everything", "vomit* non +stop", "vomit* all day|night",
                 "cannot|not stop* vomit*|throw*", "cannot|not stop* being sick",
                 "cannot keep anything|fluids|water|drinks|food down",
                 "not weeing|peeing|urinating|weed|peed|urinated", "not passed urine|water|wee",
                 "not had +a wee|pee", "no wee|pee|urine|wet", "dry nappy|nappies", "not drinking|feeding",
                 "refus* drink*|feed*|bottle*", "cannot pee|wee|poo",
                 # NICE NG143 red: reduced skin turgor; amber: poor feeding, reduced fluid intake
                 "not had +a|+any|+anything drink*|fluid*", "not had +anything +to +drink",
                 "no drink*|fluids +all|+since",
                 "pinch* skin", "skin stays up|tented", "not kept anything down",
                 "hardly|barely wet|wees|nappies", "hardly|barely +any wet|wees|nappies",
                 "hardly|barely weeing|peeing|drinking|feeding",
                 # NICE NG143 / CG84 red flags of dehydration in children: no wet nappy, sunken eyes or fontanelle
                 "not had +a|+any wet nappy|nappies", "no wet nappy|nappies", "sunken eyes|fontanelle|soft spot",
                 "eyes|fontanelle|soft spot +look|+looks|+are|+is|+gone sunken")
PAIN_SEVERE = phrases("=sever*", "=sevear*|=sevre*|=severly", "agony", "agonis*|agoniz*", "excruciat*", "=worst",
                      "unbearable", "extreme*",
                      "terrible|awful|horrendous pain*", "crippling", "screaming", "out +of +proportion",
                      "far worse +than", "far more +than")
NEURO = phrases("numb*", "weak* arm|leg|legs|side|hand|face", "arm|leg|legs|side|hand|face weak*",
                "cannot move|feel|walk|stand|see|swallow|speak|talk|lift", "vision blurr*|double|lost|dark|gone",
                "double vision", "seeing double", "slurr*", "=fit", "fitting", "seizure*", "paralys*",
                # NHS 999: loss of balance or coordination (stroke, toxicity), eye swollen shut (orbital cellulitis)
                "unsteady", "off balance", "cannot walk straight", "wobbly +on", "staggering", "swollen shut",
                "hurts +to +move +his|+her|+my eye")
SYSTEMS: tuple[tuple[str, tuple[Phrase, ...]], ...] = (
    ("mental state", MENTAL), ("breathing", BREATHING), ("circulation or colour", CIRCULATION),
    ("fluids or urine", OUTPUT), ("severe pain", PAIN_SEVERE), ("nerves", NEURO))
"""Concerning features by body system (NICE NG51 moderate-to-high and high risk criteria; NICE NG143 amber
and red; NHS: sepsis)."""

OLDER_YEARS = 75
"""NICE NG51 1.1.3: over 75 is a sepsis risk factor."""

YOUNG_INFANT_MONTHS = 3
"""NICE NG143 red: a fever under 3 months (babies older than that follow the traffic-light table)."""

SEVERAL_SYSTEMS = 2
"""Concerning features of this many body systems together are treated as an emergency (NICE NG51: two or more
moderate-to-high risk criteria)."""


def systems_affected(doc: Doc) -> list[str]:
    """The body systems (SYSTEMS) whose concerning features the text holds."""
    return [name for name, group in SYSTEMS if doc.has(group)]


def _sepsis_risk(doc: Doc) -> bool:
    """NICE NG51: a person at higher risk, signs of infection, and one more concerning feature."""
    if not doc.has(INFECTION_SIGN):
        return False
    at_risk = doc.has(RISK_GROUP) or _older_or_infant(doc)
    return at_risk and (bool(systems_affected(doc)) or doc.has(VERY_UNWELL)) and _about_a_body(doc)


def _older_or_infant(doc: Doc) -> bool:
    """Over 75 (NICE NG51 1.1.3) or under 3 months (NICE NG143 red: any fever), from an age in the text."""
    months = readings.age_months(doc.text)
    return months is not None and (months < YOUNG_INFANT_MONTHS or months >= OLDER_YEARS * 12)


def _several_systems(doc: Doc) -> bool:
    """Concerning features of two body systems or more (NICE NG51: several criteria together)."""
    return len(systems_affected(doc)) >= SEVERAL_SYSTEMS and _about_a_body(doc)


LOW_SPO2 = 92
"""NICE NG51 high risk (adults): oxygen saturation below 92% (NICE NG143 red-amber in children: 95% or less)."""

LOW_SYSTOLIC = 90
"""NICE NG51 high risk: systolic blood pressure of 90 mmHg or less."""

HIGH_HEART_RATE = 130
"""NICE NG51 high risk (adults and children over 12): a heart rate above 130 a minute."""

INFANT_HEART_RATE = 160
"""NICE NG143 amber / NG51 (under 1): a heart rate above 160 a minute."""

HIGH_BREATHING_RATE = 25
"""NICE NG51 high risk (adults and children over 12): 25 breaths a minute or more."""

CHILD_BREATHING_RATE = 60
"""NICE NG143 red: more than 60 breaths a minute at any age under 5."""

HIGH_SYSTOLIC = 180
"""NICE NG136 / NHS high blood pressure: 180 or more with headache, chest pain, breathlessness, vision change or
confusion is an emergency (hypertensive emergency)."""

SLOW_HEART_RATE = 40
"""NHS: a pulse below 40 with dizziness or fainting (an overdose of heart tablets, heart block): 999."""

CRISIS_SIGN = phrases("headache*", "chest", "breath*", "vision", "blurr*", "see*", "confus*", "dizz*", "faint*",
                      "numb*", "weak*", "nosebleed*", "sick", "vomit*", "drows*")
"""The signs that make a very high or very low reading an emergency."""

ADULT_MONTHS = 12 * 12
"""NICE NG51 uses the adult thresholds from 12 years."""


def vital_signs_alarm(doc: Doc) -> bool:
    """A reading at or past a NICE NG51 high-risk / NG143 red threshold (oxygen, blood pressure, pulse, breathing)."""
    text = doc.text
    spo2 = readings.oxygen_saturation(text)
    systolic = readings.systolic_pressure(text)
    pulse = readings.heart_rate(text)
    rate = readings.breathing_rate(text)
    if spo2 is None and systolic is None and pulse is None and rate is None:
        return False
    months = readings.age_months(text)
    adult = months is None or months >= ADULT_MONTHS
    if doc.has(CRISIS_SIGN) and ((systolic is not None and systolic >= HIGH_SYSTOLIC)
                                 or (pulse is not None and pulse < SLOW_HEART_RATE)):
        return True
    return ((spo2 is not None and spo2 < LOW_SPO2) or (systolic is not None and systolic <= LOW_SYSTOLIC)
            or (pulse is not None and pulse > (HIGH_HEART_RATE if adult else INFANT_HEART_RATE))
            or (rate is not None and rate >= (HIGH_BREATHING_RATE if adult else CHILD_BREATHING_RATE)))


_WHY = ("the description holds a sign from the NHS 'call 999 / go to A&E' list ({}); the rules could not name "
        "the condition, so it is treated as an emergency to be safe")


def _system(key: str, what: str, groups: tuple[tuple[Phrase, ...], ...], source: str,
            none_of: tuple[Phrase, ...] = ()) -> RedFlag:
    """A body-system rule: its groups found together in one clause."""
    return RedFlag(f"system_{key}", _WHY.format(what), _E, groups, check=_together(*groups), source=source,
                   none_of=none_of)


NOT_BLEEDING = phrases("blood pressure|sugar|sugars|test|tests|glucose|donat*|donor|type|group|orange|work|results|"
                       "count|level|levels|bank|bath", "sight +of +blood", "see* blood", "faint* +at")
"""Blood that is not bleeding (a blood test, blood pressure, fainting at the sight of blood)."""

NOT_BREATHING = phrases("snor*")
"""Pauses in breathing while snoring are for a GP (NHS: sleep apnoea), not 999."""


NAMED = phrases(
    "aortic dissection", "=dissection", "burst|ruptured|leaking aneurysm", "aneurysm burst|ruptured|leaking",
    "pulmonary embolism", "clot +in +my|+his|+her|+the lung*", "=ectopic", "placental abruption", "abruption",
    "=eclampsia", "cauda equina", "ketoacidosis", "=dka", "adrenal|addison* crisis", "addisonian", "torsion",
    "peritonitis", "bowel obstruction", "blocked bowel", "intussusception", "volvulus", "epiglottitis",
    "status epilepticus", "subarachnoid", "brain bleed|haemorrhage|hemorrhage", "bleed +on +the brain",
    "carbon monoxide", "heatstroke", "heat stroke", "=hypotherm*", "drowning", "nearly drowned",
    "serotonin syndrome", "lithium toxicity|poisoning", "neutropenic", "necrotising|necrotizing fasciitis",
    "flesh eating", "compartment syndrome", "priapism", "paraphimosis", "angle closure", "acute glaucoma",
    "detached retina", "retinal detachment", "sickle cell crisis", "sickle crisis", "perforated ulcer|bowel",
    "acute pancreatitis", "pneumothorax", "collapsed lung", "cord compression", "guillain*", "encephalitis",
    "toxic shock", "=hellp", "postpartum haemorrhage|hemorrhage", "cord prolapse", "prolapsed cord",
    "alcohol poisoning", "delirium tremens", "cardiac arrest", "meningococcal", "anaphylactic shock",
    "diabetic coma", "hyperglycaemic|hyperglycemic crisis")
"""Conditions whose NHS page says to call 999 or go to A&E, by name ("I think it's a collapsed lung")."""

NOT_NOW = phrases("history +of", "years|months ago", "last year", "in +the +past", "recovering +from",
                  "risk +of", "prevent*", "what is|are", "tell +me +about", "information|info +about")
"""A named condition that is not happening now (a past illness, a question about it)."""

PERSISTING = phrases("will|cannot|has|have|is not stop*|settl*|eas*|eased", "will|has|have|is not go* +down|+away",
                     "will|has|have|is not come +down", "still going|there|hard|bleeding|fitting|shaking")
LIMIT_PASSED = phrases("=hours", "more +than +an|+one|+two|+three|+four|+2|+3|+4 hour*", "=mins", "=minutes")
"""NHS 999 / A&E time limits: bleeding over 10 to 15 minutes, a fit over 5 minutes, chest pain over 15 minutes,
an erection over 4 hours: a sign still there after minutes or hours."""

OBJECT_IN = phrases("stuck +in|+into|+through", "still +in +it|+the|+my|+his|+her", "embedded", "impaled",
                    "gone|went +into|+through +my|+his|+her|+the", "sticking out +of")
DEEP_PART = phrases("=leg", "=legs", "=arm", "=arms", "=chest", "=back", "=neck", "=tummy", "=stomach", "=belly",
                    "=thigh", "=calf", "=foot", "=hand", "=eye", "=eyes", "=head", "=side", "=buttock*", "=groin")
NOT_DEEP = phrases("splinter*", "=tick", "=ticks", "bead*", "=nose", "=ear", "teeth", "=food", "fish hook",
                   "=tampon")
"""NHS: cuts (A&E if something is stuck in the wound), eye injuries (A&E); NHS: When to call 999 (serious
injuries): something gone into the body and still in it."""

ADRENAL = phrases("addison*", "adrenal insufficien*|failure", "hypoadrenal*", "hypopituitar*", "steroid dependen*",
                  "long term steroids|prednisolone", "steroid*|emergency card", "hydrocortisone")
ADRENAL_TRIGGER = phrases("vomit*", "being sick", "throw* up", "threw up", "diarrh*", "faint*", "dizz*", "pass* out",
                          "collaps*", "confus*", "drows*", "very weak")
"""NHS Addison's disease: adrenal crisis (vomiting, diarrhoea, dizziness, confusion, collapse in someone who
depends on steroids): 999."""

SICKLE = phrases("sickle*")
SICKLE_TRIGGER = phrases("chest", "fever*", "temp*", "breath*", "sever*", "agony", "numb*", "weak*", "erection",
                         "yellow", "pale", "drows*", "headache")
"""NHS sickle cell disease: A&E for chest pain, a fever, breathlessness, severe pain, stroke signs, priapism."""

THIN_BLOOD = phrases("haemophilia|hemophilia", "warfarin", "blood thinner*", "anticoagul*", "apixaban", "rivaroxaban",
                     "edoxaban", "dabigatran", "clopidogrel")
HEAD_BLOW = phrases("head", "fell", "fall", "fallen", "bang*", "knock*", "vomit* blood", "cough* blood",
                    "blood +in +her|+his|+my|+the wee|pee|urine|poo|vomit")
"""NHS head injury, anticoagulant medicines: A&E for a head injury (or bleeding inside) on blood thinners."""

SIDE = phrases("left|right|one side", "left|right arm|arms|leg|legs|hand|foot|face",
               "half +my|+his|+her|+the|+of face|body", "one arm|leg|hand")
SIDE_SIGN = phrases("heavy", "useless", "=dead", "floppy", "numb*", "weak*", "tingl*", "droop*", "not work*",
                    "cannot move|feel|lift|grip", "paralys*", "gone", "flop*")
"""BE FAST (arm, face): one side of the body heavy, numb, weak or not working."""

WOUND = phrases("wound", "scar", "stitches", "incision", "cut", "section")
WOUND_OPEN = phrases("opened|split|burst|gaping|apart|open", "come|came|coming apart|open|undone",
                     "stuff|fluid|pus coming")
"""NHS: after surgery, a wound that opens (dehiscence) needs A&E."""

LUMP = phrases("lump", "bulge", "hernia", "swelling")
LUMP_STUCK = phrases("hard", "=red", "purple", "not go* back", "stuck", "screaming", "vomit*", "sick", "tender",
                     "agony", "very|really painful")
"""NHS: hernia (A&E: a lump that is hard, tender, red or will not go back, with pain or vomiting: strangulation)."""

ERECTION = phrases("erection*", "hard on", "hard-on", "boner", "stiffy", "priapism")
ERECTION_LONG = phrases("=hours", "all night|day", "since +last +night", "since +this +morning", "since +yesterday",
                        "overnight",
                        "will|has|have|is not go* +down|+away", "will not go", "not going down|away", "=hurts",
                        "painful", "=pain*")
"""NHS priapism: an erection lasting more than 4 hours, or a painful one not from arousal: A&E."""

SMALL_HAZARD = phrases("=battery", "=batteries", "button|coin|watch|remote batter*", "=magnet*")
SWALLOW_DOUBT = phrases("missing", "cannot find", "gone from", "in +his|+her|+their|+the mouth", "mouth*",
                        # NHS foreign bodies: a button battery or magnet in the nose or ear is an A&E matter too
                        "nose", "nostril*", "=ear", "=ears", "up +his|+her|+their|+my|+the nose|nostril*",
                        "swallow*|swalow*|ate|eaten", "might|may|could +have", "think* +he|+she|+they|+it",
                        "playing with", "not sure")
"""NHS: swallowed objects (go to A&E at once if a button battery or magnets may have been swallowed, even if the
child seems well): a missing battery or magnet and a child are enough."""

CO_HOUSEHOLD = phrases("everyone", "everybody", "all of us", "both of us", "whole family|household|house",
                       "we +all|+both", "kids +and +i|+me", "me +and +the|+my kids|children|husband|wife|partner",
                       "=dog", "=cat", "=pet*", "=pets")
CO_PATTERN = phrases("better|clear*|ease*|eased|go|goes|gone when|once|outside|away|out", "better at work|school",
                     "worse at|in home|house|inside|indoors", "worse when home|back|inside",
                     "dog|cat|pet|pets ill|sick|poorly|unwell|lethargic|drowsy|sleepy|vomit*|floppy",
                     "dog|cat|pet|pets +is|+are|+seems|+looks ill|sick|poorly|unwell|lethargic|drowsy|sleepy",
                     "=dog|=cat|=pet|=pets too|also", "=dog|=cat|=pet|=pets as well")
"""NHS carbon monoxide poisoning: symptoms shared by others in the home, pets included, that ease away from
home are the clue when no source is named."""

CAST = phrases("cast", "plaster", "splint", "broke*", "broken", "fractur*", "crush*", "sprain*", "=trapped",
               "run over", "kicked", "tackle*")
PAIN_BEYOND = phrases("painkillers|paracetamol|ibuprofen|codeine nothing|useless",
                      "painkillers|paracetamol|ibuprofen|codeine not help*|work*|touch*",
                      "nothing +helps|+touches", "out +of +proportion", "much|way|far worse than",
                      "worse +and +worse", "=unbearable", "insane|extreme|agony|excruciat*",
                      "rock|board hard", "too tight", "tight +and|+n", "tight|swollen shiny")
LIMB_NERVE = phrases("numb*", "pins +and +needles", "tingl*", "pale|white|cold|blue fingers|toes|foot|hand",
                     "fingers|toes|foot|hand pale|white|cold|blue|numb*", "cannot|not move fingers|toes|foot")
"""NHS compartment syndrome (A&E): after an injury or under a cast, pain much worse than expected, not eased by
painkillers, a tight or hard swelling, numbness or pins and needles."""

SPINE = phrases("=neck", "=back", "=spine", "spinal")
SPINE_HIT = phrases("dived", "dive", "diving", "landed", "fell", "fall", "fallen", "thrown", "came|come off", "flew",
                     "crash*", "tackle*", "=hit")
SPINE_NERVE = phrases("numb*", "pins +and +needles", "tingl*", "cannot|not feel|move +his|+her|+my|+their|+both|+the "
                      "arms|legs|hands|feet", "cannot|not feel|move arms|legs|hands|feet", "weak arms|legs|hands",
                      "arms|legs weak*|floppy|useless|dead")
"""NHS: spinal injury (call 999 after a fall, a dive or a crash with neck or back pain and numbness, tingling or
weakness in the arms or legs)."""

STONE = phrases("kidney|renal stone*|colic", "stone* +in +my|+his|+her|+the kidney*|ureter|tube", "blocked catheter",
                "catheter +is|+has +blocked")
"""NHS kidney stones: A&E for a stone with a high temperature or shivering (an infected, blocked kidney)."""

AFTER_BIRTH = phrases("gave birth", "given birth", "had +my|+her|+our|+the|+a baby", "new mum|mom|mother",
                      "postnatal", "post natal", "postpartum", "since +the|+her +birth", "after +the|+her +birth",
                      "c section", "caesarean")
PSYCHOSIS = phrases("hearing|hears|heard voices|things", "seeing|sees things", "voices", "hallucinat*", "paranoi*",
                    "manic", "strange|odd|weird|bizarre things|ideas|beliefs", "thinks|believes +the +baby",
                    "not slept|sleeping +for +days", "not +herself", "out +of +character", "confus*")
"""NHS postpartum psychosis (a medical emergency: 999 or A&E): after a birth, hallucinations, strange beliefs,
mania, confusion or not sleeping."""

SYSTEM_FLAGS: tuple[RedFlag, ...] = (
    _system("wound_open", "a surgical wound that has opened", (WOUND, WOUND_OPEN),
            "NHS: after surgery (A&E if the wound opens)"),
    _system("hernia", "a groin or tummy lump that is hard, red or stuck, with pain or vomiting",
            (LUMP, LUMP_STUCK), "NHS: inguinal hernia (A&E: strangulated hernia)"),
    _system("one_side", "one side of the body heavy, numb, weak or not working", (SIDE, SIDE_SIGN),
            "BE FAST (face, arm); NHS: When to call 999 (stroke)"),
    *(RedFlag(f"system_{key}", why, _E, groups, check=_about_a_body, source=source) for key, why, groups, source in (
        ("adrenal", "vomiting, faintness or confusion in someone who depends on steroids can be an adrenal crisis",
         (ADRENAL, ADRENAL_TRIGGER), "NHS: Addison's disease (adrenal crisis: 999)"),
        ("sickle", "chest pain, a fever, breathlessness or severe pain with sickle cell disease",
         (SICKLE, SICKLE_TRIGGER), "NHS: sickle cell disease (A&E)"),
        ("thin_blood", "a head injury or internal bleeding in someone on blood thinners or with haemophilia",
         (THIN_BLOOD, HEAD_BLOW), "NHS: head injury (A&E if on blood thinners); NHS: anticoagulant medicines"),
    )),
    _system("object_in", "something gone into the body and still in it", (OBJECT_IN, DEEP_PART),
            "NHS: cuts and grazes (A&E if something is stuck in the wound); NHS: When to call 999 (serious "
            "injuries)", NOT_DEEP),
    _system("persisting", "a sign still there after minutes or hours that should have passed",
            (PERSISTING, LIMIT_PASSED), "NHS: When to call 999 / Go to A&E (bleeding, fits, chest pain, priapism: "
            "still there after minutes or hours)"),
    RedFlag("system_named", "the description names a condition the NHS says needs 999 or A&E", _E,
            (NAMED,), none_of=NOT_NOW, check=_about_a_body,
            source="NHS conditions pages (999 / A&E): aortic dissection, pulmonary embolism, ectopic pregnancy, "
                   "cauda equina, DKA, adrenal crisis, torsion, sepsis and others"),
    _system("bleeding", "heavy bleeding, or bleeding that will not stop", (BLOOD, BLOOD_ACUTE),
            "NHS: When to call 999 (heavy bleeding); NHS: nosebleeds, cuts (A&E if it will not stop)",
            NOT_BLEEDING),
    _system("breathing", "severe difficulty breathing", (AIR, AIR_ACUTE),
            "NHS: When to call 999 (severe difficulty breathing, choking, gasping); NICE NG143 red (grunting)",
            NOT_BREATHING),
    _system("colour", "blue, grey, mottled or blotchy skin or lips", (COLOUR_PART, COLOUR_BAD),
            "NHS: When to call 999 (blue, grey or blotchy skin, lips or tongue); NICE NG51 high risk"),
    _system("seizure", "a fit (shaking or jerking, stiffening)", (SEIZURE_MOVE, SEIZURE_WITH),
            "NHS: When to call 999 (seizure); NHS: febrile seizures (999 for a first fit)"),
    _system("sight", "a sudden loss or change of sight", (SIGHT, SIGHT_LOST),
            "NHS: When to call 999 / Go to A&E (sudden loss of sight); NHS: glaucoma, detached retina"),
    _system("bone", "a bone through the skin", (BONE, BONE_OUT), "NHS: broken arm or wrist, broken leg (999)"),
    _system("burn", "a chemical, electrical, hot liquid or large burn", (HOT_THING, HOT_HARM),
            "NHS: burns and scalds (A&E: chemical, electrical, face, chest, genitals, children); "
            "NHS: electric shock"),
    _system("overdose", "more medicine than a dose", (PILLS, PILLS_AMOUNT),
            "NHS: overdose; paracetamol overdose (A&E even if you feel well)"),
    RedFlag("system_priapism", "an erection that has lasted hours or is painful", _E, (ERECTION, ERECTION_LONG),
            check=_about_a_body, source="NHS: priapism (A&E for an erection over 4 hours)"),
    RedFlag("system_small_hazard", "a button battery or magnet a child may have swallowed", _E,
            (SMALL_HAZARD, SWALLOW_DOUBT, t.CHILD),
            source="NHS: swallowed objects (A&E now for button batteries and magnets, even if the child seems "
                   "well)"),
    RedFlag("system_co_household", "headaches, dizziness or sickness shared at home or easing away from home can be "
            "carbon monoxide", _E, (CO_HOUSEHOLD, CO_PATTERN, CO_SIGN), check=_about_a_body,
            source="NHS: carbon monoxide poisoning (others in the home, pets, better away from home)"),
    RedFlag("system_compartment", "pain after an injury or under a cast that is far worse than expected, with "
            "tightness or numbness, can be compartment syndrome", _E, (CAST, PAIN_BEYOND), check=_about_a_body,
            source="NHS: compartment syndrome (A&E)"),
    RedFlag("system_compartment_nerve", "numbness or pins and needles below an injury or a cast", _E,
            (CAST, LIMB_NERVE), check=_about_a_body, source="NHS: compartment syndrome; broken arm or leg (A&E)"),
    RedFlag("system_spine", "a neck or back injury with numbness, tingling or weakness in the arms or legs", _E,
            (SPINE, SPINE_HIT, SPINE_NERVE), check=_about_a_body, source="NHS: spinal injury (999)"),
    RedFlag("system_infected_stone", "a kidney stone or blocked catheter with a high temperature or shivering", _E,
            (STONE, INFECTION_SIGN), check=_about_a_body, source="NHS: kidney stones (A&E with a high temperature "
            "or shivering)"),
    RedFlag("system_postpartum_psychosis", "hallucinations, strange beliefs or confusion after a birth can be "
            "postpartum psychosis", _E, (AFTER_BIRTH, PSYCHOSIS), check=_about_a_body,
            source="NHS: postpartum psychosis (999 / A&E)"),
    RedFlag("system_sepsis_risk", "signs of infection with a concerning feature in someone at higher risk of "
            "sepsis (a baby, an older person, pregnancy or a recent birth, recent surgery, chemotherapy, "
            "weak immunity or diabetes) can be sepsis", _E, (INFECTION_SIGN,), check=_sepsis_risk,
            source="NICE NG51 sepsis (risk factors 1.1.3; high risk criteria); NHS: sepsis (999)"),
    RedFlag("system_vital_signs", "a reading past a high-risk threshold (oxygen below 92%, systolic blood "
            "pressure of 90 or less, a pulse over 130, or fast breathing for the age)", _E, (),
            check=vital_signs_alarm,
            source="NICE NG51 sepsis (high risk criteria: SpO2, systolic BP, heart rate, respiratory rate); "
                   "NICE NG143 red (respiratory rate over 60)"),
    RedFlag("system_several", "concerning signs of two or more body systems at once (for example confusion with "
            "fast breathing, or cold, pale skin with fast breathing) can be a life-threatening illness", _E, (),
            check=_several_systems,
            source="NICE NG51 sepsis (several moderate-to-high risk criteria); NHS: When to call 999"),
)
"""Emergency rules by body system (consulted with the fail-safe flags, after the specific rules)."""
