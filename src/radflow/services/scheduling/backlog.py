"""The backlog: the optimizer proposes a plan for orders ready to schedule; a scheduler accepts all or part.

Proposing reads the backlog and capacity, builds the engine's snapshot (UTC minutes from local
midnight today), solves it within the time limit, re-checks every line with the slot search's
rules and stores the proposal beside what first-available and greedy would have done. Accepting
books each chosen line through the booking service in its own transaction, so a line whose slot
was taken meanwhile fails alone, with the reason, and the others go ahead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from radflow.domain.capacity.calendar import Timeline, local_instant
from radflow.domain.clock import Clock
from radflow.domain.errors import NotFound, RadflowError, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.order import Order
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.scheduling.exams import ExamNeed
from radflow.scheduling.optimizer.engine import Policy, solve_schedule
from radflow.scheduling.optimizer.snapshot import ON_TIME_WEIGHT, Assignment, Plan
from radflow.scheduling.plans import LineStatus, PlanLine, ProposedPlan
from radflow.scheduling.search import CapacityPicture
from radflow.scheduling.snapshot_builder import build_snapshot, verified_lines
from radflow.services.access import guard
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.scheduling.booking import BookAppointment, book_in
from radflow.services.scheduling.pictures import (
    PatientNeeds,
    capacity_picture,
    exam_need,
    patient_picture,
    slot_rules,
)
from radflow.services.scheduling.ports import backlog
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ProposeBacklogPlan:
    """Ask the optimizer for a plan of the backlog over the next `days` days, within `seconds`."""

    actor: Principal
    days: int = 14
    seconds: int = 10
    policy: str = Policy.OPTIMIZE.value
    limit: int = 2000


def _local_midnight(ctx: ServiceContext) -> datetime:
    """Today's midnight in the center's zone: the engine's days are then the center's days."""
    zone = ctx.settings.zone
    return local_instant(ctx.clock.now().astimezone(zone).date(), 0, zone)


def propose_plan(cmd: ProposeBacklogPlan, uow: UnitOfWork, ctx: ServiceContext, *, budget_clock: Clock) -> str:
    """Solve the backlog and store the proposal; nothing is booked yet."""
    guard(cmd.actor, Action.BACKLOG_PLAN)
    if not 1 <= cmd.days <= 28 or not 1 <= cmd.seconds <= 600:
        raise ValidationError("plan 1 to 28 days ahead with 1 to 600 seconds for the solver", field="days")
    try:
        policy = Policy(cmd.policy)
    except ValueError:
        raise ValidationError(f"policy is one of {', '.join(p.value for p in Policy)}", field="policy") from None
    with uow:
        start = _local_midnight(ctx)
        line = Timeline.covering(start, start + timedelta(days=cmd.days + 1), slot_rules().grid_minutes)
        orders = backlog(uow).ready_orders(cmd.limit)
        people = backlog(uow).patients([o.patient_id for o in orders])
        needs: dict[str, ExamNeed] = {}
        left_out: dict[str, str] = {}
        for order in orders:
            try:
                needs[order.id] = exam_need(ctx, order, people.get(order.patient_id), PatientNeeds(), line)
            except NotFound as unknown:
                left_out[order.id] = unknown.message
        picture = capacity_picture(uow, ctx, line, {n.kind.protocol.modality for n in needs.values()})
        patients = {pid: patient_picture(uow, ctx, line, pid, ignore_orders=list(needs))
                    for pid in {n.patient_id for n in needs.values()}}
        parts = build_snapshot(picture, list(needs.values()), patients)
        left_out.update(parts.left_out)
        plan = solve_schedule(parts.snapshot, policy, clock=budget_clock, seconds=cmd.seconds)
        yardsticks = {p.value: solve_schedule(parts.snapshot, p, clock=budget_clock, seconds=cmd.seconds)
                      for p in (Policy.FIRST_AVAILABLE, Policy.GREEDY) if p is not policy}
        kept, refused = verified_lines(plan.assignments, needs, picture, patients)
        left_out.update(refused)
        proposal = _proposal(cmd, ctx, line, orders, needs, kept, left_out, plan, yardsticks, picture)
        backlog(uow).add(proposal)
        record_access(uow, ctx, cmd.actor, "backlog.plan", object_type="plan", object_id=proposal.id,
                      detail=f"{len(kept)} of {len(orders)} orders placed ({policy.value})")
        uow.commit()
        return proposal.id


def _proposal(cmd: ProposeBacklogPlan, ctx: ServiceContext, line: Timeline, orders: list[Order],
              needs: dict[str, ExamNeed], kept: list[Assignment], left_out: dict[str, str], plan: Plan,
              yardsticks: dict[str, Plan], picture: CapacityPicture) -> ProposedPlan:
    placed = {a.order_id: a for a in kept}
    lines = []
    for order in orders:
        assignment = placed.get(order.id)
        if assignment is None:
            lines.append(PlanLine(order_id=order.id, patient_id=order.patient_id, track=order.track.value,
                                  scanner_id=None, site_id=None, start=None, end=None, on_time=False,
                                  status=LineStatus.UNPLACED,
                                  message=left_out.get(order.id, "no feasible slot in the horizon")))
            continue
        need = needs[order.id]
        lines.append(PlanLine(order_id=order.id, patient_id=order.patient_id, track=order.track.value,
                              scanner_id=assignment.scanner_id,
                              site_id=picture.calendars[assignment.scanner_id].site.id,
                              start=line.instant(assignment.start),
                              end=line.instant(assignment.start + need.minutes),
                              on_time=assignment.start <= need.target, status=LineStatus.PROPOSED))
    on_time = Counter(pl.track for pl in lines if pl.on_time)
    summary = {
        "orders": len(orders), "placed": len(kept), "on_time_by_track": dict(on_time),
        "orders_by_track": dict(Counter(o.track.value for o in orders)),
        # After the line-by-line check (and any repair); the engine's own figure beside it.
        "on_time_score": sum(ON_TIME_WEIGHT.get(pl.track, 1) for pl in lines if pl.on_time),  # type: ignore[call-overload]
        "engine_on_time_score": plan.notes.get("on_time_score"), "solver": plan.solver,
        "yardsticks": {name: {"on_time_score": p.notes.get("on_time_score"), "scheduled": len(p.assignments)}
                       for name, p in yardsticks.items()},
    }
    return ProposedPlan(id=new_id(), created_at=ctx.clock.now(), created_by=cmd.actor.user_id,
                        policy=cmd.policy, horizon_start=line.origin, horizon_end=line.end, seconds=cmd.seconds,
                        summary=summary, lines=lines)


@dataclass(frozen=True)
class GetPlan:
    """A proposed plan with its lines."""

    actor: Principal
    plan_id: str


def get_plan(cmd: GetPlan, uow: UnitOfWork, ctx: ServiceContext) -> ProposedPlan:
    """Read a plan (audited: it lists patients' orders)."""
    guard(cmd.actor, Action.BACKLOG_PLAN)
    with uow:
        plan = backlog(uow).get(cmd.plan_id)
        record_access(uow, ctx, cmd.actor, "backlog.read", object_type="plan", object_id=plan.id,
                      detail=f"{len(plan.lines)} lines")
        uow.commit()
        return plan


@dataclass(frozen=True)
class ListPlans:
    """The newest proposals."""

    actor: Principal
    limit: int = 20


def list_plans(cmd: ListPlans, uow: UnitOfWork, ctx: ServiceContext) -> list[ProposedPlan]:
    """Recent plans without their lines."""
    guard(cmd.actor, Action.BACKLOG_PLAN)
    with uow:
        plans = backlog(uow).recent(cmd.limit)
        record_access(uow, ctx, cmd.actor, "backlog.list", object_type="plan", detail=f"{len(plans)} plans")
        uow.commit()
        return plans


@dataclass(frozen=True)
class AcceptPlanLines:
    """Book the chosen lines of a plan (all proposed ones when `order_ids` is empty)."""

    actor: Principal
    plan_id: str
    order_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class AcceptResult:
    """What became of the accepted lines."""

    booked: int
    failed: int
    messages: dict[str, str]


def accept_plan_lines(cmd: AcceptPlanLines, uow: UnitOfWork, ctx: ServiceContext) -> AcceptResult:
    """Book each chosen line in a transaction of its own; a refused line is marked failed with the reason."""
    guard(cmd.actor, Action.BACKLOG_PLAN)
    with uow:
        plan = backlog(uow).get(cmd.plan_id)
    wanted = set(cmd.order_ids)
    chosen = [pl for pl in plan.lines
              if pl.status in (LineStatus.PROPOSED, LineStatus.FAILED) and (not wanted or pl.order_id in wanted)]
    if wanted - {pl.order_id for pl in chosen}:
        raise ValidationError("some orders are not open lines of this plan", field="order_ids")
    booked, messages = 0, {}
    for chosen_line in sorted(chosen, key=lambda pl: pl.start or plan.horizon_start):
        try:
            _book_line(uow, ctx, cmd.actor, plan.id, chosen_line.order_id)
            booked += 1
        except RadflowError as refused:
            messages[chosen_line.order_id] = refused.message
            with uow:  # the booking's transaction was rolled back: record the failure in one of its own
                plan_line = backlog(uow).get(plan.id).line(chosen_line.order_id)
                if plan_line.status is LineStatus.PROPOSED:
                    plan_line.move(LineStatus.FAILED, message=refused.message)
                else:
                    plan_line.message = refused.message
                backlog(uow).save_line(plan.id, plan_line)
                uow.commit()
    return AcceptResult(booked=booked, failed=len(messages), messages=messages)


def _book_line(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, plan_id: str, order_id: str) -> None:
    with uow:
        plan_line = backlog(uow).get(plan_id).line(order_id)
        assert plan_line.scanner_id is not None and plan_line.start is not None
        appointment = book_in(uow, ctx, BookAppointment(actor=actor, order_id=order_id,
                                                        scanner_id=plan_line.scanner_id, start=plan_line.start,
                                                        note=f"backlog plan {plan_id}"))
        plan_line.move(LineStatus.BOOKED, appointment_id=appointment.id)
        backlog(uow).save_line(plan_id, plan_line)
        uow.commit()


@dataclass(frozen=True)
class SkipPlanLines:
    """Leave lines of a plan out (they stay in the backlog)."""

    actor: Principal
    plan_id: str
    order_ids: tuple[str, ...]


def skip_plan_lines(cmd: SkipPlanLines, uow: UnitOfWork, ctx: ServiceContext) -> int:
    """Mark lines skipped."""
    guard(cmd.actor, Action.BACKLOG_PLAN)
    with uow:
        plan = backlog(uow).get(cmd.plan_id)
        for order_id in cmd.order_ids:
            try:
                plan_line = plan.line(order_id)
            except KeyError:
                raise NotFound(f"order '{order_id}' is not in plan {plan.id}") from None
            plan_line.move(LineStatus.SKIPPED, message=f"skipped by {cmd.actor.username}")
            backlog(uow).save_line(plan.id, plan_line)
        record_access(uow, ctx, cmd.actor, "backlog.skip", object_type="plan", object_id=plan.id,
                      detail=f"{len(cmd.order_ids)} lines")
        uow.commit()
        return len(cmd.order_ids)
