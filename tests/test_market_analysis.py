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
    assert "No prices for TSLA in this data; it has AAPL, GOOG, IBM, MSFT." in reply
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
