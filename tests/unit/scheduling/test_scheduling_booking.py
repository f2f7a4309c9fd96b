"""Booking, rescheduling and cancelling through the services: order and appointment move together."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scheduling_center import SchedulingCenter, ny

from radflow.catalog.loader import Catalog
from radflow.domain.appointment import Appointment, AppointmentBooked, AppointmentState
from radflow.domain.errors import Conflict, Forbidden, RadflowError, ValidationError
from radflow.domain.lifecycle import OrderEvent
from radflow.domain.users import Principal, Role
from radflow.services.order_changes import CancelOrder
from radflow.services.scheduling.appointments import GetAppointment, ListAppointments
from radflow.services.scheduling.booking import BookAppointment, CancelAppointment, RescheduleAppointment
from radflow.services.scheduling.capacity_admin import SetOverbookingPolicy
from radflow.services.scheduling.ports import appointments


def book(center: SchedulingCenter, order_id: str, scanner_id: str, start: datetime, **fields: object) -> str:
    made: str = center.bus.handle(BookAppointment(actor=center.scheduler, order_id=order_id, scanner_id=scanner_id,
                                                  start=start, **fields))  # type: ignore[arg-type]
    return made


def appointment(center: SchedulingCenter, appointment_id: str) -> Appointment:
    found: Appointment = center.bus.handle(GetAppointment(actor=center.scheduler, appointment_id=appointment_id))
    return found


def test_booking_schedules_the_order_and_records_both_on_their_timelines(center: SchedulingCenter) -> None:
    order = center.order("MR-LSPINE")
    made = book(center, order, "MR1", ny(3, 9))
    assert center.state(order) == "scheduled"
    booked = appointment(center, made)
    assert (booked.scanner_id, booked.start, booked.end, booked.lane) == ("MR1", ny(3, 9), ny(3, 9, 40), 0)
    with center.uow() as uow:
        last = uow.orders.get(order).transitions[-1]
    assert (last.event, last.details["appointment_id"]) == ("booked", made)
    assert any(r.action == "appointment.book" and r.object_id == made for r in center.store.audit)


def test_a_second_booking_of_the_same_slot_is_a_conflict_naming_what_is_taken(center: SchedulingCenter) -> None:
    book(center, center.order("MR-LSPINE"), "MR1", ny(3, 9))
    other = center.order("MR-BRAIN")
    with pytest.raises(Conflict, match="already booked"):
        book(center, other, "MR1", ny(3, 9, 20))
    assert center.state(other) == "ready_to_schedule"


def test_one_patient_cannot_be_in_two_rooms_at_once(center: SchedulingCenter) -> None:
    patient = center.patient()
    book(center, center.order("MR-LSPINE", patient), "MR1", ny(3, 9))
    with pytest.raises(Conflict, match="another exam"):
        book(center, center.order("CT-HEAD", patient), "CT1", ny(3, 9, 30))


def test_a_slot_outside_the_rules_is_refused_with_the_rule(center: SchedulingCenter) -> None:
    with pytest.raises(ValidationError, match="closed, unstaffed"):
        book(center, center.order("MR-LSPINE"), "MR1", ny(3, 19))
    with pytest.raises(ValidationError, match="radiologist"):
        book(center, center.order("CT-ABDPEL", contrast="with"), "CT1", ny(3, 17))
    with pytest.raises(ValidationError, match="cannot do"):
        book(center, center.order("MR-LSPINE"), "CT1", ny(3, 9))
    with pytest.raises(ValidationError, match="grid"):
        book(center, center.order("MR-LSPINE"), "MR1", ny(3, 9, 3))
    with pytest.raises(ValidationError, match="past"):
        book(center, center.order("MR-LSPINE"), "MR1", ny(2, 7))


def test_an_order_not_ready_to_schedule_cannot_be_booked(center: SchedulingCenter) -> None:
    order = center.order("MR-LSPINE")
    book(center, order, "MR1", ny(3, 9))
    with pytest.raises(Conflict, match="only an order ready to schedule"):
        book(center, order, "MR2", ny(4, 9))


def test_rescheduling_moves_the_appointment_and_frees_the_old_slot(center: SchedulingCenter) -> None:
    order = center.order("MR-LSPINE")
    made = book(center, order, "MR1", ny(3, 9))
    center.bus.handle(RescheduleAppointment(actor=center.scheduler, appointment_id=made, scanner_id="MR2",
                                            start=ny(4, 10), reason="patient asked for Wednesday"))
    moved = appointment(center, made)
    assert (moved.scanner_id, moved.start) == ("MR2", ny(4, 10))
    with center.uow() as uow:
        assert uow.orders.get(order).transitions[-1].event == OrderEvent.RESCHEDULED.value
    book(center, center.order("MR-BRAIN"), "MR1", ny(3, 9))  # the old slot is free again


def test_rescheduling_may_overlap_the_appointment_s_own_old_time(center: SchedulingCenter) -> None:
    made = book(center, center.order("MR-LSPINE"), "MR1", ny(3, 9))
    center.bus.handle(RescheduleAppointment(actor=center.scheduler, appointment_id=made, scanner_id="MR1",
                                            start=ny(3, 9, 20), reason="later arrival"))
    assert appointment(center, made).start == ny(3, 9, 20)


def test_cancelling_an_appointment_with_its_order_frees_the_slot(center: SchedulingCenter) -> None:
    order = center.order("MR-LSPINE")
    made = book(center, order, "MR1", ny(3, 9))
    center.bus.handle(CancelAppointment(actor=center.scheduler, appointment_id=made, reason="patient declined",
                                        cancel_order=True))
    assert appointment(center, made).state is AppointmentState.CANCELLED
    assert center.state(order) == "cancelled"
    book(center, center.order("MR-BRAIN"), "MR1", ny(3, 9))


def test_a_cancelled_time_sends_the_order_back_to_the_scheduling_queue(center: SchedulingCenter) -> None:
    order = center.order("MR-LSPINE")
    made = book(center, order, "MR1", ny(3, 9))
    center.bus.handle(CancelAppointment(actor=center.scheduler, appointment_id=made, reason="patient away that week"))
    assert appointment(center, made).state is AppointmentState.CANCELLED
    assert center.state(order) == "ready_to_schedule"
    book(center, order, "MR1", ny(4, 9))  # booked again later
    assert center.state(order) == "scheduled"


def test_cancelling_the_order_elsewhere_releases_its_slot(center: SchedulingCenter) -> None:
    order = center.order("MR-LSPINE")
    made = book(center, order, "MR1", ny(3, 9))
    center.bus.handle(CancelOrder(actor=center.scheduler, order_id=order, reason="referrer withdrew"))
    assert appointment(center, made).state is AppointmentState.CANCELLED


def test_overbooking_needs_a_lane_policy_and_is_audited(center: SchedulingCenter) -> None:
    book(center, center.order("MR-LSPINE"), "MR1", ny(3, 9))
    extra = center.order("MR-BRAIN")
    with pytest.raises(Conflict, match="overbooking lane"):
        book(center, extra, "MR1", ny(3, 9), lane=1)
    center.bus.handle(SetOverbookingPolicy(actor=center.manager, scanner_id="MR1", lanes=1,
                                           reason="no-show rate 14% on Tuesday mornings"))
    made = book(center, extra, "MR1", ny(3, 9), lane=1)
    assert appointment(center, made).lane == 1
    assert any(r.action == "appointment.overbook" and r.object_id == made for r in center.store.audit)
    assert any(r.action == "capacity.overbooking_policy" for r in center.store.audit)
    with pytest.raises(Conflict, match="already booked"):
        book(center, center.order("MR-KNEE"), "MR1", ny(3, 9), lane=1)


def test_a_front_desk_user_may_book_but_not_overbook(center: SchedulingCenter) -> None:
    center.bus.handle(SetOverbookingPolicy(actor=center.manager, scanner_id="MR1", lanes=1, reason="no-shows"))
    desk = Principal(user_id="u-desk", username="dee", role=Role.FRONT_DESK)
    with pytest.raises(Forbidden):
        center.bus.handle(BookAppointment(actor=desk, order_id=center.order("MR-LSPINE"), scanner_id="MR1",
                                          start=ny(3, 9), lane=1))


def test_a_referrer_cannot_book(center: SchedulingCenter) -> None:
    referrer = Principal(user_id="u-ref", username="rob", role=Role.REFERRING_PROVIDER, npi="1234567893")
    with pytest.raises(Forbidden):
        book_as(center, referrer, center.order("MR-LSPINE"))


def book_as(center: SchedulingCenter, actor: Principal, order_id: str) -> None:
    center.bus.handle(BookAppointment(actor=actor, order_id=order_id, scanner_id="MR1", start=ny(3, 9)))


def test_booking_records_an_appointment_booked_event_for_other_areas(center: SchedulingCenter) -> None:
    order = center.order("MR-LSPINE")
    uow = center.uow()
    from radflow.services.scheduling.booking import book_in

    with uow:
        made = book_in(uow, center.ctx, BookAppointment(actor=center.scheduler, order_id=order, scanner_id="MR1",
                                                         start=ny(3, 9)))
        uow.commit()
    booked = [e for e in uow.dispatched if isinstance(e, AppointmentBooked)]
    assert [(e.order_id, e.scanner_id, e.start) for e in booked] == [(order, "MR1", ny(3, 9))]
    assert made.id == booked[0].appointment_id


def test_the_schedule_lists_a_day_s_appointments(center: SchedulingCenter) -> None:
    book(center, center.order("MR-LSPINE"), "MR1", ny(3, 9))
    book(center, center.order("CT-HEAD"), "CT1", ny(3, 10))
    day = center.bus.handle(ListAppointments(actor=center.scheduler, start=ny(3, 0), end=ny(4, 0)))
    assert [a.scanner_id for a in day] == ["MR1", "CT1"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["MR1", "MR2"]), st.integers(0, 30),
                          st.sampled_from(["MR-LSPINE", "MR-BRAIN", "MR-KNEE"])), min_size=1, max_size=10))
def test_no_sequence_of_bookings_ever_overlaps_a_lane_or_a_patient(catalog: Catalog,
                                                                   attempts: list[tuple[int, str, int, str]]) -> None:
    center = SchedulingCenter(catalog)
    patients = [center.patient() for _ in range(6)]
    for patient_index, scanner_id, slot, protocol in attempts:
        start = ny(3, 7) + timedelta(minutes=15 * slot)
        try:
            book(center, center.order(protocol, patients[patient_index]), scanner_id, start)
        except RadflowError as refused:
            assert isinstance(refused, Conflict | ValidationError)
    with center.uow() as uow:
        live = [a for a in appointments(uow).between(ny(1, 0), ny(20, 0)) if a.holds_capacity]
    for i, first in enumerate(live):
        for second in live[i + 1:]:
            overlap = first.start < second.end and second.start < first.end
            assert not (overlap and first.scanner_id == second.scanner_id and first.lane == second.lane)
            assert not (overlap and first.patient_id == second.patient_id)
