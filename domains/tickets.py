"""Support-ticket triage by rules: category, product area, sentiment and severity P1-P4 (offline).

The built-in analyzer behind the support_ticket_triage workflow's steps (workflow_step_replies): it
reads a ticket's words, not any system's state, so a person confirms what it says. P1 only for an
outage that reaches all users, data loss or a security breach.
"""
from __future__ import annotations

import re
from typing import Any

_SIGNALS = {  # signal: (why it counts, words in lower case)
    "outage": ("outage", r"outage|(?:is|are|went|goes|gone) down|down for|not loading|unreachable|"
               r"won'?t load|(?:site|service|system|platform) (?:is )?unavailable|nothing works|"
               r"(?:nobody|no one) can (?:log ?in|sign in|access|use)"),
    "everyone": ("reaches all users", r"all (?:of )?(?:our |my |the )?(?:users|customers|clients|staff)|"
                 r"everyone|every user|(?:nobody|no one) can|(?:entire|whole) (?:site|system|platform)"),
    "data_loss": ("data loss", r"data loss|lost (?:all )?(?:our |my |the )?(?:data|files|records)|wiped|"
                  r"deleted all|(?:data|files|records) (?:is |are |was |were |ha(?:s|ve) been )?gone"),
    "security": ("security breach", r"security breach|breach(?:ed)?(?! of contract)|hacked|compromised|"
                 r"data leak|leaked|unauthori[sz]ed (?:access|logins?|charges?)|ransomware"),
    "broken": ("something is broken", r"not working|(?:doesn'?t|does not) work|broken|errors?|"
               r"fail(?:s|ed|ing)?|crash(?:es|ed|ing)?|(?:can'?t|cannot|unable to) log ?in"),
    "impact": ("business impact", r"los(?:ing|t) (?:orders|sales|money|revenue|customers)|can'?t sell"),
    "minor": ("minor or intermittent", r"slow|sometimes|intermittent(?:ly)?|occasionally|typo|wrong"),
    "request": ("a request", r"feature request|would be (?:nice|great)|please add|suggestion"),
    "question": ("a question", r"how (?:do|can|should) (?:i|we)|is it possible|where (?:do|can) (?:i|we)|"
                 r"can (?:i|we)"),
    "urgent": ("the customer says it is urgent", r"urgent(?:ly)?|asap|immediately|emergency")}
_CATEGORIES = (  # category: a signal, else words of its own; the first that fits
    ("security", "security"), ("data loss", "data_loss"), ("outage", "outage"),
    ("billing", r"invoices?|billing|bill|charged?|refund|subscription|pric(?:e|ing)|receipt"),
    ("account and access", r"log ?in|password|sign in|account|2fa|locked out"), ("bug", "broken"),
    ("bug", "minor"), ("feature request", "request"), ("how-to question", "question"))
_AREAS = (("checkout and payments", r"checkout|cart|payments?|card"),
          ("billing and invoices", r"invoices?|billing|bill|subscription|refund|receipt"),
          ("account and login", r"log ?in|password|sign in|account|2fa|profile"),
          ("mobile app", r"app|ios|android|iphone|mobile"), ("API", r"api|webhooks?|integrations?"),
          ("reports", r"reports?|exports?|dashboards?|csv"), ("email", r"e-?mails?|notifications?"),
          ("website", r"site|website|web ?pages?|page|browser"))
SEVERITY = {"P1": "outage, data loss or a security breach: page the on-call engineer now",
             "P2": "a major function broken or a business impact, no full outage: work on it today",
             "P3": "something broken, with a limited reach or a workaround: the normal queue",
             "P4": "a question or a request: the normal queue"}
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
    "how-to question": ("Here is how to do that:", "<the steps, or a link to the help article>",
                        "If anything is unclear, just reply to this message.")}
"""Per category: what a reply to the customer says, then what happens next (<angle brackets>: to fill in)."""


def classify(text: str) -> dict[str, Any]:
    """A ticket's category, product area, sentiment, severity (P1 only for an outage reaching all users, data
    loss or a security breach) and the reasons, by rules over its words."""
    t = text.lower()
    hits = {k: list(dict.fromkeys(m[0] for m in re.finditer(rf"\b(?:{p})\b", t)))
            for k, (_, p) in _SIGNALS.items()}
    on = {k for k, found in hits.items() if found}
    if on & {"security", "data_loss"} or {"outage", "everyone"} <= on or {"broken", "everyone"} <= on:
        severity = "P1"
    elif on & {"outage", "impact"} or {"broken", "urgent"} <= on:
        severity = "P2"
    else:
        severity = "P3" if on & {"broken", "minor"} or not t.strip() else "P4"
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
