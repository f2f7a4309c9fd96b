"""ACKs: original mode (AA/AE/AR), enhanced mode (CA/CE/CR accept acks, application acks), ERR.

HL7 2.5.1 2.9 (acknowledgement rules): MSA-2 echoes MSH-10, MSH-12 echoes the inbound version,
ERR in the 2.5 layout (ERR-2 location, ERR-3 table 0357 code, ERR-4 severity, ERR-8 user message)
or, for 2.3 and 2.4 senders, the ERR-1 ELD layout with MSA-3/MSA-6.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from radflow.adapters.hl7.encoding import STANDARD_DELIMITERS, Delimiters, codec_for, unescape
from radflow.adapters.hl7.errors import ErrorCode, ErrorLocation, Hl7ContentError, Severity
from radflow.adapters.hl7.messages import MessageHeader
from radflow.adapters.hl7.parsing import read_header_best_effort
from radflow.adapters.hl7.writing import Component, FieldValue, hl7_timestamp, render_msh, render_segment
from radflow.domain.errors import DuplicateRequest, NotFound, RadflowError, ValidationError

RADFLOW_APPLICATION = "RADFLOW"
# MSA-3 is an ST of 80 characters in 2.3/2.4.
_MSA_TEXT_LENGTH = 80


class AckCode(StrEnum):
    """HL7 table 0008: original-mode and enhanced-mode (commit) acknowledgement codes."""

    AA = "AA"
    AE = "AE"
    AR = "AR"
    CA = "CA"
    CE = "CE"
    CR = "CR"

    @property
    def is_success(self) -> bool:
        """True for AA and CA."""
        return self in (AckCode.AA, AckCode.CA)


@dataclass(frozen=True)
class AckError:
    """What an ERR segment says: the table 0357 code, where, how severe, and a human message."""

    code: ErrorCode
    message: str
    location: ErrorLocation | None = None
    severity: Severity = Severity.ERROR
    is_reject: bool = False


def ack_error_for(error: RadflowError) -> AckError:
    """Map radflow's error hierarchy to ERR content (see radflow.domain.errors' docstring)."""
    if isinstance(error, Hl7ContentError):
        return AckError(error.error_code, error.user_message, error.location, error.severity, error.is_reject)
    if isinstance(error, NotFound):
        code = ErrorCode.UNKNOWN_KEY_IDENTIFIER
    elif isinstance(error, DuplicateRequest):
        code = ErrorCode.DUPLICATE_KEY_IDENTIFIER
    elif isinstance(error, ValidationError):
        code = ErrorCode.DATA_TYPE_ERROR
    else:
        # Conflict, InvalidTransition, Forbidden and the root: the application could not apply it.
        code = ErrorCode.APPLICATION_INTERNAL_ERROR
    return AckError(code, error.message)


def is_enhanced_mode(header: MessageHeader) -> bool:
    """HL7 2.5.1 2.9.1: enhanced mode when MSH-15 or MSH-16 is valued; original mode when both are null."""
    return bool(header.accept_ack_type or header.application_ack_type)


def _due(condition: str, success: bool) -> bool:
    """HL7 table 0155: AL always, NE never, ER on error/reject only, SU on success only.

    An empty or unknown value in enhanced mode counts as AL: an extra ack is harmless, a missing
    one leaves the sender waiting.
    """
    if condition == "NE":
        return False
    if condition == "ER":
        return not success
    if condition == "SU":
        return success
    return True


def accept_ack_due(header: MessageHeader, code: AckCode) -> bool:
    """Whether the sender wants this accept (commit) ack on the connection (MSH-15)."""
    return not is_enhanced_mode(header) or _due(header.accept_ack_type, code.is_success)


def application_ack_due(header: MessageHeader, code: AckCode) -> bool:
    """Whether an enhanced-mode sender wants this application ack sent back (MSH-16)."""
    return is_enhanced_mode(header) and _due(header.application_ack_type, code.is_success)


def original_code(error: AckError | None) -> AckCode:
    """AA, or AE for content errors, or AR for MSH-level rejects."""
    if error is None:
        return AckCode.AA
    return AckCode.AR if error.is_reject else AckCode.AE


def commit_code(error: AckError | None) -> AckCode:
    """CA when the message is safely stored, CE/CR when it could not be."""
    if error is None:
        return AckCode.CA
    return AckCode.CR if error.is_reject else AckCode.CE


def new_control_id() -> str:
    """A fresh MSH-10 for a message radflow originates (20 characters: ST length in 2.3-2.5)."""
    return uuid.uuid4().hex[:20].upper()


def build_ack(
    header: MessageHeader,
    code: AckCode,
    *,
    at: datetime,
    control_id: str | None = None,
    error: AckError | None = None,
    accept_ack_type: str = "",
    application_ack_type: str = "",
) -> bytes:
    """An ACK answering `header`: MSA-2 = its MSH-10, MSH-12 = its version, ERR per that version.

    `accept_ack_type`/`application_ack_type` (MSH-15/16) are for an application ACK that radflow sends
    as a message of its own (enhanced mode): with MSH-15 AL the partner answers it with a commit ACK.
    """
    version = header.version or "2.5.1"
    modern = _is_at_least_2_5(version)
    trigger = header.trigger_event
    # MSH-9: 2.3 has no message structure component (2.3.1 added it).
    message_type: tuple[Component, ...] = ("ACK", trigger) if version == "2.3" else ("ACK", trigger, "ACK")
    if not trigger:
        message_type = ("ACK",)
    msh: list[FieldValue] = [
        header.receiving_application or RADFLOW_APPLICATION,
        header.receiving_facility,
        header.sending_application,
        header.sending_facility,
        hl7_timestamp(at),
        "",
        message_type,
        control_id or new_control_id(),
        header.processing_id or "P",
        version,
    ]
    codec = codec_for(header.charset)
    charset = header.charset if codec is not None else ""
    if charset or accept_ack_type or application_ack_type:
        msh.extend(["", "", accept_ack_type, application_ack_type, "", charset])  # MSH-13..18
    msa: list[FieldValue] = [code.value, header.control_id]
    segments = [render_msh(msh), ""]
    if error is not None and not modern:
        msa.extend([error.message[:_MSA_TEXT_LENGTH], "", "", _code_triplet(error.code)])
    segments[1] = render_segment("MSA", msa)
    if error is not None:
        segments.append(_err_segment(error, modern))
    text = "".join(line + "\r" for line in segments)
    # An ACK must always go out: characters the charset cannot carry become '?'.
    return text.encode(codec or "ascii", errors="replace")


def _code_triplet(code: ErrorCode) -> tuple[str, str, str]:
    return (str(int(code)), code.text, "HL70357")


def _err_segment(error: AckError, modern: bool) -> str:
    """ERR in the 2.5 layout (ERR-2..ERR-8) or the 2.3/2.4 ERR-1 ELD layout."""
    location = error.location
    if modern:
        erl: FieldValue = ""
        if location is not None:
            erl = (
                location.segment,
                str(location.sequence),
                str(location.field) if location.field else "",
                str(location.repetition or 1) if location.field else "",
                str(location.component) if location.component else "",
                str(location.subcomponent) if location.subcomponent else "",
            )
        return render_segment(
            "ERR", ["", erl, _code_triplet(error.code), error.severity.value, "", "", "", error.message]
        )
    eld: tuple[Component, ...] = (
        location.segment if location else "",
        str(location.sequence) if location else "",
        str(location.field) if location and location.field else "",
        _code_triplet(error.code),
    )
    return render_segment("ERR", [eld])


def _is_at_least_2_5(version: str) -> bool:
    numbers = re.findall(r"\d+", version)
    if len(numbers) < 2:
        return True
    return (int(numbers[0]), int(numbers[1])) >= (2, 5)


def best_effort_ack(
    raw: bytes,
    *,
    at: datetime,
    error: AckError,
    control_id: str | None = None,
) -> bytes:
    """An AE/AR (CE/CR in enhanced mode) for a frame that cannot be processed, echoing what MSH is readable.

    Used by the listener for garbage, oversize frames and handler failures: whatever MSH-10 can be
    read is echoed in MSA-2 (empty when there is no MSH at all).
    """
    header = read_header_best_effort(raw) or MessageHeader(
        sending_application="",
        sending_facility="",
        receiving_application=RADFLOW_APPLICATION,
        receiving_facility="",
        created_at=None,
        message_code="",
        trigger_event="",
        message_structure="",
        control_id="",
        processing_id="P",
        version="2.5.1",
    )
    if codec_for(header.charset) is None:
        header = replace(header, charset="")
    code = commit_code(error) if is_enhanced_mode(header) else original_code(error)
    return build_ack(header, code, at=at, control_id=control_id, error=error)


@dataclass(frozen=True)
class ReceivedAck:
    """An ACK a partner sent back to radflow's outbound queue."""

    code: str
    acknowledged_control_id: str
    message: str

    @property
    def is_accepted(self) -> bool:
        """True for AA and CA: the partner took the message."""
        return self.code in ("AA", "CA")


def read_ack(raw: bytes) -> ReceivedAck:
    """Read MSA (and ERR's message) from a partner's ACK; Hl7ContentError when there is no MSA."""
    header = read_header_best_effort(raw)
    text = raw.decode(codec_for(header.charset if header else "") or "latin-1", errors="replace")
    separator = text[3] if text.startswith("MSH") and len(text) > 3 else "|"
    encoding_characters = text[4:8] if text.startswith("MSH") else ""
    delimiters = STANDARD_DELIMITERS
    if len(encoding_characters) == 4 and separator not in encoding_characters:
        delimiters = Delimiters(separator, *encoding_characters)
    msa: list[str] | None = None
    message = ""
    for line in re.split(r"\r\n|\r|\n", text):
        fields = line.split(separator)
        if fields[0] == "MSA":
            msa = fields
        elif fields[0] == "ERR" and not message:
            message = fields[8] if len(fields) > 8 else (fields[1] if len(fields) > 1 else "")
    if msa is None or len(msa) < 3:
        raise Hl7ContentError(
            "the answer has no MSA segment: it is not an acknowledgement",
            error_code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
            location=ErrorLocation("MSA"),
        )
    if not message and len(msa) > 3:
        message = msa[3]
    return ReceivedAck(
        code=msa[1].strip().upper(),
        acknowledged_control_id=unescape(msa[2], delimiters),
        message=unescape(message, delimiters),
    )
