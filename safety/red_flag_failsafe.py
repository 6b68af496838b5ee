"""The fail-safe red flag: a symptom description with an NHS "call 999 / go to A&E" alarm qualifier.

Part of safety (safety.red_flags consults FAILSAFE_FLAGS only when no specific rule found an
emergency). The specific rules know conditions by name and wording; measured on cases written after
them, they kept missing rarer emergencies (aortic dissection, adrenal crisis, DKA...). What those
texts share is the shape the NHS "When to call 999" and NHS 111 "Go to A&E" lists describe: a
symptom, a body part or a person who is ill, plus an alarm qualifier (sudden, severe, worst ever,
cannot breathe, bleeding that will not stop, unconscious, floppy, blue or grey skin, sudden
confusion, collapse, a fit, a swollen face or tongue, vomiting blood, poisoning, an overdose,
suicidal thoughts). Fail safe: such a text is answered as an emergency, accepting over-triage.
The words are matched on the Doc's precomputed word bits like every other rule (no new regex pass).
"""
from __future__ import annotations

from safety import readings
from safety import red_flag_terms as t
from safety.flag_types import RedFlag, Urgency
from safety.patterns import Doc, phrases
from safety.red_flag_terms import BODY_CONTEXT, NOT_MEDICAL_SENSE

SYMPTOM_TEXT = t.PERSON_OR_BODY + t.PAIN + phrases(
    "he|she|him|her|hes|shes", "granny|nanna|grandson|granddaughter|boyfriend|girlfriend|roommate|uncle|aunt*|"
    "niece|nephew|colleague|pupil", "room mate", "year* old", "yr old",
    "head", "chest", "heart", "arm|arms", "leg|legs", "hand|hands", "foot|feet", "finger*", "toe|toes", "eye|eyes",
    "face", "lip|lips", "tongue", "mouth", "throat", "neck", "back", "tummy", "stomach", "belly", "abdomen",
    "skin", "calf", "knee", "ankle", "wrist", "hip", "shoulder*", "jaw", "ear|ears", "nose", "scrotum",
    "testic*", "groin", "bladder", "kidney*", "lung*", "vision", "sight", "headache*", "fever*", "vomit*",
    "vommit*", "nause*", "dizz*", "faint*", "cough*", "bleed*", "blood", "rash", "swell*", "swollen", "numb*",
    "tingl*", "shiver*", "sweat*", "clammy", "wheez*", "symptom*", "injur*", "wounds", "bruis*", "infant",
    "newborn", "pregnan*", "pregnent", "diabet*", "asthma*", "epilep*", "i feel|felt", "feeling")
"""A text that reads as a symptom description: a symptom, a body part, or a person who is ill
(NHS: When to call 999; NHS 111)."""
PEOPLE = phrases(
    "someone|somebody|friend|mate|dad|mom|mum|father|mother|wife|husband|son|daughter|child|kid|baby|"
    "toddler|man|woman|boy|girl|nan|gran|grandma|grandpa|grandad|partner|brother|sister|flatmate|"
    "neighbour|patient|grandmother|grandfather", "bloke|guy|lady|stranger", "he|she|him|her|hes|shes",
    "granny|nanna|grandson|granddaughter|boyfriend|girlfriend|roommate|uncle|aunt*|niece|nephew|colleague|pupil",
    "room mate", "year* old", "yr old", "i feel|felt", "feeling")
"""Who a text is about (and "I feel"): not a symptom by themselves."""
SYMPTOM_WORDS = tuple(p for p in SYMPTOM_TEXT if p not in PEOPLE)
"""SYMPTOM_TEXT's words of the body and its symptoms, without the people ("I feel fine" names no symptom)."""

ALARM = t.SUDDEN + t.WORST_EVER + t.BREATH_TROUBLE + t.UNRESPONSIVE + phrases(
    "sever*", "agony", "agonising|agonizing", "excruciat*", "unbearable", "crippling", "tearing", "ripping",
    "cannot|unable|struggl*|barely breath*", "not breathing", "stopped breathing", "gasp*", "chok*",
    "bleed*|blood pouring|gushing|spurting|pumping", "bleed*|blood not stop*", "not stop* bleed*", "unconscious*",
    "cannot|not wake*", "hard +to wake", "not waking", "dying", "going +to die", "floppy", "=limp", "mottl*",
    "blotchy", "collaps*",
    "=fitting", "=fit", "=fits", "had|having +a fit", "seizure*", "convuls*", "passed|pass* out", "blacked|black* out",
    "face|tongue|lips|lip|throat|mouth|eyes swell*|swollen|puff*|closing",
    "swell*|swollen|puff* face|tongue|lips|lip|throat|mouth", "vomit*|throw*|threw|sick|cough* blood",
    "blood +in vomit|sick", "coffee grounds", "poison*", "overdos*", "end +my +life",
    "antifreeze", "bleach", "gone|going|turned|turning|went blue|grey|gray|white|purple|pale",
    "blue|grey|gray|white|purple|pale lips|skin|face|fingers|toes|fingertips",
    "lips|skin|face|fingers|toes|fingertips blue|grey|gray|purple|white|mottl*", "cannot stand|walk|move|feel",
    # NHS 999 / A&E list in other words: drowsiness, stroke signs, a rash that does not fade, a limb out of shape,
    # something harmful swallowed, black poo, chemotherapy, blood thinners, danger to others
    "very|really|so|extremely drowsy|sleepy", "cannot stay|keep awake", "knocked out", "slurr*", "muddled",
    "cannot find +her|+his|+my|+the words", "speech|words went|gone|coming|came muddled|funny|weird|strange",
    "droop*", "lopsided", "wonky", "not fade*", "press* +a glass", "glass test", "purple|dark spots|rash|marks",
    "stiff neck", "neck stiff*", "bent|shorter|deformed|misshapen", "wrong way", "out +of shape", "odd angle",
    "swallow*|ate|drank|chew* battery|batteries|magnet*|capsule*|cleaner|bleach|detergent|powder|chemical*",
    "took|taken|had too many", "black|tarry poo|stool*|stools", "poo|stool* black|tar*", "chemo*", "warfarin",
    "blood thinner*", "anticoagul*", "hurt +people|+others|+us|+someone", "knife", "weapon")
"""NHS "When to call 999" and NHS 111 "Go to A&E" alarm qualifiers, in plain and casual words."""

SELF_EVIDENT = phrases(
    "overdos*", "not stop* bleed*", "bleed* not stop*", "unconscious*", "not breathing",
    "stopped breathing", "vomit*|cough* blood", "throw*|threw|bring*|cough* +up blood", "heart attack", "stroke",
    "anaphyla*",
    "sepsis", "septic", "meningitis",
    "cut +myself deep",
    "=fitting", "=fits", "seizure*", "convuls*",
    "saying|said|texted goodbye", "written|wrote +the|+my notes|letters|note", "all her|his|my pills|tablets")
"""Alarm words that are a symptom description by themselves (NHS: When to call 999)."""

CONFUSED = phrases("confus*", "confussed", "delirious", "not making sense", "seeing|hearing things")
"""Sudden confusion (NHS: When to call 999; NICE NG51)."""

NOT_MEDICAL = t.NOT_MEDICAL_RESPONSE + NOT_MEDICAL_SENSE
"""Things said of systems, markets or work, not of a body."""

NOT_MEDICAL_CONFUSION = phrases("confus* about|by|which|what|how|whether|with", "confusing")
"""Being unsure of something is not confusion as a symptom."""

INFANT = phrases("baby", "babies", "infant", "newborn", "new born", "week* old", "month* old", "pregnan*",
                 "pregnent", "expecting")
"""A baby or a pregnant person: a lower threshold (NICE NG143; NHS: pregnancy)."""

YOUNG_BABY = phrases("week* old", "newborn", "new born", "days old")
"""A baby under about 3 months (NICE NG143: any fever at under 3 months is red)."""

YOUNG_BABY_FEVER = phrases("hot", "temp*", "fever*", "thermometer", "=38*", "=39*", "=40*", "=101*", "=102*")
"""A raised temperature."""

INFANT_ALARM = phrases("drows*", "sleepy", "breath* fast|quick*|hard|times", "stop* breathing", "wheez*",
                       "fontanelle", "sucking in", "not|wont take +her|+his bottle", "bottle",
                       "not|refus* feed*|drink*|eat*", "weak|high|pitch* cry*",
                       # NICE NG143 red: a weak, high-pitched or continuous cry; a moan is no normal cry either
                       "moan*", "whimper*", "groan*", "continuous|constant* cry*|crying",
                       "grunt*", "bulg*", "green vomit*|sick", "vomit*|sick green", "pale", "cold +to +touch",
                       "cold skin|hands|feet", "bleed*", "not|less mov*", "not|stopped kick*")
"""What needs care now in a baby or in pregnancy (NICE NG143 red; NHS: your baby; pregnancy)."""


# The NHS "When to call 999" and "Go to A&E" lists by kind of sign: each list item, in plain words, is enough
# with a symptom or a person (SYMPTOM_TEXT); the specific rules keep the finer reasons and advice.
CHEST = phrases("chest pain*|hurt*|tight*|pressure|heav*|squeez*|crush*|ach*|odd|weird|sore",
                "pain*|pressure|tight*|tightnes*|squeez*|crush*|heav* +in|+on|+across|+my|+his|+her chest",
                "chest pian", "clutch* +his|+her|+my chest", "sitting +on +my|+his|+her chest")
"""Chest pain, pressure, heaviness, tightness or squeezing."""

CHEST_WITH = t.SUDDEN + t.SEVERE + phrases(
    "breath*", "breathles", "sweat*", "clammy", "sick", "nause*", "throw* up", "arm|arms", "jaw", "neck", "back",
    "shoulder*", "spread*", "going|goes into|up|down", "dizz*", "faint*", "pale", "grey|gray", "minutes|mins|hour*",
    "stairs", "at rest", "not go* away", "will not stop", "tingl*", "numb*", "pregnan*", "pregnent", "cocaine",
    "electric*", "crash*", "steering wheel", "elephant", "like +an", "heart attack")
"""NHS chest pain / AHA: 999 when chest pain is sudden, spreads, lasts, or comes with breathlessness, sweating,
sickness or faintness (a heart attack's signs)."""

BREATH_ALARM = phrases("suffocat*", "cannot get enough air", "cannot get +my|+his|+her words|+a sentence",
                       "cannot finish|talk|speak", "cannot lie flat|down", "froth*", "stuck +in +his|+her|+my throat",
                       "breath* fast|quick*|hard|deep", "breath*|inhal* smoke", "smoke inhal*", "hoarse",
                       "throat tight|thick|closing", "tight|thick throat")
"""NHS 999: severe difficulty breathing, too breathless to speak; NHS: smoke inhalation (A&E)."""

BLEED = phrases("bleed*|bleding|bleedin|blood heavily|badly|alot|lot|loads|soak*|soaked|spurt*|pumping|pouring|still",
                "soak* through", "lost +a lot +of blood", "nosebleed* 20|30|minutes|still", "nosebleed* not stop*",
                "blood* still going")
"""NHS 999: bleeding that will not stop; heavy bleeding."""

INJURY = phrases("stab*", "=shot", "hit +by +a car|bus|van|lorry|train", "car|motorbike|bike|road crash|accident",
                 "high speed", "fell|fallen|fall from|off +a|+the|+his|+her window|roof|ladder|wall|height|horse",
                 "bone* stick*|poke*|showing", "sticking out", "cut|chopped|ripped off", "crush*", "puncture*",
                 "electric shock", "electrocut*", "house|building|kitchen fire", "in +a fire", "=hypothermia",
                 "found +on +the floor", "freezing",
                 "icy|freezing|cold hands|feet", "hands|feet icy|freezing|cold")
"""NHS 999: serious injuries, knife or gun wounds, falls from height, electric shock, fire; NHS: hypothermia."""

HEAD_HARM = phrases("sick", "vomit*", "throw* up", "threw up", "forget*", "remember", "same question*|stuff|thing",
                    "double", "blurr*", "clear fluid", "fluid", "drows*", "sleepy", "knocked out", "confus*")
"""NHS head injury: go to A&E with vomiting, memory loss, double vision, clear fluid or drowsiness."""

HEAD_HIT = t.HEAD + phrases("beam", "cupboard")
"""Something hit a head."""

EYE = phrases("eye|eyes")
EYE_HARM = phrases("splash*", "spray*", "flew", "chemical*", "cleaner", "bleach", "acid", "metal", "punched",
                   "double", "see* double", "blood")
"""NHS eye injuries: A&E for chemicals, high-speed objects, a blow with double vision."""

BURN = t.BURN + phrases("burned", "blister*", "blisturs", "scalded", "charred")
BURN_SERIOUS = phrases("face", "chest", "groin", "genital*", "large", "big", "bigger", "electric*", "socket",
                       "charred", "white", "leathery", "baby", "toddler", "child", "son", "daughter", "boiling",
                       "hot oil", "voice", "hoarse")
"""NHS burns: A&E for large or deep burns, electrical or chemical burns, the face, genitals, and children."""

SWALLOWED_HARM = t.CHEMICAL + phrases("weedkiller", "washing powder|up liquid", "safety pin", "pin", "coin*",
                                      "under +the +sink", "cleaning product*|stuff|spray", "something|anything")
SWALLOWED_HOW = phrases("=" + "|=".join(str(n) for n in range(9, 100)), "too|to many|much", "double",
                        "extra", "by mistake|accident", "accident*", "some +of +my|+his|+her|+the|+grandma*|+grandad*",
                        "loads", "load", "bunch", "handful", "whole", "all", "strip", "box", "bottle", "grandma*",
                        "grandad*", "mum*", "mom*") + t.CHILD
"""NHS poisoning and overdose: A&E for a child who swallowed medicine or a chemical, or an adult too much."""

SUGAR = phrases("sugar*", "glucose", "hypo", "diabet*", "insulin", "ketones", "=type +1|+one", "=t1d|=t1", "=type1",
                "meter +reads|+reading|+says|+showing|+shows +hi|+high", "reading|reads|says|showing =hi +on",
                # NICE NG18 / NHS type 1 diabetes: the signs before it is known (thirst, weeing, weight loss)
                "drinking|thirsty +and +weeing|peeing|urinating", "weeing|peeing loads|lots|constantly",
                "weeing|peeing all +the +time",
                "always|really|very|so thirsty", "drinking loads|lots|constantly")
SUGAR_ALARM = phrases("woozy", "shak*", "shakey", "confus*", "drows*", "asleep", "cannot think", "not coming up",
                      "cannot bring", "acting drunk", "sugar*|glucose|bm =1|=2", "fruity", "pear drops", "ketones",
                      "mumbl*", "vomit*", "being sick", "throw* up", "threw up",
                      "tummy|stomach|belly pain*|ache*|hurt*",
                      "breath* fast|deep|heavy|hard")
"""NHS: low blood sugar (999 if drowsy or confused, or not rising); diabetic ketoacidosis (A&E)."""

URINE = phrases("not|never passed urine|water|wee", "not had +a wee", "cannot|not able|unable pee|wee|urinate",
                "not been able +to pee|wee", "not wee* +all day|+since")
"""NICE NG51: no urine passed; NHS: urinary retention (A&E)."""

STROKE = phrases("one side", "nonsense", "gibberish", "=drift*", "cannot raise|lift +both|+her|+his|+my arm*",
                 "seeing double", "double vision", "crooked", "dribbl* one side", "numbness down", "hand|arm|leg weak",
                 "weak hand|arm|leg",
                 # NHS TIA: call 999 even when the signs pass ("for ten minutes, back to normal now")
                 "cannot|could not|not get +her|+his|+my|+the|+any words +out", "words +out", "get +words +out",
                 "speech went|gone|go|was|funny|strange|weird|jumbled|garbled", "lost +the|+her|+his|+my strength",
                 "strength +in +her|+his|+my +right|+left|+one", "face droop*|drop*|dropped", "unsteady", "off balance")
"""BE FAST / NHS 999 (and NHS TIA: 999 even if the signs pass): stroke signs in other words."""

ALLERGEN = t.ALLERGEN + phrases("sesame", "prawn*", "antibiotic*", "injection", "peanut*", "nuts")
ALLERGY_ALARM = phrases("wheez*", "faint*", "dizz*", "hoarse", "throat", "tongue", "tung", "lips",
                        "swell*", "sweling", "swollen", "huge", "sick", "vomit*", "breath*", "mouth funny|tingl*")
"""RCUK anaphylaxis: a trigger with airway, breathing, circulation, skin or gut signs."""

MIND = phrases("collecting|saving|stockpil* pills|tablets", "edge +of +a|+the bridge|cliff|roof",
               "kill +him|+her|+us|+them", "psychosis", "psychotic", "barricad*",
               # NHS help for suicidal thoughts: call 999 if you cannot keep yourself safe
               "cannot|=cant keep +myself|+herself|+himself|+themselves|+me|+her|+him safe",
               "unable +to keep +myself|+herself|+himself|+themselves|+me|+her|+him safe",
               "not safe +with|+from|+around myself|herself|himself|themselves")
"""NHS: mental health emergency (999 if someone is in danger now). Suicidal thoughts in words alone are
safety.self_harm's to judge (crisis resources; an emergency when imminent), as NHS help for suicidal thoughts does."""

OTHERS_HARM = phrases("kill|killing|hang|hanging|end +himself|+herself|+themselves|+themself",
                      "hurt|hurting|harm|harming|cut|cutting +himself|+herself|+themselves|+themself +on +purpose",
                      "hurt|hurting|harm|harming|cut|cutting +himself|+herself|+themselves|+themself deliberately",
                      "end|take|ending|taking +his|+her|+their +own|+life", "suicid*", "=od", "overdos*",
                      "want*|wanting|wish* +to +die|+to +be +dead",
                      "jump*|throw* +from|+off|+out window|windows|balcony|bridge|roof|building|cliff")
"""Someone else's words about ending their life or harming themselves (NHS: if someone's life is at risk, 999)."""

OWN_HARM = phrases("kill*|=kil +myself", "kill*|=kil +my +self", "suicid*", "end|ending +my +life",
                   "end|ending +it +all",
                   "going|gonna|want* +to end +it|+things", "take|taking +my +own +life", "hang* +myself",
                   "not +be +here tomorrow", "goodbye note|letter*")
"""The writer's own words about ending their life (NHS: help for suicidal thoughts)."""

MEANS = phrases("noose", "ligature*", "rope", "gun", "guns", "shotgun", "rifle", "firearm*", "pistol", "knife",
                "knives", "blade*", "razor*", "pills", "tablets", "meds", "stockpil*", "bridge", "ledge", "cliff",
                "roof", "tracks", "railway", "motorway", "hose", "exhaust", "charcoal")
"""The means at hand or a place to use them (NHS help for suicidal thoughts: call 999 when someone has the means)."""

SELF_INJURY = phrases("been +cutting", "cutting +again", "self harm*", "selfharm*",
                      "cut*|burn*|hurt* +myself|+herself|+himself|+themselves")
SELF_INJURY_SERIOUS = phrases("wound|cut|cuts|gash +is|+are|+was +really|+very|+too deep|gaping",
                              "deep|gaping wound|cut|cuts|gash", "=gaping", "not|never|cannot close",
                              "not|never stop* bleed*", "=fat", "tendon*", "need* stitches", "too deep")
"""NHS self-harm: go to A&E for a wound that is deep, gaping or will not stop bleeding."""

GARAGE_FUMES = phrases("garage car|engine running", "car|engine running garage", "exhaust hose|pipe car|window")
SHUT_IN = phrases("locked|shut|barricad* +himself|+herself|+themselves|+myself", "not answer*|respond*",
                  "will|won't|cannot +not +come +out|+open")
"""NHS help for suicidal thoughts (999): someone shut in a garage with a car's engine running."""

DANGER_NOW = phrases("locked", "lock* +himself|+herself|+themselves", "right now", "tonight", "going +to", "gonna",
                     "about +to", "plan*", "pills|tablets|rope|knife|blade|gun|razor", "bridge|cliff|roof|ledge|tracks|"
                     "railway|motorway", "goodbye", "left +a +note", "will|won't|cannot|not answer*|respond*|open*",
                     "missing", "run off|away", "drove off", "walked out")
"""Cues that the danger is now (NHS: help for suicidal thoughts: call 999 if someone is in immediate danger)."""

DANGER_PLACE = phrases("on|at|near|top +the|+a|+of bridge|cliff|roof|rooftop|ledge|tracks|railway|platform|motorway")
DISTRESS = phrases("cannot do +this|+it +anymore", "cannot do +this|+it +any +more", "cannot cope", "cannot go +on",
                   "cannot take +it|+this|+any", "want +it +to +end|+stop", "end +it", "no point", "hopeless",
                   "give up", "goodbye", "jump*", "not want +to +be +here", "want*|wanting|wish* +to +die",
                   "kill +himself|+herself|+myself|+themselves", "end +it +all")
"""A place people go to end their life, with words of despair (NHS: mental health emergency, 999)."""

BELLY = phrases("rock|board hard", "belly|tummy|stomach hard|rigid|swollen|tight", "green vomit|sick|stuff|bile",
                "vomit*|sick green", "black sticky|tarry",
                "sticky +like tar", "like tar", "bowels", "lump +in +her|+his|+my groin", "balls", "testic*",
                "scrotum", "waters broke|gone|went|green*", "cord", "contractions",
                "numbness around", "control +my|+his|+her bladder|bowels",
                # NHS acute pancreatitis, abdominal aortic aneurysm (A&E / 999): belly pain going through to the back
                "tummy|stomach|belly|abdomen|abdominal|upper through|into|to +my|+his|+her|+the back",
                "tummy|stomach|belly|abdomen|abdominal +and +back pain*|ache*",
                "back +and +tummy|+stomach|+belly pain*")
"""NHS 999 / A&E: severe or rigid tummy, green vomit, black poo, a painful groin lump or testicle, labour signs."""

BREATHLESS = phrases("short* breath", "breathless*", "breathles", "wheez*", "cannot breath*")
BREATHLESS_WITH = phrases("chest", "calf", "leg", "swollen", "swell*", "faint*", "dizz*", "sweat*", "clammy", "hives",
                          "throat", "smoke", "water", "river", "pool", "sentence*", "words", "talk", "speak",
                          "worse fast|quickly", "sudden*", "lie down|flat", "pregnan*", "birth", "blue", "grey")
"""NHS: breathlessness is an emergency when sudden, severe, or with chest pain, a swollen leg or faintness."""

SWALLOW = phrases("swallow*", "swalow*", "ate", "eaten", "drank", "chew*", "licked", "=took", "=taken", "downed",
                  "snort*", "sniff*", "inhaled", "injected",
                  "necked", "popped", "swolled|swollowed|swalled|swollowd")
"""Swallowing or taking something (not 'had', 'eating', 'drinking': too common in other requests)."""

PREGNANCY_ALARM = phrases("bleed*", "bleedin", "bled",
                          "lost|losing|losin|passing|passed|gush*|pour* +a|+some|+lots|+loads|+lot|+load|+of "
                          "blood|clots", "lost|losing|losin|passing|passed|gush*|pour* +blood|+clots",
                          "blood loss", "=clots", "pain*", "cramp*", "hurt*", "faint*", "dizz*", "lightheaded",
                          # NHS premature labour: regular tightenings before 37 weeks, call the maternity unit now
                          "regular|painful|strong tighten*", "tighten* every",
                          "fell", "fall", "headache*",
                          "blurr*", "vision", "waters", "cord", "contractions", "movement*", "quiet", "fever*",
                          "temp*", "unwell", "breath*")
"""NHS pregnancy: bleeding, pain, a fall, headache with vision change, waters, fewer movements: maternity unit now."""

PREGNANT = t.PREGNANT + phrases("had +a|+my|+our|+her +baby", "gave birth", "giving birth", "after birth", "postnatal",
                                "post natal", "postpartum")
"""Pregnant or recently pregnant."""

JAUNDICE = phrases("jaundice*", "yellow skin|eyes|face", "skin|eyes|face yellow",
                   "gone|turned|turning|looks|look* yellow",
                   "yellowish|yellowy")
JAUNDICE_WITH = phrases("fever*", "temp*", "shiver*", "shak*", "rigors", "confus*", "drows*", "sleepy", "bleed*",
                        "bruis*", "tummy|stomach|belly|rib* pain*|ache*|hurt*", "pain* +under +my|+his|+her|+the ribs",
                        "swollen belly|tummy", "belly|tummy swollen")
"""NHS jaundice: A&E for yellow skin or eyes with a high temperature or shivering, confusion, drowsiness, bleeding
or tummy pain (cholangitis, liver failure); NHS: newborn jaundice in the first 24 hours."""

UNPLACED_ALARM = phrases(
    # the words of the NHS "when to call 999" list: in a text no rule could place, they fail safe to emergency
    "collaps*", "unconscious*", "unrespons*", "not breathing", "chok*", "seizure*", "convuls*", "overdos*", "poison*",
    "swallow*", "blue", "suffocat*", "drown*", "=stabbed", "=shot", "crush*", "electrocut*", "bleed*", "blood*",
    "agony", "excruciat*", "=worst", "sudden*", "numb*", "paralys*", "slurr*", "confus*", "delirious", "drows*",
    "faint*", "passed out", "blacked out", "anaphyla*", "epipen", "ambulance", "=999", "=911", "emergency",
    "dying", "=die", "=fit", "=fitting", "floppy", "=limp", "not waking", "will not wake", "cannot breath*", "gasp*",
    "grey", "mottled", "blotchy", "purple", "newborn", "chemo*", "crash*", "broken", "burn*", "=scald*", "bitten",
    "stung", "severe*", "terrible", "unbearable")
"""Alarm words (NHS: when to call 999) for the fail-safe on texts no rule placed."""

SKIN_LOSS = phrases("peel* +off", "skin +coming +off", "in sheets", "blister* all over|everywhere",
                    "skin blister*|peel*",
                    "blister*|peel* skin", "widespread blister*", "sloughing")
SKIN_LOSS_WITH = phrases("fever*", "temp*", "mouth", "lips", "eyes", "genital*", "new tablets|medicine|medication",
                         "started +taking", "unwell", "baby", "newborn")
"""NHS: Stevens-Johnson syndrome, staphylococcal scalded skin (A&E: skin blistering or peeling with a fever or
sore mouth, eyes or genitals)."""

TAMPON = phrases("tampon*", "menstrual cup", "mooncup")
TAMPON_WITH = phrases("fever*", "temp*", "rash", "sunburn*", "dizz*", "faint*", "vomit*", "diarrh*", "confus*")
"""NHS: toxic shock syndrome (999 / A&E: a tampon with a high temperature, a sunburn-like rash, dizziness, vomiting)."""

HUMAN_BITE = phrases("=bitten", "=bite", "=bites", "human bite")
BY_A_PERSON = phrases("fight", "human", "punch*", "person", "someone", "somebody", "teeth", "tooth")
"""NHS: animal and human bites (A&E for a human bite that breaks the skin, or a bite with a fever)."""

YOUNG_BABY_MONTHS = phrases("1|2|3|one|two|three month|months|mth|mths old", "turned 3 months")
"""A baby of 3 months or under, in months (NICE NG143)."""


def _pregnant(doc: Doc) -> bool:
    """A gestation in weeks, or a pregnancy word (NHS pregnancy warning signs)."""
    return doc.has(PREGNANT) or readings.gestation_weeks(doc.text) is not None


def _about_a_body(doc: Doc) -> bool:
    """Not said of systems, markets or work (NOT_MEDICAL), unless a person or a body part is named too: "hit
    her head on the side of the pool" and "texted me goodbye" are about a body; "the pool collapsed" is not."""
    if doc.has(NOT_MEDICAL_SENSE) and not doc.has(BODY_CONTEXT):  # "the worst part is she's not breathing"
        return False
    return not doc.has(t.NOT_MEDICAL_RESPONSE) or doc.has(BODY_CONTEXT)


def _pregnant_body(doc: Doc) -> bool:
    """Pregnant, in a text about a body."""
    return _pregnant(doc) and _about_a_body(doc)


_WHY = ("the description holds a sign from the NHS 'call 999 / go to A&E' list; the rules could not name "
        "the condition, so it is treated as an emergency to be safe")
_SOURCE = "NHS: When to call 999; NHS 111: Go to A&E (fail safe for alarm signs)"

FAILSAFE_FLAGS: tuple[RedFlag, ...] = (
    RedFlag("failsafe_alarm", _WHY, Urgency.EMERGENCY, (ALARM, SYMPTOM_TEXT), check=_about_a_body, source=_SOURCE),
    RedFlag("failsafe_self_evident", _WHY, Urgency.EMERGENCY, (SELF_EVIDENT,), check=_about_a_body,
            source=_SOURCE),
    RedFlag("failsafe_confusion", _WHY, Urgency.EMERGENCY, (CONFUSED, SYMPTOM_TEXT), none_of=NOT_MEDICAL_CONFUSION,
            check=_about_a_body, source=_SOURCE),
    *(RedFlag(f"failsafe_{name}", _WHY, Urgency.EMERGENCY, groups, check=_about_a_body, source=src)
      for name, groups, src in (
          ("chest", (CHEST, CHEST_WITH), "NHS: When to call 999 (heart attack signs); NHS: chest pain"),
          ("breathing", (BREATH_ALARM, SYMPTOM_TEXT), "NHS: When to call 999 (breathing); NHS: smoke inhalation"),
          ("breathless", (BREATHLESS, BREATHLESS_WITH), "NHS: shortness of breath (999 if sudden, severe, "
           "or with chest pain); NHS: DVT and pulmonary embolism"),
          ("bleeding", (BLEED, SYMPTOM_TEXT), "NHS: When to call 999 (bleeding that will not stop)"),
          ("injury", (INJURY, SYMPTOM_TEXT), "NHS: When to call 999 (serious injuries); NHS: hypothermia"),
          ("head", (HEAD_HIT, t.MECHANISM + phrases("beam", "cupboard"), HEAD_HARM), "NHS: head injury (A&E)"),
          ("eye", (EYE, EYE_HARM), "NHS: eye injuries (A&E)"),
          ("burn", (BURN, BURN_SERIOUS), "NHS: burns and scalds (A&E)"),
          ("swallowed", (SWALLOW, SWALLOWED_HARM + t.MEDICINE, SWALLOWED_HOW), "NHS: poisoning; overdose (A&E)"),
          ("sugar", (SUGAR, SUGAR_ALARM, SYMPTOM_TEXT), "NHS: low blood sugar (999); diabetic ketoacidosis (A&E)"),
          ("urine", (URINE, SYMPTOM_TEXT), "NICE NG51 (no urine); NHS: urinary retention (A&E)"),
          ("stroke", (STROKE, SYMPTOM_TEXT), "BE FAST; NHS: When to call 999 (stroke)"),
          ("allergy", (ALLERGEN, ALLERGY_ALARM, SYMPTOM_TEXT), "RCUK: anaphylaxis; NHS: When to call 999"),
          ("mind", (MIND,), "NHS: mental health emergency; help for suicidal thoughts"),
          ("others_harm", (OTHERS_HARM, DANGER_NOW), "NHS: help for suicidal thoughts (someone in immediate "
           "danger: 999)"),
          ("others_means", (OTHERS_HARM, MEANS), "NHS: help for suicidal thoughts (the means at hand: 999)"),
          ("own_means", (OWN_HARM, MEANS), "NHS: help for suicidal thoughts (the means at hand: 999)"),
          ("self_injury", (SELF_INJURY, SELF_INJURY_SERIOUS), "NHS: self-harm (A&E for a deep or gaping wound)"),
          ("garage_fumes", (GARAGE_FUMES, SHUT_IN), "NHS: help for suicidal thoughts (someone in immediate danger: "
           "999); NHS: carbon monoxide poisoning"),
          ("jaundice", (JAUNDICE, JAUNDICE_WITH), "NHS: jaundice (A&E with fever, confusion, tummy pain)"),
          ("tampon", (TAMPON, TAMPON_WITH), "NHS: toxic shock syndrome (999 / A&E)"),
          ("skin_loss", (SKIN_LOSS, SKIN_LOSS_WITH), "NHS: Stevens-Johnson syndrome; scalded skin syndrome (A&E)"),
          ("human_bite", (HUMAN_BITE, BY_A_PERSON), "NHS: animal and human bites (A&E)"),
          ("belly", (BELLY, SYMPTOM_TEXT), "NHS: When to call 999 / Go to A&E (tummy, bowel, groin, labour)"),
      )),
    # no body check: "bridge" and "roof" are no systems' words here, the words of despair make it a person's
    RedFlag("failsafe_danger_place", "words of despair at a place people go to end their life", Urgency.EMERGENCY,
            (DANGER_PLACE, DISTRESS), source="NHS: mental health emergency (999); help for suicidal thoughts"),
    RedFlag("failsafe_pregnancy", "a sign of danger in pregnancy or just after birth", Urgency.EMERGENCY,
            (PREGNANCY_ALARM,), check=_pregnant_body,
            source="NHS: pregnancy warning signs (999 / maternity unit now)"),
    RedFlag("failsafe_young_baby_months", "a baby of 3 months or under with a high temperature",
            Urgency.EMERGENCY, (YOUNG_BABY_MONTHS, YOUNG_BABY_FEVER), source="NICE NG143 red (under 3 months)"),
    RedFlag("failsafe_young_baby_fever", "a baby under 3 months with a high temperature", Urgency.EMERGENCY,
            (YOUNG_BABY, YOUNG_BABY_FEVER), source="NICE NG143 red (under 3 months, 38C or above); NHS 111"),
    RedFlag("failsafe_infant", "a baby or pregnant person with a sign that needs care now", Urgency.EMERGENCY,
            (INFANT_ALARM, INFANT), check=_about_a_body,
            source="NICE NG143 red (babies); NHS: your baby, pregnancy (999 / A&E / maternity unit now)"),
)
"""Emergency rules for symptom descriptions with an alarm qualifier that no specific rule placed."""
