"""Status, reports and application ACKs out: durable jobs, per-destination order, ACK checked, retries, dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from hl7_service_support import ADMIN, DATA, drain, load_mapping_text, sample

from radflow.adapters.hl7.partner import FakePartner
from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.domain.ids import new_id
from radflow.domain.jobs import Job, JobState
from radflow.domain.report import Report, ReportState
from radflow.services.interfaces.inbound import Hl7Inbound
from radflow.services.interfaces.monitor import ListOutbound, ResendOutbound
from radflow.services.interfaces.outbound import ORDER_STATUS, REPORT, control_id_for
from radflow_test_support import backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)
PEER = "127.0.0.1:5000"


@pytest.fixture
def partner() -> Iterator[FakePartner]:
    with FakePartner() as endpoint:
        yield endpoint


@pytest.fixture
def wired(radflow: Radflow, partner: FakePartner) -> Hl7Inbound:
    """The sample mapping with EPIC's status, reports and application ACKs sent to the partner endpoint."""
    text = (DATA / "mapping.yaml").read_text().replace("host: epic-interface.mainhosp.example", "host: 127.0.0.1")
    text = text.replace("port: 6661", f"port: {partner.port}").replace("port: 6662", f"port: {partner.port}")
    load_mapping_text(radflow, text)
    return Hl7Inbound(radflow.bus.uow_factory, radflow.ctx)


def jobs(radflow: Radflow, kind: str) -> list[Job]:
    with radflow.uow() as uow:
        found: list[Job] = uow.hl7_jobs.hl7_jobs((kind,), tuple(JobState), 100)  # type: ignore[attr-defined]
        return sorted(found, key=lambda j: j.key)


def test_each_state_change_goes_to_the_placer_as_orm_with_orc_sc_and_table_0038(
        radflow: Radflow, wired: Hl7Inbound, partner: FakePartner) -> None:
    wired.handle(sample("epic_orm_o01_251_two_orders.hl7"), PEER)
    wired.handle(sample("epic_orm_o01_251_discontinue.hl7"), PEER)  # PL-5003 cancelled
    drain(radflow)
    statuses = [(p.segments(i, "ORC")[0][2], p.segments(i, "ORC")[0][5]) for p in [partner]
                for i in range(len(partner.received))]
    assert all(p.segments(i, "ORC")[0][1] == "SC" for p in [partner] for i in range(len(partner.received)))
    # Both orders went to awaiting_documentation (HD, waiting on the referrer), then PL-5003 was cancelled (CA),
    # in the order the changes happened.
    assert statuses == [("PL-5002", "HD"), ("PL-5003", "HD"), ("PL-5003", "CA")]
    assert all(j.state is JobState.DONE for j in jobs(radflow, ORDER_STATUS))
    msh = partner.segments(0, "MSH")[0]
    assert msh[8].startswith("ORM^O01") and msh[11] == "2.5.1"


def test_msh10_is_derived_from_the_job_and_kept_on_every_retry(
        radflow: Radflow, wired: Hl7Inbound, partner: FakePartner, clock: FakeClock) -> None:
    partner.answer_code = "AE"
    wired.handle(sample("epic_orm_o01_251_new.hl7"), PEER)
    drain(radflow)
    (job,) = jobs(radflow, ORDER_STATUS)
    assert job.state is JobState.PENDING and "answered AE: partner database unavailable" in job.last_error
    clock.advance(seconds=20)
    drain(radflow)
    control_ids = [p[9] for i in range(len(partner.received)) for p in partner.segments(i, "MSH")]
    assert control_ids == [control_id_for(job.key)] * 2


def test_an_ack_for_another_message_is_not_taken_as_delivery(
        radflow: Radflow, wired: Hl7Inbound, partner: FakePartner) -> None:
    partner.echo_control_id = False
    wired.handle(sample("epic_orm_o01_251_new.hl7"), PEER)
    drain(radflow)
    (job,) = jobs(radflow, ORDER_STATUS)
    assert job.state is JobState.PENDING and "acknowledged message 'SOMETHING-ELSE'" in job.last_error


def test_a_message_that_keeps_failing_goes_dead_and_resend_delivers_it_with_the_same_msh10(
        radflow: Radflow, wired: Hl7Inbound, partner: FakePartner, clock: FakeClock) -> None:
    partner.answer_code = "AR"
    wired.handle(sample("epic_orm_o01_251_new.hl7"), PEER)
    for _ in range(12):
        drain(radflow)
        clock.advance(timedelta(hours=2))
    (job,) = jobs(radflow, ORDER_STATUS)
    assert job.state is JobState.DEAD
    dead = radflow.bus.handle(ListOutbound(actor=ADMIN, states=(JobState.DEAD,)))
    assert [row.job_id for row in dead] == [job.id]
    partner.answer_code = "AA"
    radflow.bus.handle(ResendOutbound(actor=ADMIN, job_id=job.id))
    drain(radflow)
    (job,) = jobs(radflow, ORDER_STATUS)
    assert job.state is JobState.DONE and job.result["ack_code"] == "AA"
    assert {p[9] for i in range(len(partner.received)) for p in partner.segments(i, "MSH")} == {
        control_id_for(job.key)}


def test_one_destination_gets_its_messages_one_at_a_time_in_order(
        radflow: Radflow, wired: Hl7Inbound, partner: FakePartner, clock: FakeClock) -> None:
    partner.answer_code = "AE"
    wired.handle(sample("epic_orm_o01_251_two_orders.hl7"), PEER)
    drain(radflow)
    # The first message is refused: the second waits behind it (HL7 order per destination).
    assert len(partner.received) == 1
    partner.answer_code = "AA"
    clock.advance(seconds=20)
    drain(radflow)
    placers = [partner.segments(i, "ORC")[0][2] for i in range(len(partner.received))]
    assert placers == ["PL-5002", "PL-5002", "PL-5003"]


def test_a_signed_report_goes_to_the_placer_as_oru_r01_final(
        radflow: Radflow, wired: Hl7Inbound, partner: FakePartner) -> None:
    wired.handle(sample("epic_orm_o01_251_new.hl7"), PEER)
    drain(radflow)
    with radflow.uow() as uow:
        (order,) = uow.orders.by_placer("EPIC^MAINHOSP", "PL-5001")
        now = radflow.ctx.clock.now()
        report = Report(id=new_id(), order_id=order.id, patient_id=order.patient_id,
                        accession_number=order.accession_number, study_instance_uid=order.study_instance_uid,
                        template_key="generic", state=ReportState.DRAFT, created_at=now, author_id="rad",
                        findings="Normal alignment.", impression="No acute findings.")
        uow.reports.add(report)  # type: ignore[attr-defined]
        report.sign(by="rad", by_name="Riley Radiologist", at=now)  # records ReportFinalized
        uow.commit()
    before = len(partner.received)
    drain(radflow)
    oru = partner.received[before:]
    assert len(oru) == 1
    index = before
    assert partner.segments(index, "MSH")[0][8].startswith("ORU^R01")
    assert partner.segments(index, "OBR")[0][25] == "F"
    text = oru[0].decode()
    assert "FINDINGS:" in text and "Normal alignment." in text and "No acute findings." in text
    assert jobs(radflow, REPORT)[0].state is JobState.DONE


def test_enhanced_mode_application_ack_is_delivered_to_the_return_destination(
        radflow: Radflow, wired: Hl7Inbound, partner: FakePartner) -> None:
    reply = wired.handle(sample("epic_orm_o01_251_new.hl7").replace(b"|AL|NE|", b"|AL|AL|"), PEER)
    assert b"MSA|CA|EPIC000101" in reply
    drain(radflow)
    acks = [raw for raw in partner.received if raw.split(b"\r")[0].split(b"|")[8].startswith(b"ACK")]
    assert len(acks) == 1 and b"MSA|AA|EPIC000101" in acks[0]
