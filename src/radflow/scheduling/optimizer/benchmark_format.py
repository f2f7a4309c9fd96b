"""The scheduling benchmark's JSON format (../shared/bench/schedule/FORMAT.md) to and from a snapshot.

Instances speak local wall-clock minutes ("YYYY-MM-DDTHH:MM", daylight saving ignored, FORMAT §1);
minute 0 is 00:00 of the horizon's first day. Here weekday hours and blocked time are resolved
into per-day usable periods, so the engine sees only minutes. Every defect of an instance is
reported as one `ValidationError` listing what is wrong and where.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from radflow.domain.errors import ValidationError
from radflow.scheduling.optimizer.snapshot import (
    ON_TIME_WEIGHT,
    PRIORITIES,
    ExamProtocol,
    FixedBooking,
    Interval,
    OrderToSchedule,
    Plan,
    Priority,
    ScannerCapacity,
    Snapshot,
)

INSTANCE_FORMAT = "radflow-schedule-instance/1"
PLAN_FORMAT = "radflow-schedule-plan/1"
MODALITIES = ("CT", "MR", "US", "MG", "XR", "NM")
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
DAY = 1440
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_CLOCK_TIME = re.compile(r"[0-9]{2}:[0-9]{2}\Z")
_MAX_LISTED_ERRORS = 10


@dataclass(frozen=True, slots=True)
class BenchmarkCalendar:
    """Maps the format's local datetimes to minutes since 00:00 of the horizon's first day."""

    horizon_start: date

    def minutes(self, text: object) -> int:
        """Minutes since the horizon start; ValueError when `text` is not YYYY-MM-DDTHH:MM."""
        if not isinstance(text, str) or not _DATETIME.match(text):
            raise ValueError(f"{text!r} is not a YYYY-MM-DDTHH:MM datetime")
        day = date.fromisoformat(text[:10]).toordinal() - self.horizon_start.toordinal()
        hours, minutes = int(text[11:13]), int(text[14:16])
        if hours > 23 or minutes > 59:
            raise ValueError(f"{text!r} is not a time of day")
        return day * DAY + hours * 60 + minutes

    def iso(self, minutes: int) -> str:
        """The format's datetime for a minute (inverse of `minutes`)."""
        day, minute = divmod(minutes, DAY)
        when = self.horizon_start + timedelta(days=day)
        return f"{when.isoformat()}T{minute // 60:02d}:{minute % 60:02d}"


class _Problems:
    """Collects what is wrong with an instance, to report it all at once."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        """Record one defect."""
        self.messages.append(message)

    def raise_if_any(self) -> None:
        """Raise one ValidationError naming the first defects."""
        if self.messages:
            shown = "; ".join(self.messages[:_MAX_LISTED_ERRORS])
            more = len(self.messages) - _MAX_LISTED_ERRORS
            tail = f" (and {more} more)" if more > 0 else ""
            raise ValidationError(f"the instance is not valid: {shown}{tail}")


def _clock_time(text: object, *, allow_midnight_end: bool) -> int:
    if not isinstance(text, str) or not _CLOCK_TIME.match(text):
        raise ValueError(f"{text!r} is not HH:MM")
    hours, minutes = int(text[:2]), int(text[3:])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_midnight_end)):
        raise ValueError(f"{text!r} is not a time of day")
    return hours * 60 + minutes


def _pair(raw: object, calendar: BenchmarkCalendar) -> Interval:
    if not isinstance(raw, list) or len(raw) != 2:
        raise ValueError(f"{raw!r} is not a [start, end] pair")
    start, end = calendar.minutes(raw[0]), calendar.minutes(raw[1])
    if start >= end:
        raise ValueError(f"{raw!r} is empty (start must be before end)")
    return start, end


def _windows(raw: object, calendar: BenchmarkCalendar, where: str, problems: _Problems) -> tuple[Interval, ...]:
    """Parse a sorted, disjoint, non-adjacent window list (FORMAT §2 guarantees)."""
    if not isinstance(raw, list) or not raw:
        problems.add(f"{where}: expected a non-empty list of [start, end] windows")
        return ()
    windows: list[Interval] = []
    for item in raw:
        try:
            window = _pair(item, calendar)
        except ValueError as error:
            problems.add(f"{where}: {error}")
            return ()
        if windows and window[0] <= windows[-1][1]:
            problems.add(f"{where}: windows must be sorted, disjoint and non-adjacent ({item!r})")
            return ()
        windows.append(window)
    return tuple(windows)


def _merged(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def usable_periods(day_hours: list[Interval | None], blocked: list[Interval]) -> tuple[Interval, ...]:
    """Opening periods minus the union of blocked time, kept per day (never merged over midnight)."""
    cuts = _merged(blocked)
    periods: list[Interval] = []
    for hours in day_hours:
        if hours is None:
            continue
        pieces = [hours]
        for cut_start, cut_end in cuts:
            if cut_end <= hours[0] or cut_start >= hours[1]:
                continue
            pieces = [
                piece
                for start, end in pieces
                for piece in ((start, min(end, cut_start)), (max(start, cut_end), end))
                if piece[0] < piece[1]
            ]
        periods.extend(pieces)
    return tuple(periods)


def _scanner(raw: Any, calendar: BenchmarkCalendar, days: int, problems: _Problems) -> ScannerCapacity | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        problems.add(f"scanner {raw!r}: needs a string id")
        return None
    where = f"scanner {raw['id']}"
    site, modality, capabilities = raw.get("site"), raw.get("modality"), raw.get("capabilities")
    if not isinstance(site, str):
        problems.add(f"{where}: site must be a string")
    if modality not in MODALITIES:
        problems.add(f"{where}: modality must be one of {', '.join(MODALITIES)}")
    if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
        problems.add(f"{where}: capabilities must be a list of strings")
        capabilities = []
    hours = raw.get("hours")
    weekly: dict[int, Interval] = {}
    if not isinstance(hours, dict) or not set(hours) <= set(WEEKDAY_KEYS):
        problems.add(f"{where}: hours must map weekdays ({', '.join(WEEKDAY_KEYS)}) to [open, close]")
        hours = {}
    for key, span in hours.items():
        try:
            if not isinstance(span, list) or len(span) != 2:
                raise ValueError(f"{span!r} is not [open, close]")
            opening = _clock_time(span[0], allow_midnight_end=False)
            closing = _clock_time(span[1], allow_midnight_end=True)
            if opening >= closing:
                raise ValueError("opening must be before closing")
            weekly[WEEKDAY_KEYS.index(key)] = (opening, closing)
        except ValueError as error:
            problems.add(f"{where}: hours.{key}: {error}")
    blocked: list[Interval] = []
    raw_blocked = raw.get("blocked", [])
    for item in raw_blocked if isinstance(raw_blocked, list) else [None]:
        try:
            blocked.append(_pair(item, calendar))
        except ValueError as error:
            problems.add(f"{where}: blocked: {error}")
    day_hours: list[Interval | None] = []
    for day in range(days):
        span = weekly.get((calendar.horizon_start + timedelta(days=day)).weekday())
        day_hours.append(None if span is None else (day * DAY + span[0], day * DAY + span[1]))
    return ScannerCapacity(
        scanner_id=raw["id"],
        site=site if isinstance(site, str) else "",
        modality=str(modality),
        capabilities=frozenset(capabilities),
        usable=usable_periods(day_hours, blocked),
        opening=tuple(hours for hours in day_hours if hours is not None),
    )


def _protocol(raw: Any, problems: _Problems) -> ExamProtocol | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("code"), str):
        problems.add(f"protocol {raw!r}: needs a string code")
        return None
    where = f"protocol {raw['code']}"
    minutes, contrast, requires = raw.get("minutes"), raw.get("contrast"), raw.get("requires")
    if raw.get("modality") not in MODALITIES:
        problems.add(f"{where}: modality must be one of {', '.join(MODALITIES)}")
    if type(minutes) is not int or not 0 < minutes <= DAY:
        problems.add(f"{where}: minutes must be a whole number from 1 to 1440")
        minutes = 1
    if type(contrast) is not bool:
        problems.add(f"{where}: contrast must be true or false")
    if not isinstance(requires, list) or not all(isinstance(c, str) for c in requires):
        problems.add(f"{where}: requires must be a list of strings")
        requires = []
    return ExamProtocol(raw["code"], str(raw.get("modality")), frozenset(requires), minutes, contrast is True)


def _order(
    raw: Any, calendar: BenchmarkCalendar, protocols: Mapping[str, ExamProtocol], problems: _Problems
) -> OrderToSchedule | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        problems.add(f"order {raw!r}: needs a string id")
        return None
    where = f"order {raw['id']}"
    patient, protocol, priority = raw.get("patient"), raw.get("protocol"), raw.get("priority")
    failures = len(problems.messages)
    if not isinstance(patient, str):
        problems.add(f"{where}: patient must be a string")
    if protocol not in protocols:
        problems.add(f"{where}: protocol {protocol!r} is not among the instance's protocols")
    if priority not in PRIORITIES:
        problems.add(f"{where}: priority must be one of {', '.join(PRIORITIES)}")
    try:
        release, due = calendar.minutes(raw.get("release")), calendar.minutes(raw.get("due"))
        if release >= due:
            problems.add(f"{where}: release must be before due")
    except ValueError as error:
        problems.add(f"{where}: {error}")
    availability = None
    if raw.get("availability") is not None:
        availability = _windows(raw["availability"], calendar, f"{where} availability", problems)
    if len(problems.messages) > failures:
        return None
    level = cast(Priority, priority)
    return OrderToSchedule(
        order_id=raw["id"],
        patient_id=cast(str, patient),
        protocol=cast(str, protocol),
        priority=level,
        weight=ON_TIME_WEIGHT[level],
        release=release,
        due=due,
        availability=availability,
    )


def _list(obj: Mapping[str, Any], key: str, problems: _Problems) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        problems.add(f"{key} must be a list")
        return []
    return value


def _unique[T](items: list[T | None], key: Callable[[T], str], what: str, problems: _Problems) -> list[T]:
    seen: set[str] = set()
    kept: list[T] = []
    for item in items:
        if item is None:
            continue
        if key(item) in seen:
            problems.add(f"{what} {key(item)} appears twice")
            continue
        seen.add(key(item))
        kept.append(item)
    return kept


def read_instance(obj: object) -> tuple[Snapshot, BenchmarkCalendar]:
    """Build a snapshot from a parsed instance; ValidationError lists every defect found."""
    problems = _Problems()
    if not isinstance(obj, dict):
        raise ValidationError("the instance must be a JSON object")
    if obj.get("format") != INSTANCE_FORMAT:
        problems.add(f"format must be {INSTANCE_FORMAT!r}")
    horizon = obj.get("horizon")
    if (
        not isinstance(horizon, dict)
        or not isinstance(horizon.get("start"), str)
        or not _DATE.match(horizon["start"])
        or type(horizon.get("days")) is not int
        or horizon["days"] < 1
    ):
        problems.add('horizon must be {"start": "YYYY-MM-DD", "days": a whole number >= 1}')
        problems.raise_if_any()
    assert isinstance(horizon, dict)
    try:
        calendar = BenchmarkCalendar(date.fromisoformat(horizon["start"]))
    except ValueError:
        raise ValidationError(f"horizon.start {horizon['start']!r} is not a calendar date") from None
    days: int = horizon["days"]
    grid = obj.get("granularity_minutes")
    if type(grid) is not int or grid < 1 or DAY % grid:
        problems.add("granularity_minutes must be a whole number dividing 1440")
        grid = 5
    scanners = _unique(
        [_scanner(s, calendar, days, problems) for s in _list(obj, "scanners", problems)],
        lambda s: s.scanner_id,
        "scanner",
        problems,
    )
    if not scanners:
        problems.add("scanners must not be empty")
    supervision: dict[str, tuple[Interval, ...]] = {}
    for raw in _list(obj, "supervision", problems):
        if not isinstance(raw, dict) or not isinstance(raw.get("site"), str):
            problems.add(f"supervision {raw!r}: needs a site")
        elif raw["site"] in supervision:
            problems.add(f"supervision for site {raw['site']} appears twice")
        else:
            supervision[raw["site"]] = _windows(raw.get("windows"), calendar, f"supervision {raw['site']}", problems)
    protocol_list = _unique(
        [_protocol(p, problems) for p in _list(obj, "protocols", problems)],
        lambda p: p.code,
        "protocol",
        problems,
    )
    protocols = {p.code: p for p in protocol_list}
    orders = _unique(
        [_order(o, calendar, protocols, problems) for o in _list(obj, "orders", problems)],
        lambda o: o.order_id,
        "order",
        problems,
    )
    fixed = _fixed(obj, calendar, {o.order_id for o in orders}, {s.scanner_id for s in scanners}, problems)
    problems.raise_if_any()
    name = obj.get("name")
    snapshot = Snapshot(
        horizon_end=days * DAY,
        grid_minutes=grid,
        scanners=tuple(scanners),
        supervision=supervision,
        protocols=protocols,
        orders=tuple(orders),
        fixed=tuple(fixed),
        name=name if isinstance(name, str) else "",
    )
    return snapshot, calendar


def _fixed(
    obj: Mapping[str, Any],
    calendar: BenchmarkCalendar,
    order_ids: set[str],
    scanner_ids: set[str],
    problems: _Problems,
) -> list[FixedBooking]:
    bookings: list[FixedBooking] = []
    seen: set[str] = set()
    for raw in _list(obj, "fixed", problems) if "fixed" in obj else []:
        if not isinstance(raw, dict) or raw.get("order") not in order_ids or raw.get("scanner") not in scanner_ids:
            problems.add(f"fixed booking {raw!r}: needs a known order and a known scanner")
            continue
        if raw["order"] in seen:
            problems.add(f"order {raw['order']} has two fixed bookings")
            continue
        try:
            bookings.append(FixedBooking(raw["order"], raw["scanner"], calendar.minutes(raw.get("start"))))
            seen.add(raw["order"])
        except ValueError as error:
            problems.add(f"fixed booking of order {raw['order']}: {error}")
    return bookings


def write_plan(plan: Plan, calendar: BenchmarkCalendar, meta: Mapping[str, object] | None = None) -> dict[str, object]:
    """The format's plan object (FORMAT §3) for a plan in minutes."""
    document: dict[str, object] = {
        "format": PLAN_FORMAT,
        "assignments": [
            {"order": a.order_id, "scanner": a.scanner_id, "start": calendar.iso(a.start)} for a in plan.assignments
        ],
        "unscheduled": list(plan.unscheduled),
    }
    if meta is not None:
        document["meta"] = dict(meta)
    return document
