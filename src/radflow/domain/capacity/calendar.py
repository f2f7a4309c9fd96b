"""Weekly calendars resolved into UTC minutes for a window of days, daylight saving included.

A `Timeline` fixes minute 0 at a UTC instant on the 5-minute grid. Local wall-clock periods are
turned into instants with zoneinfo, day by day, so a scanner open 07:00–19:00 in New York is open
11:00–23:00 UTC in summer and 12:00–24:00 UTC in winter, and on the spring-forward day a scanner
open around the clock is open 23 hours. The optimizer's snapshot and the slot search both read
these minutes (DESIGN §2: the snapshot is in integer minutes with daylight saving resolved).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from radflow.domain.capacity.intervals import Interval, clipped, intersect, merged, subtract
from radflow.domain.capacity.model import Closure, ClosureKind, ReservedBlock, Scanner, Site, WeeklyPeriod

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Timeline:
    """Integer minutes since `origin` (a UTC instant): the one line capacity and bookings share."""

    origin: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.origin.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a timeline needs timezone-aware instants")

    @classmethod
    def covering(cls, start: datetime, end: datetime, grid_minutes: int = 5) -> Timeline:
        """A timeline from `start` rounded down to the grid (UTC) to `end`."""
        start = start.astimezone(UTC).replace(second=0, microsecond=0)
        start -= timedelta(minutes=start.minute % grid_minutes)
        return cls(start, end.astimezone(UTC))

    @property
    def length(self) -> int:
        """Minutes from origin to end."""
        return self.minute(self.end)

    def minute(self, moment: datetime) -> int:
        """Minutes from the origin to `moment` (rounded down)."""
        return int((moment - self.origin) // MINUTE)

    def minute_up(self, moment: datetime) -> int:
        """Minutes from the origin to `moment`, rounded up."""
        return -int((self.origin - moment) // MINUTE)

    def instant(self, minute: int) -> datetime:
        """The UTC instant of `minute`."""
        return self.origin + minute * MINUTE

    def local_dates(self, zone: ZoneInfo) -> Iterator[date]:
        """Every local date the timeline touches in `zone`."""
        day = self.origin.astimezone(zone).date()
        last = self.end.astimezone(zone).date()
        while day <= last:
            yield day
            day += timedelta(days=1)

    def local_minute_of_day(self, minute: int, zone: ZoneInfo) -> tuple[date, int]:
        """The local date and the wall-clock minutes since its midnight at `minute`."""
        local = self.instant(minute).astimezone(zone)
        return local.date(), local.hour * 60 + local.minute


def local_instant(day: date, minute_of_day: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `minute_of_day` on `day` in `zone` (1440: next midnight)."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    if minute_of_day >= 1440:
        following = day + timedelta(days=1)
        return datetime(following.year, following.month, following.day, tzinfo=zone).astimezone(UTC)
    # Wall-clock arithmetic on an aware datetime keeps the zone and recomputes the offset.
    return (midnight + timedelta(minutes=minute_of_day)).astimezone(UTC)


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A local day as UTC instants [midnight, next midnight): 23, 24 or 25 hours long."""
    return local_instant(day, 0, zone), local_instant(day, 1440, zone)


def weekly_to_minutes(periods: Sequence[WeeklyPeriod], zone: ZoneInfo, line: Timeline) -> list[Interval]:
    """Each recurring period on each local date of the timeline, as minutes (sorted, clipped)."""
    out: list[Interval] = []
    by_day: dict[int, list[WeeklyPeriod]] = {}
    for period in periods:
        by_day.setdefault(period.weekday, []).append(period)
    for day in line.local_dates(zone):
        for period in sorted(by_day.get(day.weekday(), ()), key=lambda p: p.start):
            start = line.minute(local_instant(day, period.start, zone))
            end = line.minute(local_instant(day, period.end, zone))
            out.append((start, end))
    return clipped(sorted(out), 0, line.length)


def closure_minutes(closures: Iterable[Closure], line: Timeline) -> list[Interval]:
    """Closures as merged minute intervals."""
    return merged((line.minute(c.start), line.minute_up(c.end)) for c in closures)


@dataclass(frozen=True)
class ResolvedBlock:
    """A reserved block on the minute line, with the template it comes from."""

    interval: Interval
    block: ReservedBlock
    released_at: int | None  # minute from which anyone may use it (None: never)


@dataclass(frozen=True)
class ScannerCalendar:
    """One scanner's capacity on the minute line, before bookings are taken out.

    `opening` are its opening periods (touching ones joined); `usable` the staffed, open parts outside closures,
    each inside one opening period; `reserved` the slot-template blocks that lie in `usable`.
    """

    scanner: Scanner
    site: Site
    opening: list[Interval]
    usable: list[Interval]
    reserved: list[ResolvedBlock]

    def usable_for(self, *, track: str, protocol_code: str, now: int) -> list[Interval]:
        """Usable time minus the reserved blocks this order may not use (not admitted, not yet released)."""
        closed = [r.interval for r in self.reserved
                  if not r.block.admits(track=track, protocol_code=protocol_code)
                  and (r.released_at is None or now < r.released_at)]
        return subtract(self.usable, closed)

    def usable_unreserved(self, now: int) -> list[Interval]:
        """Usable time minus every block not yet released (what the batch optimizer may fill)."""
        held = [r.interval for r in self.reserved if r.released_at is None or now < r.released_at]
        return subtract(self.usable, held)


def resolve_scanner(scanner: Scanner, site: Site, closures: Iterable[Closure], line: Timeline) -> ScannerCalendar:
    """Opening ∩ staffed − holidays − this scanner's maintenance, downtime and unstaffed closures."""
    zone = site.zone
    # Periods that touch are one: a scanner open until midnight and again from midnight (an emergency
    # CT around the clock) is open straight through, and an exam may run past midnight on it.
    opening = merged(weekly_to_minutes(scanner.opening, zone, line))
    staffed = merged(weekly_to_minutes(scanner.shifts, zone, line))
    blocked = closure_minutes(
        (c for c in closures
         if c.blocks_scanning and (c.scanner_id == scanner.id or (c.kind is ClosureKind.HOLIDAY
                                                                  and c.site_id == site.id))),
        line,
    )
    usable = subtract(intersect(opening, staffed), blocked)
    reserved: list[ResolvedBlock] = []
    for day in line.local_dates(zone):
        for block in scanner.reserved:
            if block.weekday != day.weekday():
                continue
            start_at = local_instant(day, block.start, zone)
            interval = (line.minute(start_at), line.minute(local_instant(day, block.end, zone)))
            released = (line.minute(start_at - timedelta(hours=block.release_hours_before))
                        if block.release_hours_before > 0 else None)
            if clipped([interval], 0, line.length):
                reserved.append(ResolvedBlock(interval, block, released))
    return ScannerCalendar(scanner, site, opening, usable, reserved)


def resolve_supervision(site: Site, closures: Iterable[Closure], line: Timeline) -> list[Interval]:
    """When a radiologist is on site: the weekly windows minus holidays and supervision gaps."""
    windows = merged(weekly_to_minutes(site.supervision, site.zone, line))
    gaps = closure_minutes((c for c in closures if c.site_id == site.id and c.kind in
                            (ClosureKind.HOLIDAY, ClosureKind.NO_SUPERVISION)), line)
    return subtract(windows, gaps)


def holiday(site: Site, day: date, *, closure_id: str, reason: str) -> Closure:
    """A whole local day closed at a site, as UTC instants (23 or 25 hours on a daylight-saving day)."""
    start, end = local_day_bounds(day, site.zone)
    return Closure(id=closure_id, kind=ClosureKind.HOLIDAY, start=start, end=end, site_id=site.id, reason=reason)
