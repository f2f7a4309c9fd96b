"""Signed reports and a partner EHR, for the results area's integration tests.

Orders reach reading through their lifecycle events (a test's set-up: each step a real
`order.transition`); reports are written and signed through the reporting services; the placer's
EHR is a small MLLP endpoint that acknowledges every message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from radflow.bootstrap import Radflow
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.users import Principal, Role
from radflow.entrypoints.worker import work_once
from radflow.services.interfaces.mappings import LoadMapping
from radflow.services.orders import OrderLine, ReceivedReferral, ReceiveReferral
from radflow.services.patients import RegisteredPatient, RegisterPatient
from radflow.services.reading import ClaimStudy
from radflow.services.reports import SaveReport, SetRadsFindings, SignReport, StartReport

ORDERING_NPI = "1234567893"
COVERING_NPI = "1245319599"
OTHER_NPI = "1003000126"
PLACER = ("EPIC", "MAINHOSP")

TOWARDS_READING = {
    OrderState.RECEIVED: OrderEvent.CLEARED_FOR_SCHEDULING,
    OrderState.AWAITING_PROTOCOL: OrderEvent.CLEARED_FOR_SCHEDULING,
    OrderState.PENDING_AUTHORIZATION: OrderEvent.AUTHORIZATION_APPROVED,
    OrderState.READY_TO_SCHEDULE: OrderEvent.BOOKED,
    OrderState.SCHEDULED: OrderEvent.CHECKED_IN,
    OrderState.CHECKED_IN: OrderEvent.EXAM_STARTED,
    OrderState.IN_PROGRESS: OrderEvent.EXAM_COMPLETED,
    OrderState.AWAITING_QC: OrderEvent.QC_PASSED,
}
LUNG_RADS_3 = {"system": "lung-rads", "exam": "baseline", "nodules": [{"type": "solid", "diameter_mm": 7.2}]}


@dataclass(frozen=True)
class Study:
    """A study waiting to be read."""

    patient_id: str
    order_id: str
    accession_number: str


def drive_to_reading(radflow: Radflow, order_id: str) -> None:
    """Move an order along its lifecycle until its images are complete (test set-up)."""
    with radflow.uow() as uow:
        order = uow.orders.get(order_id)
        while order.state is not OrderState.IMAGING_COMPLETED:
            event = TOWARDS_READING[order.state]
            order.transition(event, by="test:exam-day", at=radflow.ctx.clock.now(),
                             details={"site": "Main"} if event is OrderEvent.QC_PASSED else {})
        uow.commit()


def register_patient(radflow: Radflow, family: str = "Rivera", sex: str = "F") -> str:
    """A new patient with a postal address."""
    intake = Principal.system("test-intake", role=Role.INTAKE)
    registered: RegisteredPatient = radflow.bus.handle(RegisterPatient(
        actor=intake, family_name=family, given_name="Maria", birth_date=date(1958, 4, 12), sex=sex,
        phone="555-201-0001", address_line="12 Elm Street", city="Springfield", state="IL", postal_code="62701"))
    return registered.patient_id


def new_study(radflow: Radflow, protocol_code: str, *, patient_id: str = "", npi: str = ORDERING_NPI,
              copy_to: Sequence[tuple[str, str]] = (), placer: bool = False, laterality: str | None = None,
              drive: bool = True) -> Study:
    """Receive a referral for one exam (for a new patient unless given) and bring it to reading."""
    intake = Principal.system("test-intake", role=Role.INTAKE)
    patient_id = patient_id or register_patient(radflow)
    received: ReceivedReferral = radflow.bus.handle(ReceiveReferral(
        actor=intake, patient_id=patient_id, channel="e_order", lines=(OrderLine(
            protocol_code=protocol_code, laterality=laterality, reason_for_exam="screening as recommended",
            diagnosis_codes=("Z12.31",), ordering_provider_npi=npi, ordering_provider_name="Dr Order",
            self_pay=True, copy_to=tuple(copy_to), placer_system="^".join(PLACER) if placer else "",
            placer_order_number=f"PL-{patient_id[:8]}-{protocol_code}" if placer else ""),)))
    order_id = received.order_ids[0]
    if drive:
        drive_to_reading(radflow, order_id)
    return Study(patient_id=patient_id, order_id=order_id, accession_number=received.accession_numbers[0])


def sign(radflow: Radflow, radiologist: Principal, order_id: str, *, findings: Sequence[Mapping[str, Any]] = (),
         sections: Mapping[str, str] | None = None) -> None:
    """Claim, write and sign a report through the reporting services."""
    bus = radflow.bus
    bus.handle(ClaimStudy(actor=radiologist, order_id=order_id))
    bus.handle(StartReport(actor=radiologist, order_id=order_id))
    if findings:
        bus.handle(SetRadsFindings(actor=radiologist, order_id=order_id, findings=tuple(findings)))
    bus.handle(SaveReport(actor=radiologist, order_id=order_id, sections=dict(sections or {
        "findings": "No acute abnormality.", "impression": "Normal examination."})))
    bus.handle(SignReport(actor=radiologist, order_id=order_id))


def drain(radflow: Radflow, owner: str = "test-worker", rounds: int = 60) -> int:
    """Run the worker until nothing is due; returns how many jobs ran."""
    total = 0
    for _ in range(rounds):
        ran = work_once(radflow, owner)
        if ran == 0:
            return total
        total += ran
    return total


def mapping_text(port: int) -> str:
    """An HL7 mapping whose EPIC sender takes status and reports on `port`."""
    return f"""version: 1
senders:
  - name: Main Hospital (Epic, 2.5.1)
    sending_application: {PLACER[0]}
    sending_facility: {PLACER[1]}
    timezone: America/New_York
    mrn: {{assigning_authority: MAINHOSP, identifier_type: MR}}
    outbound:
      host: 127.0.0.1
      port: {port}
      receiving_application: EPIC
      receiving_facility: MAINHOSP
      version: "2.5.1"
"""


def load_mapping(radflow: Radflow, port: int) -> None:
    """Load the partner's mapping as `radflow hl7 mapping load` does."""
    radflow.bus.handle(LoadMapping(actor=Principal.system("test-admin", role=Role.ADMIN), content=mapping_text(port),
                                   source="mapping.yaml"))
