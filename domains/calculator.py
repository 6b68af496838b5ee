"""The general agent's calculator: an arithmetic grammar parsed by hand (no eval), exact where it can be.

Grammar, loosest first (so "-3^2" is -9, as in mathematics, and "2^-1" is 0.5):

    sum      := product (('+' | '-') product)*      "a - b%" is a minus b percent of a
    product  := signed (('*' | 'x' | '/' | '//' | 'mod' | '%' | 'of') signed)*
    signed   := ('-' | '+') signed | power
    power    := percent (('^' | '**') signed)?     right-associative
    percent  := atom ('%' | 'percent')*            '%' before a number or '(' is the remainder
    atom     := number | '(' sum ')'

Numbers: "1,000" and "1,000,000.5" have thousands commas; "2,5" and "1.000,5" a decimal comma.
Integers and decimals are kept as exact fractions ("2 ** 100", "0.1 + 0.2"); a fractional power
gives a float. What cannot be computed is refused with the reason (ValueError).
"""
from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from providers.tools import ToolSpec

logger = logging.getLogger(__name__)

MAX_EXPONENT = 100
"""Largest power the calculator computes."""

MAX_RESULT_BITS = 10_000
"""Largest exact result, in bits (about 3,000 digits): beyond it a power is refused, not computed."""

MAX_EXPRESSION_CHARS = 500
"""Longest expression the calculator reads."""

ALLOWED = "numbers, + - * x / // % ^ **, 'percent', 'of', 'mod' and parentheses"
"""What an expression may hold, said in every 'not arithmetic' refusal."""

Number = Fraction | float

_TOKEN = re.compile(r"""\s*(?:
    (?P<num>\d+(?:[.,]\d+)*|\.\d+)
  | (?P<op>\*\*|//|[-+*/%^()\u00d7\u00f7\u2212])
  | (?P<word>divided\s+by|multiplied\s+by|per\s*cent|percent|times|plus|minus|mod|of|x)(?![a-z])
)""", re.X | re.I)
_WORDS = {"x": "*", "\u00d7": "*", "times": "*", "multiplied by": "*", "\u00f7": "/", "divided by": "/",
          "plus": "+", "minus": "-", "\u2212": "-", "mod": "mod", "of": "of", "percent": "pct",
          "per cent": "pct", "^": "**"}
_SPAN = re.compile(r"(?<![\w.,])(?:[-+(\u2212]\s*)*(?:\d|\.\d)(?:[\d.,\s+\-*/%^()\u00d7\u00f7\u2212]|"
                   r"\b(?:x|times|plus|minus|of|percent|per cent|mod|divided by|multiplied by)\b)*", re.I)
_TRAILING = re.compile(r"(?:[\s,.+\-*/^(\u00d7\u00f7\u2212]|\b(?:x|times|plus|minus|of|mod|divided by|"
                       r"multiplied by)\b)+$", re.I)
_ASKED = re.compile(r"(?:(?:what|how much)\s+is|what's|whats|calculate|compute|calc|evaluate|work out)?\s*"
                    r"(.+?)\s*[?=]?", re.I)
_OPERATORS = frozenset({"+", "-", "*", "/", "//", "%", "**", "mod", "of", "pct"})
_DATE = re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")


def calculate(expression: str) -> dict[str, Any]:
    """Evaluate arithmetic with the grammar above, without eval.

    Returns:
        {"expression": the text, "result": an int when the value is whole, else a float}.

    Raises:
        ValueError: what cannot be computed, with the reason (not arithmetic, division by zero, too large).
    """
    text = expression.strip()
    if not text:
        raise ValueError("no expression given")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    value = _Parser(_tokens(text), text).parse()
    return {"expression": text, "result": _plain(value)}


def answer_line(text: str) -> str | None:
    """The calculation a request holds, as 'Calculation: <expr> = <result>', or the reason it cannot be
    computed; None when the request holds no arithmetic."""
    refusal = None
    for candidate in _candidates(text):
        try:
            result = calculate(candidate)["result"]
        except ValueError as exc:
            refusal = refusal or f"Calculation: {candidate} cannot be computed: {exc}."
            continue
        return f"Calculation: {candidate} = {format_number(result)}"
    return refusal


def is_arithmetic(text: str) -> bool:
    """Whether a request is only arithmetic ("-3^2", "what is 7 / 0?", "calculate 20 percent of 150"),
    whether or not it can be computed."""
    m = _ASKED.fullmatch(text.strip())
    expression = m[1] if m else ""
    try:
        kinds = [kind for kind, _ in _tokens(expression)]
    except ValueError:
        return False
    return any(k[0].isdigit() or k[0] == "." for k in kinds) and any(k in _OPERATORS for k in kinds)


def format_number(value: int | float) -> str:
    """An int in full (every digit), a float to 12 significant digits."""
    if isinstance(value, int):
        return str(value)
    return f"{value:.12g}"


CALCULATE_TOOL = ToolSpec(
    "calculate", "Evaluate an arithmetic expression exactly: + - * x / // % ^ **, 'a% of b', 'a - b%', "
    "'mod', parentheses; unary minus binds looser than a power (-3^2 = -9).",
    {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"],
     "additionalProperties": False}, calculate)
"""The general agent's calculator."""


@dataclass(frozen=True)
class _Value:
    number: Number
    percent: bool = False  # a bare 'b%': after + or - it is a share of the left side ("200 - 20%")


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, as written) of each token: kind is the number's text or the operator's canonical name."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            bad = text[pos:].strip().split()[0]
            raise ValueError(f"{bad!r} is not arithmetic (allowed: {ALLOWED})")
        if m["num"]:
            out.append((m["num"], m["num"]))
        else:
            raw = re.sub(r"\s+", " ", (m["op"] or m["word"]).lower())
            out.append((_WORDS.get(raw, raw), raw))
        pos = m.end()
    return out


def _number(raw: str) -> Fraction:
    if re.fullmatch(r"\d+(?:\.\d+)?|\.\d+", raw):
        return Fraction(raw)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):     # 1,000 and 1,000,000.5
        return Fraction(raw.replace(",", ""))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+,\d+", raw):          # 1.000,5
        return Fraction(raw.replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d+,(?:\d{1,2}|\d{4,})", raw):           # 2,5: a decimal comma (3 digits: thousands)
        return Fraction(raw.replace(",", "."))
    raise ValueError(f"{raw!r} is an ambiguous number (write 1000.5 or 1,000.5)")


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens, self.pos, self.text = tokens, 0, text

    def parse(self) -> Number:
        value = self.sum()
        if self.pos < len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.pos][1]!r} in {self.text!r}")
        return value.number

    def peek(self, offset: int = 0) -> str | None:
        i = self.pos + offset
        return self.tokens[i][0] if i < len(self.tokens) else None

    def take(self) -> str:
        if self.pos >= len(self.tokens):
            raise ValueError(f"{self.text!r} ends where a number should follow")
        self.pos += 1
        return self.tokens[self.pos - 1][0]

    def sum(self) -> _Value:
        left = self.product()
        while self.peek() in ("+", "-"):
            sign = 1 if self.take() == "+" else -1
            right = self.product()
            base = left.number
            share = base * right.number if right.percent else right.number
            left = _Value(_check_size(base + sign * share))
        return left

    def product(self) -> _Value:
        left = self.signed()
        while self.peek() in ("*", "/", "//", "mod", "%", "of"):
            op = self.take()
            right = self.signed().number
            left = _Value(_BINARY[op](left.number, right))
        return left

    def signed(self) -> _Value:
        if self.peek() in ("-", "+"):
            sign = -1 if self.take() == "-" else 1
            inner = self.signed()
            return _Value(sign * inner.number, inner.percent)
        return self.power()

    def power(self) -> _Value:
        base = self.percent()
        if self.peek() == "**":
            self.take()
            return _Value(_power(base.number, self.signed().number))
        return base

    def percent(self) -> _Value:
        value = self.atom()
        while self.peek() == "pct" or (self.peek() == "%" and not _starts_operand(self.peek(1))):
            self.take()
            value = _Value(value.number / 100, True)
        return value

    def atom(self) -> _Value:
        token = self.take()
        if token == "(":
            inner = self.sum()
            if self.peek() != ")":
                raise ValueError(f"a '(' is not closed in {self.text!r}")
            self.take()
            return _Value(inner.number)
        if token[0].isdigit() or token[0] == ".":
            return _Value(_number(token))
        raise ValueError(f"expected a number, found {self.tokens[self.pos - 1][1]!r} in {self.text!r}")


def _starts_operand(token: str | None) -> bool:
    return token is not None and (token == "(" or token[0].isdigit() or token[0] == ".")


def _divide(kind: str) -> Callable[[Number, Number], Number]:
    def apply(a: Number, b: Number) -> Number:
        if b == 0:
            raise ValueError("division by zero is undefined")
        if kind == "/":
            return a / b
        return Fraction(math.floor(a / b)) if kind == "//" else a - b * math.floor(a / b)
    return apply


_BINARY: dict[str, Callable[[Number, Number], Number]] = {
    "*": lambda a, b: _check_size(a * b), "of": lambda a, b: _check_size(a * b),
    "/": _divide("/"), "//": _divide("//"), "%": _divide("mod"), "mod": _divide("mod")}


def _power(base: Number, exponent: Number) -> Number:
    if abs(float(exponent)) > MAX_EXPONENT:
        raise ValueError(f"the exponent {_plain(exponent)} is larger than {MAX_EXPONENT}")
    if base == 0 and exponent < 0:
        raise ValueError("zero to a negative power is a division by zero")
    if isinstance(exponent, Fraction) and exponent.denominator == 1:
        if abs(int(exponent)) * _bits(base) > MAX_RESULT_BITS:
            raise ValueError(f"the result would have more than {MAX_RESULT_BITS} bits")
        return _check_size(base ** int(exponent))
    if base < 0:
        raise ValueError("a negative number to a fractional power is not a real number")
    try:
        return float(base) ** float(exponent)
    except OverflowError:
        raise ValueError("the result is too large") from None


def _bits(value: Number) -> float:
    """About how many bits the magnitude of a value takes (0 for a magnitude up to 1)."""
    if isinstance(value, float):
        return max(0.0, math.log2(abs(value))) if value else 0.0
    return float(max(0, abs(value.numerator).bit_length() - value.denominator.bit_length()))


def _check_size(value: Number) -> Number:
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            raise ValueError("the result is too large")
    elif max(abs(value.numerator).bit_length(), value.denominator.bit_length()) > MAX_RESULT_BITS:
        raise ValueError(f"the result would have more than {MAX_RESULT_BITS} bits")
    return value


def _plain(value: Number) -> int | float:
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return float(value)


def _candidates(text: str) -> list[str]:
    """Arithmetic-looking spans of free text, longest first; each holds an operator or a percent."""
    found = []
    for m in _SPAN.finditer(_DATE.sub(" ", text)):
        span = _TRAILING.sub("", m[0]).strip()
        while span.count("(") < span.count(")") and span.endswith(")"):
            span = span[:-1].rstrip()
        pieces = [span, *re.split(r",\s+", span)]
        pieces += [p for piece in pieces for p in re.split(r"(?<=[\d)%])\s+(?=[\d(])", piece)]
        for piece in pieces:
            if re.search(r"[\d)]\s*(?:[-+*/^%\u00d7\u00f7\u2212]|\b(?:x|times|plus|minus|of|percent|per cent|"
                         r"mod|divided by|multiplied by)\b)", piece, re.I) and piece not in found:
                found.append(piece)
    return sorted(found, key=len, reverse=True)
