"""Large-neighbourhood search: re-solve one department over a few days at a time with CP-SAT.

The schedule is split into neighbourhoods (the scanners of one modality at one site, or of one
modality across sites, over a span of days sized so that each holds a few hundred exams). Each
is re-solved by `WindowModel` with the current schedule as its hint; the answer is kept only if
the whole schedule gets better and every stat and urgent exam count stays at or above the
reference's, so the search never loses what greedy had. Sweeps run from the first day to the last
(deadlines make early days matter most), with shifted windows and cross-site groups in later
sweeps, until the time is up or a whole sweep finds nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from radflow.scheduling.optimizer.budget import Deadline
from radflow.scheduling.optimizer.problem import SchedulingProblem
from radflow.scheduling.optimizer.schedule import UNASSIGNED, Schedule
from radflow.scheduling.optimizer.scoring import ScheduleQuality, measure
from radflow.scheduling.optimizer.window_model import DAY, Neighbourhood, WindowModel

DEBUG = bool(os.environ.get("RADFLOW_OPTIMIZER_DEBUG"))
type Progress = Callable[[float, str], None]

TARGET_EXAMS = 110  # exams per neighbourhood: CP-SAT proves most of these optimal in a second
MAX_EXTRA = 140  # candidates from outside the neighbourhood (late, unbooked, movable)
SUBPROBLEM_SECONDS = 2.0


@dataclass
class SearchLog:
    """What the search did, for the plan's notes."""

    neighbourhoods: int = 0
    improved: int = 0
    sweeps: int = 0


def departments(problem: SchedulingProblem, *, across_sites: bool) -> list[list[int]]:
    """Scanner groups: one modality at one site, or one modality over all sites."""
    groups: dict[tuple[str, int], list[int]] = {}
    for s, scanner in enumerate(problem.snapshot.scanners):
        site = -1 if across_sites else problem.scanner_site[s]
        groups.setdefault((scanner.modality, site), []).append(s)
    return list(groups.values())


def _exams_per_day(problem: SchedulingProblem, group: list[int], mean_minutes: float) -> float:
    days = max(1, problem.horizon_end // DAY)
    open_minutes = sum(b - a for s in group for a, b in problem.usable[s])
    return open_minutes / days / max(1.0, mean_minutes)


def _windows(problem: SchedulingProblem, group: list[int], offset: float) -> list[tuple[int, int]]:
    """Day-aligned spans of the horizon, each holding about TARGET_EXAMS exams of the group."""
    orders = [o for o in range(problem.n_orders) if set(problem.eligible[o]) & set(group)]
    mean = sum(problem.duration[o] for o in orders) / len(orders) if orders else 30.0
    per_day = _exams_per_day(problem, group, mean)
    span = max(1, min(5, round(TARGET_EXAMS / max(per_day, 1.0))))
    days = max(1, -(-problem.horizon_end // DAY))
    first = -int(offset * span)
    return [(max(0, d) * DAY, min(days, d + span) * DAY) for d in range(first, days, span) if d + span > 0]


class NeighbourhoodSearch:
    """Improves a schedule in place, one neighbourhood at a time."""

    def __init__(self, schedule: Schedule, reference: ScheduleQuality, deadline: Deadline, workers: int = 2) -> None:
        self.schedule = schedule
        self.problem = schedule.problem
        self.reference = reference
        self.deadline = deadline
        self.workers = workers
        self.quality = measure(schedule)
        self.log = SearchLog()
        self.orders_of_scanner: list[list[int]] = [[] for _ in self.problem.scanner_ids]
        for o in range(self.problem.n_orders):
            if o not in self.problem.fixed:
                for s in self.problem.eligible[o]:
                    self.orders_of_scanner[s].append(o)

    # ------------------------------------------------------------------ neighbourhoods

    def _plan(self, sweep: int) -> Iterator[tuple[list[int], int, int]]:
        across = sweep % 3 == 2
        offset = 0.5 if sweep % 2 else 0.0
        spans = [
            (g, w) for g in departments(self.problem, across_sites=across) for w in _windows(self.problem, g, offset)
        ]
        spans.sort(key=lambda item: (item[1][0], item[0][0]))
        for group, (begin, end) in spans:
            yield group, begin, end

    def _candidates(self, group: list[int], begin: int, end: int) -> Neighbourhood:
        problem, schedule = self.problem, self.schedule
        inside = [o for s in group for o in schedule.scanner_exams_between(s, begin, end) if o not in problem.fixed]
        inside_set = set(inside)
        improvers: list[tuple[int, int, int]] = []
        fillers: list[int] = []
        seen: set[int] = set()
        for s in group:
            for o in self.orders_of_scanner[s]:
                if o in seen or o in inside_set or problem.release[o] >= end:
                    continue
                seen.add(o)
                on_time = schedule.is_on_time(o)
                if on_time:
                    continue
                last = problem.last_on_time_start(o)
                if last >= begin and any(
                    problem.start_ranges(o, t, lo=begin, hi=min(end - 1, last))
                    for t in problem.eligible[o]
                    if t in group
                ):
                    improvers.append((-problem.weight[o], problem.due[o], o))
                elif (
                    not schedule.is_assigned(o)
                    and len(fillers) < 20
                    and any(problem.start_ranges(o, t, lo=begin, hi=end - 1) for t in problem.eligible[o] if t in group)
                ):
                    fillers.append(o)
        improvers.sort()
        extra = [o for _, _, o in improvers[: max(MAX_EXTRA // 2, MAX_EXTRA - len(fillers))]] + fillers
        candidates = inside + extra
        floors = self._floors(candidates)
        return Neighbourhood(group, begin, end, candidates, floors)

    def _floors(self, candidates: list[int]) -> tuple[int, int]:
        """Stat and urgent on-time exams this neighbourhood must keep so the totals stay >= the reference."""
        out = []
        for rank in (0, 1):
            slack = self.quality.on_time_by_rank[rank] - self.reference.on_time_by_rank[rank]
            here = sum(1 for o in candidates if self.problem.rank[o] == rank and self.schedule.is_on_time(o))
            out.append(max(0, here - slack))
        return out[0], out[1]

    # ------------------------------------------------------------------ moves

    def _apply(self, placements: dict[int, tuple[int, int] | None]) -> dict[int, tuple[int, int]]:
        """Apply new places; return the old places (scanner UNASSIGNED when it had none) to undo."""
        schedule = self.schedule
        undo = {o: (schedule.scanner_of[o], schedule.start_of[o]) for o in placements}
        for o in placements:
            schedule.unassign(o)
        for o, place in placements.items():
            if place is not None:
                schedule.assign(o, place[0], place[1])
        return undo

    def _undo(self, undo: dict[int, tuple[int, int]]) -> None:
        for o in undo:
            self.schedule.unassign(o)
        for o, (scanner, start) in undo.items():
            if scanner != UNASSIGNED:
                self.schedule.assign(o, scanner, start)

    def _sound(self, placements: dict[int, tuple[int, int] | None]) -> bool:
        """Re-check every moved exam against the static rules and the exams around it."""
        problem, schedule = self.problem, self.schedule
        for o, place in placements.items():
            if place is None:
                continue
            scanner, start = place
            if not any(lo <= start <= hi for lo, hi in problem.start_ranges(o, scanner, lo=start, hi=start)):
                return False
            if schedule.clashes(o):
                return False
        return True

    def _better(self, quality: ScheduleQuality) -> bool:
        if not quality.keeps_priorities_of(self.reference):
            return False
        return quality.ranking() > self.quality.ranking()

    def try_neighbourhood(self, hood: Neighbourhood, seconds: float, seed: int) -> bool:
        """Re-solve one neighbourhood; keep the answer if the schedule gets better."""
        model = WindowModel(self.schedule, hood)
        answer = model.solve(seconds, self.workers, seed)
        self.log.neighbourhoods += 1
        if DEBUG:
            names = [self.problem.scanner_ids[s] for s in hood.scanners][:3]
            print(
                f"hood {names} {hood.begin // DAY}-{hood.end // DAY} "
                f"cands={len(hood.candidates)} opts={sum(len(v) for v in model.options.values())} {answer.status} "
                f"{answer.wall:.2f}s",
                file=sys.stderr,
            )
        changed = {
            o: p
            for o, p in answer.placements.items()
            if p != ((self.schedule.scanner_of[o], self.schedule.start_of[o]) if self.schedule.is_assigned(o) else None)
        }
        if not changed:
            return False
        undo = self._apply(changed)
        quality = measure(self.schedule)
        if self._sound(changed) and self._better(quality):
            self.quality = quality
            self.log.improved += 1
            return True
        self._undo(undo)
        return False

    def run(self, progress: Progress | None = None) -> SearchLog:
        """Sweep neighbourhoods until the deadline, or until a full sweep improves nothing."""
        idle_sweeps = 0
        sweep = 0
        while not self.deadline.expired() and idle_sweeps < 3:
            improved_before = self.log.improved
            for group, begin, end in self._plan(sweep):
                if self.deadline.remaining() < 0.3:
                    break
                hood = self._candidates(group, begin, end)
                if not hood.candidates:
                    continue
                seconds = min(SUBPROBLEM_SECONDS, self.deadline.remaining() - 0.2)
                self.try_neighbourhood(hood, seconds, seed=self.log.neighbourhoods)
                if progress is not None:
                    progress(self.deadline.elapsed(), f"score {self.quality.on_time_score}")
            sweep += 1
            self.log.sweeps = sweep
            idle_sweeps = idle_sweeps + 1 if self.log.improved == improved_before else 0
        return self.log
