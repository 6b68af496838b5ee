"""Market analysis tools of the financial agent: returns, volatility, drawdown, Sharpe, moving
averages and crossovers, RSI, comparisons, allocation and rebalancing, and the offline reply.

Every figure comes with its dates, every reply names its data source and date range, and the
financial policy (safety/policies.py) closes it with 'not investment advice'.
"""
from __future__ import annotations

import logging
import math
import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from domains import market_data
from domains.market_data import MarketData, Series
from errors import OperatorOSError
from providers.tools import ToolSpec

logger = logging.getLogger(__name__)

TRADING_DAYS = 252
"""Trading days in a year, for annualising."""

PERIODS = (("1 month", 21), ("3 months", 63), ("6 months", 126), ("1 year", 252))
"""Look-back windows of the returns table, in trading days."""

FAST_WINDOW = 50
"""Short moving average, in trading days."""

SLOW_WINDOW = 200
"""Long moving average, in trading days."""

RSI_PERIOD = 14
"""Look-back of the relative strength index (Wilder)."""

MIN_RETURNS_FOR_RISK = 60
"""Fewest daily returns (about three months) from which volatility and Sharpe are annualised;
below it a window's figures are given for the window only (20 returns gave 'Sharpe 3.49')."""

MIN_RETURNS_FOR_ANNUAL_RETURN = TRADING_DAYS
"""Fewest daily returns (a year) from which a return is annualised: a shorter window's return is
given as it is, never compounded to a yearly rate (GIPS: no annualising below a year)."""

RISK_FREE_RATE = 0.0
"""Annual risk-free rate assumed by the Sharpe ratio unless given."""

HIGH_VOLATILITY = 0.40
"""Annualised volatility above which a reply warns of large swings."""

DEEP_DRAWDOWN = -0.20
"""Fall from the peak at which a reply calls the stock in a deep drawdown."""

BUILT_IN_NOTE = ("From OperatorOS's built-in market analyzers (offline arithmetic on price data; not a "
                 "language model).")
"""Says where an offline financial reply came from."""

SAMPLE_TICKERS = frozenset({"AAPL", "GOOG", "IBM", "MSFT"})
"""Tickers of the bundled sample (sample_data/README.md): the data a text is read against by default."""

COMPANY_TICKERS = {"apple": "AAPL", "google": "GOOG", "alphabet": "GOOG", "ibm": "IBM", "microsoft": "MSFT"}
"""Company names of the bundled tickers."""

_NOT_TICKERS = frozenset({"I", "A", "AND", "THE", "FOR", "RSI", "CSV", "ETF", "USD", "EUR", "GBP", "API",
                          "CEO", "IPO", "YTD", "SMA", "EMA", "MACD", "SEC", "NYSE", "AI", "US", "UK", "EU",
                          "OK", "PE",
                          "ROI", "CAGR", "JSON", "ME", "MY", "IS", "IT", "OR", "TO", "OF", "IN", "ON", "VS",
                          "BUY", "SELL", "HOLD", "NOW", "TODAY", "SHOULD", "WHAT", "WHY", "HOW", "WHEN", "ALL",
                          "ANY", "NEW", "TOP", "BEST", "LONG", "SHORT", "CALL", "PUT", "PLEASE", "HELP"})
"""Capitalised words that are no ticker even in a text written in lower case."""

_SYMBOL_CUE = re.compile(r"\b(?:analy[sz]e|ticker|symbol|stock|shares of|price of|chart)\s+\$?([A-Z]{1,5})\b", re.I)
"""A word right after these names a symbol even in a text in capitals ('ANALYZE TSLA')."""


# --- metrics on closes -------------------------------------------------------------------------

def simple_returns(closes: Sequence[float]) -> list[float]:
    """Day-to-day simple returns."""
    return [closes[i] / closes[i - 1] - 1 for i in range(1, len(closes))]


def total_return(closes: Sequence[float]) -> float:
    """Return from the first to the last close."""
    _need(closes, 2)
    return closes[-1] / closes[0] - 1


def annualised_return(closes: Sequence[float], periods_per_year: int = TRADING_DAYS) -> float:
    """Compound annual growth rate over the closes."""
    _need(closes, 2)
    return float((closes[-1] / closes[0]) ** (periods_per_year / (len(closes) - 1)) - 1)


def annualised_volatility(closes: Sequence[float], periods_per_year: int = TRADING_DAYS) -> float:
    """Sample standard deviation of daily returns, times the square root of periods per year."""
    _need(closes, 3)
    return statistics.stdev(simple_returns(closes)) * math.sqrt(periods_per_year)


def sharpe_ratio(closes: Sequence[float], risk_free_rate: float = RISK_FREE_RATE,
                 periods_per_year: int = TRADING_DAYS) -> float:
    """Annualised Sharpe ratio: mean daily excess return over its standard deviation, times sqrt(periods)."""
    _need(closes, 3)
    returns = simple_returns(closes)
    spread = statistics.stdev(returns)
    if spread == 0:
        raise ArithmeticError("prices never change, so the Sharpe ratio is undefined")
    excess = statistics.fmean(returns) - risk_free_rate / periods_per_year
    return excess / spread * math.sqrt(periods_per_year)


def max_drawdown(series: Series) -> dict[str, Any]:
    """Largest fall from a peak to a later trough, with both dates."""
    _need(series.closes, 2)
    peak_i, best = 0, (0.0, 0, 0)
    for i, close in enumerate(series.closes):
        if close > series.closes[peak_i]:
            peak_i = i
        fall = close / series.closes[peak_i] - 1
        if fall < best[0]:
            best = (fall, peak_i, i)
    fall, p, t = best
    return {"drawdown": fall, "peak_date": series.dates[p], "peak": series.closes[p],
            "trough_date": series.dates[t], "trough": series.closes[t]}


def moving_average(closes: Sequence[float], window: int) -> list[float | None]:
    """Simple moving average; None until `window` closes exist."""
    if window < 1:
        raise ValueError("window must be at least 1")
    out: list[float | None] = []
    running = 0.0
    for i, close in enumerate(closes):
        running += close
        if i >= window:
            running -= closes[i - window]
        out.append(running / window if i >= window - 1 else None)
    return out


def crossovers(series: Series, fast: int = FAST_WINDOW, slow: int = SLOW_WINDOW) -> list[dict[str, Any]]:
    """Days the fast average crossed the slow one: 'golden cross' upward, 'death cross' downward."""
    if fast >= slow:
        raise ValueError("the fast window must be shorter than the slow one")
    f, s = moving_average(series.closes, fast), moving_average(series.closes, slow)
    events = []
    for i in range(1, len(series)):
        a0, b0, a1, b1 = f[i - 1], s[i - 1], f[i], s[i]
        if a0 is None or b0 is None or a1 is None or b1 is None:
            continue
        if a0 <= b0 and a1 > b1:
            events.append({"date": series.dates[i], "kind": "golden cross"})
        elif a0 >= b0 and a1 < b1:
            events.append({"date": series.dates[i], "kind": "death cross"})
    return events


def rsi(closes: Sequence[float], period: int = RSI_PERIOD) -> float:
    """Wilder's relative strength index of the last close (0 to 100)."""
    _need(closes, period + 1)
    changes = [closes[i] - closes[i - 1] for i in range(1, len(closes))]
    gain = sum(max(c, 0) for c in changes[:period]) / period
    loss = sum(max(-c, 0) for c in changes[:period]) / period
    for change in changes[period:]:
        gain = (gain * (period - 1) + max(change, 0)) / period
        loss = (loss * (period - 1) + max(-change, 0)) / period
    if loss == 0:
        return 100.0
    return 100 - 100 / (1 + gain / loss)


def period_returns(series: Series, periods: Sequence[tuple[str, int]] = PERIODS) -> list[dict[str, Any]]:
    """Returns over each look-back window ending on the last date, then over the whole series."""
    _need(series.closes, 2)
    rows = []
    last = len(series) - 1
    for label, days in [*periods, ("whole period", last)]:
        if days > last:
            continue
        start = last - days
        rows.append({"period": label, "start_date": series.dates[start], "start": series.closes[start],
                     "end_date": series.dates[last], "end": series.closes[last],
                     "return": series.closes[last] / series.closes[start] - 1})
    return rows


def allocate(total: float, weights: dict[str, float]) -> dict[str, Any]:
    """Split an amount by weights given as fractions (summing to 1) or percentages (summing to 100)."""
    if total <= 0:
        raise ValueError("the amount to allocate must be positive")
    fractions = _fractions(weights)
    amounts = {k: round(total * w, 2) for k, w in fractions.items()}
    return {"total": total, "weights": fractions, "amounts": amounts}


def rebalance(holdings: dict[str, float], targets: dict[str, float], cash: float = 0.0) -> dict[str, Any]:
    """Trades that bring holdings (current values) plus cash to target weights.

    Positive trades buy, negative ones sell; drift is the current weight minus the target.
    """
    if any(v < 0 for v in holdings.values()) or cash < 0:
        raise ValueError("holdings and cash must not be negative")
    fractions = _fractions(targets)
    total = sum(holdings.values()) + cash
    if total <= 0:
        raise ValueError("the portfolio is empty")
    rows = []
    for name in sorted(set(holdings) | set(fractions)):
        value, target = holdings.get(name, 0.0), fractions.get(name, 0.0)
        rows.append({"asset": name, "value": value, "weight": value / total, "target": target,
                     "drift": value / total - target, "trade": round(total * target - value, 2)})
    return {"total": total, "cash": cash, "rows": rows}


def _fractions(weights: dict[str, float]) -> dict[str, float]:
    if not weights or any(w < 0 for w in weights.values()):
        raise ValueError("weights must be given and not negative")
    total = sum(weights.values())
    scale = 100.0 if abs(total - 100) < 1e-6 else 1.0
    if abs(total / scale - 1) > 1e-6:
        raise ValueError(f"weights add up to {total:g}; they must add up to 1 (or 100%)")
    return {k.upper(): w / scale for k, w in weights.items()}


def _need(closes: Sequence[float], n: int) -> None:
    if len(closes) < n:
        raise ValueError(f"needs at least {n} prices, got {len(closes)}")


# --- one ticker, several tickers ---------------------------------------------------------------

def analyze(series: Series, risk_free_rate: float = RISK_FREE_RATE) -> dict[str, Any]:
    """Every figure for one series, each with its dates, and a stance with reasons and risks."""
    _need(series.closes, RSI_PERIOD + 1)
    closes = series.closes
    fast, slow = moving_average(closes, FAST_WINDOW)[-1], moving_average(closes, SLOW_WINDOW)[-1]
    events = crossovers(series) if len(series) > SLOW_WINDOW else []
    result: dict[str, Any] = {
        "ticker": series.ticker, "first_date": series.dates[0], "last_date": series.dates[-1],
        "days": len(series), "last_close": closes[-1], "returns": period_returns(series),
        "window_return": total_return(closes), **risk_figures(closes, risk_free_rate),
        "risk_free_rate": risk_free_rate,
        "max_drawdown": max_drawdown(series), "from_peak": closes[-1] / max(closes) - 1,
        "sma_fast": fast, "sma_slow": slow, "crossovers": events, "rsi": rsi(closes),
    }
    result["stance"], result["reasons"], result["risks"] = stance(result)
    return result


def risk_figures(closes: Sequence[float], risk_free_rate: float = RISK_FREE_RATE) -> dict[str, Any]:
    """Annualised return, volatility and Sharpe where the window is long enough to annualise them.

    Returns:
        {"returns_count", "annualised_return", "volatility", "sharpe", "daily_volatility", "caveats"}:
        a figure the window is too short for is None, and a caveat says why.
    """
    _need(closes, 3)
    n = len(closes) - 1
    daily = statistics.stdev(simple_returns(closes))
    out: dict[str, Any] = {"returns_count": n, "annualised_return": None, "volatility": None, "sharpe": None,
                           "daily_volatility": daily, "caveats": []}
    if n >= MIN_RETURNS_FOR_ANNUAL_RETURN:
        out["annualised_return"] = annualised_return(closes)
    else:
        out["caveats"].append(f"return not annualised: {n} daily returns is under a year, and compounding a "
                              "short window's return to a yearly rate overstates it")
    if n >= MIN_RETURNS_FOR_RISK:
        out["volatility"] = daily * math.sqrt(TRADING_DAYS)
        out["sharpe"] = sharpe_ratio(closes, risk_free_rate) if daily else None
        if n < TRADING_DAYS:
            out["caveats"].append(f"volatility and Sharpe annualised from only {n} daily returns: rough "
                                  "estimates")
    else:
        out["caveats"].append(f"volatility and Sharpe not annualised: {n} daily returns, fewer than the "
                              f"{MIN_RETURNS_FOR_RISK} needed for a meaningful yearly figure")
    return out


def stance(a: dict[str, Any]) -> tuple[str, list[str], list[str]]:
    """'constructive', 'neutral' or 'cautious' from trend, momentum and drawdown, with reasons and risks."""
    score, reasons, risks = 0, [], []
    last, fast, slow = a["last_close"], a["sma_fast"], a["sma_slow"]
    if fast is not None and slow is not None:
        if last > fast > slow:
            score += 1
            reasons.append(f"uptrend: close {last:.2f} is above the {FAST_WINDOW}-day average {fast:.2f}, "
                           f"which is above the {SLOW_WINDOW}-day average {slow:.2f}")
        elif last < fast < slow:
            score -= 1
            reasons.append(f"downtrend: close {last:.2f} is below the {FAST_WINDOW}-day average {fast:.2f}, "
                           f"which is below the {SLOW_WINDOW}-day average {slow:.2f}")
        else:
            reasons.append(f"mixed trend: close {last:.2f}, {FAST_WINDOW}-day average {fast:.2f}, "
                           f"{SLOW_WINDOW}-day average {slow:.2f}")
    six = next((r for r in a["returns"] if r["period"] == "6 months"), None)
    if six is not None:
        score += 1 if six["return"] > 0 else -1
        reasons.append(f"6-month return {six['return']:+.1%} ({six['start_date']} to {six['end_date']})")
    if a["from_peak"] <= DEEP_DRAWDOWN:
        score -= 1
        reasons.append(f"{-a['from_peak']:.1%} below its highest close in the window")
    if a["rsi"] > 70:
        risks.append(f"RSI {a['rsi']:.0f} is above 70 (overbought: pullbacks are common from here)")
    elif a["rsi"] < 30:
        risks.append(f"RSI {a['rsi']:.0f} is below 30 (oversold: selling may be stretched, or continue)")
    if not reasons or (fast is None or slow is None or six is None):
        reasons.append(f"return over the window {a['window_return']:+.1%} ({a['first_date']} to "
                       f"{a['last_date']}, {a['days']} trading days)")
        if score == 0 and (fast is None or slow is None or six is None):
            reasons.append(f"only {a['days']} trading days: too short for the {SLOW_WINDOW}-day trend or the "
                           "6-month return, so the figures give no trend signal either way")
    if a["volatility"] is not None and a["volatility"] > HIGH_VOLATILITY:
        risks.append(f"high volatility ({a['volatility']:.0%} a year): large swings either way")
    dd = a["max_drawdown"]
    risks.append(f"worst fall in the window {dd['drawdown']:.1%} ({dd['peak_date']} to {dd['trough_date']}); "
                 "a similar or larger fall can happen again")
    risks.append("past prices only: no earnings, valuation, news or your own situation is taken into account")
    label = "constructive" if score >= 2 else "cautious" if score <= -2 else "neutral"
    return label, reasons, risks


def compare(data: MarketData, tickers: Sequence[str], start: date | None = None,
            end: date | None = None) -> list[dict[str, Any]]:
    """Return, volatility, Sharpe and drawdown of several tickers over the same dates."""
    if not tickers:
        raise ValueError("name at least one ticker")
    chosen = [data.get(t).between(start, end) for t in tickers]
    first = max(s.dates[0] for s in chosen if len(s))
    last = min(s.dates[-1] for s in chosen if len(s))
    rows = []
    for s in chosen:
        part = s.between(first, last)
        _need(part.closes, 3)
        risk = risk_figures(part.closes)
        rows.append({"ticker": s.ticker, "start_date": part.dates[0], "end_date": part.dates[-1],
                     "return": total_return(part.closes), "volatility": risk["volatility"],
                     "sharpe": risk["sharpe"], "returns_count": risk["returns_count"],
                     "max_drawdown": max_drawdown(part)["drawdown"]})
    return rows


# --- the offline reply -------------------------------------------------------------------------

def offline_reply(text: str, *, data_dir: Path | str | None = None, allow_network: bool = False) -> str:
    """The financial agent's reply built from the tools (the policy adds the closing lines).

    Raises:
        BadRequest / NotFound: a named CSV is outside the data folder, missing or unreadable.
    """
    csv_name = csv_name_in(text)
    data = market_data.load_market_data(None, data_dir=data_dir, csv_name=csv_name)
    wanted = tickers_in(text, known=data.tickers)
    if allow_network and not csv_name and any(t not in data.series for t in wanted):
        data = market_data.load_market_data(wanted, allow_network=True)
    start, end = _dates_in(text)
    known = [t for t in wanted if t in data.series]
    missing = [t for t in wanted if t not in data.series]
    # Only what was asked: every ticker when none was named, never a comparison nobody asked for.
    chosen = known or ([] if wanted else data.tickers)
    lines = [_title(text, known or (chosen if len(chosen) == 1 else []), missing), BUILT_IN_NOTE]
    if re.search(r"\b(allocat|rebalanc)", text, re.I):
        lines += ["", *_allocation_section(text)]
    if missing:
        lines += ["", f"No data for {', '.join(missing)}: the {data.source} has {', '.join(data.tickers)}."
                  + ("" if allow_network else " Live data (yfinance) is not enabled here.")
                  + f" To analyse {missing[0]}, put a CSV of its daily closes in the data folder and name "
                    "it in the request (for example 'analyze prices.csv')."]
    try:
        if len(chosen) == 1:
            lines += ["", *_single_section(data.get(chosen[0]).between(start, end))]
        elif chosen:
            lines += ["", *_compare_section(data, chosen, start, end)]
    except ValueError as exc:
        lines += ["", f"Not enough prices for an analysis between those dates ({exc}); widen the dates."]
    if re.search(r"\b(recommend|should i (buy|sell)|buy or sell)", text, re.I):
        lines += ["", "Recommendation: OperatorOS gives a stance from the figures with its reasons and "
                      "risks, not a buy or sell instruction."]
    if data.source == market_data.SAMPLE_SOURCE and chosen:
        lines += ["", "Note: these are historical prices, not today's market; the stance describes that "
                      "window only. Put a recent CSV in the data folder and name it (for example "
                      "'prices.csv') to analyse your own data."]
    lines += ["", data.caveat, data.source_line(chosen or None, start, end)]
    return "\n".join(lines)


def _title(text: str, tickers: list[str], missing: list[str]) -> str:
    if len(tickers) == 1:
        return f"{tickers[0]}: price analysis"
    if tickers:
        return f"{', '.join(tickers)}: comparison"
    if missing:
        return f"{', '.join(missing)}: no price data"
    return "Market analysis"


def _single_section(s: Series) -> list[str]:
    a = analyze(s)
    lines = [f"Last close: {a['last_close']:.2f} on {a['last_date']} ({a['days']} trading days from "
             f"{a['first_date']})", "", "Returns"]
    lines += _table(["period", "from", "close", "to", "close", "return"],
                    [[r["period"], str(r["start_date"]), f"{r['start']:.2f}", str(r["end_date"]),
                      f"{r['end']:.2f}", f"{r['return']:+.1%}"] for r in a["returns"]])
    dd = a["max_drawdown"]
    last_cross = a["crossovers"][-1] if a["crossovers"] else None
    n = a["returns_count"]
    lines += ["", "Risk and trend"] + _table(["measure", "value"], [
        ["annualised return", f"{a['annualised_return']:+.1%}" if a["annualised_return"] is not None else
         f"not annualised (under a year); {a['window_return']:+.1%} over the window"],
        ["annualised volatility", f"{a['volatility']:.1%}" if a["volatility"] is not None else
         f"not annualised ({n} returns); daily {a['daily_volatility']:.2%}"],
        [f"Sharpe ratio (risk-free rate {a['risk_free_rate']:.0%})",
         f"{a['sharpe']:.2f}" if a["sharpe"] is not None else f"not computed ({n} returns)"],
        ["maximum drawdown", f"{dd['drawdown']:.1%} ({dd['peak']:.2f} on {dd['peak_date']} to "
                             f"{dd['trough']:.2f} on {dd['trough_date']})"],
        [f"{FAST_WINDOW}-day average", _num(a["sma_fast"])],
        [f"{SLOW_WINDOW}-day average", _num(a["sma_slow"])],
        ["last crossover",
         f"{last_cross['kind']} on {last_cross['date']}" if last_cross else "none in window"],
        [f"RSI({RSI_PERIOD})", f"{a['rsi']:.1f} (above 70 overbought, below 30 oversold)"],
    ], indent="  ")
    if a["caveats"]:
        lines += ["", "Window caveats:"] + [f"  - {c}" for c in a["caveats"]]
    lines += ["", f"Stance from these figures: {a['stance']}", "Reasons:"]
    lines += [f"  - {r}" for r in a["reasons"]] + ["Risks:"] + [f"  - {r}" for r in a["risks"]]
    return lines


def _compare_section(data: MarketData, tickers: list[str], start: date | None, end: date | None) -> list[str]:
    rows = compare(data, tickers, start, end)
    lines = [f"Comparison, {rows[0]['start_date']} to {rows[0]['end_date']} (same dates for all)"]
    lines += _table(["ticker", "return", "volatility", "Sharpe", "max drawdown"],
                    [[r["ticker"], f"{r['return']:+.1%}", _num(r["volatility"], "{:.1%}", "n/a"),
                      _num(r["sharpe"], "{:.2f}", "n/a"), f"{r['max_drawdown']:.1%}"] for r in rows])
    rated = [r for r in rows if r["sharpe"] is not None]
    if len(rated) < len(rows):
        lines += ["", f"Volatility and Sharpe not annualised: {rows[0]['returns_count']} daily returns, fewer "
                      f"than the {MIN_RETURNS_FOR_RISK} needed; the returns are for the window, not a year."]
    if rated:
        best = max(rated, key=lambda r: r["sharpe"])
        lines += ["", f"Best risk-adjusted (Sharpe) over these dates: {best['ticker']} ({best['sharpe']:.2f}); "
                      "name one ticker for its full analysis and stance."]
    return lines


def _allocation_section(text: str) -> list[str]:
    amount = re.search(r"\$\s?([\d,]+(?:\.\d+)?)|([\d,]+(?:\.\d+)?)\s?(?:dollars|usd)\b", text, re.I)
    pairs = re.findall(r"(\d+(?:\.\d+)?)\s?%\s*(?:in\s+|of\s+)?([A-Za-z]{1,6})\b", text)
    if not pairs:
        return ["Allocation: give weights such as '$10,000: 60% AAPL, 40% MSFT' and I will do the "
                "arithmetic."]
    weights = {name.upper(): float(pct) for pct, name in pairs}
    try:
        if amount:
            total = float((amount.group(1) or amount.group(2)).replace(",", ""))
            result = allocate(total, weights)
            return [f"Allocation of {total:,.2f}"] + _table(["asset", "weight", "amount"], [
                [k, f"{w:.1%}", f"{result['amounts'][k]:,.2f}"] for k, w in result["weights"].items()])
        fractions = _fractions(weights)
    except ValueError as exc:
        return [f"Allocation: {exc}."]
    return ["Target weights: " + ", ".join(f"{k} {w:.0%}" for k, w in fractions.items()),
            "Give current values (for example 'AAPL 7000, MSFT 3000') to the rebalance tool for the trades."]


def _table(header: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return [indent + "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()
            for r in [header, *rows]]


def _num(value: float | None, fmt: str = "{:.2f}", missing: str = "not enough days") -> str:
    return missing if value is None else fmt.format(value)


def csv_name_in(text: str) -> str | None:
    """The CSV file a request names ('analyze xyz.csv'), or None."""
    match = re.search(r"([^\s'\"`]+\.csv)\b", text, re.I)
    return match.group(1) if match else None


def tickers_in(text: str, known: Iterable[str] | None = None) -> list[str]:
    """Tickers a text names: those of the data (`known`; the bundled sample's by default), company names
    of the sample, '$' symbols, and other capitalised symbols only where the text is not all capitals
    ('analyze TSLA') or right after 'analyze', 'ticker', 'symbol'... ('SHOULD I SELL AAPL NOW' names AAPL
    only)."""
    known_set = SAMPLE_TICKERS if known is None else set(known)
    cleaned = re.sub(r"\S+\.csv", " ", text, flags=re.I)
    shouting = not re.search(r"[a-z]", cleaned)
    cued = {m.group(1).upper() for m in _SYMBOL_CUE.finditer(cleaned)}
    found = [COMPANY_TICKERS[w] for w in re.findall(r"[a-z]+", cleaned.lower()) if w in COMPANY_TICKERS]
    for match in re.finditer(r"\$?\b([A-Z]{1,5})\b", cleaned):
        word, dollar = match.group(1), match.group(0).startswith("$")
        if word in known_set or dollar:
            found.append(word)
        elif word not in _NOT_TICKERS and len(word) >= 2 and (not shouting or word in cued):
            found.append(word)
    return list(dict.fromkeys(found))


def _dates_in(text: str) -> tuple[date | None, date | None]:
    dates = sorted(market_data.parse_date(d) for d in re.findall(r"\b\d{4}-\d{2}-\d{2}\b", text))
    if not dates:
        return None, None
    return (dates[0], dates[-1]) if len(dates) > 1 else (dates[0], None)


# --- tools -------------------------------------------------------------------------------------

def make_tools(data_dir: Path | str | None = None, allow_network: bool = False) -> list[ToolSpec]:
    """The financial agent's function tools, reading CSVs from `data_dir` only."""

    def load(tickers: list[str], csv_name: str | None) -> MarketData:
        return market_data.load_market_data(tickers, data_dir=data_dir, csv_name=csv_name,
                                            allow_network=allow_network)

    def analyze_ticker(ticker: str, start: str | None = None, end: str | None = None,
                       csv_name: str | None = None) -> dict[str, Any]:
        data = load([ticker.upper()], csv_name)
        s = data.get(ticker).between(*_range(start, end))
        _need(s.closes, 2)
        return {**analyze(s), "data_source": data.source_line([s.ticker], s.dates[0], s.dates[-1]),
                "data_caveat": data.caveat}

    def compare_tickers(tickers: list[str], start: str | None = None, end: str | None = None,
                        csv_name: str | None = None) -> dict[str, Any]:
        data = load([t.upper() for t in tickers], csv_name)
        rows = compare(data, [t.upper() for t in tickers], *_range(start, end))
        source = data.source_line([r["ticker"] for r in rows], rows[0]["start_date"], rows[0]["end_date"])
        return {"rows": rows, "data_source": source, "data_caveat": data.caveat}

    def list_market_data(csv_name: str | None = None) -> dict[str, Any]:
        data = load([], csv_name)
        ranges = {t: [str(data.series[t].dates[0]), str(data.series[t].dates[-1])] for t in data.tickers}
        return {"tickers": ranges, "data_source": data.source_line(), "data_caveat": data.caveat}

    def price_metrics(closes: list[float], risk_free_rate: float = RISK_FREE_RATE) -> dict[str, Any]:
        values = [float(c) for c in closes]
        return {"total_return": total_return(values), **risk_figures(values, risk_free_rate),
                "rsi": rsi(values) if len(values) > RSI_PERIOD else None,
                "data_source": "prices given in the request"}

    ticker_args = {"ticker": {"type": "string"}, "start": {"type": "string", "description": "YYYY-MM-DD"},
                   "end": {"type": "string", "description": "YYYY-MM-DD"},
                   "csv_name": {"type": "string", "description": "a CSV file in the instance's data folder"}}
    weights = {"type": "object", "additionalProperties": {"type": "number"}}
    return [
        ToolSpec("list_market_data", "Tickers and date ranges available, and the data source.",
                 _schema({"csv_name": ticker_args["csv_name"]}, []), _safe(list_market_data)),
        ToolSpec("analyze_ticker", "Returns over periods, annualised volatility, maximum drawdown, Sharpe "
                 "ratio, 50/200-day averages and crossovers, RSI(14) and a stance, with dates and data "
                 "source.",
                 _schema(ticker_args, ["ticker"]), _safe(analyze_ticker)),
        ToolSpec("compare_tickers",
                 "Return, volatility, Sharpe and maximum drawdown of tickers over the same dates.",
                 _schema({**{k: v for k, v in ticker_args.items() if k != "ticker"},
                          "tickers": {"type": "array", "items": {"type": "string"}}}, ["tickers"]),
                 _safe(compare_tickers)),
        ToolSpec("price_metrics",
                 "Return, volatility, Sharpe and RSI of a list of daily closes given directly.",
                 _schema({"closes": {"type": "array", "items": {"type": "number"}},
                          "risk_free_rate": {"type": "number"}}, ["closes"]), _safe(price_metrics)),
        ToolSpec("allocate", "Split an amount by weights (fractions or percentages).",
                 _schema({"total": {"type": "number"}, "weights": weights}, ["total", "weights"]),
                 _safe(allocate)),
        ToolSpec("rebalance", "Trades that bring current holdings (values) plus cash to target weights.",
                 _schema({"holdings": weights, "targets": weights, "cash": {"type": "number"}},
                         ["holdings", "targets"]), _safe(rebalance)),
    ]


def _range(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    return (market_data.parse_date(start) if start else None, market_data.parse_date(end) if end else None)


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _safe(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Turn an OperatorOS error (bad path, unknown ticker) into an answer the model can read."""
    def wrapped(**kwargs: Any) -> Any:
        try:
            return handler(**kwargs)
        except OperatorOSError as exc:
            return {"error": exc.message}
    wrapped.__name__ = getattr(handler, "__name__", "tool")
    wrapped.__doc__ = handler.__doc__
    return wrapped

