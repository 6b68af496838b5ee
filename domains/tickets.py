"""Support-ticket triage by rules: category, product area, sentiment and severity P1-P4 (offline).

The built-in analyzer behind the support_ticket_triage workflow's steps (workflow_step_replies): it
reads a ticket's words, not any system's state, so a person confirms what it says. P1 only for an
outage that reaches all users, data loss or a security breach.
"""
from __future__ import annotations

import re
from typing import Any

_SIGNALS = {  # signal: (why it counts, a pattern over the ticket in lower case)
    "security": ("security breach", r"security (?:breach|issue|incident|problem|hole|vulnerability)|"
                 r"breach(?:ed)?(?! of contract)|hacked|compromised|data leak|leak(?:ed|ing)|ransomware|"
                 r"unauthori[sz]ed (?:access|logins?|charges?|users?)|take over (?:any|other|an?|someone)\w* "
                 r"accounts?|without (?:any )?authentication|someone (?:\w+ ){0,3}(?:got into|logged into|"
                 r"using it|accessed)|pretending to be (?:me|us)|(?:another|other) (?:company|customer|"
                 r"tenant)(?:'s|s'|'s)? (?:data|customer list|invoices|records)|not ours"),
    "data_loss": ("data loss", r"data loss|lost (?:all|every|our|my|the|years|months)\b|wiped|erased|"
                  r"(?:have|has|had) been deleted|deleted (?:all|every)|(?:were|was|got) deleted|"
                  r"(?:is|are|was|were|now|completely|have|has) (?:\w+ )?(?:gone|empty|disappeared|vanished)|"
                  r"file not found"),
    "outage": ("the product is down", r"outage|(?:is|are|went|been|goes|gone|go) down|down for|"
               r"\b(?:site|service|platform|app|system|server|api)\b(?:(?!\bnot\b)[^.?!,]){0,15}\bdown\b|unreachable|"
               r"(?:won'?t|doesn'?t|does not|not) (?:load|resolve)|not loading|offline|50[23]|bad gateway|"
               r"locked out of the (?:product|app|platform|site|service)|(?:nobody|no one|none of [^.,]{0,30}?) "
               r"(?:can|could) (?:log ?in|sign in|access|use|reach|get in)|(?:can'?t|cannot|unable to) "
               r"(?:access|reach|load) (?:the |our |your )?(?:site|app|portal|platform|service|product)"),
    "everyone": ("reaches all users", r"all (?:\d+ )?(?:of )?(?:our |my |the )?(?:[a-z]+ )?(?:users|customers|"
                 r"clients|staff|subscribers|accounts|workspaces)|every(?:one| user| customer| client| account| "
                 r"workspace| request| call| webhook| one of)|for anyone|(?:nobody|no one) (?:on|in|can)|"
                 r"none of (?:our|the|my)|(?:entire|whole) (?:site|system|platform|app|store|organi[sz]ation|"
                 r"company|team|org|file library)|everything|across the board|any of our (?:users|customers)"),
    "many": ("reaches many users", r"half (?:of|our|the|all)\b|most (?:of )?(?:our|the)|many (?:of )?"
             r"(?:our|the) (?:users|customers)|hundreds|\(\d+ people\)|all \d+ of"),
    "one": ("one customer or one account", r"just me|only me|for me\b|just my account|my account only|"
            r"(?:our|my) account only|for us\b|a single user|one (?:of our|of my) (?:users|colleagues)|"
            r"one user|on my (?:laptop|phone)|laptop only|(?:everyone|everybody) else is fine"),
    "partial": ("the rest works", r"(?:is|are|looks?|seems?) (?:fine|normal)|still works?|works? fine|"
                r"go through"),
    "impact": ("business impact", r"los(?:ing|t) (?:orders|sales|money|revenue|customers)|can'?t (?:buy|book|"
               r"sell|work|close|check ?out)|orders? (?:are )?(?:piling up|not syncing|stuck)|no order|"
               r"(?:customers|clients) (?:can'?t|cannot|aren'?t|are not|don'?t)|inbox is exploding|"
               r"being downgraded"),
    "broken": ("something is broken", r"not working|(?:doesn'?t|does not|didn'?t) (?:work|apply|remember)|"
               r"does nothing|broken|errors?|fail(?:s|ed|ing|ure)?|crash(?:es|ed|ing)?|(?:can'?t|cannot|"
               r"unable to) (?:log ?in|sign in|open|download|reset|get)|stuck|hangs|stopped|"
               r"(?:aren'?t|isn'?t|not|never) (?:being )?(?:delivered|sent|syncing|arriving|arrives|firing|"
               r"getting|show(?:s|ing)? up)|haven'?t been sent|wrong|500s?|404|declined|logged out|"
               r"session expired|resets|skips|cuts off|greyed out|blank|doubled|twice|locked|stolen"),
    "billing": ("a billing problem", r"charged|billed|refund|overcharg\w*|promo code|paid full price|reissue|"
                r"seat count|(?:invoice|receipt)\w*\b[^.]{0,60}\b(?:wrong|old|incorrect|instead|404)"),
    "slow": ("slow or intermittent", r"slow(?:er)?|sluggish|latency|takes? (?:about )?\d+|seconds|time(?:s|d)? "
             r"out|timeouts?|timing out|intermittent(?:ly)?|sometimes|occasionally|once a day|\d+ in \d+|"
             r"drains|hours behind"),
    "content": ("the wording of a page or document", r"typo|misspel\w*|should (?:say|read)|help article|"
                r"\bdocs?\b|documentation|guide|changelog|\bfaq\b|screenshot|tooltip|privacy policy|footer|"
                r"logos? page|translation|french version"),
    "request": ("a request", r"feature request|would be (?:nice|great|good|helpful)|it would help|please add|"
                r"(?:could|can) you add|suggestion|wishlist|idea:|please switch|please update|would love"),
    "question": ("a question", r"how (?:do|can|should|would) (?:i|we)|how to\b|is there (?:a|an)\b|"
                 r"is it possible|where (?:do|can|is) |can (?:i|we)\b|do you (?:offer|support|have)|"
                 r"what(?:'s| is| are) (?:the|your)|which one|just (?:checking|wondering)|wondering if|"
                 r"want to know|need to know|asks whether|\?"),
    "urgent": ("the customer says it is urgent", r"urgent(?:ly)?|asap|immediately|emergency|critical")}
_NEGATION = re.compile(r"\b(?:no|not|never|nothing|without|\w+n't|dont|didnt|doesnt|isnt|wasnt|werent|"
                       r"arent|wont|havent|hasnt)\b")
_SCOPES = frozenset({"everyone", "many", "one", "partial"})  # who is affected: a negation does not undo it
NEGATION_WORDS = 4
"""Words before a signal searched for a negation in the same clause ("not a full outage")."""
_CLAUSE = re.compile(r"[.!?;:,()\n]|\bbut\b| - ")
_PROBLEMS = frozenset({"outage", "broken", "billing", "slow"})
_CATEGORIES = (  # category: a signal, else words of its own; the first that fits
    ("security", "security"), ("data loss", "data_loss"), ("outage", "outage"), ("content", "content"),
    ("billing", r"invoices?|billing|bill|charged?|refund|subscription|receipt|vat|promo code"),
    ("account and access", r"log ?in|password|sign in|account|2fa|locked out|sso|session"),
    ("performance", "slow"), ("bug", "broken"), ("feature request", "request"), ("how-to question", "question"))
_AREAS = (("checkout and payments", r"checkout|cart|payments?|card"),
          ("billing and invoices", r"invoices?|billing|bill|subscription|refund|receipt"),
          ("account and login", r"log ?in|password|sign in|account|2fa|profile"),
          ("mobile app", r"app|ios|android|iphone|mobile"), ("API", r"api|webhooks?|integrations?"),
          ("reports", r"reports?|exports?|dashboards?|csv"), ("email", r"e-?mails?|notifications?"),
          ("website", r"site|website|web ?pages?|page|browser"))
SEVERITY = {"P1": "an outage for all users, data loss or a security breach: page the on-call engineer now",
            "P2": "a major function broken for many users, or a business impact: work on it today",
            "P3": "something degraded, or one customer's problem: the normal queue",
            "P4": "a question, a request or a wording fix: the normal queue"}
"""What each severity means, and what to do about it."""
REPLIES = {  # category: what the reply says, then what happens next
    "outage": ("We know this stops you and your users; our engineers are on it now, as our top priority.",
               "We will update you at least every hour until it is fixed.",
               "Once it is fixed, we will tell you what happened and what we are changing."),
    "data loss": ("We understand data is missing, and we are treating this with the highest priority.",
                  "Please avoid changing the affected records until we reply, so nothing is overwritten.",
                  "We are checking our backups for <what is affected> and will update you by <when>."),
    "security": ("We take this seriously and have passed it to our security team.",
                 "Please change your password now and turn on two-factor sign-in if it is off.",
                 "We will tell you what we find and what we are doing, by <when>."),
    "billing": ("I have looked into your question about billing.", "<what you found, or the change made>",
                "You will see <the correction> by <date>."),
    "account and access": ("I am sorry you are having trouble getting into your account.",
                           "<what to do, e.g. the reset link>",
                           "If that does not work, reply with the email you sign in with (not a password)."),
    "bug": ("Thank you for reporting this; I have passed it to our product team.",
            "To help us fix it, please send the steps that lead to it, a screenshot and when it happened.",
            "We will tell you when it is fixed."),
    "feature request": ("Thank you for the suggestion; I have shared it with our product team.",
                        "We cannot promise if or when it will be built, but we will tell you if it is.",
                        "<a workaround, if there is one>"),
    "content": ("Thank you for pointing this out; I have passed it to the team that owns that page.",
                "<what will be corrected>", "We will tell you when the correction is live."),
    "performance": ("Thank you for reporting the slowdown; I have passed it to our engineers.",
                    "To help us find it, please tell us which page or call is slow, since when, and how slow.",
                    "We will tell you what we find."),
    "how-to question": ("Here is how to do that:", "<the steps, or a link to the help article>",
                        "If anything is unclear, just reply to this message.")}
"""Per category: what a reply to the customer says, then what happens next (<angle brackets>: to fill in)."""


def classify(text: str) -> dict[str, Any]:
    """A ticket's category, product area, sentiment, severity and the reasons, by rules over its words.

    Severity comes from impact and scope, and a negated signal ("no data loss", "we were not hacked")
    does not count: P1 a security breach, data loss, or an outage reaching all users; P2 a major
    function broken for many users or with a business impact; P3 something degraded, or one
    customer's problem; P4 a question, a request, or a fix to the wording of a page.
    """
    t = text.lower().replace("\u2019", "'")
    hits = {k: _found(p, t, negatable=k not in _SCOPES) for k, (_, p) in _SIGNALS.items()}
    on = {k for k, found in hits.items() if found}
    severity = _severity(on) if t.strip() else "P3"
    category = next((name for name, key in _CATEGORIES
                     if (key in on if key in _SIGNALS else re.search(rf"\b(?:{key})\b", t))),
                    "other" if t.strip() else "unknown")
    mood = (len(re.findall(r"\b(?:angry|furious|frustrat\w*|unacceptable|terrible|awful|worst|disappoint\w*|"
                           r"ridiculous|annoy\w*|fed up|losing)\b|!{2,}", t))
            - len(re.findall(r"\b(?:thanks|thank you|great|love|appreciate\w*|happy)\b", t)))
    reasons = [f"{why}: " + ", ".join(f"'{w}'" for w in hits[k][:3])
               for k, (why, _) in _SIGNALS.items() if hits[k]]
    return {"category": category, "severity": severity,
            "area": next((a for a, p in _AREAS if re.search(rf"\b(?:{p})\b", t)), "not named in the ticket"),
            "sentiment": ("negative" if mood > 0 else "positive" if mood < 0 else "neutral")
            + (", urgent" if "urgent" in on or severity == "P1" else ""),
            "reasons": reasons or ["no ticket text given: a person classifies it" if not t.strip() else
                                   "no sign of an outage, a fault or a question: a person checks it"]}


def _severity(on: set[str]) -> str:
    """P1-P4 from the signals found (negated ones already left out)."""
    if on & {"security", "data_loss"}:
        return "P1"
    wide = bool(on & {"everyone", "many", "impact"}) and "one" not in on
    if {"outage", "everyone"} <= on and not on & {"partial", "one"}:
        return "P1"
    if "content" in on and not (on & {"outage", "impact"} or (wide and on & _PROBLEMS)):
        return "P4"
    if on & _PROBLEMS and (wide or "outage" in on) and "one" not in on:
        return "P2"
    if "impact" in on and "one" not in on:
        return "P2"
    if on & _PROBLEMS:
        return "P3"
    return "P4" if on & {"question", "request"} else "P3"


def _found(pattern: str, text: str, negatable: bool = True) -> list[str]:
    """The words of a signal found in the text, without those negated in their clause."""
    found = []
    for m in re.finditer(rf"(?<!\w)(?:{pattern})(?!\w)" if pattern[-1] != "?" else rf"(?:{pattern})", text):
        clause_start = max((c.end() for c in _CLAUSE.finditer(text, 0, m.start())), default=0)
        before = text[clause_start:m.start()].split()[-NEGATION_WORDS:]
        if not negatable or not _NEGATION.search(" ".join(before)):
            found.append(m[0].strip())
    return list(dict.fromkeys(found))
