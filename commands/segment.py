"""A segment: one piece of a request, cleaned and tokenised, with the features the matchers read.

Part of command_processor (normalise and find_pool are importable from there). Cleaning drops
control characters and polite filler; tokens are lower case, number words become digits and typos
of command words are corrected; a segment knows the pools it names and its domain scores.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from commands.vocabulary import (
    COMMANDS_BY_LETTER,
    CONTROL_RE,
    DOMAIN_PHRASES,
    DOMAIN_WORDS,
    ELLIPSIS_MARKERS,
    KNOWN_WORDS,
    LEADING_FILLER_RE,
    NOT_A_COUNT_RE,
    NUMBER_WORDS,
    POOL_NOUNS,
    POOL_SYNONYMS,
    POSSESSIVE_RE,
    THOUSANDS_RE,
    TICKER_RE,
    TICKERS_UPPER,
    TOKEN_RE,
    TRAILING_FILLER_RE,
)

_MAX_NUMBER_DIGITS = 9
"""Longer digit runs are not read as sizes or ids."""


@dataclass
class Segment:
    """One piece of a request, with what the matchers need to know about it."""

    raw: str
    """The piece as typed."""
    core: str
    """The piece without polite filler, case kept."""
    tokens: list[str]
    """Lower-case words, typos corrected, number words as digits."""
    text: str
    """The tokens joined with single spaces and padded with one space each side."""
    numbers: list[int]
    pools: list[str]
    """Pools named, in order."""
    pool_tokens: set[int]
    """Positions of the tokens that name pools."""
    content: dict[str, int]
    """Domain scores of the words that are not pool names."""
    joined: bool
    """Whether the piece continues something ("and ...", or after a separator)."""

    def has(self, phrase: str) -> bool:
        return f" {phrase} " in self.text

    def has_any(self, words: frozenset[str]) -> bool:
        return not words.isdisjoint(self.tokens)

    @property
    def content_score(self) -> int:
        return sum(self.content.values())

    @property
    def pool_noun(self) -> bool:
        return not POOL_NOUNS.isdisjoint(self.tokens)


def normalise(text: str) -> str:
    """Lower case, NFKC, no control characters, single spaces, polite filler stripped from both ends.

    Args:
        text: Any request text.

    Returns:
        The cleaned text ("Hey, could you please show the pools?" -> "show the pools?").
    """
    cleaned = unicodedata.normalize("NFKC", CONTROL_RE.sub(" ", str(text)))
    cleaned = re.sub(r"\s+", " ", cleaned.replace("\u2019", "'").replace("\u2018", "'")).strip().lower()
    return _strip_filler(cleaned).lower()


def find_pool(text: str) -> str | None:
    """The pool a text names through any synonym (typos tolerated), or None.

    Args:
        text: Any text, e.g. "the helthcare agents".

    Returns:
        The first pool named, e.g. "healthcare", or None.
    """
    pools, _ = _pools_named(_tokens(normalise(text)))
    return pools[0] if pools else None


def segment(raw: str, joined: bool) -> Segment:
    """The Segment of one piece of a request; ``joined`` when something comes before it."""
    core = _strip_filler(raw)
    lowered = unicodedata.normalize("NFKC", core).lower().replace("\u2019", "'")
    tokens = _tokens(_plain_numbers(lowered))
    first = TOKEN_RE.findall(raw.lower())[:1]
    joined = joined or bool(first and first[0] in ELLIPSIS_MARKERS) or raw.lower().startswith(
        ("what about", "how about"))
    pools, pool_tokens = _pools_named(tokens)
    text = " " + " ".join(tokens) + " "
    numbers = [int(t) for t in tokens if t.isdigit() and len(t) <= _MAX_NUMBER_DIGITS]
    content = _content_scores(tokens, text, pool_tokens)
    tickers = _count_tickers(core)
    if tickers:
        content["financial"] = content.get("financial", 0) + 3 * tickers
    return Segment(raw, core, tokens, text, numbers, pools, pool_tokens, content, joined)


@functools.lru_cache(maxsize=8192)
def correct(word: str) -> str:
    """The command word a token is a typo of ("scael" -> "scale"), or the token itself."""
    if len(word) < 4 or word in KNOWN_WORDS or not word.isascii() or not word.isalpha():
        return word
    best, best_distance = word, 3
    for candidate in COMMANDS_BY_LETTER.get(word[0], ()) + COMMANDS_BY_LETTER.get(word[1], ()):
        if abs(len(candidate) - len(word)) > 2:
            continue
        if candidate[0] != word[0] and word[:2] != candidate[1::-1]:
            continue
        distance = _osa_distance(word, candidate, best_distance)
        if distance < best_distance and _typo_allowed(word, candidate, distance):
            best, best_distance = candidate, distance
    return best


def _plain_numbers(lowered: str) -> str:
    """'1,000' is 1000 and "task 3's" is task 3; '-3' and '2.5' are no counts or ids at all."""
    lowered = THOUSANDS_RE.sub(r"\1\2", POSSESSIVE_RE.sub(r"\1", lowered))
    return NOT_A_COUNT_RE.sub(" notacount ", lowered)


def _tokens(lowered: str) -> list[str]:
    words = [correct(w) for w in TOKEN_RE.findall(lowered.replace("'", ""))]
    tokens: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "a" and words[i + 1:i + 2] == ["couple"]:
            tokens.append("2")
            i += 3 if words[i + 2:i + 3] == ["of"] else 2
            continue
        tokens.append(str(NUMBER_WORDS[word]) if word in NUMBER_WORDS else word)
        i += 1
    return tokens


def _strip_filler(text: str) -> str:
    previous = None
    cleaned = text.strip()
    while previous != cleaned:
        previous = cleaned
        cleaned = LEADING_FILLER_RE.sub("", cleaned).strip()
        cleaned = TRAILING_FILLER_RE.sub("", cleaned).strip()
    return cleaned


def _typo_allowed(word: str, candidate: str, distance: int) -> bool:
    """Short words allow one slip that is not a substitution ("taks"), longer ones more."""
    if len(candidate) <= 5:
        substitution = len(word) == len(candidate) and sorted(word) != sorted(candidate)
        return distance == 1 and not substitution
    if len(candidate) <= 7:
        return distance == 1
    return distance <= 2


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (edits and adjacent transpositions), capped at ``limit``."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) >= limit:
            return limit
        before, previous = previous, current
    return min(previous[len(b)], limit)


def _pools_named(tokens: list[str]) -> tuple[list[str], set[int]]:
    """Pools named by synonyms, in order of appearance, and the positions of the naming tokens."""
    found: list[tuple[int, str]] = []
    used: set[int] = set()
    for pool, synonyms in POOL_SYNONYMS.items():
        for synonym in synonyms:
            words = synonym.split()
            for i in range(len(tokens) - len(words) + 1):
                span = range(i, i + len(words))
                if tokens[i:i + len(words)] == words and used.isdisjoint(span):
                    found.append((i, pool))
                    used.update(span)
    pools: list[str] = []
    for _, pool in sorted(found):
        if pool not in pools:
            pools.append(pool)
    return pools, used


def _content_scores(tokens: list[str], text: str, pool_tokens: set[int]) -> dict[str, int]:
    """Domain scores of the words that are not pool names."""
    scores: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if i in pool_tokens:
            continue
        for pool, words in DOMAIN_WORDS.items():
            if token in words:
                scores[pool] = scores.get(pool, 0) + words[token]
    for pool, phrases in DOMAIN_PHRASES.items():
        for phrase, weight in phrases.items():
            if f" {phrase} " in text:
                scores[pool] = scores.get(pool, 0) + weight
    return scores


def _count_tickers(core: str) -> int:
    count = 0
    for match in TICKER_RE.finditer(core):
        word = match.group()
        if word.startswith("$") or word in TICKERS_UPPER or word.lower() in DOMAIN_WORDS["financial"]:
            count += 1
    return count + len(re.findall(r"\S\.csv\b", core, re.I))  # a named CSV is price data to analyse
