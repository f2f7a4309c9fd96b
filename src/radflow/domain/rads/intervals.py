"""Interval phrases in report text ("in 6 months", "3-6 months", "annually", "in 48 hours") -> days.

The normalisation is the one used everywhere in radflow: day 1, week 7, month 365.25/12, year
365.25, rounded half up; a range gives its lower bound (the earliest due date) and its upper bound.
A calendar phrase ("in March 2027") is kept as text and resolved to days only against a reference
date. Ages ("35 years old") and look-backs ("6 months ago", "3 months prior") are not intervals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

_WORDS = {
    "one": 1, "a": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "eighteen": 18, "twenty-four": 24,
}
_UNIT_DAYS = {
    "hour": Decimal(1) / Decimal(24),
    "day": Decimal(1),
    "week": Decimal(7),
    "month": Decimal("365.25") / Decimal(12),
    "year": Decimal("365.25"),
}
_NUMBER = r"(?:\d+(?:\.\d+)?|" + "|".join(sorted((w for w in _WORDS if w != "a"), key=len, reverse=True)) + ")"
_UNIT = r"(?P<unit>hours?|hrs?|days?|weeks?|wks?|months?|mos?|years?|yrs?)"
_NOT_AN_INTERVAL = r"(?![-\s]*(?:old|ago|prior|earlier|before|previously)\b)"
_RANGE = re.compile(
    rf"\b(?P<low>{_NUMBER})(?:\s*(?:-|–|to)\s*(?P<high>{_NUMBER}))?[-\s]{_UNIT}\b{_NOT_AN_INTERVAL}",
    re.IGNORECASE,
)
_EVERY = re.compile(r"\b(?P<word>annual(?:ly)?|yearly|every\s+year|one[-\s]year)\b", re.IGNORECASE)
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")
_CALENDAR = re.compile(
    r"\b(?:in|on|by|during)\s+(?P<month>" + "|".join(m.title() for m in _MONTHS) + r")(?:\s+(?P<year>\d{4}))?\b"
)


@dataclass(frozen=True)
class IntervalPhrase:
    """An interval found in text: the phrase, where it is, and its days (None for an unresolved date)."""

    phrase: str
    start: int
    end: int
    days: int | None
    days_max: int | None


def _number(text: str) -> Decimal:
    word = text.lower()
    return Decimal(_WORDS[word]) if word in _WORDS else Decimal(text)


def _unit(text: str) -> str:
    word = text.lower()
    if word.startswith("h"):
        return "hour"
    if word.startswith("d"):
        return "day"
    if word.startswith("w"):
        return "week"
    return "month" if word.startswith("mo") else "year"


def to_days(amount: Decimal, unit: str) -> int:
    """Whole days for an amount of a unit, rounded half up (6 months -> 183, 4 hours -> 0)."""
    return int((amount * _UNIT_DAYS[unit]).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _calendar_days(month: str, year: str | None, reference: date | None) -> int | None:
    if reference is None:
        return None
    number = _MONTHS.index(month.lower()) + 1
    target_year = int(year) if year else reference.year + (1 if number < reference.month else 0)
    return (date(target_year, number, 1) - reference).days


def find_intervals(text: str, reference: date | None = None) -> list[IntervalPhrase]:
    """Every interval phrase in `text`, in order of appearance."""
    found: list[IntervalPhrase] = []
    for match in _RANGE.finditer(text):
        unit = _unit(match["unit"])
        low = to_days(_number(match["low"]), unit)
        high = to_days(_number(match["high"]), unit) if match["high"] else low
        found.append(IntervalPhrase(match.group(0), match.start(), match.end(), min(low, high), max(low, high)))
    for match in _EVERY.finditer(text):
        if not any(item.start <= match.start() < item.end for item in found):
            found.append(IntervalPhrase(match.group(0), match.start(), match.end(), 365, 365))
    for match in _CALENDAR.finditer(text):
        days = _calendar_days(match["month"], match["year"], reference)
        found.append(IntervalPhrase(match.group(0), match.start(), match.end(), days, days))
    return sorted(found, key=lambda item: item.start)
