"""One neighbourhood of the schedule re-solved exactly with CP-SAT.

A neighbourhood is a group of scanners over a span of days. Every exam booked there (except fixed
bookings) is taken off, and CP-SAT places it again together with other candidate orders: exams
that are late or unbooked, and exams booked elsewhere that may move in. Each candidate gets one
optional interval per (scanner, start range), its start on the grid (`start = lo + grid * k`);
ranges are split at the order's last on-time start, so "on time" is a plain literal.

Rules kept by the model: NoOverlap per scanner, with the exams that stay as fixed intervals
(FORMAT §4 rule 8); NoOverlap per patient for patients with several candidates, and start ranges
cut around the exams a patient keeps elsewhere, with the 60-minute gap when the sites differ
(rule 9); every static rule is already in the start ranges.

The objective is lexicographic in spirit: on-time weight first, then exams booked at all, then
fewer visit days for patients with several exams, then shorter waits for stat and urgent exams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from radflow.scheduling.optimizer.problem import StartRange
from radflow.scheduling.optimizer.schedule import UNASSIGNED, Schedule

DAY = 1440
# Objective weights; on-time weight dominates everything a neighbourhood can trade against it.
ON_TIME = 4000
BOOKED = 160
VISIT_DAY = 100
# Cost per hour of waiting (stat, urgent, routine). Zero: a wait term makes each neighbourhood much
# harder to solve, and dispatching already starts the heaviest exam that can start at each moment.
WAIT_PER_HOUR = (0, 0, 0)
# Probing in presolve costs seconds on these models and rarely pays within a neighbourhood's budget.
SOLVER_TUNING: dict[str, int | float | bool] = {"cp_model_probing_level": 0}


@dataclass
class Neighbourhood:
    """Where to re-solve: scanners, a span of minutes [begin, end), and the candidate orders."""

    scanners: list[int]
    begin: int
    end: int
    candidates: list[int]
    min_on_time_by_rank: tuple[int, int] = (0, 0)  # stat, urgent on-time exams the answer must keep
    label: str = ""


@dataclass
class _Option:
    order: int
    scanner: int
    lo: int
    hi: int
    on_time: bool
    present: cp_model.IntVar
    steps: cp_model.IntVar | None = None  # start = lo + grid * steps
    start: cp_model.LinearExprT = 0


@dataclass
class WindowAnswer:
    """New places for the candidates (None: unbooked), and what CP-SAT said."""

    placements: dict[int, tuple[int, int] | None]
    status: str
    objective_gain: float
    wall: float = 0.0
    moved: list[int] = field(default_factory=list)


def _cut(ranges: Sequence[StartRange], lo: int, hi: int) -> list[StartRange]:
    """Remove starts strictly between lo and hi from inclusive ranges."""
    out: list[StartRange] = []
    for a, b in ranges:
        if b <= lo or a >= hi:
            out.append((a, b))
            continue
        if a <= lo:
            out.append((a, lo))
        if b >= hi:
            out.append((hi, b))
    return out


class WindowModel:
    """Builds and solves the CP-SAT model of one neighbourhood."""

    def __init__(self, schedule: Schedule, hood: Neighbourhood) -> None:
        self.schedule = schedule
        self.problem = schedule.problem
        self.hood = hood
        self.model = cp_model.CpModel()
        self.options: dict[int, list[_Option]] = {}
        candidates = set(hood.candidates)
        group = set(hood.scanners)
        self.sites = {self.problem.scanner_site[s] for s in hood.scanners}
        # Orders whose current place is given up when the model decides for them.
        self.free = {o for o in candidates if not schedule.is_assigned(o) or self._inside(o, group)}
        self.movers = candidates - self.free
        self._visits: list[tuple[cp_model.IntVar, list[cp_model.IntVar]]] = []
        for order in hood.candidates:
            self._add_options(order, group)

    def _inside(self, order: int, group: set[int]) -> bool:
        s = self.schedule
        return s.scanner_of[order] in group and self.hood.begin <= s.start_of[order] < self.hood.end

    def _kept_patient_exams(self, order: int) -> list[tuple[int, int, int]]:
        problem, schedule = self.problem, self.schedule
        out = []
        for other in problem.patient_orders[problem.patient[order]]:
            if other == order or other in self.free or not schedule.is_assigned(other):
                continue
            start = schedule.start_of[other]
            out.append((start, start + problem.duration[other], problem.scanner_site[schedule.scanner_of[other]]))
        return out

    def _add_options(self, order: int, group: set[int]) -> None:
        problem = self.problem
        minutes = problem.duration[order]
        last_on_time = problem.last_on_time_start(order)
        kept = self._kept_patient_exams(order)
        options: list[_Option] = []
        for scanner in problem.eligible[order]:
            if scanner not in group:
                continue
            ranges = problem.start_ranges(order, scanner, lo=self.hood.begin, hi=self.hood.end - 1)
            site = problem.scanner_site[scanner]
            for other_start, other_end, other_site in kept:
                gap = 0 if other_site == site else problem.site_gap
                ranges = _cut(ranges, other_start - minutes - gap, other_end + gap)
            for lo, hi in ranges:
                lo, hi = problem.ceil_grid(lo), problem.floor_grid(hi)
                pieces = [(lo, min(hi, last_on_time), True), (max(lo, problem.ceil_grid(last_on_time + 1)), hi, False)]
                for a, b, on_time in pieces:
                    if a <= b:
                        options.append(self._option(order, scanner, a, b, on_time))
        if options:
            self.model.add_at_most_one(o.present for o in options)
            self.options[order] = options

    def _option(self, order: int, scanner: int, lo: int, hi: int, on_time: bool) -> _Option:
        present = self.model.new_bool_var("")
        option = _Option(order, scanner, lo, hi, on_time, present)
        grid = self.problem.grid
        if lo == hi:
            option.start = lo
        else:
            option.steps = self.model.new_int_var(0, (hi - lo) // grid, "")
            self.model.add(option.steps == 0).only_enforce_if(present.negated())
            option.start = option.steps * grid + lo
        return option

    # ------------------------------------------------------------------ constraints and objective

    def _intervals(self) -> None:
        problem, schedule, model = self.problem, self.schedule, self.model
        longest = max((problem.duration[o] for o in self.options), default=0)
        by_scanner: dict[int, list[cp_model.IntervalVar]] = {s: [] for s in self.hood.scanners}
        by_patient: dict[int, list[cp_model.IntervalVar]] = {}
        extra = problem.site_gap if len(self.sites) > 1 else 0  # conservative when sites differ
        patients_with_several = {
            p
            for p in (problem.patient[o] for o in self.options)
            if sum(1 for o in problem.patient_orders[p] if o in self.options) > 1
        }
        for order, options in self.options.items():
            minutes = problem.duration[order]
            patient = problem.patient[order]
            for option in options:
                by_scanner[option.scanner].append(
                    model.new_optional_fixed_size_interval_var(option.start, minutes, option.present, "")
                )
                if patient in patients_with_several:
                    by_patient.setdefault(patient, []).append(
                        model.new_optional_fixed_size_interval_var(option.start, minutes + extra, option.present, "")
                    )
        for scanner in self.hood.scanners:
            for start, end, order in schedule.scanner_exams(scanner):
                if order in self.free or end <= self.hood.begin or start >= self.hood.end + longest:
                    continue
                by_scanner[scanner].append(model.new_fixed_size_interval_var(start, end - start, ""))
        for intervals in (*by_scanner.values(), *by_patient.values()):
            if len(intervals) > 1:
                model.add_no_overlap(intervals)

    def _old_value(self, order: int) -> int:
        """Objective value of a mover where it sits now (given up if the model moves it)."""
        problem, schedule = self.problem, self.schedule
        start = schedule.start_of[order]
        on_time = start <= problem.last_on_time_start(order)
        value = (ON_TIME * problem.weight[order] * on_time + BOOKED) * 60
        return value - WAIT_PER_HOUR[problem.rank[order]] * (start - problem.release[order])

    def _objective(self) -> None:
        problem, model = self.problem, self.model
        terms: list[cp_model.LinearExprT] = []
        for order, options in self.options.items():
            rate = WAIT_PER_HOUR[problem.rank[order]]
            old = self._old_value(order) if order in self.movers else 0
            for option in options:
                value = (ON_TIME * problem.weight[order] * option.on_time + BOOKED) * 60 - old
                # waiting minutes (start - release) cost `rate` each; steps is 0 when absent
                value -= rate * (option.lo - problem.release[order])
                terms.append(value * option.present)
                if rate and option.steps is not None:
                    terms.append(-rate * problem.grid * option.steps)
        terms += self._visit_day_terms()
        model.maximize(sum(terms))

    def _visit_day_terms(self) -> list[cp_model.LinearExprT]:
        problem, schedule = self.problem, self.schedule
        days_of: dict[tuple[int, int], list[cp_model.IntVar]] = {}
        for order, options in self.options.items():
            patient = problem.patient[order]
            if len(problem.patient_orders[patient]) < 2:
                continue
            for option in options:
                days_of.setdefault((patient, option.lo // DAY), []).append(option.present)
        terms: list[cp_model.LinearExprT] = []
        for (patient, day), literals in days_of.items():
            kept_days = {
                schedule.start_of[o] // DAY
                for o in problem.patient_orders[patient]
                if o not in self.free and o not in self.movers and schedule.is_assigned(o)
            }
            if day in kept_days:
                continue
            visit = self.model.new_bool_var("")
            for literal in literals:
                self.model.add_implication(literal, visit)
            self._visits.append((visit, literals))
            terms.append(-VISIT_DAY * 60 * visit)
        return terms

    def _priority_floors(self) -> None:
        """Keep at least the stat and urgent on-time exams the neighbourhood must keep."""
        problem, schedule = self.problem, self.schedule
        for rank, floor in enumerate(self.hood.min_on_time_by_rank):
            if floor <= 0:
                continue
            terms: list[cp_model.LinearExprT] = []
            constant = 0
            for order, options in self.options.items():
                if problem.rank[order] != rank:
                    continue
                terms += [o.present for o in options if o.on_time]
                if order in self.movers and schedule.is_on_time(order):
                    constant += 1
                    terms += [-o.present for o in options]
            self.model.add(sum(terms) + constant >= floor)

    def _hint(self) -> None:
        """Hint every variable with the current schedule, so CP-SAT starts from a complete solution."""
        schedule, grid = self.schedule, self.problem.grid
        hinted: set[int] = set()
        for order, options in self.options.items():
            current = schedule.scanner_of[order] if order in self.free else UNASSIGNED
            start = schedule.start_of[order]
            chosen = None
            if current != UNASSIGNED:
                chosen = next((o for o in options if o.scanner == current and o.lo <= start <= o.hi), None)
            for option in options:
                self.model.add_hint(option.present, option is chosen)
                if option is chosen:
                    hinted.add(option.present.index)
                if option.steps is not None:
                    self.model.add_hint(option.steps, (start - option.lo) // grid if option is chosen else 0)
        for visit, literals in self._visits:
            self.model.add_hint(visit, any(literal.index in hinted for literal in literals))

    def solve(self, seconds: float, workers: int = 2, seed: int = 0) -> WindowAnswer:
        """Solve the neighbourhood within `seconds`; placements are those of the best solution found."""
        if not self.options:
            return WindowAnswer({}, "EMPTY", 0.0)
        self._intervals()
        self._objective()
        self._priority_floors()
        self._hint()
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.05, seconds)
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = seed
        for name, value in SOLVER_TUNING.items():
            setattr(solver.parameters, name, value)
        status = solver.solve(self.model)
        name = solver.status_name(status)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return WindowAnswer({}, name, 0.0)
        placements: dict[int, tuple[int, int] | None] = {}
        for order, options in self.options.items():
            chosen = next((o for o in options if solver.boolean_value(o.present)), None)
            if chosen is not None:
                placements[order] = (chosen.scanner, int(solver.value(chosen.start)))
            elif order in self.free:
                placements[order] = None
        return WindowAnswer(placements, name, float(solver.objective_value), wall=solver.wall_time)
