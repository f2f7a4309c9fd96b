"""FHIR R4 search parameter values: strings, tokens, references and dates with their prefixes.

Follows FHIR R4 search.html: a repeated parameter is AND, a comma inside a value is OR (§3.1.1.3.1);
string matching is case-insensitive starts-with unless `:exact` or `:contains` (§3.1.1.4.8); a date
value stands for the whole period its precision implies, and the prefixes compare that period with
the resource's instant (§3.1.1.4.2); a date without a time zone is read in the center's zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final

_DATE_RE: Final = re.compile(
    r"^(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6}))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


class SearchValueError(ValueError):
    """A search value that cannot be read; the message says what was expected."""


@dataclass(frozen=True)
class Text:
    """A string search value with its matching mode."""

    value: str
    mode: str = "start"  # start | exact | contains


@dataclass(frozen=True)
class Token:
    """A token search value: `system|code`, `|code` (no system) or `code` (any system)."""

    system: str | None
    code: str


@dataclass(frozen=True)
class Span:
    """A half-open period [start, end); None is unbounded."""

    start: datetime | None = None
    end: datetime | None = None

    def narrowed(self, other: Span) -> Span:
        """The intersection of two periods (repeated date parameters are ANDed)."""
        start = max((s for s in (self.start, other.start) if s is not None), default=None)
        end = min((e for e in (self.end, other.end) if e is not None), default=None)
        return Span(start, end)

    def dates(self) -> tuple[date | None, date | None]:
        """The period as calendar dates [start, end) for a date-valued element such as birthDate."""
        start = self.start.date() if self.start else None
        end = self.end.date() if self.end else None
        if self.end is not None and self.end.time() != datetime.min.time():
            end = self.end.date() + timedelta(days=1)
        return start, end


def alternatives(raw: str) -> list[str]:
    """A value's comma-separated alternatives (a backslash escapes a comma, R4 §3.1.1.3.6)."""
    parts = re.split(r"(?<!\\),", raw)
    return [p.replace("\\,", ",") for p in parts if p != ""]


def token(raw: str) -> Token:
    """Read `system|code`, `|code` or `code`."""
    if "|" in raw:
        system, code = raw.split("|", 1)
        return Token(system, code)
    return Token(None, raw)


def reference_value(raw: str, resource_type: str) -> str:
    """The id a reference search value names ('Patient/123', a full URL, or a bare id)."""
    parts = raw.rstrip("/").split("/")
    if len(parts) >= 2:
        if parts[-2] != resource_type:
            raise SearchValueError(f"'{raw}' is not a reference to a {resource_type}")
        return parts[-1]
    return raw


def _period(match: re.Match[str], zone: tzinfo) -> tuple[datetime, datetime]:
    year = int(match["year"])
    if match["month"] is None:
        start = datetime(year, 1, 1, tzinfo=UTC)
        end = datetime(year + 1, 1, 1, tzinfo=UTC)
    elif match["day"] is None:
        month = int(match["month"])
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    elif match["hour"] is None:
        start = datetime(year, int(match["month"]), int(match["day"]), tzinfo=UTC)
        end = start + timedelta(days=1)
    else:
        start = datetime(year, int(match["month"]), int(match["day"]), int(match["hour"]), int(match["minute"]),
                         int(match["second"] or 0), tzinfo=UTC)
        if match["fraction"]:
            digits = match["fraction"]
            start += timedelta(microseconds=int(digits.ljust(6, "0")))
            end = start + timedelta(microseconds=10 ** (6 - len(digits)))
        elif match["second"]:
            end = start + timedelta(seconds=1)
        else:
            end = start + timedelta(minutes=1)
    # The fields above are wall-clock values (built as UTC only to stay aware); place them in their zone.
    if match["zone"] and match["zone"] != "Z":
        sign = 1 if match["zone"][0] == "+" else -1
        hours, minutes = (int(x) for x in match["zone"][1:].split(":"))
        offset = timedelta(hours=hours, minutes=minutes) * sign
        return start - offset, end - offset
    if match["zone"] == "Z":
        return start, end
    return start.replace(tzinfo=zone).astimezone(UTC), end.replace(tzinfo=zone).astimezone(UTC)


def date_span(raw: str, zone: tzinfo) -> Span:
    """The period a prefixed date value selects ('ge2026-03-01', 'lt2026-03-02T10:00:00Z', '2026-03')."""
    match = _DATE_RE.match(raw)
    if match is None:
        raise SearchValueError(f"'{raw}' is not a FHIR date: expected [prefix]YYYY[-MM[-DD[Thh:mm[:ss[.f]][zone]]]]")
    # R4 says a time SHALL carry a zone; one without is read in the center's zone rather than refused.
    try:
        start, end = _period(match, zone)
    except ValueError as wrong:
        raise SearchValueError(f"'{raw}' is not a calendar date: {wrong}") from None
    prefix = match["prefix"] or "eq"
    if prefix == "eq":
        return Span(start, end)
    if prefix in ("lt", "eb"):
        return Span(None, start)
    if prefix == "le":
        return Span(None, end)
    if prefix in ("gt", "sa"):
        return Span(end, None)
    if prefix == "ge":
        return Span(start, None)
    raise SearchValueError(f"the date prefix '{prefix}' is not supported; use eq, lt, le, gt, ge, sa or eb")
