"""C-FIND attribute matching (DICOM PS3.4 C.2.2.2) on values in their DICOM string form.

Pure functions and no protocol library: a query key's value is compiled once into a
predicate (`compile_matcher`), which then tests an entity's value. Malformed keys raise
`ValidationError` at compile time, so the SCP can answer 0xA900 before touching the
worklist. The matching types:

- universal matching (C.2.2.2.3): an empty value, or one of only '*' (C.2.2.2.4);
- single value matching (C.2.2.2.1): exact and case-sensitive, except PN, which radflow
  matches case-insensitively (the standard leaves PN case to the SCP; stated in
  docs/dicom-conformance.md); leading and trailing spaces are not significant;
- wild card matching (C.2.2.2.4): '*' any run of characters, '?' one character, for the
  text VRs only (AE, CS, LO, LT, PN, SH, ST, UC, UR, UT);
- list of UID matching (C.2.2.2.2): a backslash-separated list of UIDs;
- range matching (C.2.2.2.5) for DA, TM and DT: 'a-b', '-b' (up to and including b),
  'a-' (from a on); a value given with reduced precision covers its whole interval
  ('07' is 07:00:00 to 07:59:59.999999);
- sequence matching (C.2.2.2.6) is done one level up, in `radflow.adapters.dicom.query`.

An entity value with several values (backslash-separated) matches when any of them does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache

from radflow.domain.errors import ValidationError

EntityValue = str | int | float | None
Matcher = Callable[[EntityValue], bool]

WILDCARD_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
NUMERIC_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "IS", "DS"})
RANGE_VRS = frozenset({"DA", "TM", "DT"})
# PS3.5 6.2: leading spaces are significant in these text VRs; trailing ones never are.
_LEADING_SPACE_SIGNIFICANT = frozenset({"LT", "ST", "UT"})
_END_OF_DAY = time(23, 59, 59, 999999)


def is_universal(query: str) -> bool:
    """Tell whether a key's value asks for universal matching (PS3.4 C.2.2.2.3, C.2.2.2.4)."""
    stripped = query.strip()
    return stripped == "" or set(stripped) == {"*"}


def compile_matcher(vr: str, query: str, *, zone: tzinfo = UTC, keyword: str = "") -> Matcher:
    """Compile a key's value into a predicate over an entity's value of the same attribute."""
    if is_universal(query):
        return _always
    if vr == "UI":
        return _uid_list_matcher(query, keyword)
    if vr == "DA":
        lo_d, hi_d = parse_date_range(query, keyword=keyword)
        return lambda value: _in_range(_entity_date(value), lo_d, hi_d)
    if vr == "TM":
        lo_t, hi_t = parse_time_range(query, keyword=keyword)
        return lambda value: _time_in_range(_entity_time(value), lo_t, hi_t)
    if vr == "DT":
        lo_dt, hi_dt = parse_datetime_range(query, zone, keyword=keyword)
        return lambda value: _in_range(_entity_datetime(value, zone), lo_dt, hi_dt)
    if vr in NUMERIC_VRS:
        return _number_matcher(query, keyword)
    if vr == "PN":
        return _person_name_matcher(query)
    if vr in WILDCARD_VRS:
        return _text_matcher(query, vr)
    raise _invalid(keyword, "a key", f"matching on an attribute of VR {vr} is not supported")


def _invalid(keyword: str, what: str, problem: str) -> ValidationError:
    """An error that names the key (or what kind of key) and what is wrong with its value."""
    return ValidationError(f"{keyword or what}: {problem}", field=keyword or None)


def _always(value: EntityValue) -> bool:
    return True


def _values(value: EntityValue, vr: str = "LO") -> list[str]:
    if value is None:
        return []
    text = str(value)
    parts = text.split("\\") if text else []
    if vr in _LEADING_SPACE_SIGNIFICANT:
        return [p.rstrip(" ") for p in parts]
    return [p.strip(" ") for p in parts]


# -- text, wild cards, person names ---------------------------------------------------


@lru_cache(maxsize=1024)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # PS3.4 C.2.2.2.4: '*' matches any sequence of characters (including none), '?' one.
    parts = [".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _text_matcher(query: str, vr: str) -> Matcher:
    patterns = [_wildcard_regex(q, False) for q in _values(query, vr)]

    def match(value: EntityValue) -> bool:
        return any(p.fullmatch(v) for v in _values(value, vr) for p in patterns)

    return match


def _normalize_name_group(group: str) -> str:
    components = [c.strip(" ") for c in group.split("^")]
    while components and not components[-1]:
        components.pop()
    return "^".join(components)


def _person_name_matcher(query: str) -> Matcher:
    # Each of the query's component groups (alphabetic=ideographic=phonetic, PS3.5 6.2.1)
    # is matched against the same group of the entity's name; a universal group matches all.
    alternatives: list[list[tuple[int, re.Pattern[str]]]] = []
    for one_query in _values(query, "PN"):
        groups = one_query.split("=")
        compiled = [
            (index, _wildcard_regex(_normalize_name_group(group).casefold(), True))
            for index, group in enumerate(groups)
            if not is_universal(group)
        ]
        alternatives.append(compiled)

    def group_matches(pattern: re.Pattern[str], group: str) -> bool:
        normalized = _normalize_name_group(group)
        # Also try the name padded to all five components, so 'SMITH^*' finds 'SMITH'.
        padded = normalized + "^" * (4 - normalized.count("^"))
        return bool(pattern.fullmatch(normalized) or pattern.fullmatch(padded))

    def match(value: EntityValue) -> bool:
        for name in _values(value, "PN"):
            groups = [*name.split("="), "", ""]
            for compiled in alternatives:
                if all(group_matches(pattern, groups[index]) for index, pattern in compiled):
                    return True
        return False

    return match


# -- UIDs and numbers ---------------------------------------------------------------


def _uid_list_matcher(query: str, keyword: str) -> Matcher:
    # PS3.4 C.2.2.2.2: a list of UIDs matches an entity whose UID is any of them; wild
    # cards are not allowed in UIDs.
    uids = {u.strip(" \0") for u in query.split("\\") if u.strip(" \0")}
    if any("*" in u or "?" in u for u in uids):
        raise _invalid(keyword, "a UID key", "wild cards are not allowed in UIDs")

    def match(value: EntityValue) -> bool:
        return value is not None and str(value).strip(" \0") in uids

    return match


def _number_matcher(query: str, keyword: str) -> Matcher:
    try:
        wanted = {float(v) for v in _values(query)}
    except ValueError:
        raise _invalid(keyword, "a numeric key", f"{query!r} is not a number") from None

    def match(value: EntityValue) -> bool:
        try:
            return any(float(v) in wanted for v in _values(value))
        except ValueError:
            return False

    return match


# -- dates, times, date-times ---------------------------------------------------------


def _split_range(query: str, keyword: str) -> tuple[str, str, bool]:
    text = query.strip()
    if "*" in text or "?" in text:
        raise _invalid(keyword, "a date/time key", f"wild cards are not allowed in {text!r}")
    if text.count("-") > 1 or text == "-":
        raise _invalid(keyword, "a date/time key", f"{text!r} is not a value or a range")
    if "-" in text:
        lo, hi = text.split("-")
        return lo.strip(), hi.strip(), True
    return text, text, False


def parse_date(text: str, *, keyword: str = "") -> date:
    """Read a DA value (YYYYMMDD, PS3.5 6.2)."""
    if len(text) != 8 or not text.isdigit():
        raise _invalid(keyword, "date", f"{text!r} is not a DICOM date (YYYYMMDD)")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise _invalid(keyword, "date", f"{text!r} is not a calendar date") from None


def parse_date_range(query: str, *, keyword: str = "") -> tuple[date | None, date | None]:
    """Read a DA key: a date, 'a-b', '-b' or 'a-' (PS3.4 C.2.2.2.5); None is an open end."""
    lo, hi, _ = _split_range(query, keyword)
    return (parse_date(lo, keyword=keyword) if lo else None, parse_date(hi, keyword=keyword) if hi else None)


def _time_bounds(text: str, keyword: str) -> tuple[time, time]:
    """The earliest and latest instants a TM value with its precision stands for (PS3.5 6.2)."""
    text = text.replace(":", "")  # the retired ACR-NEMA form HH:MM:SS
    whole, _, fraction = text.partition(".")
    bad_fraction = bool(fraction) and (not fraction.isdigit() or len(fraction) > 6)
    if not whole.isdigit() or len(whole) not in (2, 4, 6) or bad_fraction:
        raise _invalid(keyword, "time", f"{text!r} is not a DICOM time (HHMMSS.FFFFFF)")
    hour, minute, second = int(whole[:2]), int(whole[2:4] or 0), int(whole[4:6] or 0)
    if hour > 23 or minute > 59 or second > 60:
        raise _invalid(keyword, "time", f"{text!r} is out of range")
    second = min(second, 59)  # a leap second is held as :59
    micro = int(fraction.ljust(6, "0")) if fraction else 0
    lo = time(hour, minute, second, micro)
    if fraction:
        hi = time(hour, minute, second, micro + 10 ** (6 - len(fraction)) - 1)
    elif len(whole) == 6:
        hi = time(hour, minute, second, 999999)
    elif len(whole) == 4:
        hi = time(hour, minute, 59, 999999)
    else:
        hi = time(hour, 59, 59, 999999)
    return lo, hi


def parse_time(text: str, *, keyword: str = "") -> time:
    """Read a TM value as the earliest instant it stands for."""
    return _time_bounds(text, keyword)[0]


def parse_time_range(query: str, *, keyword: str = "") -> tuple[time | None, time | None]:
    """Read a TM key: a time, 'a-b', '-b' or 'a-'; None is an open end.

    A single value covers its precision ('0730' is 07:30:00-07:30:59.999999). A range
    whose start is later than its end spans midnight (radflow's reading; documented).
    """
    lo, hi, _ = _split_range(query, keyword)
    return (_time_bounds(lo, keyword)[0] if lo else None, _time_bounds(hi, keyword)[1] if hi else None)


_DT = r"\d{4}(?:\d{2}){0,5}(?:\.\d{1,6})?(?:[+-]\d{4})?"
_DT_RE = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$")
_DT_SINGLE_RE = re.compile(rf"^{_DT}$")
# A negative UTC offset ('-0500') also uses '-': a value that reads as one date-time is one.
_DT_RANGE_RE = re.compile(rf"^({_DT})?-({_DT})?$")


def _datetime_bounds(text: str, zone: tzinfo, keyword: str) -> tuple[datetime, datetime]:
    """Earliest and latest instants of a DT value (PS3.5 6.2); no offset means `zone`."""
    found = _DT_RE.match(text)
    if not found:
        raise _invalid(keyword, "date-time", f"{text!r} is not a DICOM date-time")
    year, month, day, hour, minute, second, fraction, offset = found.groups()
    tz: tzinfo = zone
    if offset:
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    try:
        lo = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            min(int(second or 0), 59),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:
        raise _invalid(keyword, "date-time", f"{text!r} is out of range") from None
    if fraction:
        hi = lo + timedelta(microseconds=10 ** (6 - len(fraction)) - 1)
    elif second:
        hi = lo + timedelta(seconds=1, microseconds=-1)
    elif minute:
        hi = lo + timedelta(minutes=1, microseconds=-1)
    elif hour:
        hi = lo + timedelta(hours=1, microseconds=-1)
    elif day:
        hi = lo + timedelta(days=1, microseconds=-1)
    elif month:
        next_month = date(lo.year + lo.month // 12, lo.month % 12 + 1, 1)
        hi = datetime.combine(next_month, time(), tz) - timedelta(microseconds=1)
    else:
        hi = datetime(lo.year + 1, 1, 1, tzinfo=tz) - timedelta(microseconds=1)
    return lo, hi


def parse_datetime_range(query: str, zone: tzinfo, *, keyword: str = "") -> tuple[datetime | None, datetime | None]:
    """Read a DT key: a date-time, 'a-b', '-b' or 'a-', as aware instants; None is an open end."""
    text = query.strip()
    if "*" in text or "?" in text:
        raise _invalid(keyword, "a date-time key", f"wild cards are not allowed in {text!r}")
    if _DT_SINGLE_RE.match(text):
        return _datetime_bounds(text, zone, keyword)
    found = _DT_RANGE_RE.match(text)
    if not found or text == "-":
        raise _invalid(keyword, "a date-time key", f"{text!r} is not a value or a range")
    lo, hi = found.groups()
    return (
        _datetime_bounds(lo, zone, keyword)[0] if lo else None,
        _datetime_bounds(hi, zone, keyword)[1] if hi else None,
    )


def _in_range[T: (date, datetime)](value: T | None, lo: T | None, hi: T | None) -> bool:
    if value is None:
        return False
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def _time_in_range(value: time | None, lo: time | None, hi: time | None) -> bool:
    if value is None:
        return False
    if lo is not None and hi is not None and lo > hi:
        return value >= lo or value <= hi  # spans midnight
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def _entity_date(value: EntityValue) -> date | None:
    try:
        return parse_date(str(value).strip()) if value else None
    except ValidationError:
        return None


def _entity_time(value: EntityValue) -> time | None:
    try:
        return parse_time(str(value).strip()) if value else None
    except ValidationError:
        return None


def _entity_datetime(value: EntityValue, zone: tzinfo) -> datetime | None:
    try:
        return _datetime_bounds(str(value).strip(), zone, "")[0] if value else None
    except ValidationError:
        return None


def combined_datetime_range(
    date_query: str, time_query: str, zone: tzinfo, *, keyword: str = ""
) -> tuple[datetime | None, datetime | None]:
    """Read a Date key and a Time key as one date-time range (PS3.4 C.2.2.2.5, combined matching).

    '20260204-20260205' with '1800-0600' is 2026-02-04 18:00 to 2026-02-05 06:59:59.999999
    in `zone`; an open date end stays open.
    """
    lo_d, hi_d = parse_date_range(date_query, keyword=keyword)
    lo_t, hi_t = (None, None) if is_universal(time_query) else parse_time_range(time_query, keyword=keyword)
    lo = datetime.combine(lo_d, lo_t or time(), zone) if lo_d else None
    hi = datetime.combine(hi_d, hi_t or _END_OF_DAY, zone) if hi_d else None
    return lo, hi
