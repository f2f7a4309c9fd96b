"""ORU^R01 reader: reports from an outside dictation system, one ReportedResult per OBR.

Groups follow HL7 2.5.1 7.3.1: PID [PV1] {[ORC] OBR [NTE] {OBX [NTE]}}.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radflow.adapters.hl7.datatypes import coded_value, interpreter, timestamp
from radflow.adapters.hl7.errors import ErrorCode, ErrorLocation, Hl7ContentError
from radflow.adapters.hl7.messages import InboundReport, MessageHeader, Observation, ReportedResult
from radflow.adapters.hl7.patients import read_patient
from radflow.adapters.hl7.segments import SegmentList, SegmentReader

# HL7 table 0123 (result status) values radflow takes: final, corrected (addendum), preliminary.
RESULT_STATUSES: dict[str, str] = {"F": "final", "C": "corrected", "P": "preliminary"}
# OBX-2 value types (table 0125) read as text; the coded ones become coded values.
TEXT_VALUE_TYPES = frozenset({"TX", "FT", "ST"})
CODED_VALUE_TYPES = frozenset({"CE", "CWE", "CNE"})


@dataclass
class _ResultGroup:
    """One OBR (with the ORC before it, if any) and its OBX segments while the message is walked."""

    obr: SegmentReader
    orc: SegmentReader | None
    observations: list[Observation] = field(default_factory=list)


def read_report(header: MessageHeader, segments: SegmentList) -> InboundReport:
    """ORU^R01 → InboundReport with one ReportedResult per OBR."""
    pid = segments.require("PID", header.message_type)
    groups: list[_ResultGroup] = []
    pending_orc: SegmentReader | None = None
    for segment in segments.segments:
        if segment.name == "ORC":
            pending_orc = segment
        elif segment.name == "OBR":
            groups.append(_ResultGroup(segment, pending_orc))
            pending_orc = None
        elif segment.name == "OBX":
            if not groups:
                raise Hl7ContentError(
                    "OBX before any OBR: report lines belong to an OBR",
                    error_code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
                    location=segment.location(),
                )
            groups[-1].observations.append(_observation(segment))
    if not groups:
        raise Hl7ContentError(
            "ORU^R01 needs an OBR segment",
            error_code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
            location=ErrorLocation("OBR"),
        )
    return InboundReport(
        header=header,
        patient=read_patient(pid),
        results=tuple(_result(group) for group in groups),
    )


def _result(group: _ResultGroup) -> ReportedResult:
    """OBR: which order, status (OBR-25), times (OBR-7, OBR-22), interpreter (OBR-32)."""
    obr, orc = group.obr, group.orc
    placer = obr.text(2).strip() or (orc.text(2).strip() if orc else "")
    filler = obr.text(3).strip() or (orc.text(3).strip() if orc else "")
    if not (placer or filler):
        raise Hl7ContentError(
            "OBR-3 (filler order number: the accession) or OBR-2 (placer order number) is required "
            "to attach the report to its order",
            error_code=ErrorCode.REQUIRED_FIELD_MISSING,
            location=obr.location(3),
        )
    status = obr.required(25, "OBR-25 (result status)").strip().upper()
    if status not in RESULT_STATUSES:
        raise Hl7ContentError(
            f"result status {status!r} is not one radflow takes (F final, C corrected, P preliminary; HL7 table 0123)",
            error_code=ErrorCode.TABLE_VALUE_NOT_FOUND,
            location=obr.location(25),
        )
    interpreters = obr.composites(32)
    service = coded_value(obr.composite(4))
    return ReportedResult(
        placer_order_number=placer,
        filler_order_number=filler,
        universal_service=None if service.is_empty else service,
        result_status=status,
        observed_at=timestamp(obr.text(7), obr.location(7)),
        status_changed_at=timestamp(obr.text(22), obr.location(22)),
        interpreter=interpreter(interpreters[0]) if interpreters else None,
        observations=tuple(group.observations),
    )


def _observation(obx: SegmentReader) -> Observation:
    """OBX: a text line (TX/FT/ST) or a coded finding (CE/CWE), with status and time."""
    value_type = obx.text(2).strip().upper()
    has_value = bool(obx.raw(5).strip())
    if has_value and not value_type:
        raise Hl7ContentError(
            "OBX-2 (value type) is required when OBX-5 holds a value",
            error_code=ErrorCode.REQUIRED_FIELD_MISSING,
            location=obx.location(2),
        )
    if value_type in CODED_VALUE_TYPES:
        coded = tuple(coded_value(c) for c in obx.composites(5))
        values = tuple(c.text or c.code for c in coded)
    else:
        coded = ()
        values = obx.texts(5) if value_type in TEXT_VALUE_TYPES else tuple(c.get(1) for c in obx.composites(5))
        if value_type in TEXT_VALUE_TYPES and not values:
            # An empty TX line is a blank line of the report (its layout), not a missing value.
            values = ("",)
    return Observation(
        set_id=obx.text(1).strip(),
        value_type=value_type,
        identifier=coded_value(obx.composite(3)),
        values=values,
        coded_values=coded,
        status=obx.text(11).strip().upper(),
        observed_at=timestamp(obx.text(14), obx.location(14)),
    )
