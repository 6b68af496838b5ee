"""Phrase patterns of the safety policies, and the normalised text they are found in (Doc).

Part of safety (import Doc, Phrase and phrases from there). Matching is on normalised words,
tolerant of small misspellings ("chset pian", "sucide"), simple leetspeak ("su1c1de") and
contractions, and it skips a phrase negated just before it ("no chest pain").

Speed: every option of every compiled phrase gets a bit; the options a word matches are worked
out once per word and kept (a bitmask), so finding a phrase is a few integer ANDs. The command
processor checks every request with these patterns, within its budget of a millisecond.
"""
from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence

logger = logging.getLogger(__name__)

MAX_SCAN_CHARS = 20_000
"""Longest part of a text the policies scan."""

MAX_GAP = 3
"""Words allowed between two words of a phrase ("pain in my chest" matches "pain chest")."""

NEGATION_WINDOW = 2
"""Words before a phrase searched for a negation ("no", "not", "without")."""

MAX_CACHED_WORDS = 65_536
"""Most words whose matching options are kept; the cache starts again when full."""


class Phrase:
    """Words to find in order; a word is 'word', 'stem*' (prefix), '=word' (no fuzz), or 'a|b'.

    Up to MAX_GAP other words may come between two words of the phrase, none before a word
    written with a leading '+' ("hang* +myself" is not found in "hang the picture myself").
    Immutable, and equal by its source and slots. A plain slotted class rather than a dataclass:
    thousands are built when the policies are imported, on every CLI call's path.
    """

    __slots__ = ("source", "slots", "masks", "gaps")
    source: str
    slots: tuple[tuple[str, ...], ...]
    masks: tuple[int, ...]
    """One bitmask per slot: the bits of its options."""
    gaps: tuple[int, ...]
    """Most words allowed before each slot."""

    def __init__(self, source: str, slots: tuple[tuple[str, ...], ...]) -> None:
        if not slots or not all(slots):
            raise ValueError(f"empty phrase: {source!r}")
        with _LOCK:
            masks = tuple(_register(tuple(option.lstrip("+") for option in slot)) for slot in slots)
        gaps = tuple(0 if slot[0].startswith("+") else MAX_GAP for slot in slots)
        for name, value in (("source", source), ("slots", slots), ("masks", masks), ("gaps", gaps)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Phrase is immutable: cannot set {name}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Phrase) and (self.source, self.slots) == (other.source, other.slots)

    def __hash__(self) -> int:
        return hash((self.source, self.slots))

    def __repr__(self) -> str:
        return f"Phrase(source={self.source!r}, slots={self.slots!r})"


_PHRASES: dict[str, Phrase] = {}
"""Every phrase compiled so far, by its source: many sources recur across the policies' lists."""


def phrases(*sources: str) -> tuple[Phrase, ...]:
    """Compile phrase sources such as 'swallow* bleach|chemical*' or 'hang* +myself'."""
    found = []
    for source in sources:
        phrase = _PHRASES.get(source)
        if phrase is None:
            phrase = _PHRASES.setdefault(source, Phrase(source, tuple(tuple(w.split("|")) for w in source.split())))
        found.append(phrase)
    return tuple(found)


def exact(patterns: tuple[Phrase, ...]) -> tuple[Phrase, ...]:
    """The same phrases with every word matched without misspelling tolerance ('graze*' becomes '=graze*')."""
    def option(word: str) -> str:
        core = word.lstrip("+")
        return word[:len(word) - len(core)] + (core if core.startswith("=") else f"={core}")
    return phrases(*(" ".join("|".join(option(o) for o in slot.split("|")) for slot in p.source.split())
                     for p in patterns))


def first_words_mask(patterns: Iterable[Phrase]) -> int:
    """The bits of the first words of `patterns`: a text none of them can be found in has none of these."""
    mask = 0
    for pattern in patterns:
        mask |= pattern.masks[0]
    return mask


_NEGATIONS = frozenset({"no", "not", "without", "denies", "deny", "nor"})
_NOT_NEGATING_NEXT = frozenset({"just", "only", "sure", "certain", "able"})
_NO_FUZZ = frozenset({"fewer", "never", "lever", "sever", "chess", "prison", "breeding", "swearing",
                      "strike", "stoke", "bleeping", "paid", "fiver", "heat", "better", "butter", "letter",
                      "construction", "constructions",
                      # "6 month old" is no "mouth" (a face sign), "shallow" no "swallow", "bright red" no "bring",
                      # "short iterations" no "snort", "angle brackets" no "ankle"
                      "month", "months", "shallow", "bright", "short", "angle", "angles",
                      # "register alice" is no "alive" (a self-harm wish), nor "look alike"
                      "alice", "alike", "aline",
                      # "asked me to check the pools" is no face "askew" with a "cheek"
                      "asked", "check", "checks", "checked", "checking"})
_EXPAND = {"cant": ("cannot",), "wont": ("will", "not"), "dont": ("do", "not"), "doesnt": ("does", "not"),
           "didnt": ("did", "not"), "isnt": ("is", "not"), "im": ("i", "am"), "wanna": ("want", "to"),
           "gonna": ("going", "to"), "ive": ("i", "have"), "cannot": ("cannot",),
           "hasnt": ("has", "not"), "havent": ("have", "not"), "hadnt": ("had", "not"), "wasnt": ("was", "not"),
           "arent": ("are", "not"), "couldnt": ("could", "not"), "wouldnt": ("would", "not"),
           "werent": ("were", "not"), "havnt": ("have", "not"), "hasent": ("has", "not"),
           # misspellings of "cannot" too short for the fuzzy match
           "cnat": ("cannot",), "carnt": ("cannot",), "cannt": ("cannot",),
           "caint": ("cannot",), "cnt": ("cannot",),
           "alot": ("a", "lot"),
           # everyday words for a sign, followed by the word the rules know (the original is kept for phrases)
           **{w: (w, "vomiting") for w in ("puking", "puked", "puke", "spewing", "spewed", "retching", "retched",
                                           "chundering", "barfing", "barfed", "chucking")},
           **{w: (w, "sick") for w in ("queasy", "nauseous", "nauseated")},
           **{w: (w, "confused") for w in ("befuddled", "disoriented", "disorientated", "bewildered")},
           **{w: (w, "drowsy") for w in ("dopey", "groggy", "zonked")},
           **{w: (w, "bleeding") for w in ("haemorrhaging", "hemorrhaging", "haemorrhage", "hemorrhage")},
           **{w: (w, "dizzy") for w in ("giddy", "woozy")},
           "noggin": ("noggin", "head"), "bub": ("bub", "baby"), "bubba": ("bubba", "baby"),
           "winded": ("winded", "breathless"), "unable": ("unable", "cannot"), "abruptly": ("abruptly",
           "suddenly"), "soreness": ("soreness", "pain"),
           "ballooned": ("ballooned", "swollen")}
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_ZERO_WIDTH = "\u200b\u200c\u200d"
_CLAUSE_SPLIT = re.compile(r"[.!?;,:()\n]+|\bbut\b|\bhowever\b")


class Doc:
    """A text split into clauses of normalised words, ready for phrase matching."""

    def __init__(self, text: str) -> None:
        self.text = text
        """The text as given."""
        cleaned = text[:MAX_SCAN_CHARS]
        if not cleaned.isascii():  # ASCII has no accents or zero-width characters to drop
            cleaned = unicodedata.normalize("NFKD", cleaned)
            cleaned = "".join(c for c in cleaned if not unicodedata.combining(c) and c not in _ZERO_WIDTH)
        cleaned = cleaned.lower().replace("\u2019", "'").replace("can't", "cannot")
        cleaned = cleaned.replace("won't", "will not")
        cleaned = cleaned.replace("n't", " not").replace("-", " ").replace("_", " ")
        if "little one" in cleaned:  # a parent's word for a baby or small child
            cleaned = cleaned.replace("little one", "little one baby")
        self.clauses: list[list[str]] = [_tokens(part) for part in _CLAUSE_SPLIT.split(cleaned)]
        self.clauses = [c for c in self.clauses if c]
        self._bits = [[_word_bits(token) for token in clause] for clause in self.clauses]
        self._present = 0
        for clause_bits in self._bits:
            for bits in clause_bits:
                self._present |= bits

    def find(self, patterns: Iterable[Phrase], *, negatable: bool = True) -> list[str]:
        """Sources of the patterns found (not negated, when negatable)."""
        found: list[str] = []
        present = self._present
        if not _first_words(patterns) & present:
            return found
        for pattern in patterns:
            for mask in pattern.masks:
                if not mask & present:
                    break  # a word of the phrase is nowhere in the text
            else:
                if self._in_a_clause(pattern, negatable):
                    found.append(pattern.source)
        return found

    @property
    def present(self) -> int:
        """The bits of every word in the text: a phrase whose first_words_mask shares none is not in it."""
        return self._present

    def has(self, patterns: Iterable[Phrase], *, negatable: bool = True) -> bool:
        """Whether any of the patterns is found."""
        present = self._present
        if not _first_words(patterns) & present:
            return False
        for pattern in patterns:
            for mask in pattern.masks:
                if not mask & present:
                    break
            else:
                if self._in_a_clause(pattern, negatable):
                    return True
        return False

    def together(self, groups: Sequence[tuple[Phrase, ...]], *, negatable: bool = True) -> bool:
        """Whether one phrase of every group is found in one clause, in any order.

        A body part and its qualifier ("blood ... pumping out", "lips ... gone blue") belong together
        when they share a clause; across clauses they may be about different things.
        """
        present = self._present
        if not all(_first_words(group) & present for group in groups):
            return False
        return any(all(any(_found_in(clause, bits, pattern, negatable) for pattern in group) for group in groups)
                   for clause, bits in zip(self.clauses, self._bits, strict=True))

    def _in_a_clause(self, pattern: Phrase, negatable: bool) -> bool:
        return any(_found_in(clause, bits, pattern, negatable)
                   for clause, bits in zip(self.clauses, self._bits, strict=True))


_RAW_TOKEN = re.compile(r"[a-z0-9@$]+")
_LETTER = re.compile(r"[a-z]")
_NUMBER_AND_UNIT = re.compile(r"\d+[a-z]{1,3}")


_FIRST_WORDS: dict[int, tuple[tuple[Phrase, ...], int]] = {}
"""id of a tuple of phrases -> (the tuple, its first_words_mask); the tuple is kept so its id stays its own."""

_ANY_WORDS = -1
"""The mask of a collection that cannot be remembered (not a tuple): every bit, so nothing is ruled out."""


def _first_words(patterns: Iterable[Phrase]) -> int:
    """first_words_mask of a tuple of phrases, worked out once (the policies pass the same tuples each time)."""
    if not isinstance(patterns, tuple):
        return _ANY_WORDS
    known = _FIRST_WORDS.get(id(patterns))
    if known is not None and known[0] is patterns:
        return known[1]
    mask = first_words_mask(patterns)
    if len(_FIRST_WORDS) >= MAX_CACHED_WORDS:
        _FIRST_WORDS.clear()
    _FIRST_WORDS[id(patterns)] = (patterns, mask)
    return mask


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for raw in _RAW_TOKEN.findall(text):
        # letters mixed with digits, '@' or '$' may be leetspeak ("su1c1de"), unless a number and its unit ("5mg")
        if not raw.isalpha() and _LETTER.search(raw) and not _NUMBER_AND_UNIT.fullmatch(raw):
            raw = raw.translate(_LEET)
        raw = raw.strip("@$")
        if raw == "2" and out and out[-1] in _BEFORE_TO:
            raw = "to"  # text-speak: "want 2 die", "going 2 jump"
        if raw:
            out.extend(_EXPAND.get(raw) or _misspelled_contraction(raw) or (raw,))
    for i in range(len(out) - 1):
        if out[i] == "2" and out[i + 1] in ("many", "much"):
            out[i] = "too"  # text-speak: "took 2 many"
    return out


_BEFORE_TO = frozenset({"want", "wants", "wanted", "going", "trying", "try", "tried", "how", "way", "need",
                        "needs", "used", "able", "ready", "supposed", "plan", "planning", "decided", "deserve"})
"""Words after which a lone '2' is 'to' in text-speak (never after 'took' or 'had': '2' tablets are a number)."""


_CONTRACTIONS = tuple(k for k, v in _EXPAND.items() if k.endswith("nt") and len(k) >= 5 and v[-1] == "not")


@functools.lru_cache(maxsize=4096)
def _misspelled_contraction(raw: str) -> tuple[str, ...] | None:
    """'doeesnt', 'dosent': a negation misspelled is still a negation (a sign read as absent or present hangs on it)."""
    if len(raw) < 5 or not raw.endswith("nt"):
        return None
    for key in _CONTRACTIONS:
        if key[0] == raw[0] and abs(len(key) - len(raw)) <= 1 and _osa_distance(raw, key) <= 1:
            return _EXPAND[key]
    return None


def _found_in(tokens: Sequence[str], bits: Sequence[int], pattern: Phrase, negatable: bool) -> bool:
    first = pattern.masks[0]
    for start in range(len(tokens)):
        if not bits[start] & first:
            continue
        if not _rest_matches(bits, start, pattern):
            continue
        if negatable and _negated(tokens, start):
            continue
        return True
    return False


def _rest_matches(bits: Sequence[int], pos: int, pattern: Phrase) -> bool:
    for mask, gap in zip(pattern.masks[1:], pattern.gaps[1:], strict=False):
        for nxt in range(pos + 1, min(pos + 2 + gap, len(bits))):
            if bits[nxt] & mask:
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


# --- the options of all phrases, and the options each word matches -------------------------------

_OPTIONS: list[tuple[str, bool, bool]] = []
"""(word, exact, prefix) of every distinct option ('stem*', '=word', 'word') of every compiled phrase;
its index is its bit."""
_OPTION_INDEX: dict[str, int] = {}
_BY_FIRST: dict[str, list[int]] = {}
"""Options by the first letter of their word: a word can only match those starting with its first
letter, or with its first two letters swapped (_close allows that swap and nothing else there)."""
_BY_FIRST_TWO: dict[str, list[int]] = {}
"""Options by the first two letters of their word."""
_WORD_BITS: dict[str, tuple[int, int]] = {}
"""word -> (how many options it was checked against, bits of those it matches)."""
_LOCK = threading.Lock()


def _register(slot: tuple[str, ...]) -> int:
    """The bitmask of a slot's options, registering the new ones (the caller holds _LOCK)."""
    mask = 0
    for option in slot:
        index = _OPTION_INDEX.get(option)
        if index is None:
            word = option.strip("=*")
            index = _OPTION_INDEX[option] = len(_OPTIONS)
            _OPTIONS.append((word, option.startswith("="), option.endswith("*")))
            _BY_FIRST.setdefault(word[:1], []).append(index)
            _BY_FIRST_TWO.setdefault(word[:2], []).append(index)
        mask |= 1 << index
    return mask


def _word_bits(token: str) -> int:
    """The bits of the options `token` matches (kept per word; extended when phrases are added)."""
    known = _WORD_BITS.get(token)
    total = len(_OPTIONS)
    if known is not None and known[0] == total:
        return known[1]
    checked, bits = known or (0, 0)
    fuzzy = len(token) >= 4 and token not in _NO_FUZZ
    candidates = _BY_FIRST.get(token[0], [])
    if fuzzy and token[0] != token[1]:
        candidates = candidates + _BY_FIRST_TWO.get(token[1] + token[0], [])
    for index in candidates:
        if not checked <= index < total:
            continue
        word, exact, prefix = _OPTIONS[index]
        if token == word or (prefix and token.startswith(word)):
            bits |= 1 << index
        elif fuzzy and not exact and len(word) >= 4 and _fuzzy(token, word, prefix):
            bits |= 1 << index
    if len(_WORD_BITS) >= MAX_CACHED_WORDS:
        _WORD_BITS.clear()
    _WORD_BITS[token] = (total, bits)
    return bits


def _fuzzy(token: str, word: str, prefix: bool) -> bool:
    """Whether `token` is a misspelling of `word` (of a word starting with `word` when a prefix)."""
    if prefix:
        lengths = (len(word) - 1, len(word), len(word) + 1)
        return any(_close(token[:n], word) for n in lengths if n <= len(token))
    return abs(len(token) - len(word)) <= 2 and _close(token, word)


def _close(token: str, word: str) -> bool:
    """Within an edit of `word` (two for long words; a swap only for four-letter words)."""
    if token[0] != word[0] and token[:2] != word[1::-1]:
        return False
    if len(word) == 4:
        return len(token) == 4 and _one_swap(token, word)
    allowed = 2 if len(word) >= 9 else 1
    if abs(len(token) - len(word)) > allowed:
        return False
    # every letter of `token` that `word` lacks costs an edit: a cheap bound before the full distance
    if sum(c not in word for c in token) > allowed:
        return False
    return _osa_distance(token, word) <= allowed


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
