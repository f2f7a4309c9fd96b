"""The Appointment's own state machine: every state × event pair, events carried, placements checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from radflow.domain.appointment import (
    TRANSITIONS,
    Appointment,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentEvent,
    AppointmentNoShow,
    AppointmentRescheduled,
    AppointmentState,
    Placement,
)
from radflow.domain.errors import InvalidTransition, ValidationError

T0 = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)


def _booked() -> Appointment:
    appointment = Appointment.book(appointment_id="a1", order_id="o1", patient_id="p1",
                                   placement=Placement("MR1", "MAIN", T0, T0 + timedelta(minutes=40)),
                                   by="u1", at=T0 - timedelta(days=2))
    appointment.pull_events()
    return appointment


def _drive(appointment: Appointment, event: AppointmentEvent) -> None:
    at = T0 - timedelta(days=1)
    if event is AppointmentEvent.RESCHEDULE:
        appointment.reschedule(Placement("MR2", "MAIN", T0 + timedelta(hours=1), T0 + timedelta(hours=2)),
                               by="u2", at=at, reason="patient asked")
    elif event is AppointmentEvent.CANCEL:
        appointment.cancel(reason="patient moved away", by="u2", at=at)
    elif event is AppointmentEvent.ATTEND:
        appointment.attend(by="u2", at=at)
    else:
        appointment.mark_no_show(by="u2", at=at)


def _in_state(state: AppointmentState) -> Appointment:
    appointment = _booked()
    path = {AppointmentState.CANCELLED: AppointmentEvent.CANCEL, AppointmentState.ATTENDED: AppointmentEvent.ATTEND,
            AppointmentState.NO_SHOW: AppointmentEvent.MARK_NO_SHOW}
    if state in path:
        _drive(appointment, path[state])
        appointment.pull_events()
    return appointment


@pytest.mark.parametrize("state", list(AppointmentState))
@pytest.mark.parametrize("event", list(AppointmentEvent))
def test_every_state_and_event_pair_follows_the_table(state: AppointmentState, event: AppointmentEvent) -> None:
    appointment = _in_state(state)
    target = TRANSITIONS.get((state, event))
    if target is None:
        log_before = list(appointment.log)
        with pytest.raises(InvalidTransition, match=f"appointment in state '{state.value}'"):
            _drive(appointment, event)
        assert appointment.state is state
        assert appointment.log == log_before
        assert appointment.pull_events() == []
    else:
        _drive(appointment, event)
        assert appointment.state is target
        assert len(appointment.pull_events()) == 1


def test_booking_records_an_event_with_order_patient_scanner_site_times_and_lane() -> None:
    appointment = Appointment.book(appointment_id="a1", order_id="o1", patient_id="p1",
                                   placement=Placement("MR1", "MAIN", T0, T0 + timedelta(minutes=40)),
                                   by="u1", at=T0)
    [event] = appointment.pull_events()
    assert isinstance(event, AppointmentBooked)
    assert (event.order_id, event.patient_id, event.scanner_id, event.site_id, event.lane) == \
        ("o1", "p1", "MR1", "MAIN", 0)
    assert (event.start, event.end) == (T0, T0 + timedelta(minutes=40))
    assert appointment.holds_capacity


def test_rescheduling_keeps_the_appointment_and_reports_where_it_was() -> None:
    appointment = _booked()
    _drive(appointment, AppointmentEvent.RESCHEDULE)
    [event] = appointment.pull_events()
    assert isinstance(event, AppointmentRescheduled)
    assert (event.previous_scanner_id, event.previous_start) == ("MR1", T0)
    assert (appointment.scanner_id, appointment.start) == ("MR2", T0 + timedelta(hours=1))
    assert appointment.state is AppointmentState.BOOKED


def test_cancelling_needs_a_reason_and_frees_the_capacity() -> None:
    appointment = _booked()
    with pytest.raises(ValidationError, match="reason"):
        appointment.cancel(reason="  ", by="u", at=T0)
    appointment.cancel(reason="patient request", by="u", at=T0)
    [event] = appointment.pull_events()
    assert isinstance(event, AppointmentCancelled) and event.reason == "patient request"
    assert not appointment.holds_capacity


def test_a_no_show_is_recorded_as_an_event() -> None:
    appointment = _booked()
    appointment.mark_no_show(by="u", at=T0 + timedelta(hours=1))
    assert isinstance(appointment.pull_events()[0], AppointmentNoShow)


def test_an_overbooking_lane_without_a_policy_is_refused() -> None:
    with pytest.raises(ValidationError, match="policy"):
        Appointment.book(appointment_id="a", order_id="o", patient_id="p",
                         placement=Placement("MR1", "MAIN", T0, T0 + timedelta(minutes=30), lane=1), by="u", at=T0)


@pytest.mark.parametrize(("start", "end"), [(T0, T0), (T0, T0 - timedelta(minutes=5))])
def test_a_placement_must_end_after_it_starts(start: datetime, end: datetime) -> None:
    with pytest.raises(ValidationError, match="end after"):
        Placement("MR1", "MAIN", start, end)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        Placement("MR1", "MAIN", datetime(2026, 3, 3, 9), datetime(2026, 3, 3, 10))


def test_the_patient_is_needed_from_the_scan_start_unless_a_wait_comes_first() -> None:
    plain = _booked()
    assert plain.patient_from == plain.start
    with pytest.raises(ValidationError, match="patient"):
        Placement("PT1", "MAIN", T0, T0 + timedelta(minutes=30), patient_from=T0 + timedelta(minutes=5))
