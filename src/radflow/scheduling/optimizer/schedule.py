"""A schedule being built: where each order sits, and what each scanner and patient already holds.

Placement checks here cover what depends on other exams (FORMAT §4 rules 8 and 9); the static
rules are already in the start ranges of `SchedulingProblem`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

from radflow.scheduling.optimizer.problem import SchedulingProblem, StartRange
from radflow.scheduling.optimizer.snapshot import Assignment, Plan

UNASSIGNED = -1


class Schedule:
    """Assignments of orders to (scanner, start), with per-scanner and per-patient occupancy."""

    def __init__(self, problem: SchedulingProblem) -> None:
        self.problem = problem
        self.scanner_of = [UNASSIGNED] * problem.n_orders
        self.start_of = [0] * problem.n_orders
        self._starts: list[list[int]] = [[] for _ in problem.scanner_ids]
        self._ends: list[list[int]] = [[] for _ in problem.scanner_ids]
        self._orders: list[list[int]] = [[] for _ in problem.scanner_ids]
        # largest free stretch per (scanner, usable period), computed when asked: lets a search skip
        # the periods of a full scanner without walking through their exams one by one
        self._largest_free: list[dict[int, int]] = [{} for _ in problem.scanner_ids]

    def copy(self) -> Schedule:
        """An independent copy (the incumbent stays untouched while a neighbour is tried)."""
        twin = Schedule.__new__(Schedule)
        twin.problem = self.problem
        twin.scanner_of = list(self.scanner_of)
        twin.start_of = list(self.start_of)
        twin._starts = [list(x) for x in self._starts]
        twin._ends = [list(x) for x in self._ends]
        twin._orders = [list(x) for x in self._orders]
        twin._largest_free = [dict(x) for x in self._largest_free]
        return twin

    # ------------------------------------------------------------------ changes

    def assign(self, order: int, scanner: int, start: int) -> None:
        """Place an unassigned order (no check: callers search with `earliest_start` or a solver)."""
        self.scanner_of[order] = scanner
        self.start_of[order] = start
        starts = self._starts[scanner]
        k = bisect_right(starts, start)
        starts.insert(k, start)
        self._ends[scanner].insert(k, start + self.problem.duration[order])
        self._orders[scanner].insert(k, order)
        self._largest_free[scanner].pop(self.problem.period_of(scanner, start), None)

    def unassign(self, order: int) -> None:
        """Take an order off its scanner."""
        scanner = self.scanner_of[order]
        if scanner == UNASSIGNED:
            return
        k = self._orders[scanner].index(order)
        self._largest_free[scanner].pop(self.problem.period_of(scanner, self._starts[scanner][k]), None)
        del self._starts[scanner][k], self._ends[scanner][k], self._orders[scanner][k]
        self.scanner_of[order] = UNASSIGNED

    # ------------------------------------------------------------------ questions

    def is_assigned(self, order: int) -> bool:
        """Whether the order has a place."""
        return self.scanner_of[order] != UNASSIGNED

    def is_on_time(self, order: int) -> bool:
        """Whether the order is assigned and its exam ends by its due time."""
        return self.scanner_of[order] != UNASSIGNED and self.start_of[order] <= self.problem.last_on_time_start(order)

    def assigned_orders(self) -> Iterable[int]:
        """Orders that have a place."""
        return (o for o in range(self.problem.n_orders) if self.scanner_of[o] != UNASSIGNED)

    def scanner_exams(self, scanner: int) -> list[tuple[int, int, int]]:
        """(start, end, order) of the exams on a scanner, by start."""
        return list(zip(self._starts[scanner], self._ends[scanner], self._orders[scanner], strict=True))

    def scanner_exams_between(self, scanner: int, lo: int, hi: int) -> list[int]:
        """Orders on a scanner whose exam starts in [lo, hi)."""
        starts = self._starts[scanner]
        first = bisect_right(starts, lo - 1)
        last = bisect_right(starts, hi - 1)
        return self._orders[scanner][first:last]

    def patient_exams(self, order: int, exclude: Sequence[int] = ()) -> list[tuple[int, int, int]]:
        """(start, end, site) of the other assigned exams of the order's patient."""
        problem = self.problem
        out = []
        for other in problem.patient_orders[problem.patient[order]]:
            if other == order or other in exclude or self.scanner_of[other] == UNASSIGNED:
                continue
            start = self.start_of[other]
            out.append((start, start + problem.duration[other], problem.scanner_site[self.scanner_of[other]]))
        return out

    def _patient_clash(self, order: int, site: int, start: int, exams: list[tuple[int, int, int]]) -> int | None:
        """The first minute after a clash with the patient's other exams, or None if none."""
        end = start + self.problem.duration[order]
        for other_start, other_end, other_site in exams:
            gap = 0 if other_site == site else self.problem.site_gap
            if start < other_end + gap and other_start < end + gap:
                return other_end + gap
        return None

    def fits(self, order: int, scanner: int, start: int) -> bool:
        """Whether the exam at `start` clashes with nothing on the scanner or for the patient."""
        end = start + self.problem.duration[order]
        k = bisect_right(self._ends[scanner], start)
        if k < len(self._starts[scanner]) and self._starts[scanner][k] < end:
            return False
        exams = self.patient_exams(order)
        return self._patient_clash(order, self.problem.scanner_site[scanner], start, exams) is None

    def clashes(self, order: int) -> bool:
        """Whether an assigned exam overlaps another on its scanner or breaks its patient's spacing."""
        problem = self.problem
        scanner, start = self.scanner_of[order], self.start_of[order]
        end = start + problem.duration[order]
        starts, ends, orders = self._starts[scanner], self._ends[scanner], self._orders[scanner]
        # every exam starting within the longest duration before, so a wrong state is caught too
        first = bisect_left(starts, start - problem.longest_exam)
        for k in range(first, bisect_left(starts, end)):
            if orders[k] != order and ends[k] > start:
                return True
        exams = self.patient_exams(order)
        return self._patient_clash(order, problem.scanner_site[scanner], start, exams) is not None

    def largest_free(self, scanner: int, period: int) -> int:
        """Minutes of the longest stretch without exams inside one usable period of a scanner."""
        cached = self._largest_free[scanner].get(period)
        if cached is not None:
            return cached
        lo, hi = self.problem.usable[scanner][period]
        starts, ends = self._starts[scanner], self._ends[scanner]
        largest, free_from = 0, lo
        for k in range(bisect_left(starts, lo), bisect_left(starts, hi)):
            largest = max(largest, starts[k] - free_from)
            free_from = max(free_from, ends[k])
        largest = max(largest, hi - free_from)
        self._largest_free[scanner][period] = largest
        return largest

    def earliest_start(self, order: int, scanner: int, ranges: Sequence[StartRange]) -> int | None:
        """The first start inside `ranges` that clashes with no exam on the scanner or of the patient."""
        problem = self.problem
        minutes = problem.duration[order]
        grid, origin = problem.grid, problem.origin
        starts, ends = self._starts[scanner], self._ends[scanner]
        site = problem.scanner_site[scanner]
        exams = self.patient_exams(order)
        count = len(starts)
        for lo, hi in ranges:
            if self.largest_free(scanner, problem.period_of(scanner, lo)) < minutes:
                continue
            t = lo
            while t <= hi:
                k = bisect_right(ends, t)
                if k < count and starts[k] < t + minutes:
                    end = ends[k]
                    t = end + (origin - end) % grid
                    continue
                if exams:
                    after = self._patient_clash(order, site, t, exams)
                    if after is not None:
                        t = problem.ceil_grid(after)
                        continue
                return t
        return None

    def to_plan(self, solver: str, notes: dict[str, object] | None = None) -> Plan:
        """The plan of this schedule, in the snapshot's identifiers."""
        problem = self.problem
        assignments = tuple(
            Assignment(problem.order_ids[o], problem.scanner_ids[self.scanner_of[o]], self.start_of[o])
            for o in range(problem.n_orders)
            if self.scanner_of[o] != UNASSIGNED
        )
        unscheduled = tuple(problem.order_ids[o] for o in range(problem.n_orders) if self.scanner_of[o] == UNASSIGNED)
        return Plan(assignments, unscheduled, solver=solver, notes=notes or {})

    @classmethod
    def from_plan(cls, problem: SchedulingProblem, plan: Plan) -> Schedule:
        """Rebuild a schedule from a plan (ids must exist in the problem)."""
        schedule = cls(problem)
        for a in plan.assignments:
            schedule.assign(problem.order_index[a.order_id], problem.scanner_index[a.scanner_id], a.start)
        return schedule
