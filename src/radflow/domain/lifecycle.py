"""The order lifecycle: one table, the single source of truth for an order's state.

Each row is (state, event) -> target state, transcribed from DESIGN.md §1. Nothing else in radflow
assigns an order's state: `Order.transition` asks `next_state` and records the change. Every
state × event pair is tested (tests/unit/test_lifecycle.py): an allowed pair reaches its target, any
other raises `InvalidTransition` and changes nothing.

MPPS-driven rows follow IHE RAD TF-2 (RAD-6 Modality Procedure Step In Progress: N-CREATE with
PerformedProcedureStepStatus IN PROGRESS; RAD-7 Completed/Discontinued: N-SET with COMPLETED or
DISCONTINUED).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final, Literal

from radflow.domain.errors import InvalidTransition


class OrderState(StrEnum):
    """Where one requested procedure (an order line, one accession) stands in the pipeline."""

    RECEIVED = "received"
    AWAITING_DOCUMENTATION = "awaiting_documentation"
    AWAITING_PROTOCOL = "awaiting_protocol"
    PENDING_AUTHORIZATION = "pending_authorization"
    AUTHORIZATION_DENIED = "authorization_denied"
    READY_TO_SCHEDULE = "ready_to_schedule"
    SCHEDULED = "scheduled"
    CHECKED_IN = "checked_in"
    ON_HOLD = "on_hold"
    IN_PROGRESS = "in_progress"
    AWAITING_QC = "awaiting_qc"
    INCOMPLETE = "incomplete"
    NO_SHOW = "no_show"
    IMAGING_COMPLETED = "imaging_completed"
    REPORTED = "reported"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class OrderEvent(StrEnum):
    """What can happen to an order; each is allowed only where the table has a row for it."""

    # completeness check and routing (from `received`)
    CHECKLIST_FAILED = "checklist_failed"
    PROTOCOL_REQUIRED = "protocol_required"
    AUTHORIZATION_REQUIRED = "authorization_required"
    CLEARED_FOR_SCHEDULING = "cleared_for_scheduling"
    # documentation and protocoling
    DOCUMENTATION_RECEIVED = "documentation_received"
    PROTOCOL_CHANGED_STUDY = "protocol_changed_study"
    # prior authorization
    AUTHORIZATION_APPROVED = "authorization_approved"
    AUTHORIZATION_DENIED = "authorization_denied"
    PAYER_REQUESTED_DOCUMENTATION = "payer_requested_documentation"
    AUTHORIZATION_RESUBMITTED = "authorization_resubmitted"
    STUDY_SUBSTITUTED = "study_substituted"
    AUTHORIZATION_EXPIRED = "authorization_expired"
    # scheduling and the day of the exam
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"
    HOLD_PLACED = "hold_placed"
    HOLD_CLEARED = "hold_cleared"
    PATIENT_LEFT = "patient_left"
    EXAM_STARTED = "exam_started"
    EXAM_COMPLETED = "exam_completed"
    EXAM_DISCONTINUED = "exam_discontinued"
    QC_PASSED = "qc_passed"
    REPEAT_REQUIRED = "repeat_required"
    QC_FAILED_INCOMPLETE = "qc_failed_incomplete"
    RETURNED_TO_SCHEDULING = "returned_to_scheduling"
    # reading and distribution
    REPORT_FINALIZED = "report_finalized"
    REPORT_DELIVERED = "report_delivered"
    ADDENDUM_SIGNED = "addendum_signed"
    CANCEL = "cancel"


S = OrderState
E = OrderEvent

#: Target meaning "the state the order was in before the hold" (DESIGN §1, on_hold: cleared).
PREVIOUS: Final = "previous"
Target = OrderState | Literal["previous"]

#: States a hold can return to; a hold from anywhere else would be a modelling error.
HOLDABLE_STATES: Final = frozenset({S.SCHEDULED, S.CHECKED_IN})

#: A started exam is discontinued, never cancelled (DESIGN §1, cancelled).
CANCELLABLE_STATES: Final = frozenset(
    {
        S.RECEIVED,
        S.AWAITING_DOCUMENTATION,
        S.AWAITING_PROTOCOL,
        S.PENDING_AUTHORIZATION,
        S.AUTHORIZATION_DENIED,
        S.READY_TO_SCHEDULE,
        S.SCHEDULED,
        S.CHECKED_IN,
        S.ON_HOLD,
        S.INCOMPLETE,
        S.NO_SHOW,
    }
)

TRANSITIONS: Final[Mapping[tuple[OrderState, OrderEvent], Target]] = {
    # received: the completeness check routes the order on
    (S.RECEIVED, E.CHECKLIST_FAILED): S.AWAITING_DOCUMENTATION,
    (S.RECEIVED, E.PROTOCOL_REQUIRED): S.AWAITING_PROTOCOL,
    (S.RECEIVED, E.AUTHORIZATION_REQUIRED): S.PENDING_AUTHORIZATION,
    (S.RECEIVED, E.CLEARED_FOR_SCHEDULING): S.READY_TO_SCHEDULE,
    # awaiting_documentation: what was missing arrived; the check runs again
    (S.AWAITING_DOCUMENTATION, E.DOCUMENTATION_RECEIVED): S.RECEIVED,
    # awaiting_protocol: protocol set -> authorization check; or the study itself changed
    (S.AWAITING_PROTOCOL, E.AUTHORIZATION_REQUIRED): S.PENDING_AUTHORIZATION,
    (S.AWAITING_PROTOCOL, E.CLEARED_FOR_SCHEDULING): S.READY_TO_SCHEDULE,
    (S.AWAITING_PROTOCOL, E.PROTOCOL_CHANGED_STUDY): S.RECEIVED,
    # pending_authorization
    (S.PENDING_AUTHORIZATION, E.AUTHORIZATION_APPROVED): S.READY_TO_SCHEDULE,
    (S.PENDING_AUTHORIZATION, E.AUTHORIZATION_DENIED): S.AUTHORIZATION_DENIED,
    (S.PENDING_AUTHORIZATION, E.PAYER_REQUESTED_DOCUMENTATION): S.AWAITING_DOCUMENTATION,
    # authorization_denied: appeal with more documentation, or an allowed substitute study
    (S.AUTHORIZATION_DENIED, E.AUTHORIZATION_RESUBMITTED): S.PENDING_AUTHORIZATION,
    (S.AUTHORIZATION_DENIED, E.STUDY_SUBSTITUTED): S.RECEIVED,
    # ready_to_schedule
    (S.READY_TO_SCHEDULE, E.BOOKED): S.SCHEDULED,
    (S.READY_TO_SCHEDULE, E.AUTHORIZATION_EXPIRED): S.PENDING_AUTHORIZATION,
    # scheduled
    (S.SCHEDULED, E.CHECKED_IN): S.CHECKED_IN,
    (S.SCHEDULED, E.EXAM_STARTED): S.IN_PROGRESS,  # ED / inpatient without check-in; recorded
    (S.SCHEDULED, E.RESCHEDULED): S.SCHEDULED,
    # The appointment is cancelled but the exam is still wanted (the patient cannot come then, the
    # scanner is down): back to the scheduling queue. DESIGN §1 lists only reschedule and cancel here;
    # a centre needs this path too, or every cancelled time would withdraw the referral.
    (S.SCHEDULED, E.APPOINTMENT_CANCELLED): S.READY_TO_SCHEDULE,
    (S.SCHEDULED, E.NO_SHOW): S.NO_SHOW,
    (S.SCHEDULED, E.HOLD_PLACED): S.ON_HOLD,
    (S.SCHEDULED, E.AUTHORIZATION_EXPIRED): S.PENDING_AUTHORIZATION,
    # checked_in
    (S.CHECKED_IN, E.EXAM_STARTED): S.IN_PROGRESS,
    (S.CHECKED_IN, E.HOLD_PLACED): S.ON_HOLD,
    (S.CHECKED_IN, E.PATIENT_LEFT): S.READY_TO_SCHEDULE,
    # on_hold: cleared -> back where it came from; contraindicated -> study changed (or cancel)
    (S.ON_HOLD, E.HOLD_CLEARED): PREVIOUS,
    (S.ON_HOLD, E.STUDY_SUBSTITUTED): S.RECEIVED,
    # in_progress (IHE RAD-7: MPPS COMPLETED / DISCONTINUED)
    (S.IN_PROGRESS, E.EXAM_COMPLETED): S.AWAITING_QC,
    (S.IN_PROGRESS, E.EXAM_DISCONTINUED): S.INCOMPLETE,
    # awaiting_qc
    (S.AWAITING_QC, E.QC_PASSED): S.IMAGING_COMPLETED,
    (S.AWAITING_QC, E.REPEAT_REQUIRED): S.IN_PROGRESS,
    (S.AWAITING_QC, E.QC_FAILED_INCOMPLETE): S.INCOMPLETE,
    # incomplete / no_show: back to scheduling after the re-checks
    (S.INCOMPLETE, E.RETURNED_TO_SCHEDULING): S.READY_TO_SCHEDULE,
    (S.NO_SHOW, E.RETURNED_TO_SCHEDULING): S.READY_TO_SCHEDULE,
    # reading and distribution
    (S.IMAGING_COMPLETED, E.REPORT_FINALIZED): S.REPORTED,
    (S.REPORTED, E.REPORT_DELIVERED): S.DELIVERED,
    # An addendum to a report not yet delivered keeps the order in `reported`; DESIGN §1 lists only
    # delivered -> reported, but an addendum signed before delivery is real and must be recorded.
    (S.REPORTED, E.ADDENDUM_SIGNED): S.REPORTED,
    (S.DELIVERED, E.ADDENDUM_SIGNED): S.REPORTED,
    # cancel: from any state before the exam starts
    **{(state, E.CANCEL): S.CANCELLED for state in CANCELLABLE_STATES},
}

#: Events that need a reason a person gave (recorded on the timeline).
EVENTS_REQUIRING_REASON: Final = frozenset(
    {E.CANCEL, E.AUTHORIZATION_DENIED, E.EXAM_DISCONTINUED, E.QC_FAILED_INCOMPLETE, E.HOLD_PLACED,
     E.STUDY_SUBSTITUTED, E.PROTOCOL_CHANGED_STUDY, E.PATIENT_LEFT, E.APPOINTMENT_CANCELLED}
)


def allowed_events(state: OrderState) -> list[OrderEvent]:
    """The events the table allows from `state`, in table order."""
    return [event for (source, event) in TRANSITIONS if source == state]


def next_state(state: OrderState, event: OrderEvent, *, held_from: OrderState | None = None) -> OrderState:
    """Return the state `event` leads to from `state`, or raise InvalidTransition."""
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise InvalidTransition(state.value, event.value)
    if target == PREVIOUS:
        if held_from is None or held_from not in HOLDABLE_STATES:
            raise InvalidTransition(state.value, event.value)
        return held_from
    assert isinstance(target, OrderState)
    return target


def is_terminal(state: OrderState) -> bool:
    """True where no event leads anywhere (only `cancelled`)."""
    return not allowed_events(state)
