"""The backlog plan: the optimizer proposes, the scheduler accepts all or part, bookings go through the same service."""

from __future__ import annotations

from datetime import time

from scheduling_center import NY, SchedulingCenter, ny, scanner

from radflow.catalog.loader import Catalog
from radflow.scheduling.plans import LineStatus, ProposedPlan
from radflow.services.scheduling.backlog import (
    AcceptPlanLines,
    AcceptResult,
    GetPlan,
    ProposeBacklogPlan,
    SkipPlanLines,
)
from radflow.services.scheduling.booking import BookAppointment


def propose(center: SchedulingCenter, policy: str = "greedy", seconds: int = 1) -> ProposedPlan:
    plan_id = center.bus.handle(ProposeBacklogPlan(actor=center.scheduler, policy=policy, seconds=seconds))
    plan: ProposedPlan = center.bus.handle(GetPlan(actor=center.scheduler, plan_id=plan_id))
    return plan


def backlog(center: SchedulingCenter) -> dict[str, str]:
    patient = center.patient()
    return {
        "stat": center.order("CT-HEAD", track="stat"),
        "urgent": center.order("MR-LSPINE", track="urgent"),
        "routine": center.order("MR-BRAIN"),
        "fasting": center.order("US-ABD"),
        "thyroid": center.order("NM-THYROID-UPTAKE", patient),
        "iodinated": center.order("CT-ABDPEL", patient, contrast="with"),
    }


def test_the_plan_places_every_order_without_breaking_a_rule(center: SchedulingCenter) -> None:
    orders = backlog(center)
    plan = propose(center, "optimize", seconds=2)
    lines = {line.order_id: line for line in plan.lines}
    assert all(line.status is LineStatus.PROPOSED for line in lines.values())
    stat = lines[orders["stat"]]
    assert stat.on_time and stat.start is not None and stat.start <= ny(2, 13)
    fasting = lines[orders["fasting"]]
    assert fasting.start is not None and fasting.start.astimezone(ny(2, 0).tzinfo).hour < 16  # 11:00 New York
    thyroid, iodinated = lines[orders["thyroid"]], lines[orders["iodinated"]]
    assert thyroid.end is not None and iodinated.start is not None
    assert thyroid.end <= iodinated.start or (iodinated.start - thyroid.end).days >= 42
    assert plan.summary["placed"] == 6 and "yardsticks" in plan.summary


def test_accepting_all_books_every_line_and_schedules_the_orders(center: SchedulingCenter) -> None:
    orders = backlog(center)
    plan = propose(center)
    result: AcceptResult = center.bus.handle(AcceptPlanLines(actor=center.scheduler, plan_id=plan.id))
    assert (result.booked, result.failed) == (6, 0)
    assert {center.state(o) for o in orders.values()} == {"scheduled"}
    again = center.bus.handle(GetPlan(actor=center.scheduler, plan_id=plan.id))
    assert {line.status for line in again.lines} == {LineStatus.BOOKED}


def test_a_line_whose_slot_was_taken_meanwhile_fails_alone_with_the_reason(center: SchedulingCenter) -> None:
    orders = backlog(center)
    plan = propose(center)
    urgent = next(line for line in plan.lines if line.order_id == orders["urgent"])
    assert urgent.scanner_id is not None and urgent.start is not None
    intruder = center.order("MR-KNEE")
    center.bus.handle(BookAppointment(actor=center.scheduler, order_id=intruder, scanner_id=urgent.scanner_id,
                                      start=urgent.start))
    result: AcceptResult = center.bus.handle(AcceptPlanLines(actor=center.scheduler, plan_id=plan.id))
    assert result.failed == 1 and "already booked" in result.messages[orders["urgent"]]
    assert result.booked == 5
    assert center.state(orders["urgent"]) == "ready_to_schedule"


def test_a_scheduler_accepts_part_and_skips_the_rest(center: SchedulingCenter) -> None:
    orders = backlog(center)
    plan = propose(center)
    center.bus.handle(AcceptPlanLines(actor=center.scheduler, plan_id=plan.id, order_ids=(orders["stat"],)))
    center.bus.handle(SkipPlanLines(actor=center.scheduler, plan_id=plan.id, order_ids=(orders["routine"],)))
    assert center.state(orders["stat"]) == "scheduled"
    assert center.state(orders["routine"]) == "ready_to_schedule"
    again = center.bus.handle(GetPlan(actor=center.scheduler, plan_id=plan.id))
    assert again.counts() == {"booked": 1, "skipped": 1, "proposed": 4}


def test_booked_appointments_are_capacity_the_plan_works_around(center: SchedulingCenter) -> None:
    taken = center.order("CT-HEAD")
    center.bus.handle(BookAppointment(actor=center.scheduler, order_id=taken, scanner_id="CT1", start=ny(2, 9)))
    stat = center.order("CT-HEAD", track="stat")
    plan = propose(center)
    line = plan.lines[0]
    assert line.order_id == stat and line.start is not None and line.start >= ny(2, 9, 15)


def test_a_batch_plan_keeps_each_exam_inside_the_day_it_starts(catalog: Catalog) -> None:
    every_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    center = SchedulingCenter(catalog, scanners=[scanner("CT9", "CT", hours=("00:00", "24:00"), days=every_day)])
    center.clock.set(ny(2, 22, 50))  # 20-minute slots from 22:50: one would straddle midnight
    for _ in range(12):
        center.order("CT-HEAD")
    plan = propose(center)
    starts = [(line.start.astimezone(NY), line.end.astimezone(NY)) for line in plan.lines
              if line.start is not None and line.end is not None]
    assert len(starts) == 12
    assert all(start.date() == end.date() or end.time() == time(0) for start, end in starts)
    assert any(start.date() > ny(2, 22, 50).astimezone(NY).date() for start, _ in starts)  # the night went on
