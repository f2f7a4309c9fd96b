"""Messages in with exactly-once effects: every message type applied through the real services and database."""

from __future__ import annotations

import threading

import pytest
from hl7_service_support import DATA, ack_code, count, load_mapping_text, sample, segment

from radflow.bootstrap import Radflow
from radflow.domain.hl7_message import MessageStatus, ReferenceKind
from radflow.domain.jobs import Job, JobState
from radflow.domain.lifecycle import OrderEvent
from radflow.domain.referral import DocumentKind
from radflow.domain.users import Principal, Role
from radflow.services.interfaces.inbound import Hl7Inbound
from radflow.services.interfaces.monitor import SearchMessages
from radflow.services.interfaces.outbound import APPLICATION_ACK, ORDER_STATUS
from radflow.services.interfaces.store import MessageSearch
from radflow_test_support import backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)
PEER = "127.0.0.1:5000"
MANAGER = Principal.system("test-manager", role=Role.MANAGER)


def orders_by_placer(radflow: Radflow, placer: str) -> dict[str, str]:
    """accession -> state of the EPIC orders with this placer number."""
    with radflow.uow() as uow:
        return {o.accession_number: o.state.value for o in uow.orders.by_placer("EPIC^MAINHOSP", placer)}


def the_order(radflow: Radflow, placer: str) -> tuple[str, str, str]:
    """(order id, accession, state) of the one EPIC order with this placer number."""
    with radflow.uow() as uow:
        (order,) = uow.orders.by_placer("EPIC^MAINHOSP", placer)
        return order.id, order.accession_number, order.state.value


def missing(radflow: Radflow, placer: str) -> list[str]:
    """What the completeness check asks for on the EPIC order with this placer number."""
    with radflow.uow() as uow:
        (order,) = uow.orders.by_placer("EPIC^MAINHOSP", placer)
        return list(order.missing_items)


def jobs_of(radflow: Radflow, kind: str) -> list[Job]:
    """The HL7 jobs of one kind, in any state."""
    with radflow.uow() as uow:
        found: list[Job] = uow.hl7_jobs.hl7_jobs((kind,), tuple(JobState), 50)  # type: ignore[attr-defined]
        return found


def search(radflow: Radflow, **criteria: object) -> list[str]:
    page = radflow.bus.handle(SearchMessages(actor=MANAGER, query=MessageSearch(**criteria)))  # type: ignore[arg-type]
    return [row.control_id for row in page.rows]


def start_exam(radflow: Radflow, order_id: str) -> None:
    """Drive an order (awaiting documentation) to `in_progress`, as the pipeline would."""
    with radflow.uow() as uow:
        order = uow.orders.get(order_id)
        now = radflow.ctx.clock.now()
        for event in (OrderEvent.DOCUMENTATION_RECEIVED, OrderEvent.CLEARED_FOR_SCHEDULING, OrderEvent.BOOKED,
                      OrderEvent.EXAM_STARTED):
            order.transition(event, by="test", at=now)
        uow.commit()


def test_new_order_creates_patient_and_orders_and_an_order_without_diagnosis_awaits_documentation(
        radflow: Radflow, inbound: Hl7Inbound) -> None:
    reply = inbound.handle(sample("epic_orm_o01_251_two_orders.hl7"), PEER)
    assert segment(reply, "MSA")[1:3] == ["AA", "EPIC000102"]
    assert count(radflow, "orders") == 2 and count(radflow, "patients") == 1
    with radflow.uow() as uow:
        patient = uow.patients.by_identifier("MAINHOSP", "884422")
        assert patient is not None and (patient.family_name, patient.given_name) == ("Doe", "Jane")
    # PL-5003 (CT head) has no DG1 and no OBR-31 code: accepted, and the checklist asks for the diagnosis.
    assert list(orders_by_placer(radflow, "PL-5003").values()) == ["awaiting_documentation"]
    assert any("diagnosis code" in item for item in missing(radflow, "PL-5003"))
    assert not any("diagnosis code" in item for item in missing(radflow, "PL-5002"))


def test_a_repeated_message_gets_the_original_ack_and_has_no_second_effect(
        radflow: Radflow, inbound: Hl7Inbound) -> None:
    first = inbound.handle(sample("epic_orm_o01_251_two_orders.hl7"), PEER)
    orders, jobs = count(radflow, "orders"), count(radflow, "jobs")
    again = inbound.handle(sample("epic_orm_o01_251_two_orders.hl7").replace(b"\r", b"\r\n"), PEER)
    assert again == first
    assert (count(radflow, "orders"), count(radflow, "jobs"), count(radflow, "messages")) == (orders, jobs, 1)
    with radflow.uow() as uow:
        (stored,) = uow.hl7_messages.with_control_id("EPIC", "MAINHOSP", "EPIC000102")  # type: ignore[attr-defined]
        assert stored.deliveries == 2 and stored.status is MessageStatus.APPLIED


def test_a_different_message_under_a_used_control_id_is_held_for_review_and_not_applied(
        radflow: Radflow, inbound: Hl7Inbound) -> None:
    inbound.handle(sample("epic_orm_o01_251_two_orders.hl7"), PEER)
    changed = sample("epic_orm_o01_251_two_orders.hl7").replace(b"PL-5003", b"PL-7777")
    reply = inbound.handle(changed, PEER)
    assert ack_code(reply) == "AE" and segment(reply, "ERR")[3].startswith("205^")
    assert "held for review" in segment(reply, "ERR")[8]
    assert orders_by_placer(radflow, "PL-7777") == {}
    assert search(radflow, status=MessageStatus.HELD_FOR_REVIEW) == ["EPIC000102"]
    # The held message sent again gets the same answer and stays one held message.
    assert inbound.handle(changed, PEER) == reply
    assert count(radflow, "messages") == 2


def test_a_refused_message_is_stored_and_applied_when_sent_again_after_the_mapping_is_fixed(
        radflow: Radflow, inbound: Hl7Inbound) -> None:
    raw = sample("error_unknown_procedure.hl7")
    reply = inbound.handle(raw, PEER)
    assert ack_code(reply) == "AE" and segment(reply, "ERR")[3].startswith("103^")
    assert segment(reply, "ERR")[2] == "OBR^1^4^1^1"
    assert count(radflow, "orders") == 0
    assert search(radflow, status=MessageStatus.REJECTED) == ["EPIC-ERR-03"]
    fixed = (DATA / "mapping.yaml").read_text().replace(
        "      IMG3001: {protocol: DX-KNEE, laterality: L}",
        "      IMG3001: {protocol: DX-KNEE, laterality: L}\n      IMG9999: {protocol: PT-FDG, contrast: tracer}")
    load_mapping_text(radflow, fixed)
    assert ack_code(inbound.handle(raw, PEER)) == "AA"
    assert len(orders_by_placer(radflow, "PL-9003")) == 1
    assert search(radflow, control_id="EPIC-ERR-03", status=MessageStatus.APPLIED) == ["EPIC-ERR-03"]


def test_content_errors_are_stored_rejected_with_their_err(radflow: Radflow, inbound: Hl7Inbound) -> None:
    reply = inbound.handle(sample("error_bad_birth_date.hl7"), PEER)
    assert ack_code(reply) == "AE" and segment(reply, "ERR")[3].startswith("102^")
    reply = inbound.handle(sample("error_unsupported_version.hl7"), PEER)
    assert ack_code(reply) == "AR" and segment(reply, "ERR")[3].startswith("203^")
    assert sorted(search(radflow, status=MessageStatus.REJECTED)) == ["EPIC-ERR-02", "EPIC-ERR-06"]
    assert count(radflow, "patients") == 0


def test_a_sender_not_in_the_mapping_is_rejected(radflow: Radflow, inbound: Hl7Inbound) -> None:
    raw = sample("epic_orm_o01_251_two_orders.hl7").replace(b"|EPIC|MAINHOSP|", b"|UNKNOWN|ELSEWHERE|", 1)
    reply = inbound.handle(raw, PEER)
    assert ack_code(reply) == "AR" and "not configured in the HL7 mapping" in segment(reply, "ERR")[8]
    assert count(radflow, "orders") == 0


def test_cancel_withdraws_the_order_and_a_repeat_cancel_is_harmless(radflow: Radflow, inbound: Hl7Inbound) -> None:
    inbound.handle(sample("epic_orm_o01_251_new.hl7"), PEER)
    assert ack_code(inbound.handle(sample("epic_orm_o01_251_cancel.hl7"), PEER)) == "AA"
    assert list(orders_by_placer(radflow, "PL-5001").values()) == ["cancelled"]
    again = sample("epic_orm_o01_251_cancel.hl7").replace(b"EPIC000103", b"EPIC000193")
    assert ack_code(inbound.handle(again, PEER)) == "AA"


def test_cancel_of_an_unknown_order_is_ae_unknown_key(radflow: Radflow, inbound: Hl7Inbound) -> None:
    reply = inbound.handle(sample("epic_orm_o01_251_cancel.hl7"), PEER)
    assert ack_code(reply) == "AE" and segment(reply, "ERR")[3].startswith("204^")


def test_discontinue_after_the_exam_started_is_refused_and_changes_nothing(
        radflow: Radflow, inbound: Hl7Inbound) -> None:
    inbound.handle(sample("epic_orm_o01_251_two_orders.hl7"), PEER)
    order_id, _, _ = the_order(radflow, "PL-5003")
    start_exam(radflow, order_id)
    reply = inbound.handle(sample("epic_orm_o01_251_discontinue.hl7"), PEER)
    assert ack_code(reply) == "AE" and segment(reply, "ERR")[3].startswith("207^")
    assert "exam has started" in segment(reply, "ERR")[8]
    assert the_order(radflow, "PL-5003")[2] == "in_progress"


def test_discontinue_before_the_exam_cancels(radflow: Radflow, inbound: Hl7Inbound) -> None:
    inbound.handle(sample("epic_orm_o01_251_two_orders.hl7"), PEER)
    assert ack_code(inbound.handle(sample("epic_orm_o01_251_discontinue.hl7"), PEER)) == "AA"
    assert the_order(radflow, "PL-5003")[2] == "cancelled"


def test_change_supplies_the_missing_diagnosis_and_the_order_moves_on(radflow: Radflow, inbound: Hl7Inbound) -> None:
    inbound.handle(sample("epic_orm_o01_251_two_orders.hl7"), PEER)
    assert the_order(radflow, "PL-5003")[2] == "awaiting_documentation"
    change = sample("epic_orm_o01_251_change.hl7").replace(b"PL-5002", b"PL-5003").replace(
        b"IMG1234^MRI lumbar spine w/o contrast", b"IMG2001^CT head w/o contrast").replace(
        b"M54.5^Low back pain", b"R51.9^Headache, unspecified")
    assert ack_code(inbound.handle(change, PEER)) == "AA"
    order_id, _, _ = the_order(radflow, "PL-5003")
    with radflow.uow() as uow:
        order = uow.orders.get(order_id)
        assert "R51.9" in order.diagnosis_codes
        # The completeness check ran again: the diagnosis is no longer asked for (coverage still is).
        assert "documentation_received" in [t.event for t in order.transitions]
    assert not any("diagnosis code" in item for item in missing(radflow, "PL-5003"))


def test_change_to_another_procedure_is_refused(radflow: Radflow, inbound: Hl7Inbound) -> None:
    inbound.handle(sample("epic_orm_o01_251_two_orders.hl7"), PEER)
    change = sample("epic_orm_o01_251_change.hl7").replace(b"IMG1234^MRI lumbar spine w/o contrast",
                                                           b"IMG2001^CT head w/o contrast")
    reply = inbound.handle(change, PEER)
    assert ack_code(reply) == "AE" and "different procedure" in segment(reply, "ERR")[8]


def test_a_new_order_for_a_placer_number_already_open_is_a_duplicate_key(radflow: Radflow, inbound: Hl7Inbound) -> None:
    inbound.handle(sample("epic_orm_o01_251_two_orders.hl7"), PEER)
    again = sample("epic_orm_o01_251_two_orders.hl7").replace(b"EPIC000102", b"EPIC000999")
    reply = inbound.handle(again, PEER)
    assert ack_code(reply) == "AE" and segment(reply, "ERR")[3].startswith("205^")
    assert count(radflow, "orders") == 2


def test_adt_registers_updates_and_deletes_a_value_sent_as_hl7_null(radflow: Radflow, inbound: Hl7Inbound) -> None:
    assert ack_code(inbound.handle(sample("cerner_adt_a04_231.hl7"), PEER)) == "AA"
    with radflow.uow() as uow:
        patient = uow.patients.by_identifier("CCLINIC", "0099123")
        assert patient is not None and (patient.family_name, patient.given_name) == ("Müller", "Jürgen")
        assert patient.phone == "(217)555-0187" and patient.city == "Springfield"
    update = sample("cerner_adt_a04_231.hl7").replace(b"ADT^A04", b"ADT^A08").replace(
        b"CRN-778801", b"CRN-778802").replace(b"|(217)555-0187", b'|""').replace(
        b"Hauptstra\xdfe 5^^Springfield^IL^62704^USA", b"")
    assert ack_code(inbound.handle(update, PEER)) == "AA"
    with radflow.uow() as uow:
        patient = uow.patients.by_identifier("CCLINIC", "0099123")
        assert patient is not None
        # "" deleted the phone; the empty address field left the address as it was (HL7 2.5.1 2.5.3).
        assert patient.phone == "" and patient.city == "Springfield"
    assert count(radflow, "patients") == 1


def test_a08_for_an_unknown_patient_registers_them_with_their_identifiers(
        radflow: Radflow, inbound: Hl7Inbound) -> None:
    assert ack_code(inbound.handle(sample("epic_adt_a08_25.hl7"), PEER)) == "AA"
    with radflow.uow() as uow:
        patient = uow.patients.by_identifier("EPI", "E1029384")
        assert patient is not None and patient.family_name == "Núñez-García" and patient.given_name == "Zoë"


def test_a40_merges_the_prior_record_into_the_surviving_one(radflow: Radflow, inbound: Hl7Inbound) -> None:
    inbound.handle(sample("epic_adt_a08_25.hl7"), PEER)
    prior = sample("epic_adt_a08_25.hl7").replace(b"EPIC000201", b"EPIC000200").replace(
        b"884422^^^MAINHOSP^MR~E1029384^^^EPI^EI", b"884499^^^MAINHOSP^MR~E1029999^^^EPI^EI")
    inbound.handle(prior, PEER)
    assert count(radflow, "patients") == 2
    assert ack_code(inbound.handle(sample("epic_adt_a40_251.hl7"), PEER)) == "AA"
    with radflow.uow() as uow:
        survivor = uow.patients.by_identifier("MAINHOSP", "884422")
        merged = uow.patients.by_identifier("EPI", "E1029999")
        assert survivor is not None and merged is not None
        assert merged.id == survivor.id or merged.merged_into_id == survivor.id
    # The same merge again has nothing left to do.
    again = sample("epic_adt_a40_251.hl7").replace(b"EPIC000202", b"EPIC000203")
    assert ack_code(inbound.handle(again, PEER)) == "AA"


def test_an_outside_report_is_attached_to_its_order(radflow: Radflow, inbound: Hl7Inbound) -> None:
    inbound.handle(sample("epic_orm_o01_251_new.hl7"), PEER)
    order_id, accession, _ = the_order(radflow, "PL-5001")
    report = sample("dictation_oru_r01_251_final.hl7").replace(b"RAD0000123", accession.encode())
    reply = inbound.handle(report, PEER)
    assert ack_code(reply) == "AA"
    with radflow.uow() as uow:
        (document,) = [d for d in uow.documents.for_order(order_id) if d.kind is DocumentKind.PRIOR_REPORT]
        text = uow.documents.content(document.sha256).decode()
    assert "L4-5 disc protrusion contacting the left L5 root & mild canal narrowing." in text
    assert "Read by: Dr. Priya Rao MD" in text and "BI-RADS" in text
    assert sorted(search(radflow, reference_kind=ReferenceKind.ACCESSION, reference=accession)) == [
        "EPIC000101", "PS-2026-000441"]


def test_a_report_naming_another_patient_than_its_order_is_refused(radflow: Radflow, inbound: Hl7Inbound) -> None:
    inbound.handle(sample("epic_orm_o01_251_new.hl7"), PEER)
    inbound.handle(sample("cerner_adt_a04_231.hl7"), PEER)
    _, accession, _ = the_order(radflow, "PL-5001")
    report = sample("dictation_oru_r01_24_corrected.hl7").replace(b"RAD0000130", accession.encode())
    reply = inbound.handle(report, PEER)
    assert ack_code(reply) == "AE" and "is not the patient of order" in segment(reply, "ERR")[1] + reply.decode(
        "latin-1")
    assert count(radflow, "documents") == 0


def test_status_messages_are_queued_for_the_placer_on_every_state_change(
        radflow: Radflow, inbound: Hl7Inbound) -> None:
    inbound.handle(sample("epic_orm_o01_251_two_orders.hl7"), PEER)
    jobs = jobs_of(radflow, ORDER_STATUS)
    assert jobs and {j.queue for j in jobs} == {"hl7:epic-interface.mainhosp.example:6661"}
    assert "awaiting_documentation" in {j.payload["state"] for j in jobs}


def test_enhanced_mode_answers_ca_and_queues_the_application_ack_to_the_return_destination(
        radflow: Radflow, inbound: Hl7Inbound) -> None:
    raw = sample("epic_orm_o01_251_new.hl7").replace(b"|AL|NE|", b"|AL|AL|")
    reply = inbound.handle(raw, PEER)
    assert ack_code(reply) == "CA"
    (job,) = jobs_of(radflow, APPLICATION_ACK)
    assert job.queue == "hl7:epic-interface.mainhosp.example:6662"
    application_ack = job.payload["ack"].encode("latin-1")
    assert segment(application_ack, "MSA")[1:3] == ["AA", "EPIC000101"]
    assert segment(application_ack, "MSH")[14] == "AL"


def test_enhanced_mode_content_error_is_ca_on_the_connection_and_an_ae_application_ack(
        radflow: Radflow, inbound: Hl7Inbound) -> None:
    raw = sample("error_unknown_procedure.hl7").replace(b"|P|2.5.1", b"|P|2.5.1|||AL|AL", 1)
    assert ack_code(inbound.handle(raw, PEER)) == "CA"
    (job,) = jobs_of(radflow, APPLICATION_ACK)
    assert segment(job.payload["ack"].encode("latin-1"), "MSA")[1] == "AE"


def test_two_new_orders_for_one_new_patient_at_once_register_the_patient_once(radflow: Radflow,
                                                                             inbound: Hl7Inbound) -> None:
    # Both transactions register MRN 884422; the loser meets the identifier's unique key in a flush
    # before its commit, tries again, finds the winner's patient and adds only its order.
    raw = sample("epic_orm_o01_251_new.hl7")
    messages = [raw.replace(b"EPIC000101", f"EPIC00020{n}".encode()).replace(b"PL-5001", f"PL-600{n}".encode())
                for n in range(4)]
    barrier = threading.Barrier(len(messages))
    replies: list[bytes] = []

    def deliver(message: bytes) -> None:
        barrier.wait()
        replies.append(inbound.handle(message, PEER))

    threads = [threading.Thread(target=deliver, args=(message,)) for message in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(ack_code(reply) for reply in replies) == ["CA"] * 4  # the sample asks for enhanced mode
    assert count(radflow, "patients") == 1 and count(radflow, "orders") == 4 and count(radflow, "messages") == 4


def test_two_connections_delivering_one_message_at_once_apply_it_once(radflow: Radflow, inbound: Hl7Inbound) -> None:
    raw = sample("epic_orm_o01_251_two_orders.hl7")
    barrier = threading.Barrier(4)
    replies: list[bytes] = []

    def deliver() -> None:
        barrier.wait()
        replies.append(inbound.handle(raw, PEER))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(replies) == 4 and len(set(replies)) == 1 and ack_code(replies[0]) == "AA"
    assert count(radflow, "orders") == 2 and count(radflow, "messages") == 1
