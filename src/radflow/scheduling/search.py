"""Slot search for one exam: the start minutes every rule allows, and the best few options.

A start is allowed on a scanner when the scanner can do the exam (modality, capabilities, table
weight), the whole slot lies inside one open, staffed period outside closures and blocks reserved
for others, the lane is free, a radiologist is on site for supervised contrast, the patient is
available, the tracer uptake wait fits inside opening hours, a fasting exam starts early enough,
the patient is not busy (with 60 minutes between sites, as FORMAT §4 rule 9), and no sequencing
need with the patient's other exams is broken. Each rule is one named step, so a refused start
can say which rule refused it.

Options are ranked: on time before past the track's target (ranked last, never hidden), the
patient's preferences, then the earliest start; one per scanner and day, so that a scheduler sees
real alternatives rather than five starts five minutes apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from radflow.domain.capacity.calendar import ScannerCalendar, Timeline, local_instant
from radflow.domain.capacity.intervals import Interval, intersect, merged, subtract
from radflow.scheduling.exams import ExamNeed, PatientExam
from radflow.scheduling.sequencing import LocalDays, forbidden_starts

DEFAULT_SITE_GAP = 60  # FORMAT §4 rule 9: exams of one patient on two sites are an hour apart


@dataclass(frozen=True)
class CapacityPicture:
    """Capacity and bookings on one minute line, for one search or one batch of searches."""

    line: Timeline
    grid: int
    now: int
    calendars: Mapping[str, ScannerCalendar]
    supervision: Mapping[str, list[Interval]]  # site id -> windows
    occupied: Mapping[str, list[Interval]]  # scanner id -> booked lane-0 time (merged)

    def days(self, zone: ZoneInfo) -> LocalDays:
        """Local midnights of `zone` on this line."""
        return ZoneDays(self.line, zone)


@dataclass(frozen=True)
class PatientPicture:
    """The patient's other exams, availability windows and preferences."""

    exams: tuple[PatientExam, ...] = ()
    availability: tuple[Interval, ...] | None = None  # None: any time
    preferred_sites: frozenset[str] = frozenset()
    part_of_day: str = ""  # "", "morning" or "afternoon"
    site_gap: int = DEFAULT_SITE_GAP


@dataclass(frozen=True)
class SlotOption:
    """One bookable slot for an exam."""

    order_id: str
    scanner_id: str
    site_id: str
    start: int
    end: int
    patient_from: int
    past_target: bool
    preferred: bool


class ZoneDays:
    """Local midnights of one zone on a minute line."""

    def __init__(self, line: Timeline, zone: ZoneInfo) -> None:
        self.line = line
        self.zone = zone

    def start_of(self, minute: int) -> int:
        """The local midnight at or before `minute`."""
        day, _ = self.line.local_minute_of_day(minute, self.zone)
        return self.line.minute(local_instant(day, 0, self.zone))

    def next_start(self, minute: int) -> int:
        """The first local midnight after `minute`."""
        day, _ = self.line.local_minute_of_day(minute, self.zone)
        return self.line.minute(local_instant(day, 1440, self.zone))


def to_starts(pieces: Iterable[Interval], minutes: int) -> list[Interval]:
    """Start ranges [a, b - minutes + 1) of the pieces long enough for the slot."""
    return [(a, b - minutes + 1) for a, b in pieces if b - a >= minutes]


def _capable(need: ExamNeed, calendar: ScannerCalendar) -> bool:
    scanner = calendar.scanner
    return need.kind.protocol.can_be_performed_on(scanner.modality) and scanner.can_take(need.requires,
                                                                                         need.weight_kg)


Step = tuple[str, Callable[[list[Interval]], list[Interval]]]


def _steps(need: ExamNeed, calendar: ScannerCalendar, picture: CapacityPicture, patient: PatientPicture,
           within: Interval | None) -> list[Step]:
    """The rules in the order they are applied, each narrowing the allowed start ranges."""
    minutes, uptake = need.minutes, need.uptake
    site = calendar.site
    days = picture.days(site.zone)
    usable = calendar.usable_for(track=need.track, protocol_code=need.kind.protocol.code, now=picture.now)
    free = subtract(usable, picture.occupied.get(calendar.scanner.id, ()))
    # The patient's part (a tracer injection first) cannot begin before now.
    low = max(picture.now + uptake, need.not_before, within[0] if within else 0)
    high = min(picture.line.length, within[1] if within else picture.line.length)
    steps: list[Step] = [
        ("the scanner is closed, unstaffed, down or reserved for other exams then",
         lambda _: to_starts(usable, minutes)),
        ("the scanner is already booked then", lambda r: intersect(r, to_starts(free, minutes))),
    ]
    if need.supervised:
        supervised = intersect(free, picture.supervision.get(site.id, []))
        steps.append(("no radiologist is on site to supervise the contrast then",
                      lambda r: intersect(r, to_starts(supervised, minutes))))
    if uptake:
        steps.append((f"the {uptake}-minute tracer uptake wait would start before the scanner opens",
                      lambda r: intersect(r, [(o + uptake, c) for o, c in calendar.opening])))
    if patient.availability is not None:
        available = [(a + uptake, b - minutes + 1) for a, b in patient.availability if b - a >= minutes + uptake]
        steps.append(("the patient is not available then", lambda r: intersect(r, available)))
    latest = need.kind.latest_start
    if latest is not None:
        steps.append(("the exam must start early in the day (fasting)",
                      lambda r: intersect(r, _early_starts(picture.line, site.zone, latest, uptake))))
    busy = [e for e in patient.exams if not e.done]
    steps.append(("the patient has another exam then (an hour apart between sites)",
                  lambda r: subtract(r, _patient_busy(busy, site.id, minutes, uptake, patient.site_gap))))
    steps.append(("it would break a sequencing rule with the patient's other exams",
                  lambda r: subtract(r, forbidden_starts(need.kind, minutes, uptake, patient.exams, days))))
    steps.append(("it is in the past or outside the search window", lambda r: intersect(r, [(low, high)])))
    return steps


def _early_starts(line: Timeline, zone: ZoneInfo, latest: int, uptake: int) -> list[Interval]:
    """Starts whose patient time begins no later than `latest` (local wall clock) on each day."""
    out = []
    for day in line.local_dates(zone):
        out.append((line.minute(local_instant(day, 0, zone)), line.minute(local_instant(day, latest, zone))
                    + uptake + 1))
    return merged(out)


def _patient_busy(exams: Sequence[PatientExam], site_id: str, minutes: int, uptake: int,
                  gap: int) -> list[Interval]:
    out = []
    for other in exams:
        margin = 0 if other.site_id == site_id else gap
        out.append((other.patient_from - margin - minutes + 1, other.end + margin + uptake))
    return out


def start_ranges(need: ExamNeed, calendar: ScannerCalendar, picture: CapacityPicture, patient: PatientPicture,
                 *, within: Interval | None = None) -> list[Interval]:
    """Every allowed start of `need` on this scanner, as half-open ranges of minutes (any grid)."""
    if not _capable(need, calendar):
        return []
    ranges: list[Interval] = []
    for _, narrow in _steps(need, calendar, picture, patient, within):
        ranges = narrow(ranges)
        if not ranges:
            break
    return ranges


def first_on_grid(ranges: Iterable[Interval], grid: int) -> list[int]:
    """The first grid minute of each range that has one."""
    out = []
    for low, high in ranges:
        start = -(-low // grid) * grid
        if start < high:
            out.append(start)
    return out


def why_not(need: ExamNeed, calendar: ScannerCalendar, picture: CapacityPicture, patient: PatientPicture,
            start: int) -> str | None:
    """None when `start` is allowed on this scanner; else the first rule that refuses it, in words."""
    scanner = calendar.scanner
    if not _capable(need, calendar):
        return (f"{scanner.name} cannot do {need.kind.protocol.code}: it needs a {need.kind.protocol.modality} "
                f"scanner with {', '.join(sorted(need.requires)) or 'no special capability'}"
                + (f" and a table for {need.weight_kg} kg" if need.weight_kg else ""))
    if start % picture.grid:
        return f"starts are on the {picture.grid}-minute grid"
    ranges: list[Interval] = []
    for reason, narrow in _steps(need, calendar, picture, patient, None):
        ranges = narrow(ranges)
        if not any(low <= start < high for low, high in ranges):
            return reason
    return None


def _part_of_day(picture: CapacityPicture, zone: ZoneInfo, start: int) -> str:
    _, minute = picture.line.local_minute_of_day(start, zone)
    return "morning" if minute < 12 * 60 else "afternoon"


def find_slots(need: ExamNeed, picture: CapacityPicture, patient: PatientPicture, *, limit: int = 5,
               within: Interval | None = None) -> list[SlotOption]:
    """The best `limit` options for one exam, at most one per scanner and local day."""
    best: dict[tuple[str, object], SlotOption] = {}
    for calendar in picture.calendars.values():
        zone = calendar.site.zone
        for start in first_on_grid(start_ranges(need, calendar, picture, patient, within=within), picture.grid):
            option = _option(need, calendar, picture, patient, start)
            day = picture.line.local_minute_of_day(start, zone)[0]
            key = (calendar.scanner.id, day)
            if key not in best or _rank(option) < _rank(best[key]):
                best[key] = option
            if patient.part_of_day:
                later = _preferred_start(need, calendar, picture, patient, start)
                if later is not None:
                    candidate = _option(need, calendar, picture, patient, later)
                    if _rank(candidate) < _rank(best[key]):
                        best[key] = candidate
    return sorted(best.values(), key=_rank)[:limit]


def _preferred_start(need: ExamNeed, calendar: ScannerCalendar, picture: CapacityPicture,
                     patient: PatientPicture, start: int) -> int | None:
    """In the range holding `start`, the first start in the preferred part of the day (afternoon)."""
    if patient.part_of_day != "afternoon":
        return None
    zone = calendar.site.zone
    day, _ = picture.line.local_minute_of_day(start, zone)
    noon = picture.line.minute(local_instant(day, 12 * 60, zone))
    for low, high in start_ranges(need, calendar, picture, patient, within=(noon, noon + 12 * 60)):
        candidates = first_on_grid([(low, high)], picture.grid)
        if candidates:
            return candidates[0]
    return None


def _option(need: ExamNeed, calendar: ScannerCalendar, picture: CapacityPicture, patient: PatientPicture,
            start: int) -> SlotOption:
    site = calendar.site
    preferred = ((not patient.preferred_sites or site.id in patient.preferred_sites)
                 and (not patient.part_of_day or _part_of_day(picture, site.zone, start) == patient.part_of_day))
    return SlotOption(order_id=need.order_id, scanner_id=calendar.scanner.id, site_id=site.id, start=start,
                      end=start + need.minutes, patient_from=start - need.uptake,
                      past_target=start > need.target, preferred=preferred)


def _rank(option: SlotOption) -> tuple[bool, bool, int, str]:
    # A slot past the track's target is offered, but after every on-time slot.
    return (option.past_target, not option.preferred, option.start, option.scanner_id)
