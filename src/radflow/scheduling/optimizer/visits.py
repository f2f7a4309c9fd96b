"""Fewer trips for patients with several exams: move an exam to a day the patient already comes.

A move is made only where it keeps the exam on time if it was on time (so the on-time score
never drops) and fits the scanner and the patient's other exams (FORMAT §4 rules 8 and 9); the
static rules come with the start ranges.
"""

from __future__ import annotations

from radflow.scheduling.optimizer.budget import Deadline
from radflow.scheduling.optimizer.problem import SchedulingProblem
from radflow.scheduling.optimizer.schedule import Schedule

DAY = 1440


def _days(schedule: Schedule, orders: list[int]) -> set[int]:
    return {schedule.start_of[o] // DAY for o in orders if schedule.is_assigned(o)}


def _move_to_day(schedule: Schedule, order: int, day: int) -> bool:
    """Move an assigned exam onto `day` if it fits there (on time if it was); True when moved."""
    problem: SchedulingProblem = schedule.problem
    scanner, start = schedule.scanner_of[order], schedule.start_of[order]
    on_time = schedule.is_on_time(order)
    last = min((day + 1) * DAY - 1, problem.last_on_time_start(order) if on_time else (day + 1) * DAY - 1)
    schedule.unassign(order)
    best: tuple[int, int] | None = None
    for s in problem.eligible[order]:
        found = schedule.earliest_start(order, s, problem.start_ranges(order, s, lo=day * DAY, hi=last))
        if found is not None and (best is None or found < best[0]):
            best = (found, s)
    if best is None:
        schedule.assign(order, scanner, start)
        return False
    schedule.assign(order, best[1], best[0])
    return True


def consolidate_visits(schedule: Schedule, deadline: Deadline) -> int:
    """Bring each multi-exam patient's exams onto fewer days where the exams fit; return the moves made."""
    problem = schedule.problem
    moves = 0
    for members in problem.patient_orders:
        if len(members) < 2 or deadline.expired():
            continue
        booked = [o for o in members if schedule.is_assigned(o) and o not in problem.fixed]
        if len(_days(schedule, members)) < 2:
            continue
        for order in booked:
            here = schedule.start_of[order] // DAY
            others = _days(schedule, [o for o in members if o != order])
            if here in others:
                continue
            for day in sorted(others, key=lambda d: abs(d - here)):
                if _move_to_day(schedule, order, day):
                    moves += 1
                    break
    return moves
