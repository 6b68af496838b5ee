"""Market analysis: metrics against hand-computed values, the bundled data, CSVs from the data
folder only, the offline reply and the tools."""
from __future__ import annotations

import csv
import json
import math
import os
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from domains import market_analysis as ma
from domains import market_data as md
from domains.market_data import Series
from errors import BadRequest, NotFound
from providers.tools import run_tool


def _series(closes: list[float], ticker: str = "T") -> Series:
    start = date(2020, 1, 1)
    return Series(ticker, tuple(start + timedelta(days=i) for i in range(len(closes))), tuple(closes))


def test_returns_volatility_sharpe_hand_values() -> None:
    closes = [100.0, 110.0, 99.0, 108.9]                    # daily returns +10%, -10%, +10%
    assert ma.simple_returns(closes) == pytest.approx([0.1, -0.1, 0.1])
    assert ma.total_return(closes) == pytest.approx(0.089)
    # sample variance of (0.1, -0.1, 0.1): mean 1/30, squared deviations sum 0.026667, / 2 = 0.013333
    assert ma.annualised_volatility(closes) == pytest.approx(math.sqrt(0.04 / 3) * math.sqrt(252))
    assert ma.annualised_volatility(closes) == pytest.approx(1.83303, abs=1e-5)
    assert ma.sharpe_ratio(closes) == pytest.approx((1 / 30) / math.sqrt(0.04 / 3) * math.sqrt(252))
    assert ma.sharpe_ratio(closes, risk_free_rate=0.0252) == pytest.approx(
        (1 / 30 - 0.0001) / math.sqrt(0.04 / 3) * math.sqrt(252))
    assert ma.annualised_return([100.0, 110.0, 121.0], periods_per_year=2) == pytest.approx(0.21)
    assert ma.annualised_return([100.0, 121.0], periods_per_year=2) == pytest.approx(1.21 ** 2 - 1)
    with pytest.raises(ArithmeticError):
        ma.sharpe_ratio([5.0, 5.0, 5.0])


def test_max_drawdown_with_dates() -> None:
    s = _series([100, 120, 90, 130, 104, 125])
    dd = ma.max_drawdown(s)
    assert dd["drawdown"] == pytest.approx(-0.25)           # 120 -> 90
    assert (dd["peak"], dd["trough"]) == (120, 90)
    assert (dd["peak_date"], dd["trough_date"]) == (date(2020, 1, 2), date(2020, 1, 3))
    assert ma.max_drawdown(_series([1, 2, 3]))["drawdown"] == 0.0


def test_moving_average_and_crossovers() -> None:
    assert ma.moving_average([1, 2, 3, 4, 5], 3) == [None, None, 2, 3, 4]
    s = _series([5, 4, 3, 2, 3, 4, 5, 4, 3, 2])
    # fast(2) vs slow(3): below until index 5 (3.5 > 3), above until index 8 (3.5 < 4)
    assert ma.crossovers(s, fast=2, slow=3) == [{"date": date(2020, 1, 6), "kind": "golden cross"},
                                                {"date": date(2020, 1, 9), "kind": "death cross"}]
    with pytest.raises(ValueError):
        ma.crossovers(s, fast=3, slow=3)


def test_rsi_hand_values() -> None:
    # changes +1 +1 -1 +1; first averages 1 and 0; then gain 0.5 loss 0.5; then gain 0.75 loss 0.25: RS 3
    assert ma.rsi([1, 2, 3, 2, 3], period=2) == pytest.approx(75.0)
    assert ma.rsi([1, 2, 3, 4], period=2) == 100.0
    with pytest.raises(ValueError):
        ma.rsi([1, 2], period=14)


def test_allocation_and_rebalancing_arithmetic() -> None:
    result = ma.allocate(10_000, {"aapl": 60, "msft": 40})
    assert result["amounts"] == {"AAPL": 6000.0, "MSFT": 4000.0}
    assert ma.allocate(500, {"A": 0.5, "B": 0.5})["amounts"] == {"A": 250.0, "B": 250.0}
    with pytest.raises(ValueError, match="add up to 90"):
        ma.allocate(100, {"A": 50, "B": 40})
    rows = {r["asset"]: r for r in ma.rebalance({"A": 7000, "B": 3000}, {"A": 0.6, "B": 0.4})["rows"]}
    assert (rows["A"]["trade"], rows["B"]["trade"]) == (-1000.0, 1000.0)
    assert rows["A"]["drift"] == pytest.approx(0.1)
    with_cash = ma.rebalance({"A": 7000, "B": 3000}, {"A": 60, "B": 40}, cash=1000)
    rows = {r["asset"]: r for r in with_cash["rows"]}
    assert (rows["A"]["trade"], rows["B"]["trade"]) == (-400.0, 1400.0)   # total 11,000: 6,600 and 4,400


def _raw_sample(ticker: str) -> list[tuple[str, float]]:
    with md.SAMPLE_FILE.open() as f:
        return [(r["date"], float(r["close"])) for r in csv.DictReader(f) if r["ticker"] == ticker]


def test_bundled_sample_is_the_documented_real_data() -> None:
    data = md.sample_data()
    assert data.tickers == ["AAPL", "GOOG", "IBM", "MSFT"]
    aapl = data.get("aapl")
    assert len(aapl) == 504 and aapl.dates[0] == date(2011, 3, 1) and aapl.dates[-1] == date(2013, 3, 1)
    raw = _raw_sample("AAPL")
    assert (raw[0], raw[-1]) == (("2011-03-01", 349.31), ("2013-03-01", 430.47))
    readme = (md.SAMPLE_FILE.parent / "README.md").read_text()
    assert "Quandl WIKI Prices" in readme and "bokeh_sampledata" in readme and "public domain" in readme
    with pytest.raises(NotFound, match="available: AAPL, GOOG, IBM, MSFT"):
        data.get("TSLA")


def test_analysis_of_the_sample_matches_the_raw_numbers() -> None:
    a = ma.analyze(md.sample_data().get("AAPL"))
    raw = _raw_sample("AAPL")
    whole = a["returns"][-1]
    assert whole["period"] == "whole period" and whole["return"] == pytest.approx(430.47 / 349.31 - 1)
    one_year = next(r for r in a["returns"] if r["period"] == "1 year")
    assert (str(one_year["start_date"]), one_year["start"]) == raw[-253]
    dd = a["max_drawdown"]
    assert (dd["peak"], str(dd["peak_date"])) == (702.10, "2012-09-19")
    after_peak = raw[raw.index(("2012-09-19", 702.1)):]
    assert dd["drawdown"] == pytest.approx(min(c for _, c in after_peak) / 702.10 - 1)
    assert a["sma_slow"] == pytest.approx(sum(c for _, c in raw[-200:]) / 200)
    assert a["stance"] == "cautious" and a["crossovers"][-1]["kind"] == "death cross"


def test_data_file_must_stay_in_the_data_folder(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "sub").mkdir(parents=True)
    (data_dir / "sub" / "p.csv").write_text("date,close\n2020-01-02,10\n")
    outside = tmp_path / "secret.csv"
    outside.write_text("date,close\n2020-01-02,1\n")
    os.symlink(outside, data_dir / "link.csv")
    assert md.resolve_data_file(data_dir, "sub/p.csv") == (data_dir / "sub" / "p.csv").resolve()
    for name, message in [("../secret.csv", "leaves it"), ("sub/../../secret.csv", "leaves it"),
                          (str(outside), "absolute path"), ("C:\\data\\x.csv", "absolute path"),
                          ("~/x.csv", "absolute path"), ("notes.txt", "Only .csv"),
                          ("link.csv", "leads outside"),
                          ("", "name is needed")]:
        with pytest.raises(BadRequest, match=message):
            md.resolve_data_file(data_dir, name)
    with pytest.raises(NotFound):
        md.resolve_data_file(data_dir, "missing.csv")
    with pytest.raises(BadRequest, match="No data folder"):
        md.resolve_data_file(None, "p.csv")


def test_csv_formats() -> None:
    long, column = md.parse_csv("date,ticker,close\n2020-01-03,abc,2\n2020-01-02,ABC,1\n", default_ticker="X")
    assert column == "close" and long["ABC"].closes == (1.0, 2.0)             # sorted by date
    yahoo, column = md.parse_csv("Date,Open,Close,Adj Close\n2020-01-02,1,5,4.5\n2020-01-03,1,null,null\n",
                                 default_ticker="SPY")
    assert column == "Adj Close" and yahoo["SPY"].closes == (4.5,)
    wide, column = md.parse_csv("date,AAA,BBB\n2020-01-02,1,2\n2020-01-03,1.5,\n", default_ticker="X")
    assert column == "one column per ticker"
    assert wide["AAA"].closes == (1.0, 1.5) and wide["BBB"].closes == (2.0,)
    for text, message in [("day,close\n", "needs a 'date'"), ("date,close\n2020-01-02,abc\n", "line 2"),
                          ("date,close\n02-2020,1\n", "not a date"),
                          ("date,close\n2020-01-02,-1\n", "positive")]:
        with pytest.raises(BadRequest, match=message):
            md.parse_csv(text, default_ticker="X")


def test_offline_reply_for_the_seed_request() -> None:
    reply = ma.offline_reply("Analyze AAPL stock performance and give investment recommendations")
    lines = reply.split("\n")
    assert lines[0] == "AAPL: price analysis" and lines[1] == ma.BUILT_IN_NOTE
    assert "Last close: 430.47 on 2013-03-01" in reply
    assert "whole period  2011-03-01  349.31  2013-03-01  430.47  +23.2%" in reply
    assert "maximum drawdown" in reply and "702.10 on 2012-09-19" in reply
    assert "Stance from these figures: cautious" in reply and "Risks:" in reply
    assert "not a buy or sell instruction" in reply
    assert lines[-1] == f"Data source: {md.SAMPLE_SOURCE}; AAPL daily closes, 2011-03-01 to 2013-03-01."


def test_offline_reply_compares_over_the_requested_dates_and_names_missing_tickers() -> None:
    reply = ma.offline_reply("compare apple and MSFT from 2012-01-01 to 2012-12-31, and TSLA")
    assert f"No data for TSLA: the {md.SAMPLE_SOURCE} has AAPL, GOOG, IBM, MSFT." in reply
    assert "Comparison, 2012-01-03 to 2012-12-31" in reply
    assert reply.endswith("AAPL, MSFT daily closes, 2012-01-03 to 2012-12-31.")
    raw = dict(_raw_sample("AAPL"))
    assert f"{raw['2012-12-31'] / raw['2012-01-03'] - 1:+.1%}" in reply


def test_offline_reply_reads_the_users_csv(tmp_path: Path) -> None:
    closes = [100 + i for i in range(30)]
    rows = "".join(f"{date(2024, 1, 1) + timedelta(days=i)},{c}\n" for i, c in enumerate(closes))
    (tmp_path / "acme.csv").write_text("Date,Close\n" + rows)
    reply = ma.offline_reply("analyze ACME from acme.csv", data_dir=tmp_path)
    assert "Data source: your file acme.csv in the data folder (column 'Close'); ACME daily closes, " \
           "2024-01-01 to 2024-01-30." in reply
    assert f"{129 / 100 - 1:+.1%}" in reply
    with pytest.raises(BadRequest):
        ma.offline_reply("analyze ../../etc/passwd.csv", data_dir=tmp_path)


def test_allocation_in_the_reply() -> None:
    reply = ma.offline_reply("allocate $10,000: 60% AAPL, 40% MSFT")
    assert "Allocation of 10,000.00" in reply and "6,000.00" in reply and "4,000.00" in reply


def test_yfinance_is_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yfinance", None)                  # import fails as if not installed
    assert md.fetch_yfinance(["AAPL"]) is None
    data = md.load_market_data(["AAPL"], allow_network=True)
    assert data.source == md.SAMPLE_SOURCE


def test_tools_through_run_tool(tmp_path: Path) -> None:
    tools = ma.make_tools(tmp_path)
    out = json.loads(run_tool(tools, "1", "analyze_ticker", {"ticker": "msft", "start": "2012-01-01"}).output)
    assert out["ticker"] == "MSFT" and out["first_date"] == "2012-01-03"
    assert out["data_source"].endswith("MSFT daily closes, 2012-01-03 to 2013-03-01.")
    out = json.loads(run_tool(tools, "2", "analyze_ticker", {"ticker": "AAPL", "csv_name": "../x.csv"})
                     .output)
    assert "leaves it" in out["error"]
    out = json.loads(run_tool(tools, "3", "rebalance", {"holdings": {"A": 7000, "B": 3000},
                                                        "targets": {"A": 0.6, "B": 0.4}}).output)
    assert [r["trade"] for r in out["rows"]] == [-1000.0, 1000.0]
    out = json.loads(run_tool(tools, "4", "price_metrics", {"closes": [100, 110, 99, 108.9]}).output)
    assert out["total_return"] == pytest.approx(0.089)
    out = json.loads(run_tool(tools, "5", "list_market_data", {}).output)
    assert out["tickers"]["IBM"] == ["2011-03-01", "2013-03-01"]


# -- issue 20: tickers, short windows, reasons, caveats, named CSVs -----------------------------------

def test_tickers_come_from_the_data_or_an_explicit_symbol() -> None:
    assert ma.tickers_in("SHOULD I SELL AAPL NOW") == ["AAPL"]
    assert ma.tickers_in("Should I SELL AAPL NOW?") == ["AAPL"]
    assert ma.tickers_in("analyze TSLA") == ["TSLA"]                 # a symbol in a lower-case text
    assert ma.tickers_in("ANALYZE TSLA") == ["TSLA"]                 # a symbol right after 'analyze'
    assert set(ma.tickers_in("WHAT ABOUT $NVDA AND IBM")) == {"NVDA", "IBM"}
    assert ma.tickers_in("HOW IS XYZW DOING", known=["XYZW"]) == ["XYZW"]   # a ticker of the user's CSV


def test_a_shouted_sell_question_is_answered_cleanly() -> None:
    from domains import agents as domain_agents

    reply = domain_agents.offline_answer("financial", "SHOULD I SELL AAPL NOW")
    assert reply.startswith("AAPL: price analysis")
    assert "[removed" not in reply and "SELL, NOW" not in reply and "No data for" not in reply
    assert "Stance from these figures: cautious" in reply


def _closes(n: int, start: float = 100.0) -> list[float]:
    """n closes with alternating daily moves (+1.5%, -0.5%): a steady rise with some noise."""
    closes = [start]
    for i in range(n - 1):
        closes.append(closes[-1] * (1.015 if i % 2 == 0 else 0.995))
    return closes


def test_a_short_window_is_not_annualised() -> None:
    closes = _closes(21)                                           # 20 daily returns, about one month
    a = ma.analyze(_series(closes, "SHORT"))
    # what the old reply showed: compounding 20 returns to a year, and a Sharpe from 20 returns
    compounded = (closes[-1] / closes[0]) ** (252 / 20) - 1
    assert compounded > 1.0
    assert a["annualised_return"] is None and a["volatility"] is None and a["sharpe"] is None
    assert a["window_return"] == pytest.approx(closes[-1] / closes[0] - 1)
    assert a["returns_count"] == 20 and len(a["caveats"]) == 2
    stdev = math.sqrt(sum((r - sum(ma.simple_returns(closes)) / 20) ** 2 for r in ma.simple_returns(closes)) / 19)
    assert a["daily_volatility"] == pytest.approx(stdev)

    reply = ma.offline_reply("analyze AAPL from 2013-01-31 to 2013-03-01")
    raw = [c for d, c in _raw_sample("AAPL") if "2013-01-31" <= d <= "2013-03-01"]
    assert len(raw) == 21
    assert f"{ma.annualised_return(raw):+.1%}" not in reply
    assert f"{ma.sharpe_ratio(raw):.2f}" not in reply
    assert "not annualised" in reply and "20 daily returns" in reply


def test_windows_of_three_months_carry_a_caveat_and_a_year_none() -> None:
    medium = ma.risk_figures(_closes(64))                          # 63 returns: annualised, with a caveat
    assert medium["volatility"] is not None and medium["annualised_return"] is None
    assert any("rough estimates" in c for c in medium["caveats"])
    closes = _closes(253)
    full = ma.risk_figures(closes)
    returns = ma.simple_returns(closes)
    mean = sum(returns) / len(returns)
    sd = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
    assert full["caveats"] == []
    assert full["annualised_return"] == pytest.approx((closes[-1] / closes[0]) ** (252 / 252) - 1)
    assert full["volatility"] == pytest.approx(sd * math.sqrt(252))
    assert full["sharpe"] == pytest.approx(mean / sd * math.sqrt(252))


def test_a_stance_always_has_reasons() -> None:
    for closes in (_closes(21), [100.0] * 10 + [101.0] * 10, _closes(130)):
        a = ma.analyze(_series(closes))
        assert a["reasons"], closes
    a = ma.analyze(_series(_closes(21)))
    assert a["stance"] == "neutral" and any("too short" in r for r in a["reasons"])


def test_every_finance_reply_states_the_data_caveats(tmp_path: Path) -> None:
    from domains import agents as domain_agents

    (tmp_path / "own.csv").write_text("date,close\n" + "".join(
        f"{date(2024, 1, 1) + timedelta(days=i)},{c:.4f}\n" for i, c in enumerate(_closes(30))))
    (tmp_path / "adj.csv").write_text("Date,Close,Adj Close\n" + "".join(
        f"{date(2024, 1, 1) + timedelta(days=i)},{c:.4f},{c:.4f}\n" for i, c in enumerate(_closes(30))))
    for request in ("Analyze AAPL", "compare AAPL and MSFT", "analyze TSLA", "allocate $10,000: 60% AAPL, 40% MSFT",
                    "SHOULD I SELL AAPL NOW", "how are the markets"):
        reply = domain_agents.offline_answer("financial", request, data_dir=tmp_path)
        assert "Data caveat: unadjusted daily closes, dividends excluded" in reply, request
    own = domain_agents.offline_answer("financial", "analyze own.csv", data_dir=tmp_path)
    assert "dividends are excluded" in own and "column 'close'" in own
    adjusted = domain_agents.offline_answer("financial", "analyze adj.csv", data_dir=tmp_path)
    assert "Data caveat: adjusted closes from your file (column 'Adj Close')" in adjusted
    assert "dividends excluded" in md.sample_note()


def test_a_named_csv_is_analysed_in_the_financial_pool(tmp_path: Path) -> None:
    import command_processor
    from domains import routing

    assert routing.route_pool("analyze xyz.csv") == "financial"
    assert command_processor.parse("analyze xyz.csv")[0].args["pool"] == "financial"
    (tmp_path / "xyz.csv").write_text("date,close\n" + "".join(
        f"{date(2024, 1, 1) + timedelta(days=i)},{c:.4f}\n" for i, c in enumerate(_closes(30))))
    reply = ma.offline_reply("analyze xyz.csv", data_dir=tmp_path)
    assert reply.startswith("XYZ: price analysis") and "Stance from these figures" in reply
    assert "your file xyz.csv in the data folder" in reply


def test_a_ticker_without_data_gets_no_unasked_comparison() -> None:
    reply = ma.offline_reply("analyze TSLA")
    assert reply.startswith("TSLA: no price data") and "No data for TSLA" in reply
    assert "Comparison" not in reply and "Sharpe" not in reply and "Stance" not in reply
    assert "GOOG daily closes" not in reply and "GOOG" not in reply.split("Data caveat")[0].split("has ")[-1][12:]
