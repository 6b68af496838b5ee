"""Routing: the one vocabulary that points a request at a pool, route_pool, and decide (the pool and
the safety decision of a task, made once when it is submitted).

The command parser (commands.segment) scores its typo-corrected tokens with content_scores and
count_tickers; route_pool scores a request's plain words with the same functions. A medical red flag
or a mention of self-harm routes to healthcare whatever pool was picked (the safety decision says so).
"""
from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace

from safety import policies as safety
from values import DEFAULT_POOL, POOL_NAMES, parse_pool

SLATE_GAME_WEIGHT = 2
"""Score a game of a betting slate ('Lakers -150 vs Celtics +130') adds to sports."""

TICKER_WEIGHT = 3
"""Score each ticker ('AAPL', '$IBM') adds to financial."""

TOKEN_RE = re.compile(r"[^\W_]+")
"""A word of a request."""


def _weighted(strong: str, weak: str) -> dict[str, int]:
    return {**dict.fromkeys(weak.split(), 1), **dict.fromkeys(strong.split(), 2)}



DOMAIN_WORDS: dict[str, dict[str, int]] = {
    "healthcare": _weighted(
        strong="""
        symptom symptoms pain painful ache aches headache headaches migraine migraines fever cough
        coughing sore throat diagnosis diagnose diagnosed medication medications medicine medicines drug
        drugs dose dosage ibuprofen aspirin paracetamol acetaminophen tylenol antibiotic antibiotics
        prescription doctor doctors physician nurse hospital clinic patient patients disease illness
        infection virus flu covid allergy allergies asthma diabetes diabetic insulin cholesterol blood
        heart cardiac stroke cancer tumor chest breath breathing breathless dizzy dizziness nausea
        vomiting vomit rash injury injured sprain sprained ankle fracture surgery therapy therapist
        mental anxiety anxious depression depressed insomnia vaccine vaccination pregnant pregnancy diet
        nutrition calories vitamin vitamins supplement supplements obesity bmi smoking wound bleeding
        emergency ambulance burn burns knee knees shoulder elbow wrist hip neck stomach hurts hurt
        hurting swollen swelling bruise lump itchy itching diarrhea constipation period menstrual
        pediatric poison poisoning overdose suicide suicidal sick treatment treat cure remedy dentist
        dental pill pills medical clinical healthcare cheek sleep waking ill
        nauseous bleed breathe injuries wounds""",
        weak="pressure weight alcohol tired stress skin eye test pounds kg lose benefits exercises worried "
             "safe"),
    "financial": _weighted(
        strong="""
        stock stocks equity equities invest investing investment investments investor portfolio trading
        trader crypto cryptocurrency bitcoin btc ethereum etf etfs bond bonds dividend dividends earnings
        valuation eps nasdaq dow forex currency mortgage refinance loan loans debt retirement 401k 401
        ira roth savings financial finance gold silver commodities hedge brokerage wealth banking apr
        inflation sp500 shares ticker tickers funds index taxes fed spending expenses recession stimulus
        annuity annuities treasury treasuries usd eur gbp dollars euros yen aapl msft tsla nvda amzn goog
        googl nflx qqq voo vti jpm pypl pltr baba
        volatility volatile sharpe drawdown drawdowns rsi rebalance rebalancing allocation allocations portfolios""",
        weak="""
        market markets price prices money budget fund yield ratio interest rates rate tax buy sell apple
        microsoft tesla amazon google alphabet nvidia netflix credit bank quarter save outlook profit
        returns cash"""),
    "sports": _weighted(
        strong="""
        sports sport betting bet bets wager parlay moneyline bookmaker sportsbook gambling fantasy lineup
        roster odds league nba nfl mlb nhl mls ncaa ufc f1 playoffs playoff tournament championship
        football soccer basketball baseball hockey tennis golf cricket rugby boxing mma marathon workout
        athlete athletes quarterback pitcher goalkeeper striker touchdown coach lakers celtics warriors
        knicks yankees dodgers chiefs patriots cowboys packers 49ers arsenal liverpool chelsea barcelona
        madrid bayern juventus lebron messi ronaldo olympics underdog spread
        bettor bettors wagers bookie bookies kelly bankroll handicap fixture fixtures""",
        weak="""
        game games match matches team teams player players season score scores final finals win training
        fitness defense offense favoured favored favorite cup premier champions week weekend tonight
        tonights sunday injury"""),
    "business": _weighted(
        strong="""
        business automation marketing sales customer customers client clients crm leads onboarding hiring
        hire hires recruiting recruit hr employee employees staff meeting meetings agenda offsite
        newsletter campaign brand branding startup startups competitor competitors competitive swot kpi
        kpis okr okrs roadmap revenue pricing invoice invoices invoicing payroll inventory logistics
        vendor vendors procurement contract contracts proposal stakeholder stakeholders escalation saas
        b2b ecommerce bakery restaurant agency project projects operations ops management manager
        managers managing
        automate automated automating ticket tickets helpdesk schedule scheduling""",
        weak="""
        company companies email emails support process store shop strategy cost costs forecast product
        launch website pitch deck presentation job description q1 q2 q3 q4 quarterly team truck coffee
        weekly
        processes processing"""),
}
"""Words that point a domain request at a pool, with a weight (2 strong, 1 weak)."""

DOMAIN_PHRASES: dict[str, dict[str, int]] = {
    "healthcare": {"side effects": 3, "chest pain": 3, "short of breath": 3, "blood pressure": 3,
                   "blood test": 3, "sore throat": 3, "back pain": 3, "mental health": 3, "type 2": 1,
                   "the er": 3, "deep cut": 3, "first aid": 3, "emergency room": 3, "lose weight": 3,
                   "weight loss": 3, "green tea": 1},
    "financial": {"p e": 3, "interest rate": 3, "interest rates": 3, "cash flow": 2, "s p": 3,
                  "index funds": 3, "share price": 3, "stock market": 3, "balance sheet": 3,
                  "federal reserve": 3, "rate decision": 3, "moving average": 3,
                  "moving averages": 3, "price history": 3},
    "sports": {"premier league": 3, "champions league": 3, "world cup": 3, "super bowl": 3, "red sox": 3,
               "real madrid": 3, "half marathon": 3, "over under": 3, "point spread": 3},
    "business": {"project management": 3, "business plan": 3, "market research": 3, "supply chain": 3,
                 "job description": 3, "cost cuts": 3, "job interview": 3, "team building": 3,
                 "customer support": 3, "follow up": 1, "purchase order": 3, "new hire": 3},
}
"""Phrases that point a domain request at a pool, with a weight."""

TICKERS_UPPER = frozenset("""
    USD EUR GBP JPY CHF CAD AUD CNY INR AMD IBM SPY META DIS KO XOM INTC ORCL BAC WMT NKE UBER COIN CVX
    PFE JNJ SHOP SQ ARKK BRK""".split())
"""Tickers and currency codes that count only in capitals (AMD, SHOP) or with a $ in front."""

TICKER_RE = re.compile(r"\$[A-Za-z]{1,5}\b|\b[A-Z]{2,5}\b")



def content_scores(tokens: list[str], text: str, skip: Collection[int] = ()) -> dict[str, int]:
    """Domain scores of a request's words (DOMAIN_WORDS) and phrases (DOMAIN_PHRASES).

    Args:
        tokens: the request's words, lower case.
        text: the same words joined by single spaces, with a space at each end.
        skip: positions of tokens that do not count (the words naming a pool in a command).
    """
    scores: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if i in skip:
            continue
        for pool, weight in _WORD_WEIGHTS.get(token, ()):
            scores[pool] = scores.get(pool, 0) + weight
    for first in set(tokens) & _PHRASES_BY_FIRST.keys():
        for pool, phrase, weight in _PHRASES_BY_FIRST[first]:
            if f" {phrase} " in text:
                scores[pool] = scores.get(pool, 0) + weight
    return scores


_WORD_WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {}
"""DOMAIN_WORDS turned round: word -> (pool, weight) of each pool that knows it (one lookup per word)."""
for _pool, _words in DOMAIN_WORDS.items():
    for _word, _weight in _words.items():
        _WORD_WEIGHTS[_word] = (*_WORD_WEIGHTS.get(_word, ()), (_pool, _weight))

_PHRASES_BY_FIRST: dict[str, list[tuple[str, str, int]]] = {}
"""DOMAIN_PHRASES by their first word: a phrase can only be in a text that holds its first word."""
for _pool, _phrases in DOMAIN_PHRASES.items():
    for _phrase, _weight in _phrases.items():
        _PHRASES_BY_FIRST.setdefault(_phrase.split()[0], []).append((_pool, _phrase, _weight))


_CSV_NAME = re.compile(r"\S\.csv\b", re.I)


def count_tickers(text: str) -> int:
    """How many tickers a text names: '$X', TICKERS_UPPER in capitals, or a financial word in capitals;
    a named CSV file counts as one (price data to analyse: 'analyze xyz.csv')."""
    count = 0
    for match in TICKER_RE.finditer(text):
        word = match.group()
        if word.startswith("$") or word in TICKERS_UPPER or word.lower() in DOMAIN_WORDS["financial"]:
            count += 1
    return count + len(_CSV_NAME.findall(text))


def topic(text: str) -> str:
    """The pool a request is about by its words alone (DEFAULT_POOL when none fits)."""
    tokens = TOKEN_RE.findall(text.lower().replace("'", "").replace("\u2019", ""))
    scores = content_scores(tokens, " " + " ".join(tokens) + " ")
    tickers = count_tickers(text)
    if tickers:
        scores["financial"] = scores.get("financial", 0) + TICKER_WEIGHT * tickers
    if any(map(str.isdigit, text)):
        from domains import sports_odds  # only a text with numbers can hold a slate of odds

        games = sum(1 for g in sports_odds.parse_slate(text) if len(g.outcomes) >= 2)
        if games:
            scores["sports"] = scores.get("sports", 0) + SLATE_GAME_WEIGHT * games
    best = max(scores.values(), default=0)
    if best <= 0:
        return DEFAULT_POOL
    return next(name for name in POOL_NAMES if scores.get(name) == best)


def route_pool(text: str, pool: str | None = None, *, decision: safety.SafetyDecision | None = None) -> str:
    """The pool a request belongs to: `pool` when given, else by its words (DEFAULT_POOL when none fits).

    A medical red flag or a mention of self-harm always routes to healthcare, whatever pool was
    picked ("my AAPL shares crashed and now I have chest pain and I'm sweating").

    Args:
        text: the request.
        pool: the pool a caller picked (the command processor, an API client), or None.
        decision: the request's safety decision when already made (else the policies read the text).

    Raises:
        UnknownPool: `pool` is not one of POOL_NAMES.
    """
    return decide(text, pool, decision=decision).pool


def decide(text: str, pool: str | None = None, *, keep_pool: bool = False,
           decision: safety.SafetyDecision | None = None) -> safety.SafetyDecision:
    """A task's pool and safety decision, made once when it is submitted and kept with it.

    1. The request policies read the text once (red flags, self-harm, problem gambling, injection).
    2. The topic: the pool the words are about, whatever pool was picked.
    3. The pool: healthcare for a red flag or self-harm (unless `keep_pool`), else the picked
       pool, else the topic.

    Args:
        text: the request.
        pool: the pool a caller picked, or None.
        keep_pool: keep a picked pool even for a red flag (the workflow engine's business drafts).
        decision: an earlier decision on the same text (its flags are reused; nothing is assessed).

    Raises:
        UnknownPool: `pool` is not one of POOL_NAMES.
    """
    if pool is not None:
        pool = parse_pool(pool)
    if decision is None:
        decision = safety.assess_request(pool or DEFAULT_POOL, text)
    about = "healthcare" if decision.needs_healthcare else topic(text)
    if pool is None:
        pool = about
    elif decision.needs_healthcare and not keep_pool:
        pool = "healthcare"
    return replace(decision, pool=pool, topic=about)
