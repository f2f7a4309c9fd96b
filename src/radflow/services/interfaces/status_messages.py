"""From radflow's records to the outbound message builders' inputs (order status, report).

The placer gets its own words back where radflow knows them: its MRN (the identifier from the
assigning authority its mapping names), its placer order number, and its own procedure code (the
first local code its mapping sends to the order's protocol and contrast).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from radflow.adapters.hl7.mapping import Destination, SenderMapping
from radflow.adapters.hl7.messages import CodedValue, Provider
from radflow.adapters.hl7.outbound import (
    OrderStatusUpdate,
    OutboundPatient,
    PatientMergeMessage,
    RadsCategory,
    ReportMessage,
    Sender,
    build_merge,
    build_order_status,
    build_report,
)
from radflow.domain.jobs import Job
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.services.context import ServiceContext
from radflow.services.interfaces.mappings import current_mapping
from radflow.services.unit_of_work import UnitOfWork

LOCAL_CODE_SYSTEM = "RADFLOW"


def _sender(uow: UnitOfWork, job: Job) -> SenderMapping | None:
    mapping = current_mapping(uow)
    application, facility = job.payload["sender"]
    return mapping.sender_named(application, facility) if mapping is not None else None


def outbound_patient(patient: Patient, sender: SenderMapping | None) -> OutboundPatient:
    """The patient under the placer's MRN when radflow holds it, else under radflow's own."""
    mrn, authority = patient.mrn, "RADFLOW"
    if sender is not None:
        for identifier in patient.identifiers:
            if identifier.authority.casefold() == sender.mrn.assigning_authority.casefold():
                mrn, authority = identifier.value, identifier.authority
                break
    return OutboundPatient(mrn=mrn, mrn_authority=authority, family_name=patient.family_name,
                           given_name=patient.given_name, middle_name=patient.middle_name,
                           birth_date=patient.birth_date, sex=patient.sex.value)


def procedure_code(ctx: ServiceContext, order: Order, sender: SenderMapping | None) -> CodedValue:
    """OBR-4 as the placer knows the procedure, else radflow's protocol code."""
    name = ctx.catalog.protocol(order.protocol_code).name
    if sender is not None:
        for code, entry in sender.procedures.items():
            if entry.protocol == order.protocol_code and entry.contrast in (None, order.contrast):
                return CodedValue(code, name, "", order.protocol_code, name, LOCAL_CODE_SYSTEM)
    return CodedValue(order.protocol_code, name, LOCAL_CODE_SYSTEM)


def ordering_provider(order: Order) -> Provider | None:
    """The ordering provider as an XCN, marked as an NPI when radflow has one."""
    if not (order.ordering_provider_npi or order.ordering_provider_name):
        return None
    family, _, given = order.ordering_provider_name.rpartition(" ")
    return Provider(identifier=order.ordering_provider_npi, family=family or given, given=given if family else "",
                    assigning_authority="NPI" if order.ordering_provider_npi else "",
                    identifier_type="NPI" if order.ordering_provider_npi else "")


def our_sender(ctx: ServiceContext) -> Sender:
    """MSH-3/MSH-4 of what radflow sends; timestamps in the center's zone, with their offset."""
    return Sender(zone=ctx.settings.zone)


def status_message(uow: UnitOfWork, ctx: ServiceContext, job: Job, destination: Destination,
                   control_id: str) -> bytes:
    """The ORM^O01 / OMI^O23 for the state change a job records (not the order's state now)."""
    order = uow.orders.get(job.payload["order_id"])
    patient = uow.patients.get(order.patient_id)
    sender = _sender(uow, job)
    update = OrderStatusUpdate(
        control_id=control_id, created_at=job.created_at, patient=outbound_patient(patient, sender),
        placer_order_number=order.placer_order_number, accession_number=order.accession_number,
        state=OrderState(job.payload["state"]), status_changed_at=datetime.fromisoformat(job.payload["at"]),
        procedure=procedure_code(ctx, order, sender), ordering_provider=ordering_provider(order),
        requested_procedure_id=order.accession_number, study_instance_uid=order.study_instance_uid,
        modality=order.requested_modality,
    )
    return build_order_status(update, destination, our_sender(ctx))


def report_message(uow: UnitOfWork, ctx: ServiceContext, job: Job, destination: Destination,
                   control_id: str) -> bytes:
    """The ORU^R01 for a signed report (F) or its addendum (C), from what the job snapshotted."""
    payload = job.payload
    order = uow.orders.get(payload["order_id"])
    patient = uow.patients.get(order.patient_id)
    sender = _sender(uow, job)
    status: Literal["final", "corrected"] = "corrected" if payload["status"] == "corrected" else "final"
    rads = None
    if payload.get("rads"):
        system, code, text = payload["rads"][0]
        rads = RadsCategory(system=system, code=code, text=text)
    signer = str(payload.get("signer") or "")
    family, _, given = signer.rpartition(" ")
    message = ReportMessage(
        control_id=control_id, created_at=job.created_at, patient=outbound_patient(patient, sender),
        placer_order_number=order.placer_order_number, accession_number=order.accession_number,
        procedure=procedure_code(ctx, order, sender), status=status,
        signed_at=datetime.fromisoformat(payload["signed_at"]), text=str(payload["text"]),
        interpreter=Provider(family=family or given, given=given if family else "") if signer else None,
        ordering_provider=ordering_provider(order), rads=rads,
    )
    return build_report(message, destination, our_sender(ctx))


def merge_message(uow: UnitOfWork, ctx: ServiceContext, job: Job, destination: Destination,
                  control_id: str) -> bytes:
    """The ADT^A40 for a merge: the survivor as the placer knows them, the merged record in MRG."""
    sender = _sender(uow, job)
    survivor, merged = uow.patients.get(job.payload["survivor_id"]), uow.patients.get(job.payload["merged_id"])
    return build_merge(PatientMergeMessage(
        control_id=control_id, created_at=job.created_at, survivor=outbound_patient(survivor, sender),
        merged=outbound_patient(merged, sender), merged_at=datetime.fromisoformat(job.payload["at"]),
    ), destination, our_sender(ctx))

