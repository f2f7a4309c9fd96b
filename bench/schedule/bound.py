"""An upper bound on the on-time score: the time-indexed LP relaxation over on-time grid starts.

    .venv/bin/python bench/schedule/bound.py INSTANCE.json [--time-limit SECONDS]

The relaxation (name: **TI-LP**). One variable x[o, s, t] in [0, 1] for every order o, capable
scanner s and grid start t at which the exam fits every static rule of FORMAT §4 (usable period,
release, availability, supervision) *and ends by its due time*; late starts add nothing to the
score, so leaving them out only loosens nothing. Constraints:

- each order at most once: sum_{s,t} x[o, s, t] <= 1 (a fixed booking: its one start, = 1);
- scanner capacity per grid bucket: for every scanner s and 5-minute bucket b, the exams covering b
  sum to <= 1;
- patient capacity per bucket: for every patient with several orders and bucket b, their exams
  covering b sum to <= 1 (the 60-minute gap between sites is dropped, a relaxation).

Maximise sum w_o x[o, s, t]. Every feasible plan gives a 0/1 solution, so the LP optimum bounds
every plan's on-time score. The LP is split into independent parts by connected groups of scanners
(orders link the scanners they may use; the patient rows that would link two groups are dropped,
again only a relaxation), and each part is solved by column generation with GLOP: start from the
columns of a known plan, price every order's best start with the bucket duals, add columns with
positive reduced cost, repeat. At every round the Lagrangian (Farley) value
LP_restricted + sum_o max(0, best reduced cost of o) is itself a valid upper bound, so a part that
is stopped by its time limit still reports a valid (slightly weaker) bound.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from radflow.scheduling.optimizer.problem import SchedulingProblem
from radflow.scheduling.optimizer.schedule import Schedule

EPSILON = 1e-7


@dataclass(frozen=True)
class BoundResult:
    """The bound of one instance: the value to compare with, and how it was obtained."""

    value: float  # a valid upper bound on the on-time score
    lp_value: float  # the restricted master's optimum (equals `value` when every part converged)
    converged: bool
    rounds: int
    columns: int
    seconds: float


def _components(problem: SchedulingProblem, orders: Sequence[int]) -> list[tuple[list[int], list[int]]]:
    """Groups of scanners linked by the orders that may use them, with their orders."""
    parent = list(range(len(problem.scanner_ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for o in orders:
        first, *rest = problem.eligible[o]
        for s in rest:
            parent[find(s)] = find(first)
    groups: dict[int, tuple[list[int], list[int]]] = {}
    for s in range(len(parent)):
        groups.setdefault(find(s), ([], []))[0].append(s)
    for o in orders:
        groups[find(problem.eligible[o][0])][1].append(o)
    return [g for g in groups.values() if g[1]]


class _Part:
    """The restricted master LP of one group of scanners, and its pricing."""

    def __init__(self, problem: SchedulingProblem, scanners: list[int], orders: list[int]) -> None:
        self.problem = problem
        self.scanners = scanners
        self.orders = orders
        self.grid = problem.grid
        self.buckets = math.ceil(problem.horizon_end / problem.grid) + 1
        self.day_buckets = max(1, 1440 // problem.grid)
        self.lp = pywraplp.Solver.CreateSolver("GLOP")
        self.order_row = {o: self.lp.Constraint(0, 1) for o in orders}
        self.scanner_rows: dict[tuple[int, int], pywraplp.Constraint] = {}
        self.patient_rows: dict[tuple[int, int], pywraplp.Constraint] = {}
        in_part = set(orders)
        self.shared_patient = {
            o for o in orders if sum(1 for other in problem.patient_orders[problem.patient[o]] if other in in_part) > 1
        }
        self.columns: set[tuple[int, int, int]] = set()
        self.column_vars: list[tuple[tuple[int, int, int], pywraplp.Variable]] = []
        self.objective = self.lp.Objective()
        self.objective.SetMaximization()
        self._masks: dict[tuple[int, int, bool], np.ndarray] = {}
        # order -> list of (scanner, lo bucket, hi bucket) windows of on-time starts, before base masking
        self.windows = {o: self._order_windows(o) for o in orders if o not in problem.fixed}
        for o, (s, t) in problem.fixed.items():
            if o in self.order_row:
                self.order_row[o].SetLb(1)
                self.add_column(o, s, t)

    def _span(self, o: int) -> int:
        return math.ceil(self.problem.duration[o] / self.grid)

    def _bucket(self, minute: int) -> int:
        return (minute - self.problem.origin) // self.grid

    def _order_windows(self, o: int) -> list[tuple[int, int, int]]:
        problem = self.problem
        last = problem.last_on_time_start(o)
        spans = [(problem.release[o], last)]
        if problem.availability[o] is not None:
            spans = [
                (max(a, problem.release[o]), min(b - problem.duration[o], last))
                for a, b in problem.availability[o] or ()
            ]
        out = []
        for s in problem.eligible[o]:
            for lo, hi in spans:
                lo_b = max(0, self._bucket(problem.ceil_grid(lo)))
                hi_b = min(self.buckets - 1, self._bucket(problem.floor_grid(hi)))
                if lo_b <= hi_b:
                    out.append((s, lo_b, hi_b))
        return out

    def _base_mask(self, s: int, o: int) -> np.ndarray:
        key = (s, self.problem.duration[o], self.problem.contrast[o])
        mask = self._masks.get(key)
        if mask is None:
            mask = np.zeros(self.buckets, dtype=bool)
            for lo, hi in self.problem.base_ranges(s, key[1], key[2]):
                mask[self._bucket(lo) : self._bucket(hi) + 1] = True
            self._masks[key] = mask
        return mask

    def add_column(self, o: int, s: int, t: int) -> None:
        """Add x[o, s, t] with its rows (created when first covered)."""
        if (o, s, t) in self.columns:
            return
        self.columns.add((o, s, t))
        problem = self.problem
        on_time = t <= problem.last_on_time_start(o)
        x = self.lp.NumVar(0, self.lp.infinity(), "")  # <= 1 comes from the order row, so its dual prices it
        self.column_vars.append(((o, s, t), x))
        self.objective.SetCoefficient(x, problem.weight[o] if on_time else 0)
        self.order_row[o].SetCoefficient(x, 1)
        first = self._bucket(t)
        for b in range(first, first + self._span(o)):
            row = self.scanner_rows.get((s, b))
            if row is None:
                row = self.scanner_rows[(s, b)] = self.lp.Constraint(-self.lp.infinity(), 1)
            row.SetCoefficient(x, 1)
            if o in self.shared_patient:
                key = (problem.patient[o], b)
                prow = self.patient_rows.get(key)
                if prow is None:
                    prow = self.patient_rows[key] = self.lp.Constraint(-self.lp.infinity(), 1)
                prow.SetCoefficient(x, 1)

    def solve(self) -> float:
        """Solve the restricted master; return its optimum."""
        status = self.lp.Solve()
        if status != pywraplp.Solver.OPTIMAL:
            raise RuntimeError(f"the restricted LP did not solve (status {status})")
        return float(self.objective.Value())

    def duals(self) -> Duals:
        """The restricted master's optimal duals."""
        scanner = {s: np.zeros(self.buckets + 64) for s in self.scanners}
        for (s, b), row in self.scanner_rows.items():
            scanner[s][b] = row.dual_value()
        patient: dict[int, np.ndarray] = {}
        for (p, b), row in self.patient_rows.items():
            value = row.dual_value()
            if value > EPSILON:
                patient.setdefault(p, np.zeros(self.buckets + 64))[b] = value
        order = {o: self.order_row[o].dual_value() for o in self.windows}
        return Duals(scanner, patient, order)

    def _cost(self, duals: Duals, prefix: dict[int, np.ndarray], o: int, s: int, b: int) -> float:
        k = self._span(o)
        cost = float(prefix[s][b + k] - prefix[s][b])
        if o in self.shared_patient and self.problem.patient[o] in duals.patient:
            cost += float(duals.patient[self.problem.patient[o]][b : b + k].sum())
        return cost

    def price(self, duals: Duals, per_order: int = 2) -> tuple[list[tuple[int, int, int, float]], float]:
        """Columns with positive reduced cost under `duals` (with that cost), and the Lagrangian bound there.

        Lagrangian bound (a valid upper bound for any duals >= 0 on the capacity rows): the sum of
        those duals, plus each free order's best max(0, w - covered duals), plus each fixed booking's
        w - covered duals.
        """
        problem = self.problem
        prefix = {s: np.concatenate(([0.0], np.cumsum(d))) for s, d in duals.scanner.items()}
        patient_prefix = {p: np.concatenate(([0.0], np.cumsum(d))) for p, d in duals.patient.items()}
        bound = sum(float(d.sum()) for d in duals.scanner.values())
        bound += sum(float(d.sum()) for d in duals.patient.values())
        for o, (s, t) in problem.fixed.items():
            if o in self.order_row:
                b = self._bucket(t)
                bound += problem.weight[o] * (t <= problem.last_on_time_start(o)) - self._cost(duals, prefix, o, s, b)
        window_cost: dict[tuple[int, int], np.ndarray] = {}
        new: list[tuple[int, int, int, float]] = []
        for o, windows in self.windows.items():
            k = self._span(o)
            weight = problem.weight[o]
            order_dual = duals.order.get(o, 0.0)
            options: list[tuple[float, int, int]] = []
            extra = patient_prefix.get(problem.patient[o]) if o in self.shared_patient else None
            best = 0.0
            for s in problem.eligible[o]:
                if (s, k) not in window_cost:
                    window_cost[(s, k)] = prefix[s][k : k + self.buckets] - prefix[s][: self.buckets]
                cost = window_cost[(s, k)]
                mask = self._base_mask(s, o)
                for ws, lo, hi in windows:
                    if ws != s:
                        continue
                    segment = np.where(mask[lo : hi + 1], cost[lo : hi + 1], np.inf)
                    if extra is not None:
                        segment = segment + (extra[lo + k : hi + 1 + k] - extra[lo : hi + 1])
                    j = int(np.argmin(segment))
                    value = weight - float(segment[j])
                    best = max(best, value)
                    if value - order_dual > EPSILON:
                        options.append((value - order_dual, s, lo + j))
            bound += best
            options.sort(reverse=True)
            new += [(o, s, problem.origin + b * self.grid, rc) for rc, s, b in options[:per_order]]
        return new, bound

    def positive_under(
        self, duals: Duals, columns: list[tuple[int, int, int, float]]
    ) -> list[tuple[int, int, int, float]]:
        """The columns whose reduced cost under `duals` (order duals included) is positive."""
        prefix = {s: np.concatenate(([0.0], np.cumsum(d))) for s, d in duals.scanner.items()}
        weight, order = self.problem.weight, duals.order
        return [
            c
            for c in columns
            if weight[c[0]] - order.get(c[0], 0.0) - self._cost(duals, prefix, c[0], c[1], self._bucket(c[2])) > EPSILON
        ]


@dataclass
class Duals:
    """Dual values: per scanner and per patient an array over buckets, per order a number."""

    scanner: dict[int, np.ndarray]
    patient: dict[int, np.ndarray]
    order: dict[int, float]

    def toward(self, other: Duals, share: float) -> Duals:
        """share * self + (1 - share) * other (Wentges smoothing around a stability centre)."""
        patients = set(self.patient) | set(other.patient)
        zero = np.zeros(len(next(iter(self.scanner.values()))) if self.scanner else 0)
        return Duals(
            {s: share * self.scanner[s] + (1 - share) * other.scanner[s] for s in self.scanner},
            {p: share * self.patient.get(p, zero) + (1 - share) * other.patient.get(p, zero) for p in patients},
            {o: share * self.order.get(o, 0.0) + (1 - share) * other.order.get(o, 0.0) for o in self.order},
        )


SMOOTHING = 0.7
# A part stops once its Lagrangian bound is this close to the restricted LP (relative): the bound
# reported is then the Lagrangian one, valid, and at most this much above the LP optimum.
GAP_TO_STOP = 1e-4


@dataclass(frozen=True)
class PartOutcome:
    """How column generation ended on one part."""

    lp_value: float
    upper: float  # valid upper bound on the part's LP (and so on its on-time score)
    converged: bool
    rounds: int


def solve_part(
    part: _Part, seconds: float, *, smoothing: float = SMOOTHING, per_order: int = 4, label: str | None = None
) -> PartOutcome:
    """Column generation on one part until its Lagrangian bound meets the LP, or `seconds` pass."""
    began = time.monotonic()
    best_upper = math.inf
    centre: Duals | None = None
    rounds = 0
    while True:
        tick = time.monotonic()
        value = part.solve()
        lp_seconds = time.monotonic() - tick
        rounds += 1
        current = part.duals()
        # Price at duals smoothed toward the best-bound centre (Wentges); when that finds nothing
        # the current duals would price positive, price at the current duals themselves.
        smoothed = centre.toward(current, smoothing) if centre is not None and smoothing > 0 else current
        new, upper = part.price(smoothed, per_order)
        if upper < best_upper:
            best_upper, centre = upper, smoothed
        new = part.positive_under(current, [c for c in new if c[:3] not in part.columns])
        if not new and smoothed is not current:
            new, upper = part.price(current, per_order)
            if upper < best_upper:
                best_upper, centre = upper, current
            new = [c for c in new if c[:3] not in part.columns]
        if label is not None:
            print(
                f"  {label} ({len(part.orders)} orders): round {rounds} lp={value:.2f} upper={best_upper:.2f} "
                f"columns={len(part.columns)} +{len(new)} lp {lp_seconds:.1f}s at {time.monotonic() - began:.0f}s",
                file=sys.stderr,
            )
        if not new:
            return PartOutcome(value, value, True, rounds)
        if best_upper - value < max(1e-6, GAP_TO_STOP * value):
            return PartOutcome(value, best_upper, True, rounds)
        if time.monotonic() - began > seconds:
            return PartOutcome(value, best_upper, False, rounds)
        for column in new:
            part.add_column(*column[:3])


def time_indexed_bound(
    problem: SchedulingProblem, incumbent: Schedule | None = None, time_limit: float = 600.0, verbose: bool = False
) -> BoundResult:
    """The TI-LP bound of a problem (see the module docstring), by column generation per scanner group."""
    began = time.monotonic()
    orders = [o for o in range(problem.n_orders) if o in problem.fixed or problem.can_be_on_time(o)]
    parts = [_Part(problem, scanners, members) for scanners, members in _components(problem, orders)]
    parts.sort(key=lambda p: len(p.orders))
    total_value = total_lp = 0.0
    rounds = 0
    converged = True
    for index, part in enumerate(parts):
        if incumbent is not None:
            for o in part.orders:
                if incumbent.is_on_time(o) and o not in problem.fixed:
                    part.add_column(o, incumbent.scanner_of[o], incumbent.start_of[o])
        share = (time_limit - (time.monotonic() - began)) / (len(parts) - index)
        outcome = solve_part(part, share, label=f"part {index}" if verbose else None)
        rounds += outcome.rounds
        converged = converged and outcome.converged
        total_lp += outcome.lp_value
        total_value += outcome.upper
    return BoundResult(
        value=total_value,
        lp_value=total_lp,
        converged=converged,
        rounds=rounds,
        columns=sum(len(p.columns) for p in parts),
        seconds=time.monotonic() - began,
    )


def main(argv: list[str]) -> int:
    """Print the TI-LP bound of one instance."""
    import json

    from radflow.scheduling.optimizer.benchmark_format import read_instance
    from radflow.scheduling.optimizer.list_scheduling import greedy

    if not argv:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    limit = float(argv[argv.index("--time-limit") + 1]) if "--time-limit" in argv else 600.0
    with open(argv[0], encoding="utf-8") as source:
        snapshot, _ = read_instance(json.load(source))
    problem = SchedulingProblem(snapshot)
    result = time_indexed_bound(problem, greedy(problem), limit, verbose=True)
    print(json.dumps(result.__dict__))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
