"""No-shows: marking a missed appointment, the rescheduling queue, and the risk model's use and refits.

A missed appointment moves the order to `no_show` (the rescheduling queue) and its appointment to
no-show in one unit of work; that appointment counts in the patient's history, which raises their
predicted risk next time — and so the intensity of their reminders (`domain.reminders`). The model
is refitted on the center's own history by a monthly job; the booking service asks
`expected_no_shows_in` for the expected no-show probability of candidate slots (overbooking).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from radflow.domain.errors import Conflict, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.jobs import Job
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.noshow import NoShowFeatures, slot_no_show_probability
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.jobs import enqueue
from radflow.services.preparation import site_zone
from radflow.services.reminders.planning import current_model
from radflow.services.reminders.ports import MessagingTools, messaging
from radflow.services.scheduling.ports import appointments
from radflow.services.unit_of_work import UnitOfWork

NOSHOW_REFIT = "noshow_refit"
REFIT_EVERY = timedelta(days=30)
HISTORY_WINDOW = timedelta(days=730)
HELD_OUT = timedelta(days=90)


@dataclass(frozen=True)
class MarkNoShow:
    """The patient did not come to the order's booked appointment."""

    actor: Principal
    order_id: str
    note: str = ""


def mark_no_show(cmd: MarkNoShow, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Mark the appointment missed and put the order in the rescheduling queue (`no_show`)."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.NO_SHOW_MARK, order)
        appointment = appointments(uow).live_for_order(order.id)
        if appointment is None:
            raise Conflict(f"order {order.accession_number} is {order.state.value}: it has no booked appointment "
                           "to mark as missed")
        now = ctx.clock.now()
        if now < appointment.start:
            zone = site_zone(uow, appointment.site_id)
            raise Conflict(f"the appointment starts at {appointment.start.astimezone(zone):%H:%M on %b %d}: "
                           "a patient can be marked missing only once it has begun")
        # The booking service follows the order (services.scheduling.appointments.follow_order): the
        # `no_show` transition marks the live appointment missed in this same unit of work.
        order.transition(OrderEvent.NO_SHOW, by=cmd.actor.user_id, at=now, reason=validate_note(cmd.note),
                         details={"appointment_id": appointment.id, "scanner_id": appointment.scanner_id,
                                  "start": appointment.start.isoformat()})
        record_access(uow, ctx, cmd.actor, "appointment.no_show", patient_id=order.patient_id,
                      object_type="appointment", object_id=appointment.id, detail=cmd.note.strip())
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class ReturnToScheduling:
    """A missed order goes back to `ready_to_schedule` for a new slot (the patient was reached)."""

    actor: Principal
    order_id: str
    note: str = ""


def return_to_scheduling(cmd: ReturnToScheduling, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Move a `no_show` order back to the scheduling queue."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.NO_SHOW_MARK, order)
        if order.state is not OrderState.NO_SHOW:
            raise Conflict(f"order {order.accession_number} is {order.state.value}, not a missed appointment")
        order.transition(OrderEvent.RETURNED_TO_SCHEDULING, by=cmd.actor.user_id, at=ctx.clock.now(),
                         reason=validate_note(cmd.note))
        record_access(uow, ctx, cmd.actor, "order.return_to_scheduling", patient_id=order.patient_id,
                      object_type="order", object_id=order.id, detail=cmd.note.strip())
        uow.commit()
        return order.state.value


def expected_no_shows_in(uow: UnitOfWork, tools: MessagingTools, *, modality: str, starts: Sequence[datetime],
                         site_id: str, booked_at: datetime, patient_id: str | None = None) -> list[float]:
    """Expected no-show probability of each candidate start (for an overbooking policy), in an open unit of work.

    With a patient, their own history counts; without one, a patient new to the center is assumed.
    """
    zone = site_zone(uow, site_id)
    visits, missed = messaging(uow).attendance(patient_id, before=booked_at) if patient_id else (0, 0)
    model = current_model(uow, tools)
    return [slot_no_show_probability(model, start=start, modality=modality, booked_at=booked_at, zone=zone,
                                     prior_no_shows=missed, prior_visits=visits) for start in starts]


@dataclass(frozen=True)
class ExpectedNoShows:
    """Query: expected no-show probability per candidate slot (the booking engineer's overbooking input)."""

    actor: Principal
    modality: str
    site_id: str
    starts: tuple[datetime, ...]
    patient_id: str | None = None


def expected_no_shows(cmd: ExpectedNoShows, uow: UnitOfWork, ctx: ServiceContext,
                      tools: MessagingTools) -> list[float]:
    """Answer ExpectedNoShows."""
    with uow:
        guard(cmd.actor, Action.SCHEDULE_SEARCH)
        return expected_no_shows_in(uow, tools, modality=cmd.modality, starts=cmd.starts, site_id=cmd.site_id,
                                    booked_at=ctx.clock.now(), patient_id=cmd.patient_id)


@dataclass(frozen=True)
class RefitNoShowModel:
    """Refit the no-show model on the center's history now (it also refits itself monthly)."""

    actor: Principal


def refit_no_show_model(cmd: RefitNoShowModel, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Queue a refit job; returns its key."""
    with uow:
        guard(cmd.actor, Action.NO_SHOW_MODEL_MANAGE)
        now = ctx.clock.now()
        key = f"{NOSHOW_REFIT}.{now:%Y%m%dT%H%M}"
        enqueue(uow, ctx, NOSHOW_REFIT, key, {"requested_by": cmd.actor.user_id})
        record_access(uow, ctx, cmd.actor, "noshow.refit", detail=key)
        uow.commit()
        return key


def _auc(scores: list[float], outcomes: list[bool]) -> float | None:
    """Area under the ROC curve: the chance a missed appointment scores above an attended one."""
    positives = [s for s, o in zip(scores, outcomes, strict=True) if o]
    negatives = [s for s, o in zip(scores, outcomes, strict=True) if not o]
    if not positives or not negatives:
        return None
    ranked = sorted((s, o) for s, o in zip(scores, outcomes, strict=True))
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        rank_sum += sum((i + j) / 2 + 1 for k in range(i, j + 1) if ranked[k][1])
        i = j + 1
    return (rank_sum - len(positives) * (len(positives) + 1) / 2) / (len(positives) * len(negatives))


def refit_job(job: Job, uow: UnitOfWork, ctx: ServiceContext, tools: MessagingTools) -> dict[str, Any]:
    """Job: fit on two years of history, judge on its last 90 days, store; the next refit is queued."""
    now = ctx.clock.now()
    enqueue(uow, ctx, NOSHOW_REFIT, f"{NOSHOW_REFIT}.{(now + REFIT_EVERY):%Y%m%d}", {"scheduled": True},
            due_at=now + REFIT_EVERY)
    rows = messaging(uow).history(now - HISTORY_WINDOW, now)
    zone = ctx.settings.zone
    data = [(NoShowFeatures.of(booked_at=booked, start=start, modality=modality, zone=zone, prior_no_shows=0,
                               prior_visits=0), patient, start, missed)
            for patient, booked, start, modality, missed in rows]
    featured = _with_history(data)
    cut = now - HELD_OUT
    train = [(f, m) for f, start, m in featured if start < cut]
    test = [(f, m) for f, start, m in featured if start >= cut]
    if len(train) < 200 or not any(m for _, m in train):
        return {"skipped": f"only {len(train)} past appointments before {cut.date()}: keeping the current model"}
    model = tools.fitter(train, fitted_on=f"this center's history {rows[0][2]:%Y-%m-%d}..{cut:%Y-%m-%d}, "
                                          f"{len(train):,} appointments")
    score = _auc([model.probability(f) for f, _ in test], [m for _, m in test]) if test else None
    held_out = f"{score:.3f}" if score is not None else ""
    messaging(uow).add_model(new_id(), model.to_json(), fitted_at=now, appointments=len(train),
                             held_out_auc=held_out)
    return {"fitted_on": len(train), "held_out": len(test), "held_out_auc": held_out}


def _with_history(data: list[tuple[NoShowFeatures, str, datetime, bool]]) -> list[tuple[NoShowFeatures, datetime,
                                                                                         bool]]:
    """Fill in each appointment's earlier visits and no-shows known when it was booked."""
    by_patient: dict[str, list[tuple[datetime, bool]]] = {}
    for _, patient, start, missed in data:
        by_patient.setdefault(patient, []).append((start, missed))
    out = []
    for features, patient, start, missed in data:
        booked = start - features.lead_time
        earlier = [m for s, m in by_patient[patient] if s < booked]
        out.append((NoShowFeatures(lead_time=features.lead_time, modality=features.modality,
                                   prior_no_shows=sum(earlier), prior_visits=len(earlier),
                                   weekday=features.weekday, hour=features.hour), start, missed))
    return out


def validate_note(note: str) -> str:
    """A note kept on the timeline (bounded)."""
    if len(note) > 500:
        raise ValidationError("keep the note under 500 characters", field="note")
    return note.strip()


HANDLERS: dict[type, Handler] = {MarkNoShow: mark_no_show, ReturnToScheduling: return_to_scheduling,
            RefitNoShowModel: refit_no_show_model}
