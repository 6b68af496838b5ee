"""Symptom triage to an urgency level, from red-flag rules grounded in public triage guidance.

Emergency-level rules live in safety/red_flags.py (they guard every pool); this module adds the urgent,
soon and self-care rules, reads temperatures, durations and infant ages, and writes the reply:
the urgency and why, what to do now, questions a clinician would ask, what to watch for. It
never names a diagnosis or a dose.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import Any

from domains.triage_topics import TOPICS
from providers.tools import ToolSpec
from safety import policies as safety
from safety import red_flag_terms as terms
from safety.patterns import exact
from safety.policies import Doc, Phrase, Urgency, phrases

# re-exported ("as"): the readings were read here first, and callers still ask this module
from safety.readings import age_months
from safety.readings import duration_days as duration_days
from safety.readings import infant_age_months as infant_age_months
from safety.readings import temperature_c as temperature_c
from safety.red_flag_failsafe import UNPLACED_ALARM
from safety.red_flag_reassurance import reassures, unreassured_emergency
from safety.red_flag_systems import SYSTEMS

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

LONG_COUGH_DAYS = 21
"""A cough lasting this long needs a doctor's check."""

UNDETERMINED = "undetermined"
"""The level when no rule matched (the reply then leads with when to get help)."""

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
    source: str = ""
    """The published guidance the rule follows."""


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


_U, _S, _C = Urgency.URGENT, Urgency.SOON, Urgency.SELF_CARE
_FEVER = phrases("fever*|feverish|temperature|temprature|shivery", "high temp*", "=temp", "burning up")
_INFANT = phrases("baby", "babies", "infant*", "newborn*")
_URINE = phrases("painful|burning urinat*|pee*|wee*", "pain*|burn*|sting*|hurt* when|while pee*|urinat*|wee*",
                 "=uti", "cystitis", "bladder infect*|infecshun", "urine infect*", "water infect*")
_SYMPTOM = phrases("pain*", "ache*", "hurt*", "sore", "fever*", "temp*", "vomit*", "sick", "bleed*", "rash",
                   "swell*|swollen", "itch*", "cough*", "headache*", "dizz*", "cramp*", "discharge", "tired",
                   "unwell", "infection")
RULES: tuple[Rule, ...] = (
    # --- urgent: a clinician or NHS 111 today ---
    Rule("severe_abdominal_pain", "abdomen", _U, "severe, sharp or moving belly pain needs an examination today",
         (phrases("sever*|sharp|intense|worst|agony stomach|abdominal|belly|tummy pain*|ache*", "appendix",
                  "appendicitis", "pain* lower right", "moved lower right", "belly button lower right"),),
         ("Do not eat until you have been seen.",), "NHS: appendicitis, stomach ache (111 / urgent)"),
    Rule("fracture", "injury", _U, "a possible broken bone or dislocation needs an X-ray today",
         (phrases("broken|broke|fractur*|dislocat*", "cannot put weight", "cannot bear weight", "cannot walk on",
                  "will not walk on", "cannot move wrist|arm|ankle|fingers|leg", "swollen wrist|ankle",
                  "wrist|ankle swollen"),),
         ("Keep the limb still and supported; a cold pack wrapped in cloth can ease swelling.",),
         "NHS: broken arm or wrist, sprains (urgent treatment centre)"),
    Rule("deep_cut", "injury", _U, "a deep or gaping cut may need closing within hours",
         (phrases("deep cut|wound|gash", "gash", "gaping", "need* stitches", "stitches"),),
         ("Press on it with a clean cloth, then cover it.",), "NHS: cuts and grazes (urgent treatment centre)"),
    Rule("infected_wound", "skin", _U, "a wound or skin that is red, hot, swollen or oozing pus may be infected",
         (phrases("pus", "oozing", "red hot", "hot red", "spreading redness|red", "red streak*", "infected"),),
         (), "NHS: cuts and grazes (urgent if infected); cellulitis"),
    Rule("dehydration", "fluids", _U, "signs of dehydration need care today",
         (phrases("not peed|urinated|weed", "no urine|pee", "cannot keep fluids|water|anything down",
                  "sunken eyes|soft spot", "soft spot sunken", "very dizzy", "dehydrat*", "fewer|no wet nappies",
                  "fewer|no|not wet nappy|nappies|diaper*",
                  "not had wee|pee", "dry nappies", "no tears"),),
         ("Sip small amounts of water or oral rehydration fluid.",),
         "NICE NG143 traffic-light: amber (reduced urine output); NHS: dehydration"),
    Rule("fainting", "heart", _U, "fainting needs a check today", (phrases("faint*", "blacked out"),),
         (), "NHS: fainting"),
    Rule("black_stool", "abdomen", _U, "black, tarry stools can mean bleeding in the gut",
         (phrases("black|tarry stool*|poo*|poop"),), (), "NHS: bleeding from the bottom (black poo)"),
    Rule("eye", "eye", _U, "an eye injury, sudden eye pain or a change in vision needs care today",
         (phrases("eye injur*", "sudden* eye pain", "something in eye", "eye hit|hurt*", "vision change*|blur*",
                  "sudden* vision|sight", "flashes", "floaters", "painful red eye", "red eye pain*",
                  "eyelid swollen|red", "swollen eyelid|eye"),),
         ("For chemicals, rinse the eye with clean running water for 20 minutes.",),
         "NHS: eye injuries; red eye (urgent if pain or vision changes); cellulitis around the eye"),
    Rule("asthma", "breathing", _U, "an asthma attack or wheezing that the usual inhaler does not ease",
         (phrases("asthma attack|worse", "inhaler not help*|working", "wheez*", "reliever more|times|often",
                  "nostril* flar*", "breath* fast|quick*", "fast breath*"),),
         ("Sit upright and use your own reliever inhaler as your asthma plan says.",),
         "NHS: asthma attack (urgent same-day appointment); NICE NG143 amber (tachypnoea, nasal flaring)"),
    Rule("allergy", "allergy", _U, "an allergic reaction needs checking today (an emergency if breathing or "
         "swallowing is affected)", (phrases("allergic reaction"),), (), "NHS: allergies"),
    Rule("kidney", "urinary", _U, "painful urination with fever, shivering or back or side pain can be a kidney "
         "infection", (_URINE, phrases("fever*|temperature|temp|shivery|shiver*", "back pain", "side pain",
                                       "pain side", "hot")),
         (), "NHS: kidney infection, UTI (urgent)"),
    Rule("testicular", "urinary", _U, "testicle pain or swelling must be checked within hours",
         (phrases("testic*|testicle*|scrotum pain*|swell*|hurt*|ache*"),), (), "NHS: testicle pain"),
    Rule("headache_fever", "head", _U, "headache with fever and vomiting needs a check today",
         (phrases("headache"), _FEVER, phrases("vomit*", "throw* up")), (), "NHS: meningitis, headaches"),
    Rule("infection_signs", "fever", _U, "a fever with shivering, shaking or feeling very unwell needs a "
         "clinician today", (_FEVER, phrases("shak*", "shiver*", "rigors", "=chills", "=chill", "=chilled", "very unwell", "awful",
                                             "generally unwell", "not herself|himself|themselves|yourself",
                                             "not usual self", "irritable", "miserable", "grizzly", "inconsolable",
                                             "crying lot|nonstop", "floppy", "sleepy", "drowsy",
                                             "off food|feeds", "not feeding",
                                             "refus* feed*|bottle*|food|drink*", "lethargic", "pale")),
         (), "NICE NG143 traffic-light: amber (rigors, poor feeding); NHS: sepsis, fever in children "
             "(urgent if not their usual self)"),
    Rule("fever_after_travel", "fever", _U, "a fever or flu-like illness after travel abroad can be malaria: get "
         "medical help today, even weeks or months after the trip",
         (_FEVER + phrases("=chills", "flu like|ish", "sweats"),
          phrases("back from|back after|returned|got back|travel*|trip|holiday|abroad|overseas|safari",
                  "africa*|asia*|india|nigeria|ghana|kenya|uganda|tanzania|malawi|zambia|congo|sierra|gambia|"
                  "brazil|thailand|malaria*")),
         (), "NHS: malaria (get medical help immediately if feverish after travel to a risk area)"),
    Rule("pregnancy_symptoms", "pregnancy", _U, "a new symptom in pregnancy needs a midwife or maternity unit "
         "today", (terms.PREGNANT, _SYMPTOM + _URINE + phrases(
             "tighten*", "contraction*", "waters", "puffy", "chickenpox", "leak*", "blurr*", "=uti", "itch*")), (),
         "NHS: pregnancy warning signs (contact your midwife or maternity unit)"),
    Rule("psychosis", "mental health", _U, "hearing voices or beliefs that others are spying or plotting need "
         "mental health help today", (phrases("hearing voices", "voices", "spying", "plotting", "paranoi*",
                                              "manic", "mania", "not slept days"),), (),
         "NHS: psychosis, bipolar disorder (urgent GP / 111 option 2)"),
    Rule("sudden_senses", "head", _U, "sudden hearing loss or a sudden change in vision needs care today",
         (phrases("sudden* hearing|deaf*", "hearing loss sudden*", "lost hearing"),), (),
         "NHS: hearing loss (urgent if sudden)"),
    Rule("leg_clot", "heart", _U, "a swollen, painful, warm calf on one side can be a clot (DVT)",
         (phrases("calf|leg swell*|swollen|pain*|warm|red|ache*|achey", "swollen|painful calf", "dvt"),), (),
         "NHS: DVT (111 / urgent)"),
    Rule("severe_pain", "general", _U, "severe pain, or pain that painkillers do not touch, needs care today",
         (phrases("sever* pain*", "agony", "excruciat*", "painkillers not touch*|help*|working", "=worst pain*",
                  "kidney stone*", "pain* in waves"),), (), "NHS 111: severe pain; NHS: kidney stones"),
    Rule("shingles", "skin", _U, "a painful band of blisters on one side may be shingles: treatment works best "
         "within 3 days", (phrases("shingles", "band blisters"),), (), "NHS: shingles (urgent GP, 111 or "
                                                                       "pharmacist within 3 days)"),
    Rule("blistered_burn", "skin", _U, "a burn that blisters, or is on a child or someone with diabetes, needs "
         "a check today", (phrases("burn*|scald*"), phrases("blister*", "baby", "toddler", "child", "diabet*")),
         ("Cool the burn under cool running water for 20 minutes; cover loosely with cling film.",),
         "NHS: burns and scalds"),
    Rule("swallowed_or_exposed", "poisoning", _U, "something swallowed, or a medicine taken twice, needs advice "
         "from NHS 111 or Poison Help today, even if the person seems well",
         (phrases("swallow*|drank|ate|eaten|chewed|licked", "took|taken twice|extra|double",
                  "extra|double dose", "splash*|spill*|got weedkiller|chemical*|bleach"),),
         ("Keep the packet or container to show.",), "NHS: poisoning (call 111 if no symptoms)"),
    Rule("tooth_out", "injury", _U, "a knocked-out adult tooth needs an emergency dentist now",
         (phrases("knocked out tooth", "tooth knocked out", "knocked out front|adult tooth"),),
         ("Hold it by the crown, rinse it briefly and push it back in or keep it in milk.",),
         "NHS: knocked-out tooth (emergency dentist immediately)"),
    Rule("stuck_object", "injury", _U, "an object stuck in the nose or ear needs removing by a clinician",
         (phrases("stuck up|in nose|ear", "up nose", "in ear bead|object"),), (),
         "NHS: foreign body (urgent treatment centre)"),
    Rule("diabetes_signs", "general", _U, "thirst, passing a lot of urine and weight loss in a child can be "
         "diabetes: same-day check", (phrases("drinking loads|lot*", "very thirsty", "weeing|peeing all time|lot"),),
         (), "NICE NG18 type 1 diabetes in children (same-day referral)"),
    Rule("throat_abscess", "breathing", _U, "a one-sided swollen throat or being unable to open the mouth needs "
         "care today", (phrases("cannot open mouth", "one side throat swol*|swell*", "quinsy"),), (),
         "NHS: quinsy (urgent)"),
    Rule("heart_failure", "heart", _U, "sudden ankle swelling with breathlessness lying flat needs care today",
         (phrases("breathless*|short* breath lying|flat|night", "ankles sudden* swollen|swell*"),), (),
         "NHS: heart failure (urgent if symptoms worsen suddenly)"),
    Rule("jaundice", "abdomen", _U, "yellow skin or eyes needs a check today",
         (phrases("jaundice*", "yellow skin|eyes", "skin|eyes yellow"),), (), "NHS: jaundice (urgent GP or 111)"),
    Rule("ear_fluid", "head", _U, "fluid or pus coming from an ear, or swelling around it, needs a check today",
         (phrases("stuff|fluid|pus|discharge|gunk|liquid coming|leaking|oozing +out|+from ear|ears",
                  "ear* discharg*|leaking|oozing|weeping", "discharge|pus from ear", "swelling|swollen behind ear"),),
         (), "NHS: earache (urgent GP or 111: fluid coming from the ear, swelling around it)"),
    Rule("abscess", "skin", _U, "an abscess, or a tooth or gum with a swollen face or jaw, needs a dentist or GP "
         "today", (phrases("abscess*", "absess*", "tooth|teeth|toothache|gum +and|+with|+n swollen|swell*|swelling "
                           "face|cheek|jaw|gum"),), (),
         "NHS: dental abscess (urgent dentist; 111 out of hours); skin abscess (GP)"),
    Rule("fever_rash", "fever", _U, "a rash with a fever needs a check today (at once if it does not fade under a "
         "pressed glass)", (_FEVER, phrases("rash*", "spots", "blotch*")), (),
         "NHS: rashes in children (urgent with a high temperature); NICE NG143 (glass test)"),
    Rule("scarlet_fever", "skin", _U, "a rough, sandpaper-like rash with a sore throat or fever may be scarlet "
         "fever: a GP or NHS 111 today", (phrases("scarlet*", "sandpaper", "strawberry tongue"),), (),
         "NHS: scarlet fever (urgent GP appointment or 111)"),
    Rule("projectile_vomit", "abdomen", _U, "projectile vomiting in a baby needs a check today",
         (phrases("projectile vomit*"),), (), "NHS: pyloric stenosis (urgent GP / 111)"),
    Rule("sticky_eye_newborn", "eye", _U, "a red or sticky eye in a baby under 28 days needs a check today",
         (_INFANT, phrases("sticky eye*", "red eye*", "eye red|sticky")), (),
         "NHS: conjunctivitis (urgent if baby under 28 days)"),
    Rule("self_harm_injury", "mental health", _U, "a self-harm injury or urges to self-harm need help today",
         (phrases("cutting", "self harm*", "urges"),), (), "NHS: self-harm"),
    Rule("uti_confusion", "urinary", _U, "urinary symptoms with new forgetfulness or confusion need a check "
         "today", (_URINE + phrases("sting*|burn* wee*|pee*"), phrases("forgetful", "confus*", "muddled",
                                                                         "not herself|himself")), (),
         "NHS: urinary tract infections (confusion in older people: see a GP urgently)"),
    Rule("head_injury_headache", "head", _U, "a headache that painkillers do not ease after a head injury needs "
         "a check today", (phrases("head", "skull"), phrases("banged|bang|hit|bump*|knock*|fell|fall*"),
                           phrases("headache* not go|going|stop*|help*|ease*", "headache* painkillers",
                                   "headache* will not")), (),
         "NHS: head injury and concussion (a headache that does not go away with painkillers)"),
    # --- soon: a GP appointment in the coming days to two weeks ---
    Rule("first_migraine", "head", _S, "a first-ever migraine or a new kind of headache should be checked by a GP",
         (phrases("first|1st ever|time migraine*|aura|headache*", "never had +a|+one migraine|headache|aura"),), (),
         "NHS: migraine (see a GP if you have migraine symptoms for the first time)"),
    Rule("earache_fever", "head", _S, "earache with a high temperature should be seen by a GP",
         (phrases("earache*", "ear ache*", "ear pain*|hurt*|sore", "pulling +at|+on +her|+his|+their ear*"), _FEVER),
         (), "NHS: earache (see a GP if there is a high temperature)"),
    Rule("persistent_cough", "breathing", _S, f"a cough for {LONG_COUGH_DAYS} days or more needs a check",
         (phrases("persistent|chronic cough*", "cough* weeks|months"),), (),
         "NHS: cough (see a GP if it lasts more than 3 weeks)"),
    Rule("lump", "general", _S, "a new lump or swelling should be examined",
         (phrases("lump*", "swollen glands", "glands swollen|up"),), (),
         "NHS: lumps (see a GP)"),
    Rule("weight_loss", "general", _S, "unexplained weight loss should be looked into",
         (phrases("unexplained|unintentional weight loss", "losing weight without", "lost weight"),), (),
         "NHS: unexplained weight loss (see a GP)"),
    Rule("mole", "skin", _S, "a mole that changes, bleeds or itches should be examined",
         (phrases("mole chang*|bleed*|itch*|grow*|new", "changing mole"),), (), "NHS: moles (see a GP)"),
    Rule("blood_in_urine_or_stool", "abdomen", _S, "blood in urine or stool should be looked into",
         (phrases("blood urine|pee|stool*|poo*|poop", "bloody urine|stool*"),), (),
         "NHS: blood in urine; bleeding from the bottom (see a GP)"),
    Rule("urinary", "urinary", _S, "painful or burning urination may need a urine test", (_URINE,), (),
         "NHS: urinary tract infections"),
    Rule("rash", "skin", _S, "a rash that persists or spreads should be seen (at once if it does not fade "
         "under a pressed glass)", (phrases("rash*"),), (), "NHS: rashes; meningitis glass test"),
    Rule("palpitations", "heart", _S, "palpitations should be checked",
         (phrases("palpitat*", "heart racing|pound*|flutter*", "skipp* beat*", "irregular heartbeat"),), (),
         "NHS: heart palpitations (see a GP if they keep happening)"),
    Rule("dizziness", "head", _S, "repeated dizziness should be checked", (phrases("dizz*", "vertigo"),), (),
         "NHS: dizziness (see a GP if it keeps happening)"),
    Rule("low_mood", "mental health", _S, "low mood or anxiety that lasts deserves support from a doctor or "
         "therapist", (phrases("depress*", "anxiety", "anxious", "low mood", "panic attack*", "cannot sleep",
                               "intrusive thoughts", "obsess*", "flashback*", "binge*", "drinking too much"),),
         (), "NHS: depression, anxiety (see a GP / talking therapies)"),
    Rule("pregnancy", "pregnancy", _S, "pregnancy questions go to a midwife or doctor",
         (phrases("pregnan*"),), (), "NHS: antenatal care (midwife)"),
    Rule("discharge", "urinary", _S, "a discharge or possible infection from sex needs a sexual health clinic",
         (phrases("discharge", "=sti", "=std"),), (), "NHS: sexual health clinics"),
    Rule("recurring", "general", _S, "symptoms that keep coming back or are not getting better should be "
         "checked", (phrases("keep* coming back", "most days", "every day|night", "not getting better",
                             "not improv*", "not going away", "will not go away", "recurr*", "keeps happening",
                             "painkillers not help*"),), (), "NHS 111: see a GP if symptoms do not improve"),
    # --- self-care: positive benign matches only (blocked by any concerning feature) ---
    Rule("cold_flu", "breathing", _C, "cold and flu symptoms usually get better with self-care",
         (phrases("a|common|head|stinking +cold", "caught|got|have|has +a +cold", "flu", "runny nose",
                  "blocked|stuffy nose", "congest*", "sneez*", "sore throat", "cough*"),),
         ("Rest, drink fluids, and ask a pharmacist about remedies that suit you.",),
         "NHS: common cold, flu, sore throat, cough"),
    Rule("headache", "head", _C, "most headaches settle with rest and fluids", (phrases("headache*",
                                                                                        "migraine*"),),
         ("Rest in a quiet, dark room and drink water.",), "NHS: headaches"),
    Rule("fever", "fever", _C, "a mild fever in an adult usually settles in a few days", (_FEVER,),
         ("Rest, drink plenty of fluids, and dress in light layers.",),
         "NHS: high temperature (fever) in adults"),
    Rule("everyday_aches", "general", _C, "muscle soreness after exercise and teething usually settle with "
         "self-care", (phrases("sore|aching|achy muscles", "muscles sore|ache*|aching", "after gym|workout|exercise",
                               "teething", "doms"),), ("Rest and keep gently active.",),
         "NHS: sprains and strains (muscle soreness); NHS: teething"),
    Rule("minor_injury", "injury", _C, "sprains, strains and bruises usually heal with self-care",
         (phrases("sprain*", "=strain*", "bruise*", "graze*", "twist* ankle|knee|wrist", "minor cut",
                  "cut finger", "pulled muscle"),),
         ("Rest, ice wrapped in cloth for 20 minutes at a time, support, and raise the limb.",),
         "NHS: sprains and strains, bruises, cuts and grazes"),
    Rule("stomach_upset", "abdomen", _C, "diarrhoea and vomiting usually pass within a few days",
         (phrases("diarrh*", "vomit*", "stomach bug|upset", "upset stomach", "food poisoning", "nause*"),),
         ("Sip fluids often; eat plain food when you feel able.",), "NHS: diarrhoea and vomiting"),
    Rule("minor_skin", "skin", _C, "minor burns, bites and sunburn usually heal with self-care",
         # "bite" is also a verb ("pain when I bite"): only a bite that was given counts
         (phrases("burn|burns|burned|burnt", "insect|bug|mosquito|midge|gnat|flea bite*", "sting", "sunburn*",
                  "=bites", "a|an|the|this|that|few|some|little +bite", "bitten"),),
         ("Cool a burn under cool running water for 20 minutes.",), "NHS: burns and scalds, insect bites"),
)
"""Urgent, soon and self-care rules, each from the named NHS / NICE guidance."""


# fail safe: self-care needs a positive benign match (issue 16), so its words are never guessed from a misspelling
# ("glazed" is no "graze")
RULES = tuple(replace(r, all_of=tuple(map(exact, r.all_of))) if r.level is _C else r for r in RULES)

CONCERNING: tuple[Rule, ...] = (
    Rule("concern_breathing", "breathing", _U, "fast or hard breathing needs a clinician today",
         (phrases("breath* fast*|quick*|hard|rapid*", "fast* breath*", "nostril* flar*", "struggl* breath*",
                  "short* breath", "breathless*"),), (), "NICE NG143 amber (tachypnoea); NHS: shortness of breath"),
    Rule("concern_severe_pain", "general", _U, "severe, sudden or worst-ever pain needs care today",
         (phrases("sever*", "agony", "excruciat*", "=worst", "unbearable", "sudden* pain*"),), (),
         "NHS 111: severe pain"),
    Rule("concern_urine", "fluids", _U, "not passing urine needs care today",
         (phrases("not peed|urinated|weed|pass* urine", "no wet nappies", "not had wee|pee",
                  "fewer|no|not wet nappy|nappies|diaper*"),), (),
         "NICE NG51 / NHS: sepsis (not passed urine all day)"),
    Rule("concern_unwell", "general", _U, "feeling very unwell, shaking or shivering needs care today",
         (phrases("very unwell", "really unwell", "shak* uncontroll*", "rigors", "shivering", "shiver*", "=chills"),), (),
         "NHS: sepsis (urgent if very unwell, shivering)"),
    Rule("concern_blood", "general", _U, "blood that is not expected needs care today",
         (phrases("bleed* lot", "blood clots", "bloody diarrh*", "diarrh* blood"),), (),
         "NHS: diarrhoea and vomiting (urgent if bloody diarrhoea)"),
    Rule("concern_feeding", "general", _U, "not eating, drinking or feeding needs a clinician today",
         (phrases("not|refus* eat*|drink*|feed*|bottle", "off food|feeds|drinks|milk", "feeding less|poorly",
                  "drinking less"),), (), "NICE NG143 traffic-light: amber (poor feeding); NHS: dehydration"),
    Rule("concern_sudden", "general", _U, "a sudden or severe symptom needs care today", (terms.SUDDEN + terms.SEVERE,),
         (), "NHS 111: get help today for sudden or severe symptoms"),
    Rule("concern_intense", "general", _U, "a symptom that is bad, constant or getting worse needs care today",
         (phrases("badly", "=hardly", "=barely", "cannot stop", "non stop", "nonstop", "constant*", "every feed",
                  "all day|night", "more +and +more", "worse +and +worse", "getting|got|gets worse", "worsening"),),
         (), "NHS 111: get help today if symptoms are getting worse or you are worried"),
    *(Rule(f"concern_{name}", "general", _U, f"an alarm sign ({name.replace('_', ' ')}) rules out self-care",
           (group,), (), "NHS: when to call 999 / 111 (alarm signs by body system)") for name, group in terms.ALARMS),
    *(Rule(f"concern_system_{i}", "general", _U, f"a concerning sign ({name}) rules out self-care", (group,), (),
           "NICE NG51 moderate-to-high risk criteria; NICE NG143 amber") for i, (name, group) in enumerate(SYSTEMS)),
)
"""Features that rule out self-care: each raises the level to at least urgent (NHS 111 / NICE)."""

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
        unreassured = _sentence_emergency(doc)
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
