"""Readings in a symptom description: ages, temperatures, durations, blood sugar, tablets taken.

Part of safety (the red flags read them; domains.triage re-exports them). An age is read as an
age ("my 4 year old", "6 weeks old", "newborn", "he's 65") and never as a duration; a gestation
("32 weeks pregnant") is neither; a temperature is a number with a unit, a decimal reading, or a
number next to a temperature word ("temp of 40"), never a bare age or score.
"""
from __future__ import annotations

import functools
import re

READINGS_CACHE = 512
"""Texts whose readings are remembered (the red-flag checks read a text's age and temperature several
times per assessment)."""

_DIGIT = re.compile(r"\d")

NEWBORN_MONTHS = 0.5
"""Age given to 'newborn' (NHS: a newborn is a baby in the first 28 days)."""

DAYS_PER_MONTH = 30.44
"""Average month, for ages and durations."""

_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                 "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_NUM = r"(\d{1,3}(?:[.,]5)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
# misspelled units read as units ("7 weeeks", "5 weekks", "3 monts"): an infant's age missed is a level missed
_WEEK = r"w+e+k+s?|w[a-z]{0,3}k[es]{0,2}|wks?|wees"
"""Weeks, misspelled as people type them ('weeks', 'weks', 'wekes', 'weeeks', 'wks', 'wees')."""
_UNIT = rf"(y+e+a+r+s?|yrs?|yeras?|y|mo+n+t+h+s?|monts?|mnths?|mths?|mos?|{_WEEK}|d+a+y+s?)"
_PERSON = (r"(?:son|daughter|boy|girl|baby|bub|bubba|little one|grandson|granddaughter|niece|nephew|twins?|"
           r"child|kid|toddler|infant|newborn|dad|mum|mom|father|mother|"
           r"husband|wife|partner|grandad|grandma|granddad|grandmother|grandfather|nan|gran|friend|brother|"
           r"sister|neighbour|neighbor|patient|man|woman|gentleman|lady|he|she|i)")
_AGE_PATTERNS = (
    re.compile(rf"\b{_NUM}[\s-]*{_UNIT[:-1]}|wees)[\s-]*old\b"),                            # 4 year old, 6-week-old
    re.compile(r"\b(\d{1,3})\s*(yo|y/o|yr|yrs)\b"),                              # 4yo, 7 yrs
    re.compile(r"\b(?:aged?|age of)\s+(\d{1,3})\b()"),                             # aged 70
    # not a decimal or a reading: "baby is 38.1" and "she is 39 degrees" are temperatures
    re.compile(rf"\b{_PERSON}(?:'s| is| was| of| aged|,)?\s*\(?\s*(\d{{1,3}})\s*"
               r"(months?|mths?|mos?|mo|m|weeks?|wks?|wk|w)?\s*\)?"  # "baby (2m)", "baby 2mo"
               r"(?!\s*(?:°|º|deg|c\b|f\b))(?=[\s,;)]|\.(?!\d)|$)"),
    re.compile(r"\b(?:i'?m|i am|he'?s|she'?s|he is|she is)\s+(\d{1,3})\b(?![.,]\d)(?!\s*(?:weeks?|wks?|days?|"
               r"months?|%|c\b|f\b|°|degrees|kg|lb|stone|mmol|mg))()"),           # I'm 77, he's 65
)
_IS_WEEKS = re.compile(r"\b(?!(?:it|its|that|this|there|which|what|rash|cough|pain|wife|partner|girlfriend|"
                       r"fiancee|sister|mum|mom|mother|i|im)\b)[a-z]+(?:\s+is|\s+was|'s)\s+"
                       rf"(\d{{1,2}})\s*({_WEEK}|mo+n+t+h+s?|monts?|mnths?|mths?)\b"
                       r"(?![\s-]*(?:pregnant|pregnent|gone|along|ago|since|now|later|old))")
"""'my babby is 6 weks': a person of some weeks or months, whatever word names them (not a pregnancy)."""
_CHILD_WEEKS = re.compile(r"\b(?:son|daughter|boy|girl|baby|babby|babys?|bub|bubba|little one|lo|grandson|"
                          r"granddaughter|"
                          r"niece|nephew|twins?|child|kid|toddler|infant|newborn|he)(?:'?s)?"
                          r"(?:\s+(?:is|was|only|just|barely|nearly|almost|about|around|now|aged))*\s+\(?\s*"
                          rf"(\d{{1,2}})\s*({_WEEK}|mo+n+t+h+s?|monts?|mnths?|mths?|d+a+y+s?)\b"
                          r"(?![\s-]*(?:pregnant|pregnent|gone|along|ago|since|later|old|into|in\b|of\b|off\b))")
"""'my sons only 10 wks', 'he's just 6 weeks': a child's age in weeks, months or days after a word such as 'only'
(NICE NG143 bands are by age; an age missed is read as a duration and the infant's level is lost)."""
_JUST_TURNED = re.compile(rf"\bjust turned\s+{_NUM}\s*{_UNIT}\b")
_NEWBORN = re.compile(r"\bnew[\s-]?born\b|\bneonat\w*")
_GESTATION = re.compile(r"\b\d{1,2}\s*(?:w+e+k+s?|wks?)\b(?![\s-]*old)")
_PREGNANCY = re.compile(r"pregnan|baby\b[^.]{0,20}\bmov|kick|tighten|contraction|waters|midwife|"
                        r"labou?r|gestation|weeks along")
_DURATION = re.compile(rf"\b{_NUM}\s+{_UNIT[:-1]}|hours?|hrs?)\b(?![\s-]*old)")
_TEMPERATURE = re.compile(r"(?<![\d.])(\d{2,3}(?:[.,]\d{1,2})?)\s*(°|º|deg(?:rees?)?\.?)?\s*(c|f|celsius|"
                          r"fahrenheit)?\b")
_TEMPERATURE_WORD = re.compile(r"\b(temp\w*|fever\w*|thermometer|reading|reads|febrile|degrees)\b")
_SUGAR = re.compile(r"\b(?:blood\s*)?(?:sugar|glucose|bm|levels?)\s*(?:level\s*)?(?:is|was|of|at|reading|reads|"
                    r"=|:|down to|dropped to)?\s*(\d{1,3}(?:\.\d)?)\b")
# one filler word of any spelling ("abut 40", "like 20", "maybe 16") before the count
_TABLETS = re.compile(r"\b(?:took|taken|take|swallowed|had|ate|eaten|downed)\s+(?:[a-z]{1,7}\s+)?"
                      r"(\d{1,3})\s+(?:of\s+(?:my|his|her|their|the)\s+)?(?:[a-z]+\s+)?"
                      r"(?:pills?|tablets?|capsules?|para[a-z]*|acetaminophen|tylenol|ibuprofen|aspirin|"
                      r"co-?codamol|codeine|sleeping|antidepressants?)\b")


@functools.lru_cache(maxsize=READINGS_CACHE)  # pure; the rules ask several times per text
def age_months(text: str) -> float | None:
    """The age of the person described, in months ('my 4 year old', '6 weeks old', 'newborn'), or None.

    The youngest age found wins: guidance bands are about the child, not the parent writing.
    """
    lowered = _without_gestation(text.lower())
    found: list[float] = []
    for pattern in (*_AGE_PATTERNS, _JUST_TURNED, _IS_WEEKS, _CHILD_WEEKS):
        for match in pattern.finditer(lowered):
            value = _number(match.group(1))
            unit = match.group(2) if match.lastindex and match.lastindex >= 2 else ""
            if value is None:
                continue
            months = _to_months(value, unit or "year")
            if 0 <= months <= 125 * 12:
                found.append(months)
    if _NEWBORN.search(lowered):
        found.append(NEWBORN_MONTHS)
    return min(found) if found else None


def infant_age_months(text: str) -> float | None:
    """The age when it is under a year, in months; None for older people or no age."""
    months = age_months(text)
    return months if months is not None and months < 12 else None


@functools.lru_cache(maxsize=READINGS_CACHE)  # pure; the rules ask several times per text
def temperature_c(text: str) -> float | None:
    """The highest body temperature written in a text, in Celsius ('38.5C', '102 F', 'temp of 40')."""
    if not _DIGIT.search(text):
        return None  # a reading is written in figures
    lowered = _without_ages(text.lower())
    readings = []
    for match in _TEMPERATURE.finditer(lowered):
        number, degree, unit = match.groups()
        value = float(number.replace(",", "."))
        before = lowered[max(0, match.start() - 40):match.start()]
        worded = bool(degree or unit or "." in number or "," in number or _TEMPERATURE_WORD.search(before))
        if not worded:
            continue
        if (unit or "").startswith("f") or (not unit and 93 <= value <= 110):
            value = (value - 32) * 5 / 9
        elif not unit and not 30 <= value <= 45:
            continue
        if 30 <= value <= 45:
            readings.append(round(value, 1))
    return max(readings) if readings else None


@functools.lru_cache(maxsize=READINGS_CACHE)  # pure; the rules ask several times per text
def duration_days(text: str) -> int | None:
    """The longest duration written in a text ('for 3 weeks', 'two days'), in days; ages and
    gestations ('my 4 year old', '32 weeks pregnant') are no durations."""
    lowered = _without_ages(text.lower())
    found = []
    for count, unit in _DURATION.findall(lowered):
        value = _number(count)
        if value is None or unit.startswith(("h",)):
            continue
        days = {"d": 1, "w": 7, "m": DAYS_PER_MONTH, "y": 365}[unit[0]]
        found.append(int(value * days))
    return max(found) if found else None


def blood_sugar_mmol(text: str) -> float | None:
    """A blood glucose reading in mmol/L ('sugar is 2.8'; mg/dL readings over 30 converted)."""
    if not _DIGIT.search(text):
        return None
    match = _SUGAR.search(text.lower())
    if not match:
        return None
    value = float(match.group(1))
    return round(value / 18, 1) if value > 30 else value


_SPO2 = re.compile(r"\b(?:sats?|saturations?|spo2|sp02|o2|oxygen(?:\s+(?:level|levels|sats?|saturation))?|"
                   r"pulse\s*ox\w*|oximeter|oxymeter)\b\D{0,25}?(\d{2,3})\s*%?|\b(\d{2,3})\s*%\s*(?:oxygen|o2|sats?)\b")
_BLOOD_PRESSURE = re.compile(r"\b(?:bp|blood\s+pressure|pressure)\b\D{0,25}?(\d{2,3})(?:\s*(?:/|over)\s*\d{2,3})?"
                             r"|\b(\d{2,3})\s*(?:/|over)\s*\d{2,3}\b(?=[^.]{0,30}\b(?:bp|blood pressure)\b)")
_HEART_RATE = re.compile(r"\b(?:heart\s*rate|heartrate|pulse(?!\s*ox)|hr|heart(?:\s+is)?(?:\s+(?:going|racing|beating|"
                         r"pounding))?(?:\s+at)?)\b\D{0,20}?(\d{2,3})\b(?!\s*%)|\b(\d{2,3})\s*(?:bpm|beats)\b")
_BREATHING_RATE = re.compile(r"\b(?:resp(?:iratory|s)?\.?\s*rate|rr|breathing\s+rate|breaths?)\b\D{0,20}?(\d{2,3})\b"
                             r"|\b(\d{2,3})\s*(?:breaths|times\s+(?:a|per|each)\s+min\w*|a\s+min\w*|per\s+min\w*|/\s*min)")
_BREATH_WORD = re.compile(r"breath|resp")


def _first_number(pattern: re.Pattern[str], text: str, low: int, high: int) -> list[int]:
    values = []
    for match in pattern.finditer(text):
        raw = next((g for g in match.groups() if g), None)
        if raw is not None and low <= int(raw) <= high:
            values.append(int(raw))
    return values


def oxygen_saturation(text: str) -> int | None:
    """The lowest oxygen saturation written ('sats 88%', 'oximeter says 86'), in percent, if any."""
    if not _DIGIT.search(text):
        return None
    values = _first_number(_SPO2, text.lower(), 50, 100)
    return min(values) if values else None


def systolic_pressure(text: str) -> int | None:
    """The systolic blood pressure written furthest from normal ('BP 78/45', 'blood pressure is 220/130'), if any."""
    if not _DIGIT.search(text):
        return None
    values = _first_number(_BLOOD_PRESSURE, text.lower(), 40, 300)
    return max(values, key=lambda v: abs(v - 120)) if values else None


def heart_rate(text: str) -> int | None:
    """The heart rate written furthest from normal ('heart rate is 150', 'pulse 38', '135 bpm'), if any."""
    if not _DIGIT.search(text):
        return None
    values = _first_number(_HEART_RATE, _without_ages(text.lower()), 20, 260)
    return max(values, key=lambda v: abs(v - 75)) if values else None


def breathing_rate(text: str) -> int | None:
    """The highest breathing rate written ('breathing 34 times a minute', 'resp rate 30'), if any."""
    if not _DIGIT.search(text):
        return None
    lowered = _without_ages(text.lower())
    if not _BREATH_WORD.search(lowered):
        return None
    values = _first_number(_BREATHING_RATE, lowered, 5, 150)
    return max(values) if values else None


_WEEKS_ALONE = re.compile(r"(?<!for )(?<!last )(?<!past )\b(\d{2})\s*(?:w+e+k+s?|wks?)\b(?![\s-]*(?:old|ago))")
GESTATION_MIN_WEEKS = 12
"""'35 weeks' with no 'for' or 'old' is a gestation from this many weeks: nobody counts a symptom's
days in dozens of weeks."""


def gestation_weeks(text: str) -> int | None:
    """Weeks of pregnancy written as a bare '35 weeks' or '35 weeks pregnant', if any."""
    if not _DIGIT.search(text):
        return None
    weeks = [int(m.group(1)) for m in _WEEKS_ALONE.finditer(text.lower())]
    weeks = [w for w in weeks if GESTATION_MIN_WEEKS <= w <= 43]
    return max(weeks) if weeks else None


def tablets_taken(text: str) -> int | None:
    """The number of tablets or pills someone took at once ('took 20 paracetamol'), if written."""
    if not _DIGIT.search(text):
        return None
    counts = [int(m.group(1)) for m in _TABLETS.finditer(text.lower())]
    return max(counts) if counts else None


def _without_ages(lowered: str) -> str:
    lowered = _without_gestation(lowered)
    for pattern in (*_AGE_PATTERNS, _JUST_TURNED, _IS_WEEKS, _CHILD_WEEKS):
        lowered = pattern.sub(" ", lowered)
    return lowered


def _without_gestation(lowered: str) -> str:
    """'35 weeks' in a text about a pregnancy is a gestation: neither an age nor a duration."""
    return _GESTATION.sub(" ", lowered) if _PREGNANCY.search(lowered) else lowered


def _number(raw: str) -> float | None:
    raw = raw.strip()
    if raw in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[raw])
    try:
        return float(raw.replace(",", "."))
    except ValueError:
        return None


def _to_months(value: float, unit: str) -> float:
    if unit.startswith(("w",)):
        return value * 7 / DAYS_PER_MONTH
    if unit.startswith("d"):
        return value / DAYS_PER_MONTH
    if unit.startswith("m"):
        return value
    return value * 12
