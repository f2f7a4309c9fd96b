"""The optimizer's entry point: a snapshot and a policy in, a checked plan out.

`optimize` keeps greedy's plan as the incumbent to beat: it starts from the best of greedy and
the deadline-first constructions, improves it by large-neighbourhood search until the deadline,
and returns the result only if the independent checker finds it feasible and it is no worse than
greedy on the on-time score and on stat and urgent on-time counts; otherwise greedy's plan.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from radflow.domain.clock import Clock
from radflow.domain.errors import RadflowError
from radflow.scheduling.optimizer.budget import Deadline
from radflow.scheduling.optimizer.checker import check_plan
from radflow.scheduling.optimizer.improvement import NeighbourhoodSearch, Progress
from radflow.scheduling.optimizer.list_scheduling import constructive_keys, deadline_first, first_available, greedy
from radflow.scheduling.optimizer.problem import SchedulingProblem
from radflow.scheduling.optimizer.schedule import Schedule
from radflow.scheduling.optimizer.scoring import ScheduleQuality, measure
from radflow.scheduling.optimizer.snapshot import Plan, Snapshot
from radflow.scheduling.optimizer.visits import consolidate_visits

SOLVER_NAME = "radflow-optimizer 1"


class Policy(StrEnum):
    """How to build the plan."""

    OPTIMIZE = "optimize"
    GREEDY = "greedy"
    FIRST_AVAILABLE = "first-available"


class InfeasiblePlan(RadflowError):
    """The engine produced a plan that breaks a rule: a defect of the engine, never of the input."""

    code = "infeasible-plan"


def _checked(snapshot: Snapshot, plan: Plan) -> Plan:
    violations = check_plan(snapshot, plan)
    if violations:
        first = violations[0]
        raise InfeasiblePlan(f"the {plan.solver} plan breaks rule {first.rule}: {first.message}")
    return plan


def _notes(quality: ScheduleQuality, extra: dict[str, object] | None = None) -> dict[str, object]:
    return {"on_time_score": quality.on_time_score, "scheduled": quality.scheduled, **(extra or {})}


def _start(problem: SchedulingProblem, reference: Schedule, quality: ScheduleQuality, deadline: Deadline) -> Schedule:
    """The best starting schedule among greedy and the deadline-first constructions tried in the first 5 %.

    The first ordering always runs; the others only while they fit in the share (on large instances
    the neighbourhood search gains more from the time than further constructions would).
    """
    best, best_quality = reference, quality
    share = deadline.elapsed() + 0.05 * deadline.remaining()
    for key in constructive_keys(problem):
        if deadline.elapsed() > share:
            break
        candidate = deadline_first(problem, key)
        candidate_quality = measure(candidate)
        if candidate_quality.keeps_priorities_of(quality) and candidate_quality.ranking() > best_quality.ranking():
            best, best_quality = candidate, candidate_quality
    return best.copy() if best is reference else best


def solve_schedule(
    snapshot: Snapshot,
    policy: Policy,
    *,
    clock: Clock,
    seconds: float,
    progress: Progress | None = None,
    workers: int = 2,
) -> Plan:
    """Build a plan for `snapshot` with `policy` within `seconds` (optimize uses all of them if it can)."""
    deadline = Deadline(clock, seconds)
    problem = SchedulingProblem(snapshot)
    if policy is Policy.FIRST_AVAILABLE:
        schedule = first_available(problem)
        return _checked(snapshot, schedule.to_plan(policy.value, _notes(measure(schedule))))
    reference = greedy(problem)
    reference_quality = measure(reference)
    greedy_plan = _checked(snapshot, reference.to_plan(Policy.GREEDY.value, _notes(reference_quality)))
    if policy is Policy.GREEDY:
        return greedy_plan
    report: Callable[[float, str], None] = progress or (lambda _elapsed, _message: None)
    report(deadline.elapsed(), f"greedy {reference_quality.on_time_score}")
    schedule = _start(problem, reference, reference_quality, deadline)
    # the search stops early enough to leave time for fewer visit days and the final checks
    reserve = 0.5 + 0.03 * deadline.remaining() + problem.n_orders / 20_000
    search = NeighbourhoodSearch(schedule, reference_quality, Deadline(clock, deadline.remaining() - reserve), workers)
    report(deadline.elapsed(), f"start {search.quality.on_time_score}")
    log = search.run(progress)
    consolidate_visits(schedule, deadline)
    quality = measure(schedule)
    plan = schedule.to_plan(
        Policy.OPTIMIZE.value,
        _notes(
            quality,
            {
                "greedy_on_time_score": reference_quality.on_time_score,
                "neighbourhoods": log.neighbourhoods,
                "improvements": log.improved,
                "sweeps": log.sweeps,
            },
        ),
    )
    if (
        check_plan(snapshot, plan)
        or not quality.keeps_priorities_of(reference_quality)
        or (quality.on_time_score < reference_quality.on_time_score)
    ):
        return greedy_plan  # never worse than greedy, never infeasible
    return plan
