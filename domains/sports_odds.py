"""Odds tools of the sports agent: parse American, decimal and fractional odds, implied probability,
margin removal (fair odds), expected value, Kelly and fractional-Kelly stakes, bankroll rules, and
a strategy for a slate of games built from odds the user gives.

No bet is ever called certain; stakes are always a small fraction of a bankroll, and the betting
policy (safety/policies.py) closes every reply with responsible-gambling guidance.
"""
from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from providers.tools import ToolSpec

logger = logging.getLogger(__name__)

KELLY_FRACTION = 0.25
"""Share of the full Kelly stake suggested (quarter Kelly: far smaller swings, most of the growth)."""

MAX_STAKE = 0.05
"""Largest stake on one bet, as a fraction of the bankroll."""

MAX_SLATE_EXPOSURE = 0.10
"""Largest total stake on one slate of games, as a fraction of the bankroll."""

STOP_LOSS = 0.20
"""Fall in the bankroll after which the rules say stop and review."""

METHODS = ("multiplicative", "shin", "power")
"""Margin-removal methods: proportional scaling, Shin's insider-trading model, the power method."""

DEFAULT_METHOD = "multiplicative"
"""The margin-removal method used unless a request names another ('shin', 'power')."""

METHOD_NAMES = {"multiplicative": "multiplicative (proportional) method",
                "shin": "Shin method (more of the margin taken from long shots)",
                "power": "power method (implied probabilities raised to one power k)"}
"""How a reply names each margin-removal method."""

NOT_ONE_MARKET = "not one market"
"""Game.market of prices whose lines do not make one market (no margin is computed from them)."""

BUILT_IN_NOTE = ("From OperatorOS's built-in odds analyzers (offline arithmetic on the odds; not a language "
                 "model).")
"""Says where an offline sports reply came from."""

EXAMPLE_SLATE = """Team A -150 (your estimate 64%) vs Team B +130
Team C 2.10 (your estimate 50%), Draw 3.40, Team D 3.60
Team E 5/6 vs Team F 11/10"""
"""Made-up teams and odds, shown only under a label saying so."""

_PROB = re.compile(r"(\d{1,3}(?:\.\d+)?)\s?%|\bp\s?=\s?(0?\.\d+|1\.0*|0)\b", re.I)
_ODDS = re.compile(r"(?<![\w.$/])([+-]\d{3,5}|\d{1,3}/\d{1,3}|\d{1,3}\.\d{1,3}|evens|evs|even)(?![\w.%/])",
                   re.I)
_PRICE = r"(?:[+-]\d{3,5}|\d{1,3}/\d{1,3}|\d{1,3}\.\d{1,3}|evens|evs|even)(?![\w.%/])"
_TOTAL = re.compile(r"\b(over|under|o|u)\s?(\d{1,3}(?:\.\d+)?)(?![\d.%/])", re.I)
_SPREAD = re.compile(rf"(?<![\w.$/])([+-]\d{{1,2}}(?:\.\d+)?)(?![\d.])(?=\s*\(?\s*{_PRICE})", re.I)
_SHORT_SIGNED = re.compile(r"(?<![\w.$/])([+-]\d{1,2}(?:\.\d+)?)(?![\w.%/])")
_SEPARATORS = re.compile(r"\s+(?:vs\.?|v\.?|versus|at|@)\s+|[,;:()\[\]|]|\s@\s|^\s*(?:vs\.?|v)\s+", re.I)
_FILLER = re.compile(r"\b(my|your|estimate|i think|chance|probability|prob|odds|kelly|stake|for|bet on|"
                     r"at|p)\b|[=~\-*]", re.I)


def parse_odds(value: str | float | int) -> float:
    """Decimal odds from American (+130, -150), fractional (5/2, 'evens') or decimal (2.5) odds.

    A number without a sign or slash is decimal when below 100 and American when 100 or more.

    Raises:
        ValueError: not odds, or odds that pay nothing (decimal 1.0 or less, American between -100 and +100).
    """
    raw = str(value).strip().lower().replace(" ", "")
    if raw in ("evens", "evs", "even", "ev"):
        return 2.0
    try:
        if "/" in raw:
            num, den = (float(x) for x in raw.split("/", 1))
            if num <= 0 or den <= 0:
                raise ValueError
            return 1 + num / den
        number = float(raw)
    except ValueError:
        raise ValueError(f"{value!r} is not odds (try -150, +130, 2.5 or 5/2)") from None
    if raw.startswith(("+", "-")) or number >= 100:
        if abs(number) < 100:
            raise ValueError(f"{str(value).strip()!r} is not valid American odds: |odds| >= 100")
        return 1 + number / 100 if number > 0 else 1 + 100 / -number
    if number <= 1:
        raise ValueError(f"{str(value).strip()!r} is not valid decimal odds: they must be above 1.0")
    return number


def to_american(decimal: float) -> float:
    """American odds of decimal odds (+150 for 2.5, -150 for 1.667)."""
    _check_decimal(decimal)
    return (decimal - 1) * 100 if decimal >= 2 else -100 / (decimal - 1)


def to_fractional(decimal: float) -> str:
    """Fractional odds of decimal odds, to the nearest fraction with a denominator up to 100."""
    _check_decimal(decimal)
    frac = Fraction(decimal - 1).limit_denominator(100)
    return f"{frac.numerator}/{frac.denominator}"


def implied_probability(decimal: float) -> float:
    """The win probability the price implies, margin included: 1 / decimal odds."""
    _check_decimal(decimal)
    return 1 / decimal


def remove_margin(decimals: list[float], method: str = DEFAULT_METHOD) -> dict[str, Any]:
    """Fair probabilities and odds of one market's outcomes, the bookmaker's margin removed.

    Args:
        decimals: the decimal odds of every outcome of the market.
        method: "multiplicative" (each implied probability divided by their sum; the default),
            "shin" (Shin 1993: the margin taken mostly from long shots) or "power" (implied
            probabilities raised to the power k that makes them sum to 1).

    Returns:
        implied, overround (the margin: implied probabilities' sum minus 1), fair_probabilities,
        fair_odds, method, and the method's parameter (shin_z or power_k) where it has one.

    Raises:
        ValueError: fewer than two prices, odds of 1.0 or less, or an unknown method.
    """
    if method not in METHODS:
        raise ValueError(f"unknown margin-removal method {method!r}: use one of {', '.join(METHODS)}")
    if len(decimals) < 2:
        raise ValueError("margin removal needs every outcome of the market (two or more prices)")
    implied = [implied_probability(d) for d in decimals]
    book = sum(implied)
    extra: dict[str, float] = {}
    if method == "shin" and book > 1:
        z = _solve(lambda z: sum(_shin(p, book, z) for p in implied) - 1, 0.0, 1 - 1e-12)
        fair, extra = [_shin(p, book, z) for p in implied], {"shin_z": z}
    elif method == "power" and book > 1:
        k = _solve(lambda k: sum(p ** k for p in implied) - 1, 1.0, 1000.0)
        fair, extra = [p ** k for p in implied], {"power_k": k}
    else:  # multiplicative; also Shin and power when there is no margin to remove (they reduce to it)
        fair = [p / book for p in implied]
    return {"implied": implied, "overround": book - 1, "fair_probabilities": fair,
            "fair_odds": [1 / p for p in fair], "method": method, **extra}


def expected_value(probability: float, decimal: float, stake: float = 1.0) -> float:
    """Expected profit of a stake: p x (odds - 1) x stake - (1 - p) x stake."""
    _check_probability(probability)
    _check_decimal(decimal)
    return stake * (probability * (decimal - 1) - (1 - probability))


def kelly_fraction(probability: float, decimal: float) -> float:
    """Full-Kelly share of the bankroll, (b p - q) / b with b = odds - 1; 0 when there is no edge."""
    _check_probability(probability)
    _check_decimal(decimal)
    b = decimal - 1
    return max(0.0, (b * probability - (1 - probability)) / b)


def stake_plan(probability: float, decimal: float, bankroll: float | None = None,
               fraction: float = KELLY_FRACTION, cap: float = MAX_STAKE) -> dict[str, Any]:
    """A stake under the bankroll rules: fractional Kelly, capped at `cap` of the bankroll."""
    if not 0 < fraction <= 1:
        raise ValueError("the Kelly fraction must be above 0 and at most 1")
    if bankroll is not None and bankroll <= 0:
        raise ValueError("the bankroll must be positive")
    full = kelly_fraction(probability, decimal)
    share = min(full * fraction, cap)
    return {"full_kelly": full, "kelly_multiplier": fraction, "stake_fraction": share,
            "capped": full * fraction > cap,
            "stake": round(share * bankroll, 2) if bankroll is not None else None,
            "expected_value_per_unit": expected_value(probability, decimal)}


def bankroll_rules(bankroll: float | None = None) -> list[str]:
    """The staking rules every strategy follows."""
    def amount(share: float) -> str:
        return f" ({share * bankroll:,.2f} of {bankroll:,.2f})" if bankroll else ""

    return [
        "The bankroll is money set aside for betting that you can afford to lose, kept apart from bills and "
        "savings.",
        f"Stake a fraction of the current bankroll: {KELLY_FRACTION:.2g} of the Kelly stake, and at most "
        f"{MAX_STAKE:.0%} on one bet{amount(MAX_STAKE)}.",
        f"At most {MAX_SLATE_EXPOSURE:.0%} of the bankroll at risk on one night's slate"
        f"{amount(MAX_SLATE_EXPOSURE)}.",
        "Bet only where your own probability is above the break-even of the price you get: its implied "
        "probability, 1 / decimal odds (60% at -150). Beating the fair, margin-free probability is not "
        "enough: between the two, the margin makes the bet lose on average. Otherwise pass.",
        f"Stop and review after losing {STOP_LOSS:.0%} of the starting bankroll; never top it up to chase "
        "losses.",
        "Recompute stakes from the current bankroll, so they shrink after losses.",
    ]


@dataclass
class Outcome:
    """One priced outcome of a market."""

    name: str
    """The side as written ('Lakers', 'Over 2.5', 'Draw')."""
    raw: str
    """The price as written ('-110', '1.90', '5/2')."""
    decimal: float
    """The price as decimal odds."""
    probability: float | None = None
    """The user's own win probability, when given."""
    line: float | None = None
    """The side's point spread (-5.5) or total (2.5), when the market has one."""


@dataclass
class Game:
    """One market: its outcomes as the user wrote them, what kind of market it is, and its line."""

    line: str
    """The text of the market."""
    outcomes: list[Outcome] = field(default_factory=list)
    """The priced outcomes."""
    refused: list[str] = field(default_factory=list)
    """Prices not read, each with the reason ("'+50' is not valid American odds: |odds| >= 100")."""
    market: str = ""
    """moneyline, spread, total, three-way, N-way, single price, or 'not one market'."""
    market_line: float | None = None
    """The spread's points (5.5 for -5.5/+5.5) or the total (2.5), when there is one."""


def parse_slate(text: str) -> list[Game]:
    """Markets with odds from free text, one market per line.

    Understands moneylines ('Lakers -150 vs Celtics +130', 'Lakers vs Celtics -150 +130'), spreads
    ('Lakers -5.5 -110 vs Celtics +5.5 -110'), totals ('Over 2.5 goals 1.90 vs Under 2.5 goals 1.95'),
    three-way markets ('Arsenal 2.10, Draw 3.40, Chelsea 3.60'), and a probability after a price
    ('Lakers -150 (my estimate 62%)' or 'p=0.62'). A price that is not valid odds ('+50') is refused
    with the reason in Game.refused.
    """
    games = []
    for line in text.splitlines():
        # A percentage over 100 is no probability ('revenue grew 150%'): left as text, not an estimate.
        probs = [(m.start(), m.end(), p) for m in _PROB.finditer(line) if (p := _prob_value(m)) is not None]
        named = _mask(line, [(a, b) for a, b, _ in probs])
        lines, refused = _lines(named)
        masked = _mask(named, [(a, b) for a, b, _, _ in lines])
        tokens = []
        for m in _ODDS.finditer(masked):
            try:
                tokens.append((m.start(), m.end(), m.group(1), parse_odds(m.group(1))))
            except ValueError as exc:
                refused.append(str(exc))
        if tokens or refused:
            games.append(_game(line, masked, tokens, probs, lines, refused))
    return games


def analyse_game(game: Game, bankroll: float | None = None, fraction: float = KELLY_FRACTION,
                 method: str = DEFAULT_METHOD) -> dict[str, Any]:
    """Implied and fair probabilities, margin, and for outcomes with the user's probability: EV and stake.

    The margin is removed only from a complete market (two or more outcomes, nothing refused, lines
    that match); a value bet needs the user's probability above the price's break-even, 1 / decimal.
    """
    complete = len(game.outcomes) >= 2 and not game.refused and game.market != NOT_ONE_MARKET
    fair = remove_margin([o.decimal for o in game.outcomes], method) if complete else None
    rows = []
    for i, o in enumerate(game.outcomes):
        row: dict[str, Any] = {"outcome": o.name, "odds": o.raw, "decimal": o.decimal,
                               "implied": implied_probability(o.decimal),
                               "break_even": implied_probability(o.decimal),
                               "fair": fair["fair_probabilities"][i] if fair else None,
                               "fair_odds": fair["fair_odds"][i] if fair else None,
                               "probability": o.probability}
        if o.probability is not None:
            row.update(stake_plan(o.probability, o.decimal, bankroll, fraction))
            row["planned_stake_fraction"] = 0.0
        rows.append(row)
    picks = [r for r in rows if r.get("stake_fraction", 0) > 0]
    pick = max(picks, key=lambda r: r["expected_value_per_unit"]) if picks else None
    if pick:
        pick["planned_stake_fraction"] = pick["stake_fraction"]
    return {"game": game.line.strip(), "market": game.market, "line": game.market_line,
            "overround": fair["overround"] if fair else None, "method": fair["method"] if fair else None,
            "refused": list(game.refused), "rows": rows, "pick": pick}


def slate_strategy(games: list[Game], bankroll: float | None = None, fraction: float = KELLY_FRACTION,
                   method: str = DEFAULT_METHOD) -> dict[str, Any]:
    """One bet at most per game (the best positive EV), stakes scaled down so the slate stays within
    MAX_SLATE_EXPOSURE of the bankroll; each pick's planned stake is the scaled one."""
    analyses = [analyse_game(g, bankroll, fraction, method) for g in games]
    picks = [a["pick"] for a in analyses if a["pick"]]
    exposure = sum(p["stake_fraction"] for p in picks)
    scale = MAX_SLATE_EXPOSURE / exposure if exposure > MAX_SLATE_EXPOSURE else 1.0
    for p in picks:
        p["slate_stake_fraction"] = p["planned_stake_fraction"] = p["stake_fraction"] * scale
        p["slate_stake"] = round(p["slate_stake_fraction"] * bankroll, 2) if bankroll else None
    return {"games": analyses, "exposure": exposure * scale, "scaled": scale < 1, "scale": scale,
            "bankroll": bankroll, "method": method}


def offline_reply(text: str) -> str:
    """The sports agent's reply built from the tools (the policy adds responsible-gambling guidance)."""
    games = parse_slate(text)
    bankroll = _bankroll(text)
    method = _method(text)
    title = "Betting strategy from your odds" if games else "Betting strategy: odds needed"
    lines = [title, BUILT_IN_NOTE, ""]
    if games:
        lines += [f"Margin means the overround: the implied probabilities' sum minus 1. Fair probabilities: "
                  f"margin removed by the {METHOD_NAMES[method]}"
                  + ("; say 'shin' or 'power' for another method." if method == DEFAULT_METHOD else "."), ""]
        lines += _strategy_lines(slate_strategy(games, bankroll, method=method), example=False)
        outcomes = [o for g in games for o in g.outcomes]
        header = ["outcome", "given", "decimal", "American", "fractional", "implied"]
        if outcomes:
            lines += ["", "Odds conversions"] + _table(header, [
                [o.name, o.raw, f"{o.decimal:.3f}", f"{to_american(o.decimal):+.0f}", to_fractional(o.decimal),
                 _pct(implied_probability(o.decimal))] for o in outcomes])
    else:
        lines += ["I cannot see tonight's games or odds: OperatorOS has no live sports feed, and a strategy "
                  "without real prices would be guesswork. Send the games with their odds, one per line, "
                  "e.g.",
                  "  Lakers -150 vs Celtics +130", "  Lakers -5.5 -110 vs Celtics +5.5 -110",
                  "  Over 2.5 goals 1.90 vs Under 2.5 goals 1.95", "  Arsenal 2.10, Draw 3.40, Chelsea 3.60",
                  "and, for stakes, your own win probability after a price ('Lakers -150 (62%)') and your "
                  "bankroll ('bankroll $500').", "",
                  "EXAMPLE SLATE (made-up teams, odds and estimates, only to show the method; not real "
                  "games):"]
        lines += _strategy_lines(slate_strategy(parse_slate(EXAMPLE_SLATE), 1000.0), example=True)
    lines += ["", "Bankroll rules"] + [f"  - {rule}" for rule in bankroll_rules(bankroll)]
    return "\n".join(lines)


def _strategy_lines(strategy: dict[str, Any], example: bool) -> list[str]:
    lines: list[str] = []
    bankroll = strategy["bankroll"]
    for n, game in enumerate(strategy["games"], start=1):
        lines.append(f"{n}. {game['game']}: {_market_label(game)}")
        lines += [f"   Refused: {why}." for why in game["refused"]]
        if game["refused"] and game["rows"]:
            lines.append("   No margin or fair odds: the market is not complete or not one market.")
        if game["rows"]:
            lines += _table(["outcome", "odds", "decimal", "implied", "fair", "your p", "EV/unit", "stake"],
                            [_row_cells(r, bankroll) for r in game["rows"]])
        lines += _verdict(game, strategy["scale"])
    picks = [g["pick"] for g in strategy["games"] if g["pick"]]
    lines.append("")
    if picks:
        note = (f" (each stake scaled by {strategy['scale']:.2f} to the {MAX_SLATE_EXPOSURE:.0%} slate limit)"
                if strategy["scaled"] else "")
        label = "Plan (example)" if example else "Plan"
        lines.append(f"{label}: {len(picks)} bet(s), {strategy['exposure']:.2%} "
                     f"of the bankroll in total{note}. Expect losing nights: a positive-EV bet still loses "
                     "often.")
    else:
        lines.append("Plan: no bet. Passing is a strategy: it keeps the bankroll for prices that offer "
                     "value.")
    return lines


def _market_label(game: dict[str, Any]) -> str:
    count = len(game["rows"])
    labels = {"spread": "point spread, line {:g}", "total": "totals (over/under), line {:g}",
              "three-way": "three-way market (home, draw, away)"}
    label = labels.get(game["market"], game["market"]).format(game["line"])
    label += f", {count} outcome{'s' if count != 1 else ''}" if game["market"] != "no prices" else ""
    if game["overround"] is not None:
        label += (f"; bookmaker margin {game['overround']:.1%} (overround: implied probabilities sum to "
                  f"{1 + game['overround']:.1%})")
    return label


def _verdict(game: dict[str, Any], scale: float) -> list[str]:
    pick = game["pick"]
    if pick:
        amount = f" = {pick['slate_stake']:,.2f}" if pick.get("slate_stake") is not None else ""
        scaled = (f" (scaled down from {pick['stake_fraction']:.2%} to keep the slate within "
                  f"{MAX_SLATE_EXPOSURE:.0%})" if scale < 1 else "")
        return [f"   Value bet: {pick['outcome']} at {pick['odds']}: your {pick['probability']:.0%} is above "
                f"the break-even {_pct(pick['break_even'])} (1 / {pick['decimal']:.3f}, the probability the "
                f"price implies); EV {pick['expected_value_per_unit']:+.3f} per unit; full Kelly "
                f"{pick['full_kelly']:.1%}, stake {pick['planned_stake_fraction']:.2%} of bankroll{amount}{scaled}."]
    guessed = [r for r in game["rows"] if r["probability"] is not None]
    if guessed:
        close = [r for r in guessed if r["fair"] is not None and r["fair"] < r["probability"] <= r["break_even"]]
        why = "".join(f" {r['outcome']}: your {r['probability']:.0%} beats the fair {_pct(r['fair'])} but not "
                      f"the break-even {_pct(r['break_even'])}, so the margin turns the edge negative."
                      for r in close)
        return [f"   Pass: at your probabilities no outcome is above its break-even (1 / decimal odds), so "
                f"no bet here has positive expected value.{why}"]
    if game["overround"] is not None:
        evs = [r["fair"] * r["decimal"] - 1 for r in game["rows"]]
        spread = (f"{min(evs):+.1%}" if max(evs) - min(evs) < 0.0005
                  else f"{min(evs):+.1%} to {max(evs):+.1%}")
        return [f"   No estimate of yours: at the fair probabilities a bet here returns {spread} of the stake "
                "on average (the bookmaker's edge). Pass, or add your probability."]
    return []


def _row_cells(r: dict[str, Any], bankroll: float | None) -> list[str]:
    stake = ""
    if r.get("planned_stake_fraction") is not None:  # the stake the plan makes: after slate scaling
        planned = r["planned_stake_fraction"]
        stake = f"{planned:.2%}" + (f" ({planned * bankroll:,.2f})" if bankroll else "")
    ev = f"{r['expected_value_per_unit']:+.3f}" if "expected_value_per_unit" in r else ""
    return [r["outcome"], r["odds"], f"{r['decimal']:.3f}", _pct(r["implied"]), _pct(r["fair"]),
            _pct(r["probability"]), ev, stake]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["   " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip()
            for row in [header, *rows]]


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _game(line: str, masked: str, tokens: list[tuple[int, int, str, float]],
          probs: list[tuple[int, int, float]], lines: list[tuple[int, int, str, float]],
          refused: list[str]) -> Game:
    starts = [tokens[i - 1][1] if i else 0 for i in range(len(tokens))]
    segments = [masked[starts[i]:tokens[i][0]] for i in range(len(tokens))]
    names = [_name(seg) for seg in segments]
    pieces = [p for p in (_clean(x) for x in _SEPARATORS.split(segments[0])) if p] if tokens else []
    if len(tokens) > 1 and len(pieces) == len(tokens) and not any(names[1:]):
        names = pieces
    owner: dict[int, float] = {}
    for p_start, _, value in probs:
        before = [i for i, t in enumerate(tokens) if t[1] <= p_start]
        owner.setdefault(before[-1] if before else 0, value)
    outcomes, kinds = [], []
    for i, (start, _, raw, decimal) in enumerate(tokens):
        own = [(k, v) for a, _, k, v in lines if starts[i] <= a < start and k != "refused"]
        kind, value = own[-1] if own else ("", 0.0)
        name = names[i] or f"outcome {i + 1}"
        if kind in ("Over", "Under"):
            name = f"{kind} {value:g}"
        elif kind == "spread":
            name = f"{name} {value:+g}"
        outcomes.append(Outcome(name, raw, decimal, owner.get(i), value if kind else None))
        kinds.append(kind)
    game = Game(line, outcomes, list(refused))
    game.market, game.market_line, problem = _market(outcomes, kinds)
    if problem:
        game.refused.append(problem)
    return game


def _market(outcomes: list[Outcome], kinds: list[str]) -> tuple[str, float | None, str | None]:
    """(kind of market, its line, why it is not one market or None)."""
    lines = [o.line for o in outcomes]
    if {"Over", "Under"} & set(kinds):
        if sorted(kinds) == ["Over", "Under"] and lines[0] == lines[1]:
            return "total", lines[0], None
        return NOT_ONE_MARKET, None, "an over/under market is one Over and one Under at the same line"
    if "spread" in kinds:
        if kinds == ["spread", "spread"] and lines[0] is not None and lines[1] is not None \
                and lines[0] == -lines[1]:
            return "spread", abs(lines[0]), None
        shown = " and ".join(f"{x:+g}" for x in lines if x is not None)
        return NOT_ONE_MARKET, None, (f"the spreads ({shown}) are not the two sides of one line "
                                      "(-5.5 and +5.5, each with its price)")
    kinds_of_size = {0: "no prices", 1: "single price", 2: "moneyline", 3: "three-way"}
    return kinds_of_size.get(len(outcomes), f"{len(outcomes)}-way"), None, None


def _lines(text: str) -> tuple[list[tuple[int, int, str, float]], list[str]]:
    """Totals ('Over 2.5'), spreads ('-5.5' before its price) and refused short signed numbers ('+50'),
    as (start, end, kind, value), with the refusals' reasons."""
    found = [(m.start(2), m.end(2), "Over" if m[1].lower() in ("over", "o") else "Under", float(m[2]))
             for m in _TOTAL.finditer(text)]
    masked = _mask(text, [(a, b) for a, b, _, _ in found])
    spreads = [(m.start(1), m.end(1), "spread", float(m[1])) for m in _SPREAD.finditer(masked)]
    masked = _mask(masked, [(a, b) for a, b, _, _ in spreads])
    refused = []
    for m in _SHORT_SIGNED.finditer(masked):
        try:
            parse_odds(m[1])
        except ValueError as exc:
            refused.append(f"{exc} (a point spread needs its price after it: 'Lakers -5.5 -110')")
        found.append((m.start(1), m.end(1), "refused", 0.0))
    return found + spreads, refused


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _shin(implied: float, book: float, z: float) -> float:
    """Shin's fair probability of an outcome for insider share z (Jullien and Salanie 1994, eq. in
    Strumbelj 2014): (sqrt(z^2 + 4 (1 - z) pi^2 / B) - z) / (2 (1 - z))."""
    return (math.sqrt(z * z + 4 * (1 - z) * implied * implied / book) - z) / (2 * (1 - z))


def _solve(f: Callable[[float], float], low: float, high: float) -> float:
    """The root of a decreasing f between low and high, by bisection to machine precision."""
    for _ in range(200):
        mid = (low + high) / 2
        if f(mid) > 0:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _name(segment: str) -> str:
    pieces = [p for p in (_clean(x) for x in _SEPARATORS.split(segment)) if p]
    return pieces[-1] if pieces else ""


def _clean(piece: str) -> str:
    return re.sub(r"\s+", " ", _FILLER.sub(" ", piece)).strip(" .")


def _prob_value(match: re.Match[str]) -> float | None:
    value = float(match.group(1)) / 100 if match.group(1) else float(match.group(2))
    return value if 0 <= value <= 1 else None


def _method(text: str) -> str:
    """The margin-removal method a request names ('shin', 'power'), else the default."""
    named = re.search(r"\b(shin|power|multiplicative|proportional)\b", text, re.I)
    word = named[1].lower() if named else DEFAULT_METHOD
    return "multiplicative" if word == "proportional" else word


def _bankroll(text: str) -> float | None:
    match = re.search(r"(?:bankroll|budget|bank)\D{0,15}?\$?\s?([\d,]+(?:\.\d+)?)|\$\s?([\d,]+(?:\.\d+)?)\s*"
                      r"(?:bankroll|budget)", text, re.I)
    if not match:
        return None
    value = float((match.group(1) or match.group(2)).replace(",", ""))
    return value if value > 0 else None


def _check_decimal(decimal: float) -> None:
    if not decimal > 1:
        raise ValueError(f"decimal odds must be above 1.0, got {decimal}")


def _check_probability(p: float) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"a probability must be between 0 and 1, got {p}")


def _odds_tool(odds: list[str], method: str = DEFAULT_METHOD) -> dict[str, Any]:
    decimals = [parse_odds(o) for o in odds]
    rows = [{"odds": o, "decimal": d, "american": to_american(d), "fractional": to_fractional(d),
             "implied_probability": implied_probability(d)} for o, d in zip(odds, decimals, strict=False)]
    return {"outcomes": rows, **({"margin_removed": remove_margin(decimals, method)} if len(decimals) > 1 else {})}


def _stake_tool(probability: float, odds: str, bankroll: float | None = None,
                kelly_multiplier: float = KELLY_FRACTION) -> dict[str, Any]:
    return stake_plan(probability, parse_odds(odds), bankroll, kelly_multiplier)


def _slate_tool(slate: str, bankroll: float | None = None, method: str = DEFAULT_METHOD) -> dict[str, Any]:
    games = parse_slate(slate)
    if not games:
        raise ValueError("no odds found; write one market per line, e.g. 'Lakers -150 (62%) vs Celtics +130', "
                         "'Lakers -5.5 -110 vs Celtics +5.5 -110' or 'Over 2.5 1.90 vs Under 2.5 1.95'")
    return slate_strategy(games, bankroll, method=method)


_ODDS_ITEMS = {"type": "array", "items": {"type": "string"},
               "description": "e.g. ['-150', '+130'] or ['2.1', '5/2']"}
_METHOD = {"type": "string", "enum": list(METHODS), "description": "margin removal; multiplicative by default"}
TOOLS: list[ToolSpec] = [
    ToolSpec("convert_odds", "Parse American, decimal or fractional odds of one market: decimal, American, "
             "fractional, implied probability, and with every outcome, the margin (overround) and fair odds "
             "by the named margin-removal method.",
             {"type": "object", "properties": {"odds": _ODDS_ITEMS, "method": _METHOD}, "required": ["odds"],
              "additionalProperties": False}, _odds_tool),
    ToolSpec("stake_size", "Expected value, full Kelly and fractional-Kelly stake (capped) from the user's "
             "own win probability and the odds.",
             {"type": "object", "properties": {"probability": {"type": "number", "minimum": 0, "maximum": 1},
              "odds": {"type": "string"}, "bankroll": {"type": "number"},
              "kelly_multiplier": {"type": "number"}}, "required": ["probability", "odds"],
              "additionalProperties": False}, _stake_tool),
    ToolSpec("slate_strategy", "Strategy for markets given as text lines with odds (moneylines, spreads, "
             "totals, three-way; optional own probabilities): fair odds, EV, at most one stake per game within "
             "the bankroll rules.",
             {"type": "object", "properties": {"slate": {"type": "string"}, "bankroll": {"type": "number"},
                                               "method": _METHOD},
              "required": ["slate"], "additionalProperties": False}, _slate_tool),
]
"""The sports agent's function tools."""
