"""Red flags built from families of words (a body part, a sign, a qualifier), each from named guidance.

Part of safety (safety.red_flags adds FAMILY_FLAGS to its combined rules). Where safety.red_flags
lists phrasings, a family rule asks for one word of each family anywhere in the text, in any order:
"pain in the middle of my chest going up into my jaw" holds a chest word, a pain word and a spread
word, which is what the AHA list describes, however it is worded. Fail safe: families err towards
matching, so a family rule over-triages rather than misses.
"""
from __future__ import annotations

from safety import readings
from safety import red_flag_terms as t
from safety.flag_types import RedFlag, Urgency
from safety.patterns import Doc, phrases

_E = Urgency.EMERGENCY

CHEST_PART = phrases("chest", "breastbone", "sternum", "ribcage", "heart hurt*|pain*|ach*")
"""The chest."""

CHEST_DISCOMFORT = t.PAIN + phrases("discomfort", "pressure", "tight*", "heavy", "heaviness", "squeez*", "crush*",
                                    "burning", "weight", "band", "elephant", "vice", "clutch*", "grip*")
"""Any chest discomfort (AHA: pain, pressure, squeezing, fullness)."""

CARDIAC_FEATURE = phrases(
    "breath*", "breathless*", "sweat*", "sweaty", "clammy", "sick", "nause*", "vomit*", "throw* up", "jaw", "arm",
    "arms", "neck", "shoulder*", "back", "spread*", "radiat*", "going|goes|moving|travel* up|down|into|through",
    "faint*", "dizz*", "lightheaded", "light headed", "grey|gray", "pale", "=ashen", "minutes", "mins", "not go* away",
    "will not go", "at rest", "sitting still", "tingl*", "numb*", "collaps*", "heart attack", "cold sweat")
"""AHA: the signs that come with chest discomfort in a heart attack."""

FACE_PART = phrases("face", "mouth", "smile", "lip|lips", "eyelid", "cheek", "side +of +face|mouth")
"""Parts of the face (BE FAST: face)."""

FACE_ASYMMETRY = phrases("droop*", "drooping", "droopy", "wonky", "lopsided", "crooked", "fallen", "dropped", "sagg*",
                         "slipped", "uneven", "twisted", "slanted", "hanging", "one side", "dribbl*", "drool*",
                         "=skew", "=skewed", "=askew", "not straight", "off centre|center")
"""A face that has fallen on one side (BE FAST: face drooping)."""

SPEECH_WRONG = phrases("speech|speaking|talking|words|voice slurr*|slurred|muddled|jumbled|garbled|strange|funny|"
                       "weird|wrong|gibberish|nonsense|rubbish|drunk|mixed|off",
                       "slurr*", "cannot|hardly get|find +my|+the|+her|+his words", "cannot|hardly get|find words",
                       "words right|out|wrong|mixed", "came|coming|comes out nonsense|gibberish|wrong|jumbled|garbled",
                       "cannot speak|talk|understand", "talking|speaking rubbish|nonsense|gibberish|drunk|funny",
                       "not understand* +what|+me|+us|+anything")
"""Speech trouble (BE FAST: speech)."""

LIMB_WEAK = phrases("arm|leg|hand|foot|side stopped|gone|went", "arm|leg|hand|foot|side not working",
                    "arm|leg|hand|foot|side funny|weird|limp",
                    "hand|arm|leg stopped working", "arm|leg|hand|side weak*|numb*|dead|heavy|useless|floppy",
                    "weak*|numb*|dead arm|leg|hand|side", "cannot lift|raise|hold|keep|move arm*|leg*|hand*",
                    "cannot lift|raise|hold|keep +her|+his|+my|+one",
                    "drop* things", "arm* drift*|fall*|drop*")
"""One-sided weakness (BE FAST: arm)."""

BREATH = t.BREATHLESS + phrases("breath*", "breathing", "breathe", "air", "asthma*", "inhaler*", "puffer", "pump")
"""Breathing of any kind."""

BREATH_SEVERE = t.SEVERE + phrases("cannot talk|speak|finish|say|get", "sentence*", "words out", "word +at +a +time",
                                   "gasp*", "fighting", "struggl*", "laboured|labored", "worse +and +worse",
                                   "really|very|so fast", "not working|helping", "not doing anything",
                                   "doing nothing", "not help*", "blue|grey|gray", "drowning", "so bad",
                                   "hard work", "very hard", "really hard", "exhausted")
"""What makes breathing trouble an emergency (NHS: severe difficulty breathing, too breathless to speak,
the reliever not helping)."""

ALLERGEN_MORE = t.ALLERGEN + phrases(
    "cashew*", "almond*", "walnut*", "hazelnut*", "pistachio*", "pecan*", "nut allerg*", "egg*", "milk", "dairy",
    "fish", "seafood", "crab", "lobster", "mussel*", "kiwi", "wheat", "soya", "mustard", "celery", "lupin", "hornet",
    "insect sting", "injection", "jab", "vaccine", "contrast", "dye", "new medicine|tablet*|pill*", "ibuprofen",
    "aspirin", "reaction")
"""Allergens (Resuscitation Council UK: food, stings, medicines are the common triggers)."""

ALLERGY_SIGN_MORE = t.ALLERGY_SYSTEMIC + phrases(
    "sick", "throw* up", "threw up", "puff*", "mouth|throat|tongue|lips funny|tingl*|itchy|strange|weird|burning",
    "tingl* mouth|lips|tongue", "lips|tongue|face|eyes|eyelids big|fat|huge|massive|swell*|swollen|puff*",
    "croaky", "raspy", "squeaky", "gasp*", "pass out", "passing out", "floppy", "pale", "clammy",
    "tummy pain", "drool*")
"""RCUK anaphylaxis: airway, breathing or circulation problems, and sickness or tummy pain with them."""

NECK_STIFF = phrases("neck stiff*|rigid", "stiff|rigid neck", "cannot bend|move|turn|touch|put neck|chin|head",
                     "hurts|pain* bend*|move*|turn* neck|head", "neck hurts|pain* bend*|move*|turn*",
                     "neck hurts|pain* look* down",
                     "chin chest", "look* down hurts|pain*")
"""A stiff neck in plain words (NHS: meningitis)."""

MENINGITIS_WITH = phrases("fever*", "feverish", "temperature", "=temp", "high temp*", "headache*", "vomit*", "sick",
                          "light", "rash", "spots", "drows*", "sleepy", "confus*", "burning up", "hot")
"""Other meningitis signs (NHS: meningitis)."""

CO_SOURCE = phrases("boiler", "gas fire|heater|leak|cooker|smell|appliance", "heater", "generator", "flue",
                    "carbon monoxide", "=co alarm|detector", "exhaust", "fumes", "barbecue|bbq inside|indoors|tent",
                    "stove", "wood burner", "log burner", "chimney")
"""Sources of carbon monoxide (NHS: carbon monoxide poisoning)."""

CO_SIGN = phrases("headache*", "dizz*", "sick", "nause*", "vomit*", "drows*", "sleepy", "confus*", "breathless*",
                  "short* breath", "collaps*", "faint*", "tired", "weak*")
"""Its signs."""

HEAVY_BLEED_PLACE = phrases("period*", "bleed*", "blood", "flow", "pad|pads|tampon*", "miscarr*", "after birth",
                            "postpartum", "vaginal*")
"""Heavy bleeding from the womb, or bleeding anywhere."""

HEAVY_BLEED_AMOUNT = phrases("heavy", "heavily", "soak*", "flood*", "pouring", "gushing", "clots", "loads", "lot",
                             "pad|pads|tampon* every|each|an|half|hour|minutes", "through +a pad|pads|tampon*",
                             "changing pad*|tampon*", "will not stop", "not stop*")
"""More than a usual bleed."""

FAINTNESS = phrases("dizz*", "faint*", "lightheaded", "light headed", "pale", "passing|pass|passed out",
                    "woozy", "collaps*", "heart racing", "clammy", "cold sweat", "weak*", "shaky")
"""Signs of losing a lot of blood (NHS: heavy bleeding with feeling faint: 999)."""

HEAD_MEMORY = phrases("forget*", "forgot*", "memory", "cannot remember", "does not remember", "not remember",
                      "repeat* +herself|+himself|+myself|+the +same", "same question*", "confus*", "dazed",
                      "not making sense", "blank", "vague", "drows*", "sleepy", "vomit*", "sick", "throw* up",
                      "seeing double", "blurr*", "fit", "seizure*", "clear fluid", "blood ear*|nose",
                      "warfarin", "blood thinner*", "anticoagul*", "headache worse", "worse headache")
"""NHS head injury: signs that need A&E."""

HEAD_BLOW = t.MECHANISM + phrases("banged|bang*", "bonk*", "smack*", "walked into", "head butt*", "headbutt*",
                                  "hit +his|+her|+my|+their head", "off bike|horse|ladder|trampoline|swing")
"""How a head was hurt."""

URINE_NONE = phrases("cannot pee|wee|urinate|piss", "unable pee|wee|urinate", "not pee*|weed|urinated|passed",
                     "cannot pass urine|water", "nothing coming out", "not able +to pee|wee|urinate",
                     "no pee|wee|urine")
"""Not passing urine (NHS: urinary retention; NICE NG51: no urine in 18 hours)."""

URINE_RETENTION_WITH = phrases("belly|tummy|bladder|abdomen swollen|swell*|bloated|hard|full|pain*|hurt*|ach*",
                               "swollen|painful|full belly|tummy|bladder|abdomen", "at all", "all day",
                               "since +this +morning|+yesterday|+last", "hours", "bursting", "agony")
"""NHS urinary retention: unable to pee with a swollen, painful tummy: A&E."""

THROAT_SEVERE = phrases("hardly|barely|cannot open +my|+his|+her|+the mouth", "cannot open mouth",
                        "throat|tonsil one side", "one side +of +my|+the|+his|+her throat", "cannot swallow +my",
                        "muffled|hot potato voice", "jaw locked|stiff")
"""NHS: quinsy and throat swelling (urgent; 999 if breathing is hard)."""

SADDLE = phrases("bum", "bottom", "buttock*", "groin", "genital*", "privates", "saddle", "between +my|+his|+her legs",
                 "back +passage")
"""The saddle area (NHS: cauda equina syndrome)."""

NUMB = phrases("numb*", "cannot feel", "no feeling", "lost feeling", "tingl*", "dead", "pins needles")
"""Lost or changed feeling."""

BACK = phrases("back", "spine", "sciatica", "lower back", "back pain*")
"""The back."""

CONTINENCE_LOST = phrases("wet +my|+him|+her|+them self|selves", "wet myself|himself|herself", "wetting myself",
                          "soiled", "pooed myself", "cannot control|hold bladder|bowel*|wee|pee|poo",
                          "lost control bladder|bowel*", "incontinen*", "cannot feel +when +i need", "leak* urine|wee")
"""Loss of bladder or bowel control (NHS: cauda equina: A&E)."""

SEVERED = phrases("cut|chopped|sliced|ripped|torn|came off", "amputat*", "sever*ed", "severed", "hanging off",
                  "tip off")
"""A part of the body cut off."""

DIGIT = phrases("finger*", "thumb*", "toe|toes", "hand", "ear", "foot", "arm", "leg", "fingertip*", "nose")
"""Parts that can be cut off."""

OPEN_FRACTURE = phrases("bone stick*|poking|showing|through|out|visible", "see +the bone", "see bone",
                        "bone +is +out", "bone through skin")
"""A bone through the skin (NHS: broken arm or leg: 999)."""

DROWSY = phrases("falling asleep", "fall* asleep", "drows*", "very|really|so|super sleepy", "cannot keep eyes open",
                 "hard|difficult wake|rouse", "will not wake", "cannot wake", "not waking", "not wake",
                 "out +of +it", "zonked", "barely conscious", "semi conscious", "not responding", "unresponsive",
                 "not making sense", "confus*", "talking rubbish|nonsense|gibberish", "acting drunk|strange|weird",
                 "aggressive", "passed out")
"""Drowsiness or confusion (NICE NG143 red: does not wake or stay awake; NHS: hypoglycaemia 999)."""

SUGAR = phrases("sugar*", "glucose", "=bm", "=bg", "hypo", "hypoglyc*", "diabet*", "insulin")
"""Blood sugar and diabetes."""

ALL_OF_THEM = phrases("all +her|+his|+my|+their|+the|+of", "every", "entire", "whole", "rest +of")
"""Every tablet of a pack (NHS: overdose)."""

CROUP = phrases("bark*", "seal", "croup", "noisy breath*|breathing", "breathing noisy", "stridor",
                "whistl* breath*|breathing", "rasping breath*")
"""NHS: croup and noisy breathing (urgent; 999 if breathing is hard)."""

SPEECH_STROKE = phrases("came|coming|comes out nonsense|gibberish|wrong|jumbled|garbled|funny|muddled",
                        "speech|speaking|talking|words slurr*|slurred|muddled|jumbled|garbled|strange|funny|weird|"
                        "wrong|gibberish|nonsense|mixed", "slurring", "slurred words|speech",
                        "words coming out wrong|funny|jumbled")
"""Speech that went wrong: a stroke or TIA sign on its own (NHS: stroke and TIA, call 999 even if it passes)."""

NECK = phrases("neck")
"""The neck."""

NECK_MOVE = phrases("stiff*", "rigid", "cannot|not bend|move|turn", "bend*", "hurts move|turn|bend",
                    "cannot look down")
"""A neck that will not move."""

MENINGITIS_STRONG = phrases("fever*", "feverish", "temperature", "=temp", "high temp*", "burning up", "rash", "spots",
                            "dots", "vomit*", "throw* up", "light hurt*|hurts|bright", "bright light*", "drows*",
                            "confus*")
"""Signs that make a sore neck meningitis (NHS: meningitis)."""

RASH_DARK = phrases("purple|maroon|bruise|bruising|bruised|blood|blackish|dark spots|dots|rash|marks|blotches|"
                    "pinpricks|patches", "dark red spots|dots|rash|marks|blotches",
                    "spots|dots|rash|marks purple|dark|bruis*",
                    "spots|rash +that +look* like bruis*", "rash|spots|dots|marks bruis*")
"""A dark, bruise-like rash (NHS: meningitis; NICE NG143 red: non-blanching rash)."""

ILL = phrases("fever*", "temperature", "=temp", "hot", "burning up", "unwell", "ill", "headache*", "vomit*", "sick",
              "sleepy", "drows*", "floppy", "baby", "child", "toddler", "son", "daughter", "kid", "irritable",
              "shiver*", "cold hands|feet")
"""Being ill (the context of a rash)."""

FROST_PART = phrases("finger*", "toe|toes", "nose", "ear|ears", "feet", "foot", "hand|hands", "fingertip*", "cheek*")
FROST_LOOK = phrases("white", "waxy", "hard", "black", "blue", "grey|gray", "blister*", "cannot feel", "numb*",
                     "solid")
FROST_COLD = phrases("ski*", "snow*", "mountain*", "freez*", "frozen", "ice", "icy", "frost*", "climb*", "cold",
                     "below zero", "minus")
"""NHS frostbite: white, hard or blue-grey skin after the cold (A&E)."""

DEFORMED = phrases("turned|pointing|facing out*|wrong|sideways|backwards", "wrong +way", "odd|funny|wrong|weird angle",
                   "deform*", "bent wrong|backwards|sideways", "misshapen", "twisted round")
"""A limb out of shape (NHS: broken arm or leg, hip fracture: 999)."""

CANNOT_STAND = phrases("cannot stand|walk|move", "cannot get up|off", "not able stand|walk", "not able get up",
                       "unable stand|walk", "unable get up", "stuck floor", "still on floor|ground")
OLDER = phrases("grandma|grandad|grandpa|granny|grandmother|grandfather|nan|nana|gran|elderly|older|old",
                "mum|mom|dad|father|mother +is +in +her|+his 70s|80s|90s", "pensioner")
"""NHS hip fracture: an older person who fell and cannot get up (999)."""

LIMB_OR_INJURY = t.PAIN + CANNOT_STAND + t.MECHANISM + phrases("ankle", "leg", "arm", "wrist", "hip", "knee", "elbow",
                                                               "shoulder", "foot", "finger*")
"""A limb, or an injury to one."""

EXPEL = phrases("cough*", "vomit*", "throw* up|blood", "threw up|blood", "bring*|brought|bringing up|blood",
                "spit*", "spitting", "sick", "puk*", "retch*", "heav*")
BLOOD = phrases("blood", "bloody", "blood stained", "coffee grounds")
"""NHS: coughing or vomiting blood (999 / A&E)."""

FITTING = phrases("is|was|keeps|started|still|and =fitting", "=fitting +and|+now|+again",
                  "having|had|keeps|several =fits",
                  "convuls*", "seizing", "jerking", "twitching all over", "eyes roll*",
                  "having +a +fit", "had +a +fit", "fit +and", "seizure*")
"""A fit in any words (NHS: call 999 for a first fit, or one over 5 minutes)."""

BABY_BREATH = phrases("breath*|breathing fast|quick*|rapid*|hard|heavy|struggl*|laboured|noisy|funny|weird",
                      "fast|quick|rapid|hard breathing|breaths", "wheez*", "panting", "nostrils flar*")
"""Breathing harder than normal, in a baby (NHS bronchiolitis; NICE NG143 red and amber)."""

FEEDING_POOR = phrases("not|refus* feed*|drink*|eat*|milk|breastfeed*|bottle",
                       "not take bottle|milk|feeds", "off feeds|food|milk",
                       "not interested feed*|milk|bottle", "feeding less|poorly|badly", "less feeds|milk")
"""Poor feeding (NICE NG143 amber; with breathing trouble in a baby, an emergency)."""

SICKLE = phrases("sickle")
SICKLE_CRISIS = t.PAIN + t.SEVERE + phrases("fever*", "temperature", "=temp", "breath*", "chest", "crisis",
                                            "priapism", "erection", "yellow", "weak*", "numb*")
"""NHS sickle cell disease: a painful crisis, a fever or chest symptoms need A&E."""

SHARP = phrases("=pin", "=pins", "=needle*", "=glass", "=blade*", "=razor*", "=nail", "=tack*", "=toothpick*",
                "fish bone", "=fishbone", "=bone", "=earring*", "=staple*", "=screw*", "=battery|batteries", "=magnet*",
                "safety pin")
"""Sharp or dangerous objects that can be swallowed (NHS: swallowed objects, A&E)."""

ABDOMEN = phrases("tummy", "belly", "stomach", "abdomen", "abdominal", "gut")
RIGID = phrases("rigid", "rock hard", "hard +as", "=board", "solid", "very|really|so hard", "hard swollen",
                "swollen hard", "distended")
"""NHS: call 999 for a rigid, hard tummy (peritonitis) with pain."""

HOUSEHOLD = t.CHEMICAL + phrases("powder", "washing", "fabric", "conditioner", "softener", "cleaning", "spray",
                                 "polish", "glue", "paint", "white spirit", "turps", "lighter fluid", "fuel",
                                 "descaler", "rat poison", "slug pellets", "fertiliser", "plant food",
                                 "shampoo", "soap", "toilet", "limescale", "unblocker", "disinfectant", "dettol",
                                 "sanitiser|sanitizer", "hand gel", "pesticide", "insecticide", "fly spray",
                                 "windscreen", "wash", "essential oil*", "eucalyptus", "nail varnish", "superglue",
                                 "gas", "solvent*", "aerosol*")
"""More household poisons (NHS: poisoning)."""

HERNIA = phrases("hernia", "lump|bulge|swelling groin|tummy|navel|scrotum", "lump|bulge|swelling belly button",
                 "groin|tummy|navel lump|bulge|swelling", "belly button lump|bulge|swelling")
HERNIA_DANGER = phrases("vomit*", "sick", "cannot push", "will not go back", "gone|turned hard|red|dark|purple",
                        "cannot poo|fart", "not poo*", "agony", "sever*")
"""NHS hernia: A&E if it becomes painful and hard, cannot be pushed back, or with vomiting."""

UPPER_BODY = phrases("jaw", "upper back", "between +my|+his|+her shoulder*", "shoulder*", "left arm", "arms",
                     "neck", "upper tummy|stomach|belly")
UPPER_DISCOMFORT = t.PAIN + phrases("discomfort", "pressure", "heavy", "heaviness", "tight*", "squeez*", "ach*")
BREATH_SWEAT = phrases("breathless*", "short* breath", "out +of +breath", "sweat*", "clammy", "cold sweat",
                       "grey|gray", "faint*", "lightheaded")
"""AHA: discomfort in the arms, back, neck, jaw or stomach with breathlessness or a cold sweat (a heart attack
without chest pain, commoner in women, older people and people with diabetes)."""

THREAT = phrases("will|going|gonna|wants|want|threaten*|threatening hurt|kill|harm|attack|stab|hit|strangle",
                 "threaten*|threatening", "wants +to hurt|kill|harm", "violent", "weapon", "knife")
OTHERS = phrases("us", "them", "someone", "people", "others", "family", "me", "kids", "children", "mum|mom|dad",
                 "wife|husband|partner", "neighbour*", "baby", "everyone", "anybody", "anyone")
"""NHS: a mental health emergency when someone is a danger to others (999)."""

COLD_HANDS = phrases("cold|icy|freezing|ice|blue hands|feet|fingers|toes|legs",
                     "hands|feet|fingers|toes|legs cold|icy|freezing|blue", "hands|feet like ice")
"""NHS sepsis and meningitis: cold hands and feet with a fever."""

HOT_SUBSTANCE = phrases("hot|boiling|burning oil|fat|water|tea|coffee|steam|soup|milk|iron|pan|grill|oven|metal",
                        "kettle", "steam", "chip pan", "=fryer", "flames", "fire", "on fire", "firework*")
"""Burns from hot things (NHS: burns and scalds)."""

SWELL_HOT = phrases("swollen|swelling|swell*", "red", "hot", "warm")
JOINT = phrases("knee", "joint", "ankle", "hip", "elbow", "wrist", "shoulder")
"""NHS septic arthritis: a hot, swollen, painful joint with a fever (urgent; concerning)."""


_BABY_WORDS = phrases("baby", "babies", "infant*", "newborn*")


def _baby(doc: Doc) -> bool:
    """A baby under 1 year by a written age, or named a baby (NHS: babies and bronchiolitis)."""
    months = readings.age_months(doc.text)
    return (months is not None and months < 12) or (months is None and doc.has(_BABY_WORDS))


def _young_baby(doc: Doc) -> bool:
    """A baby under 3 months by a written age (NICE NG143: the youngest band)."""
    months = readings.age_months(doc.text)
    return months is not None and months < 3


def _pregnant_weeks(doc: Doc) -> bool:
    """A bare gestation ('35 weeks') counts as pregnancy (NHS pregnancy warning signs)."""
    return readings.gestation_weeks(doc.text) is not None


PALPITATION = phrases("heart racing|pounding|fluttering|thumping|jumping", "heart beating fast", "heart going mad",
                      "racing|pounding|thumping heart", "palpitat*", "heartbeat fast|irregular")
PALP_DANGER = phrases("faint*", "pass* out", "passed out", "blacked out", "black out", "dizz*", "lightheaded",
                      "chest pain*|tight*|pressure", "breathless*", "short* breath", "collaps*")
"""NHS heart palpitations: 999 with chest pain, breathlessness, fainting or feeling faint."""

POSTPARTUM = phrases("had +a +baby", "gave|given birth", "after birth|delivery|labour", "postpartum", "post natal",
                     "postnatal", "c section", "caesarean", "cesarean", "since +the birth", "new mum|mom")
POSTPARTUM_ILL = phrases("fever*", "temperature", "=temp", "shiver*", "shaking", "smelly", "very|really unwell",
                         "heart racing", "breathless*", "confus*", "feel* awful|terrible")
"""NHS / NICE NG51: sepsis after childbirth (a fever with feeling very unwell after giving birth)."""

HEIGHT = phrases("window", "roof", "balcony", "ladder", "scaffold*", "tree", "first|second|upper floor", "storey",
                 "cliff", "height", "horse", "wall", "bunk bed", "loft")
"""NHS: call 999 after a fall from a height."""

FELL = phrases("fell|fall*|fallen|jumped|tumbled", "came off")
"""A fall."""

BRUISE_LIKE = phrases("bruis*", "purple", "dark red", "pinprick*", "petechia*", "blood spots", "blood under skin")
"""A rash that looks like bruising (NHS: meningitis)."""

YOUNG_BABY_SIGN = phrases("stopped|not|refus* feed*|feeding|milk|bottle", "off feeds|milk", "very|really|so cold",
                          "cold touch", "floppy", "limp", "blue", "grey|gray", "pale", "drows*", "sleepy", "hard wake",
                          "vomit*", "throw* up", "sick", "breath*", "grunt*", "fit", "seizure*", "jaundice*", "yellow",
                          "rash", "high|weak* cry", "not responding", "dry nappies", "no wet nappies")
"""NICE NG143 / NHS: a baby under 3 months with a sign of illness needs to be seen now."""

BOWEL_STOPPED = phrases("not pooed|opened|been|gone", "not opened bowels", "cannot poo|fart", "cannot pass wind",
                        "cannot go +to +the|+to toilet", "cannot go toilet",
                        "constipat*", "no poo", "bowels not")
BOWEL_WITH = phrases("vomit*", "sick", "throw* up", "swollen|bloated|distended belly|tummy|stomach|abdomen",
                     "belly|tummy|stomach|abdomen swollen|bloated|distended")
"""NHS: bowel obstruction (A&E): no poo or wind, a swollen tummy and vomiting."""

CRUSHED = phrases("crush*", "mangled", "trapped|caught|stuck in|under machine*|machinery|press|roller|car|lorry",
                  "run over", "ran over", "pinned under")
MACHINE = phrases("machine*", "machinery", "press", "roller", "car", "lorry", "forklift", "tractor", "door", "weight*",
                  "under", "heavy", "wall", "wheel*")
"""NHS: when to call 999 (crush injuries)."""

EYE_BLOW = phrases("punched|hit|struck|elbowed|poked|kicked|whacked|ball|blow|smacked eye", "eye hit|punched|struck")
EYE_HARM = phrases("double vision", "seeing double", "see double", "cannot see", "vision blurr*|gone|dark",
                   "blurr*", "blood in|inside eye", "eye bleed*", "pupil", "sight")
"""NHS eye injuries: A&E for a blow with changed vision or blood in the eye."""

FROTH = phrases("froth*", "foam*", "pink sputum|phlegm|spit")
LIE_FLAT = phrases("cannot lie flat|down", "cannot lay flat|down", "sit up breathe", "propped up")
"""NHS: 999 for frothy pink sputum or breathlessness lying flat getting worse fast (heart failure)."""

OPEN_WATER = phrases("river", "sea", "lake", "canal", "swimming pool", "bath", "reservoir", "quarry", "under water",
                     "underwater", "went under", "pulled out")
WATER_IN = phrases("swallow*|inhaled|breathed lot|load|mouthful water", "swallow* water", "went under", "under water",
                   "underwater", "nearly|almost drown*", "drown*", "pulled out")
DROWNING_SIGN = phrases("breath*", "cough*", "chest", "sleepy", "drows*", "confus*", "vomit*", "sick", "blue")
"""NHS: drowning and near-drowning (A&E even if the person seems well; 999 if breathing is affected)."""

PSYCHOSIS = phrases("psychosis", "psychotic", "paranoi*", "hearing voices", "hallucinat*", "seeing things",
                    "delusion*", "schizophreni*", "manic", "mania")
PSYCHOSIS_DANGER = phrases("kill*", "hurt*", "weapon*", "knife", "barricad*", "attack*", "danger*", "threat*",
                           "suicid*", "jump*", "run* into road|traffic")
"""NHS: a mental health emergency when psychosis comes with danger to the person or others (999)."""

FAMILY_FLAGS: tuple[RedFlag, ...] = (
    RedFlag("chest_family", "chest pain, pressure or tightness with breathlessness, sweating, sickness, faintness or "
            "pain spreading to the arm, jaw, neck or back can be a heart attack", _E,
            (CHEST_PART, CHEST_DISCOMFORT, CARDIAC_FEATURE), ("Stop and sit down; do not drive yourself.",
            "If the person collapses and is not breathing normally, start CPR; the call handler will guide you."),
            supersedes=("chest_pain",), source="AHA warning signs of a heart attack; NHS: heart attack (999)"),
    RedFlag("face_family", "a face drooping or fallen on one side is a stroke sign (BE FAST)", _E,
            (FACE_PART, FACE_ASYMMETRY), ("Note the time the signs started.", "Do not give food or drink."),
            source="AHA / BE FAST stroke (face); NHS: stroke (999)"),
    RedFlag("speech_family", "speech that is slurred, muddled or not understood, with weakness, numbness or a "
            "drooping face, is a stroke sign (BE FAST)", _E, (SPEECH_WRONG, LIMB_WEAK + FACE_ASYMMETRY + t.SUDDEN),
            ("Note the time the signs started.", "Do not give food or drink."),
            source="AHA / BE FAST stroke (speech, arm)"),
    RedFlag("limb_family", "sudden weakness or numbness of an arm, leg or one side is a stroke sign (BE FAST)", _E,
            (LIMB_WEAK, t.SUDDEN + FACE_ASYMMETRY + phrases("one side", "left|right side")),
            ("Note the time the signs started.", "Do not give food or drink."),
            source="AHA / BE FAST stroke (arm: sudden weakness on one side)"),
    RedFlag("breathing_family", "breathing trouble that is severe, getting worse, or too bad to talk, or a reliever "
            "that does not help", _E, (BREATH, BREATH_SEVERE), ("Sit upright; use a reliever inhaler if prescribed.",),
            none_of=phrases("not severe", "mild*"),
            source="NHS: shortness of breath, asthma attack (999: severe difficulty breathing)"),
    RedFlag("anaphylaxis_family", "swelling, breathing, throat or faintness signs after a food, sting or medicine "
            "can be anaphylaxis", _E, (ALLERGEN_MORE, ALLERGY_SIGN_MORE),
            ("Use an adrenaline auto-injector now if one has been prescribed.",
             "Lie down with legs raised, or sit up if breathing is hard."),
            none_of=phrases("hay fever", "hayfever", "runny nose", "sneez*"),
            source="Resuscitation Council UK: anaphylaxis"),
    RedFlag("meningitis_family", "a stiff neck with fever, headache, vomiting, a rash or dislike of light can be "
            "meningitis", _E, (NECK_STIFF, MENINGITIS_WITH), ("Do not wait for a rash to appear.",),
            source="NHS: meningitis"),
    RedFlag("carbon_monoxide", "headaches, dizziness or sickness near a boiler, heater, fire or fumes can be carbon "
            "monoxide poisoning", _E, (CO_SOURCE, CO_SIGN), ("Get into fresh air now; turn off the appliance if "
            "safe and do not go back in.",), source="NHS: carbon monoxide poisoning (999 / A&E if symptoms)"),
    RedFlag("heavy_bleed_faint", "heavy bleeding with dizziness, faintness or paleness", _E,
            (HEAVY_BLEED_PLACE, HEAVY_BLEED_AMOUNT, FAINTNESS), ("Lie down with your legs raised.",),
            source="NHS: heavy periods, heavy bleeding (999 if dizzy or faint)"),
    RedFlag("head_injury_family", "a blow to the head followed by memory loss, confusion, drowsiness, vomiting, "
            "vision trouble, or on blood thinners", _E, (t.HEAD + phrases("concuss*"), HEAD_BLOW + phrases("concuss*"),
                                                         HEAD_MEMORY), ("Keep still; do not drive.",),
            source="NHS: head injury and concussion (A&E)"),
    RedFlag("speech_alone", "speech that suddenly went slurred, muddled or strange is a stroke or TIA sign, even if "
            "it passes", _E, (SPEECH_STROKE,), ("Note the time the signs started.", "Do not give food or drink."),
            none_of=phrases("drunk", "alcohol", "pints", "beer", "wine", "tired"),
            source="NHS: stroke, transient ischaemic attack (999 even if symptoms pass); BE FAST"),
    RedFlag("neck_meningitis", "a stiff neck that will not bend, with fever, a rash, vomiting or dislike of light", _E,
            (NECK, NECK_MOVE, MENINGITIS_STRONG), ("Do not wait for a rash to appear.",), source="NHS: meningitis"),
    RedFlag("dark_rash", "a purple or dark, bruise-like rash in someone unwell can be meningitis or sepsis", _E,
            (RASH_DARK + t.RASH, BRUISE_LIKE + RASH_DARK, ILL),
            ("Do the glass test, but do not wait for it: get help now.",),
            source="NHS: meningitis; NICE NG143 red (non-blanching rash)"),
    RedFlag("frostbite_family", "skin that is white, hard, numb or blue-grey after the cold can be frostbite", _E,
            (FROST_PART, FROST_LOOK, FROST_COLD), ("Do not rub the area; warm it gently.",),
            source="NHS: frostbite (A&E)"),
    RedFlag("deformed_limb", "a limb out of shape after a fall or injury", _E, (DEFORMED, LIMB_OR_INJURY),
            ("Keep the limb still; do not try to straighten it.",),
            source="NHS: broken arm or leg, hip fracture (999 / A&E)"),
    RedFlag("older_fall", "an older person who fell and cannot get up or stand", _E, (OLDER, t.MECHANISM, CANNOT_STAND),
            ("Do not try to lift them; keep them warm.",), source="NHS: falls, hip fracture (999)"),
    RedFlag("blood_expelled", "coughing, vomiting or bringing up blood", _E, (EXPEL, BLOOD),
            none_of=phrases("blood test*", "blood pressure", "blood sugar", "nose bleed*", "nosebleed*", "gums"),
            source="NHS: coughing up blood, vomiting blood (999 / A&E)"),
    RedFlag("fitting", "a fit or seizure, or someone fitting now", _E, (FITTING,),
            ("During a seizure, do not hold the person down or put anything in their mouth; time it.",),
            none_of=phrases("fitting room|in|kitchen|bathroom|carpet|wardrobe", "fits +in|+me|+well|+perfectly",
                            "seizure* asset*|property|goods|funds|drugs|cash|vehicle*|bank*"),
            source="NHS: when to call 999 (a fit)"),
    RedFlag("baby_breathing", "a baby breathing fast or hard, wheezing or panting, with poor feeding or drowsiness",
            _E, (BABY_BREATH, FEEDING_POOR + DROWSY + phrases("floppy", "pale", "grunt*", "pauses")),
            ("Keep the baby upright and calm while you wait.",), check=_baby,
            source="NHS: bronchiolitis (999 for breathing difficulty, pauses, grunting); NICE NG143 red and amber"),
    RedFlag("sickle_crisis", "sickle cell disease with severe pain, a fever or chest symptoms", _E,
            (SICKLE, SICKLE_CRISIS), source="NHS: sickle cell disease (A&E for a crisis, fever or chest pain)"),
    RedFlag("swallowed_sharp", "a swallowed sharp object, battery or magnet", _E, (t.INGEST, SHARP),
            ("Do not make the person vomit; do not give food or drink.",),
            none_of=phrases("swallow* pills|tablets", "fish +and +chips"),
            source="NHS: swallowed objects (A&E for sharp objects, batteries, magnets)"),
    RedFlag("rigid_abdomen", "a hard, rigid tummy with pain", _E, (ABDOMEN, RIGID, t.PAIN + t.SEVERE),
            ("Do not eat or drink until you have been seen.",), source="NHS: when to call 999 (severe stomach pain, "
            "hard tummy); peritonitis"),
    RedFlag("household_poison", "a child who swallowed a household product", _E, (t.CHILD, t.INGEST, HOUSEHOLD),
            ("Do not make the child vomit.", "Keep the container to show."),
            none_of=phrases("food poisoning", "drink* water|milk|juice"),
            source="NHS: poisoning (children: A&E or 999)"),
    RedFlag("hernia_stuck", "a lump in the groin or tummy that is painful, hard, will not go back or comes with "
            "vomiting", _E, (HERNIA, HERNIA_DANGER), source="NHS: hernia (A&E if painful, hard or vomiting)"),
    RedFlag("upper_body_heart", "discomfort in the jaw, arm, upper back or neck with breathlessness or a cold "
            "sweat can be a heart attack", _E, (UPPER_BODY, UPPER_DISCOMFORT, BREATH_SWEAT),
            ("Stop and sit down; do not drive yourself.",),
            source="AHA warning signs of a heart attack (other upper body areas; women's symptoms)"),
    RedFlag("danger_others_family", "someone threatening to hurt others", _E, (THREAT, OTHERS),
            ("Keep yourself and others safe; do not try to take a weapon.",),
            none_of=phrases("joke", "game", "film", "movie", "book", "story"),
            source="NHS: mental health emergency (999 if someone is in danger)"),
    RedFlag("fever_cold_hands", "a fever with cold hands and feet can be sepsis or meningitis", _E,
            (MENINGITIS_STRONG, COLD_HANDS), ("Do not wait for a rash.",),
            source="NHS: meningitis and sepsis signs (cold hands and feet with a fever)"),
    RedFlag("hot_burn_extent", "a burn from something hot on the face, a large area, or a child", _E,
            (HOT_SUBSTANCE + t.BURN, t.BURN_EXTENT + phrases("splash* face|eye*", "toddler", "baby")),
            ("Cool the burn under cool running water for 20 minutes; cover loosely with cling film.",),
            none_of=t.BURNING_PEE, source="NHS: burns and scalds (A&E: face, large area, children)"),
    RedFlag("pregnancy_weeks", "a symptom of danger in pregnancy (a gestation given in weeks)", _E,
            (t.PREGNANCY_SEVERE + phrases("tummy|stomach|belly|abdominal pain*|ache*|cramp*"),),
            check=_pregnant_weeks, source="NHS: bleeding and pain in pregnancy (999 / maternity unit now)"),
    RedFlag("palpitations_faint", "a racing or pounding heart with faintness, chest pain or breathlessness", _E,
            (PALPITATION, PALP_DANGER), ("Sit or lie down.",),
            source="NHS: heart palpitations (999 with chest pain, breathlessness or fainting)"),
    RedFlag("postpartum_sepsis", "a fever or shivering and feeling very unwell after giving birth can be sepsis", _E,
            (POSTPARTUM, POSTPARTUM_ILL, t.INFECTION + POSTPARTUM_ILL), ("Do not wait for more signs.",),
            source="NICE NG51 (recently pregnant); NHS: sepsis"),
    RedFlag("fall_from_height", "a fall from a height", _E, (FELL, HEIGHT),
            ("Do not move the person unless they are in danger.",),
            none_of=phrases("fell asleep", "fall asleep", "fell +for"),
            source="NHS: when to call 999 (serious injury, fall from a height)"),
    RedFlag("young_baby_ill", "a baby under 3 months who is feeding poorly, cold, floppy, drowsy, breathing hard or "
            "being sick needs to be seen now", _E, (YOUNG_BABY_SIGN,), ("Keep the baby warm and with you.",),
            check=_young_baby, source="NICE NG143 red (under 3 months); NHS: your baby (999 / A&E)"),
    RedFlag("bowel_obstruction", "no poo or wind with a swollen tummy or vomiting", _E, (BOWEL_STOPPED, BOWEL_WITH),
            source="NHS: bowel obstruction (A&E)"),
    RedFlag("crush_injury", "a crush injury", _E, (CRUSHED, MACHINE + t.PAIN + phrases("hand", "arm", "leg", "foot",
                                                                                       "chest")),
            ("Do not move the person unless they are in danger.",), none_of=phrases("crush* on", "crushing it"),
            source="NHS: when to call 999 (severe injuries, crush injuries)"),
    RedFlag("eye_blow_vision", "a blow to the eye with double or blurred vision, or blood in the eye", _E,
            (EYE_BLOW, EYE_HARM), source="NHS: eye injuries (A&E)"),
    RedFlag("frothy_breathless", "pink frothy phlegm, or breathlessness lying flat with a cough", _E,
            (FROTH + LIE_FLAT, phrases("cough*", "breath*", "spit*", "phlegm", "sputum")), ("Sit upright.",),
            source="NHS: heart failure (999 for sudden breathlessness, pink frothy sputum)"),
    RedFlag("near_drowning", "water breathed in or swallowed in a near-drowning, with breathing, cough or "
            "drowsiness after", _E, (OPEN_WATER + WATER_IN, WATER_IN, DROWNING_SIGN),
            ("Keep the person warm and watch their breathing.",),
            source="NHS: drowning (A&E after a near-drowning, 999 if breathing is affected)"),
    RedFlag("psychosis_danger", "psychosis with danger to the person or others", _E, (PSYCHOSIS, PSYCHOSIS_DANGER),
            ("Keep yourself and others safe; do not try to take a weapon.",),
            source="NHS: mental health emergency (999); psychosis"),
    RedFlag("pregnancy_severe_pain", "severe pain in pregnancy", _E, (t.PREGNANT, t.SEVERE, t.PAIN),
            ("Call your maternity unit now if you are not calling 999.",),
            source="NHS: pregnancy (999 for severe tummy pain; ectopic pregnancy, placental abruption)"),
    RedFlag("cauda_equina", "back pain with numbness around the bottom or genitals, or loss of bladder or bowel "
            "control", _E, (BACK + SADDLE, SADDLE + CONTINENCE_LOST, NUMB + CONTINENCE_LOST),
            ("Do not wait to see if it gets better.",), source="NHS: cauda equina syndrome (A&E)"),
    RedFlag("severed_part", "a finger, toe or other body part cut off", _E, (SEVERED, DIGIT),
            ("Press on the wound; wrap the part in cling film, keep it cool, not touching ice.",),
            none_of=phrases("hair", "nail", "nails", "skin +off", "cut off +from", "cut off +the"),
            source="NHS: when to call 999 (severe injuries)"),
    RedFlag("open_fracture", "a bone showing through the skin", _E, (OPEN_FRACTURE,),
            ("Cover the wound with a clean dressing; do not push the bone back.",),
            source="NHS: broken arm or leg (999 if the bone is sticking out)"),
    RedFlag("hypo_drowsy", "low blood sugar or diabetes with drowsiness, confusion or not waking", _E,
            (SUGAR, DROWSY), ("If the person can swallow safely, give a sugary drink; never give food or drink to "
            "someone drowsy or unconscious.",), source="NHS: low blood sugar (hypoglycaemia): call 999"),
    RedFlag("whole_pack", "every tablet of a pack or bottle taken is an overdose", _E,
            (t.INGEST, ALL_OF_THEM, t.MEDICINE), ("Do not make the person vomit.",
            "Keep the container or packet to show the responders."), source="NHS: overdose (A&E even if well)"),
    RedFlag("urine_retention_family", "being unable to pass urine at all, or with a swollen, painful tummy", _E,
            (URINE_NONE, URINE_RETENTION_WITH), source="NHS: urinary retention (A&E)"),
)
"""Emergency rules from families of words (AHA, BE FAST, NHS, RCUK)."""

THROAT_FLAG = RedFlag("throat_one_side", "a one-sided sore throat, or being unable to open the mouth, needs care "
                      "today", Urgency.URGENT, (THROAT_SEVERE,),
                      emergency_if="breathing is hard, or the person cannot swallow their spit",
                      source="NHS: quinsy (urgent)")
"""An urgent warning from a family."""

CROUP_FLAG = RedFlag("croup_noisy", "a barking cough or noisy breathing needs a check today", Urgency.URGENT,
                     (CROUP,), emergency_if="the skin between the ribs pulls in, the lips go blue or grey, or "
                     "the child is very drowsy", source="NHS: croup (urgent GP or 111; 999 if breathing is hard)")
"""NHS croup: urgent."""

JOINT_FLAG = RedFlag("hot_joint", "a hot, swollen, painful joint needs care today", Urgency.URGENT,
                     (JOINT, SWELL_HOT, t.PAIN + SWELL_HOT), emergency_if="there is a high temperature and you feel "
                     "very unwell", source="NHS: septic arthritis, gout (urgent)")
"""NHS: a hot swollen joint."""
