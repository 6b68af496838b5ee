"""Odds tools against hand-computed values, slate parsing and strategy, the offline reply."""
from __future__ import annotations

import json
import math
import re

import pytest

from domains import sports_odds as so
from providers.tools import run_tool


@pytest.mark.parametrize("raw,decimal", [
    ("-150", 1 + 100 / 150), ("+130", 2.3), ("130", 2.3), ("-110", 1 + 100 / 110), ("+100", 2.0),
    ("2.5", 2.5), ("1.91", 1.91), ("5/2", 3.5), ("1/4", 1.25), ("11/10", 2.1), ("evens", 2.0), (3, 3.0),
])
def test_parse_odds(raw: str, decimal: float) -> None:
    assert so.parse_odds(raw) == pytest.approx(decimal)


@pytest.mark.parametrize("raw", ["1.0", "0.5", "+50", "-99", "abc", "0/3", "5/0"])
def test_parse_odds_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        so.parse_odds(raw)


def test_implied_probability_hand_values() -> None:
    assert so.implied_probability(so.parse_odds("-150")) == pytest.approx(0.600)
    assert round(so.implied_probability(so.parse_odds("+130")) * 100, 1) == 43.5
    assert so.implied_probability(2.0) == 0.5


def test_conversions() -> None:
    assert so.to_american(2.5) == pytest.approx(150)
    assert so.to_american(1 + 100 / 150) == pytest.approx(-150)
    assert so.to_fractional(3.5) == "5/2"
    assert so.to_fractional(1.25) == "1/4"


def test_remove_margin_hand_values() -> None:
    result = so.remove_margin([so.parse_odds("-150"), so.parse_odds("+130")])
    book = 0.6 + 100 / 230                                  # 1.034783
    assert result["overround"] == pytest.approx(book - 1)
    assert result["fair_probabilities"] == pytest.approx([0.6 / book, (100 / 230) / book])
    assert result["fair_probabilities"][0] == pytest.approx(0.579832, abs=1e-6)
    assert result["fair_odds"] == pytest.approx([book / 0.6, book * 2.3])
    assert sum(result["fair_probabilities"]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        so.remove_margin([2.0])


def test_expected_value_and_kelly_hand_values() -> None:
    assert so.expected_value(0.55, 2.0) == pytest.approx(0.10)
    assert so.expected_value(0.5, 1.9, stake=10) == pytest.approx(-0.5)
    assert so.kelly_fraction(0.55, 2.0) == pytest.approx(0.10)
    assert so.kelly_fraction(0.62, 1 + 100 / 150) == pytest.approx(0.05)   # (2/3*0.62 - 0.38) / (2/3)
    assert so.kelly_fraction(0.45, 2.0) == 0.0                              # no edge: no bet
    with pytest.raises(ValueError):
        so.kelly_fraction(1.2, 2.0)


def test_stake_plan_fractional_and_capped() -> None:
    plan = so.stake_plan(0.55, 2.0, bankroll=1000)
    assert plan["full_kelly"] == pytest.approx(0.10)
    assert plan["stake_fraction"] == pytest.approx(0.025) and plan["stake"] == 25.0 and not plan["capped"]
    capped = so.stake_plan(0.9, 2.0, bankroll=1000)                          # full Kelly 0.8, quarter 0.2
    assert capped["stake_fraction"] == so.MAX_STAKE and capped["stake"] == 50.0 and capped["capped"]
    assert so.stake_plan(0.55, 2.0, fraction=0.5)["stake_fraction"] == pytest.approx(0.05)
    with pytest.raises(ValueError):
        so.stake_plan(0.55, 2.0, bankroll=-5)


def _outcomes(text: str) -> list[list[tuple[str, str, float | None]]]:
    return [[(o.name, o.raw, o.probability) for o in g.outcomes] for g in so.parse_slate(text)]


def test_parse_slate_formats() -> None:
    assert _outcomes("Lakers -150 (my estimate 62%) vs Celtics +130") == [
        [("Lakers", "-150", 0.62), ("Celtics", "+130", None)]]
    assert _outcomes("Lakers vs Celtics -150 +130") == [[("Lakers", "-150", None), ("Celtics", "+130", None)]]
    assert _outcomes("Arsenal 2.10, Draw 3.40, Chelsea 3.60\nTeam E 5/6 vs Team F 11/10") == [
        [("Arsenal", "2.10", None), ("Draw", "3.40", None), ("Chelsea", "3.60", None)],
        [("Team E", "5/6", None), ("Team F", "11/10", None)]]
    assert _outcomes("Kelly for p=0.55 at 2.0") == [[("outcome 1", "2.0", 0.55)]]
    assert _outcomes("bankroll $12.50 and 7.30pm kickoff, no odds here") == []


def test_slate_strategy_one_bet_per_game_and_exposure_cap() -> None:
    games = so.parse_slate("A 2.0 (90%) vs B 2.0\nC 2.0 (90%) vs D 2.0\nE 2.0 (90%) vs F 2.0")
    strategy = so.slate_strategy(games, bankroll=1000)
    picks = [g["pick"] for g in strategy["games"]]
    assert [p["outcome"] for p in picks] == ["A", "C", "E"]
    assert all(p["stake_fraction"] == so.MAX_STAKE for p in picks)      # each capped at 5%
    assert strategy["scaled"] and strategy["exposure"] == pytest.approx(so.MAX_SLATE_EXPOSURE)
    assert [p["slate_stake"] for p in picks] == [pytest.approx(33.33, abs=0.01)] * 3


def test_no_value_means_pass() -> None:
    game = so.analyse_game(so.parse_slate("Lakers -150 (55%) vs Celtics +130")[0])
    assert game["pick"] is None


def test_reply_with_odds_has_figures_and_no_certainty() -> None:
    reply = so.offline_reply("Lakers -150 (62%) vs Celtics +130\nbankroll $500")
    assert reply.split("\n")[0] == "Betting strategy from your odds"
    assert so.BUILT_IN_NOTE in reply
    assert "bookmaker margin 3.5%" in reply
    assert "60.0%" in reply and "43.5%" in reply and "58.0%" in reply
    assert "stake 1.25% of bankroll = 6.25" in reply                     # quarter of full Kelly 5%
    assert "Bankroll rules" in reply
    assert not re.search(r"guarant|sure thing|can'?t lose|\block\b", reply, re.I)


def test_reply_without_odds_asks_and_labels_the_example() -> None:
    reply = so.offline_reply("Create a sports betting strategy for tonight's games")
    assert reply.split("\n")[0] == "Betting strategy: odds needed"
    assert "I cannot see tonight's games or odds" in reply
    assert "EXAMPLE SLATE (made-up teams, odds and estimates, only to show the method; not real " in reply
    assert "Plan (example)" in reply
    assert not re.search(r"guarant|sure thing", reply, re.I)


def test_tools_through_run_tool() -> None:
    out = json.loads(run_tool(so.TOOLS, "1", "convert_odds", {"odds": ["-150", "+130"]}).output)
    assert out["outcomes"][0]["implied_probability"] == pytest.approx(0.6)
    assert out["margin_removed"]["overround"] == pytest.approx(0.6 + 100 / 230 - 1)
    arguments = '{"probability": 0.55, "odds": "2.0", "bankroll": 1000}'
    out = json.loads(run_tool(so.TOOLS, "2", "stake_size", arguments).output)
    assert out["full_kelly"] == pytest.approx(0.1) and out["stake"] == 25.0
    bad = run_tool(so.TOOLS, "3", "slate_strategy", {"slate": "no prices"})
    assert bad.error is not None and "no odds found" in bad.error


def test_a_percentage_over_100_is_text_not_a_probability_and_breaks_nothing() -> None:
    """'revenue grew 150%' once raised ValueError from every route_pool call: the request failed."""
    games = so.parse_slate("Lakers -150 (my estimate 120%) vs Celtics +130")
    assert len(games) == 1 and all(o.probability is None for o in games[0].outcomes)
    assert "Lakers" in so.offline_reply("Lakers -150 (my estimate 120%) vs Celtics +130")
    from domains import routing
    from values import POOL_NAMES

    assert routing.route_pool("our revenue grew 150% this year, analyze it") in POOL_NAMES


# -- markets: spreads, totals, moneylines, three-way; refusals; margin methods; break-even; scaling --

def _american(odds: float) -> float:
    """Textbook decimal odds of American odds."""
    return 1 + odds / 100 if odds > 0 else 1 + 100 / -odds


@pytest.mark.parametrize(("text", "market", "line", "names", "decimals"), [
    ("Lakers -5.5 -110 vs Celtics +5.5 -110", "spread", 5.5, ["Lakers -5.5", "Celtics +5.5"],
     [_american(-110)] * 2),
    ("Over 2.5 goals 1.90 vs Under 2.5 goals 1.95", "total", 2.5, ["Over 2.5", "Under 2.5"], [1.90, 1.95]),
    ("Over 220.5 -110 / Under 220.5 -105", "total", 220.5, ["Over 220.5", "Under 220.5"],
     [_american(-110), _american(-105)]),
    ("Arsenal -1.5 2.10 vs Chelsea +1.5 1.80", "spread", 1.5, ["Arsenal -1.5", "Chelsea +1.5"], [2.10, 1.80]),
    ("Giants -110 vs Jets -110", "moneyline", None, ["Giants", "Jets"], [_american(-110)] * 2),
    ("Team E 5/6 vs Team F 11/10", "moneyline", None, ["Team E", "Team F"], [1 + 5 / 6, 1 + 11 / 10]),
    ("Arsenal 2.10, Draw 3.40, Chelsea 3.60", "three-way", None, ["Arsenal", "Draw", "Chelsea"],
     [2.10, 3.40, 3.60]),
])
def test_a_market_is_two_or_three_outcomes_with_its_line(text: str, market: str, line: float | None,
                                                         names: list[str], decimals: list[float]) -> None:
    [game] = so.parse_slate(text)
    assert (game.market, game.market_line, game.refused) == (market, line, [])
    assert [o.name for o in game.outcomes] == names
    assert [o.decimal for o in game.outcomes] == pytest.approx(decimals)
    overround = sum(1 / d for d in decimals) - 1            # textbook: implied probabilities' sum minus 1
    analysis = so.analyse_game(game)
    assert analysis["overround"] == pytest.approx(overround)
    reply = so.offline_reply(text)
    assert f"bookmaker margin {overround:.1%} (overround: implied probabilities sum to {1 + overround:.1%})" in reply
    # one meaning for 'margin': every margin figure in the reply is the overround
    assert set(re.findall(r"margin (\d+\.\d)%", reply)) == {f"{overround * 100:.1f}"}


def test_a_spread_with_mismatched_lines_is_not_one_market() -> None:
    [game] = so.parse_slate("Lakers -5.5 -110 vs Celtics +4.5 -110")
    assert game.market == so.NOT_ONE_MARKET and "not the two sides of one line" in game.refused[0]
    assert so.analyse_game(game)["overround"] is None


@pytest.mark.parametrize(("raw", "reason"), [
    ("+50", "'+50' is not valid American odds: |odds| >= 100"),
    ("-99", "'-99' is not valid American odds: |odds| >= 100"),
    ("1.0", "'1.0' is not valid decimal odds: they must be above 1.0"),
])
def test_invalid_odds_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        so.parse_odds(raw)


def test_an_invalid_price_in_a_slate_is_refused_not_dropped() -> None:
    [game] = so.parse_slate("Lakers +50 vs Celtics -110")
    assert game.refused and game.refused[0].startswith("'+50' is not valid American odds: |odds| >= 100")
    assert so.analyse_game(game)["overround"] is None          # no margin from an incomplete market
    reply = so.offline_reply("Lakers +50 vs Celtics -110")
    assert "Refused: '+50' is not valid American odds: |odds| >= 100" in reply
    assert "bookmaker margin" not in reply


def test_margin_removal_methods_match_their_formulas() -> None:
    decimals = [1.25, 4.50]                                     # a favourite and a long shot
    implied = [1 / d for d in decimals]
    book = sum(implied)
    mult = so.remove_margin(decimals)
    assert mult["method"] == "multiplicative"
    assert mult["fair_probabilities"] == pytest.approx([p / book for p in implied])

    shin = so.remove_margin(decimals, "shin")
    z = shin["shin_z"]
    expected = [(math.sqrt(z * z + 4 * (1 - z) * p * p / book) - z) / (2 * (1 - z)) for p in implied]
    assert shin["fair_probabilities"] == pytest.approx(expected) and sum(expected) == pytest.approx(1)
    # Shin's textbook property: the favourite keeps more probability than the proportional method gives it
    assert shin["fair_probabilities"][0] > mult["fair_probabilities"][0]

    power = so.remove_margin(decimals, "power")
    k = power["power_k"]
    assert power["fair_probabilities"] == pytest.approx([p ** k for p in implied])
    assert sum(p ** k for p in implied) == pytest.approx(1) and k > 1
    with pytest.raises(ValueError, match="unknown margin-removal method"):
        so.remove_margin(decimals, "magic")


def test_the_reply_names_the_method() -> None:
    assert "margin removed by the multiplicative (proportional) method" in so.offline_reply("A 1.25 vs B 4.50")
    shin = so.offline_reply("A 1.25 vs B 4.50, use shin")
    assert "margin removed by the Shin method" in shin
    fair = so.remove_margin([1.25, 4.50], "shin")["fair_probabilities"][0]
    assert f"{fair:.1%}" in shin
    out = json.loads(run_tool(so.TOOLS, "1", "convert_odds", {"odds": ["1.25", "4.5"], "method": "power"}).output)
    assert out["margin_removed"]["method"] == "power"


def test_break_even_is_the_implied_probability_of_the_price() -> None:
    decimal = _american(-150)                                   # break-even 1 / 1.667 = 60%
    rules = " ".join(so.bankroll_rules())
    assert "break-even of the price you get" in rules and "beats the fair price" not in rules
    # 59% beats the fair 58% but not the 60% break-even: EV negative, so no bet
    between = so.analyse_game(so.parse_slate("Lakers -150 (59%) vs Celtics +130")[0])
    assert between["rows"][0]["fair"] < 0.59 < 1 / decimal
    assert between["rows"][0]["expected_value_per_unit"] == pytest.approx(0.59 * (decimal - 1) - 0.41)
    assert between["rows"][0]["expected_value_per_unit"] < 0 and between["pick"] is None
    reply = so.offline_reply("Lakers -150 (59%) vs Celtics +130")
    assert "beats the fair 58.0% but not the break-even 60.0%" in reply
    # 61% is above the break-even: a value bet whose EV and stake follow the textbook formulas
    above = so.analyse_game(so.parse_slate("Lakers -150 (61%) vs Celtics +130")[0], bankroll=1000)
    b = decimal - 1
    assert above["pick"]["expected_value_per_unit"] == pytest.approx(0.61 * b - 0.39)
    assert above["pick"]["stake_fraction"] == pytest.approx(so.KELLY_FRACTION * (b * 0.61 - 0.39) / b)
    assert "your 61% is above the break-even 60.0%" in so.offline_reply("Lakers -150 (61%) vs Celtics +130")


def test_the_table_shows_the_scaled_stakes() -> None:
    text = "A 2.0 (90%) vs B 2.0\nC 2.0 (90%) vs D 2.0\nE 2.0 (90%) vs F 2.0\nbankroll 1000"
    reply = so.offline_reply(text)
    kelly = so.KELLY_FRACTION * (1 * 0.9 - 0.1) / 1             # quarter of full Kelly, then the 5% cap
    each = min(kelly, so.MAX_STAKE) * so.MAX_SLATE_EXPOSURE / (3 * min(kelly, so.MAX_STAKE))
    shown = re.findall(r"^\s+[ACE]\s.*?(\d+\.\d\d)% \(([\d.]+)\)$", reply, re.M)
    assert shown == [(f"{each:.2%}"[:-1], f"{each * 1000:.2f}")] * 3
    assert "5.00% (50.00)" not in reply                         # the unscaled stake is not in the table
    assert sum(float(amount) for _, amount in shown) == pytest.approx(100, abs=0.02)
    assert f"stake {each:.2%} of bankroll = {each * 1000:,.2f} (scaled down from 5.00%" in reply


def test_a_priced_market_is_a_sports_request() -> None:
    import command_processor as cp

    for text in ("Giants -110 vs Jets -110", "Over 2.5 goals 1.90 vs Under 2.5 goals 1.95"):
        [command] = cp.parse(text)
        assert (command.intent, command.args["pool"]) == ("submit", "sports")
