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
    ELLIPSIS_MARKERS,
    HASH_ID_RE,
    ID_RE,
    KNOWN_WORDS,
    LEADING_FILLER_RE,
    NOT_A_COUNT_RE,
    NUMBER_WORDS,
    POOL_NOUNS,
    POOL_SYNONYMS,
    POSSESSIVE_RE,
    STATUS_WORDS,
    TASK_ID_RE,
    THOUSANDS_RE,
    TOKEN_RE,
    TRAILING_FILLER_RE,
    word_set,
)
from domains.routing import MIN_TOPIC_SCORE, TICKER_WEIGHT, content_scores, count_tickers

_MAX_NUMBER_DIGITS = 9
"""Longer digit runs are not read as sizes or ids."""

_ODDS_HINT = re.compile(r"[+-]\d{3}\b|\d\.\d|\d/\d|\bevens\b", re.I)
_SUM_HINT = re.compile(r"\d")
"""Only a text with a digit can be arithmetic: the calculator (and its import) is skipped otherwise."""
"""A cheap first look for prices: only a text with one is parsed as a slate of markets."""


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
        """How much domain content the piece holds; one weak word alone ("is it safe to restart?") is none."""
        total = sum(self.content.values())
        return total if total >= MIN_TOPIC_SCORE else 0

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


_ARROW_RE = re.compile(r"\s*(?:->|=>|\u2192|\u21d2)\s*(?=\d)")
"""An arrow before a number reads as "to"."""


def segment(raw: str, joined: bool) -> Segment:
    """The Segment of one piece of a request; ``joined`` when something comes before it."""
    core = _strip_filler(raw)
    lowered = unicodedata.normalize("NFKC", core).lower().replace("\u2019", "'")
    lowered = _ARROW_RE.sub(" to ", lowered)  # "healthcare pool -> 4 agents", as notes and chat-ops write it
    tokens = _tokens(_plain_numbers(lowered))
    first = TOKEN_RE.findall(raw.lower())[:1]
    joined = joined or bool(first and first[0] in ELLIPSIS_MARKERS) or raw.lower().startswith(
        ("what about", "how about"))
    pools, pool_tokens = _pools_named(tokens)
    text = " " + " ".join(tokens) + " "
    numbers = [int(t) for t in tokens if t.isdigit() and len(t) <= _MAX_NUMBER_DIGITS]
    content = content_scores(tokens, text, pool_tokens)
    tickers = count_tickers(core)
    if tickers:
        content["financial"] = content.get("financial", 0) + TICKER_WEIGHT * tickers
    if _ODDS_HINT.search(core) and _priced_market(core):
        content["sports"] = content.get("sports", 0) + 3  # a priced market: "Giants -110 vs Jets -110"
    if _SUM_HINT.search(core) and _arithmetic(core):
        content["general"] = content.get("general", 0) + 3  # "-3^2", "what is 7 / 0": the calculator's
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


_WILL_RE = re.compile(r"\b(i|we|you|they|he|she|it|that|there|who)'ll\b")
"""'I'll', 'we'll', 'she'll': without the apostrophe they would read as 'ill', 'well', 'shell'."""


def _tokens(lowered: str) -> list[str]:
    words = [correct(w) for w in TOKEN_RE.findall(_WILL_RE.sub(r"\1 will", lowered).replace("'", ""))]
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


def _priced_market(core: str) -> bool:
    """Whether the text prices a market of two or more outcomes (imported here: most requests hold no odds)."""
    from domains import sports_odds

    return any(len(g.outcomes) >= 2 for g in sports_odds.parse_slate(core))


def _arithmetic(core: str) -> bool:
    """Whether the text is only arithmetic (imported here: most requests are not sums)."""
    from domains import calculator

    return calculator.is_arithmetic(core)


# --- what the matchers read of a segment ---------------------------------------------------------


def task_id_of(seg: Segment) -> int | None:
    """The task number a segment names ('task 12', 'job #12', '#12'), or None."""
    match = TASK_ID_RE.search(seg.text)
    if match is None and seg.has_any(word_set("task job")):
        match = ID_RE.search(seg.text)
    if match is None:
        match = HASH_ID_RE.search(seg.core)
    return int(match.group(1)) if match else None


def task_status_of(seg: Segment, ignore: tuple[str, ...] = ()) -> str | None:
    """The task status a segment's words name ('failed', 'in progress'), or None."""
    for token in seg.tokens:
        status = STATUS_WORDS.get(token)
        if status and status not in ignore:
            return status
    return "running" if seg.has("in progress") else None


def number_after(text: str, words: tuple[str, ...]) -> int | None:
    """The number written after one of ``words`` in a segment's text ('run 4', 'workflow #2'), or None."""
    match = re.search(r" (?:%s) (?:number |no |id |#)?(\d{1,9}) " % "|".join(words), text)
    return int(match.group(1)) if match else None
