"""Acceptance over real sockets against a real `radflow serve` (MLLP on an ephemeral port, no HTTP, no
DICOM): every message type and every failure, in the styles of several real senders (2.3 to 2.5.1,
Latin-1 and UTF-8 names, CRLF, the sender's own delimiters, escapes, repeated identifiers, Z-segments)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from hl7_process_support import Center, ServeProcess, center
from hl7_service_support import DATA, sample, segment

from radflow.adapters.hl7.mllp import MllpClient
from radflow.bootstrap import Radflow, bootstrap
from radflow_test_support import backends


@dataclass
class Server:
    """The running server, its database, and an in-process view of that database."""

    process: ServeProcess
    center: Center
    radflow: Radflow

    def send(self, raw: bytes) -> bytes:
        with MllpClient("127.0.0.1", self.process.port, ack_timeout_s=120) as client:
            return client.send(raw)


@pytest.fixture(scope="module", params=backends())
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"serve-{request.param}")
    with center(tmp, request.param, (DATA / "mapping.yaml").read_text()) as center_:
        process = center_.serve()
        try:
            process.wait_until_listening()
            wired = bootstrap(center_.settings)
            yield Server(process, center_, wired)
            wired.engine.dispose()
        finally:
            process.stop()


def code_and_id(reply: bytes) -> tuple[str, str]:
    msa = segment(reply, "MSA")
    return msa[1], msa[2]


# In the order a day at the interface brings them: registration, orders, changes, reports.
ACCEPTED = [
    ("cerner_adt_a04_231.hl7", "AA", "CRN-778801"),
    ("epic_adt_a08_25.hl7", "AA", "EPIC000201"),
    ("epic_orm_o01_251_new.hl7", "CA", "EPIC000101"),  # enhanced mode: MSH-15 AL, MSH-16 NE
    ("epic_orm_o01_251_two_orders.hl7", "AA", "EPIC000102"),
    ("epic_orm_o01_251_change.hl7", "AA", "EPIC000105"),
    ("epic_orm_o01_251_discontinue.hl7", "AA", "EPIC000104"),
    ("epic_orm_o01_251_cancel.hl7", "AA", "EPIC000103"),
    ("cerner_orm_o01_23_latin1.hl7", "AA", "CRN-778812"),
    ("meditech_orm_o01_24_crlf.hl7", "AA", "MT20260302-0042"),
    ("meditech_orm_o01_24_custom_delimiters.hl7", "AA", "MT20260302-0043"),
    ("partner_omi_o23_25.hl7", "AA", "PRT-000981"),
    ("epic_adt_a40_251.hl7", "AA", "EPIC000202"),
]
REFUSED = [
    ("error_missing_patient_identifier.hl7", "AE", "101"),
    ("error_bad_birth_date.hl7", "AE", "102"),
    ("error_unknown_procedure.hl7", "AE", "103"),
    ("error_unsupported_type.hl7", "AR", "200"),
    ("error_unsupported_event.hl7", "AR", "201"),
    ("error_unsupported_version.hl7", "AR", "203"),
    ("error_unsupported_version_22.hl7", "AR", "203"),
]


def test_every_message_type_from_every_sender_style_is_applied_and_acknowledged(server: Server) -> None:
    for name, code, control_id in ACCEPTED[:2]:
        assert code_and_id(server.send(sample(name))) == (code, control_id), name
    with server.radflow.uow() as uow:
        latin1 = uow.patients.by_identifier("CCLINIC", "0099123")
        utf8 = uow.patients.by_identifier("EPI", "E1029384")
    assert latin1 is not None and (latin1.family_name, latin1.given_name) == ("Müller", "Jürgen")
    assert utf8 is not None and utf8.family_name == "Núñez-García"
    for name, code, control_id in ACCEPTED[2:]:
        assert code_and_id(server.send(sample(name))) == (code, control_id), name
    with server.radflow.uow() as uow:
        (partner, other) = uow.orders.by_placer("PARTNER^NORTH", "PRT-ORD-31")
        (custom,) = uow.orders.by_placer("MEDITECH^REGIONAL", "MT-ORD-89")
        (cancelled,) = uow.orders.by_placer("EPIC^MAINHOSP", "PL-5001")
    # The placer assigns the accession in IPC-1 (OMI^O23 with two IPCs: two requested procedures).
    assert {partner.accession_number, other.accession_number} == {"NACC000311", "NACC000312"}
    # The sender's own escape character ($): $F$ and $S$ are its field and component separators.
    assert "Pain ! weakness @ L5" in custom.clinical_notes
    assert cancelled.state.value == "cancelled"


def test_every_failure_is_answered_with_its_ack_code_and_err(server: Server) -> None:
    for name, code, err in REFUSED:
        reply = server.send(sample(name))
        assert segment(reply, "MSA")[1] == code, name
        assert f"|{err}^" in reply.decode("latin-1"), name


def test_a_report_from_the_dictation_system_is_attached_over_the_wire(server: Server) -> None:
    server.send(sample("epic_orm_o01_251_two_orders.hl7"))  # a repeat when the first test ran: no effect
    server.send(sample("cerner_orm_o01_23_latin1.hl7"))
    with server.radflow.uow() as uow:
        (order,) = uow.orders.by_placer("EPIC^MAINHOSP", "PL-5002")
    report = sample("dictation_oru_r01_251_final.hl7").replace(b"RAD0000123", order.accession_number.encode())
    assert code_and_id(server.send(report)) == ("AA", "PS-2026-000441")
    # A corrected report (2.4) found by its placer number among the patient's orders; then one for no order.
    assert code_and_id(server.send(sample("dictation_oru_r01_24_corrected.hl7"))) == ("AA", "DCT-88120")
    unknown = sample("dictation_oru_r01_24_corrected.hl7").replace(b"CRN-ORD-4471", b"NO-SUCH-ORDER").replace(
        b"DCT-88120", b"DCT-88121")
    reply = server.send(unknown)
    assert segment(reply, "MSA")[1] == "AE" and "|204^" in reply.decode("latin-1")


def test_a_resent_message_gets_the_very_same_ack(server: Server) -> None:
    raw = sample("meditech_orm_o01_24_crlf.hl7").replace(b"MT20260302-0042", b"MT-RESEND-1").replace(
        b"MT-ORD-88", b"MT-ORD-RESEND")
    first = server.send(raw)
    assert segment(first, "MSA")[1] == "AA"
    assert server.send(raw) == first
    with server.radflow.uow() as uow:
        assert len(uow.orders.by_placer("MEDITECH^REGIONAL", "MT-ORD-RESEND")) == 1


def test_many_connections_at_once_each_get_their_acks(server: Server) -> None:
    template = sample("meditech_orm_o01_24_crlf.hl7")

    def one_connection(number: int) -> list[str]:
        codes = []
        with MllpClient("127.0.0.1", server.process.port, ack_timeout_s=120) as client:
            for line in range(3):
                tag = f"C{number}-{line}"
                raw = template.replace(b"MT20260302-0042", f"MT-{tag}".encode()).replace(
                    b"MT-ORD-88", f"ORD-{tag}".encode()).replace(b"RM0004471", f"RM{number}{line}".encode())
                codes.append(segment(client.send(raw), "MSA")[1])
        return codes

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one_connection, range(6)))
    assert all(codes == ["AA", "AA", "AA"] for codes in results), results
