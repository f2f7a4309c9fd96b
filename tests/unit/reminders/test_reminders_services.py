"""Preparation, reminders, replies and no-shows through the services, on an in-memory center.

Monday 2 March 2026 09:00 New York; an MRI lumbar spine is booked for Tuesday 10 March 09:00.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from reminders_center import NY, RemindersCenter, ny

from radflow.domain.errors import Conflict, Forbidden
from radflow.domain.messaging.texts import SMS_LIMIT, sms_length
from radflow.services.noshow import ExpectedNoShows, MarkNoShow, ReturnToScheduling
from radflow.services.preparation import RecordPatientResponse
from radflow.services.reminders.contacts import GetContactPreference, RevokeConsent, UpdateContactPreference
from radflow.services.reminders.replies import HandleReply, RecordDeliveryReport
from radflow.services.reminders.views import GetVisitMessages
from radflow.services.scheduling.booking import BookVisit, RescheduleAppointment


def booked(center: RemindersCenter, **patient: str) -> tuple[str, str, str]:
    patient_id = center.patient(**patient)
    order_id = center.order("MR-LSPINE", patient_id)
    return patient_id, order_id, center.book(order_id, "MR1", ny(10, 9))


def test_booking_plans_the_preparation_and_the_reminders_in_the_same_transaction(center: RemindersCenter) -> None:
    patient_id, _, _ = booked(center)
    planned = center.messages(patient_id)
    assert [(m.purpose.value, m.channel.value, m.state.value) for m in planned] == [
        ("preparation", "email", "planned"), ("preparation", "sms", "planned"),
        ("reminder", "sms", "planned"), ("reminder", "sms", "planned")]
    assert [m.planned_for.astimezone(NY).strftime("%a %d %H:%M") for m in planned[2:]] == ["Tue 03 10:00",
                                                                                          "Sun 08 10:00"]
    with center.uow() as uow:
        assert all(uow.jobs.by_key(m.key) is not None for m in planned)


def test_the_preparation_goes_out_as_an_email_with_calendar_and_letter_and_a_short_text(
        center: RemindersCenter) -> None:
    booked(center)
    center.run_due_jobs()
    (email,) = center.sent("email")
    assert {a.filename for a in email.attachments} == {"appointment.ics", "appointment-letter.pdf"}
    assert "MRI lumbar spine" in email.body and "Please arrive at 8:30 AM on Tuesday, March 10." in email.body
    (text,) = center.sent("sms")
    assert sms_length(text.body) <= SMS_LIMIT and text.to == "+15550101234"
    assert text.body.startswith("Riverside Imaging Center:") and "+1 555 010 2000" in text.body
    assert "MRI" not in text.body and "spine" not in text.body  # minimum necessary on a text


def test_the_exam_is_named_on_a_text_only_when_the_patient_chose_so(center: RemindersCenter) -> None:
    patient_id = center.patient()
    center.bus.handle(UpdateContactPreference(actor=center.desk, patient_id=patient_id, how="at the desk",
                                              exam_name_in_texts=True))
    center.book(center.order("US-THYROID", patient_id), "US1", ny(10, 9))
    center.run_due_jobs()
    assert "thyroid" in center.sent("sms")[0].body.lower()


def test_reminders_go_out_at_ten_local_once_a_day_across_the_daylight_saving_change(
        center: RemindersCenter) -> None:
    patient_id, _, _ = booked(center)
    center.walk(ny(10, 8))
    reminders = [m for m in center.messages(patient_id) if m.purpose.value == "reminder"]
    assert [m.state.value for m in reminders] == ["sent", "sent"]
    assert [m.sent_at.astimezone(NY).strftime("%d %H:%M") for m in reminders if m.sent_at] == ["03 10:00", "08 10:00"]
    assert len(center.sent("sms")) == 3


def test_a_booking_made_at_night_is_held_until_the_patients_morning(center: RemindersCenter) -> None:
    center.clock.set(ny(2, 22, 30))
    patient_id, _, _ = booked(center)
    center.run_due_jobs()
    assert center.sent() == []
    held = center.messages(patient_id)[0]
    assert held.state.value == "held" and held.held_until == ny(3, 8)
    center.walk(ny(3, 8, 5), step=timedelta(minutes=5))
    assert {m.channel for m in center.sent()} == {"email", "sms"}
    assert all(m.state.value == "sent" for m in center.messages(patient_id) if m.purpose.value == "preparation")


def test_rescheduling_to_another_day_suppresses_the_old_days_messages_and_plans_the_new(
        center: RemindersCenter) -> None:
    patient_id, _, appointment_id = booked(center)
    center.run_due_jobs()
    center.bus.handle(RescheduleAppointment(actor=center.scheduler, appointment_id=appointment_id,
                                            scanner_id="MR1", start=ny(12, 14), reason="patient asked"))
    by_day = {(m.visit_date, m.purpose.value, m.state.value) for m in center.messages(patient_id)}
    assert ("2026-03-10", "reminder", "suppressed") in by_day
    assert ("2026-03-12", "preparation", "planned") in by_day
    center.run_due_jobs()
    new_prep = [m for m in center.messages(patient_id) if m.visit_date == "2026-03-12" and m.purpose.value ==
                "preparation"]
    # One message a day: the updated preparation waits for tomorrow morning.
    assert {m.state.value for m in new_prep} == {"held"} and new_prep[0].held_until == ny(3, 8)


def test_a_stop_reply_revokes_at_once_and_confirms_once(center: RemindersCenter) -> None:
    patient_id, _, _ = booked(center)
    center.run_due_jobs()
    outcome = center.bus.handle(HandleReply(actor=center.gateway_user, channel="sms", from_address="555.010.1234",
                                            text="STOP", gateway_reference="in-1"))
    assert outcome.intent == "opt_out" and outcome.patient_ids == (patient_id,)
    assert all(m.state.value == "suppressed" for m in center.messages(patient_id) if m.purpose.value == "reminder")
    center.run_due_jobs()
    confirmation = center.sent("sms")[-1]
    assert "no more texts" in confirmation.body and "START" in confirmation.body
    again = center.bus.handle(HandleReply(actor=center.gateway_user, channel="sms", from_address="5550101234",
                                          text="STOP", gateway_reference="in-1"))
    assert again.duplicate
    view = center.bus.handle(GetContactPreference(actor=center.desk, patient_id=patient_id))
    assert "sms" not in view.usable and "email" in view.usable


def test_x_cancels_the_visit_and_returns_the_exam_to_scheduling_and_c_confirms(center: RemindersCenter) -> None:
    patient_id, order_id, _ = booked(center)
    center.run_due_jobs()
    confirmed = center.bus.handle(HandleReply(actor=center.gateway_user, channel="sms",
                                              from_address="+1 555 010 1234", text="C"))
    assert confirmed.outcome == "visit of 2026-03-10 confirmed"
    cancelled = center.bus.handle(HandleReply(actor=center.gateway_user, channel="sms",
                                              from_address="+1 555 010 1234", text="x"))
    assert cancelled.outcome.startswith("visit of 2026-03-10 cancelled")
    assert center.state(order_id) == "ready_to_schedule"  # the referral stands: the desk books again
    center.run_due_jobs()
    assert "is cancelled" in center.sent("sms")[-1].body
    assert all(not m.is_open for m in center.messages(patient_id))


def test_cancel_is_an_opt_out_and_leaves_the_visit_for_a_person_to_call(center: RemindersCenter) -> None:
    _, order_id, _ = booked(center)
    center.run_due_jobs()
    center.bus.handle(HandleReply(actor=center.gateway_user, channel="sms", from_address="5550101234",
                                  text="cancel"))
    assert center.state(order_id) == "scheduled"
    view = center.bus.handle(GetVisitMessages(actor=center.desk, order_id=order_id))
    assert [r.kind.value for r in view.responses] == ["call_back"]


def test_a_call_to_the_desk_revokes_every_channel_named_and_nothing_more_goes_out(center: RemindersCenter) -> None:
    patient_id, _, _ = booked(center)
    center.bus.handle(RevokeConsent(actor=center.desk, patient_id=patient_id, channels=("sms", "email"),
                                    how="patient called the desk"))
    center.walk(ny(10, 8), step=timedelta(hours=6))
    assert center.sent() == []
    assert {m.state.value for m in center.messages(patient_id)} == {"suppressed"}


def test_a_patient_without_email_gets_a_printed_letter(center: RemindersCenter) -> None:
    patient_id = center.patient(email="")
    center.book(center.order("MR-LSPINE", patient_id), "MR1", ny(10, 9))
    center.run_due_jobs()
    (letter,) = center.sent("letter")
    assert letter.attachments[0].content.startswith(b"%PDF-") and "1 Main Street" in letter.to


def test_a_multi_exam_day_gets_one_combined_preparation_with_the_strictest_fast(center: RemindersCenter) -> None:
    patient_id = center.patient()
    ct = center.order("CT-ABDPEL", patient_id, contrast="with")
    us = center.order("US-ABD", patient_id)
    center.bus.handle(BookVisit(actor=center.scheduler, bookings=((us, "US1", ny(10, 9)), (ct, "CT1", ny(10, 10)))))
    center.run_due_jobs()
    (email,) = center.sent("email")
    assert "CT abdomen" in email.body or "CT" in email.body
    assert "Do not eat after" in email.body and email.body.count("Before your visit:") == 1


def test_a_delivery_report_marks_the_message_delivered_or_failed(center: RemindersCenter) -> None:
    patient_id, _, _ = booked(center)
    center.run_due_jobs()
    sms = next(m for m in center.messages(patient_id) if m.channel.value == "sms")
    assert center.bus.handle(RecordDeliveryReport(actor=center.gateway_user, reference=sms.gateway_reference,
                                                  delivered=False, detail="30003 unreachable")) == "failed"


def test_marking_a_no_show_sends_the_order_to_rescheduling_and_raises_the_next_risk(
        center: RemindersCenter) -> None:
    patient_id, order_id, _ = booked(center)
    with pytest.raises(Conflict, match="only once it has begun"):
        center.bus.handle(MarkNoShow(actor=center.desk, order_id=order_id))
    query = ExpectedNoShows(actor=center.scheduler, modality="MR", site_id="MAIN", starts=(ny(30, 9),),
                            patient_id=patient_id)
    (before,) = center.bus.handle(query)
    center.clock.set(ny(10, 9, 20))
    assert center.bus.handle(MarkNoShow(actor=center.desk, order_id=order_id, note="did not arrive")) == "no_show"
    (after,) = center.bus.handle(query)
    assert after > before * 1.5
    assert center.bus.handle(ReturnToScheduling(actor=center.scheduler, order_id=order_id)) == "ready_to_schedule"


def test_a_patient_may_see_and_change_only_their_own_contact_preferences(center: RemindersCenter) -> None:
    from radflow.domain.users import Principal, Role

    mine, other = center.patient(), center.patient(phone="555-010-9999")
    patient = Principal(user_id="u-p", username="jo", role=Role.PATIENT, patient_id=mine)
    center.bus.handle(RevokeConsent(actor=patient, patient_id=mine, channels=("voice",), how="on the portal"))
    with pytest.raises(Forbidden):
        center.bus.handle(GetContactPreference(actor=patient, patient_id=other))


def test_the_desk_records_that_the_patient_confirmed_by_phone(center: RemindersCenter) -> None:
    patient_id, order_id, _ = booked(center)
    center.bus.handle(RecordPatientResponse(actor=center.desk, patient_id=patient_id, visit_date=date(2026, 3, 10),
                                            kind="preparation_received", via="phone"))
    view = center.bus.handle(GetVisitMessages(actor=center.desk, order_id=order_id))
    assert [(r.kind.value, r.via) for r in view.responses] == [("preparation_received", "phone")]
    assert view.plan is not None and view.risk is not None and 0 < view.risk < 1


def test_the_refit_job_fits_on_this_centers_history_and_the_new_model_is_used(center: RemindersCenter) -> None:
    import random

    from radflow.domain.appointment import Appointment, AppointmentState
    from radflow.domain.users import Principal, Role
    from radflow.services.noshow import RefitNoShowModel
    from radflow.services.reminders.ports import messaging

    rng = random.Random(7)
    with center.uow() as uow:
        shipped = messaging(uow).current_model()
    assert shipped is None
    patients = [center.patient(phone=f"555-030-{i:04d}") for i in range(60)]
    orders = {p: center.order("MG-SCREEN", p) for p in patients[:20]} | {p: center.order("DX-CHEST", p)
                                                                       for p in patients[20:]}
    start = ny(2, 9) - timedelta(days=400)
    with center.uow() as uow:
        for k in range(600):
            patient = patients[k % 60]
            when = start + timedelta(days=k * 0.6)
            missed = rng.random() < (0.3 if patient in patients[:20] else 0.03)
            uow.appointments.add(Appointment(  # type: ignore[attr-defined]
                id=f"past{k}", order_id=orders[patient], patient_id=patient, scanner_id="MR1", site_id="MAIN",
                lane=0, start=when, end=when + timedelta(minutes=20), patient_from=when,
                state=AppointmentState.NO_SHOW if missed else AppointmentState.ATTENDED,
                booked_at=when - timedelta(days=rng.uniform(1, 30)), booked_by="test"))
        uow.commit()
    manager = Principal(user_id="u-mgr", username="mo", role=Role.MANAGER)
    center.bus.handle(RefitNoShowModel(actor=manager))
    center.run_due_jobs()
    with center.uow() as uow:
        fitted = messaging(uow).current_model()
        refits = [j for j in uow.jobs.rows.values() if j.kind == "noshow_refit"]  # type: ignore[attr-defined]
    assert fitted is not None and "this center's history" in fitted
    assert any(j.due_at > center.clock.now() + timedelta(days=29) for j in refits), "the next refit is queued"
