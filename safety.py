"""Safety policies of the domain agents, applied before and after any provider (DESIGN.md: Safety).

The policies read only the request's text and the reply's text; nothing in either can switch
them off. Matching is on normalised words, tolerant of small misspellings ("chset pian",
"sucide"), simple leetspeak ("su1c1de") and contractions, and it skips a phrase negated just
before it ("no chest pain").
"""
from __future__ import annotations

import enum
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

logger = logging.getLogger(__name__)

MAX_SCAN_CHARS = 20_000
"""Longest part of a text the policies scan."""

MAX_GAP = 3
"""Words allowed between two words of a phrase ("pain in my chest" matches "pain chest")."""

NEGATION_WINDOW = 2
"""Words before a phrase searched for a negation ("no", "not", "without")."""

EMERGENCY_NUMBERS = "911 in the US and Canada, 999 in the UK, 112 in the EU, 000 in Australia"
"""Emergency numbers named in every emergency message."""

FLAG_EMERGENCY = "medical_emergency"
FLAG_MEDICAL_WARNING = "medical_warning"
FLAG_SELF_HARM = "self_harm"
FLAG_PROBLEM_GAMBLING = "problem_gambling"
FLAG_INJECTION = "prompt_injection"

NOT_A_DIAGNOSIS = ("This is not a diagnosis: it is a rule-based urgency check, not an examination. "
                   "A doctor, nurse or pharmacist decides what is wrong and what, if anything, to take.")
"""Closing line of every healthcare reply."""

FINANCE_DISCLAIMER = ("Not investment advice: these figures describe past prices, which do not predict "
                      "future returns, and OperatorOS does not know your goals, finances or taxes. "
                      "Consider a licensed adviser before you invest.")
"""Closing line of every financial reply."""

RESPONSIBLE_GAMBLING = "\n".join([
    "Responsible gambling",
    "  - Bet only money you can afford to lose; set a budget and a time limit before you start.",
    "  - The bookmaker's margin means the average bettor loses over time; no bet is certain to win.",
    "  - Never chase losses or raise stakes to win money back; stakes stay a small fraction of a bankroll.",
    "  - Free, confidential help: US 1-800-GAMBLER (1-800-426-2537), UK GamCare 0808 8020 133,",
    "    elsewhere gamblingtherapy.org.",
])
"""Closing section of every sports reply."""

CRISIS_RESOURCES = "\n".join([
    "If you are thinking about suicide or harming yourself, please reach out now; you are not alone.",
    f"  - In immediate danger or already hurt: call your local emergency number ({EMERGENCY_NUMBERS}).",
    "  - US: call or text 988 (Suicide & Crisis Lifeline), free, 24/7.",
    "  - UK and Ireland: Samaritans, call 116 123, free, 24/7.",
    "  - Elsewhere: findahelpline.com lists free, confidential helplines by country.",
    "  - Tell someone you trust how you feel today, and stay with them if you can.",
])
"""Crisis resources, first in any reply to a request that mentions suicide or self-harm."""

GAMBLING_HELP = ("If betting feels out of control (chasing losses, betting money you need, hiding it): "
                 "free, confidential help is at US 1-800-GAMBLER, UK GamCare 0808 8020 133, "
                 "elsewhere gamblingtherapy.org.")
"""First in a reply to a request that shows signs of problem gambling."""

INJECTION_NOTE = ("Note: the request asked to change or switch off OperatorOS's safety rules; "
                  "they always apply and cannot be turned off.")
"""Said when a request tries to turn a policy off."""

REMOVED_CERTAINTY = "[removed: a claim of a certain win or return; no bet or investment is certain]"
REMOVED_DOSING = "[removed: dosing; ask a pharmacist or doctor what to take and how much]"
REMOVED_DOWNPLAY = "[removed: advice that played down the warning above]"
REMOVED_STAKE = "[removed: a staking idea that risks more than a small fraction of a bankroll]"


class Urgency(str, enum.Enum):
    """Triage levels, most urgent first."""

    EMERGENCY = "emergency"
    URGENT = "urgent"
    SOON = "soon"
    SELF_CARE = "self_care"

    @property
    def label(self) -> str:
        """The level in plain words."""
        return _URGENCY_LABELS[self]

    @property
    def rank(self) -> int:
        """0 for the most urgent level."""
        return list(Urgency).index(self)


_URGENCY_LABELS = {
    Urgency.EMERGENCY: "call emergency services now",
    Urgency.URGENT: "urgent care today",
    Urgency.SOON: "see a doctor soon",
    Urgency.SELF_CARE: "self-care",
}


# --- matching --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Phrase:
    """Words to find in order; a word is 'word', 'stem*' (prefix), '=word' (no fuzz), or 'a|b'."""

    source: str
    slots: tuple[tuple[str, ...], ...]


def phrases(*sources: str) -> tuple[Phrase, ...]:
    """Compile phrase sources such as 'swallow* bleach|chemical*'."""
    return tuple(Phrase(s, tuple(tuple(w.split("|")) for w in s.split())) for s in sources)


_NEGATIONS = frozenset({"no", "not", "without", "denies", "deny", "nor"})
_NOT_NEGATING_NEXT = frozenset({"just", "only", "sure", "certain", "able"})
_NO_FUZZ = frozenset({"fewer", "never", "lever", "sever", "chess", "prison", "breeding", "swearing",
                      "strike", "stoke", "bleeping", "paid", "fiver", "heat", "better", "letter"})
_EXPAND = {"cant": ("cannot",), "wont": ("will", "not"), "dont": ("do", "not"), "doesnt": ("does", "not"),
           "didnt": ("did", "not"), "isnt": ("is", "not"), "im": ("i", "am"), "wanna": ("want", "to"),
           "gonna": ("going", "to"), "ive": ("i", "have"), "cannot": ("cannot",)}
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_ZERO_WIDTH = "\u200b\u200c\u200d"
_CLAUSE_SPLIT = re.compile(r"[.!?;,:()\n]+|\bbut\b|\bhowever\b")


class Doc:
    """A text split into clauses of normalised words, ready for phrase matching."""

    def __init__(self, text: str) -> None:
        cleaned = unicodedata.normalize("NFKD", text[:MAX_SCAN_CHARS])
        cleaned = "".join(c for c in cleaned if not unicodedata.combining(c) and c not in _ZERO_WIDTH)
        cleaned = cleaned.lower().replace("\u2019", "'").replace("can't", "cannot")
        cleaned = cleaned.replace("won't", "will not")
        cleaned = cleaned.replace("n't", " not").replace("-", " ").replace("_", " ")
        self.clauses: list[list[str]] = [_tokens(part) for part in _CLAUSE_SPLIT.split(cleaned)]
        self.clauses = [c for c in self.clauses if c]

    def find(self, patterns: Iterable[Phrase], *, negatable: bool = True) -> list[str]:
        """Sources of the patterns found (not negated, when negatable)."""
        found = []
        for pattern in patterns:
            if any(_found_in(clause, pattern, negatable) for clause in self.clauses):
                found.append(pattern.source)
        return found

    def has(self, patterns: Iterable[Phrase], *, negatable: bool = True) -> bool:
        """Whether any of the patterns is found."""
        return bool(self.find(patterns, negatable=negatable))


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for raw in re.findall(r"[a-z0-9@$]+", text):
        mixed = re.search(r"[a-z]", raw) and re.search(r"[0-9@$]", raw)
        if mixed and not re.fullmatch(r"\d+[a-z]{1,3}", raw):
            raw = raw.translate(_LEET)
        raw = raw.strip("@$")
        if raw:
            out.extend(_EXPAND.get(raw, (raw,)))
    return out


def _found_in(tokens: Sequence[str], pattern: Phrase, negatable: bool) -> bool:
    for start, token in enumerate(tokens):
        if not _slot_matches(token, pattern.slots[0]):
            continue
        if not _rest_matches(tokens, start, pattern.slots[1:]):
            continue
        if negatable and _negated(tokens, start):
            continue
        return True
    return False


def _rest_matches(tokens: Sequence[str], pos: int, slots: Sequence[tuple[str, ...]]) -> bool:
    for slot in slots:
        for nxt in range(pos + 1, min(pos + 2 + MAX_GAP, len(tokens))):
            if _slot_matches(tokens[nxt], slot):
                pos = nxt
                break
        else:
            return False
    return True


def _negated(tokens: Sequence[str], start: int) -> bool:
    for i in range(max(0, start - NEGATION_WINDOW), start):
        if tokens[i] in _NEGATIONS and (i + 1 >= len(tokens) or tokens[i + 1] not in _NOT_NEGATING_NEXT):
            return True
    return False


def _slot_matches(token: str, slot: tuple[str, ...]) -> bool:
    return any(_word_matches(token, option) for option in slot)


@lru_cache(maxsize=65_536)
def _word_matches(token: str, option: str) -> bool:
    exact, prefix = option.startswith("="), option.endswith("*")
    word = option.strip("=*")
    if token == word or (prefix and token.startswith(word)):
        return True
    if exact or token in _NO_FUZZ or len(word) < 4 or len(token) < 4:
        return False
    if prefix:
        lengths = (len(word) - 1, len(word), len(word) + 1)
        return any(_close(token[:n], word) for n in lengths if n <= len(token))
    return _close(token, word)


def _close(token: str, word: str) -> bool:
    """Within an edit of `word` (two for long words; a swap only for four-letter words)."""
    if token[0] != word[0] and token[:2] != word[1::-1]:
        return False
    if len(word) == 4:
        return len(token) == 4 and _one_swap(token, word)
    allowed = 2 if len(word) >= 9 else 1
    return abs(len(token) - len(word)) <= allowed and _osa_distance(token, word) <= allowed


def _one_swap(a: str, b: str) -> bool:
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def _osa_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (edits, adjacent swaps count as one)."""
    rows = [list(range(len(b) + 1))] + [[i] + [0] * len(b) for i in range(1, len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


# --- red flags ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RedFlag:
    """A rule from public triage guidance: when every group matches, the level applies."""

    key: str
    """Short identifier."""
    reason: str
    """Why it matters, in plain words."""
    level: Urgency
    """EMERGENCY, or URGENT for a warning that becomes an emergency on the signs in `emergency_if`."""
    all_of: tuple[tuple[Phrase, ...], ...]
    """Groups of alternatives; one phrase of every group must be found."""
    actions: tuple[str, ...] = ()
    """What to do now, first aid that needs no medicine or dose."""
    emergency_if: str = ""
    """For a warning: the signs that make it an emergency."""
    supersedes: tuple[str, ...] = ()
    """Keys of less specific flags this one replaces."""
    none_of: tuple[Phrase, ...] = ()
    """Phrases that cancel the rule ("food poisoning" is not a poisoning emergency)."""


_PERSON = ("he|she|i|someone|somebody|friend|dad|mom|mum|father|mother|wife|husband|son|daughter|child|kid|"
           "baby|toddler|person|man|woman|boy|girl|grandma|grandpa|partner|brother|sister")
_CHEST = phrases("chest pain*|pian|hurt*|ach*|discomfort|pressure|tight*|heav*", "pain* chest",
                 "hurt* chest", "pressure chest", "tight* chest", "heavy chest", "crush* chest")
_CHEST_SEVERE = phrases("chest pressure|tight*|heav*|crush*|squeez*", "tight* chest", "pressure chest",
                        "heavy chest", "crush* chest|pain", "squeez* chest")
_CHEST_FEATURES = phrases("breathless*", "short* breath", "cannot breath*", "hard breath*",
                          "difficult* breath*", "struggl* breath*", "sweat*", "clammy", "nause*", "vomit*",
                          "throw* up", "sick", "spread*", "radiat*", "left arm",
                          "arm|jaw|neck|back hurt*|pain*", "pain* arm|jaw|neck|shoulder", "faint*",
                          "dizzy|lightheaded")
_STROKE = phrases("face droop*|drop*|lopsided", "droop* face|mouth|smile|eyelid", "lopsided smile|face",
                  "arm weak*", "weak* arm", "sudden* weak*|numb*", "weak*|numb* one side",
                  "one side body|face droop*|weak*|numb*", "slur* speech|words|talk*|speak*",
                  "speech slur*|garbled|jumbled", "words jumbled|garbled", "sudden* confus*",
                  "sudden* vision|blind*")
_SPEECH = phrases("trouble|difficult*|problem* speak*|speech", "cannot speak|talk properly|clearly")
_STROKE_CONTEXT = phrases("sudden*", "face", "arm", "numb*", "confus*", "dizz*", "vision", "=stroke",
                          "headache")
_BLEEDING = phrases("sever*|major|uncontrol* bleed*", "bleed* heavily|badly|profusely", "lot blood",
                    "blood everywhere", "cannot|not stop bleed*", "bleed* not stop*", "blood spurt*|gush*",
                    "spurt*|gush* blood", "pool blood", "soak* through bandage*|towel*|pad*|dressing*")
_POISON = phrases("=poisoned", "=poisoning", "poisonous", "poison control|help",
                  "swallow*|drank|drink*|ate|eaten bleach|chemical*|detergent|cleaner|antifreeze|battery|"
                  "batteries|pesticide*|weedkiller|poison",
                  "overdos*", "too many pills|tablets|painkillers", "handful pills|tablets",
                  "whole bottle|pack* pills|tablets", "carbon monoxide")
_FOOD_POISONING = phrases("food poisoning")
_ANAPHYLAXIS = phrases("anaphyla*", "throat swell*|closing|clos*|tight*", "tongue|lips|face swell*",
                       "swollen tongue|throat|lips|face", "epipen|epi pen",
                       "allergic reaction breath*|wheez*|swell*")
_BREATHING = phrases("cannot breath*", "not breathing", "stopp* breathing", "struggl* breath*",
                     "gasping air|breath", "choking on", f"{_PERSON}|is|am choking", "blue lips|face",
                     "lips|face blue", "severe* short* breath")
_CONSCIOUS = phrases("is|was|went|knocked|found|lying|became|been unconscious",
                     f"{_PERSON} unresponsive|collapsed|fainted|unconscious", "passed out", "seizure*",
                     "convuls*", "fitting seizure*|shaking", "will not wake up", "cannot wake*",
                     "not waking up")
_NOT_MEDICAL_SEIZURE = phrases("seizure* asset*|property|goods|funds|drugs|cash|vehicle*|bank*",
                               "asset*|property|drug*|cash|bank seizure*")
_STIFF_NECK = phrases("stiff neck", "neck stiff*")
_FEVER = phrases("fever*|feverish|temperature", "high temp*")
_RASH_NONBLANCH = phrases("rash not fade*|fading|disappear*", "non blanch*", "glass test",
                          "purple rash|spots")
_HEADACHE_SEVERE = phrases("worst headache", "thunderclap", "sudden* severe headache")
_HEAD_INJURY = phrases("head injur*", "hit|bang*|bump* head")
_HEAD_INJURY_SIGNS = phrases("vomit*", "confus*", "drows*", "passed out", "unconscious*", "seizure*",
                             "blood ear")
_BLOOD_OUT = phrases("cough* blood", "vomit* blood", "throw* blood")
_PREGNANT = phrases("pregnan*")
_PREGNANT_SIGNS = phrases("bleed*", "severe pain", "severe* cramp*", "waters broke")
_BURN = phrases("sever*|large|deep|chemical|electric* burn|burns|burned|burnt",
                "burn|burned|burnt face|eyes")
_HEART_ATTACK = phrases("heart attack", "cardiac arrest", "=stroke", "angina")

_ADVICE_CALL = "Call your local emergency number now, or have someone call for you."
_STROKE_ACTIONS = ("Note the time the signs started.", "Do not give food or drink.")
RED_FLAGS: tuple[RedFlag, ...] = (
    RedFlag("chest_pain_red_flags", "chest pain or pressure with breathlessness, sweating, nausea or pain "
            "spreading to the arm, jaw, neck or back can be a heart attack", Urgency.EMERGENCY,
            (_CHEST, _CHEST_FEATURES), ("Stop and sit down; do not drive yourself.",
            "Unlock the door and keep your phone near you.", "If the person collapses and is not breathing "
            "normally, start CPR; the call handler will guide you."), supersedes=("chest_pain",)),
    RedFlag("chest_pressure", "chest pressure, tightness, heaviness or crushing pain can be a heart attack",
            Urgency.EMERGENCY, (_CHEST_SEVERE,), ("Stop and sit down; do not drive yourself.",
            "Unlock the door and keep your phone near you."), supersedes=("chest_pain",)),
    RedFlag("stroke", "face drooping, arm weakness or speech trouble are stroke signs (FAST: every minute "
            "counts)", Urgency.EMERGENCY, (_STROKE,), _STROKE_ACTIONS),
    RedFlag("stroke_speech", "sudden speech trouble with other stroke signs (FAST: every minute counts)",
            Urgency.EMERGENCY, (_SPEECH, _STROKE_CONTEXT), _STROKE_ACTIONS, supersedes=("stroke",)),
    RedFlag("severe_bleeding", "severe bleeding can become life-threatening within minutes",
            Urgency.EMERGENCY,
            (_BLEEDING,), ("Press firmly on the wound with a clean cloth and keep pressing.",
            "Do not remove anything stuck in the wound; press around it.")),
    RedFlag("poisoning", "poisoning, an overdose or swallowed chemicals need help at once, even without "
            "symptoms yet", Urgency.EMERGENCY, (_POISON,), ("In the US, Poison Help is 1-800-222-1222.",
            "Do not make the person vomit.", "Keep the container or packet to show the responders."),
            none_of=_FOOD_POISONING),
    RedFlag("anaphylaxis", "swelling of the throat, tongue or lips, or breathing trouble after an allergen, "
            "can be anaphylaxis", Urgency.EMERGENCY, (_ANAPHYLAXIS,), ("Use an adrenaline auto-injector "
            "now if one has been prescribed.", "Lie down with legs raised, or sit up if breathing is hard.")),
    RedFlag("breathing", "severe difficulty breathing, choking or blue lips", Urgency.EMERGENCY,
            (_BREATHING,), ("Sit upright; loosen tight clothing.", "If the person stops breathing, start "
            "CPR; the call handler will guide you.")),
    RedFlag("unconscious_or_seizure", "collapse, unconsciousness or a seizure", Urgency.EMERGENCY,
            (_CONSCIOUS,), ("During a seizure, do not hold the person down or put anything in their "
               "mouth; time it.", "If breathing, turn the person on their side."),
            none_of=_NOT_MEDICAL_SEIZURE),
    RedFlag("meningitis", "a stiff neck with fever (with or without a rash, especially in a child), or a "
            "rash that does not fade under a pressed glass, can be meningitis or sepsis", Urgency.EMERGENCY,
            (_STIFF_NECK, _FEVER), ("Do not wait for a rash to appear.",)),
    RedFlag("nonblanching_rash",
            "a rash that does not fade under a pressed glass can be meningitis or sepsis",
            Urgency.EMERGENCY, (_RASH_NONBLANCH,), ("Do not wait for other signs.",)),
    RedFlag("thunderclap_headache",
            "a sudden, severe headache ('the worst ever') can be bleeding in the brain",
            Urgency.EMERGENCY, (_HEADACHE_SEVERE,), ("Lie still and do not drive.",)),
    RedFlag("head_injury", "a head injury followed by vomiting, confusion, drowsiness or passing out",
            Urgency.EMERGENCY, (_HEAD_INJURY, _HEAD_INJURY_SIGNS), ("Keep still; do not drive.",)),
    RedFlag("blood_loss", "coughing or vomiting blood", Urgency.EMERGENCY, (_BLOOD_OUT,)),
    RedFlag("pregnancy", "bleeding or severe pain in pregnancy", Urgency.EMERGENCY,
            (_PREGNANT, _PREGNANT_SIGNS), ("Lie on your left side while you wait.",)),
    RedFlag("severe_burn", "a large, deep, chemical or electrical burn, or one on the face",
            Urgency.EMERGENCY,
            (_BURN,), ("Cool the burn under cool running water for 20 minutes; cover loosely with cling "
            "film.",)),
    RedFlag("chest_pain", "chest pain can be an emergency and needs a medical check today",
            Urgency.URGENT, (_CHEST,), emergency_if="it is sudden, crushing, tight or heavy, spreads to "
            "your arm, jaw, neck or back, or comes with breathlessness, sweating, nausea or fainting"),
    RedFlag("named_emergency", "a heart attack or stroke is an emergency", Urgency.URGENT, (_HEART_ATTACK,),
            emergency_if="someone has signs of one now: chest pain or pressure, a drooping face, arm "
            "weakness or speech trouble"),
)
"""Emergency-level rules, and warnings that say when to call emergency services."""

_SELF_HARM = phrases("suicid*", "kill* myself", "=kil myself", "end my life", "end it all",
                     "take my own life", "take my life", "want die", "wish dead|die", "better off dead",
                     "no reason live", "not want live|alive|exist", "not want wake up again|anymore|ever",
                     "self harm*", "harm* myself", "hurt* myself purpose|deliberately",
                     "want* hurt* myself", "thinking hurt*|cut* myself", "urge* hurt*|cut* myself",
                     "cutting myself", "cut* myself purpose|deliberately", "=kms", "unalive",
                     "no point living", "nothing live for")
_IMMINENT = phrases("tonight", "right now", "have plan", "made plan", "suicide note|letter",
                    "goodbye note|letter", "said goodbye", "took|taken|swallowed pills|tablets",
                    "already hurt|cut*")
_PROBLEM_GAMBLING = phrases("chas* loss*", "win back", "cannot stop bet*|gambl*", "addict* bet*|gambl*",
                            "gambling addict*|problem", "borrow* bet*|gambl*",
                            "lost everything bet*|gambl*", "bet*|gambl* rent|savings|mortgage",
                            "lost rent|savings bet*|gambl*", "hide*|hiding bet*|gambl*")
_INJECTION = phrases("ignor*|disregard*|forget|override|bypass rule*|instruction*|guideline*|polic*|safety|"
                     "disclaimer*|warning*|prompt|restriction*|filter*|guardrail*",
                     "disable|remove|skip|drop|omit safety|disclaimer*|warning*|filter*|guardrail*|polic*|"
                     "rule*|restriction*",
                     "turn|switch off safety|disclaimer*|warning*|filter*|polic*|rule*",
                     "no disclaimer*|caveat*", "not add|include|mention disclaimer*|warning*|emergency",
                     "developer mode", "jailbr*", "=dan mode",
                     "you are now dan|unrestricted|free|jailbroken|evil|unfiltered|root",
                     "pretend you are|be", "system prompt", "new instruction*", "unrestricted", "unfiltered")


@dataclass(frozen=True)
class SafetyDecision:
    """What the policies require of a reply to one request; made before any provider runs."""

    pool: str
    """The pool the request is for."""
    flags: tuple[str, ...] = ()
    """FLAG_* values raised by the request."""
    urgency: Urgency | None = None
    """The most urgent medical level a red flag implies, if any."""
    reasons: tuple[str, ...] = ()
    """Why each red flag applies, in plain words."""
    preamble: str = ""
    """Text that must open the reply, whatever the provider says ('' when none)."""
    short_circuit: bool = False
    """True when the reply must not wait for a provider: use `reply` instead."""
    reply: str | None = None
    """The complete reply to give when short_circuit is set."""

    def __post_init__(self) -> None:
        if self.short_circuit and not self.preamble:
            raise ValueError("a short-circuit decision needs a preamble")


def red_flags(doc: Doc) -> list[RedFlag]:
    """The red-flag rules a text meets, most specific first, superseded ones dropped."""
    hits = [f for f in RED_FLAGS
            if all(doc.has(group) for group in f.all_of) and not (f.none_of and doc.has(f.none_of))]
    dropped = {key for f in hits for key in f.supersedes}
    return [f for f in hits if f.key not in dropped]


def self_harm(doc: Doc) -> tuple[bool, bool]:
    """(mentions suicide or self-harm, and seems imminent); negation never hides it."""
    mentioned = doc.has(_SELF_HARM, negatable=False)
    return mentioned, mentioned and doc.has(_IMMINENT, negatable=False)


def problem_gambling(doc: Doc) -> bool:
    """Whether the text shows signs of problem gambling."""
    return doc.has(_PROBLEM_GAMBLING, negatable=False)


def injection_attempt(doc: Doc) -> bool:
    """Whether the text tries to change or switch off the rules (it never works)."""
    return doc.has(_INJECTION, negatable=False)


def assess_request(pool: str, text: str) -> SafetyDecision:
    """Run every request policy on a request's text.

    Args:
        pool: the pool the request is for (the medical and crisis policies apply in every pool).
        text: the request as the user wrote it.

    Returns:
        The decision; its preamble opens the reply, and EMERGENCY short-circuits the provider
        (domain_agents.guard_request fills in the reply).
    """
    doc = Doc(text)
    flags: list[str] = []
    hits = red_flags(doc)
    harm, imminent = self_harm(doc)
    levels = [f.level for f in hits] + ([Urgency.EMERGENCY if imminent else Urgency.URGENT] if harm else [])
    urgency = min(levels, key=lambda u: u.rank) if levels else None
    if any(f.level is Urgency.EMERGENCY for f in hits) or imminent:
        flags.append(FLAG_EMERGENCY)
    elif hits:
        flags.append(FLAG_MEDICAL_WARNING)
    if harm:
        flags.append(FLAG_SELF_HARM)
    if problem_gambling(doc):
        flags.append(FLAG_PROBLEM_GAMBLING)
    if injection_attempt(doc):
        flags.append(FLAG_INJECTION)
        logger.info("request for pool %s tried to switch off the safety rules", pool)
    reasons = tuple(f.reason for f in hits) + (("thoughts of suicide or self-harm",) if harm else ())
    preamble = _preamble(hits, harm, imminent, flags)
    return SafetyDecision(pool, tuple(flags), urgency, reasons, preamble,
                          short_circuit=FLAG_EMERGENCY in flags)


def _preamble(hits: list[RedFlag], harm: bool, imminent: bool, flags: list[str]) -> str:
    parts: list[str] = []
    emergencies = [f for f in hits if f.level is Urgency.EMERGENCY]
    if emergencies or imminent:
        lines = ["EMERGENCY: call your local emergency number now.",
                 f"Emergency numbers: {EMERGENCY_NUMBERS}."]
        why = [f.reason for f in emergencies] + (["thoughts of suicide with a plan or means at hand"]
                                                 if imminent else [])
        lines.append("Why: " + "; ".join(why) + ".")
        actions = [a for f in emergencies for a in f.actions]
        lines.append("Do now: " + " ".join(dict.fromkeys([_ADVICE_CALL, *actions])))
        lines.append("Do not wait to see if it passes.")
        parts.append("\n".join(lines))
    else:
        for f in hits:
            parts.append(f"Safety first: {f.reason}.\nCall your local emergency number now "
                         f"({EMERGENCY_NUMBERS}) if {f.emergency_if}.")
    if harm:
        parts.append(CRISIS_RESOURCES)
    if FLAG_PROBLEM_GAMBLING in flags:
        parts.append(GAMBLING_HELP)
    if FLAG_INJECTION in flags:
        parts.append(INJECTION_NOTE)
    return "\n\n".join(parts)


# --- replies -----------------------------------------------------------------------------------

_CERTAINTY = [re.compile(p, re.I) for p in (
    r"\bg[ua]{1,2}r[ae]n?t[ae]e*d?s?\b", r"\bsure[- ]?(thing|bet|win|fire|winner)s?\b",
    r"\bcan(?:no|')?t (lose|miss|fail)\b", r"\bcannot (lose|miss|fail)\b",
    r"\block of the (day|night|week)\b",
    r"\brisk[- ]?free\b(?!\s+(rates?|interest|assets?))", r"\bfree money\b", r"\b(no|zero)[- ]risk\b",
    r"\b100 ?% (certain|sure|safe|win)", r"\bwill (definitely|certainly) (win|rise|go up|double)\b")]
_DOSING = [re.compile(p, re.I) for p in (
    r"\b\d+(\.\d+)?\s?(mg|mcg|µg|ml|milligrams?|micrograms?|tablets?|pills?|capsules?|puffs?|units?|"
    r"teaspoons?|tsp|drops)\b", r"\b(dose|dosage|doses)\b",
    r"\b(take|use|give)\b[^.]*\b(every \d+ hours|times a day|twice a day|once a day)\b")]
_DOWNPLAY = [re.compile(p, re.I) for p in (
    r"\b(no need|don'?t need|do not need|not necessary|unnecessary|needn'?t)\b[^.]*\b(doctor|emergency|"
    r"911|999|112|hospital|ambulance|medical|help|call)", r"\b(probably|likely|just|only) (nothing|anxiety|"
    r"indigestion|heartburn|a muscle|muscular|stress|gas)\b", r"\bwait (and see|it out|until)\b",
    r"\bsleep it off\b", r"\bnothing to worry about\b")]
_STAKES = [re.compile(p, re.I) for p in (
    r"\b(bet|stake|wager|put|risk)\b[^.]*\b(everything|all of it|all your|entire|whole bankroll|life savings|"
    r"rent money|mortgage)\b", r"\ball[- ]in\b", r"\b(borrow|loan|credit card)\b[^.]*\b(bet|stake|wager)",
    r"\bmartingale\b", r"\bdouble (your|the) stake")]


def enforce_reply(decision: SafetyDecision, reply: str, *, medical: bool, finance: bool, sports: bool,
                  data_note: str = "") -> str:
    """Apply the reply policies: preamble first, unsafe sentences removed, required lines added.

    Idempotent: enforcing an enforced reply changes nothing.

    Args:
        decision: the request's decision from assess_request.
        reply: a provider's reply, or an offline one.
        medical: the healthcare policy applies (no dosing, 'not a diagnosis').
        finance: the finance policy applies ('not investment advice', a dated data source).
        sports: the betting policy applies (responsible gambling, fractional stakes).
        data_note: line added to a finance reply that names no data source with dates.

    Returns:
        The reply to give.
    """
    body = reply.replace("\r\n", "\n")
    for fixed in (decision.preamble, NOT_A_DIAGNOSIS, FINANCE_DISCLAIMER, RESPONSIBLE_GAMBLING):
        if fixed:
            body = body.replace(fixed, "")
    rules: list[tuple[list[re.Pattern[str]], str]] = [(_CERTAINTY, REMOVED_CERTAINTY)]
    if medical or decision.urgency is not None:
        rules.append((_DOSING, REMOVED_DOSING))
    if decision.urgency in (Urgency.EMERGENCY, Urgency.URGENT):
        rules.append((_DOWNPLAY, REMOVED_DOWNPLAY))
    if sports or FLAG_PROBLEM_GAMBLING in decision.flags:
        rules.append((_STAKES, REMOVED_STAKE))
    body = _remove_sentences(body, rules).strip()
    tail: list[str] = []
    if medical or decision.urgency is not None:
        tail.append(NOT_A_DIAGNOSIS)
    if finance:
        if data_note and not re.search(r"^Data source:.*\d{4}-\d{2}-\d{2}", body, re.M):
            body = (body + "\n\n" + data_note).strip()
        tail.append(FINANCE_DISCLAIMER)
    if sports:
        tail.append(RESPONSIBLE_GAMBLING)
    return "\n\n".join(p for p in (decision.preamble, body, *tail) if p)


def _remove_sentences(text: str, rules: list[tuple[list[re.Pattern[str]], str]]) -> str:
    out_lines = []
    for line in text.split("\n"):
        kept: list[str] = []
        changed = False
        for sentence in re.split(r"(?<=[.!?])\s+", line):
            marker = next((m for patterns, m in rules if any(p.search(sentence) for p in patterns)), None)
            changed = changed or marker is not None
            if marker is None:
                kept.append(sentence)
            elif not kept or kept[-1] != marker:
                kept.append(marker)
        out_lines.append(" ".join(kept) if changed else line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out_lines))
