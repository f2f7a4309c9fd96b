"""The snapshot compiled for search: integer indices, and the static start ranges of each order.

A start range `(lo, hi)` is inclusive and on the grid: every grid minute in it is a start at which
the exam fits inside one usable period of the scanner, after the order's release, inside one of
the patient's availability windows and, for a contrast exam, inside one supervision window of the
scanner's site (FORMAT §4 rules 3-7, 10-12). What remains to check when placing an exam is only
what other exams occupy: the scanner (rule 8) and the patient (rule 9).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from functools import lru_cache

from radflow.scheduling.optimizer.snapshot import PRIORITIES, Interval, Snapshot

type StartRange = tuple[int, int]

UNLIMITED = 1 << 40


def intersect_ranges(first: Sequence[StartRange], second: Sequence[StartRange]) -> list[StartRange]:
    """Intersection of two sorted lists of disjoint inclusive ranges."""
    out: list[StartRange] = []
    i = j = 0
    while i < len(first) and j < len(second):
        lo = max(first[i][0], second[j][0])
        hi = min(first[i][1], second[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return out


class SchedulingProblem:
    """Index-based view of a snapshot that the policies, the checker and the solver share."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.grid = snapshot.grid_minutes
        self.origin = snapshot.grid_origin % snapshot.grid_minutes
        self.horizon_end = snapshot.horizon_end
        self.site_gap = snapshot.site_gap_minutes
        self.scanner_ids = [s.scanner_id for s in snapshot.scanners]
        self.scanner_index = {sid: k for k, sid in enumerate(self.scanner_ids)}
        sites = sorted({s.site for s in snapshot.scanners})
        self.site_names = sites
        self.scanner_site = [sites.index(s.site) for s in snapshot.scanners]
        self.usable = [s.usable for s in snapshot.scanners]
        self._period_starts = [[a for a, _ in s.usable] for s in snapshot.scanners]
        self.supervision = {
            sites.index(site): windows for site, windows in snapshot.supervision.items() if site in sites
        }
        orders = snapshot.orders
        self.n_orders = len(orders)
        self.order_ids = [o.order_id for o in orders]
        self.order_index = {oid: k for k, oid in enumerate(self.order_ids)}
        protocols = [snapshot.protocols[o.protocol] for o in orders]
        self.duration = [p.minutes for p in protocols]
        self.longest_exam = max(self.duration, default=0)
        self.contrast = [p.contrast for p in protocols]
        self.modality = [p.modality for p in protocols]
        self.weight = [o.weight for o in orders]
        self.rank = [PRIORITIES.index(o.priority) for o in orders]
        self.release = [o.release for o in orders]
        self.due = [o.due for o in orders]
        self.availability = [o.availability for o in orders]
        patients = sorted({o.patient_id for o in orders})
        patient_index = {p: k for k, p in enumerate(patients)}
        self.patient = [patient_index[o.patient_id] for o in orders]
        self.patient_orders: list[list[int]] = [[] for _ in patients]
        for k, p in enumerate(self.patient):
            self.patient_orders[p].append(k)
        self.eligible = [self._eligible_scanners(o) for o in range(self.n_orders)]
        self.fixed = {self.order_index[f.order_id]: (self.scanner_index[f.scanner_id], f.start) for f in snapshot.fixed}
        self._room: dict[int, int] = {}
        self.base_ranges = lru_cache(maxsize=None)(self._base_ranges)
        self._availability_starts = [
            None if windows is None else self.fitting_starts(windows, minutes)
            for windows, minutes in zip(self.availability, self.duration, strict=True)
        ]

    def _eligible_scanners(self, order: int) -> tuple[int, ...]:
        protocol = self.snapshot.protocols[self.snapshot.orders[order].protocol]
        return tuple(
            k
            for k, s in enumerate(self.snapshot.scanners)
            if s.modality == protocol.modality
            and protocol.requires <= s.capabilities
            and (not protocol.contrast or self.scanner_site[k] in self.supervision)
        )

    # ------------------------------------------------------------------ grid

    def ceil_grid(self, minute: int) -> int:
        """The first grid minute at or after `minute`."""
        return minute + (self.origin - minute) % self.grid

    def floor_grid(self, minute: int) -> int:
        """The last grid minute at or before `minute`."""
        return minute - (minute - self.origin) % self.grid

    def on_grid(self, minute: int) -> bool:
        """Whether an exam may start at `minute` (FORMAT §4 rule 4)."""
        return (minute - self.origin) % self.grid == 0

    def fitting_starts(self, windows: Sequence[Interval], minutes: int) -> list[StartRange]:
        """Grid starts at which an exam of `minutes` lies inside one of `windows`."""
        out: list[StartRange] = []
        for start, end in windows:
            lo, hi = self.ceil_grid(start), self.floor_grid(end - minutes)
            if lo <= hi:
                out.append((lo, hi))
        return out

    # ------------------------------------------------------------------ static starts

    def _base_ranges(self, scanner: int, minutes: int, contrast: bool) -> list[StartRange]:
        """Grid starts of an exam on a scanner from its usable periods (and supervision for contrast).

        Shared through `base_ranges` (cached): callers must not change the list.
        """
        periods: Sequence[Interval] = self.usable[scanner]
        if contrast:
            windows = self.supervision.get(self.scanner_site[scanner], ())
            periods = [(lo, hi) for lo, hi in _intersect_open(periods, windows)]
        return list(self.fitting_starts(periods, minutes))

    def start_ranges(self, order: int, scanner: int, lo: int = -UNLIMITED, hi: int = UNLIMITED) -> list[StartRange]:
        """Static start ranges of `order` on `scanner`, clipped to starts in [lo, hi]."""
        base = self.base_ranges(scanner, self.duration[order], self.contrast[order])
        lo = max(lo, self.release[order])
        first = bisect_left(base, (lo, -UNLIMITED))
        if first > 0 and base[first - 1][1] >= lo:
            first -= 1
        last = bisect_right(base, (hi, UNLIMITED))
        if first >= last:
            return []
        # base ranges are on the grid; only the first and the last can need clipping
        ranges = base[first:last]
        a, b = ranges[0]
        if a < lo:
            ranges[0] = (self.ceil_grid(lo), b)
        a, b = ranges[-1]
        if b > hi:
            ranges[-1] = (a, self.floor_grid(hi))
        ranges = [r for r in ranges if r[0] <= r[1]] if len(ranges) < 3 else _drop_empty_ends(ranges)
        windows = self._availability_starts[order]
        if windows is not None:
            ranges = intersect_ranges(ranges, windows)
        return ranges

    def last_on_time_start(self, order: int) -> int:
        """The latest start at which the exam still ends by its due time (FORMAT §5)."""
        return self.due[order] - self.duration[order]

    def on_time_room(self, order: int) -> int:
        """How many (scanner, grid start) pairs would put the order on time, other exams aside."""
        room = self._room.get(order)
        if room is None:
            last = self.last_on_time_start(order)
            room = sum(
                (hi - lo) // self.grid + 1
                for s in self.eligible[order]
                for lo, hi in self.start_ranges(order, s, hi=last)
            )
            self._room[order] = room
        return room

    def can_be_on_time(self, order: int) -> bool:
        """Whether any static start of the order ends by its due time (ignoring other exams)."""
        last = self.last_on_time_start(order)
        return any(self.start_ranges(order, s, hi=last) for s in self.eligible[order])

    def period_of(self, scanner: int, minute: int) -> int:
        """Index of the scanner's usable period that holds `minute` (or the last one before it)."""
        return max(0, bisect_right(self._period_starts[scanner], minute) - 1)

    def day_of(self, minute: int) -> int:
        """Index of the day (1440-minute block from minute 0) that a minute falls in."""
        return minute // 1440

    def site_of(self, scanner: int) -> int:
        """Site index of a scanner."""
        return self.scanner_site[scanner]


def _drop_empty_ends(ranges: list[StartRange]) -> list[StartRange]:
    """Drop the first and last range when clipping emptied them (the middle ones are untouched)."""
    if ranges[-1][0] > ranges[-1][1]:
        ranges.pop()
    if ranges and ranges[0][0] > ranges[0][1]:
        ranges.pop(0)
    return ranges


def _intersect_open(first: Sequence[Interval], second: Sequence[Interval]) -> list[Interval]:
    """Intersection of two sorted lists of half-open intervals (each list disjoint)."""
    out: list[Interval] = []
    i = j = 0
    while i < len(first) and j < len(second):
        lo = max(first[i][0], second[j][0])
        hi = min(first[i][1], second[j][1])
        if lo < hi:
            out.append((lo, hi))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return out
