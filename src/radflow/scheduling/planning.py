"""Capacity planning figures: utilization, backlog against capacity, a two-week forecast of demand.

Pure arithmetic on resolved calendars (`ScannerCalendar`) and booked spans, both on one minute
line; days are local days of the center's zone. Definitions (shown beside the charts):

- utilization = booked scanner minutes / open minutes (opening ∩ staffed − closures), per scanner
  or modality, per day or week;
- backlog = orders ready to schedule, with their slot minutes, per track and modality, against the
  free minutes (open − booked) of the horizon; "days to clear" = backlog minutes / free minutes a day;
- forecast, per day and modality: capacity (open minutes), booked minutes, and expected new demand
  = the mean slot minutes of orders received on the same weekday over the last four weeks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from radflow.domain.capacity.calendar import ScannerCalendar, Timeline, local_instant
from radflow.domain.capacity.intervals import Interval, clipped, intersect, merged, total


@dataclass(frozen=True)
class DayLoad:
    """One scanner on one local day: open minutes, booked minutes."""

    day: date
    scanner_id: str
    modality: str
    open_minutes: int
    booked_minutes: int

    @property
    def utilization(self) -> float | None:
        """Booked / open (None on a closed day)."""
        return self.booked_minutes / self.open_minutes if self.open_minutes else None


def local_days(line: Timeline, zone: ZoneInfo) -> list[tuple[date, Interval]]:
    """Each local day touching the line, with its minutes on the line (23–25 hours long)."""
    out = []
    for day in line.local_dates(zone):
        bounds = (line.minute(local_instant(day, 0, zone)), line.minute(local_instant(day, 1440, zone)))
        if clipped([bounds], 0, line.length):
            out.append((day, bounds))
    return out


def day_loads(calendars: Mapping[str, ScannerCalendar], booked: Mapping[str, Sequence[Interval]], line: Timeline,
              zone: ZoneInfo) -> list[DayLoad]:
    """Open and booked minutes of every scanner on every local day of the line."""
    out = []
    days = local_days(line, zone)
    for scanner_id, calendar in sorted(calendars.items()):
        busy = merged(booked.get(scanner_id, ()))
        for day, bounds in days:
            open_time = intersect(calendar.usable, [bounds])
            out.append(DayLoad(day, scanner_id, calendar.scanner.modality.value, total(open_time),
                               total(intersect(busy, [bounds]))))
    return out


@dataclass(frozen=True)
class Utilization:
    """Open and booked minutes summed over a group (a modality, a week)."""

    key: str
    open_minutes: int
    booked_minutes: int

    @property
    def share(self) -> float | None:
        """Booked / open."""
        return self.booked_minutes / self.open_minutes if self.open_minutes else None


def summed(loads: Iterable[DayLoad], key: str) -> list[Utilization]:
    """Loads summed by 'modality', 'day', 'week' (ISO week) or 'modality-week'."""
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for load in loads:
        week = f"{load.day.isocalendar().year}-W{load.day.isocalendar().week:02d}"
        name = {"modality": load.modality, "day": load.day.isoformat(), "week": week,
                "modality-week": f"{load.modality} {week}", "modality-day": f"{load.modality} {load.day}"}[key]
        groups[name][0] += load.open_minutes
        groups[name][1] += load.booked_minutes
    return [Utilization(name, values[0], values[1]) for name, values in sorted(groups.items())]


@dataclass(frozen=True)
class BacklogLine:
    """Orders waiting for a slot on one track and modality, against the free capacity of the horizon."""

    track: str
    modality: str
    orders: int
    minutes: int
    overdue: int
    free_minutes: int
    horizon_days: int

    @property
    def days_to_clear(self) -> float | None:
        """Backlog minutes / free minutes per day (None without free capacity)."""
        per_day = self.free_minutes / self.horizon_days if self.horizon_days else 0
        return self.minutes / per_day if per_day else None


@dataclass(frozen=True)
class WaitingOrder:
    """An order in the backlog as planning counts it."""

    track: str
    modality: str
    slot_minutes: int
    target_at: datetime


def backlog_lines(waiting: Iterable[WaitingOrder], loads: Sequence[DayLoad], now: datetime,
                  horizon_days: int) -> list[BacklogLine]:
    """Backlog per track and modality, with that modality's free minutes over the horizon."""
    free: dict[str, int] = defaultdict(int)
    for load in loads:
        free[load.modality] += max(0, load.open_minutes - load.booked_minutes)
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for order in waiting:
        group = groups[(order.track, order.modality)]
        group[0] += 1
        group[1] += order.slot_minutes
        group[2] += order.target_at < now
    order_of = {"stat": 0, "urgent": 1, "routine": 2}
    return [BacklogLine(track, modality, values[0], values[1], values[2], free.get(modality, 0), horizon_days)
            for (track, modality), values in sorted(groups.items(), key=lambda kv: (order_of.get(kv[0][0], 3),
                                                                                    kv[0][1]))]


@dataclass(frozen=True)
class ForecastDay:
    """Capacity against demand for one modality on one day."""

    day: date
    modality: str
    capacity_minutes: int
    booked_minutes: int
    expected_new_minutes: int

    @property
    def demand_minutes(self) -> int:
        """Booked plus expected new demand."""
        return self.booked_minutes + self.expected_new_minutes

    @property
    def short(self) -> bool:
        """Whether demand exceeds capacity."""
        return self.demand_minutes > self.capacity_minutes


@dataclass(frozen=True)
class ReceivedOrder:
    """An order received in the look-back window: when (local date), modality, slot minutes."""

    day: date
    modality: str
    slot_minutes: int


def forecast(loads: Sequence[DayLoad], history: Iterable[ReceivedOrder], today: date,
             weeks_back: int = 4) -> list[ForecastDay]:
    """Per day and modality over the loads' days: capacity, booked, and the weekday's mean new demand."""
    by_weekday: dict[tuple[str, int], int] = defaultdict(int)
    first = today - timedelta(days=7 * weeks_back)
    for order in history:
        if first <= order.day < today:
            by_weekday[(order.modality, order.day.weekday())] += order.slot_minutes
    capacity: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    for load in loads:
        capacity[(load.day, load.modality)][0] += load.open_minutes
        capacity[(load.day, load.modality)][1] += load.booked_minutes
    return [ForecastDay(day, modality, values[0], values[1],
                        round(by_weekday.get((modality, day.weekday()), 0) / weeks_back) if day >= today else 0)
            for (day, modality), values in sorted(capacity.items())]
