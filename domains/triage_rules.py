"""The triage rules below emergency: urgent, soon and self-care rules, and the concerning features that rule
self-care out, each beside the published guidance it follows (NHS conditions pages, NHS 111, NICE NG143 / NG51).

Part of domains (domains.triage reads the text with them; emergency rules are safety.red_flags').
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from safety import red_flag_terms as terms
from safety.patterns import exact
from safety.policies import Phrase, Urgency, phrases
from safety.red_flag_systems import SYSTEMS

LONG_COUGH_DAYS = 21
"""A cough lasting this long needs a doctor's check."""


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
         "clinician today", (_FEVER, phrases("shak*", "shiver*", "rigors", "=chills", "=chill", "=chilled",
                                             "very unwell", "awful",
                                             "generally unwell", "not herself|himself|themselves|yourself",
                                             "not usual self", "irritable", "miserable", "grizzly", "inconsolable",
                                             "crying lot|nonstop", "floppy", "sleepy", "drowsy",
                                             "off food|feeds", "not feeding",
                                             "refus* feed*|bottle*|food|drink*", "lethargic", "pale")),
         (), "NICE NG143 traffic-light: amber (rigors, poor feeding); NHS: sepsis, fever in children "
             "(urgent if not their usual self)"),
    Rule("fever_after_travel", "fever", _U, "a fever or flu-like illness after travel to a malaria area can be "
         "malaria: get medical help today, even weeks or months after the trip",
         (_FEVER + phrases("=chills", "flu like|ish", "sweats"),
          phrases("africa*", "asia*", "india", "nigeria", "ghana", "kenya", "uganda", "tanzania", "malawi", "zambia",
                  "congo", "sierra", "gambia", "brazil", "thailand", "tropic*", "malaria*", "safari")),
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
         "today", (phrases("abscess*", "absess*", "tooth*|teeth|gum* swell*|swollen face|cheek|jaw|gum*",
                           "face|cheek|jaw|gum* swell*|swollen tooth*|teeth",
                           "swell*|swollen face|cheek|jaw tooth*|teeth"),), (),
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
         (phrases("very unwell", "really unwell", "shak* uncontroll*", "rigors", "shivering", "shiver*",
                  "=chills"),), (),
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
