"""Half-open integer intervals [start, end) on one minute line, and the few operations capacity needs.

Lists are sorted and disjoint; touching intervals are kept apart unless `merged` is asked for, so
that an exam stays inside one period (two days of a scanner open 00:00–24:00 touch at midnight and
stay two periods, as the optimizer's snapshot requires).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

type Interval = tuple[int, int]


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted union: overlapping or touching intervals become one."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def intersect(first: Sequence[Interval], second: Sequence[Interval]) -> list[Interval]:
    """The pieces lying in both (each inside one interval of each list); both lists sorted, disjoint."""
    out: list[Interval] = []
    i = j = 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if start < end:
            out.append((start, end))
        if first[i][1] <= second[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(intervals: Sequence[Interval], removed: Iterable[Interval]) -> list[Interval]:
    """What is left of each interval once every removed interval is cut out (order kept)."""
    holes = merged(removed)
    if not holes:
        return list(intervals)
    starts = [h[0] for h in holes]
    out: list[Interval] = []
    for start, end in intervals:
        k = max(0, bisect_right(starts, start) - 1)
        cursor = start
        while k < len(holes) and holes[k][0] < end:
            hole_start, hole_end = holes[k]
            if hole_end > cursor:
                if hole_start > cursor:
                    out.append((cursor, hole_start))
                cursor = max(cursor, hole_end)
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def clipped(intervals: Iterable[Interval], low: int, high: int) -> list[Interval]:
    """The parts inside [low, high)."""
    return [(max(s, low), min(e, high)) for s, e in intervals if max(s, low) < min(e, high)]


def total(intervals: Iterable[Interval]) -> int:
    """Summed length."""
    return sum(e - s for s, e in intervals)


def containing(intervals: Sequence[Interval], start: int, end: int) -> Interval | None:
    """The interval of a sorted, disjoint list that holds all of [start, end), if any."""
    k = bisect_right([i[0] for i in intervals], start) - 1
    if k >= 0 and intervals[k][0] <= start and end <= intervals[k][1]:
        return intervals[k]
    return None
