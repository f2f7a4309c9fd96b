"""Ruin and recreate: empty one neighbourhood and book it again, tightly, by list scheduling.

Earliest-start booking fragments a day: a stat exam released at 09:05 sits at 09:05, and the
10-, 20-minute gaps it leaves fit no exam. Re-booking a neighbourhood from its start, the most
valuable and least flexible orders first, each at its earliest on-time start, packs exams against
each other; the late and unbooked ones then fill what is left. It is fast (no solver), so it runs
before CP-SAT and several times with shuffled ties.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from radflow.scheduling.optimizer.schedule import UNASSIGNED, Schedule
from radflow.scheduling.optimizer.window_model import Neighbourhood

type Placements = dict[int, tuple[int, int] | None]


def _room(schedule: Schedule, order: int, hood: Neighbourhood) -> int:
    """On-time grid starts the order has inside the neighbourhood, other exams aside."""
    problem = schedule.problem
    last = min(hood.end - 1, problem.last_on_time_start(order))
    return sum(
        (hi - lo) // problem.grid + 1
        for s in problem.eligible[order]
        if s in hood.scanners
        for lo, hi in problem.start_ranges(order, s, lo=hood.begin, hi=last)
    )


def repack(schedule: Schedule, hood: Neighbourhood, rng: random.Random, noise: float) -> Placements:
    """New places for the neighbourhood's candidates (None: unbooked); the schedule is left as it was."""
    problem = schedule.problem
    group = set(hood.scanners)
    scanners = sorted(hood.scanners)
    original = {o: (schedule.scanner_of[o], schedule.start_of[o]) for o in hood.candidates}
    free = [
        o
        for o in hood.candidates
        if not schedule.is_assigned(o)
        or (schedule.scanner_of[o] in group and hood.begin <= schedule.start_of[o] < hood.end)
    ]
    free_set = set(free)
    for o in free:
        schedule.unassign(o)

    def key(o: int) -> tuple[int, int, float]:
        due = problem.due[o] if problem.due[o] < hood.end else hood.end
        return (-problem.weight[o], due, _room(schedule, o, hood) * (1.0 + noise * rng.random()))

    order = sorted(hood.candidates, key=key)
    late: list[int] = []
    for o in order:
        last = min(hood.end - 1, problem.last_on_time_start(o))
        if last < hood.begin:
            late.append(o)
            continue
        mover = o not in free_set
        if mover:
            schedule.unassign(o)
        found = _place(schedule, o, scanners, hood.begin, last)
        if found is None:
            if mover:
                schedule.assign(o, *original[o])
            else:
                late.append(o)
    for o in late:
        if o in free_set:
            _place(schedule, o, scanners, hood.begin, hood.end - 1)
    placements: Placements = {}
    for o in hood.candidates:
        now = (schedule.scanner_of[o], schedule.start_of[o]) if schedule.is_assigned(o) else None
        before = original[o] if original[o][0] != UNASSIGNED else None
        if now != before:
            placements[o] = now
    _restore(schedule, hood.candidates, original)
    return placements


def _place(schedule: Schedule, order: int, scanners: Sequence[int], lo: int, hi: int) -> tuple[int, int] | None:
    problem = schedule.problem
    eligible = [s for s in scanners if s in problem.eligible[order]]
    best: tuple[int, int] | None = None
    for s in eligible:
        bound = hi if best is None else min(hi, best[0] - 1)
        start = schedule.earliest_start(order, s, problem.start_ranges(order, s, lo=lo, hi=bound))
        if start is not None:
            best = (start, s)
    if best is not None:
        schedule.assign(order, best[1], best[0])
        return best[1], best[0]
    return None


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
    rank = {
        o: (
            problem.due[o] if problem.due[o] < hood.end else hood.end,
            _room(schedule, o, hood) * (1.0 + noise * rng.random()),
        )
        for o in hood.candidates
    }
    waiting = {s: [o for o in hood.candidates if s in problem.eligible[o]] for s in hood.scanners}
    clock = {s: problem.ceil_grid(hood.begin) for s in hood.scanners}
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
            start = schedule.earliest_start(o, s, problem.start_ranges(o, s, lo=now, hi=hood.end - 1))
            if start is None:
                continue
            keep.append(o)
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
