"""Safety policies of the domain agents, applied before and after any provider (README: Safety).

The policies read only the request's text and the reply's text; nothing in either can switch
them off. Matching is on normalised words, tolerant of small misspellings ("chset pian",
"sucide"), simple leetspeak ("su1c1de") and contractions, and it skips a phrase negated just
before it ("no chest pain"): see safety_patterns.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

# re-exported ("as"): callers import the matching from here, the policies' one public face
from safety.patterns import Doc as Doc
from safety.patterns import Phrase as Phrase
from safety.patterns import phrases as phrases
from safety.red_flags import RED_FLAGS as RED_FLAGS
from safety.red_flags import RedFlag as RedFlag
from safety.red_flags import Urgency as Urgency
from safety.red_flags import red_flags as red_flags

logger = logging.getLogger(__name__)

EVALUATIONS: Counter[str] = Counter()
"""Runs of each policy in this process: 'request' (assess_request) and 'reply' (enforce_reply).

Tests read it to check that one task is assessed once and its reply enforced once."""

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
REMOVED_ADVICE = "[removed: a buy or sell instruction, or a claim to give investment advice]"


_ADVICE_CALL = "Call your local emergency number now, or have someone call for you."


_METHOD_QUESTIONS = ("how many|much pills|tablets|paracetamol|sleeping|insulin kill|die|fatal|lethal|overdose|wake",
                     "how many|much take +to +not +wake", "take not wake up", "lethal|fatal dose|amount|overdose",
                     "painless* way|ways|method* die|end|go|suicide|kill", "most painless* way",
                     "quickest|easiest way die|end it|kill")
"""A question about a method or amount that would end a life: a crisis, with a plan (NHS: help for
suicidal thoughts, immediate danger)."""
_SELF_HARM = phrases("suicid*", "kill*|=kil myself", "kill*|=kil +my +self", "=kms", "unalive",
                     "end|ends|ending|endin|ended my life", "end|ending|endin it all",
                     "take|takes|taking|takin|took my life", "to +=off +myself", "hang*|hung +myself",
                     "slit*|slash* wrist*", "want die", "wish dead|die", "better off dead",
                     "want* be dead", "better off without me", "no reason live",
                     # the wish is the speaker's own ("want to live"), not a request ("want you to register alice");
                     # "alive" keeps its misspellings ("alve", "allive"): the words one edit away are in
                     # patterns._NO_FUZZ
                     "not want +to live|alive|=exist*", "not want +to +be alive",
                     "longer want* +to live|alive|=exist*",
                     "not want +to wake +up", "not want +to +be here|around anymore|any|ever",
                     "self harm*", "harm* myself", "harm* my self", "hurt* myself purpose|deliberately",
                     "want* hurt* myself", "thinking hurt*|cut* myself", "urge* hurt*|cut* myself",
                     "cutting myself", "cut* myself purpose|deliberately", "no point living",
                     "nothing live for", "not worth living",
                     # paraphrases and method questions (NHS: help for suicidal thoughts; Samaritans)
                     *_METHOD_QUESTIONS, "better off if i|im +was|+were|+am dead|gone", "world better without me",
                     "never wake up", "sleep* forever", "die in +my +sleep", "want*|going|ready|gonna end it|things",
                     "way +to +end it|things|my", "self injur*", "cut*|burn*|hurt* +my +arms|+legs|+wrists|+thighs",
                     "cut*|cutting again cope", "tired living|being alive", "cannot go on anymore|like this",
                     "jump* off bridge|building|roof|cliff", "in front train|bus", "=kys", "disappear forever",
                     "not be here tomorrow", "give up on life", "no way out",
                     # a place people go to end their life (NHS: mental health emergency, 999)
                     "standing|stood|sitting|sat on|at edge|ledge|railing*|parapet|top bridge|cliff|roof|tracks",
                     "on +the edge|ledge +of +a|+the bridge|cliff|roof|building|platform",
                     "suicide|goodbye note|notes|letter|letters", "saying|say goodbye tonight|forever|everyone",
                     "notes|letters +are written",
                     # collecting the means (NHS: suicide warning signs)
                     "collecting|collected|stockpil*|hoarding|saving pills|tablets|meds|paracetamol",
                     "saved up pills|tablets|meds",
                     # someone else's words, told by a parent, partner or friend (NHS: if someone you know
                     # is feeling suicidal; Samaritans: how to support someone): the same crisis resources.
                     # Adjacent ('+'), so that "kill the weeds himself" is not one.
                     "kill*|=kil +himself|herself|themselves|themself", "hang*|hung +himself|herself|themselves",
                     "take|takes|taking|takin|took|end|ends|ending|ended his|her|their life",
                     "wants|wanted|wanting die", "harm*|harming +himself|herself|themselves|themself",
                     "cutting|burning +himself|herself|themselves", "hurt*|cut* +himself|herself|themselves "
                     "purpose|deliberately")
_LIFE_COMPOUND = re.compile(r"\b(life)[\s-]+(savings|insurance|expectancy|story|stories|cycle|coach|goals|"
                            r"style|lessons|partner|support|back)\b", re.I)
"""'my life savings' is no 'my life': joined into one word before the self-harm phrases are looked for."""
_IMMINENT = phrases("tonight", "right now", "have plan", "made plan", "suicide note|letter",
                    "goodbye note|letter", "said goodbye", "took|taken|swallowed pills|tablets",
                    "already hurt|cut*", *_METHOD_QUESTIONS, "written letters|notes|will", "=ready",
                    "all her|his|my pills|tablets", "whole packet|bottle|box", "texted|text* goodbye",
                    "have|got pills|rope|gun|knife", "standing|stood|sitting|sat on|at edge|ledge|railing*|parapet|top",
                    "on +the edge|ledge", "goodbye tonight|forever",
                    "collecting|collected|stockpil*|hoarding|saving pills|tablets|meds|paracetamol",
                    "saved up pills|tablets|meds",
                    # NHS help for suicidal thoughts: call 999 when you cannot keep yourself safe, have the means,
                    # or have decided when
                    "cannot keep +myself|+herself|+himself|+themselves safe", "not safe +with +myself",
                    "going +to +do +it", "=decided", "this weekend", "when everyone|they +is|+are asleep",
                    "gave|giving away +my|+his|+her things|stuff", "sorry +for +everything", "=rope", "=gun",
                    "jump*|step* off|from|in front", "train tracks|line",
                    # NHS: call 999 if you have taken an overdose; someone shut away after saying so
                    "took|taken|swallowed|drank|downed something|stuff|everything|them|lots|loads|all",
                    "locked +herself|+himself|+myself|+themselves|+in")
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
    """What the policies require of a reply to one request; made once, when the task is submitted."""

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
    """True when the reply must not wait for a provider (an emergency): the rules answer alone."""
    topic: str | None = None
    """The pool the request's content is about (routing.route_pool without a picked pool), if known."""

    def __post_init__(self) -> None:
        if self.short_circuit and not self.preamble:
            raise ValueError("a short-circuit decision needs a preamble")

    @property
    def subjects(self) -> frozenset[str]:
        """The pools whose reply policies apply: the task's pool and the pool its content is about."""
        return frozenset({self.pool} | ({self.topic} if self.topic else set()))

    @property
    def needs_healthcare(self) -> bool:
        """A medical red flag or a mention of self-harm: the request belongs in the healthcare pool."""
        return bool({FLAG_EMERGENCY, FLAG_MEDICAL_WARNING, FLAG_SELF_HARM} & set(self.flags))

    def to_json(self) -> dict[str, Any]:
        """The decision as kept with its task (the tasks.safety column)."""
        return {"pool": self.pool, "flags": list(self.flags),
                "urgency": None if self.urgency is None else self.urgency.value, "reasons": list(self.reasons),
                "preamble": self.preamble, "short_circuit": self.short_circuit, "topic": self.topic}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SafetyDecision:
        """The decision kept with a task (to_json's output).

        Raises:
            ValueError: `data` is not a decision.
        """
        try:
            urgency = None if data.get("urgency") is None else Urgency(data["urgency"])
            return cls(str(data["pool"]), tuple(data.get("flags", ())), urgency, tuple(data.get("reasons", ())),
                       str(data.get("preamble", "")), bool(data.get("short_circuit", False)), data.get("topic"))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a safety decision: {data!r:.120}") from exc


def self_harm(doc: Doc) -> tuple[bool, bool]:
    """(mentions suicide or self-harm, and seems imminent); negation never hides it."""
    if _LIFE_COMPOUND.search(doc.text):  # "taking my life savings out of stocks" is no self-harm
        doc = Doc(_LIFE_COMPOUND.sub(r"\1\2", doc.text))
    mentioned = doc.has(_SELF_HARM, negatable=False)
    return mentioned, mentioned and doc.has(_IMMINENT, negatable=False)


def problem_gambling(doc: Doc) -> bool:
    """Whether the text shows signs of problem gambling."""
    return doc.has(_PROBLEM_GAMBLING, negatable=False)


def injection_attempt(doc: Doc) -> bool:
    """Whether the text tries to change or switch off the rules (it never works)."""
    return doc.has(_INJECTION, negatable=False)


def assess_request(pool: str, text: str, topic: str | None = None) -> SafetyDecision:
    """Run every request policy on a request's text (once per task: domains.routing.decide).

    Args:
        pool: the pool the request is for (the medical and crisis policies apply in every pool).
        text: the request as the user wrote it.
        topic: the pool the text is about by its content, when known.

    Returns:
        The decision; its preamble opens the reply, and EMERGENCY short-circuits the provider
        (domains.agents.emergency_reply answers instead).
    """
    EVALUATIONS["request"] += 1
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
                          short_circuit=FLAG_EMERGENCY in flags, topic=topic)


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
    r"\bsleep it off\b", r"\bnothing (to worry about|serious|major)\b",
    # "it's nothing", "this is fine", "that's probably not serious"; not "it's fine to call 911"
    r"\b(it|this|that)('s|\s+is|\s+was|\s+seems|\s+sounds|\s+looks)\s+((probably|likely|most likely|just|"
    r"really|definitely|surely|honestly|totally|completely|perfectly|almost certainly)\s+)*(nothing|fine|"
    r"ok|okay|harmless|normal|minor|not (serious|an emergency|urgent|a big deal|dangerous))\b(?!\s+to\b)",
    r"\byou('re|\s+are|'ll be|\s+will be|\s+should be)\s+((probably|totally|just|perfectly)\s+)?(fine|"
    r"okay|ok|alright|all right)\b",
    r"\bstay(ing)?\s+(at\s+)?home\b(?![^.]*\b(ambulance|paramedics|responders|help arrives))",
    r"\b(don't|dont|do not|never|no need to)\s+(call|ring|phone)\s+(911|999|112|000|an ambulance|"
    r"emergency|anyone|anybody|a doctor|the doctor|for help)",
    r"\b(don't|dont|do not|no need to)\s+(go|going)\s+to\s+(the\s+)?(hospital|er|a&e|emergency)"
    r"(?![^.]*\balone\b)")]
_NOT_ADVICE = r"(?!(not|no|never|rather|than|instead|without|nor|neither|substitute|replacement)\b)"
_ADVICE = [re.compile(p, re.I) for p in (
    # "this is investment advice", "that's my personal financial advice"; not "this is not ..."
    r"\b(this|that|it|here|the following|my (answer|reply|view|recommendation))('s|\s+is|\s+are|"
    r"\s+constitutes|\s+counts as|\s+serves as)\s+(" + _NOT_ADVICE + r"[\w-]+\s+){0,3}?"
    r"(investment|financial|trading)\s+advice\b",
    r"\b(take|consider|treat)\s+(this|it|that)\s+(as\s+)?(" + _NOT_ADVICE + r"[\w-]+\s+){0,2}?"
    r"(investment|financial)\s+advice\b",
    r"\bas\s+(your|an?)\s+([\w-]+\s+){0,2}?(financial|investment)\s+advis[eo]r\b",
    # "buy AAPL now", "sell before earnings"; not "buy-and-hold", "a sell-off", "buy signal", a question
    r"\b(buy|sell|short|dump|load up on|pile into|get out of)\b(?![- ](and[- ]hold|off|signals?|side|"
    r"rating|pressure|orders?|zone)\b)[^.!?\n]{0,60}?\b(now|today|immediately|right away|asap|tonight|"
    r"tomorrow|this week|while (you|it) can|before (it|the|earnings))\b(?![^.!\n]*\?)",
    r"\b(you should|you must|you need to|i('d| would)? (recommend|advise|suggest)( that)?( you)?|"
    r"we recommend( you)?|my advice is to)\s+(definitely\s+)?(buy|sell|short|dump)(ing)?\b")]
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
    EVALUATIONS["reply"] += 1
    body = reply.replace("\r\n", "\n")
    for fixed in (decision.preamble, NOT_A_DIAGNOSIS, FINANCE_DISCLAIMER, RESPONSIBLE_GAMBLING):
        if fixed:
            body = body.replace(fixed, "")
    body = _remove_sentences(body, _reply_rules(decision, medical, finance, sports)).strip()
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


def screen_draft(decision: SafetyDecision, text: str, *, medical: bool, finance: bool, sports: bool) -> str:
    """Complete sentences of a streamed draft with the sentences `enforce_reply` would remove replaced by
    its markers; the lines it adds are not (the final answer carries them). Not an evaluation: the reply
    guard still runs once, on the whole answer."""
    return _remove_sentences(text.replace("\r\n", "\n"), _reply_rules(decision, medical, finance, sports))


def _reply_rules(decision: SafetyDecision, medical: bool, finance: bool,
                 sports: bool) -> list[tuple[list[re.Pattern[str]], str]]:
    """Which sentences a reply may not keep, and the marker that stands in for each."""
    rules: list[tuple[list[re.Pattern[str]], str]] = [(_CERTAINTY, REMOVED_CERTAINTY)]
    if medical or decision.urgency is not None:
        rules.append((_DOSING, REMOVED_DOSING))
    if decision.urgency in (Urgency.EMERGENCY, Urgency.URGENT):
        rules.append((_DOWNPLAY, REMOVED_DOWNPLAY))
    if sports or FLAG_PROBLEM_GAMBLING in decision.flags:
        rules.append((_STAKES, REMOVED_STAKE))
    if finance:
        rules.append((_ADVICE, REMOVED_ADVICE))
    return rules


def remove_downplay(text: str) -> str:
    """The text without sentences that play a warning down ('it's probably nothing', 'no need to call')."""
    return _remove_sentences(text, [(_DOWNPLAY, REMOVED_DOWNPLAY)])


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def _remove_sentences(text: str, rules: list[tuple[list[re.Pattern[str]], str]]) -> str:
    out_lines = []
    for line in text.split("\n"):
        kept: list[str] = []
        changed = False
        for sentence in re.split(r"(?<=[.!?])\s+", line):
            probe = sentence.translate(_QUOTES)  # "it’s nothing" is "it's nothing"
            marker = next((m for patterns, m in rules if any(p.search(probe) for p in patterns)), None)
            changed = changed or marker is not None
            if marker is None:
                kept.append(sentence)
            elif not kept or kept[-1] != marker:
                kept.append(marker)
        out_lines.append(" ".join(kept) if changed else line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out_lines))
