"""Large-neighbourhood search: re-book a few scanners over a few hours or days at a time.

A neighbourhood is a small group of scanners of one modality (one site, or across sites every
third sweep) over a span with room for about TARGET_EXAMS exams. Its exams (fixed bookings aside)
are taken off and booked again together with candidates from outside: orders late or unbooked
that could be on time there. Each neighbourhood is first re-booked by dispatching (`repack`),
then, once dispatch sweeps stop paying, also re-solved by CP-SAT (`window_model`) with the
current schedule as its hint. An answer is kept only if the whole schedule gets better and the
stat and urgent on-time counts stay at or above greedy's, so the search never loses what greedy
had. Sweeps run from the first day to the last (deadlines make early days matter most) until
the time is up or two CP-SAT sweeps find nothing.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from radflow.scheduling.optimizer.budget import Deadline
from radflow.scheduling.optimizer.list_scheduling import earliest_placement, scanner_preference
from radflow.scheduling.optimizer.problem import UNLIMITED, SchedulingProblem
from radflow.scheduling.optimizer.repack import dispatch
from radflow.scheduling.optimizer.schedule import UNASSIGNED, Schedule
from radflow.scheduling.optimizer.scoring import ScheduleQuality, measure, measure_part
from radflow.scheduling.optimizer.window_model import DAY, Neighbourhood, WindowModel

DEBUG = bool(os.environ.get("RADFLOW_OPTIMIZER_DEBUG"))
type Progress = Callable[[float, str], None]

TARGET_EXAMS = 40  # exams a neighbourhood has room for: small enough for CP-SAT to improve in well under a second
MAX_EXTRA = 50  # candidates from outside the neighbourhood (late or unbooked orders)
GROUP_SIZE = 4  # scanners per neighbourhood
BLOCK = 360  # neighbourhoods begin and end on 6-hour marks
SUBPROBLEM_SECONDS = 0.5
REPACK_ATTEMPTS = 3


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


def scanner_groups(problem: SchedulingProblem, sweep: int, rng: random.Random) -> list[list[int]]:
    """Small groups of interchangeable scanners; the pairing changes from sweep to sweep."""
    out: list[list[int]] = []
    for department in departments(problem, across_sites=sweep % 3 == 2):
        members = list(department)
        if sweep:
            rng.shuffle(members)
        out += [members[k : k + GROUP_SIZE] for k in range(0, len(members), GROUP_SIZE)]
    return out


def time_windows(
    problem: SchedulingProblem, group: list[int], exam_minutes: float, offset: float
) -> list[tuple[int, int]]:
    """Spans of the horizon cut at 6-hour marks, each with room for about TARGET_EXAMS exams of the group."""
    blocks = -(-problem.horizon_end // BLOCK)
    room = [0] * blocks
    for s in group:
        for a, b in problem.usable[s]:
            for k in range(a // BLOCK, (b - 1) // BLOCK + 1):
                room[k] += min(b, (k + 1) * BLOCK) - max(a, k * BLOCK)
    target = TARGET_EXAMS * exam_minutes
    windows: list[tuple[int, int]] = []
    begin, filled = 0, offset * target
    for k in range(blocks):
        filled += room[k]
        if filled >= target:
            windows.append((begin, (k + 1) * BLOCK))
            begin, filled = (k + 1) * BLOCK, 0.0
    if begin < problem.horizon_end:
        windows.append((begin, problem.horizon_end))
    return [w for w in windows if any(room[k] for k in range(w[0] // BLOCK, -(-w[1] // BLOCK)))]


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
        self.rng = random.Random(0)
        preference = scanner_preference(self.problem)
        self.scanner_order = [sorted(e, key=preference.__getitem__) for e in self.problem.eligible]
        self.orders_of_scanner: list[list[int]] = [[] for _ in self.problem.scanner_ids]
        for o in range(self.problem.n_orders):
            if o not in self.problem.fixed:
                for s in self.problem.eligible[o]:
                    self.orders_of_scanner[s].append(o)

    # ------------------------------------------------------------------ neighbourhoods

    def _exam_minutes(self, group: list[int]) -> float:
        """Mean exam length of the orders the group's scanners can take."""
        orders = {o for s in group for o in self.orders_of_scanner[s]}
        return sum(self.problem.duration[o] for o in orders) / len(orders) if orders else 30.0

    def _plan(self, sweep: int) -> Iterator[tuple[list[int], int, int]]:
        offset = 0.5 if sweep % 2 else 0.0
        spans = [
            (group, window)
            for group in scanner_groups(self.problem, sweep, self.rng)
            for window in time_windows(self.problem, group, self._exam_minutes(group), offset)
        ]
        spans.sort(key=lambda item: (item[1][0], item[0][0]))
        for group, (begin, end) in spans:
            yield group, begin, end

    def _candidates(self, group: list[int], begin: int, end: int) -> Neighbourhood:
        problem, schedule = self.problem, self.schedule
        inside = [o for s in group for o in schedule.scanner_exams_between(s, begin, end) if o not in problem.fixed]
        inside_set = set(inside)
        improvers: list[tuple[int, int, int, float, int]] = []
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
                    # heaviest first; then those due before the neighbourhood ends, soonest first; then
                    # those with least room elsewhere, and a random tie-break so sweeps try others
                    due = max(problem.due[o], end) // DAY
                    improvers.append((-problem.weight[o], due, problem.on_time_room(o), self.rng.random(), o))
                elif (
                    not schedule.is_assigned(o)
                    and len(fillers) < 20
                    and any(problem.start_ranges(o, t, lo=begin, hi=end - 1) for t in problem.eligible[o] if t in group)
                ):
                    fillers.append(o)
        improvers.sort()
        extra = [o for *_, o in improvers[: max(MAX_EXTRA // 2, MAX_EXTRA - len(fillers))]] + fillers
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

    def _rehome(self, dropped: list[int], undo: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int] | None]:
        """Book exams a neighbourhood gave up elsewhere, on time if they were: one step of an ejection chain.

        A neighbourhood lets a flexible exam go to make room for one that fits nowhere else; if the
        flexible one still finds an on-time place on another day or scanner, the score goes up.
        """
        problem, schedule = self.problem, self.schedule
        placed: dict[int, tuple[int, int] | None] = {}
        for o in sorted(dropped, key=lambda o: (-problem.weight[o], problem.due[o])):
            was_on_time = undo[o][1] <= problem.last_on_time_start(o)
            latest = problem.last_on_time_start(o) if was_on_time else UNLIMITED
            found = earliest_placement(schedule, o, self.scanner_order[o], latest)
            if found is not None:
                schedule.assign(o, found[1], found[0])
                placed[o] = (found[1], found[0])
        return placed

    def _keep_if_better(self, placements: dict[int, tuple[int, int] | None]) -> bool:
        """Apply new places; keep them if every moved exam checks out and the schedule gets better."""
        schedule = self.schedule
        changed = {
            o: p
            for o, p in placements.items()
            if p != ((schedule.scanner_of[o], schedule.start_of[o]) if schedule.is_assigned(o) else None)
        }
        if not changed:
            return False
        before = measure_part(schedule, changed)
        undo = self._apply(changed)
        changed.update(self._rehome([o for o, p in changed.items() if p is None and undo[o][0] != UNASSIGNED], undo))
        quality = self.quality.changed_by(before, measure_part(schedule, changed))
        if self._sound(changed) and self._better(quality):
            self.quality = quality
            self.log.improved += 1
            return True
        self._undo(undo)
        return False

    def try_neighbourhood(self, hood: Neighbourhood, seconds: float, seed: int) -> bool:
        """Re-book one neighbourhood tightly, then re-solve it with CP-SAT; keep what improves."""
        improved = False
        for attempt in range(REPACK_ATTEMPTS):
            if self._keep_if_better(dispatch(self.schedule, hood, self.rng, noise=0.5 * attempt)):
                improved = True
        if improved:
            hood.min_on_time_by_rank = self._floors(hood.candidates)
        if seconds <= 0.05:
            return improved
        model = WindowModel(self.schedule, hood)
        answer = model.solve(seconds, self.workers, seed)
        self.log.neighbourhoods += 1
        if DEBUG:
            names = [self.problem.scanner_ids[s] for s in hood.scanners][:3]
            print(
                f"hood {names} {hood.begin / DAY:.2f}-{hood.end / DAY:.2f} repack={improved} "
                f"cands={len(hood.candidates)} opts={sum(len(v) for v in model.options.values())} {answer.status} "
                f"{answer.wall:.2f}s",
                file=sys.stderr,
            )
        return self._keep_if_better(answer.placements) or improved

    def run(self, progress: Progress | None = None) -> SearchLog:
        """Sweep neighbourhoods until the deadline, or until sweeps stop improving.

        First sweeps only re-book by dispatching (fast); once a sweep finds nothing more, CP-SAT
        joins in on every neighbourhood; two CP-SAT sweeps without a gain end the search.
        """
        idle_sweeps = 0
        sweep = 0
        with_solver = False
        while not self.deadline.expired() and idle_sweeps < 2:
            improved_before = self.log.improved
            for group, begin, end in self._plan(sweep):
                if self.deadline.remaining() < 0.3:
                    break
                hood = self._candidates(group, begin, end)
                if not hood.candidates:
                    continue
                seconds = min(SUBPROBLEM_SECONDS, self.deadline.remaining() - 0.2) if with_solver else 0.0
                self.try_neighbourhood(hood, seconds, seed=self.log.neighbourhoods)
                if progress is not None:
                    progress(self.deadline.elapsed(), f"score {self.quality.on_time_score}")
            sweep += 1
            self.log.sweeps = sweep
            if self.log.improved > improved_before:
                idle_sweeps = 0
            elif with_solver:
                idle_sweeps += 1
            else:
                with_solver = True
        return self.log
