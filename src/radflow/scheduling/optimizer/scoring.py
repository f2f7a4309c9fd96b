"""How good a schedule is: the on-time score first, then what a scheduler also cares about.

The on-time score is FORMAT §5's: the weights of the exams that end by their due time. After it
come more exams booked at all, fewer separate visit days for patients with several exams, and
shorter waits for stat and urgent work.
"""

from __future__ import annotations

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


def measure(schedule: Schedule) -> ScheduleQuality:
    """Score a schedule."""
    problem = schedule.problem
    on_time = [0, 0, 0]
    orders = [0, 0, 0]
    score = scheduled = wait = 0
    days_by_patient: dict[int, set[int]] = {}
    exams_by_patient: dict[int, int] = {}
    for order in range(problem.n_orders):
        rank = problem.rank[order]
        orders[rank] += 1
        if not schedule.is_assigned(order):
            continue
        scheduled += 1
        start = schedule.start_of[order]
        if start <= problem.last_on_time_start(order):
            on_time[rank] += 1
            score += problem.weight[order]
        if rank < 2:
            wait += start - problem.release[order]
        patient = problem.patient[order]
        if len(problem.patient_orders[patient]) > 1:
            days_by_patient.setdefault(patient, set()).add(problem.day_of(start))
            exams_by_patient[patient] = exams_by_patient.get(patient, 0) + 1
    multi = [p for p, n in exams_by_patient.items() if n > 1]
    return ScheduleQuality(
        on_time_score=score,
        on_time_by_rank=(on_time[0], on_time[1], on_time[2]),
        orders_by_rank=(orders[0], orders[1], orders[2]),
        scheduled=scheduled,
        visit_days=sum(len(days_by_patient[p]) for p in multi),
        multi_exam_patients=len(multi),
        urgent_wait_minutes=wait,
    )
