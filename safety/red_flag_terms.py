"""Words of the combined red flags: a body system or sign plus a qualifier of severity, onset or cause.

Part of safety (safety.red_flags builds its COMBINED rules from these groups). Each group is a set of
alternatives found anywhere in the text; a combined rule holds when one phrase of every group is
found, so it meets wordings no one listed ("his breathing is really laboured", "out of nowhere my
left side went numb") instead of exact phrasings. Fail safe: a group errs towards matching.
"""
from __future__ import annotations

from safety.patterns import exact, phrases

SUDDEN = phrases("sudden*", "out +of +nowhere", "all +of +a +sudden", "out +of +the +blue", "came on fast|quickly",
                 "all +at +once", "without warning", "in|within +seconds|+instantly",
                 "in|within +a +few +seconds", "in|within +a|+an +second|+instant",
                 "came|come|comes +on +in|+within|+over +seconds", "like +a thunderclap|bolt|bang|switch")
"""Onset words (NHS: call 999 for sudden severe pain, sudden confusion, sudden weakness)."""

SEVERE = phrases("sever*", "=worst", "agony", "agonising|agonizing", "excruciat*", "unbearable", "really|very|so bad",
                 "terrible", "intense", "crippling", "extreme*", "tearing", "ripping")
"""Severity words."""

PAIN = phrases("pain*", "ache*", "aching", "headache*", "hurt*", "agony", "cramp*", "=sore")
"""Pain words."""

WORST_EVER = phrases("=worst ever|life", "=worst +i +have +ever", "never had +a +pain|headache +like",
                     "=worst +of +my +life", "=wrst|=worse|=wosrt|=wost headache|pain +i|+ive|+i've|+ever|+of",
                     "headache|pain +i|+ive +ever +had")
"""'The worst ever' (NHS headaches: a sudden, extremely painful headache)."""

BREATH_TROUBLE = phrases(
    "breath*|breathing labou?red|laboured|labored|difficult*|struggl*|hard|noisy|rasping",
    "labou?red|laboured|labored|difficult*|struggl*|trouble|problem* breath*",
    "cannot|barely|hardly get|catch +my|+his|+her|+a +breath", "cannot get air|breath*",
    "ribs pull*|suck*|sink*|draw*", "pull*|suck* in ribs|chest|under", "skin between ribs", "head bobb*",
    "lips|face|tongue|fingers|fingertips|skin|nails|mouth|toes blue|bluish|blueish|grey|gray|purple",
    "blue|bluish|blueish|grey|gray|purple lips|face|tongue|fingers|fingertips|skin|nails|mouth",
    "turning|going|gone|went|turned blue", "like +i +am drowning", "cannot get enough air")
"""Breathing that is hard work or failing (NHS: call 999 for severe difficulty breathing, blue lips;
NICE NG143 red: grunting, chest indrawing)."""

BREATHLESS = phrases("breathless*", "short* breath", "out +of +breath", "wheez*", "puff*", "breath* fast|quick*")
"""Shortness of breath of any degree."""

BREATHLESS_SEVERE = phrases("cannot talk|speak|finish|lie|lay|sleep", "unable talk|speak|lie", "too breathless",
                            "worse fast|quickly|rapidly", "getting worse fast|quickly|rapidly",
                            "one|two|few|couple word*", "single words", "inhaler not help*|working|touch*")
"""What makes breathlessness an emergency (NHS: too breathless to speak, eat or sleep; sudden; worsening)."""

FITS = phrases("fits|seizures one after|another|again|back", "keep*|kept|having|had|several|repeated fits|seizures",
               "another fit|seizure", "without waking|coming round", "not woken|waking", "not come|came round",
               "will not wake", "not +wake +up", "not come round")
"""Fits and not waking, in other words (NHS: call 999)."""

UNRESPONSIVE = phrases("not answering +us|+me|+anyone|+when", "not respond*", "unrespons*",
                       "went|gone|is|was limp", "keeled over", "blacked out", "=collapsed", "=collapse",
                       "not reacting", "lifeless", "not moving", "not awake", "out +of +it",
                       "barely|hardly rouse|wake|awake", "will not answer", "dropped", "eyes rolling|rolled")
"""Not responding or collapsing: medical only with a person or a symptom (PERSON_OR_BODY)."""

PERSON_OR_BODY = phrases(
    "someone|somebody|friend|mate|dad|mom|mum|father|mother|wife|husband|son|daughter|child|kid|baby|"
    "toddler|man|woman|boy|girl|nan|gran|grandma|grandpa|grandad|partner|brother|sister|flatmate|"
    "neighbour|patient|grandmother|grandfather",
    "fever*", "temp", "temperature", "breath*", "sick", "unwell", "ill", "drunk", "diabet*", "pale", "floor",
    "fell", "ground", "seizure*", "fit", "fitt", "hot", "cold", "eyes", "pills", "tablets", "bloke|guy|lady|stranger",
    "street", "shaking")
"""Someone to whom it happens, or a symptom: keeps 'the server is not responding' out."""

NOT_MEDICAL_RESPONSE = exact(phrases("server|app|website|api|system|page|site|service|endpoint|database|worker|pool|"
                                     "queue|agent|task|email*|message*|text*|support|browser|computer|laptop|phone|"
                                     "screen|printer|market|stock*|price*|deal|building|bridge|tent|project|company|"
                                     "economy|roof|menu|sidebar|bot|model|provider|redis|postgres|celery"))
"""Things that 'do not respond' or 'collapse' without being ill; exact, since a cancel word guessed from a
misspelling ("stuck", "sticky" and "shock" read as "stock") would silence an alarm."""

NEURO = phrases("numb*", "weak* arm|leg|side|face|hand|grip", "arm|leg|side|face|hand weak*",
                "cannot grip|lift|move|feel|walk|see|speak|talk|stand", "lost|loss balance|vision|sight|speech",
                "balance", "vision blurr*|double|gone|went", "blurr*|double vision", "talking|speaking funny|strange|"
                "weird|gibberish|nonsense", "slurr*", "face droop*|drop*|lopsided", "confus*", "muddled",
                "walk straight")
"""Nervous system signs (AHA / BE FAST: balance, eyes, face, arm, speech)."""

STROKE_MORE = phrases("slurred", "slurring", "words|speech|talking|voice slurr*|slurred|garbled|jumbled",
                      "talking|speaking funny|strange|weird|gibberish|nonsense|wrong",
                      "left|right side numb*|weak*|dead|paraly*|went|gone", "side went|gone numb|weak|dead",
                      "droopy|drooping face|mouth|eye|smile", "face|mouth droopy|drooping",
                      "crooked smile|face|mouth", "smile|face|mouth crooked", "arm* drift*", "drifting down",
                      "dribbl* one side")
"""Stroke signs in more words (AHA / BE FAST)."""

ALLERGEN = phrases("allerg*", "alergic|alergy", "nut|nuts|peanut*", "stung|sting*", "bee|wasp", "shellfish|prawn*",
                   "hives", "penicillin", "latex", "epipen|epi pen", "sesame", "after eating", "ate something",
                   "antibiotic*")
"""Allergy context (Resuscitation Council UK: anaphylaxis)."""

ALLERGY_SYSTEMIC = phrases("hoarse*", "wheez*", "breath*", "dizz*", "faint*", "lightheaded", "collaps*",
                           "throat|tongue|lips|face|mouth swell*|swollen|tight*|itch*|clos*",
                           "swell*|swollen throat|tongue|lips|face|mouth", "cannot swallow", "cough*",
                           "voice weird|strange|hoarse|funny|different", "lips|tongue|tung huge|massive|big",
                           "tung swell*|swollen", "hard swallow",
                           "difficult* swallow*", "pale floppy", "floppy", "confus*", "vomit*")
"""Airway, breathing or circulation problems after an allergen (RCUK: anaphylaxis)."""

SKIN_SEPSIS = phrases("blotchy", "blotches", "mottl*", "ashen", "blue|grey|gray skin", "skin blue|grey|gray")
"""Skin colour changes (NICE NG51 / NG143)."""

INFECTION = phrases("infect*", "fever*", "feverish", "temp*", "=uti", "sepsis", "flu", "shiver*", "chemo*",
                    "operation", "surgery", "chills", "unwell", "ill", "baby", "hot", "cold")
"""An infection or its signs (NICE NG51: suspect sepsis with an infection)."""

SEPSIS_SIGN = phrases("confus*", "confussed", "muddled", "not making sense", "slurr*",
                      "breath* very|really|super|so fast|quick*", "fast breathing", "=mottled",
                      "not passed|peed|weed|urinated", "no urine|pee|wee", "not had wee|pee|wee",
                      "feel* like dying", "feel* +like +i +am dying", "going +to +die",
                      "cold touch", "heart racing")
"""NICE NG51 high-risk criteria, in plain words."""

INGEST = phrases("swallow*", "swalow*", "ate", "eaten", "eating", "drank", "drunk", "drink*", "chew*", "licked",
                 "=took", "=taken", "had", "downed", "got into", "got hold", "necked", "popped",
                 "swolled|swollowed|swalled|swollowd")
"""Swallowing or taking something."""

MEDICINE = phrases("pill|pills", "tablet*", "capsule*", "medicine*", "medication*", "meds", "paracetamol",
                   "ibuprofen", "aspirin", "antidepress*", "painkiller*", "sleeping", "codeine", "co codamol",
                   "iron", "insulin", "vitamins",
                   # common names and classes, as people write them (NHS: overdose; medicines A to Z)
                   "tylenol", "advil", "nurofen", "calpol", "xanax", "valium", "diazepam", "benzo*", "oxy*",
                   "morphine", "tramadol", "fentanyl", "heroin", "methadone", "lithium", "amitriptyline",
                   "sertraline", "fluoxetine", "citalopram", "propranolol", "beta blocker*", "warfarin", "metformin",
                   "zopiclone", "pregabalin", "gabapentin", "quetiapine", "olanzapine", "antihistamine*", "opioid*",
                   "drugs", "=ket", "ketamine", "mdma", "ecstasy", "cocaine", "pills", "prescription*", "inhaler*",
                   "heart|blood pressure tablets|pills|meds", "contraceptive*", "statins", "laxative*")
"""Medicines."""

CHEMICAL = phrases("bleach", "cleaner", "detergent", "chemical*", "antifreeze", "battery|batteries", "magnet*",
                   "weedkiller", "pesticide*", "poison*", "laundry", "dishwasher", "pod|pods", "tablet*",
                   "capsule*", "screenwash", "paraffin", "petrol", "perfume", "oil", "berries", "mushroom*",
                   "alcohol", "vodka", "cigarette*", "nicotine", "vape", "e liquid", "button", "mouthwash",
                   "washing liquid", "liquid")
"""Household chemicals and other poisons (NHS: poisoning)."""

AMOUNT = phrases("load|loads|bunch|handful|lot|lots|several", "whole|entire|full box|bottle|pack*|strip|tub",
                 "box|bottle|pack|packet|strip|tub +of",
                 "too|to many|much", "on purpose", "deliberately", "overdos*")
"""More than a dose."""

WITH_ALCOHOL = phrases("with|and vodka|alcohol|wine|beer|whisky|drink*")
"""Medicines with alcohol."""

PARACETAMOL_EXTRA = phrases("double|extra|more|too paracetamol|acetaminophen|tylenol|codamol",
                            "paracetamol|acetaminophen|tylenol|codamol double|extra",
                            "paracetamol|acetaminophen|tylenol|codamol more +than",
                            "paracetamol|acetaminophen|tylenol|codamol too much")
"""NHS: paracetamol overdose, including a staggered one (A&E even if you feel well)."""

CHILD = phrases("toddler*", "child*", "kid|kids", "baby", "son", "daughter", "little one", "year old",
                "month old", "grandson", "granddaughter", "boy", "girl", "yo")
"""A child."""

BURN = phrases("burn*", "burnt", "=scald*", "boiling")  # "=": "scale healthcare" is no scald
"""Burns and scalds."""
BURNING_PEE = phrases("pee|wee|urine|weeing|peeing|urinat* burn*|sting*", "burn*|sting* pee|wee|urinat*|weeing|peeing",
                      "=uti", "water|urine|bladder infect*")
"""Burning or stinging when passing urine: a urine infection sign, no burn of the skin (NHS: urinary tract
infections)."""

BURN_EXTENT = phrases("chest|back|tummy|belly|body|stomach|genitals|groin", "all over", "large|big|huge|bigger|whole",
                      "face|neck", "kettle|pan +of", "legs|arms", "white|charred|black|leathery", "skin came off|peel*",
                      "going|gone|turned white")
"""NHS burns: large, deep, white or charred, or on the face, body or genitals: A&E."""

ELECTRIC_OR_CHEMICAL = phrases("electric*", "socket", "mains", "wire", "cable", "chemical*", "acid", "caustic",
                               "cleaner", "bleach", "lye", "oven cleaner", "drain")
"""NHS burns: all chemical and electrical burns go to A&E."""

CHEMICAL_SPLASH = phrases("splash*|spill*|spilt|poured|got|sprayed acid|caustic|cleaner|bleach|lye|chemical*|"
                          "drain|ammonia|lime|cement")
"""A chemical on the skin."""

SKIN_HARM = phrases("burn*", "white", "blister*", "red", "sting*", "pain*", "hurt*", "peel*", "raw")
"""Signs of a chemical burn."""

HEAD = phrases("head", "hed", "skull", "forehead")
"""The head."""

MECHANISM = phrases("fell", "fall*", "fallen", "hit", "hitting", "banged|bang", "bump*", "knock*", "whack*", "crash*",
                    "accident", "smashed", "struck", "kicked", "punched", "tripped", "slipped")
"""How a head got hurt."""

HOT_DRINK = phrases("tea", "coffee", "hot water|drink|liquid|milk|soup", "kettle", "boiling")
"""Hot liquids (NHS burns and scalds: scalds are most common in young children)."""

SPILT = phrases("down|over|all", "spilt|spilled|spill*|grabbed|pulled|poured|knocked")
"""A hot liquid over someone."""

HEAD_SIGNS_MORE = phrases("throw* up", "threw up", "keeps being sick", "double vision", "seeing double", "bad headache",
                          "headache bad|worse", "slurr*", "fit", "not right")
"""More NHS head injury signs (A&E)."""

KNOCKED_OUT = phrases("knocked|knock* +myself|+himself|+herself|+him|+her|+me|+them out", "knocked out cold",
                      "knocked unconscious", "was|got knocked out")
"""Loss of consciousness from a blow (NHS head injury: A&E)."""

CLOT_MORE = phrases("chest hurt*|ach*|tight*|sore", "pain* breath*", "hurt* when|to breath*", "breath* in hurt*",
                    "breathless*", "short* breath", "cough* blood", "sudden* breath*")
"""NHS DVT: call 999 if breathless or chest pain (a clot in the lung)."""

PREGNANCY_SEVERE = phrases("severe|bad|terrible|worst headache", "headache severe|bad", "flash* light*",
                           "vision blurr*|spots|flash*", "blurr* vision", "spots before|in eyes",
                           "severe|bad|terrible|sharp pain*", "really bad pain*", "pain one side", "shoulder tip",
                           "sudden* swell*", "pain under ribs", "agony", "bleed*", "=fit", "seizure*",
                           "fluid leak*|gush*", "baby mov*", "movement*", "not moved|moving",
                           "waters green|brown|smell*|blood*", "green|brown waters", "=cord", "hanging down|out",
                           "something coming out", "baby coming", "urge push", "cannot stop push*",
                           # an accident or a faint in pregnancy (NHS: A&E / maternity unit now; ectopic pregnancy)
                           "faint*", "passed out", "collaps*", "fell", "fall*", "accident", "crash*", "kicked",
                           "punched", "hit +in +the|+my|+her tummy|bump|stomach")
"""NHS pregnancy: pre-eclampsia, ectopic pregnancy, bleeding, fewer movements (999 / maternity now)."""

MOVEMENTS_MORE = phrases("movement* slow*|slowed|less|fewer|reduced|stopped|changed|different|weak*",
                         "slow* movement*", "moving less|slow*", "not moved|moving +today|+since|+all",
                         "felt baby kick|move", "not felt +him|+her|+it|+the +baby",
                         "hardly|barely|no|not any movement*|kicks|kicking",
                         "hardly|barely|no movement*|kicks|kicking", "baby quiet|quieter|still")
"""NHS: baby movements in pregnancy (any change: the maternity unit now)."""

PREGNANT = phrases("pregnan*", "pregnent", "preggo", "weeks gone|along", "midwife", "expecting", "my waters",
                   "waters gone|broke|broken|went|burst|leak*|came", "trimester", "due date", "=labour|labor",
                   "contraction*", "=bump", "antenatal", "baby due",
                   # NHS ectopic pregnancy: a positive test or a missed period with one-sided pain is one
                   "positive +pregnancy +test", "positive test", "missed +my|+a|+her period", "period +is +late",
                   "late period")
"""Pregnancy."""

PARALYSIS = phrases("cannot feel|move +his|+her|+my|+their legs|arms|feet|hands|body|anything",
                    "numb* legs|feet|arms|body", "legs|feet numb*", "paralys*|paralyz*")
"""NHS spinal injury: numbness or loss of movement after an injury (999)."""

SNAKE = phrases("snake", "adder", "viper", "rattlesnake")
"""NHS: snake bites (999)."""

BITTEN = phrases("bit", "bite*", "bitten")
"""A bite."""

OLDER_CONFUSED = phrases("forgetful", "more forgetful", "not +herself|+himself", "confus*", "muddled")
"""A change in thinking (NHS: sudden confusion; UTI in older people: urgent)."""

URINE_SIGNS = phrases("sting*|burn*|hurt* when|while pee*|wee*|urinat*", "=uti", "urine|water infect*")
"""Urinary symptoms."""

ALARMS: tuple[tuple[str, tuple], ...] = (
    ("chest", phrases("chest pain*|hurt*|tight*|pressure|heav*|crush*|ach*", "pain* chest", "tight* chest",
                      "sitting on chest", "middle|centre|center +of +my|+his|+her|+the chest")),
    ("abdomen_rigid", phrases("belly|tummy|stomach|abdomen hard|rigid|board", "hard|rigid belly|tummy|abdomen")),
    ("breathing", phrases("breathless*", "short* breath", "breath* shallow|fast|weird|funny|strange|rattl*|noisy",
                          "shallow breath*", "gasp*", "wheez* badly|bad|really", "cannot breath*")),
    ("consciousness", phrases("faint*", "pass|passed|passing out", "out +of +it", "barely|hardly rouse|wake|awake",
                              "not awake", "drows*", "very sleepy", "confus*", "not making sense", "acting drunk",
                              "cannot think straight", "mumbl*", "not moving", "dropped", "eyes rolling",
                              "will not answer", "keeled")),
    ("bleeding", phrases("bleed*", "blood*")),
    ("severe_pain", phrases("agony", "sever* pain*", "unbearable", "excruciat*", "loads|lot +of pain",
                            "pain* loads|awful|terrible")),
    ("colour", phrases("grey|gray|ashen|blotchy|mottled|purple", "blue lips|skin|face", "very pale")),
    ("face_swelling", phrases("lips|tongue|tung|throat|face swell*|swollen|huge|puff*", "swell*|swollen lips|tongue|"
                              "throat|face", "voice weird|strange|hoarse|funny")),
    ("neuro", phrases("numb*", "tingl*", "double vision", "slurr*", "crooked", "drooping|droopy", "dribbl*",
                      "drifting down", "one side")),
)
"""Alarm signs by body system: two systems together are an emergency (NHS: when to call 999)."""

ALARM_MINOR: tuple[tuple[str, tuple], ...] = (
    ("vomiting", phrases("vomit*", "throw* up", "threw up", "being sick")),
    ("sweating", phrases("sweat*", "clammy")),
    ("dizzy", phrases("dizz*", "lightheaded", "woozy")),
)
"""Signs that join an alarm sign of another system (vomiting with a head injury...)."""

RASH = phrases("rash*", "spots", "marks")
"""A rash."""

GLASS = phrases("glass", "tumbler")
"""The glass test (NHS: meningitis)."""

TESTIS_MORE = phrases("balls", "ball", "testic*", "nuts", "scrotum")
"""The testicles in plain words."""

COLD_WATER = phrases("river|sea|lake|canal|water|snow|outside", "freezing", "hypotherm*")
"""Cold exposure."""

COLD_SIGNS_MORE = phrases("mumbl*", "shivering like mad|uncontroll*", "stopped shivering", "confus*", "drows*",
                          "slurr*", "very sleepy", "stiff")
"""NHS hypothermia signs."""

WATERS = phrases("waters")
"""Waters breaking."""

WATERS_SIGN = phrases("green*", "brown*", "smell*", "blood*", "dark", "murky")
"""NHS: waters green, brown or smelly: call the maternity unit now."""

BODY_CONTEXT = phrases(
    "son|daughter|child|kid|kids|baby|toddler|boy|girl|nan|nanna|gran|granny|grandma|grandad|grandpa|grandmother|"
    "grandfather|mum|mom|dad|mother|father|wife|husband|partner|brother|sister|friend|flatmate|uncle|aunt*|"
    "neighbour|boyfriend|girlfriend|colleague|newborn|infant|pupil",
    "=head", "=chest", "=arm|=arms", "=leg|=legs", "=hand|=hands", "=foot|=feet", "=finger*", "=toe|=toes",
    "=eye|=eyes", "=face", "=lip|=lips", "=tongue", "=mouth", "=throat", "=neck", "=tummy", "=stomach",
    "=belly", "=skin", "=calf", "=knee", "=ankle", "=wrist", "=hip", "=jaw", "=nose", "=testicle*", "=groin",
    "=pregnant", "=helmet")
"""A person or a body part: a text holding one is about a body, whatever else it names (a pool, a
roof, a bridge, a text message)."""

NOT_MEDICAL_SENSE = phrases(
    "sudden* death +mode", "worst case", "worst +part", "kill +the|+a +process", "overdose +of +coffee",
    "severe* level|bug|issue|incident|rating", "cache|dns|data|model poison*", "poison pill", "unconscious bias",
    "stroke +of +luck|genius", "brush|key* stroke*", "=fits +in|+me|+well|+the")
"""An alarm word in a sense that is not about a body ("unconscious bias", "a stroke of luck"): always cancels."""
