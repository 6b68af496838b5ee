"""Odds tools of the sports agent: parse American, decimal and fractional odds, implied probability,
margin removal (fair odds), expected value, Kelly and fractional-Kelly stakes, bankroll rules, and
a strategy for a slate of games built from odds the user gives.

No bet is ever called certain; stakes are always a small fraction of a bankroll, and the betting
policy (safety.py) closes every reply with responsible-gambling guidance.
"""
from __future__ import annotations

import logging
import re
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
            raise ValueError(f"American odds must be +100 or more, or -100 or less: {value!r}")
        return 1 + number / 100 if number > 0 else 1 + 100 / -number
    if number <= 1:
        raise ValueError(f"decimal odds must be above 1.0: {value!r}")
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


def remove_margin(decimals: list[float]) -> dict[str, Any]:
    """Fair probabilities and odds of one market's outcomes, the bookmaker's margin removed
    proportionally (each implied probability divided by their sum)."""
    if len(decimals) < 2:
        raise ValueError("margin removal needs every outcome of the market (two or more prices)")
    implied = [implied_probability(d) for d in decimals]
    book = sum(implied)
    fair = [p / book for p in implied]
    return {"implied": implied, "overround": book - 1, "fair_probabilities": fair,
            "fair_odds": [1 / p for p in fair]}


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
        "Bet only where your own probability beats the fair price; otherwise pass.",
        f"Stop and review after losing {STOP_LOSS:.0%} of the starting bankroll; never top it up to chase "
        "losses.",
        "Recompute stakes from the current bankroll, so they shrink after losses.",
    ]


@dataclass
class Outcome:
    """One priced outcome of a game."""

    name: str
    raw: str
    decimal: float
    probability: float | None = None


@dataclass
class Game:
    """One market: its outcomes as the user wrote them."""

    line: str
    outcomes: list[Outcome] = field(default_factory=list)


def parse_slate(text: str) -> list[Game]:
    """Games with odds from free text, one market per line.

    Understands 'Lakers -150 vs Celtics +130', 'Lakers vs Celtics -150 +130', 'Arsenal 2.10, Draw 3.40,
    Chelsea 3.60', and a probability after a price ('Lakers -150 (my estimate 62%)' or 'p=0.62').
    """
    games = []
    for line in text.splitlines():
        # A percentage over 100 is no probability ('revenue grew 150%'): left as text, not an estimate.
        probs = [(m.start(), m.end(), p) for m in _PROB.finditer(line) if (p := _prob_value(m)) is not None]
        masked = line
        for start, end, _ in probs:
            masked = masked[:start] + " " * (end - start) + masked[end:]
        tokens = []
        for m in _ODDS.finditer(masked):
            try:
                tokens.append((m.start(), m.end(), m.group(1), parse_odds(m.group(1))))
            except ValueError:
                continue
        if tokens:
            games.append(_game(line, masked, tokens, probs))
    return games


def analyse_game(game: Game, bankroll: float | None = None,
                 fraction: float = KELLY_FRACTION) -> dict[str, Any]:
    """Implied and fair probabilities, margin, and for outcomes with the user's probability: EV and stake."""
    fair = remove_margin([o.decimal for o in game.outcomes]) if len(game.outcomes) >= 2 else None
    rows = []
    for i, o in enumerate(game.outcomes):
        row: dict[str, Any] = {"outcome": o.name, "odds": o.raw, "decimal": o.decimal,
                               "implied": implied_probability(o.decimal),
                               "fair": fair["fair_probabilities"][i] if fair else None,
                               "fair_odds": fair["fair_odds"][i] if fair else None,
                               "probability": o.probability}
        if o.probability is not None:
            row.update(stake_plan(o.probability, o.decimal, bankroll, fraction))
        rows.append(row)
    picks = [r for r in rows if r.get("stake_fraction", 0) > 0]
    pick = max(picks, key=lambda r: r["expected_value_per_unit"]) if picks else None
    return {"game": game.line.strip(), "overround": fair["overround"] if fair else None, "rows": rows,
            "pick": pick}


def slate_strategy(games: list[Game], bankroll: float | None = None,
                   fraction: float = KELLY_FRACTION) -> dict[str, Any]:
    """One bet at most per game (the best positive EV), stakes scaled down so the slate stays within
    MAX_SLATE_EXPOSURE of the bankroll."""
    analyses = [analyse_game(g, bankroll, fraction) for g in games]
    picks = [a["pick"] for a in analyses if a["pick"]]
    exposure = sum(p["stake_fraction"] for p in picks)
    scale = MAX_SLATE_EXPOSURE / exposure if exposure > MAX_SLATE_EXPOSURE else 1.0
    for p in picks:
        p["slate_stake_fraction"] = p["stake_fraction"] * scale
        p["slate_stake"] = round(p["slate_stake_fraction"] * bankroll, 2) if bankroll else None
    return {"games": analyses, "exposure": exposure * scale, "scaled": scale < 1, "bankroll": bankroll}


def offline_reply(text: str) -> str:
    """The sports agent's reply built from the tools (the policy adds responsible-gambling guidance)."""
    games = parse_slate(text)
    bankroll = _bankroll(text)
    title = "Betting strategy from your odds" if games else "Betting strategy: odds needed"
    lines = [title, BUILT_IN_NOTE, ""]
    if games:
        lines += _strategy_lines(slate_strategy(games, bankroll), example=False)
        outcomes = [o for g in games for o in g.outcomes]
        header = ["outcome", "given", "decimal", "American", "fractional", "implied"]
        lines += ["", "Odds conversions"] + _table(header, [
            [o.name, o.raw, f"{o.decimal:.3f}", f"{to_american(o.decimal):+.0f}", to_fractional(o.decimal),
             _pct(implied_probability(o.decimal))] for o in outcomes])
    else:
        lines += ["I cannot see tonight's games or odds: OperatorOS has no live sports feed, and a strategy "
                  "without real prices would be guesswork. Send the games with their odds, one per line, "
                  "e.g.",
                  "  Lakers -150 vs Celtics +130", "  Arsenal 2.10, Draw 3.40, Chelsea 3.60",
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
        margin = f"; bookmaker margin {game['overround']:.1%}" if game["overround"] is not None else ""
        lines.append(f"{n}. {game['game']}{margin}")
        lines += _table(["outcome", "odds", "decimal", "implied", "fair", "your p", "EV/unit", "stake"],
                        [_row_cells(r, bankroll) for r in game["rows"]])
        pick = game["pick"]
        if pick:
            amount = f" = {pick['slate_stake']:,.2f}" if pick.get("slate_stake") is not None else ""
            market = (f"fair {_pct(pick['fair'])}" if pick["fair"] is not None
                      else f"implied {_pct(pick['implied'])}")
            lines.append(f"   Value bet: {pick['outcome']} at {pick['odds']}: your {pick['probability']:.0%} "
                         f"vs {market}; EV {pick['expected_value_per_unit']:+.3f} per unit; full Kelly "
                         f"{pick['full_kelly']:.1%}, stake {pick['slate_stake_fraction']:.2%} of bankroll"
                         f"{amount}.")
        elif any(r["probability"] is not None for r in game["rows"]):
            lines.append("   Pass: no outcome has positive expected value at your probabilities.")
        elif game["overround"] is not None:
            lines.append(f"   No estimate of yours: if the fair probabilities are right, every bet here "
                         f"loses about {1 - 1 / (1 + game['overround']):.1%} of the stake on average (the "
                         "margin). Pass, or add your probability.")
    picks = [g["pick"] for g in strategy["games"] if g["pick"]]
    lines.append("")
    if picks:
        note = " (scaled down to the slate limit)" if strategy["scaled"] else ""
        label = "Plan (example)" if example else "Plan"
        lines.append(f"{label}: {len(picks)} bet(s), {strategy['exposure']:.2%} "
                     f"of the bankroll in total{note}. Expect losing nights: a positive-EV bet still loses "
                     "often.")
    else:
        lines.append("Plan: no bet. Passing is a strategy: it keeps the bankroll for prices that offer "
                     "value.")
    return lines


def _row_cells(r: dict[str, Any], bankroll: float | None) -> list[str]:
    stake = ""
    if r.get("stake_fraction") is not None:
        stake = f"{r['stake_fraction']:.2%}" + (f" ({r['stake']:,.2f})" if r.get("stake") is not None else "")
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
          probs: list[tuple[int, int, float]]) -> Game:
    segments = [masked[(tokens[i - 1][1] if i else 0):tokens[i][0]] for i in range(len(tokens))]
    names = [_name(seg) for seg in segments]
    pieces = [p for p in (_clean(x) for x in _SEPARATORS.split(segments[0])) if p]
    if len(tokens) > 1 and len(pieces) == len(tokens) and not any(names[1:]):
        names = pieces
    owner: dict[int, float] = {}
    for p_start, _, value in probs:
        before = [i for i, t in enumerate(tokens) if t[1] <= p_start]
        owner.setdefault(before[-1] if before else 0, value)
    return Game(line, [Outcome(names[i] or f"outcome {i + 1}", raw, decimal, owner.get(i))
                       for i, (_, _, raw, decimal) in enumerate(tokens)])


def _name(segment: str) -> str:
    pieces = [p for p in (_clean(x) for x in _SEPARATORS.split(segment)) if p]
    return pieces[-1] if pieces else ""


def _clean(piece: str) -> str:
    return re.sub(r"\s+", " ", _FILLER.sub(" ", piece)).strip(" .")


def _prob_value(match: re.Match[str]) -> float | None:
    value = float(match.group(1)) / 100 if match.group(1) else float(match.group(2))
    return value if 0 <= value <= 1 else None


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


def _odds_tool(odds: list[str]) -> dict[str, Any]:
    decimals = [parse_odds(o) for o in odds]
    rows = [{"odds": o, "decimal": d, "american": to_american(d), "fractional": to_fractional(d),
             "implied_probability": implied_probability(d)} for o, d in zip(odds, decimals, strict=False)]
    return {"outcomes": rows, **({"margin_removed": remove_margin(decimals)} if len(decimals) > 1 else {})}


def _stake_tool(probability: float, odds: str, bankroll: float | None = None,
                kelly_multiplier: float = KELLY_FRACTION) -> dict[str, Any]:
    return stake_plan(probability, parse_odds(odds), bankroll, kelly_multiplier)


def _slate_tool(slate: str, bankroll: float | None = None) -> dict[str, Any]:
    games = parse_slate(slate)
    if not games:
        raise ValueError("no odds found; write one game per line, e.g. 'Lakers -150 (62%) vs Celtics +130'")
    return slate_strategy(games, bankroll)


_ODDS_ITEMS = {"type": "array", "items": {"type": "string"},
               "description": "e.g. ['-150', '+130'] or ['2.1', '5/2']"}
TOOLS: list[ToolSpec] = [
    ToolSpec("convert_odds", "Parse American, decimal or fractional odds of one market: decimal, American, "
             "fractional, implied probability, and with every outcome, the margin and fair odds.",
             {"type": "object", "properties": {"odds": _ODDS_ITEMS}, "required": ["odds"],
              "additionalProperties": False}, _odds_tool),
    ToolSpec("stake_size", "Expected value, full Kelly and fractional-Kelly stake (capped) from the user's "
             "own win probability and the odds.",
             {"type": "object", "properties": {"probability": {"type": "number", "minimum": 0, "maximum": 1},
              "odds": {"type": "string"}, "bankroll": {"type": "number"},
              "kelly_multiplier": {"type": "number"}}, "required": ["probability", "odds"],
              "additionalProperties": False}, _stake_tool),
    ToolSpec("slate_strategy", "Strategy for games given as text lines with odds (and optional own "
             "probabilities): fair odds, EV, at most one stake per game within the bankroll rules.",
             {"type": "object", "properties": {"slate": {"type": "string"}, "bankroll": {"type": "number"}},
              "required": ["slate"], "additionalProperties": False}, _slate_tool),
]
"""The sports agent's function tools."""
