"""Finding slots: the best few options for one order, and one-day visits for a patient's orders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from radflow.domain.capacity.calendar import Timeline
from radflow.domain.errors import Conflict, ValidationError
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Order
from radflow.domain.policy import Action
from radflow.domain.protocols import Preparation
from radflow.domain.users import Principal
from radflow.scheduling.exams import ExamNeed
from radflow.scheduling.search import CapacityPicture, SlotOption, find_slots
from radflow.scheduling.visit import MAX_EXAMS_PER_VISIT, plan_visits
from radflow.services.access import guard_order
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.scheduling.pictures import (
    HORIZON_DAYS,
    PatientNeeds,
    capacity_picture,
    exam_need,
    patient_facts,
    patient_picture,
    search_line,
)
from radflow.services.scheduling.ports import backlog
from radflow.services.unit_of_work import UnitOfWork

#: States in which an order may be offered slots (a scheduled order: to reschedule it).
SEARCHABLE = frozenset({OrderState.READY_TO_SCHEDULE, OrderState.SCHEDULED})


@dataclass(frozen=True)
class PatientWishes:
    """When the patient can come and what they prefer."""

    availability: tuple[tuple[datetime, datetime], ...] | None = None
    preferred_sites: tuple[str, ...] = ()
    part_of_day: str = ""  # morning | afternoon


@dataclass(frozen=True)
class FindSlots:
    """The best options for one order over the next `days` days."""

    actor: Principal
    order_id: str
    days: int = HORIZON_DAYS
    not_before: datetime | None = None
    limit: int = 5
    needs: PatientNeeds = field(default_factory=PatientNeeds)
    wishes: PatientWishes = field(default_factory=PatientWishes)


@dataclass(frozen=True)
class SlotOffer:
    """One option as people read it: where, when (UTC), and whether it keeps the track's target."""

    order_id: str
    scanner_id: str
    scanner_name: str
    site_id: str
    site_name: str
    timezone: str
    start: datetime
    end: datetime
    patient_from: datetime
    arrive_by: datetime
    past_target: bool
    preferred: bool


@dataclass(frozen=True)
class SlotSearch:
    """What was searched for and the options found."""

    order_id: str
    accession_number: str
    protocol_code: str
    contrast: str
    track: str
    target_at: datetime
    slot_minutes: int
    slot_explained: str
    offers: tuple[SlotOffer, ...]


def _offer(option: SlotOption, picture: CapacityPicture, need: ExamNeed, preparation: Preparation) -> SlotOffer:
    calendar = picture.calendars[option.scanner_id]
    line = picture.line
    patient_from = line.instant(option.patient_from)
    return SlotOffer(
        order_id=option.order_id, scanner_id=option.scanner_id, scanner_name=calendar.scanner.name,
        site_id=option.site_id, site_name=calendar.site.name, timezone=calendar.site.timezone,
        start=line.instant(option.start), end=line.instant(option.end), patient_from=patient_from,
        arrive_by=patient_from - timedelta(minutes=preparation.arrival_minutes_before),
        past_target=option.past_target, preferred=option.preferred,
    )


def _searchable(order: Order) -> None:
    if order.state not in SEARCHABLE:
        raise Conflict(f"order {order.accession_number} is {order.state.value.replace('_', ' ')}: slots are "
                       "offered for orders ready to schedule (or scheduled, to move them)")


#: Days searched first, then more: the best options are nearly always in the first days, and the
#: booked time of a few days is far less to read than that of the whole horizon.
WIDENING_DAYS = (2, 5)


def _settled(options: list[SlotOption], limit: int, wishes: PatientWishes) -> bool:
    """Whether a longer horizon cannot outrank these options (later starts rank lower, unless preferred)."""
    if len(options) < limit:
        return False
    return not (wishes.preferred_sites or wishes.part_of_day) or all(o.preferred for o in options)


def find_order_slots(cmd: FindSlots, uow: UnitOfWork, ctx: ServiceContext) -> SlotSearch:
    """Search slots for one order (read-only; the search is audited as a read of the order)."""
    if not 1 <= cmd.limit <= 50:
        raise ValidationError("ask for 1 to 50 options", field="limit")
    with uow:
        order = backlog(uow).order_snapshot(cmd.order_id)  # read only: the search changes no order
        guard_order(cmd.actor, Action.SCHEDULE_SEARCH, order)
        _searchable(order)
        facts = patient_facts(uow, order.patient_id)
        windows = [*(d for d in WIDENING_DAYS if d < cmd.days), cmd.days]
        while windows:
            days = windows.pop(0)
            line = search_line(ctx, cmd.not_before, days)
            need = exam_need(ctx, order, facts, cmd.needs, line)
            picture = capacity_picture(uow, ctx, line, [need.kind.protocol.modality])
            patient = patient_picture(uow, ctx, line, order.patient_id, ignore_orders=[order.id],
                                      availability=cmd.wishes.availability,
                                      preferred_sites=cmd.wishes.preferred_sites, part_of_day=cmd.wishes.part_of_day)
            options = find_slots(need, picture, patient, limit=cmd.limit)
            if _settled(options, cmd.limit, cmd.wishes):
                break
            if 2 * len(options) < cmd.limit:
                windows = windows[-1:]  # capacity is scarce: go straight to the whole horizon
        preparation = need.kind.protocol.preparation_for(need.kind.variant)
        record_access(uow, ctx, cmd.actor, "schedule.search", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail=f"{len(options)} options within {days} days")
        uow.commit()
        return SlotSearch(order_id=order.id, accession_number=order.accession_number,
                          protocol_code=order.protocol_code, contrast=need.kind.variant.phase.value,
                          track=order.track.value, target_at=order.target_at, slot_minutes=need.minutes,
                          slot_explained=need.slot.explain(),
                          offers=tuple(_offer(o, picture, need, preparation) for o in options))


@dataclass(frozen=True)
class FindVisit:
    """One-day visits for several orders of one patient."""

    actor: Principal
    order_ids: tuple[str, ...]
    days: int = HORIZON_DAYS
    not_before: datetime | None = None
    limit: int = 3
    needs: PatientNeeds = field(default_factory=PatientNeeds)
    wishes: PatientWishes = field(default_factory=PatientWishes)


@dataclass(frozen=True)
class VisitOffer:
    """A day on which all the exams fit, in order, with the merged preparation."""

    day: str
    offers: tuple[SlotOffer, ...]
    arrive_by: datetime
    leave_at: datetime
    past_target: bool
    preparation: Preparation


def _orders_of_one_patient(uow: UnitOfWork, actor: Principal, order_ids: Sequence[str]) -> list[Order]:
    if not 2 <= len(set(order_ids)) <= MAX_EXAMS_PER_VISIT:
        raise ValidationError(f"a visit joins 2 to {MAX_EXAMS_PER_VISIT} different orders", field="order_ids")
    orders = [uow.orders.get(order_id) for order_id in dict.fromkeys(order_ids)]
    for order in orders:
        guard_order(actor, Action.SCHEDULE_SEARCH, order)
        _searchable(order)
    if len({o.patient_id for o in orders}) != 1:
        raise ValidationError("the orders of one visit belong to one patient", field="order_ids")
    return orders


def find_visit(cmd: FindVisit, uow: UnitOfWork, ctx: ServiceContext) -> list[VisitOffer]:
    """Search days on which all the patient's orders fit in one visit, in a valid sequence."""
    with uow:
        orders = _orders_of_one_patient(uow, cmd.actor, cmd.order_ids)
        patient_id = orders[0].patient_id
        line: Timeline = search_line(ctx, cmd.not_before, cmd.days)
        facts = patient_facts(uow, patient_id)
        needs = [exam_need(ctx, order, facts, cmd.needs, line) for order in orders]
        picture = capacity_picture(uow, ctx, line, {n.kind.protocol.modality for n in needs})
        people = patient_picture(uow, ctx, line, patient_id, ignore_orders=[o.id for o in orders],
                                 availability=cmd.wishes.availability, preferred_sites=cmd.wishes.preferred_sites)
        visits = plan_visits(needs, picture, people, limit=cmd.limit)
        by_order = {n.order_id: n for n in needs}
        result = []
        for visit in visits:
            offers = tuple(_offer(s, picture, by_order[s.order_id], visit.preparation) for s in visit.slots)
            result.append(VisitOffer(day=visit.day, offers=offers, arrive_by=min(o.arrive_by for o in offers),
                                     leave_at=max(o.end for o in offers), past_target=visit.past_target,
                                     preparation=visit.preparation))
        record_access(uow, ctx, cmd.actor, "schedule.search", patient_id=patient_id, object_type="order",
                      object_id=",".join(o.id for o in orders), detail=f"visit: {len(result)} days")
        uow.commit()
        return result
