"""How good a schedule is: the on-time score first, then what a scheduler also cares about.

The on-time score is FORMAT §5's: the weights of the exams that end by their due time. After it
come more exams booked at all, fewer separate visit days for patients with several exams, and
shorter waits for stat and urgent work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from radflow.scheduling.optimizer.schedule import Schedule


@dataclass(frozen=True, slots=True)
class ScheduleQuality:
    """The figures a plan is judged by, computed from a schedule."""

    on_time_score: int
    on_time_by_rank: tuple[int, int, int]
    orders_by_rank: tuple[int, int, int]
    scheduled: int
    visit_days: int
    multi_exam_patients: int
    urgent_wait_minutes: int

    @property
    def mean_visit_days(self) -> float:
        """Mean distinct exam days over patients with two or more booked exams (1.0 = one visit each)."""
        return self.visit_days / self.multi_exam_patients if self.multi_exam_patients else 0.0

    def ranking(self) -> tuple[int, int, int, int]:
        """Lexicographic key: higher is better."""
        return (self.on_time_score, self.scheduled, -self.visit_days, -self.urgent_wait_minutes)

    def keeps_priorities_of(self, reference: ScheduleQuality) -> bool:
        """Whether stat and urgent exams are on time at least as often as in `reference`."""
        return (
            self.on_time_by_rank[0] >= reference.on_time_by_rank[0]
            and self.on_time_by_rank[1] >= reference.on_time_by_rank[1]
        )

    def changed_by(self, before: ScheduleQuality, after: ScheduleQuality) -> ScheduleQuality:
        """This quality after a part of the schedule went from `before` to `after` (both partial)."""
        return ScheduleQuality(
            on_time_score=self.on_time_score - before.on_time_score + after.on_time_score,
            on_time_by_rank=(
                self.on_time_by_rank[0] - before.on_time_by_rank[0] + after.on_time_by_rank[0],
                self.on_time_by_rank[1] - before.on_time_by_rank[1] + after.on_time_by_rank[1],
                self.on_time_by_rank[2] - before.on_time_by_rank[2] + after.on_time_by_rank[2],
            ),
            orders_by_rank=self.orders_by_rank,
            scheduled=self.scheduled - before.scheduled + after.scheduled,
            visit_days=self.visit_days - before.visit_days + after.visit_days,
            multi_exam_patients=self.multi_exam_patients - before.multi_exam_patients + after.multi_exam_patients,
            urgent_wait_minutes=self.urgent_wait_minutes - before.urgent_wait_minutes + after.urgent_wait_minutes,
        )


def measure_part(schedule: Schedule, orders: Iterable[int]) -> ScheduleQuality:
    """The share of `orders` and of their patients' visit days in the quality (to update it after a move)."""
    problem = schedule.problem
    chosen = set(orders)
    patients = {problem.patient[o] for o in chosen if len(problem.patient_orders[problem.patient[o]]) > 1}
    return _measure(schedule, chosen, patients)


def measure(schedule: Schedule) -> ScheduleQuality:
    """Score a schedule."""
    problem = schedule.problem
    return _measure(schedule, range(problem.n_orders), range(len(problem.patient_orders)))


def _measure(schedule: Schedule, orders: Iterable[int], patients: Iterable[int]) -> ScheduleQuality:
    problem = schedule.problem
    on_time = [0, 0, 0]
    counts = [0, 0, 0]
    score = scheduled = wait = 0
    for order in orders:
        rank = problem.rank[order]
        counts[rank] += 1
        if not schedule.is_assigned(order):
            continue
        scheduled += 1
        start = schedule.start_of[order]
        if start <= problem.last_on_time_start(order):
            on_time[rank] += 1
            score += problem.weight[order]
        if rank < 2:
            wait += start - problem.release[order]
    visit_days = multi = 0
    for patient in patients:
        members = problem.patient_orders[patient]
        if len(members) < 2:
            continue
        days = {problem.day_of(schedule.start_of[o]) for o in members if schedule.is_assigned(o)}
        if sum(1 for o in members if schedule.is_assigned(o)) > 1:
            visit_days += len(days)
            multi += 1
    return ScheduleQuality(
        on_time_score=score,
        on_time_by_rank=(on_time[0], on_time[1], on_time[2]),
        orders_by_rank=(counts[0], counts[1], counts[2]),
        scheduled=scheduled,
        visit_days=visit_days,
        multi_exam_patients=multi,
        urgent_wait_minutes=wait,
    )
