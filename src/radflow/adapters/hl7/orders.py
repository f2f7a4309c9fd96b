"""ORM^O01 and OMI^O23 readers: a patient and one RequestedProcedure per OBR (per IPC for OMI).

Segment groups follow HL7 2.5.1 4.4.1 (ORM^O01) and 4.4.6 (OMI^O23): PID [PV1] {ORC [TQ1] OBR
[NTE] [DG1] [OBX] {IPC}}. A DG1 or Z segment before the first ORC belongs to every order line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from radflow.adapters.hl7.datatypes import coded_value, provider, timestamp
from radflow.adapters.hl7.errors import ErrorCode, ErrorLocation, Hl7ContentError
from radflow.adapters.hl7.messages import (
    CodedValue,
    InboundOrder,
    MessageHeader,
    Provider,
    RequestedProcedure,
    ZSegment,
)
from radflow.adapters.hl7.patients import read_patient, z_segment
from radflow.adapters.hl7.segments import SegmentList, SegmentReader

# HL7 table 0119 (order control codes) that radflow takes from a placer.
ORDER_CONTROLS: dict[str, str] = {
    "NW": "new order",
    "CA": "cancel order request",
    "DC": "discontinue order request",
    "XO": "change order request",
    "SC": "status changed",
    "OC": "order canceled",
    "OD": "order discontinued",
    "XX": "order changed, unsolicited",
    "HD": "hold order request",
    "RL": "release previous hold",
}
# Order controls that describe the procedure, so they cannot do without OBR-4.
CONTROLS_NEEDING_SERVICE = frozenset({"NW", "XO", "XX"})


@dataclass
class _OrderGroup:
    """The segments of one ORC group while the message is walked."""

    orc: SegmentReader
    obr: SegmentReader | None = None
    tq1: SegmentReader | None = None
    ipcs: list[SegmentReader] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    diagnoses: list[CodedValue] = field(default_factory=list)
    z_segments: list[ZSegment] = field(default_factory=list)


def read_order(header: MessageHeader, segments: SegmentList) -> InboundOrder:
    """ORM^O01 / OMI^O23 → InboundOrder with every order line the message carries."""
    pid = segments.require("PID", header.message_type)
    pv1 = segments.first("PV1")
    groups: list[_OrderGroup] = []
    message_diagnoses: list[CodedValue] = []
    message_z: list[ZSegment] = []
    for segment in segments.segments:
        current = groups[-1] if groups else None
        if segment.name == "ORC":
            groups.append(_OrderGroup(segment))
        elif segment.name == "DG1":
            (current.diagnoses if current else message_diagnoses).append(_diagnosis(segment))
        elif segment.name.startswith("Z"):
            (current.z_segments if current else message_z).append(z_segment(segment))
        elif segment.name in ("OBR", "TQ1", "IPC", "NTE", "OBX") and current is not None:
            _add_to_group(groups, current, segment)
        elif segment.name in ("OBR", "TQ1", "IPC"):
            raise Hl7ContentError(
                f"{segment.name} before any ORC: every order line starts with an ORC segment",
                error_code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
                location=segment.location(),
            )
    if not groups:
        raise Hl7ContentError(
            f"{header.message_type} needs at least one ORC segment",
            error_code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
            location=ErrorLocation("ORC"),
        )
    procedures = tuple(line for group in groups for line in _order_lines(group))
    return InboundOrder(
        header=header,
        patient=read_patient(pid),
        procedures=procedures,
        patient_class=pv1.text(2).strip() if pv1 is not None else "",
        visit_number=pv1.text(19) if pv1 is not None else "",
        diagnoses=tuple(message_diagnoses),
        z_segments=tuple(message_z),
    )


def _add_to_group(groups: list[_OrderGroup], current: _OrderGroup, segment: SegmentReader) -> None:
    """Place an OBR, TQ1, IPC, NTE or OBX in the current order group."""
    if segment.name == "OBR":
        if current.obr is not None:
            # A second OBR under one ORC: a new order line sharing that ORC.
            current = _OrderGroup(current.orc)
            groups.append(current)
        current.obr = segment
    elif segment.name == "TQ1":
        current.tq1 = segment
    elif segment.name == "IPC":
        current.ipcs.append(segment)
    elif segment.name == "NTE":
        current.notes.extend(t for t in segment.texts(3) if t.strip())
    elif segment.name == "OBX":
        # Order-time observations (pregnancy status, creatinine) travel with the clinical notes.
        label = segment.text(3, 2) or segment.text(3, 1)
        value = " ".join(t for t in segment.texts(5) if t.strip())
        units = segment.text(6, 1)
        if value:
            current.notes.append(f"{label}: {value}{' ' + units if units else ''}")


def _diagnosis(dg1: SegmentReader) -> CodedValue:
    """DG1-3 (diagnosis code); DG1-4 (description) fills the text when a 2.3 sender puts it there."""
    code = coded_value(dg1.composite(3))
    if not code.text and dg1.text(4):
        code = CodedValue(code.code, dg1.text(4), code.system)
    return code


def _order_lines(group: _OrderGroup) -> list[RequestedProcedure]:
    """One RequestedProcedure per IPC (OMI), else one for the group's OBR."""
    orc, obr = group.orc, group.obr
    control = orc.required(1, "ORC-1 (order control)").strip().upper()
    if control not in ORDER_CONTROLS:
        raise Hl7ContentError(
            f"order control {control!r} is not one radflow takes from a placer "
            f"({', '.join(ORDER_CONTROLS)}; HL7 table 0119)",
            error_code=ErrorCode.TABLE_VALUE_NOT_FOUND,
            location=orc.location(1),
        )
    placer = orc.text(2) or (obr.text(2) if obr else "")
    filler = orc.text(3) or (obr.text(3) if obr else "")
    if not (placer.strip() or filler.strip()):
        raise Hl7ContentError(
            "ORC-2 (placer order number) is required (or OBR-2, or a filler number in ORC-3)",
            error_code=ErrorCode.REQUIRED_FIELD_MISSING,
            location=orc.location(2),
        )
    if control in CONTROLS_NEEDING_SERVICE and obr is None:
        raise Hl7ContentError(
            f"order control {control} needs an OBR segment describing the procedure",
            error_code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
            location=ErrorLocation("OBR", orc.sequence),
        )
    service = coded_value(obr.composite(4)) if obr is not None else None
    if control in CONTROLS_NEEDING_SERVICE and obr is not None and service is not None and not service.code:
        raise Hl7ContentError(
            "OBR-4 (universal service identifier: the procedure code) is required",
            error_code=ErrorCode.REQUIRED_FIELD_MISSING,
            location=obr.location(4, 1),
        )
    base = RequestedProcedure(
        order_control=control,
        placer_order_number=placer.strip(),
        filler_order_number=filler.strip(),
        order_status=orc.text(5).strip(),
        universal_service=service if service is not None and not service.is_empty else None,
        priority=_priority(group),
        requested_at=_requested_at(group),
        transaction_at=timestamp(orc.text(9), orc.location(9)),
        ordering_provider=_ordering_provider(group),
        copy_to=tuple(provider(c) for c in obr.composites(28)) if obr is not None else (),
        reason_for_study=tuple(coded_value(c) for c in obr.composites(31)) if obr is not None else (),
        relevant_clinical_info=" ".join(obr.texts(13)).strip() if obr is not None else "",
        notes=tuple(group.notes),
        diagnoses=tuple(group.diagnoses),
        # IHE RAD TF-2 4.4.4: a placer that assigns the accession sends it in OBR-18 (IPC-1 in OMI).
        placer_accession=obr.text(18).strip() if obr is not None else "",
        modality=obr.text(24).strip() if obr is not None else "",
        z_segments=tuple(group.z_segments),
        obr_sequence=obr.sequence if obr is not None else 0,
    )
    if not group.ipcs:
        return [base]
    return [_with_ipc(base, ipc) for ipc in group.ipcs]


def _with_ipc(base: RequestedProcedure, ipc: SegmentReader) -> RequestedProcedure:
    """IPC (2.5.1 4.5.6): accession, requested procedure id, study UID, step id, modality."""
    return replace(
        base,
        placer_accession=ipc.text(1).strip() or base.placer_accession,
        requested_procedure_id=ipc.text(2).strip(),
        study_instance_uid=ipc.text(3).strip(),
        scheduled_procedure_step_id=ipc.text(4).strip(),
        modality=ipc.text(5).strip() or base.modality,
    )


def _priority(group: _OrderGroup) -> str:
    """TQ1-9 (2.5), else the TQ priority in OBR-27.6 or ORC-7.6 (2.3/2.4), else OBR-5."""
    candidates = []
    if group.tq1 is not None:
        candidates.append(group.tq1.text(9))
    if group.obr is not None:
        candidates.append(group.obr.text(27, 6))
    candidates.append(group.orc.text(7, 6))
    if group.obr is not None:
        candidates.append(group.obr.text(5))
    return next((c.strip().upper() for c in candidates if c.strip()), "")


def _requested_at(group: _OrderGroup) -> datetime | None:
    """TQ1-7 start (2.5), else the TQ start in OBR-27.4 or ORC-7.4, else OBR-6 (requested date/time)."""
    sources: list[tuple[str, ErrorLocation]] = []
    if group.tq1 is not None:
        sources.append((group.tq1.text(7), group.tq1.location(7)))
    if group.obr is not None:
        sources.append((group.obr.text(27, 4), group.obr.location(27, 4)))
    sources.append((group.orc.text(7, 4), group.orc.location(7, 4)))
    if group.obr is not None:
        sources.append((group.obr.text(6), group.obr.location(6)))
    for text, location in sources:
        if text.strip():
            return timestamp(text, location)
    return None


def _ordering_provider(group: _OrderGroup) -> Provider | None:
    """ORC-12, else OBR-16; whichever names the clinician first."""
    for segment, position in ((group.orc, 12), (group.obr, 16)):
        if segment is None:
            continue
        found = [provider(c) for c in segment.composites(position)]
        if found:
            return found[0]
    return None
