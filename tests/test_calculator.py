"""The calculator's grammar: precedence, percent, exact integers, decimal commas, refusals with reasons."""
from __future__ import annotations

import json

import pytest

from domains import agents as da
from domains import calculator
from providers.tools import run_tool


@pytest.mark.parametrize(("expression", "result"), [
    ("-3^2", -9),                   # unary minus binds looser than a power, as in mathematics
    ("(-3)^2", 9),
    ("2^-1", 0.5),
    ("2^3^2", 512),                 # powers are right-associative
    ("200 - 20%", 160),             # 20% of the left side
    ("200 + 10%", 220),
    ("2 ** 100", 2 ** 100),         # exact, not a float
    ("5 // 2", 2),
    ("-7 // 2", -4),
    ("10 % 3", 1),
    ("20 percent of 150", 30),
    ("15% of 80", 12),
    ("12 x 12", 144),
    ("6 \u00d7 7 \u00f7 2", 21),
    ("2,5 + 1", 3.5),               # a decimal comma: two digits after it cannot be thousands
    ("1,000 + 1", 1001),            # three digits: a thousands separator
    ("1,000,000.5 * 2", 2000001),
    ("1.000,5 * 2", 2001),
    ("0.1 + 0.2", 0.3),             # exact fractions: no 0.30000000000000004
    ("(1200 * 1.07) / 12", 107),
    ("2 ** 10 - 24 // 5", 1020),
])
def test_grammar(expression: str, result: float) -> None:
    got = calculator.calculate(expression)["result"]
    assert got == result and type(got) is type(result)


@pytest.mark.parametrize(("expression", "reason"), [
    ("7 / 0", "division by zero"), ("5 // 0", "division by zero"), ("5 % 0", "division by zero"),
    ("0 ^ -1", "division by zero"), ("2 ** 1000", "larger than 100"), ("(10^100)^100", "more than 10000 bits"),
    ("(-8)^0.5", "not a real number"), ("x + 1", "found 'x'"), ("1 +", "ends where a number"),
    ("(1 + 2", "not closed"), ("__import__('os')", "is not arithmetic"), ("1,2,3", "ambiguous number"),
    ("", "no expression"),
])
def test_refusals_say_why(expression: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        calculator.calculate(expression)


@pytest.mark.parametrize(("text", "line"), [
    ("what is -3^2?", "Calculation: -3^2 = -9"),
    ("what's 20 percent of 150", "Calculation: 20 percent of 150 = 30"),
    ("200 - 20%", "Calculation: 200 - 20% = 160"),
    ("is 12 x 12 144?", "Calculation: 12 x 12 = 144"),
    ("2 ** 100", "Calculation: 2 ** 100 = 1267650600228229401496703205376"),
    ("7 / 0", "Calculation: 7 / 0 cannot be computed: division by zero is undefined."),
    ("1, 2 + 3", "Calculation: 2 + 3 = 5"),
    ("meet on 2024-01-02", None),
    ("I have 3, maybe 4 apples", None),
])
def test_answer_line_finds_the_arithmetic_in_a_request(text: str, line: str | None) -> None:
    assert calculator.answer_line(text) == line


def test_the_general_agent_answers_with_the_calculator() -> None:
    assert "Calculation: 5 // 2 = 2" in da.offline_answer("general", "5 // 2")
    assert "Calculation: 2,5 + 1 = 3.5" in da.offline_answer("general", "2,5 + 1")
    assert "cannot be computed: division by zero" in da.offline_answer("general", "what is 7 / 0")
    agents = da.build_agents()
    assert [t.name for t in agents["general"].tools] == ["calculate"]
    out = json.loads(run_tool(agents["general"].tools, "1", "calculate", {"expression": "7 / 2"}).output)
    assert out["result"] == 3.5
    bad = run_tool(agents["general"].tools, "2", "calculate", {"expression": "7 / 0"})
    assert bad.error is not None and "division by zero" in bad.error


@pytest.mark.parametrize("text", ["-3^2", "5 // 2", "7 / 0", "12 x 12", "what is 20 percent of 150?"])
def test_bare_arithmetic_is_a_general_request(text: str) -> None:
    import command_processor as cp

    [command] = cp.parse(text)
    assert (command.intent, command.args["pool"]) == ("submit", "general")
