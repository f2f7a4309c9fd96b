"""Critical results through the services: notification, escalation chain on durable jobs, read-back, record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from reporting_center import ReadingRoom

from radflow.domain.critical_result import CriticalState
from radflow.domain.errors import Conflict, Forbidden, ValidationError
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Order
from radflow.domain.report import ReportState
from radflow.services.critical_results import (
    ESCALATE,
    NOTIFY,
    AcknowledgeCriticalResult,
    CriticalBoard,
    GetCriticalResult,
    MarkCritical,
    RecordContactAttempt,
    WithdrawCriticalResult,
)
from radflow.services.reading import ClaimStudy
from radflow.services.reports import GetReport, SaveReport, SignReport, StartReport


def reported_hemorrhage(room: ReadingRoom) -> tuple[Order, str]:
    study = room.study("CT-HEAD")
    room.bus.handle(ClaimStudy(actor=room.radiologist, order_id=study.id))
    room.bus.handle(StartReport(actor=room.radiologist, order_id=study.id))
    room.bus.handle(SaveReport(actor=room.radiologist, order_id=study.id, sections={
        "findings": "Acute left subdural hematoma, 8 mm, with 4 mm midline shift.",
        "impression": "Acute left subdural hematoma."}))
    result_id = room.bus.handle(MarkCritical(actor=room.radiologist, order_id=study.id, level="critical",
                                             finding="Acute left subdural hematoma"))
    return study, result_id


def state_of(room: ReadingRoom, result_id: str) -> CriticalState:
    result = room.bus.handle(GetCriticalResult(actor=room.radiologist, critical_result_id=result_id))
    return result.state  # type: ignore[no-any-return]


def test_marking_writes_a_notification_due_now_and_an_escalation_due_in_twenty_minutes(room: ReadingRoom) -> None:
    _, result_id = reported_hemorrhage(room)
    (notify,), (escalate,) = room.jobs_of(NOTIFY), room.jobs_of(ESCALATE)
    assert notify.due_at == room.clock.now() and notify.key == f"critical:{result_id}:notify:0"
    assert escalate.due_at == room.clock.now() + timedelta(minutes=20)


def test_the_ordering_provider_is_told_on_their_channel_without_the_finding_in_the_message(room: ReadingRoom) -> None:
    study, result_id = reported_hemorrhage(room)
    room.run_due_jobs()
    (message,) = room.gateway.sent
    assert (message.channel, message.to) == ("sms", "+1 555 010 1111")
    assert message.key == f"critical:{result_id}:step0:{room.ordering.user_id}"
    assert study.accession_number in message.body and "hematoma" not in message.body.lower()
    assert state_of(room, result_id) is CriticalState.NOTIFIED


def test_unacknowledged_it_escalates_to_the_covering_provider_then_the_section_chief(room: ReadingRoom) -> None:
    _, result_id = reported_hemorrhage(room)
    room.run_due_jobs()
    room.clock.advance(minutes=20)
    room.run_due_jobs()
    assert [m.to for m in room.gateway.sent] == ["+1 555 010 1111", "cover@example.org"]
    room.clock.advance(minutes=20)
    room.run_due_jobs()
    assert room.gateway.sent[-1].to == "+1 555 010 3333"
    result = room.bus.handle(GetCriticalResult(actor=room.radiologist, critical_result_id=result_id))
    assert result.state is CriticalState.ESCALATED and result.chain_step.value == "section_chief"
    room.clock.advance(minutes=20)
    room.run_due_jobs()
    result = room.bus.handle(GetCriticalResult(actor=room.radiologist, critical_result_id=result_id))
    assert result.chain_exhausted and result.is_overdue(room.clock.now() + timedelta(seconds=1))
    assert len(room.gateway.sent) == 3  # nothing more is sent once the chain is exhausted


def test_each_escalation_happens_once_even_when_its_job_runs_again(room: ReadingRoom) -> None:
    _, result_id = reported_hemorrhage(room)
    room.clock.advance(minutes=20)
    room.run_due_jobs()
    (first,) = room.jobs_of(ESCALATE)[:1]
    with room.uow() as uow:
        again = room.jobs[ESCALATE](uow.jobs.get(first.id), uow, room.ctx)
        uow.commit()
    assert again is not None and "skipped" in again
    result = room.bus.handle(GetCriticalResult(actor=room.radiologist, critical_result_id=result_id))
    assert [e["event"] for e in result.log].count("escalated") == 1


def test_acknowledged_in_time_it_does_not_escalate(room: ReadingRoom) -> None:
    _, result_id = reported_hemorrhage(room)
    room.run_due_jobs()
    room.clock.advance(minutes=7)
    room.bus.handle(AcknowledgeCriticalResult(actor=room.radiologist, critical_result_id=result_id,
                                              acknowledged_by_name="Dr Order", channel="phone",
                                              read_back="acute left subdural hematoma"))
    room.clock.advance(minutes=60)
    results = room.run_due_jobs()
    assert all("skipped" in r for r in results) and len(room.gateway.sent) == 1
    assert state_of(room, result_id) is CriticalState.CLOSED


def test_the_report_carries_the_communication_record(room: ReadingRoom) -> None:
    study, result_id = reported_hemorrhage(room)
    room.run_due_jobs()
    room.clock.advance(minutes=20)
    room.run_due_jobs()
    room.clock.advance(minutes=5)
    room.bus.handle(AcknowledgeCriticalResult(actor=room.radiologist, critical_result_id=result_id,
                                              acknowledged_by_name="Dr Cover", channel="phone",
                                              read_back="acute left subdural hematoma with midline shift"))
    room.bus.handle(SignReport(actor=room.radiologist, order_id=study.id))
    text = room.bus.handle(GetReport(actor=room.radiologist, order_id=study.id)).report.text()
    assert "COMMUNICATION:\nCritical result: Acute left subdural hematoma." in text
    assert "notified Dr Order (ordering provider) by sms" in text
    assert "escalated to the covering provider" in text
    assert "09:25 EST: communicated to Dr Cover by phone by Dr Rad" in text
    assert 'read back: "acute left subdural hematoma with midline shift"' in text


def test_acknowledged_after_signing_the_record_is_a_signed_addendum(room: ReadingRoom) -> None:
    study, result_id = reported_hemorrhage(room)
    room.bus.handle(SignReport(actor=room.radiologist, order_id=study.id))
    room.run_due_jobs()
    room.bus.handle(AcknowledgeCriticalResult(actor=room.ordering, critical_result_id=result_id,
                                              read_back="left subdural hematoma"))
    view = room.bus.handle(GetReport(actor=room.radiologist, order_id=study.id))
    assert view.report.state is ReportState.AMENDED and view.order.state is OrderState.REPORTED
    (addendum,) = view.report.addendum_list
    assert addendum.kind == "communication" and "communicated to Dr Order by inbox" in addendum.text


def test_an_acknowledgement_needs_the_read_back(room: ReadingRoom) -> None:
    _, result_id = reported_hemorrhage(room)
    with pytest.raises(ValidationError, match="read-back"):
        room.bus.handle(AcknowledgeCriticalResult(actor=room.radiologist, critical_result_id=result_id,
                                                  acknowledged_by_name="Dr Order", read_back=""))


def test_a_provider_of_another_patient_cannot_acknowledge(room: ReadingRoom) -> None:
    _, result_id = reported_hemorrhage(room)
    stranger = room.person("stranger", room.ordering.role, display="Dr Stranger", npi="1679576722")
    with pytest.raises(Forbidden):
        room.bus.handle(AcknowledgeCriticalResult(actor=stranger, critical_result_id=result_id, read_back="x"))


def test_a_critical_result_needs_a_report_to_document_it_in(room: ReadingRoom) -> None:
    study = room.study()
    with pytest.raises(Conflict, match="start the report"):
        room.bus.handle(MarkCritical(actor=room.radiologist, order_id=study.id, level="critical", finding="SDH"))


def test_no_ordering_provider_on_file_escalates_at_once(room: ReadingRoom) -> None:
    study = room.study()
    with room.uow() as uow:
        uow.orders.get(study.id).ordering_provider_npi = "1972638880"  # an outside referrer without a user
        uow.commit()
    room.bus.handle(ClaimStudy(actor=room.radiologist, order_id=study.id))
    room.bus.handle(StartReport(actor=room.radiologist, order_id=study.id))
    room.bus.handle(MarkCritical(actor=room.radiologist, order_id=study.id, level="urgent", finding="Large PE"))
    room.run_due_jobs()  # step 0: nobody on file; step 1: no covering provider; step 2: the chief
    assert [m.to for m in room.gateway.sent] == ["+1 555 010 3333"]


def test_the_board_shows_open_results_least_time_left_first_and_a_referrer_only_theirs(room: ReadingRoom) -> None:
    _, urgent = reported_hemorrhage(room)
    room.bus.handle(WithdrawCriticalResult(actor=room.radiologist, critical_result_id=urgent, reason="re-graded"))
    room.clock.advance(minutes=5)
    _, critical = reported_hemorrhage(room)
    room.bus.handle(RecordContactAttempt(actor=room.radiologist, critical_result_id=critical,
                                         detail="paged Dr Order twice, no answer"))
    board = room.bus.handle(CriticalBoard(actor=room.radiologist))
    assert [r.id for r in board] == [critical]
    assert [r.id for r in room.bus.handle(CriticalBoard(actor=room.ordering))] == [critical]
    stranger = room.person("stranger", room.ordering.role, display="Dr Stranger", npi="1679576722")
    assert room.bus.handle(CriticalBoard(actor=stranger)) == []
