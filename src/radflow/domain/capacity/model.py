"""The capacity model: sites, scanners and what limits when each can run an exam.

A scanner runs an exam only inside its opening hours (per weekday, in its site's timezone), while a
technologist's shift staffs it, outside holidays and downtime, and — for exams whose contrast needs
a radiologist on site — inside a supervision window of its site. Slot templates reserve blocks for
some exams (screening mammography, urgent holds) until they are released.

Weekly calendars are in local wall-clock minutes (0–1440, 1440 = midnight at the end of the day);
dated closures are UTC instants, resolved once from the site's zone when entered, so that a holiday
on a daylight-saving day is 23 or 25 hours long, as it really is. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from radflow.domain.errors import ValidationError
from radflow.domain.protocols import CAPABILITIES, Modality

MINUTES_PER_DAY = 1440


class Weekday(IntEnum):
    """Days of the week, numbered as `date.weekday()` does."""

    MON = 0
    TUE = 1
    WED = 2
    THU = 3
    FRI = 4
    SAT = 5
    SUN = 6

    @classmethod
    def parse(cls, text: str) -> Weekday:
        """'mon'…'sun' (any case) to a weekday; the message lists the accepted names."""
        try:
            return cls[text.strip().upper()[:3]]
        except KeyError:
            raise ValidationError(f"weekday '{text}' is not one of mon, tue, wed, thu, fri, sat, sun",
                                  field="weekday") from None


def parse_clock(text: str, *, field_name: str = "time") -> int:
    """'HH:MM' (24-hour, '24:00' allowed for the end of the day) to minutes since local midnight."""
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValidationError(f"'{text}' is not a time of day: write HH:MM, e.g. 07:30", field=field_name)
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > MINUTES_PER_DAY:
        raise ValidationError(f"'{text}' is not a time of day between 00:00 and 24:00", field=field_name)
    return value


def format_clock(minute: int) -> str:
    """Minutes since local midnight as 'HH:MM' (1440 as '24:00')."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True)
class WeeklyPeriod:
    """A recurring period on one weekday, [start, end) in local wall-clock minutes."""

    weekday: Weekday
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise ValidationError(
                f"{self.weekday.name.lower()} {format_clock(self.start)}–{format_clock(self.end)}: "
                "a period must start before it ends, within one day (00:00–24:00)", field="hours")

    @classmethod
    def parse(cls, weekday: str, start: str, end: str) -> WeeklyPeriod:
        """From 'mon', '07:00', '19:00'."""
        return cls(Weekday.parse(weekday), parse_clock(start, field_name="start"), parse_clock(end, field_name="end"))

    def label(self) -> str:
        """'mon 07:00–19:00'."""
        return f"{self.weekday.name.lower()} {format_clock(self.start)}–{format_clock(self.end)}"


@dataclass(frozen=True)
class Shift(WeeklyPeriod):
    """A technologist's weekly shift on one scanner: the scanner runs only while staffed."""

    technologist: str = ""


@dataclass(frozen=True)
class SupervisionWindow(WeeklyPeriod):
    """When a radiologist is on site to supervise contrast (ACR Manual on Contrast Media)."""

    radiologist: str = ""


@dataclass(frozen=True)
class ReservedBlock(WeeklyPeriod):
    """A slot template: time kept for some exams (a purpose), released to all some hours before.

    Orders on one of `tracks`, or for one of `protocols`, may always use the block; everyone may
    once `release_hours_before` hours remain before it starts (0: never released).
    """

    purpose: str = ""
    tracks: frozenset[str] = frozenset()
    protocols: frozenset[str] = frozenset()
    release_hours_before: int = 0

    def admits(self, *, track: str, protocol_code: str) -> bool:
        """Whether an order on `track` for `protocol_code` may use the block before its release."""
        return track in self.tracks or protocol_code in self.protocols


class ClosureKind(StrEnum):
    """Why capacity is missing for a while."""

    HOLIDAY = "holiday"  # a site closed for a day
    MAINTENANCE = "maintenance"  # planned service of one scanner
    DOWNTIME = "downtime"  # unplanned: a scanner is down
    NO_TECHNOLOGIST = "no_technologist"  # a shift that will not be staffed
    NO_SUPERVISION = "no_supervision"  # no radiologist on site: contrast exams stop, others go on


#: Closures that concern a whole site; the others concern one scanner.
SITE_CLOSURES = frozenset({ClosureKind.HOLIDAY, ClosureKind.NO_SUPERVISION})


@dataclass(frozen=True)
class Closure:
    """A dated block of time, in UTC, on one site or one scanner."""

    id: str
    kind: ClosureKind
    start: datetime
    end: datetime
    site_id: str = ""
    scanner_id: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValidationError("closure times must be timezone-aware", field="start")
        if self.end <= self.start:
            raise ValidationError("a closure must end after it starts", field="end")
        if self.kind in SITE_CLOSURES and not self.site_id:
            raise ValidationError(f"a {self.kind.value} closure names its site", field="site_id")
        if self.kind not in SITE_CLOSURES and not self.scanner_id:
            raise ValidationError(f"a {self.kind.value} closure names its scanner", field="scanner_id")

    @property
    def blocks_scanning(self) -> bool:
        """Whether it stops every exam (all but a supervision gap)."""
        return self.kind is not ClosureKind.NO_SUPERVISION


@dataclass(frozen=True)
class Site:
    """A place with scanners, its timezone, the number patients call, and its supervision windows."""

    id: str
    name: str
    timezone: str
    phone: str = ""
    address: str = ""
    supervision: tuple[SupervisionWindow, ...] = ()

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise ValidationError("a site needs an id", field="id")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"'{self.timezone}' is not an IANA timezone (e.g. America/New_York)",
                                  field="timezone") from None

    @property
    def zone(self) -> ZoneInfo:
        """The site's timezone."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Scanner:
    """One scanner (a room), what it can do, and its weekly calendars."""

    id: str
    site_id: str
    name: str
    modality: Modality
    capabilities: frozenset[str] = frozenset()
    table_limit_kg: int | None = None
    opening: tuple[WeeklyPeriod, ...] = ()
    shifts: tuple[Shift, ...] = ()
    reserved: tuple[ReservedBlock, ...] = ()
    # Numbered overbooking lanes above lane 0; 0 means no overbooking. Set only through the audited
    # overbooking policy command.
    overbooking_lanes: int = 0
    overbooking_reason: str = ""
    active: bool = True
    informative: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise ValidationError("a scanner needs an id", field="id")
        unknown = sorted(self.capabilities - CAPABILITIES)
        if unknown:
            raise ValidationError(f"scanner {self.id}: unknown capabilities {', '.join(unknown)}; known: "
                                  f"{', '.join(sorted(CAPABILITIES))}", field="capabilities")
        if self.table_limit_kg is not None and self.table_limit_kg <= 0:
            raise ValidationError(f"scanner {self.id}: a table limit is a positive weight in kg",
                                  field="table_limit_kg")
        if self.overbooking_lanes < 0:
            raise ValidationError(f"scanner {self.id}: overbooking lanes cannot be negative",
                                  field="overbooking_lanes")
        # Shifts may overlap (a handover); opening periods of one day may not.
        _refuse_overlaps(self.id, "opening hours", self.opening)

    def can_take(self, requires: frozenset[str], weight_kg: int | None) -> bool:
        """Whether this scanner has every capability required and a table for the patient's weight."""
        if not self.active or not requires <= self.capabilities:
            return False
        return weight_kg is None or self.table_limit_kg is None or weight_kg <= self.table_limit_kg


def _refuse_overlaps(scanner_id: str, what: str, periods: tuple[WeeklyPeriod, ...]) -> None:
    ordered = sorted(periods, key=lambda p: (p.weekday, p.start))
    for earlier, later in pairwise(ordered):
        if earlier.weekday == later.weekday and later.start < earlier.end:
            raise ValidationError(f"scanner {scanner_id}: {what} {earlier.label()} and {later.label()} overlap",
                                  field=what.replace(" ", "_"))
