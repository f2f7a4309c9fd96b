"""Ruin and recreate: empty one neighbourhood and book it again, tightly, by dispatching.

Earliest-start booking fragments a day: a stat exam released at 09:05 sits at 09:05, and the
10-, 20-minute gaps it leaves fit no exam. Dispatching walks each scanner forward in time and,
whenever it is free, starts the best exam that can start then, so exams follow each other and
a gap remains only where nothing could start. It is fast (no solver), so it runs before CP-SAT
and several times with shuffled ties.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Sequence

from radflow.scheduling.optimizer.schedule import UNASSIGNED, Schedule
from radflow.scheduling.optimizer.window_model import Neighbourhood

type Placements = dict[int, tuple[int, int] | None]


def _restore(schedule: Schedule, orders: Sequence[int], original: dict[int, tuple[int, int]]) -> None:
    for o in orders:
        schedule.unassign(o)
    for o in orders:
        scanner, start = original[o]
        if scanner != UNASSIGNED:
            schedule.assign(o, scanner, start)


def dispatch(schedule: Schedule, hood: Neighbourhood, rng: random.Random, noise: float) -> Placements:
    """Book the neighbourhood forward in time: whenever a scanner is free, start the best exam that can start.

    The best is the heaviest that is still on time, then the one due soonest (if due inside the
    neighbourhood), then the one with least room. Exams follow each other with no gap unless
    nothing can start, so releases during the day no longer scatter exams.
    """
    problem = schedule.problem
    group = set(hood.scanners)
    original = {o: (schedule.scanner_of[o], schedule.start_of[o]) for o in hood.candidates}
    free_set = {
        o
        for o in hood.candidates
        if not schedule.is_assigned(o)
        or (schedule.scanner_of[o] in group and hood.begin <= schedule.start_of[o] < hood.end)
    }
    for o in free_set:
        schedule.unassign(o)
    # static starts inside the neighbourhood, computed once: (scanner, order) -> sorted ranges
    static = {
        (s, o): problem.start_ranges(o, s, lo=hood.begin, hi=hood.end - 1)
        for o in hood.candidates
        for s in problem.eligible[o]
        if s in group
    }
    rank: dict[int, tuple[int, float]] = {}
    for o in hood.candidates:
        last = problem.last_on_time_start(o)
        starts = sum(
            (min(hi, last) - lo) // problem.grid + 1
            for s in problem.eligible[o]
            if s in group
            for lo, hi in static[(s, o)]
            if lo <= last
        )
        due = problem.due[o] if problem.due[o] < hood.end else hood.end
        rank[o] = (due, starts * (1.0 + noise * rng.random()))
    waiting = {s: [o for o in hood.candidates if static.get((s, o))] for s in hood.scanners}
    clock = {s: problem.ceil_grid(hood.begin) for s in hood.scanners if waiting[s]}
    placed: set[int] = set()
    while clock:
        s = min(clock, key=clock.__getitem__)
        now = clock[s]
        best: tuple[tuple[int, int, float], int] | None = None
        following = hood.end
        keep = []
        for o in waiting[s]:
            if o in placed:
                continue
            start = _first_static_start(static[(s, o)], now)
            if start is None:
                continue
            keep.append(o)
            if start == now and not schedule.fits(o, s, now):
                start = schedule.earliest_start(o, s, _from(static[(s, o)], now + problem.grid))
                if start is None:
                    continue
            if start > now:
                following = min(following, start)
                continue
            on_time = start <= problem.last_on_time_start(o)
            if not on_time and o not in free_set:
                continue  # a mover only moves to become on time
            due, room = rank[o]
            priority = (-problem.weight[o] if on_time else 0, due, room)
            if best is None or priority < best[0]:
                best = (priority, o)
        waiting[s] = keep
        if best is not None:
            o = best[1]
            if o not in free_set:
                schedule.unassign(o)
            schedule.assign(o, s, now)
            placed.add(o)
            clock[s] = problem.ceil_grid(now + problem.duration[o])
        else:
            clock[s] = following
        if clock[s] >= hood.end or not waiting[s]:
            del clock[s]
    placements: Placements = {}
    for o in hood.candidates:
        now_place = (schedule.scanner_of[o], schedule.start_of[o]) if schedule.is_assigned(o) else None
        before = original[o] if original[o][0] != UNASSIGNED else None
        if now_place != before:
            placements[o] = now_place
    _restore(schedule, hood.candidates, original)
    return placements


def _first_static_start(ranges: list[tuple[int, int]], now: int) -> int | None:
    """The first start in `ranges` at or after `now` (ranges are on the grid, sorted)."""
    k = bisect_left(ranges, (now, now))
    if k > 0 and ranges[k - 1][1] >= now:
        return now
    return ranges[k][0] if k < len(ranges) else None


def _from(ranges: list[tuple[int, int]], now: int) -> list[tuple[int, int]]:
    """The part of `ranges` at or after `now`."""
    k = bisect_left(ranges, (now, now))
    head = [(now, ranges[k - 1][1])] if k > 0 and ranges[k - 1][1] >= now else []
    return head + ranges[k:]
