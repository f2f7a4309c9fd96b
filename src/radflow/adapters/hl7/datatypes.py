"""HL7 composite data types (CE/CWE, CX, XPN, XAD, XTN, XCN, TS/DTM) read into typed values.

Component positions follow HL7 2.5.1 chapter 2A; they are the same in 2.3 and 2.4 for every
component radflow reads, except where a comment says otherwise.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from radflow.adapters.hl7.errors import ErrorCode, ErrorLocation, Hl7ContentError
from radflow.adapters.hl7.messages import (
    Address,
    CodedValue,
    PatientIdentifier,
    PersonName,
    Provider,
    Telecom,
)
from radflow.adapters.hl7.segments import Composite

# 2.5.1 2A.22 DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]
_DTM = re.compile(
    r"^(?P<year>\d{4})(?P<month>\d{2})?(?P<day>\d{2})?(?P<hour>\d{2})?(?P<minute>\d{2})?"
    r"(?P<second>\d{2})?(?:\.(?P<fraction>\d{1,4}))?(?P<offset>[+-]\d{4})?$"
)


def coded_value(value: Composite) -> CodedValue:
    """CE (2.3/2.4) or CWE (2.5): identifier^text^system^alternate identifier^text^system."""
    return CodedValue(
        code=value.get(1),
        text=value.get(2),
        system=value.get(3),
        alternate_code=value.get(4),
        alternate_text=value.get(5),
        alternate_system=value.get(6),
    )


def patient_identifier(value: Composite) -> PatientIdentifier:
    """CX: ID^check digit^check scheme^assigning authority (HD)^type code^assigning facility."""
    # CX.4 is an HD: namespace&universal id&type; the namespace names it, else the universal id.
    authority = value.get(4, 1) or value.get(4, 2)
    return PatientIdentifier(
        value=value.get(1),
        assigning_authority=authority,
        identifier_type=value.get(5),
        assigning_facility=value.get(6, 1) or value.get(6, 2),
    )


def person_name(value: Composite) -> PersonName:
    """XPN: family (FN: surname first)^given^middle^suffix^prefix^degree^name type."""
    return PersonName(
        family=value.get(1, 1),
        given=value.get(2),
        middle=value.get(3),
        suffix=value.get(4),
        prefix=value.get(5),
        degree=value.get(6),
        name_type=value.get(7),
    )


def address(value: Composite) -> Address:
    """XAD: street (SAD)^other^city^state^postal code^country^address type."""
    return Address(
        street=value.get(1, 1),
        other=value.get(2),
        city=value.get(3),
        state=value.get(4),
        postal_code=value.get(5),
        country=value.get(6),
        address_type=value.get(7),
    )


def telecom(value: Composite, default_use: str) -> Telecom:
    """XTN in either layout: 2.3 free text in component 1, or 2.5 country/area/local parts."""
    local = value.get(7)
    if local:
        area = value.get(6)
        country = value.get(5)
        number = "".join((f"+{country} " if country else "", f"({area}) " if area else "", local))
        if value.get(8):
            number += f" x{value.get(8)}"
    else:
        number = value.get(1)
    return Telecom(
        number=number,
        use=value.get(2) or default_use,
        equipment=value.get(3),
        email=value.get(4),
    )


def provider(value: Composite) -> Provider:
    """XCN: ID^family^given^middle^suffix^prefix^degree^source table^authority^...^type code (13)."""
    return Provider(
        identifier=value.get(1),
        family=value.get(2, 1),
        given=value.get(3),
        middle=value.get(4),
        suffix=value.get(5),
        prefix=value.get(6),
        degree=value.get(7),
        assigning_authority=value.get(9, 1) or value.get(9, 2),
        identifier_type=value.get(13),
    )


def interpreter(value: Composite) -> Provider:
    """NDL (OBR-32): the CNN in component 1 carries id&family&given&middle&suffix&prefix&degree."""
    return Provider(
        identifier=value.get(1, 1),
        family=value.get(1, 2),
        given=value.get(1, 3),
        middle=value.get(1, 4),
        suffix=value.get(1, 5),
        prefix=value.get(1, 6),
        degree=value.get(1, 7),
        # CNN.9 is the assigning authority's namespace; CNN has no type code.
        assigning_authority=value.get(1, 9),
    )


def timestamp(text: str, location: ErrorLocation) -> datetime | None:
    """A TS/DTM value; aware when the sender gave an offset, naive (sender's local time) otherwise."""
    text = text.strip()
    if not text:
        return None
    match = _DTM.match(text)
    if match is None:
        raise Hl7ContentError(
            f"{text!r} is not an HL7 date/time: expected YYYYMMDD[HHMM[SS[.SSSS]]][+/-ZZZZ]",
            error_code=ErrorCode.DATA_TYPE_ERROR,
            location=location,
        )
    parts = match.groupdict()
    fraction = parts["fraction"] or ""
    try:
        moment = datetime(  # noqa: DTZ001 - HL7 without an offset is the sender's local time
            int(parts["year"]),
            int(parts["month"] or 1),
            int(parts["day"] or 1),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(fraction.ljust(6, "0")) if fraction else 0,
        )
        offset = parts["offset"]
        if offset:
            sign = -1 if offset[0] == "-" else 1
            hours, minutes = int(offset[1:3]), int(offset[3:5])
            if hours > 23 or minutes > 59:
                raise ValueError(f"offset {offset} out of range")
            moment = moment.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    except ValueError as exc:
        raise Hl7ContentError(
            f"{text!r} is not a valid date/time ({exc})",
            error_code=ErrorCode.DATA_TYPE_ERROR,
            location=location,
        ) from exc
    return moment


def calendar_date(text: str, location: ErrorLocation) -> date | None:
    """A DT (or a TS whose date part is what matters, e.g. a birth date)."""
    moment = timestamp(text, location)
    return moment.date() if moment is not None else None
