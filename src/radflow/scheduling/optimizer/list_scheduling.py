"""List scheduling: take orders one by one and give each its earliest feasible start.

`first_available` is what most RIS do (arrival order); `greedy` takes stat orders first, then
the earliest due. Both are kept as the yardsticks the optimizer must beat. `deadline_first` is
the optimizer's own starting point: it books an order early only where that keeps it on time,
and books exams that will be late anyway after every on-time exam has its place, so that a
hopeless exam never takes the slot of one that could still make its target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from radflow.scheduling.optimizer.problem import UNLIMITED, SchedulingProblem
from radflow.scheduling.optimizer.schedule import Schedule

type OrderKey = Callable[[int], tuple[float, ...]]


def scanner_preference(problem: SchedulingProblem) -> list[int]:
    """Rank of scanners for ties: plainer ones first, keeping special ones for exams that need them."""
    caps = [len(s.capabilities) for s in problem.snapshot.scanners]
    ordered = sorted(range(len(caps)), key=lambda s: (caps[s], s))
    rank = [0] * len(caps)
    for position, scanner in enumerate(ordered):
        rank[scanner] = position
    return rank


def place_fixed(schedule: Schedule) -> None:
    """Put every fixed booking where it was booked (FORMAT §4 rule 13)."""
    for order, (scanner, start) in schedule.problem.fixed.items():
        schedule.assign(order, scanner, start)


def earliest_placement(
    schedule: Schedule, order: int, scanners: Sequence[int], latest: int = UNLIMITED
) -> tuple[int, int] | None:
    """(start, scanner) of the earliest feasible start not after `latest`; ties go to the first scanner."""
    problem = schedule.problem
    best: tuple[int, int] | None = None
    for scanner in scanners:
        bound = latest if best is None else min(latest, best[0] - 1)
        start = schedule.earliest_start(order, scanner, problem.start_ranges(order, scanner, hi=bound))
        if start is not None:
            best = (start, scanner)
    return best


def book_in_order(
    schedule: Schedule, orders: Iterable[int], scanner_rank: Sequence[int], *, on_time_only: bool = False
) -> list[int]:
    """Book each order at its earliest feasible start; return the orders left without a place."""
    problem = schedule.problem
    left: list[int] = []
    for order in orders:
        scanners = sorted(problem.eligible[order], key=scanner_rank.__getitem__)
        latest = problem.last_on_time_start(order) if on_time_only else UNLIMITED
        found = earliest_placement(schedule, order, scanners, latest)
        if found is None:
            left.append(order)
        else:
            schedule.assign(order, found[1], found[0])
    return left


def _open_orders(problem: SchedulingProblem) -> list[int]:
    return [o for o in range(problem.n_orders) if o not in problem.fixed]


def first_available(problem: SchedulingProblem) -> Schedule:
    """Arrival order (release, then the instance's order), each at its earliest feasible start."""
    schedule = Schedule(problem)
    place_fixed(schedule)
    orders = sorted(_open_orders(problem), key=lambda o: (problem.release[o], o))
    book_in_order(schedule, orders, list(range(len(problem.scanner_ids))))
    return schedule


def greedy(problem: SchedulingProblem) -> Schedule:
    """Stat orders first, then earliest due, each at its earliest feasible start."""
    schedule = Schedule(problem)
    place_fixed(schedule)
    orders = sorted(_open_orders(problem), key=lambda o: (problem.rank[o] != 0, problem.due[o], o))
    book_in_order(schedule, orders, scanner_preference(problem))
    return schedule


def deadline_first(problem: SchedulingProblem, key: OrderKey | None = None) -> Schedule:
    """On-time bookings first in `key` order (default: priority, then due), late bookings after."""
    schedule = Schedule(problem)
    place_fixed(schedule)
    rank = scanner_preference(problem)
    order_key = key or (lambda o: (problem.rank[o], problem.due[o], o))
    orders = sorted(_open_orders(problem), key=order_key)
    hopeful_set = {o for o in orders if problem.can_be_on_time(o)}
    hopeful = [o for o in orders if o in hopeful_set]
    hopeless = [o for o in orders if o not in hopeful_set]
    deferred = book_in_order(schedule, hopeful, rank, on_time_only=True)
    late = sorted(deferred + hopeless, key=lambda o: (problem.rank[o], problem.due[o], o))
    book_in_order(schedule, late, rank)
    return schedule


def constructive_keys(problem: SchedulingProblem) -> list[OrderKey]:
    """Orderings worth trying for `deadline_first`, the most useful first.

    By priority, due day, then least room (an order that fits in few places goes before one that
    fits anywhere: evening-only patients are not crowded out by patients who could come any
    time); by priority and room; by priority then due (earliest deadline first); stat first then
    due; by priority, shortest first.
    """
    end = problem.horizon_end

    def due_day(o: int) -> int:
        return min(problem.due[o], end) // 1440

    return [
        lambda o: (problem.rank[o], due_day(o), problem.on_time_room(o), o),
        lambda o: (problem.rank[o], problem.on_time_room(o), o),
        lambda o: (problem.rank[o], problem.due[o], o),
        lambda o: (problem.rank[o] != 0, problem.due[o], o),
        lambda o: (problem.rank[o], problem.duration[o], problem.due[o], o),
    ]
