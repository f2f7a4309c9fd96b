"""The optimizer's input and output: a minute-based snapshot of capacity and backlog, and a plan.

Pure dataclasses, no I/O. Every time is an integer minute on one line: the product builds a
snapshot in UTC minutes with daylight saving already resolved; the benchmark adapter
(`benchmark_format`) builds one in wall-clock minutes, minute 0 being 00:00 of the horizon's
first day. Whoever builds a snapshot resolves calendars into plain intervals, so the engine
never sees a weekday, a timezone or a holiday.

Intervals are half-open `(start, end)` pairs: an exam occupying [t, t + minutes) may end exactly
where a usable period or a window ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

type Interval = tuple[int, int]
type Priority = Literal["stat", "urgent", "routine"]

PRIORITIES: tuple[Priority, ...] = ("stat", "urgent", "routine")
# On-time weights of the scheduling benchmark (FORMAT §5); the product uses the same ratios so
# that one stat exam on time outweighs several routine ones.
ON_TIME_WEIGHT: Mapping[Priority, int] = {"stat": 20, "urgent": 5, "routine": 1}
# FORMAT §4 rule 9: one patient's exams on different sites need this many minutes between them.
DEFAULT_SITE_GAP_MINUTES = 60


@dataclass(frozen=True, slots=True)
class ScannerCapacity:
    """One scanner and the periods it can run exams in.

    `usable` holds opening hours minus blocked time, cut per day: an exam must lie inside one
    period (so it never runs past the end of the day it starts, even on a scanner open
    00:00-24:00, where two periods touch at midnight and stay separate). `opening` (optional)
    keeps the opening hours per day before blocked time is taken out; only the plan checker reads
    it, to tell an exam outside opening hours from one that overlaps blocked time.
    """

    scanner_id: str
    site: str
    modality: str
    capabilities: frozenset[str]
    usable: tuple[Interval, ...]
    opening: tuple[Interval, ...] = ()


@dataclass(frozen=True, slots=True)
class ExamProtocol:
    """How long an exam takes on any capable scanner, what the scanner needs, and contrast."""

    code: str
    modality: str
    requires: frozenset[str]
    minutes: int
    contrast: bool


@dataclass(frozen=True, slots=True)
class OrderToSchedule:
    """One order of the backlog: when it may start, when it is due, and when the patient can come.

    `availability` is None when the patient can come at any time; otherwise sorted, disjoint,
    non-adjacent windows, and the whole exam must lie inside one of them.
    """

    order_id: str
    patient_id: str
    protocol: str
    priority: Priority
    weight: int
    release: int
    due: int
    availability: tuple[Interval, ...] | None = None


@dataclass(frozen=True, slots=True)
class FixedBooking:
    """An appointment already made: the plan keeps it exactly (FORMAT §4 rule 13)."""

    order_id: str
    scanner_id: str
    start: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the engine needs, in minutes: capacity, supervision, protocols, backlog, bookings.

    Exams start on the grid: `(start - grid_origin) % grid_minutes == 0`. The horizon runs
    from minute 0 to `horizon_end` (exclusive); usable periods already lie inside it.
    """

    horizon_end: int
    grid_minutes: int
    scanners: tuple[ScannerCapacity, ...]
    supervision: Mapping[str, tuple[Interval, ...]]
    protocols: Mapping[str, ExamProtocol]
    orders: tuple[OrderToSchedule, ...]
    fixed: tuple[FixedBooking, ...] = ()
    grid_origin: int = 0
    site_gap_minutes: int = DEFAULT_SITE_GAP_MINUTES
    name: str = ""


@dataclass(frozen=True, slots=True)
class Assignment:
    """One order placed on one scanner at one start minute."""

    order_id: str
    scanner_id: str
    start: int


@dataclass(frozen=True, slots=True)
class Plan:
    """The engine's answer: every order either assigned once or listed as unscheduled."""

    assignments: tuple[Assignment, ...]
    unscheduled: tuple[str, ...]
    solver: str = ""
    notes: Mapping[str, object] = field(default_factory=dict)
