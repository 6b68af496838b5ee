"""Reassurance: what says a symptom is mild, long-standing, improving or minor (the fail safe's one way down).

Part of safety (domains.triage asks unreassured_emergency when no specific rule found an emergency).
"Uncertainty never lowers a level": a symptom description the rules could not place, or placed
below emergency while it holds a concerning sign (safety.red_flag_systems.SYSTEMS), is an emergency
unless the text itself reassures. So reassurance must be read strictly, or the fail safe leaks:
"not her usual self", "more tired than usual", "she was fine earlier but", "a fever as well",
"my little boy", "after the fall", "keeps getting worse", "for the last week" and "not eating or
drinking" reassure no one (NICE NG143 names them amber or red), though their words look reassuring.
"""
from __future__ import annotations

import re

from safety import readings
from safety.patterns import Doc, phrases
from safety.red_flag_failsafe import SYMPTOM_TEXT, SYMPTOM_WORDS, UNPLACED_ALARM
from safety.red_flag_systems import NOT_MEDICAL_EXACT, SYSTEMS, systems_affected
from safety.red_flag_terms import BODY_CONTEXT, NOT_MEDICAL_SENSE

REASSURING = phrases(
    # exact where a misspelling would be an alarm word: "coming" is no "coping", "sight" no "slight", "help" no "helps"
    "=a +bit", "bit +of", "=abit", "=slight*", "mild*", "minor", "=a +little", "little bit",
    "=small +cut|+graze|+scratch|+burn|+bump|+bruise|+patch|+amount|+blister|+nick|+spot|+lump",
    "on +and +off", "now +and +then", "=usual", "=normal", "=normally", "same +as", "=helps|=helping|=helped",
    "better", "settl*", "=eases|=eased|=easing|=easier", "fine", "=ok", "okay", "alright", "=well",
    "eating|drinking|feeding +well|+normally|+fine|+ok|+okay|+ok", "eating +and|+n +drinking",
    "still eating|drinking|feeding|playing|smiling|chatting", "playing +happily|+normally|+fine|+ok|+okay|+away",
    "sleeping +well|+fine|+ok|+okay|+normally|+through", "=coping", "gaining", "lately", "content", "smiling",
    "every|most day*|night*|evening*|morning*", "for +ages", "keeps|keep coming +back", "comes +and +goes",
    "=after +moving|+gardening|+football|+swimming|+exercise|+exercising|+big|+long|+run|+running|+walk|+lifting|"
    "+hiking|+cycling|+workout|+training",
    "gym|workout|training|leg day", "stopped +after|+with|+when|+by|+on +its", "went|gone +away", "settled",
    "=for +weeks|+months|+years|+ages", "few|couple|several|many +of +weeks|months|years",
    "few|couple|several|many +weeks|months|years", "weeks|months|years +now", "anoying|annoying", "is +it +normal")
"""What says a symptom is mild, long-standing, improving or leaves the person otherwise well (NICE NG143 green:
normal colour, responds normally, stays awake, content or smiling; NHS self-care pages: mild symptoms that ease).
Negatable: "not normal", "not eating well", "no better" reassure no one."""

NOT_REASSURING = re.compile(
    r"\b(?:as well|than (?:usual|normal|normally|before|ever)|(?:was|were|seemed|seem|looked|had been|been) "
    r"(?:fine|ok|okay|alright|well|normal)(?: earlier| before| this morning| yesterday)?|nothing (?:helps?|helped|"
    r"helping|settles?|eases?)|(?:not|never|isn'?t|wasn'?t|hasn'?t|doesn'?t|didn'?t|won'?t) (?:\w+ ){0,2}(?:getting |"
    r"got |been |any |feeling |looking |acting )?(?:better|usual|normal|normally|fine|well|ok|okay|herself|himself|"
    r"themselves|right)|out of (?:the )?(?:usual|normal|ordinary)|not (?:her|his|their|my) usual|unusual\w*|"
    r"abnormal\w*|better off|(?:says|said|insists|claims|swears) (?:\w+ ){0,2}(?:fine|ok|okay|alright|well)|"
    r"(?:not|n't|never)\b[^.,;]{0,30}\b(?:like|as) (?:normal|usual)|as (?:much|often|many) as (?:usual|normal)|"
    r"(?:normally|usually) \w+s\b|(?:normally|usually|generally) (?:very )?(?:fit|healthy|well|fine|active|ok)|"
    # NHS (stroke, TIA, chest pain, overdose, swallowed batteries): a sign that has passed, or a person who
    # seems or feels fine, still needs 999 or A&E "even if they seem well"
    r"(?:(?:a (?:little |tiny )?bit|a little|slightly|much|a lot|loads) )?(?:fine|ok|okay|alright|normal|better|well) "
    r"(?:again|now)\b|now (?:(?:it|she|he|i|they|we)(?:'?s|'?m|'?re| is| am"
    r"| are) )?(?:fine|ok|okay|alright|normal)\b|back to (?:normal|(?:him|her|my|them|your)sel(?:f|ves)|"
    r"(?:his|her|my|their) usual)|(?:seems?|seemed|looks?|looked|appears?|appeared|acting|sounds?|probably|prob|"
    r"feels?|feeling|felt) (?:\w+ )?(?:fine|ok|okay|ok-ish|alright|well|normal)\b|(?:fine|ok|okay|alright),? i think|"
    r"i'?m (?:fine|ok|okay|alright)\b|"
    # "a bit blue", "a little slurred": a degree word on an alarm sign (NHS 999: any blue lips, any slurred speech);
    # "for a bit": a duration ("stopped breathing for a bit")
    r"(?:a bit|a little|a tiny bit|slightly|bit|little) (?:more |too )?(?:blue|blu|grey|gray|mottled|blotchy|confused|"
    r"muddled|drowsy|floppy|weak|slurred|numb|swollen|tight|wheezy|breathless|fast|faster|quick|pale|sleepy|"
    r"unresponsive|dazed|vague|disorientated|disoriented|yellow|clammy|cold)|for a (?:bit|little|while)|"
    r"(?:stopped|stop|refus\w*|off|gave up|given up|won'?t|not|barely|hardly|less) "
    r"(?:eating|drinking|feeding|playing|sleeping)(?: (?:and|or|n) (?:eating|drinking|feeding|playing))?)\b")
ASKED_OR_POLITE = re.compile(
    r"\b(?:(?:should|can|could|shall|do|must) (?:i|we|you|he|she|they) (?:just |still )?(?:wait|leave|sleep|ride)|"
    r"wait (?:and|n|&) see|(?:is|would|will|was) (?:it|that|this|he|she|they|i|baby|my \w+) "
    r"(?:be |going to be |gonna be )?(?:ok|okay|alright|fine|safe|normal|usual|better|well)|"
    r"(?:see )?if (?:it|things|he|she|they|this|that) "
    r"(?:will |would |might )?(?:settles?|gets? better|calms? down|improves?|goes? away|eases?|passes?|is ok|is fine)|"
    r"(?:hope|hoping) (?:you'?re|you are|all is|everyone'?s|this finds you|you'?re all)|"
    r"thanks?|thank you|cheers|"
    r"best wishes|kind regards|all the best|(?:everything|everyone|all|anything|the rest) else|"
    r"(?:normally|usually|generally),? (?:i|he|she|they|we) (?:never|rarely|don'?t|do not|hardly ever))"
    r"\b[^.?!\n]*|\ba (?:little )?bit (?:ago|earlier|later|before|after|back)\b|"
    r"\b(?:in|after|within|wait) a (?:little )?bit\b")
"""Reassuring words in a question, a courtesy or about something else ('should I wait and see if it settles?', 'is it
ok to wait till the morning?', 'is this normal?', 'thanks, hope you're well', 'everything else is normal', 'normally I
never get ill', 'it started a bit ago', 'going to work in a bit'): they ask, greet or speak of the rest, and say
nothing of the sign (NHS 111: rule the emergency out first; an anxious question is no sign the symptom is mild)."""

"""Reassuring words that reassure no one: 'a fever as well', 'sleepier than usual', 'she was fine earlier',
'nothing helps', 'not getting any better', 'not her usual self', 'not responding to me like normal' (NICE NG143
amber: not responding normally), 'better off without me', 'he says he's fine', 'baby normally wriggles'."""

WORSENING = phrases("getting|got|gets|gone|going|grown worse|bigger|faster|weaker|worst", "worsening",
                    "worse +and +worse",
                    "deteriorat*", "rapid*", "spreading fast|quickly", "by +the +hour|+minute")
"""A sign getting worse fast (NHS 111: go to A&E or call 999 if it gets worse quickly): no reassurance holds."""

MINOR_COMPLAINT = phrases(
    "itch*", "itchy", "dry", "chapped", "dandruf*", "wax", "acne", "spots", "pimple*", "wart*", "verruca*",
    "cold sore*", "ulcer*", "bunion*", "varicose|varicos", "heartburn", "indigestion|indijestion",
    "constipat*|constapat*", "hiccup*", "snor*", "tired", "wobbly tooth", "teeth|tooth", "nits|lice",
    "threadworm*|thredworm*", "eczema", "flat spot", "night sweat*", "sweaty feet|hands|armpits", "period*",
    "blocked", "clicks", "startle",
    "words yet")
"""Complaints the NHS sends to a pharmacist or a GP appointment (NHS: self-care, conditions a pharmacist can
help with): by themselves they are no sign of an emergency."""

GRADED_BY_A_RULE = frozenset({"swallow*", "crash*", "broken", "burn*", "=scald*", "bitten", "stung", "bleed*",
                              "blood*", "newborn"})
SIGN_ALARM = tuple(p for p in UNPLACED_ALARM if p.source not in GRADED_BY_A_RULE)
"""The NHS 999 list's signs, without the injuries and ages whose own pages grade them (NHS: broken bones, burns,
bites, bleeding, poisoning; NICE NG143 for a newborn): 'I think I broke my wrist' stays urgent."""

DYSURIA = phrases("burn*|sting* pee|wee|urinat*|weeing|peeing", "pee|wee|weeing|peeing|urinat* burn*|sting*")
"""Burning when passing urine (NHS: urinary tract infections): no burn of the NHS 999 list."""

LONG_STANDING_DAYS = 7
"""A symptom written as lasting this long or more is not a new emergency by its duration alone."""


def _about_a_body(doc: Doc) -> bool:
    """Not a request about systems or markets, unless a person or a body part is named too."""
    if doc.has(NOT_MEDICAL_SENSE) and not doc.has(BODY_CONTEXT):  # "the worst part is she's not breathing"
        return False
    return not doc.has(NOT_MEDICAL_EXACT) or doc.has(BODY_CONTEXT)


def stated(doc: Doc, *, strict: bool = True) -> Doc:
    """The text without its questions about waiting and its courtesies (ASKED_OR_POLITE) and, when strict, the
    reassuring words that reassure no one about a sign (NOT_REASSURING): what is left to reassure."""
    lowered = doc.text.lower().replace("\u2019", "'")
    kept = ASKED_OR_POLITE.sub(" ; ", lowered)
    kept = NOT_REASSURING.sub(" ; ", kept) if strict else kept
    return doc if kept == lowered else Doc(kept)


def reassures(doc: Doc) -> bool:
    """Whether the text says its symptoms are mild, long-standing, improving or minor (read strictly)."""
    if doc.has(WORSENING, negatable=False):
        return False
    if doc.has(MINOR_COMPLAINT, negatable=False) and not systems_affected(doc):
        return True  # a pharmacist's complaint reassures only where no concerning sign is ("tooth" and confusion)
    return stated(doc).has(REASSURING)  # only the reassuring words left once the misleading uses are gone


def unplaced_is_unreassured(doc: Doc) -> bool:
    """For a symptom description no rule placed: nothing says it is mild, long-standing, improving or minor.

    Fail safe (uncertainty never lowers a level): the rules give less than an emergency only when they
    recognise the symptoms, or when the text itself says they are mild, long-standing, improving or a
    complaint for a pharmacist or GP.
    """
    if reassures(doc):
        return False
    days = readings.duration_days(doc.text)
    return (days is None or days < LONG_STANDING_DAYS) and _about_a_body(doc)


def unreassured_emergency(doc: Doc, *, placed: bool, urgent: bool = False) -> tuple[str, str] | None:
    """(reason, source) when a symptom description is an emergency for want of reassurance, else None.

    Args:
        doc: the description.
        placed: whether a rule already gave it a level (below emergency).
        urgent: whether that level is urgent: then an alarm word of the NHS 999 list lifts it as well.

    Returns:
        For a description no rule placed, with nothing reassuring; or for one placed below emergency
        that holds a concerning sign (SYSTEMS) and nothing reassuring: why, and the guidance.
    """
    if not unplaced_is_unreassured(doc):
        return None
    concerning = systems_affected(doc)
    if not placed:
        # a concerning sign ("seeing double", "hard to wake") is a symptom description by itself
        if not doc.has(SYMPTOM_TEXT) and not concerning:
            return None
        # "I feel fine", "my son is fine now": someone, well, and no symptom named: nothing to place, and
        # the undetermined reply still leads with when to call for help
        if not concerning and stated(doc, strict=False).has(REASSURING) and not doc.has(SYMPTOM_WORDS):
            return None
        return ("symptoms the rules could not place, with nothing that says they are mild, long-standing or "
                "minor: treated as an emergency to be safe",
                "NHS 111: rule out the emergency first (fail safe: uncertainty never lowers a level); "
                "NICE NG143 green features")
    if not concerning and urgent and doc.has(SIGN_ALARM) and not doc.has(DYSURIA):
        # a text the rules already send to care today that holds a word of the 999 list: rule the emergency out
        return ("a sign from the NHS 'call 999' list in a description that already needs care today, with nothing "
                "that says it is mild or minor: treated as an emergency to be safe",
                "NHS: When to call 999; NHS 111 (fail safe: uncertainty never lowers a level)")
    if not concerning:
        return None
    return (f"a concerning sign ({concerning[0]}) with nothing that says it is mild, long-standing or minor: "
            "treated as an emergency to be safe",
            "NICE NG51 moderate-to-high risk criteria (fail safe: uncertainty never lowers a level); NHS 111")


__all__ = ["REASSURING", "SYSTEMS", "reassures", "unplaced_is_unreassured", "unreassured_emergency"]
