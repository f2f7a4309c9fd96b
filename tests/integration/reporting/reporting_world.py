"""Studies waiting to be read, for the reporting area's integration tests.

Until the exam day drives orders there (MPPS, QC), a test's set-up moves an order through its
lifecycle events in a unit of work: each step is a real `order.transition`, recorded on the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from radflow.bootstrap import Radflow
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.users import Principal, Role
from radflow.services.orders import OrderLine, ReceivedReferral, ReceiveReferral
from radflow.services.patients import RegisteredPatient, RegisterPatient

ORDERING_NPI = "1234567893"
COVERING_NPI = "1245319599"

#: The event that moves an order one step nearer to reading, from each state on the way.
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


@dataclass(frozen=True)
class Study:
    """A study waiting to be read."""

    patient_id: str
    mrn: str
    order_id: str
    accession_number: str


def drive_to_reading(radflow: Radflow, order_id: str, *, site: str = "Main") -> None:
    """Move an order along its lifecycle until its images are complete (test set-up)."""
    with radflow.uow() as uow:
        order = uow.orders.get(order_id)
        while order.state is not OrderState.IMAGING_COMPLETED:
            event = TOWARDS_READING[order.state]
            order.transition(event, by="test:exam-day", at=radflow.ctx.clock.now(),
                             details={"site": site} if event is OrderEvent.QC_PASSED else {})
        uow.commit()


def new_study(radflow: Radflow, protocol_code: str, *, npi: str = ORDERING_NPI, reason: str = "",
              contrast: str | None = None, laterality: str | None = None, family: str = "Rivera",
              priority: str = "routine", patient_id: str = "", site: str = "Main") -> Study:
    """Register a patient (unless given), receive a referral for one exam, and bring it to reading."""
    intake = Principal.system("test-intake", role=Role.INTAKE)
    if not patient_id:
        registered: RegisteredPatient = radflow.bus.handle(RegisterPatient(
            actor=intake, family_name=family, given_name="Maria", birth_date=date(1958, 4, 12), sex="F",
            phone="555-201-0001"))
        patient_id = registered.patient_id
    received: ReceivedReferral = radflow.bus.handle(ReceiveReferral(
        actor=intake, patient_id=patient_id, channel="e_order", lines=(OrderLine(
            protocol_code=protocol_code, contrast=contrast, laterality=laterality, priority=priority,
            reason_for_exam=reason or "evaluation requested by the referring provider",
            diagnosis_codes=("R51.9",), ordering_provider_npi=npi, ordering_provider_name="Dr Order",
            self_pay=True),)))
    order_id = received.order_ids[0]
    drive_to_reading(radflow, order_id, site=site)
    with radflow.uow() as uow:
        mrn = uow.patients.get(patient_id).mrn
    return Study(patient_id=patient_id, mrn=mrn, order_id=order_id, accession_number=received.accession_numbers[0])
