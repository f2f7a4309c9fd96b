"""Outbound messages: order status to the placer (ORM^O01 or OMI^O23) and reports (ORU^R01).

Inputs are plain dataclasses; output is the bytes of one message in the destination's version and
character set. MSH-10 comes from the caller and must stay the same on every retry, so that a
deduplicating receiver sees the message once (DESIGN.md, durable jobs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Literal

from radflow.adapters.hl7.mapping import Destination
from radflow.adapters.hl7.messages import CodedValue, Provider
from radflow.adapters.hl7.writing import (
    FieldValue,
    FormattedText,
    hl7_date,
    hl7_timestamp,
    render_message,
    render_msh,
    render_segment,
)
from radflow.domain.errors import ValidationError
from radflow.domain.lifecycle import OrderState

# radflow's lifecycle state → HL7 table 0038 (order status), sent in ORC-5 with ORC-1 = SC.
# Table 0038: A some results available, CA canceled, CM completed, DC discontinued, ER error,
# HD on hold, IP in process (unspecified), RP replaced, SC in process, scheduled.
# - IP while radflow works the order without a fixed appointment (intake, protocolling,
#   scheduling, and again after a no-show or an incomplete exam, which go back to scheduling).
# - HD while it waits on someone outside the department (the referrer's documents, the payer's
#   decision or a denial) or on a screening hold: the placer should know the order is stuck.
# - SC from booking until the exam starts (checked in is still the scheduled step).
# - IP again from MPPS IN PROGRESS until technologist QC is done (IHE RAD TF-2 4.3: status
#   follows the performed procedure step).
# - CM once images are acquired and QC passed (IHE Scheduled Workflow: the procedure is
#   complete); the report itself travels separately as ORU^R01 with OBR-25 F/C, so "A" (some
#   results) never applies: one radflow order line is one requested procedure with one report.
# - CA for a cancellation; DC instead when the exam had started (see `order_status_code`).
ORDER_STATUS_BY_STATE: Mapping[OrderState, str] = {
    OrderState.RECEIVED: "IP",
    OrderState.AWAITING_DOCUMENTATION: "HD",
    OrderState.AWAITING_PROTOCOL: "IP",
    OrderState.PENDING_AUTHORIZATION: "HD",
    OrderState.AUTHORIZATION_DENIED: "HD",
    OrderState.READY_TO_SCHEDULE: "IP",
    OrderState.SCHEDULED: "SC",
    OrderState.CHECKED_IN: "SC",
    OrderState.ON_HOLD: "HD",
    OrderState.IN_PROGRESS: "IP",
    OrderState.AWAITING_QC: "IP",
    OrderState.INCOMPLETE: "IP",
    OrderState.NO_SHOW: "IP",
    OrderState.IMAGING_COMPLETED: "CM",
    OrderState.REPORTED: "CM",
    OrderState.DELIVERED: "CM",
    OrderState.CANCELLED: "CA",
}
# LOINC 18782-3: Radiology Study observation (narrative) — the report body's OBX-3.
REPORT_TEXT_CODE = ("18782-3", "Radiology Study observation (narrative)", "LN")
# RADS categories carry a local code system (HL7 table 0396 "99zzz" for local codes).
RADS_CODE_SYSTEM = "99RADS"
RADFLOW_APPLICATION = "RADFLOW"
_CONTROL_ID_LENGTH = 20  # MSH-10 is an ST of 20 characters in 2.3 to 2.5.1


def order_status_code(state: OrderState, *, exam_started: bool = False) -> str:
    """The table 0038 code for a lifecycle state; a cancellation after the exam started is DC."""
    if state is OrderState.CANCELLED and exam_started:
        return "DC"
    return ORDER_STATUS_BY_STATE[state]


@dataclass(frozen=True)
class OutboundPatient:
    """The patient as the destination knows them: MRN (with its authority), name, birth date, sex."""

    mrn: str
    mrn_authority: str
    family_name: str
    given_name: str
    middle_name: str = ""
    birth_date: date | None = None
    sex: str = ""


@dataclass(frozen=True)
class OrderStatusUpdate:
    """One status change of one order line, to send to its placer."""

    control_id: str
    created_at: datetime
    patient: OutboundPatient
    placer_order_number: str
    accession_number: str
    state: OrderState
    status_changed_at: datetime
    procedure: CodedValue
    exam_started: bool = False
    scheduled_at: datetime | None = None
    ordering_provider: Provider | None = None
    requested_procedure_id: str = ""
    study_instance_uid: str = ""
    scheduled_procedure_step_id: str = ""
    modality: str = ""


@dataclass(frozen=True)
class RadsCategory:
    """A structured assessment: the system (BI-RADS, Lung-RADS, TI-RADS) and its category."""

    system: str
    code: str
    text: str = ""


@dataclass(frozen=True)
class ReportMessage:
    """A signed report (final) or its addendum (corrected), to send to the ordering provider's system."""

    control_id: str
    created_at: datetime
    patient: OutboundPatient
    placer_order_number: str
    accession_number: str
    procedure: CodedValue
    status: Literal["final", "corrected"]
    signed_at: datetime
    text: str
    observed_at: datetime | None = None
    interpreter: Provider | None = None
    ordering_provider: Provider | None = None
    rads: RadsCategory | None = None
    value_type: Literal["TX", "FT"] = "TX"


@dataclass(frozen=True)
class Sender:
    """How radflow names itself in MSH-3/MSH-4, and the zone its timestamps are written in."""

    application: str = RADFLOW_APPLICATION
    facility: str = ""
    zone: tzinfo | None = None
    processing_id: str = "P"


def build_order_status(update: OrderStatusUpdate, destination: Destination, sender: Sender | None = None) -> bytes:
    """ORM^O01 (or OMI^O23 when the destination asks) with ORC-1 = SC and ORC-5 from table 0038."""
    sender = sender or Sender()
    version = destination.version
    omi = destination.status_message == "OMI"
    if omi and not _at_least(version, 2, 5):
        raise ValidationError(
            f"OMI^O23 needs HL7 2.5 or later; destination {destination.host} is set to {version}",
            field="status_message",
        )
    zone = sender.zone
    status = order_status_code(update.state, exam_started=update.exam_started)
    scheduled = hl7_timestamp(update.scheduled_at, zone) if update.scheduled_at else ""
    code, trigger = ("OMI", "O23") if omi else ("ORM", "O01")
    segments = [
        _msh(update.control_id, update.created_at, code, trigger, destination, sender),
        _pid(update.patient),
        render_segment(
            "ORC",
            [
                "SC",
                update.placer_order_number,
                update.accession_number,
                "",
                status,
                "",
                "" if _at_least(version, 2, 5) else ("", "", "", scheduled),
                "",
                hl7_timestamp(update.status_changed_at, zone),
                "",
                "",
                _xcn(update.ordering_provider),
            ],
        ),
    ]
    if _at_least(version, 2, 5):
        segments.append(render_segment("TQ1", ["1", "", "", "", "", "", scheduled]))
    obr: list[FieldValue] = ["1", update.placer_order_number, update.accession_number, _ce(update.procedure)]
    obr += [""] * 11 + [_xcn(update.ordering_provider)]  # OBR-16
    obr += ["", update.accession_number, update.requested_procedure_id]  # OBR-17..19 (IHE: OBR-18 accession)
    obr += [""] * 16 + [scheduled]  # OBR-36 scheduled date/time
    segments.append(render_segment("OBR", obr))
    if omi:
        segments.append(_ipc(update))
    return render_message(segments, destination.charset)


def build_report(report: ReportMessage, destination: Destination, sender: Sender | None = None) -> bytes:
    """ORU^R01 for a final report (OBR-25 F) or an addendum (C), text as TX lines or one FT, RADS coded."""
    sender = sender or Sender()
    zone = sender.zone
    version = destination.version
    result_status = "F" if report.status == "final" else "C"
    segments = [
        _msh(report.control_id, report.created_at, "ORU", "R01", destination, sender),
        _pid(report.patient),
        render_segment("ORC", ["RE", report.placer_order_number, report.accession_number, "", "CM"]),
    ]
    obr: list[FieldValue] = ["1", report.placer_order_number, report.accession_number, _ce(report.procedure)]
    obr += ["", "", hl7_timestamp(report.observed_at, zone) if report.observed_at else ""]  # OBR-7
    obr += [""] * 8 + [_xcn(report.ordering_provider)]  # OBR-16
    obr += ["", report.accession_number, "", "", "", hl7_timestamp(report.signed_at, zone)]  # OBR-18, OBR-22
    obr += ["", "", result_status]  # OBR-25
    obr += [""] * 6 + [_ndl(report.interpreter)]  # OBR-32
    segments.append(render_segment("OBR", obr))
    segments.extend(_report_observations(report, result_status, version))
    return render_message(segments, destination.charset)


@dataclass(frozen=True)
class PatientMergeMessage:
    """ADT^A40: the surviving patient, and the record merged into it as the placer knew it."""

    control_id: str
    created_at: datetime
    survivor: OutboundPatient
    merged: OutboundPatient
    merged_at: datetime


def build_merge(merge: PatientMergeMessage, destination: Destination, sender: Sender | None = None) -> bytes:
    """ADT^A40 (merge patient, identifier list): EVN, the survivor in PID, the merged record in MRG."""
    sender = sender or Sender()
    merged = merge.merged
    segments = [
        # The A40 travels in the A39 structure (HL7 2.3.1 3.3.40 onwards).
        _msh(merge.control_id, merge.created_at, "ADT", "A40", destination, sender, structure="ADT_A39"),
        render_segment("EVN", ["A40", hl7_timestamp(merge.merged_at, sender.zone)]),
        _pid(merge.survivor),
        render_segment("MRG", [(merged.mrn, "", "", merged.mrn_authority, "MR"), *[""] * 5,
                               (merged.family_name, merged.given_name, merged.middle_name)]),  # MRG-1, MRG-7
    ]
    return render_message(segments, destination.charset)


def _report_observations(report: ReportMessage, result_status: str, version: str) -> list[str]:
    """OBX lines: the text (one TX per line, or one FT), then the RADS category as CWE (CE before 2.5)."""
    lines = report.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    values: list[str] = [FormattedText("\n".join(lines))] if report.value_type == "FT" else lines
    observations = [
        render_segment("OBX", [str(n), report.value_type, REPORT_TEXT_CODE, "", value, *[""] * 5, result_status])
        for n, value in enumerate(values, start=1)
    ]
    if report.rads is not None:
        rads = report.rads
        coded_type = "CWE" if _at_least(version, 2, 5) else "CE"
        identifier = (rads.system, f"{rads.system} assessment category", RADS_CODE_SYSTEM)
        value = (rads.code, rads.text, f"{RADS_CODE_SYSTEM}-{rads.system}")
        number = str(len(observations) + 1)
        observations.append(
            render_segment("OBX", [number, coded_type, identifier, "", value, *[""] * 5, result_status])
        )
    return observations


def _msh(
    control_id: str, created_at: datetime, code: str, trigger: str, destination: Destination, sender: Sender,
    structure: str = "",
) -> str:
    if not control_id or len(control_id) > _CONTROL_ID_LENGTH:
        raise ValidationError(f"MSH-10 {control_id!r} must be 1 to {_CONTROL_ID_LENGTH} characters", field="control_id")
    message_type: tuple[str, ...] = (
        (code, trigger) if destination.version == "2.3" else (code, trigger, structure or f"{code}_{trigger}")
    )
    charset = "" if destination.charset.upper() in ("", "ASCII") else destination.charset
    return render_msh(
        [
            sender.application,
            sender.facility,
            destination.receiving_application,
            destination.receiving_facility,
            hl7_timestamp(created_at, sender.zone),
            "",
            message_type,
            control_id,
            sender.processing_id,
            destination.version,
            "",
            "",
            "",
            "",
            "",
            charset,
        ]
    )


def _pid(patient: OutboundPatient) -> str:
    identifier = (patient.mrn, "", "", patient.mrn_authority, "MR")
    name = (patient.family_name, patient.given_name, patient.middle_name)
    return render_segment("PID", ["1", "", identifier, "", name, "", hl7_date(patient.birth_date), patient.sex])


def _ipc(update: OrderStatusUpdate) -> str:
    """IPC (2.5.1 4.5.6): accession, requested procedure id, Study Instance UID, step id, modality."""
    if not update.study_instance_uid:
        raise ValidationError("OMI^O23 needs the Study Instance UID for IPC-3", field="study_instance_uid")
    return render_segment(
        "IPC",
        [
            update.accession_number,
            update.requested_procedure_id or update.accession_number,
            update.study_instance_uid,
            update.scheduled_procedure_step_id or "1",
            (update.modality, "", "DCM") if update.modality else "",
        ],
    )


def _ce(value: CodedValue) -> tuple[str, ...]:
    return (
        value.code,
        value.text,
        value.system,
        value.alternate_code,
        value.alternate_text,
        value.alternate_system,
    )


def _xcn(provider: Provider | None) -> FieldValue:
    """XCN; an NPI is marked with assigning authority NPI and type code NPI (table 0203)."""
    if provider is None:
        return ""
    npi = provider.npi
    authority = "NPI" if npi else provider.assigning_authority
    identifier_type = "NPI" if npi else provider.identifier_type
    return (
        provider.identifier,
        provider.family,
        provider.given,
        provider.middle,
        provider.suffix,
        provider.prefix,
        provider.degree,
        "",
        authority,
        "",
        "",
        "",
        identifier_type,
    )


def _ndl(provider: Provider | None) -> FieldValue:
    """NDL (OBR-32): the interpreter as a CNN in component 1 (id&family&given&middle&suffix&prefix&degree)."""
    if provider is None:
        return ""
    cnn = (
        provider.identifier,
        provider.family,
        provider.given,
        provider.middle,
        provider.suffix,
        provider.prefix,
        provider.degree,
        "",
        provider.assigning_authority,
    )
    return (cnn,)


def _at_least(version: str, major: int, minor: int) -> bool:
    parts = [int(p) for p in version.split(".")[:2] if p.isdigit()]
    return len(parts) == 2 and (parts[0], parts[1]) >= (major, minor)
