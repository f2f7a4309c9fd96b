"""PID, ADT^A04/A08 (register, update) and ADT^A40 (merge) readers."""

from __future__ import annotations

from radflow.adapters.hl7.datatypes import address, calendar_date, patient_identifier, person_name, telecom
from radflow.adapters.hl7.datatypes import timestamp as read_timestamp
from radflow.adapters.hl7.errors import ErrorCode, ErrorLocation, Hl7ContentError
from radflow.adapters.hl7.messages import (
    InboundMerge,
    InboundPatient,
    MessageHeader,
    PatientDemographics,
    PatientMerge,
    ZSegment,
)
from radflow.adapters.hl7.segments import SegmentList, SegmentReader

# PID fields whose HL7 null "" asks radflow to delete what it has (the home phone is the one it keeps).
_NULLABLE = (("names", 5), ("birth_date", 7), ("sex", 8), ("addresses", 11), ("phones", 13))
# HL7 table 0001 (administrative sex).
ADMINISTRATIVE_SEX = frozenset({"F", "M", "O", "U", "A", "N"})


def read_patient(pid: SegmentReader, *, require_name: bool = True) -> PatientDemographics:
    """PID: all PID-3 repetitions with their authorities, names, birth date, sex, address, phones."""
    identifiers = tuple(i for i in map(patient_identifier, pid.composites(3)) if i.value.strip())
    if not identifiers:
        raise Hl7ContentError(
            "PID-3 (patient identifier list) is required: at least one identifier with its assigning authority",
            error_code=ErrorCode.REQUIRED_FIELD_MISSING,
            location=pid.location(3),
        )
    names = tuple(n for n in map(person_name, pid.composites(5)) if n.family or n.given)
    if require_name and not names:
        raise Hl7ContentError(
            "PID-5 (patient name) is required",
            error_code=ErrorCode.REQUIRED_FIELD_MISSING,
            location=pid.location(5),
        )
    sex = pid.text(8).strip().upper()
    if sex and sex not in ADMINISTRATIVE_SEX:
        raise Hl7ContentError(
            f"administrative sex {sex!r} is not in HL7 table 0001 (F, M, O, U, A, N)",
            error_code=ErrorCode.TABLE_VALUE_NOT_FOUND,
            location=pid.location(8),
        )
    # PID-13 home and PID-14 business phones; table 0201 PRN / WPN when the sender gives no use.
    phones = tuple(telecom(c, "PRN") for c in pid.composites(13)) + tuple(telecom(c, "WPN") for c in pid.composites(14))
    nulled = frozenset(name for name, number in _NULLABLE if pid.is_null(number))
    return PatientDemographics(
        identifiers=identifiers,
        names=names,
        birth_date=calendar_date(pid.text(7), pid.location(7)),
        sex=sex,
        addresses=tuple(a for a in map(address, pid.composites(11)) if any(vars(a).values())),
        phones=tuple(p for p in phones if p.number or p.email),
        account_number=pid.text(18),
        nulled=nulled,
    )


def z_segment(segment: SegmentReader) -> ZSegment:
    """A site-defined Z segment, kept as sent."""
    return ZSegment(segment.name, tuple(segment.fields[1:]))


def read_patient_message(header: MessageHeader, segments: SegmentList) -> InboundPatient:
    """ADT^A04 (register a patient) and ADT^A08 (update patient information)."""
    pid = segments.require("PID", header.message_type)
    evn = segments.first("EVN")
    pv1 = segments.first("PV1")
    return InboundPatient(
        header=header,
        event=header.trigger_event,
        patient=read_patient(pid),
        patient_class=pv1.text(2).strip() if pv1 is not None else "",
        recorded_at=read_timestamp(evn.text(2), evn.location(2)) if evn is not None else None,
        z_segments=tuple(z_segment(s) for s in segments.segments if s.name.startswith("Z")),
    )


def read_merge(header: MessageHeader, segments: SegmentList) -> InboundMerge:
    """ADT^A40: each PID names the surviving patient, the MRG after it the identifiers merged into it."""
    merges: list[PatientMerge] = []
    pending: SegmentReader | None = None
    for segment in segments.segments:
        if segment.name == "PID":
            if pending is not None:
                raise _merge_without_mrg(pending)
            pending = segment
        elif segment.name == "MRG":
            if pending is None:
                raise Hl7ContentError(
                    "MRG must follow the PID of the surviving patient",
                    error_code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
                    location=segment.location(),
                )
            prior = tuple(i for i in map(patient_identifier, segment.composites(1)) if i.value.strip())
            if not prior:
                raise Hl7ContentError(
                    "MRG-1 (prior patient identifier list) is required",
                    error_code=ErrorCode.REQUIRED_FIELD_MISSING,
                    location=segment.location(1),
                )
            merges.append(
                PatientMerge(
                    surviving=read_patient(pending, require_name=False),
                    prior_identifiers=prior,
                    prior_names=tuple(map(person_name, segment.composites(7))),
                )
            )
            pending = None
    if pending is not None:
        raise _merge_without_mrg(pending)
    if not merges:
        raise Hl7ContentError(
            "ADT^A40 needs a PID and an MRG segment",
            error_code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
            location=ErrorLocation("PID"),
        )
    evn = segments.first("EVN")
    return InboundMerge(
        header=header,
        merges=tuple(merges),
        recorded_at=read_timestamp(evn.text(2), evn.location(2)) if evn is not None else None,
    )


def _merge_without_mrg(pid: SegmentReader) -> Hl7ContentError:
    return Hl7ContentError(
        "this PID has no MRG segment naming the identifiers to merge",
        error_code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
        location=ErrorLocation("MRG", pid.sequence),
    )
