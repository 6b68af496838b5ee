"""Turns a request's text into Commands of the fixed intent vocabulary (DESIGN.md: Intents)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

INTENTS = (
    "status", "health", "pools", "tasks", "task", "scale", "restart", "submit", "cancel", "demo",
    "workflows", "history", "help", "login", "logout", "whoami", "clarify",
)
"""The fixed intent vocabulary."""

POOL_SYNONYMS: dict[str, tuple[str, ...]] = {
    "healthcare": ("healthcare", "health care", "medical", "medicine", "clinical", "patient", "doctor"),
    "financial": ("financial", "finance", "stock", "stocks", "market", "trading", "investment", "portfolio"),
    "sports": ("sports", "sport", "betting", "bet", "odds", "football", "soccer", "nba", "nfl"),
    "business": ("business", "automation", "workflow", "project management", "operations"),
    "general": ("general", "misc", "default"),
}
"""Words that name each pool."""

MAX_TEXT_LENGTH = 4000
"""Longest request text accepted."""

_FILLER = re.compile(r"^(hey|hi|hello|ok|okay|please|could you|can you|would you|kindly|just)\b[\s,]*", re.I)


@dataclass
class Command:
    """One understood command: an intent of the vocabulary and its arguments."""

    intent: str
    args: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def __post_init__(self) -> None:
        if self.intent not in INTENTS:
            raise ValueError(f"unknown intent {self.intent!r}")


def normalise(text: str) -> str:
    """Lower-case, collapse spaces and strip polite filler from the front."""
    cleaned = re.sub(r"\s+", " ", text).strip().lower()
    previous = None
    while previous != cleaned:
        previous = cleaned
        cleaned = _FILLER.sub("", cleaned).strip()
    return cleaned


def find_pool(text: str) -> str | None:
    """The pool a text names through any synonym, or None."""
    lowered = text.lower()
    for pool, words in POOL_SYNONYMS.items():
        for word in words:
            if re.search(rf"\b{re.escape(word)}\b", lowered):
                return pool
    return None


def parse(text: str) -> list[Command]:
    """Understand a request; an unknown request yields one `clarify` command."""
    cleaned = normalise(text[:MAX_TEXT_LENGTH])
    if not cleaned:
        return [Command("help", {}, text)]
    if re.search(r"\b(help|what can you do|commands)\b", cleaned):
        return [Command("help", {}, text)]
    if re.search(r"\b(health|cpu|memory|disk|how healthy)\b", cleaned) and not find_pool(cleaned.replace("health ", "")):
        return [Command("health", {}, text)]
    if re.search(r"\bpools?\b", cleaned) and re.search(r"\b(show|list|status|how|what)\b", cleaned):
        pool = find_pool(cleaned)
        return [Command("pools", {"pool": pool} if pool else {}, text)]
    if re.search(r"\b(status|overview|dashboard|how is the system|what'?s going on)\b", cleaned):
        return [Command("status", {}, text)]
    return [Command("clarify", {"reason": "not_understood"}, text)]
